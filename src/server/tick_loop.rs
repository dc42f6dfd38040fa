//! The tick thread: drives a [`Sim`] at the configured rate, applies configuration reloads at tick
//! boundaries, feeds and drains the network and the store, measures every tick into the metrics
//! and decides on load shedding.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use tracing::{error, info, info_span, warn};

use super::adaptive::{AdaptiveRate, rate_for_players};
use super::pacer::{Pace, TickPacer, interval_for};
use crate::config::{AssetWatcher, Config, ReloadOutcome};
use crate::net::{NetBridge, WorldFacts};
use crate::sim::ReplyBody;
use crate::sim::{Outbox, Sim};
use crate::store::Batch;
use crate::store::writer::StoreWriter;
use crate::telemetry::Metrics;
use crate::telemetry::metrics::thread_cpu_time;
use crate::telemetry::shedding::{Load, LoadShedder};

/// Longest single sleep, so that a shutdown request is noticed promptly even at low tick rates.
const MAX_SLEEP: Duration = Duration::from_millis(20);

/// How often a summary of recent ticks is logged.
const SUMMARY_EVERY: Duration = Duration::from_secs(10);

/// Tick durations since the last summary line.
#[derive(Debug, Default)]
struct Window {
    ticks: u64,
    total: Duration,
    max: Duration,
    overruns: u64,
    dropped: u64,
}

/// Why the tick loop stopped without being asked to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Stopped {
    /// More tick batches waited for the store than `store.max_queued_batches`.
    #[error("more than store.max_queued_batches ({max}) tick batches waited for the store")]
    StoreOverflow {
        /// The limit.
        max: u32,
    },
}

/// Owns the simulation on its thread.
#[derive(Debug)]
pub struct TickLoop {
    sim: Sim,
    pacer: TickPacer,
    watcher: Option<AssetWatcher>,
    outbox: Outbox,
    metrics: Arc<Metrics>,
    shedder: LoadShedder,
    /// Commands the network fed into the last tick.
    fed: usize,
    window: Window,
    adaptive: AdaptiveRate,
    network: Option<NetBridge>,
    store: Option<StoreWriter>,
    economy_paused: bool,
    /// Set once more batches wait for the store than `store.max_queued_batches`: the loop stops.
    store_overflowed: bool,
    /// The configuration as the files last said, restart-only keys included: what a reload's
    /// edits are told against, so that an edit waiting for a restart is reported once.
    as_read: Arc<Config>,
}

impl TickLoop {
    /// A loop over `sim` at its configured rate, taking reloads from `watcher` when there is one.
    pub fn new(mut sim: Sim, watcher: Option<AssetWatcher>, metrics: Arc<Metrics>) -> TickLoop {
        let table = &sim.config().server.tick.adaptive;
        let adaptive = if table.enabled {
            let hz = rate_for_players(table, sim.player_count());
            sim.set_tick_rate(hz);
            AdaptiveRate::set_at_start()
        } else {
            AdaptiveRate::default()
        };
        let pacer = TickPacer::new(
            interval_for(sim.tick_rate()),
            sim.config().server.tick.max_catch_up_ticks,
        );
        TickLoop {
            as_read: Arc::clone(sim.config()),
            sim,
            pacer,
            watcher,
            outbox: Outbox::default(),
            metrics,
            shedder: LoadShedder::default(),
            fed: 0,
            window: Window::default(),
            adaptive,
            network: None,
            store: None,
            economy_paused: false,
            store_overflowed: false,
        }
    }

    /// Keeps every tick's durable changes through `writer`; economy commands and reads are
    /// refused while it is more than `[store] max_backlog_batches` behind, stalled in a commit
    /// for longer than `max_commit_stall_ms`, or has failed.
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

    /// Runs until `shutdown` is set, or until it must stop on its own (then it says why).
    pub fn run(mut self, shutdown: &AtomicBool) -> Result<(), Stopped> {
        let epoch = Instant::now();
        let mut next_summary = SUMMARY_EVERY;
        while !shutdown.load(Ordering::Acquire) && !self.store_overflowed {
            while let Some(outcome) = self.watcher.as_ref().and_then(AssetWatcher::try_next) {
                self.apply_reload(outcome);
            }
            let elapsed = epoch.elapsed();
            let due = self.pacer.next_due();
            match self.pacer.poll(elapsed) {
                Pace::WaitUntil(due) => thread::sleep((due - elapsed).min(MAX_SLEEP)),
                Pace::Run { ticks, dropped } => {
                    self.metrics.tick_lateness.observe(elapsed.saturating_sub(due));
                    if dropped > 0 {
                        self.metrics.ticks_dropped.add(dropped);
                        self.window.dropped += dropped;
                        warn!(
                            dropped,
                            tick = self.sim.tick(),
                            "tick backlog dropped after a stall"
                        );
                        self.sim.announce_clock();
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
        if self.store_overflowed {
            let max = self.sim.config().server.store.max_queued_batches;
            return Err(Stopped::StoreOverflow { max });
        }
        Ok(())
    }

    fn run_tick(&mut self) {
        let started = Instant::now();
        let cpu_before = thread_cpu_time();
        let _tick = info_span!("tick").entered();
        if let Some(network) = &mut self.network {
            let _feed = info_span!("feed").entered();
            self.fed = network.feed(&mut self.sim);
        }
        {
            let _simulate = info_span!("simulate").entered();
            self.sim.simulate();
            self.sim.drain_outputs(&mut self.outbox);
        }
        self.count_outcomes();
        let tick = self.sim.tick();
        // Replies and events leave first (economy acknowledgements wait in the durable gate), then
        // the store starts on the tick's batch while the snapshots are built and sent in a second
        // drain.
        self.deliver(tick);
        self.persist(tick);
        {
            let _output = info_span!("output").entered();
            self.sim.write_snapshots();
            self.sim.drain_outputs(&mut self.outbox);
        }
        self.deliver(tick);
        // The CPU clock is read inside the wall-clock interval, so a tick's CPU time never
        // comes out longer than its duration.
        let cpu_after = thread_cpu_time();
        let took = started.elapsed();
        if let (Some(before), Some(after)) = (cpu_before, cpu_after) {
            self.metrics.tick_cpu.observe(after.saturating_sub(before));
        }

        self.window.ticks += 1;
        self.window.total += took;
        self.window.max = self.window.max.max(took);
        if took > self.pacer.interval() {
            self.metrics.tick_overruns.inc();
            self.window.overruns += 1;
        }
        self.measure(took);
    }

    /// Hands the tick's durable changes to the store, and pauses or resumes the economy as the
    /// store falls behind or catches up.
    fn persist(&mut self, tick: u64) {
        let _store = info_span!("store").entered();
        let submitted = self
            .store
            .as_ref()
            .and_then(|store| {
                Batch::of_tick(tick, &self.outbox, self.sim.economy()).map(|batch| store.submit(batch))
            })
            .is_some();
        if let Some(network) = &self.network {
            network.finished(tick, submitted);
        }
        let Some(store) = &self.store else {
            return;
        };
        let (max_backlog, max_stall) = self.sim.config().server.store.limits();
        let max_queued = u64::from(self.sim.config().server.store.max_queued_batches);
        let backlog = store.status().backlog();
        if backlog > max_queued && !self.store_overflowed {
            self.store_overflowed = true;
            error!(
                tick,
                backlog,
                max_queued,
                "more tick batches wait for the store than store.max_queued_batches; stopping the server"
            );
        }
        let holdup = store.status().holdup(max_backlog, max_stall);
        let paused = holdup.is_some();
        if paused != self.economy_paused {
            self.economy_paused = paused;
            self.sim.pause_economy(paused);
            match holdup {
                Some(holdup) => warn!(tick, %holdup, "economy paused"),
                None => info!(tick, "economy resumed: the store caught up"),
            }
        }
    }

    /// Counts the refusals and economy operations of the simulated tick in the outbox, and
    /// measures the world it left, before any of its replies leave: a client that scrapes the
    /// metrics after a reply sees the tick that answered it.
    fn count_outcomes(&self) {
        let metrics = &self.metrics;
        for reply in &self.outbox.replies {
            if let ReplyBody::Refused(refusal) = reply.body {
                metrics.refused(refusal.code());
            }
        }
        if let Some(record) = self.outbox.economy_record() {
            metrics.economy_operations.add(record.requests.len() as u64);
        }
        metrics.players.set(self.sim.player_count() as i64);
        metrics.bodies.set(self.sim.motion().len() as i64);
        metrics.sessions.set(self.sim.sessions().len() as i64);
        metrics
            .idempotency_keys
            .set(self.sim.economy().receipts.len() as i64);
    }

    /// Hands what the outbox holds to the network.
    fn deliver(&mut self, tick: u64) {
        if let Some(network) = &mut self.network {
            let _deliver = info_span!("deliver").entered();
            let world = WorldFacts {
                tick_rate_hz: self.sim.tick_rate(),
                position_precision_m: self.sim.config().gameplay.interest.position_precision_m,
            };
            network.deliver(&self.outbox, tick, world, &self.metrics);
        }
    }

    /// Updates the metrics after a tick and decides on load shedding.
    fn measure(&mut self, took: Duration) {
        let metrics = &self.metrics;
        metrics.ticks.inc();
        metrics.tick_duration.observe(took);
        let backlog = self.store.as_ref().map_or(0, |store| store.status().backlog());
        metrics.store_backlog.set(backlog as i64);
        let capacity = self.sim.config().server.sim.inbox_capacity.max(1);
        metrics.inbox.set(self.fed as i64);
        let load = Load {
            tick: took,
            budget: self.pacer.interval(),
            inbox_fill: self.fed as f32 / capacity as f32,
            store_backlog: backlog,
        };
        if let Some(engaged) = self.shedder.observe(&self.sim.config().server.shedding, load) {
            metrics.shedding.set(i64::from(engaged));
            self.sim.shed_load(engaged);
            if engaged {
                metrics.shedding_engaged.inc();
                warn!(
                    tick = self.sim.tick(),
                    "load shedding on: new logins and sessions are refused"
                );
            } else {
                info!(tick = self.sim.tick(), "load shedding off");
            }
        }
    }

    fn apply_reload(&mut self, outcome: ReloadOutcome) {
        match outcome {
            ReloadOutcome::Applied(read) => {
                let previous = std::mem::replace(&mut self.as_read, Arc::clone(&read));
                let changed = previous.changed_files(&read).join(", ");
                let edited = previous.keep_restart_only(&mut Config::clone(&read));
                let mut next = Config::clone(&read);
                for key in self.sim.config().keep_restart_only(&mut next) {
                    // A key edited earlier and still waiting for the restart was reported then.
                    if edited.contains(&key) {
                        warn!(key, "{key} changed; it takes effect at the next restart");
                    }
                }
                self.sim.apply_config(Arc::new(next));
                self.reconfigure_pacer();
                self.metrics.reloads_applied.inc();
                let rate_hz = self.sim.tick_rate();
                info!(tick = self.sim.tick() + 1, changed, rate_hz, "config reloaded");
            }
            ReloadOutcome::Refused(errors) => {
                self.metrics.reloads_refused.inc();
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
