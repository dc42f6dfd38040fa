//! World-wide resources of the simulation: the tick counter, the seeded RNG, the running
//! configuration, the bounded inbox, the per-tick frame arena and the counters systems keep.

use std::sync::Arc;

use bevy_ecs::resource::Resource;
use bevy_platform::cell::SyncCell;
use bumpalo::Bump;
use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

use super::command::{Command, Refusal, ReplyTo};
use crate::config::Config;

/// The tick being simulated: 0 before the first step, then 1, 2, ...
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Resource)]
pub struct Tick(pub u64);

/// Game time simulated so far, in nanoseconds (584 years fit): each tick adds its
/// [`TickRate::dt_ns`], so that periods measured on it (a session's time limit) last as long in
/// seconds whatever rate the ticks came at. Nanoseconds, so that rounding a tick's length (at
/// 60 Hz, a third of a nanosecond) adds no more than a millisecond a month.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Resource)]
pub struct GameClock(pub u64);

impl GameClock {
    /// Whether the moment `at_ns` has come, to the nearest tick of `dt_ns`.
    pub fn reached(self, at_ns: u64, dt_ns: u64) -> bool {
        self.0 + dt_ns / 2 >= at_ns
    }

    /// The tick, counted from `tick` (now) at `dt_ns` a tick, nearest to the moment `at_ns`.
    pub fn tick_of(self, tick: u64, at_ns: u64, dt_ns: u64) -> u64 {
        let left_ns = at_ns.saturating_sub(self.0);
        tick + (left_ns + dt_ns / 2) / dt_ns.max(1)
    }
}

/// The rate the simulation currently ticks at; movement integrates over `1 / hz` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Resource)]
pub struct TickRate(pub f32);

impl TickRate {
    /// Seconds of game time per tick.
    pub fn dt(self) -> f32 {
        1.0 / self.0
    }

    /// Nanoseconds of game time per tick.
    pub fn dt_ns(self) -> u64 {
        (1e9 / f64::from(self.0)).round() as u64
    }

    /// A period of `seconds` as a whole number of ticks at this rate, at least one.
    pub fn ticks_in(self, seconds: f32) -> u64 {
        (seconds * self.0).round().max(1.0) as u64
    }
}

/// The only source of randomness in the simulation, seeded once.
#[derive(Debug, Resource)]
pub struct SimRng(pub ChaCha8Rng);

impl SimRng {
    /// A generator seeded with `seed`.
    pub fn seeded(seed: u64) -> Self {
        SimRng(ChaCha8Rng::seed_from_u64(seed))
    }
}

/// A domain's configuration resolved for the tick (names to indices, seconds to ticks): rebuilt
/// by [`refresh_rules`] whenever the configuration or the tick rate changes.
pub(crate) trait ResolvedRules:
    Resource + bevy_ecs::component::Component<Mutability = bevy_ecs::component::Mutable> + Sized
{
    /// The rules of `config` at `rate`.
    fn resolve(config: &Config, rate: TickRate) -> Self;
    /// The tick rate they were resolved at.
    fn rate_hz(&self) -> f32;
}

/// Re-resolves `R` after a configuration reload or a tick-rate change.
pub(crate) fn refresh_rules<R: ResolvedRules>(
    config: bevy_ecs::system::Res<ActiveConfig>,
    rate: bevy_ecs::system::Res<TickRate>,
    mut rules: bevy_ecs::system::ResMut<R>,
) {
    use bevy_ecs::change_detection::DetectChanges;
    if config.is_changed() || rate.0 != rules.rate_hz() {
        *rules = R::resolve(&config.0, *rate);
    }
}

/// While set, new combat sessions are refused with [`Refusal::Busy`] (the server is shedding
/// load).
#[derive(Debug, Clone, Copy, Default, Resource)]
pub struct LoadShed(pub bool);

/// The configuration systems read; replaced whole at a tick boundary by a hot reload.
#[derive(Debug, Clone, Resource)]
pub struct ActiveConfig(pub Arc<Config>);

/// Commands waiting for the next tick, in arrival order, never more than `capacity`.
#[derive(Debug, Resource)]
pub struct Inbox {
    pub(crate) commands: Vec<(ReplyTo, Command)>,
    capacity: usize,
}

impl Inbox {
    /// An empty inbox that holds at most `capacity` commands. Its buffer grows with the busiest
    /// tick seen and keeps that size, so a quiet server does not pay for the bound up front.
    pub fn bounded(capacity: usize) -> Self {
        Inbox {
            commands: Vec::new(),
            capacity,
        }
    }

    /// Queues a command; refused with [`Refusal::Busy`] when the inbox is full.
    pub(crate) fn push(&mut self, to: ReplyTo, command: Command) -> Result<(), Refusal> {
        if self.commands.len() >= self.capacity {
            return Err(Refusal::Busy);
        }
        self.commands.push((to, command));
        Ok(())
    }
}

/// Scratch memory that lives for exactly one tick: every transient buffer a system needs is taken
/// from here and the whole arena is reset at the tick boundary, so steady-state ticks never touch
/// the heap.
#[derive(Resource)]
pub struct FrameArena(SyncCell<Bump>);

impl std::fmt::Debug for FrameArena {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FrameArena")
    }
}

impl FrameArena {
    /// An arena with `bytes` reserved up front.
    pub fn with_capacity(bytes: usize) -> Self {
        FrameArena(SyncCell::new(Bump::with_capacity(bytes)))
    }

    /// The arena to allocate this tick's buffers from.
    pub fn bump(&mut self) -> &Bump {
        self.0.get()
    }

    /// Frees everything allocated this tick, keeping the largest chunk for the next one.
    pub(crate) fn reset(&mut self) {
        self.0.get().reset();
    }
}

/// What the simulation refused or ignored, for operators and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash, Resource)]
pub struct SimCounters {
    /// Movement inputs whose sequence number was not newer than the last applied one (ignored).
    pub stale_inputs: u64,
    /// Commands refused with a reply, of any reason.
    pub refused_commands: u64,
    /// Inputs refused as teleports.
    pub teleports: u64,
    /// Inputs refused for a predicted position outside the world.
    pub out_of_bounds: u64,
    /// Inputs refused for time compression.
    pub time_compression: u64,
    /// Snapshot acknowledgements for a snapshot the server no longer holds or never sent (ignored).
    pub unknown_acks: u64,
}
