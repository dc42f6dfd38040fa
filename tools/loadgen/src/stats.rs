//! What the bots measure, shared by all of them: a round-trip histogram per operation
//! (hdrhistogram, microseconds), one more for the current second (the timeline), counters, and
//! outcomes by kind: refusals by code apart from failures (transport errors, closes, timeouts,
//! snapshots that did not decode). Bots only add; the swarm reads at the end of each second and
//! at the end of the run.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;
use necpsim::client::{ClientError, ReceiveError};
use necpsim::sync::lock;
use serde::Serialize;
use tokio::time::Instant;

/// An operation whose round trip is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// `Ping` → `Pong` (answered without waiting for a tick).
    Ping,
    /// `CreateSession`.
    SessionCreate,
    /// `JoinSession`.
    SessionJoin,
    /// `GetSession`.
    SessionGet,
    /// `Act` (fire at a target).
    Act,
    /// `PlaceOrder` (acknowledged once durable).
    PlaceOrder,
    /// `Transfer` (acknowledged once durable).
    Transfer,
    /// An economy read (wallet, inventory, market).
    EconomyRead,
}

impl Op {
    /// Every operation, in report order.
    pub const ALL: [Op; 8] = [
        Op::Ping,
        Op::SessionCreate,
        Op::SessionJoin,
        Op::SessionGet,
        Op::Act,
        Op::PlaceOrder,
        Op::Transfer,
        Op::EconomyRead,
    ];

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Op::Ping => "ping",
            Op::SessionCreate => "session_create",
            Op::SessionJoin => "session_join",
            Op::SessionGet => "session_get",
            Op::Act => "act",
            Op::PlaceOrder => "place_order",
            Op::Transfer => "transfer",
            Op::EconomyRead => "economy_read",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A new histogram of microseconds from 1 µs to 10 minutes, three significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("constant bounds are valid")
}

/// One operation's counts.
#[derive(Debug)]
pub struct OpStats {
    /// Round trips of every reply, accepted or refused.
    pub rtt_us: Histogram<u64>,
    /// Replies that were refusals.
    pub refused: u64,
}

/// Everything the bots measure.
#[derive(Debug)]
pub struct Stats {
    /// When the run started.
    start: Instant,
    /// The latest reply, microseconds after `start`.
    last_reply_us: AtomicU64,
    ops: Mutex<Vec<OpStats>>,
    second: Mutex<Histogram<u64>>,
    refusals: Mutex<BTreeMap<u16, u64>>,
    errors: Mutex<BTreeMap<String, u64>>,
    /// Bots connected and welcomed.
    pub connected: AtomicU64,
    /// Bots connected now.
    pub live: AtomicU64,
    /// Connection attempts that failed.
    pub connect_failures: AtomicU64,
    /// Movement inputs sent.
    pub inputs: AtomicU64,
    /// Snapshots received and decoded.
    pub snapshots: AtomicU64,
    /// Snapshots that did not decode (also counted among the errors, by kind).
    pub snapshot_errors: AtomicU64,
    /// `Act` requests answered `Acted`.
    pub acted: AtomicU64,
    /// Economy commands acknowledged (orders placed, transfers): durable on the server.
    pub economy_acks: AtomicU64,
    /// Transfers acknowledged.
    pub transfers: AtomicU64,
    /// Combat sessions created.
    pub sessions: AtomicU64,
    /// The tick rate the server announced in its welcome, as f32 bits (0: none yet).
    tick_rate_bits: AtomicU64,
}

impl Stats {
    /// Nothing measured yet, for a run that started at `start`.
    pub fn new(start: Instant) -> Stats {
        Stats {
            start,
            last_reply_us: AtomicU64::new(0),
            ops: Mutex::new(
                Op::ALL
                    .iter()
                    .map(|_| OpStats {
                        rtt_us: new_histogram(),
                        refused: 0,
                    })
                    .collect(),
            ),
            second: Mutex::new(new_histogram()),
            refusals: Mutex::default(),
            errors: Mutex::default(),
            connected: AtomicU64::new(0),
            live: AtomicU64::new(0),
            connect_failures: AtomicU64::new(0),
            inputs: AtomicU64::new(0),
            snapshots: AtomicU64::new(0),
            snapshot_errors: AtomicU64::new(0),
            acted: AtomicU64::new(0),
            economy_acks: AtomicU64::new(0),
            transfers: AtomicU64::new(0),
            sessions: AtomicU64::new(0),
            tick_rate_bits: AtomicU64::new(0),
        }
    }

    /// Records a reply to `op` after `rtt`; `refused` carries the code of a refusal.
    pub fn reply(&self, op: Op, rtt: Duration, refused: Option<u16>) {
        let us = u64::try_from(rtt.as_micros()).unwrap_or(u64::MAX).max(1);
        {
            let mut ops = lock(&self.ops);
            let entry = &mut ops[op.index()];
            entry.rtt_us.saturating_record(us);
            entry.refused += u64::from(refused.is_some());
        }
        lock(&self.second).saturating_record(us);
        if let Some(code) = refused {
            *lock(&self.refusals).entry(code).or_default() += 1;
        }
        let since_start = u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.last_reply_us.fetch_max(since_start, Ordering::Relaxed);
    }

    /// How long after the start the latest reply came (zero before the first).
    pub fn last_reply(&self) -> Duration {
        Duration::from_micros(self.last_reply_us.load(Ordering::Relaxed))
    }

    /// Counts a failure that is not a refusal: a lost or closed connection, a timeout.
    pub fn error(&self, kind: impl Into<String>) {
        *lock(&self.errors).entry(kind.into()).or_default() += 1;
    }

    /// Counts a client error by its kind (the server's close code when it closed).
    pub fn client_error(&self, error: &ClientError) {
        self.error(error_kind(error));
    }

    /// Counts a snapshot that did not decode, apart and among the errors by kind.
    pub fn snapshot_error(&self, error: &ReceiveError) {
        Stats::bump(&self.snapshot_errors);
        let kind = match error {
            ReceiveError::Malformed(_) => "snapshot malformed",
            ReceiveError::MissingBaseline { .. } => "snapshot missing baseline",
        };
        self.error(kind);
    }

    /// Remembers the server's tick rate.
    pub fn set_tick_rate(&self, hz: f32) {
        self.tick_rate_bits
            .store(u64::from(hz.to_bits()), Ordering::Relaxed);
    }

    /// The server's tick rate, once a bot was welcomed.
    pub fn tick_rate_hz(&self) -> Option<f32> {
        let bits = self.tick_rate_bits.load(Ordering::Relaxed);
        (bits != 0).then(|| f32::from_bits(u32::try_from(bits).unwrap_or(0)))
    }

    /// The round trips recorded since the last call, and resets them.
    pub fn take_second(&self) -> Histogram<u64> {
        std::mem::replace(&mut *lock(&self.second), new_histogram())
    }

    /// A copy of every operation's counts, in [`Op::ALL`] order.
    pub fn ops(&self) -> Vec<(Op, Histogram<u64>, u64)> {
        let ops = lock(&self.ops);
        Op::ALL
            .iter()
            .zip(ops.iter())
            .map(|(op, stats)| (*op, stats.rtt_us.clone(), stats.refused))
            .collect()
    }

    /// Refusals by code.
    pub fn refusals(&self) -> BTreeMap<u16, u64> {
        lock(&self.refusals).clone()
    }

    /// Errors by kind.
    pub fn errors(&self) -> BTreeMap<String, u64> {
        lock(&self.errors).clone()
    }

    /// Total errors so far, connection failures and undecodable snapshots included.
    pub fn error_count(&self) -> u64 {
        lock(&self.errors).values().sum::<u64>()
    }

    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// Adds one to a counter.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// A short name for the kind of `error`, for the errors-by-kind table.
pub fn error_kind(error: &ClientError) -> String {
    match error {
        ClientError::Closed { code, .. } => format!("closed {code}"),
        ClientError::Refused { code, .. } => format!("refused {code}"),
        ClientError::Connection(_) => "connection lost".into(),
        ClientError::Io(_) => "socket".into(),
        ClientError::Tls(_) => "tls".into(),
        ClientError::Connect(_) => "connect".into(),
        ClientError::Write(_) => "write".into(),
        ClientError::Read(_) => "read".into(),
        ClientError::Datagram(_) => "datagram".into(),
        ClientError::Encode(_) => "encode".into(),
        ClientError::Decode(_) => "decode".into(),
        ClientError::Frame(_) => "framing".into(),
        ClientError::Protocol(_) => "protocol".into(),
        ClientError::Backlog => "backlog".into(),
        ClientError::WelcomeTimeout(_) => "timeout".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_counted_apart_from_errors() {
        let stats = Stats::new(Instant::now());
        stats.reply(Op::Act, Duration::from_millis(3), None);
        stats.reply(Op::Act, Duration::from_millis(4), Some(222));
        stats.error("connection lost");
        let ops = stats.ops();
        let (_, act, refused) = &ops[Op::Act as usize];
        assert_eq!((act.len(), *refused), (2, 1));
        assert_eq!(stats.refusals().get(&222), Some(&1));
        assert_eq!(stats.error_count(), 1);
        assert_eq!(stats.take_second().len(), 2);
        assert_eq!(stats.take_second().len(), 0);
    }

    #[test]
    fn undecodable_snapshots_are_counted_among_the_errors() {
        let stats = Stats::new(Instant::now());
        stats.snapshot_error(&ReceiveError::MissingBaseline {
            seq: 9,
            baseline_seq: 4,
        });
        assert_eq!(Stats::get(&stats.snapshot_errors), 1);
        assert_eq!(stats.errors().get("snapshot missing baseline"), Some(&1));
        assert_eq!(stats.error_count(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_latest_reply_is_timed_from_the_start() {
        let stats = Stats::new(Instant::now());
        assert_eq!(stats.last_reply(), Duration::ZERO);
        tokio::time::advance(Duration::from_secs(3)).await;
        stats.reply(Op::Transfer, Duration::from_millis(5), None);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(stats.last_reply(), Duration::from_secs(3));
    }
}
