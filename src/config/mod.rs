//! Designer configuration: the typed form of every file under `assets/`, loaded and validated as one
//! [`Config`], and the [`AssetWatcher`] that reloads it while the server runs. This module reads files
//! and nothing else; the simulation only ever receives a complete, validated `Arc<Config>`.

mod catalogue;
mod combat;
mod economy;
mod error;
mod gameplay;
mod server;
mod source;
mod watch;

use std::path::Path;

pub use catalogue::{Catalogue, NamesMay};
pub use combat::{
    AbilitiesConfig, AbilityConfig, AbilityTargets, CombatConfig, DamageTypeConfig, DamageTypesConfig,
    Difficulties, DifficultyConfig, EffectConfig, EffectsConfig, LootConfig, MAX_ABILITIES, MAX_DAMAGE_TYPES,
    MAX_EFFECTS, NpcConfig, NpcsConfig, PerSessionType, ROLE_NAMES, RarityWeights, RewardConfig, Rewards,
    RoleConfig, RolesConfig, SessionLimits, SessionTypeConfig, SessionTypes, SessionsConfig, TeamMode,
    WeaponConfig, WeaponsConfig,
};
pub use economy::{
    AuctionsConfig, CurrenciesConfig, CurrencyConfig, EconomyConfig, ExchangeConfig, ItemConfig, ItemsConfig,
    MakersConfig, MarketConfig, PairConfig, PlayersConfig, Rarity,
};
pub use error::{ConfigError, ConfigErrors};
pub use gameplay::{
    AmbientConfig, AntiCheatConfig, BoundsConfig, CharacterStats, CharactersConfig, GameplayConfig,
    InterestConfig, MAX_WORLD_STEPS, MovementConfig, SpawnConfig, WorldConfig,
};
pub use server::{
    AdaptiveStep, AdaptiveTickConfig, AuthConfig, Bucket, NetConfig, RateLimitsConfig, ServerConfig,
    SheddingConfig, SimConfig, StoreConfig, Synchronous, TelemetryConfig, TickConfig, TlsConfig,
    TransportConfig,
};
pub use watch::{AssetWatcher, ReloadOutcome, WatchError};

use gameplay::PositionSteps;

/// What a load is checked against besides the files: a running server's values of the keys that
/// take effect only at a restart, and the names its economy (or the store) refers to by place.
#[derive(Debug, Clone, Copy, Default)]
struct InForce<'a> {
    precision_m: Option<f32>,
    names: Option<(&'a Catalogue, NamesMay)>,
}
use source::Source;

/// Every file the server reads, relative to the assets directory. Any other `.toml` file there is
/// refused, so that a misnamed file cannot be silently ignored.
pub const ASSET_FILES: [&str; 19] = [
    "server.toml",
    "gameplay/world.toml",
    "gameplay/movement.toml",
    "gameplay/characters.toml",
    "gameplay/interest.toml",
    "combat/damage_types.toml",
    "combat/weapons.toml",
    "combat/abilities.toml",
    "combat/effects.toml",
    "combat/roles.toml",
    "combat/npcs.toml",
    "combat/sessions.toml",
    "combat/loot.toml",
    "economy/currencies.toml",
    "economy/items.toml",
    "economy/market.toml",
    "economy/players.toml",
    "economy/exchange.toml",
    "economy/auctions.toml",
];

/// The complete designer configuration: one field per asset file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Config {
    /// `server.toml`.
    pub server: ServerConfig,
    /// `gameplay/`.
    pub gameplay: GameplayConfig,
    /// `combat/`.
    pub combat: CombatConfig,
    /// `economy/`.
    pub economy: EconomyConfig,
}

impl Config {
    /// Loads and validates every asset file under `dir`, reporting every problem found rather than
    /// the first. Files are read in dependency order so that references (a weapon's damage type, an
    /// item's currency) are checked against the file they name whenever that file parsed.
    pub fn load(dir: &Path) -> Result<Config, ConfigErrors> {
        Config::read(dir, InForce::default())
    }

    /// Loads `dir` as [`Config::load`] does, for a start over a store that refers to the
    /// currencies and items of `stored` by their places: each must keep its place, and new ones
    /// may only follow them.
    pub fn load_over_store(dir: &Path, stored: &Catalogue) -> Result<Config, ConfigErrors> {
        let in_force = InForce {
            precision_m: None,
            names: Some((stored, NamesMay::GrowAtTheEnd)),
        };
        Config::read(dir, in_force)
    }

    /// Loads `dir` as [`Config::load`] does, for a server already running `running`: the keys
    /// bounded by a key that only takes effect at a restart are checked against its running value,
    /// which stays in force, as well as against the file's (`view_radius_m` and the world's bounds
    /// against `position_precision_m`), so that the edit works now and the server still starts on
    /// it.
    pub fn reload(dir: &Path, running: &Config) -> Result<Config, ConfigErrors> {
        let names = Catalogue::of(running);
        let in_force = InForce {
            precision_m: Some(running.gameplay.interest.position_precision_m),
            names: Some((&names, NamesMay::StayAsTheyAre)),
        };
        Config::read(dir, in_force)
    }

    /// Loads `dir`, checking it against what is in force besides the files.
    fn read(dir: &Path, in_force: InForce<'_>) -> Result<Config, ConfigErrors> {
        let InForce {
            precision_m: precision_in_force,
            names,
        } = in_force;
        let kept = |pick: fn(&Catalogue) -> &Vec<String>| {
            names.map(|(catalogue, may)| (pick(catalogue).as_slice(), may))
        };
        let [
            server,
            world,
            movement,
            characters,
            interest,
            damage_types,
            weapons,
            abilities,
            effects,
            roles,
            npcs,
            sessions,
            loot,
            currencies,
            items,
            market,
            players,
            exchange,
            auctions,
        ] = ASSET_FILES;
        let errors = &mut Vec::new();
        let damage_types = Source::load(dir, damage_types, errors, DamageTypesConfig::validate);
        let types = damage_types.as_ref();
        let server = Source::load(dir, server, errors, ServerConfig::validate);
        let interest = Source::load(dir, interest, errors, |v: &InterestConfig, c| {
            v.validate(c, precision_in_force)
        });
        let steps = PositionSteps {
            file: interest.as_ref().map(|i| i.position_precision_m),
            running: precision_in_force,
        };
        let world = Source::load(dir, world, errors, |v: &WorldConfig, c| v.validate(c, steps));
        let movement = Source::load(dir, movement, errors, MovementConfig::validate);
        let characters = Source::load(dir, characters, errors, |v: &CharactersConfig, c| {
            v.validate(c, types)
        });
        let effects = Source::load(dir, effects, errors, |v: &EffectsConfig, c| v.validate(c, types));
        let weapons = Source::load(dir, weapons, errors, |v: &WeaponsConfig, c| {
            v.validate(c, types, effects.as_ref())
        });
        let abilities = Source::load(dir, abilities, errors, |v: &AbilitiesConfig, c| {
            v.validate(c, types, effects.as_ref())
        });
        let roles = Source::load(dir, roles, errors, |v: &RolesConfig, c| {
            v.validate(c, weapons.as_ref(), abilities.as_ref())
        });
        let npcs = Source::load(dir, npcs, errors, |v: &NpcsConfig, c| v.validate(c, types));
        let sessions = Source::load(dir, sessions, errors, |v: &SessionsConfig, c| {
            v.validate(c, npcs.as_ref())
        });
        let currencies = Source::load(dir, currencies, errors, |v: &CurrenciesConfig, c| {
            v.validate(c, kept(|catalogue| &catalogue.currencies))
        });
        let loot = Source::load(dir, loot, errors, |v: &LootConfig, c| {
            v.validate(c, currencies.as_ref())
        });
        let items = Source::load(dir, items, errors, |v: &ItemsConfig, c| {
            v.validate(c, currencies.as_ref(), kept(|catalogue| &catalogue.items))
        });
        let market = Source::load(dir, market, errors, MarketConfig::validate);
        let players = Source::load(dir, players, errors, |v: &PlayersConfig, c| {
            v.validate(c, items.as_ref())
        });
        let exchange = Source::load(dir, exchange, errors, |v: &ExchangeConfig, c| {
            v.validate(c, currencies.as_ref())
        });
        let auctions = Source::load(dir, auctions, errors, AuctionsConfig::validate);
        refuse_unknown_files(dir, errors);

        let (
            Some(server),
            Some(world),
            Some(movement),
            Some(characters),
            Some(interest),
            Some(damage_types),
            Some(weapons),
            Some(abilities),
            Some(effects),
            Some(roles),
            Some(npcs),
            Some(sessions),
            Some(loot),
            Some(currencies),
            Some(items),
            Some(market),
            Some(players),
            Some(exchange),
            Some(auctions),
        ) = (
            server,
            world,
            movement,
            characters,
            interest,
            damage_types,
            weapons,
            abilities,
            effects,
            roles,
            npcs,
            sessions,
            loot,
            currencies,
            items,
            market,
            players,
            exchange,
            auctions,
        )
        else {
            return Err(ConfigErrors(std::mem::take(errors)));
        };
        if !errors.is_empty() {
            return Err(ConfigErrors(std::mem::take(errors)));
        }
        Ok(Config {
            server,
            gameplay: GameplayConfig {
                world,
                movement,
                characters,
                interest,
            },
            combat: CombatConfig {
                damage_types,
                weapons,
                abilities,
                effects,
                roles,
                npcs,
                sessions,
                loot,
            },
            economy: EconomyConfig {
                currencies,
                items,
                market,
                players,
                exchange,
                auctions,
            },
        })
    }

    /// The asset files (relative paths) whose content differs between `self` and `next`.
    pub fn changed_files(&self, next: &Config) -> Vec<&'static str> {
        let (a, b) = (&self.combat, &next.combat);
        // One flag per file, in the order of `ASSET_FILES`.
        let differs = [
            self.server != next.server,
            self.gameplay.world != next.gameplay.world,
            self.gameplay.movement != next.gameplay.movement,
            self.gameplay.characters != next.gameplay.characters,
            self.gameplay.interest != next.gameplay.interest,
            a.damage_types != b.damage_types,
            a.weapons != b.weapons,
            a.abilities != b.abilities,
            a.effects != b.effects,
            a.roles != b.roles,
            a.npcs != b.npcs,
            a.sessions != b.sessions,
            a.loot != b.loot,
            self.economy.currencies != next.economy.currencies,
            self.economy.items != next.economy.items,
            self.economy.market != next.economy.market,
            self.economy.players != next.economy.players,
            self.economy.exchange != next.economy.exchange,
            self.economy.auctions != next.economy.auctions,
        ];
        ASSET_FILES
            .into_iter()
            .zip(differs)
            .filter_map(|(file, changed)| changed.then_some(file))
            .collect()
    }

    /// Puts back into `next` the running values of the keys that only take effect after a
    /// restart, so that nothing reads an edited value before then; returns the keys whose values
    /// differed.
    pub fn keep_restart_only(&self, next: &mut Config) -> Vec<String> {
        let mut changed = Vec::new();
        self.server.keep_restart_only(&mut next.server, &mut changed);
        keep(
            &self.gameplay.interest.position_precision_m,
            &mut next.gameplay.interest.position_precision_m,
            "gameplay/interest.toml: position_precision_m",
            &mut changed,
        );
        keep(
            &self.gameplay.world.ambient.npcs,
            &mut next.gameplay.world.ambient.npcs,
            "gameplay/world.toml: ambient.npcs",
            &mut changed,
        );
        changed
    }
}

/// Puts `running` back in `next` when they differ, adding `key` to `changed`.
fn keep<T: PartialEq + Clone>(running: &T, next: &mut T, key: &str, changed: &mut Vec<String>) {
    if running != next {
        next.clone_from(running);
        changed.push(key.to_owned());
    }
}

/// Puts the table `running` back in `next` when they differ, adding to `changed` each key of it
/// whose value differed (`table` joined with the key's path in it).
fn keep_table<T: PartialEq + Clone + serde::Serialize>(
    running: &T,
    next: &mut T,
    table: &str,
    changed: &mut Vec<String>,
) {
    if running == next {
        return;
    }
    match (toml::Value::try_from(running), toml::Value::try_from(&*next)) {
        (Ok(was), Ok(is)) => differing_keys(table, &was, &is, changed),
        _ => changed.push(table.to_owned()),
    }
    next.clone_from(running);
}

/// Adds to `out` the path of every value that differs between `was` and `is`, below `path`.
fn differing_keys(path: &str, was: &toml::Value, is: &toml::Value, out: &mut Vec<String>) {
    match (was, is) {
        (toml::Value::Table(was), toml::Value::Table(is)) => {
            let added = is.keys().filter(|key| !was.contains_key(*key));
            for key in was.keys().chain(added) {
                let below = format!("{path}.{key}");
                match (was.get(key), is.get(key)) {
                    (Some(was), Some(is)) => differing_keys(&below, was, is, out),
                    _ => out.push(below),
                }
            }
        }
        _ if was != is => out.push(path.to_owned()),
        _ => {}
    }
}

/// Whether `path` names a hidden file, which the server neither reads nor refuses: those are
/// editors' (an Emacs lock file `.#roles.toml`, macOS `._roles.toml`, a temporary save).
fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|name| name.to_string_lossy().starts_with('.'))
}

/// Refuses `.toml` files under `dir` that the server would not read.
fn refuse_unknown_files(dir: &Path, errors: &mut Vec<ConfigError>) {
    let root = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mut read = std::collections::BTreeSet::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        // Symbolic links may lead to a folder already read or to one holding the assets: each is
        // read once, and none above the assets, so that a link to `.` or `..` ends the walk.
        let Ok(real) = std::fs::canonicalize(&folder) else {
            continue;
        };
        if (real != root && root.starts_with(&real)) || !read.insert(real) {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for path in entries.flatten().map(|entry| entry.path()) {
            if path.is_dir() {
                // Hidden folders (a `.git`, an editor's) hold no assets.
                if !is_hidden(&path) {
                    pending.push(path);
                }
                continue;
            }
            let is_toml = !is_hidden(&path) && path.extension().is_some_and(|ext| ext == "toml");
            let relative = path.strip_prefix(dir).unwrap_or(&path);
            let relative = relative.to_string_lossy().replace('\\', "/");
            if is_toml && !ASSET_FILES.contains(&relative.as_str()) {
                errors.push(ConfigError {
                    file: path.display().to_string(),
                    line: None,
                    key: String::new(),
                    reason: format!(
                        "not an asset file the server reads (known: {})",
                        ASSET_FILES.join(", ")
                    ),
                });
            }
        }
    }
}
