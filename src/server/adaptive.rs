//! The optional adaptive tick rate: fewer players, faster ticks, following the step table in
//! `[tick.adaptive]`, bounded by `min_hz`/`max_hz` and changing at most once per `min_interval_s`.
//! A pure decision over elapsed time, so it is tested without a clock.

use std::time::Duration;

use crate::config::AdaptiveTickConfig;

/// The rate the step table gives for `players`: the first step whose `max_players` is at least
/// `players`, `min_hz` past the last step, always within `[min_hz, max_hz]`.
pub fn rate_for_players(config: &AdaptiveTickConfig, players: usize) -> f32 {
    let rate = config
        .steps
        .iter()
        .find(|step| players <= step.max_players as usize)
        .map_or(config.min_hz, |step| step.rate_hz);
    rate.clamp(config.min_hz, config.max_hz)
}

/// Remembers when the rate last changed.
#[derive(Debug, Default, Clone)]
pub struct AdaptiveRate {
    last_change: Option<Duration>,
}

impl AdaptiveRate {
    /// A rate set from the table at the start (`elapsed` zero): the next change waits out the
    /// minimum interval from there, as after any other change.
    pub fn set_at_start() -> AdaptiveRate {
        AdaptiveRate {
            last_change: Some(Duration::ZERO),
        }
    }

    /// The new rate to switch to at `elapsed`, if the table asks for one and the last change is at
    /// least `min_interval_s` ago; `None` when adaptive rates are off.
    pub fn decide(
        &mut self,
        config: &AdaptiveTickConfig,
        players: usize,
        current_hz: f32,
        elapsed: Duration,
    ) -> Option<f32> {
        if !config.enabled {
            return None;
        }
        let target = rate_for_players(config, players);
        let min_interval = Duration::from_secs_f32(config.min_interval_s);
        let settled = self
            .last_change
            .is_none_or(|at| elapsed.saturating_sub(at) >= min_interval);
        if target == current_hz || !settled {
            return None;
        }
        self.last_change = Some(elapsed);
        Some(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enabled() -> AdaptiveTickConfig {
        AdaptiveTickConfig {
            enabled: true,
            ..AdaptiveTickConfig::default()
        }
    }

    #[test]
    fn the_default_table_is_the_seeds_rule() {
        let config = enabled();
        let rates = [0, 50, 51, 100, 101, 200, 201, 500, 501, 5000].map(|n| rate_for_players(&config, n));
        assert_eq!(
            rates,
            [128.0, 128.0, 100.0, 100.0, 62.5, 62.5, 50.0, 50.0, 30.0, 30.0]
        );
    }

    #[test]
    fn rates_stay_within_the_bounds() {
        let config = AdaptiveTickConfig {
            min_hz: 40.0,
            max_hz: 90.0,
            ..enabled()
        };
        assert_eq!(rate_for_players(&config, 10), 90.0);
        assert_eq!(rate_for_players(&config, 10_000), 40.0);
    }

    #[test]
    fn changes_are_spaced_by_the_minimum_interval() {
        let config = enabled();
        let mut adaptive = AdaptiveRate::default();
        let s = Duration::from_secs;
        assert_eq!(adaptive.decide(&config, 10, 60.0, s(0)), Some(128.0));
        assert_eq!(
            adaptive.decide(&config, 300, 128.0, s(2)),
            None,
            "too soon after the last change"
        );
        assert_eq!(adaptive.decide(&config, 300, 128.0, s(5)), Some(50.0));
        assert_eq!(
            adaptive.decide(&config, 300, 50.0, s(60)),
            None,
            "already at the target"
        );
    }

    #[test]
    fn the_rate_set_at_the_start_counts_as_a_change() {
        let config = enabled();
        let mut adaptive = AdaptiveRate::set_at_start();
        let s = Duration::from_secs;
        assert_eq!(adaptive.decide(&config, 300, 128.0, s(2)), None);
        assert_eq!(adaptive.decide(&config, 300, 128.0, s(5)), Some(50.0));
    }

    #[test]
    fn off_means_never() {
        let mut adaptive = AdaptiveRate::default();
        let config = AdaptiveTickConfig::default();
        assert_eq!(adaptive.decide(&config, 10, 60.0, Duration::ZERO), None);
    }
}
