//! `assets/server.toml`: tick rate, catch-up policy and the optional adaptive rate table, simulation
//! seed and buffer sizes, the UDP bind address.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use super::source::Checker;
use super::{keep, keep_table};

/// The whole of `server.toml`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// `[tick]`: how often the simulation advances.
    pub tick: TickConfig,
    /// `[sim]`: simulation-wide settings.
    pub sim: SimConfig,
    /// `[net]`: where clients connect.
    pub net: NetConfig,
    /// `[store]`: how the economy is kept durable.
    pub store: StoreConfig,
    /// `[telemetry]`: where operators look.
    pub telemetry: TelemetryConfig,
    /// `[shedding]`: when new logins and sessions are refused.
    pub shedding: SheddingConfig,
    /// `[threads]`: how the server's threads are scheduled.
    pub threads: ThreadsConfig,
}

/// `[threads]` in `server.toml` (read at start).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ThreadsConfig {
    /// 0: every thread runs under the normal policy. 2 to 99: the tick thread runs under Linux's
    /// `SCHED_FIFO` at this priority (and so do the snapshot threads) and the network and store
    /// threads one below it, so that no other process takes their cores while they work (needs
    /// `CAP_SYS_NICE`).
    pub realtime_priority: u8,
    /// 1: the tick thread encodes every snapshot. N > 1: a pool of N threads, the tick loop
    /// running on one of them, encodes them, each thread a contiguous share of the clients due;
    /// the bytes sent are the same.
    pub snapshot_threads: u16,
}

impl Default for ThreadsConfig {
    fn default() -> Self {
        ThreadsConfig {
            realtime_priority: 0,
            snapshot_threads: 1,
        }
    }
}

/// `[telemetry]` in `server.toml` (read at start).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// TCP address of the HTTP endpoints `/metrics`, `/healthz` and `/readyz` (`--http` overrides it).
    pub http_bind: SocketAddr,
    /// On SIGTERM or SIGINT the server stops accepting, finishes the tick, flushes the store and
    /// closes its clients within this many seconds, or exits with an error.
    pub shutdown_deadline_s: f32,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        TelemetryConfig {
            http_bind: SocketAddr::from(([127, 0, 0, 1], 9100)),
            shutdown_deadline_s: 10.0,
        }
    }
}

/// `[shedding]` in `server.toml`: thresholds to switch load shedding on, and lower ones to switch
/// it off again.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SheddingConfig {
    /// Whether load shedding can switch on at all.
    pub enabled: bool,
    /// Ticks over which the tick p99 is taken.
    pub window_ticks: u32,
    /// Switch on when the tick p99 exceeds this fraction of the tick interval.
    pub engage_tick_p99_ratio: f32,
    /// Switch off only below this fraction.
    pub release_tick_p99_ratio: f32,
    /// Switch on when the inbox is fuller than this fraction of its capacity.
    pub engage_inbox_fill: f32,
    /// Switch off only below this fraction.
    pub release_inbox_fill: f32,
    /// Switch on when the store's writer is more than this many batches behind.
    pub engage_store_backlog: u32,
    /// Switch off only at or below this many.
    pub release_store_backlog: u32,
}

impl Default for SheddingConfig {
    fn default() -> Self {
        SheddingConfig {
            enabled: true,
            window_ticks: 120,
            engage_tick_p99_ratio: 1.0,
            release_tick_p99_ratio: 0.7,
            engage_inbox_fill: 0.5,
            release_inbox_fill: 0.25,
            engage_store_backlog: 8,
            release_store_backlog: 2,
        }
    }
}

/// `[tick]` in `server.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TickConfig {
    /// Simulation ticks per second (when `[tick.adaptive]` is off).
    pub rate_hz: f32,
    /// After a stall, at most this many overdue ticks run back to back; older ones are dropped
    /// (and counted) so that an overload never spirals.
    pub max_catch_up_ticks: u32,
    /// `[tick.adaptive]`: the rate follows the number of players.
    pub adaptive: AdaptiveTickConfig,
}

impl Default for TickConfig {
    fn default() -> Self {
        TickConfig {
            rate_hz: 60.0,
            max_catch_up_ticks: 3,
            adaptive: AdaptiveTickConfig::default(),
        }
    }
}

/// `[tick.adaptive]` in `server.toml`: fewer players, faster ticks.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdaptiveTickConfig {
    /// Off by default: the rate is `tick.rate_hz`.
    pub enabled: bool,
    /// The rate never goes below this.
    pub min_hz: f32,
    /// The rate never goes above this.
    pub max_hz: f32,
    /// The rate changes at most once in this many seconds.
    pub min_interval_s: f32,
    /// `[[tick.adaptive.steps]]`, by ascending `max_players`: the first step whose `max_players` is at
    /// least the player count gives the rate; above the last step, `min_hz`.
    pub steps: Vec<AdaptiveStep>,
}

impl Default for AdaptiveTickConfig {
    fn default() -> Self {
        let step = |max_players, rate_hz| AdaptiveStep { max_players, rate_hz };
        AdaptiveTickConfig {
            enabled: false,
            min_hz: 30.0,
            max_hz: 128.0,
            min_interval_s: 5.0,
            steps: vec![
                step(50, 128.0),
                step(100, 100.0),
                step(200, 62.5),
                step(500, 50.0),
            ],
        }
    }
}

/// One `[[tick.adaptive.steps]]` entry.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AdaptiveStep {
    /// Up to this many players ...
    pub max_players: u32,
    /// ... the server ticks at this rate.
    pub rate_hz: f32,
}

/// `[sim]` in `server.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimConfig {
    /// Seed of the simulation's random number generator (read at start).
    pub seed: u64,
    /// Commands that may wait for the next tick; more are refused with a busy code (read at start).
    pub inbox_capacity: u32,
    /// Bytes reserved up front for the per-tick frame arena (read at start).
    pub frame_arena_bytes: u32,
    /// Whether `serve` lets the kernel back its heap with transparent huge pages (read at start).
    pub huge_pages: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 0x6e65_6370,
            inbox_capacity: 65_536,
            frame_arena_bytes: 1 << 20,
            huge_pages: false,
        }
    }
}

/// `[net]` in `server.toml` (read at start).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetConfig {
    /// UDP address the server binds for QUIC clients (`--bind` overrides it).
    pub bind: SocketAddr,
    /// Largest frame a client may send on its control stream; a longer length prefix closes the
    /// connection before any of the frame is buffered.
    pub max_frame_bytes: u32,
    /// Connections served at once; more are refused before their handshake.
    pub max_connections: u32,
    /// Connections from one host (an IPv4 address or an IPv6 /64) at once; more are refused
    /// before their handshake.
    pub max_connections_per_ip: u32,
    /// Connections in their handshake or still owing a valid `Hello` at once; beyond it (or with
    /// every place taken) a new connection pushes out the one that has waited longest.
    pub max_unauthenticated: u32,
    /// Handshakes in progress from unvalidated addresses above which new ones must first prove
    /// their address (a QUIC retry).
    pub retry_above_handshakes: u32,
    /// Time a new connection has to send its `Hello`.
    pub hello_timeout_ms: u32,
    /// Bytes of replies and events that may wait for one client; a client that lets more pile up
    /// is disconnected as a slow consumer.
    pub outbox_bytes: u32,
    /// Snapshot datagrams that may wait for one client; older ones are dropped (newer ones
    /// supersede them).
    pub outbox_datagrams: u32,
    /// Bytes of replies, events and snapshots that may wait for all clients together. Each
    /// client is owed an equal share; once the total is spent, a client holding more than its
    /// share is disconnected as a slow consumer (its snapshots are dropped first).
    pub outbox_total_bytes: u64,
    /// Threads serving the network (connection tasks, TLS, encryption).
    pub io_threads: u32,
    /// Receive buffer asked of the kernel for the UDP socket: datagrams that arrive while the
    /// network thread is busy wait here instead of being dropped (and resent by QUIC a round trip
    /// later). Linux grants at most `net.core.rmem_max`.
    pub udp_receive_buffer_bytes: u32,
    /// `[net.transport]`: QUIC limits.
    pub transport: TransportConfig,
    /// `[net.tls]`: the server's certificate.
    pub tls: TlsConfig,
    /// `[net.auth]`: the secret session tokens are signed with.
    pub auth: AuthConfig,
    /// `[net.rate_limits]`: token buckets per player and class of request.
    pub rate_limits: RateLimitsConfig,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 7777)),
            max_frame_bytes: 64 * 1024,
            max_connections: 5000,
            max_connections_per_ip: 64,
            max_unauthenticated: 1024,
            retry_above_handshakes: 64,
            hello_timeout_ms: 5000,
            outbox_bytes: 1 << 20,
            outbox_datagrams: 64,
            outbox_total_bytes: 256 << 20,
            io_threads: 1,
            udp_receive_buffer_bytes: 4 << 20,
            transport: TransportConfig::default(),
            tls: TlsConfig::default(),
            auth: AuthConfig::default(),
            rate_limits: RateLimitsConfig::default(),
        }
    }
}

/// `[net.transport]` in `server.toml`: QUIC limits sized for a game.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TransportConfig {
    /// Bidirectional streams a client may open at once (the protocol uses one).
    pub max_bidi_streams: u32,
    /// Unidirectional streams a client may open at once (the protocol uses none).
    pub max_uni_streams: u32,
    /// Flow-control window of one stream.
    pub stream_window_bytes: u32,
    /// Flow-control window of a whole connection.
    pub connection_window_bytes: u32,
    /// Datagram bytes buffered for the server before new ones are dropped.
    pub datagram_buffer_bytes: u32,
    /// A connection silent for this long is closed.
    pub idle_timeout_ms: u32,
    /// Keep-alive interval, below the idle timeout.
    pub keep_alive_ms: u32,
    /// Packets a client is asked to receive before it must acknowledge (QUIC acknowledgement
    /// frequency): fewer acknowledgement-only packets to send and to decrypt on both ends.
    pub peer_ack_threshold_packets: u32,
    /// The longest a client is asked to delay an acknowledgement.
    pub peer_max_ack_delay_ms: u32,
}

impl Default for TransportConfig {
    fn default() -> Self {
        TransportConfig {
            max_bidi_streams: 2,
            max_uni_streams: 4,
            stream_window_bytes: 64 * 1024,
            connection_window_bytes: 256 * 1024,
            datagram_buffer_bytes: 64 * 1024,
            idle_timeout_ms: 10_000,
            keep_alive_ms: 3_000,
            peer_ack_threshold_packets: 10,
            peer_max_ack_delay_ms: 50,
        }
    }
}

/// `[net.tls]` in `server.toml`: PEM files, or (both unset) a self-signed development
/// certificate generated into the data directory on first start.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// Certificate chain, PEM.
    pub cert_file: Option<std::path::PathBuf>,
    /// Private key, PEM.
    pub key_file: Option<std::path::PathBuf>,
}

/// `[net.auth]` in `server.toml`. The secret is never in the assets: it comes from the
/// `NECPSIM_AUTH_SECRET` environment variable or from `secret_file`; on a loopback address
/// without either, a development secret is generated into the data directory.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// A file holding the secret (at least 32 bytes).
    pub secret_file: Option<std::path::PathBuf>,
}

/// `[net.rate_limits]` in `server.toml`: one token bucket per player and class.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitsConfig {
    /// Movement inputs and snapshot acknowledgements (datagrams included).
    pub input: Bucket,
    /// Combat session operations and reads.
    pub session: Bucket,
    /// Combat actions.
    pub action: Bucket,
    /// Economy commands.
    pub economy: Bucket,
    /// Economy reads.
    pub read: Bucket,
    /// Pings and subscription changes.
    pub control: Bucket,
    /// Datagrams over the input bucket dropped within one second that close the connection as a
    /// flood.
    pub flood_drops_per_s: u32,
}

impl Default for RateLimitsConfig {
    fn default() -> Self {
        let bucket = |per_s, burst| Bucket { per_s, burst };
        RateLimitsConfig {
            input: bucket(150.0, 300.0),
            session: bucket(20.0, 40.0),
            action: bucket(100.0, 100.0),
            economy: bucket(100.0, 200.0),
            read: bucket(100.0, 200.0),
            control: bucket(10.0, 20.0),
            flood_drops_per_s: 2000,
        }
    }
}

/// A token bucket: `burst` requests at once, refilled at `per_s` a second.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Bucket {
    /// Sustained requests per second.
    pub per_s: f32,
    /// Requests allowed at once.
    pub burst: f32,
}

/// `[store]` in `server.toml` (read at start): the embedded SQLite database in the data directory.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// When a commit counts as durable.
    pub synchronous: Synchronous,
    /// Tick batches the writer may fall behind before new economy commands are refused with the
    /// busy code.
    pub max_backlog_batches: u32,
    /// How long one commit may take before the store counts as stalled (a disk that stopped
    /// answering): economy commands and reads are then refused with the busy code, and
    /// `/readyz` says so, until the commit returns.
    pub max_commit_stall_ms: u32,
    /// Tick batches that may wait for the writer before the server stops itself: while a commit
    /// waits on a full disk or a lock, the world keeps producing batches (market makers,
    /// expiries, departures), and they must not take memory without bound.
    pub max_queued_batches: u32,
}

impl StoreConfig {
    /// The batches the writer may fall behind, and how long one commit may take, before the
    /// economy waits for the store.
    pub fn limits(&self) -> (u64, std::time::Duration) {
        (
            u64::from(self.max_backlog_batches),
            std::time::Duration::from_millis(u64::from(self.max_commit_stall_ms)),
        )
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            synchronous: Synchronous::Full,
            max_backlog_batches: 16,
            max_commit_stall_ms: 2000,
            max_queued_batches: 100_000,
        }
    }
}

/// SQLite's `synchronous` setting (the database runs in WAL mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    /// Every commit is flushed to disk before it counts: nothing acknowledged is lost, even to
    /// power loss.
    Full,
    /// Commits are flushed at checkpoints: nothing is lost to a crash of the process, but the
    /// last commits may be lost to a power loss or an operating system crash.
    Normal,
}

impl ServerConfig {
    pub(crate) fn validate(&self, check: &mut Checker<'_>) {
        check.within("tick.rate_hz", self.tick.rate_hz, 1.0, 1000.0);
        let adaptive = &self.tick.adaptive;
        check.within("tick.adaptive.min_hz", adaptive.min_hz, 1.0, 1000.0);
        check.within("tick.adaptive.max_hz", adaptive.max_hz, adaptive.min_hz, 1000.0);
        check.within(
            "tick.adaptive.min_interval_s",
            adaptive.min_interval_s,
            0.0,
            3600.0,
        );
        let mut previous = None;
        for (i, step) in adaptive.steps.iter().enumerate() {
            let key = format!("tick.adaptive.steps[{i}]");
            check.within(
                &format!("{key}.rate_hz"),
                step.rate_hz,
                adaptive.min_hz,
                adaptive.max_hz,
            );
            if previous.is_some_and(|p| step.max_players <= p) {
                check.refuse(
                    &format!("{key}.max_players"),
                    "steps must be in ascending max_players order",
                );
            }
            previous = Some(step.max_players);
        }
        check.within("tick.max_catch_up_ticks", self.tick.max_catch_up_ticks, 0, 1000);
        check.within("threads.realtime_priority", self.threads.realtime_priority, 0, 99);
        if self.threads.realtime_priority == 1 {
            check.refuse(
                "threads.realtime_priority",
                "must be 0 (off) or 2 to 99: the network and store threads run one below it",
            );
        }
        check.within("threads.snapshot_threads", self.threads.snapshot_threads, 1, 256);
        check.within("sim.inbox_capacity", self.sim.inbox_capacity, 16, 1 << 24);
        check.within("sim.frame_arena_bytes", self.sim.frame_arena_bytes, 4096, 1 << 30);
        self.net.validate(check);
        check.within(
            "store.max_backlog_batches",
            self.store.max_backlog_batches,
            1,
            100_000,
        );
        check.within(
            "store.max_commit_stall_ms",
            self.store.max_commit_stall_ms,
            10,
            600_000,
        );
        check.within(
            "store.max_queued_batches",
            self.store.max_queued_batches,
            self.store.max_backlog_batches.saturating_add(1),
            10_000_000,
        );
        check.within(
            "telemetry.shutdown_deadline_s",
            self.telemetry.shutdown_deadline_s,
            0.1,
            600.0,
        );
        let shed = &self.shedding;
        check.within("shedding.window_ticks", shed.window_ticks, 1, 100_000);
        check.positive_up_to(
            "shedding.engage_tick_p99_ratio",
            shed.engage_tick_p99_ratio,
            100.0,
        );
        release_threshold(
            check,
            ("shedding.release_tick_p99_ratio", shed.release_tick_p99_ratio),
            ("engage_tick_p99_ratio", shed.engage_tick_p99_ratio),
        );
        check.positive_up_to("shedding.engage_inbox_fill", shed.engage_inbox_fill, 1.0);
        release_threshold(
            check,
            ("shedding.release_inbox_fill", shed.release_inbox_fill),
            ("engage_inbox_fill", shed.engage_inbox_fill),
        );
        check.within(
            "shedding.engage_store_backlog",
            shed.engage_store_backlog,
            0,
            100_000,
        );
        check.within(
            "shedding.release_store_backlog",
            shed.release_store_backlog,
            0,
            shed.engage_store_backlog,
        );
    }

    /// Puts back into `next` the values of `self` that only take effect when the server starts,
    /// adding the keys whose values differed to `changed`.
    pub(crate) fn keep_restart_only(&self, next: &mut ServerConfig, changed: &mut Vec<String>) {
        keep(
            &self.sim.seed,
            &mut next.sim.seed,
            "server.toml: sim.seed",
            changed,
        );
        keep(
            &self.sim.inbox_capacity,
            &mut next.sim.inbox_capacity,
            "server.toml: sim.inbox_capacity",
            changed,
        );
        keep(
            &self.sim.frame_arena_bytes,
            &mut next.sim.frame_arena_bytes,
            "server.toml: sim.frame_arena_bytes",
            changed,
        );
        keep(
            &self.sim.huge_pages,
            &mut next.sim.huge_pages,
            "server.toml: sim.huge_pages",
            changed,
        );
        keep_table(&self.net, &mut next.net, "server.toml: net", changed);
        keep_table(&self.store, &mut next.store, "server.toml: store", changed);
        keep_table(&self.threads, &mut next.threads, "server.toml: threads", changed);
        keep_table(
            &self.telemetry,
            &mut next.telemetry,
            "server.toml: telemetry",
            changed,
        );
    }
}

/// Refuses a `(key, value)` release threshold of load shedding unless it is above 0 and at most
/// its engage threshold: shedding switches off only while the measure is strictly below it, and
/// no measure is below 0, so 0 would keep it on for good.
fn release_threshold(
    check: &mut Checker<'_>,
    (key, release): (&str, f32),
    (engage_key, engage): (&str, f32),
) {
    // Against an engage threshold that is itself refused there is nothing to say.
    let engage_valid = engage > 0.0;
    if check.finite(key, release) && engage_valid && !(release > 0.0 && release <= engage) {
        check.refuse(
            key,
            format!(
                "must be > 0 (shedding switches off only below it) and at most {engage_key} ({engage}), \
                 got {release}"
            ),
        );
    }
}

impl NetConfig {
    fn validate(&self, check: &mut Checker<'_>) {
        check.within("net.max_frame_bytes", self.max_frame_bytes, 1024, 16 << 20);
        check.within("net.max_connections", self.max_connections, 1, 1_000_000);
        check.within(
            "net.max_connections_per_ip",
            self.max_connections_per_ip,
            1,
            1_000_000,
        );
        check.within("net.max_unauthenticated", self.max_unauthenticated, 1, 1_000_000);
        check.within(
            "net.retry_above_handshakes",
            self.retry_above_handshakes,
            0,
            1_000_000,
        );
        check.within("net.hello_timeout_ms", self.hello_timeout_ms, 100, 60_000);
        check.within(
            "net.outbox_bytes",
            self.outbox_bytes,
            self.max_frame_bytes,
            1 << 30,
        );
        check.within("net.outbox_datagrams", self.outbox_datagrams, 1, 65_536);
        check.within(
            "net.outbox_total_bytes",
            self.outbox_total_bytes,
            u64::from(self.max_frame_bytes),
            1 << 40,
        );
        check.within("net.io_threads", self.io_threads, 1, 64);
        check.within(
            "net.udp_receive_buffer_bytes",
            self.udp_receive_buffer_bytes,
            64 << 10,
            1 << 30,
        );
        let t = &self.transport;
        check.within("net.transport.max_bidi_streams", t.max_bidi_streams, 1, 16);
        check.within("net.transport.max_uni_streams", t.max_uni_streams, 0, 64);
        check.within(
            "net.transport.stream_window_bytes",
            t.stream_window_bytes,
            4096,
            16 << 20,
        );
        check.within(
            "net.transport.connection_window_bytes",
            t.connection_window_bytes,
            t.stream_window_bytes,
            64 << 20,
        );
        check.within(
            "net.transport.datagram_buffer_bytes",
            t.datagram_buffer_bytes,
            1500,
            16 << 20,
        );
        check.within("net.transport.idle_timeout_ms", t.idle_timeout_ms, 1000, 600_000);
        check.within(
            "net.transport.keep_alive_ms",
            t.keep_alive_ms,
            100,
            t.idle_timeout_ms,
        );
        check.within(
            "net.transport.peer_ack_threshold_packets",
            t.peer_ack_threshold_packets,
            0,
            1000,
        );
        check.within(
            "net.transport.peer_max_ack_delay_ms",
            t.peer_max_ack_delay_ms,
            1,
            1000,
        );
        if self.tls.cert_file.is_some() != self.tls.key_file.is_some() {
            check.refuse("net.tls", "cert_file and key_file must be set together");
        }
        let limits = &self.rate_limits;
        for (name, bucket) in [
            ("input", limits.input),
            ("session", limits.session),
            ("action", limits.action),
            ("economy", limits.economy),
            ("read", limits.read),
            ("control", limits.control),
        ] {
            check.within(&format!("net.rate_limits.{name}.per_s"), bucket.per_s, 0.1, 1e6);
            check.within(&format!("net.rate_limits.{name}.burst"), bucket.burst, 1.0, 1e6);
        }
        check.within(
            "net.rate_limits.flood_drops_per_s",
            limits.flood_drops_per_s,
            1,
            10_000_000,
        );
    }
}
