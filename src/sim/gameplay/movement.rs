//! Server-authoritative movement: applying clients' movement inputs, turning intent into velocity
//! with the configured top speed, and integrating positions inside the world bounds.

use bevy_ecs::query::QueryState;
use bevy_ecs::system::{Query, Res};
use bevy_ecs::world::World;
use bumpalo::Bump;

use super::components::{MoveIntent, Position, Velocity};
use super::players::Clients;
use crate::sim::command::{ClientId, MoveInput, Refusal};
use crate::sim::output::{ReplyBody, respond};
use crate::sim::resources::{ActiveConfig, SimCounters};

/// Applies this tick's movement inputs, which arrive sorted by client and sequence number so that
/// the newest input of each client is applied last. `intents` is the caller's cached query.
pub(crate) fn apply_inputs(
    world: &mut World,
    intents: &mut QueryState<&mut MoveIntent>,
    inputs: &[(ClientId, MoveInput)],
    bump: &Bump,
) {
    // Resolve clients first, so the loop below needs no shared borrow of the world.
    let clients = world.resource::<Clients>();
    let resolved = bumpalo::collections::Vec::from_iter_in(
        inputs
            .iter()
            .map(|&(client, input)| (client, clients.entity(client), input)),
        bump,
    );
    let mut stale = 0;
    for &(client, entity, input) in &resolved {
        let Some(entity) = entity else {
            respond(world, client, ReplyBody::Refused(Refusal::NotJoined));
            continue;
        };
        if !(input.move_x.is_finite() && input.move_y.is_finite()) {
            respond(world, client, ReplyBody::Refused(Refusal::InvalidInput));
            continue;
        }
        let Ok(mut intent) = intents.get_mut(world, entity) else {
            continue;
        };
        if input.seq <= intent.last_seq {
            stale += 1;
            continue;
        }
        let length = (input.move_x * input.move_x + input.move_y * input.move_y).sqrt();
        let scale = if length > 1.0 { 1.0 / length } else { 1.0 };
        *intent = MoveIntent {
            dir_x: input.move_x * scale,
            dir_y: input.move_y * scale,
            last_seq: input.seq,
        };
    }
    world.resource_mut::<SimCounters>().stale_inputs += stale;
}

/// Velocity follows intent at the configured top speed.
pub(crate) fn steer_players(config: Res<ActiveConfig>, mut players: Query<(&MoveIntent, &mut Velocity)>) {
    let speed = config.0.gameplay.movement.player.max_speed_mps;
    for (intent, mut velocity) in &mut players {
        *velocity = Velocity {
            x: intent.dir_x * speed,
            y: intent.dir_y * speed,
        };
    }
}

/// Advances positions by one tick of velocity, clamped to the world bounds.
pub(crate) fn integrate_positions(config: Res<ActiveConfig>, mut bodies: Query<(&mut Position, &Velocity)>) {
    let dt = 1.0 / config.0.server.tick.rate_hz as f32;
    let bounds = &config.0.gameplay.world.bounds;
    for (mut position, velocity) in &mut bodies {
        position.x = (position.x + velocity.x * dt).clamp(bounds.min_x_m, bounds.max_x_m);
        position.y = (position.y + velocity.y * dt).clamp(bounds.min_y_m, bounds.max_y_m);
    }
}
