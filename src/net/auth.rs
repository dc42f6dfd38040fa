//! Session tokens: the HMAC-SHA256 key and where its secret comes from, issuing and verifying
//! tokens, and parsing the `--ttl` a token is issued for.
//!
//! A token is the lowercase hex of `[version 1][player u64 LE][expiry u64 LE][HMAC-SHA256 tag]`,
//! the tag covering the first 17 bytes. Tokens are stateless: whoever holds the secret can issue
//! them, so the secret never has a built-in default outside loopback development.

use std::fs::OpenOptions;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

use crate::sim::economy::ledger::PlayerId;

/// Shortest secret accepted for signing tokens.
pub const MIN_SECRET_BYTES: usize = 32;
/// Environment variable that takes precedence over every other secret source.
pub const SECRET_ENV: &str = "NECPSIM_AUTH_SECRET";
/// Name of the generated development secret inside the data directory.
pub const DEV_SECRET_FILE: &str = "dev-auth-secret";
/// Length of a token in hex characters.
pub const TOKEN_HEX_LEN: usize = 2 * TOKEN_BYTES;

/// Format version carried in the first byte, so the layout can change without ambiguity.
const TOKEN_VERSION: u8 = 1;
/// Version, player and expiry: the part the tag covers.
const PAYLOAD_BYTES: usize = 17;
/// Payload plus the HMAC-SHA256 tag.
const TOKEN_BYTES: usize = PAYLOAD_BYTES + 32;

/// Why no token key could be set up.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The secret is shorter than [`MIN_SECRET_BYTES`].
    #[error("auth secret is {bytes} bytes; at least {MIN_SECRET_BYTES} are required")]
    SecretTooShort {
        /// Length of the refused secret.
        bytes: usize,
    },
    /// [`SECRET_ENV`] is set but not valid UTF-8.
    #[error("{SECRET_ENV} is not valid UTF-8")]
    EnvNotUnicode,
    /// A secret file could not be read.
    #[error("reading auth secret {path}: {source}")]
    ReadSecret {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The development secret could not be created.
    #[error("creating development auth secret {path}: {source}")]
    WriteSecret {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The development secret file does not hold 64 hex characters.
    #[error("development auth secret {path} is not 64 hex characters; delete it to generate a new one")]
    BadDevSecret {
        /// The file.
        path: PathBuf,
    },
    /// The system random number generator failed.
    #[error("the system random number generator failed")]
    Random,
    /// No secret is configured and the development secret is not allowed.
    #[error(
        "no auth secret: set {SECRET_ENV} or net.auth.secret_file to at least {MIN_SECRET_BYTES} \
         bytes; the development secret is only used on a loopback address"
    )]
    NoSecret,
}

/// Why a token was refused. Codes are stable and sent to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a token of this format: wrong length, not lowercase hex, or unknown version; or one
    /// for a player id kept for the server's own accounts.
    #[error("malformed token")]
    Malformed,
    /// The tag does not match: altered, or signed with another secret.
    #[error("token signature is invalid")]
    Forged,
    /// The token was genuine but its expiry has passed.
    #[error("token has expired")]
    Expired,
}

impl TokenError {
    /// Stable wire code: 1001 malformed, 1002 forged, 1003 expired.
    pub fn code(self) -> u16 {
        match self {
            TokenError::Malformed => 1001,
            TokenError::Forged => 1002,
            TokenError::Expired => 1003,
        }
    }
}

/// What a token asserts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claims {
    /// The player the bearer may act as.
    pub player: u64,
    /// Unix time in seconds from which the token is refused.
    pub expires_unix_s: u64,
}

/// Where the secret behind a [`TokenKey`] came from, for the startup log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// The [`SECRET_ENV`] environment variable.
    Environment,
    /// The configured secret file.
    File(PathBuf),
    /// The development secret in the data directory.
    DevFile {
        /// The file.
        path: PathBuf,
        /// Whether this call created it.
        generated: bool,
    },
}

/// The key tokens are signed and verified with.
pub struct TokenKey {
    key: hmac::Key,
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret, not even a hash of it.
        f.write_str("TokenKey(..)")
    }
}

impl TokenKey {
    /// Builds a key from `secret`, which must be at least [`MIN_SECRET_BYTES`] long.
    pub fn from_secret(secret: &[u8]) -> Result<TokenKey, AuthError> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(AuthError::SecretTooShort { bytes: secret.len() });
        }
        Ok(TokenKey {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
        })
    }

    /// Signs `claims` into a token of [`TOKEN_HEX_LEN`] lowercase hex characters.
    pub fn issue(&self, claims: Claims) -> String {
        let mut bytes = [0u8; TOKEN_BYTES];
        bytes[0] = TOKEN_VERSION;
        bytes[1..9].copy_from_slice(&claims.player.to_le_bytes());
        bytes[9..PAYLOAD_BYTES].copy_from_slice(&claims.expires_unix_s.to_le_bytes());
        let tag = hmac::sign(&self.key, &bytes[..PAYLOAD_BYTES]);
        bytes[PAYLOAD_BYTES..].copy_from_slice(tag.as_ref());
        hex_encode(&bytes)
    }

    /// Checks `token` and returns its claims if it is well formed, genuine and unexpired at
    /// `now_unix_s`. Never panics, whatever the input.
    pub fn verify(&self, token: &str, now_unix_s: u64) -> Result<Claims, TokenError> {
        let bytes: [u8; TOKEN_BYTES] = hex_decode(token).ok_or(TokenError::Malformed)?;
        if bytes[0] != TOKEN_VERSION {
            return Err(TokenError::Malformed);
        }
        let (payload, tag) = bytes.split_at(PAYLOAD_BYTES);
        // ring compares the tag in constant time.
        hmac::verify(&self.key, payload, tag).map_err(|_| TokenError::Forged)?;
        // `bytes` is a fixed-size array, so these indices are always in range.
        let field = |at: usize| u64::from_le_bytes(std::array::from_fn(|i| bytes[at + i]));
        let claims = Claims {
            player: field(1),
            expires_unix_s: field(9),
        };
        if now_unix_s >= claims.expires_unix_s {
            return Err(TokenError::Expired);
        }
        if PlayerId(claims.player).is_reserved() {
            return Err(TokenError::Malformed);
        }
        Ok(claims)
    }
}

/// Finds the token secret: [`SECRET_ENV`], then `secret_file`, then (only if
/// `allow_dev_secret`) the development secret in `data_dir`, generated on first use.
pub fn resolve_secret(
    secret_file: Option<&Path>,
    data_dir: &Path,
    allow_dev_secret: bool,
) -> Result<(TokenKey, SecretSource), AuthError> {
    let env = match std::env::var(SECRET_ENV) {
        Ok(value) => Some(value),
        Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(_)) => return Err(AuthError::EnvNotUnicode),
    };
    resolve_secret_from(env, secret_file, data_dir, allow_dev_secret)
}

/// [`resolve_secret`] with the environment variable's value passed in, so tests need not touch
/// the process environment.
pub fn resolve_secret_from(
    env: Option<String>,
    secret_file: Option<&Path>,
    data_dir: &Path,
    allow_dev_secret: bool,
) -> Result<(TokenKey, SecretSource), AuthError> {
    if let Some(secret) = env.filter(|secret| !secret.is_empty()) {
        return Ok((
            TokenKey::from_secret(secret.as_bytes())?,
            SecretSource::Environment,
        ));
    }
    if let Some(path) = secret_file {
        let bytes = std::fs::read(path).map_err(|source| AuthError::ReadSecret {
            path: path.to_path_buf(),
            source,
        })?;
        let key = TokenKey::from_secret(bytes.trim_ascii_end())?;
        return Ok((key, SecretSource::File(path.to_path_buf())));
    }
    if !allow_dev_secret {
        return Err(AuthError::NoSecret);
    }
    let path = data_dir.join(DEV_SECRET_FILE);
    let (secret, generated) = load_or_create_dev_secret(&path)?;
    Ok((
        TokenKey::from_secret(&secret)?,
        SecretSource::DevFile { path, generated },
    ))
}

/// Reads the development secret, creating it if absent. `create_new` means two processes racing
/// here agree on one file instead of overwriting each other.
#[expect(
    clippy::disallowed_methods,
    reason = "waits for a concurrent creator; outside the simulation"
)]
fn load_or_create_dev_secret(path: &Path) -> Result<([u8; 32], bool), AuthError> {
    let write_error = |source| AuthError::WriteSecret {
        path: path.to_path_buf(),
        source,
    };
    // `necpsim token` may run before any server has created the data directory.
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(write_error)?;
    }
    // Drawn before the file exists, so a failure here leaves no empty file behind.
    let mut secret = [0u8; 32];
    SystemRandom::new()
        .fill(&mut secret)
        .map_err(|_| AuthError::Random)?;
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            writeln!(file, "{}", hex_encode(&secret)).map_err(write_error)?;
            file.sync_all().map_err(write_error)?;
            Ok((secret, true))
        }
        Err(error) if error.kind() == ErrorKind::AlreadyExists => {
            // The creator may not have written yet; give it a moment before calling it corrupt.
            for _ in 0..20 {
                let text = std::fs::read_to_string(path).map_err(|source| AuthError::ReadSecret {
                    path: path.to_path_buf(),
                    source,
                })?;
                if !text.is_empty() {
                    let secret =
                        hex_decode(text.trim_ascii_end()).ok_or_else(|| AuthError::BadDevSecret {
                            path: path.to_path_buf(),
                        })?;
                    return Ok((secret, false));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(AuthError::BadDevSecret {
                path: path.to_path_buf(),
            })
        }
        Err(source) => Err(write_error(source)),
    }
}

/// Why a `--ttl` value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Nothing was given.
    #[error("duration is empty; expected e.g. 90s, 15m, 12h or 7d")]
    Empty,
    /// The number has no unit after it.
    #[error("duration needs a unit: s, m, h or d (e.g. 15m)")]
    MissingUnit,
    /// The unit is not one of s, m, h, d.
    #[error("unknown duration unit {0:?}; expected s, m, h or d")]
    UnknownUnit(char),
    /// The part before the unit is not a plain decimal integer.
    #[error("duration must be a whole number followed by a unit (e.g. 15m)")]
    BadNumber,
    /// The duration is zero.
    #[error("duration must be greater than zero")]
    Zero,
    /// The duration does not fit in 64-bit seconds.
    #[error("duration is too large")]
    Overflow,
}

/// Parses `<integer><unit>` with unit `s`, `m`, `h` or `d`, e.g. `90s`, `15m`, `12h`, `7d`.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let unit = text.chars().next_back().ok_or(DurationError::Empty)?;
    let multiplier: u64 = match unit {
        's' => 1,
        'm' => 60,
        'h' => 60 * 60,
        'd' => 24 * 60 * 60,
        digit if digit.is_ascii_digit() => return Err(DurationError::MissingUnit),
        other => return Err(DurationError::UnknownUnit(other)),
    };
    // The unit is ASCII, so this slice ends on a char boundary.
    let number = &text[..text.len() - 1];
    // `u64::from_str` would also take a leading `+`.
    if number.is_empty() || !number.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(DurationError::BadNumber);
    }
    let count: u64 = number.parse().map_err(|_| DurationError::Overflow)?;
    if count == 0 {
        return Err(DurationError::Zero);
    }
    let seconds = count.checked_mul(multiplier).ok_or(DurationError::Overflow)?;
    Ok(Duration::from_secs(seconds))
}

/// Current Unix time in whole seconds; 0 if the clock is before 1970.
#[expect(
    clippy::disallowed_methods,
    reason = "token expiry is wall-clock time, outside the simulation"
)]
pub fn unix_now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

/// Lowercase hex of `bytes`.
fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Decodes exactly `N` bytes of lowercase hex; upper case is refused so each value has one
/// spelling. Works on bytes, so multibyte characters simply fail to decode.
fn hex_decode<const N: usize>(text: &str) -> Option<[u8; N]> {
    fn nibble(digit: u8) -> Option<u8> {
        match digit {
            b'0'..=b'9' => Some(digit - b'0'),
            b'a'..=b'f' => Some(digit - b'a' + 10),
            _ => None,
        }
    }
    let text = text.as_bytes();
    if text.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (byte, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        *byte = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
    const CLAIMS: Claims = Claims {
        player: 42,
        expires_unix_s: 1_000,
    };

    fn key() -> TokenKey {
        TokenKey::from_secret(SECRET).expect("secret is long enough")
    }

    #[test]
    fn issue_then_verify_roundtrips_until_expiry() {
        let token = key().issue(CLAIMS);
        assert_eq!(token.len(), TOKEN_HEX_LEN);
        assert_eq!(key().verify(&token, 999), Ok(CLAIMS));
        assert_eq!(key().verify(&token, 1_000), Err(TokenError::Expired));
        assert_eq!(TokenError::Expired.code(), 1003);
    }

    #[test]
    fn a_genuine_token_for_a_server_account_admits_nobody() {
        let maker = Claims {
            player: u64::MAX,
            ..CLAIMS
        };
        assert_eq!(key().verify(&key().issue(maker), 999), Err(TokenError::Malformed));
        let last_player = Claims {
            player: PlayerId::FIRST_RESERVED - 1,
            ..CLAIMS
        };
        assert_eq!(key().verify(&key().issue(last_player), 999), Ok(last_player));
    }

    #[test]
    fn altered_or_foreign_tokens_are_forged() {
        let mut token = key().issue(CLAIMS).into_bytes();
        let last = token.len() - 1;
        token[last] = if token[last] == b'0' { b'1' } else { b'0' };
        let flipped = String::from_utf8(token).expect("hex is ASCII");
        assert_eq!(key().verify(&flipped, 0), Err(TokenError::Forged));
        let other = TokenKey::from_secret(&[7u8; 32]).expect("secret is long enough");
        assert_eq!(other.verify(&key().issue(CLAIMS), 0), Err(TokenError::Forged));
    }

    #[test]
    fn odd_inputs_are_malformed_without_panicking() {
        let token = key().issue(CLAIMS);
        let wrong_version = format!("02{}", &token[2..]);
        let multibyte = format!("é{}", &token[2..]);
        let odd_length = "€".repeat(TOKEN_HEX_LEN / 3) + "ab";
        for input in [
            "",
            "zz",
            &token[..TOKEN_HEX_LEN - 1],
            &format!("{token}0"),
            &token.to_uppercase(),
            &wrong_version,
            &multibyte,
            &odd_length,
            &"g".repeat(98),
        ] {
            assert_eq!(key().verify(input, 0), Err(TokenError::Malformed), "{input:?}");
        }
        assert_eq!(TokenError::Malformed.code(), 1001);
        assert_eq!(TokenError::Forged.code(), 1002);
    }

    #[test]
    fn short_secret_is_refused() {
        let error = TokenKey::from_secret(&SECRET[..31]).expect_err("31 bytes is too short");
        assert!(matches!(error, AuthError::SecretTooShort { bytes: 31 }));
        assert_eq!(format!("{:?}", key()), "TokenKey(..)");
    }

    #[test]
    fn dev_secret_is_generated_once_then_reused() {
        let temp = tempfile::tempdir().expect("tempdir");
        let dir = temp.path().join("not-yet-created");
        let (first, source) = resolve_secret_from(None, None, &dir, true).expect("first");
        let path = dir.join(DEV_SECRET_FILE);
        assert!(matches!(source, SecretSource::DevFile { path: p, generated: true } if p == path));
        let (second, source) = resolve_secret_from(None, None, &dir, true).expect("second");
        assert!(matches!(source, SecretSource::DevFile { generated: false, .. }));
        assert_eq!(second.verify(&first.issue(CLAIMS), 0), Ok(CLAIMS));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("metadata").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "not hex\n").expect("overwrite");
        let error = resolve_secret_from(None, None, &dir, true).expect_err("corrupt");
        assert!(matches!(error, AuthError::BadDevSecret { .. }));
    }

    #[test]
    fn secret_file_is_trimmed_and_env_takes_precedence() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("secret");
        std::fs::write(&file, [SECRET, b" \r\n\n"].concat()).expect("write");
        let (from_file, source) =
            resolve_secret_from(Some(String::new()), Some(&file), dir.path(), false).expect("file");
        assert_eq!(source, SecretSource::File(file.clone()));
        assert_eq!(from_file.verify(&key().issue(CLAIMS), 0), Ok(CLAIMS));

        let env = String::from("an environment secret of 32+ bytes!");
        let (from_env, source) =
            resolve_secret_from(Some(env.clone()), Some(&file), dir.path(), true).expect("env");
        assert_eq!(source, SecretSource::Environment);
        let env_key = TokenKey::from_secret(env.as_bytes()).expect("long enough");
        assert_eq!(from_env.verify(&env_key.issue(CLAIMS), 0), Ok(CLAIMS));

        let short = resolve_secret_from(Some("short".into()), None, dir.path(), true);
        assert!(matches!(short, Err(AuthError::SecretTooShort { bytes: 5 })));
        let missing = resolve_secret_from(None, Some(&dir.path().join("nope")), dir.path(), true);
        assert!(matches!(missing, Err(AuthError::ReadSecret { .. })));
        let none = resolve_secret_from(None, None, dir.path(), false);
        assert!(matches!(none, Err(AuthError::NoSecret)));
        assert!(!dir.path().join(DEV_SECRET_FILE).exists());
    }

    #[test]
    fn durations_parse_with_units_and_refuse_the_rest() {
        let ok = |text| parse_duration(text).map(|duration| duration.as_secs());
        assert_eq!(ok("90s"), Ok(90));
        assert_eq!(ok("15m"), Ok(900));
        assert_eq!(ok("12h"), Ok(43_200));
        assert_eq!(ok("7d"), Ok(604_800));
        assert_eq!(ok(""), Err(DurationError::Empty));
        assert_eq!(ok("15"), Err(DurationError::MissingUnit));
        assert_eq!(ok("15w"), Err(DurationError::UnknownUnit('w')));
        assert_eq!(ok("15é"), Err(DurationError::UnknownUnit('é')));
        assert_eq!(ok("m"), Err(DurationError::BadNumber));
        assert_eq!(ok("+5m"), Err(DurationError::BadNumber));
        assert_eq!(ok("-5m"), Err(DurationError::BadNumber));
        assert_eq!(ok("0h"), Err(DurationError::Zero));
        assert_eq!(ok("99999999999999999999s"), Err(DurationError::Overflow));
        assert_eq!(ok("18446744073709551615d"), Err(DurationError::Overflow));
    }
}
