//! `assets/combat/`: what hurts ([`arms`]: damage types, weapons, abilities, status effects), who
//! fights ([`actors`]: player roles, NPCs and bosses) and how sessions run and pay out
//! ([`sessions`]: limits, session types, difficulties, rewards and loot).

pub(super) mod actors;
pub(super) mod arms;
pub(super) mod sessions;

pub use actors::{NpcConfig, NpcsConfig, ROLE_NAMES, RoleConfig, RolesConfig};
pub use arms::{
    AbilitiesConfig, AbilityConfig, AbilityTargets, DamageTypeConfig, DamageTypesConfig, EffectConfig,
    EffectsConfig, WeaponConfig, WeaponsConfig,
};
pub use sessions::{
    Difficulties, DifficultyConfig, LootConfig, PerSessionType, RarityWeights, RewardConfig, Rewards,
    SessionLimits, SessionTypeConfig, SessionTypes, SessionsConfig, TeamMode,
};

/// Most damage types the game may define: characters keep one resistance per type in a fixed array.
pub const MAX_DAMAGE_TYPES: usize = 8;

/// Most status effects the game may define: a fighter keeps one slot per effect.
pub const MAX_EFFECTS: usize = 8;

/// Most abilities one role may carry.
pub const MAX_ABILITIES: usize = 4;

/// Everything under `assets/combat/`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CombatConfig {
    /// `combat/damage_types.toml`.
    pub damage_types: DamageTypesConfig,
    /// `combat/weapons.toml`.
    pub weapons: WeaponsConfig,
    /// `combat/abilities.toml`.
    pub abilities: AbilitiesConfig,
    /// `combat/effects.toml`.
    pub effects: EffectsConfig,
    /// `combat/roles.toml`.
    pub roles: RolesConfig,
    /// `combat/npcs.toml`.
    pub npcs: NpcsConfig,
    /// `combat/sessions.toml`.
    pub sessions: SessionsConfig,
    /// `combat/loot.toml`.
    pub loot: LootConfig,
}
