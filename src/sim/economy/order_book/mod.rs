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
//! the caller's simulation tick, all containers are ordered (`BTreeMap`,
//! `BTreeSet`, `VecDeque`), and no operation depends on hashing, randomness or
//! wall-clock time. The same sequence of calls yields the same results on every
//! machine. Invalid input is reported through [`BookError`]; no public method
//! panics on any input.

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

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ops::Bound;

/// Candle interval used by [`OrderBook::new`]: one minute at 60 ticks per second.
pub const DEFAULT_CANDLE_INTERVAL_TICKS: u64 = 3_600;

/// Number of candles kept by [`OrderBook::new`]: two hours of one-minute candles.
pub const DEFAULT_CANDLE_KEEP: usize = 120;

/// Upper bound on the ring capacity reserved up front by [`Candles::new`]; the
/// ring still grows to `keep` on demand.
const MAX_CANDLE_PREALLOC: usize = 1_024;

/// Caller-chosen identifier of an order. Must be unique among the orders
/// currently resting in one book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OrderId(pub u64);

/// Identifier of the player or account that owns an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Owner(pub u64);

/// Side of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
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

/// One OHLCV candle covering `[open_tick, open_tick + interval_ticks)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candle {
    /// First tick of the interval (`bucket * interval_ticks`).
    pub open_tick: u64,
    /// Price of the first fill recorded in the interval.
    pub open: i64,
    /// Highest fill price in the interval.
    pub high: i64,
    /// Lowest fill price in the interval.
    pub low: i64,
    /// Price of the last fill recorded in the interval.
    pub close: i64,
    /// Total units traded in the interval (saturating).
    pub volume: u64,
}

impl Candle {
    fn first(open_tick: u64, price: i64, quantity: u32) -> Self {
        Self {
            open_tick,
            open: price,
            high: price,
            low: price,
            close: price,
            volume: u64::from(quantity),
        }
    }

    fn update(&mut self, price: i64, quantity: u32) {
        self.high = self.high.max(price);
        self.low = self.low.min(price);
        self.close = price;
        self.volume = self.volume.saturating_add(u64::from(quantity));
    }
}

/// Bounded ring of OHLCV candles aggregated from fills.
///
/// Intervals without any fill produce no candle (there are gaps, not flat
/// filler candles). Only the newest `keep` candles are retained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candles {
    interval_ticks: u64,
    keep: usize,
    ring: VecDeque<Candle>,
}

impl Candles {
    /// Creates an empty ring of candles of `interval_ticks` ticks each keeping
    /// at most `keep` candles. An `interval_ticks` of 0 is treated as 1;
    /// `keep == 0` disables recording.
    #[must_use]
    pub fn new(interval_ticks: u64, keep: usize) -> Self {
        Self {
            interval_ticks: interval_ticks.max(1),
            keep,
            ring: VecDeque::with_capacity(keep.min(MAX_CANDLE_PREALLOC)),
        }
    }

    /// Length of one candle in ticks (always >= 1).
    #[must_use]
    pub fn interval_ticks(&self) -> u64 {
        self.interval_ticks
    }

    /// Maximum number of candles retained.
    #[must_use]
    pub fn keep(&self) -> usize {
        self.keep
    }

    /// Adds one fill of `quantity` units at `fill_price` traded at `tick`.
    ///
    /// Fills are expected in non-decreasing tick order; a late fill is merged
    /// into the candle of its own interval if that interval is still retained
    /// (or inserted in order), and dropped if it is older than every retained
    /// candle while the ring is full.
    pub fn record(&mut self, fill_price: i64, quantity: u32, tick: u64) {
        if self.keep == 0 {
            return;
        }
        let open_tick = tick.saturating_sub(tick.checked_rem(self.interval_ticks).unwrap_or(0));
        let newest = self.ring.back().map(|c| c.open_tick);
        match newest {
            Some(t) if t == open_tick => {
                if let Some(last) = self.ring.back_mut() {
                    last.update(fill_price, quantity);
                }
            }
            Some(t) if t > open_tick => self.record_late(fill_price, quantity, open_tick),
            _ => {
                if self.ring.len() >= self.keep {
                    self.ring.pop_front();
                }
                self.ring
                    .push_back(Candle::first(open_tick, fill_price, quantity));
            }
        }
    }

    fn record_late(&mut self, fill_price: i64, quantity: u32, open_tick: u64) {
        match self.ring.binary_search_by_key(&open_tick, |c| c.open_tick) {
            Ok(pos) => {
                if let Some(candle) = self.ring.get_mut(pos) {
                    candle.update(fill_price, quantity);
                }
            }
            Err(0) if self.ring.len() >= self.keep => {}
            Err(pos) => {
                self.ring
                    .insert(pos, Candle::first(open_tick, fill_price, quantity));
                if self.ring.len() > self.keep {
                    self.ring.pop_front();
                }
            }
        }
    }

    /// The retained candles, oldest first.
    pub fn candles(&self) -> impl Iterator<Item = &Candle> {
        self.ring.iter()
    }

    /// The newest retained candle, if any.
    #[must_use]
    pub fn latest(&self) -> Option<&Candle> {
        self.ring.back()
    }

    /// Number of retained candles.
    #[must_use]
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    /// True when no candle is retained.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }
}

/// A resting order's mutable state, stored in its price level's FIFO.
#[derive(Debug, Clone, Copy)]
struct QueueEntry {
    id: OrderId,
    owner: Owner,
    remaining: u32,
}

/// All resting orders at one price, in time priority (ascending sequence).
#[derive(Debug, Clone, Default)]
struct Level {
    /// Sum of `remaining` over `queue` (cannot saturate in practice: it would
    /// take more than 2^32 resting orders).
    total: u64,
    /// Sequence number -> order. Ascending sequence is arrival order, so the
    /// first entry has time priority; removal from the middle is O(log n).
    queue: BTreeMap<u64, QueueEntry>,
}

/// Immutable location and metadata of a resting order, keyed by id.
#[derive(Debug, Clone, Copy)]
struct OrderLoc {
    owner: Owner,
    side: Side,
    price: i64,
    seq: u64,
    quantity: u32,
    placed_tick: u64,
    expires_at_tick: Option<u64>,
}

/// Id index plus the min-ordered expiry index, kept in sync.
#[derive(Debug, Clone, Default)]
struct OrderIndex {
    locs: BTreeMap<OrderId, OrderLoc>,
    /// `(expires_at_tick, id)` of every resting order that has an expiry.
    expiries: BTreeSet<(u64, OrderId)>,
}

impl OrderIndex {
    fn insert(&mut self, id: OrderId, loc: OrderLoc) {
        if let Some(exp) = loc.expires_at_tick {
            self.expiries.insert((exp, id));
        }
        self.locs.insert(id, loc);
    }

    fn remove(&mut self, id: OrderId) -> Option<OrderLoc> {
        let loc = self.locs.remove(&id)?;
        if let Some(exp) = loc.expires_at_tick {
            self.expiries.remove(&(exp, id));
        }
        Some(loc)
    }
}

/// Limit order book for one item.
///
/// Layout: one `BTreeMap<price, Level>` per side (best bid = last key of
/// `bids`, best ask = first key of `asks`), each level a FIFO keyed by a global
/// arrival sequence; an `OrderId -> location` index for O(log n) cancel and
/// lookup; a `BTreeSet<(expires_at_tick, OrderId)>` so that [`Self::expire`]
/// costs one O(log n) peek when nothing expires. Empty levels and finished
/// orders are removed immediately, so memory tracks the number of resting
/// orders.
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
    bids: BTreeMap<i64, Level>,
    asks: BTreeMap<i64, Level>,
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
            bids: BTreeMap::new(),
            asks: BTreeMap::new(),
            index: OrderIndex::default(),
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
        if self.index.locs.contains_key(&order.id) {
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
        let loc = self
            .index
            .locs
            .get(&id)
            .copied()
            .ok_or(BookError::UnknownOrder(id))?;
        if loc.owner != owner {
            return Err(BookError::NotOwner(id));
        }
        self.index.remove(id);
        let remaining = self.remove_from_level(&loc);
        Ok(Cancelled {
            side: loc.side,
            price: loc.price,
            remaining,
        })
    }

    /// Removes every resting order with `expires_at_tick <= tick`, *appending*
    /// one [`Expired`] per order to `out` in `(expires_at_tick, id)` order.
    ///
    /// Costs O(log n) when nothing expires, O(k log n) for k expiries.
    pub fn expire(&mut self, tick: u64, out: &mut Vec<Expired>) {
        while let Some(&(expires_at_tick, id)) = self.index.expiries.first() {
            if expires_at_tick > tick {
                break;
            }
            self.index.expiries.pop_first();
            let Some(loc) = self.index.locs.remove(&id) else {
                continue;
            };
            let remaining = self.remove_from_level(&loc);
            out.push(Expired {
                id,
                owner: loc.owner,
                side: loc.side,
                price: loc.price,
                remaining,
            });
        }
    }

    /// Highest resting buy price.
    #[must_use]
    pub fn best_bid(&self) -> Option<i64> {
        self.bids.last_key_value().map(|(&p, _)| p)
    }

    /// Lowest resting sell price.
    #[must_use]
    pub fn best_ask(&self) -> Option<i64> {
        self.asks.first_key_value().map(|(&p, _)| p)
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
        let bids = (side == Side::Buy)
            .then(|| self.bids.iter().rev())
            .into_iter()
            .flatten();
        let asks = (side == Side::Sell)
            .then(|| self.asks.iter())
            .into_iter()
            .flatten();
        bids.chain(asks).map(|(&price, level)| (price, level.total))
    }

    /// Snapshot of the resting order `id`, if it is in the book.
    #[must_use]
    pub fn order(&self, id: OrderId) -> Option<RestingOrder> {
        let loc = self.index.locs.get(&id)?;
        let entry = self.side(loc.side).get(&loc.price)?.queue.get(&loc.seq)?;
        Some(RestingOrder {
            id,
            owner: loc.owner,
            side: loc.side,
            price: loc.price,
            quantity: loc.quantity,
            remaining: entry.remaining,
            placed_tick: loc.placed_tick,
            expires_at_tick: loc.expires_at_tick,
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

    fn side(&self, side: Side) -> &BTreeMap<i64, Level> {
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
        // Price of the last level visited. Every level visited is left holding
        // only the taker's own orders (or the taker is exhausted), so the next
        // level to visit is strictly worse.
        let mut visited: Option<i64> = None;
        let book = match order.side {
            Side::Buy => &mut self.asks,
            Side::Sell => &mut self.bids,
        };
        while remaining > 0 {
            let after = visited.map_or(Bound::Unbounded, Bound::Excluded);
            let next = match order.side {
                // Asks ascending from the best, up to and including the limit.
                Side::Buy => book.range_mut((after, Bound::Included(order.price))).next(),
                // Bids descending from the best, down to and including the limit.
                Side::Sell => book.range_mut((Bound::Included(order.price), after)).next_back(),
            };
            let Some((&price, level)) = next else {
                break;
            };
            remaining = match_level(level, price, order, remaining, tick, fills, &mut self.index);
            if level.queue.is_empty() {
                book.remove(&price);
            }
            if price == order.price {
                // The limit level was visited: nothing further is in range
                // (also keeps the next range's bounds non-degenerate).
                break;
            }
            visited = Some(price);
        }
        remaining
    }

    /// Rests `remaining` units of `order` at the back of its price level.
    fn rest(&mut self, order: &NewOrder, remaining: u32, tick: u64) {
        let seq = self.next_seq;
        // 2^64 placements is unreachable (~10^4 years at 60M orders/s).
        self.next_seq = self.next_seq.wrapping_add(1);
        let book = match order.side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        };
        let level = book.entry(order.price).or_default();
        level.total = level.total.saturating_add(u64::from(remaining));
        level.queue.insert(
            seq,
            QueueEntry {
                id: order.id,
                owner: order.owner,
                remaining,
            },
        );
        self.index.insert(
            order.id,
            OrderLoc {
                owner: order.owner,
                side: order.side,
                price: order.price,
                seq,
                quantity: order.quantity,
                placed_tick: tick,
                expires_at_tick: order.expires_at_tick,
            },
        );
    }

    /// Removes the queue entry at `loc` (already removed from the index),
    /// dropping the level if it becomes empty. Returns its remaining quantity.
    fn remove_from_level(&mut self, loc: &OrderLoc) -> u32 {
        let book = match loc.side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        };
        let Some(level) = book.get_mut(&loc.price) else {
            return 0;
        };
        let remaining = level.queue.remove(&loc.seq).map_or(0, |e| e.remaining);
        level.total = level.total.saturating_sub(u64::from(remaining));
        if level.queue.is_empty() {
            book.remove(&loc.price);
        }
        remaining
    }
}

/// Matches the taker against one price level in FIFO order, skipping the
/// taker owner's own orders. Fully filled makers are removed from the level
/// and from `index`. Returns the taker's unfilled quantity.
fn match_level(
    level: &mut Level,
    price: i64,
    order: &NewOrder,
    mut remaining: u32,
    tick: u64,
    fills: &mut Vec<Fill>,
    index: &mut OrderIndex,
) -> u32 {
    let mut after_seq: Option<u64> = None;
    while remaining > 0 {
        let from = after_seq.map_or(Bound::Unbounded, Bound::Excluded);
        let Some((&seq, entry)) = level
            .queue
            .range_mut((from, Bound::Unbounded))
            .find(|(_, e)| e.owner != order.owner)
        else {
            break;
        };
        let quantity = remaining.min(entry.remaining);
        entry.remaining = entry.remaining.saturating_sub(quantity);
        remaining = remaining.saturating_sub(quantity);
        level.total = level.total.saturating_sub(u64::from(quantity));
        fills.push(Fill {
            maker: entry.id,
            maker_owner: entry.owner,
            taker: order.id,
            taker_owner: order.owner,
            price,
            quantity,
            taker_side: order.side,
            tick,
        });
        if entry.remaining == 0 {
            let maker = entry.id;
            level.queue.remove(&seq);
            index.remove(maker);
        }
        after_seq = Some(seq);
    }
    remaining
}

#[cfg(test)]
mod tests;
