//! `assets/server.toml`: tick rate, catch-up policy and the optional adaptive rate table, simulation
//! seed and buffer sizes, the UDP bind address.

use std::net::SocketAddr;

use serde::Deserialize;

use super::source::Checker;

/// The whole of `server.toml`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// `[tick]`: how often the simulation advances.
    pub tick: TickConfig,
    /// `[sim]`: simulation-wide settings.
    pub sim: SimConfig,
    /// `[net]`: where clients connect.
    pub net: NetConfig,
}

/// `[tick]` in `server.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TickConfig {
    /// Simulation ticks per second (when `[tick.adaptive]` is off).
    pub rate_hz: f32,
    /// After a stall, at most this many overdue ticks run back to back; older ones are dropped
    /// (and counted) so that an overload never spirals.
    pub max_catch_up_ticks: u32,
    /// `[tick.adaptive]`: the rate follows the number of players.
    pub adaptive: AdaptiveTickConfig,
}

impl Default for TickConfig {
    fn default() -> Self {
        TickConfig {
            rate_hz: 60.0,
            max_catch_up_ticks: 3,
            adaptive: AdaptiveTickConfig::default(),
        }
    }
}

/// `[tick.adaptive]` in `server.toml`: fewer players, faster ticks.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdaptiveTickConfig {
    /// Off by default: the rate is `tick.rate_hz`.
    pub enabled: bool,
    /// The rate never goes below this.
    pub min_hz: f32,
    /// The rate never goes above this.
    pub max_hz: f32,
    /// The rate changes at most once in this many seconds.
    pub min_interval_s: f32,
    /// `[[tick.adaptive.steps]]`, by ascending `max_players`: the first step whose `max_players` is at
    /// least the player count gives the rate; above the last step, `min_hz`.
    pub steps: Vec<AdaptiveStep>,
}

impl Default for AdaptiveTickConfig {
    fn default() -> Self {
        let step = |max_players, rate_hz| AdaptiveStep { max_players, rate_hz };
        AdaptiveTickConfig {
            enabled: false,
            min_hz: 30.0,
            max_hz: 128.0,
            min_interval_s: 5.0,
            steps: vec![
                step(50, 128.0),
                step(100, 100.0),
                step(200, 62.5),
                step(500, 50.0),
            ],
        }
    }
}

/// One `[[tick.adaptive.steps]]` entry.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdaptiveStep {
    /// Up to this many players ...
    pub max_players: u32,
    /// ... the server ticks at this rate.
    pub rate_hz: f32,
}

/// `[sim]` in `server.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimConfig {
    /// Seed of the simulation's random number generator (read at start).
    pub seed: u64,
    /// Commands that may wait for the next tick; more are refused with a busy code (read at start).
    pub inbox_capacity: u32,
    /// Bytes reserved up front for the per-tick frame arena (read at start).
    pub frame_arena_bytes: u32,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 0x6e65_6370,
            inbox_capacity: 65_536,
            frame_arena_bytes: 1 << 20,
        }
    }
}

/// `[net]` in `server.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetConfig {
    /// UDP address the server binds for QUIC clients (read at start; `--bind` overrides it).
    pub bind: SocketAddr,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 7777)),
        }
    }
}

impl ServerConfig {
    pub(crate) fn validate(&self, check: &mut Checker<'_>) {
        check.within("tick.rate_hz", self.tick.rate_hz, 1.0, 1000.0);
        let adaptive = &self.tick.adaptive;
        check.within("tick.adaptive.min_hz", adaptive.min_hz, 1.0, 1000.0);
        check.within("tick.adaptive.max_hz", adaptive.max_hz, adaptive.min_hz, 1000.0);
        check.within(
            "tick.adaptive.min_interval_s",
            adaptive.min_interval_s,
            0.0,
            3600.0,
        );
        let mut previous = None;
        for (i, step) in adaptive.steps.iter().enumerate() {
            let key = format!("tick.adaptive.steps[{i}]");
            check.within(
                &format!("{key}.rate_hz"),
                step.rate_hz,
                adaptive.min_hz,
                adaptive.max_hz,
            );
            if previous.is_some_and(|p| step.max_players <= p) {
                check.refuse(
                    &format!("{key}.max_players"),
                    "steps must be in ascending max_players order",
                );
            }
            previous = Some(step.max_players);
        }
        check.within("tick.max_catch_up_ticks", self.tick.max_catch_up_ticks, 0, 1000);
        check.within("sim.inbox_capacity", self.sim.inbox_capacity, 16, 1 << 24);
        check.within("sim.frame_arena_bytes", self.sim.frame_arena_bytes, 4096, 1 << 30);
    }

    /// The keys that only take effect when the server starts, with their values in `self` and `next`
    /// differing.
    pub(crate) fn restart_only_changes(&self, next: &ServerConfig) -> Vec<&'static str> {
        let mut changed = Vec::new();
        if self.sim.seed != next.sim.seed {
            changed.push("server.toml: sim.seed");
        }
        if self.sim.inbox_capacity != next.sim.inbox_capacity {
            changed.push("server.toml: sim.inbox_capacity");
        }
        if self.sim.frame_arena_bytes != next.sim.frame_arena_bytes {
            changed.push("server.toml: sim.frame_arena_bytes");
        }
        if self.net.bind != next.net.bind {
            changed.push("server.toml: net.bind");
        }
        changed
    }
}
