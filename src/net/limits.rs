//! Limits that protect the server from its clients: token buckets per player and class of
//! request (kept across a reconnect by `players`), the datagram flood detector, and the connection caps (global and per IP address)
//! enforced before a handshake is accepted.

use std::cmp::Reverse;
use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bevy_platform::collections::HashMap;
use tokio::sync::Notify;

use crate::config::{Bucket, RateLimitsConfig};
use crate::protocol::Request;
use crate::sim::Command;
use crate::sync::lock;

/// The wall clock that rate limits run on.
#[expect(
    clippy::disallowed_methods,
    reason = "rate limits run on the wall clock, outside the sim"
)]
pub(crate) fn now() -> Instant {
    Instant::now()
}

/// A token bucket.
#[derive(Debug, Clone, Copy)]
pub struct TokenBucket {
    tokens: f32,
    refilled: Instant,
    rule: Bucket,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rule: Bucket, now: Instant) -> TokenBucket {
        TokenBucket {
            tokens: rule.burst,
            refilled: now,
            rule,
        }
    }

    /// Takes one token if there is one.
    pub fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f32();
        self.tokens = (self.tokens + elapsed * self.rule.per_s).min(self.rule.burst);
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The classes requests are limited by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestClass {
    /// Movement inputs and snapshot acknowledgements.
    Input,
    /// Combat session operations and reads.
    Session,
    /// Combat actions.
    Action,
    /// Economy commands.
    Economy,
    /// Economy reads.
    Read,
    /// Pings and subscriptions.
    Control,
}

impl RequestClass {
    /// The class of `request`.
    pub fn of(request: &Request<'_>) -> RequestClass {
        let command = match request {
            Request::Hello { .. } | Request::Ping { .. } | Request::Subscribe { .. } => {
                return RequestClass::Control;
            }
            Request::Sim(command) => command,
        };
        match command {
            Command::Join | Command::Leave => RequestClass::Control,
            Command::Move(_) | Command::AckSnapshot { .. } => RequestClass::Input,
            Command::CreateSession(_)
            | Command::JoinSession { .. }
            | Command::LeaveSession { .. }
            | Command::EndSession { .. }
            | Command::GetSession { .. }
            | Command::ListSessions(_) => RequestClass::Session,
            Command::Act(_) => RequestClass::Action,
            Command::Economy(_) => RequestClass::Economy,
            Command::EconomyRead(_) => RequestClass::Read,
        }
    }
}

/// One player's buckets, used by its connection.
#[derive(Debug)]
pub struct RateLimiter {
    buckets: [TokenBucket; 6],
    flood_drops_per_s: u32,
    window_start: Instant,
    dropped_in_window: u32,
}

/// What to do with a datagram or a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Within its class's rate.
    Accept,
    /// Over the rate: a datagram is dropped, a request refused.
    Drop,
    /// Far over the rates: the connection is flooding.
    Flood,
}

impl RateLimiter {
    /// Full buckets per `config`.
    pub fn new(config: &RateLimitsConfig, now: Instant) -> RateLimiter {
        RateLimiter {
            buckets: Self::rules(config).map(|rule| TokenBucket::new(rule, now)),
            flood_drops_per_s: config.flood_drops_per_s,
            window_start: now,
            dropped_in_window: 0,
        }
    }

    /// Each class's bucket rule, in [`RequestClass`] order.
    fn rules(config: &RateLimitsConfig) -> [Bucket; 6] {
        [
            config.input,
            config.session,
            config.action,
            config.economy,
            config.read,
            config.control,
        ]
    }

    /// How long emptied buckets take to be full again and the flood count to start afresh: after
    /// that, a limiter is as good as a new one.
    pub fn refill_time(config: &RateLimitsConfig) -> Duration {
        let slowest = Self::rules(config)
            .iter()
            .map(|rule| rule.burst / rule.per_s)
            .fold(0.0f32, f32::max);
        Duration::from_secs(1).saturating_add(Duration::try_from_secs_f32(slowest).unwrap_or(Duration::MAX))
    }

    /// Judges one datagram or request of `class` against its bucket and the flood threshold,
    /// which counts what every bucket turned away: a client that ignores its refusals floods
    /// whichever way it sends.
    pub fn judge(&mut self, class: RequestClass, now: Instant) -> Verdict {
        if self.buckets[class as usize].try_take(now) {
            return Verdict::Accept;
        }
        if now.saturating_duration_since(self.window_start).as_secs() >= 1 {
            self.window_start = now;
            self.dropped_in_window = 0;
        }
        self.dropped_in_window += 1;
        if self.dropped_in_window > self.flood_drops_per_s {
            Verdict::Flood
        } else {
            Verdict::Drop
        }
    }
}

/// Why a connection attempt is refused before its handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CapError {
    /// The server holds its maximum of connections.
    #[error("connection limit reached")]
    Full,
    /// The address holds its maximum of connections.
    #[error("per-address connection limit reached")]
    PerAddress,
}

/// The host an address belongs to, for the per-address cap: an IPv4 address itself (also when
/// written as IPv4-mapped IPv6), an IPv6 address its /64 network, which is what one host or
/// subscriber is commonly given, so that it cannot take a slot per address.
fn host(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        },
    }
}

/// Connection counts, global and per host (IPv4 address or IPv6 /64), and the connections that
/// have not yet presented a valid token. Those hold at most their own cap of places; when it is
/// reached, or every place is taken, a new connection pushes one of them out: the one that has
/// waited longest of the host with the most waiting. So connections without a token cannot keep
/// players out: a host that opens many pushes out its own first, and to push out a player's the
/// connections would have to come from as many hosts as there are places, renewed faster than
/// players say hello.
#[derive(Debug)]
pub struct ConnectionCaps {
    max_total: u32,
    max_per_ip: u32,
    max_unauthenticated: u32,
    counts: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    total: u32,
    per_ip: HashMap<IpAddr, u32>,
    /// Connections not yet authenticated (nor pushed out).
    unauthenticated: u32,
    /// Those connections by host; a host is listed while it has one.
    waiting: HashMap<IpAddr, HostWaiting>,
    /// Connections admitted so far, which numbers them in the order they came.
    arrivals: u64,
}

/// One host's connections not yet authenticated.
#[derive(Debug, Default)]
struct HostWaiting {
    unsettled: u32,
    /// The longest waiting first, always an unsettled one; some behind it may have settled.
    queue: VecDeque<Arc<Waiting>>,
}

/// A connection that has not yet presented a valid token.
#[derive(Debug)]
pub struct Waiting {
    host: IpAddr,
    arrival: u64,
    /// Set once it is authenticated, pushed out or gone: it then no longer counts.
    settled: AtomicBool,
    pushed_out: Notify,
}

impl Waiting {
    /// Resolves once a newer connection has pushed this one out.
    pub async fn pushed_out(&self) {
        self.pushed_out.notified().await;
    }
}

impl Counts {
    /// Stops counting `waiting` as unauthenticated, once.
    fn settle(&mut self, waiting: &Waiting) {
        if waiting.settled.swap(true, Ordering::Relaxed) {
            return;
        }
        self.unauthenticated -= 1;
        let Some(host) = self.waiting.get_mut(&waiting.host) else {
            return;
        };
        host.unsettled -= 1;
        if host.unsettled == 0 {
            self.waiting.remove(&waiting.host);
            return;
        }
        while host
            .queue
            .front()
            .is_some_and(|w| w.settled.load(Ordering::Relaxed))
        {
            host.queue.pop_front();
        }
        // Behind one that waits long, those that settle quickly would pile up: dropped in one
        // pass once they outnumber the waiting.
        if host.queue.len() > 2 * host.unsettled as usize + 8 {
            host.queue.retain(|w| !w.settled.load(Ordering::Relaxed));
        }
    }

    /// Pushes out the connection that has waited longest of the host with the most waiting;
    /// false when none waits.
    fn push_out(&mut self) -> bool {
        let oldest_of_the_most = self
            .waiting
            .values()
            .filter_map(|host| Some((host.unsettled, Reverse(host.queue.front()?.arrival), host)))
            .max_by_key(|&(unsettled, arrival, _)| (unsettled, arrival))
            .and_then(|(.., host)| host.queue.front().cloned());
        let Some(pushed) = oldest_of_the_most else {
            return false;
        };
        self.settle(&pushed);
        pushed.pushed_out.notify_one();
        true
    }
}

impl ConnectionCaps {
    /// Caps of `max_total` connections, `max_per_ip` from one address and `max_unauthenticated`
    /// that have not yet presented a valid token.
    pub fn new(max_total: u32, max_per_ip: u32, max_unauthenticated: u32) -> Arc<ConnectionCaps> {
        Arc::new(ConnectionCaps {
            max_total,
            max_per_ip,
            max_unauthenticated,
            counts: Mutex::default(),
        })
    }

    /// Whether a connection from `ip`'s host is counted now.
    pub fn holds_any(&self, ip: IpAddr) -> bool {
        lock(&self.counts).per_ip.contains_key(&host(ip))
    }

    /// Whether a new connection would push out a waiting one: then it must first have proved
    /// its address, so that packets with forged addresses push out nobody.
    pub fn crowded(&self) -> bool {
        self.is_crowded(&lock(&self.counts))
    }

    fn is_crowded(&self, counts: &Counts) -> bool {
        counts.total >= self.max_total || counts.unauthenticated >= self.max_unauthenticated
    }

    /// Counts a connection from `ip`, not yet authenticated, or refuses it; the slot is freed
    /// when the guard drops. When its cap of unauthenticated connections is reached, or every
    /// place is taken, one is pushed out to make room (see `Counts::push_out`; its place is
    /// freed once its task has closed it); with every place taken by authenticated ones, the
    /// connection is refused.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<CapGuard, CapError> {
        let ip = host(ip);
        let mut counts = lock(&self.counts);
        if counts.per_ip.get(&ip).is_some_and(|&n| n >= self.max_per_ip) {
            return Err(CapError::PerAddress);
        }
        if self.is_crowded(&counts) && !counts.push_out() {
            return Err(CapError::Full);
        }
        *counts.per_ip.entry(ip).or_insert(0) += 1;
        counts.total += 1;
        counts.unauthenticated += 1;
        counts.arrivals += 1;
        let waiting = Arc::new(Waiting {
            host: ip,
            arrival: counts.arrivals,
            settled: AtomicBool::new(false),
            pushed_out: Notify::new(),
        });
        let host = counts.waiting.entry(ip).or_default();
        host.unsettled += 1;
        host.queue.push_back(Arc::clone(&waiting));
        Ok(CapGuard {
            caps: Arc::clone(self),
            ip,
            waiting,
        })
    }
}

/// One counted connection.
#[derive(Debug)]
pub struct CapGuard {
    caps: Arc<ConnectionCaps>,
    ip: IpAddr,
    waiting: Arc<Waiting>,
}

impl CapGuard {
    /// The connection's wait for authentication, to learn whether it was pushed out.
    pub fn waiting(&self) -> Arc<Waiting> {
        Arc::clone(&self.waiting)
    }

    /// The connection presented a valid token: it no longer counts against the cap of those
    /// awaiting authentication, and nothing pushes it out.
    pub fn authenticated(&self) {
        lock(&self.caps.counts).settle(&self.waiting);
    }
}

impl Drop for CapGuard {
    fn drop(&mut self) {
        let mut counts = lock(&self.caps.counts);
        counts.settle(&self.waiting);
        let Counts { total, per_ip, .. } = &mut *counts;
        *total -= 1;
        if let Some(from_ip) = per_ip.get_mut(&self.ip) {
            *from_ip -= 1;
            if *from_ip == 0 {
                per_ip.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
#[expect(
    clippy::disallowed_methods,
    reason = "buckets are judged against a real instant"
)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(
            Bucket {
                per_s: 10.0,
                burst: 3.0,
            },
            start,
        );
        assert_eq!((0..5).filter(|_| bucket.try_take(start)).count(), 3);
        let later = start + Duration::from_millis(250);
        assert_eq!((0..5).filter(|_| bucket.try_take(later)).count(), 2);
    }

    #[test]
    fn a_flood_is_told_from_a_burst() {
        let config = RateLimitsConfig {
            flood_drops_per_s: 5,
            ..RateLimitsConfig::default()
        };
        let now = Instant::now();
        let mut limiter = RateLimiter::new(&config, now);
        let burst = config.input.burst as usize;
        let verdicts: Vec<_> = (0..burst + 3)
            .map(|_| limiter.judge(RequestClass::Input, now))
            .collect();
        assert!(verdicts[..burst].iter().all(|v| *v == Verdict::Accept));
        assert_eq!(verdicts[burst..], [Verdict::Drop; 3]);
        // What the other buckets turn away counts towards the same flood.
        let reads = config.read.burst as usize;
        let verdicts: Vec<_> = (0..reads + 3)
            .map(|_| limiter.judge(RequestClass::Read, now))
            .collect();
        assert!(verdicts[..reads].iter().all(|v| *v == Verdict::Accept));
        assert_eq!(verdicts[reads..], [Verdict::Drop, Verdict::Drop, Verdict::Flood]);
    }

    #[test]
    fn caps_count_per_address_and_free_on_drop() {
        let caps = ConnectionCaps::new(3, 2, 3);
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        assert!(!caps.holds_any(a));
        let first = caps.admit(a).expect("room");
        assert!(caps.holds_any(a) && !caps.holds_any(b));
        let second = caps.admit(a).expect("room");
        assert_eq!(caps.admit(a).err(), Some(CapError::PerAddress));
        let third = caps.admit(b).expect("room");
        for guard in [&first, &second, &third] {
            guard.authenticated();
        }
        assert_eq!(caps.admit(b).err(), Some(CapError::Full));
        drop(first);
        let fourth = caps.admit(a).expect("room");
        drop((second, fourth));
        assert!(
            !caps.holds_any(a),
            "a host's count goes when its last connection does"
        );
    }

    #[tokio::test]
    async fn a_new_connection_pushes_out_the_one_waiting_longest_for_authentication() {
        let caps = ConnectionCaps::new(10, 10, 2);
        let ip: IpAddr = [10, 0, 0, 1].into();
        let first = caps.admit(ip).expect("room");
        let second = caps.admit(ip).expect("room");
        let third = caps.admit(ip).expect("room: the first is pushed out");
        pushed_out(&first).await;
        // Authenticated, the second is no longer pushed out: the third, waiting, is.
        second.authenticated();
        let fourth = caps.admit(ip).expect("room");
        let fifth = caps.admit(ip).expect("room: the third is pushed out");
        pushed_out(&third).await;
        drop((first, third));
        assert_eq!(queued(&caps), 2, "the fourth and fifth wait");
        let sixth = caps.admit(ip).expect("room: the fourth is pushed out");
        sixth.authenticated();
        for _ in 0..100 {
            caps.admit(ip).expect("room").authenticated();
        }
        assert!(
            queued(&caps) <= 10,
            "settled ones are forgotten behind the fifth, which waits"
        );
        let fronts_wait = lock(&caps.counts).waiting.values().all(|host| {
            host.queue
                .front()
                .is_some_and(|w| !w.settled.load(Ordering::Relaxed))
        });
        assert!(fronts_wait, "each host's queue starts with one that waits");
        drop((fourth, fifth));
        assert_eq!(queued(&caps), 0);

        // Every place taken by authenticated connections: refused.
        let caps = ConnectionCaps::new(2, 10, 2);
        let players = [caps.admit(ip).expect("room"), caps.admit(ip).expect("room")];
        players.iter().for_each(CapGuard::authenticated);
        assert_eq!(caps.admit(ip).err(), Some(CapError::Full));
        // With one of them still waiting, a new one takes its place instead.
        let caps = ConnectionCaps::new(2, 10, 2);
        let player = caps.admit(ip).expect("room");
        player.authenticated();
        let waiting = caps.admit(ip).expect("room");
        let _newer = caps.admit(ip).expect("room: the waiting one is pushed out");
        pushed_out(&waiting).await;
    }

    /// Waits, at most a few seconds, for `guard`'s connection to be pushed out.
    async fn pushed_out(guard: &CapGuard) {
        tokio::time::timeout(Duration::from_secs(5), guard.waiting().pushed_out())
            .await
            .expect("pushed out");
    }

    /// Connections waiting for authentication, as the queues hold them.
    fn queued(caps: &ConnectionCaps) -> usize {
        lock(&caps.counts)
            .waiting
            .values()
            .map(|host| host.queue.len())
            .sum()
    }

    #[tokio::test]
    async fn the_host_with_the_most_waiting_gives_way_first() {
        let caps = ConnectionCaps::new(100, 10, 3);
        let host = |n: u8| IpAddr::from([10, 0, 0, n]);
        let a = caps.admit(host(1)).expect("room");
        let b = [
            caps.admit(host(2)).expect("room"),
            caps.admit(host(2)).expect("room"),
        ];
        // A third host's connection pushes out one of the host with two, though A's is older.
        let _c = caps.admit(host(3)).expect("room");
        pushed_out(&b[0]).await;
        // One each now: the one that has waited longest gives way.
        let _d = caps.admit(host(4)).expect("room");
        pushed_out(&a).await;
        assert_eq!(lock(&caps.counts).unauthenticated, 3);
    }

    #[test]
    fn an_ipv6_network_counts_as_one_host() {
        let caps = ConnectionCaps::new(10, 2, 10);
        let host = |last: u16| IpAddr::from([0x2001, 0xdb8, 0, 7, 0, 0, 0, last]);
        let _first = caps.admit(host(1)).expect("room");
        let _second = caps.admit(host(2)).expect("room");
        assert_eq!(caps.admit(host(3)).err(), Some(CapError::PerAddress));
        let next_network = IpAddr::from([0x2001, 0xdb8, 0, 8, 0, 0, 0, 1]);
        assert!(caps.admit(next_network).is_ok());
        // An IPv4 address is the same host however it is written.
        let v4: IpAddr = [192, 0, 2, 1].into();
        let mapped: IpAddr = std::net::Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped().into();
        let _v4 = caps.admit(v4).expect("room");
        let _mapped = caps.admit(mapped).expect("room");
        assert_eq!(caps.admit(v4).err(), Some(CapError::PerAddress));
    }
}
