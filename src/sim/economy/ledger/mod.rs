//! Double-entry ledger of the game economy. This module owns every balance
//! of every account (player wallets, player reservations and the system
//! accounts `Mint`, `Burn`, `Fees`, `Escrow`) in every currency, the
//! per-currency minted/burned totals, and the append-only journal of
//! [`Entry`] records. Balances change only through atomic [`Transaction`]s,
//! each transfer moving a positive `i64` amount of minor units FROM its
//! `debit` account TO its `credit` account, so value is never created or
//! destroyed except by debiting `Mint` or crediting `Burn`. The journal can
//! be replayed with [`Ledger::from_entries`] for offline verification.
//! Everything is deterministic: no floats, no randomly seeded hashing.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::fmt;

/// Identifies a currency (gold, gems, ...). Amounts are `i64` minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct CurrencyId(pub u16);

/// Identifies a player.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct PlayerId(pub u64);

impl PlayerId {
    /// The first of the ids kept for the server's own accounts (the market makers count down
    /// from the last): no token admits a player by one of them.
    pub const FIRST_RESERVED: u64 = u64::MAX - 0xFFFF;

    /// Whether this id is kept for the server's own accounts.
    pub fn is_reserved(self) -> bool {
        self.0 >= PlayerId::FIRST_RESERVED
    }
}

impl fmt::Display for CurrencyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "currency#{}", self.0)
    }
}

impl fmt::Display for PlayerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "player#{}", self.0)
    }
}

/// An account that can hold a balance in any currency.
///
/// Player accounts and every system account except [`Account::Mint`] can
/// never go negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Account {
    /// A player's spendable balance.
    Wallet(PlayerId),
    /// Funds a player has committed to open orders, bids or trade offers:
    /// escrowed (not spendable) but still owned by the player.
    Reserved(PlayerId),
    /// Source of all new money. Only ever debited; its balance is the
    /// negated minted total of the currency.
    Mint,
    /// Sink of destroyed money. Only ever credited; its balance equals the
    /// burned total of the currency.
    Burn,
    /// Fees collected by the system (market taxes, listing fees, ...).
    Fees,
    /// Value held by the system on behalf of nobody in particular, e.g.
    /// auction proceeds in transit.
    Escrow,
}

impl Account {
    /// The player owning this account, or `None` for system accounts.
    pub const fn owner(self) -> Option<PlayerId> {
        match self {
            Account::Wallet(p) | Account::Reserved(p) => Some(p),
            Account::Mint | Account::Burn | Account::Fees | Account::Escrow => None,
        }
    }

    /// Whether the balance of this account may be negative (only `Mint`).
    pub const fn may_go_negative(self) -> bool {
        matches!(self, Account::Mint)
    }
}

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Account::Wallet(p) => write!(f, "wallet({p})"),
            Account::Reserved(p) => write!(f, "reserved({p})"),
            Account::Mint => f.write_str("mint"),
            Account::Burn => f.write_str("burn"),
            Account::Fees => f.write_str("fees"),
            Account::Escrow => f.write_str("escrow"),
        }
    }
}

/// Business reason of a journal entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EntryKind {
    /// Player-to-player trade.
    Trading,
    /// Auction house settlement.
    Auction,
    /// Currency exchange.
    Exchange,
    /// Reward paid to a player (quests, loot, ...), usually minted.
    Reward,
    /// Purchase from the game (NPC shop, ...), usually burned.
    Purchase,
    /// Fee charged to a player.
    Fee,
    /// Move between a player's `Wallet` and `Reserved` accounts.
    Escrow,
}

/// One journal record: `amount` minor units of `currency` moved FROM the
/// `debit` account TO the `credit` account (debit balance decreases, credit
/// balance increases).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Entry {
    /// Global sequence number: 0 for the first entry, contiguous after.
    pub seq: u64,
    /// Simulation tick of the transaction that wrote this entry.
    pub tick: u64,
    /// Business reason.
    pub kind: EntryKind,
    /// Currency moved.
    pub currency: CurrencyId,
    /// Account the money leaves.
    pub debit: Account,
    /// Account the money enters.
    pub credit: Account,
    /// Amount in minor units, always `> 0`.
    pub amount: i64,
    /// Caller-defined reference (order id, auction id, command id, ...).
    pub reference: u64,
}

/// Why a transfer (and therefore its whole transaction) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// The amount was zero or negative.
    #[error("amount must be positive, got {amount}")]
    NonPositiveAmount {
        /// The refused amount.
        amount: i64,
    },
    /// Debit and credit were the same account.
    #[error("cannot transfer from {account} to itself")]
    SameAccount {
        /// The account named twice.
        account: Account,
    },
    /// `Mint` was named as the credit account; it can only be debited.
    #[error("the mint account can only be debited")]
    CreditToMint,
    /// `Burn` was named as the debit account; it can only be credited.
    #[error("the burn account can only be credited")]
    DebitFromBurn,
    /// The debit account would go negative.
    #[error("insufficient funds in {account} ({currency}): available {available}, needed {amount}")]
    InsufficientFunds {
        /// The account that would go negative.
        account: Account,
        /// Currency of the transfer.
        currency: CurrencyId,
        /// Provisional balance before this transfer.
        available: i64,
        /// Requested amount.
        amount: i64,
    },
    /// A balance or the minted total would leave the `i64` range.
    #[error("arithmetic overflow on {account} ({currency})")]
    Overflow {
        /// The account whose balance would overflow.
        account: Account,
        /// Currency of the transfer.
        currency: CurrencyId,
    },
    /// An earlier transfer of this transaction failed; the transaction can
    /// only be aborted (committing it returns that first error).
    #[error("an earlier transfer of this transaction failed")]
    TransactionPoisoned,
}

/// Why a journal could not be replayed by [`Ledger::from_entries`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// Sequence numbers must start at 0 and be contiguous.
    #[error("journal out of sequence: expected seq {expected}, found {found}")]
    OutOfSequence {
        /// Sequence number that should have come next.
        expected: u64,
        /// Sequence number found instead.
        found: u64,
    },
    /// An entry breaks a ledger rule (e.g. overdraft) at this point.
    #[error("entry {seq} is invalid: {source}")]
    InvalidEntry {
        /// Sequence number of the offending entry.
        seq: u64,
        /// The rule it breaks.
        source: LedgerError,
    },
}

/// A broken ledger invariant reported by [`Ledger::check_invariants`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvariantViolation {
    /// An account other than `Mint` has a negative balance.
    #[error("{account} ({currency}) is negative: {balance}")]
    NegativeBalance {
        /// The account.
        account: Account,
        /// The currency.
        currency: CurrencyId,
        /// Its balance.
        balance: i64,
    },
    /// Wallets + Reserved + Fees + Escrow differ from minted − burned.
    #[error("{currency}: held {held} != minted {minted} - burned {burned}")]
    SupplyMismatch {
        /// The currency.
        currency: CurrencyId,
        /// Sum of Wallet, Reserved, Fees and Escrow balances.
        held: i128,
        /// Minted total.
        minted: i64,
        /// Burned total.
        burned: i64,
    },
    /// The `Mint` balance is not the negated minted total.
    #[error("{currency}: mint balance {balance} != -minted {minted}")]
    MintMismatch {
        /// The currency.
        currency: CurrencyId,
        /// `Mint` balance.
        balance: i64,
        /// Minted total.
        minted: i64,
    },
    /// The `Burn` balance is not the burned total.
    #[error("{currency}: burn balance {balance} != burned {burned}")]
    BurnMismatch {
        /// The currency.
        currency: CurrencyId,
        /// `Burn` balance.
        balance: i64,
        /// Burned total.
        burned: i64,
    },
}

/// Result of a successful [`Transaction::commit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Committed {
    /// Sequence number of the first entry written (the next free sequence
    /// number if the transaction was empty).
    pub first_seq: u64,
    /// Number of entries written.
    pub entries: usize,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Supply {
    minted: i64,
    burned: i64,
}

/// Provisional balance of one (account, currency) touched by the open
/// transaction.
#[derive(Debug, Clone, Copy)]
struct Touched {
    account: Account,
    currency: CurrencyId,
    provisional: i64,
}

/// The ledger: balances, supply totals and the undrained journal.
///
/// Mutate it only through [`Ledger::begin`]. The staging buffers used by
/// transactions are owned here and reused, so a steady-state transaction
/// does not allocate (beyond journal growth between drains and first-time
/// account creation).
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    balances: BTreeMap<(Account, CurrencyId), i64>,
    supply: BTreeMap<CurrencyId, Supply>,
    journal: Vec<Entry>,
    next_seq: u64,
    staged: Vec<Entry>,
    touched: Vec<Touched>,
}

impl Ledger {
    /// An empty ledger: no balances, nothing minted, next sequence 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Opens a transaction stamped with `tick`. Nothing is applied until
    /// [`Transaction::commit`]; dropping or aborting it applies nothing.
    pub fn begin(&mut self, tick: u64) -> Transaction<'_> {
        self.clear_staging();
        Transaction {
            ledger: self,
            tick,
            failure: None,
        }
    }

    /// Committed balance of `account` in `currency` (0 if never touched).
    pub fn balance(&self, account: Account, currency: CurrencyId) -> i64 {
        self.balances.get(&(account, currency)).copied().unwrap_or(0)
    }

    /// Spendable balance of `player`.
    pub fn wallet(&self, player: PlayerId, currency: CurrencyId) -> i64 {
        self.balance(Account::Wallet(player), currency)
    }

    /// Reserved (escrowed, still owned) balance of `player`.
    pub fn reserved(&self, player: PlayerId, currency: CurrencyId) -> i64 {
        self.balance(Account::Reserved(player), currency)
    }

    /// Total ever minted in `currency`.
    pub fn minted(&self, currency: CurrencyId) -> i64 {
        self.supply.get(&currency).map_or(0, |s| s.minted)
    }

    /// Total ever burned in `currency`.
    pub fn burned(&self, currency: CurrencyId) -> i64 {
        self.supply.get(&currency).map_or(0, |s| s.burned)
    }

    /// Money in circulation: minted − burned (never negative).
    pub fn circulating(&self, currency: CurrencyId) -> i64 {
        self.minted(currency).saturating_sub(self.burned(currency))
    }

    /// Sequence number the next committed entry will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// All non-zero balances in deterministic (account, currency) order.
    pub fn balances(&self) -> impl Iterator<Item = (Account, CurrencyId, i64)> + '_ {
        self.balances
            .iter()
            .filter(|(_, b)| **b != 0)
            .map(|(&(a, c), &b)| (a, c, b))
    }

    /// Entries committed since the last drain, oldest first.
    pub fn journal(&self) -> &[Entry] {
        &self.journal
    }

    /// Moves the entries committed since the last drain to the end of
    /// `out`, oldest first. The journal keeps its capacity. The caller must
    /// drain regularly: the journal grows until it does.
    pub fn drain_journal(&mut self, out: &mut Vec<Entry>) {
        out.append(&mut self.journal);
    }

    /// Whether `self` and `other` hold the same balances, supply totals and
    /// next sequence number (undrained journals are not compared).
    pub fn state_eq(&self, other: &Ledger) -> bool {
        self.next_seq == other.next_seq && self.supply == other.supply && self.balances().eq(other.balances())
    }

    /// Verifies, per currency, that Wallet + Reserved + Fees + Escrow
    /// balances sum to minted − burned, that `Mint` holds −minted and `Burn`
    /// holds burned, and that no account except `Mint` is negative.
    pub fn check_invariants(&self) -> Result<(), InvariantViolation> {
        let mut held: BTreeMap<CurrencyId, i128> = BTreeMap::new();
        for (&(account, currency), &balance) in &self.balances {
            if balance < 0 && !account.may_go_negative() {
                return Err(InvariantViolation::NegativeBalance {
                    account,
                    currency,
                    balance,
                });
            }
            if !matches!(account, Account::Mint | Account::Burn) {
                *held.entry(currency).or_insert(0) += i128::from(balance);
            }
        }
        let currencies = held.keys().chain(self.supply.keys()).copied();
        for currency in currencies {
            let minted = self.minted(currency);
            let burned = self.burned(currency);
            let sum = held.get(&currency).copied().unwrap_or(0);
            if sum != i128::from(minted) - i128::from(burned) {
                return Err(InvariantViolation::SupplyMismatch {
                    currency,
                    held: sum,
                    minted,
                    burned,
                });
            }
            let mint = self.balance(Account::Mint, currency);
            if i128::from(mint) != -i128::from(minted) {
                return Err(InvariantViolation::MintMismatch {
                    currency,
                    balance: mint,
                    minted,
                });
            }
            let burn = self.balance(Account::Burn, currency);
            if burn != burned {
                return Err(InvariantViolation::BurnMismatch {
                    currency,
                    balance: burn,
                    burned,
                });
            }
        }
        Ok(())
    }

    /// Rebuilds a ledger from a complete journal (sequence numbers from 0,
    /// contiguous), re-checking every ledger rule on the way. The rebuilt
    /// ledger's own journal is empty and its next sequence number follows
    /// the last entry.
    pub fn from_entries<I>(entries: I) -> Result<Ledger, ReplayError>
    where
        I: IntoIterator,
        I::Item: Borrow<Entry>,
    {
        let mut ledger = Ledger::new();
        for item in entries {
            let entry: &Entry = item.borrow();
            if entry.seq != ledger.next_seq {
                return Err(ReplayError::OutOfSequence {
                    expected: ledger.next_seq,
                    found: entry.seq,
                });
            }
            ledger.clear_staging();
            if let Err(source) = ledger.stage(*entry) {
                ledger.clear_staging();
                return Err(ReplayError::InvalidEntry {
                    seq: entry.seq,
                    source,
                });
            }
            ledger.apply_staged(entry.tick, false);
        }
        Ok(ledger)
    }

    fn clear_staging(&mut self) {
        self.staged.clear();
        self.touched.clear();
    }

    /// Provisional balance: staged value if touched, else committed.
    fn provisional(&self, account: Account, currency: CurrencyId) -> i64 {
        self.touched
            .iter()
            .find(|t| t.account == account && t.currency == currency)
            .map_or_else(|| self.balance(account, currency), |t| t.provisional)
    }

    fn set_provisional(&mut self, account: Account, currency: CurrencyId, value: i64) {
        match self
            .touched
            .iter_mut()
            .find(|t| t.account == account && t.currency == currency)
        {
            Some(t) => t.provisional = value,
            None => self.touched.push(Touched {
                account,
                currency,
                provisional: value,
            }),
        }
    }

    /// Validates `entry` against provisional balances and stages it. On
    /// error nothing is staged.
    fn stage(&mut self, entry: Entry) -> Result<(), LedgerError> {
        let Entry {
            currency,
            debit,
            credit,
            amount,
            ..
        } = entry;
        if amount <= 0 {
            return Err(LedgerError::NonPositiveAmount { amount });
        }
        if debit == credit {
            return Err(LedgerError::SameAccount { account: debit });
        }
        if credit == Account::Mint {
            return Err(LedgerError::CreditToMint);
        }
        if debit == Account::Burn {
            return Err(LedgerError::DebitFromBurn);
        }
        let available = self.provisional(debit, currency);
        let new_debit = available
            .checked_sub(amount)
            .filter(|&b| b != i64::MIN) // keeps minted = -mint representable
            .ok_or(LedgerError::Overflow {
                account: debit,
                currency,
            })?;
        if new_debit < 0 && !debit.may_go_negative() {
            return Err(LedgerError::InsufficientFunds {
                account: debit,
                currency,
                available,
                amount,
            });
        }
        let new_credit =
            self.provisional(credit, currency)
                .checked_add(amount)
                .ok_or(LedgerError::Overflow {
                    account: credit,
                    currency,
                })?;
        self.set_provisional(debit, currency, new_debit);
        self.set_provisional(credit, currency, new_credit);
        self.staged.push(entry);
        Ok(())
    }

    /// Applies the staged entries (already validated) and clears staging.
    fn apply_staged(&mut self, tick: u64, record: bool) -> Committed {
        let first_seq = self.next_seq;
        let entries = self.staged.len();
        for t in self.touched.drain(..) {
            match self.balances.get_mut(&(t.account, t.currency)) {
                Some(b) => *b = t.provisional,
                None => {
                    self.balances.insert((t.account, t.currency), t.provisional);
                }
            }
        }
        for mut entry in self.staged.drain(..) {
            entry.seq = self.next_seq;
            entry.tick = tick;
            self.next_seq = self.next_seq.saturating_add(1);
            if entry.debit == Account::Mint || entry.credit == Account::Burn {
                let supply = self.supply.entry(entry.currency).or_default();
                // Staging guaranteed these totals stay within i64.
                if entry.debit == Account::Mint {
                    supply.minted = supply.minted.saturating_add(entry.amount);
                }
                if entry.credit == Account::Burn {
                    supply.burned = supply.burned.saturating_add(entry.amount);
                }
            }
            if record {
                self.journal.push(entry);
            }
        }
        Committed { first_seq, entries }
    }
}

/// An open, atomic group of transfers on a [`Ledger`].
///
/// Each transfer is validated immediately against the balances as they
/// would be after the transfers staged before it (so "reserve then spend"
/// works). The first refused transfer poisons the transaction: later
/// transfers return [`LedgerError::TransactionPoisoned`] and `commit`
/// returns the first error, so a transaction containing any bad transfer
/// applies nothing. Dropping the transaction is the same as `abort`.
#[must_use = "a transaction applies nothing unless committed"]
#[derive(Debug)]
pub struct Transaction<'a> {
    ledger: &'a mut Ledger,
    tick: u64,
    failure: Option<LedgerError>,
}

impl Transaction<'_> {
    /// Stages a move of `amount` of `currency` FROM `from` (debited) TO
    /// `to` (credited). Refuses non-positive amounts, `from == to`,
    /// crediting `Mint`, debiting `Burn`, any overdraft of an account other
    /// than `Mint`, and `i64` overflow.
    pub fn transfer(
        &mut self,
        kind: EntryKind,
        currency: CurrencyId,
        from: Account,
        to: Account,
        amount: i64,
        reference: u64,
    ) -> Result<(), LedgerError> {
        if self.failure.is_some() {
            return Err(LedgerError::TransactionPoisoned);
        }
        let entry = Entry {
            seq: 0, // assigned at commit
            tick: self.tick,
            kind,
            currency,
            debit: from,
            credit: to,
            amount,
            reference,
        };
        self.ledger.stage(entry).inspect_err(|e| {
            self.failure = Some(e.clone());
        })
    }

    /// Creates `amount` new money into `to`'s wallet (`Mint` → `Wallet`).
    pub fn mint(
        &mut self,
        currency: CurrencyId,
        to: PlayerId,
        amount: i64,
        kind: EntryKind,
        reference: u64,
    ) -> Result<(), LedgerError> {
        self.transfer(
            kind,
            currency,
            Account::Mint,
            Account::Wallet(to),
            amount,
            reference,
        )
    }

    /// Destroys `amount` from `from`'s wallet (`Wallet` → `Burn`).
    pub fn burn(
        &mut self,
        currency: CurrencyId,
        from: PlayerId,
        amount: i64,
        kind: EntryKind,
        reference: u64,
    ) -> Result<(), LedgerError> {
        self.transfer(
            kind,
            currency,
            Account::Wallet(from),
            Account::Burn,
            amount,
            reference,
        )
    }

    /// Commits funds to an open order/bid/offer (`Wallet` → `Reserved`,
    /// kind [`EntryKind::Escrow`]).
    pub fn reserve(
        &mut self,
        player: PlayerId,
        currency: CurrencyId,
        amount: i64,
        reference: u64,
    ) -> Result<(), LedgerError> {
        self.transfer(
            EntryKind::Escrow,
            currency,
            Account::Wallet(player),
            Account::Reserved(player),
            amount,
            reference,
        )
    }

    /// Returns reserved funds to the wallet (`Reserved` → `Wallet`, kind
    /// [`EntryKind::Escrow`]).
    pub fn release(
        &mut self,
        player: PlayerId,
        currency: CurrencyId,
        amount: i64,
        reference: u64,
    ) -> Result<(), LedgerError> {
        self.transfer(
            EntryKind::Escrow,
            currency,
            Account::Reserved(player),
            Account::Wallet(player),
            amount,
            reference,
        )
    }

    /// Settles a reserved amount to another player (`Reserved(from)` →
    /// `Wallet(to)`).
    pub fn pay_from_reserved(
        &mut self,
        from: PlayerId,
        to: PlayerId,
        currency: CurrencyId,
        amount: i64,
        kind: EntryKind,
        reference: u64,
    ) -> Result<(), LedgerError> {
        self.transfer(
            kind,
            currency,
            Account::Reserved(from),
            Account::Wallet(to),
            amount,
            reference,
        )
    }

    /// Charges a fee out of reserved funds (`Reserved` → `Fees`, kind
    /// [`EntryKind::Fee`]).
    pub fn fee_from_reserved(
        &mut self,
        player: PlayerId,
        currency: CurrencyId,
        amount: i64,
        reference: u64,
    ) -> Result<(), LedgerError> {
        self.transfer(
            EntryKind::Fee,
            currency,
            Account::Reserved(player),
            Account::Fees,
            amount,
            reference,
        )
    }

    /// Charges a fee out of the wallet (`Wallet` → `Fees`, kind
    /// [`EntryKind::Fee`]).
    pub fn fee_from_wallet(
        &mut self,
        player: PlayerId,
        currency: CurrencyId,
        amount: i64,
        reference: u64,
    ) -> Result<(), LedgerError> {
        self.transfer(
            EntryKind::Fee,
            currency,
            Account::Wallet(player),
            Account::Fees,
            amount,
            reference,
        )
    }

    /// Balance of `account` as it would be if the transaction committed now.
    pub fn balance(&self, account: Account, currency: CurrencyId) -> i64 {
        self.ledger.provisional(account, currency)
    }

    /// Tick this transaction stamps on its entries.
    pub fn tick(&self) -> u64 {
        self.tick
    }

    /// Number of staged transfers.
    pub fn len(&self) -> usize {
        self.ledger.staged.len()
    }

    /// Whether no transfer is staged.
    pub fn is_empty(&self) -> bool {
        self.ledger.staged.is_empty()
    }

    /// The first error of this transaction, if a transfer was refused.
    pub fn failure(&self) -> Option<&LedgerError> {
        self.failure.as_ref()
    }

    /// Applies every staged transfer atomically and appends them to the
    /// journal. If any transfer was refused, applies nothing and returns
    /// that first error.
    pub fn commit(mut self) -> Result<Committed, LedgerError> {
        if let Some(err) = self.failure.take() {
            return Err(err);
        }
        Ok(self.ledger.apply_staged(self.tick, true))
    }

    /// Discards every staged transfer (same as dropping the transaction).
    pub fn abort(self) {}
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        self.ledger.clear_staging();
    }
}

#[cfg(test)]
mod tests;
