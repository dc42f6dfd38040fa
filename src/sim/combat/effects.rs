//! Status effects on one fighter: a slot per configured effect holding its stacks, the ticks it
//! has left and the ticks to its next damage pulse. Applying adds a stack (up to the maximum) and
//! restarts the duration; the pulse clock keeps running, so refreshing never delays damage.

use crate::config::MAX_EFFECTS;

/// One effect as the tick sees it, from [`super::rules::CombatRules`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct EffectRule {
    /// Ticks it lasts after the last application.
    pub duration_ticks: u32,
    /// Most stacks at once.
    pub max_stacks: u8,
    /// Ticks between damage pulses.
    pub pulse_ticks: u32,
    /// Damage of one pulse per stack (0: none).
    pub pulse_damage: f32,
    /// Damage type index of the pulses.
    pub damage_type: u8,
    /// Factor on movement speed.
    pub move_factor: f32,
    /// Factor on attack speed.
    pub attack_factor: f32,
    /// No weapon or ability use.
    pub stops_actions: bool,
}

impl EffectRule {
    /// Whether it slows movement or attacks or stops actions: what bosses shrug off.
    pub fn hinders(&self) -> bool {
        self.move_factor < 1.0 || self.attack_factor < 1.0 || self.stops_actions
    }
}

/// One effect on one fighter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct EffectSlot {
    /// Stacks; 0 when inactive.
    pub stacks: u8,
    /// Ticks until it expires.
    pub remaining_ticks: u32,
    /// Ticks until its next damage pulse.
    pub until_pulse: u32,
}

/// What [`Effects::advance`] reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EffectChange {
    /// A damage pulse of effect `effect`, before the damage formula.
    Pulse {
        /// Effect index.
        effect: u8,
        /// Raw damage (per-stack pulse damage × stacks).
        damage: f32,
        /// Damage type index.
        damage_type: u8,
    },
    /// Effect `effect` ran out.
    Expired {
        /// Effect index.
        effect: u8,
    },
}

/// Every effect slot of one fighter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Effects {
    slots: [EffectSlot; MAX_EFFECTS],
}

impl Effects {
    /// Applies effect `index`; returns its stacks afterwards.
    pub fn apply(&mut self, index: u8, rule: &EffectRule) -> u8 {
        let Some(slot) = self.slots.get_mut(usize::from(index)) else {
            return 0;
        };
        if slot.stacks == 0 {
            slot.until_pulse = rule.pulse_ticks.max(1);
        }
        slot.stacks = slot.stacks.saturating_add(1).min(rule.max_stacks.max(1));
        slot.remaining_ticks = rule.duration_ticks.max(1);
        slot.stacks
    }

    /// Advances every active effect by one tick, reporting pulses and expiries to `on_change`.
    pub fn advance(&mut self, rules: &[EffectRule], mut on_change: impl FnMut(EffectChange)) {
        for (index, (slot, rule)) in self.slots.iter_mut().zip(rules).enumerate() {
            if slot.stacks == 0 {
                continue;
            }
            let effect = index as u8;
            slot.until_pulse = slot.until_pulse.saturating_sub(1);
            if slot.until_pulse == 0 {
                slot.until_pulse = rule.pulse_ticks.max(1);
                if rule.pulse_damage > 0.0 {
                    on_change(EffectChange::Pulse {
                        effect,
                        damage: rule.pulse_damage * f32::from(slot.stacks),
                        damage_type: rule.damage_type,
                    });
                }
            }
            slot.remaining_ticks = slot.remaining_ticks.saturating_sub(1);
            if slot.remaining_ticks == 0 {
                *slot = EffectSlot::default();
                on_change(EffectChange::Expired { effect });
            }
        }
    }

    /// Moves each effect to the slot its name has in a reloaded configuration (`moved[index]`); an
    /// effect whose name is gone ends.
    pub(crate) fn follow(&mut self, moved: &[Option<u16>]) {
        self.slots = super::carry_over::follow_places(&self.slots, moved);
    }

    /// Rescales every running effect's tick counts with `span` (after a change of the tick rate).
    pub(crate) fn rescale(&mut self, span: impl Fn(u32) -> u32) {
        for slot in self.slots.iter_mut().filter(|slot| slot.stacks > 0) {
            slot.remaining_ticks = span(slot.remaining_ticks).max(1);
            slot.until_pulse = span(slot.until_pulse).max(1);
        }
    }

    /// Ends every active effect that [hinders](EffectRule::hinders) under `rules`: a boss sheds
    /// those an edit made hindering, as it shrugs them off when they are applied.
    pub(crate) fn end_hindering(&mut self, rules: &[EffectRule]) {
        for (slot, rule) in self.slots.iter_mut().zip(rules) {
            if rule.hinders() {
                *slot = EffectSlot::default();
            }
        }
    }

    /// Whether any effect is active.
    pub fn any(&self) -> bool {
        self.slots.iter().any(|slot| slot.stacks > 0)
    }

    /// The slot of effect `index`.
    pub fn slot(&self, index: u8) -> EffectSlot {
        self.slots.get(usize::from(index)).copied().unwrap_or_default()
    }

    /// The product of the active effects' movement factors.
    pub fn move_factor(&self, rules: &[EffectRule]) -> f32 {
        self.active(rules).map(|rule| rule.move_factor).product()
    }

    /// The product of the active effects' attack speed factors.
    pub fn attack_factor(&self, rules: &[EffectRule]) -> f32 {
        self.active(rules).map(|rule| rule.attack_factor).product()
    }

    /// Whether an active effect forbids actions.
    pub fn stops_actions(&self, rules: &[EffectRule]) -> bool {
        self.active(rules).any(|rule| rule.stops_actions)
    }

    fn active<'r>(&self, rules: &'r [EffectRule]) -> impl Iterator<Item = &'r EffectRule> {
        self.slots
            .iter()
            .zip(rules)
            .filter(|(slot, _)| slot.stacks > 0)
            .map(|(_, rule)| rule)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Burn as bundled, at 60 ticks per second: 15 damage/s, 5 s, a pulse every second, 3 stacks.
    const BURN: EffectRule = EffectRule {
        duration_ticks: 300,
        max_stacks: 3,
        pulse_ticks: 60,
        pulse_damage: 15.0,
        damage_type: 1,
        move_factor: 1.0,
        attack_factor: 1.0,
        stops_actions: false,
    };

    /// Runs `ticks` ticks, applying burn again at the listed ticks (counted from 1), and returns
    /// the raw damage dealt and the tick of expiry.
    fn run(ticks: u32, reapply_at: &[u32]) -> (f32, Option<u32>) {
        let mut effects = Effects::default();
        effects.apply(0, &BURN);
        let (mut total, mut expired) = (0.0, None);
        for tick in 1..=ticks {
            effects.advance(&[BURN], |change| match change {
                EffectChange::Pulse { damage, .. } => total += damage,
                EffectChange::Expired { .. } => expired = Some(tick),
            });
            if reapply_at.contains(&tick) {
                effects.apply(0, &BURN);
            }
        }
        (total, expired)
    }

    #[test]
    fn one_burn_pulses_five_times_then_expires() {
        assert_eq!(run(400, &[]), (75.0, Some(300)));
    }

    #[test]
    fn a_second_application_adds_a_stack_and_restarts_the_duration() {
        // Pulses at 60 and 120 with one stack (the second stack lands after the pulse of 120),
        // then 180, 240, 300, 360, 420 with two: 15 + 15 + 5 × 30 = 180; expiry at 120 + 300.
        assert_eq!(run(600, &[120]), (180.0, Some(420)));
    }

    #[test]
    fn stacks_stop_at_the_maximum() {
        let mut effects = Effects::default();
        let stacks: Vec<u8> = (0..5).map(|_| effects.apply(0, &BURN)).collect();
        assert_eq!(stacks, [1, 2, 3, 3, 3]);
        let mut pulses = Vec::new();
        effects.advance(&[BURN], |_| {});
        for _ in 0..59 {
            effects.advance(&[BURN], |change| pulses.push(change));
        }
        assert_eq!(
            pulses,
            [EffectChange::Pulse {
                effect: 0,
                damage: 45.0,
                damage_type: 1
            }]
        );
    }

    #[test]
    fn slow_and_freeze_factors_multiply_while_active() {
        let slow = EffectRule {
            duration_ticks: 480,
            max_stacks: 1,
            pulse_ticks: 60,
            move_factor: 0.6,
            attack_factor: 0.7,
            ..EffectRule::default()
        };
        let freeze = EffectRule {
            duration_ticks: 180,
            max_stacks: 1,
            pulse_ticks: 60,
            move_factor: 0.0,
            attack_factor: 1.0,
            stops_actions: true,
            ..EffectRule::default()
        };
        let rules = [slow, freeze];
        let mut effects = Effects::default();
        effects.apply(0, &slow);
        assert_eq!(effects.move_factor(&rules), 0.6);
        assert_eq!(effects.attack_factor(&rules), 0.7);
        assert!(!effects.stops_actions(&rules));
        effects.apply(1, &freeze);
        assert_eq!(effects.move_factor(&rules), 0.0);
        assert!(effects.stops_actions(&rules));
        for _ in 0..180 {
            effects.advance(&rules, |_| {});
        }
        assert!(!effects.stops_actions(&rules), "freeze lasts 3 s");
        assert_eq!(effects.move_factor(&rules), 0.6);
        for _ in 0..300 {
            effects.advance(&rules, |_| {});
        }
        assert!(!effects.any(), "slow lasts 8 s");
    }
}
