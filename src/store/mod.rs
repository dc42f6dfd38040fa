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

impl InventoryRow {
    /// `player`'s inventory in `economy` (empty when it has none).
    fn of(economy: &Economy, player: PlayerId) -> InventoryRow {
        let inventory = economy.inventories.of(player);
        InventoryRow {
            player,
            stacks: inventory.map_or_else(Vec::new, |inventory| {
                (inventory.stacks.iter())
                    .map(|(&item, &holding)| (item, holding))
                    .collect()
            }),
            uniques: inventory.map_or_else(Vec::new, |inventory| {
                let held = inventory.uniques.iter().map(|&(id, item)| (id, item, false));
                let escrowed = (inventory.escrowed_uniques.iter()).map(|&(id, item)| (id, item, true));
                held.chain(escrowed).collect()
            }),
        }
    }

    /// The same rows in a fixed order, without empty holdings: as a comparison should see them.
    fn normalized(mut self) -> Option<InventoryRow> {
        self.stacks.retain(|(_, holding)| *holding != Holding::default());
        self.stacks.sort_unstable_by_key(|&(item, _)| item);
        self.uniques.sort_unstable();
        (!self.stacks.is_empty() || !self.uniques.is_empty()).then_some(self)
    }
}

impl OrderRow {
    /// Order `id` of `economy`, if it is open.
    fn of(economy: &Economy, id: OrderId) -> Option<OrderRow> {
        economy.markets.order(id).map(|&meta| OrderRow {
            meta,
            remaining: (economy.markets.book(meta.item))
                .and_then(|book| book.order(id))
                .map_or(0, |order| order.remaining),
        })
    }
}

/// Everything the store keeps of the economy besides the ledger and balances: inventories, open
/// orders, trade proposals and auctions, each sorted by its key, without empty holdings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EconomyRows {
    /// Inventories that hold something, by player.
    pub inventories: Vec<InventoryRow>,
    /// Open orders, by id.
    pub orders: Vec<(OrderId, OrderRow)>,
    /// Trade proposals, by id.
    pub trades: Vec<(u64, Trade)>,
    /// Running auctions, by id.
    pub auctions: Vec<(u64, Auction)>,
}

impl EconomyRows {
    /// The rows `economy` should have the store hold.
    pub fn of(economy: &Economy) -> EconomyRows {
        let mut rows = EconomyRows {
            inventories: (economy.inventories.iter())
                .map(|(&player, _)| InventoryRow::of(economy, player))
                .collect(),
            orders: (economy.markets.orders())
                .filter_map(|(&id, _)| Some((id, OrderRow::of(economy, id)?)))
                .collect(),
            trades: economy.trades.iter().map(|(&id, &trade)| (id, trade)).collect(),
            auctions: (economy.auctions.iter())
                .map(|(&id, &auction)| (id, auction))
                .collect(),
        };
        rows.normalize();
        rows
    }

    /// Puts rows read in any order in the order [`EconomyRows::of`] gives.
    pub fn normalize(&mut self) {
        let inventories = std::mem::take(&mut self.inventories);
        self.inventories = inventories
            .into_iter()
            .filter_map(InventoryRow::normalized)
            .collect();
        self.inventories.sort_unstable_by_key(|row| row.player);
        self.orders.sort_unstable_by_key(|&(id, _)| id);
        self.trades.sort_unstable_by_key(|&(id, _)| id);
        self.auctions.sort_unstable_by_key(|&(id, _)| id);
    }

    /// The first row where `other` differs from these rows, in words: missing, extra or other.
    pub fn first_difference(&self, other: &EconomyRows) -> Option<String> {
        fn first<K: std::fmt::Debug + Ord + Copy, V: std::fmt::Debug + PartialEq>(
            kind: &str,
            ours: &[(K, V)],
            theirs: &[(K, V)],
        ) -> Option<String> {
            let (mut a, mut b) = (ours.iter().peekable(), theirs.iter().peekable());
            loop {
                match (a.peek(), b.peek()) {
                    (None, None) => return None,
                    (Some((key, _)), None) => return Some(format!("{kind} {key:?} is missing")),
                    (None, Some((key, _))) => return Some(format!("{kind} {key:?} should not be there")),
                    (Some((ka, va)), Some((kb, vb))) => {
                        if ka < kb {
                            return Some(format!("{kind} {ka:?} is missing"));
                        }
                        if kb < ka {
                            return Some(format!("{kind} {kb:?} should not be there"));
                        }
                        if va != vb {
                            return Some(format!("{kind} {ka:?} should be {va:?}, is {vb:?}"));
                        }
                        a.next();
                        b.next();
                    }
                }
            }
        }
        let keyed = |rows: &[InventoryRow]| -> Vec<(u64, InventoryRow)> {
            rows.iter().map(|row| (row.player.0, row.clone())).collect()
        };
        first(
            "inventory of player",
            &keyed(&self.inventories),
            &keyed(&other.inventories),
        )
        .or_else(|| first("order", &self.orders, &other.orders))
        .or_else(|| first("trade", &self.trades, &other.trades))
        .or_else(|| first("auction", &self.auctions, &other.auctions))
    }
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
            .map(|player| InventoryRow::of(economy, player))
            .collect();
        let orders = distinct(economy.markets.touched())
            .into_iter()
            .map(|id| (id, OrderRow::of(economy, id)))
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
    /// Every inventory, open order, trade proposal and auction, normalized
    /// ([`EconomyRows::normalize`]).
    fn economy_rows(&self) -> Result<EconomyRows, StoreError>;
    /// Whether `player`'s command with idempotency key `key` is stored.
    fn has_key(&self, player: PlayerId, key: u128) -> Result<bool, StoreError>;
    /// The currency and item names the store's ids stand for, `None` before any was kept.
    fn catalogue(&self) -> Result<Option<Catalogue>, StoreError>;
    /// Keeps `catalogue` as the names the store's ids stand for from now on.
    fn keep_catalogue(&mut self, catalogue: &Catalogue) -> Result<(), StoreError>;
}
