//! Idempotency of mutating economy commands. This module owns the memory of
//! which (player, client-chosen [`IdempotencyKey`]) pairs have already been
//! executed, with a fingerprint of the command payload and the first result,
//! so a retried command returns the original result instead of executing
//! twice, and a key reused for a different command is detected as a
//! conflict. Records are forgotten after a caller-chosen window of ticks
//! (the window must exceed the clients' retry horizon). It also provides a
//! stable FNV-1a 64-bit [`fingerprint`] that is identical on every machine
//! and Rust version. Everything is deterministic (ordered maps only).

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

#[derive(Debug, Clone)]
struct Record<R> {
    fingerprint: u64,
    result: R,
    tick: u64,
}

/// Remembers, per (player, key), the payload fingerprint, the first result
/// and the tick it was recorded at.
///
/// Memory is proportional to the number of commands recorded within the
/// expiry window; callers should rate-limit commands per player. The records
/// sit in a hash map with a fixed hasher that is only looked up, never
/// iterated, so nothing depends on its order; it keeps its capacity, so a
/// steady stream of keys does not allocate.
#[derive(Debug, Clone)]
pub struct IdempotencyStore<R> {
    records: HashMap<(PlayerId, IdempotencyKey), Record<R>>,
    /// Recording order; ticks are non-decreasing front to back.
    fifo: VecDeque<(u64, PlayerId, IdempotencyKey)>,
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
            records: HashMap::default(),
            fifo: VecDeque::new(),
        }
    }

    /// Classifies a command before executing it: [`Lookup::New`],
    /// [`Lookup::Replay`] with the first result, or [`Lookup::Conflict`].
    pub fn check(&self, player: PlayerId, key: IdempotencyKey, fingerprint: u64) -> Lookup<R> {
        match self.records.get(&(player, key)) {
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
        if let Some(&(last, _, _)) = self.fifo.back()
            && tick < last
        {
            return Err(IdempotencyError::TickRegressed { tick, last });
        }
        if self.records.contains_key(&(player, key)) {
            return Err(IdempotencyError::AlreadyRecorded { player, key });
        }
        self.records.insert(
            (player, key),
            Record {
                fingerprint,
                result,
                tick,
            },
        );
        self.fifo.push_back((tick, player, key));
        Ok(())
    }

    /// Forgets every record made more than `window_ticks` before `now`
    /// (i.e. `now - recorded_tick > window_ticks`); a record exactly
    /// `window_ticks` old is kept. O(1) when nothing expires. Returns the
    /// number of records forgotten.
    pub fn expire(&mut self, now: u64, window_ticks: u64) -> usize {
        let mut removed = 0;
        while let Some(&(tick, player, key)) = self.fifo.front() {
            if now.saturating_sub(tick) <= window_ticks {
                break;
            }
            self.fifo.pop_front();
            self.records.remove(&(player, key));
            removed += 1;
        }
        removed
    }

    /// Tick at which (player, key) was recorded, if its record is live.
    pub fn recorded_at(&self, player: PlayerId, key: IdempotencyKey) -> Option<u64> {
        self.records.get(&(player, key)).map(|r| r.tick)
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
