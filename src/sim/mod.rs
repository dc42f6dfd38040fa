//! The deterministic simulation core. A [`Sim`] owns a bevy_ecs `World` and the tick `Schedule`
//! (phases Input → Gameplay → Combat → Economy → Output); callers [`Sim::submit`] commands,
//! [`Sim::step`] exactly one tick and drain the [`Outbox`].
//!
//! Nothing in here does IO, reads a clock or draws unseeded randomness (clippy's
//! `disallowed-methods` enforces it): the tick number, the commands and the configuration come in,
//! outputs go out, and the same inputs always produce the same world.
//!
//! # Examples
//!
//! ```
//! use std::sync::Arc;
//! use necpsim::config::Config;
//! use necpsim::sim::{ClientId, Command, ReplyBody, Sim, Outbox};
//!
//! let mut sim = Sim::new(Arc::new(Config::default()));
//! sim.submit(ClientId(7), Command::Join).unwrap();
//! sim.step();
//! let mut outbox = Outbox::default();
//! sim.drain_outputs(&mut outbox);
//! assert!(matches!(outbox.replies[0].body, ReplyBody::Joined { .. }));
//! ```

pub mod combat;
mod command;
pub mod economy;
mod gameplay;
mod hash;
mod input;
mod output;
mod prefetch;
mod rescale;
mod resources;
mod schedule;

use std::sync::Arc;

use bevy_ecs::schedule::IntoScheduleConfigs;
use bevy_ecs::world::World;

pub use command::{
    Action, ActionInput, AuctionTerms, ClientId, Command, EconomyOp, EconomyRead, EconomyRequest, Goods,
    ListQuery, MoveInput, Refusal, ReplyTo, SessionSettings, Target, TradeCounter, TradeOffer,
};
pub use gameplay::{
    Clients, Defense, InputState, Interest, Motion, MotionHandle, NetId, Npc, Player, SNAPSHOT_HISTORY,
    SnapshotHistory, SnapshotThreads, Vitals, interest_grid, motion, snapshot_codec,
};
pub use output::{
    Balance, Grant, MarketView, Outbox, PlayerRecord, Reply, ReplyBody, Reward, SessionView, SimEvent,
    SnapshotOut, Span,
};
pub use resources::{ActiveConfig, FrameArena, GameClock, Inbox, SimCounters, SimRng, Tick, TickRate};
pub use schedule::{OutputSchedule, SimSet, TickSchedule};

use crate::config::Config;
use schedule::{SimPlugin, TickSchedules};

/// A point in the world, in metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Position {
    /// East.
    pub x: f32,
    /// North.
    pub y: f32,
}

/// One simulated world and the schedules that advance it.
pub struct Sim {
    world: World,
    schedules: TickSchedules,
    /// Commands submitted since the last step; swapped with the world's [`Inbox`] at the step, so
    /// that a submit is a bounded push with no lookup in the world.
    incoming: Inbox,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("tick", &self.tick())
            .field("players", &self.player_count())
            .finish_non_exhaustive()
    }
}

impl Sim {
    /// A fresh world seeded from `config.server.sim.seed`.
    pub fn new(config: Arc<Config>) -> Sim {
        let seed = config.server.sim.seed;
        Sim::with_seed(config, seed)
    }

    /// A fresh world whose RNG starts from `seed`.
    pub fn with_seed(config: Arc<Config>, seed: u64) -> Sim {
        let mut world = World::new();
        world.insert_resource(Tick::default());
        world.insert_resource(GameClock::default());
        world.insert_resource(SimRng::seeded(seed));
        let inbox_capacity = config.server.sim.inbox_capacity as usize;
        world.insert_resource(Inbox::bounded(inbox_capacity));
        world.insert_resource(FrameArena::with_capacity(
            config.server.sim.frame_arena_bytes as usize,
        ));
        world.insert_resource(Outbox::default());
        world.insert_resource(SimCounters::default());
        world.insert_resource(resources::LoadShed::default());
        world.insert_resource(TickRate(config.server.tick.rate_hz));
        world.insert_resource(ActiveConfig(config));

        let mut schedules = schedule::tick_schedules();
        schedules
            .simulate
            .add_systems(input::route_commands.in_set(SimSet::Input));
        gameplay::GameplayPlugin.build(&mut world, &mut schedules);
        combat::CombatPlugin.build(&mut world, &mut schedules);
        economy::EconomyPlugin.build(&mut world, &mut schedules);
        Sim {
            world,
            schedules,
            incoming: Inbox::bounded(inbox_capacity),
        }
    }

    /// Starts the snapshot threads `[threads] snapshot_threads` asks for (none for 1: the tick
    /// thread then encodes every snapshot), each running `on_start` first. Until this is called,
    /// or when it fails, the stepping thread encodes them all. Step the world from inside
    /// [`SnapshotThreads::run`] of the result, so that the stepping thread is one of them.
    pub fn spawn_snapshot_threads(
        &mut self,
        on_start: impl Fn() + Send + Sync + 'static,
    ) -> Result<SnapshotThreads, rayon::ThreadPoolBuildError> {
        let count = self.config().server.threads.snapshot_threads;
        let threads = SnapshotThreads::spawn(usize::from(count), on_start)?;
        self.world.insert_resource(threads.clone());
        Ok(threads)
    }

    /// The snapshot threads started, or none.
    pub fn snapshot_threads(&self) -> SnapshotThreads {
        self.world.resource::<SnapshotThreads>().clone()
    }

    /// Queues `command` from `client` for the next tick; refused with [`Refusal::Busy`] when the
    /// inbox is full, in which case nothing is queued.
    pub fn submit(&mut self, client: ClientId, command: Command) -> Result<(), Refusal> {
        self.submit_request(client.into(), command)
    }

    /// Queues `command` as request `to.request` of `to.client`: its reply carries that number.
    /// Refused with [`Refusal::Busy`] when the inbox is full, in which case nothing is queued.
    pub fn submit_request(&mut self, to: ReplyTo, command: Command) -> Result<(), Refusal> {
        self.incoming.push(to, command)
    }

    /// Advances exactly one tick: [`Sim::simulate`], then [`Sim::write_snapshots`].
    pub fn step(&mut self) {
        self.simulate();
        self.write_snapshots();
    }

    /// Starts the next tick: resets the frame arena and runs every phase before the output. The
    /// tick's replies, events and economy changes are then complete and can be drained and sent
    /// while [`Sim::write_snapshots`] finishes the tick.
    pub fn simulate(&mut self) {
        std::mem::swap(
            &mut self.incoming.commands,
            &mut self.world.resource_mut::<Inbox>().commands,
        );
        self.world.resource_mut::<FrameArena>().reset();
        self.world.resource_mut::<Tick>().0 += 1;
        let dt_ns = self.world.resource::<TickRate>().dt_ns();
        self.world.resource_mut::<GameClock>().0 += dt_ns;
        self.schedules.simulate.run(&mut self.world);
    }

    /// Finishes the tick [`Sim::simulate`] started: writes its snapshots, then ages bevy's change
    /// trackers (without which removal records would pile up tick after tick).
    pub fn write_snapshots(&mut self) {
        self.schedules.output.run(&mut self.world);
        self.world.clear_trackers();
    }

    /// Moves everything produced since the last drain into `into`, which is cleared first. Swapping
    /// buffers keeps both sides' capacity, so draining every tick does not allocate.
    pub fn drain_outputs(&mut self, into: &mut Outbox) {
        into.clear();
        std::mem::swap(into, &mut *self.world.resource_mut::<Outbox>());
    }

    /// Continues from an economy rebuilt from its journal ([`economy::replay`]): installs it and
    /// moves the clock to the tick after the journal's last. Call before the first step.
    pub fn restore_economy(&mut self, replayed: economy::Replayed) {
        self.world.resource_mut::<Tick>().0 = replayed.tick;
        self.world
            .resource_mut::<economy::EconomyJournal>()
            .resume(replayed.rules);
        *self.world.resource_mut::<economy::Economy>() = replayed.economy;
    }

    /// Refuses economy commands and reads with [`Refusal::Busy`] from the next step on while
    /// `paused` (the store cannot keep up, is stalled in a commit, or has failed). Reads too: a
    /// read's reply leaves only once what it shows is durable, so under a failed store it would
    /// never leave.
    pub fn pause_economy(&mut self, paused: bool) {
        self.world.resource_mut::<economy::EconomyInbox>().paused = paused;
    }

    /// Refuses new combat sessions with [`Refusal::Busy`] while `shedding` (players already in
    /// sessions keep playing).
    pub fn shed_load(&mut self, shedding: bool) {
        self.world.resource_mut::<resources::LoadShed>().0 = shedding;
    }

    /// Replaces the running configuration; call between steps so that a tick sees one config. With
    /// the adaptive rate off, the tick rate follows `tick.rate_hz`; with it on, the caller sets the
    /// rate ([`Sim::set_tick_rate`]).
    pub fn apply_config(&mut self, config: Arc<Config>) {
        if !config.server.tick.adaptive.enabled {
            self.set_tick_rate(config.server.tick.rate_hz);
        }
        self.world.resource_mut::<ActiveConfig>().0 = config;
    }

    /// Sets the rate the simulation ticks at from the next step on (movement integrates over
    /// `1 / hz`, snapshots keep their configured rate); a change is announced to every client.
    pub fn set_tick_rate(&mut self, hz: f32) {
        if self.world.resource::<TickRate>().0 != hz {
            self.world.resource_mut::<TickRate>().0 = hz;
            self.announce_clock();
        }
    }

    /// Tells every client the next tick and the rate: after a change of rate, or after the
    /// caller dropped ticks a stall left overdue (which no tick number stands for), so that
    /// clients numbering their inputs by the server's clock count from here.
    pub fn announce_clock(&mut self) {
        let event = SimEvent::ClockChanged {
            tick_rate_hz: self.tick_rate(),
            from_tick: self.tick() + 1,
        };
        self.world.resource_mut::<Outbox>().events.push(event);
    }

    /// The rate the simulation ticks at.
    pub fn tick_rate(&self) -> f32 {
        self.world.resource::<TickRate>().0
    }

    /// The configuration in force.
    pub fn config(&self) -> &Arc<Config> {
        &self.world.resource::<ActiveConfig>().0
    }

    /// The last tick simulated (0 before the first step).
    pub fn tick(&self) -> u64 {
        self.world.resource::<Tick>().0
    }

    /// How many players are in the world.
    pub fn player_count(&self) -> usize {
        self.world.resource::<Clients>().len()
    }

    /// Where the player of `client` stands, if it has joined.
    pub fn player_position(&self, client: ClientId) -> Option<Position> {
        let entity = self.world.resource::<Clients>().entity(client)?;
        let handle = *self.world.get::<MotionHandle>(entity)?;
        let [x, y] = self.world.resource::<Motion>().position(handle);
        Some(Position { x, y })
    }

    /// Wallets, inventories, markets and the idempotency keys in force.
    pub fn economy(&self) -> &economy::Economy {
        self.world.resource::<economy::Economy>()
    }

    /// Every combat session the world remembers.
    pub fn sessions(&self) -> &combat::Sessions {
        self.world.resource::<combat::Sessions>()
    }

    /// Every moving body: positions, velocities and snapshot ids by slot.
    pub fn motion(&self) -> &Motion {
        self.world.resource::<Motion>()
    }

    /// What the simulation refused or ignored without replying.
    pub fn counters(&self) -> SimCounters {
        *self.world.resource::<SimCounters>()
    }

    /// A digest of the whole state; equal after equal command streams from the same seed.
    pub fn state_hash(&mut self) -> u64 {
        hash::state_hash(&mut self.world)
    }
}
