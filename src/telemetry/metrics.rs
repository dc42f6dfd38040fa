//! Metrics without locks: counters, gauges and histograms that the tick thread, the store's
//! writer and connection tasks update with relaxed atomics, and a renderer of the Prometheus text
//! exposition format. Hand-written rather than taken from a crate because the crates' histograms
//! take a lock on every observation, and the tick thread observes one per tick.

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use crate::net::RequestClass;
use crate::protocol::ErrorCode;
use crate::sim::Refusal;

/// A monotonic count.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds one.
    pub fn inc(&self) {
        self.add(1);
    }

    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// The count.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down.
#[derive(Debug, Default)]
pub struct Gauge(AtomicI64);

impl Gauge {
    /// Sets the value.
    pub fn set(&self, value: i64) {
        self.0.store(value, Ordering::Relaxed);
    }

    /// Adds `delta`.
    pub fn add(&self, delta: i64) {
        self.0.fetch_add(delta, Ordering::Relaxed);
    }

    /// The value.
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Upper bounds, in seconds, of the duration histograms' buckets: fine between 1 and 20 ms, where
/// tick budgets (5 ms goals, 16.7 ms at 60 Hz) are judged.
const DURATION_BUCKETS_S: [f64; 22] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.008, 0.010, 0.0125, 0.015, 0.0167,
    0.020, 0.025, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024,
];

/// A histogram of durations.
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; DURATION_BUCKETS_S.len()],
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

impl Histogram {
    /// Records one duration.
    pub fn observe(&self, duration: Duration) {
        let seconds = duration.as_secs_f64();
        if let Some(bucket) = DURATION_BUCKETS_S.iter().position(|&bound| seconds <= bound) {
            self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_nanos
            .fetch_add(duration.as_nanos() as u64, Ordering::Relaxed);
    }

    /// Observations recorded.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

/// Directions of traffic.
const DIRECTIONS: [&str; 2] = ["in", "out"];

/// Kinds of message counted, by direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// A request of a class, client to server.
    Request(RequestClass),
    /// A datagram, client to server.
    Datagram,
    /// A reply, server to client.
    Reply,
    /// An event push, server to client.
    Event,
    /// A snapshot, server to client.
    Snapshot,
}

const MESSAGE_KINDS: [&str; 10] = [
    "input", "session", "action", "economy", "read", "control", "datagram", "reply", "event", "snapshot",
];

impl MessageKind {
    fn index(self) -> usize {
        match self {
            MessageKind::Request(class) => class as usize,
            MessageKind::Datagram => 6,
            MessageKind::Reply => 7,
            MessageKind::Event => 8,
            MessageKind::Snapshot => 9,
        }
    }
}

/// Every metric of the server.
#[derive(Debug)]
pub struct Metrics {
    /// Ticks simulated.
    pub ticks: Counter,
    /// Ticks that took longer than the tick interval.
    pub tick_overruns: Counter,
    /// Overdue ticks skipped after a stall.
    pub ticks_dropped: Counter,
    /// How long ticks take.
    pub tick_duration: Histogram,
    /// CPU time the tick thread spends on each tick: the work itself, without the time the
    /// thread waited for a core (where the platform tells; see [`thread_cpu_time`]). With
    /// snapshot threads, the shares the other threads encode are not in it.
    pub tick_cpu: Histogram,
    /// How long after its due time the tick thread started the earliest tick it found due: time
    /// it waited for a core or for the tick before it, which every request waits too. Overdue
    /// ticks run back to back after a stall count once.
    pub tick_lateness: Histogram,
    /// Players in the world.
    pub players: Gauge,
    /// Bodies in the world (players and NPCs).
    pub bodies: Gauge,
    /// Combat sessions the world holds.
    pub sessions: Gauge,
    /// Idempotency keys the economy holds.
    pub idempotency_keys: Gauge,
    /// Open client connections.
    pub connections: Gauge,
    /// Bytes of replies, events and snapshots waiting for clients (`[net] outbox_total_bytes`).
    pub outbox_bytes: Gauge,
    /// Commands the last tick took from the inbox.
    pub inbox: Gauge,
    messages: [[Counter; MESSAGE_KINDS.len()]; 2],
    bytes: [[Counter; MESSAGE_KINDS.len()]; 2],
    refusal_codes: Vec<u16>,
    refusals: Vec<Counter>,
    /// Economy commands applied.
    pub economy_operations: Counter,
    /// How long store commits take.
    pub store_commit: Histogram,
    /// Tick batches the store's writer has not committed yet.
    pub store_backlog: Gauge,
    /// Configuration reloads applied.
    pub reloads_applied: Counter,
    /// Configuration edits refused.
    pub reloads_refused: Counter,
    /// 1 while load shedding is on.
    pub shedding: Gauge,
    /// Times load shedding switched on.
    pub shedding_engaged: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let refusal_codes: Vec<u16> = Refusal::ALL
            .iter()
            .map(|r| r.code())
            .chain(ErrorCode::ALL.iter().map(|c| c.code()))
            .collect();
        Metrics {
            ticks: Counter::default(),
            tick_overruns: Counter::default(),
            ticks_dropped: Counter::default(),
            tick_duration: Histogram::default(),
            tick_cpu: Histogram::default(),
            tick_lateness: Histogram::default(),
            players: Gauge::default(),
            bodies: Gauge::default(),
            sessions: Gauge::default(),
            idempotency_keys: Gauge::default(),
            connections: Gauge::default(),
            outbox_bytes: Gauge::default(),
            inbox: Gauge::default(),
            messages: Default::default(),
            bytes: Default::default(),
            refusals: refusal_codes.iter().map(|_| Counter::default()).collect(),
            refusal_codes,
            economy_operations: Counter::default(),
            store_commit: Histogram::default(),
            store_backlog: Gauge::default(),
            reloads_applied: Counter::default(),
            reloads_refused: Counter::default(),
            shedding: Gauge::default(),
            shedding_engaged: Counter::default(),
        }
    }
}

impl Metrics {
    /// Counts a message received.
    pub fn received(&self, kind: MessageKind, bytes: usize) {
        self.messages[0][kind.index()].inc();
        self.bytes[0][kind.index()].add(bytes as u64);
    }

    /// Counts a message sent.
    pub fn sent(&self, kind: MessageKind, bytes: usize) {
        self.messages[1][kind.index()].inc();
        self.bytes[1][kind.index()].add(bytes as u64);
    }

    /// Counts a refusal or a connection closed, by its code.
    pub fn refused(&self, code: u16) {
        if let Ok(index) = self.refusal_codes.binary_search(&code) {
            self.refusals[index].inc();
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(8 * 1024);
        let counter = |out: &mut String, name: &str, help: &str, value: u64| {
            let _ = writeln!(out, "# HELP necpsim_{name} {help}\n# TYPE necpsim_{name} counter");
            let _ = writeln!(out, "necpsim_{name} {value}");
        };
        let gauge = |out: &mut String, name: &str, help: &str, value: i64| {
            let _ = writeln!(out, "# HELP necpsim_{name} {help}\n# TYPE necpsim_{name} gauge");
            let _ = writeln!(out, "necpsim_{name} {value}");
        };
        counter(&mut out, "ticks_total", "Ticks simulated.", self.ticks.get());
        counter(
            &mut out,
            "tick_overruns_total",
            "Ticks that took longer than the tick interval.",
            self.tick_overruns.get(),
        );
        counter(
            &mut out,
            "ticks_dropped_total",
            "Overdue ticks skipped after a stall.",
            self.ticks_dropped.get(),
        );
        histogram(
            &mut out,
            "tick_duration_seconds",
            "How long ticks take.",
            &self.tick_duration,
        );
        histogram(
            &mut out,
            "tick_cpu_seconds",
            "CPU time the tick thread spends on each tick (below the tick's duration by the time it waited for a core; with snapshot threads, their shares of the snapshots are not in it).",
            &self.tick_cpu,
        );
        histogram(
            &mut out,
            "tick_lateness_seconds",
            "How long after its due time the tick thread started the earliest tick it found due (overdue ticks run back to back count once).",
            &self.tick_lateness,
        );
        gauge(&mut out, "players", "Players in the world.", self.players.get());
        gauge(
            &mut out,
            "bodies",
            "Moving bodies in the world (players and NPCs).",
            self.bodies.get(),
        );
        gauge(
            &mut out,
            "combat_sessions",
            "Combat sessions the world holds.",
            self.sessions.get(),
        );
        gauge(
            &mut out,
            "idempotency_keys",
            "Idempotency keys of economy commands held (expired ones until their memory is freed).",
            self.idempotency_keys.get(),
        );
        gauge(
            &mut out,
            "connections",
            "Open client connections.",
            self.connections.get(),
        );
        gauge(
            &mut out,
            "outbox_bytes",
            "Bytes of replies, events and snapshots waiting for clients.",
            self.outbox_bytes.get(),
        );
        gauge(
            &mut out,
            "inbox_commands",
            "Commands the last tick took from the inbox.",
            self.inbox.get(),
        );
        for (metric, help, values) in [
            (
                "messages_total",
                "Messages by direction and kind.",
                &self.messages,
            ),
            (
                "message_bytes_total",
                "Message bytes by direction and kind.",
                &self.bytes,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP necpsim_{metric} {help}\n# TYPE necpsim_{metric} counter"
            );
            for (direction, by_kind) in DIRECTIONS.iter().zip(values) {
                for (kind, value) in MESSAGE_KINDS.iter().zip(by_kind) {
                    let _ = writeln!(
                        out,
                        "necpsim_{metric}{{direction=\"{direction}\",kind=\"{kind}\"}} {}",
                        value.get()
                    );
                }
            }
        }
        let _ = writeln!(
            out,
            "# HELP necpsim_refusals_total Refused requests and closed connections by code.\n\
             # TYPE necpsim_refusals_total counter"
        );
        for (code, value) in self.refusal_codes.iter().zip(&self.refusals) {
            let _ = writeln!(out, "necpsim_refusals_total{{code=\"{code}\"}} {}", value.get());
        }
        counter(
            &mut out,
            "economy_operations_total",
            "Economy commands decided, carried out or refused (each journaled once).",
            self.economy_operations.get(),
        );
        histogram(
            &mut out,
            "store_commit_duration_seconds",
            "How long store commits take.",
            &self.store_commit,
        );
        gauge(
            &mut out,
            "store_backlog_batches",
            "Tick batches the store's writer has not committed yet.",
            self.store_backlog.get(),
        );
        let _ = writeln!(
            out,
            "# HELP necpsim_config_reloads_total Configuration reloads by outcome.\n\
             # TYPE necpsim_config_reloads_total counter\n\
             necpsim_config_reloads_total{{outcome=\"ok\"}} {}\n\
             necpsim_config_reloads_total{{outcome=\"refused\"}} {}",
            self.reloads_applied.get(),
            self.reloads_refused.get()
        );
        gauge(
            &mut out,
            "load_shedding",
            "1 while new logins and sessions are refused.",
            self.shedding.get(),
        );
        process(&mut out);
        counter(
            &mut out,
            "load_shedding_engaged_total",
            "Times load shedding switched on.",
            self.shedding_engaged.get(),
        );
        out
    }
}

/// CPU time the calling thread has used, where the platform tells (Linux's thread CPU clock).
pub fn thread_cpu_time() -> Option<Duration> {
    #[cfg(target_os = "linux")]
    return cpu_clock(libc::CLOCK_THREAD_CPUTIME_ID);
    #[cfg(not(target_os = "linux"))]
    None
}

/// CPU time the whole process has used, where the platform tells (Linux's process CPU clock,
/// to the nanosecond rather than the 10 ms ticks of `/proc/self/stat`).
fn process_cpu_time() -> Option<Duration> {
    #[cfg(target_os = "linux")]
    return cpu_clock(libc::CLOCK_PROCESS_CPUTIME_ID);
    #[cfg(not(target_os = "linux"))]
    None
}

/// The reading of the CPU-time clock `clock`.
#[cfg(target_os = "linux")]
fn cpu_clock(clock: libc::clockid_t) -> Option<Duration> {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec for the call's duration; the clock id is a
    // constant the platform defines.
    let status = unsafe { libc::clock_gettime(clock, &mut now) };
    (status == 0).then(|| {
        Duration::new(
            u64::try_from(now.tv_sec).unwrap_or(0),
            u32::try_from(now.tv_nsec).unwrap_or(0),
        )
    })
}

/// The process's CPU time and resident memory, where the platform tells (Linux's CPU clock and
/// `/proc`).
fn process(out: &mut String) {
    let cpu_s = process_cpu_time().map(|cpu| cpu.as_secs_f64());
    let rss_bytes = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
            let kib: u64 = line.split_ascii_whitespace().nth(1)?.parse().ok()?;
            Some(kib * 1024)
        });
    if let Some(cpu_s) = cpu_s {
        let _ = writeln!(
            out,
            "# HELP necpsim_process_cpu_seconds_total CPU time the process has used.\n\
             # TYPE necpsim_process_cpu_seconds_total counter\nnecpsim_process_cpu_seconds_total {cpu_s}"
        );
    }
    if let Some(rss_bytes) = rss_bytes {
        let _ = writeln!(
            out,
            "# HELP necpsim_process_resident_memory_bytes Resident memory of the process.\n\
             # TYPE necpsim_process_resident_memory_bytes gauge\nnecpsim_process_resident_memory_bytes {rss_bytes}"
        );
    }
}

fn histogram(out: &mut String, name: &str, help: &str, histogram: &Histogram) {
    let _ = writeln!(
        out,
        "# HELP necpsim_{name} {help}\n# TYPE necpsim_{name} histogram"
    );
    // Another thread may observe while this one reads: the count is read first and the total
    // never drops below a bucket read after it, so the buckets stay cumulative.
    let counted = histogram.count.load(Ordering::Relaxed);
    let mut cumulative = 0;
    for (bound, bucket) in DURATION_BUCKETS_S.iter().zip(&histogram.buckets) {
        cumulative += bucket.load(Ordering::Relaxed);
        let _ = writeln!(out, "necpsim_{name}_bucket{{le=\"{bound}\"}} {cumulative}");
    }
    let count = counted.max(cumulative);
    let sum = histogram.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
    let _ = writeln!(out, "necpsim_{name}_bucket{{le=\"+Inf\"}} {count}");
    let _ = writeln!(out, "necpsim_{name}_sum {sum}\nnecpsim_{name}_count {count}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_refusals_counted_by_code() {
        let metrics = Metrics::default();
        metrics.tick_duration.observe(Duration::from_micros(50));
        metrics.tick_duration.observe(Duration::from_millis(3));
        metrics.refused(Refusal::InsufficientFunds.code());
        metrics.refused(ErrorCode::RateLimited.code());
        let text = metrics.render();
        assert!(
            text.contains("necpsim_tick_duration_seconds_bucket{le=\"0.0001\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("necpsim_tick_duration_seconds_bucket{le=\"0.004\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("necpsim_tick_duration_seconds_count 2\n"), "{text}");
        assert!(text.contains("necpsim_tick_cpu_seconds_count 0\n"), "{text}");
        assert!(
            text.contains("necpsim_refusals_total{code=\"300\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("necpsim_refusals_total{code=\"1020\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("necpsim_refusals_total{code=\"301\"} 0\n"),
            "{text}"
        );
    }
}
