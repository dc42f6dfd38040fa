//! Gameplay: player characters joining and leaving, and server-authoritative movement. Owns the
//! player components and the `Gameplay` system set; knows nothing of combat or the economy.

mod components;
mod movement;
mod players;

use bevy_ecs::schedule::{IntoScheduleConfigs, Schedule};
use bevy_ecs::world::World;

pub use components::{MoveIntent, Player, Position, Velocity};
pub(crate) use movement::apply_inputs;
pub use players::Clients;
pub(crate) use players::{join, leave};

use super::schedule::{SimPlugin, SimSet};

/// Adds the gameplay resources and systems.
#[derive(Debug, Default)]
pub(crate) struct GameplayPlugin;

impl SimPlugin for GameplayPlugin {
    fn build(&self, world: &mut World, schedule: &mut Schedule) {
        world.init_resource::<Clients>();
        schedule.add_systems(
            (movement::steer_players, movement::integrate_positions)
                .chain()
                .in_set(SimSet::Gameplay),
        );
    }
}
