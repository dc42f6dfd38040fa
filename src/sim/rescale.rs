//! [`Rescale`]: moves ticks counted at one tick rate to where they fall at another, so that a
//! change of rate keeps every deadline and every age at the same time (combat's timers, the
//! economy's lifetimes and idempotency windows).

/// A change of tick rate at tick `now`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rescale {
    /// New rate over old rate.
    ratio: f64,
    now: u64,
}

impl Rescale {
    /// A change from `old_hz` to `new_hz` at tick `now`; `None` when the rate stays.
    pub(crate) fn between(old_hz: f32, new_hz: f32, now: u64) -> Option<Rescale> {
        (old_hz != new_hz && old_hz > 0.0 && new_hz > 0.0).then(|| Rescale {
            ratio: f64::from(new_hz) / f64::from(old_hz),
            now,
        })
    }

    /// A tick still to come: as far ahead at the new rate, rounded up so nothing comes early.
    pub(crate) fn deadline(self, tick: u64) -> u64 {
        if tick <= self.now {
            return tick;
        }
        self.now.saturating_add(self.span(tick - self.now))
    }

    /// A tick gone by (the last shot, the last refill): as far back at the new rate.
    pub(crate) fn since(self, tick: u64) -> u64 {
        let ago = (self.now.saturating_sub(tick) as f64 * self.ratio).round() as u64;
        self.now.saturating_sub(ago)
    }

    /// A tick gone by that starts something remembered for a while (an idempotency key): as far
    /// back at the new rate, rounded towards now, so that it is never forgotten early.
    pub(crate) fn age_kept(self, tick: u64) -> u64 {
        let ago = (self.now.saturating_sub(tick) as f64 * self.ratio).floor() as u64;
        self.now.saturating_sub(ago)
    }

    /// A number of ticks left, rounded up: a running timer never ends early, nor at once.
    pub(crate) fn span(self, ticks: u64) -> u64 {
        (ticks as f64 * self.ratio).ceil() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halving_the_rate_halves_what_is_left_and_never_ends_a_timer_early() {
        let rescale = Rescale::between(60.0, 30.0, 100).expect("a change");
        assert_eq!(rescale.deadline(160), 130);
        assert_eq!(rescale.deadline(101), 101, "one tick left stays one tick");
        assert_eq!(rescale.deadline(100), 100, "due now stays due");
        assert_eq!(rescale.deadline(0), 0, "none stays none");
        assert_eq!(rescale.since(40), 70);
        assert_eq!(
            rescale.since(97),
            98,
            "an age of one and a half ticks rounds to two"
        );
        assert_eq!(rescale.age_kept(97), 99, "and is kept as one");
        let doubled = Rescale::between(30.0, 60.0, 100).expect("a change");
        assert_eq!(doubled.deadline(130), 160);
        assert_eq!(doubled.since(70), 40);
        assert_eq!(doubled.since(10), 0, "never before the first tick");
        assert!(Rescale::between(60.0, 60.0, 100).is_none());
    }
}
