//! [`CombatRules`]: the combat configuration resolved once per config or tick-rate change into what
//! the tick uses: names become indices, milliseconds become ticks, percentages become factors.

use bevy_ecs::resource::Resource;

use super::effects::EffectRule;
use super::kinds::{Difficulty, SessionKind};
use crate::config::{
    AbilityTargets, Config, DifficultyConfig, MAX_ABILITIES, MAX_DAMAGE_TYPES, NpcConfig, ROLE_NAMES, Rarity,
    RewardConfig, SessionTypeConfig, TeamMode,
};
use crate::sim::resources::{ResolvedRules, TickRate};

/// A weapon, resolved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeaponRule {
    /// Damage type index.
    pub damage_type: u8,
    /// Damage of one hit before the formula.
    pub base_damage: f32,
    /// Ticks between two shots at full attack speed.
    pub interval_ticks: u32,
    /// Farthest target.
    pub range_m: f32,
    /// Chance of a crit.
    pub crit_chance: f32,
    /// Crit factor.
    pub crit_multiplier: f32,
    /// Full damage up to here.
    pub falloff_start_m: f32,
    /// Damage factor at `range_m`.
    pub falloff_min_factor: f32,
    /// Shots per magazine (0: unlimited).
    pub magazine: u32,
    /// Ticks to reload.
    pub reload_ticks: u32,
    /// Area radius around the target.
    pub radius_m: f32,
    /// Effect a hit may apply.
    pub effect: Option<u8>,
    /// Chance that it does.
    pub effect_chance: f32,
    /// Heat per shot (0: none).
    pub heat_per_shot: f32,
    /// Most heat.
    pub heat_capacity: f32,
    /// Heat lost per tick.
    pub cooling_per_tick: f32,
}

/// An ability, resolved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AbilityRule {
    /// Enemies or allies.
    pub targets: AbilityTargets,
    /// Ticks before it may be used again.
    pub cooldown_ticks: u32,
    /// Farthest target.
    pub range_m: f32,
    /// Area radius around the target.
    pub radius_m: f32,
    /// Damage type index.
    pub damage_type: u8,
    /// Damage before the formula.
    pub base_damage: f32,
    /// Health restored per ally.
    pub heal: f32,
    /// Effect applied to everyone affected.
    pub effect: Option<u8>,
}

/// A role's loadout, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RoleRule {
    /// Weapon index.
    pub weapon: u16,
    /// Ability indices by slot.
    pub abilities: [Option<u16>; MAX_ABILITIES],
    /// Attack power in percent.
    pub attack_power: f32,
}

/// An NPC kind, resolved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NpcRule {
    /// Health when full.
    pub max_health: f32,
    /// Armour.
    pub armor: f32,
    /// Resistance per damage type.
    pub resistance_pct: [f32; MAX_DAMAGE_TYPES],
    /// Damage range of an attack.
    pub damage: [f32; 2],
    /// Damage type index.
    pub damage_type: u8,
    /// Farthest attack.
    pub attack_range_m: f32,
    /// Ticks between attacks.
    pub attack_interval_ticks: u32,
    /// Chase speed.
    pub speed_mps: f32,
    /// Acquisition radius.
    pub aggro_radius_m: f32,
    /// Immune to slowing, freezing and stopping effects.
    pub boss: bool,
}

/// A session type, resolved.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct KindRule {
    /// Team grouping.
    pub teams: TeamMode,
    /// Default players per team.
    pub default_team_size: u16,
    /// Default time limit.
    pub default_time_limit_s: u32,
    /// Longest time limit.
    pub max_time_limit_s: u32,
    /// NPC kinds spawned at the start.
    pub npcs: Vec<u16>,
    /// NPC spawn radius.
    pub npc_spawn_radius_m: f32,
    /// End-of-session rewards.
    pub reward: ResolvedReward,
}

/// A reward table, resolved.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResolvedReward {
    /// Experience for winners / others.
    pub experience: [u32; 2],
    /// Experience per kill.
    pub experience_per_kill: u32,
    /// Minor units by currency index, for winners / others.
    pub currency_minor: [Vec<(u16, i64)>; 2],
    /// Loot rolls for winners / others.
    pub loot_rolls: [u8; 2],
    /// Game time, in nanoseconds, a session must have been active to pay anything.
    pub min_active_ns: u64,
}

/// Session limits in ticks.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LimitRule {
    /// Open sessions at once.
    pub max_open_sessions: u32,
    /// Open sessions at once that one client created.
    pub max_open_sessions_per_creator: u32,
    /// Participants per session.
    pub max_participants: u16,
    /// Token bucket refill per tick (actions per tick).
    pub actions_per_tick: f32,
    /// Token bucket depth (one second of actions).
    pub action_burst: f32,
    /// Combat log capacity.
    pub log_capacity: u16,
    /// Pending sessions expire after this much game time.
    pub pending_expiry_ns: u64,
    /// Ended sessions are forgotten after this much game time.
    pub ended_retention_ns: u64,
    /// Ended sessions kept at most; beyond, the oldest are forgotten first.
    pub max_ended_sessions: u32,
    /// Assist window.
    pub assist_window_ticks: u64,
}

/// Everything combat systems read from the configuration.
#[derive(Debug, Clone, PartialEq, Default, Resource)]
pub struct CombatRules {
    /// The tick rate the tick counts were computed for.
    pub rate_hz: f32,
    /// Damage type multipliers by index.
    pub type_multipliers: [f32; MAX_DAMAGE_TYPES],
    /// Weapons by index (name order).
    pub weapons: Vec<WeaponRule>,
    /// Abilities by index (name order).
    pub abilities: Vec<AbilityRule>,
    /// Effects by index (name order).
    pub effects: Vec<EffectRule>,
    /// Roles in [`super::kinds::Role`] order; `None` when the config lacks them.
    pub roles: Option<[RoleRule; 4]>,
    /// NPC kinds by index (name order).
    pub npcs: Vec<NpcRule>,
    /// Session types in [`SessionKind`] order.
    pub kinds: [KindRule; 4],
    /// Difficulties in [`Difficulty`] order.
    pub difficulties: [DifficultyConfig; 3],
    /// Session limits.
    pub limits: LimitRule,
    /// Rarity weights, common to legendary, in percent.
    pub rarity_weights_pct: [f32; 5],
    /// Item indices (name order of `economy/items.toml`) by rarity, common to legendary.
    pub items_by_rarity: [Vec<u16>; 5],
}

impl ResolvedRules for CombatRules {
    fn resolve(config: &Config, rate: TickRate) -> CombatRules {
        CombatRules::resolve(config, rate)
    }

    fn rate_hz(&self) -> f32 {
        self.rate_hz
    }
}

impl CombatRules {
    /// Resolves `config` for a world ticking at `rate`. The config is validated, so every name it
    /// uses exists; an index that does not resolve falls back to 0 rather than panicking.
    pub fn resolve(config: &Config, rate: TickRate) -> CombatRules {
        let combat = &config.combat;
        let ticks = |ms: u32| u32::try_from(rate.ticks_in(ms as f32 / 1000.0)).unwrap_or(u32::MAX);
        let type_index = |name: &str| index_of(combat.damage_types.damage_types.keys(), name) as u8;
        let effect_index = |name: &Option<String>| {
            name.as_ref()
                .map(|n| index_of(combat.effects.effects.keys(), n) as u8)
        };

        let mut type_multipliers = [1.0; MAX_DAMAGE_TYPES];
        for (slot, damage_type) in type_multipliers
            .iter_mut()
            .zip(combat.damage_types.damage_types.values())
        {
            *slot = damage_type.multiplier;
        }
        let weapons = combat
            .weapons
            .weapons
            .values()
            .map(|w| WeaponRule {
                damage_type: type_index(&w.damage_type),
                base_damage: w.base_damage,
                interval_ticks: ticks(w.fire_interval_ms),
                range_m: w.range_m,
                crit_chance: w.crit_chance,
                crit_multiplier: w.crit_multiplier,
                falloff_start_m: w.falloff_start_m.unwrap_or(w.range_m),
                falloff_min_factor: w.falloff_min_pct / 100.0,
                magazine: w.magazine,
                reload_ticks: ticks(w.reload_ms),
                radius_m: w.radius_m,
                effect: effect_index(&w.effect),
                effect_chance: w.effect_chance,
                heat_per_shot: w.heat_per_shot,
                heat_capacity: w.heat_capacity,
                cooling_per_tick: w.cooling_per_s / rate.0,
            })
            .collect();
        let abilities = combat
            .abilities
            .abilities
            .values()
            .map(|a| AbilityRule {
                targets: a.targets,
                cooldown_ticks: ticks(a.cooldown_ms),
                range_m: a.range_m,
                radius_m: a.radius_m,
                damage_type: type_index(&a.damage_type),
                base_damage: a.base_damage,
                heal: a.heal,
                effect: effect_index(&a.effect),
            })
            .collect();
        let effects = combat
            .effects
            .effects
            .values()
            .map(|e| EffectRule {
                duration_ticks: ticks(e.duration_ms),
                max_stacks: e.max_stacks,
                pulse_ticks: ticks(e.pulse_interval_ms),
                pulse_damage: e.damage_per_s * e.pulse_interval_ms as f32 / 1000.0,
                damage_type: type_index(&e.damage_type),
                move_factor: if e.stops_movement {
                    0.0
                } else {
                    e.move_speed_factor
                },
                attack_factor: e.attack_speed_factor,
                stops_actions: e.stops_actions,
            })
            .collect();
        let roles = ROLE_NAMES
            .map(|name| combat.roles.roles.get(name))
            .into_iter()
            .collect::<Option<Vec<_>>>()
            .map(|roles| {
                let mut resolved = [RoleRule::default(); 4];
                for (slot, role) in resolved.iter_mut().zip(roles) {
                    let mut abilities = [None; MAX_ABILITIES];
                    for (ability, name) in abilities.iter_mut().zip(&role.abilities) {
                        *ability = Some(index_of(combat.abilities.abilities.keys(), name) as u16);
                    }
                    *slot = RoleRule {
                        weapon: index_of(combat.weapons.weapons.keys(), &role.weapon) as u16,
                        abilities,
                        attack_power: role.attack_power,
                    };
                }
                resolved
            });
        let npcs = combat
            .npcs
            .npcs
            .values()
            .map(|npc| npc_rule(npc, config, &ticks))
            .collect();
        let limits = &combat.sessions.limits;
        let seconds = |s: f32| rate.ticks_in(s);
        let nanoseconds = |s: f32| (f64::from(s) * 1e9).round() as u64;
        let currency_index =
            |name: &String| index_of(config.economy.currencies.currencies.keys(), name) as u16;
        let reward = |r: &RewardConfig| ResolvedReward {
            experience: [r.experience_win, r.experience_loss],
            experience_per_kill: r.experience_per_kill,
            currency_minor: [&r.currency_win_minor, &r.currency_loss_minor].map(|amounts| {
                amounts
                    .iter()
                    .map(|(name, &minor)| (currency_index(name), minor))
                    .collect()
            }),
            loot_rolls: [r.loot_rolls_win, r.loot_rolls_loss],
            min_active_ns: nanoseconds(r.min_active_s),
        };
        let kind = |t: &SessionTypeConfig, r: &RewardConfig| KindRule {
            teams: t.teams,
            default_team_size: t.default_team_size,
            default_time_limit_s: t.default_time_limit_s,
            max_time_limit_s: t.max_time_limit_s,
            npcs: t
                .npcs
                .iter()
                .map(|name| index_of(combat.npcs.npcs.keys(), name) as u16)
                .collect(),
            npc_spawn_radius_m: t.npc_spawn_radius_m,
            reward: reward(r),
        };
        let (types, rewards) = (&combat.sessions.types, &combat.loot.rewards);
        let mut items_by_rarity: [Vec<u16>; 5] = Default::default();
        for (index, item) in config.economy.items.items.values().enumerate() {
            let rarity = match item.rarity {
                Rarity::Common => 0,
                Rarity::Uncommon => 1,
                Rarity::Rare => 2,
                Rarity::Epic => 3,
                Rarity::Legendary => 4,
            };
            items_by_rarity[rarity].push(index as u16);
        }
        CombatRules {
            rate_hz: rate.0,
            type_multipliers,
            weapons,
            abilities,
            effects,
            roles,
            npcs,
            kinds: types.zip_with(rewards, kind),
            difficulties: [
                combat.sessions.difficulty.normal.clone(),
                combat.sessions.difficulty.hard.clone(),
                combat.sessions.difficulty.elite.clone(),
            ],
            limits: LimitRule {
                max_open_sessions: limits.max_open_sessions,
                max_open_sessions_per_creator: limits.max_open_sessions_per_creator,
                max_participants: limits.max_participants,
                actions_per_tick: limits.actions_per_s / rate.0,
                action_burst: limits.actions_per_s.max(1.0),
                log_capacity: limits.log_capacity,
                pending_expiry_ns: nanoseconds(limits.pending_expiry_s),
                ended_retention_ns: nanoseconds(limits.ended_retention_s),
                max_ended_sessions: limits.max_ended_sessions,
                assist_window_ticks: seconds(limits.assist_window_s),
            },
            rarity_weights_pct: combat.loot.rarity_weights_pct.in_order(),
            items_by_rarity,
        }
    }

    /// The rule of session type `kind`.
    pub fn kind(&self, kind: SessionKind) -> &KindRule {
        &self.kinds[kind as usize]
    }

    /// The factors of `difficulty`.
    pub fn difficulty(&self, difficulty: Difficulty) -> &DifficultyConfig {
        &self.difficulties[difficulty as usize]
    }
}

fn npc_rule(npc: &NpcConfig, config: &Config, ticks: &dyn Fn(u32) -> u32) -> NpcRule {
    let types = &config.combat.damage_types.damage_types;
    NpcRule {
        max_health: npc.max_health,
        armor: npc.armor,
        resistance_pct: config.combat.damage_types.by_index(&npc.resistance_pct),
        damage: [npc.damage_min, npc.damage_max],
        damage_type: index_of(types.keys(), &npc.damage_type) as u8,
        attack_range_m: npc.attack_range_m,
        attack_interval_ticks: ticks(npc.attack_interval_ms),
        speed_mps: npc.speed_mps,
        aggro_radius_m: npc.aggro_radius_m,
        boss: npc.boss,
    }
}

/// Position of `name` among `names`; 0 when absent (validation guarantees it is present).
fn index_of<'n>(mut names: impl Iterator<Item = &'n String>, name: &str) -> usize {
    names.position(|n| n == name).unwrap_or(0)
}
