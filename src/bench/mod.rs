//! `necpsim bench`: the real tick schedule, headless, driven by simulated bots. Player bots steer
//! like clients (a new random direction every second, an input at 30 Hz, every snapshot
//! acknowledged by the next input); ambient NPCs wander. Every `Sim::step` is timed; the report
//! gives tick percentiles and the cost per entity per tick.
//!
//! The world is sized for a fixed density (`area_per_entity_m2`), so that the work a client's
//! snapshot costs stays the same as the entity count grows; the report states the world's side.
//! The tick rate is the server's: `tick.rate_hz`, or with `[tick.adaptive]` on, the rate its
//! table gives for the bots.

mod bots;
mod fighters;

use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::config::{Config, MAX_WORLD_STEPS};
use crate::server::rate_for_players;
use crate::sim::{Outbox, Sim};
pub use bots::{Bots, StepTimes};

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Player bots (each a client with a snapshot stream).
    pub players: u32,
    /// Ambient wandering NPCs.
    pub npcs: u32,
    /// Player bots (the first ones, in whole groups of ten) that fight in 5-vs-5 pvp arenas.
    pub fighters: u32,
    /// Ticks to measure (after a warm-up of one second of ticks).
    pub ticks: u32,
    /// Seed of the simulation and of the bots.
    pub seed: u64,
    /// World area per entity; the world is a square of `entities × area` square metres.
    pub area_per_entity_m2: f32,
    /// Threads that encode snapshots; `None` keeps `[threads] snapshot_threads` of the assets.
    pub snapshot_threads: Option<u16>,
    /// Show a progress bar on stderr.
    pub progress: bool,
}

/// Why a bench cannot run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The world for the asked density reaches farther from the origin than positions can be
    /// held at the assets' `position_precision_m`.
    #[error(
        "a world of {side_m:.0} m square reaches beyond ±{reach_m:.0} m, where positions lose their {precision_m} m precision: lower --area-per-entity-m2 or the entity count"
    )]
    WorldBeyondReach {
        /// Side of the world asked for.
        side_m: f32,
        /// How far from the origin positions keep their precision.
        reach_m: f32,
        /// The assets' `position_precision_m`.
        precision_m: f32,
    },
    /// More fighting bots than player bots were asked for: fighters are players.
    #[error("--fighters {fighters} is more than --players {players}: fighters are among the players")]
    FightersBeyondPlayers {
        /// Fighters asked for.
        fighters: u32,
        /// Players asked for.
        players: u32,
    },
    /// The snapshot threads could not start.
    #[error("cannot start the snapshot threads: {0}")]
    Threads(#[from] rayon::ThreadPoolBuildError),
}

/// What a run measured.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// Ticks measured.
    pub ticks: u32,
    /// Entities simulated (players + NPCs).
    pub entities: u32,
    /// Player bots.
    pub players: u32,
    /// Ambient NPCs.
    pub npcs: u32,
    /// Tick rate the simulation integrated at.
    pub tick_rate_hz: f32,
    /// Threads that encoded snapshots (1: the tick thread alone).
    pub snapshot_threads: usize,
    /// Side of the square world, metres.
    pub world_side_m: f32,
    /// Median tick time.
    pub tick_ms_p50: f64,
    /// 99th percentile tick time.
    pub tick_ms_p99: f64,
    /// Slowest tick.
    pub tick_ms_max: f64,
    /// Mean tick time.
    pub tick_ms_mean: f64,
    /// Mean tick time divided by the entity count.
    pub ns_per_entity_tick: f64,
    /// Median time of the tick's simulation (inputs, movement, combat, economy).
    pub simulate_ms_p50: f64,
    /// Median time of the tick's output (interest grid and snapshots).
    pub output_ms_p50: f64,
    /// Snapshots produced over the measured ticks.
    pub snapshots: u64,
    /// Mean snapshot size.
    pub snapshot_bytes_mean: f64,
    /// Inputs the bots submitted over the measured ticks.
    pub inputs: u64,
    /// Commands refused (0 for these honest bots, but for the odd shot whose target moved out of
    /// range between the bot's look and the tick).
    pub refused: u64,
    /// Fighting bots.
    pub fighters: u32,
    /// Shots the fighting bots fired over the measured ticks.
    pub shots: u64,
    /// Hits that landed over the measured ticks.
    pub hits: u64,
    /// Kills over the measured ticks.
    pub kills: u64,
    /// Combat sessions that ended over the measured ticks.
    pub sessions_ended: u64,
}

/// A world shaped for `options` with its snapshot threads started, its bots joined and one second
/// of ticks run, so that what follows measures steady state. The criterion tick bench starts from
/// here too.
pub fn prepare(mut config: Config, options: &BenchOptions) -> Result<(Sim, Bots, Outbox), BenchError> {
    shape_world(&mut config, options)?;
    let mut bots = Bots::new(options.players, options.fighters, options.seed, &config);
    let mut sim = Sim::with_seed(Arc::new(config), options.seed);
    sim.spawn_snapshot_threads(|| {})?;
    let mut outbox = Outbox::default();
    bots.join(&mut sim);
    for _ in 0..sim.tick_rate().ceil() as u32 {
        bots.tick(&mut sim, &mut outbox);
    }
    Ok((sim, bots, outbox))
}

/// Runs the bench on `config` (the bundled assets, usually) with `options`' overrides.
pub fn run(config: Config, options: &BenchOptions) -> Result<BenchReport, BenchError> {
    let entities = options.players + options.npcs;
    let (mut sim, mut bots, mut outbox) = prepare(config, options)?;

    let progress = progress_bar(options);
    let mut times = Vec::with_capacity(options.ticks as usize);
    let mut simulate_times = Vec::with_capacity(options.ticks as usize);
    let mut output_times = Vec::with_capacity(options.ticks as usize);
    let (mut snapshots, mut snapshot_bytes) = (0u64, 0u64);
    let refused_before = sim.counters().refused_commands;
    let fights_before = bots.fight_stats();
    let inputs_before = bots.inputs_sent();
    // On a snapshot thread, as the server's tick loop runs.
    sim.snapshot_threads().run(|| {
        for _ in 0..options.ticks {
            let StepTimes { step, simulate } = bots.tick(&mut sim, &mut outbox);
            times.push(step);
            simulate_times.push(simulate);
            output_times.push(step - simulate);
            snapshots += outbox.snapshots.len() as u64;
            snapshot_bytes += outbox.snapshot_bytes.len() as u64;
            progress.inc(1);
        }
    });
    progress.finish_and_clear();

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mean = times.iter().sum::<Duration>().as_secs_f64() / times.len().max(1) as f64;
    let fights = bots.fight_stats();
    Ok(BenchReport {
        ticks: options.ticks,
        entities,
        players: options.players,
        npcs: options.npcs,
        tick_rate_hz: sim.tick_rate(),
        snapshot_threads: sim.snapshot_threads().count(),
        world_side_m: world_side_m(options),
        tick_ms_p50: ms(percentile(&mut times, 0.5)),
        tick_ms_p99: ms(percentile(&mut times, 0.99)),
        tick_ms_max: ms(percentile(&mut times, 1.0)),
        tick_ms_mean: mean * 1e3,
        ns_per_entity_tick: mean * 1e9 / f64::from(entities.max(1)),
        simulate_ms_p50: ms(percentile(&mut simulate_times, 0.5)),
        output_ms_p50: ms(percentile(&mut output_times, 0.5)),
        snapshots,
        snapshot_bytes_mean: snapshot_bytes as f64 / snapshots.max(1) as f64,
        inputs: bots.inputs_sent() - inputs_before,
        refused: sim.counters().refused_commands - refused_before,
        fighters: fights.fighters,
        shots: fights.shots - fights_before.shots,
        hits: fights.hits - fights_before.hits,
        kills: fights.kills - fights_before.kills,
        sessions_ended: fights.sessions_ended - fights_before.sessions_ended,
    })
}

/// The `q` quantile (0 to 1) of `times`, which it sorts; zero for none.
fn percentile(times: &mut [Duration], q: f64) -> Duration {
    times.sort_unstable();
    let last = times.len().saturating_sub(1);
    times
        .get((last as f64 * q).round() as usize)
        .copied()
        .unwrap_or_default()
}

/// Side of the square world for `options`' density.
fn world_side_m(options: &BenchOptions) -> f32 {
    let entities = options.players + options.npcs;
    (entities.max(1) as f32 * options.area_per_entity_m2)
        .sqrt()
        .max(64.0)
}

/// A square world for `options`' density, centred on the origin, everyone spread over all of it.
fn shape_world(config: &mut Config, options: &BenchOptions) -> Result<(), BenchError> {
    if options.fighters > options.players {
        return Err(BenchError::FightersBeyondPlayers {
            fighters: options.fighters,
            players: options.players,
        });
    }
    // The server's rate for these players, which the bots pace their inputs and shots by too.
    let adaptive = &config.server.tick.adaptive;
    if adaptive.enabled {
        config.server.tick.rate_hz = rate_for_players(adaptive, options.players as usize);
    }
    let side_m = world_side_m(options);
    let half = side_m / 2.0;
    let precision_m = config.gameplay.interest.position_precision_m;
    let reach_m = MAX_WORLD_STEPS * precision_m;
    if half > reach_m {
        return Err(BenchError::WorldBeyondReach {
            side_m,
            reach_m,
            precision_m,
        });
    }
    let world = &mut config.gameplay.world;
    world.bounds.min_x_m = -half;
    world.bounds.max_x_m = half;
    world.bounds.min_y_m = -half;
    world.bounds.max_y_m = half;
    world.spawn.center_x_m = 0.0;
    world.spawn.center_y_m = 0.0;
    world.spawn.radius_m = half;
    world.ambient.npcs = options.npcs;
    if let Some(threads) = options.snapshot_threads {
        config.server.threads.snapshot_threads = threads;
    }
    let commands_per_tick = options.players.saturating_mul(3).max(1024);
    config.server.sim.inbox_capacity = config.server.sim.inbox_capacity.max(commands_per_tick);
    Ok(())
}

fn progress_bar(options: &BenchOptions) -> ProgressBar {
    if !options.progress || options.ticks < 500 {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(u64::from(options.ticks));
    let style = ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} ticks ({eta} left)")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}
