//! Durable state: the [`Store`] trait, one [`Batch`] per tick built from the simulation's outputs,
//! the [`sqlite`] implementation embedded by default, the [`writer`] thread that commits batches
//! off the tick thread (group commit), and [`recovery`], which rebuilds the economy at start and
//! checks a store offline.
//!
//! The economy's source of truth is its journal (`sim::economy::EconomyTick` per tick): replaying
//! it rebuilds every balance, inventory, order, trade, auction and idempotency receipt exactly.
//! Each record is kept with the version of the economy's rules that applied it
//! (`sim::economy::RulesVersion`) and replayed under that version, so a server whose rules have
//! since been fixed still rebuilds what its players were told had happened.
//! Beside it the store keeps tables that can be queried directly: the append-only ledger, the
//! balance of every account, the idempotency keys acknowledged, player state at departure and the
//! status changes of combat sessions. Nothing in `sim/` depends on this module; a PostgreSQL
//! implementation only has to implement [`Store`].

pub mod recovery;
pub mod sqlite;
pub mod writer;

use crate::config::Catalogue;
use crate::sim::combat::{SessionId, SessionStatus};
use crate::sim::economy::auctions::Auction;
use crate::sim::economy::ledger::{Account, CurrencyId, Entry, PlayerId};
use crate::sim::economy::order_book::OrderId;
use crate::sim::economy::trades::Trade;
use crate::sim::economy::{Economy, Holding, OpenLimits, OrderMeta, RulesVersion};
use crate::sim::{Outbox, PlayerRecord, SimEvent};

/// File name of the embedded database inside the data directory.
pub const DATABASE_FILE: &str = "necpsim.db";

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened or created.
    #[error("cannot open the store {path}: {reason}")]
    Open {
        /// The database file.
        path: std::path::PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The database was written by a newer server.
    #[error("the store's schema is version {found}; this server knows up to {known}")]
    TooNew {
        /// The version found.
        found: i64,
        /// The newest this server knows.
        known: i64,
    },
    /// A read or write failed (disk full, read-only, corrupt file, ...).
    #[error("store {operation} failed: {reason}")]
    Io {
        /// What was being done.
        operation: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// A stored record cannot be decoded.
    #[error("corrupt store: {0}")]
    Corrupt(String),
    /// The database could not write for a reason that passes: another connection held its lock
    /// for longer than a commit waits (SQLITE_BUSY), or the disk was full (SQLITE_FULL). The
    /// transaction was rolled back, so nothing was written and the same commit may be tried again.
    #[error("store {operation} could not write for now: {reason}")]
    Transient {
        /// What was being done.
        operation: &'static str,
        /// What the database said.
        reason: String,
    },
}

impl StoreError {
    /// Whether the same commit may be tried again: it wrote nothing, and what stopped it passes.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Transient { .. })
    }
}

/// One balance: an account's holding of one currency, in minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct BalanceRow {
    /// The account.
    pub account: Account,
    /// The currency.
    pub currency: CurrencyId,
    /// Minor units.
    pub balance: i64,
}

/// Everything one tick changed that must outlive the process, written in one transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    /// The tick.
    pub tick: u64,
    /// The economy's journal record of the tick, encoded ([`encode_record`]), and the version of
    /// the rules that applied it.
    pub journal: Option<(RulesVersion, Vec<u8>)>,
    /// The ledger entries of the tick, in order.
    pub entries: Vec<Entry>,
    /// The new balance of every account the entries touched.
    pub balances: Vec<BalanceRow>,
    /// Idempotency keys of the economy commands applied this tick.
    pub keys: Vec<(PlayerId, u128)>,
    /// Players who left the world.
    pub players: Vec<PlayerRecord>,
    /// Combat sessions that changed status.
    pub sessions: Vec<(SessionId, SessionStatus)>,
    /// The inventories the tick may have changed, whole.
    pub inventories: Vec<InventoryRow>,
    /// The orders the tick may have changed: `None` once closed.
    pub orders: Vec<(OrderId, Option<OrderRow>)>,
    /// The trade proposals the tick may have changed: `None` once closed.
    pub trades: Vec<(u64, Option<Trade>)>,
    /// The auctions the tick may have changed: `None` once settled.
    pub auctions: Vec<(u64, Option<Auction>)>,
}

/// One player's inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryRow {
    /// The player.
    pub player: PlayerId,
    /// Stackable holdings by item index.
    pub stacks: Vec<(u16, Holding)>,
    /// Unique items: id, item index, and whether escrowed by a trade proposal.
    pub uniques: Vec<(u64, u16, bool)>,
}

/// One open order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderRow {
    /// What the market knows of it.
    pub meta: OrderMeta,
    /// Units still resting in the book.
    pub remaining: u32,
}

impl Batch {
    /// The batch of the tick whose outputs are `outbox`, with balances read from `economy` after
    /// that tick; `None` when the tick changed nothing durable.
    pub fn of_tick(tick: u64, outbox: &Outbox, economy: &Economy) -> Option<Batch> {
        let record = outbox.economy_record();
        let sessions: Vec<_> = outbox
            .events
            .iter()
            .filter_map(|event| match *event {
                SimEvent::SessionChanged { session, status } => Some((session, status)),
                _ => None,
            })
            .collect();
        let touched = economy.touched_this_tick();
        if record.is_none() && !touched && outbox.departures.is_empty() && sessions.is_empty() {
            return None;
        }
        let inventories = distinct(economy.inventories.touched())
            .into_iter()
            .map(|player| {
                let inventory = economy.inventories.of(player);
                InventoryRow {
                    player,
                    stacks: inventory.map_or_else(Vec::new, |inventory| {
                        inventory
                            .stacks
                            .iter()
                            .map(|(&item, &holding)| (item, holding))
                            .collect()
                    }),
                    uniques: inventory.map_or_else(Vec::new, |inventory| {
                        let held = inventory.uniques.iter().map(|&(id, item)| (id, item, false));
                        let escrowed = inventory
                            .escrowed_uniques
                            .iter()
                            .map(|&(id, item)| (id, item, true));
                        held.chain(escrowed).collect()
                    }),
                }
            })
            .collect();
        let orders = distinct(economy.markets.touched())
            .into_iter()
            .map(|id| {
                let row = economy.markets.order(id).map(|&meta| OrderRow {
                    meta,
                    remaining: economy
                        .markets
                        .book(meta.item)
                        .and_then(|book| book.order(id))
                        .map_or(0, |order| order.remaining),
                });
                (id, row)
            })
            .collect();
        let trades = distinct(economy.trades.touched())
            .into_iter()
            .map(|id| (id, economy.trades.get(id).copied()))
            .collect();
        let auctions = distinct(economy.auctions.touched())
            .into_iter()
            .map(|id| (id, economy.auctions.get(id).copied()))
            .collect();
        let mut balances: Vec<BalanceRow> = outbox
            .ledger
            .iter()
            .flat_map(|entry| [(entry.debit, entry.currency), (entry.credit, entry.currency)])
            .map(|(account, currency)| BalanceRow {
                account,
                currency,
                balance: economy.ledger.balance(account, currency),
            })
            .collect();
        balances.sort_unstable();
        balances.dedup();
        Some(Batch {
            tick,
            journal: record.map(|record| (record.version, encode_record(record))),
            entries: outbox.ledger.clone(),
            balances,
            keys: record.map_or_else(Vec::new, |record| {
                record
                    .requests
                    .iter()
                    .map(|(player, request)| (*player, request.key))
                    .collect()
            }),
            players: outbox.departures.clone(),
            sessions,
            inventories,
            orders,
            trades,
            auctions,
        })
    }
}

/// `ids` without repeats, in order.
fn distinct<T: Ord + Copy>(ids: &[T]) -> Vec<T> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The stored form of a journal record: the record, then (from [`RulesVersion::THIRD`]) the open
/// limits of the rules it carries, which the rules' own bytes predate.
pub fn encode_record(record: &crate::sim::economy::EconomyTick) -> Vec<u8> {
    let limits = record.rules.as_ref().map(|rules| rules.open_limits);
    // Serializing plain data into a vector cannot fail.
    if record.version >= RulesVersion::THIRD {
        postcard::to_allocvec(&(record, limits)).unwrap_or_default()
    } else {
        postcard::to_allocvec(record).unwrap_or_default()
    }
}

/// A journal record from its stored form and the version of the rules that applied it.
pub fn decode_record(
    version: RulesVersion,
    bytes: &[u8],
) -> Result<crate::sim::economy::EconomyTick, StoreError> {
    if version > RulesVersion::CURRENT {
        return Err(StoreError::Corrupt(format!(
            "a journal record applied by economy rules version {}; this server knows up to {}",
            version.0,
            RulesVersion::CURRENT.0
        )));
    }
    let corrupt = |error: postcard::Error| StoreError::Corrupt(format!("journal record: {error}"));
    let mut record = if version >= RulesVersion::THIRD {
        let (mut record, limits): (crate::sim::economy::EconomyTick, Option<OpenLimits>) =
            postcard::from_bytes(bytes).map_err(corrupt)?;
        if let (Some(rules), Some(limits)) = (record.rules.as_mut(), limits) {
            rules.open_limits = limits;
        }
        record
    } else {
        postcard::from_bytes(bytes).map_err(corrupt)?
    };
    record.version = version;
    Ok(record)
}

/// What [`Store::journal`] calls with each record: the version of the rules that applied it and
/// its bytes.
pub type JournalVisitor<'a> = dyn FnMut(RulesVersion, &[u8]) -> Result<(), StoreError> + 'a;

/// Durable storage for what the simulation produces.
pub trait Store: Send {
    /// Writes `batches` in one transaction: all of them or, failing, none.
    fn commit(&mut self, batches: &[Batch]) -> Result<(), StoreError>;
    /// Calls `each` with every journal record, oldest first, and the version of the rules that
    /// applied it.
    fn journal(&self, each: &mut JournalVisitor<'_>) -> Result<(), StoreError>;
    /// Calls `each` with every ledger entry, in sequence order.
    fn ledger(&self, each: &mut dyn FnMut(Entry)) -> Result<(), StoreError>;
    /// Every stored balance.
    fn balances(&self) -> Result<Vec<BalanceRow>, StoreError>;
    /// How many ledger entries are stored.
    fn ledger_len(&self) -> Result<u64, StoreError>;
    /// Whether `player`'s command with idempotency key `key` is stored.
    fn has_key(&self, player: PlayerId, key: u128) -> Result<bool, StoreError>;
    /// The currency and item names the store's ids stand for, `None` before any was kept.
    fn catalogue(&self) -> Result<Option<Catalogue>, StoreError>;
    /// Keeps `catalogue` as the names the store's ids stand for from now on.
    fn keep_catalogue(&mut self, catalogue: &Catalogue) -> Result<(), StoreError>;
}
