//! The order of a tick: the named system sets every domain hangs its systems on, and the plugin
//! trait through which each domain adds its resources and systems.

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
    /// Replies, events and snapshots are written for the world outside.
    Output,
}

/// The label of the one schedule a [`super::Sim`] runs per tick.
#[derive(Debug, Clone, PartialEq, Eq, Hash, ScheduleLabel)]
pub struct TickSchedule;

/// A domain of the simulation: adds its resources to the world and its systems to the tick.
pub(crate) trait SimPlugin {
    fn build(&self, world: &mut World, schedule: &mut Schedule);
}

/// An empty tick schedule with the phases in order. One thread runs it: at 60 Hz a parallel
/// executor's per-system overhead costs more than it saves, and one thread keeps ticks
/// deterministic; systems that sweep many entities parallelise inside themselves.
pub(crate) fn tick_schedule() -> Schedule {
    let mut schedule = Schedule::new(TickSchedule);
    schedule.set_executor(SingleThreadedExecutor::new());
    schedule.configure_sets(
        (
            SimSet::Input,
            SimSet::Gameplay,
            SimSet::Combat,
            SimSet::Economy,
            SimSet::Output,
        )
            .chain(),
    );
    schedule
}
