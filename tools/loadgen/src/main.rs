//! The `loadgen` command line: parses the options, builds the runtime, runs the swarm (or the
//! `--find-max` search) and writes the summary to stdout and the report files.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use loadgen::find_max::{FindMaxOptions, find_max};
use loadgen::options::{DEFAULT_PER_SOURCE_ADDRESS, parse_duration, parse_fingerprint, token_key};
use loadgen::{RunOptions, Scenario, html, write_file};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A QUIC bot swarm for necpsim, with a latency and tick-time report.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The server's UDP address.
    #[arg(long, default_value = "127.0.0.1:7777")]
    server: SocketAddr,
    /// A scenario file, or a built-in name: `mixed`, `economy`.
    #[arg(long, default_value = "mixed")]
    scenario: String,
    /// How many bots.
    #[arg(long, default_value_t = 100)]
    clients: u32,
    /// How long the run lasts, ramp included (`60s`, `2m`, `90`).
    #[arg(long, default_value = "60s")]
    duration: String,
    /// Bots start evenly spread over this long.
    #[arg(long, default_value = "10s")]
    ramp: String,
    /// Seeds every bot's choices.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The server certificate's SHA-256 in hex, as the server logs it ("TLS certificate", sha256).
    #[arg(long)]
    fingerprint: String,
    /// The server's data directory: the bots' tokens are signed with its development secret
    /// (or NECPSIM_AUTH_SECRET / net.auth.secret_file), as `necpsim token` does.
    #[arg(long, default_value = "data")]
    data: PathBuf,
    /// The server's assets directory (for net.auth.secret_file).
    #[arg(long, default_value = "assets")]
    assets: PathBuf,
    /// The server's HTTP address for /metrics, or `none`.
    #[arg(long, default_value = "127.0.0.1:9100")]
    metrics: String,
    /// Bot `i` plays player `first-player + i` (below the ids kept for the server's own accounts).
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(..necpsim::sim::economy::ledger::PlayerId::FIRST_RESERVED / 2))]
    first_player: u64,
    /// Bots per client source address (on a loopback server: 127.0.0.1, .2, … in turn), under
    /// the server's net.max_connections_per_ip.
    #[arg(long, default_value_t = DEFAULT_PER_SOURCE_ADDRESS)]
    per_source_address: u32,
    /// Write the report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write the report as a self-contained HTML page here.
    #[arg(long)]
    html: Option<PathBuf>,
    /// Search for the largest bot count the server holds within its tick budget.
    #[arg(long)]
    find_max: bool,
    /// --find-max: bots in the first phase.
    #[arg(long, default_value_t = 100)]
    find_max_start: u32,
    /// --find-max: growth factor per phase.
    #[arg(long, default_value_t = 1.5)]
    find_max_factor: f64,
    /// --find-max: the largest bot count tried.
    #[arg(long, default_value_t = 5000)]
    find_max_limit: u32,
    /// --find-max: length of one phase.
    #[arg(long, default_value = "15s")]
    phase: String,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let scenario = Scenario::load(&args.scenario)?;
    let metrics = match args.metrics.as_str() {
        "none" => None,
        addr => Some(
            addr.trim_start_matches("http://")
                .trim_end_matches("/metrics")
                .parse::<SocketAddr>()
                .with_context(|| format!("--metrics {addr}: expected HOST:PORT or none"))?,
        ),
    };
    let options = RunOptions {
        server: args.server,
        fingerprint: parse_fingerprint(&args.fingerprint)?,
        tokens: Arc::new(token_key(&args.assets, &args.data)?),
        scenario,
        clients: args.clients,
        duration: parse_duration(&args.duration)?,
        ramp: parse_duration(&args.ramp)?,
        seed: args.seed,
        metrics,
        first_player: args.first_player,
        per_source_address: args.per_source_address,
        progress: !args.quiet,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let mut out = std::io::stdout().lock();
    if args.find_max {
        let search = FindMaxOptions {
            start: args.find_max_start,
            factor: args.find_max_factor,
            phase: parse_duration(&args.phase)?,
            limit: args.find_max_limit,
        };
        let found = runtime.block_on(find_max(&options, &search))?;
        for phase in &found.phases {
            writeln!(
                out,
                "{} clients: {}",
                phase.clients,
                phase.reason.as_deref().unwrap_or("held")
            )?;
        }
        match found.max_clients_held {
            Some(max) => writeln!(out, "largest count that held: {max}")?,
            None => writeln!(out, "no count held")?,
        }
        if let Some(path) = &args.json {
            write_file(path, &serde_json::to_string_pretty(&found)?)?;
        }
        if let (Some(path), Some(last)) = (&args.html, found.phases.last()) {
            write_file(path, &html::render(&last.report))?;
        }
        return Ok(());
    }
    let report = runtime.block_on(loadgen::run(&options))?;
    writeln!(out, "{report}")?;
    if let Some(path) = &args.json {
        write_file(path, &serde_json::to_string_pretty(&report)?)?;
    }
    if let Some(path) = &args.html {
        write_file(path, &html::render(&report))?;
    }
    Ok(())
}
