//! Components of player characters. Position and velocity are swept every tick, so they are small,
//! 16-byte aligned and kept apart from everything else.

use bevy_ecs::component::Component;

use crate::sim::command::ClientId;

/// Where an entity stands, in metres.
#[derive(Component, Debug, Default, Clone, Copy, PartialEq)]
#[repr(C, align(16))]
pub struct Position {
    /// East.
    pub x: f32,
    /// North.
    pub y: f32,
}

/// How fast an entity moves, in metres per second.
#[derive(Component, Debug, Default, Clone, Copy, PartialEq)]
#[repr(C, align(16))]
pub struct Velocity {
    /// East.
    pub x: f32,
    /// North.
    pub y: f32,
}

/// Marks a player character and names the client that controls it.
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Player {
    /// The controlling client.
    pub client: ClientId,
}

/// The latest movement input applied to a player.
#[derive(Component, Debug, Default, Clone, Copy, PartialEq)]
pub struct MoveIntent {
    /// Desired direction, east component, within the unit disc.
    pub dir_x: f32,
    /// Desired direction, north component, within the unit disc.
    pub dir_y: f32,
    /// Sequence number of the input applied last; 0 before any.
    pub last_seq: u32,
}
