//! The error a designer reads when an asset file is refused: file, line, key path and reason.

use std::fmt;

/// One refused value in one asset file.
///
/// Displays as `FILE[:LINE]: KEY: REASON`, e.g.
/// `assets/combat/weapons.toml:3: weapons.smart_pistol.base_damage: must be > 0, got -5`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file as the user named it (assets directory joined with the relative path).
    pub file: String,
    /// 1-based line of the offending key or value, when it can be located.
    pub line: Option<usize>,
    /// Dotted key path inside the file (`weapons.smart_pistol.base_damage`); empty for file-level errors.
    pub key: String,
    /// Why the value was refused.
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.reason)
    }
}

impl std::error::Error for ConfigError {}

/// Every error found in one load of the assets directory, in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render(.0))]
pub struct ConfigErrors(pub Vec<ConfigError>);

fn render(errors: &[ConfigError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

impl ConfigErrors {
    /// The individual errors.
    pub fn iter(&self) -> impl Iterator<Item = &ConfigError> {
        self.0.iter()
    }

    /// How many errors were found.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when nothing was refused (never the case for a returned error).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
