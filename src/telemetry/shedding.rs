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
    recent: Vec<Duration>,
    next: usize,
    sorted: Vec<Duration>,
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
        if self.recent.len() < window {
            self.recent.push(load.tick);
        } else {
            self.recent.truncate(window);
            self.recent[self.next % window] = load.tick;
        }
        self.next = (self.next + 1) % window;
        if !config.enabled {
            return self.switch(false);
        }
        // The tick p99 is judged over a whole window only, so that a slow start is no overload.
        let budget = load.budget.as_secs_f64();
        let ratio = if self.recent.len() == window && budget > 0.0 {
            self.p99().as_secs_f64() / budget
        } else {
            0.0
        };
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

    fn p99(&mut self) -> Duration {
        self.sorted.clear();
        self.sorted.extend_from_slice(&self.recent);
        self.sorted.sort_unstable();
        let index = (self.sorted.len() * 99 / 100).min(self.sorted.len().saturating_sub(1));
        self.sorted.get(index).copied().unwrap_or_default()
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
