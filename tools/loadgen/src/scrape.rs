//! Reads the server's `/metrics` (the Prometheus text format) over plain HTTP/1.1: the tick
//! duration histogram (`necpsim_tick_duration_seconds`), and, where the server exports them, the
//! tick thread's CPU time per tick (`necpsim_tick_cpu_seconds`), its
//! CPU time (`necpsim_process_cpu_seconds_total`) and resident memory
//! (`necpsim_process_resident_memory_bytes`). Percentiles of a window come from the difference of
//! two scrapes' cumulative buckets.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long one scrape may take.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(2);
/// The largest response read.
const MAX_RESPONSE_BYTES: u64 = 4 << 20;

/// Why a scrape failed.
#[derive(Debug, thiserror::Error)]
pub enum ScrapeError {
    /// The connection or the read failed.
    #[error("scraping http://{addr}/metrics: {source}")]
    Io {
        /// The server's HTTP address.
        addr: SocketAddr,
        /// What failed.
        source: std::io::Error,
    },
    /// The server took too long.
    #[error("scraping http://{0}/metrics: timed out")]
    Timeout(SocketAddr),
    /// The answer was not `200 OK`.
    #[error("scraping http://{addr}/metrics: {status}")]
    Status {
        /// The server's HTTP address.
        addr: SocketAddr,
        /// The status line.
        status: String,
    },
}

/// What one scrape found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scrape {
    /// Cumulative tick-duration buckets: (upper bound in seconds, count), `+Inf` last.
    pub tick_buckets: Vec<(f64, u64)>,
    /// Cumulative buckets of the tick thread's CPU time per tick, like `tick_buckets`; empty
    /// where the server does not export them.
    pub tick_cpu_buckets: Vec<(f64, u64)>,
    /// CPU seconds the server process has used, if exported.
    pub cpu_seconds: Option<f64>,
    /// The server's resident memory in bytes, if exported.
    pub rss_bytes: Option<f64>,
}

/// Fetches and parses `http://addr/metrics`.
pub async fn scrape(addr: SocketAddr) -> Result<Scrape, ScrapeError> {
    let text = tokio::time::timeout(SCRAPE_TIMEOUT, fetch(addr))
        .await
        .map_err(|_| ScrapeError::Timeout(addr))??;
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.lines().next().unwrap_or("").to_owned();
    if !status.contains(" 200 ") {
        return Err(ScrapeError::Status { addr, status });
    }
    Ok(parse(body))
}

async fn fetch(addr: SocketAddr) -> Result<String, ScrapeError> {
    let io = |source| ScrapeError::Io { addr, source };
    let mut stream = TcpStream::connect(addr).await.map_err(io)?;
    let request = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.map_err(io)?;
    let mut bytes = Vec::new();
    stream
        .take(MAX_RESPONSE_BYTES)
        .read_to_end(&mut bytes)
        .await
        .map_err(io)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Parses the Prometheus text exposition, keeping what the report needs.
pub fn parse(body: &str) -> Scrape {
    let mut scrape = Scrape::default();
    for line in body.lines().filter(|line| !line.starts_with('#')) {
        let Some((name, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(value) = value.trim().parse::<f64>() else {
            continue;
        };
        let buckets = if let Some(labels) = name.strip_prefix("necpsim_tick_duration_seconds_bucket{") {
            Some((&mut scrape.tick_buckets, labels))
        } else {
            name.strip_prefix("necpsim_tick_cpu_seconds_bucket{")
                .map(|labels| (&mut scrape.tick_cpu_buckets, labels))
        };
        if let Some((buckets, labels)) = buckets {
            let bound = labels
                .split(',')
                .find_map(|label| label.trim().strip_prefix("le=\""))
                .and_then(|rest| rest.split('"').next())
                .and_then(|le| {
                    if le == "+Inf" {
                        Some(f64::INFINITY)
                    } else {
                        le.parse().ok()
                    }
                });
            if let Some(bound) = bound {
                buckets.push((bound, value as u64));
            }
        } else if name == "necpsim_process_cpu_seconds_total" {
            scrape.cpu_seconds = Some(value);
        } else if name == "necpsim_process_resident_memory_bytes" {
            scrape.rss_bytes = Some(value);
        }
    }
    scrape.tick_buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    scrape.tick_cpu_buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    scrape
}

/// The `quantile` (0..1) of the ticks observed between two scrapes' cumulative buckets of one
/// histogram (`before` and `after`), in milliseconds, interpolated linearly within its bucket;
/// `None` when no tick was observed or the buckets differ. A quantile in the `+Inf` bucket is
/// reported as the largest finite bound.
pub fn quantile_ms(before: &[(f64, u64)], after: &[(f64, u64)], quantile: f64) -> Option<f64> {
    let deltas: Vec<(f64, u64)> = if before.is_empty() {
        after.to_vec()
    } else {
        if before.len() != after.len() {
            return None;
        }
        after
            .iter()
            .zip(before)
            .map(|(a, b)| (a.0, a.1.saturating_sub(b.1)))
            .collect()
    };
    let total = deltas.last()?.1;
    if total == 0 {
        return None;
    }
    let rank = (quantile * total as f64).ceil().max(1.0);
    let (mut lower_bound, mut lower_count) = (0.0, 0u64);
    for &(bound, cumulative) in &deltas {
        if cumulative as f64 >= rank {
            if bound.is_infinite() {
                return Some(lower_bound * 1000.0);
            }
            let in_bucket = cumulative.saturating_sub(lower_count).max(1) as f64;
            let fraction = (rank - lower_count as f64) / in_bucket;
            return Some((lower_bound + (bound - lower_bound) * fraction) * 1000.0);
        }
        (lower_bound, lower_count) = (bound, cumulative);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# HELP necpsim_tick_duration_seconds Tick time.\n\
        necpsim_tick_duration_seconds_bucket{le=\"0.001\"} 90\n\
        necpsim_tick_duration_seconds_bucket{le=\"0.002\"} 99\n\
        necpsim_tick_duration_seconds_bucket{le=\"0.004\"} 100\n\
        necpsim_tick_duration_seconds_bucket{le=\"+Inf\"} 100\n\
        necpsim_tick_duration_seconds_count 100\n\
        necpsim_tick_cpu_seconds_bucket{le=\"0.001\"} 99\n\
        necpsim_tick_cpu_seconds_bucket{le=\"0.002\"} 100\n\
        necpsim_tick_cpu_seconds_bucket{le=\"+Inf\"} 100\n\
        necpsim_process_resident_memory_bytes 1048576\n";

    #[test]
    fn parses_buckets_and_process_metrics() {
        let scrape = parse(TEXT);
        assert_eq!(scrape.tick_buckets.len(), 4);
        assert_eq!(
            scrape.tick_cpu_buckets,
            [(0.001, 99), (0.002, 100), (f64::INFINITY, 100)]
        );
        assert_eq!(scrape.rss_bytes, Some(1_048_576.0));
        assert_eq!(scrape.cpu_seconds, None, "absent metrics stay absent");
    }

    #[test]
    fn quantiles_come_from_bucket_deltas() {
        let after = parse(TEXT);
        let p99 = quantile_ms(&[], &after.tick_buckets, 0.99).expect("ticks observed");
        assert!((p99 - 2.0).abs() < 1e-9, "{p99}");
        let p50 = quantile_ms(&[], &after.tick_buckets, 0.5).expect("ticks observed");
        assert!(p50 > 0.0 && p50 <= 1.0, "{p50}");
        assert_eq!(
            quantile_ms(&after.tick_buckets, &after.tick_buckets, 0.99),
            None,
            "no ticks in between"
        );
        let cpu_p99 = quantile_ms(&[], &after.tick_cpu_buckets, 0.99).expect("ticks observed");
        assert!((cpu_p99 - 1.0).abs() < 1e-9, "{cpu_p99}");
    }
}
