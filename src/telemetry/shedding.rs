//! Load shedding with hysteresis: while the tick's p99 over a window of recent ticks exceeds the
//! budget, or the inbox or the store's backlog passes its threshold, new logins and new sessions
//! are refused with a busy code (players already in keep playing); it switches off only once all
//! of them are below lower thresholds, so it does not flap.

use std::time::Duration;

use crate::config::SheddingConfig;

/// What the tick loop measures each tick.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Load {
    /// How long the tick took.
    pub tick: Duration,
    /// The tick interval (the budget).
    pub budget: Duration,
    /// Commands waiting, as a fraction of the inbox's capacity.
    pub inbox_fill: f32,
    /// Batches the store's writer is behind.
    pub store_backlog: u64,
}

/// Decides when to shed load.
#[derive(Debug, Default)]
pub struct LoadShedder {
    /// Each recent tick's time over its own budget, so that a change of the tick rate does not
    /// judge earlier ticks against a budget they did not have: a ring of `window` ratios once
    /// full (the oldest at `next`), in order until then.
    recent: Vec<f64>,
    next: usize,
    window: usize,
    /// Whether a whole window has been seen since the start.
    judged: bool,
    scratch: Vec<f64>,
    engaged: bool,
}

impl LoadShedder {
    /// Whether new logins and sessions are being refused.
    pub fn engaged(&self) -> bool {
        self.engaged
    }

    /// Records one tick; returns the new state when it changes.
    pub fn observe(&mut self, config: &SheddingConfig, load: Load) -> Option<bool> {
        let window = config.window_ticks.max(1) as usize;
        if window != self.window {
            self.resize(window);
        }
        let budget = load.budget.as_secs_f64();
        let tick_ratio = if budget > 0.0 {
            load.tick.as_secs_f64() / budget
        } else {
            0.0
        };
        if self.recent.len() < window {
            self.recent.push(tick_ratio);
            // 0 once full: the oldest.
            self.next = self.recent.len() % window;
        } else {
            self.recent[self.next] = tick_ratio;
            self.next = (self.next + 1) % window;
        }
        self.judged |= self.recent.len() == window;
        if !config.enabled {
            return self.switch(false);
        }
        // The tick p99 is judged once a whole window has been seen, so that a slow start is no
        // overload; after a change of the window's size, over the ticks it holds.
        let ratio = if self.judged { self.p99() } else { 0.0 };
        let over = ratio > f64::from(config.engage_tick_p99_ratio)
            || load.inbox_fill > config.engage_inbox_fill
            || load.store_backlog > u64::from(config.engage_store_backlog);
        let under = ratio < f64::from(config.release_tick_p99_ratio)
            && load.inbox_fill < config.release_inbox_fill
            && load.store_backlog <= u64::from(config.release_store_backlog);
        match (self.engaged, over, under) {
            (false, true, _) => self.switch(true),
            (true, _, true) => self.switch(false),
            _ => None,
        }
    }

    fn switch(&mut self, engaged: bool) -> Option<bool> {
        (self.engaged != engaged).then(|| {
            self.engaged = engaged;
            engaged
        })
    }

    /// Keeps the newest ticks that fit a window of `window`, in a ring that fills from there.
    fn resize(&mut self, window: usize) {
        if self.recent.len() == self.window {
            // Oldest first.
            self.recent.rotate_left(self.next);
        }
        let excess = self.recent.len().saturating_sub(window);
        self.recent.drain(..excess);
        self.next = self.recent.len() % window;
        self.window = window;
    }

    /// The 99th percentile of the recent ratios (a selection, not a sort: a window may hold
    /// 100,000 ticks).
    fn p99(&mut self) -> f64 {
        self.scratch.clear();
        self.scratch.extend_from_slice(&self.recent);
        let index = (self.scratch.len() * 99 / 100).min(self.scratch.len().saturating_sub(1));
        if self.scratch.is_empty() {
            return 0.0;
        }
        let (_, &mut p99, _) = self.scratch.select_nth_unstable_by(index, f64::total_cmp);
        p99
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(tick_ms: u64) -> Load {
        Load {
            tick: Duration::from_millis(tick_ms),
            budget: Duration::from_millis(10),
            inbox_fill: 0.0,
            store_backlog: 0,
        }
    }

    #[test]
    fn shedding_engages_over_the_budget_and_releases_only_well_below_it() {
        let config = SheddingConfig {
            window_ticks: 10,
            ..SheddingConfig::default()
        };
        let mut shedder = LoadShedder::default();
        for _ in 0..10 {
            assert_eq!(shedder.observe(&config, load(2)), None);
        }
        // A slow window: the p99 passes the budget.
        let mut changes = Vec::new();
        for _ in 0..10 {
            changes.extend(shedder.observe(&config, load(15)));
        }
        assert_eq!(changes, [true]);
        // Just under the budget is not enough to release (hysteresis).
        for _ in 0..10 {
            assert_eq!(shedder.observe(&config, load(9)), None);
        }
        assert!(shedder.engaged());
        let mut changes = Vec::new();
        for _ in 0..10 {
            changes.extend(shedder.observe(&config, load(2)));
        }
        assert_eq!(changes, [false]);
    }

    #[test]
    fn each_tick_is_judged_against_its_own_budget_across_a_change_of_rate() {
        let config = SheddingConfig {
            window_ticks: 10,
            ..SheddingConfig::default()
        };
        let mut shedder = LoadShedder::default();
        // 20 ms ticks at 30 Hz are within budget; then 2 ms ticks at 128 Hz are too.
        let at = |tick_ms: u64, budget_us: u64| Load {
            tick: Duration::from_millis(tick_ms),
            budget: Duration::from_micros(budget_us),
            ..load(0)
        };
        for _ in 0..10 {
            assert_eq!(shedder.observe(&config, at(20, 33_333)), None);
        }
        for _ in 0..10 {
            assert_eq!(shedder.observe(&config, at(2, 7_812)), None);
        }
        assert!(!shedder.engaged());
    }

    #[test]
    fn a_resized_window_keeps_its_newest_ticks_and_goes_on_judging() {
        let mut config = SheddingConfig {
            window_ticks: 10,
            ..SheddingConfig::default()
        };
        let mut shedder = LoadShedder::default();
        for _ in 0..10 {
            shedder.observe(&config, load(2));
        }
        for _ in 0..5 {
            shedder.observe(&config, load(15));
        }
        assert!(shedder.engaged());
        // A longer window still holds the slow ticks: shedding stays on while they are in it.
        config.window_ticks = 100;
        assert_eq!(shedder.observe(&config, load(15)), None);
        assert!(shedder.engaged());
        // A shorter one keeps the newest: the slow ones.
        config.window_ticks = 4;
        assert_eq!(shedder.observe(&config, load(15)), None);
        assert!(shedder.engaged());
        let mut changes = Vec::new();
        for _ in 0..4 {
            changes.extend(shedder.observe(&config, load(2)));
        }
        assert_eq!(changes, [false]);
    }

    #[test]
    fn a_backed_up_store_engages_it_too() {
        let config = SheddingConfig::default();
        let mut shedder = LoadShedder::default();
        let backed_up = Load {
            store_backlog: u64::from(config.engage_store_backlog) + 1,
            ..load(1)
        };
        assert_eq!(shedder.observe(&config, backed_up), Some(true));
        assert_eq!(shedder.observe(&config, load(1)), Some(false));
    }
}
