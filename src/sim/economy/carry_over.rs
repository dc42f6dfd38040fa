//! What a change of the economy's rules carries over to what is open, from
//! [`RulesVersion::FOURTH`] on:
//!
//! - an item whose price currency changed has its orders in any other currency closed, what they
//!   hold given back (a book matches all its orders against each other and pays in the buyer's
//!   currency, so a seller priced in one currency would be paid in another), as are those earlier
//!   rules left behind, at the first carry-over from them; a market maker learns from a closed
//!   quote only what it sold before;
//! - after a change of tick rate, every order, trade proposal and auction ends at the same time
//!   as before, and every idempotency key keeps its age, so that a rate drop forgets no key early
//!   and a retry within the window still finds its first reply.
//!
//! The live economy carries over when its rules differ from the last recorded ones (the tick's
//! journal record then carries the new rules); a replay carries over at each record that carries
//! rules. Both start from the same economy and rules, so both reach the same state.

use bevy_ecs::system::{Res, ResMut};

use super::rules::RulesVersion;
use super::{Economy, EconomyJournal, EconomyRules};
use crate::sim::rescale::Rescale;
use crate::sim::resources::Tick;

/// Carries the economy over from `previous` to `next` rules at `tick`, before any command of
/// the tick; the rules of `next`'s version decide whether anything is done.
pub(crate) fn carry_over(economy: &mut Economy, previous: &EconomyRules, next: &EconomyRules, tick: u64) {
    if next.version < RulesVersion::FOURTH {
        return;
    }
    let Economy {
        ledger,
        inventories,
        markets,
        receipts,
        trades,
        auctions,
        makers,
        ..
    } = economy;
    if let Some(rescale) = Rescale::between(previous.rate_hz, next.rate_hz, tick) {
        receipts.restamp(
            |recorded| rescale.age_kept(recorded),
            next.idempotency_window_ticks,
        );
        markets.reschedule(|expiry| rescale.deadline(expiry));
        trades.reschedule(|expiry| rescale.deadline(expiry));
        auctions.reschedule(|end| rescale.deadline(end));
    }
    // Earlier rules left orders of a repriced item in its old currency; the first carry-over to
    // these closes them too.
    let repriced = previous.version < RulesVersion::FOURTH
        || (previous.items.iter())
            .zip(&next.items)
            .any(|(was, is)| was.currency != is.currency);
    if repriced {
        let closed = markets.close_in_other_currencies(next, tick, ledger, inventories);
        makers.quotes_closed(&closed);
    }
}

/// The live economy's carry-over: runs after the rules are resolved for the tick and before any
/// command, when they differ from the rules of the last journal record.
pub(crate) fn carry_over_to_new_rules(
    rules: Res<EconomyRules>,
    journal: Res<EconomyJournal>,
    tick: Res<Tick>,
    mut economy: ResMut<Economy>,
) {
    if let Some(previous) = journal.recorded_rules().filter(|&recorded| recorded != &*rules) {
        carry_over(&mut economy, previous, &rules, tick.0);
    }
}
