//! Players entering and leaving the world: the client → entity map, spawning in the configured
//! spawn disc with the seeded RNG, and the replies and events that go with it.

use bevy_ecs::entity::Entity;
use bevy_ecs::resource::Resource;
use bevy_ecs::world::World;
use bevy_platform::collections::HashMap;
use rand_core::Rng;

use super::components::{MoveIntent, Player, Position, Velocity};
use crate::config::SpawnConfig;
use crate::sim::command::{ClientId, Refusal};
use crate::sim::output::{Outbox, ReplyBody, SimEvent, respond};
use crate::sim::resources::{ActiveConfig, SimRng};

/// Which entity each admitted client controls. Never iterated, so its order cannot leak into the
/// simulation; bevy's fixed-seed hasher keeps it free of per-process random state all the same.
#[derive(Debug, Default, Resource)]
pub struct Clients(pub(crate) HashMap<ClientId, Entity>);

impl Clients {
    /// The entity of `client`, if it has joined.
    pub fn entity(&self, client: ClientId) -> Option<Entity> {
        self.0.get(&client).copied()
    }

    /// How many clients are in the world.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when nobody is in the world.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Spawns a player for `client`, or refuses if it is already in the world.
pub(crate) fn join(world: &mut World, client: ClientId) {
    if world.resource::<Clients>().0.contains_key(&client) {
        respond(world, client, ReplyBody::Refused(Refusal::AlreadyJoined));
        return;
    }
    let spawn = world.resource::<ActiveConfig>().0.gameplay.world.spawn.clone();
    let position = spawn_point(&mut world.resource_mut::<SimRng>().0, &spawn);
    let entity = world
        .spawn((
            Player { client },
            position,
            Velocity::default(),
            MoveIntent::default(),
        ))
        .id();
    world.resource_mut::<Clients>().0.insert(client, entity);
    let entity_id = entity.to_bits();
    respond(world, client, ReplyBody::Joined { entity_id });
    world
        .resource_mut::<Outbox>()
        .events
        .push(SimEvent::PlayerJoined { client, entity_id });
}

/// Removes the player of `client`, or refuses if it has none.
pub(crate) fn leave(world: &mut World, client: ClientId) {
    let Some(entity) = world.resource_mut::<Clients>().0.remove(&client) else {
        respond(world, client, ReplyBody::Refused(Refusal::NotJoined));
        return;
    };
    world.despawn(entity);
    respond(world, client, ReplyBody::Left);
    world.resource_mut::<Outbox>().events.push(SimEvent::PlayerLeft {
        client,
        entity_id: entity.to_bits(),
    });
}

/// A point drawn uniformly from the spawn disc by rejection sampling (no trigonometry, so the
/// result is bit-for-bit reproducible).
fn spawn_point(rng: &mut impl Rng, spawn: &SpawnConfig) -> Position {
    loop {
        let x = unit_interval(rng) * 2.0 - 1.0;
        let y = unit_interval(rng) * 2.0 - 1.0;
        if x * x + y * y <= 1.0 {
            return Position {
                x: spawn.center_x_m + x * spawn.radius_m,
                y: spawn.center_y_m + y * spawn.radius_m,
            };
        }
    }
}

/// A uniform float in [0, 1) from the top 24 bits of one draw.
fn unit_interval(rng: &mut impl Rng) -> f32 {
    (rng.next_u32() >> 8) as f32 / (1u32 << 24) as f32
}
