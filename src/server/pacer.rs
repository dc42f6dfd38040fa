//! Fixed-rate tick pacing as a pure state machine over elapsed time: when the next tick is due, how
//! many overdue ticks to run back to back, and how many to drop so an overload never spirals.

use std::time::Duration;

/// What the tick thread should do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// Nothing is due before this much time has elapsed since the epoch.
    WaitUntil(Duration),
    /// Run `ticks` ticks now; `dropped` further overdue ticks were skipped.
    Run {
        /// Ticks to run back to back (at least 1).
        ticks: u32,
        /// Overdue ticks given up on.
        dropped: u64,
    },
}

/// Keeps ticks on a fixed grid of `interval` from an epoch.
#[derive(Debug, Clone)]
pub struct TickPacer {
    interval: Duration,
    max_catch_up: u32,
    next_due: Duration,
}

impl TickPacer {
    /// A pacer whose first tick is due at the epoch. After a stall it runs the tick that is due plus
    /// at most `max_catch_up` overdue ones.
    pub fn new(interval: Duration, max_catch_up: u32) -> TickPacer {
        TickPacer {
            interval: interval.max(Duration::from_micros(1)),
            max_catch_up,
            next_due: Duration::ZERO,
        }
    }

    /// Changes the rate from the next tick on.
    pub fn reconfigure(&mut self, interval: Duration, max_catch_up: u32) {
        self.interval = interval.max(Duration::from_micros(1));
        self.max_catch_up = max_catch_up;
    }

    /// The time between two ticks.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// When the next tick is due, as elapsed time since the epoch.
    pub fn next_due(&self) -> Duration {
        self.next_due
    }

    /// Decides what to do `elapsed` after the epoch, advancing the grid past everything it
    /// returns as run or dropped.
    pub fn poll(&mut self, elapsed: Duration) -> Pace {
        if elapsed < self.next_due {
            return Pace::WaitUntil(self.next_due);
        }
        let overdue = (elapsed - self.next_due).as_nanos() / self.interval.as_nanos();
        let due = u64::try_from(overdue).unwrap_or(u64::MAX - 1) + 1;
        let ticks = due.min(u64::from(self.max_catch_up) + 1);
        self.next_due += self
            .interval
            .saturating_mul(u32::try_from(due).unwrap_or(u32::MAX));
        Pace::Run {
            ticks: u32::try_from(ticks).unwrap_or(u32::MAX),
            dropped: due - ticks,
        }
    }
}

/// The tick interval for a rate in hertz (rates below 0.001 Hz are treated as 0.001 Hz).
pub fn interval_for(rate_hz: f32) -> Duration {
    Duration::from_secs_f64(1.0 / f64::from(rate_hz.max(0.001)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn on_time_ticks_run_one_at_a_time() {
        let mut pacer = TickPacer::new(10 * MS, 3);
        assert_eq!(pacer.poll(Duration::ZERO), Pace::Run { ticks: 1, dropped: 0 });
        assert_eq!(pacer.poll(4 * MS), Pace::WaitUntil(10 * MS));
        assert_eq!(pacer.poll(10 * MS), Pace::Run { ticks: 1, dropped: 0 });
        assert_eq!(pacer.poll(19 * MS), Pace::WaitUntil(20 * MS));
    }

    #[test]
    fn a_short_stall_is_caught_up() {
        let mut pacer = TickPacer::new(10 * MS, 3);
        assert_eq!(pacer.poll(Duration::ZERO), Pace::Run { ticks: 1, dropped: 0 });
        // Woken at 25 ms: the ticks due at 10 and 20 ms both run.
        assert_eq!(pacer.poll(25 * MS), Pace::Run { ticks: 2, dropped: 0 });
        assert_eq!(pacer.poll(26 * MS), Pace::WaitUntil(30 * MS));
    }

    #[test]
    fn a_long_stall_drops_the_backlog_and_keeps_the_grid() {
        let mut pacer = TickPacer::new(10 * MS, 3);
        assert_eq!(pacer.poll(Duration::ZERO), Pace::Run { ticks: 1, dropped: 0 });
        // Woken at 1005 ms: 100 ticks are due (10..=1000 ms); 4 run, 96 are dropped.
        assert_eq!(
            pacer.poll(1005 * MS),
            Pace::Run {
                ticks: 4,
                dropped: 96
            }
        );
        assert_eq!(pacer.poll(1006 * MS), Pace::WaitUntil(1010 * MS));
    }

    #[test]
    fn no_catch_up_runs_only_the_current_tick() {
        let mut pacer = TickPacer::new(10 * MS, 0);
        assert_eq!(pacer.poll(Duration::ZERO), Pace::Run { ticks: 1, dropped: 0 });
        assert_eq!(pacer.poll(35 * MS), Pace::Run { ticks: 1, dropped: 2 });
    }

    #[test]
    fn a_new_rate_applies_from_the_next_deadline() {
        let mut pacer = TickPacer::new(10 * MS, 3);
        assert_eq!(pacer.poll(Duration::ZERO), Pace::Run { ticks: 1, dropped: 0 });
        pacer.reconfigure(20 * MS, 3);
        assert_eq!(pacer.poll(10 * MS), Pace::Run { ticks: 1, dropped: 0 });
        assert_eq!(pacer.poll(15 * MS), Pace::WaitUntil(30 * MS));
    }

    #[test]
    fn interval_for_common_rates() {
        assert_eq!(interval_for(60.0), Duration::from_nanos(16_666_667));
        assert_eq!(interval_for(20.0), 50 * MS);
        assert_eq!(interval_for(62.5), 16 * MS);
    }
}
