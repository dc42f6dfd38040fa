//! Combat: sessions with their lifecycle, participants and combat log; weapon and ability actions
//! checked against range, fire interval, cooldowns, ammunition and an action rate; data-driven
//! damage resolved for all hits of a tick in one SIMD pass; status effects; NPCs and bosses with a
//! simple AI; and rewards handed to the economy when a session ends. Owns the `Combat` phase;
//! moves bodies only through the gameplay motion columns (steering NPCs, slowing the affected).

mod actions;
mod ai;
mod carry_over;
pub mod damage;
mod effects;
mod fighter;
mod hits;
mod kinds;
mod lifecycle;
mod log;
mod rewards;
mod rules;
mod session_commands;
mod sessions;
mod status;

use bevy_ecs::entity::Entity;
use bevy_ecs::schedule::IntoScheduleConfigs;
use bevy_ecs::world::World;

pub use effects::{EffectChange, EffectRule, EffectSlot, Effects};
pub use fighter::{Fighter, NpcBrain};
pub use hits::{HitQueue, PendingHit};
pub use kinds::{Difficulty, Member, ParticipantStatus, Role, SessionId, SessionKind, SessionStatus, Team};
pub use log::{CombatLog, LogEntry, LogEvent};
pub use rules::CombatRules;
pub use session_commands::{DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT, write_view};
pub use sessions::{Participant, ParticipantView, Session, SessionFilter, SessionSummary, Sessions};

pub(crate) use actions::apply_actions;
pub(crate) use session_commands::{SessionRead, answer_reads, create, end, join, leave};

use super::command::ClientId;
use super::gameplay::Clients;
use super::resources::{ActiveConfig, TickRate, refresh_rules};
use super::schedule::{SimPlugin, SimSet, TickSchedules};

/// Adds the combat resources and systems.
#[derive(Debug, Default)]
pub(crate) struct CombatPlugin;

impl SimPlugin for CombatPlugin {
    fn build(&self, world: &mut World, schedules: &mut TickSchedules) {
        let rules = CombatRules::resolve(&world.resource::<ActiveConfig>().0, *world.resource::<TickRate>());
        world.insert_resource(rules);
        world.init_resource::<Sessions>();
        world.init_resource::<HitQueue>();
        schedules.simulate.add_systems(
            (refresh_rules::<CombatRules>, carry_over::carry_over)
                .chain()
                .in_set(SimSet::Input)
                .before(super::input::route_commands),
        );
        schedules.simulate.add_systems(
            status::refresh_fighter_speeds
                .in_set(SimSet::Gameplay)
                .after(crate::sim::gameplay::refresh_speeds)
                .before(crate::sim::gameplay::integrate_motion),
        );
        schedules.simulate.add_systems(
            (
                status::advance_effects,
                ai::run_npc_ai,
                hits::resolve_hits,
                lifecycle::update_sessions,
            )
                .chain()
                .in_set(SimSet::Combat),
        );
    }
}

/// Takes a client's player out of its session before the player leaves the world.
pub(crate) fn leave_world(world: &mut World, client: ClientId) {
    let Some(entity) = world.resource::<Clients>().entity(client) else {
        return;
    };
    let Some(fighter) = world.get::<Fighter>(entity).copied() else {
        return;
    };
    session_commands::withdraw(world, fighter.session, fighter.slot, Some::<Entity>(entity));
}
