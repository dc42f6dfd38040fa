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
    /// The client's player entered the world.
    Joined {
        /// The player's id in snapshots.
        net_id: u32,
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
        /// The player's id in snapshots.
        net_id: u32,
    },
    /// A player left the world.
    PlayerLeft {
        /// The player's client.
        client: ClientId,
        /// The player's id in snapshots.
        net_id: u32,
    },
}

/// What a player leaving the world hands to the store: the state that outlives the session.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlayerRecord {
    /// The player's client.
    pub client: ClientId,
    /// The tick the player left.
    pub tick: u64,
    /// Where the player stood, east.
    pub x_m: f32,
    /// Where the player stood, north.
    pub y_m: f32,
    /// Health when leaving.
    pub health: f32,
}

/// One snapshot for one client: `bytes` of [`Outbox::snapshot_bytes`] in the snapshot format of
/// [`crate::sim::snapshot_codec`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotOut {
    /// The receiving client.
    pub client: ClientId,
    /// The snapshot's sequence number for that client.
    pub seq: u32,
    /// Where its bytes lie in [`Outbox::snapshot_bytes`].
    pub bytes: std::ops::Range<usize>,
}

/// Everything the simulation has produced since the caller last drained it. Vectors keep their
/// capacity across ticks, so steady-state ticks do not allocate here.
#[derive(Debug, Default, Clone, Resource)]
pub struct Outbox {
    /// Replies, in the order the commands were applied.
    pub replies: Vec<Reply>,
    /// Events, in the order they happened.
    pub events: Vec<SimEvent>,
    /// State of players who left, for the store.
    pub departures: Vec<PlayerRecord>,
    /// Snapshots, each naming its range of `snapshot_bytes`.
    pub snapshots: Vec<SnapshotOut>,
    /// The encoded snapshots back to back.
    pub snapshot_bytes: Vec<u8>,
}

impl Outbox {
    /// Empties every queue, keeping the capacity.
    pub fn clear(&mut self) {
        self.replies.clear();
        self.events.clear();
        self.departures.clear();
        self.snapshots.clear();
        self.snapshot_bytes.clear();
    }

    /// The encoded bytes of `snapshot`.
    pub fn snapshot_payload(&self, snapshot: &SnapshotOut) -> &[u8] {
        self.snapshot_bytes
            .get(snapshot.bytes.clone())
            .unwrap_or_default()
    }
}

/// Queues a reply to `client` stamped with the current tick, counting refusals.
pub(crate) fn respond(world: &mut bevy_ecs::world::World, client: ClientId, body: ReplyBody) {
    let tick = world.resource::<super::resources::Tick>().0;
    if let ReplyBody::Refused(refusal) = body {
        let mut counters = world.resource_mut::<super::resources::SimCounters>();
        counters.refused_commands += 1;
        match refusal {
            Refusal::Teleport => counters.teleports += 1,
            Refusal::OutOfBounds => counters.out_of_bounds += 1,
            Refusal::TimeCompression => counters.time_compression += 1,
            Refusal::Busy | Refusal::AlreadyJoined | Refusal::NotJoined | Refusal::InvalidInput => {}
        }
    }
    world
        .resource_mut::<Outbox>()
        .replies
        .push(Reply { client, tick, body });
}
