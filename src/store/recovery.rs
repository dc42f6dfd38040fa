//! Recovery and offline checks. At start the economy is rebuilt by replaying the journal, its
//! invariants are checked, and it must agree with the store: as many ledger entries, the same
//! balances, and the same inventories, open orders, trade proposals and auctions. A store that
//! fails keeps the server from starting, rather than let the server write entries that collide
//! with stored ones or show players balances they were never told of.
//! `necpsim verify` runs the same replay offline and compares every ledger entry as well;
//! `necpsim replay-ledger` rebuilds the balances from the ledger alone and compares them with the
//! stored ones.

use super::{BalanceRow, EconomyRows, Store, StoreError, decode_record};
use crate::sim::economy::ledger::{Entry, Ledger};
use crate::sim::economy::{EconomyViolation, JournalError, Replayed, replay};

/// Why a store cannot be trusted.
#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    /// The store cannot be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The journal cannot be replayed.
    #[error("the economy journal cannot be replayed: {0}")]
    Journal(#[from] JournalError),
    /// The replayed economy breaks an invariant.
    #[error("the recovered economy breaks an invariant: {0}")]
    Invariant(#[from] EconomyViolation),
    /// The stored ledger cannot be replayed.
    #[error("the stored ledger is inconsistent: {0}")]
    Ledger(#[from] crate::sim::economy::ledger::ReplayError),
    /// Two records that must agree do not.
    #[error("{0}")]
    Mismatch(String),
}

/// Rebuilds the economy from the journal, checks its invariants and that it agrees with the
/// stored ledger's length and balances; `None` for an empty store.
pub fn recover(store: &dyn Store) -> Result<Option<Replayed>, RecoveryError> {
    let mut replayed_entries = 0u64;
    let replayed = recover_with(store, |_, entries| replayed_entries += entries.len() as u64)?;
    let stored_entries = store.ledger_len()?;
    if replayed_entries != stored_entries {
        return Err(RecoveryError::Mismatch(format!(
            "the journal replays to {replayed_entries} ledger entries, the store holds \
             {stored_entries} (`necpsim verify` finds the first difference)"
        )));
    }
    compare_balances(
        "the journal's replay",
        &replayed_balances(replayed.as_ref()),
        &store.balances()?,
    )?;
    compare_rows(replayed.as_ref(), store)?;
    Ok(replayed)
}

/// Checks that the store's inventories, open orders, trade proposals and auctions are the ones
/// the replay ends with.
fn compare_rows(replayed: Option<&Replayed>, store: &dyn Store) -> Result<(), RecoveryError> {
    let expected = replayed.map_or_else(EconomyRows::default, |replayed| {
        EconomyRows::of(&replayed.economy)
    });
    match expected.first_difference(&store.economy_rows()?) {
        Some(difference) => Err(RecoveryError::Mismatch(format!(
            "the journal's replay and the stored tables disagree: {difference}"
        ))),
        None => Ok(()),
    }
}

/// The balances `replayed` ends at (none for an empty journal).
fn replayed_balances(replayed: Option<&Replayed>) -> Vec<BalanceRow> {
    replayed.map_or_else(Vec::new, |replayed| ledger_balances(&replayed.economy.ledger))
}

fn recover_with(
    store: &dyn Store,
    on_entries: impl FnMut(u64, &[Entry]),
) -> Result<Option<Replayed>, RecoveryError> {
    let mut records = Vec::new();
    store.journal(&mut |version, bytes| {
        records.push(decode_record(version, bytes)?);
        Ok(())
    })?;
    if records.is_empty() {
        return Ok(None);
    }
    let replayed = replay(records, on_entries)?;
    replayed.economy.check_invariants()?;
    Ok(Some(replayed))
}

/// What a successful check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// The last tick recorded.
    pub tick: u64,
    /// Ledger entries.
    pub entries: u64,
    /// Accounts with a balance.
    pub balances: usize,
}

/// Replays the journal, checks the invariants, and checks that the replay writes exactly the
/// stored ledger and ends at exactly the stored balances.
pub fn verify(store: &dyn Store) -> Result<Verified, RecoveryError> {
    let mut rewritten = Vec::new();
    let replayed = recover_with(store, |_, entries| rewritten.extend_from_slice(entries))?;
    let mut stored = Vec::new();
    store.ledger(&mut |entry| stored.push(entry))?;
    if rewritten != stored {
        let at = rewritten.iter().zip(&stored).position(|(a, b)| a != b);
        return Err(RecoveryError::Mismatch(format!(
            "the journal replays to {} ledger entries, the store holds {} (first difference at index {})",
            rewritten.len(),
            stored.len(),
            at.map_or_else(|| "the end".to_owned(), |i| i.to_string()),
        )));
    }
    let balances = store.balances()?;
    compare_balances(
        "the journal's replay",
        &replayed_balances(replayed.as_ref()),
        &balances,
    )?;
    compare_rows(replayed.as_ref(), store)?;
    Ok(Verified {
        tick: replayed.map_or(0, |replayed| replayed.tick),
        entries: stored.len() as u64,
        balances: balances.iter().filter(|row| row.balance != 0).count(),
    })
}

/// Rebuilds every balance from the stored ledger alone and compares them with the stored ones.
pub fn replay_ledger(store: &dyn Store) -> Result<Verified, RecoveryError> {
    let mut entries = Vec::new();
    store.ledger(&mut |entry| entries.push(entry))?;
    let ledger = Ledger::from_entries(&entries)?;
    ledger.check_invariants().map_err(EconomyViolation::from)?;
    let stored = store.balances()?;
    compare_balances("the ledger", &ledger_balances(&ledger), &stored)?;
    Ok(Verified {
        tick: entries.last().map_or(0, |entry| entry.tick),
        entries: entries.len() as u64,
        balances: stored.iter().filter(|row| row.balance != 0).count(),
    })
}

fn ledger_balances(ledger: &Ledger) -> Vec<BalanceRow> {
    let mut rows: Vec<BalanceRow> = ledger
        .balances()
        .map(|(account, currency, balance)| BalanceRow {
            account,
            currency,
            balance,
        })
        .collect();
    rows.sort_unstable();
    rows
}

/// Compares non-zero balances (an account emptied to zero may keep a zero row).
fn compare_balances(
    source: &str,
    expected: &[BalanceRow],
    stored: &[BalanceRow],
) -> Result<(), RecoveryError> {
    let stored: Vec<_> = stored.iter().filter(|row| row.balance != 0).collect();
    let expected: Vec<_> = expected.iter().filter(|row| row.balance != 0).collect();
    if let Some((a, b)) = expected.iter().zip(&stored).find(|(a, b)| a != b) {
        return Err(RecoveryError::Mismatch(format!(
            "{source} gives {} {} = {}, the stored balances say {} {} = {}",
            a.account, a.currency, a.balance, b.account, b.currency, b.balance
        )));
    }
    if expected.len() != stored.len() {
        return Err(RecoveryError::Mismatch(format!(
            "{source} gives {} balances, the store holds {}",
            expected.len(),
            stored.len()
        )));
    }
    Ok(())
}
