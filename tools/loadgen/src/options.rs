//! What a run needs ([`RunOptions`]) and the test-rig conveniences that fill it: the token key
//! read from the server's data directory, the certificate fingerprint parsed from hex.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use necpsim::config::Config;
use necpsim::net::auth::{self, TokenKey};

use crate::LoadgenError;
use crate::scenario::Scenario;

/// Bots per client source address by default: under the server's default
/// `net.max_connections_per_ip` of 64.
pub const DEFAULT_PER_SOURCE_ADDRESS: u32 = 60;

/// One run of the swarm.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The server's UDP address.
    pub server: SocketAddr,
    /// SHA-256 of the server's certificate (logged by the server as "TLS certificate").
    pub fingerprint: [u8; 32],
    /// Signs the bots' session tokens.
    pub tokens: Arc<TokenKey>,
    /// What the bots do.
    pub scenario: Scenario,
    /// How many bots.
    pub clients: u32,
    /// How long the run lasts, ramp included.
    pub duration: Duration,
    /// Bots start evenly spread over this long.
    pub ramp: Duration,
    /// Seeds every bot's choices.
    pub seed: u64,
    /// The server's HTTP address, to scrape `/metrics`; `None`: no server-side numbers.
    pub metrics: Option<SocketAddr>,
    /// Bot `i` plays player `first_player + i`.
    pub first_player: u64,
    /// Bots per client endpoint. When the server is on 127.0.0.0/8, endpoint `k` binds
    /// 127.0.0.(k+1), so that no source address exceeds the server's per-address cap.
    pub per_source_address: u32,
    /// Show a live progress bar on stderr.
    pub progress: bool,
}

impl RunOptions {
    /// Checks the options that could make a run meaningless.
    pub fn check(&self) -> Result<(), LoadgenError> {
        if self.clients == 0 {
            return Err(LoadgenError::Options("--clients must be at least 1".into()));
        }
        if self.duration.is_zero() {
            return Err(LoadgenError::Options("--duration must be positive".into()));
        }
        if self.ramp > self.duration {
            return Err(LoadgenError::Options("--ramp must not exceed --duration".into()));
        }
        if self.per_source_address == 0 {
            return Err(LoadgenError::Options(
                "--per-source-address must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

/// The key the server at `data` (with assets `assets`) signs tokens with: `NECPSIM_AUTH_SECRET`,
/// `net.auth.secret_file`, or the development secret in the data directory. A test-rig
/// convenience for a server on the same machine, like `necpsim token`.
pub fn token_key(assets: &Path, data: &Path) -> Result<TokenKey, LoadgenError> {
    if !data.is_dir() {
        return Err(LoadgenError::NoDataDir(data.to_owned()));
    }
    let config = Config::load(assets).map_err(|errors| LoadgenError::Assets {
        path: assets.to_owned(),
        reason: errors.to_string(),
    })?;
    let secret_file = config.server.net.auth.secret_file.as_deref();
    let (key, _) = auth::resolve_secret(secret_file, data, true)?;
    Ok(key)
}

/// The 32 bytes of a 64-digit hex fingerprint (colons allowed, as some tools print them).
pub fn parse_fingerprint(text: &str) -> Result<[u8; 32], LoadgenError> {
    let digits: Vec<u8> = text.bytes().filter(|b| *b != b':').collect();
    let bad = || LoadgenError::Options(format!("--fingerprint {text}: expected 64 hex digits"));
    if digits.len() != 64 {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(digits.chunks(2)) {
        let pair = std::str::from_utf8(pair).map_err(|_| bad())?;
        *byte = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
    }
    Ok(out)
}

/// Parses `90s`, `15m`, `2h` (as `necpsim token --ttl`), or plain seconds.
pub fn parse_duration(text: &str) -> Result<Duration, LoadgenError> {
    if let Ok(seconds) = text.parse::<f64>()
        && seconds.is_finite()
        && seconds >= 0.0
    {
        return Ok(Duration::from_secs_f64(seconds));
    }
    if let Some(ms) = text.strip_suffix("ms")
        && let Ok(ms) = ms.parse::<u64>()
    {
        return Ok(Duration::from_millis(ms));
    }
    auth::parse_duration(text).map_err(|error| LoadgenError::Options(format!("duration {text}: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_and_durations_parse() {
        let hex = "ab".repeat(32);
        assert_eq!(parse_fingerprint(&hex).expect("valid"), [0xab; 32]);
        assert!(parse_fingerprint("abc").is_err());
        assert_eq!(parse_duration("60s").expect("valid"), Duration::from_secs(60));
        assert_eq!(parse_duration("2.5").expect("valid"), Duration::from_millis(2500));
        assert_eq!(
            parse_duration("250ms").expect("valid"),
            Duration::from_millis(250)
        );
        assert!(parse_duration("soon").is_err());
    }
}
