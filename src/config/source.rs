//! Reading one asset file: TOML text into a typed struct with the failing key path and line on error,
//! and the [`Checker`] that validation passes use to report refused values against the same file.

use std::borrow::Cow;
use std::fmt::Display;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::ConfigError;

/// Refused values listed per file; a file a script broke everywhere (30,000 items, say) is
/// summed up after these.
const MAX_LISTED_PER_FILE: usize = 100;
/// Names listed in the message of a reference to an unknown one.
const MAX_NAMES_SHOWN: usize = 20;

/// The text of one asset file, kept so that errors found after parsing can still name a line.
#[derive(Debug)]
pub(crate) struct Source {
    /// The path shown to the user: the assets directory joined with the relative path.
    file: String,
    text: String,
}

impl Source {
    /// Reads, parses and validates `dir/relative`. Every problem is pushed onto `errors`; the value is
    /// returned only when it parsed (it may still have failed validation).
    pub(crate) fn load<T: DeserializeOwned>(
        dir: &Path,
        relative: &str,
        errors: &mut Vec<ConfigError>,
        validate: impl FnOnce(&T, &mut Checker<'_>),
    ) -> Option<T> {
        let (value, source) = Source::parse::<T>(dir, relative, errors)?;
        let mut check = source.checker(errors);
        if let Ok(root) = DeTable::parse(&source.text) {
            refuse_quoted_names(root.get_ref(), "", &mut check);
        }
        // A refused name would be misread in the keys of every other error under it: its values
        // are checked once it is fixed.
        if check.refused == 0 {
            validate(&value, &mut check);
        }
        let unlisted = check.refused.saturating_sub(MAX_LISTED_PER_FILE);
        if unlisted > 0 {
            errors.push(ConfigError {
                file: source.file.clone(),
                line: None,
                key: String::new(),
                reason: format!("{unlisted} more refused values not listed"),
            });
        }
        Some(value)
    }

    /// Reads `dir/relative` and parses it into `T`; a missing file, bad TOML, an unknown key or a value
    /// of the wrong type becomes one [`ConfigError`] pushed onto `errors`.
    fn parse<T: DeserializeOwned>(
        dir: &Path,
        relative: &str,
        errors: &mut Vec<ConfigError>,
    ) -> Option<(T, Source)> {
        let path = dir.join(relative);
        let file = path.display().to_string();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) => {
                errors.push(ConfigError {
                    file,
                    line: None,
                    key: String::new(),
                    reason: format!("cannot read: {err}"),
                });
                return None;
            }
        };
        let source = Source { file, text };
        match source.deserialize::<T>() {
            Ok(value) => Some((value, source)),
            Err(err) => {
                errors.push(err);
                None
            }
        }
    }

    fn deserialize<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        let deserializer =
            toml::de::Deserializer::parse(&self.text).map_err(|err| self.toml_error(String::new(), &err))?;
        serde_path_to_error::deserialize(deserializer).map_err(|err| {
            let mut key = String::new();
            for segment in err.path().iter() {
                match segment {
                    Segment::Seq { index } => key.push_str(&format!("[{index}]")),
                    Segment::Map { key: name } => push_name(&mut key, name),
                    Segment::Enum { variant } => push_name(&mut key, variant),
                    Segment::Unknown => push_name(&mut key, "?"),
                }
            }
            self.toml_error(key, err.inner())
        })
    }

    fn toml_error(&self, key: String, err: &toml::de::Error) -> ConfigError {
        let line = err
            .span()
            .map(|span| line_of_offset(&self.text, span.start))
            .or_else(|| self.line_of_key(&key));
        let message = err.message().trim();
        ConfigError {
            file: self.file.clone(),
            line,
            key,
            reason: beyond_integer_type(message).unwrap_or_else(|| message.to_owned()),
        }
    }

    /// The 1-based line where the `key` path (`a.b[2].c`) is written, or where its deepest existing
    /// parent is, if the file has any of it.
    fn line_of_key(&self, key: &str) -> Option<usize> {
        let root = DeTable::parse(&self.text).ok()?;
        let mut current: Option<&Spanned<DeValue<'_>>> = None;
        for step in key_steps(key) {
            let next = match (current.map(Spanned::get_ref), step) {
                (None, KeyStep::Name(name)) => find_key(root.get_ref(), &name),
                (Some(DeValue::Table(table)), KeyStep::Name(name)) => find_key(table, &name),
                (Some(DeValue::Array(array)), KeyStep::Index(index)) => array.get(index),
                _ => None,
            };
            match next {
                Some(value) => current = Some(value),
                None => break,
            }
        }
        current.map(|value| line_of_offset(&self.text, value.span().start))
    }

    /// A checker that reports refused values against this file.
    fn checker<'a>(&'a self, errors: &'a mut Vec<ConfigError>) -> Checker<'a> {
        Checker {
            source: self,
            errors,
            refused: 0,
        }
    }
}

fn find_key<'t, 'i>(table: &'t DeTable<'i>, name: &str) -> Option<&'t Spanned<DeValue<'i>>> {
    table
        .iter()
        .find(|(k, _)| k.get_ref() == name)
        .map(|(_, value)| value)
}

/// One step of a key path: a table key or an array index.
#[derive(Debug, Clone, PartialEq)]
enum KeyStep<'k> {
    Name(Cow<'k, str>),
    Index(usize),
}

/// Splits `a.b[2].c` into `a`, `b`, `[2]`, `c`; a quoted name (`a."b.c".d`) is one step.
fn key_steps(key: &str) -> Vec<KeyStep<'_>> {
    let mut steps = Vec::new();
    let mut rest = key;
    while !rest.is_empty() {
        if let Some(quoted) = rest.strip_prefix('"') {
            // Up to the first quote not escaped by a backslash (as `push_name` writes them).
            let mut name = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((at, c)) = chars.next() {
                match c {
                    '"' => {
                        end = at;
                        break;
                    }
                    '\\' => name.extend(chars.next().map(|(_, escaped)| escaped)),
                    c => name.push(c),
                }
            }
            steps.push(KeyStep::Name(Cow::Owned(name)));
            rest = quoted.get(end + 1..).unwrap_or("");
        } else if let Some(indexed) = rest.strip_prefix('[') {
            let end = indexed.find(']').unwrap_or(indexed.len());
            if let Ok(index) = indexed[..end].parse() {
                steps.push(KeyStep::Index(index));
            }
            rest = indexed.get(end + 1..).unwrap_or("");
        } else if let Some(after_dot) = rest.strip_prefix('.') {
            rest = after_dot;
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            steps.push(KeyStep::Name(Cow::Borrowed(&rest[..end])));
            rest = &rest[end..];
        }
    }
    steps
}

/// Whether `name` can be written as a bare TOML key, as every name in the assets must be: a
/// name is also a step of the keys errors print, and must not be read as two.
fn is_bare(name: &str) -> bool {
    !name.is_empty()
        && (name.bytes()).all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-')
}

/// Appends `name` to the key path `key` as a step: bare, or quoted when it cannot be.
fn push_name(key: &mut String, name: &str) {
    if !key.is_empty() {
        key.push('.');
    }
    if is_bare(name) {
        key.push_str(name);
    } else {
        key.push('"');
        for c in name.chars() {
            if matches!(c, '"' | '\\') {
                key.push('\\');
            }
            key.push(c);
        }
        key.push('"');
    }
}

/// serde's refusal of an integer that its key's type cannot hold (``invalid value: integer `300`,
/// expected u8``), in the words a designer reads: `must be an integer from 0 to 255, got 300`.
/// Validation then checks the key's own range, which may be narrower, on values that fit.
fn beyond_integer_type(message: &str) -> Option<String> {
    let (value, type_name) = message
        .strip_prefix("invalid value: integer `")?
        .split_once("`, expected ")?;
    let (low, high): (i128, i128) = match type_name {
        "u8" => (0, u8::MAX.into()),
        "u16" => (0, u16::MAX.into()),
        "u32" => (0, u32::MAX.into()),
        "u64" => (0, u64::MAX.into()),
        "i8" => (i8::MIN.into(), i8::MAX.into()),
        "i16" => (i16::MIN.into(), i16::MAX.into()),
        "i32" => (i32::MIN.into(), i32::MAX.into()),
        "i64" => (i64::MIN.into(), i64::MAX.into()),
        _ => return None,
    };
    Some(format!("must be an integer from {low} to {high}, got {value}"))
}

/// Refuses every key under `table` (whose own key path is `path`) that is not a bare name.
fn refuse_quoted_names(table: &DeTable<'_>, path: &str, check: &mut Checker<'_>) {
    for (name, value) in table {
        let mut key = path.to_owned();
        push_name(&mut key, name.get_ref());
        if !is_bare(name.get_ref()) {
            check.refuse(&key, "a name may hold only ASCII letters, digits, `_` and `-`");
            continue;
        }
        match value.get_ref() {
            DeValue::Table(inner) => refuse_quoted_names(inner, &key, check),
            DeValue::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    if let DeValue::Table(inner) = item.get_ref() {
                        refuse_quoted_names(inner, &format!("{key}[{index}]"), check);
                    }
                }
            }
            _ => {}
        }
    }
}

fn line_of_offset(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
}

/// Collects the values a validation pass refuses in one file.
#[derive(Debug)]
pub(crate) struct Checker<'a> {
    source: &'a Source,
    errors: &'a mut Vec<ConfigError>,
    /// Values refused so far, listed or not.
    refused: usize,
}

impl Checker<'_> {
    /// Refuses the value at `key` for `reason`.
    pub(crate) fn refuse(&mut self, key: &str, reason: impl Into<String>) {
        self.refused += 1;
        // Past the listed ones only counted: finding a key's line parses the file again.
        if self.refused > MAX_LISTED_PER_FILE {
            return;
        }
        self.errors.push(ConfigError {
            file: self.source.file.clone(),
            line: self.source.line_of_key(key),
            key: key.to_owned(),
            reason: reason.into(),
        });
    }

    /// Refuses `value` unless it is finite; true when it is. TOML spells infinities `inf` and
    /// `-inf`, and no distance, damage or threshold of the game means anything at infinity.
    pub(crate) fn finite<T: Number>(&mut self, key: &str, value: T) -> bool {
        let finite = value.is_finite();
        if !finite {
            self.refuse(key, format!("must be finite, got {value}"));
        }
        finite
    }

    /// Refuses `value` unless it is finite and strictly greater than zero.
    pub(crate) fn positive<T: Number + Default>(&mut self, key: &str, value: T) {
        if self.finite(key, value) && value <= T::default() {
            self.refuse(key, format!("must be > 0, got {value}"));
        }
    }

    /// Refuses `value` unless it is finite, strictly greater than zero and at most `high`.
    pub(crate) fn positive_up_to<T: Number + Default>(&mut self, key: &str, value: T, high: T) {
        if !self.finite(key, value) {
            return;
        }
        if value <= T::default() {
            self.refuse(key, format!("must be > 0, got {value}"));
        } else if value > high {
            self.refuse(key, format!("must be at most {high}, got {value}"));
        }
    }

    /// Refuses `value` unless it is finite and `low <= value <= high`.
    pub(crate) fn within<T: Number>(&mut self, key: &str, value: T, low: T, high: T) {
        if self.finite(key, value) && !(low <= value && value <= high) {
            self.refuse(key, format!("must be between {low} and {high}, got {value}"));
        }
    }

    /// Refuses `value` unless it names one of `known` (a reference to another table).
    pub(crate) fn one_of<'k>(
        &mut self,
        key: &str,
        value: &str,
        what: &str,
        known: impl Iterator<Item = &'k String> + Clone,
    ) {
        if !known.clone().any(|k| k == value) {
            let count = known.clone().count();
            let mut list = known
                .take(MAX_NAMES_SHOWN)
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", ");
            if count > MAX_NAMES_SHOWN {
                list.push_str(&format!(" and {} more", count - MAX_NAMES_SHOWN));
            }
            self.refuse(key, format!("unknown {what} `{value}`; known: {list}"));
        }
    }

    /// Refuses resistances outside ±100 % and, when `damage_types` parsed, names that are not types.
    pub(crate) fn resistances(
        &mut self,
        key: &str,
        resistance_pct: &std::collections::BTreeMap<String, f32>,
        damage_types: Option<&super::DamageTypesConfig>,
    ) {
        for (name, &pct) in resistance_pct {
            let key = format!("{key}.{name}");
            self.within(&key, pct, -100.0, 100.0);
            if let Some(types) = damage_types {
                self.one_of(&key, name, "damage type", types.damage_types.keys());
            }
        }
    }

    /// Refuses an empty table of named entries.
    pub(crate) fn not_empty(&mut self, key: &str, len: usize) {
        if len == 0 {
            self.refuse(key, "must define at least one entry");
        }
    }

    /// Refuses a table of named entries too long for the 16-bit index the simulation and the
    /// protocol refer to its entries by.
    pub(crate) fn indexable(&mut self, key: &str, len: usize) {
        let most = usize::from(u16::MAX) + 1;
        if len > most {
            self.refuse(key, format!("at most {most} entries, got {len}"));
        }
    }
}

/// A number the checks compare. Integers are always finite; a float is not when it is infinite
/// or NaN.
pub(crate) trait Number: PartialOrd + Display + Copy {
    /// False for an infinite or NaN float.
    fn is_finite(self) -> bool {
        true
    }
}

impl Number for u8 {}
impl Number for u16 {}
impl Number for u32 {}
impl Number for u64 {}
impl Number for i64 {}

impl Number for f32 {
    fn is_finite(self) -> bool {
        f32::is_finite(self)
    }
}
