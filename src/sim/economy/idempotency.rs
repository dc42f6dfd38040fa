//! Idempotency of mutating economy commands. This module owns the memory of
//! which (player, client-chosen [`IdempotencyKey`]) pairs have already been
//! executed, with a fingerprint of the command payload and the first result,
//! so a retried command returns the original result instead of executing
//! twice, and a key reused for a different command is detected as a
//! conflict. Records are forgotten after a caller-chosen window of ticks
//! (the window must exceed the clients' retry horizon). It also provides a
//! stable FNV-1a 64-bit [`fingerprint`] that is identical on every machine
//! and Rust version. Everything is deterministic: the records are kept in
//! recording order, and the hash index over them is only looked up.

use std::collections::VecDeque;
use std::hash::BuildHasher;

use bevy_platform::collections::HashTable;
use bevy_platform::hash::FixedHasher;

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

#[derive(Debug, Clone)]
struct Record<R> {
    player: PlayerId,
    /// The key's low and high halves: a `u128` field would align the record
    /// to 16 bytes and pad every one of them.
    key: [u64; 2],
    fingerprint: u64,
    tick: u64,
    result: R,
}

impl<R> Record<R> {
    fn is(&self, player: PlayerId, key: IdempotencyKey) -> bool {
        self.player == player && self.key == halves(key)
    }

    fn hash(&self) -> u64 {
        hash_of(self.player, self.key)
    }
}

fn halves(key: IdempotencyKey) -> [u64; 2] {
    [key.0 as u64, (key.0 >> 64) as u64]
}

/// The index's hash of a record's identity; lookups and rehashes must agree on it.
fn hash_of(player: PlayerId, key: [u64; 2]) -> u64 {
    FixedHasher.hash_one((player, key))
}

/// Remembers, per (player, key), the payload fingerprint, the first result
/// and the tick it was recorded at.
///
/// Memory is proportional to the number of commands recorded within the
/// expiry window; callers should rate-limit commands per player. The records
/// sit once, in recording order, in a queue that expiry pops from the front;
/// a hash table of record numbers finds them by (player, key). Both keep their
/// capacity, so a steady stream of keys does not allocate.
#[derive(Debug, Clone)]
pub struct IdempotencyStore<R> {
    /// Live records; ticks are non-decreasing front to back. Record number
    /// `n` (counted from the store's first) sits at `n - first`.
    records: VecDeque<Record<R>>,
    /// The number of the front record.
    first: u64,
    /// The number of every live record, hashed by its (player, key).
    index: HashTable<u64>,
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
            records: VecDeque::new(),
            first: 0,
            index: HashTable::new(),
        }
    }

    /// The live record of (player, key).
    fn find(&self, player: PlayerId, key: IdempotencyKey) -> Option<&Record<R>> {
        let at = |n: u64| &self.records[(n - self.first) as usize];
        let found = self
            .index
            .find(hash_of(player, halves(key)), |&n| at(n).is(player, key))?;
        Some(at(*found))
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
    /// recorded twice.
    pub fn record(
        &mut self,
        player: PlayerId,
        key: IdempotencyKey,
        fingerprint: u64,
        result: R,
        tick: u64,
    ) -> Result<(), IdempotencyError> {
        if let Some(last) = self.records.back().map(|r| r.tick)
            && tick < last
        {
            return Err(IdempotencyError::TickRegressed { tick, last });
        }
        if self.find(player, key).is_some() {
            return Err(IdempotencyError::AlreadyRecorded { player, key });
        }
        let number = self.first + self.records.len() as u64;
        self.records.push_back(Record {
            player,
            key: halves(key),
            fingerprint,
            tick,
            result,
        });
        let (records, first) = (&self.records, self.first);
        self.index
            .insert_unique(hash_of(player, halves(key)), number, |&n| {
                records[(n - first) as usize].hash()
            });
        Ok(())
    }

    /// Forgets every record made more than `window_ticks` before `now`
    /// (i.e. `now - recorded_tick > window_ticks`); a record exactly
    /// `window_ticks` old is kept. O(1) when nothing expires. Returns the
    /// number of records forgotten.
    pub fn expire(&mut self, now: u64, window_ticks: u64) -> usize {
        let mut removed = 0;
        while let Some(front) = self.records.front() {
            if now.saturating_sub(front.tick) <= window_ticks {
                break;
            }
            let number = self.first;
            if let Ok(entry) = self.index.find_entry(front.hash(), |&n| n == number) {
                entry.remove();
            }
            self.records.pop_front();
            self.first += 1;
            removed += 1;
        }
        removed
    }

    /// Tick at which (player, key) was recorded, if its record is live.
    pub fn recorded_at(&self, player: PlayerId, key: IdempotencyKey) -> Option<u64> {
        self.find(player, key).map(|r| r.tick)
    }

    /// Number of live records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether no record is live.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
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
    fn a_record_of_the_economy_fits_64_bytes() {
        // Kept for the whole expiry window (a day by default), one per mutating command.
        assert_eq!(size_of::<Record<super::super::Receipt>>(), 64);
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
