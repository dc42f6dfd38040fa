//! The economy in memory. `economy/book/*`: one order book holding 10,000 resting orders (5,000 a
//! side over 100 price levels); each measured order is a taker that fills one resting order, and a
//! maker replaces it, so the book keeps its size. `economy/sim/*`: the same through the command
//! door, a batch of 1,000 requests per tick in a world of 1,000 players: market orders that each
//! trade with a resting order (with reservation, settlement, fee and items in one ledger
//! transaction), and wallet-to-wallet transfers. Criterion's throughput is per order or transfer.
//! `economy/sim/tick_with_100k_standing_trades`: an idle tick while 100,000 trade proposals
//! stand. Run: `cargo bench --bench economy`.

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use necpsim::config::Config;
use necpsim::sim::economy::Side;
use necpsim::sim::economy::order_book::{NewOrder, OrderBook, OrderId, Owner};
use necpsim::sim::{ClientId, Command, EconomyOp, EconomyRequest, Goods, Outbox, Sim, TradeOffer};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const RESTING_PER_SIDE: u64 = 5_000;
const BATCH: u64 = 1_000;
const PLAYERS: u64 = 1_000;

fn order(id: u64, owner: u64, side: Side, price: i64) -> NewOrder {
    NewOrder {
        id: OrderId(id),
        owner: Owner(owner),
        side,
        price,
        quantity: 1,
        expires_at_tick: None,
    }
}

/// Asks at 1,001..=1,100 and bids at 900..=999, 50 orders per level, from 1,000 owners.
fn full_book() -> (OrderBook, u64) {
    let mut book = OrderBook::new();
    let mut fills = Vec::new();
    let mut id = 0;
    for n in 0..RESTING_PER_SIDE {
        let level = (n % 100) as i64;
        id += 1;
        let _ = book.place(order(id, n % 1_000, Side::Sell, 1_001 + level), 0, &mut fills);
        id += 1;
        let _ = book.place(order(id, n % 1_000, Side::Buy, 999 - level), 0, &mut fills);
    }
    (book, id)
}

fn book(c: &mut Criterion) {
    let mut group = c.benchmark_group("economy/book");
    group.throughput(Throughput::Elements(1));
    let (mut book, mut id) = full_book();
    let mut fills = Vec::with_capacity(16);
    let mut n = 0u64;
    group.bench_function("matched_order", |b| {
        b.iter(|| {
            n += 1;
            let level = (n % 100) as i64;
            let (take, make) = if n.is_multiple_of(2) {
                (Side::Buy, Side::Sell)
            } else {
                (Side::Sell, Side::Buy)
            };
            let (take_price, make_price) = match take {
                Side::Buy => (1_001 + level, 1_001 + level),
                Side::Sell => (999 - level, 999 - level),
            };
            fills.clear();
            id += 1;
            let _ = book.place(order(id, 5_000 + n % 7, take, take_price), n, &mut fills);
            id += 1;
            let _ = book.place(order(id, n % 1_000, make, make_price), n, &mut fills);
            black_box(fills.len())
        });
    });
    group.finish();
}

fn config() -> Config {
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
    let mut config = Config::load(&assets).expect("bundled assets are valid");
    config.gameplay.world.spawn.radius_m = 2_000.0;
    config.gameplay.interest.snapshot_rate_hz = 0.01;
    config.server.sim.inbox_capacity = 1 << 16;
    config
        .economy
        .players
        .starting_items
        .insert("food".to_owned(), 1_000_000);
    config.economy.players.inventory_slots = 1_000_000;
    for currency in config.economy.currencies.currencies.values_mut() {
        currency.starting_balance_minor = 1_000_000_000_000;
    }
    config
}

fn step(sim: &mut Sim, outbox: &mut Outbox) {
    sim.step();
    sim.drain_outputs(outbox);
}

fn sim_economy(c: &mut Criterion) {
    let mut sim = Sim::new(Arc::new(config()));
    let mut outbox = Outbox::default();
    for player in 0..PLAYERS {
        sim.submit(ClientId(player), Command::Join).expect("room");
    }
    step(&mut sim, &mut outbox);
    let mut key = 0u128;
    let mut request = |sim: &mut Sim, player: u64, op: EconomyOp| {
        key += 1;
        let _ = sim.submit(ClientId(player), Command::Economy(EconomyRequest { key, op }));
    };
    let food = |side: Side, price_minor: i64| EconomyOp::PlaceOrder {
        item: 1,
        side,
        price_minor,
        quantity: 1,
        lifetime_s: None,
    };
    // 10,000 resting asks from the first half of the players.
    for n in 0..10_000u64 {
        request(
            &mut sim,
            n % (PLAYERS / 2),
            food(Side::Sell, 1_000 + (n % 100) as i64),
        );
    }
    step(&mut sim, &mut outbox);

    let mut group = c.benchmark_group("economy/sim");
    group.throughput(Throughput::Elements(BATCH));
    let mut n = 0u64;
    group.bench_function("matched_order", |b| {
        b.iter(|| {
            // Each buy from the second half takes the best ask; a sell from the first half puts
            // one back, so the book keeps its size.
            for _ in 0..BATCH / 2 {
                n += 1;
                request(&mut sim, PLAYERS / 2 + n % (PLAYERS / 2), food(Side::Buy, 1_100));
                request(
                    &mut sim,
                    n % (PLAYERS / 2),
                    food(Side::Sell, 1_000 + (n % 100) as i64),
                );
            }
            step(&mut sim, &mut outbox);
        });
    });
    group.bench_function("transfer", |b| {
        b.iter(|| {
            for _ in 0..BATCH {
                n += 1;
                let to = ClientId((n * 7_919) % PLAYERS);
                let op = EconomyOp::Transfer {
                    to,
                    currency: 1,
                    amount_minor: 1,
                };
                request(&mut sim, n % PLAYERS, op);
            }
            step(&mut sim, &mut outbox);
        });
    });
    group.bench_function("tick_without_requests", |b| {
        b.iter(|| step(&mut sim, &mut outbox))
    });
    group.finish();
}

/// A tick with nothing to do while 100,000 trade proposals stand (100 per player, none due):
/// what finding the proposals and auctions that are due costs each tick.
fn standing_trades(c: &mut Criterion) {
    let mut config = config();
    config.economy.players.max_open_trades = 100;
    let mut sim = Sim::new(Arc::new(config));
    let mut outbox = Outbox::default();
    for player in 0..PLAYERS {
        sim.submit(ClientId(player), Command::Join).expect("room");
    }
    step(&mut sim, &mut outbox);
    let offer = |to: u64| {
        EconomyOp::OfferTrade(Box::new(TradeOffer {
            to: ClientId(to),
            gives: Goods {
                items: [(1, 1), (0, 0)],
                ..Goods::default()
            },
            wants: Goods {
                money: [(1, 10), (0, 0)],
                ..Goods::default()
            },
            lifetime_s: 3_600,
        }))
    };
    let mut key = 0u128;
    for _round in 0..100 {
        for player in 0..PLAYERS {
            key += 1;
            let op = offer((player + 1) % PLAYERS);
            sim.submit(ClientId(player), Command::Economy(EconomyRequest { key, op }))
                .expect("room");
        }
        step(&mut sim, &mut outbox);
    }
    assert_eq!(sim.economy().trades.iter().count(), 100_000, "every offer stands");
    let mut group = c.benchmark_group("economy/sim");
    group.bench_function("tick_with_100k_standing_trades", |b| {
        b.iter(|| step(&mut sim, &mut outbox))
    });
    group.finish();
}

criterion_group!(benches, book, sim_economy, standing_trades);
criterion_main!(benches);
