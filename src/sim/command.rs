//! What clients ask of the simulation ([`Command`]) and why the simulation may refuse it
//! ([`Refusal`], with stable numeric codes that the wire protocol carries unchanged).

/// Identifies one admitted client connection; chosen by the network layer, opaque to the sim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClientId(pub u64);

/// One request from one client, applied at the next tick.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Command {
    /// Enter the world: a player entity spawns in the spawn area.
    Join,
    /// Leave the world: the player entity is removed.
    Leave,
    /// Steer the player.
    Move(MoveInput),
}

/// A movement sample from a client.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MoveInput {
    /// Client sequence number; inputs with a number not above the last applied one are stale.
    pub seq: u32,
    /// Desired direction, east component; the vector is clamped to length 1.
    pub move_x: f32,
    /// Desired direction, north component.
    pub move_y: f32,
}

/// Why a command was refused. The discriminant is the stable code clients see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[repr(u16)]
pub enum Refusal {
    /// The inbox for the next tick is full; retry later.
    #[error("server busy: the command inbox is full")]
    Busy = 1,
    /// `Join` from a client that is already in the world.
    #[error("already joined")]
    AlreadyJoined = 100,
    /// A command that needs a player from a client that has not joined.
    #[error("not joined")]
    NotJoined = 101,
    /// A movement vector that is not finite.
    #[error("invalid input: the movement vector must be finite")]
    InvalidInput = 102,
}

impl Refusal {
    /// The stable numeric code of this refusal.
    pub fn code(self) -> u16 {
        self as u16
    }
}
