//! The store through the door the server uses: every tick's batch committed to SQLite, then the
//! tables compared with the live economy, the journal replayed into the same economy, and the
//! offline checks passed.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use necpsim::sim::economy::ledger::{CurrencyId, PlayerId};
use necpsim::sim::economy::{Replayed, Side};
use necpsim::sim::{
    AuctionTerms, ClientId, Command, EconomyOp, EconomyRequest, Goods, Outbox, ReplyBody, Sim, TradeOffer,
};
use necpsim::store::sqlite::SqliteStore;
use necpsim::store::writer::StoreWriter;
use necpsim::store::{Batch, DATABASE_FILE, EconomyRows, InventoryRow, Store, recovery};
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use rusqlite::Connection;

const PLAYERS: u64 = 12;
const EURODOLLARS: u16 = 1;
const FOOD: u16 = 1;
const WOOD: u16 = 4;

fn op(rng: &mut ChaCha8Rng, player: u64, orders: &[u64], auctions: &[u64]) -> EconomyOp {
    let other = ClientId((player + 1 + u64::from(rng.next_u32()) % (PLAYERS - 1)) % PLAYERS);
    let item = if rng.next_u32().is_multiple_of(2) {
        FOOD
    } else {
        WOOD
    };
    match rng.next_u32() % 7 {
        0 => EconomyOp::Transfer {
            to: other,
            currency: EURODOLLARS,
            amount_minor: 1 + i64::from(rng.next_u32() % 500),
        },
        1 | 2 => EconomyOp::PlaceOrder {
            item,
            side: if rng.next_u32().is_multiple_of(2) {
                Side::Buy
            } else {
                Side::Sell
            },
            price_minor: 300 + i64::from(rng.next_u32() % 600),
            quantity: 1 + rng.next_u32() % 3,
            lifetime_s: Some(1 + rng.next_u32() % 5),
        },
        3 => EconomyOp::CancelOrder {
            order: orders
                .get(rng.next_u32() as usize % orders.len().max(1))
                .copied()
                .unwrap_or(1),
        },
        4 => EconomyOp::OfferTrade(Box::new(TradeOffer {
            to: other,
            gives: Goods {
                items: [(item, 1), (0, 0)],
                ..Goods::default()
            },
            wants: Goods {
                money: [(EURODOLLARS, 50), (0, 0)],
                ..Goods::default()
            },
            lifetime_s: 2,
        })),
        5 => EconomyOp::CreateAuction(Box::new(AuctionTerms {
            item,
            quantity: 1,
            starting_price: 100,
            bid_increment: 10,
            reserve: 0,
            buyout: 0,
            duration_h: 1,
            unique: 0,
        })),
        _ => EconomyOp::Bid {
            auction: auctions
                .get(rng.next_u32() as usize % auctions.len().max(1))
                .copied()
                .unwrap_or(1),
            amount_minor: 100 + i64::from(rng.next_u32() % 400),
        },
    }
}

fn count(db: &Connection, sql: &str) -> i64 {
    db.query_row(sql, [], |row| row.get(0)).expect("query")
}

/// A store in a new directory and the writer thread that commits to it; the directory lives as
/// long as the first value.
fn fresh_store() -> (tempfile::TempDir, std::path::PathBuf, StoreWriter) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(DATABASE_FILE);
    let store = SqliteStore::open(&path, necpsim::config::Synchronous::Full).expect("opens");
    let writer = StoreWriter::spawn(Box::new(store), Box::new(|_, _| {}), || {}).expect("writer");
    (dir, path, writer)
}

/// Submits `commands` (by player), runs one tick into `outbox` and hands its batch to `writer`.
fn stored_step(sim: &mut Sim, outbox: &mut Outbox, writer: &StoreWriter, commands: Vec<(u64, Command)>) {
    for (player, command) in commands {
        sim.submit(ClientId(player), command).expect("room");
    }
    sim.step();
    sim.drain_outputs(outbox);
    if let Some(batch) = Batch::of_tick(sim.tick(), outbox, sim.economy()) {
        writer.submit(batch);
    }
}

/// Makes the store at `path` what a build of the rules of `version` would have written from the
/// same journal: its records marked as applied by them, and its inventories, orders, trades and
/// auctions those their replay ends with. (Their ledger must be the same: the callers' journals
/// move no money that the rules differ on.)
fn as_written_under(path: &std::path::Path, version: u32) {
    Connection::open(path)
        .expect("opens")
        .execute("UPDATE economy_journal SET rules_version = ?1", [version])
        .expect("marks the records as those rules'");
    let mut store = SqliteStore::open(path, necpsim::config::Synchronous::Full).expect("opens");
    let mut records = Vec::new();
    store
        .journal(&mut |version, bytes| {
            records.push(necpsim::store::decode_record(version, bytes)?);
            Ok(())
        })
        .expect("reads the journal");
    let replayed = necpsim::sim::economy::replay(records, |_, _| {}).expect("replays");
    let (rows, stored) = (
        EconomyRows::of(&replayed.economy),
        store.economy_rows().expect("reads the tables"),
    );
    // Every row the replay ends with, and the closing of every other stored one.
    fn rewritten<K: PartialEq + Copy, V: Copy>(rows: &[(K, V)], stored: &[(K, V)]) -> Vec<(K, Option<V>)> {
        let gone = stored
            .iter()
            .filter(|(key, _)| !rows.iter().any(|(kept, _)| kept == key));
        let kept = rows.iter().map(|&(key, value)| (key, Some(value)));
        kept.chain(gone.map(|&(key, _)| (key, None))).collect()
    }
    let mut inventories = rows.inventories.clone();
    for row in &stored.inventories {
        if !inventories.iter().any(|kept| kept.player == row.player) {
            inventories.push(InventoryRow {
                player: row.player,
                stacks: Vec::new(),
                uniques: Vec::new(),
            });
        }
    }
    let batch = Batch {
        tick: replayed.tick,
        inventories,
        orders: rewritten(&rows.orders, &stored.orders),
        trades: rewritten(&rows.trades, &stored.trades),
        auctions: rewritten(&rows.auctions, &stored.auctions),
        ..Batch::default()
    };
    store.commit(&[batch]).expect("rewrites the tables");
}

/// The economy a restart recovers from the store at `path`.
fn recover(path: &std::path::Path) -> Result<Replayed, recovery::RecoveryError> {
    let store = SqliteStore::open_read_only(path).expect("opens");
    recovery::recover(&store).map(|replayed| replayed.expect("not empty"))
}

#[test]
fn committed_batches_mirror_the_economy_and_replay_into_it() {
    let (_dir, path, writer) = fresh_store();
    let mut sim = Sim::new(common::bundled_config());
    let mut outbox = Outbox::default();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let (mut orders, mut auctions) = (Vec::new(), Vec::new());
    for player in 0..PLAYERS {
        sim.submit(ClientId(player), Command::Join).expect("room");
    }
    for tick in 0..600u64 {
        if tick > 0 {
            for _ in 0..rng.next_u32() % 8 {
                let player = u64::from(rng.next_u32()) % PLAYERS;
                let op = op(&mut rng, player, &orders, &auctions);
                let request = EconomyRequest {
                    key: u128::from(rng.next_u64()),
                    op,
                };
                sim.submit(ClientId(player), Command::Economy(request))
                    .expect("room");
            }
        }
        sim.step();
        sim.drain_outputs(&mut outbox);
        for reply in &outbox.replies {
            match reply.body {
                ReplyBody::OrderPlaced { order, .. } => orders.push(order),
                ReplyBody::AuctionCreated { auction } => auctions.push(auction),
                _ => {}
            }
        }
        if let Some(batch) = Batch::of_tick(sim.tick(), &outbox, sim.economy()) {
            writer.submit(batch);
        }
    }
    writer.finish();
    let economy = sim.economy();
    assert!(economy.markets.orders().count() > 3, "orders rest");
    assert!(economy.auctions.iter().count() > 3, "auctions run");

    let db = Connection::open(&path).expect("opens");
    // Open orders, with what rests of them.
    let stored_orders: BTreeMap<u64, u32> = {
        let mut query = db.prepare("SELECT id, remaining FROM orders").expect("prepare");
        query
            .query_map([], |row| {
                Ok((row.get::<_, i64>(0)? as u64, row.get::<_, u32>(1)?))
            })
            .expect("rows")
            .map(|row| row.expect("row"))
            .collect()
    };
    let live_orders: BTreeMap<u64, u32> = economy
        .markets
        .orders()
        .map(|(id, meta)| {
            let remaining = economy
                .markets
                .book(meta.item)
                .and_then(|b| b.order(*id))
                .map_or(0, |o| o.remaining);
            (id.0, remaining)
        })
        .collect();
    assert_eq!(stored_orders, live_orders);
    // Inventories, trades and auctions.
    for (player, inventory) in economy.inventories.iter() {
        for (item, holding) in &inventory.stacks {
            let stored: (u32, u32, u32) = db
                .query_row(
                    "SELECT held, escrowed, incoming FROM inventories WHERE player = ?1 AND item = ?2",
                    (player.0 as i64, item),
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )
                .expect("a stored holding");
            assert_eq!(
                stored,
                (holding.held, holding.escrowed, holding.incoming),
                "{player:?} item {item}"
            );
        }
    }
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM trades") as usize,
        economy.trades.iter().count()
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM auctions") as usize,
        economy.auctions.iter().count()
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM ledger") as u64,
        economy.ledger.next_seq()
    );
    drop(db);

    // The journal replays into the same economy; the offline checks agree.
    let store = SqliteStore::open_read_only(&path).expect("opens");
    let replayed = recovery::recover(&store).expect("recovers").expect("not empty");
    assert_eq!(replayed.economy.digest(), economy.digest());
    recovery::verify(&store).expect("verifies");
    recovery::replay_ledger(&store).expect("ledger replays");

    // A restarted sim continues from the recovered economy.
    let mut restarted = Sim::new(Arc::clone(sim.config()));
    restarted.restore_economy(replayed);
    assert_eq!(restarted.tick(), sim.tick());
    assert_eq!(restarted.economy().digest(), economy.digest());

    // An offline check reads the store as it was when it began, whatever a server commits
    // meanwhile: otherwise the journal, the ledger and the balances could disagree.
    let entries = store.ledger_len().expect("counts");
    let mut live = SqliteStore::open(&path, necpsim::config::Synchronous::Full).expect("opens");
    let transfer = EconomyRequest {
        key: 1,
        op: EconomyOp::Transfer {
            to: ClientId(1),
            currency: EURODOLLARS,
            amount_minor: 100,
        },
    };
    sim.submit(ClientId(0), Command::Economy(transfer)).expect("room");
    sim.step();
    let mut outbox = Outbox::default();
    sim.drain_outputs(&mut outbox);
    assert!(!outbox.ledger.is_empty(), "the transfer went through");
    let batch = Batch::of_tick(sim.tick(), &outbox, sim.economy()).expect("a batch");
    live.commit(&[batch]).expect("commits");
    assert_eq!(store.ledger_len().expect("counts"), entries);
    recovery::verify(&store).expect("verifies");
    let later = SqliteStore::open_read_only(&path).expect("opens");
    assert_eq!(
        later.ledger_len().expect("counts"),
        entries + outbox.ledger.len() as u64
    );
}

#[test]
fn a_journal_replays_under_the_rules_version_that_applied_it() {
    let (_dir, path, writer) = fresh_store();
    let mut sim = Sim::new(common::bundled_config());
    let mut outbox = Outbox::default();
    // Player 1 offers its 10 food as two entries of 5: the current rules refuse goods that list
    // an item twice, the first rules escrowed both.
    let offer = EconomyOp::OfferTrade(Box::new(TradeOffer {
        to: ClientId(2),
        gives: Goods {
            items: [(FOOD, 5), (FOOD, 5)],
            ..Goods::default()
        },
        wants: Goods {
            money: [(EURODOLLARS, 1), (0, 0)],
            ..Goods::default()
        },
        lifetime_s: 60,
    }));
    let commands = [
        vec![(1, Command::Join), (2, Command::Join)],
        vec![(1, Command::Economy(EconomyRequest { key: 1, op: offer }))],
    ];
    for tick_commands in commands {
        stored_step(&mut sim, &mut outbox, &writer, tick_commands);
    }
    writer.finish();
    assert_eq!(sim.economy().trades.iter().count(), 0, "refused live");

    let replay = || recover(&path).map(|replayed| replayed.economy);
    let as_written = replay().expect("recovers");
    assert_eq!(as_written.digest(), sim.economy().digest());

    as_written_under(&path, 1);
    let db = Connection::open(&path).expect("opens");
    let under_first_rules = replay().expect("recovers");
    assert_eq!(under_first_rules.trades.iter().count(), 1, "the offer stands");
    let food = under_first_rules
        .inventories
        .of(PlayerId(1))
        .and_then(|inventory| inventory.stacks.get(&FOOD).copied())
        .expect("food");
    assert_eq!((food.held, food.escrowed), (0, 10));

    let newer = necpsim::sim::economy::RulesVersion::CURRENT.0 + 1;
    db.execute("UPDATE economy_journal SET rules_version = ?1", [newer])
        .expect("marks the records as a newer server's");
    let error = replay().expect_err("rules this server does not know");
    assert!(
        error.to_string().contains(&format!("rules version {newer}")),
        "{error}"
    );
}

#[test]
fn a_restart_resumes_after_an_expiry_that_moved_no_money() {
    let (_dir, path, writer) = fresh_store();
    let mut sim = Sim::new(common::bundled_config());
    let mut outbox = Outbox::default();
    stored_step(&mut sim, &mut outbox, &writer, vec![(0, Command::Join)]);
    // A sell order escrows wood and moves no money; when it expires the wood comes back, still
    // without a ledger entry.
    let sell = EconomyRequest {
        key: 1,
        op: EconomyOp::PlaceOrder {
            item: WOOD,
            side: Side::Sell,
            price_minor: 500,
            quantity: 1,
            lifetime_s: Some(1),
        },
    };
    stored_step(&mut sim, &mut outbox, &writer, vec![(0, Command::Economy(sell))]);
    assert!(matches!(
        outbox.replies[0].body,
        ReplyBody::OrderPlaced { resting: 1, .. }
    ));
    for _ in 0..120 {
        stored_step(&mut sim, &mut outbox, &writer, Vec::new());
    }
    assert_eq!(sim.economy().markets.orders().count(), 0, "the order expired");
    writer.finish();

    let replayed = recover(&path).expect("recovers");
    assert_eq!(
        replayed.economy.digest(),
        sim.economy().digest(),
        "a restart would put the expired order back"
    );
}

const CRYPTOS: u16 = 0;

/// The bundled configuration, with `edit` applied.
fn bundled_with(edit: impl FnOnce(&mut necpsim::config::Config)) -> Arc<necpsim::config::Config> {
    let mut config = common::load_bundled();
    edit(&mut config);
    Arc::new(config)
}

fn economy(key: u128, op: EconomyOp) -> Command {
    Command::Economy(EconomyRequest { key, op })
}

fn wood_order(side: Side, price_minor: i64, lifetime_s: Option<u32>) -> EconomyOp {
    EconomyOp::PlaceOrder {
        item: WOOD,
        side,
        price_minor,
        quantity: 1,
        lifetime_s,
    }
}

/// Players start with 1.0000 cryptos too.
fn with_cryptos(config: &mut necpsim::config::Config) {
    let cryptos = config
        .economy
        .currencies
        .currencies
        .get_mut("cryptos")
        .expect("cryptos");
    cryptos.starting_balance_minor = 10_000;
}

/// Players start with cryptos, and wood is priced in them.
fn wood_in_cryptos(config: &mut necpsim::config::Config) {
    with_cryptos(config);
    let wood = config.economy.items.items.get_mut("wood").expect("wood");
    wood.price_currency = "cryptos".into();
}

/// A world of `config` that players 0 and 1 have joined, its batches handed to `writer`.
fn two_players(config: Arc<necpsim::config::Config>, writer: &StoreWriter) -> (Sim, Outbox) {
    let mut sim = Sim::new(config);
    let mut outbox = Outbox::default();
    stored_step(
        &mut sim,
        &mut outbox,
        writer,
        vec![(0, Command::Join), (1, Command::Join)],
    );
    (sim, outbox)
}

fn wood_held(sim: &Sim, player: u64) -> u32 {
    sim.economy()
        .inventories
        .of(PlayerId(player))
        .map_or(0, |inventory| inventory.held(WOOD))
}

#[test]
fn a_reload_that_reprices_an_item_closes_its_orders_in_the_old_currency_and_a_restart_agrees() {
    let (_dir, path, writer) = fresh_store();
    let (mut sim, mut outbox) = two_players(bundled_with(with_cryptos), &writer);
    let wood_at_start = wood_held(&sim, 0);
    // Wood is priced in eurodollars: a sell at 500 and a lower bid rest.
    stored_step(
        &mut sim,
        &mut outbox,
        &writer,
        vec![
            (0, economy(1, wood_order(Side::Sell, 500, None))),
            (1, economy(1, wood_order(Side::Buy, 400, None))),
        ],
    );
    assert_eq!(sim.economy().markets.orders().count(), 2);

    // Repriced in cryptos: the eurodollar orders close and give back what they held, so a
    // cryptos bid above the old ask does not buy the seller's wood with the wrong money.
    sim.apply_config(bundled_with(wood_in_cryptos));
    stored_step(
        &mut sim,
        &mut outbox,
        &writer,
        vec![(1, economy(2, wood_order(Side::Buy, 600, None)))],
    );
    assert!(
        matches!(
            outbox.replies[0].body,
            ReplyBody::OrderPlaced {
                filled: 0,
                resting: 1,
                ..
            }
        ),
        "{:?}",
        outbox.replies[0].body
    );
    let ledger = &sim.economy().ledger;
    assert_eq!(wood_held(&sim, 0), wood_at_start, "the seller's wood is back");
    assert_eq!(
        ledger.wallet(PlayerId(0), CurrencyId(CRYPTOS)),
        10_000,
        "and it was paid nothing"
    );
    assert_eq!(
        ledger.reserved(PlayerId(1), CurrencyId(EURODOLLARS)),
        0,
        "the old bid's money is back"
    );
    assert_eq!(ledger.reserved(PlayerId(1), CurrencyId(CRYPTOS)), 600);
    let open: Vec<CurrencyId> = sim
        .economy()
        .markets
        .orders()
        .map(|(_, meta)| meta.currency)
        .collect();
    assert_eq!(open, [CurrencyId(CRYPTOS)], "only the new bid rests");
    writer.finish();

    let replayed = recover(&path).expect("recovers");
    assert_eq!(
        replayed.economy.digest(),
        sim.economy().digest(),
        "a restart reaches the same economy"
    );
}

#[test]
fn a_tick_rate_drop_keeps_idempotency_keys_and_lifetimes_in_time() {
    let (_dir, path, writer) = fresh_store();
    let ten_second_keys = |config: &mut necpsim::config::Config| {
        config.economy.players.idempotency_window_s = 10;
    };
    let (mut sim, mut outbox) = two_players(bundled_with(ten_second_keys), &writer);
    let hour_auction = EconomyOp::CreateAuction(Box::new(AuctionTerms {
        item: FOOD,
        quantity: 1,
        starting_price: 100,
        bid_increment: 10,
        reserve: 0,
        buyout: 0,
        duration_h: 1,
        unique: 0,
    }));
    let ten_second_offer = EconomyOp::OfferTrade(Box::new(TradeOffer {
        to: ClientId(1),
        gives: Goods {
            items: [(WOOD, 1), (0, 0)],
            ..Goods::default()
        },
        wants: Goods {
            money: [(EURODOLLARS, 1), (0, 0)],
            ..Goods::default()
        },
        lifetime_s: 10,
    }));
    let pay = || {
        economy(
            7,
            EconomyOp::Transfer {
                to: ClientId(1),
                currency: EURODOLLARS,
                amount_minor: 100,
            },
        )
    };
    stored_step(
        &mut sim,
        &mut outbox,
        &writer,
        vec![
            (0, pay()),
            (0, economy(8, wood_order(Side::Sell, 500, Some(10)))),
            (0, economy(9, ten_second_offer)),
            (1, economy(1, hour_auction)),
        ],
    );
    let paid = outbox.replies[0].body;
    assert!(matches!(paid, ReplyBody::Transferred { .. }), "{paid:?}");
    // Five seconds at 60 Hz, then the rate halves.
    for _ in 0..300 {
        stored_step(&mut sim, &mut outbox, &writer, Vec::new());
    }
    sim.apply_config(bundled_with(|config| {
        ten_second_keys(config);
        config.server.tick.rate_hz = 30.0;
    }));
    // Three and a third seconds at 30 Hz: eight and a third in all, within the key's ten.
    for _ in 0..100 {
        stored_step(&mut sim, &mut outbox, &writer, Vec::new());
    }
    let wallets = |sim: &Sim| {
        [0, 1].map(|player| {
            sim.economy()
                .ledger
                .wallet(PlayerId(player), CurrencyId(EURODOLLARS))
        })
    };
    let before = wallets(&sim);
    stored_step(&mut sim, &mut outbox, &writer, vec![(0, pay())]);
    assert_eq!(
        outbox.replies[0].body, paid,
        "a retry within the window gets the first reply"
    );
    assert_eq!(wallets(&sim), before, "and pays nothing twice");
    // The ten-second order and offer had five seconds left at the change: 150 ticks at 30 Hz.
    let open = |sim: &Sim| {
        (
            sim.economy().markets.orders().count(),
            sim.economy().trades.iter().count(),
        )
    };
    assert_eq!(open(&sim), (1, 1), "the order rests and the offer stands");
    for _ in 0..50 {
        stored_step(&mut sim, &mut outbox, &writer, Vec::new());
    }
    assert_eq!(open(&sim), (0, 0), "and both ended on time");
    writer.finish();

    let replayed = recover(&path).expect("recovers");
    assert_eq!(
        replayed.economy.digest(),
        sim.economy().digest(),
        "a restart reaches the same economy"
    );
    // The hour-long auction's end moved to the new rate, in the store's column too.
    let (_, auction) = sim.economy().auctions.iter().next().expect("the auction runs");
    let stored: i64 = Connection::open(&path)
        .expect("opens")
        .query_row("SELECT ends_tick FROM auctions", [], |row| row.get(0))
        .expect("one auction");
    assert_eq!(stored as u64, auction.ends_at);
}

#[test]
fn a_tick_rate_rise_keeps_idempotency_keys_for_their_whole_window_from_the_tick_it_comes() {
    let (_dir, _path, writer) = fresh_store();
    let at_30_hz = |config: &mut necpsim::config::Config| {
        config.economy.players.idempotency_window_s = 10;
        config.server.tick.rate_hz = 30.0;
    };
    let (mut sim, mut outbox) = two_players(bundled_with(at_30_hz), &writer);
    let pay = |key: u128| {
        economy(
            key,
            EconomyOp::Transfer {
                to: ClientId(1),
                currency: EURODOLLARS,
                amount_minor: 100,
            },
        )
    };
    // Late enough in the world's life that the key's age at the new rate is not cut short by
    // the world's first tick.
    for _ in 0..600 {
        stored_step(&mut sim, &mut outbox, &writer, Vec::new());
    }
    stored_step(&mut sim, &mut outbox, &writer, vec![(0, pay(7))]);
    let paid = outbox.replies[0].body;
    assert!(matches!(paid, ReplyBody::Transferred { .. }), "{paid:?}");
    // Six and two thirds seconds at 30 Hz (200 ticks), then the rate doubles: the key is 400
    // ticks old at 60 Hz, more than the old window of 300 ticks but within the new one of 600.
    for _ in 0..200 {
        stored_step(&mut sim, &mut outbox, &writer, Vec::new());
    }
    sim.apply_config(bundled_with(|config| {
        at_30_hz(config);
        config.server.tick.rate_hz = 60.0;
    }));
    // Another command of the same player on the tick of the change, then the retry.
    stored_step(&mut sim, &mut outbox, &writer, vec![(0, pay(8))]);
    stored_step(&mut sim, &mut outbox, &writer, vec![(0, pay(7))]);
    assert_eq!(outbox.replies[0].body, paid, "the retry gets the first reply");
    assert!(outbox.ledger.is_empty(), "and pays nothing twice");
    writer.finish();
}

#[test]
fn orders_earlier_rules_left_in_a_repriced_items_old_currency_close_when_these_rules_take_over() {
    let (_dir, path, writer) = fresh_store();
    let (mut sim, mut outbox) = two_players(bundled_with(with_cryptos), &writer);
    let wood_at_start = wood_held(&sim, 0);
    stored_step(
        &mut sim,
        &mut outbox,
        &writer,
        vec![(0, economy(1, wood_order(Side::Sell, 500, None)))],
    );
    let repriced = bundled_with(wood_in_cryptos);
    sim.apply_config(repriced.clone());
    stored_step(&mut sim, &mut outbox, &writer, Vec::new());
    writer.finish();
    // As the third rules wrote it: the eurodollar order rests on after the repricing.
    as_written_under(&path, 3);
    let replayed = recover(&path).expect("recovers");
    assert_eq!(
        replayed.economy.markets.orders().count(),
        1,
        "the old order rests"
    );

    // This build takes over the same store: its first tick closes the order and gives the wood
    // back, and a restart after it replays to the same economy.
    let mut upgraded = Sim::new(repriced);
    upgraded.restore_economy(replayed);
    let store = SqliteStore::open(&path, necpsim::config::Synchronous::Full).expect("opens");
    let writer = StoreWriter::spawn(Box::new(store), Box::new(|_, _| {}), || {}).expect("writer");
    stored_step(&mut upgraded, &mut outbox, &writer, Vec::new());
    assert_eq!(
        upgraded.economy().markets.orders().count(),
        0,
        "the old order is closed"
    );
    assert_eq!(wood_held(&upgraded, 0), wood_at_start, "and its wood is back");
    writer.finish();
    let restarted = recover(&path).expect("recovers");
    assert_eq!(restarted.economy.digest(), upgraded.economy().digest());
}

#[test]
fn a_trade_offered_under_the_first_rules_that_wants_an_item_twice_cannot_take_more_than_is_held() {
    let (_dir, path, writer) = fresh_store();
    let mut sim = Sim::new(common::bundled_config());
    let mut outbox = Outbox::default();
    // Player 2 holds 10 food; player 1 wants 6 and 6 of it for a unit of wood (which moves no
    // money, so the store's ledger stays what the first rules would have written).
    let offer = EconomyOp::OfferTrade(Box::new(TradeOffer {
        to: ClientId(2),
        gives: Goods {
            items: [(WOOD, 1), (0, 0)],
            ..Goods::default()
        },
        wants: Goods {
            items: [(FOOD, 6), (FOOD, 6)],
            ..Goods::default()
        },
        lifetime_s: 60,
    }));
    stored_step(
        &mut sim,
        &mut outbox,
        &writer,
        vec![(1, Command::Join), (2, Command::Join)],
    );
    stored_step(&mut sim, &mut outbox, &writer, vec![(1, economy(1, offer))]);
    writer.finish();
    // The store as a build of the first rules wrote it: the proposal stands.
    as_written_under(&path, 1);
    let replayed = recover(&path).expect("recovers");
    assert_eq!(replayed.economy.trades.iter().count(), 1, "the proposal stands");

    // This build takes over and player 2 accepts: the 12 units wanted are more than its 10.
    let mut upgraded = Sim::new(common::bundled_config());
    upgraded.restore_economy(replayed);
    let accept = EconomyOp::AcceptTrade { trade: 1, version: 1 };
    let out = common::step_with(&mut upgraded, &[(2, Command::Join), (2, economy(2, accept))]);
    let answers: Vec<ReplyBody> = (out.replies.iter())
        .filter(|reply| reply.client == ClientId(2) && !matches!(reply.body, ReplyBody::Joined { .. }))
        .map(|reply| reply.body)
        .collect();
    assert_eq!(
        answers,
        [ReplyBody::Refused(necpsim::sim::Refusal::NotEnoughItems)]
    );
    let food = upgraded
        .economy()
        .inventories
        .of(PlayerId(2))
        .map(|inventory| inventory.held(FOOD));
    assert_eq!(food, Some(10), "player 2 keeps its food");
    upgraded.economy().check_invariants().expect("invariants hold");
}
