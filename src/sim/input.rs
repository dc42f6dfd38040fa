//! The `Input` phase: drains the inbox in arrival order and routes each command to its domain.
//! Membership changes apply in arrival order (inputs and acknowledgements a client queued before
//! its join in the same tick belong to an earlier connection and are dropped); movement inputs are
//! gathered in the frame arena and sorted by client and sequence number, so reordered datagrams
//! resolve the same way every time, and applied with the snapshot acknowledgements they carry;
//! combat actions follow in arrival order, then snapshot acknowledgements sent alone. Session operations
//! apply in arrival order (a player leaving the world leaves its session first); reads of the
//! session store are answered last, in one batch, so they see every change of the tick's input.

use bevy_ecs::query::QueryState;
use bevy_ecs::world::{Mut, World};

use super::combat;
use super::command::{ClientId, Command, Refusal, ReplyTo};
use super::economy::EconomyInbox;
use super::gameplay::{self, QueuedInput, SnapshotHistory};
use super::output::{ReplyBody, respond};
use super::resources::{FrameArena, Inbox};

/// Applies every command queued since the last tick.
pub(crate) fn route_commands(
    world: &mut World,
    players: &mut QueryState<gameplay::Steered>,
    histories: &mut QueryState<&mut SnapshotHistory>,
) {
    // Taken out and put back rather than scoped, so the world stays fully usable meanwhile; the
    // placeholder `Vec::new()` does not allocate.
    let mut commands = std::mem::take(&mut world.resource_mut::<Inbox>().commands);
    world.resource_scope(|world, mut arena: Mut<FrameArena>| {
        let bump = arena.bump();
        let mut moves = bumpalo::collections::Vec::with_capacity_in(commands.len(), bump);
        let mut acks = bumpalo::collections::Vec::new_in(bump);
        let mut actions = bumpalo::collections::Vec::new_in(bump);
        let mut reads = bumpalo::collections::Vec::new_in(bump);
        // Where each client that joined this tick did so among the inputs: those queued before
        // belong to a connection that left, not to the player who joined.
        let mut joined_at = bumpalo::collections::Vec::new_in(bump);
        for (to, command) in commands.drain(..) {
            let client = to.client;
            match command {
                Command::Join => {
                    joined_at.push((client, [moves.len(), acks.len()]));
                    gameplay::join(world, to);
                }
                Command::Leave => {
                    combat::leave_world(world, client);
                    gameplay::leave(world, to);
                }
                Command::Move(input) => {
                    moves.push(QueuedInput {
                        client,
                        request: to.request,
                        input,
                    });
                }
                Command::AckSnapshot { seq } => acks.push((to, seq)),
                Command::CreateSession(settings) => combat::create(world, to, settings),
                Command::JoinSession { session, team, role } => combat::join(world, to, session, team, role),
                Command::LeaveSession { session } => combat::leave(world, to, session),
                Command::EndSession { session } => combat::end(world, to, session),
                Command::GetSession { session, log_after } => {
                    reads.push((to, combat::SessionRead::Get { session, log_after }));
                }
                Command::ListSessions(query) => reads.push((to, combat::SessionRead::List(query))),
                Command::Act(action) => actions.push((to, action)),
                Command::Economy(request) => {
                    world.resource_mut::<EconomyInbox>().requests.push((to, request));
                }
                Command::EconomyRead(read) => world.resource_mut::<EconomyInbox>().reads.push((to, read)),
            }
        }
        if !joined_at.is_empty() {
            let mut refused = bumpalo::collections::Vec::new_in(bump);
            drop_inputs_before_joins(&mut joined_at, &mut moves, &mut acks, &mut refused);
            for to in refused {
                respond(world, to, ReplyBody::Refused(Refusal::NotJoined));
            }
        }
        moves.sort_unstable_by_key(|queued| (queued.client, queued.input.seq));
        gameplay::apply_inputs(world, players, &moves, bump);
        combat::apply_actions(world, &actions, bump);
        gameplay::acknowledge(world, histories, &acks);
        combat::answer_reads(world, &reads, bump);
    });
    world.resource_mut::<Inbox>().commands = commands;
}

/// Drops the inputs and acknowledgements each client in `joined_at` queued before it joined
/// (`joined_at` holds where its last join found the two lists; an input's acknowledgement goes
/// with it); those sent as requests go to `refused`, to be told the player was not in the world.
fn drop_inputs_before_joins(
    joined_at: &mut [(ClientId, [usize; 2])],
    moves: &mut bumpalo::collections::Vec<'_, QueuedInput>,
    acks: &mut bumpalo::collections::Vec<'_, (ReplyTo, u32)>,
    refused: &mut bumpalo::collections::Vec<'_, ReplyTo>,
) {
    // By client, the last join last, so that a search finds the cut that counts.
    joined_at.sort_by_key(|&(client, _)| client);
    let cut = |client: ClientId, list: usize| {
        let end = joined_at.partition_point(|&(joined, _)| joined <= client);
        end.checked_sub(1)
            .map(|last| joined_at[last])
            .filter(|&(joined, _)| joined == client)
            .map_or(0, |(_, at)| at[list])
    };
    let mut index = 0..;
    moves.retain(|queued| {
        let kept = index.next().is_some_and(|at| at >= cut(queued.client, 0));
        if !kept && queued.request != 0 {
            refused.push(ReplyTo {
                client: queued.client,
                request: queued.request,
            });
        }
        kept
    });
    let mut index = 0..;
    acks.retain(|&(to, _)| {
        let kept = index.next().is_some_and(|at| at >= cut(to.client, 1));
        if !kept && to.request != 0 {
            refused.push(to);
        }
        kept
    });
}
