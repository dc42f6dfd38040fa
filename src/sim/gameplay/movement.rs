//! Server-authoritative movement: checking and applying clients' inputs (stale, non-finite,
//! teleport, out-of-bounds and time-compression inputs change nothing), wanderers picking new
//! directions, and the per-tick SIMD sweep of the motion columns.

use bevy_ecs::change_detection::DetectChanges;
use bevy_ecs::query::QueryState;
use bevy_ecs::system::{Res, ResMut};
use bevy_ecs::world::{Mut, World};
use bumpalo::Bump;

use super::components::{InputState, MotionHandle, UsualLead};
use super::motion::{Bounds, Motion, sweep_simd};
use super::players::{Clients, point_in_unit_disc};
use super::snapshot::SnapshotHistory;
use crate::config::Config;
use crate::sim::command::{ClientId, MoveInput, Refusal, ReplyTo};
use crate::sim::output::{ReplyBody, respond};
use crate::sim::resources::{ActiveConfig, SimCounters, SimRng, Tick, TickRate};

/// The query of the players inputs steer: body, input state and snapshot history.
pub(crate) type Steered = (
    &'static MotionHandle,
    &'static mut InputState,
    &'static mut SnapshotHistory,
);

/// Applies this tick's inputs, which arrive sorted by client and sequence number so that the newest
/// input of each client is applied last, and the snapshot acknowledgement each carries (stale and
/// refused inputs' too). `players` is the caller's cached query.
pub(crate) fn apply_inputs(
    world: &mut World,
    players: &mut QueryState<Steered>,
    inputs: &[QueuedInput],
    bump: &Bump,
) {
    // Resolve clients first, so the loop below needs no shared borrow of the world.
    let clients = world.resource::<Clients>();
    let entities = bumpalo::collections::Vec::from_iter_in(
        inputs.iter().map(|queued| clients.entity(queued.client)),
        bump,
    );
    let config = std::sync::Arc::clone(&world.resource::<ActiveConfig>().0);
    let server_tick = world.resource::<Tick>().0;
    let (mut stale, mut unknown_acks) = (0, 0);
    // Motion is held apart from the world for the loop, so that one lookup of a player gives both
    // its input state and its body.
    world.resource_scope(|world, mut motion: Mut<Motion>| {
        for (at, (queued, &entity)) in inputs.iter().zip(&entities).enumerate() {
            let (to, input) = (queued.reply_to(), queued.input);
            // The player's handle is looked up a few inputs ahead and its body prefetched, so the
            // misses of reaching the player and then its body overlap across inputs.
            if let Some(&Some(ahead)) = entities.get(at + INPUTS_AHEAD)
                && let Ok((&handle, _, history)) = players.get_mut(world, ahead)
            {
                motion.prefetch(handle);
                history.prefetch_sequence_numbers();
            }
            let Some(entity) = entity else {
                respond(world, to, ReplyBody::Refused(Refusal::NotJoined));
                continue;
            };
            let Ok((&handle, mut state, mut history)) = players.get_mut(world, entity) else {
                continue;
            };
            if input.ack != 0 {
                unknown_acks += u64::from(!history.acknowledge(input.ack));
            }
            // An input sent as a request is answered: taken, or refused. One a newer input
            // already superseded is taken too, since what it asked for is in effect.
            let taken = to.request != 0;
            // Serial-number arithmetic, so that numbering goes on past 2^32 inputs; until one is
            // taken, an input is newer whatever its number.
            let newer = state
                .last_seq
                .is_none_or(|last| input.seq.wrapping_sub(last) as i32 > 0);
            if !newer {
                stale += 1;
                if taken {
                    respond(world, to, ReplyBody::Acted);
                }
                continue;
            }
            let position = motion.position(handle);
            // Serial-number arithmetic on the tick's low 32 bits, which the input carries: a
            // server past 2^32 ticks compares the same way.
            let lead = i64::from(input.client_tick.wrapping_sub(server_tick as u32) as i32);
            let usual = state.lead.unwrap_or_else(|| UsualLead::first(server_tick));
            let lead_excess = usual.excess(lead);
            // Every input moves the usual lead, refused ones too, so that it keeps following a
            // client whose clock jumped ahead (its lag ended) instead of refusing it for good.
            state.lead = Some(usual.follow(lead, server_tick));
            if let Err(refusal) = check_input(&config, &input, position, lead_excess) {
                respond(world, to, ReplyBody::Refused(refusal));
                continue;
            }
            *state = InputState {
                last_seq: Some(input.seq),
                lead: state.lead,
                aim: [input.aim_x, input.aim_y],
                buttons: input.buttons,
            };
            // Not `hypot`: a library call, and overflow to infinity only zeroes a hostile vector.
            let length = (input.move_x * input.move_x + input.move_y * input.move_y).sqrt();
            let scale = if length > 1.0 { 1.0 / length } else { 1.0 };
            motion.steer(handle, input.move_x * scale, input.move_y * scale);
            if taken {
                respond(world, to, ReplyBody::Acted);
            }
        }
    });
    let mut counters = world.resource_mut::<SimCounters>();
    counters.stale_inputs += stale;
    counters.unknown_acks += unknown_acks;
}

/// A movement input as the tick applies it: its client, the request it came as (0: a datagram)
/// and the input. Flat rather than holding a [`ReplyTo`], whose padding would add 8 bytes to each
/// of a tick's tens of thousands of entries.
#[derive(Debug, Clone, Copy)]
pub(crate) struct QueuedInput {
    pub client: ClientId,
    pub request: u32,
    pub input: MoveInput,
}

impl QueuedInput {
    fn reply_to(&self) -> ReplyTo {
        ReplyTo {
            client: self.client,
            request: self.request,
        }
    }
}

/// How many inputs ahead a player's body is prefetched.
const INPUTS_AHEAD: usize = 8;

/// Why an input must not be applied, if it must not; `lead_excess` is how far its client tick runs
/// ahead of the client's usual lead over the server clock.
fn check_input(
    config: &Config,
    input: &MoveInput,
    position: [f32; 2],
    lead_excess: i64,
) -> Result<(), Refusal> {
    let numbers = [input.move_x, input.move_y, input.aim_x, input.aim_y];
    let predicted = input.predicted.unwrap_or(position);
    if !numbers.iter().chain(&predicted).all(|n| n.is_finite()) {
        return Err(Refusal::InvalidInput);
    }
    let bounds = &config.gameplay.world.bounds;
    let [px, py] = predicted;
    if !(bounds.min_x_m..=bounds.max_x_m).contains(&px) || !(bounds.min_y_m..=bounds.max_y_m).contains(&py) {
        return Err(Refusal::OutOfBounds);
    }
    let anti_cheat = &config.gameplay.movement.anti_cheat;
    let (dx, dy) = (px - position[0], py - position[1]);
    if dx * dx + dy * dy > anti_cheat.teleport_tolerance_m * anti_cheat.teleport_tolerance_m {
        return Err(Refusal::Teleport);
    }
    if lead_excess > i64::from(anti_cheat.max_input_lead_ticks) {
        return Err(Refusal::TimeCompression);
    }
    Ok(())
}

/// Wanderers pick a new random direction every `turn_interval_ms`. The slots are split into one
/// stride per tick of the interval, so a tick visits only its share of the world.
pub(crate) fn turn_wanderers(
    config: Res<ActiveConfig>,
    rate: Res<TickRate>,
    tick: Res<Tick>,
    mut rng: ResMut<SimRng>,
    mut motion: ResMut<Motion>,
) {
    let turn_s = config.0.gameplay.world.ambient.turn_interval_ms as f32 / 1000.0;
    let interval_ticks = rate.ticks_in(turn_s);
    let phase = usize::try_from(tick.0 % interval_ticks).unwrap_or(0);
    for slot in (phase..motion.len()).step_by(usize::try_from(interval_ticks).unwrap_or(usize::MAX)) {
        if !motion.wanders(slot) {
            continue;
        }
        let [x, y] = point_in_unit_disc(&mut rng.0);
        let length = x.hypot(y);
        let [dir_x, dir_y] = if length > 1e-3 {
            [x / length, y / length]
        } else {
            [1.0, 0.0]
        };
        motion.steer_slot(slot, dir_x, dir_y);
    }
}

/// After a configuration reload, every body takes its configured speed (players from
/// `characters.toml`, wanderers from `world.toml`), so a designer's edit shows in the next tick.
pub(crate) fn refresh_speeds(config: Res<ActiveConfig>, mut motion: ResMut<Motion>) {
    if !config.is_changed() || config.is_added() {
        return;
    }
    let player_speed = config.0.gameplay.characters.player.speed_mps;
    let npc_speed = config.0.gameplay.world.ambient.speed_mps;
    for slot in 0..motion.len() {
        let speed = if motion.wanders(slot) {
            npc_speed
        } else {
            player_speed
        };
        motion.set_speed_slot(slot, speed);
    }
}

/// Moves every body by one tick.
pub(crate) fn integrate_motion(config: Res<ActiveConfig>, rate: Res<TickRate>, mut motion: ResMut<Motion>) {
    let bounds = Bounds::from(&config.0.gameplay.world.bounds);
    sweep_simd(motion.columns(), rate.dt(), bounds);
}
