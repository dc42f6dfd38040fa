//! `assets/combat/`: damage types with their multipliers (`damage_types.toml`) and weapons
//! (`weapons.toml`). Weapons name their damage type; a name that is not defined is refused.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::source::Checker;

/// Most damage types the game may define: characters keep one resistance per type in a fixed array.
pub const MAX_DAMAGE_TYPES: usize = 8;

/// Everything under `assets/combat/`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CombatConfig {
    /// `combat/damage_types.toml`.
    pub damage_types: DamageTypesConfig,
    /// `combat/weapons.toml`.
    pub weapons: WeaponsConfig,
}

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
}

impl DamageTypesConfig {
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
    /// Checks every weapon; names of damage types are checked only when `damage_types` parsed.
    pub(crate) fn validate(&self, check: &mut Checker<'_>, damage_types: Option<&DamageTypesConfig>) {
        check.not_empty("weapons", self.weapons.len());
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
            check.positive(&key("base_damage"), weapon.base_damage);
            check.within(&key("fire_interval_ms"), weapon.fire_interval_ms, 10, 60_000);
            check.positive(&key("range_m"), weapon.range_m);
            check.within(&key("crit_chance"), weapon.crit_chance, 0.0, 1.0);
            check.within(&key("crit_multiplier"), weapon.crit_multiplier, 1.0, 100.0);
        }
    }
}
