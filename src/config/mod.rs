//! Designer configuration: the typed form of every file under `assets/`, loaded and validated as one
//! [`Config`], and the [`AssetWatcher`] that reloads it while the server runs. This module reads files
//! and nothing else; the simulation only ever receives a complete, validated `Arc<Config>`.

mod combat;
mod economy;
mod error;
mod gameplay;
mod server;
mod source;
mod watch;

use std::path::Path;

pub use combat::{CombatConfig, DamageTypeConfig, DamageTypesConfig, WeaponConfig, WeaponsConfig};
pub use economy::{CurrenciesConfig, CurrencyConfig, EconomyConfig, ItemConfig, ItemsConfig, Rarity};
pub use error::{ConfigError, ConfigErrors};
pub use gameplay::{
    BoundsConfig, GameplayConfig, MovementConfig, PlayerMovementConfig, SpawnConfig, WorldConfig,
};
pub use server::{NetConfig, ServerConfig, SimConfig, TickConfig};
pub use watch::{AssetWatcher, ReloadOutcome, WatchError};

use source::Source;

/// Every file the server reads, relative to the assets directory. Any other `.toml` file there is
/// refused, so that a misnamed file cannot be silently ignored.
pub const ASSET_FILES: [&str; 7] = [
    "server.toml",
    "gameplay/world.toml",
    "gameplay/movement.toml",
    "combat/damage_types.toml",
    "combat/weapons.toml",
    "economy/currencies.toml",
    "economy/items.toml",
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
    /// the first.
    pub fn load(dir: &Path) -> Result<Config, ConfigErrors> {
        let [
            server_file,
            world_file,
            movement_file,
            damage_file,
            weapons_file,
            currencies_file,
            items_file,
        ] = ASSET_FILES;
        let mut errors = Vec::new();
        let server = Source::parse::<ServerConfig>(dir, server_file, &mut errors);
        let world = Source::parse::<WorldConfig>(dir, world_file, &mut errors);
        let movement = Source::parse::<MovementConfig>(dir, movement_file, &mut errors);
        let damage_types = Source::parse::<DamageTypesConfig>(dir, damage_file, &mut errors);
        let weapons = Source::parse::<WeaponsConfig>(dir, weapons_file, &mut errors);
        let currencies = Source::parse::<CurrenciesConfig>(dir, currencies_file, &mut errors);
        let items = Source::parse::<ItemsConfig>(dir, items_file, &mut errors);

        if let Some((value, source)) = &server {
            value.validate(&mut source.checker(&mut errors));
        }
        if let Some((value, source)) = &world {
            value.validate(&mut source.checker(&mut errors));
        }
        if let Some((value, source)) = &movement {
            value.validate(&mut source.checker(&mut errors));
        }
        if let Some((value, source)) = &damage_types {
            value.validate(&mut source.checker(&mut errors));
        }
        if let Some((value, source)) = &weapons {
            let types = damage_types.as_ref().map(|(types, _)| types);
            value.validate(&mut source.checker(&mut errors), types);
        }
        if let Some((value, source)) = &currencies {
            value.validate(&mut source.checker(&mut errors));
        }
        if let Some((value, source)) = &items {
            let currencies = currencies.as_ref().map(|(currencies, _)| currencies);
            value.validate(&mut source.checker(&mut errors), currencies);
        }
        refuse_unknown_files(dir, &mut errors);

        match (server, world, movement, damage_types, weapons, currencies, items) {
            (
                Some((server, _)),
                Some((world, _)),
                Some((movement, _)),
                Some((damage_types, _)),
                Some((weapons, _)),
                Some((currencies, _)),
                Some((items, _)),
            ) if errors.is_empty() => Ok(Config {
                server,
                gameplay: GameplayConfig { world, movement },
                combat: CombatConfig {
                    damage_types,
                    weapons,
                },
                economy: EconomyConfig { currencies, items },
            }),
            _ => Err(ConfigErrors(errors)),
        }
    }

    /// The asset files (relative paths) whose content differs between `self` and `next`.
    pub fn changed_files(&self, next: &Config) -> Vec<&'static str> {
        let [server, world, movement, damage_types, weapons, currencies, items] = ASSET_FILES;
        let differs = [
            (server, self.server != next.server),
            (world, self.gameplay.world != next.gameplay.world),
            (movement, self.gameplay.movement != next.gameplay.movement),
            (damage_types, self.combat.damage_types != next.combat.damage_types),
            (weapons, self.combat.weapons != next.combat.weapons),
            (currencies, self.economy.currencies != next.economy.currencies),
            (items, self.economy.items != next.economy.items),
        ];
        differs
            .into_iter()
            .filter_map(|(file, changed)| changed.then_some(file))
            .collect()
    }

    /// Keys whose new value in `next` only takes effect after a restart.
    pub fn restart_only_changes(&self, next: &Config) -> Vec<&'static str> {
        self.server.restart_only_changes(&next.server)
    }
}

/// Refuses `.toml` files under `dir` that the server would not read.
fn refuse_unknown_files(dir: &Path, errors: &mut Vec<ConfigError>) {
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for path in entries.flatten().map(|entry| entry.path()) {
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let is_toml = path.extension().is_some_and(|ext| ext == "toml");
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
