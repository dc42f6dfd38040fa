//! Which players hold a connection, and the rate-limit buckets of those who left recently. One
//! player has one connection at a time, and a player who reconnects resumes the buckets its last
//! connection left (refilled for the time in between) instead of starting with full ones, so that
//! reconnecting is no way around the rate limits. Buckets are kept until they would have refilled
//! anyway, and at most as many as the server holds connections.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bevy_platform::collections::{HashMap, HashSet};

use super::limits::RateLimiter;
use crate::config::RateLimitsConfig;
use crate::sim::ClientId;
use crate::sync::lock;

/// The players with a live connection and the buckets of those who left.
#[derive(Debug)]
pub(crate) struct Players {
    rate_limits: RateLimitsConfig,
    /// How long after a departure its buckets would be full again.
    keep_for: Duration,
    max_parked: usize,
    seats: Mutex<Seats>,
}

#[derive(Debug, Default)]
struct Seats {
    connected: HashSet<ClientId>,
    /// Each departed player's buckets, with the number of its departure.
    parked: HashMap<ClientId, (u64, RateLimiter)>,
    /// Departures in the order they happened, to forget the oldest first.
    departures: VecDeque<(Instant, ClientId, u64)>,
    next_departure: u64,
}

impl Players {
    /// No player yet; buckets per `rate_limits`, at most `max_parked` of departed players kept.
    pub(crate) fn new(rate_limits: RateLimitsConfig, max_parked: usize) -> Players {
        Players {
            keep_for: RateLimiter::refill_time(&rate_limits),
            rate_limits,
            max_parked,
            seats: Mutex::default(),
        }
    }

    /// Claims `client`'s seat: the buckets its last connection left (or full ones), or `None`
    /// when it is connected already.
    pub(crate) fn claim(&self, client: ClientId, now: Instant) -> Option<RateLimiter> {
        let mut seats = lock(&self.seats);
        if !seats.connected.insert(client) {
            return None;
        }
        let limiter = match seats.parked.remove(&client) {
            Some((_, limiter)) => limiter,
            None => RateLimiter::new(&self.rate_limits, now),
        };
        Some(limiter)
    }

    /// Frees `client`'s seat, keeping `limiter` for its next connection.
    pub(crate) fn release(&self, client: ClientId, limiter: RateLimiter, now: Instant) {
        let mut seats = lock(&self.seats);
        seats.connected.remove(&client);
        let departure = seats.next_departure;
        seats.next_departure += 1;
        seats.parked.insert(client, (departure, limiter));
        seats.departures.push_back((now, client, departure));
        while let Some(&(left_at, oldest, number)) = seats.departures.front() {
            // The player may have come back (and maybe left again) since: then this departure
            // keeps nothing, and only departures that keep buckets count against the cap.
            let keeps = seats.parked.get(&oldest).is_some_and(|&(kept, _)| kept == number);
            let rested = now.saturating_duration_since(left_at) >= self.keep_for;
            if keeps && !rested && seats.parked.len() <= self.max_parked {
                break;
            }
            seats.departures.pop_front();
            if keeps {
                seats.parked.remove(&oldest);
            }
        }
    }

    /// Departed players whose buckets are kept.
    #[cfg(test)]
    fn parked(&self) -> usize {
        lock(&self.seats).parked.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::limits::{RequestClass, Verdict};

    fn players(max_parked: usize) -> Players {
        Players::new(RateLimitsConfig::default(), max_parked)
    }

    fn spend_control(limiter: &mut RateLimiter, now: Instant) -> usize {
        std::iter::from_fn(|| (limiter.judge(RequestClass::Control, now) == Verdict::Accept).then_some(()))
            .count()
    }

    #[test]
    fn a_player_has_one_seat_and_resumes_the_buckets_it_left() {
        let players = players(16);
        let now = crate::net::limits::now();
        let mut limiter = players.claim(ClientId(7), now).expect("a free seat");
        assert!(players.claim(ClientId(7), now).is_none(), "connected already");
        let burst = spend_control(&mut limiter, now);
        assert_eq!(burst, 20);
        players.release(ClientId(7), limiter, now);
        let mut again = players.claim(ClientId(7), now).expect("free again");
        assert_eq!(spend_control(&mut again, now), 0, "the bucket is still empty");
        let later = now + Duration::from_millis(500);
        assert_eq!(spend_control(&mut again, later), 5, "refilled at 10 a second");
    }

    #[test]
    fn buckets_are_forgotten_once_full_again_or_beyond_the_cap() {
        let players = players(2);
        let now = crate::net::limits::now();
        for client in 1..=3 {
            let limiter = players.claim(ClientId(client), now).expect("a seat");
            players.release(ClientId(client), limiter, now);
        }
        assert_eq!(players.parked(), 2, "the oldest beyond the cap is forgotten");
        let rested = now + RateLimiter::refill_time(&RateLimitsConfig::default());
        let limiter = players.claim(ClientId(4), rested).expect("a seat");
        players.release(ClientId(4), limiter, rested);
        assert_eq!(
            players.parked(),
            1,
            "only the newest departure's buckets are not full yet"
        );
    }

    #[test]
    fn a_player_coming_and_going_forgets_nobody_elses_buckets() {
        let players = players(2);
        let now = crate::net::limits::now();
        let mut spent = players.claim(ClientId(1), now).expect("a seat");
        spend_control(&mut spent, now);
        players.release(ClientId(1), spent, now);
        for _ in 0..10 {
            let limiter = players.claim(ClientId(2), now).expect("a seat");
            players.release(ClientId(2), limiter, now);
        }
        assert_eq!(players.parked(), 2);
        let mut resumed = players.claim(ClientId(1), now).expect("back");
        assert_eq!(spend_control(&mut resumed, now), 0, "1's spent buckets were kept");
    }

    #[test]
    fn a_player_back_and_gone_again_keeps_its_latest_buckets() {
        let players = players(1);
        let now = crate::net::limits::now();
        let mut limiter = players.claim(ClientId(1), now).expect("a seat");
        players.release(
            ClientId(1),
            RateLimiter::new(&RateLimitsConfig::default(), now),
            now,
        );
        // Back with the full buckets it left, and gone again with spent ones.
        players.claim(ClientId(1), now).expect("back");
        spend_control(&mut limiter, now);
        players.release(ClientId(1), limiter, now);
        assert_eq!(
            players.parked(),
            1,
            "the earlier departure does not forget the later one"
        );
        let mut resumed = players.claim(ClientId(1), now).expect("back again");
        assert_eq!(spend_control(&mut resumed, now), 0);
    }
}
