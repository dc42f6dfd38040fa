//! OHLCV candles of one order book: one per interval of ticks, the latest `keep` in a ring that
//! never grows past them.

use std::collections::VecDeque;

/// Upper bound on the ring capacity reserved up front by [`Candles::new`]; the
/// ring still grows to `keep` on demand. It never holds more than `keep`
/// candles, so once it has reached that size (or from the start, when
/// `keep` is at most this bound) recording never allocates.
const MAX_CANDLE_PREALLOC: usize = 1_024;

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
    pub(super) ring: VecDeque<Candle>,
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
            Err(mut pos) => {
                if self.ring.len() >= self.keep {
                    // Full: evict the oldest first, so the ring never
                    // exceeds `keep` (and never outgrows its capacity).
                    self.ring.pop_front();
                    pos = pos.saturating_sub(1);
                }
                self.ring
                    .insert(pos, Candle::first(open_tick, fill_price, quantity));
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
