//! The bots: one tokio task per bot, each a QUIC client of the SDK ([`necpsim::client`]) playing
//! one role of the scenario ([`plan`] decides which), measuring every round trip into the shared
//! [`Stats`]. A bot connects at its start time, plays until the run's deadline, then closes.
//! Every request it sends is counted once ([`InFlight`]): as a reply, a timeout, an error, or as
//! unanswered when the bot stops without its reply. Bots never touch the server's internals; they
//! only speak the protocol.

mod fighting;
mod plan;
mod roaming;
mod trading;
mod transferring;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use necpsim::client::{Client, ClientError, ConnectOptions, PendingReply, ReceiveError, Snapshot};
use necpsim::net::auth::{Claims, TokenKey, unix_now_s};
use necpsim::net::tls::ServerTrust;
use necpsim::protocol::{InputC2s, ReplyBodyS2c, ReplyS2c, RequestC2s};
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use tokio::time::{Instant, Interval, MissedTickBehavior, interval_at};

pub use plan::{Plan, Role, plan};

use crate::scenario::Scenario;
use crate::stats::{Op, Stats};

/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a request may wait for its reply before it counts as an error.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Extra validity of a bot's token beyond the run.
const TOKEN_SLACK: Duration = Duration::from_secs(3600);

/// What every bot of a run shares.
#[derive(Debug)]
pub struct Shared {
    /// Where the counts go.
    pub stats: Arc<Stats>,
    /// The scenario.
    pub scenario: Scenario,
    /// The roles.
    pub plan: Plan,
    /// The server's UDP address.
    pub server: SocketAddr,
    /// The pinned certificate fingerprint.
    pub fingerprint: [u8; 32],
    /// Signs the bots' tokens.
    pub tokens: Arc<TokenKey>,
    /// Bot `i` plays player `first_player + i`.
    pub first_player: u64,
    /// The run's seed.
    pub seed: u64,
    /// When every bot stops.
    pub deadline: Instant,
    /// Session ids published by each fight group's leader (0: none yet).
    pub lobby: Vec<tokio::sync::watch::Sender<u64>>,
}

impl Shared {
    /// The player id of bot `index`.
    pub fn player(&self, index: u32) -> u64 {
        self.first_player + u64::from(index)
    }
}

/// One bot's connection and what it needs to play.
#[derive(Debug)]
pub(crate) struct Bot {
    shared: Arc<Shared>,
    client: Client,
    index: u32,
    rng: ChaCha8Rng,
    input_seq: u32,
}

/// How a measured request ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Answered, not refused.
    Accepted(ReplyBodyS2c),
    /// Refused (counted by code, not as an error).
    Refused,
    /// No reply in time; the connection may still be fine.
    TimedOut,
    /// The connection failed; the bot stops.
    Failed,
}

/// A sent request awaiting its reply.
#[derive(Debug)]
pub(crate) struct Request {
    reply: PendingReply,
    in_flight: InFlight,
}

impl Request {
    /// Waits for the reply, at most [`REQUEST_TIMEOUT`] after the request was sent, and counts
    /// how it ended.
    pub(crate) async fn settle(mut self) -> Outcome {
        let timeout = self.in_flight.sent + REQUEST_TIMEOUT;
        let answer = tokio::time::timeout_at(timeout, &mut self.reply).await.ok();
        self.in_flight.settle(answer)
    }
}

/// A sent request's count. Settled, it records the round trip, the timeout or the error; dropped
/// unsettled (its bot stopped, gave up on the connection or was aborted at the end of the run),
/// it counts as an `unanswered OP` error. So every sent request is counted exactly once.
#[derive(Debug)]
struct InFlight {
    stats: Arc<Stats>,
    op: Op,
    sent: Instant,
    settled: bool,
}

impl InFlight {
    /// The count of an `op` request sent at `sent`, into `stats`.
    fn new(stats: Arc<Stats>, op: Op, sent: Instant) -> InFlight {
        InFlight {
            stats,
            op,
            sent,
            settled: false,
        }
    }

    /// Counts how the request ended: `answer` is `None` when no reply came in time.
    fn settle(mut self, answer: Option<Result<ReplyS2c, ClientError>>) -> Outcome {
        self.settled = true;
        match answer {
            Some(Ok(reply)) => {
                let rtt = self.sent.elapsed();
                match reply.body {
                    ReplyBodyS2c::Refused { code } => {
                        self.stats.reply(self.op, rtt, Some(code));
                        Outcome::Refused
                    }
                    body => {
                        self.stats.reply(self.op, rtt, None);
                        Outcome::Accepted(body)
                    }
                }
            }
            // Counted even after the deadline: the request was owed a reply.
            Some(Err(error)) => {
                self.stats.client_error(&error);
                Outcome::Failed
            }
            None => {
                self.stats.error(format!("timeout {}", self.op.name()));
                Outcome::TimedOut
            }
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if !self.settled {
            self.stats.error(format!("unanswered {}", self.op.name()));
        }
    }
}

/// A timer ticking every `period`, first after `phase` (in [0, 1)) of a period, skipping missed
/// ticks so that it keeps that phase.
fn phased_timer(period: Duration, phase: f32) -> Interval {
    let mut timer = interval_at(Instant::now() + period.mul_f32(phase), period);
    timer.set_missed_tick_behavior(MissedTickBehavior::Skip);
    timer
}

/// Runs bot `index` from `start` to the deadline over `endpoint`.
pub async fn run(shared: Arc<Shared>, index: u32, endpoint: quinn::Endpoint, start: Instant) {
    tokio::time::sleep_until(start).await;
    if Instant::now() >= shared.deadline {
        return;
    }
    let stats = Arc::clone(&shared.stats);
    let player = shared.player(index);
    let expires = unix_now_s()
        .saturating_add(
            shared
                .deadline
                .saturating_duration_since(Instant::now())
                .as_secs(),
        )
        .saturating_add(TOKEN_SLACK.as_secs());
    let token = shared.tokens.issue(Claims {
        player,
        expires_unix_s: expires,
    });
    let mut options = ConnectOptions::new(shared.server, ServerTrust::Fingerprint(shared.fingerprint), token);
    options.endpoint = Some(endpoint);
    options.welcome_timeout = CONNECT_TIMEOUT;
    let client = match Client::connect(options).await {
        Ok(client) => client,
        Err(error) => {
            Stats::bump(&stats.connect_failures);
            stats.error(format!("connect: {}", crate::stats::error_kind(&error)));
            return;
        }
    };
    Stats::bump(&stats.connected);
    Stats::bump(&stats.live);
    stats.set_tick_rate(client.welcome().tick_rate_hz);
    let seed = shared.seed ^ u64::from(index).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut bot = Bot {
        shared: Arc::clone(&shared),
        client,
        index,
        rng: ChaCha8Rng::seed_from_u64(seed),
        input_seq: 0,
    };
    match shared.plan.roles[index as usize] {
        Role::Roaming => roaming::play(&mut bot).await,
        Role::Fighting { group, seat } => fighting::play(&mut bot, group, seat).await,
        Role::Trading => trading::play(&mut bot).await,
        Role::Transferring => transferring::play(&mut bot).await,
    }
    bot.client.close();
    stats.live.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
}

impl Bot {
    /// The run's deadline.
    fn deadline(&self) -> Instant {
        self.shared.deadline
    }

    /// The stats.
    fn stats(&self) -> &Stats {
        &self.shared.stats
    }

    /// Sends `body`, waits for its reply and records the round trip under `op`.
    async fn call(&self, op: Op, body: RequestC2s) -> Outcome {
        match self.send(op, body) {
            Some(request) => request.settle().await,
            None => Outcome::Failed,
        }
    }

    /// Sends `body` as a request measured under `op`; `None` when the connection is gone.
    fn send(&self, op: Op, body: RequestC2s) -> Option<Request> {
        let sent = Instant::now();
        match self.client.send(body) {
            Ok(reply) => Some(Request {
                reply,
                in_flight: InFlight::new(Arc::clone(&self.shared.stats), op, sent),
            }),
            Err(error) => {
                self.failed(&error);
                None
            }
        }
    }

    /// Counts `error` of a send (request or input) that found the connection gone, unless the
    /// run is over.
    fn failed(&self, error: &ClientError) {
        if Instant::now() < self.deadline() {
            self.stats().client_error(error);
        }
    }

    /// Sends a movement input towards (`x`, `y`) (any length; the server normalises it). Returns
    /// false when the connection is gone.
    fn send_input(&mut self, x: f32, y: f32) -> bool {
        self.input_seq += 1;
        // The client's tick follows the server's clock (its rate changes included), so the
        // server's time-compression check sees a steady lead.
        let client_tick = self.client.server_tick() as u32;
        let input = InputC2s {
            seq: self.input_seq,
            client_tick,
            move_x: x,
            move_y: y,
            aim_x: x,
            aim_y: y,
            buttons: 0,
            predicted: None,
            // The client fills in the newest snapshot it holds.
            ack: 0,
        };
        match self.client.send_input(input) {
            Ok(()) => {
                Stats::bump(&self.stats().inputs);
                true
            }
            Err(error) => {
                self.failed(&error);
                false
            }
        }
    }

    /// Takes the next snapshot's count; returns the entity positions, or `None` when the
    /// connection has ended.
    fn count_snapshot(&self, snapshot: Option<Result<Snapshot, ReceiveError>>) -> Option<Option<Snapshot>> {
        match snapshot? {
            Ok(snapshot) => {
                Stats::bump(&self.stats().snapshots);
                Some(Some(snapshot))
            }
            Err(error) => {
                self.stats().snapshot_error(&error);
                Some(None)
            }
        }
    }

    /// A timer that ticks every `period`, first at a random point of its first period. Real
    /// players' requests fall anywhere within the server's tick; a bot's timers would otherwise
    /// all start on the reply that let it in, which leaves the server at the end of a tick, and
    /// every scenario interval is a whole number of 60 Hz ticks, so each request would arrive just
    /// after a tick began and wait a whole one. Missed ticks (while a reply is awaited, or while the
    /// timer's action is not possible) are skipped, keeping the phase: resuming on the moment a
    /// reply arrives would lock the timer to the server's tick again.
    fn timer(&mut self, period: Duration) -> Interval {
        phased_timer(period, self.unit())
    }

    /// A uniform number in [0, 1).
    fn unit(&mut self) -> f32 {
        (self.rng.next_u32() >> 8) as f32 / (1u32 << 24) as f32
    }

    /// A uniform number in [0, n).
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.rng.next_u64() % n }
    }

    /// A fresh idempotency key: the player in the high half, a random low half.
    fn idempotency_key(&mut self) -> u128 {
        (u128::from(self.shared.player(self.index)) << 64) | u128::from(self.rng.next_u64())
    }

    /// Ends at the run's deadline (`None`) or when the connection closes first (`Some(why)`).
    /// A bot's loop pins one for its whole run rather than arming a timer per event.
    fn end(&self) -> impl Future<Output = Option<ClientError>> + 'static {
        let client = self.client.clone();
        let deadline = self.deadline();
        async move {
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => None,
                why = client.closed() => Some(why),
            }
        }
    }

    /// Records why the connection ended, if the server closed it during the run.
    fn note_end(&self, why: Option<ClientError>) {
        if let Some(why) = why
            && Instant::now() < self.deadline()
        {
            self.stats().client_error(&why);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn in_flight(stats: &Arc<Stats>, op: Op) -> InFlight {
        InFlight::new(Arc::clone(stats), op, Instant::now())
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_is_counted_once_however_it_ends() {
        let stats = Arc::new(Stats::new(Instant::now()));
        let refusal = ReplyS2c {
            request_id: 1,
            tick: 0,
            body: ReplyBodyS2c::Refused { code: 222 },
        };
        let request = in_flight(&stats, Op::Act);
        tokio::time::advance(7 * MS).await;
        assert!(matches!(request.settle(Some(Ok(refusal))), Outcome::Refused));
        assert!(matches!(
            in_flight(&stats, Op::Transfer).settle(None),
            Outcome::TimedOut
        ));
        drop(in_flight(&stats, Op::Transfer));

        let ops = stats.ops();
        let (_, act, refused) = &ops[Op::Act as usize];
        assert_eq!((act.len(), *refused), (1, 1));
        assert!(
            act.equivalent(act.max(), 7000),
            "the round trip, 7 ms: {}",
            act.max()
        );
        let errors = stats.errors();
        assert_eq!(errors.get("timeout transfer"), Some(&1));
        assert_eq!(errors.get("unanswered transfer"), Some(&1));
        assert_eq!(stats.error_count(), 2, "{errors:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn requests_of_an_aborted_bot_count_as_unanswered_once_it_has_stopped() {
        let stats = Arc::new(Stats::new(Instant::now()));
        let mut bots = tokio::task::JoinSet::new();
        for _ in 0..3 {
            let request = in_flight(&stats, Op::Transfer);
            bots.spawn(async move {
                let _waiting = request;
                std::future::pending::<()>().await;
            });
        }
        tokio::task::yield_now().await;
        bots.shutdown().await;
        assert_eq!(stats.errors().get("unanswered transfer"), Some(&3));
    }

    #[tokio::test(start_paused = true)]
    async fn a_timer_starts_at_its_phase_and_keeps_it_after_missed_ticks() {
        let start = Instant::now();
        let mut timer = phased_timer(100 * MS, 0.25);
        assert_eq!(timer.tick().await - start, 25 * MS);
        // Busy (awaiting a reply, say) until 255 ms: the ticks due at 125 and 225 ms are missed.
        tokio::time::advance(230 * MS).await;
        assert_eq!(timer.tick().await - start, 125 * MS, "one overdue tick, at once");
        assert_eq!(Instant::now() - start, 255 * MS);
        assert_eq!(
            timer.tick().await - start,
            325 * MS,
            "back on the 25-ms phase, not 100 ms after the late tick"
        );
    }
}
