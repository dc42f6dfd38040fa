//! Combat actions from clients: firing the role's weapon or using one of its abilities. Each is
//! checked (session active, participant alive and not frozen, the per-participant action rate,
//! fire interval or cooldown, ammunition, heat, target and range) and then queues its hits or applies
//! its heals; a refused action changes nothing but the action budget and gets a typed refusal.

use bevy_ecs::entity::Entity;
use bevy_ecs::world::World;
use bumpalo::Bump;

use super::damage::falloff;
use super::fighter::Fighter;
use super::hits::{HitQueue, PendingHit, apply_effect, sync_vitals};
use super::kinds::{SessionId, SessionStatus, Team};
use super::log::LogEvent;
use super::rules::{AbilityRule, CombatRules, WeaponRule};
use super::sessions::{Session, Sessions};
use crate::config::AbilityTargets;
use crate::sim::command::{Action, ActionInput, ClientId, Refusal, ReplyTo, Target};
use crate::sim::gameplay::{Clients, Motion, MotionHandle, unit_interval};
use crate::sim::output::{ReplyBody, respond};
use crate::sim::resources::{SimRng, Tick};

/// Applies this tick's actions in arrival order.
pub(crate) fn apply_actions(world: &mut World, actions: &[(ReplyTo, ActionInput)], bump: &Bump) {
    for &(to, input) in actions {
        let body = match act(world, to.client, input, bump) {
            Ok(()) => ReplyBody::Acted,
            Err(refusal) => ReplyBody::Refused(refusal),
        };
        respond(world, to, body);
    }
}

/// Who acts and where things are, gathered before anything changes.
struct Scene {
    entity: Entity,
    fighter: Fighter,
    origin: [f32; 2],
    aim: [f32; 2],
    target_slot: Option<u16>,
    tick: u64,
}

fn act(world: &mut World, client: ClientId, input: ActionInput, bump: &Bump) -> Result<(), Refusal> {
    let mut scene = prepare(world, client, &input)?;
    let rules = world.resource::<CombatRules>();
    let role = scene.fighter.role.ok_or(Refusal::NotInSession)?;
    let loadout = rules.roles.ok_or(Refusal::NotInSession)?[role as usize];
    let limits = rules.limits;
    let weapon = rules.weapons.get(usize::from(loadout.weapon)).copied();
    let attack_factor = scene.fighter.effects.attack_factor(&rules.effects);
    let ability = match input.action {
        Action::Fire => None,
        Action::Ability(slot) => {
            let index = loadout
                .abilities
                .get(usize::from(slot))
                .copied()
                .flatten()
                .ok_or(Refusal::NoSuchAbility)?;
            Some(
                *rules
                    .abilities
                    .get(usize::from(index))
                    .ok_or(Refusal::NoSuchAbility)?,
            )
        }
    };
    let allowed = scene
        .fighter
        .take_action_token(scene.tick, limits.actions_per_tick, limits.action_burst);
    store_fighter(world, &scene);
    if !allowed {
        return Err(Refusal::RateLimited);
    }
    match (input.action, ability) {
        (Action::Ability(slot), Some(ability)) => use_ability(
            world,
            &mut scene,
            input.session,
            usize::from(slot),
            &ability,
            loadout.attack_power,
            bump,
        ),
        _ => {
            let weapon = weapon.ok_or(Refusal::InvalidTarget)?;
            fire(
                world,
                &mut scene,
                input.session,
                &weapon,
                loadout.attack_power,
                attack_factor,
                bump,
            )
        }
    }
}

/// Checks who acts and at what, and gathers positions.
fn prepare(world: &World, client: ClientId, input: &ActionInput) -> Result<Scene, Refusal> {
    let entity = world
        .resource::<Clients>()
        .entity(client)
        .ok_or(Refusal::NotJoined)?;
    let fighter = *world
        .get::<Fighter>(entity)
        .filter(|f| f.session == input.session)
        .ok_or(Refusal::NotInSession)?;
    let session = world
        .resource::<Sessions>()
        .get(input.session)
        .ok_or(Refusal::SessionNotFound)?;
    if session.status() != SessionStatus::Active {
        return Err(Refusal::SessionNotActive);
    }
    if !session.participant(fighter.slot).is_some_and(|p| p.is_alive()) {
        return Err(Refusal::NotAlive);
    }
    let rules = world.resource::<CombatRules>();
    if fighter.effects.stops_actions(&rules.effects) {
        return Err(Refusal::Stunned);
    }
    let origin = position_of(world, entity).ok_or(Refusal::NotInSession)?;
    let (aim, target_slot) = match input.target {
        Target::Point(point) if point.iter().all(|v| v.is_finite()) => (point, None),
        Target::Point(_) => return Err(Refusal::InvalidTarget),
        Target::Entity(net_id) => {
            let slot = session.slot_of_net_id(net_id).ok_or(Refusal::InvalidTarget)?;
            let target = session
                .participant(slot)
                .filter(|p| p.is_alive())
                .ok_or(Refusal::InvalidTarget)?;
            let point = target
                .entity
                .and_then(|e| position_of(world, e))
                .ok_or(Refusal::InvalidTarget)?;
            (point, Some(slot))
        }
    };
    Ok(Scene {
        entity,
        fighter,
        origin,
        aim,
        target_slot,
        tick: world.resource::<Tick>().0,
    })
}

fn position_of(world: &World, entity: Entity) -> Option<[f32; 2]> {
    let handle = world.get::<MotionHandle>(entity)?;
    Some(world.resource::<Motion>().position(*handle))
}

fn distance(a: [f32; 2], b: [f32; 2]) -> f32 {
    (a[0] - b[0]).hypot(a[1] - b[1])
}

fn store_fighter(world: &mut World, scene: &Scene) {
    if let Some(mut fighter) = world.get_mut::<Fighter>(scene.entity) {
        *fighter = scene.fighter;
    }
}

/// Whether `other` is an opponent of `team` (everyone else, in a free-for-all).
fn opposes(team: Team, other: Team, same_slot: bool) -> bool {
    match team {
        Team::Solo => !same_slot,
        _ => other != team,
    }
}

/// The living participants an action at `aim` affects: within `radius` of it (or the aimed-at
/// participant alone, with no radius), enemies or allies of the actor, each with its distance from
/// the actor.
fn affected(
    world: &World,
    session: &Session,
    scene: &Scene,
    radius: f32,
    enemies: bool,
    out: &mut bumpalo::collections::Vec<'_, (u16, f32)>,
) {
    let motion = world.resource::<Motion>();
    let team = scene.fighter.team;
    let mut consider = |slot: u16, participant: &super::sessions::Participant| {
        let hostile = opposes(team, participant.team, slot == scene.fighter.slot);
        if !participant.is_alive() || hostile != enemies {
            return;
        }
        let handle = participant.entity.and_then(|e| world.get::<MotionHandle>(e));
        let Some(point) = handle.map(|h| motion.position(*h)) else {
            return;
        };
        if radius <= 0.0 || distance(point, scene.aim) <= radius {
            out.push((slot, distance(scene.origin, point)));
        }
    };
    if radius > 0.0 {
        for (slot, participant) in session.participants.iter().enumerate() {
            consider(slot as u16, participant);
        }
    } else if let Some(slot) = scene.target_slot
        && let Some(participant) = session.participant(slot)
    {
        consider(slot, participant);
    }
}

fn fire(
    world: &mut World,
    scene: &mut Scene,
    session_id: SessionId,
    weapon: &WeaponRule,
    attack_power: f32,
    attack_factor: f32,
    bump: &Bump,
) -> Result<(), Refusal> {
    let tick = scene.tick;
    let fighter = &mut scene.fighter;
    if fighter.reload_done_tick > 0 {
        if tick < fighter.reload_done_tick {
            return Err(Refusal::Reloading);
        }
        fighter.reload_done_tick = 0;
        fighter.ammo = weapon.magazine;
    }
    if tick < fighter.next_shot_tick {
        return Err(Refusal::OnCooldown);
    }
    let cooled = tick.saturating_sub(fighter.heat_tick) as f32 * weapon.cooling_per_tick;
    let heat = (fighter.heat - cooled).max(0.0);
    if weapon.heat_per_shot > 0.0 && heat + weapon.heat_per_shot > weapon.heat_capacity {
        return Err(Refusal::Overheated);
    }
    if weapon.radius_m <= 0.0 && scene.target_slot.is_none() {
        return Err(Refusal::InvalidTarget);
    }
    if distance(scene.origin, scene.aim) > weapon.range_m {
        return Err(Refusal::OutOfRange);
    }
    let victims = victims(world, session_id, scene, weapon.radius_m, true, bump)?;
    let fighter = &mut scene.fighter;
    let interval = (weapon.interval_ticks as f32 / attack_factor.max(0.01)).ceil() as u64;
    fighter.next_shot_tick = tick + interval.max(1);
    fighter.heat = heat + weapon.heat_per_shot;
    fighter.heat_tick = tick;
    if weapon.magazine > 0 {
        fighter.ammo = fighter.ammo.saturating_sub(1);
        if fighter.ammo == 0 {
            fighter.reload_done_tick = tick + u64::from(weapon.reload_ticks);
        }
    }
    store_fighter(world, scene);
    let rng = &mut world.resource_mut::<SimRng>().into_inner().0;
    let crit = if unit_interval(rng) < weapon.crit_chance {
        weapon.crit_multiplier
    } else {
        1.0
    };
    let mut queued = bumpalo::collections::Vec::with_capacity_in(victims.len(), bump);
    for &(slot, range) in &victims {
        let effect = weapon
            .effect
            .filter(|_| unit_interval(rng) < weapon.effect_chance);
        queued.push(PendingHit {
            session: session_id,
            attacker: Some(scene.fighter.slot),
            target: slot,
            base_damage: weapon.base_damage
                * falloff(
                    range,
                    weapon.falloff_start_m,
                    weapon.range_m,
                    weapon.falloff_min_factor,
                ),
            attack_power,
            crit,
            damage_type: weapon.damage_type,
            effect,
        });
    }
    record_attack(world, session_id, scene, !victims.is_empty());
    world.resource_mut::<HitQueue>().0.extend(queued);
    Ok(())
}

fn use_ability(
    world: &mut World,
    scene: &mut Scene,
    session_id: SessionId,
    slot: usize,
    ability: &AbilityRule,
    attack_power: f32,
    bump: &Bump,
) -> Result<(), Refusal> {
    let tick = scene.tick;
    let ready = scene
        .fighter
        .ability_ready_tick
        .get(slot)
        .copied()
        .unwrap_or(u64::MAX);
    if tick < ready {
        return Err(Refusal::OnCooldown);
    }
    if ability.radius_m <= 0.0 && scene.target_slot.is_none() {
        return Err(Refusal::InvalidTarget);
    }
    if distance(scene.origin, scene.aim) > ability.range_m {
        return Err(Refusal::OutOfRange);
    }
    let enemies = ability.targets == AbilityTargets::Enemies;
    let affected = victims(world, session_id, scene, ability.radius_m, enemies, bump)?;
    if let Some(ready) = scene.fighter.ability_ready_tick.get_mut(slot) {
        *ready = tick + u64::from(ability.cooldown_ticks);
    }
    store_fighter(world, scene);
    record_attack(world, session_id, scene, !affected.is_empty());
    if !enemies {
        heal(
            world,
            session_id,
            scene.fighter.slot,
            &affected,
            ability.heal,
            tick,
        );
        if let Some(effect) = ability.effect {
            for &(slot, _) in &affected {
                let ally = world
                    .resource::<Sessions>()
                    .get(session_id)
                    .and_then(|s| s.participant(slot))
                    .and_then(|p| p.entity);
                if let Some(entity) = ally {
                    apply_effect(world, session_id, slot, entity, effect);
                }
            }
        }
    } else if ability.base_damage > 0.0 || ability.effect.is_some() {
        let hits = affected.iter().map(|&(target, _)| PendingHit {
            session: session_id,
            attacker: Some(scene.fighter.slot),
            target,
            base_damage: ability.base_damage,
            attack_power,
            crit: 1.0,
            damage_type: ability.damage_type,
            effect: ability.effect,
        });
        world.resource_mut::<HitQueue>().0.extend(hits);
    }
    Ok(())
}

/// The participants an action affects; a single-target action aimed at someone it may not affect
/// is refused.
fn victims<'b>(
    world: &World,
    session_id: SessionId,
    scene: &Scene,
    radius: f32,
    enemies: bool,
    bump: &'b Bump,
) -> Result<bumpalo::collections::Vec<'b, (u16, f32)>, Refusal> {
    let session = world
        .resource::<Sessions>()
        .get(session_id)
        .ok_or(Refusal::SessionNotFound)?;
    let mut out = bumpalo::collections::Vec::new_in(bump);
    affected(world, session, scene, radius, enemies, &mut out);
    if radius <= 0.0 && out.is_empty() {
        return Err(Refusal::InvalidTarget);
    }
    Ok(out)
}

/// Counts the shot (and the hit) and logs the attack.
fn record_attack(world: &mut World, session_id: SessionId, scene: &Scene, hit: bool) {
    let tick = world.resource::<Tick>().0;
    let mut sessions = world.resource_mut::<Sessions>();
    let Some(session) = sessions.get_mut(session_id) else {
        return;
    };
    if let Some(actor) = session.participant_mut(scene.fighter.slot) {
        actor.shots_fired += 1;
        actor.shots_hit += u32::from(hit);
    }
    session.log.push(
        tick,
        LogEvent::Attack {
            attacker: scene.fighter.slot,
            target: scene.target_slot,
        },
    );
}

/// Restores up to `amount` health to each ally in `allies`.
fn heal(
    world: &mut World,
    session_id: SessionId,
    healer: u16,
    allies: &[(u16, f32)],
    amount: f32,
    tick: u64,
) {
    if amount <= 0.0 {
        return;
    }
    for &(slot, _) in allies {
        let mut sessions = world.resource_mut::<Sessions>();
        let Some(session) = sessions.get_mut(session_id) else {
            return;
        };
        let Some(ally) = session.participant_mut(slot) else {
            continue;
        };
        let restored = amount.min(ally.max_health - ally.health).max(0.0);
        ally.health += restored;
        let (entity, health) = (ally.entity, ally.health);
        if let Some(healer) = session.participant_mut(healer) {
            healer.healing_done += restored;
        }
        session.log.push(
            tick,
            LogEvent::Heal {
                healer,
                target: slot,
                amount: restored,
            },
        );
        if let Some(entity) = entity {
            sync_vitals(world, entity, health, false);
        }
    }
}
