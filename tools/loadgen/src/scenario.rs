//! Scenario files: what share of the bots plays which role and how each role behaves. A scenario
//! is a TOML file (see `scenarios/`) or a built-in name (`mixed`, `economy`); unknown keys are
//! errors, missing ones take their defaults. This module only parses and checks; the bots live in
//! [`crate::bots`].

use std::path::Path;

use serde::Deserialize;

/// The bundled mixed workload, also reachable as `--scenario mixed`.
const MIXED: &str = include_str!("../scenarios/mixed.toml");
/// The durable-transfer workload, also reachable as `--scenario economy`.
const ECONOMY: &str = include_str!("../scenarios/economy.toml");

/// Why a scenario cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file cannot be read.
    #[error("reading scenario {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The file is not a valid scenario.
    #[error("scenario {path}: {source}")]
    Parse {
        /// The file.
        path: String,
        /// What is wrong, with line and key.
        source: toml::de::Error,
    },
    /// A value is out of range.
    #[error("scenario {path}: {key}: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// The key.
        key: &'static str,
        /// Why.
        reason: &'static str,
    },
}

/// A whole scenario.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Its name, for the report.
    pub name: String,
    /// Shares of the bots per role.
    #[serde(default)]
    pub mix: Mix,
    /// How roaming players behave.
    #[serde(default)]
    pub roaming: Roaming,
    /// How fighters behave.
    #[serde(default)]
    pub fighting: Fighting,
    /// How traders behave.
    #[serde(default)]
    pub trading: Trading,
    /// How the durable-transfer bots behave.
    #[serde(default)]
    pub transferring: Transferring,
}

/// Relative weights of the roles; they need not add up to 100.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Mix {
    /// Players moving around the world.
    pub roaming: f64,
    /// Players fighting pvp sessions.
    pub fighting: f64,
    /// Players trading on the market.
    pub trading: f64,
    /// Players sending pipelined transfers (the durable-transfer workload).
    pub transferring: f64,
}

impl Default for Mix {
    fn default() -> Mix {
        Mix {
            roaming: 70.0,
            fighting: 20.0,
            trading: 10.0,
            transferring: 0.0,
        }
    }
}

/// Roaming players.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Roaming {
    /// Movement inputs per second.
    pub input_hz: f64,
    /// How often the wandering direction turns, in milliseconds.
    pub turn_interval_ms: u64,
    /// How often a ping measures the round trip, in milliseconds.
    pub ping_interval_ms: u64,
}

impl Default for Roaming {
    fn default() -> Roaming {
        Roaming {
            input_hz: 30.0,
            turn_interval_ms: 1500,
            ping_interval_ms: 1000,
        }
    }
}

/// Fighters.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Fighting {
    /// The `SessionKind` code (0: pvp_arena); it must have two teams.
    pub kind: u8,
    /// The zone of the sessions.
    pub zone_id: u32,
    /// Players per team; lowered to fit when there are fewer fighters.
    pub team_size: u16,
    /// Session time limit in seconds; a session that ends is replaced by a new one.
    pub time_limit_s: u32,
    /// Time between two shots of one fighter, in milliseconds.
    pub fire_interval_ms: u64,
    /// Time between two GetSession polls, in milliseconds.
    pub poll_interval_ms: u64,
    /// Steering inputs per second (towards the target, or the world's centre).
    pub steer_hz: f64,
}

impl Default for Fighting {
    fn default() -> Fighting {
        Fighting {
            kind: 0,
            zone_id: 1,
            team_size: 5,
            time_limit_s: 60,
            fire_interval_ms: 150,
            poll_interval_ms: 500,
            steer_hz: 10.0,
        }
    }
}

/// Traders.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Trading {
    /// Time between two economy operations of one trader, in milliseconds.
    pub interval_ms: u64,
    /// The currency index orders are priced in.
    pub currency: u16,
    /// Stackable item indices traded.
    pub items: Vec<u16>,
    /// The centre price, in minor units.
    pub price_minor: i64,
    /// Prices are drawn uniformly within ± this.
    pub price_spread_minor: i64,
    /// Lifetime of a resting order in seconds.
    pub order_lifetime_s: u32,
    /// Amount of a trader's transfer, in minor units.
    pub transfer_amount_minor: i64,
}

impl Default for Trading {
    fn default() -> Trading {
        Trading {
            interval_ms: 250,
            currency: 1,
            items: vec![1, 4],
            price_minor: 100,
            price_spread_minor: 20,
            order_lifetime_s: 60,
            transfer_amount_minor: 5,
        }
    }
}

/// The durable-transfer bots.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Transferring {
    /// Transfers in flight per bot.
    pub window: u32,
    /// Transfers started per second per bot.
    pub per_s: f64,
    /// Exponent of the Zipf distribution the receiver is drawn from.
    pub zipf_alpha: f64,
    /// The currency index.
    pub currency: u16,
    /// Amount of one transfer, in minor units.
    pub amount_minor: i64,
}

impl Default for Transferring {
    fn default() -> Transferring {
        Transferring {
            window: 8,
            per_s: 40.0,
            zipf_alpha: 1.5,
            currency: 1,
            amount_minor: 1,
        }
    }
}

impl Scenario {
    /// A built-in scenario by name (`mixed`, `economy`), else the file at `name_or_path`.
    pub fn load(name_or_path: &str) -> Result<Scenario, ScenarioError> {
        match name_or_path {
            "mixed" => Scenario::parse(MIXED, "mixed"),
            "economy" => Scenario::parse(ECONOMY, "economy"),
            path => {
                let text =
                    std::fs::read_to_string(Path::new(path)).map_err(|source| ScenarioError::Read {
                        path: path.to_owned(),
                        source,
                    })?;
                Scenario::parse(&text, path)
            }
        }
    }

    /// Parses and checks `text`; `path` names it in errors.
    pub fn parse(text: &str, path: &str) -> Result<Scenario, ScenarioError> {
        let scenario: Scenario = toml::from_str(text).map_err(|source| ScenarioError::Parse {
            path: path.to_owned(),
            source,
        })?;
        scenario.check().map_err(|(key, reason)| ScenarioError::Invalid {
            path: path.to_owned(),
            key,
            reason,
        })?;
        Ok(scenario)
    }

    fn check(&self) -> Result<(), (&'static str, &'static str)> {
        let Mix {
            roaming,
            fighting,
            trading,
            transferring,
        } = self.mix;
        let weights = [roaming, fighting, trading, transferring];
        if weights.iter().any(|w| !w.is_finite() || *w < 0.0) {
            return Err(("mix", "weights must be finite and not negative"));
        }
        if weights.iter().sum::<f64>() <= 0.0 {
            return Err(("mix", "at least one weight must be positive"));
        }
        let rate_ok = |hz: f64| hz.is_finite() && hz > 0.0 && hz <= 1000.0;
        if !rate_ok(self.roaming.input_hz) {
            return Err(("roaming.input_hz", "must be in (0, 1000]"));
        }
        if !rate_ok(self.fighting.steer_hz) {
            return Err(("fighting.steer_hz", "must be in (0, 1000]"));
        }
        if !rate_ok(self.transferring.per_s) {
            return Err(("transferring.per_s", "must be in (0, 1000]"));
        }
        if self.fighting.team_size == 0 {
            return Err(("fighting.team_size", "must be at least 1"));
        }
        if self.trading.items.is_empty() {
            return Err(("trading.items", "must name at least one item"));
        }
        if self.transferring.window == 0 {
            return Err(("transferring.window", "must be at least 1"));
        }
        if !(self.transferring.zipf_alpha.is_finite() && self.transferring.zipf_alpha > 0.0) {
            return Err(("transferring.zipf_alpha", "must be positive"));
        }
        let intervals = [
            ("roaming.turn_interval_ms", self.roaming.turn_interval_ms),
            ("roaming.ping_interval_ms", self.roaming.ping_interval_ms),
            ("fighting.fire_interval_ms", self.fighting.fire_interval_ms),
            ("fighting.poll_interval_ms", self.fighting.poll_interval_ms),
            ("trading.interval_ms", self.trading.interval_ms),
        ];
        if let Some((key, _)) = intervals.iter().find(|(_, ms)| *ms == 0) {
            return Err((key, "must be at least 1 ms"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_ins_parse() {
        let mixed = Scenario::load("mixed").expect("mixed parses");
        assert_eq!(mixed.mix.roaming, 70.0);
        assert_eq!(mixed.trading.items, vec![1, 4]);
        let economy = Scenario::load("economy").expect("economy parses");
        assert_eq!(economy.mix.transferring, 100.0);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        let unknown = Scenario::parse("name = \"x\"\n[mix]\nroamers = 1\n", "x.toml");
        assert!(matches!(unknown, Err(ScenarioError::Parse { .. })), "{unknown:?}");
        let zero = Scenario::parse("name = \"x\"\n[fighting]\nteam_size = 0\n", "x.toml");
        assert!(
            matches!(
                zero,
                Err(ScenarioError::Invalid {
                    key: "fighting.team_size",
                    ..
                })
            ),
            "{zero:?}"
        );
    }
}
