//! A trader: every `interval_ms`, one economy operation chosen at random: a limit order to buy or
//! sell a stackable item near the scenario's price, a transfer to another bot, or a read (wallet,
//! inventory, an item's market). Every mutating command carries a fresh idempotency key; an
//! acknowledged order or transfer is durable on the server.

use std::time::Duration;

use necpsim::protocol::{EconomyC2s, EconomyOpC2s, EconomyReadC2s, ReplyBodyS2c, RequestC2s};

use super::{Bot, Outcome};
use crate::stats::{Op, Stats};

/// Plays until the deadline or the connection ends.
pub(super) async fn play(bot: &mut Bot) {
    let trading = bot.shared.scenario.trading.clone();
    let mut every = bot.timer(Duration::from_millis(trading.interval_ms));
    let end = bot.end();
    tokio::pin!(end);
    let bots = u64::from(bot.shared.plan.roles.len() as u32);
    loop {
        tokio::select! {
            why = &mut end => return bot.note_end(why),
            _ = every.tick() => {}
        }
        let item = trading.items[bot.below(trading.items.len() as u64) as usize];
        let (op, body) = match bot.below(10) {
            0..=3 => {
                let spread = trading.price_spread_minor.max(0);
                let offset = bot.below(2 * spread as u64 + 1) as i64 - spread;
                let order = EconomyOpC2s::PlaceOrder {
                    item,
                    side: bot.below(2) as u8,
                    price_minor: (trading.price_minor + offset).max(1),
                    quantity: 1,
                    lifetime_s: Some(trading.order_lifetime_s),
                };
                (Op::PlaceOrder, economy(bot, order))
            }
            4..=6 => {
                let pick = bot.below(bots) as u32;
                let mut to = bot.shared.player(pick);
                if to == bot.shared.player(bot.index) {
                    to = bot.shared.player(((bot.index as u64 + 1) % bots.max(1)) as u32);
                }
                let transfer = EconomyOpC2s::Transfer {
                    to,
                    currency: trading.currency,
                    amount_minor: trading.transfer_amount_minor,
                };
                (Op::Transfer, economy(bot, transfer))
            }
            7 => (Op::EconomyRead, RequestC2s::EconomyRead(EconomyReadC2s::Wallet)),
            8 => (
                Op::EconomyRead,
                RequestC2s::EconomyRead(EconomyReadC2s::Inventory),
            ),
            _ => (
                Op::EconomyRead,
                RequestC2s::EconomyRead(EconomyReadC2s::Market { item, depth: 5 }),
            ),
        };
        match bot.call(op, body).await {
            Outcome::Accepted(ReplyBodyS2c::Transferred { .. }) => {
                Stats::bump(&bot.stats().economy_acks);
                Stats::bump(&bot.stats().transfers);
            }
            Outcome::Accepted(ReplyBodyS2c::OrderPlaced { .. }) => Stats::bump(&bot.stats().economy_acks),
            Outcome::Failed => return,
            Outcome::Accepted(_) | Outcome::Refused | Outcome::TimedOut => {}
        }
    }
}

/// An economy command with a fresh idempotency key.
fn economy(bot: &mut Bot, op: EconomyOpC2s) -> RequestC2s {
    RequestC2s::Economy(EconomyC2s {
        idempotency_key: bot.idempotency_key(),
        op,
    })
}
