//! The embedded store: one SQLite file (bundled SQLite, nothing to install) in WAL mode, its
//! schema created and migrated at open, each group of batches written in one transaction with
//! prepared statements.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use super::{BalanceRow, Batch, EconomyRows, InventoryRow, JournalVisitor, OrderRow, Store, StoreError};
use crate::config::{Catalogue, Synchronous};
use crate::sim::economy::ledger::{Account, CurrencyId, Entry, EntryKind, PlayerId};
use crate::sim::economy::order_book::OrderId;
use crate::sim::economy::{Holding, OrderMeta, RulesVersion, Side};

/// How long a commit waits for a lock another connection holds before the writer is told.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// Schema migrations, in order; the database's `user_version` counts those applied.
const MIGRATIONS: [&str; 3] = [
    "
    CREATE TABLE economy_journal (
        tick INTEGER PRIMARY KEY,
        record BLOB NOT NULL
    );
    CREATE TABLE ledger (
        seq INTEGER PRIMARY KEY,
        tick INTEGER NOT NULL,
        kind INTEGER NOT NULL,
        currency INTEGER NOT NULL,
        debit_kind INTEGER NOT NULL,
        debit_player INTEGER NOT NULL,
        credit_kind INTEGER NOT NULL,
        credit_player INTEGER NOT NULL,
        amount INTEGER NOT NULL,
        reference INTEGER NOT NULL
    );
    CREATE TABLE balances (
        account_kind INTEGER NOT NULL,
        player INTEGER NOT NULL,
        currency INTEGER NOT NULL,
        balance INTEGER NOT NULL,
        PRIMARY KEY (account_kind, player, currency)
    ) WITHOUT ROWID;
    CREATE TABLE idempotency_keys (
        player INTEGER NOT NULL,
        key BLOB NOT NULL,
        tick INTEGER NOT NULL,
        PRIMARY KEY (player, key)
    ) WITHOUT ROWID;
    CREATE TABLE player_state (
        player INTEGER PRIMARY KEY,
        tick INTEGER NOT NULL,
        x_m REAL NOT NULL,
        y_m REAL NOT NULL,
        health REAL NOT NULL
    );
    CREATE TABLE inventories (
        player INTEGER NOT NULL,
        item INTEGER NOT NULL,
        held INTEGER NOT NULL,
        escrowed INTEGER NOT NULL,
        incoming INTEGER NOT NULL,
        PRIMARY KEY (player, item)
    ) WITHOUT ROWID;
    CREATE TABLE unique_items (
        id INTEGER PRIMARY KEY,
        player INTEGER NOT NULL,
        item INTEGER NOT NULL,
        escrowed INTEGER NOT NULL
    );
    CREATE INDEX unique_items_by_player ON unique_items (player);
    CREATE TABLE orders (
        id INTEGER PRIMARY KEY,
        owner INTEGER NOT NULL,
        item INTEGER NOT NULL,
        side INTEGER NOT NULL,
        limit_minor INTEGER NOT NULL,
        currency INTEGER NOT NULL,
        remaining INTEGER NOT NULL
    );
    CREATE TABLE trades (
        id INTEGER PRIMARY KEY,
        proposer INTEGER NOT NULL,
        responder INTEGER NOT NULL,
        version INTEGER NOT NULL,
        expires_tick INTEGER NOT NULL,
        terms BLOB NOT NULL
    );
    CREATE TABLE auctions (
        id INTEGER PRIMARY KEY,
        seller INTEGER NOT NULL,
        item INTEGER NOT NULL,
        quantity INTEGER NOT NULL,
        highest_bidder INTEGER,
        highest_bid INTEGER,
        ends_tick INTEGER NOT NULL,
        terms BLOB NOT NULL
    );
    CREATE TABLE session_history (
        session INTEGER NOT NULL,
        status INTEGER NOT NULL,
        tick INTEGER NOT NULL,
        PRIMARY KEY (session, status)
    ) WITHOUT ROWID;
",
    "
    -- The version of the economy's rules that applied each record; every record before this
    -- column existed was applied by the first.
    ALTER TABLE economy_journal ADD COLUMN rules_version INTEGER NOT NULL DEFAULT 1;
",
    "
    -- The names the store's currency and item ids stand for: each id is the name's place in the
    -- list of its kind (0 currencies, 1 items).
    CREATE TABLE catalogue (
        kind INTEGER NOT NULL,
        place INTEGER NOT NULL,
        name TEXT NOT NULL,
        PRIMARY KEY (kind, place)
    ) WITHOUT ROWID;
",
];

/// The schema version from which the store keeps its [`Catalogue`].
const CATALOGUE_SCHEMA: i64 = 3;

/// The SQLite store.
#[derive(Debug)]
pub struct SqliteStore {
    connection: Connection,
    path: PathBuf,
    /// The schema version the file is at: the newest once [`SqliteStore::open`] migrated it, an
    /// older one in a read-only store, which reads it as it is.
    schema: i64,
}

fn io(operation: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |error| {
        let passes = matches!(
            error.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DiskFull)
        );
        let reason = error.to_string();
        if passes {
            StoreError::Transient { operation, reason }
        } else {
            StoreError::Io { operation, reason }
        }
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path, synchronous: Synchronous) -> Result<SqliteStore, StoreError> {
        let open_error = |error: rusqlite::Error| StoreError::Open {
            path: path.to_owned(),
            reason: error.to_string(),
        };
        let connection = Connection::open(path).map_err(open_error)?;
        // A commit waits this long for another connection's lock before the writer hears of it,
        // logs it and tries again.
        connection.busy_timeout(LOCK_WAIT).map_err(open_error)?;
        let sync = match synchronous {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        };
        connection
            .execute_batch(&format!(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = {sync}; PRAGMA foreign_keys = ON;"
            ))
            .map_err(open_error)?;
        let mut store = SqliteStore {
            connection,
            path: path.to_owned(),
            schema: 0,
        };
        store.migrate().map_err(|error| match error {
            StoreError::Io { reason, .. } | StoreError::Transient { reason, .. } => StoreError::Open {
                path: path.to_owned(),
                reason,
            },
            other => other,
        })?;
        Ok(store)
    }

    /// Opens an existing database without writing to it (for offline checks). A store an older
    /// build wrote is read at its own schema version, so that it can be checked before a server
    /// upgrades it. Every read sees the database as it was at the first: a server committing
    /// meanwhile cannot make the journal, the ledger and the balances disagree.
    pub fn open_read_only(path: &Path) -> Result<SqliteStore, StoreError> {
        let open_error = |error: rusqlite::Error| StoreError::Open {
            path: path.to_owned(),
            reason: error.to_string(),
        };
        let connection =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(open_error)?;
        // A transaction left open for the store's life: its first read fixes the snapshot.
        connection.execute_batch("BEGIN").map_err(open_error)?;
        let mut store = SqliteStore {
            connection,
            path: path.to_owned(),
            schema: 0,
        };
        store.schema = store.version().map_err(|error| StoreError::Open {
            path: path.to_owned(),
            reason: error.to_string(),
        })?;
        let known = MIGRATIONS.len() as i64;
        match store.schema {
            found if found <= 0 => Err(StoreError::Open {
                path: path.to_owned(),
                reason: format!("no necpsim schema in it (schema version {found})"),
            }),
            found if found > known => Err(StoreError::TooNew { found, known }),
            _ => Ok(store),
        }
    }

    /// Runs `sql` and calls `each` with every row, in order.
    fn each_row(
        &self,
        operation: &'static str,
        sql: &str,
        mut each: impl FnMut(&rusqlite::Row<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut statement = self.connection.prepare(sql).map_err(io(operation))?;
        let mut rows = statement.query([]).map_err(io(operation))?;
        while let Some(row) = rows.next().map_err(io(operation))? {
            each(row)?;
        }
        Ok(())
    }

    /// The rows of `sql` (an id, then a value stored whole), decoded; `what` names the value in
    /// an error.
    fn stored_whole<T: serde::de::DeserializeOwned>(
        &self,
        sql: &str,
        what: &str,
    ) -> Result<Vec<(u64, T)>, StoreError> {
        let mut rows = Vec::new();
        self.each_row(READING_ECONOMY, sql, |row| {
            let id = row.get::<_, i64>(0).map_err(io(READING_ECONOMY))?;
            rows.push((id as u64, decode_terms(row, what)?));
            Ok(())
        })?;
        Ok(rows)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn version(&self) -> Result<i64, StoreError> {
        self.connection
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(io("reading the schema version"))
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let found = self.version()?;
        let known = MIGRATIONS.len() as i64;
        if found > known {
            return Err(StoreError::TooNew { found, known });
        }
        if found < 0 {
            return Err(StoreError::Io {
                operation: "migrating",
                reason: format!("schema version {found}, which no necpsim build writes"),
            });
        }
        let tx = self.connection.transaction().map_err(io("migrating"))?;
        for (index, migration) in MIGRATIONS.iter().enumerate().skip(found as usize) {
            tx.execute_batch(migration).map_err(io("migrating"))?;
            tx.pragma_update(None, "user_version", index as i64 + 1)
                .map_err(io("migrating"))?;
        }
        tx.commit().map_err(io("migrating"))?;
        self.schema = known;
        Ok(())
    }
}

/// An idempotency key as stored: big-endian, so that a player's increasing keys (a counter,
/// UUIDv7, ULID) sort in the order they arrive and each commit appends them at the end of the
/// player's range of the key index. Little-endian scatters them over that range: under a skewed
/// load, where a few players send most commands, a commit then dirties about one page per key and
/// the writer slows as the table grows (measured: 2-4x fewer durable transfers per second).
fn key_bytes(key: u128) -> [u8; 16] {
    key.to_be_bytes()
}

/// Account kinds as stored.
fn account_parts(account: Account) -> (i64, i64) {
    let (kind, player) = match account {
        Account::Wallet(player) => (0, player.0),
        Account::Reserved(player) => (1, player.0),
        Account::Mint => (2, 0),
        Account::Burn => (3, 0),
        Account::Fees => (4, 0),
        Account::Escrow => (5, 0),
    };
    // Ids are u64; SQLite integers are i64: stored bit for bit.
    (kind, player as i64)
}

fn account_of(kind: i64, player: i64) -> Result<Account, StoreError> {
    let player = PlayerId(player as u64);
    Ok(match kind {
        0 => Account::Wallet(player),
        1 => Account::Reserved(player),
        2 => Account::Mint,
        3 => Account::Burn,
        4 => Account::Fees,
        5 => Account::Escrow,
        other => return Err(StoreError::Corrupt(format!("account kind {other}"))),
    })
}

const ENTRY_KINDS: [EntryKind; 7] = [
    EntryKind::Trading,
    EntryKind::Auction,
    EntryKind::Exchange,
    EntryKind::Reward,
    EntryKind::Purchase,
    EntryKind::Fee,
    EntryKind::Escrow,
];

fn entry_kind_code(kind: EntryKind) -> i64 {
    ENTRY_KINDS.iter().position(|k| *k == kind).unwrap_or(0) as i64
}

fn currency(code: i64) -> Result<CurrencyId, StoreError> {
    u16::try_from(code)
        .map(CurrencyId)
        .map_err(|_| StoreError::Corrupt(format!("currency {code}")))
}

/// What a failed read of the inventories, orders, trades and auctions tables was doing.
const READING_ECONOMY: &str = "reading the economy's tables";

/// `value` as a narrower integer; a value out of its range is a corrupt store.
fn narrow<T: TryFrom<i64>>(value: i64, what: &str) -> Result<T, StoreError> {
    T::try_from(value).map_err(|_| StoreError::Corrupt(format!("{what} {value}")))
}

/// The inventory row of `player` in `inventories`, added empty if it is not there yet.
fn inventory_of(inventories: &mut BTreeMap<u64, InventoryRow>, player: i64) -> &mut InventoryRow {
    let player = PlayerId(player as u64);
    inventories.entry(player.0).or_insert_with(|| InventoryRow {
        player,
        stacks: Vec::new(),
        uniques: Vec::new(),
    })
}

/// The value stored whole in column 1 (`terms`) of `row`.
fn decode_terms<T: serde::de::DeserializeOwned>(
    row: &rusqlite::Row<'_>,
    what: &str,
) -> Result<T, StoreError> {
    let bytes = (row.get_ref(1))
        .map_err(io(READING_ECONOMY))?
        .as_blob()
        .map_err(|e| StoreError::Corrupt(format!("{what} terms: {e}")))?;
    postcard::from_bytes(bytes).map_err(|e| StoreError::Corrupt(format!("{what} terms: {e}")))
}

/// Statements for the tables that mirror the economy's current state.
struct Rows<'t> {
    clear_stacks: rusqlite::CachedStatement<'t>,
    stack: rusqlite::CachedStatement<'t>,
    clear_uniques: rusqlite::CachedStatement<'t>,
    unique: rusqlite::CachedStatement<'t>,
    order: rusqlite::CachedStatement<'t>,
    close_order: rusqlite::CachedStatement<'t>,
    trade: rusqlite::CachedStatement<'t>,
    close_trade: rusqlite::CachedStatement<'t>,
    auction: rusqlite::CachedStatement<'t>,
    close_auction: rusqlite::CachedStatement<'t>,
}

impl<'t> Rows<'t> {
    fn prepare(tx: &'t rusqlite::Transaction<'_>) -> rusqlite::Result<Rows<'t>> {
        Ok(Rows {
            clear_stacks: tx.prepare_cached("DELETE FROM inventories WHERE player = ?1")?,
            stack: tx.prepare_cached(
                "INSERT INTO inventories (player, item, held, escrowed, incoming) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?,
            clear_uniques: tx.prepare_cached("DELETE FROM unique_items WHERE player = ?1")?,
            unique: tx.prepare_cached(
                "INSERT INTO unique_items (id, player, item, escrowed) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (id) DO UPDATE SET player = excluded.player, escrowed = excluded.escrowed",
            )?,
            order: tx.prepare_cached(
                "INSERT INTO orders (id, owner, item, side, limit_minor, currency, remaining) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (id) DO UPDATE SET remaining = excluded.remaining",
            )?,
            close_order: tx.prepare_cached("DELETE FROM orders WHERE id = ?1")?,
            trade: tx.prepare_cached(
                "INSERT INTO trades (id, proposer, responder, version, expires_tick, terms) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO UPDATE SET proposer = excluded.proposer, \
                 responder = excluded.responder, version = excluded.version, \
                 expires_tick = excluded.expires_tick, terms = excluded.terms",
            )?,
            close_trade: tx.prepare_cached("DELETE FROM trades WHERE id = ?1")?,
            auction: tx.prepare_cached(
                "INSERT INTO auctions (id, seller, item, quantity, highest_bidder, highest_bid, ends_tick, terms) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (id) DO UPDATE SET \
                 highest_bidder = excluded.highest_bidder, highest_bid = excluded.highest_bid, \
                 ends_tick = excluded.ends_tick, terms = excluded.terms",
            )?,
            close_auction: tx.prepare_cached("DELETE FROM auctions WHERE id = ?1")?,
        })
    }

    fn write(&mut self, batch: &Batch) -> rusqlite::Result<()> {
        let this = self;
        for inventory in &batch.inventories {
            let player = inventory.player.0 as i64;
            this.clear_stacks.execute(params![player])?;
            this.clear_uniques.execute(params![player])?;
            for (item, holding) in &inventory.stacks {
                this.stack.execute(params![
                    player,
                    item,
                    holding.held,
                    holding.escrowed,
                    holding.incoming
                ])?;
            }
            for (id, item, escrowed) in &inventory.uniques {
                this.unique.execute(params![*id as i64, player, item, escrowed])?;
            }
        }
        for (id, row) in &batch.orders {
            match row {
                Some(row) => this.order.execute(params![
                    id.0 as i64,
                    row.meta.owner.0 as i64,
                    row.meta.item,
                    row.meta.side as u8,
                    row.meta.limit,
                    row.meta.currency.0,
                    row.remaining
                ])?,
                None => this.close_order.execute(params![id.0 as i64])?,
            };
        }
        for (id, trade) in &batch.trades {
            match trade {
                Some(trade) => this.trade.execute(params![
                    *id as i64,
                    trade.proposer.0 as i64,
                    trade.responder.0 as i64,
                    trade.version,
                    trade.expires_at as i64,
                    postcard::to_allocvec(trade).unwrap_or_default()
                ])?,
                None => this.close_trade.execute(params![*id as i64])?,
            };
        }
        for (id, auction) in &batch.auctions {
            match auction {
                Some(auction) => this.auction.execute(params![
                    *id as i64,
                    auction.seller.0 as i64,
                    auction.item,
                    auction.quantity,
                    auction.highest.map(|(bidder, _)| bidder.0 as i64),
                    auction.highest.map(|(_, bid)| bid),
                    auction.ends_at as i64,
                    postcard::to_allocvec(auction).unwrap_or_default()
                ])?,
                None => this.close_auction.execute(params![*id as i64])?,
            };
        }
        Ok(())
    }
}

impl Store for SqliteStore {
    fn commit(&mut self, batches: &[Batch]) -> Result<(), StoreError> {
        let tx = self.connection.transaction().map_err(io("beginning a commit"))?;
        {
            let write = io("writing a batch");
            let mut journal = tx
                .prepare_cached(
                    "INSERT INTO economy_journal (tick, record, rules_version) VALUES (?1, ?2, ?3)",
                )
                .map_err(&write)?;
            let mut ledger = tx
                .prepare_cached(
                    "INSERT INTO ledger (seq, tick, kind, currency, debit_kind, debit_player, credit_kind, \
                     credit_player, amount, reference) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )
                .map_err(&write)?;
            let mut balance = tx
                .prepare_cached(
                    "INSERT INTO balances (account_kind, player, currency, balance) VALUES (?1, ?2, ?3, ?4) \
                     ON CONFLICT (account_kind, player, currency) DO UPDATE SET balance = excluded.balance",
                )
                .map_err(&write)?;
            let mut key = tx
                .prepare_cached(
                    "INSERT INTO idempotency_keys (player, key, tick) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (player, key) DO NOTHING",
                )
                .map_err(&write)?;
            let mut player = tx
                .prepare_cached(
                    "INSERT INTO player_state (player, tick, x_m, y_m, health) VALUES (?1, ?2, ?3, ?4, ?5) \
                     ON CONFLICT (player) DO UPDATE SET tick = excluded.tick, x_m = excluded.x_m, \
                     y_m = excluded.y_m, health = excluded.health",
                )
                .map_err(&write)?;
            let mut session = tx
                .prepare_cached(
                    "INSERT INTO session_history (session, status, tick) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (session, status) DO NOTHING",
                )
                .map_err(&write)?;
            let mut rows = Rows::prepare(&tx).map_err(&write)?;
            for batch in batches {
                rows.write(batch).map_err(&write)?;
                let tick = batch.tick as i64;
                if let Some((version, record)) = &batch.journal {
                    journal
                        .execute(params![tick, record, version.0])
                        .map_err(&write)?;
                }
                for entry in &batch.entries {
                    let (debit_kind, debit_player) = account_parts(entry.debit);
                    let (credit_kind, credit_player) = account_parts(entry.credit);
                    ledger
                        .execute(params![
                            entry.seq as i64,
                            entry.tick as i64,
                            entry_kind_code(entry.kind),
                            entry.currency.0,
                            debit_kind,
                            debit_player,
                            credit_kind,
                            credit_player,
                            entry.amount,
                            entry.reference as i64,
                        ])
                        .map_err(&write)?;
                }
                for row in &batch.balances {
                    let (kind, owner) = account_parts(row.account);
                    balance
                        .execute(params![kind, owner, row.currency.0, row.balance])
                        .map_err(&write)?;
                }
                for (owner, idempotency_key) in &batch.keys {
                    key.execute(params![owner.0 as i64, key_bytes(*idempotency_key), tick])
                        .map_err(&write)?;
                }
                for record in &batch.players {
                    player
                        .execute(params![
                            record.client.0 as i64,
                            record.tick as i64,
                            record.x_m,
                            record.y_m,
                            record.health
                        ])
                        .map_err(&write)?;
                }
                for (id, status) in &batch.sessions {
                    session
                        .execute(params![id.0 as i64, *status as u8, tick])
                        .map_err(&write)?;
                }
            }
        }
        tx.commit().map_err(io("committing"))
    }

    fn journal(&self, each: &mut JournalVisitor<'_>) -> Result<(), StoreError> {
        self.each_row(
            "reading the journal",
            // Schema 1 had no rules versions: the first rules applied every record it holds.
            if self.schema >= 2 {
                "SELECT record, rules_version FROM economy_journal ORDER BY tick"
            } else {
                "SELECT record, 1 FROM economy_journal ORDER BY tick"
            },
            |row| {
                let bytes = row
                    .get_ref(0)
                    .map_err(io("reading the journal"))?
                    .as_blob()
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let version: u32 = row.get(1).map_err(io("reading the journal"))?;
                each(RulesVersion(version), bytes)
            },
        )
    }

    fn ledger(&self, each: &mut dyn FnMut(Entry)) -> Result<(), StoreError> {
        self.each_row(
            "reading the ledger",
            "SELECT seq, tick, kind, currency, debit_kind, debit_player, credit_kind, credit_player, \
             amount, reference FROM ledger ORDER BY seq",
            |row| {
                let int = |index| row.get::<_, i64>(index).map_err(io("reading the ledger"));
                let kind = ENTRY_KINDS.get(int(2)? as usize).copied().ok_or_else(|| {
                    StoreError::Corrupt(format!("ledger entry kind {}", int(2).unwrap_or(-1)))
                })?;
                each(Entry {
                    seq: int(0)? as u64,
                    tick: int(1)? as u64,
                    kind,
                    currency: currency(int(3)?)?,
                    debit: account_of(int(4)?, int(5)?)?,
                    credit: account_of(int(6)?, int(7)?)?,
                    amount: int(8)?,
                    reference: int(9)? as u64,
                });
                Ok(())
            },
        )
    }

    fn ledger_len(&self) -> Result<u64, StoreError> {
        let count: i64 = self
            .connection
            .query_row("SELECT COUNT(*) FROM ledger", [], |row| row.get(0))
            .map_err(io("counting the ledger"))?;
        Ok(count.unsigned_abs())
    }

    fn economy_rows(&self) -> Result<EconomyRows, StoreError> {
        let mut inventories: BTreeMap<u64, InventoryRow> = BTreeMap::new();
        self.each_row(
            READING_ECONOMY,
            "SELECT player, item, held, escrowed, incoming FROM inventories",
            |row| {
                let int = |index| row.get::<_, i64>(index).map_err(io(READING_ECONOMY));
                let holding = Holding {
                    held: narrow(int(2)?, "held units")?,
                    escrowed: narrow(int(3)?, "escrowed units")?,
                    incoming: narrow(int(4)?, "incoming units")?,
                };
                let item = narrow(int(1)?, "item")?;
                inventory_of(&mut inventories, int(0)?)
                    .stacks
                    .push((item, holding));
                Ok(())
            },
        )?;
        self.each_row(
            READING_ECONOMY,
            "SELECT id, player, item, escrowed FROM unique_items",
            |row| {
                let int = |index| row.get::<_, i64>(index).map_err(io(READING_ECONOMY));
                let unique = (int(0)? as u64, narrow(int(2)?, "item")?, int(3)? != 0);
                inventory_of(&mut inventories, int(1)?).uniques.push(unique);
                Ok(())
            },
        )?;
        let mut orders = Vec::new();
        self.each_row(
            READING_ECONOMY,
            "SELECT id, owner, item, side, limit_minor, currency, remaining FROM orders",
            |row| {
                let int = |index| row.get::<_, i64>(index).map_err(io(READING_ECONOMY));
                let side = match int(3)? {
                    0 => Side::Buy,
                    1 => Side::Sell,
                    other => return Err(StoreError::Corrupt(format!("order side {other}"))),
                };
                let meta = OrderMeta {
                    owner: PlayerId(int(1)? as u64),
                    item: narrow(int(2)?, "item")?,
                    side,
                    limit: int(4)?,
                    currency: currency(int(5)?)?,
                };
                let remaining = narrow(int(6)?, "remaining units")?;
                orders.push((OrderId(int(0)? as u64), OrderRow { meta, remaining }));
                Ok(())
            },
        )?;
        let mut rows = EconomyRows {
            inventories: inventories.into_values().collect(),
            orders,
            trades: self.stored_whole("SELECT id, terms FROM trades", "trade")?,
            auctions: self.stored_whole("SELECT id, terms FROM auctions", "auction")?,
        };
        rows.normalize();
        Ok(rows)
    }

    fn balances(&self) -> Result<Vec<BalanceRow>, StoreError> {
        let mut out = Vec::new();
        self.each_row(
            "reading balances",
            "SELECT account_kind, player, currency, balance FROM balances",
            |row| {
                let int = |index| row.get::<_, i64>(index).map_err(io("reading balances"));
                out.push(BalanceRow {
                    account: account_of(int(0)?, int(1)?)?,
                    currency: currency(int(2)?)?,
                    balance: int(3)?,
                });
                Ok(())
            },
        )?;
        out.sort_unstable();
        Ok(out)
    }

    fn has_key(&self, player: PlayerId, key: u128) -> Result<bool, StoreError> {
        self.connection
            .query_row(
                "SELECT 1 FROM idempotency_keys WHERE player = ?1 AND key = ?2",
                params![player.0 as i64, key_bytes(key)],
                |_| Ok(()),
            )
            .optional()
            .map(|found| found.is_some())
            .map_err(io("reading a key"))
    }

    fn catalogue(&self) -> Result<Option<Catalogue>, StoreError> {
        if self.schema < CATALOGUE_SCHEMA {
            return Ok(None);
        }
        let mut catalogue = Catalogue::default();
        self.each_row(
            "reading the catalogue",
            "SELECT kind, name FROM catalogue ORDER BY kind, place",
            |row| {
                let kind: i64 = row.get(0).map_err(io("reading the catalogue"))?;
                let name: String = row.get(1).map_err(io("reading the catalogue"))?;
                match kind {
                    0 => catalogue.currencies.push(name),
                    1 => catalogue.items.push(name),
                    other => return Err(StoreError::Corrupt(format!("catalogue kind {other}"))),
                }
                Ok(())
            },
        )?;
        Ok((catalogue != Catalogue::default()).then_some(catalogue))
    }

    fn keep_catalogue(&mut self, catalogue: &Catalogue) -> Result<(), StoreError> {
        let write = io("writing the catalogue");
        let tx = self.connection.transaction().map_err(&write)?;
        tx.execute("DELETE FROM catalogue", []).map_err(&write)?;
        {
            let mut insert = tx
                .prepare("INSERT INTO catalogue (kind, place, name) VALUES (?1, ?2, ?3)")
                .map_err(&write)?;
            for (kind, names) in [&catalogue.currencies, &catalogue.items].into_iter().enumerate() {
                for (place, name) in names.iter().enumerate() {
                    insert
                        .execute(params![kind as i64, place as i64, name])
                        .map_err(&write)?;
                }
            }
        }
        tx.commit().map_err(&write)
    }
}
