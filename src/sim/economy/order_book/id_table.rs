//! The id index of an order book: a small open-addressing hash table from order id to slab slot,
//! with a fixed hash (deterministic on every machine) and no deleted-entry markers, so that it
//! never shrinks and only grows when it would be more than half full.

use super::{NIL, OrderId};

/// One bucket of [`IdTable`]; vacant when `slot == NIL`.
#[derive(Debug, Clone, Copy)]
struct IdBucket {
    id: OrderId,
    slot: usize,
}

const VACANT: IdBucket = IdBucket {
    id: OrderId(0),
    slot: NIL,
};

/// `OrderId -> slab slot` map: open addressing with linear probing,
/// Fibonacci hashing (fixed, so fully deterministic) and backward-shift
/// deletion, so removals leave no tombstones and never shrink the table. The
/// table doubles when it would become more than half full, i.e. only when
/// the number of resting orders exceeds its previous high-water mark. It is
/// used for lookups only; nothing observable depends on its iteration order.
#[derive(Clone, Default)]
pub(super) struct IdTable {
    /// A power of two number of buckets (or none), at most half occupied, so
    /// every probe sequence reaches a vacant bucket.
    buckets: Vec<IdBucket>,
    len: usize,
}

impl IdTable {
    const MIN_BUCKETS: usize = 16;

    /// An empty table (no buckets until the first insert).
    pub(super) const fn new() -> Self {
        IdTable {
            buckets: Vec::new(),
            len: 0,
        }
    }

    /// Buckets allocated.
    #[cfg(test)]
    pub(super) fn capacity(&self) -> usize {
        self.buckets.len()
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(super) fn mask(&self) -> usize {
        self.buckets.len().wrapping_sub(1)
    }

    /// Home bucket of `id`: the top bits of `id * 2^64 / phi`.
    pub(super) fn home(&self, id: OrderId) -> usize {
        let bits = self.buckets.len().trailing_zeros();
        let hash = id.0.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        // `bits <= usize::BITS`, so the result fits in a usize.
        hash.checked_shr(u64::BITS.wrapping_sub(bits)).unwrap_or(0) as usize
    }

    /// Bucket holding `id`, if present.
    pub(super) fn find(&self, id: OrderId) -> Option<usize> {
        if self.len == 0 {
            return None;
        }
        let mask = self.mask();
        let mut i = self.home(id);
        loop {
            let bucket = self.buckets.get(i)?;
            if bucket.slot == NIL {
                return None;
            }
            if bucket.id == id {
                return Some(i);
            }
            i = i.wrapping_add(1) & mask;
        }
    }

    /// Slab slot of `id`, if present.
    pub(super) fn get(&self, id: OrderId) -> Option<usize> {
        let i = self.find(id)?;
        self.buckets.get(i).map(|b| b.slot)
    }

    /// Inserts `id` (which must not be present) mapped to `slot`.
    pub(super) fn insert(&mut self, id: OrderId, slot: usize) {
        if self.len.saturating_add(1).saturating_mul(2) > self.buckets.len() {
            self.grow();
        }
        if self.place(IdBucket { id, slot }) {
            self.len = self.len.saturating_add(1);
        }
    }

    /// Stores `entry` in the first vacant bucket of its probe sequence.
    fn place(&mut self, entry: IdBucket) -> bool {
        let mask = self.mask();
        let mut i = self.home(entry.id);
        while let Some(bucket) = self.buckets.get_mut(i) {
            if bucket.slot == NIL {
                *bucket = entry;
                return true;
            }
            i = i.wrapping_add(1) & mask;
        }
        false
    }

    /// Doubles the bucket array (the only allocation of the table).
    pub(super) fn grow(&mut self) {
        let buckets = self.buckets.len().saturating_mul(2).max(Self::MIN_BUCKETS);
        let old = std::mem::replace(&mut self.buckets, vec![VACANT; buckets]);
        for entry in old {
            if entry.slot != NIL {
                self.place(entry);
            }
        }
    }

    /// Removes `id`; returns its slot if it was present.
    pub(super) fn remove(&mut self, id: OrderId) -> Option<usize> {
        let mut hole = self.find(id)?;
        let removed = self.buckets.get(hole)?.slot;
        let mask = self.mask();
        // Backward shift: pull later entries of the probe run into the hole
        // unless their home lies cyclically in (hole, j].
        let mut j = hole;
        loop {
            j = j.wrapping_add(1) & mask;
            let Some(&entry) = self.buckets.get(j) else {
                break;
            };
            if entry.slot == NIL {
                break;
            }
            let home = self.home(entry.id);
            if j.wrapping_sub(home) & mask >= j.wrapping_sub(hole) & mask {
                if let Some(target) = self.buckets.get_mut(hole) {
                    *target = entry;
                }
                hole = j;
            }
        }
        if let Some(target) = self.buckets.get_mut(hole) {
            *target = VACANT;
        }
        self.len = self.len.saturating_sub(1);
        Some(removed)
    }

    /// Ids present, in bucket order (deterministic, but not meaningful).
    #[cfg(test)]
    pub(super) fn keys(&self) -> impl Iterator<Item = &OrderId> {
        self.buckets.iter().filter(|b| b.slot != NIL).map(|b| &b.id)
    }
}

impl std::fmt::Debug for IdTable {
    /// Only the occupied buckets, as a map (in bucket order).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(
                self.buckets
                    .iter()
                    .filter(|b| b.slot != NIL)
                    .map(|b| (b.id, b.slot)),
            )
            .finish()
    }
}
