//! What a tick produces for the world outside the simulation: replies to one client and events for
//! many, collected in the [`Outbox`] and drained by the caller after each step.

use bevy_ecs::resource::Resource;

use super::command::{ClientId, Refusal};

/// The answer to one command, addressed to the client that sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    /// Who receives it.
    pub client: ClientId,
    /// The tick that produced it.
    pub tick: u64,
    /// What happened.
    pub body: ReplyBody,
}

/// The content of a [`Reply`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyBody {
    /// The client's player entered the world with this network id.
    Joined {
        /// Stable id of the player's entity, as snapshots will name it.
        entity_id: u64,
    },
    /// The client's player left the world.
    Left,
    /// The command was refused and changed nothing.
    Refused(Refusal),
}

/// Something every interested client may be told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimEvent {
    /// A player entered the world.
    PlayerJoined {
        /// The player's client.
        client: ClientId,
        /// Stable id of the player's entity.
        entity_id: u64,
    },
    /// A player left the world.
    PlayerLeft {
        /// The player's client.
        client: ClientId,
        /// Stable id of the player's entity.
        entity_id: u64,
    },
}

/// Everything the simulation has produced since the caller last drained it. Vectors keep their
/// capacity across ticks, so steady-state ticks do not allocate here.
#[derive(Debug, Default, Resource)]
pub struct Outbox {
    /// Replies, in the order the commands were applied.
    pub replies: Vec<Reply>,
    /// Events, in the order they happened.
    pub events: Vec<SimEvent>,
}

impl Outbox {
    /// Empties every queue, keeping the capacity.
    pub fn clear(&mut self) {
        self.replies.clear();
        self.events.clear();
    }
}

/// Queues a reply to `client` stamped with the current tick, counting refusals.
pub(crate) fn respond(world: &mut bevy_ecs::world::World, client: ClientId, body: ReplyBody) {
    let tick = world.resource::<super::resources::Tick>().0;
    if matches!(body, ReplyBody::Refused(_)) {
        world
            .resource_mut::<super::resources::SimCounters>()
            .refused_commands += 1;
    }
    world
        .resource_mut::<Outbox>()
        .replies
        .push(Reply { client, tick, body });
}
