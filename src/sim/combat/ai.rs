//! NPC behaviour in active sessions: keep the current target while it lives, otherwise acquire the
//! nearest living enemy within the aggro radius; chase it until within attack range, then attack
//! at the configured interval for a damage drawn from the configured range.

use bevy_ecs::system::{Query, Res, ResMut};

use super::fighter::{Fighter, NpcBrain};
use super::hits::{HitQueue, PendingHit};
use super::kinds::SessionStatus;
use super::log::LogEvent;
use super::rules::CombatRules;
use super::sessions::{Session, Sessions};
use crate::sim::gameplay::{Motion, MotionHandle, unit_interval};
use crate::sim::resources::{SimRng, Tick};

/// Steers and fires every NPC fighter.
pub(crate) fn run_npc_ai(
    rules: Res<CombatRules>,
    tick: Res<Tick>,
    mut npcs: Query<(&mut NpcBrain, &Fighter, &MotionHandle)>,
    bodies: Query<&MotionHandle>,
    mut sessions: ResMut<Sessions>,
    (mut motion, mut hits, mut rng): (ResMut<Motion>, ResMut<HitQueue>, ResMut<SimRng>),
) {
    for (mut brain, fighter, handle) in &mut npcs {
        let Some(session) = sessions.get_mut(fighter.session) else {
            continue;
        };
        let Some(npc) = rules.npcs.get(usize::from(brain.kind)) else {
            continue;
        };
        let alive = session.participant(fighter.slot).is_some_and(|p| p.is_alive());
        if session.status() != SessionStatus::Active || !alive {
            motion.steer(*handle, 0.0, 0.0);
            continue;
        }
        // Frozen bodies have speed 0, so steering them is harmless; stopped hands cannot attack.
        let can_act = !fighter.effects.stops_actions(&rules.effects);
        let attack_factor = fighter.effects.attack_factor(&rules.effects).max(0.01);
        let origin = motion.position(*handle);
        let position_of = |slot: u16, session: &Session| {
            let entity = session.participant(slot).filter(|p| p.is_alive())?.entity?;
            Some(motion.position(*bodies.get(entity).ok()?))
        };
        let kept = brain
            .target
            .and_then(|slot| position_of(slot, session).map(|p| (slot, p)));
        let target = kept.or_else(|| {
            (0..session.participants.len() as u16)
                .filter(|&slot| session.participant(slot).is_some_and(|p| p.team != fighter.team))
                .filter_map(|slot| position_of(slot, session).map(|p| (slot, p)))
                .map(|(slot, p)| (slot, p, (p[0] - origin[0]).hypot(p[1] - origin[1])))
                .filter(|(.., d)| *d <= npc.aggro_radius_m)
                .min_by(|a, b| a.2.total_cmp(&b.2))
                .map(|(slot, p, _)| (slot, p))
        });
        brain.target = target.map(|(slot, _)| slot);
        let Some((slot, point)) = target else {
            motion.steer(*handle, 0.0, 0.0);
            continue;
        };
        let (dx, dy) = (point[0] - origin[0], point[1] - origin[1]);
        let distance = dx.hypot(dy);
        if distance > npc.attack_range_m * 0.9 {
            motion.steer(*handle, dx / distance, dy / distance);
        } else {
            motion.steer(*handle, 0.0, 0.0);
        }
        if !can_act || distance > npc.attack_range_m || tick.0 < brain.next_attack_tick {
            continue;
        }
        let interval = (npc.attack_interval_ticks as f32 / attack_factor).ceil() as u64;
        brain.next_attack_tick = tick.0 + interval.max(1);
        let [low, high] = npc.damage;
        let roll = low + (high - low) * unit_interval(&mut rng.0);
        if let Some(me) = session.participant_mut(fighter.slot) {
            me.shots_fired += 1;
            me.shots_hit += 1;
        }
        session.log.push(
            tick.0,
            LogEvent::Attack {
                attacker: fighter.slot,
                target: Some(slot),
            },
        );
        hits.0.push(PendingHit {
            session: fighter.session,
            attacker: Some(fighter.slot),
            target: slot,
            base_damage: roll * brain.damage_factor,
            attack_power: 0.0,
            crit: 1.0,
            damage_type: npc.damage_type,
            effect: None,
        });
    }
}
