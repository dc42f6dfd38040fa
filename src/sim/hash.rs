//! A digest of the whole simulation state, for determinism checks: equal digests after the same
//! commands mean equal worlds. Not on the tick path.

use std::hash::{DefaultHasher, Hash, Hasher};

use bevy_ecs::world::World;

use super::gameplay::{MoveIntent, Player, Position, Velocity};
use super::resources::{SimCounters, SimRng, Tick};

/// Hashes the tick, the RNG position, the counters and every player's state, in client order.
pub(crate) fn state_hash(world: &mut World) -> u64 {
    let mut hasher = DefaultHasher::new();
    world.resource::<Tick>().0.hash(&mut hasher);
    world.resource::<SimRng>().0.get_word_pos().hash(&mut hasher);
    world.resource::<SimCounters>().hash(&mut hasher);

    let mut players = world
        .query::<(&Player, &Position, &Velocity, &MoveIntent)>()
        .iter(world)
        .map(|(player, position, velocity, intent)| {
            let floats = [
                position.x,
                position.y,
                velocity.x,
                velocity.y,
                intent.dir_x,
                intent.dir_y,
            ];
            (player.client, floats.map(f32::to_bits), intent.last_seq)
        })
        .collect::<Vec<_>>();
    players.sort_unstable_by_key(|(client, ..)| *client);
    players.hash(&mut hasher);
    hasher.finish()
}
