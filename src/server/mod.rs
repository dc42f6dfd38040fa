//! The server process around the simulation: loads the assets, locks the data directory, starts
//! the network (QUIC on the bound UDP address), the asset watcher and the tick thread, and stops
//! them again.

mod adaptive;
mod data_dir;
mod memory;
mod pacer;
mod priority;
#[expect(
    clippy::disallowed_methods,
    reason = "the tick loop is where wall-clock time enters the server: it paces and measures ticks"
)]
mod tick_loop;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use tracing::{error, info};

use priority::ThreadRole;

pub use adaptive::{AdaptiveRate, rate_for_players};
pub use data_dir::{DataDir, DataDirError};
pub use pacer::{Pace, TickPacer, interval_for};
pub use tick_loop::{Stopped, TickLoop};

use crate::config::{AssetWatcher, Catalogue, Config, ConfigErrors, StoreConfig, WatchError};
use crate::net::{NetError, NetServer};
use crate::sim::Sim;
use crate::store::recovery::{self, RecoveryError};
use crate::store::sqlite::SqliteStore;
use crate::store::writer::{StoreWriter, WriterStatus};
use crate::store::{DATABASE_FILE, Store, StoreError};
use crate::telemetry::Metrics;
use crate::telemetry::http::{HttpEndpoints, Readiness};

/// How long closing connections may take at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// How often the main thread looks at the shutdown flag.
const SHUTDOWN_POLL: Duration = Duration::from_millis(20);

/// Ready while the server is not shutting down, the store accepts writes and load is not being
/// shed.
fn readiness(
    writer: &StoreWriter,
    store: &StoreConfig,
    metrics: &Arc<Metrics>,
    shutdown: &Arc<AtomicBool>,
) -> Readiness {
    let status = Arc::clone(writer.status());
    let (max_backlog, max_stall) = store.limits();
    let metrics = Arc::clone(metrics);
    let shutdown = Arc::clone(shutdown);
    Arc::new(move || {
        if shutdown.load(Ordering::Acquire) {
            return Err("shutting down".to_owned());
        }
        if let Some(holdup) = status.holdup(max_backlog, max_stall) {
            return Err(holdup.to_string());
        }
        if metrics.shedding.get() != 0 {
            return Err("shedding load".to_owned());
        }
        Ok(())
    })
}

/// Where the server finds its assets and keeps its state.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Directory of the designer TOML files, watched for edits.
    pub assets: PathBuf,
    /// Directory for the server's own state; created if missing, locked while serving.
    pub data: PathBuf,
    /// UDP address for clients; `None` takes `net.bind` from `server.toml`.
    pub bind: Option<SocketAddr>,
    /// TCP address of the operators' HTTP endpoints; `None` takes `telemetry.http_bind`.
    pub http: Option<SocketAddr>,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The assets are invalid; every problem is listed.
    #[error("invalid assets:\n{0}")]
    Config(ConfigErrors),
    /// The data directory cannot be used.
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    /// The store cannot be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored state cannot be trusted.
    #[error("refusing to start: {0}")]
    Recovery(#[from] RecoveryError),
    /// The HTTP endpoints cannot be bound.
    #[error("cannot bind HTTP {addr}: {source}")]
    Http {
        /// The address asked for.
        addr: SocketAddr,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The network cannot start (address, certificate, token secret).
    #[error(transparent)]
    Net(#[from] NetError),
    /// The assets directory cannot be watched.
    #[error(transparent)]
    Watch(#[from] WatchError),
    /// A server thread could not be started.
    #[error("cannot start the tick thread: {0}")]
    Thread(#[from] std::io::Error),
    /// The snapshot threads could not be started.
    #[error("cannot start the snapshot threads: {0}")]
    SnapshotThreads(#[from] rayon::ThreadPoolBuildError),
    /// The tick thread panicked.
    #[error("the tick thread panicked")]
    TickThreadPanicked,
    /// The tick loop stopped on its own.
    #[error("the server stopped itself: {0}")]
    Stopped(#[from] Stopped),
    /// A store commit failed while serving, or could not go through by shutdown: what it held was
    /// never acknowledged, and the next start recovers from what the store has.
    #[error("the store failed: {0}")]
    StoreFailed(String),
}

/// Not `#[from]`, which would make the errors the source as well and print them twice.
impl From<ConfigErrors> for ServeError {
    fn from(errors: ConfigErrors) -> ServeError {
        ServeError::Config(errors)
    }
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    shutdown: Arc<AtomicBool>,
    tick_thread: JoinHandle<Result<(), Stopped>>,
    net: NetServer,
    http: HttpEndpoints,
    shutdown_deadline: Duration,
    store: Arc<WriterStatus>,
    _data_dir: DataDir,
}

impl Server {
    /// Loads and checks everything, then starts ticking until `shutdown` is set (by a signal
    /// handler, say, installed before the start so that a signal during a long recovery is not
    /// lost; [`Server::stop`] sets it too).
    pub fn start(options: &ServeOptions, shutdown: Arc<AtomicBool>) -> Result<Server, ServeError> {
        let config = Arc::new(Config::load(&options.assets)?);
        memory::apply_huge_pages_policy(config.server.sim.huge_pages);
        let data_dir = DataDir::lock(&options.data)?;
        let addr = options.bind.unwrap_or(config.server.net.bind);
        let database = data_dir.path().join(DATABASE_FILE);
        let store = SqliteStore::open(&database, config.server.store.synchronous)?;
        // The store's currency and item ids stand for the names it kept: each must keep its
        // place in the files, new ones may only follow.
        let config = match store.catalogue()? {
            Some(stored) => Arc::new(Config::load_over_store(&options.assets, &stored)?),
            None => config,
        };
        let mut sim = Sim::new(Arc::clone(&config));
        if let Some(replayed) = recovery::recover(&store)? {
            info!(
                tick = replayed.tick,
                accounts = replayed.economy.accounts.len(),
                "economy recovered from the store"
            );
            sim.restore_economy(replayed);
        }
        let metrics = Arc::new(Metrics::default());
        let (handle, bridge) = crate::net::bridge(config.server.sim.inbox_capacity as usize);
        let gate = bridge.durable_gate();
        let realtime_priority = config.server.threads.realtime_priority;
        let snapshot_threads = sim.spawn_snapshot_threads(move || {
            priority::apply_to_current_thread(realtime_priority, ThreadRole::Tick);
        })?;
        let snapshot_threads_count = snapshot_threads.count();
        let helper_thread_start =
            move || priority::apply_to_current_thread(realtime_priority, ThreadRole::Helper);
        let writer = StoreWriter::spawn(
            Box::new(store),
            Box::new({
                let metrics = Arc::clone(&metrics);
                move |tick, took| {
                    metrics.store_commit.observe(took);
                    gate.release(tick);
                }
            }),
            helper_thread_start,
        )?;
        let http_addr = options.http.unwrap_or(config.server.telemetry.http_bind);
        let http = HttpEndpoints::start(
            http_addr,
            Arc::clone(&metrics),
            readiness(&writer, &config.server.store, &metrics, &shutdown),
        )
        .map_err(|source| ServeError::Http {
            addr: http_addr,
            source,
        })?;
        let net = NetServer::start(
            &config.server.net,
            data_dir.path(),
            addr,
            handle,
            Arc::clone(&metrics),
            helper_thread_start,
        )?;
        let watcher = AssetWatcher::start(&options.assets, Arc::clone(&config))?;

        let store = Arc::clone(writer.status());
        let tick_loop = TickLoop::new(sim, Some(watcher), Arc::clone(&metrics))
            .with_network(bridge)
            .with_store(writer);
        let rate_hz = tick_loop.tick_rate();
        // Kept once nothing else can stop the start, so that a start that fails (a port in use,
        // say) leaves the store's names as they were.
        SqliteStore::open(&database, config.server.store.synchronous)?
            .keep_catalogue(&Catalogue::of(&config))?;
        let tick_thread = thread::Builder::new().name("tick".into()).spawn({
            let shutdown = Arc::clone(&shutdown);
            move || {
                priority::apply_to_current_thread(realtime_priority, ThreadRole::Tick);
                // With snapshot threads, the loop runs on one of them, which then encodes its
                // share of each tick's snapshots too.
                snapshot_threads.run(|| tick_loop.run(&shutdown))
            }
        })?;

        info!(
            assets = %options.assets.display(),
            data = %data_dir.path().display(),
            udp = %net.local_addr(),
            http = %http.local_addr(),
            rate_hz,
            adaptive = config.server.tick.adaptive.enabled,
            snapshot_threads = snapshot_threads_count,
            "serving"
        );
        Ok(Server {
            shutdown,
            tick_thread,
            net,
            http,
            shutdown_deadline: Duration::from_secs_f32(config.server.telemetry.shutdown_deadline_s),
            store,
            _data_dir: data_dir,
        })
    }

    /// The bound UDP address (with the real port when port 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.net.local_addr()
    }

    /// SHA-256 of the TLS certificate, for clients to pin.
    pub fn fingerprint(&self) -> [u8; 32] {
        self.net.fingerprint()
    }

    /// The address of the operators' HTTP endpoints.
    pub fn http_addr(&self) -> SocketAddr {
        self.http.local_addr()
    }

    /// Serves until the shutdown flag is set, then shuts down gracefully: stops accepting
    /// connections, finishes the tick in progress, flushes the store, and closes every client
    /// with the shutdown code, all within `telemetry.shutdown_deadline_s` or the process exits
    /// with an error. An error too when the store failed while serving, or could not flush.
    #[expect(
        clippy::disallowed_methods,
        reason = "the main thread waits for the shutdown signal and enforces the deadline on the clock"
    )]
    pub fn wait(self) -> Result<(), ServeError> {
        while !self.shutdown.load(Ordering::Acquire) && !self.tick_thread.is_finished() {
            thread::sleep(SHUTDOWN_POLL);
        }
        let deadline = self.shutdown_deadline;
        thread::Builder::new()
            .name("shutdown-deadline".into())
            .spawn(move || {
                thread::sleep(deadline);
                error!(?deadline, "shutdown did not finish within its deadline; exiting");
                std::process::exit(1);
            })?;
        info!("shutting down: no new connections; finishing the tick and flushing the store");
        self.net.stop_accepting();
        self.shutdown.store(true, Ordering::Release);
        let joined = self.tick_thread.join();
        self.net.shutdown(SHUTDOWN_GRACE);
        drop(self.http);
        info!("shut down");
        joined.map_err(|_| ServeError::TickThreadPanicked)??;
        self.store
            .failure()
            .map_or(Ok(()), |failure| Err(ServeError::StoreFailed(failure)))
    }

    /// Sets the shutdown flag and shuts down gracefully ([`Server::wait`]).
    pub fn stop(self) -> Result<(), ServeError> {
        self.shutdown.store(true, Ordering::Release);
        self.wait()
    }
}
