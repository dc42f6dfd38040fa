//! Components of characters. What every tick sweeps (position, direction, speed) lives in the
//! [`Motion`](super::motion::Motion) columns, not here: a component only names the slot.

use bevy_ecs::component::Component;

use crate::config::MAX_DAMAGE_TYPES;
use crate::sim::command::ClientId;

/// Marks a player character and names the client that controls it.
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Player {
    /// The controlling client.
    pub client: ClientId,
}

/// Marks a non-player character that wanders.
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Npc;

/// The id snapshots use for an entity: assigned once, never reused while the world lives.
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NetId(pub u32);

/// The entity's body in the motion columns: stable for the entity's life, whatever slot the body
/// occupies.
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MotionHandle(pub u32);

/// Health.
#[derive(Component, Debug, Clone, Copy, PartialEq)]
pub struct Vitals {
    /// Current health.
    pub health: f32,
    /// Health when full.
    pub max_health: f32,
}

/// What softens a hit.
#[derive(Component, Debug, Clone, Copy, PartialEq)]
pub struct Defense {
    /// Armour rating.
    pub armor: f32,
    /// The share of a hit's base that the armour takes ([`armor_mitigation`]): worked out once per
    /// character rather than once per hit.
    ///
    /// [`armor_mitigation`]: crate::sim::combat::damage::armor_mitigation
    pub armor_mitigation: f32,
    /// Resistance in percent, indexed like the damage types in name order.
    pub resistance_pct: [f32; MAX_DAMAGE_TYPES],
}

/// What the server remembers of a player's input stream.
#[derive(Component, Debug, Default, Clone, Copy, PartialEq)]
pub struct InputState {
    /// Sequence number of the input applied last; none before any.
    pub last_seq: Option<u32>,
    /// The client's usual lead of its tick over the server's; none before its first input.
    pub lead: Option<UsualLead>,
    /// Latest aim.
    pub aim: [f32; 2],
    /// Latest buttons.
    pub buttons: u8,
}

/// A client's usual `client_tick - server_tick`, in sixteenths of a tick. It follows the leads of
/// the client's inputs by at most a sixteenth of a tick per server tick, so that a late input (a
/// lag spike) barely moves it, while a clock that runs fast climbs away from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UsualLead {
    /// The lead, in sixteenths of a tick.
    pub sixteenths: i64,
    /// The server tick of the input that moved it last.
    pub at_tick: u64,
}

impl UsualLead {
    /// The usual lead a client's first input (at server tick `tick`) is judged against: none,
    /// the server's clock as the client was told it in its welcome. The first input's own lead
    /// never sets it: one far ahead is refused like any other, and one that arrives late (a
    /// packet held up, a clock numbered from 0) must not make every on-time input after it look
    /// ahead of the usual lead.
    pub fn first(tick: u64) -> UsualLead {
        UsualLead {
            sixteenths: 0,
            at_tick: tick,
        }
    }

    /// The lead after an input whose lead is `lead` ticks at server tick `tick`.
    pub fn follow(self, lead: i64, tick: u64) -> UsualLead {
        let (usual, target) = (self, lead.saturating_mul(16));
        let step = i64::try_from(tick.saturating_sub(usual.at_tick)).unwrap_or(i64::MAX);
        UsualLead {
            sixteenths: usual.sixteenths + target.saturating_sub(usual.sixteenths).clamp(-step, step),
            at_tick: tick,
        }
    }

    /// How many ticks `lead` runs ahead of this usual lead, rounded down.
    pub fn excess(&self, lead: i64) -> i64 {
        lead.saturating_mul(16)
            .saturating_sub(self.sixteenths)
            .div_euclid(16)
    }
}

impl Defense {
    /// A defence of `armor` and `resistance_pct`.
    pub fn new(armor: f32, resistance_pct: [f32; MAX_DAMAGE_TYPES]) -> Defense {
        Defense {
            armor,
            armor_mitigation: crate::sim::combat::damage::armor_mitigation(armor),
            resistance_pct,
        }
    }
}
