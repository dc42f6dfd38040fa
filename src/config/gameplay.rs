//! `assets/gameplay/`: the world's extent, spawn area and ambient wanderers (`world.toml`), which
//! inputs are refused (`movement.toml`), player stats (`characters.toml`), and what each client sees
//! and how often (`interest.toml`).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::DamageTypesConfig;
use super::source::Checker;

/// Everything under `assets/gameplay/`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GameplayConfig {
    /// `gameplay/world.toml`.
    pub world: WorldConfig,
    /// `gameplay/movement.toml`.
    pub movement: MovementConfig,
    /// `gameplay/characters.toml`.
    pub characters: CharactersConfig,
    /// `gameplay/interest.toml`.
    pub interest: InterestConfig,
}

/// `gameplay/world.toml`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorldConfig {
    /// `[bounds]`: the playable rectangle; positions never leave it.
    pub bounds: BoundsConfig,
    /// `[spawn]`: where joining players appear.
    pub spawn: SpawnConfig,
    /// `[ambient]`: wandering non-player characters.
    pub ambient: AmbientConfig,
}

/// `[bounds]` in `world.toml`, in metres.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BoundsConfig {
    /// West edge.
    pub min_x_m: f32,
    /// East edge.
    pub max_x_m: f32,
    /// South edge.
    pub min_y_m: f32,
    /// North edge.
    pub max_y_m: f32,
}

impl Default for BoundsConfig {
    fn default() -> Self {
        BoundsConfig {
            min_x_m: -2048.0,
            max_x_m: 2048.0,
            min_y_m: -2048.0,
            max_y_m: 2048.0,
        }
    }
}

/// `[spawn]` in `world.toml`: a disc inside the bounds.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpawnConfig {
    /// Centre, east coordinate.
    pub center_x_m: f32,
    /// Centre, north coordinate.
    pub center_y_m: f32,
    /// Players appear uniformly inside this radius (drawn from the seeded RNG).
    pub radius_m: f32,
}

impl Default for SpawnConfig {
    fn default() -> Self {
        SpawnConfig {
            center_x_m: 0.0,
            center_y_m: 0.0,
            radius_m: 256.0,
        }
    }
}

/// `[ambient]` in `world.toml`: non-player wanderers that populate the world.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AmbientConfig {
    /// Wanderers spawned in the spawn disc when the world starts (read at start).
    pub npcs: u32,
    /// Their walking speed.
    pub speed_mps: f32,
    /// Each wanderer picks a new direction this often.
    pub turn_interval_ms: u32,
}

impl Default for AmbientConfig {
    fn default() -> Self {
        AmbientConfig {
            npcs: 0,
            speed_mps: 2.0,
            turn_interval_ms: 2000,
        }
    }
}

/// `gameplay/movement.toml`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MovementConfig {
    /// `[anti_cheat]`: which inputs are refused.
    pub anti_cheat: AntiCheatConfig,
}

/// `[anti_cheat]` in `movement.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AntiCheatConfig {
    /// An input whose predicted position is farther than this from the server's is refused as a
    /// teleport.
    pub teleport_tolerance_m: f32,
    /// An input whose client tick runs more than this many ticks further ahead of the server than
    /// the client's usual lead is refused as time compression.
    pub max_input_lead_ticks: u32,
}

impl Default for AntiCheatConfig {
    fn default() -> Self {
        AntiCheatConfig {
            teleport_tolerance_m: 3.0,
            max_input_lead_ticks: 8,
        }
    }
}

/// `gameplay/characters.toml`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CharactersConfig {
    /// `[player]`: the stats every player character starts with.
    pub player: CharacterStats,
}

/// Stats of a character.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CharacterStats {
    /// Health when full.
    pub max_health: f32,
    /// Top ground speed with the stick fully deflected, before status effects.
    pub speed_mps: f32,
    /// Armour rating; a hit loses `base × armor / (armor + 100)`.
    pub armor: f32,
    /// Resistance per damage type in percent (a name from `combat/damage_types.toml`); types not
    /// listed resist 0 %.
    pub resistance_pct: BTreeMap<String, f32>,
}

impl Default for CharacterStats {
    fn default() -> Self {
        CharacterStats {
            max_health: 100.0,
            speed_mps: 6.0,
            armor: 20.0,
            resistance_pct: BTreeMap::new(),
        }
    }
}

/// `gameplay/interest.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InterestConfig {
    /// Side of a cell of the interest grid.
    pub cell_size_m: f32,
    /// A client sees the entities within this distance of its player.
    pub view_radius_m: f32,
    /// Snapshots per second sent to each client (at most the tick rate).
    pub snapshot_rate_hz: f32,
    /// Positions in snapshots are rounded to multiples of this.
    pub position_precision_m: f32,
    /// How long it takes to renumber every body once, a share per tick, so that neighbours in the
    /// world are neighbours in memory (0 turns it off). Changes what players see of nobody but the
    /// wandering NPCs, whose random turns follow body order.
    pub spatial_sort_interval_s: f32,
    /// The most entities one snapshot shows: in a crowd, the client's own player and the nearest
    /// others. Bounds what each client costs (encoding, bytes, kept baselines) however many
    /// gather in one place.
    pub max_visible: u32,
}

impl Default for InterestConfig {
    fn default() -> Self {
        InterestConfig {
            cell_size_m: 64.0,
            view_radius_m: 120.0,
            snapshot_rate_hz: 20.0,
            position_precision_m: 0.01,
            spatial_sort_interval_s: 0.5,
            max_visible: 256,
        }
    }
}

/// How far from the origin, in `position_precision_m` steps, an f32 position still resolves one
/// step: 2^23, where the spacing of f32 values reaches the step. Farther out, bodies would move in
/// coarser jumps than snapshots describe, or not at all.
pub const MAX_WORLD_STEPS: f32 = 8_388_608.0;

impl WorldConfig {
    /// Checks the world; how far its edges may reach is checked against each known position
    /// step that sets the limit (`interest.toml`'s when it parsed, and the running one on a
    /// reload).
    pub(crate) fn validate(&self, check: &mut Checker<'_>, steps: PositionSteps) {
        let (b, s) = (&self.bounds, &self.spawn);
        let centre = [
            ("spawn.center_x_m", s.center_x_m),
            ("spawn.center_y_m", s.center_y_m),
        ];
        let bounds_finite = all_finite(check, &b.edges());
        let centre_finite = all_finite(check, &centre);
        check.positive("spawn.radius_m", s.radius_m);
        // An infinite value is refused above; comparing it as well would report it twice.
        if bounds_finite {
            b.validate_order(check);
            // A precision that is itself refused would only add misleading reaches.
            for (precision_m, note) in steps.each() {
                // A precision that is itself refused would only add misleading reaches.
                if (MIN_PRECISION_M..=MAX_PRECISION_M).contains(&precision_m) {
                    b.validate_reach(check, precision_m, note);
                }
            }
            if centre_finite && s.radius_m.is_finite() && !s.inside(b) {
                check.refuse("spawn", "the spawn disc must lie inside [bounds]");
            }
        }
        let a = &self.ambient;
        check.within("ambient.npcs", a.npcs, 0, 2_000_000);
        check.within("ambient.speed_mps", a.speed_mps, 0.0, 100.0);
        check.within("ambient.turn_interval_ms", a.turn_interval_ms, 10, 600_000);
    }
}

/// Refuses every non-finite value of `keyed`, not only the first; true when all are finite.
fn all_finite(check: &mut Checker<'_>, keyed: &[(&str, f32)]) -> bool {
    keyed
        .iter()
        .fold(true, |all, &(key, value)| check.finite(key, value) && all)
}

impl BoundsConfig {
    /// The four edges, each with its key.
    fn edges(&self) -> [(&'static str, f32); 4] {
        [
            ("bounds.min_x_m", self.min_x_m),
            ("bounds.max_x_m", self.max_x_m),
            ("bounds.min_y_m", self.min_y_m),
            ("bounds.max_y_m", self.max_y_m),
        ]
    }

    /// Refuses an east edge not east of the west edge, or a north edge not north of the south one.
    fn validate_order(&self, check: &mut Checker<'_>) {
        if self.min_x_m >= self.max_x_m {
            check.refuse(
                "bounds.max_x_m",
                format!(
                    "must be > bounds.min_x_m ({}), got {}",
                    self.min_x_m, self.max_x_m
                ),
            );
        }
        if self.min_y_m >= self.max_y_m {
            check.refuse(
                "bounds.max_y_m",
                format!(
                    "must be > bounds.min_y_m ({}), got {}",
                    self.min_y_m, self.max_y_m
                ),
            );
        }
    }

    /// Refuses an edge so far from the origin that positions there lose `precision_m`; `note`
    /// says which step that is.
    fn validate_reach(&self, check: &mut Checker<'_>, precision_m: f32, note: &str) {
        let reach_m = MAX_WORLD_STEPS * precision_m;
        for (key, edge) in self.edges() {
            if edge.abs() > reach_m {
                check.refuse(
                    key,
                    format!(
                        "must be within ±{reach_m} m of the origin (2^23 steps of \
                         position_precision_m = {precision_m} m{note}; positions farther out are \
                         coarser than a step), got {edge}"
                    ),
                );
            }
        }
    }
}

impl SpawnConfig {
    /// Whether the whole disc lies inside `bounds`.
    fn inside(&self, bounds: &BoundsConfig) -> bool {
        self.center_x_m - self.radius_m >= bounds.min_x_m
            && self.center_x_m + self.radius_m <= bounds.max_x_m
            && self.center_y_m - self.radius_m >= bounds.min_y_m
            && self.center_y_m + self.radius_m <= bounds.max_y_m
    }
}

impl MovementConfig {
    pub(crate) fn validate(&self, check: &mut Checker<'_>) {
        let a = &self.anti_cheat;
        check.within(
            "anti_cheat.teleport_tolerance_m",
            a.teleport_tolerance_m,
            0.1,
            1000.0,
        );
        check.within("anti_cheat.max_input_lead_ticks", a.max_input_lead_ticks, 1, 1000);
    }
}

impl CharactersConfig {
    /// Checks the stats; resistance names are checked only when `damage_types` parsed.
    pub(crate) fn validate(&self, check: &mut Checker<'_>, damage_types: Option<&DamageTypesConfig>) {
        let p = &self.player;
        check.within("player.max_health", p.max_health, 1.0, 1_000_000.0);
        check.within("player.speed_mps", p.speed_mps, 0.1, 100.0);
        check.within("player.armor", p.armor, 0.0, 100_000.0);
        check.resistances("player.resistance_pct", &p.resistance_pct, damage_types);
    }
}

/// The position steps that the keys they bound are checked against: the file's, and on a reload
/// the running one, which stays in force until a restart. Both must hold, so that the edit works
/// now and the server still starts on it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PositionSteps {
    /// `interest.toml`'s `position_precision_m`, when it parsed.
    pub file: Option<f32>,
    /// The running `position_precision_m`, on a reload.
    pub running: Option<f32>,
}

impl PositionSteps {
    /// Each distinct step, with what a refusal says of it.
    fn each(self) -> impl Iterator<Item = (f32, &'static str)> {
        let running = self.running.filter(|&running| Some(running) != self.file);
        let running_note =
            ", the running value: an edit of position_precision_m takes effect at the next restart";
        self.file
            .map(|step| (step, ""))
            .into_iter()
            .chain(running.map(|step| (step, running_note)))
    }
}

/// The finest and coarsest `position_precision_m` accepted.
const MIN_PRECISION_M: f32 = 0.001;
const MAX_PRECISION_M: f32 = 1.0;

/// The view radius in quantization steps that kept snapshots can hold relative to the viewer.
pub const MAX_VIEW_STEPS: f32 = 32_000.0;

impl InterestConfig {
    /// Checks the file; `running_step` is the running `position_precision_m` on a reload, which
    /// bounds `view_radius_m` as well as the file's value does until a restart.
    pub(crate) fn validate(&self, check: &mut Checker<'_>, running_step: Option<f32>) {
        check.within("cell_size_m", self.cell_size_m, 1.0, 10_000.0);
        check.within("view_radius_m", self.view_radius_m, 1.0, 10_000.0);
        check.within("snapshot_rate_hz", self.snapshot_rate_hz, 0.1, 1000.0);
        check.within(
            "position_precision_m",
            self.position_precision_m,
            MIN_PRECISION_M,
            MAX_PRECISION_M,
        );
        // Kept snapshots hold positions relative to the viewer in 16 bits.
        let position_steps = PositionSteps {
            file: Some(self.position_precision_m),
            running: running_step,
        };
        for (precision_m, note) in position_steps.each() {
            let steps = self.view_radius_m / precision_m;
            if steps > MAX_VIEW_STEPS {
                check.refuse(
                    "view_radius_m",
                    format!(
                        "must be at most {MAX_VIEW_STEPS} position_precision_m steps \
                         ({} m at {precision_m} m{note}), got {steps:.0}",
                        MAX_VIEW_STEPS * precision_m,
                    ),
                );
            }
        }
        check.within(
            "spatial_sort_interval_s",
            self.spatial_sort_interval_s,
            0.0,
            3600.0,
        );
        check.within("max_visible", self.max_visible, 1, 65_535);
    }
}
