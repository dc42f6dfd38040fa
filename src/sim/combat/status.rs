//! The per-tick sweep of status effects on every fighter: damage pulses join the tick's hits,
//! expiries are logged, and a change in the movement factor (slow, freeze) is written to the
//! fighter's body speed.

use bevy_ecs::change_detection::DetectChanges;
use bevy_ecs::system::{Query, Res, ResMut};

use super::effects::EffectChange;
use super::fighter::Fighter;
use super::hits::{HitQueue, PendingHit};
use super::log::LogEvent;
use super::rules::CombatRules;
use super::sessions::Sessions;
use crate::sim::gameplay::{Motion, MotionHandle};
use crate::sim::resources::{ActiveConfig, Tick};

/// Advances every fighter's effects by one tick.
pub(crate) fn advance_effects(
    rules: Res<CombatRules>,
    config: Res<ActiveConfig>,
    tick: Res<Tick>,
    mut fighters: Query<(&mut Fighter, &MotionHandle)>,
    mut sessions: ResMut<Sessions>,
    mut hits: ResMut<HitQueue>,
    mut motion: ResMut<Motion>,
) {
    let reloaded = config.is_changed() && !config.is_added();
    for (mut fighter, handle) in &mut fighters {
        if !fighter.effects.any() && fighter.applied_move_factor == 1.0 && !reloaded {
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
        if reloaded && fighter.role.is_some() {
            fighter.base_speed_mps = config.0.gameplay.characters.player.speed_mps;
        }
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
        update_speed(fighter, *handle, &rules, &mut motion, reloaded);
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
