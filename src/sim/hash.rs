//! A digest of the whole simulation state, for determinism checks: equal digests after the same
//! commands mean equal worlds. Not on the tick path.

use std::hash::{DefaultHasher, Hash, Hasher};

use bevy_ecs::world::World;

use super::gameplay::{InputState, Motion, MotionHandle, NetId, Player, SnapshotHistory, Vitals};
use super::resources::{SimCounters, SimRng, Tick};

/// Hashes the tick, the RNG position, the counters, every body's motion in slot order and every
/// player's state in client order.
pub(crate) fn state_hash(world: &mut World) -> u64 {
    let mut hasher = DefaultHasher::new();
    world.resource::<Tick>().0.hash(&mut hasher);
    world.resource::<SimRng>().0.get_word_pos().hash(&mut hasher);
    world.resource::<SimCounters>().hash(&mut hasher);

    let motion = world.resource::<Motion>();
    for body in motion.bodies() {
        let [x, y] = body.position;
        let [vx, vy] = body.velocity;
        (body.net_id, [x, y, vx, vy].map(f32::to_bits)).hash(&mut hasher);
    }

    let mut players = world
        .query::<(
            &Player,
            &NetId,
            &MotionHandle,
            &InputState,
            &Vitals,
            &SnapshotHistory,
        )>()
        .iter(world)
        .map(|(player, net_id, handle, input, vitals, history)| {
            let floats = [input.aim[0], input.aim[1], vitals.health].map(f32::to_bits);
            let snapshots = (history.last_sent(), history.acked());
            let input = (input.last_seq, input.lead_floor, input.buttons);
            (player.client, net_id.0, handle.0, floats, input, snapshots)
        })
        .collect::<Vec<_>>();
    players.sort_unstable_by_key(|(client, ..)| *client);
    players.hash(&mut hasher);
    hasher.finish()
}
