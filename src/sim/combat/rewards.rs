//! What a session pays when it ends: experience, currency and loot per player participant, from
//! the session type's reward table scaled by the difficulty, with items drawn by rarity weight from
//! the item catalogue using the simulation's seeded RNG. Everything is integers; rewards go to the
//! outbox in the tick the session ends, for the economy.

use bevy_ecs::world::World;
use rand_core::Rng;

use super::kinds::{Member, ParticipantStatus, SessionId};
use super::rules::CombatRules;
use super::sessions::Sessions;
use crate::config::TeamMode;
use crate::sim::gameplay::unit_interval;
use crate::sim::output::{Grant, Outbox, Reward};
use crate::sim::resources::SimRng;

/// Appends the rewards of every player of ended session `id` to the outbox; a session that was
/// active for less than its type's `min_active_s` pays nothing.
pub(crate) fn pay_rewards(world: &mut World, id: SessionId) {
    world.resource_scope(|world, mut outbox: bevy_ecs::world::Mut<Outbox>| {
        world.resource_scope(|world, mut rng: bevy_ecs::world::Mut<SimRng>| {
            let rules = world.resource::<CombatRules>();
            let Some(session) = world.resource::<Sessions>().get(id) else {
                return;
            };
            let (Some(kind), Some(difficulty)) = (session.kind, session.difficulty) else {
                return;
            };
            let table = &rules.kind(kind).reward;
            if session.ended_ns.saturating_sub(session.started_ns) < table.min_active_ns {
                return;
            }
            // The difficulty makes only NPCs harder, so only a fight against them pays more.
            let pct = if rules.kind(kind).npcs.is_empty() {
                100
            } else {
                u64::from(rules.difficulty(difficulty).reward_pct)
            };
            for participant in &session.participants {
                let Member::Player(client) = participant.member else {
                    continue;
                };
                // In a free-for-all everyone who is still standing (or got out) wins.
                let won = match session.teams {
                    TeamMode::Solo => matches!(
                        participant.status,
                        ParticipantStatus::Alive | ParticipantStatus::Extracted
                    ),
                    _ => session.winner == Some(participant.team),
                };
                let outcome = usize::from(!won);
                let mut grant = |grant| {
                    outbox.rewards.push(Reward {
                        session: id,
                        client,
                        grant,
                    });
                };
                let experience = u64::from(table.experience[outcome])
                    + u64::from(table.experience_per_kill) * u64::from(participant.kills);
                grant(Grant::Experience(experience * pct / 100));
                for &(currency, minor) in &table.currency_minor[outcome] {
                    let minor = i64::try_from(i128::from(minor) * i128::from(pct) / 100).unwrap_or(i64::MAX);
                    grant(Grant::Currency { currency, minor });
                }
                for _ in 0..table.loot_rolls[outcome] {
                    if let Some(item) = draw_item(rules, &mut rng.0) {
                        grant(Grant::Item { item });
                    }
                }
            }
        });
    });
}

/// Draws a rarity by weight, then an item of that rarity (or of the nearest more common rarity
/// that has one); `None` when the catalogue is empty.
pub(crate) fn draw_item(rules: &CombatRules, rng: &mut impl Rng) -> Option<u16> {
    let total: f32 = rules.rarity_weights_pct.iter().sum();
    let mut roll = unit_interval(rng) * total;
    let mut rarity = 0;
    for (index, weight) in rules.rarity_weights_pct.iter().enumerate() {
        if roll < *weight {
            rarity = index;
            break;
        }
        roll -= weight;
        rarity = index;
    }
    let items = rules.items_by_rarity[..=rarity]
        .iter()
        .rev()
        .find(|items| !items.is_empty())?;
    let pick = (u64::from(rng.next_u32()) * items.len() as u64) >> 32;
    items.get(pick as usize).copied()
}

#[cfg(test)]
mod tests {
    use rand_chacha::ChaCha8Rng;
    use rand_core::SeedableRng;

    use super::*;

    #[test]
    fn rarities_come_out_near_their_weights() {
        let mut rules = CombatRules {
            rarity_weights_pct: [60.0, 25.0, 12.0, 2.5, 0.5],
            ..CombatRules::default()
        };
        rules.items_by_rarity = [vec![0], vec![1], vec![2], vec![3], vec![4]];
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut counts = [0u32; 5];
        let draws = 200_000;
        for _ in 0..draws {
            let item = draw_item(&rules, &mut rng).expect("catalogue is not empty");
            counts[usize::from(item)] += 1;
        }
        for (count, weight) in counts.iter().zip(rules.rarity_weights_pct) {
            let share = f64::from(*count) / f64::from(draws) * 100.0;
            assert!((share - f64::from(weight)).abs() < 0.5, "{counts:?}");
        }
    }

    #[test]
    fn a_rarity_without_items_falls_back_to_a_more_common_one() {
        let mut rules = CombatRules {
            rarity_weights_pct: [0.0, 0.0, 0.0, 0.0, 100.0],
            ..CombatRules::default()
        };
        rules.items_by_rarity = [vec![3], vec![], vec![9], vec![], vec![]];
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        assert_eq!(draw_item(&rules, &mut rng), Some(9));
    }
}
