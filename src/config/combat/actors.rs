//! Who fights: the loadout and attack power of each player role (`roles.toml`) and the stats of
//! non-player fighters and bosses (`npcs.toml`).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::super::source::Checker;
use super::MAX_ABILITIES;
use super::arms::{AbilitiesConfig, DamageTypesConfig, WeaponsConfig};

/// The roles a participant may take, as named in `roles.toml` and on the wire.
pub const ROLE_NAMES: [&str; 4] = ["assault", "support", "tech", "stealth"];

/// `combat/roles.toml`: one `[roles.NAME]` table for each of [`ROLE_NAMES`].
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolesConfig {
    /// Loadouts by role name.
    pub roles: BTreeMap<String, RoleConfig>,
}

/// One `[roles.NAME]` table: what a participant in this role fights with.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleConfig {
    /// Name of a weapon in `weapons.toml`.
    pub weapon: String,
    /// Names of abilities in `abilities.toml`, by slot (at most four).
    #[serde(default)]
    pub abilities: Vec<String>,
    /// Adds this many percent to the base damage of every hit.
    #[serde(default)]
    pub attack_power: f32,
}

/// `combat/npcs.toml`: one `[npcs.NAME]` table per kind of non-player fighter.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NpcsConfig {
    /// Fighters by name.
    pub npcs: BTreeMap<String, NpcConfig>,
}

/// One `[npcs.NAME]` table. An NPC acquires the nearest visible enemy within `aggro_radius_m`,
/// chases it and attacks when within `attack_range_m`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NpcConfig {
    /// Health when full.
    pub max_health: f32,
    /// Armour rating.
    pub armor: f32,
    /// Resistance per damage type in percent; types not listed resist 0 %.
    #[serde(default)]
    pub resistance_pct: BTreeMap<String, f32>,
    /// Smallest damage of one attack, before type, resistance and armour.
    pub damage_min: f32,
    /// Largest damage of one attack.
    pub damage_max: f32,
    /// Name of a type in `damage_types.toml`.
    pub damage_type: String,
    /// Farthest distance it attacks from.
    pub attack_range_m: f32,
    /// Time between two attacks.
    pub attack_interval_ms: u32,
    /// Chase speed.
    pub speed_mps: f32,
    /// Enemies within this distance draw its attention.
    pub aggro_radius_m: f32,
    /// A boss shrugs off status effects that slow, freeze or stop it (damage over time still
    /// burns).
    #[serde(default)]
    pub boss: bool,
}

impl RolesConfig {
    /// Checks that every role is defined, and its references against the files that parsed.
    pub(crate) fn validate(
        &self,
        check: &mut Checker<'_>,
        weapons: Option<&WeaponsConfig>,
        abilities: Option<&AbilitiesConfig>,
    ) {
        for role in ROLE_NAMES {
            if !self.roles.contains_key(role) {
                check.refuse(&format!("roles.{role}"), "missing: every role needs a loadout");
            }
        }
        for (name, role) in &self.roles {
            let key = |field: &str| format!("roles.{name}.{field}");
            if !ROLE_NAMES.contains(&name.as_str()) {
                check.refuse(
                    &format!("roles.{name}"),
                    format!("unknown role; known: {}", ROLE_NAMES.join(", ")),
                );
            }
            if let Some(weapons) = weapons {
                check.one_of(&key("weapon"), &role.weapon, "weapon", weapons.weapons.keys());
            }
            if role.abilities.len() > MAX_ABILITIES {
                check.refuse(&key("abilities"), format!("at most {MAX_ABILITIES} abilities"));
            }
            if let Some(abilities) = abilities {
                for (slot, ability) in role.abilities.iter().enumerate() {
                    check.one_of(
                        &format!("roles.{name}.abilities[{slot}]"),
                        ability,
                        "ability",
                        abilities.abilities.keys(),
                    );
                }
            }
            check.within(&key("attack_power"), role.attack_power, 0.0, 1000.0);
        }
    }
}

impl NpcsConfig {
    /// Checks every NPC; damage type names are checked only when `damage_types` parsed.
    pub(crate) fn validate(&self, check: &mut Checker<'_>, damage_types: Option<&DamageTypesConfig>) {
        // One fewer than other tables hold: the last id marks a removed kind.
        if self.npcs.len() > usize::from(u16::MAX) {
            check.refuse(
                "npcs",
                format!(
                    "at most 65535 kinds (id 65535 marks a removed kind), got {}",
                    self.npcs.len()
                ),
            );
        }
        for (name, npc) in &self.npcs {
            let key = |field: &str| format!("npcs.{name}.{field}");
            // Bounded both ways, so that health times a difficulty's factor, or scaled by an edit
            // of the maximum, stays finite.
            check.within(&key("max_health"), npc.max_health, 1.0, 1e9);
            check.within(&key("armor"), npc.armor, 0.0, 10_000.0);
            check.within(&key("damage_min"), npc.damage_min, 0.0, 1e6);
            check.within(&key("damage_max"), npc.damage_max, npc.damage_min, 1e6);
            check.positive(&key("attack_range_m"), npc.attack_range_m);
            check.within(&key("attack_interval_ms"), npc.attack_interval_ms, 10, 60_000);
            check.within(&key("speed_mps"), npc.speed_mps, 0.0, 100.0);
            check.within(&key("aggro_radius_m"), npc.aggro_radius_m, 0.0, 10_000.0);
            check.resistances(&key("resistance_pct"), &npc.resistance_pct, damage_types);
            if let Some(types) = damage_types {
                check.one_of(
                    &key("damage_type"),
                    &npc.damage_type,
                    "damage type",
                    types.damage_types.keys(),
                );
            }
        }
    }
}
