//! The economy: wallets in a double-entry [`ledger`] (money is i64 minor units; every change is a
//! balanced entry), inventories of stackable and unique items, one limit [`order_book`] per item
//! with escrow and fees, idempotency keys on every mutating command, and combat rewards credited
//! in the tick they arrive. Owns the `Economy` phase; reads the outbox's joins and rewards of the
//! tick and writes the ledger entries of the tick back to it for the store.

pub mod auctions;
mod carry_over;
pub mod idempotency;
mod inventory;
mod journal;
pub mod ledger;
mod makers;
mod market;
mod numbered;
mod ops;
pub mod order_book;
mod owner_counts;
mod reads;
mod rules;
pub mod trades;

use std::collections::BTreeSet;

use bevy_ecs::resource::Resource;
use bevy_ecs::schedule::IntoScheduleConfigs;
use bevy_ecs::system::ResMut;
use bevy_ecs::world::{Mut, World};

pub use inventory::{Holding, Inventories, Inventory};
pub use journal::{EconomyJournal, EconomyTick, JournalError, Replayed, replay};
pub use market::{Markets, OrderMeta};
pub use numbered::Numbered;
pub use order_book::Side;
pub use reads::{MAX_CANDLES, MAX_MARKET_DEPTH};
pub use rules::{EconomyRules, ItemRule, OpenLimits, PairRule, RulesVersion};

use auctions::Auctions;
use idempotency::IdempotencyStore;
use ledger::{CurrencyId, EntryKind, Ledger, PlayerId};
pub use makers::Makers;
use trades::Trades;

use super::command::{EconomyRead, EconomyRequest, ReplyTo};
use super::output::{Grant, Outbox, ReplyBody, Reward, SimEvent};
use super::resources::{ActiveConfig, Tick, TickRate, refresh_rules};
use super::schedule::{SimPlugin, SimSet, TickSchedules};

/// The economy's whole state.
#[derive(Debug, Default, Resource)]
pub struct Economy {
    /// Every balance and the entries not yet handed to the store.
    pub ledger: Ledger,
    /// Every inventory.
    pub inventories: Inventories,
    /// Every order book and open order.
    pub markets: Markets,
    /// The first reply to every idempotency key still remembered.
    pub receipts: IdempotencyStore<Receipt>,
    /// Players whose accounts are open (they have entered the world at least once).
    pub accounts: BTreeSet<PlayerId>,
    /// Pending player-to-player trades.
    pub trades: Trades,
    /// Running auctions.
    pub auctions: Auctions,
    /// The market makers.
    pub makers: Makers,
    /// Experience earned in combat, by player.
    pub experience: std::collections::BTreeMap<PlayerId, u64>,
}

/// A broken economy invariant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EconomyViolation {
    /// The ledger's balances break conservation or go negative.
    #[error(transparent)]
    Ledger(#[from] ledger::InvariantViolation),
    /// One unique item is in two places.
    #[error("unique item {id} has two owners: {first} and {second}")]
    TwoOwners {
        /// The item.
        id: u64,
        /// One owner.
        first: u64,
        /// The other.
        second: u64,
    },
}

impl Economy {
    /// Whether this tick changed an inventory, an order, a trade or an auction (which the store
    /// writes with the tick, and a player may be shown).
    pub fn touched_this_tick(&self) -> bool {
        !self.inventories.touched().is_empty()
            || !self.markets.touched().is_empty()
            || !self.trades.touched().is_empty()
            || !self.auctions.touched().is_empty()
    }

    /// Checks conservation per currency and no negative balances (the ledger's invariants), and
    /// that every unique item has one owner.
    pub fn check_invariants(&self) -> Result<(), EconomyViolation> {
        self.ledger.check_invariants()?;
        let mut owners = std::collections::BTreeMap::new();
        for (player, inventory) in self.inventories.iter() {
            for &(id, _) in inventory.uniques.iter().chain(&inventory.escrowed_uniques) {
                if let Some(first) = owners.insert(id, player.0) {
                    return Err(EconomyViolation::TwoOwners {
                        id,
                        first,
                        second: player.0,
                    });
                }
            }
        }
        Ok(())
    }
}

/// The reply to an economy command as remembered for its idempotency key: the economy's replies
/// only, in 24 bytes rather than a whole [`ReplyBody`], since a day of keys is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receipt {
    /// [`ReplyBody::Transferred`].
    Transferred(u64),
    /// [`ReplyBody::OrderPlaced`]: order, filled, resting.
    OrderPlaced(u64, u32, u32),
    /// [`ReplyBody::OrderCancelled`]: order, remaining.
    OrderCancelled(u64, u32),
    /// [`ReplyBody::TradeProposed`]: trade, version.
    TradeProposed(u64, u32),
    /// [`ReplyBody::TradeDone`].
    TradeDone(u64),
    /// [`ReplyBody::Exchanged`].
    Exchanged(i64),
    /// [`ReplyBody::AuctionCreated`].
    AuctionCreated(u64),
    /// [`ReplyBody::BidPlaced`].
    BidPlaced(u64, bool),
    /// [`ReplyBody::TradeCancelled`].
    TradeCancelled(u64),
    /// [`ReplyBody::Refused`].
    Refused(super::command::Refusal),
}

impl Receipt {
    /// The receipt of `body`; any reply that is not the economy's is kept as a refusal of the
    /// input, which economy commands never produce.
    pub(crate) fn of(body: ReplyBody) -> Receipt {
        match body {
            ReplyBody::Transferred { entry } => Receipt::Transferred(entry),
            ReplyBody::OrderPlaced {
                order,
                filled,
                resting,
            } => Receipt::OrderPlaced(order, filled, resting),
            ReplyBody::OrderCancelled { order, remaining } => Receipt::OrderCancelled(order, remaining),
            ReplyBody::TradeProposed { trade, version } => Receipt::TradeProposed(trade, version),
            ReplyBody::TradeDone { trade } => Receipt::TradeDone(trade),
            ReplyBody::Exchanged { received } => Receipt::Exchanged(received),
            ReplyBody::AuctionCreated { auction } => Receipt::AuctionCreated(auction),
            ReplyBody::BidPlaced { auction, won } => Receipt::BidPlaced(auction, won),
            ReplyBody::TradeCancelled { trade } => Receipt::TradeCancelled(trade),
            ReplyBody::Refused(refusal) => Receipt::Refused(refusal),
            _ => Receipt::Refused(super::command::Refusal::InvalidInput),
        }
    }

    /// The reply it stands for.
    pub(crate) fn reply(self) -> ReplyBody {
        match self {
            Receipt::Transferred(entry) => ReplyBody::Transferred { entry },
            Receipt::OrderPlaced(order, filled, resting) => ReplyBody::OrderPlaced {
                order,
                filled,
                resting,
            },
            Receipt::OrderCancelled(order, remaining) => ReplyBody::OrderCancelled { order, remaining },
            Receipt::TradeProposed(trade, version) => ReplyBody::TradeProposed { trade, version },
            Receipt::TradeDone(trade) => ReplyBody::TradeDone { trade },
            Receipt::Exchanged(received) => ReplyBody::Exchanged { received },
            Receipt::AuctionCreated(auction) => ReplyBody::AuctionCreated { auction },
            Receipt::BidPlaced(auction, won) => ReplyBody::BidPlaced { auction, won },
            Receipt::TradeCancelled(trade) => ReplyBody::TradeCancelled { trade },
            Receipt::Refused(refusal) => ReplyBody::Refused(refusal),
        }
    }
}

/// Economy commands and reads of this tick, in arrival order.
#[derive(Debug, Default, Resource)]
pub struct EconomyInbox {
    pub(crate) requests: Vec<(ReplyTo, EconomyRequest)>,
    pub(crate) reads: Vec<(ReplyTo, EconomyRead)>,
    /// While set, economy commands are refused with the busy code (the store is behind or
    /// failing).
    pub(crate) paused: bool,
}

/// Adds the economy resources and systems.
#[derive(Debug, Default)]
pub(crate) struct EconomyPlugin;

impl SimPlugin for EconomyPlugin {
    fn build(&self, world: &mut World, schedules: &mut TickSchedules) {
        let rules = EconomyRules::resolve(&world.resource::<ActiveConfig>().0, *world.resource::<TickRate>());
        world.insert_resource(rules);
        world.init_resource::<Economy>();
        world.init_resource::<EconomyInbox>();
        world.init_resource::<EconomyJournal>();
        schedules.simulate.add_systems(
            (
                refresh_rules::<EconomyRules>,
                begin_tick,
                carry_over::carry_over_to_new_rules,
                open_accounts,
                credit_rewards,
                ops::apply_economy_commands,
                makers::run_market_makers,
                reads::answer_economy_reads,
                expire_orders_and_keys,
                hand_over_entries,
            )
                .chain()
                .in_set(SimSet::Economy),
        );
    }
}

/// Forgets what the previous tick touched.
fn begin_tick(mut economy: ResMut<Economy>) {
    let economy = &mut *economy;
    economy.inventories.touched.clear();
    economy.markets.touched.clear();
    economy.trades.clear_touched();
    economy.auctions.clear_touched();
}

/// Opens the account of every player entering the world for the first time.
fn open_accounts(world: &mut World) {
    world.resource_scope(|world, outbox: Mut<Outbox>| {
        world.resource_scope(|world, rules: Mut<EconomyRules>| {
            let tick = world.resource::<Tick>().0;
            world.resource_scope(|world, mut journal: Mut<EconomyJournal>| {
                let mut economy = world.resource_mut::<Economy>();
                for event in &outbox.events {
                    let SimEvent::PlayerJoined { client, .. } = *event else {
                        continue;
                    };
                    let player = PlayerId(client.0);
                    if open_account(&mut economy, &rules, tick, player) {
                        journal.record.opened.push(player);
                    }
                }
            });
        });
    });
}

/// Opens `player`'s account if it has none, minting the currencies' starting balances and
/// handing over the starting items; true when it was opened.
pub(crate) fn open_account(economy: &mut Economy, rules: &EconomyRules, tick: u64, player: PlayerId) -> bool {
    if !economy.accounts.insert(player) {
        return false;
    }
    let mut tx = economy.ledger.begin(tick);
    for (index, &(_, starting)) in rules.currencies.iter().enumerate() {
        if starting > 0 {
            let _ = tx.mint(CurrencyId(index as u16), player, starting, EntryKind::Reward, 0);
        }
    }
    // Minting positive amounts into a fresh wallet cannot fail.
    let _ = tx.commit();
    for &(item, units) in &rules.starting_items {
        if rules
            .items
            .get(usize::from(item))
            .is_some_and(|rule| rule.stackable)
        {
            economy.inventories.of_mut(player).holding_mut(item).held += units;
        } else {
            for _ in 0..units {
                economy.inventories.grant_unique(player, item);
            }
        }
    }
    true
}

/// Credits the rewards of the sessions that ended this tick.
fn credit_rewards(world: &mut World) {
    world.resource_scope(|world, mut outbox: Mut<Outbox>| {
        let new = &outbox.rewards[outbox.rewards_credited.min(outbox.rewards.len())..];
        if new.is_empty() {
            return;
        }
        world.resource_scope(|world, rules: Mut<EconomyRules>| {
            let tick = world.resource::<Tick>().0;
            credit(&mut world.resource_mut::<Economy>(), &rules, tick, new);
            world
                .resource_mut::<EconomyJournal>()
                .record
                .rewards
                .extend_from_slice(new);
        });
        outbox.rewards_credited = outbox.rewards.len();
    });
}

/// Credits `rewards`: experience, minted currency and items. Each currency reward is minted in a
/// transaction of its own and a zero one is skipped, so that one the ledger refuses (a zero
/// amount, a currency at its cap) costs nobody else theirs; the first rules minted them all in
/// one transaction.
pub(crate) fn credit(economy: &mut Economy, rules: &EconomyRules, tick: u64, rewards: &[Reward]) {
    let Economy {
        ledger,
        inventories,
        experience,
        ..
    } = economy;
    if rules.version < RulesVersion::SECOND {
        let mut tx = ledger.begin(tick);
        grant(
            rewards,
            rules,
            inventories,
            experience,
            |currency, player, minor, session| {
                let _ = tx.mint(currency, player, minor, EntryKind::Reward, session);
            },
        );
        let _ = tx.commit();
        return;
    }
    grant(
        rewards,
        rules,
        inventories,
        experience,
        |currency, player, minor, session| {
            if minor == 0 {
                return;
            }
            let mut tx = ledger.begin(tick);
            if tx
                .mint(currency, player, minor, EntryKind::Reward, session)
                .is_ok()
            {
                let _ = tx.commit();
            }
        },
    );
}

/// Gives each of `rewards`' experience and items, and hands each currency grant to `mint`.
fn grant(
    rewards: &[Reward],
    rules: &EconomyRules,
    inventories: &mut Inventories,
    experience: &mut std::collections::BTreeMap<PlayerId, u64>,
    mut mint: impl FnMut(CurrencyId, PlayerId, i64, u64),
) {
    for reward in rewards {
        let player = PlayerId(reward.client.0);
        match reward.grant {
            Grant::Experience(points) => *experience.entry(player).or_default() += points,
            Grant::Currency { currency, minor } => {
                mint(CurrencyId(currency), player, minor, reward.session.0)
            }
            Grant::Item { item } => {
                if rules
                    .items
                    .get(usize::from(item))
                    .is_some_and(|rule| rule.stackable)
                {
                    inventories.of_mut(player).holding_mut(item).held += 1;
                } else {
                    inventories.grant_unique(player, item);
                }
            }
        }
    }
}

/// Gives back what expired orders and lapsed trade proposals hold, settles auctions that are due,
/// and forgets idempotency keys older than the window.
fn expire_orders_and_keys(world: &mut World) {
    world.resource_scope(|world, rules: Mut<EconomyRules>| {
        let tick = world.resource::<Tick>().0;
        expire(&mut world.resource_mut::<Economy>(), &rules, tick);
    });
}

/// What [`expire_orders_and_keys`] does, at `tick`.
pub(crate) fn expire(economy: &mut Economy, rules: &EconomyRules, tick: u64) {
    let Economy {
        ledger,
        inventories,
        markets,
        receipts,
        trades,
        auctions,
        ..
    } = economy;
    receipts.expire(tick, rules.idempotency_window_ticks);
    markets.expire_all(tick, ledger, inventories);
    trades.expire(tick, ledger, inventories);
    auctions.settle_due(tick, rules.auction_fee_bps, ledger, inventories);
}

/// Moves the tick's ledger entries to the outbox for the store, with the tick's journal record
/// when the economy changed (or its rules did).
fn hand_over_entries(
    mut economy: ResMut<Economy>,
    mut outbox: ResMut<Outbox>,
    mut journal: ResMut<EconomyJournal>,
    rules: bevy_ecs::system::Res<EconomyRules>,
    tick: bevy_ecs::system::Res<Tick>,
) {
    if !economy.ledger.journal().is_empty() {
        economy.ledger.drain_journal(&mut outbox.ledger);
    }
    let outbox = &mut *outbox;
    // A tick that changed the economy without moving money (an expiry handing items back) is
    // recorded too, empty: a replay then runs through it, and a restart resumes after it rather
    // than before what a player was shown.
    let changed = !outbox.ledger.is_empty() || economy.touched_this_tick();
    outbox.economy_written = journal.hand_over(tick.0, &rules, changed, &mut outbox.economy);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receipt_takes_24_bytes_and_gives_back_its_reply() {
        assert_eq!(size_of::<Receipt>(), 24);
        let placed = ReplyBody::OrderPlaced {
            order: 9,
            filled: 2,
            resting: 1,
        };
        assert_eq!(Receipt::of(placed).reply(), placed);
    }
}
