//! Components of an entity while it takes part in a combat session: [`Fighter`] (its place in the
//! session, its loadout, weapon and ability timers, action budget and status effects) and, for
//! non-player fighters, [`NpcBrain`].

use bevy_ecs::component::Component;

use super::effects::Effects;
use super::kinds::{Role, SessionId, Team};

/// An entity fighting in a session.
#[derive(Component, Debug, Clone, Copy, PartialEq)]
pub struct Fighter {
    /// Its session.
    pub session: SessionId,
    /// Its slot among the session's participants.
    pub slot: u16,
    /// Its side.
    pub team: Team,
    /// The role whose loadout (weapon, abilities, attack power) it fights with, read from the
    /// rules in force at each action (NPCs: none).
    pub role: Option<Role>,
    /// Speed before status effects.
    pub base_speed_mps: f32,
    /// The movement factor last written to its body.
    pub applied_move_factor: f32,
    /// First tick its weapon may fire again.
    pub next_shot_tick: u64,
    /// Shots left in the magazine.
    pub ammo: u32,
    /// Tick a running reload completes (0: none running).
    pub reload_done_tick: u64,
    /// The weapon's heat after its last shot.
    pub heat: f32,
    /// The tick of that shot.
    pub heat_tick: u64,
    /// First tick each ability slot may be used again.
    pub ability_ready_tick: [u64; 4],
    /// Actions it may still start now (token bucket).
    pub action_tokens: f32,
    /// Tick the bucket was last topped up.
    pub tokens_tick: u64,
    /// Its status effects.
    pub effects: Effects,
}

impl Fighter {
    /// A fighter that may act at once with a full magazine of `magazine` shots.
    pub(crate) fn new(
        session: SessionId,
        slot: u16,
        team: Team,
        role: Option<Role>,
        base_speed_mps: f32,
        magazine: u32,
        action_burst: f32,
    ) -> Fighter {
        Fighter {
            session,
            slot,
            team,
            role,
            base_speed_mps,
            applied_move_factor: 1.0,
            next_shot_tick: 0,
            ammo: magazine,
            reload_done_tick: 0,
            heat: 0.0,
            heat_tick: 0,
            ability_ready_tick: [0; 4],
            action_tokens: action_burst,
            tokens_tick: 0,
            effects: Effects::default(),
        }
    }

    /// Takes one action from the bucket refilled at `per_tick` up to `burst`; false when empty.
    pub(crate) fn take_action_token(&mut self, tick: u64, per_tick: f32, burst: f32) -> bool {
        let elapsed = tick.saturating_sub(self.tokens_tick) as f32;
        self.action_tokens = (self.action_tokens + elapsed * per_tick).min(burst);
        self.tokens_tick = tick;
        if self.action_tokens < 1.0 {
            return false;
        }
        self.action_tokens -= 1.0;
        true
    }
}

/// What drives a non-player fighter.
#[derive(Component, Debug, Clone, Copy, PartialEq)]
pub struct NpcBrain {
    /// Its kind, by index in `combat/npcs.toml` (name order).
    pub kind: u16,
    /// The participant slot it is after.
    pub target: Option<u16>,
    /// First tick it may attack again.
    pub next_attack_tick: u64,
    /// The session difficulty's factor on its damage.
    pub damage_factor: f32,
}
