//! How combat sessions run (`sessions.toml`: limits, each session type's teams and defaults, the
//! difficulty levels) and what they pay out (`loot.toml`: rewards per session type and the loot
//! table's rarity weights).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::super::economy::CurrenciesConfig;
use super::super::source::Checker;
use super::actors::NpcsConfig;

/// `combat/sessions.toml`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionsConfig {
    /// `[limits]`.
    pub limits: SessionLimits,
    /// `[types.*]`: one table per session type.
    pub types: SessionTypes,
    /// `[difficulty.*]`: one table per difficulty.
    pub difficulty: Difficulties,
}

/// `[limits]` of `sessions.toml`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionLimits {
    /// Sessions that may be pending or active at once; creating more is refused.
    pub max_open_sessions: u32,
    /// Sessions one client may have created that are pending or active at once; creating more
    /// is refused, so that a few clients cannot take every open session.
    pub max_open_sessions_per_creator: u32,
    /// Most participants in one session (players and NPCs).
    pub max_participants: u16,
    /// Actions (shots and abilities) one participant may start per second.
    pub actions_per_s: f32,
    /// Combat log entries kept per session; older ones are overwritten.
    pub log_capacity: u16,
    /// A pending session that has not started after this long is aborted.
    pub pending_expiry_s: f32,
    /// Ended and aborted sessions stay readable through get and list for this long.
    pub ended_retention_s: f32,
    /// Ended and aborted sessions kept at most; beyond, the oldest are forgotten first.
    pub max_ended_sessions: u32,
    /// Damage dealt this long before a kill earns an assist.
    pub assist_window_s: f32,
}

/// How participants are grouped in a session type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TeamMode {
    /// Two teams of players, `team_a` and `team_b`.
    #[default]
    TwoTeams,
    /// Everyone for themselves: every player is `solo`.
    Solo,
    /// Players in `team_a` against NPCs in `team_b`, spawned when the session starts.
    VersusNpcs,
}

impl TeamMode {
    /// Participants, players and NPCs, of a session with `team_size` players per team and `npcs`
    /// NPCs: what creating a session counts against `limits.max_participants`.
    pub fn participants(self, team_size: u16, npcs: usize) -> u64 {
        let players = match self {
            TeamMode::TwoTeams => u64::from(team_size) * 2,
            TeamMode::Solo | TeamMode::VersusNpcs => u64::from(team_size),
        };
        players + npcs as u64
    }

    /// The smallest team size a session may have: a free-for-all of one player would have no
    /// opponent, and its player would win it by leaving.
    pub fn smallest_team_size(self) -> u16 {
        match self {
            TeamMode::Solo => 2,
            TeamMode::TwoTeams | TeamMode::VersusNpcs => 1,
        }
    }
}

/// One value for each of the four session types, in the order of the wire enum.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerSessionType<T> {
    /// `pvp_arena`.
    pub pvp_arena: T,
    /// `pve_raid`.
    pub pve_raid: T,
    /// `extract_zone`.
    pub extract_zone: T,
    /// `guild_war`.
    pub guild_war: T,
}

impl<T> PerSessionType<T> {
    /// The values with the names of their session types, in the order of the wire enum.
    pub fn named(&self) -> [(&'static str, &T); 4] {
        [
            ("pvp_arena", &self.pvp_arena),
            ("pve_raid", &self.pve_raid),
            ("extract_zone", &self.extract_zone),
            ("guild_war", &self.guild_war),
        ]
    }

    /// `f` of each type's value here and in `other`, in the order of the wire enum.
    pub fn zip_with<U, R>(&self, other: &PerSessionType<U>, f: impl Fn(&T, &U) -> R) -> [R; 4] {
        [
            f(&self.pvp_arena, &other.pvp_arena),
            f(&self.pve_raid, &other.pve_raid),
            f(&self.extract_zone, &other.extract_zone),
            f(&self.guild_war, &other.guild_war),
        ]
    }
}

/// `[types.*]`: how each session type runs.
pub type SessionTypes = PerSessionType<SessionTypeConfig>;

/// `[rewards.*]`: what each session type pays.
pub type Rewards = PerSessionType<RewardConfig>;

/// One `[types.NAME]` table.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionTypeConfig {
    /// How participants are grouped.
    pub teams: TeamMode,
    /// Players per team needed to start, when the creator does not say (solo: players in all).
    pub default_team_size: u16,
    /// Time limit when the creator does not say.
    pub default_time_limit_s: u32,
    /// Longest time limit a creator may ask for.
    pub max_time_limit_s: u32,
    /// NPCs spawned against the players at the start, by name from `npcs.toml` (versus_npcs only).
    #[serde(default)]
    pub npcs: Vec<String>,
    /// NPCs spawn within this distance of the players' centre.
    #[serde(default)]
    pub npc_spawn_radius_m: f32,
}

/// The three difficulties, one table each.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Difficulties {
    /// `[difficulty.normal]`.
    pub normal: DifficultyConfig,
    /// `[difficulty.hard]`.
    pub hard: DifficultyConfig,
    /// `[difficulty.elite]`.
    pub elite: DifficultyConfig,
}

impl Difficulties {
    /// The difficulties with their names, in the order of the wire enum.
    pub fn named(&self) -> [(&'static str, &DifficultyConfig); 3] {
        [
            ("normal", &self.normal),
            ("hard", &self.hard),
            ("elite", &self.elite),
        ]
    }
}

/// One `[difficulty.NAME]` table: factors on NPCs and rewards.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DifficultyConfig {
    /// Factor on NPC health.
    pub npc_health_factor: f32,
    /// Factor on NPC damage.
    pub npc_damage_factor: f32,
    /// Experience and currency rewards in percent of the type's table (integers: no float
    /// touches money).
    pub reward_pct: u32,
}

impl Default for DifficultyConfig {
    fn default() -> Self {
        DifficultyConfig {
            npc_health_factor: 1.0,
            npc_damage_factor: 1.0,
            reward_pct: 100,
        }
    }
}

/// `combat/loot.toml`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LootConfig {
    /// `[rarity_weights_pct]`: chance of each rarity when an item is drawn.
    pub rarity_weights_pct: RarityWeights,
    /// `[rewards.*]`: one table per session type.
    pub rewards: Rewards,
}

/// Chance of each rarity in percent; they sum to 100.
#[derive(Debug, Clone, Copy, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RarityWeights {
    /// Common items.
    pub common: f32,
    /// Uncommon items.
    pub uncommon: f32,
    /// Rare items.
    pub rare: f32,
    /// Epic items.
    pub epic: f32,
    /// Legendary items.
    pub legendary: f32,
}

impl RarityWeights {
    /// The weights from common to legendary.
    pub fn in_order(&self) -> [f32; 5] {
        [self.common, self.uncommon, self.rare, self.epic, self.legendary]
    }
}

/// One `[rewards.TYPE]` table: what each player participant receives when the session ends.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RewardConfig {
    /// Experience for a participant of the winning team.
    pub experience_win: u32,
    /// Experience for everyone else.
    pub experience_loss: u32,
    /// Experience per kill, on top.
    pub experience_per_kill: u32,
    /// Minor units per currency (a name from `economy/currencies.toml`) for the winners.
    #[serde(default)]
    pub currency_win_minor: BTreeMap<String, i64>,
    /// Minor units per currency for everyone else.
    #[serde(default)]
    pub currency_loss_minor: BTreeMap<String, i64>,
    /// Items drawn from the loot table for each winner.
    pub loot_rolls_win: u8,
    /// Items drawn for everyone else.
    pub loot_rolls_loss: u8,
    /// Game time a session must have been active for it to pay anything when it ends, so that a
    /// fight ended at once (by leaving or by its creator) is no way to mint rewards.
    #[serde(default)]
    pub min_active_s: f32,
}

impl SessionsConfig {
    /// Checks limits, types and difficulties; NPC names only when `npcs` parsed.
    pub(crate) fn validate(&self, check: &mut Checker<'_>, npcs: Option<&NpcsConfig>) {
        let l = &self.limits;
        check.within("limits.max_open_sessions", l.max_open_sessions, 1, 1_000_000);
        check.within(
            "limits.max_open_sessions_per_creator",
            l.max_open_sessions_per_creator,
            1,
            l.max_open_sessions.max(1),
        );
        check.within("limits.max_participants", l.max_participants, 2, 1000);
        check.within("limits.actions_per_s", l.actions_per_s, 0.1, 10_000.0);
        check.within("limits.log_capacity", l.log_capacity, 1, 4096);
        check.within("limits.pending_expiry_s", l.pending_expiry_s, 1.0, 86_400.0);
        check.within("limits.ended_retention_s", l.ended_retention_s, 0.0, 86_400.0);
        check.within("limits.max_ended_sessions", l.max_ended_sessions, 0, 1_000_000);
        check.within("limits.assist_window_s", l.assist_window_s, 0.0, 600.0);
        for (name, kind) in self.types.named() {
            let key = |field: &str| format!("types.{name}.{field}");
            check.within(
                &key("default_team_size"),
                kind.default_team_size,
                kind.teams.smallest_team_size(),
                u16::MAX,
            );
            // Otherwise creating a session of this type at its defaults is always refused.
            let participants = kind.teams.participants(kind.default_team_size, kind.npcs.len());
            if participants > u64::from(l.max_participants) {
                check.refuse(
                    &key("default_team_size"),
                    format!(
                        "makes {participants} participants with its teams and NPCs, more than \
                         limits.max_participants ({})",
                        l.max_participants
                    ),
                );
            }
            check.within(&key("max_time_limit_s"), kind.max_time_limit_s, 1, 86_400);
            check.within(
                &key("default_time_limit_s"),
                kind.default_time_limit_s,
                1,
                kind.max_time_limit_s,
            );
            check.within(&key("npc_spawn_radius_m"), kind.npc_spawn_radius_m, 0.0, 1000.0);
            match (kind.teams, kind.npcs.is_empty()) {
                (TeamMode::VersusNpcs, true) => {
                    check.refuse(&key("npcs"), "versus_npcs needs at least one NPC")
                }
                (TeamMode::TwoTeams | TeamMode::Solo, false) => {
                    check.refuse(&key("npcs"), "only versus_npcs sessions spawn NPCs");
                }
                _ => {}
            }
            if let Some(npcs) = npcs {
                for (at, npc) in kind.npcs.iter().enumerate() {
                    check.one_of(&format!("types.{name}.npcs[{at}]"), npc, "npc", npcs.npcs.keys());
                }
            }
        }
        for (name, difficulty) in self.difficulty.named() {
            let key = |field: &str| format!("difficulty.{name}.{field}");
            check.within(
                &key("npc_health_factor"),
                difficulty.npc_health_factor,
                0.01,
                100.0,
            );
            check.within(
                &key("npc_damage_factor"),
                difficulty.npc_damage_factor,
                0.0,
                100.0,
            );
            check.within(&key("reward_pct"), difficulty.reward_pct, 0, 10_000);
        }
    }
}

impl LootConfig {
    /// Checks the weights and rewards; currency names only when `currencies` parsed.
    pub(crate) fn validate(&self, check: &mut Checker<'_>, currencies: Option<&CurrenciesConfig>) {
        let weights = self.rarity_weights_pct.in_order();
        for (name, weight) in ["common", "uncommon", "rare", "epic", "legendary"]
            .into_iter()
            .zip(weights)
        {
            check.within(&format!("rarity_weights_pct.{name}"), weight, 0.0, 100.0);
        }
        let sum: f32 = weights.iter().sum();
        if (sum - 100.0).abs() > 0.01 {
            check.refuse("rarity_weights_pct", format!("must sum to 100, got {sum}"));
        }
        for (name, reward) in self.rewards.named() {
            let amounts = [
                ("currency_win_minor", &reward.currency_win_minor),
                ("currency_loss_minor", &reward.currency_loss_minor),
            ];
            for (field, by_currency) in amounts {
                for (currency, &amount) in by_currency {
                    let key = format!("rewards.{name}.{field}.{currency}");
                    check.within(&key, amount, 0, 1_000_000_000_000);
                    if let Some(currencies) = currencies {
                        check.one_of(&key, currency, "currency", currencies.currencies.keys());
                    }
                }
            }
            check.within(
                &format!("rewards.{name}.loot_rolls_win"),
                reward.loot_rolls_win,
                0,
                16,
            );
            check.within(
                &format!("rewards.{name}.loot_rolls_loss"),
                reward.loot_rolls_loss,
                0,
                16,
            );
            check.within(
                &format!("rewards.{name}.min_active_s"),
                reward.min_active_s,
                0.0,
                86_400.0,
            );
        }
    }
}
