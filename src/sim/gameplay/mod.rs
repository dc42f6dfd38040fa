//! Gameplay: characters joining and leaving, server-authoritative movement over SIMD-swept motion
//! columns, ambient wanderers, interest management and delta snapshots. Owns the `Gameplay` phase
//! and the snapshot step of the `Output` phase; knows nothing of combat or the economy.

mod components;
mod interest;
pub mod interest_grid;
pub mod motion;
mod movement;
mod players;
mod snapshot;
pub mod snapshot_codec;
mod snapshot_threads;
mod visibility;

use bevy_ecs::schedule::IntoScheduleConfigs;
use bevy_ecs::world::World;

pub use components::{Defense, InputState, MotionHandle, NetId, Npc, Player, Vitals};
pub use interest::Interest;
pub use motion::Motion;
pub(crate) use movement::{QueuedInput, Steered, apply_inputs, integrate_motion, refresh_speeds};
pub use players::Clients;
pub(crate) use players::{join, leave, player_defense, point_in_unit_disc, spawn_body_at, unit_interval};
pub(crate) use snapshot::acknowledge;
pub use snapshot::{HISTORY as SNAPSHOT_HISTORY, SnapshotHistory};
pub use snapshot_threads::SnapshotThreads;

use super::resources::ActiveConfig;
use super::schedule::{SimPlugin, SimSet, TickSchedules};

/// Adds the gameplay resources and systems, then the world's ambient wanderers.
#[derive(Debug, Default)]
pub(crate) struct GameplayPlugin;

impl SimPlugin for GameplayPlugin {
    fn build(&self, world: &mut World, schedules: &mut TickSchedules) {
        let interest = Interest::new(&world.resource::<ActiveConfig>().0);
        world.insert_resource(interest);
        world.init_resource::<Clients>();
        world.init_resource::<Motion>();
        world.init_resource::<players::NextNetId>();
        world.init_resource::<SnapshotThreads>();
        schedules.simulate.add_systems(
            (refresh_speeds, movement::turn_wanderers, integrate_motion)
                .chain()
                .in_set(SimSet::Gameplay),
        );
        schedules.output.add_systems(
            (interest::index_interest, snapshot::send_snapshots)
                .chain()
                .in_set(SimSet::Output),
        );
        players::spawn_ambient_npcs(world);
    }
}
