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
    /// The client holds snapshot `seq`; later snapshots are encoded against it.
    AckSnapshot {
        /// Sequence number of a snapshot the client received and decoded.
        seq: u32,
    },
}

/// One input sample from a client.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MoveInput {
    /// Client sequence number; inputs with a number not above the last applied one are stale.
    pub seq: u32,
    /// The client's tick counter (counting at the server's tick rate) when it sampled this input; it
    /// may not run ahead of the server's clock (time compression).
    pub client_tick: u32,
    /// Desired direction, east component; the vector is clamped to length 1.
    pub move_x: f32,
    /// Desired direction, north component.
    pub move_y: f32,
    /// Where the player aims, east component (a direction or a point, as the weapon needs).
    pub aim_x: f32,
    /// Where the player aims, north component.
    pub aim_y: f32,
    /// Pressed buttons, one bit each.
    pub buttons: u8,
    /// Where the client's prediction puts its player, if it predicts; checked against the server's
    /// position (teleport) and the world bounds.
    pub predicted: Option<[f32; 2]>,
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
    /// A movement, aim or predicted position that is not finite.
    #[error("invalid input: every number must be finite")]
    InvalidInput = 102,
    /// The predicted position is too far from the server's.
    #[error("refused: predicted position too far from the server's (teleport)")]
    Teleport = 103,
    /// The predicted position is outside the world.
    #[error("refused: predicted position outside the world bounds")]
    OutOfBounds = 104,
    /// The client's clock runs ahead of the server's (more input time than elapsed time).
    #[error("refused: client tick runs ahead of the server (time compression)")]
    TimeCompression = 105,
}

impl Refusal {
    /// The stable numeric code of this refusal.
    pub fn code(self) -> u16 {
        self as u16
    }
}
