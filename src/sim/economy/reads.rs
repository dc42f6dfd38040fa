//! Reads of the economy: a client's wallet and inventory, and an item's market. Answered after
//! the tick's economy commands, so they show their effect; the rows go to the outbox's buffers.
//! While the economy is paused they are refused as busy, like its commands (see
//! [`Sim::pause_economy`](crate::sim::Sim::pause_economy) for why).

use bevy_ecs::world::{Mut, World};

use super::ledger::{CurrencyId, PlayerId};
use super::{Economy, EconomyInbox, EconomyRules};
use crate::sim::command::{EconomyRead, Refusal};
use crate::sim::gameplay::Clients;
use crate::sim::output::{Balance, MarketView, Outbox, Reply, ReplyBody, Span, count_refusal};
use crate::sim::resources::{SimCounters, Tick};

/// Deepest market read.
pub const MAX_MARKET_DEPTH: u8 = 50;

/// Most candles in one price-history read.
pub const MAX_CANDLES: u16 = 500;

/// Answers every economy read of this tick, in arrival order.
pub(crate) fn answer_economy_reads(world: &mut World) {
    let mut reads = std::mem::take(&mut world.resource_mut::<EconomyInbox>().reads);
    if !reads.is_empty() {
        let tick = world.resource::<Tick>().0;
        let paused = world.resource::<EconomyInbox>().paused;
        world.resource_scope(|world, mut outbox: Mut<Outbox>| {
            world.resource_scope(|world, mut counters: Mut<SimCounters>| {
                let (clients, economy, rules) = (
                    world.resource::<Clients>(),
                    world.resource::<Economy>(),
                    world.resource::<EconomyRules>(),
                );
                for &(to, read) in &reads {
                    let body = if paused {
                        ReplyBody::Refused(Refusal::Busy)
                    } else if clients.entity(to.client).is_some() {
                        answer(economy, rules, PlayerId(to.client.0), read, &mut outbox)
                    } else {
                        ReplyBody::Refused(Refusal::NotJoined)
                    };
                    count_refusal(&mut counters, &body);
                    outbox.replies.push(Reply::new(to, tick, body));
                }
            });
        });
    }
    reads.clear();
    world.resource_mut::<EconomyInbox>().reads = reads;
}

fn answer(
    economy: &Economy,
    rules: &EconomyRules,
    player: PlayerId,
    read: EconomyRead,
    outbox: &mut Outbox,
) -> ReplyBody {
    match read {
        EconomyRead::Wallet => {
            let start = outbox.balances.len();
            for index in 0..rules.currencies.len() {
                let currency = CurrencyId(index as u16);
                outbox.balances.push(Balance {
                    currency: currency.0,
                    available: economy.ledger.wallet(player, currency),
                    reserved: economy.ledger.reserved(player, currency),
                });
            }
            ReplyBody::Wallet {
                balances: Span::since(&outbox.balances, start),
            }
        }
        EconomyRead::Inventory => {
            let inventory = economy.inventories.of(player);
            let start = outbox.holdings.len();
            if let Some(inventory) = inventory {
                outbox
                    .holdings
                    .extend(inventory.stacks.iter().map(|(&item, &holding)| (item, holding)));
            }
            let holdings = Span::since(&outbox.holdings, start);
            let start = outbox.uniques.len();
            if let Some(inventory) = inventory {
                outbox.uniques.extend_from_slice(&inventory.uniques);
            }
            ReplyBody::Inventory {
                holdings,
                uniques: Span::since(&outbox.uniques, start),
            }
        }
        EconomyRead::Candles { item, count } => {
            if usize::from(item) >= rules.items.len() {
                return ReplyBody::Refused(Refusal::UnknownItem);
            }
            if count > MAX_CANDLES {
                return ReplyBody::Refused(Refusal::InvalidSettings);
            }
            let start = outbox.candles.len();
            if let Some(book) = economy.markets.book(item) {
                let kept = book.candles().len();
                let skip = kept.saturating_sub(usize::from(count));
                outbox
                    .candles
                    .extend(book.candles().candles().skip(skip).copied());
            }
            ReplyBody::Candles {
                item,
                candles: Span::since(&outbox.candles, start),
            }
        }
        EconomyRead::Market { item, depth } => {
            if usize::from(item) >= rules.items.len() {
                return ReplyBody::Refused(Refusal::UnknownItem);
            }
            if depth > MAX_MARKET_DEPTH {
                return ReplyBody::Refused(Refusal::InvalidSettings);
            }
            let book = economy.markets.book(item);
            let mut side = |side| {
                let start = outbox.depth.len();
                if let Some(book) = book {
                    outbox.depth.extend(book.levels(side).take(usize::from(depth)));
                }
                Span::since(&outbox.depth, start)
            };
            let bids = side(super::Side::Buy);
            let asks = side(super::Side::Sell);
            ReplyBody::Market(MarketView {
                item,
                last: book.and_then(|b| b.last_price()),
                bid: book.and_then(|b| b.best_bid()),
                ask: book.and_then(|b| b.best_ask()),
                bids,
                asks,
            })
        }
    }
}
