//! The economy's journal: everything that changed the economy in one tick, as an [`EconomyTick`]
//! (the rules when they change, the accounts opened, the rewards credited, the commands applied
//! in order), handed to the outbox for the store. The economy is deterministic and reads nothing
//! else, so applying the journal again to an empty economy ([`replay`]) rebuilds it exactly,
//! ledger sequence numbers, order ids and idempotency receipts included: this is how a restarted
//! server recovers, and how `necpsim verify` checks a store.

use bevy_ecs::resource::Resource;

use super::carry_over::carry_over;
use super::ledger::{Entry, PlayerId};
use super::rules::RulesVersion;
use super::{Economy, EconomyRules, credit, expire, makers, open_account, ops};
use crate::sim::command::EconomyRequest;
use crate::sim::output::Reward;

/// What changed the economy in one tick, in the order it was applied.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct EconomyTick {
    /// The version of the economy's rules that applied it (kept by the store beside the record's
    /// bytes, not in them).
    #[serde(skip)]
    pub version: RulesVersion,
    /// The tick.
    pub tick: u64,
    /// The rules from this tick on, when they differ from the last record's (always in the first).
    pub rules: Option<EconomyRules>,
    /// Players whose accounts were opened.
    pub opened: Vec<PlayerId>,
    /// Rewards credited.
    pub rewards: Vec<Reward>,
    /// Commands of players in the world, in the order applied.
    pub requests: Vec<(PlayerId, EconomyRequest)>,
}

impl EconomyTick {
    /// Empties the record, keeping its buffers.
    pub(crate) fn clear(&mut self) {
        self.tick = 0;
        self.rules = None;
        self.opened.clear();
        self.rewards.clear();
        self.requests.clear();
    }

    fn has_inputs(&self) -> bool {
        !self.opened.is_empty() || !self.rewards.is_empty() || !self.requests.is_empty()
    }
}

/// The record being written this tick, and the rules last recorded.
#[derive(Debug, Default, Resource)]
pub struct EconomyJournal {
    pub(crate) record: EconomyTick,
    recorded_rules: Option<EconomyRules>,
}

impl EconomyJournal {
    /// Ends the tick: swaps its record into `out` (an emptied record whose buffers this one
    /// reuses) when the tick had inputs, `changed` the economy or changed the rules; true when it
    /// did.
    pub(crate) fn hand_over(
        &mut self,
        tick: u64,
        rules: &EconomyRules,
        changed: bool,
        out: &mut EconomyTick,
    ) -> bool {
        let rules_changed = self.recorded_rules.as_ref() != Some(rules);
        if !(self.record.has_inputs() || changed || rules_changed) {
            return false;
        }
        self.record.tick = tick;
        self.record.version = rules.version;
        if rules_changed {
            self.record.rules = Some(rules.clone());
            self.recorded_rules = Some(rules.clone());
        }
        std::mem::swap(&mut self.record, out);
        self.record.clear();
        true
    }

    /// The rules of the last record, if any was written or replayed.
    pub(crate) fn recorded_rules(&self) -> Option<&EconomyRules> {
        self.recorded_rules.as_ref()
    }

    /// Continues after a replay that ended with `rules` in force.
    pub(crate) fn resume(&mut self, rules: EconomyRules) {
        self.recorded_rules = Some(rules);
    }
}

/// An economy rebuilt from its journal.
#[derive(Debug)]
pub struct Replayed {
    /// The economy after the last record.
    pub economy: Economy,
    /// The rules in force after the last record.
    pub rules: EconomyRules,
    /// The last record's tick.
    pub tick: u64,
}

/// Why a journal cannot be replayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JournalError {
    /// The journal has no records.
    #[error("the journal is empty")]
    Empty,
    /// A record is not after the one before it.
    #[error("journal record of tick {tick} follows tick {previous}")]
    OutOfOrder {
        /// The record's tick.
        tick: u64,
        /// The tick before it.
        previous: u64,
    },
    /// The first record carries no rules.
    #[error("the first journal record (tick {tick}) carries no rules")]
    NoRules {
        /// Its tick.
        tick: u64,
    },
}

/// Applies `records` to an empty economy, tick by tick (ticks between records run the per-tick
/// systems with no inputs, as they did live). `on_entries` receives the ledger entries each
/// record's tick wrote, for comparison with a stored ledger.
pub fn replay(
    records: impl IntoIterator<Item = EconomyTick>,
    mut on_entries: impl FnMut(u64, &[Entry]),
) -> Result<Replayed, JournalError> {
    let mut economy = Economy::default();
    let mut rules: Option<EconomyRules> = None;
    let mut last: Option<u64> = None;
    let mut entries = Vec::new();
    for record in records {
        if let Some(previous) = last {
            if record.tick <= previous {
                return Err(JournalError::OutOfOrder {
                    tick: record.tick,
                    previous,
                });
            }
            if let Some(rules) = &rules {
                for tick in previous + 1..record.tick {
                    makers::step(&mut economy, rules, tick);
                    expire(&mut economy, rules, tick);
                    economy.ledger.drain_journal(&mut entries);
                    on_entries(tick, &entries);
                    entries.clear();
                }
            }
        }
        if let Some(mut changed) = record.rules {
            changed.version = record.version;
            if let Some(previous) = &rules {
                carry_over(&mut economy, previous, &changed, record.tick);
            }
            rules = Some(changed);
        }
        let rules = rules
            .as_mut()
            .ok_or(JournalError::NoRules { tick: record.tick })?;
        rules.version = record.version;
        apply(
            &mut economy,
            rules,
            record.tick,
            &record.opened,
            &record.rewards,
            record.requests,
        );
        economy.ledger.drain_journal(&mut entries);
        on_entries(record.tick, &entries);
        entries.clear();
        last = Some(record.tick);
    }
    match (last, rules) {
        (Some(tick), Some(rules)) => Ok(Replayed { economy, rules, tick }),
        _ => Err(JournalError::Empty),
    }
}

/// One tick of the economy, in the order of the live systems (reads change nothing and are left
/// out).
fn apply(
    economy: &mut Economy,
    rules: &EconomyRules,
    tick: u64,
    opened: &[PlayerId],
    rewards: &[Reward],
    requests: Vec<(PlayerId, EconomyRequest)>,
) {
    for &player in opened {
        open_account(economy, rules, tick, player);
    }
    if !rewards.is_empty() {
        credit(economy, rules, tick, rewards);
    }
    for (player, request) in requests {
        ops::answer(economy, rules, player, request, tick);
    }
    makers::step(economy, rules, tick);
    expire(economy, rules, tick);
}
