//! Idempotency of mutating economy commands. This module owns the memory of
//! which (player, client-chosen [`IdempotencyKey`]) pairs have already been
//! executed, with a fingerprint of the command payload and the first result,
//! so a retried command returns the original result instead of executing
//! twice, and a key reused for a different command is detected as a
//! conflict. Records are forgotten after a caller-chosen window of ticks
//! (the window must exceed the clients' retry horizon), or once their player
//! has sent [`KEYS_PER_PLAYER`] newer commands. It also provides a stable
//! FNV-1a 64-bit [`fingerprint`] that is identical on every machine and Rust
//! version. Everything is deterministic: each player's records are kept in
//! recording order, and expiry visits the players in an order fixed by the
//! commands alone.

use std::collections::VecDeque;

use bevy_platform::collections::HashMap;

use super::ledger::PlayerId;

/// Client-chosen idempotency key of one command. Keys are scoped per
/// player: the identity of a command is `(PlayerId, IdempotencyKey)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IdempotencyKey(pub u128);

/// Outcome of [`IdempotencyStore::check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup<R> {
    /// The key is unknown (or expired): execute the command, then `record`.
    New,
    /// Same key, same fingerprint: a retry. Return this first result
    /// without executing again.
    Replay(R),
    /// Same key, different fingerprint: the client reused a key for a
    /// different command. Refuse it with an error.
    Conflict,
}

/// Why [`IdempotencyStore::record`] refused to store a result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdempotencyError {
    /// The (player, key) pair already has a live record; `check` first.
    #[error("idempotency key {key:?} of {player} is already recorded")]
    AlreadyRecorded {
        /// Player who sent the command.
        player: PlayerId,
        /// The duplicated key.
        key: IdempotencyKey,
    },
    /// Records must be made in non-decreasing tick order.
    #[error("record tick {tick} is earlier than the last recorded tick {last}")]
    TickRegressed {
        /// Tick passed to `record`.
        tick: u64,
        /// Latest tick recorded so far.
        last: u64,
    },
}

/// How many keys of one player are remembered at most: a player's command older than its last
/// `KEYS_PER_PLAYER` is forgotten even within the window. This bounds the memory one player can
/// claim (about 14 KiB) whatever its rate and the window. It is part of what a journal means:
/// replay forgets the same keys the live economy forgot.
pub const KEYS_PER_PLAYER: usize = 256;

/// How many players each [`IdempotencyStore::expire`] call looks at for expired keys.
const SWEPT_PER_CALL: usize = 64;

#[derive(Debug, Clone)]
struct Record<R> {
    /// The key's high half (the low half is in [`PlayerKeys::low`]).
    high: u64,
    fingerprint: u64,
    tick: u64,
    result: R,
}

fn halves(key: IdempotencyKey) -> [u64; 2] {
    [key.0 as u64, (key.0 >> 64) as u64]
}

/// One player's remembered keys, oldest first.
#[derive(Debug, Clone)]
struct PlayerKeys<R> {
    player: PlayerId,
    /// Each record's key's low half, apart, so that a lookup scans 8 bytes per key.
    low: VecDeque<u64>,
    records: VecDeque<Record<R>>,
}

impl<R> PlayerKeys<R> {
    /// How many of the oldest records were made more than `window` ticks before `now`.
    fn expired(&self, now: u64, window: u64) -> usize {
        self.records
            .partition_point(|r| now.saturating_sub(r.tick) > window)
    }

    /// Drops the oldest `count` records.
    fn drop_oldest(&mut self, count: usize) {
        self.low.drain(..count);
        self.records.drain(..count);
    }

    /// Drops the expired records; returns how many.
    fn expire(&mut self, now: u64, window: u64) -> usize {
        // Most players swept have nothing expired: their oldest record settles it.
        if self
            .records
            .front()
            .is_some_and(|r| now.saturating_sub(r.tick) <= window)
        {
            return 0;
        }
        let expired = self.expired(now, window);
        self.drop_oldest(expired);
        expired
    }

    /// The position of the live record of `key`, newest first.
    fn position(&self, [low, high]: [u64; 2], now: u64, window: u64) -> Option<usize> {
        let live = self.expired(now, window);
        let (older, newer) = self.low.as_slices();
        fn matches(slice: &[u64], low: u64, offset: usize) -> impl Iterator<Item = usize> + '_ {
            slice
                .iter()
                .enumerate()
                .rev()
                .filter(move |&(_, &k)| k == low)
                .map(move |(at, _)| offset + at)
        }
        matches(newer, low, older.len())
            .chain(matches(older, low, 0))
            .take_while(|&at| at >= live)
            .find(|&at| self.records[at].high == high)
    }
}

/// Remembers, per (player, key), the payload fingerprint, the first result
/// and the tick it was recorded at.
///
/// A record lives for the window given to [`expire`](Self::expire), and for at most
/// [`KEYS_PER_PLAYER`] of its player's commands: memory is bounded by the number of players
/// who sent a command within the window, not by their rate. Each player's records sit in
/// recording order; a lookup scans that player's keys. Expiry looks at a few players per call,
/// in turn, so a player who left is forgotten within one pass over the players after the window;
/// until then its expired records are ignored by every lookup.
#[derive(Debug, Clone)]
pub struct IdempotencyStore<R> {
    players: Vec<PlayerKeys<R>>,
    /// Where each player's keys are in `players`.
    slots: HashMap<PlayerId, usize>,
    /// The next player `expire` looks at.
    sweep: usize,
    /// The tick and window of the last `expire`: a record older than that is gone.
    now: u64,
    window: u64,
    /// Records held, expired ones not yet swept included.
    held: usize,
    /// The tick of the latest record.
    last_tick: Option<u64>,
}

impl<R: Clone> Default for IdempotencyStore<R> {
    fn default() -> Self {
        Self::new()
    }
}

impl<R: Clone> IdempotencyStore<R> {
    /// An empty store.
    pub fn new() -> Self {
        Self {
            players: Vec::new(),
            slots: HashMap::default(),
            sweep: 0,
            now: 0,
            window: u64::MAX,
            held: 0,
            last_tick: None,
        }
    }

    /// The live record of (player, key).
    fn find(&self, player: PlayerId, key: IdempotencyKey) -> Option<&Record<R>> {
        let keys = &self.players[*self.slots.get(&player)?];
        let at = keys.position(halves(key), self.now, self.window)?;
        Some(&keys.records[at])
    }

    /// Classifies a command before executing it: [`Lookup::New`],
    /// [`Lookup::Replay`] with the first result, or [`Lookup::Conflict`].
    pub fn check(&self, player: PlayerId, key: IdempotencyKey, fingerprint: u64) -> Lookup<R> {
        match self.find(player, key) {
            None => Lookup::New,
            Some(r) if r.fingerprint == fingerprint => Lookup::Replay(r.result.clone()),
            Some(_) => Lookup::Conflict,
        }
    }

    /// Records the first result of a command executed at `tick`. Ticks must
    /// be non-decreasing across calls; a live (player, key) cannot be
    /// recorded twice. A player's oldest record makes way for its newest
    /// beyond [`KEYS_PER_PLAYER`].
    pub fn record(
        &mut self,
        player: PlayerId,
        key: IdempotencyKey,
        fingerprint: u64,
        result: R,
        tick: u64,
    ) -> Result<(), IdempotencyError> {
        if let Some(last) = self.last_tick.filter(|&last| tick < last) {
            return Err(IdempotencyError::TickRegressed { tick, last });
        }
        if self.find(player, key).is_some() {
            return Err(IdempotencyError::AlreadyRecorded { player, key });
        }
        self.last_tick = Some(tick);
        let slot = *self.slots.entry(player).or_insert_with(|| {
            self.players.push(PlayerKeys {
                player,
                low: VecDeque::new(),
                records: VecDeque::new(),
            });
            self.players.len() - 1
        });
        let keys = &mut self.players[slot];
        // Expired records go first, so that a forgotten key recorded again is held once.
        self.held -= keys.expire(self.now, self.window);
        if keys.records.len() >= KEYS_PER_PLAYER {
            keys.drop_oldest(1);
            self.held -= 1;
        }
        let [low, high] = halves(key);
        keys.low.push_back(low);
        keys.records.push_back(Record {
            high,
            fingerprint,
            tick,
            result,
        });
        self.held += 1;
        Ok(())
    }

    /// From now on, forgets every record made more than `window_ticks` before `now`
    /// (`now - recorded_tick > window_ticks`; a record exactly `window_ticks` old is kept), and
    /// frees the memory of the expired records of the next few players in turn. Returns the number
    /// of records freed.
    pub fn expire(&mut self, now: u64, window_ticks: u64) -> usize {
        self.now = now;
        self.window = window_ticks;
        let mut freed = 0;
        for _ in 0..SWEPT_PER_CALL.min(self.players.len()) {
            if self.sweep >= self.players.len() {
                self.sweep = 0;
            }
            let keys = &mut self.players[self.sweep];
            freed += keys.expire(now, window_ticks);
            if keys.records.is_empty() {
                let gone = self.players.swap_remove(self.sweep);
                self.slots.remove(&gone.player);
                if let Some(moved) = self.players.get(self.sweep) {
                    self.slots.insert(moved.player, self.sweep);
                }
            } else {
                self.sweep += 1;
            }
        }
        self.held -= freed;
        freed
    }

    /// Moves the tick every record was made at to `since(tick)`, which must keep their order,
    /// and counts the window in `window_ticks` from now on: after a change of tick rate, each key
    /// keeps its age in time, and is judged against the window at the new rate at once (not
    /// only from the next [`expire`](Self::expire)).
    pub fn restamp(&mut self, since: impl Fn(u64) -> u64, window_ticks: u64) {
        for keys in &mut self.players {
            for record in &mut keys.records {
                record.tick = since(record.tick);
            }
        }
        self.last_tick = self.last_tick.map(&since);
        self.window = window_ticks;
    }

    /// Tick at which (player, key) was recorded, if its record is live.
    pub fn recorded_at(&self, player: PlayerId, key: IdempotencyKey) -> Option<u64> {
        self.find(player, key).map(|r| r.tick)
    }

    /// Number of records held: the live ones, and expired ones whose memory is not freed yet.
    pub fn len(&self) -> usize {
        self.held
    }

    /// Whether no record is held.
    pub fn is_empty(&self) -> bool {
        self.held == 0
    }

    /// Players with records held.
    #[cfg(test)]
    fn players(&self) -> usize {
        self.players.len()
    }
}

/// FNV-1a 64-bit offset basis.
pub const FNV1A64_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
/// FNV-1a 64-bit prime.
pub const FNV1A64_PRIME: u64 = 0x0000_0100_0000_01b3;

/// Stable 64-bit fingerprint of `bytes` (FNV-1a 64): the same on every
/// machine, platform and Rust version. Not collision-resistant against an
/// adversary; it only distinguishes a retry from a reused key.
pub fn fingerprint(bytes: &[u8]) -> u64 {
    let mut f = Fingerprinter::new();
    f.write(bytes);
    f.finish()
}

/// Incremental FNV-1a 64 hasher for fingerprinting a command field by
/// field. Integers are fed as fixed-width little-endian bytes; prefix
/// variable-length fields with their length (see
/// [`Fingerprinter::write_len_prefixed`]) so field boundaries are
/// unambiguous.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprinter {
    state: u64,
}

impl Default for Fingerprinter {
    fn default() -> Self {
        Self::new()
    }
}

impl Fingerprinter {
    /// A hasher in the FNV-1a initial state.
    pub const fn new() -> Self {
        Self {
            state: FNV1A64_OFFSET_BASIS,
        }
    }

    /// Feeds raw bytes.
    pub fn write(&mut self, bytes: &[u8]) -> &mut Self {
        for &b in bytes {
            self.state ^= u64::from(b);
            self.state = self.state.wrapping_mul(FNV1A64_PRIME);
        }
        self
    }

    /// Feeds the length (as `u64` little-endian) then the bytes.
    pub fn write_len_prefixed(&mut self, bytes: &[u8]) -> &mut Self {
        // Lossless on every supported target (usize <= 64 bits).
        self.write_u64(u64::try_from(bytes.len()).unwrap_or(u64::MAX))
            .write(bytes)
    }

    /// Feeds a `u8`.
    pub fn write_u8(&mut self, v: u8) -> &mut Self {
        self.write(&[v])
    }

    /// Feeds a `u16`, little-endian.
    pub fn write_u16(&mut self, v: u16) -> &mut Self {
        self.write(&v.to_le_bytes())
    }

    /// Feeds a `u32`, little-endian.
    pub fn write_u32(&mut self, v: u32) -> &mut Self {
        self.write(&v.to_le_bytes())
    }

    /// Feeds a `u64`, little-endian.
    pub fn write_u64(&mut self, v: u64) -> &mut Self {
        self.write(&v.to_le_bytes())
    }

    /// Feeds an `i64`, little-endian two's complement.
    pub fn write_i64(&mut self, v: i64) -> &mut Self {
        self.write(&v.to_le_bytes())
    }

    /// Feeds a `u128`, little-endian.
    pub fn write_u128(&mut self, v: u128) -> &mut Self {
        self.write(&v.to_le_bytes())
    }

    /// The fingerprint of everything fed so far.
    pub const fn finish(&self) -> u64 {
        self.state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P1: PlayerId = PlayerId(1);
    const P2: PlayerId = PlayerId(2);
    const K: IdempotencyKey = IdempotencyKey(0xdead_beef_0000_0001);

    #[test]
    fn new_replay_conflict() {
        let mut s: IdempotencyStore<Result<u64, String>> = IdempotencyStore::new();
        assert!(s.is_empty());
        assert_eq!(s.check(P1, K, 11), Lookup::New);
        assert_eq!(s.record(P1, K, 11, Ok(500), 3), Ok(()));
        assert_eq!(s.len(), 1);
        assert_eq!(s.check(P1, K, 11), Lookup::Replay(Ok(500)));
        assert_eq!(s.check(P1, K, 12), Lookup::Conflict);
        assert_eq!(s.recorded_at(P1, K), Some(3));
        assert_eq!(s.recorded_at(P2, K), None);
        assert_eq!(
            s.record(P1, K, 11, Ok(1), 3),
            Err(IdempotencyError::AlreadyRecorded { player: P1, key: K })
        );
        // Failed outcomes are replayed too.
        let k2 = IdempotencyKey(2);
        assert_eq!(s.record(P1, k2, 9, Err("broke".into()), 4), Ok(()));
        assert_eq!(s.check(P1, k2, 9), Lookup::Replay(Err("broke".into())));
        assert_eq!(
            s.record(P1, IdempotencyKey(3), 9, Ok(0), 2),
            Err(IdempotencyError::TickRegressed { tick: 2, last: 4 })
        );
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn expiry_at_window_boundary() {
        let mut s: IdempotencyStore<u32> = IdempotencyStore::new();
        assert_eq!(s.record(P1, IdempotencyKey(1), 1, 10, 100), Ok(()));
        assert_eq!(s.record(P1, IdempotencyKey(2), 2, 20, 105), Ok(()));
        assert_eq!(s.record(P2, IdempotencyKey(1), 3, 30, 105), Ok(()));
        // Exactly `window` old: kept.
        assert_eq!(s.expire(150, 50), 0);
        assert_eq!(s.check(P1, IdempotencyKey(1), 1), Lookup::Replay(10));
        // One tick more: forgotten, and a retry is new again.
        assert_eq!(s.expire(151, 50), 1);
        assert_eq!(s.check(P1, IdempotencyKey(1), 1), Lookup::New);
        assert_eq!(s.len(), 2);
        assert_eq!(s.expire(155, 50), 0);
        assert_eq!(s.expire(156, 50), 2);
        assert!(s.is_empty());
        // Expired keys may be recorded again; early ticks expire nothing.
        assert_eq!(s.record(P1, IdempotencyKey(1), 1, 11, 156), Ok(()));
        assert_eq!(s.expire(0, 0), 0);
        assert_eq!(s.expire(157, 0), 1);
    }

    #[test]
    fn a_key_of_the_economy_takes_56_bytes() {
        // Kept for the whole expiry window (a day by default), up to KEYS_PER_PLAYER per player.
        assert_eq!(size_of::<u64>() + size_of::<Record<super::super::Receipt>>(), 56);
    }

    #[test]
    fn a_player_keeps_its_last_keys_and_no_more() {
        let mut s: IdempotencyStore<u32> = IdempotencyStore::new();
        assert_eq!(s.record(P2, K, 7, 70, 0), Ok(()));
        for key in 0..KEYS_PER_PLAYER as u128 + 10 {
            assert_eq!(s.record(P1, IdempotencyKey(key), 1, key as u32, 1), Ok(()));
        }
        assert_eq!(s.len(), KEYS_PER_PLAYER + 1);
        assert_eq!(s.check(P1, IdempotencyKey(9), 1), Lookup::New, "made way");
        assert_eq!(s.check(P1, IdempotencyKey(10), 1), Lookup::Replay(10));
        assert_eq!(s.check(P2, K, 7), Lookup::Replay(70), "other players keep theirs");
    }

    #[test]
    fn players_who_stop_sending_are_freed_a_few_per_call() {
        let mut s: IdempotencyStore<u32> = IdempotencyStore::new();
        let players = 3 * SWEPT_PER_CALL as u64 + 5;
        for player in 0..players {
            assert_eq!(s.record(PlayerId(player), K, 1, 1, 10), Ok(()));
        }
        // Out of the window at once, for every lookup, before their memory is freed.
        assert_eq!(s.expire(21, 10), SWEPT_PER_CALL);
        let unswept = PlayerId(1);
        assert_eq!(s.check(unswept, K, 1), Lookup::New);
        assert_eq!(s.len() as u64, players - SWEPT_PER_CALL as u64);
        // An expired key recorded again is held once.
        assert_eq!(s.record(unswept, K, 2, 2, 21), Ok(()));
        assert_eq!(s.check(unswept, K, 2), Lookup::Replay(2));
        assert_eq!(s.len() as u64, players - SWEPT_PER_CALL as u64);
        while s.expire(22, 10) > 0 {}
        assert_eq!((s.len(), s.players()), (1, 1), "only the fresh record is left");
    }

    #[test]
    fn keys_that_share_a_half_are_told_apart() {
        let mut s: IdempotencyStore<u32> = IdempotencyStore::new();
        let (a, b) = (IdempotencyKey(5), IdempotencyKey(5 | 1 << 64));
        assert_eq!(s.record(P1, b, 2, 20, 0), Ok(()));
        assert_eq!(s.record(P1, IdempotencyKey(6), 3, 30, 0), Ok(()));
        assert_eq!(s.check(P1, a, 1), Lookup::New);
        assert_eq!(s.record(P1, a, 1, 10, 0), Ok(()));
        assert_eq!(s.check(P1, a, 1), Lookup::Replay(10));
        assert_eq!(
            s.check(P1, b, 2),
            Lookup::Replay(20),
            "found behind a newer match of its low half"
        );
    }

    #[test]
    fn players_do_not_collide() {
        let mut s: IdempotencyStore<&'static str> = IdempotencyStore::new();
        assert_eq!(s.record(P1, K, 1, "p1", 0), Ok(()));
        assert_eq!(s.check(P2, K, 1), Lookup::New);
        assert_eq!(s.record(P2, K, 2, "p2", 0), Ok(()));
        assert_eq!(s.check(P1, K, 1), Lookup::Replay("p1"));
        assert_eq!(s.check(P2, K, 2), Lookup::Replay("p2"));
        assert_eq!(s.check(P2, K, 1), Lookup::Conflict);
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn fingerprint_is_stable_fnv1a64() {
        // Published FNV-1a 64 test vectors (isthe.com/chongo/tech/comp/fnv).
        assert_eq!(fingerprint(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fingerprint(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fingerprint(b"foobar"), 0x8594_4171_f739_67e8);
        // Incremental hashing equals one-shot hashing.
        let mut f = Fingerprinter::new();
        f.write(b"foo").write(b"bar");
        assert_eq!(f.finish(), fingerprint(b"foobar"));
        // Integers are little-endian.
        let mut g = Fingerprinter::default();
        g.write_u64(0x0102_0304_0506_0708);
        assert_eq!(g.finish(), fingerprint(&[8, 7, 6, 5, 4, 3, 2, 1]));
        // Length prefixes keep field boundaries apart.
        let (mut x, mut y) = (Fingerprinter::new(), Fingerprinter::new());
        x.write_len_prefixed(b"ab").write_len_prefixed(b"c");
        y.write_len_prefixed(b"a").write_len_prefixed(b"bc");
        assert_ne!(x.finish(), y.finish());
    }
}
