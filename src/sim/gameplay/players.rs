//! Characters entering and leaving the world: the client → entity map, net ids, spawning players
//! with their configured stats in the spawn disc (and ambient wanderers at world start), and the
//! replies, events and departure records that go with it.

use bevy_ecs::entity::Entity;
use bevy_ecs::resource::Resource;
use bevy_ecs::world::World;
use bevy_platform::collections::HashMap;
use rand_core::Rng;

use super::components::{Defense, InputState, MotionHandle, NetId, Npc, Player, Vitals};
use super::motion::{Body, Motion};
use crate::config::{Config, SpawnConfig};
use crate::sim::command::{ClientId, Refusal, ReplyTo};
use crate::sim::output::{Outbox, PlayerRecord, ReplyBody, SimEvent, respond};
use crate::sim::resources::{ActiveConfig, SimRng, Tick};

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

/// The last [`NetId`] given out. Once every id has been given out, numbering starts again from 1,
/// skipping the ids still in the world then: an id that left so many spawns ago is in no client's
/// kept snapshots any more.
#[derive(Debug, Default, Resource)]
pub(crate) struct NextNetId {
    last: u32,
    /// The ids in the world when numbering last started again, sorted.
    still_used: Vec<u32>,
}

impl NextNetId {
    /// An id no entity in `world` has.
    fn take(world: &mut World) -> NetId {
        loop {
            if world.resource::<NextNetId>().last == u32::MAX {
                let mut still_used: Vec<u32> = world.query::<&NetId>().iter(world).map(|id| id.0).collect();
                still_used.sort_unstable();
                *world.resource_mut::<NextNetId>() = NextNetId { last: 0, still_used };
            }
            let mut ids = world.resource_mut::<NextNetId>();
            ids.last += 1;
            if ids.still_used.binary_search(&ids.last).is_err() {
                return NetId(ids.last);
            }
        }
    }
}

/// Spawns a player for `client`, or refuses if it is already in the world.
pub(crate) fn join(world: &mut World, to: ReplyTo) {
    let client = to.client;
    if world.resource::<Clients>().0.contains_key(&client) {
        respond(world, to, ReplyBody::Refused(Refusal::AlreadyJoined));
        return;
    }
    let config = std::sync::Arc::clone(&world.resource::<ActiveConfig>().0);
    let stats = &config.gameplay.characters.player;
    let (entity, net_id) = spawn_body(world, &config.gameplay.world.spawn, stats.speed_mps, false);
    world.entity_mut(entity).insert((
        Player { client },
        Vitals {
            health: stats.max_health,
            max_health: stats.max_health,
        },
        player_defense(&config),
        InputState::default(),
        super::snapshot::SnapshotHistory::default(),
    ));
    world.resource_mut::<Clients>().0.insert(client, entity);
    respond(world, to, ReplyBody::Joined { net_id: net_id.0 });
    world
        .resource_mut::<Outbox>()
        .events
        .push(SimEvent::PlayerJoined {
            client,
            net_id: net_id.0,
        });
}

/// Removes the player of `client`, handing its lasting state to the store, or refuses if it has
/// none.
pub(crate) fn leave(world: &mut World, to: ReplyTo) {
    let client = to.client;
    let Some(entity) = world.resource_mut::<Clients>().0.remove(&client) else {
        respond(world, to, ReplyBody::Refused(Refusal::NotJoined));
        return;
    };
    let (net_id, handle, health) = {
        let entity = world.entity(entity);
        let net_id = entity.get::<NetId>().map_or(0, |id| id.0);
        let handle = entity.get::<MotionHandle>().copied();
        (net_id, handle, entity.get::<Vitals>().map_or(0.0, |v| v.health))
    };
    let mut motion = world.resource_mut::<Motion>();
    let [x_m, y_m] = handle.map_or([0.0; 2], |handle| motion.position(handle));
    if let Some(handle) = handle {
        motion.remove(handle);
    }
    world.despawn(entity);
    let tick = world.resource::<Tick>().0;
    respond(world, to, ReplyBody::Left);
    let mut outbox = world.resource_mut::<Outbox>();
    outbox.events.push(SimEvent::PlayerLeft { client, net_id });
    outbox.departures.push(PlayerRecord {
        client,
        tick,
        x_m,
        y_m,
        health,
    });
}

/// Spawns the configured number of ambient wanderers.
pub(crate) fn spawn_ambient_npcs(world: &mut World) {
    let config = std::sync::Arc::clone(&world.resource::<ActiveConfig>().0);
    let ambient = &config.gameplay.world.ambient;
    for _ in 0..ambient.npcs {
        let (entity, _) = spawn_body(world, &config.gameplay.world.spawn, ambient.speed_mps, true);
        world.entity_mut(entity).insert(Npc);
    }
}

/// Spawns an entity with a net id and a motion slot at a random point of the spawn disc.
fn spawn_body(world: &mut World, spawn: &SpawnConfig, speed: f32, wanders: bool) -> (Entity, NetId) {
    let point = spawn_point(&mut world.resource_mut::<SimRng>().0, spawn);
    spawn_body_at(world, point, speed, wanders)
}

/// Spawns an entity with a net id and a motion slot at `[x, y]`.
pub(crate) fn spawn_body_at(
    world: &mut World,
    [x, y]: [f32; 2],
    speed: f32,
    wanders: bool,
) -> (Entity, NetId) {
    let net_id = NextNetId::take(world);
    let owner = world.spawn(net_id).id();
    let body = Body {
        net_id: net_id.0,
        x,
        y,
        speed,
        wanders,
    };
    let handle = world.resource_mut::<Motion>().insert(body);
    world.entity_mut(owner).insert(handle);
    (owner, net_id)
}

/// A player's defence as `config` has it.
pub(crate) fn player_defense(config: &Config) -> Defense {
    let stats = &config.gameplay.characters.player;
    Defense::new(
        stats.armor,
        config.combat.damage_types.by_index(&stats.resistance_pct),
    )
}

/// A point drawn uniformly from the spawn disc.
fn spawn_point(rng: &mut impl Rng, spawn: &SpawnConfig) -> [f32; 2] {
    let [x, y] = point_in_unit_disc(rng);
    [
        spawn.center_x_m + x * spawn.radius_m,
        spawn.center_y_m + y * spawn.radius_m,
    ]
}

/// A point drawn uniformly from the unit disc by rejection sampling: no trigonometry, so the result
/// is the same bit for bit on every machine.
pub(crate) fn point_in_unit_disc(rng: &mut impl Rng) -> [f32; 2] {
    loop {
        let x = unit_interval(rng) * 2.0 - 1.0;
        let y = unit_interval(rng) * 2.0 - 1.0;
        if x * x + y * y <= 1.0 {
            return [x, y];
        }
    }
}

/// A uniform float in [0, 1) from the top 24 bits of one draw.
pub(crate) fn unit_interval(rng: &mut impl Rng) -> f32 {
    (rng.next_u32() >> 8) as f32 / (1u32 << 24) as f32
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::sim::{Command, Sim};

    fn join_client(sim: &mut Sim, client: u64) -> u32 {
        sim.submit(ClientId(client), Command::Join).expect("room");
        sim.step();
        let entity = sim
            .world
            .resource::<Clients>()
            .entity(ClientId(client))
            .expect("joined");
        sim.world.get::<NetId>(entity).expect("a body").0
    }

    #[test]
    fn ids_start_again_from_one_once_all_are_given_out_skipping_those_in_use() {
        let mut sim = Sim::new(Arc::new(Config::default()));
        assert_eq!(join_client(&mut sim, 1), 1);
        assert_eq!(join_client(&mut sim, 2), 2);
        sim.submit(ClientId(2), Command::Leave).expect("room");
        sim.step();
        sim.world.resource_mut::<NextNetId>().last = u32::MAX - 1;
        assert_eq!(join_client(&mut sim, 3), u32::MAX);
        // 1 is still in the world; 2 left long ago.
        assert_eq!(join_client(&mut sim, 4), 2);
        assert_eq!(join_client(&mut sim, 5), 3);
    }
}
