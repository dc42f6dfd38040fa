//! The per-tick sweep of status effects on every fighter: damage pulses join the tick's hits,
//! expiries are logged, and a change in the movement factor (slow, freeze) is written to the
//! fighter's body speed.

use bevy_ecs::change_detection::DetectChanges;
use bevy_ecs::system::{Query, Res, ResMut};

use super::effects::EffectChange;
use super::fighter::Fighter;
use super::hits::{HitQueue, PendingHit};
use super::kinds::ParticipantStatus;
use super::log::LogEvent;
use super::rules::CombatRules;
use super::sessions::Sessions;
use crate::sim::gameplay::{Motion, MotionHandle};
use crate::sim::resources::{ActiveConfig, Tick};

/// After a configuration reload, which gave every player's body its configured speed, gives each
/// fighter's body its speed in the fight before anything moves: a player's new speed, an NPC's
/// own, times the fighter's movement effects; none for the dead.
pub(crate) fn refresh_fighter_speeds(
    rules: Res<CombatRules>,
    config: Res<ActiveConfig>,
    sessions: Res<Sessions>,
    mut fighters: Query<(&mut Fighter, &MotionHandle)>,
    mut motion: ResMut<Motion>,
) {
    if !config.is_changed() || config.is_added() {
        return;
    }
    for (mut fighter, &handle) in &mut fighters {
        let status = sessions
            .get(fighter.session)
            .and_then(|session| session.participant(fighter.slot))
            .map(|participant| participant.status);
        match status {
            Some(ParticipantStatus::Alive) => {
                if fighter.role.is_some() {
                    fighter.base_speed_mps = config.0.gameplay.characters.player.speed_mps;
                }
                update_speed(&mut fighter, handle, &rules, &mut motion, true);
            }
            Some(ParticipantStatus::Dead) => motion.set_speed(handle, 0.0),
            _ => {}
        }
    }
}

/// Advances every fighter's effects by one tick.
pub(crate) fn advance_effects(
    rules: Res<CombatRules>,
    tick: Res<Tick>,
    mut fighters: Query<(&mut Fighter, &MotionHandle)>,
    mut sessions: ResMut<Sessions>,
    mut hits: ResMut<HitQueue>,
    mut motion: ResMut<Motion>,
) {
    for (mut fighter, handle) in &mut fighters {
        if !fighter.effects.any() && fighter.applied_move_factor == 1.0 {
            continue;
        }
        let Some(session) = sessions.get_mut(fighter.session) else {
            continue;
        };
        let slot = fighter.slot;
        if !session.participant(slot).is_some_and(|p| p.is_alive()) {
            continue;
        }
        let fighter = &mut *fighter;
        fighter.effects.advance(&rules.effects, |change| match change {
            EffectChange::Pulse {
                damage, damage_type, ..
            } => hits.0.push(PendingHit {
                session: fighter.session,
                attacker: None,
                target: slot,
                base_damage: damage,
                attack_power: 0.0,
                crit: 1.0,
                damage_type,
                effect: None,
            }),
            EffectChange::Expired { effect } => {
                session
                    .log
                    .push(tick.0, LogEvent::EffectExpired { target: slot, effect });
            }
        });
        update_speed(fighter, *handle, &rules, &mut motion, false);
    }
}

/// Writes the fighter's speed after its movement effects to its body, when it changed (or always,
/// with `force`).
pub(crate) fn update_speed(
    fighter: &mut Fighter,
    handle: MotionHandle,
    rules: &CombatRules,
    motion: &mut Motion,
    force: bool,
) {
    let factor = fighter.effects.move_factor(&rules.effects);
    if factor != fighter.applied_move_factor || force {
        fighter.applied_move_factor = factor;
        motion.set_speed(handle, fighter.base_speed_mps * factor);
    }
}
