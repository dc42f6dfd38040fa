//! Limit order book for a single tradeable item of the game economy.
//!
//! This module owns the *market mechanics* for one item: validating and
//! matching limit orders with price-time priority, keeping the resting orders
//! of both sides, cancellation by the owner, tick-based expiry, the last traded
//! price and OHLCV candles built from the fills. It does **not** own balances or
//! escrow: the caller reserves money/items before [`OrderBook::place`] and
//! settles or releases them from the returned [`Fill`]s, [`Placed`],
//! [`Cancelled`] and [`Expired`] records.
//!
//! Everything is deterministic: money is integer minor currency units, time is
//! the caller's simulation tick, and no operation depends on randomness,
//! wall-clock time or hash-table iteration order. Price levels and their
//! queues are kept in explicit price and arrival order; the only hash table
//! (the order-id index) uses a fixed hash function and serves lookups only.
//! The same sequence of calls yields the same results on every machine.
//! Invalid input is reported through [`BookError`]; no public method panics on
//! any input.
//!
//! Once warm, placing, matching, cancelling and expiring orders performs no
//! heap allocation: internal storage is reused and only grows when the book
//! holds more resting orders (or levels, or expiring orders) than ever before.
//! The caller's `fills`/`out` vectors are appended to and are the caller's
//! to size.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::float_arithmetic
    )
)]

use std::cmp::Reverse;
use std::collections::BinaryHeap;

mod candles;
mod id_table;

pub use candles::{Candle, Candles};
use id_table::IdTable;

// The unit tests (`use super::*`) model the book with ordered maps.
#[cfg(test)]
use std::collections::BTreeMap;

/// Candle interval used by [`OrderBook::new`]: one minute at 60 ticks per second.
pub const DEFAULT_CANDLE_INTERVAL_TICKS: u64 = 3_600;

/// Number of candles kept by [`OrderBook::new`]: two hours of one-minute candles.
pub const DEFAULT_CANDLE_KEEP: usize = 120;

/// Caller-chosen identifier of an order. Must be unique among the orders
/// currently resting in one book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OrderId(pub u64);

/// Identifier of the player or account that owns an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Owner(pub u64);

/// Side of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub enum Side {
    /// Wants to acquire the item, paying at most the limit price per unit.
    Buy,
    /// Wants to dispose of the item, receiving at least the limit price per unit.
    Sell,
}

impl Side {
    /// The other side of the book.
    #[must_use]
    pub const fn opposite(self) -> Self {
        match self {
            Self::Buy => Self::Sell,
            Self::Sell => Self::Buy,
        }
    }
}

/// A limit order submitted to [`OrderBook::place`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewOrder {
    /// Identifier; must not equal the id of an order resting in the book.
    pub id: OrderId,
    /// Owner of the order (used for cancel rights and self-trade prevention).
    pub owner: Owner,
    /// Buy or sell.
    pub side: Side,
    /// Limit price in minor currency units per one unit of the item; must be > 0.
    pub price: i64,
    /// Number of item units; must be > 0.
    pub quantity: u32,
    /// Tick at which any resting remainder expires (removed by
    /// [`OrderBook::expire`] once `expires_at_tick <= tick`); `None` = good till
    /// cancelled. Must be later than the placement tick.
    pub expires_at_tick: Option<u64>,
}

/// One match between an incoming (taker) order and a resting (maker) order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fill {
    /// The resting order that was matched.
    pub maker: OrderId,
    /// Owner of the maker order.
    pub maker_owner: Owner,
    /// The incoming order.
    pub taker: OrderId,
    /// Owner of the taker order.
    pub taker_owner: Owner,
    /// Execution price per unit: always the maker's limit price.
    pub price: i64,
    /// Units exchanged.
    pub quantity: u32,
    /// Side of the taker (the maker is on the opposite side).
    pub taker_side: Side,
    /// Tick at which the match happened.
    pub tick: u64,
}

/// Outcome of an accepted [`OrderBook::place`].
///
/// `filled + resting + cancelled` always equals the order's quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placed {
    /// Units matched immediately (sum of the fills produced by this call).
    pub filled: u32,
    /// Units left resting in the book under the order's id.
    pub resting: u32,
    /// Units discarded by self-trade prevention: after all other owners'
    /// crossing liquidity was taken, the remainder would still have crossed
    /// the owner's own opposite order, so it was not rested (a crossed book is
    /// never allowed). The caller releases the escrow for these units.
    pub cancelled: u32,
}

/// Outcome of a successful [`OrderBook::cancel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cancelled {
    /// Side of the cancelled order.
    pub side: Side,
    /// Limit price of the cancelled order.
    pub price: i64,
    /// Units that were still resting and are now released.
    pub remaining: u32,
}

/// An order removed by [`OrderBook::expire`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expired {
    /// Identifier of the expired order.
    pub id: OrderId,
    /// Owner of the expired order.
    pub owner: Owner,
    /// Side of the expired order.
    pub side: Side,
    /// Limit price of the expired order.
    pub price: i64,
    /// Units that were still resting and are now released.
    pub remaining: u32,
}

/// Snapshot of an order resting in the book, returned by [`OrderBook::order`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestingOrder {
    /// Identifier.
    pub id: OrderId,
    /// Owner.
    pub owner: Owner,
    /// Side.
    pub side: Side,
    /// Limit price.
    pub price: i64,
    /// Quantity originally submitted.
    pub quantity: u32,
    /// Quantity still resting (not yet filled).
    pub remaining: u32,
    /// Tick at which the order was placed.
    pub placed_tick: u64,
    /// Expiry tick, if any.
    pub expires_at_tick: Option<u64>,
}

/// Errors reported by [`OrderBook`]. A failed call leaves the book unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BookError {
    /// An order with this id is already resting in the book.
    #[error("order id {0:?} is already resting in the book")]
    DuplicateId(OrderId),
    /// The limit price is zero or negative.
    #[error("invalid price {0}: must be > 0")]
    InvalidPrice(i64),
    /// The quantity is zero.
    #[error("invalid quantity: must be > 0")]
    InvalidQuantity,
    /// The order's expiry tick is not after the placement tick.
    #[error("order expires at tick {expires_at_tick}, not after placement tick {tick}")]
    AlreadyExpired {
        /// The requested expiry tick.
        expires_at_tick: u64,
        /// The placement tick.
        tick: u64,
    },
    /// No order with this id is resting in the book.
    #[error("unknown order {0:?}")]
    UnknownOrder(OrderId),
    /// The order exists but belongs to a different owner.
    #[error("order {0:?} belongs to another owner")]
    NotOwner(OrderId),
}

/// Sentinel index meaning "no slot" in the per-level order lists, the slab's
/// free list and the id table.
const NIL: usize = usize::MAX;

/// One slot of the order slab: a resting order, or a free slot when
/// `remaining == 0`.
#[derive(Debug, Clone, Copy)]
struct OrderSlot {
    id: OrderId,
    owner: Owner,
    side: Side,
    price: i64,
    /// Quantity originally submitted.
    quantity: u32,
    /// Units still resting; 0 marks a free slot.
    remaining: u32,
    placed_tick: u64,
    expires_at_tick: Option<u64>,
    /// Arrival sequence number, unique over the book's lifetime; tells the
    /// occupant of a reused slot from a previous one (see [`ExpiryKey`]).
    seq: u64,
    /// Slot of the previous (earlier) order of the same level, or [`NIL`].
    prev: usize,
    /// Slot of the next (later) order of the same level, or [`NIL`]; for a
    /// free slot, the next free slot.
    next: usize,
}

/// All resting orders at one price: a FIFO linked through the order slab,
/// oldest (time priority) first.
#[derive(Debug, Clone, Copy)]
struct Level {
    price: i64,
    /// Sum of `remaining` over the level's orders (cannot saturate in
    /// practice: it would take more than 2^32 resting orders).
    total: u64,
    /// Oldest order, or [`NIL`] when the level is empty.
    head: usize,
    /// Newest order, or [`NIL`] when the level is empty.
    tail: usize,
}

impl Level {
    const fn new(price: i64) -> Self {
        Self {
            price,
            total: 0,
            head: NIL,
            tail: NIL,
        }
    }

    const fn is_empty(&self) -> bool {
        self.head == NIL
    }

    /// Appends the order in `slot` at the back of the FIFO.
    fn push_back(&mut self, slots: &mut [OrderSlot], slot: usize) {
        let tail = self.tail;
        if let Some(order) = slots.get_mut(slot) {
            order.prev = tail;
            order.next = NIL;
            self.total = self.total.saturating_add(u64::from(order.remaining));
        }
        match slots.get_mut(tail) {
            Some(last) => last.next = slot,
            None => self.head = slot,
        }
        self.tail = slot;
    }

    /// Unlinks the order in `slot` from the FIFO (does not touch `total`).
    fn unlink(&mut self, slots: &mut [OrderSlot], slot: usize) {
        let Some(&OrderSlot { prev, next, .. }) = slots.get(slot) else {
            return;
        };
        match slots.get_mut(prev) {
            Some(before) => before.next = next,
            None => self.head = next,
        }
        match slots.get_mut(next) {
            Some(after) => after.prev = prev,
            None => self.tail = prev,
        }
    }
}

/// Position of the level at `price` in the levels of `side` (`Ok`), or where
/// to insert it (`Err`). Both sides keep their best price *last*: bids
/// ascending, asks descending.
fn find_level(levels: &[Level], side: Side, price: i64) -> Result<usize, usize> {
    match side {
        Side::Buy => levels.binary_search_by(|level| level.price.cmp(&price)),
        Side::Sell => levels.binary_search_by(|level| price.cmp(&level.price)),
    }
}

/// Entry of the expiry heap. Ordered by `(at, id)` (then by the unique `seq`),
/// which is the order [`OrderBook::expire`] reports in. An entry is *live*
/// while slab slot `slot` still holds the order with sequence `seq`;
/// otherwise it is a stale leftover of a filled or cancelled order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct ExpiryKey {
    at: u64,
    id: OrderId,
    seq: u64,
    slot: usize,
}

/// Slab of resting orders, id index and expiry heap, kept in sync.
#[derive(Debug, Clone)]
struct OrderIndex {
    /// `OrderId -> slot` of every resting order.
    locs: IdTable,
    /// The order slab. Only grows (when more orders rest than ever before);
    /// freed slots are chained from `free` through `next` and reused.
    slots: Vec<OrderSlot>,
    /// First free slot, or [`NIL`].
    free: usize,
    /// Min-heap of expiries with lazy deletion: finished orders leave stale
    /// entries that are skipped when popped, and purged in one `retain`
    /// whenever they outnumber the live ones, so the heap holds at most about
    /// twice the number of resting orders that have an expiry.
    expiries: BinaryHeap<Reverse<ExpiryKey>>,
    /// Number of resting orders with an expiry (= live heap entries).
    expiring: usize,
}

impl OrderIndex {
    const fn new() -> Self {
        Self {
            locs: IdTable::new(),
            slots: Vec::new(),
            free: NIL,
            expiries: BinaryHeap::new(),
            expiring: 0,
        }
    }

    /// The resting order `id`, if any, and its slot.
    fn get(&self, id: OrderId) -> Option<(usize, &OrderSlot)> {
        let slot = self.locs.get(id)?;
        self.slots.get(slot).map(|order| (slot, order))
    }

    /// Stores a new resting order; returns its slot.
    fn insert(&mut self, order: OrderSlot) -> usize {
        let slot = match self.slots.get_mut(self.free) {
            Some(free) => {
                let slot = self.free;
                self.free = free.next;
                *free = order;
                slot
            }
            None => {
                self.slots.push(order);
                self.slots.len().wrapping_sub(1)
            }
        };
        self.locs.insert(order.id, slot);
        if let Some(at) = order.expires_at_tick {
            self.expiries.push(Reverse(ExpiryKey {
                at,
                id: order.id,
                seq: order.seq,
                slot,
            }));
            self.expiring = self.expiring.saturating_add(1);
        }
        slot
    }

    /// Forgets the order in `slot` (already unlinked from its level) and
    /// frees the slot.
    fn release(&mut self, slot: usize) {
        let Some(order) = self.slots.get_mut(slot) else {
            return;
        };
        let id = order.id;
        let had_expiry = order.expires_at_tick.is_some();
        order.remaining = 0;
        order.next = self.free;
        self.free = slot;
        self.locs.remove(id);
        if had_expiry {
            self.expiring = self.expiring.saturating_sub(1);
            if self.expiries.len() > self.expiring.saturating_mul(2) {
                let slots = &self.slots;
                self.expiries.retain(|Reverse(key)| is_live(slots, key));
            }
        }
    }
}

/// True if `key` still refers to a resting order.
fn is_live(slots: &[OrderSlot], key: &ExpiryKey) -> bool {
    slots
        .get(key.slot)
        .is_some_and(|order| order.remaining > 0 && order.seq == key.seq)
}

/// Limit order book for one item.
///
/// Layout (chosen so that, once warm, no operation allocates):
/// - Resting orders live in a slab (`Vec` of slots plus a free list of
///   reused slots).
/// - Each side is a `Vec` of price levels sorted so that the *best level is
///   last* (bids ascending, asks descending) and found by binary search:
///   consuming the best level is a pop, and a new level shifts only the
///   levels better than it.
/// - Each level is a FIFO (oldest first) doubly linked through the slab, so
///   matching walks it in time priority and cancelling from the middle is
///   O(1) once the level is found.
/// - An `OrderId -> slot` hash table (fixed hash, lookups only) gives O(1)
///   cancel and lookup.
/// - A binary min-heap of `(expires_at_tick, OrderId)` with lazy deletion
///   makes [`Self::expire`] one O(1) peek when nothing is due.
///
/// Empty levels and finished orders are removed from the book immediately,
/// but no container ever gives back capacity: memory follows the high-water
/// mark of resting orders and levels, and operations allocate only when that
/// mark is exceeded (plus whatever the caller's `fills`/`out` vectors need).
///
/// Self-trade prevention: an incoming order never matches a resting order of
/// the same owner. Such resting orders are *skipped* and keep their place in
/// the queue; matching continues with other owners' orders behind them and at
/// worse prices within the limit. If a remainder is left that would still
/// cross the book (which can then only be because of the owner's own opposite
/// orders), it is not rested but reported as [`Placed::cancelled`], so the
/// book is never crossed.
#[derive(Debug, Clone)]
pub struct OrderBook {
    /// Buy levels, ascending by price (best bid last).
    bids: Vec<Level>,
    /// Sell levels, descending by price (best ask last).
    asks: Vec<Level>,
    index: OrderIndex,
    next_seq: u64,
    last_price: Option<i64>,
    candles: Candles,
}

impl Default for OrderBook {
    fn default() -> Self {
        Self::new()
    }
}

impl OrderBook {
    /// Creates an empty book with default candles
    /// ([`DEFAULT_CANDLE_INTERVAL_TICKS`], [`DEFAULT_CANDLE_KEEP`]).
    #[must_use]
    pub fn new() -> Self {
        Self::with_candles(DEFAULT_CANDLE_INTERVAL_TICKS, DEFAULT_CANDLE_KEEP)
    }

    /// Creates an empty book whose candles span `interval_ticks` ticks each
    /// (0 is treated as 1), keeping the newest `keep` candles.
    #[must_use]
    pub fn with_candles(interval_ticks: u64, keep: usize) -> Self {
        Self {
            bids: Vec::new(),
            asks: Vec::new(),
            index: OrderIndex::new(),
            next_seq: 0,
            last_price: None,
            candles: Candles::new(interval_ticks, keep),
        }
    }

    /// Places a limit order at `tick`.
    ///
    /// The order first matches the opposite side with price-time priority
    /// (best price first, then earliest arrival), each match executing at the
    /// resting order's price, skipping resting orders of the same owner (see
    /// the type-level docs). One [`Fill`] per match is *appended* to `fills`
    /// (the vector is not cleared). Any remainder rests in the book unless it
    /// would cross the owner's own orders, in which case it is cancelled.
    ///
    /// # Errors
    /// [`BookError::InvalidPrice`], [`BookError::InvalidQuantity`],
    /// [`BookError::AlreadyExpired`] (expiry not after `tick`) or
    /// [`BookError::DuplicateId`] (id of an order currently resting). On error
    /// nothing is matched and the book is unchanged.
    pub fn place(&mut self, order: NewOrder, tick: u64, fills: &mut Vec<Fill>) -> Result<Placed, BookError> {
        if order.price <= 0 {
            return Err(BookError::InvalidPrice(order.price));
        }
        if order.quantity == 0 {
            return Err(BookError::InvalidQuantity);
        }
        if let Some(expires_at_tick) = order.expires_at_tick
            && expires_at_tick <= tick
        {
            return Err(BookError::AlreadyExpired {
                expires_at_tick,
                tick,
            });
        }
        if self.index.locs.get(order.id).is_some() {
            return Err(BookError::DuplicateId(order.id));
        }

        let first_new_fill = fills.len();
        let remaining = self.match_incoming(&order, tick, fills);
        for fill in fills.get(first_new_fill..).unwrap_or(&[]) {
            self.candles.record(fill.price, fill.quantity, fill.tick);
            self.last_price = Some(fill.price);
        }
        let filled = order.quantity.saturating_sub(remaining);

        if remaining == 0 {
            return Ok(Placed {
                filled,
                resting: 0,
                cancelled: 0,
            });
        }
        if self.would_cross(order.side, order.price) {
            return Ok(Placed {
                filled,
                resting: 0,
                cancelled: remaining,
            });
        }
        self.rest(&order, remaining, tick);
        Ok(Placed {
            filled,
            resting: remaining,
            cancelled: 0,
        })
    }

    /// Cancels the resting order `id` on behalf of `owner`.
    ///
    /// # Errors
    /// [`BookError::UnknownOrder`] if no such order rests in the book,
    /// [`BookError::NotOwner`] if it belongs to someone else (book unchanged).
    pub fn cancel(&mut self, id: OrderId, owner: Owner) -> Result<Cancelled, BookError> {
        let (slot, order) = self.index.get(id).ok_or(BookError::UnknownOrder(id))?;
        if order.owner != owner {
            return Err(BookError::NotOwner(id));
        }
        let order = self.remove_resting(slot).ok_or(BookError::UnknownOrder(id))?;
        Ok(Cancelled {
            side: order.side,
            price: order.price,
            remaining: order.remaining,
        })
    }

    /// Removes every resting order with `expires_at_tick <= tick`, *appending*
    /// one [`Expired`] per order to `out` in `(expires_at_tick, id)` order.
    ///
    /// Costs O(1) when nothing is due, O(log n) per expired order (and per
    /// stale heap entry of an order that was filled or cancelled earlier).
    pub fn expire(&mut self, tick: u64, out: &mut Vec<Expired>) {
        while let Some(&Reverse(key)) = self.index.expiries.peek() {
            if key.at > tick {
                break;
            }
            self.index.expiries.pop();
            if !is_live(&self.index.slots, &key) {
                continue;
            }
            let Some(order) = self.remove_resting(key.slot) else {
                continue;
            };
            out.push(Expired {
                id: order.id,
                owner: order.owner,
                side: order.side,
                price: order.price,
                remaining: order.remaining,
            });
        }
    }

    /// Moves the expiry of every resting order that has one to `deadline(expiry)`, handing
    /// each order whose expiry moved to `moved`.
    pub fn reschedule(&mut self, deadline: impl Fn(u64) -> u64, mut moved: impl FnMut(OrderId)) {
        let index = &mut self.index;
        let mut keys = std::mem::take(&mut index.expiries).into_vec();
        keys.clear();
        for (slot, order) in index.slots.iter_mut().enumerate() {
            let Some(at) = order.expires_at_tick.filter(|_| order.remaining > 0) else {
                continue;
            };
            let rescheduled = deadline(at);
            if rescheduled != at {
                order.expires_at_tick = Some(rescheduled);
                moved(order.id);
            }
            keys.push(Reverse(ExpiryKey {
                at: rescheduled,
                id: order.id,
                seq: order.seq,
                slot,
            }));
        }
        index.expiring = keys.len();
        index.expiries = BinaryHeap::from(keys);
    }

    /// Highest resting buy price.
    #[must_use]
    pub fn best_bid(&self) -> Option<i64> {
        self.bids.last().map(|level| level.price)
    }

    /// Lowest resting sell price.
    #[must_use]
    pub fn best_ask(&self) -> Option<i64> {
        self.asks.last().map(|level| level.price)
    }

    /// Price of the most recent fill, if any trade happened.
    #[must_use]
    pub fn last_price(&self) -> Option<i64> {
        self.last_price
    }

    /// Replaces the contents of `out` with up to `levels` `(price, total
    /// resting quantity)` pairs of `side`, best price first.
    pub fn depth(&self, side: Side, levels: usize, out: &mut Vec<(i64, u64)>) {
        out.clear();
        out.extend(self.levels(side).take(levels));
    }

    /// `(price, total resting quantity)` of every level of `side`, best price first.
    pub fn levels(&self, side: Side) -> impl Iterator<Item = (i64, u64)> + '_ {
        self.side(side)
            .iter()
            .rev()
            .map(|level| (level.price, level.total))
    }

    /// Snapshot of the resting order `id`, if it is in the book.
    #[must_use]
    pub fn order(&self, id: OrderId) -> Option<RestingOrder> {
        let (_, order) = self.index.get(id)?;
        Some(RestingOrder {
            id,
            owner: order.owner,
            side: order.side,
            price: order.price,
            quantity: order.quantity,
            remaining: order.remaining,
            placed_tick: order.placed_tick,
            expires_at_tick: order.expires_at_tick,
        })
    }

    /// Number of resting orders.
    #[must_use]
    pub fn len(&self) -> usize {
        self.index.locs.len()
    }

    /// True when no order is resting.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.index.locs.is_empty()
    }

    /// The candles built from this book's fills.
    #[must_use]
    pub fn candles(&self) -> &Candles {
        &self.candles
    }

    fn side(&self, side: Side) -> &Vec<Level> {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    /// True if an order of `side` at limit `price` would cross the opposite
    /// best price.
    fn would_cross(&self, side: Side, price: i64) -> bool {
        match side {
            Side::Buy => self.best_ask().is_some_and(|ask| ask <= price),
            Side::Sell => self.best_bid().is_some_and(|bid| bid >= price),
        }
    }

    /// Matches `order` against the opposite side; returns the unfilled quantity.
    fn match_incoming(&mut self, order: &NewOrder, tick: u64, fills: &mut Vec<Fill>) -> u32 {
        let mut remaining = order.quantity;
        let levels = match order.side {
            Side::Buy => &mut self.asks,
            Side::Sell => &mut self.bids,
        };
        // The best level is last. Every level visited is left holding only
        // the taker's own orders (or the taker is exhausted), so the walk
        // goes strictly towards worse prices.
        let mut pos = levels.len();
        while remaining > 0 {
            let Some(prev) = pos.checked_sub(1) else {
                break;
            };
            pos = prev;
            let Some(level) = levels.get_mut(pos) else {
                break;
            };
            let in_range = match order.side {
                Side::Buy => level.price <= order.price,
                Side::Sell => level.price >= order.price,
            };
            if !in_range {
                break;
            }
            remaining = match_level(level, order, remaining, tick, fills, &mut self.index);
            if level.is_empty() {
                levels.remove(pos);
            }
        }
        remaining
    }

    /// Rests `remaining` units of `order` at the back of its price level.
    fn rest(&mut self, order: &NewOrder, remaining: u32, tick: u64) {
        let seq = self.next_seq;
        // 2^64 placements is unreachable (~10^4 years at 60M orders/s).
        self.next_seq = self.next_seq.wrapping_add(1);
        let slot = self.index.insert(OrderSlot {
            id: order.id,
            owner: order.owner,
            side: order.side,
            price: order.price,
            quantity: order.quantity,
            remaining,
            placed_tick: tick,
            expires_at_tick: order.expires_at_tick,
            seq,
            prev: NIL,
            next: NIL,
        });
        let levels = match order.side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        };
        let pos = match find_level(levels, order.side, order.price) {
            Ok(pos) => pos,
            Err(pos) => {
                levels.insert(pos, Level::new(order.price));
                pos
            }
        };
        if let Some(level) = levels.get_mut(pos) {
            level.push_back(&mut self.index.slots, slot);
        }
    }

    /// Removes the resting order in `slot` from its level (dropping the level
    /// if it becomes empty) and from the index. Returns the order as it was.
    fn remove_resting(&mut self, slot: usize) -> Option<OrderSlot> {
        let order = *self.index.slots.get(slot)?;
        let levels = match order.side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        };
        if let Ok(pos) = find_level(levels, order.side, order.price)
            && let Some(level) = levels.get_mut(pos)
        {
            level.unlink(&mut self.index.slots, slot);
            level.total = level.total.saturating_sub(u64::from(order.remaining));
            if level.is_empty() {
                levels.remove(pos);
            }
        }
        self.index.release(slot);
        Some(order)
    }
}

/// Matches the taker against one price level in FIFO order, skipping the
/// taker owner's own orders. Fully filled makers are unlinked from the level
/// and released from `index`. Returns the taker's unfilled quantity.
fn match_level(
    level: &mut Level,
    order: &NewOrder,
    mut remaining: u32,
    tick: u64,
    fills: &mut Vec<Fill>,
    index: &mut OrderIndex,
) -> u32 {
    let mut cursor = level.head;
    while remaining > 0 {
        let Some(maker) = index.slots.get_mut(cursor) else {
            break;
        };
        let slot = cursor;
        cursor = maker.next;
        if maker.owner == order.owner {
            continue;
        }
        let quantity = remaining.min(maker.remaining);
        maker.remaining = maker.remaining.saturating_sub(quantity);
        remaining = remaining.saturating_sub(quantity);
        level.total = level.total.saturating_sub(u64::from(quantity));
        fills.push(Fill {
            maker: maker.id,
            maker_owner: maker.owner,
            taker: order.id,
            taker_owner: order.owner,
            price: level.price,
            quantity,
            taker_side: order.side,
            tick,
        });
        if maker.remaining == 0 {
            level.unlink(&mut index.slots, slot);
            index.release(slot);
        }
    }
    remaining
}

#[cfg(test)]
mod tests;
