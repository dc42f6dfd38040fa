//! `assets/server.toml`: tick rate and catch-up policy, simulation seed and inbox size, the UDP bind
//! address.

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
    /// Simulation ticks per second.
    pub rate_hz: u32,
    /// After a stall, at most this many overdue ticks run back to back; older ones are dropped
    /// (and counted) so that an overload never spirals.
    pub max_catch_up_ticks: u32,
}

impl Default for TickConfig {
    fn default() -> Self {
        TickConfig {
            rate_hz: 60,
            max_catch_up_ticks: 3,
        }
    }
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
        check.within("tick.rate_hz", self.tick.rate_hz, 1, 1000);
        check.within("tick.max_catch_up_ticks", self.tick.max_catch_up_ticks, 0, 1000);
        check.within("sim.inbox_capacity", self.sim.inbox_capacity, 16, 1 << 24);
        check.within("sim.frame_arena_bytes", self.sim.frame_arena_bytes, 4096, 1 << 30);
    }

    /// The keys that only take effect when the server starts, with their values in `self` and `next`
    /// differing.
    pub(crate) fn restart_only_changes(&self, next: &ServerConfig) -> Vec<&'static str> {
        let mut changed = Vec::new();
        if self.sim.seed != next.sim.seed {
            changed.push("sim.seed");
        }
        if self.sim.inbox_capacity != next.sim.inbox_capacity {
            changed.push("sim.inbox_capacity");
        }
        if self.sim.frame_arena_bytes != next.sim.frame_arena_bytes {
            changed.push("sim.frame_arena_bytes");
        }
        if self.net.bind != next.net.bind {
            changed.push("net.bind");
        }
        changed
    }
}
