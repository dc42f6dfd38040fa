//! The economy through the command door: starting balances and items, transfers with idempotency
//! keys, market orders that match, settle with a fee, cancel and expire, combat rewards credited,
//! and refusals that leave every balance and item as it was. The ledger's invariants are checked
//! after every tick.

mod common;

use std::sync::Arc;

use necpsim::sim::economy::Side;
use necpsim::sim::economy::ledger::{CurrencyId, PlayerId};
use necpsim::sim::{ClientId, Command, EconomyOp, EconomyRequest, Outbox, Refusal, ReplyBody, Sim};

const CRYPTOS: u16 = 0;
const EURODOLLARS: u16 = 1;
const FOOD: u16 = 1;
const WEAPON: u16 = 3;

fn step(sim: &mut Sim, commands: &[(u64, Command)]) -> Outbox {
    let out = common::step_with(sim, commands);
    sim.economy()
        .ledger
        .check_invariants()
        .expect("ledger invariants hold");
    out
}

fn world(players: &[u64]) -> Sim {
    let mut sim = Sim::new(Arc::new(common::close_quarters(|_| {})));
    let joins: Vec<(u64, Command)> = players.iter().map(|&p| (p, Command::Join)).collect();
    step(&mut sim, &joins);
    sim
}

fn request(key: u128, op: EconomyOp) -> Command {
    Command::Economy(EconomyRequest { key, op })
}

fn transfer(to: u64, amount_minor: i64) -> EconomyOp {
    EconomyOp::Transfer {
        to: ClientId(to),
        currency: EURODOLLARS,
        amount_minor,
    }
}

fn order(side: Side, price_minor: i64, quantity: u32) -> EconomyOp {
    EconomyOp::PlaceOrder {
        item: FOOD,
        side,
        price_minor,
        quantity,
        lifetime_s: None,
    }
}

fn reply(out: &Outbox, client: u64) -> ReplyBody {
    let bodies: Vec<ReplyBody> = out
        .replies
        .iter()
        .filter(|r| r.client == ClientId(client))
        .map(|r| r.body)
        .collect();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    bodies[0]
}

fn wallet(sim: &Sim, player: u64) -> i64 {
    sim.economy()
        .ledger
        .wallet(PlayerId(player), CurrencyId(EURODOLLARS))
}

fn food(sim: &Sim, player: u64) -> u32 {
    sim.economy()
        .inventories
        .of(PlayerId(player))
        .map_or(0, |i| i.held(FOOD))
}

#[test]
fn new_players_start_with_the_configured_money_and_items() {
    let sim = world(&[1]);
    assert_eq!(wallet(&sim, 1), 100_000);
    assert_eq!(sim.economy().ledger.wallet(PlayerId(1), CurrencyId(CRYPTOS)), 0);
    assert_eq!(food(&sim, 1), 10);
    assert_eq!(sim.economy().ledger.minted(CurrencyId(EURODOLLARS)), 100_000);
}

#[test]
fn a_transfer_happens_once_per_key() {
    let mut sim = world(&[1, 2]);
    let out = step(&mut sim, &[(1, request(7, transfer(2, 2_500)))]);
    let first = reply(&out, 1);
    assert!(matches!(first, ReplyBody::Transferred { .. }), "{first:?}");
    assert_eq!((wallet(&sim, 1), wallet(&sim, 2)), (97_500, 102_500));
    assert_eq!(out.ledger.len(), 1, "one entry handed to the store");

    // The same key and payload again (a retry): the first reply, nothing moves.
    let out = step(&mut sim, &[(1, request(7, transfer(2, 2_500)))]);
    assert_eq!(reply(&out, 1), first);
    assert_eq!((wallet(&sim, 1), wallet(&sim, 2)), (97_500, 102_500));
    assert!(out.ledger.is_empty());
    // The same key with another payload is refused; another player's key 7 is its own.
    let out = step(
        &mut sim,
        &[(1, request(7, transfer(2, 1))), (2, request(7, transfer(1, 500)))],
    );
    assert_eq!(reply(&out, 1), ReplyBody::Refused(Refusal::KeyReused));
    assert!(matches!(reply(&out, 2), ReplyBody::Transferred { .. }));
    assert_eq!((wallet(&sim, 1), wallet(&sim, 2)), (98_000, 102_000));
}

#[test]
fn a_player_is_remembered_for_its_last_keys_only() {
    use necpsim::sim::economy::idempotency::KEYS_PER_PLAYER;
    let mut sim = world(&[1, 2]);
    let sent = KEYS_PER_PLAYER as u128 + 1;
    for key in 1..=sent {
        let out = step(&mut sim, &[(1, request(key, transfer(2, 1)))]);
        assert!(matches!(reply(&out, 1), ReplyBody::Transferred { .. }));
    }
    assert_eq!(
        sim.economy().receipts.len(),
        KEYS_PER_PLAYER,
        "one player's keys are bounded"
    );
    // The newest keys are still retries; the oldest, one command too far back, is new again.
    let out = step(&mut sim, &[(1, request(2, transfer(2, 1)))]);
    assert!(matches!(reply(&out, 1), ReplyBody::Transferred { .. }));
    assert!(out.ledger.is_empty(), "a retry of a remembered key moves nothing");
    let out = step(&mut sim, &[(1, request(1, transfer(2, 1)))]);
    assert!(matches!(reply(&out, 1), ReplyBody::Transferred { .. }));
    assert_eq!(out.ledger.len(), 1, "a forgotten key executes again");
    assert_eq!(wallet(&sim, 2), 100_000 + sent as i64 + 1);
}

#[test]
fn refused_transfers_change_nothing() {
    let mut sim = world(&[1, 2]);
    let cases = [
        (transfer(2, 100_001), Refusal::InsufficientFunds),
        (transfer(2, 0), Refusal::InvalidAmount),
        (transfer(2, -5), Refusal::InvalidAmount),
        (transfer(1, 10), Refusal::InvalidAmount),
        (transfer(99, 10), Refusal::UnknownRecipient),
        (
            EconomyOp::Transfer {
                to: ClientId(2),
                currency: 9,
                amount_minor: 1,
            },
            Refusal::UnknownCurrency,
        ),
    ];
    for (key, (op, refusal)) in cases.into_iter().enumerate() {
        let out = step(&mut sim, &[(1, request(key as u128 + 1, op.clone()))]);
        assert_eq!(reply(&out, 1), ReplyBody::Refused(refusal), "{op:?}");
        assert!(out.ledger.is_empty());
        assert_eq!((wallet(&sim, 1), wallet(&sim, 2)), (100_000, 100_000));
    }
    let out = step(&mut sim, &[(42, request(1, transfer(1, 10)))]);
    assert_eq!(reply(&out, 42), ReplyBody::Refused(Refusal::NotJoined));
}

#[test]
fn orders_match_at_the_makers_price_and_the_seller_pays_the_fee() {
    let mut sim = world(&[1, 2]);
    let out = step(&mut sim, &[(1, request(1, order(Side::Sell, 600, 5)))]);
    let ReplyBody::OrderPlaced {
        order: sell,
        filled: 0,
        resting: 5,
    } = reply(&out, 1)
    else {
        panic!("sell refused: {:?}", reply(&out, 1))
    };
    assert_eq!(food(&sim, 1), 5, "five escrowed");

    // A buyer bidding 700 for 3 trades at the resting 600: pays 1,800, gets the other 300 of its
    // reservation back; the seller receives 1,800 less the 2.5 % fee (45).
    let out = step(&mut sim, &[(2, request(1, order(Side::Buy, 700, 3)))]);
    assert!(matches!(
        reply(&out, 2),
        ReplyBody::OrderPlaced {
            filled: 3,
            resting: 0,
            ..
        }
    ));
    assert_eq!(wallet(&sim, 2), 100_000 - 1_800);
    assert_eq!(
        sim.economy()
            .ledger
            .reserved(PlayerId(2), CurrencyId(EURODOLLARS)),
        0
    );
    assert_eq!(wallet(&sim, 1), 100_000 + 1_800 - 45);
    assert_eq!((food(&sim, 1), food(&sim, 2)), (5, 13));
    let book = sim.economy().markets.book(FOOD).expect("food market");
    assert_eq!(
        (book.last_price(), book.best_ask(), book.best_bid()),
        (Some(600), Some(600), None)
    );

    // Cancelling the rest gives the seller its two units back; the order is gone.
    let out = step(
        &mut sim,
        &[(1, request(2, EconomyOp::CancelOrder { order: sell }))],
    );
    assert_eq!(
        reply(&out, 1),
        ReplyBody::OrderCancelled {
            order: sell,
            remaining: 2
        }
    );
    assert_eq!(food(&sim, 1), 7);
    let out = step(
        &mut sim,
        &[(1, request(3, EconomyOp::CancelOrder { order: sell }))],
    );
    assert_eq!(reply(&out, 1), ReplyBody::Refused(Refusal::UnknownOrder));
}

#[test]
fn refused_orders_change_nothing_and_expired_orders_give_everything_back() {
    let mut sim = world(&[1, 2]);
    let cases = [
        (order(Side::Sell, 600, 11), Refusal::NotEnoughItems),
        (order(Side::Buy, 100_000, 2), Refusal::InsufficientFunds),
        (order(Side::Buy, 0, 2), Refusal::InvalidAmount),
        (order(Side::Buy, 10, 0), Refusal::InvalidAmount),
        (order(Side::Buy, 10, 1_000_000), Refusal::InventoryFull),
        (
            EconomyOp::PlaceOrder {
                item: WEAPON,
                side: Side::Buy,
                price_minor: 10,
                quantity: 1,
                lifetime_s: None,
            },
            Refusal::NotStackable,
        ),
    ];
    for (key, (op, refusal)) in cases.into_iter().enumerate() {
        let out = step(&mut sim, &[(1, request(key as u128 + 1, op.clone()))]);
        assert_eq!(reply(&out, 1), ReplyBody::Refused(refusal), "{op:?}");
        assert_eq!((wallet(&sim, 1), food(&sim, 1)), (100_000, 10));
        assert_eq!(
            sim.economy()
                .ledger
                .reserved(PlayerId(1), CurrencyId(EURODOLLARS)),
            0
        );
    }
    let out = step(&mut sim, &[(2, request(1, EconomyOp::CancelOrder { order: 1 }))]);
    assert_eq!(reply(&out, 2), ReplyBody::Refused(Refusal::UnknownOrder));

    // A bid for one second of game time reserves its money, then expires and releases it.
    let short = EconomyOp::PlaceOrder {
        item: FOOD,
        side: Side::Buy,
        price_minor: 400,
        quantity: 4,
        lifetime_s: Some(1),
    };
    let out = step(&mut sim, &[(2, request(2, short))]);
    let ReplyBody::OrderPlaced { order: bid, .. } = reply(&out, 2) else {
        panic!("bid refused")
    };
    assert_eq!(
        sim.economy()
            .ledger
            .reserved(PlayerId(2), CurrencyId(EURODOLLARS)),
        1_600
    );
    let out = step(
        &mut sim,
        &[(1, request(20, EconomyOp::CancelOrder { order: bid }))],
    );
    assert_eq!(reply(&out, 1), ReplyBody::Refused(Refusal::NotOrderOwner));
    for _ in 0..60 {
        step(&mut sim, &[]);
    }
    assert_eq!(
        sim.economy()
            .ledger
            .reserved(PlayerId(2), CurrencyId(EURODOLLARS)),
        0
    );
    assert_eq!(wallet(&sim, 2), 100_000);
    assert!(
        sim.economy()
            .markets
            .order(necpsim::sim::economy::order_book::OrderId(bid))
            .is_none()
    );
}

#[test]
fn a_currency_that_is_not_tradeable_changes_no_hands() {
    let mut sim = Sim::new(Arc::new(common::close_quarters(|config| {
        let eurodollars = config
            .economy
            .currencies
            .currencies
            .get_mut("eurodollars")
            .expect("eurodollars");
        eurodollars.tradeable = false;
    })));
    step(&mut sim, &[(1, Command::Join), (2, Command::Join)]);
    let out = step(
        &mut sim,
        &[
            (1, request(1, transfer(2, 10))),
            (2, request(1, order(Side::Sell, 500, 1))),
        ],
    );
    assert_eq!(reply(&out, 1), ReplyBody::Refused(Refusal::NotTradeable));
    assert_eq!(reply(&out, 2), ReplyBody::Refused(Refusal::NotTradeable));
    // Nor at auction: food is priced in eurodollars.
    let terms = necpsim::sim::AuctionTerms {
        item: FOOD,
        quantity: 5,
        starting_price: 1,
        bid_increment: 1,
        reserve: 0,
        buyout: 30_000,
        duration_h: 1,
        unique: 0,
    };
    let out = step(
        &mut sim,
        &[(2, request(2, EconomyOp::CreateAuction(Box::new(terms))))],
    );
    assert_eq!(reply(&out, 2), ReplyBody::Refused(Refusal::NotTradeable));
    assert!(sim.economy().auctions.iter().next().is_none());
    assert_eq!(
        (wallet(&sim, 1), wallet(&sim, 2), food(&sim, 2)),
        (100_000, 100_000, 10)
    );
}

#[test]
fn a_key_sent_again_with_another_unique_item_is_a_reused_key() {
    let mut sim = Sim::new(Arc::new(common::close_quarters(|config| {
        config
            .economy
            .players
            .starting_items
            .insert("weapon".to_owned(), 2);
    })));
    step(&mut sim, &[(1, Command::Join), (2, Command::Join)]);
    let held = |sim: &Sim| {
        let inventory = sim.economy().inventories.of(PlayerId(1)).expect("inventory");
        (inventory.uniques.len(), inventory.escrowed_uniques.len())
    };
    let weapons: Vec<u64> = sim
        .economy()
        .inventories
        .of(PlayerId(1))
        .expect("inventory")
        .uniques
        .iter()
        .map(|&(id, _)| id)
        .collect();
    let offer = |unique| {
        EconomyOp::OfferTrade(Box::new(necpsim::sim::TradeOffer {
            to: ClientId(2),
            gives: necpsim::sim::Goods {
                unique,
                ..necpsim::sim::Goods::default()
            },
            wants: goods(5_000, [(FOOD, 0); 2]),
            lifetime_s: 60,
        }))
    };
    let out = step(&mut sim, &[(1, request(5, offer(weapons[0])))]);
    assert!(matches!(reply(&out, 1), ReplyBody::TradeProposed { .. }));
    let out = step(&mut sim, &[(1, request(5, offer(weapons[1])))]);
    assert_eq!(reply(&out, 1), ReplyBody::Refused(Refusal::KeyReused));
    assert_eq!(held(&sim), (1, 1), "only the first weapon is escrowed");
}

#[test]
fn a_trade_that_would_overfill_the_proposers_inventory_is_refused() {
    const METAL: u16 = 2;
    // Two slots: 1 fills them with its food and wood; 2 also starts with a metal.
    let two_slots = |metal: u32| {
        Arc::new(common::close_quarters(|config| {
            config.economy.players.inventory_slots = 2;
            config
                .economy
                .players
                .starting_items
                .insert("metal".to_owned(), metal);
        }))
    };
    let mut sim = Sim::new(two_slots(0));
    step(&mut sim, &[(1, Command::Join)]);
    sim.apply_config(two_slots(1));
    step(&mut sim, &[(2, Command::Join)]);
    // 1 gives half its food for the metal: food and wood stay, and the metal needs a third slot.
    let offer = EconomyOp::OfferTrade(Box::new(necpsim::sim::TradeOffer {
        to: ClientId(2),
        gives: goods(0, [(FOOD, 5), (WOOD, 0)]),
        wants: goods(0, [(METAL, 1), (FOOD, 0)]),
        lifetime_s: 60,
    }));
    let out = step(&mut sim, &[(1, request(1, offer))]);
    let ReplyBody::TradeProposed { trade, version } = reply(&out, 1) else {
        panic!("offer refused: {:?}", reply(&out, 1))
    };
    let out = step(
        &mut sim,
        &[(2, request(1, EconomyOp::AcceptTrade { trade, version }))],
    );
    assert_eq!(reply(&out, 2), ReplyBody::Refused(Refusal::InventoryFull));
    let metal = |player| {
        sim.economy()
            .inventories
            .of(PlayerId(player))
            .map_or(0, |i| i.held(METAL))
    };
    assert_eq!((food(&sim, 1), wood(&sim, 1), metal(1), metal(2)), (5, 5, 0, 1));
}

#[test]
fn a_player_that_holds_nothing_yet_gets_no_more_than_its_slots_by_trade_or_auction() {
    use necpsim::sim::AuctionTerms;

    // 1 starts with food and wood; then slots drop to one and 2 and 3 start with nothing.
    let mut sim = world(&[1]);
    sim.apply_config(Arc::new(common::close_quarters(|config| {
        config.economy.players.inventory_slots = 1;
        config.economy.players.starting_items.clear();
    })));
    step(&mut sim, &[(2, Command::Join), (3, Command::Join)]);
    assert!(
        sim.economy().inventories.of(PlayerId(2)).is_none(),
        "2 holds nothing yet"
    );

    // All 1's food and wood would take two slots.
    let offer = |gives| {
        EconomyOp::OfferTrade(Box::new(necpsim::sim::TradeOffer {
            to: ClientId(2),
            gives,
            wants: goods(1, [(FOOD, 0); 2]),
            lifetime_s: 60,
        }))
    };
    let accept = |out: &Outbox, key| match reply(out, 1) {
        ReplyBody::TradeProposed { trade, version } => {
            request(key, EconomyOp::AcceptTrade { trade, version })
        }
        other => panic!("offer refused: {other:?}"),
    };
    let out = step(
        &mut sim,
        &[(1, request(1, offer(goods(0, [(FOOD, 10), (WOOD, 5)]))))],
    );
    let accepting = accept(&out, 1);
    let out = step(&mut sim, &[(2, accepting)]);
    assert_eq!(reply(&out, 2), ReplyBody::Refused(Refusal::InventoryFull));
    assert_eq!((food(&sim, 2), wood(&sim, 2), wallet(&sim, 2)), (0, 0, 100_000));
    // The food alone fits, and leaves 1 with one slot's worth too.
    step(&mut sim, &[(1, request(2, EconomyOp::CancelTrade { trade: 1 }))]);
    let out = step(
        &mut sim,
        &[(1, request(3, offer(goods(0, [(FOOD, 10), (WOOD, 0)]))))],
    );
    let out = step(&mut sim, &[(2, accept(&out, 2))]);
    assert!(
        matches!(reply(&out, 2), ReplyBody::TradeDone { .. }),
        "{:?}",
        reply(&out, 2)
    );
    assert_eq!((food(&sim, 1), food(&sim, 2), wallet(&sim, 2)), (0, 10, 99_999));

    // A bid is refused, as a buy order is, when what the auction sells would not fit: 2's slot
    // holds its food, so wood would need a second; 3's is free.
    let terms = AuctionTerms {
        item: WOOD,
        quantity: 2,
        starting_price: 100,
        bid_increment: 10,
        reserve: 0,
        buyout: 0,
        duration_h: 1,
        unique: 0,
    };
    let out = step(
        &mut sim,
        &[(1, request(4, EconomyOp::CreateAuction(Box::new(terms))))],
    );
    let ReplyBody::AuctionCreated { auction } = reply(&out, 1) else {
        panic!("auction refused: {:?}", reply(&out, 1))
    };
    let bid = |amount_minor| {
        request(
            10,
            EconomyOp::Bid {
                auction,
                amount_minor,
            },
        )
    };
    let out = step(&mut sim, &[(2, bid(100)), (3, bid(100))]);
    assert_eq!(reply(&out, 2), ReplyBody::Refused(Refusal::InventoryFull));
    assert_eq!(reply(&out, 3), ReplyBody::BidPlaced { auction, won: false });
    assert_eq!((reserved(&sim, 2), reserved(&sim, 3)), (0, 100));
}

#[test]
fn clients_read_their_wallet_inventory_and_the_market() {
    use necpsim::sim::{Balance, EconomyRead, MarketView};

    let mut sim = world(&[1, 2]);
    step(
        &mut sim,
        &[
            (1, request(1, order(Side::Sell, 600, 4))),
            (1, request(2, order(Side::Sell, 650, 2))),
            (2, request(1, order(Side::Buy, 500, 3))),
        ],
    );
    let read = |sim: &mut Sim, client: u64, read: EconomyRead| {
        let out = step(sim, &[(client, Command::EconomyRead(read))]);
        (reply(&out, client), out)
    };
    let (body, out) = read(&mut sim, 2, EconomyRead::Wallet);
    let ReplyBody::Wallet { balances } = body else {
        panic!("wallet refused: {body:?}")
    };
    let eurodollars = Balance {
        currency: EURODOLLARS,
        available: 100_000 - 1_500,
        reserved: 1_500,
    };
    assert_eq!(balances.of(&out.balances)[usize::from(EURODOLLARS)], eurodollars);

    let (body, out) = read(&mut sim, 1, EconomyRead::Inventory);
    let ReplyBody::Inventory { holdings, uniques } = body else {
        panic!("inventory refused: {body:?}")
    };
    let food_holding = holdings
        .of(&out.holdings)
        .iter()
        .find(|(item, _)| *item == FOOD)
        .map(|h| h.1);
    assert_eq!(
        food_holding.map(|h| (h.held, h.escrowed, h.incoming)),
        Some((4, 6, 0))
    );
    assert!(uniques.of(&out.uniques).is_empty());

    let (body, out) = read(&mut sim, 2, EconomyRead::Market { item: FOOD, depth: 5 });
    let ReplyBody::Market(MarketView {
        last,
        bid,
        ask,
        bids,
        asks,
        ..
    }) = body
    else {
        panic!("market refused: {body:?}")
    };
    assert_eq!((last, bid, ask), (None, Some(500), Some(600)));
    assert_eq!(bids.of(&out.depth), [(500, 3)]);
    assert_eq!(asks.of(&out.depth), [(600, 4), (650, 2)]);

    // One trade at 600 makes the first candle of food's history.
    step(&mut sim, &[(2, request(2, order(Side::Buy, 600, 1)))]);
    let (body, out) = read(
        &mut sim,
        2,
        EconomyRead::Candles {
            item: FOOD,
            count: 10,
        },
    );
    let ReplyBody::Candles { candles, .. } = body else {
        panic!("candles refused: {body:?}")
    };
    let candles = candles.of(&out.candles);
    assert_eq!(candles.len(), 1);
    let candle = candles[0];
    assert_eq!(
        (candle.open, candle.high, candle.low, candle.close, candle.volume),
        (600, 600, 600, 600, 1)
    );
    let (body, _) = read(
        &mut sim,
        2,
        EconomyRead::Candles {
            item: FOOD,
            count: 501,
        },
    );
    assert_eq!(body, ReplyBody::Refused(Refusal::InvalidSettings));
    let (body, _) = read(&mut sim, 2, EconomyRead::Market { item: 99, depth: 5 });
    assert_eq!(body, ReplyBody::Refused(Refusal::UnknownItem));
    let (body, _) = read(
        &mut sim,
        2,
        EconomyRead::Market {
            item: FOOD,
            depth: 51,
        },
    );
    assert_eq!(body, ReplyBody::Refused(Refusal::InvalidSettings));
}

const WOOD: u16 = 4;

fn goods(eurodollars: i64, items: [(u16, u32); 2]) -> necpsim::sim::Goods {
    necpsim::sim::Goods {
        money: [(EURODOLLARS, eurodollars), (CRYPTOS, 0)],
        items,
        unique: 0,
    }
}

fn wood(sim: &Sim, player: u64) -> u32 {
    sim.economy()
        .inventories
        .of(PlayerId(player))
        .map_or(0, |i| i.held(WOOD))
}

fn reserved(sim: &Sim, player: u64) -> i64 {
    sim.economy()
        .ledger
        .reserved(PlayerId(player), CurrencyId(EURODOLLARS))
}

#[test]
fn a_trade_escrows_the_offer_and_swaps_everything_on_acceptance() {
    use necpsim::sim::SimEvent;

    let mut sim = world(&[1, 2]);
    // 1 gives 2 food and 1,000 for 3 wood.
    let offer = EconomyOp::OfferTrade(Box::new(necpsim::sim::TradeOffer {
        to: ClientId(2),
        gives: goods(1_000, [(FOOD, 2), (WOOD, 0)]),
        wants: goods(0, [(WOOD, 3), (FOOD, 0)]),
        lifetime_s: 60,
    }));
    let out = step(&mut sim, &[(1, request(1, offer.clone()))]);
    let ReplyBody::TradeProposed { trade, version: 1 } = reply(&out, 1) else {
        panic!("offer refused: {:?}", reply(&out, 1))
    };
    assert!(out.events.iter().any(|e| matches!(
        e,
        SimEvent::TradeProposed {
            responder: ClientId(2),
            ..
        }
    )));
    assert_eq!(
        (reserved(&sim, 1), food(&sim, 1)),
        (1_000, 8),
        "the offer is escrowed"
    );

    let accept = |version| EconomyOp::AcceptTrade { trade, version };
    let out = step(
        &mut sim,
        &[(1, request(2, accept(1))), (2, request(1, accept(2)))],
    );
    assert_eq!(reply(&out, 1), ReplyBody::Refused(Refusal::NotTradeParty));
    assert_eq!(reply(&out, 2), ReplyBody::Refused(Refusal::TradeChanged));
    let out = step(&mut sim, &[(2, request(2, accept(1)))]);
    assert_eq!(reply(&out, 2), ReplyBody::TradeDone { trade });
    assert_eq!(
        (wallet(&sim, 1), reserved(&sim, 1), wallet(&sim, 2)),
        (99_000, 0, 101_000)
    );
    assert_eq!(
        (food(&sim, 1), wood(&sim, 1), food(&sim, 2), wood(&sim, 2)),
        (8, 8, 12, 2)
    );
    assert!(sim.economy().trades.get(trade).is_none());
}

#[test]
fn a_counter_swaps_the_escrow_and_cancels_and_lapses_give_it_back() {
    let mut sim = world(&[1, 2]);
    let offer = |lifetime_s| {
        EconomyOp::OfferTrade(Box::new(necpsim::sim::TradeOffer {
            to: ClientId(2),
            gives: goods(500, [(FOOD, 0), (WOOD, 0)]),
            wants: goods(0, [(WOOD, 1), (FOOD, 0)]),
            lifetime_s,
        }))
    };
    let out = step(&mut sim, &[(1, request(1, offer(60)))]);
    let ReplyBody::TradeProposed { trade, .. } = reply(&out, 1) else {
        panic!("offer refused")
    };
    // 2 counters: 1 wood for 800. Its wood is escrowed and 1's 500 released.
    let counter = EconomyOp::CounterTrade(Box::new(necpsim::sim::TradeCounter {
        trade,
        gives: goods(0, [(WOOD, 1), (FOOD, 0)]),
        wants: goods(800, [(FOOD, 0), (WOOD, 0)]),
    }));
    let out = step(&mut sim, &[(2, request(1, counter))]);
    assert_eq!(reply(&out, 2), ReplyBody::TradeProposed { trade, version: 2 });
    assert_eq!((reserved(&sim, 1), wood(&sim, 2)), (0, 4));
    let out = step(
        &mut sim,
        &[(2, request(2, EconomyOp::AcceptTrade { trade, version: 2 }))],
    );
    assert_eq!(
        reply(&out, 2),
        ReplyBody::Refused(Refusal::NotTradeParty),
        "2 proposes now"
    );
    let out = step(&mut sim, &[(1, request(2, EconomyOp::CancelTrade { trade }))]);
    assert_eq!(reply(&out, 1), ReplyBody::TradeCancelled { trade });
    assert_eq!((wood(&sim, 2), wallet(&sim, 1)), (5, 100_000), "everything back");

    // A proposal for one second lapses and gives its escrow back.
    let out = step(&mut sim, &[(1, request(3, offer(1)))]);
    let ReplyBody::TradeProposed { trade, .. } = reply(&out, 1) else {
        panic!("offer refused")
    };
    assert_eq!(reserved(&sim, 1), 500);
    for _ in 0..60 {
        step(&mut sim, &[]);
    }
    assert_eq!((reserved(&sim, 1), wallet(&sim, 1)), (0, 100_000));
    let out = step(
        &mut sim,
        &[(2, request(3, EconomyOp::AcceptTrade { trade, version: 1 }))],
    );
    assert_eq!(reply(&out, 2), ReplyBody::Refused(Refusal::UnknownTrade));
}

#[test]
fn refused_trades_change_nothing() {
    let mut sim = world(&[1, 2]);
    let offer = |gives, wants| {
        EconomyOp::OfferTrade(Box::new(necpsim::sim::TradeOffer {
            to: ClientId(2),
            gives,
            wants,
            lifetime_s: 60,
        }))
    };
    let cases = [
        (
            offer(goods(0, [(FOOD, 11), (WOOD, 0)]), goods(1, [(FOOD, 0); 2])),
            Refusal::NotEnoughItems,
        ),
        (
            offer(goods(200_000, [(FOOD, 0); 2]), goods(0, [(WOOD, 1), (FOOD, 0)])),
            Refusal::InsufficientFunds,
        ),
        (
            offer(goods(0, [(FOOD, 0); 2]), goods(0, [(WOOD, 1), (FOOD, 0)])),
            Refusal::InvalidAmount,
        ),
        (
            offer(
                goods(-5, [(FOOD, 1), (WOOD, 0)]),
                goods(0, [(WOOD, 1), (FOOD, 0)]),
            ),
            Refusal::InvalidAmount,
        ),
        (
            offer(
                goods(0, [(WEAPON, 1), (WOOD, 0)]),
                goods(0, [(WOOD, 1), (FOOD, 0)]),
            ),
            Refusal::NotStackable,
        ),
        // Each entry alone is within what 1 holds; together they are not.
        (
            offer(goods(0, [(FOOD, 10), (FOOD, 10)]), goods(1, [(FOOD, 0); 2])),
            Refusal::ListedTwice,
        ),
        (
            offer(
                necpsim::sim::Goods {
                    money: [(EURODOLLARS, 60_000), (EURODOLLARS, 60_000)],
                    ..goods(0, [(FOOD, 0); 2])
                },
                goods(0, [(WOOD, 1), (FOOD, 0)]),
            ),
            Refusal::ListedTwice,
        ),
        (
            offer(goods(0, [(FOOD, 1), (WOOD, 0)]), goods(0, [(WOOD, 5), (WOOD, 5)])),
            Refusal::ListedTwice,
        ),
    ];
    for (key, (op, refusal)) in cases.into_iter().enumerate() {
        let out = step(&mut sim, &[(1, request(key as u128 + 1, op.clone()))]);
        assert_eq!(reply(&out, 1), ReplyBody::Refused(refusal), "{op:?}");
        assert_eq!(
            (wallet(&sim, 1), reserved(&sim, 1), food(&sim, 1)),
            (100_000, 0, 10)
        );
    }
    // 2 cannot pay what the proposal wants: the acceptance is refused and nothing moves.
    let out = step(
        &mut sim,
        &[(
            1,
            request(
                9,
                offer(goods(0, [(FOOD, 1), (WOOD, 0)]), goods(0, [(WOOD, 9), (FOOD, 0)])),
            ),
        )],
    );
    let ReplyBody::TradeProposed { trade, .. } = reply(&out, 1) else {
        panic!("offer refused")
    };
    let out = step(
        &mut sim,
        &[(2, request(1, EconomyOp::AcceptTrade { trade, version: 1 }))],
    );
    assert_eq!(reply(&out, 2), ReplyBody::Refused(Refusal::NotEnoughItems));
    assert_eq!((food(&sim, 1), wood(&sim, 2), food(&sim, 2)), (9, 5, 10));
    assert!(
        sim.economy().trades.get(trade).is_some(),
        "the proposal still stands"
    );
}

#[test]
fn the_house_exchanges_at_its_spread_and_takes_its_fee() {
    let mut sim = world(&[1]);
    let exchange = |from, to, amount_minor| EconomyOp::Exchange {
        from,
        to,
        amount_minor,
    };
    // Buying cryptos: the ask is the mid (2,500,000 eurodollar minor units per million crypto
    // minor units) plus half the 2 % spread = 2,525,000; 25,250 buys 10,000, less the 0.5 % fee.
    let out = step(
        &mut sim,
        &[(1, request(1, exchange(EURODOLLARS, CRYPTOS, 25_250)))],
    );
    assert_eq!(reply(&out, 1), ReplyBody::Exchanged { received: 9_950 });
    let cryptos = |sim: &Sim| sim.economy().ledger.wallet(PlayerId(1), CurrencyId(CRYPTOS));
    assert_eq!((wallet(&sim, 1), cryptos(&sim)), (74_750, 9_950));
    // Selling them back: the bid is 2,475,000; 9,950 fetch 24,626, less a fee of 123.
    let out = step(
        &mut sim,
        &[(1, request(2, exchange(CRYPTOS, EURODOLLARS, 9_950)))],
    );
    assert_eq!(reply(&out, 1), ReplyBody::Exchanged { received: 24_503 });
    assert_eq!((wallet(&sim, 1), cryptos(&sim)), (99_253, 0));
    let fees = |currency| {
        sim.economy()
            .ledger
            .balance(necpsim::sim::economy::ledger::Account::Fees, CurrencyId(currency))
    };
    assert_eq!((fees(EURODOLLARS), fees(CRYPTOS)), (123, 50));

    let cases = [
        (exchange(EURODOLLARS, EURODOLLARS, 10), Refusal::NoSuchPair),
        (exchange(EURODOLLARS, 7, 10), Refusal::NoSuchPair),
        (exchange(EURODOLLARS, CRYPTOS, 0), Refusal::InvalidAmount),
        (exchange(EURODOLLARS, CRYPTOS, 1), Refusal::InvalidAmount),
        (
            exchange(EURODOLLARS, CRYPTOS, 1_000_000),
            Refusal::InsufficientFunds,
        ),
    ];
    for (key, (op, refusal)) in cases.into_iter().enumerate() {
        let out = step(&mut sim, &[(1, request(key as u128 + 10, op.clone()))]);
        assert_eq!(reply(&out, 1), ReplyBody::Refused(refusal), "{op:?}");
        assert_eq!((wallet(&sim, 1), cryptos(&sim)), (99_253, 0));
    }
}

#[test]
fn auctions_escrow_bids_refund_the_outbid_and_settle_at_the_end_or_at_buyout() {
    use necpsim::sim::AuctionTerms;

    // One tick a second, so that an hour of game time is 3,600 ticks.
    let mut sim = Sim::new(Arc::new(common::close_quarters(|config| {
        config.server.tick.rate_hz = 1.0
    })));
    step(
        &mut sim,
        &[(1, Command::Join), (2, Command::Join), (3, Command::Join)],
    );
    let terms = AuctionTerms {
        item: FOOD,
        quantity: 3,
        starting_price: 500,
        bid_increment: 100,
        reserve: 800,
        buyout: 2_000,
        duration_h: 1,
        unique: 0,
    };
    let auction_of = |out: &Outbox| match reply(out, 1) {
        ReplyBody::AuctionCreated { auction } => auction,
        other => panic!("auction refused: {other:?}"),
    };
    let bid = |auction, amount_minor| EconomyOp::Bid {
        auction,
        amount_minor,
    };
    let out = step(
        &mut sim,
        &[(1, request(1, EconomyOp::CreateAuction(Box::new(terms))))],
    );
    let first = auction_of(&out);
    assert_eq!(food(&sim, 1), 7, "three escrowed");

    let out = step(
        &mut sim,
        &[(2, request(1, bid(first, 400))), (1, request(2, bid(first, 900)))],
    );
    assert_eq!(reply(&out, 2), ReplyBody::Refused(Refusal::BidTooLow));
    assert_eq!(reply(&out, 1), ReplyBody::Refused(Refusal::OwnAuction));
    step(&mut sim, &[(2, request(2, bid(first, 500)))]);
    assert_eq!(reserved(&sim, 2), 500);
    let out = step(&mut sim, &[(3, request(1, bid(first, 550)))]);
    assert_eq!(
        reply(&out, 3),
        ReplyBody::Refused(Refusal::BidTooLow),
        "500 + 100 at least"
    );
    step(&mut sim, &[(3, request(2, bid(first, 700)))]);
    assert_eq!(
        (reserved(&sim, 2), wallet(&sim, 2), reserved(&sim, 3)),
        (0, 100_000, 700),
        "2 refunded at once"
    );

    // The hour ends below the reserve: the food goes back, the bid is refunded.
    for _ in 0..3_600 {
        step(&mut sim, &[]);
    }
    assert_eq!(
        (food(&sim, 1), reserved(&sim, 3), wallet(&sim, 3)),
        (10, 0, 100_000)
    );
    assert!(sim.economy().auctions.get(first).is_none());

    // A bid at the buyout wins at once: the food to the bidder, the money to the seller less 5 %.
    let out = step(
        &mut sim,
        &[(1, request(3, EconomyOp::CreateAuction(Box::new(terms))))],
    );
    let second = auction_of(&out);
    let out = step(&mut sim, &[(2, request(3, bid(second, 2_000)))]);
    assert_eq!(
        reply(&out, 2),
        ReplyBody::BidPlaced {
            auction: second,
            won: true
        }
    );
    assert_eq!(
        (food(&sim, 2), wallet(&sim, 2), wallet(&sim, 1)),
        (13, 98_000, 101_900)
    );

    // At or above the reserve at the end, it sells for the highest bid.
    let out = step(
        &mut sim,
        &[(1, request(4, EconomyOp::CreateAuction(Box::new(terms))))],
    );
    let third = auction_of(&out);
    step(&mut sim, &[(3, request(3, bid(third, 900)))]);
    for _ in 0..3_600 {
        step(&mut sim, &[]);
    }
    assert_eq!(
        (food(&sim, 3), wallet(&sim, 3), wallet(&sim, 1)),
        (13, 99_100, 101_900 + 900 - 45)
    );
    assert_eq!(food(&sim, 1), 4);
}

#[test]
fn market_makers_quote_every_item_and_learn_from_their_fills() {
    use necpsim::sim::EconomyRead;

    let mut sim = Sim::new(Arc::new(common::close_quarters(|config| {
        config.economy.market.makers.count = 2;
        config.economy.market.makers.quote_interval_s = 1;
        config
            .economy
            .players
            .starting_items
            .insert("food".to_owned(), 100);
    })));
    step(&mut sim, &[(1, Command::Join)]);
    for _ in 0..60 {
        step(&mut sim, &[]);
    }
    let market = |sim: &mut Sim| {
        let out = step(
            sim,
            &[(
                1,
                Command::EconomyRead(EconomyRead::Market { item: FOOD, depth: 1 }),
            )],
        );
        match reply(&out, 1) {
            ReplyBody::Market(view) => (view.bid, view.ask),
            other => panic!("market refused: {other:?}"),
        }
    };
    // Food's base price is 500: the makers quote around it.
    let (Some(first_bid), Some(ask)) = market(&mut sim) else {
        panic!("no quotes")
    };
    assert!(first_bid < 500 && 500 < ask, "{first_bid} {ask}");

    // A player keeps selling into the bids: the makers learn that food goes for less.
    for key in 0..20u128 {
        let (Some(bid), _) = market(&mut sim) else {
            panic!("no bid")
        };
        step(&mut sim, &[(1, request(key + 1, order(Side::Sell, bid, 3)))]);
        for _ in 0..60 {
            step(&mut sim, &[]);
        }
    }
    let (Some(later_bid), _) = market(&mut sim) else {
        panic!("no bid")
    };
    assert!(
        later_bid < first_bid * 9 / 10,
        "bids follow the fills down: {first_bid} -> {later_bid}"
    );
    sim.economy()
        .ledger
        .check_invariants()
        .expect("makers keep the books balanced");
}

#[test]
fn market_makers_take_up_an_item_added_while_they_run() {
    use necpsim::sim::EconomyRead;

    let makers = |config: &mut necpsim::config::Config| {
        config.economy.market.makers.count = 1;
        config.economy.market.makers.quote_interval_s = 1;
    };
    let mut sim = Sim::new(Arc::new(common::close_quarters(makers)));
    step(&mut sim, &[(1, Command::Join)]);
    for _ in 0..120 {
        step(&mut sim, &[]);
    }
    // A designer adds zinc, which sorts after every bundled item, so no index moves.
    let with_zinc = common::close_quarters(|config| {
        makers(config);
        let mut zinc = config.economy.items.items["food"].clone();
        zinc.base_price_minor = 700;
        config.economy.items.items.insert("zinc".to_owned(), zinc);
    });
    let zinc = with_zinc
        .economy
        .items
        .items
        .keys()
        .position(|name| name == "zinc")
        .expect("zinc") as u16;
    sim.apply_config(Arc::new(with_zinc));
    for _ in 0..120 {
        step(&mut sim, &[]);
    }
    let out = step(
        &mut sim,
        &[(
            1,
            Command::EconomyRead(EconomyRead::Market { item: zinc, depth: 1 }),
        )],
    );
    // The maker holds no zinc to sell, but bids below its base price.
    let ReplyBody::Market(view) = reply(&out, 1) else {
        panic!("market refused: {:?}", reply(&out, 1))
    };
    assert!(view.bid.is_some_and(|bid| bid < 700), "{:?}", view.bid);
}

#[test]
fn a_unique_item_changes_owner_in_a_trade() {
    let mut sim = Sim::new(Arc::new(common::close_quarters(|config| {
        config
            .economy
            .players
            .starting_items
            .insert("weapon".to_owned(), 1);
    })));
    step(&mut sim, &[(1, Command::Join), (2, Command::Join)]);
    let uniques = |sim: &Sim, player| {
        let inventory = sim.economy().inventories.of(PlayerId(player)).expect("inventory");
        (inventory.uniques.clone(), inventory.escrowed_uniques.clone())
    };
    let (mine, _) = uniques(&sim, 1);
    let [(weapon, item)] = mine[..] else {
        panic!("one starting weapon: {mine:?}")
    };
    assert_eq!(item, WEAPON);
    let (theirs, _) = uniques(&sim, 2);
    assert_ne!(theirs[0].0, weapon, "every unique item has its own id");

    // 1 offers its weapon for 5,000; it is escrowed, still 1's, until 2 accepts.
    let gives = necpsim::sim::Goods {
        unique: weapon,
        ..necpsim::sim::Goods::default()
    };
    let offer = EconomyOp::OfferTrade(Box::new(necpsim::sim::TradeOffer {
        to: ClientId(2),
        gives,
        wants: goods(5_000, [(FOOD, 0); 2]),
        lifetime_s: 60,
    }));
    let out = step(&mut sim, &[(1, request(1, offer.clone()))]);
    let ReplyBody::TradeProposed { trade, .. } = reply(&out, 1) else {
        panic!("offer refused: {:?}", reply(&out, 1))
    };
    assert_eq!(uniques(&sim, 1), (vec![], vec![(weapon, WEAPON)]));
    // Offering it again while escrowed is refused.
    let out = step(&mut sim, &[(1, request(2, offer))]);
    assert_eq!(reply(&out, 1), ReplyBody::Refused(Refusal::NotEnoughItems));
    let out = step(
        &mut sim,
        &[(2, request(1, EconomyOp::AcceptTrade { trade, version: 1 }))],
    );
    assert_eq!(reply(&out, 2), ReplyBody::TradeDone { trade });
    assert_eq!(uniques(&sim, 1), (vec![], vec![]));
    assert!(uniques(&sim, 2).0.contains(&(weapon, WEAPON)));
    assert_eq!((wallet(&sim, 1), wallet(&sim, 2)), (105_000, 95_000));

    // 2 auctions it on; 1 buys it back at the buyout price.
    let terms = necpsim::sim::AuctionTerms {
        item: 0,
        quantity: 0,
        starting_price: 1_000,
        bid_increment: 100,
        reserve: 0,
        buyout: 6_000,
        duration_h: 1,
        unique: weapon,
    };
    let out = step(
        &mut sim,
        &[(2, request(2, EconomyOp::CreateAuction(Box::new(terms))))],
    );
    let ReplyBody::AuctionCreated { auction } = reply(&out, 2) else {
        panic!("auction refused: {:?}", reply(&out, 2))
    };
    assert_eq!(uniques(&sim, 2).1, vec![(weapon, WEAPON)], "escrowed");
    let bid = EconomyOp::Bid {
        auction,
        amount_minor: 6_000,
    };
    let out = step(&mut sim, &[(1, request(3, bid))]);
    assert_eq!(reply(&out, 1), ReplyBody::BidPlaced { auction, won: true });
    assert_eq!(uniques(&sim, 1).0, vec![(weapon, WEAPON)]);
    assert!(!uniques(&sim, 2).0.contains(&(weapon, WEAPON)) && uniques(&sim, 2).1.is_empty());
}

#[test]
fn each_player_may_hold_only_so_many_open_orders_trade_proposals_and_auctions() {
    use necpsim::sim::{AuctionTerms, TradeCounter, TradeOffer};

    let mut sim = Sim::new(Arc::new(common::close_quarters(|config| {
        let players = &mut config.economy.players;
        (
            players.max_open_orders,
            players.max_open_trades,
            players.max_open_auctions,
        ) = (2, 2, 1);
    })));
    step(
        &mut sim,
        &[(1, Command::Join), (2, Command::Join), (3, Command::Join)],
    );
    let mut key = 0;
    let mut send = |sim: &mut Sim, player: u64, op: EconomyOp| {
        key += 1;
        reply(&step(sim, &[(player, request(key, op))]), player)
    };
    let held = |sim: &Sim, player: u64| (wallet(sim, player), reserved(sim, player), food(sim, player));

    // Orders: two rest, the third is refused and reserves nothing; a cancel makes room.
    let mut resting = Vec::new();
    for _ in 0..2 {
        let ReplyBody::OrderPlaced {
            order, resting: 1, ..
        } = send(&mut sim, 1, order(Side::Buy, 1, 1))
        else {
            panic!("a low bid rests")
        };
        resting.push(order);
    }
    let before = held(&sim, 1);
    assert_eq!(
        send(&mut sim, 1, order(Side::Buy, 1, 1)),
        ReplyBody::Refused(Refusal::TooManyOpen)
    );
    assert_eq!(held(&sim, 1), before, "a refused order reserves nothing");
    assert!(
        matches!(
            send(&mut sim, 2, order(Side::Buy, 1, 1)),
            ReplyBody::OrderPlaced { .. }
        ),
        "the limit is each player's own"
    );
    send(&mut sim, 1, EconomyOp::CancelOrder { order: resting[0] });
    assert!(matches!(
        send(&mut sim, 1, order(Side::Buy, 1, 1)),
        ReplyBody::OrderPlaced { .. }
    ));

    // Trade proposals count for their proposer, so a counter moves one from 1 to 2.
    let offer = |to| {
        EconomyOp::OfferTrade(Box::new(TradeOffer {
            to: ClientId(to),
            gives: goods(0, [(FOOD, 1), (WOOD, 0)]),
            wants: goods(10, [(FOOD, 0), (WOOD, 0)]),
            lifetime_s: 60,
        }))
    };
    let mut proposed = Vec::new();
    for _ in 0..2 {
        let ReplyBody::TradeProposed { trade, .. } = send(&mut sim, 1, offer(2)) else {
            panic!("offer refused")
        };
        proposed.push(trade);
    }
    let before = held(&sim, 1);
    assert_eq!(
        send(&mut sim, 1, offer(3)),
        ReplyBody::Refused(Refusal::TooManyOpen)
    );
    assert_eq!(held(&sim, 1), before, "a refused offer escrows nothing");
    let counter = EconomyOp::CounterTrade(Box::new(TradeCounter {
        trade: proposed[0],
        gives: goods(20, [(FOOD, 0), (WOOD, 0)]),
        wants: goods(0, [(FOOD, 1), (WOOD, 0)]),
    }));
    assert!(matches!(
        send(&mut sim, 2, counter),
        ReplyBody::TradeProposed { version: 2, .. }
    ));
    let ReplyBody::TradeProposed { trade, .. } = send(&mut sim, 1, offer(3)) else {
        panic!("the counter freed one of 1's places")
    };
    proposed.push(trade);
    // 2 now proposes one and may propose one more; then its counter is refused, changing nothing.
    assert!(matches!(
        send(&mut sim, 2, offer(3)),
        ReplyBody::TradeProposed { .. }
    ));
    let before = (held(&sim, 1), held(&sim, 2));
    let counter = EconomyOp::CounterTrade(Box::new(TradeCounter {
        trade: proposed[1],
        gives: goods(20, [(FOOD, 0), (WOOD, 0)]),
        wants: goods(0, [(FOOD, 1), (WOOD, 0)]),
    }));
    assert_eq!(
        send(&mut sim, 2, counter),
        ReplyBody::Refused(Refusal::TooManyOpen)
    );
    assert_eq!((held(&sim, 1), held(&sim, 2)), before);
    let standing = sim.economy().trades.get(proposed[1]).expect("still open");
    assert_eq!((standing.proposer, standing.version), (PlayerId(1), 1));

    // Auctions: one at a time; a buyout ends it and makes room for the next.
    let auction = EconomyOp::CreateAuction(Box::new(AuctionTerms {
        item: FOOD,
        quantity: 1,
        starting_price: 100,
        bid_increment: 10,
        reserve: 0,
        buyout: 200,
        duration_h: 1,
        unique: 0,
    }));
    let ReplyBody::AuctionCreated { auction: first } = send(&mut sim, 3, auction.clone()) else {
        panic!("auction refused")
    };
    let before = held(&sim, 3);
    assert_eq!(
        send(&mut sim, 3, auction.clone()),
        ReplyBody::Refused(Refusal::TooManyOpen)
    );
    assert_eq!(held(&sim, 3), before, "a refused auction escrows nothing");
    let won = EconomyOp::Bid {
        auction: first,
        amount_minor: 200,
    };
    assert!(matches!(
        send(&mut sim, 2, won),
        ReplyBody::BidPlaced { won: true, .. }
    ));
    assert!(matches!(
        send(&mut sim, 3, auction),
        ReplyBody::AuctionCreated { .. }
    ));
}
