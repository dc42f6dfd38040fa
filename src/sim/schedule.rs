//! The order of a tick: the named system sets every domain hangs its systems on, the two schedules
//! they run in (the simulation, then the output), and the plugin trait through which each domain
//! adds its resources and systems.

use bevy_ecs::schedule::SingleThreadedExecutor;
use bevy_ecs::schedule::{IntoScheduleConfigs, Schedule, ScheduleLabel, SystemSet};
use bevy_ecs::world::World;

/// The phases of one tick, run in declaration order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, SystemSet)]
pub enum SimSet {
    /// Commands from the inbox are validated and applied.
    Input,
    /// Movement and everything players do outside combat.
    Gameplay,
    /// Combat sessions, actions, damage, effects and AI.
    Combat,
    /// Trades, markets, auctions and rewards.
    Economy,
    /// Snapshots are written for the world outside (in [`OutputSchedule`], after the rest).
    Output,
}

/// The label of the schedule that simulates a tick: every set before [`SimSet::Output`]. Replies,
/// events and the economy's changes are complete when it ends.
#[derive(Debug, Clone, PartialEq, Eq, Hash, ScheduleLabel)]
pub struct TickSchedule;

/// The label of the schedule that writes a tick's snapshots ([`SimSet::Output`]) after
/// [`TickSchedule`], so that a server can send the tick's replies before it runs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, ScheduleLabel)]
pub struct OutputSchedule;

/// The two schedules of a tick.
pub(crate) struct TickSchedules {
    /// [`TickSchedule`].
    pub(crate) simulate: Schedule,
    /// [`OutputSchedule`].
    pub(crate) output: Schedule,
}

/// A domain of the simulation: adds its resources to the world and its systems to the tick.
pub(crate) trait SimPlugin {
    fn build(&self, world: &mut World, schedules: &mut TickSchedules);
}

/// Empty tick schedules with the phases in order. One thread runs them: at 60 Hz a parallel
/// executor's per-system overhead costs more than it saves, and one thread keeps ticks
/// deterministic; systems that sweep many entities parallelise inside themselves.
pub(crate) fn tick_schedules() -> TickSchedules {
    let mut simulate = Schedule::new(TickSchedule);
    simulate.set_executor(SingleThreadedExecutor::new());
    simulate.configure_sets((SimSet::Input, SimSet::Gameplay, SimSet::Combat, SimSet::Economy).chain());
    let mut output = Schedule::new(OutputSchedule);
    output.set_executor(SingleThreadedExecutor::new());
    TickSchedules { simulate, output }
}
