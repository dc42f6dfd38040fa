//! The hits of a tick: weapons, abilities, NPC attacks and effect pulses queue [`PendingHit`]s;
//! [`resolve_hits`] runs the damage formula over all of them in one SIMD pass, then applies them
//! in queue order (health, statistics, kills and assists, effects, log and events).

use bevy_ecs::entity::Entity;
use bevy_ecs::resource::Resource;
use bevy_ecs::world::{Mut, World};

use super::damage::{HitLanes, resolve_simd};
use super::fighter::{Fighter, NpcBrain};
use super::kinds::{ParticipantStatus, SessionId};
use super::log::LogEvent;
use super::rules::CombatRules;
use super::sessions::Sessions;
use super::status::update_speed;
use crate::sim::gameplay::{Defense, Motion, MotionHandle, Vitals};
use crate::sim::output::{Outbox, SimEvent};
use crate::sim::resources::{FrameArena, Tick};

/// One hit waiting for this tick's damage pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PendingHit {
    /// The session it happens in.
    pub session: SessionId,
    /// The attacker's participant slot (`None`: a status effect's pulse).
    pub attacker: Option<u16>,
    /// The target's participant slot.
    pub target: u16,
    /// Base damage after distance falloff.
    pub base_damage: f32,
    /// The attacker's attack power in percent.
    pub attack_power: f32,
    /// The crit multiplier if it crits, else 1.
    pub crit: f32,
    /// Damage type index.
    pub damage_type: u8,
    /// An effect it applies (already rolled).
    pub effect: Option<u8>,
}

/// Hits queued for this tick.
#[derive(Debug, Default, Resource)]
pub struct HitQueue(pub(crate) Vec<PendingHit>);

/// Resolves and applies every queued hit.
pub(crate) fn resolve_hits(world: &mut World) {
    let mut hits = std::mem::take(&mut world.resource_mut::<HitQueue>().0);
    if !hits.is_empty() {
        world.resource_scope(|world, mut arena: Mut<FrameArena>| {
            let bump = arena.bump();
            let n = hits.len();
            let column = || bumpalo::collections::Vec::with_capacity_in(n, bump);
            let (mut base, mut power, mut crit, mut multiplier, mut resistance, mut armor) =
                (column(), column(), column(), column(), column(), column());
            let rules = world.resource::<CombatRules>();
            let sessions = world.resource::<Sessions>();
            for hit in &hits {
                let target = sessions
                    .get(hit.session)
                    .and_then(|s| s.participant(hit.target))
                    .and_then(|p| p.entity);
                let defense = target.and_then(|e| world.get::<Defense>(e));
                let damage_type = usize::from(hit.damage_type);
                base.push(hit.base_damage);
                power.push(hit.attack_power);
                crit.push(hit.crit);
                multiplier.push(rules.type_multipliers.get(damage_type).copied().unwrap_or(1.0));
                resistance.push(
                    defense
                        .and_then(|d| d.resistance_pct.get(damage_type).copied())
                        .unwrap_or(0.0),
                );
                armor.push(defense.map_or(0.0, |d| d.armor_mitigation));
            }
            let lanes = HitLanes {
                base_damage: &base,
                attack_power: &power,
                crit: &crit,
                type_multiplier: &multiplier,
                resistance_pct: &resistance,
                armor_mitigation: &armor,
            };
            let mut damage = bumpalo::collections::Vec::from_iter_in(std::iter::repeat_n(0.0, n), bump);
            resolve_simd(&lanes, &mut damage);
            for (hit, &amount) in hits.iter().zip(damage.iter()) {
                apply_hit(world, hit, amount);
            }
        });
    }
    hits.clear();
    world.resource_mut::<HitQueue>().0 = hits;
}

/// Applies one resolved hit to its target, if the target still fights.
fn apply_hit(world: &mut World, hit: &PendingHit, amount: f32) {
    let tick = world.resource::<Tick>().0;
    let assist_window = world.resource::<CombatRules>().limits.assist_window_ticks;
    let mut sessions = world.resource_mut::<Sessions>();
    let Some(session) = sessions.get_mut(hit.session) else {
        return;
    };
    let Some(target) = session.participant_mut(hit.target).filter(|p| p.is_alive()) else {
        return;
    };
    let lost = amount.min(target.health);
    target.health -= lost;
    target.damage_taken += lost;
    if let Some(attacker) = hit.attacker {
        target.note_attacker(attacker, tick);
    }
    let died = target.health <= 0.0;
    if died {
        target.status = ParticipantStatus::Dead;
        target.health = 0.0;
        target.deaths += 1;
    }
    let (target_entity, target_net_id, health) = (target.entity, target.net_id, target.health);
    let recent = target.recent_attackers;
    let attacker_net_id = hit
        .attacker
        .and_then(|slot| session.participant_mut(slot))
        .map(|attacker| {
            attacker.damage_dealt += lost;
            if died {
                attacker.kills += 1;
            }
            attacker.net_id
        });
    let crit = hit.crit > 1.0;
    session.log.push(
        tick,
        LogEvent::Hit {
            attacker: hit.attacker,
            target: hit.target,
            damage: lost,
            crit,
        },
    );
    if died {
        for &(slot, at) in &recent {
            let assisted = Some(slot) != hit.attacker && at + assist_window >= tick && at > 0;
            if let Some(helper) = session.participant_mut(slot).filter(|_| assisted) {
                helper.assists += 1;
            }
        }
        session.log.push(
            tick,
            LogEvent::Kill {
                killer: hit.attacker,
                target: hit.target,
            },
        );
    }
    if died {
        sessions.touch(hit.session);
    }
    if let (Some(effect), Some(entity), false) = (hit.effect, target_entity, died) {
        apply_effect(world, hit.session, hit.target, entity, effect);
    }
    if let Some(entity) = target_entity {
        sync_vitals(world, entity, health, died);
    }
    let mut outbox = world.resource_mut::<Outbox>();
    outbox.events.push(SimEvent::Hit {
        session: hit.session,
        attacker: attacker_net_id,
        target: target_net_id,
        damage: lost,
        crit,
    });
    if died {
        outbox.events.push(SimEvent::Killed {
            session: hit.session,
            killer: attacker_net_id,
            target: target_net_id,
        });
    }
}

/// Applies effect `effect` to participant `slot` of `session` (the fighter `entity`), logs it,
/// and, since it may slow or freeze, updates its speed at once. Bosses shrug off effects that
/// hinder them.
pub(crate) fn apply_effect(world: &mut World, session: SessionId, slot: u16, entity: Entity, effect: u8) {
    let Some(rule) = world
        .resource::<CombatRules>()
        .effects
        .get(usize::from(effect))
        .copied()
    else {
        return;
    };
    let Some(&handle) = world.get::<MotionHandle>(entity) else {
        return;
    };
    if rule.hinders() && is_boss(world, entity) {
        return;
    }
    let stacks = world.resource_scope(|world, rules: Mut<CombatRules>| {
        world.resource_scope(|world, mut motion: Mut<Motion>| {
            let mut fighter = world.get_mut::<Fighter>(entity)?;
            let stacks = fighter.effects.apply(effect, &rule);
            update_speed(&mut fighter, handle, &rules, &mut motion, false);
            Some(stacks)
        })
    });
    let tick = world.resource::<Tick>().0;
    if let Some(stacks) = stacks
        && let Some(session) = world.resource_mut::<Sessions>().into_inner().get_mut(session)
    {
        session.log.push(
            tick,
            LogEvent::EffectApplied {
                target: slot,
                effect,
                stacks,
            },
        );
    }
}

/// Whether `entity` is a boss NPC.
fn is_boss(world: &World, entity: Entity) -> bool {
    let rules = world.resource::<CombatRules>();
    world
        .get::<NpcBrain>(entity)
        .and_then(|brain| rules.npcs.get(usize::from(brain.kind)))
        .is_some_and(|npc| npc.boss)
}

/// Writes a participant's health to its entity; the dead stop moving and lose their effects.
pub(crate) fn sync_vitals(world: &mut World, entity: Entity, health: f32, died: bool) {
    if let Some(mut vitals) = world.get_mut::<Vitals>(entity) {
        vitals.health = health;
    }
    if !died {
        return;
    }
    if let Some(mut fighter) = world.get_mut::<Fighter>(entity) {
        fighter.effects = Default::default();
        fighter.applied_move_factor = 0.0;
    }
    if let Some(handle) = world.get::<MotionHandle>(entity).copied() {
        world.resource_mut::<Motion>().set_speed(handle, 0.0);
        world.resource_mut::<Motion>().steer(handle, 0.0, 0.0);
    }
}
