//! What a configuration reload or a change of the tick rate carries over to the characters already
//! in the world, so that a fight in progress plays on under the new rules as if it had started
//! under them:
//!
//! - status effects and NPC kinds are held by index in name order, so each follows its name to
//!   its place in the new order (an effect removed from the files ends; an NPC whose kind was
//!   removed stops acting, keeps its stats and can still be defeated);
//! - characters' defences follow their edited stats, and their health keeps its share of an
//!   edited maximum; a boss sheds the effects an edit made hindering (or that it bore when its
//!   kind became a boss), since bosses shrug off effects that hinder them;
//! - every combat timer counted in ticks is rescaled, so that a cooldown, a reload or a burn runs
//!   out after the same time at the new rate as it would have at the old one.

use std::collections::BTreeMap;
use std::sync::Arc;

use bevy_ecs::query::{Has, Or, With};
use bevy_ecs::system::{Local, Query, Res, ResMut};

use super::fighter::{Fighter, NpcBrain};
use super::kinds::Member;
use super::rules::CombatRules;
use super::sessions::Sessions;
use crate::config::Config;
use crate::sim::gameplay::{Defense, Player, Vitals, player_defense};
use crate::sim::rescale::Rescale;
use crate::sim::resources::{ActiveConfig, Tick, TickRate};

/// The kind an NPC is given when its kind leaves `combat/npcs.toml` while it fights: no rule
/// resolves it, so it stops acting (the wire's "no kind" value).
const REMOVED_NPC_KIND: u16 = u16::MAX;

/// The configuration and tick rate the characters in the world were last brought in line with.
#[derive(Debug, Default)]
pub(crate) struct InForce {
    config: Option<Arc<Config>>,
    rate_hz: f32,
}

/// Brings every character in line with a reloaded configuration or a new tick rate; does nothing
/// on the ticks in between. Runs after the combat rules are resolved and before any command.
#[expect(clippy::type_complexity, reason = "one query reaches every character once")]
pub(crate) fn carry_over(
    config: Res<ActiveConfig>,
    rate: Res<TickRate>,
    tick: Res<Tick>,
    rules: Res<CombatRules>,
    mut in_force: Local<InForce>,
    mut sessions: ResMut<Sessions>,
    mut characters: Query<
        (
            Option<&mut Fighter>,
            Option<&mut NpcBrain>,
            Option<&mut Defense>,
            Option<&mut Vitals>,
            Has<Player>,
        ),
        Or<(With<Fighter>, With<Player>)>,
    >,
) {
    let new = &config.0;
    let unchanged = in_force.config.as_ref().is_some_and(|old| Arc::ptr_eq(old, new));
    if unchanged && rate.0 == in_force.rate_hz {
        return;
    }
    let was = std::mem::replace(
        &mut *in_force,
        InForce {
            config: Some(new.clone()),
            rate_hz: rate.0,
        },
    );
    // The first tick finds the world as its configuration made it.
    let Some(old) = was.config else {
        return;
    };
    let reloaded = !unchanged;
    let rescale = Rescale::between(was.rate_hz, rate.0, tick.0);
    let effects = reloaded
        .then(|| renamed(&old.combat.effects.effects, &new.combat.effects.effects))
        .flatten();
    let npc_kinds = reloaded
        .then(|| renamed(&old.combat.npcs.npcs, &new.combat.npcs.npcs))
        .flatten();
    let damage_types = reloaded
        .then(|| {
            renamed(
                &old.combat.damage_types.damage_types,
                &new.combat.damage_types.damage_types,
            )
        })
        .flatten();
    let player_health = health_ratio(
        old.gameplay.characters.player.max_health,
        new.gameplay.characters.player.max_health,
    );
    let old_npcs: Vec<f32> = old.combat.npcs.npcs.values().map(|npc| npc.max_health).collect();

    for (fighter, brain, defense, vitals, is_player) in &mut characters {
        let (mut fighter, mut brain, mut defense, mut vitals) = (fighter, brain, defense, vitals);
        let old_kind = brain.as_ref().map(|brain| brain.kind);
        if let Some(rescale) = rescale {
            if let Some(fighter) = fighter.as_deref_mut() {
                rescale_fighter(rescale, fighter);
            }
            if let Some(brain) = brain.as_deref_mut() {
                brain.next_attack_tick = rescale.deadline(brain.next_attack_tick);
            }
        }
        if let (Some(fighter), Some(moved)) = (fighter.as_deref_mut(), &effects) {
            fighter.effects.follow(moved);
        }
        if let (Some(brain), Some(moved)) = (brain.as_deref_mut(), &npc_kinds) {
            brain.kind = follow(moved, brain.kind);
        }
        // What the character is now, and its maximum health's edit as a factor.
        let (edited, health) = if !reloaded {
            (None, 1.0)
        } else if is_player {
            (Some(player_defense(new)), player_health)
        } else if let Some(npc) = brain.as_deref().and_then(|b| rules.npcs.get(usize::from(b.kind))) {
            if let Some(fighter) = fighter.as_deref_mut() {
                fighter.base_speed_mps = npc.speed_mps;
                if npc.boss {
                    fighter.effects.end_hindering(&rules.effects);
                }
            }
            let was = old_kind.and_then(|kind| old_npcs.get(usize::from(kind)));
            let defense = Defense::new(npc.armor, npc.resistance_pct);
            (
                Some(defense),
                was.map_or(1.0, |&was| health_ratio(was, npc.max_health)),
            )
        } else {
            (None, 1.0)
        };
        match (defense.as_deref_mut(), edited, &damage_types) {
            (Some(defense), Some(edited), _) => *defense = edited,
            // Kept as spawned (an NPC whose kind is gone): its resistances follow their types.
            (Some(defense), None, Some(moved)) => {
                defense.resistance_pct = follow_places(&defense.resistance_pct, moved);
            }
            _ => {}
        }
        if let Some(vitals) = vitals.as_deref_mut() {
            vitals.health *= health;
            vitals.max_health *= health;
        }
        let Some(participant) = fighter.as_deref().and_then(|fighter| {
            let session = sessions.get_mut(fighter.session)?;
            session.participant_mut(fighter.slot)
        }) else {
            continue;
        };
        participant.health *= health;
        participant.max_health *= health;
        if let Some(rescale) = rescale {
            for (_, hit_tick) in &mut participant.recent_attackers {
                *hit_tick = rescale.since(*hit_tick);
            }
        }
    }
    // Every session's record of its NPCs, closed ones (read until they are forgotten) included.
    if let Some(moved) = &npc_kinds {
        for participant in sessions.participants_mut() {
            if let Member::Npc(kind) = &mut participant.member {
                *kind = follow(moved, *kind);
            }
        }
    }
}

/// Where each of `old`'s names is in `new`'s name order (none: the name is gone), or nothing when
/// the two hold the same names, so no index moves. One walk of both sorted lists.
fn renamed<T>(old: &BTreeMap<String, T>, new: &BTreeMap<String, T>) -> Option<Vec<Option<u16>>> {
    if old.keys().eq(new.keys()) {
        return None;
    }
    let mut new_names = new.keys().enumerate().peekable();
    let place = |name: &String| {
        while new_names.next_if(|(_, candidate)| *candidate < name).is_some() {}
        new_names
            .next_if(|(_, candidate)| *candidate == name)
            .map(|(at, _)| at as u16)
    };
    Some(old.keys().map(place).collect())
}

/// `values` held by place in name order, each moved to its name's new place (`moved`); the
/// places of names that are gone, or new, hold the default.
pub(super) fn follow_places<T: Copy + Default, const N: usize>(
    values: &[T; N],
    moved: &[Option<u16>],
) -> [T; N] {
    let mut followed = [T::default(); N];
    for (value, to) in values.iter().zip(moved) {
        if let Some(place) = to.and_then(|to| followed.get_mut(usize::from(to))) {
            *place = *value;
        }
    }
    followed
}

/// The index `index` moves to; [`REMOVED_NPC_KIND`] when its name is gone or it was already gone.
fn follow(moved: &[Option<u16>], index: u16) -> u16 {
    moved
        .get(usize::from(index))
        .copied()
        .flatten()
        .unwrap_or(REMOVED_NPC_KIND)
}

/// The factor from the maximum health `was` to `is` (1 when either is not a positive health).
fn health_ratio(was: f32, is: f32) -> f32 {
    if was > 0.0 && is > 0.0 { is / was } else { 1.0 }
}

/// Moves every timer of `fighter` to where it falls at the new rate.
fn rescale_fighter(rescale: Rescale, fighter: &mut Fighter) {
    fighter.next_shot_tick = rescale.deadline(fighter.next_shot_tick);
    fighter.reload_done_tick = rescale.deadline(fighter.reload_done_tick);
    for ready in &mut fighter.ability_ready_tick {
        *ready = rescale.deadline(*ready);
    }
    fighter.heat_tick = rescale.since(fighter.heat_tick);
    fighter.tokens_tick = rescale.since(fighter.tokens_tick);
    fighter
        .effects
        .rescale(|ticks| u32::try_from(rescale.span(u64::from(ticks))).unwrap_or(u32::MAX));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_their_place_when_others_come_and_go() {
        let names =
            |list: &[&str]| -> BTreeMap<String, ()> { list.iter().map(|n| (n.to_string(), ())).collect() };
        let old = names(&["burn", "freeze", "slow"]);
        assert_eq!(renamed(&old, &old.clone()), None);
        let new = names(&["acid", "burn", "slow"]);
        let moved = renamed(&old, &new).expect("names moved");
        assert_eq!(moved, [Some(1), None, Some(2)]);
        assert_eq!(follow(&moved, 0), 1);
        assert_eq!(follow(&moved, 1), REMOVED_NPC_KIND);
        assert_eq!(follow(&moved, REMOVED_NPC_KIND), REMOVED_NPC_KIND);
    }
}
