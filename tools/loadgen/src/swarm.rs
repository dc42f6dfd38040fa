//! One run ([`run`]): binds the client endpoints, starts the bots over the ramp, samples once a
//! second (round trips of that second, the server's tick time from `/metrics`, the progress bar),
//! stops everything at the deadline (letting requests in flight get their replies) and assembles
//! the [`Report`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior, interval};

use crate::bots::{self, Shared};
use crate::report::{Report, RunFacts, Sample, ServerSide, maybe};
use crate::scrape::{self, Scrape};
use crate::stats::Stats;
use crate::{LoadgenError, RunOptions};

/// How long bots get to finish after the deadline before they are aborted: long enough for a
/// request in flight at the deadline to get its reply or time out. Requests of a bot aborted
/// anyway still count, as unanswered.
const STOP_GRACE: Duration = bots::REQUEST_TIMEOUT.saturating_add(Duration::from_secs(2));
/// How long closes get to reach the server.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Runs the swarm once and reports.
pub async fn run(options: &RunOptions) -> Result<Report, LoadgenError> {
    options.check()?;
    let plan = bots::plan(
        options.clients,
        &options.scenario.mix,
        options.scenario.fighting.team_size,
    );
    let endpoints = endpoints(options)?;
    let start = Instant::now();
    let stats = Arc::new(Stats::new(start));
    let deadline = start + options.duration;
    let lobby = (0..plan.groups)
        .map(|_| tokio::sync::watch::channel(0).0)
        .collect();
    let shared = Arc::new(Shared {
        stats: Arc::clone(&stats),
        scenario: options.scenario.clone(),
        plan: plan.clone(),
        server: options.server,
        fingerprint: options.fingerprint,
        tokens: Arc::clone(&options.tokens),
        first_player: options.first_player,
        seed: options.seed,
        deadline,
        lobby,
    });
    let mut first_scrape = Scrape::default();
    let mut metrics_error = None;
    if let Some(addr) = options.metrics {
        match scrape::scrape(addr).await {
            Ok(scrape) => first_scrape = scrape,
            Err(error) => metrics_error = Some(error.to_string()),
        }
    }
    let mut bots = JoinSet::new();
    for index in 0..options.clients {
        let offset = options
            .ramp
            .mul_f64(f64::from(index) / f64::from(options.clients));
        let endpoint = endpoints[index as usize / options.per_source_address as usize].clone();
        bots.spawn(bots::run(Arc::clone(&shared), index, endpoint, start + offset));
    }

    let progress = progress_bar(options);
    let mut timeline = Vec::new();
    let mut previous = first_scrape.clone();
    let mut rss_max = first_scrape.rss_bytes;
    let mut snapshots_before = 0;
    let mut second = interval(Duration::from_secs(1));
    second.set_missed_tick_behavior(MissedTickBehavior::Delay);
    second.tick().await;
    while Instant::now() < deadline {
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => {}
            _ = second.tick() => {}
        }
        let rtt = stats.take_second();
        let mut tick_ms_p99 = None;
        if metrics_error.is_none()
            && let Some(addr) = options.metrics
            && let Ok(now) = scrape::scrape(addr).await
        {
            tick_ms_p99 = scrape::quantile_ms(&previous.tick_buckets, &now.tick_buckets, 0.99);
            rss_max = larger(rss_max, now.rss_bytes);
            previous = now;
        }
        let snapshots = Stats::get(&stats.snapshots);
        let sample = Sample {
            t_s: start.elapsed().as_secs_f64(),
            bots: Stats::get(&stats.live),
            replies: rtt.len(),
            rtt_ms_p99: (!rtt.is_empty()).then(|| rtt.value_at_quantile(0.99) as f64 / 1000.0),
            tick_ms_p99,
            snapshots: snapshots - snapshots_before,
            errors: stats.error_count(),
        };
        snapshots_before = snapshots;
        progress.set_position(sample.t_s as u64);
        progress.set_message(format!(
            "bots {}/{} | rtt p99 {} | tick p99 {} | snapshots/s {} | errors {}",
            sample.bots,
            options.clients,
            maybe(sample.rtt_ms_p99, " ms"),
            maybe(sample.tick_ms_p99, " ms"),
            sample.snapshots,
            sample.errors
        ));
        timeline.push(sample);
    }
    let until_deadline = start.elapsed();
    progress.finish_and_clear();

    let stopped = tokio::time::timeout(STOP_GRACE, async { while bots.join_next().await.is_some() {} }).await;
    if stopped.is_err() {
        // Waits for the aborted bots to be dropped, which counts their requests in flight.
        bots.shutdown().await;
    }
    // Replies to requests in flight at the deadline are counted, so the run's length, which the
    // rates divide by, extends to the last of them when it came later.
    let elapsed_s = until_deadline.max(stats.last_reply()).as_secs_f64();
    for endpoint in &endpoints {
        let _ = tokio::time::timeout(CLOSE_GRACE, endpoint.wait_idle()).await;
    }

    let mut server = ServerSide {
        metrics_error,
        ..ServerSide::default()
    };
    if server.metrics_error.is_none()
        && let Some(addr) = options.metrics
    {
        match scrape::scrape(addr).await {
            Ok(last) => {
                let ticks = |before: &[(f64, u64)], after: &[(f64, u64)]| {
                    [0.5, 0.99].map(|quantile| scrape::quantile_ms(before, after, quantile))
                };
                [server.tick_ms_p50, server.tick_ms_p99] =
                    ticks(&first_scrape.tick_buckets, &last.tick_buckets);
                [server.tick_cpu_ms_p50, server.tick_cpu_ms_p99] =
                    ticks(&first_scrape.tick_cpu_buckets, &last.tick_cpu_buckets);
                if let (Some(before), Some(after)) = (first_scrape.cpu_seconds, last.cpu_seconds) {
                    server.cpu_percent = Some((after - before) / start.elapsed().as_secs_f64() * 100.0);
                }
                server.rss_mb = larger(rss_max, last.rss_bytes).map(|bytes| bytes / (1024.0 * 1024.0));
            }
            Err(error) => server.metrics_error = Some(error.to_string()),
        }
    }
    let facts = RunFacts {
        scenario: &options.scenario.name,
        clients: options.clients,
        elapsed_s,
        ramp_s: options.ramp.as_secs_f64(),
        seed: options.seed,
        plan: &plan,
    };
    Ok(Report::build(&facts, &stats, server, timeline))
}

/// One client endpoint per `per_source_address` bots; on a loopback server, each on its own
/// source address 127.0.0.1, 127.0.0.2, …, so the server's per-address cap counts them apart.
fn endpoints(options: &RunOptions) -> Result<Vec<quinn::Endpoint>, LoadgenError> {
    let count = options.clients.div_ceil(options.per_source_address);
    let loopback = matches!(options.server.ip(), IpAddr::V4(ip) if ip.is_loopback());
    if loopback && count > 254 {
        return Err(LoadgenError::Options(format!(
            "{} clients need {count} loopback source addresses at {} each; raise --per-source-address",
            options.clients, options.per_source_address
        )));
    }
    (0..count)
        .map(|k| {
            let ip = match options.server.ip() {
                IpAddr::V4(_) if loopback => IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + k as u8)),
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
            };
            let addr = SocketAddr::new(ip, 0);
            quinn::Endpoint::client(addr).map_err(|source| LoadgenError::Endpoint { addr, source })
        })
        .collect()
}

/// The live progress bar on stderr, or a hidden one.
fn progress_bar(options: &RunOptions) -> ProgressBar {
    if !options.progress {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(options.duration.as_secs());
    let style = ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:24} {pos}/{len}s {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// The larger of two optional values.
fn larger(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}
