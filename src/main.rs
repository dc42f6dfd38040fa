//! The `necpsim` command line: parses arguments, sets up logging and hands over to the library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Context;
use clap::{Parser, Subcommand};
use necpsim::bench::{BenchOptions, BenchReport};
use necpsim::config::Config;
use necpsim::net::auth;
use necpsim::server::{ServeOptions, Server};
use necpsim::store::sqlite::SqliteStore;
use necpsim::store::{DATABASE_FILE, Store, recovery};
use necpsim::telemetry::{LogFormat, init_logging};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Authoritative game simulation server.
#[derive(Debug, Parser)]
#[command(name = "necpsim", version, about, propagate_version = true)]
struct Cli {
    /// Log line format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Pretty)]
    log_format: LogFormat,
    /// Also write every span of the run to FILE in the Chrome trace format (each tick's phases;
    /// each ECS system's too in a build with `--features trace`).
    #[arg(long, global = true, value_name = "FILE")]
    trace_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Run the server with the assets in DIR, reloading them when they change.
    Serve {
        /// Directory of designer TOML files.
        #[arg(long, value_name = "DIR", default_value = "assets")]
        assets: PathBuf,
        /// Directory for the server's state (created if missing).
        #[arg(long, value_name = "DIR", default_value = "data")]
        data: PathBuf,
        /// UDP address for clients [default: net.bind from server.toml].
        #[arg(long, value_name = "ADDR")]
        bind: Option<SocketAddr>,
        /// TCP address of /metrics, /healthz and /readyz [default: telemetry.http_bind from
        /// server.toml].
        #[arg(long, value_name = "ADDR")]
        http: Option<SocketAddr>,
    },
    /// Run the real tick schedule headless with simulated bots and report tick times.
    Bench {
        /// Player bots (clients that steer and receive snapshots).
        #[arg(long, default_value_t = 1000)]
        players: u32,
        /// Ambient wandering NPCs.
        #[arg(long, default_value_t = 0)]
        npcs: u32,
        /// Player bots (in groups of ten) that fight in 5-vs-5 pvp arenas instead of roaming.
        #[arg(long, default_value_t = 0, value_parser = groups_of_ten)]
        fighters: u32,
        /// Ticks to measure.
        #[arg(long, default_value_t = 600)]
        ticks: u32,
        /// Seed of the simulation and the bots.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// World area per entity in square metres (sets the world size, and so the crowding).
        #[arg(long, value_name = "M2", default_value_t = 2500.0, value_parser = positive_area)]
        area_per_entity_m2: f32,
        /// Threads that encode snapshots (default: `[threads] snapshot_threads` of the assets).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
        snapshot_threads: Option<u16>,
        /// Directory of designer TOML files.
        #[arg(long, value_name = "DIR", default_value = "assets")]
        assets: PathBuf,
        /// Also write the report as JSON to FILE.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Issue a session token for a player, signed with the server's secret (NECPSIM_AUTH_SECRET,
    /// net.auth.secret_file, or the development secret in the data directory).
    Token {
        /// The player the token admits (the top 65,536 ids are kept for the server's own
        /// accounts).
        #[arg(long, value_name = "ID", value_parser = clap::value_parser!(u64).range(..necpsim::sim::economy::ledger::PlayerId::FIRST_RESERVED))]
        player: u64,
        /// How long it stays valid: a number with a unit, s, m, h or d (e.g. 12h).
        #[arg(long, value_name = "DURATION", default_value = "24h")]
        ttl: String,
        /// Directory of designer TOML files (for net.auth.secret_file).
        #[arg(long, value_name = "DIR", default_value = "assets")]
        assets: PathBuf,
        /// The server's data directory (for the development secret).
        #[arg(long, value_name = "DIR", default_value = "data")]
        data: PathBuf,
    },
    /// Check a stopped server's store: replay the economy journal, check the invariants
    /// (conservation per currency, no negative balance, one owner per unique item), and compare
    /// the replay with the stored ledger and balances. Exit 1 when anything disagrees.
    Verify {
        /// The server's data directory.
        #[arg(long, value_name = "DIR", default_value = "data")]
        data: PathBuf,
    },
    /// Rebuild every balance from the stored ledger alone and compare them with the stored
    /// balances. Exit 1 when they differ.
    ReplayLedger {
        /// The server's data directory.
        #[arg(long, value_name = "DIR", default_value = "data")]
        data: PathBuf,
    },
    /// Validate every asset file; exit 1 listing every error when any is invalid.
    CheckConfig {
        /// Directory of designer TOML files.
        #[arg(value_name = "DIR", default_value = "assets")]
        dir: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let _trace = match init_logging(cli.log_format, cli.trace_file.as_deref()) {
        Ok(guard) => guard,
        Err(err) => {
            eprintln!("necpsim: {err}");
            return ExitCode::FAILURE;
        }
    };
    match run(cli.command) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("necpsim: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Cmd) -> anyhow::Result<ExitCode> {
    match command {
        Cmd::Serve {
            assets,
            data,
            bind,
            http,
        } => {
            let options = ServeOptions {
                assets,
                data,
                bind,
                http,
            };
            let shutdown = Arc::new(AtomicBool::new(false));
            for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
                signal_hook::flag::register(signal, Arc::clone(&shutdown))
                    .context("cannot install the signal handlers")?;
            }
            let server = Server::start(&options, shutdown).context("cannot start")?;
            server.wait()?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::CheckConfig { dir } => Ok(check_config(&dir)),
        Cmd::Verify { data } => check_store(&data, "verify", recovery::verify),
        Cmd::ReplayLedger { data } => check_store(&data, "replay-ledger", recovery::replay_ledger),
        Cmd::Token {
            player,
            ttl,
            assets,
            data,
        } => {
            let ttl = auth::parse_duration(&ttl).with_context(|| format!("--ttl {ttl}"))?;
            let config =
                Config::load(&assets).map_err(|errors| anyhow::anyhow!("invalid assets:\n{errors}"))?;
            let secret_file = config.server.net.auth.secret_file.as_deref();
            let (key, _) = auth::resolve_secret(secret_file, &data, true)?;
            let token = key.issue(auth::Claims {
                player,
                expires_unix_s: auth::unix_now_s().saturating_add(ttl.as_secs()),
            });
            #[expect(clippy::print_stdout, reason = "the token is the command's output")]
            {
                println!("{token}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Bench {
            players,
            npcs,
            fighters,
            ticks,
            seed,
            area_per_entity_m2,
            snapshot_threads,
            assets,
            json,
        } => {
            let config =
                Config::load(&assets).map_err(|errors| anyhow::anyhow!("invalid assets:\n{errors}"))?;
            let options = BenchOptions {
                players,
                npcs,
                fighters,
                ticks,
                seed,
                area_per_entity_m2,
                snapshot_threads,
                progress: true,
            };
            let report = necpsim::bench::run(config, &options)?;
            print_report(&report);
            if let Some(path) = json {
                let text = serde_json::to_string_pretty(&report)?;
                std::fs::write(&path, text + "\n")
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[expect(clippy::print_stdout, reason = "the report is the command's output")]
fn print_report(r: &BenchReport) {
    println!(
        "{} ticks, {} entities ({} players, {} npcs), {} Hz, world {:.0} m square",
        r.ticks, r.entities, r.players, r.npcs, r.tick_rate_hz, r.world_side_m
    );
    println!(
        "tick ms: p50 {:.3}  p99 {:.3}  max {:.3}  mean {:.3}",
        r.tick_ms_p50, r.tick_ms_p99, r.tick_ms_max, r.tick_ms_mean
    );
    if r.snapshot_threads > 1 {
        println!("snapshots encoded by {} threads", r.snapshot_threads);
    }
    println!(
        "of which p50: simulation {:.3} ms, output (interest grid and snapshots) {:.3} ms",
        r.simulate_ms_p50, r.output_ms_p50
    );
    println!("ns per entity per tick: {:.1}", r.ns_per_entity_tick);
    println!(
        "snapshots: {} ({:.1} bytes mean), inputs: {}, refused: {}",
        r.snapshots, r.snapshot_bytes_mean, r.inputs, r.refused
    );
    if r.fighters > 0 {
        println!(
            "fighters: {}, shots: {}, hits: {}, kills: {}, sessions ended: {}",
            r.fighters, r.shots, r.hits, r.kills, r.sessions_ended
        );
    }
}

/// Runs an offline check of the store in `data`.
fn check_store(
    data: &std::path::Path,
    name: &str,
    check: fn(&dyn Store) -> Result<recovery::Verified, recovery::RecoveryError>,
) -> anyhow::Result<ExitCode> {
    let store = SqliteStore::open_read_only(&data.join(DATABASE_FILE))?;
    match check(&store) {
        Ok(verified) => {
            #[expect(clippy::print_stdout, reason = "the command's result is its output")]
            {
                println!(
                    "{}: ok: {name}: tick {}, {} ledger entries, {} balances",
                    store.path().display(),
                    verified.tick,
                    verified.entries,
                    verified.balances
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            eprintln!("{}: {name} failed: {error}", store.path().display());
            Ok(ExitCode::FAILURE)
        }
    }
}

/// `--fighters`: whole 5-vs-5 arenas.
fn groups_of_ten(text: &str) -> Result<u32, String> {
    let fighters: u32 = text.parse().map_err(|error| format!("{error}"))?;
    if !fighters.is_multiple_of(10) {
        return Err(format!(
            "must be a multiple of 10 (fighters play 5-vs-5), got {fighters}"
        ));
    }
    Ok(fighters)
}

/// `--area-per-entity-m2`: a finite area above 0.
fn positive_area(text: &str) -> Result<f32, String> {
    let area: f32 = text.parse().map_err(|error| format!("{error}"))?;
    if !(area.is_finite() && area > 0.0) {
        return Err(format!("must be a finite number above 0, got {area}"));
    }
    Ok(area)
}

fn check_config(dir: &std::path::Path) -> ExitCode {
    match Config::load(dir) {
        Ok(_) => {
            #[expect(clippy::print_stdout, reason = "the command's result is its output")]
            {
                println!("{}: ok", dir.display());
            }
            ExitCode::SUCCESS
        }
        Err(errors) => {
            for error in errors.iter() {
                eprintln!("{error}");
            }
            eprintln!("{}: {} error(s)", dir.display(), errors.len());
            ExitCode::FAILURE
        }
    }
}
