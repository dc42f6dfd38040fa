//! `assets/gameplay/`: the world's extent and spawn area (`world.toml`) and how players move
//! (`movement.toml`).

use serde::Deserialize;

use super::source::Checker;

/// Everything under `assets/gameplay/`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GameplayConfig {
    /// `gameplay/world.toml`.
    pub world: WorldConfig,
    /// `gameplay/movement.toml`.
    pub movement: MovementConfig,
}

/// `gameplay/world.toml`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorldConfig {
    /// `[bounds]`: the playable rectangle; positions never leave it.
    pub bounds: BoundsConfig,
    /// `[spawn]`: where joining players appear.
    pub spawn: SpawnConfig,
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

/// `gameplay/movement.toml`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MovementConfig {
    /// `[player]`: how player characters move.
    pub player: PlayerMovementConfig,
}

/// `[player]` in `movement.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlayerMovementConfig {
    /// Top ground speed with the stick fully deflected.
    pub max_speed_mps: f32,
}

impl Default for PlayerMovementConfig {
    fn default() -> Self {
        PlayerMovementConfig { max_speed_mps: 6.0 }
    }
}

impl WorldConfig {
    pub(crate) fn validate(&self, check: &mut Checker<'_>) {
        let b = &self.bounds;
        if b.min_x_m.partial_cmp(&b.max_x_m) != Some(std::cmp::Ordering::Less) {
            check.refuse(
                "bounds.max_x_m",
                format!("must be > bounds.min_x_m ({}), got {}", b.min_x_m, b.max_x_m),
            );
        }
        if b.min_y_m.partial_cmp(&b.max_y_m) != Some(std::cmp::Ordering::Less) {
            check.refuse(
                "bounds.max_y_m",
                format!("must be > bounds.min_y_m ({}), got {}", b.min_y_m, b.max_y_m),
            );
        }
        let s = &self.spawn;
        check.positive("spawn.radius_m", s.radius_m);
        let inside = s.center_x_m - s.radius_m >= b.min_x_m
            && s.center_x_m + s.radius_m <= b.max_x_m
            && s.center_y_m - s.radius_m >= b.min_y_m
            && s.center_y_m + s.radius_m <= b.max_y_m;
        if !inside {
            check.refuse("spawn", "the spawn disc must lie inside [bounds]");
        }
    }
}

impl MovementConfig {
    pub(crate) fn validate(&self, check: &mut Checker<'_>) {
        check.within("player.max_speed_mps", self.player.max_speed_mps, 0.1, 100.0);
    }
}
