//! Random economy commands for tests that drive the economy through `Sim::submit`: transfers,
//! market orders and cancels, trade offers, counters, acceptances and cancels, exchanges with the
//! house, auctions and bids, many of them bound to be refused (overdrafts, unknown recipients,
//! offers for more than a player has).

use necpsim::sim::economy::Side;
use necpsim::sim::{ClientId, EconomyOp, Goods};
use rand_chacha::ChaCha8Rng;
use rand_core::Rng;

/// Players the commands name, ids 0 to `PLAYERS - 1` (transfers also to a few unknown ids).
pub const PLAYERS: u64 = 30;
/// Items the market orders name, ids 0 to `ITEMS - 1`.
pub const ITEMS: u16 = 5;

pub fn random_goods(rng: &mut ChaCha8Rng) -> Goods {
    let mut pick = || (rng.next_u32() % 3) as u16;
    let (currency, item_a, item_b) = (pick(), pick(), pick());
    Goods {
        money: [(currency, i64::from(rng.next_u32() % 3_000) - 100), (1, 0)],
        items: [(item_a, rng.next_u32() % 3), (item_b + 2, rng.next_u32() % 2)],
        // Players start with two unique weapons each, ids 1 to 60.
        unique: if rng.next_u32().is_multiple_of(5) {
            1 + u64::from(rng.next_u32() % 60)
        } else {
            0
        },
    }
}

pub fn random_op(rng: &mut ChaCha8Rng, orders: &[u64], trades: &[u64]) -> EconomyOp {
    let amount = |rng: &mut ChaCha8Rng| i64::from(rng.next_u32() % 60_000) - 1_000;
    let trade = |rng: &mut ChaCha8Rng| {
        trades
            .get(rng.next_u32() as usize % trades.len().max(1))
            .copied()
            .unwrap_or(1)
    };
    match rng.next_u32() % 19 {
        16 => EconomyOp::CreateAuction(Box::new(necpsim::sim::AuctionTerms {
            item: (rng.next_u32() % 3) as u16,
            quantity: rng.next_u32() % 4,
            starting_price: i64::from(rng.next_u32() % 800),
            bid_increment: i64::from(rng.next_u32() % 100),
            reserve: i64::from(rng.next_u32() % 900),
            buyout: i64::from(rng.next_u32() % 2) * 1_500,
            duration_h: 1,
            unique: if rng.next_u32().is_multiple_of(4) {
                1 + u64::from(rng.next_u32() % 60)
            } else {
                0
            },
        })),
        17 | 18 => EconomyOp::Bid {
            auction: 1 + u64::from(rng.next_u32() % 50),
            amount_minor: i64::from(rng.next_u32() % 2_000),
        },
        14 | 15 => EconomyOp::Exchange {
            from: (rng.next_u32() % 3) as u16,
            to: (rng.next_u32() % 3) as u16,
            amount_minor: amount(rng),
        },
        10 => EconomyOp::OfferTrade(Box::new(necpsim::sim::TradeOffer {
            to: ClientId(u64::from(rng.next_u32()) % PLAYERS),
            gives: random_goods(rng),
            wants: random_goods(rng),
            lifetime_s: rng.next_u32() % 20,
        })),
        11 => EconomyOp::CounterTrade(Box::new(necpsim::sim::TradeCounter {
            trade: trade(rng),
            gives: random_goods(rng),
            wants: random_goods(rng),
        })),
        12 => EconomyOp::AcceptTrade {
            trade: trade(rng),
            version: 1 + rng.next_u32() % 2,
        },
        13 => EconomyOp::CancelTrade { trade: trade(rng) },
        0..=2 => EconomyOp::Transfer {
            to: ClientId(u64::from(rng.next_u32()) % (PLAYERS + 3)),
            currency: (rng.next_u32() % 3) as u16,
            amount_minor: amount(rng),
        },
        3..=7 => EconomyOp::PlaceOrder {
            item: (rng.next_u32() % u32::from(ITEMS)) as u16,
            side: if rng.next_u32().is_multiple_of(2) {
                Side::Buy
            } else {
                Side::Sell
            },
            price_minor: i64::from(rng.next_u32() % 1_200) - 50,
            quantity: rng.next_u32() % 12,
            lifetime_s: Some(rng.next_u32() % 30),
        },
        _ => EconomyOp::CancelOrder {
            order: orders
                .get(rng.next_u32() as usize % orders.len().max(1))
                .copied()
                .unwrap_or(1),
        },
    }
}
