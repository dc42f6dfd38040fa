//! What hurts: damage types with their multipliers (`damage_types.toml`), weapons
//! (`weapons.toml`), abilities (`abilities.toml`) and status effects (`effects.toml`). Every name
//! these files use for another table is checked against it.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::super::source::Checker;
use super::{MAX_DAMAGE_TYPES, MAX_EFFECTS};

/// `combat/damage_types.toml`: one `[damage_types.NAME]` table per type.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DamageTypesConfig {
    /// Damage types by name.
    pub damage_types: BTreeMap<String, DamageTypeConfig>,
}

/// One `[damage_types.NAME]` table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DamageTypeConfig {
    /// Factor applied to every hit of this type before resistances (1.0 = neutral).
    pub multiplier: f32,
}

/// `combat/weapons.toml`: one `[weapons.NAME]` table per weapon.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeaponsConfig {
    /// Weapons by name.
    pub weapons: BTreeMap<String, WeaponConfig>,
}

/// One `[weapons.NAME]` table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeaponConfig {
    /// Name of a type in `damage_types.toml`.
    pub damage_type: String,
    /// Damage of one hit before attack power, crits, type and armour.
    pub base_damage: f32,
    /// Shortest time between two shots.
    pub fire_interval_ms: u32,
    /// Hits beyond this distance are refused.
    pub range_m: f32,
    /// Probability of a critical hit, 0 to 1.
    pub crit_chance: f32,
    /// Damage factor of a critical hit (at least 1).
    pub crit_multiplier: f32,
    /// Hits up to this distance do full damage; beyond it damage falls linearly to
    /// `falloff_min_pct` at `range_m`. Omitted: no falloff.
    #[serde(default)]
    pub falloff_start_m: Option<f32>,
    /// Damage at `range_m` in percent of full damage (with `falloff_start_m`).
    #[serde(default = "hundred")]
    pub falloff_min_pct: f32,
    /// Shots per magazine; omitted or 0: no ammunition to track.
    #[serde(default)]
    pub magazine: u32,
    /// Time to reload an empty magazine.
    #[serde(default)]
    pub reload_ms: u32,
    /// Radius around the target in which every enemy is hit too (0: the target only).
    #[serde(default)]
    pub radius_m: f32,
    /// A status effect from `effects.toml` that a hit may apply.
    #[serde(default)]
    pub effect: Option<String>,
    /// Probability that a hit applies `effect`, 0 to 1.
    #[serde(default = "one")]
    pub effect_chance: f32,
    /// Heat one shot adds; omitted or 0: the weapon does not heat up.
    #[serde(default)]
    pub heat_per_shot: f32,
    /// A shot that would take the heat above this is refused (overheated).
    #[serde(default = "hundred")]
    pub heat_capacity: f32,
    /// Heat lost per second.
    #[serde(default)]
    pub cooling_per_s: f32,
}

/// `combat/abilities.toml`: one `[abilities.NAME]` table per ability.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AbilitiesConfig {
    /// Abilities by name.
    pub abilities: BTreeMap<String, AbilityConfig>,
}

/// Who an ability affects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AbilityTargets {
    /// Opponents: damage and effects.
    Enemies,
    /// The user's own team (the user included): healing.
    Allies,
}

/// One `[abilities.NAME]` table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AbilityConfig {
    /// Who it affects.
    pub targets: AbilityTargets,
    /// Time before the same participant may use it again.
    pub cooldown_ms: u32,
    /// Farthest target (entity or point) it may be aimed at.
    pub range_m: f32,
    /// Radius around the target in which it affects everyone it targets (0: the target only).
    #[serde(default)]
    pub radius_m: f32,
    /// Name of a type in `damage_types.toml` (with `base_damage`).
    #[serde(default = "physical")]
    pub damage_type: String,
    /// Damage before attack power, crits, type and armour (0: none).
    #[serde(default)]
    pub base_damage: f32,
    /// Health restored to each ally affected.
    #[serde(default)]
    pub heal: f32,
    /// A status effect from `effects.toml` it applies to everyone it affects.
    #[serde(default)]
    pub effect: Option<String>,
}

/// `combat/effects.toml`: one `[effects.NAME]` table per status effect.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EffectsConfig {
    /// Status effects by name.
    pub effects: BTreeMap<String, EffectConfig>,
}

/// One `[effects.NAME]` table. Applying an effect adds a stack (up to `max_stacks`) and restarts
/// its duration; it expires when the duration runs out.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EffectConfig {
    /// How long it lasts after the last application.
    pub duration_ms: u32,
    /// Most stacks at once (1: applying again only restarts the duration).
    #[serde(default = "one_stack")]
    pub max_stacks: u8,
    /// Damage per second per stack, dealt in pulses (0: none).
    #[serde(default)]
    pub damage_per_s: f32,
    /// Time between two damage pulses; the first comes one interval after the application.
    #[serde(default = "second")]
    pub pulse_interval_ms: u32,
    /// Name of a type in `damage_types.toml` for the pulses.
    #[serde(default = "physical")]
    pub damage_type: String,
    /// Factor on movement speed while active (0.6: 40 % slower).
    #[serde(default = "one")]
    pub move_speed_factor: f32,
    /// Factor on attack speed while active (0.7: shots come 1/0.7 times further apart).
    #[serde(default = "one")]
    pub attack_speed_factor: f32,
    /// No movement while active.
    #[serde(default)]
    pub stops_movement: bool,
    /// No weapon or ability use while active.
    #[serde(default)]
    pub stops_actions: bool,
}

fn one() -> f32 {
    1.0
}

fn hundred() -> f32 {
    100.0
}

fn one_stack() -> u8 {
    1
}

fn second() -> u32 {
    1000
}

fn physical() -> String {
    "physical".to_owned()
}

impl DamageTypesConfig {
    /// `per_type` (values by damage type name) as an array indexed like the types in name order;
    /// types not named get 0.
    pub fn by_index(&self, per_type: &BTreeMap<String, f32>) -> [f32; MAX_DAMAGE_TYPES] {
        let mut values = [0.0; MAX_DAMAGE_TYPES];
        for (slot, name) in values.iter_mut().zip(self.damage_types.keys()) {
            *slot = per_type.get(name).copied().unwrap_or(0.0);
        }
        values
    }

    pub(crate) fn validate(&self, check: &mut Checker<'_>) {
        check.not_empty("damage_types", self.damage_types.len());
        if self.damage_types.len() > MAX_DAMAGE_TYPES {
            check.refuse(
                "damage_types",
                format!(
                    "at most {MAX_DAMAGE_TYPES} damage types, got {}",
                    self.damage_types.len()
                ),
            );
        }
        for (name, damage_type) in &self.damage_types {
            check.within(
                &format!("damage_types.{name}.multiplier"),
                damage_type.multiplier,
                0.0,
                10.0,
            );
        }
    }
}

impl WeaponsConfig {
    /// Checks every weapon; references are checked only against the files that parsed.
    pub(crate) fn validate(
        &self,
        check: &mut Checker<'_>,
        damage_types: Option<&DamageTypesConfig>,
        effects: Option<&EffectsConfig>,
    ) {
        check.not_empty("weapons", self.weapons.len());
        check.indexable("weapons", self.weapons.len());
        for (name, weapon) in &self.weapons {
            let key = |field: &str| format!("weapons.{name}.{field}");
            if let Some(types) = damage_types {
                check.one_of(
                    &key("damage_type"),
                    &weapon.damage_type,
                    "damage type",
                    types.damage_types.keys(),
                );
            }
            // Bounded, so that no product of the damage formula leaves the f32 range.
            check.positive_up_to(&key("base_damage"), weapon.base_damage, 1e6);
            check.within(&key("fire_interval_ms"), weapon.fire_interval_ms, 10, 60_000);
            check.positive(&key("range_m"), weapon.range_m);
            check.within(&key("crit_chance"), weapon.crit_chance, 0.0, 1.0);
            check.within(&key("crit_multiplier"), weapon.crit_multiplier, 1.0, 100.0);
            if let Some(start) = weapon.falloff_start_m {
                check.within(&key("falloff_start_m"), start, 0.0, weapon.range_m);
            }
            check.within(&key("falloff_min_pct"), weapon.falloff_min_pct, 0.0, 100.0);
            check.within(&key("magazine"), weapon.magazine, 0, 10_000);
            if weapon.magazine > 0 {
                check.within(&key("reload_ms"), weapon.reload_ms, 1, 60_000);
            }
            check.within(&key("radius_m"), weapon.radius_m, 0.0, 100.0);
            check.within(&key("effect_chance"), weapon.effect_chance, 0.0, 1.0);
            check.within(
                &key("heat_per_shot"),
                weapon.heat_per_shot,
                0.0,
                weapon.heat_capacity,
            );
            check.positive(&key("heat_capacity"), weapon.heat_capacity);
            check.within(&key("cooling_per_s"), weapon.cooling_per_s, 0.0, 1e6);
            if weapon.heat_per_shot > 0.0 && weapon.cooling_per_s <= 0.0 {
                // It would overheat for good after a few shots.
                check.refuse(
                    &key("cooling_per_s"),
                    "must be above 0 for a weapon whose heat_per_shot is",
                );
            }
            if let (Some(effect), Some(effects)) = (&weapon.effect, effects) {
                check.one_of(&key("effect"), effect, "effect", effects.effects.keys());
            }
        }
    }
}

impl AbilitiesConfig {
    /// Checks every ability; references are checked only against the files that parsed.
    pub(crate) fn validate(
        &self,
        check: &mut Checker<'_>,
        damage_types: Option<&DamageTypesConfig>,
        effects: Option<&EffectsConfig>,
    ) {
        check.indexable("abilities", self.abilities.len());
        for (name, ability) in &self.abilities {
            let key = |field: &str| format!("abilities.{name}.{field}");
            check.within(&key("cooldown_ms"), ability.cooldown_ms, 0, 600_000);
            check.positive(&key("range_m"), ability.range_m);
            check.within(&key("radius_m"), ability.radius_m, 0.0, 100.0);
            check.within(&key("base_damage"), ability.base_damage, 0.0, 1e6);
            check.within(&key("heal"), ability.heal, 0.0, 1e6);
            if let Some(types) = damage_types {
                check.one_of(
                    &key("damage_type"),
                    &ability.damage_type,
                    "damage type",
                    types.damage_types.keys(),
                );
            }
            if let (Some(effect), Some(effects)) = (&ability.effect, effects) {
                check.one_of(&key("effect"), effect, "effect", effects.effects.keys());
            }
            if ability.heal > 0.0 && ability.targets == AbilityTargets::Enemies {
                check.refuse(&key("heal"), "only an ability with targets = \"allies\" heals");
            }
            if ability.base_damage > 0.0 && ability.targets == AbilityTargets::Allies {
                check.refuse(
                    &key("base_damage"),
                    "only an ability with targets = \"enemies\" deals damage",
                );
            }
            let does_something = ability.base_damage > 0.0 || ability.heal > 0.0 || ability.effect.is_some();
            if !does_something {
                check.refuse(&format!("abilities.{name}"), "needs base_damage, heal or effect");
            }
        }
    }
}

impl EffectsConfig {
    /// Checks every effect; damage type names are checked only when `damage_types` parsed.
    pub(crate) fn validate(&self, check: &mut Checker<'_>, damage_types: Option<&DamageTypesConfig>) {
        if self.effects.len() > MAX_EFFECTS {
            check.refuse(
                "effects",
                format!("at most {MAX_EFFECTS} effects, got {}", self.effects.len()),
            );
        }
        for (name, effect) in &self.effects {
            let key = |field: &str| format!("effects.{name}.{field}");
            check.within(&key("duration_ms"), effect.duration_ms, 1, 3_600_000);
            check.within(&key("max_stacks"), effect.max_stacks, 1, 100);
            check.within(&key("damage_per_s"), effect.damage_per_s, 0.0, 1e6);
            check.within(&key("pulse_interval_ms"), effect.pulse_interval_ms, 10, 60_000);
            check.within(&key("move_speed_factor"), effect.move_speed_factor, 0.0, 1.0);
            check.within(&key("attack_speed_factor"), effect.attack_speed_factor, 0.01, 1.0);
            if let Some(types) = damage_types {
                check.one_of(
                    &key("damage_type"),
                    &effect.damage_type,
                    "damage type",
                    types.damage_types.keys(),
                );
            }
        }
    }
}
