//! The `Input` phase: drains the inbox in arrival order and routes each command to its domain.
//! Membership changes apply in arrival order; movement inputs are gathered in the frame arena and
//! sorted by client and sequence number, so reordered datagrams resolve the same way every time;
//! combat actions follow in arrival order, then snapshot acknowledgements (those riding inputs,
//! then those sent alone). Session operations
//! apply in arrival order (a player leaving the world leaves its session first); reads of the
//! session store are answered last, in one batch, so they see every change of the tick's input.

use bevy_ecs::query::QueryState;
use bevy_ecs::world::{Mut, World};

use super::combat;
use super::command::Command;
use super::economy::EconomyInbox;
use super::gameplay::{self, InputState, MotionHandle, QueuedInput, SnapshotHistory};
use super::resources::{FrameArena, Inbox};

/// Applies every command queued since the last tick.
pub(crate) fn route_commands(
    world: &mut World,
    players: &mut QueryState<(&MotionHandle, &mut InputState)>,
    histories: &mut QueryState<&mut SnapshotHistory>,
) {
    // Taken out and put back rather than scoped, so the world stays fully usable meanwhile; the
    // placeholder `Vec::new()` does not allocate.
    let mut commands = std::mem::take(&mut world.resource_mut::<Inbox>().commands);
    world.resource_scope(|world, mut arena: Mut<FrameArena>| {
        let bump = arena.bump();
        let mut moves = bumpalo::collections::Vec::with_capacity_in(commands.len(), bump);
        let mut riding_acks = bumpalo::collections::Vec::new_in(bump);
        let mut acks = bumpalo::collections::Vec::new_in(bump);
        let mut actions = bumpalo::collections::Vec::new_in(bump);
        let mut reads = bumpalo::collections::Vec::new_in(bump);
        for (to, command) in commands.drain(..) {
            let client = to.client;
            match command {
                Command::Join => gameplay::join(world, to),
                Command::Leave => {
                    combat::leave_world(world, client);
                    gameplay::leave(world, to);
                }
                Command::Move(input) => {
                    if input.ack != 0 {
                        riding_acks.push((client, input.ack));
                    }
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
        moves.sort_unstable_by_key(|queued| (queued.client, queued.input.seq));
        gameplay::apply_inputs(world, players, &moves, bump);
        combat::apply_actions(world, &actions, bump);
        gameplay::acknowledge(world, histories, &riding_acks, &acks, bump);
        combat::answer_reads(world, &reads, bump);
    });
    world.resource_mut::<Inbox>().commands = commands;
}
