//! The tick thread: drives a [`Sim`] at the configured rate, applies configuration reloads at tick
//! boundaries, measures every tick and counts overruns and dropped ticks.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use tracing::{info, warn};

use super::adaptive::{AdaptiveRate, rate_for_players};
use super::pacer::{Pace, TickPacer, interval_for};
use crate::config::{AssetWatcher, Config, ReloadOutcome};
use crate::net::NetBridge;
use crate::sim::{Outbox, Sim};
use crate::store::Batch;
use crate::store::writer::StoreWriter;

/// Longest single sleep, so that a shutdown request is noticed promptly even at low tick rates.
const MAX_SLEEP: Duration = Duration::from_millis(20);

/// How often a summary of recent ticks is logged.
const SUMMARY_EVERY: Duration = Duration::from_secs(10);

/// Running totals of the tick thread, readable from any thread.
#[derive(Debug, Default)]
pub struct TickStats {
    /// Ticks simulated.
    pub ticks: AtomicU64,
    /// Ticks that took longer than the tick interval.
    pub overruns: AtomicU64,
    /// Overdue ticks skipped after a stall.
    pub dropped: AtomicU64,
    /// Configuration reloads applied.
    pub reloads_applied: AtomicU64,
    /// Configuration edits refused.
    pub reloads_refused: AtomicU64,
}

/// Tick durations since the last summary line.
#[derive(Debug, Default)]
struct Window {
    ticks: u64,
    total: Duration,
    max: Duration,
    overruns: u64,
    dropped: u64,
}

/// Owns the simulation on its thread.
#[derive(Debug)]
pub struct TickLoop {
    sim: Sim,
    pacer: TickPacer,
    watcher: Option<AssetWatcher>,
    outbox: Outbox,
    stats: Arc<TickStats>,
    window: Window,
    adaptive: AdaptiveRate,
    network: Option<NetBridge>,
    store: Option<StoreWriter>,
    economy_paused: bool,
}

impl TickLoop {
    /// A loop over `sim` at its configured rate, taking reloads from `watcher` when there is one.
    pub fn new(mut sim: Sim, watcher: Option<AssetWatcher>, stats: Arc<TickStats>) -> TickLoop {
        let adaptive = &sim.config().server.tick.adaptive;
        if adaptive.enabled {
            let hz = rate_for_players(adaptive, sim.player_count());
            sim.set_tick_rate(hz);
        }
        let pacer = TickPacer::new(
            interval_for(sim.tick_rate()),
            sim.config().server.tick.max_catch_up_ticks,
        );
        TickLoop {
            sim,
            pacer,
            watcher,
            outbox: Outbox::default(),
            stats,
            window: Window::default(),
            adaptive: AdaptiveRate::default(),
            network: None,
            store: None,
            economy_paused: false,
        }
    }

    /// Keeps every tick's durable changes through `writer`; economy commands are refused while
    /// it is more than `[store] max_backlog_batches` behind or has failed.
    pub fn with_store(mut self, writer: StoreWriter) -> TickLoop {
        self.store = Some(writer);
        self
    }

    /// Serves network clients through `bridge`: their commands enter each tick, and each tick's
    /// replies, events and snapshots go back to them.
    pub fn with_network(mut self, bridge: NetBridge) -> TickLoop {
        self.network = Some(bridge);
        self
    }

    /// The rate the loop will tick at (the adaptive rate when that is on).
    pub fn tick_rate(&self) -> f32 {
        self.sim.tick_rate()
    }

    /// Runs until `shutdown` is set.
    pub fn run(mut self, shutdown: &AtomicBool) {
        let epoch = Instant::now();
        let mut next_summary = SUMMARY_EVERY;
        while !shutdown.load(Ordering::Acquire) {
            while let Some(outcome) = self.watcher.as_ref().and_then(AssetWatcher::try_next) {
                self.apply_reload(outcome);
            }
            let elapsed = epoch.elapsed();
            match self.pacer.poll(elapsed) {
                Pace::WaitUntil(due) => thread::sleep((due - elapsed).min(MAX_SLEEP)),
                Pace::Run { ticks, dropped } => {
                    if dropped > 0 {
                        self.stats.dropped.fetch_add(dropped, Ordering::Relaxed);
                        self.window.dropped += dropped;
                        warn!(
                            dropped,
                            tick = self.sim.tick(),
                            "tick backlog dropped after a stall"
                        );
                    }
                    for _ in 0..ticks {
                        self.run_tick();
                    }
                    self.adapt_rate(elapsed);
                }
            }
            if elapsed >= next_summary {
                self.log_summary();
                next_summary = elapsed + SUMMARY_EVERY;
            }
        }
        if let Some(store) = self.store.take() {
            store.finish();
        }
        info!(tick = self.sim.tick(), "tick loop stopped");
    }

    fn run_tick(&mut self) {
        let started = Instant::now();
        if let Some(network) = &mut self.network {
            network.feed(&mut self.sim);
        }
        self.sim.step();
        self.sim.drain_outputs(&mut self.outbox);
        let tick = self.sim.tick();
        if let Some(store) = &self.store {
            if let Some(batch) = Batch::of_tick(tick, &self.outbox, self.sim.economy()) {
                store.submit(batch);
            }
            let status = store.status();
            let limit = u64::from(self.sim.config().server.store.max_backlog_batches);
            let paused = status.failure().is_some() || status.backlog() > limit;
            if paused != self.economy_paused {
                self.economy_paused = paused;
                self.sim.pause_economy(paused);
                match status.failure() {
                    Some(failure) => warn!(tick, %failure, "economy paused: the store failed"),
                    None if paused => warn!(
                        tick,
                        backlog = status.backlog(),
                        "economy paused: the store is behind"
                    ),
                    None => info!(tick, "economy resumed: the store caught up"),
                }
            }
        }
        if let Some(network) = &mut self.network {
            network.deliver(&self.outbox, tick, self.sim.tick_rate());
        }
        let took = started.elapsed();

        self.stats.ticks.fetch_add(1, Ordering::Relaxed);
        self.window.ticks += 1;
        self.window.total += took;
        self.window.max = self.window.max.max(took);
        if took > self.pacer.interval() {
            self.stats.overruns.fetch_add(1, Ordering::Relaxed);
            self.window.overruns += 1;
        }
    }

    fn apply_reload(&mut self, outcome: ReloadOutcome) {
        match outcome {
            ReloadOutcome::Applied(next) => {
                let running: &Config = self.sim.config();
                let changed = running.changed_files(&next).join(", ");
                for key in running.restart_only_changes(&next) {
                    warn!(key, "{key} changed; it takes effect at the next restart");
                }
                self.sim.apply_config(next);
                self.reconfigure_pacer();
                self.stats.reloads_applied.fetch_add(1, Ordering::Relaxed);
                let rate_hz = self.sim.tick_rate();
                info!(tick = self.sim.tick() + 1, changed, rate_hz, "config reloaded");
            }
            ReloadOutcome::Refused(errors) => {
                self.stats.reloads_refused.fetch_add(1, Ordering::Relaxed);
                for error in errors.iter() {
                    warn!(error = %error, "config edit refused; the running config stays in force");
                }
            }
        }
    }

    /// Follows the player count when `[tick.adaptive]` is on.
    fn adapt_rate(&mut self, elapsed: Duration) {
        let config = &self.sim.config().server.tick.adaptive;
        let players = self.sim.player_count();
        if let Some(hz) = self
            .adaptive
            .decide(config, players, self.sim.tick_rate(), elapsed)
        {
            info!(rate_hz = hz, players, tick = self.sim.tick(), "tick rate changed");
            self.sim.set_tick_rate(hz);
            self.reconfigure_pacer();
        }
    }

    fn reconfigure_pacer(&mut self) {
        let catch_up = self.sim.config().server.tick.max_catch_up_ticks;
        self.pacer
            .reconfigure(interval_for(self.sim.tick_rate()), catch_up);
    }

    fn log_summary(&mut self) {
        let window = std::mem::take(&mut self.window);
        let mean_us = window.total.as_micros() / u128::from(window.ticks.max(1));
        info!(
            tick = self.sim.tick(),
            ticks = window.ticks,
            tick_mean_us = mean_us as u64,
            tick_max_us = window.max.as_micros() as u64,
            overruns = window.overruns,
            dropped = window.dropped,
            players = self.sim.player_count(),
            "tick summary"
        );
    }
}
