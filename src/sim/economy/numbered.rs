//! [`Numbered`]: values under ids assigned from 1 in creation order and never reused, in id order
//! (trades, auctions), indexed by owner (how many each player has open) and by the tick each one
//! ends (so a tick finds what is due without looking at the rest).

use std::collections::{BTreeMap, BTreeSet};

use super::ledger::PlayerId;
use super::owner_counts::OwnerCounts;

/// What [`Numbered`] indexes a value by.
pub trait Listing {
    /// The player whose open value it counts as.
    fn owner(&self) -> PlayerId;
    /// The tick it ends, once that tick has come.
    fn ends_at(&self) -> u64;
    /// Moves the tick it ends.
    fn set_ends_at(&mut self, tick: u64);
}

/// Values by id.
#[derive(Debug)]
pub struct Numbered<T> {
    values: BTreeMap<u64, T>,
    last_id: u64,
    /// Ids that may have changed this tick (with repeats), for the store.
    touched: Vec<u64>,
    per_owner: OwnerCounts,
    /// `(ends_at, id)` of every value.
    by_end: BTreeSet<(u64, u64)>,
    /// The ids ending this tick, sorted; kept for its buffer.
    due: Vec<u64>,
}

impl<T> Default for Numbered<T> {
    fn default() -> Self {
        Numbered {
            values: BTreeMap::new(),
            last_id: 0,
            touched: Vec::new(),
            per_owner: OwnerCounts::default(),
            by_end: BTreeSet::new(),
            due: Vec::new(),
        }
    }
}

impl<T: Listing> Numbered<T> {
    /// The value with `id`.
    pub fn get(&self, id: u64) -> Option<&T> {
        self.values.get(&id)
    }

    /// Every value, by id.
    pub fn iter(&self) -> impl Iterator<Item = (&u64, &T)> {
        self.values.iter()
    }

    /// How many values `owner` has.
    pub fn owned_by(&self, owner: PlayerId) -> u32 {
        self.per_owner.of(owner)
    }

    /// Ids that may have changed this tick, with repeats.
    pub fn touched(&self) -> &[u64] {
        &self.touched
    }

    pub(crate) fn clear_touched(&mut self) {
        self.touched.clear();
    }

    /// Stores `value` under a fresh id and returns the id.
    pub(crate) fn insert(&mut self, value: T) -> u64 {
        self.last_id += 1;
        self.index(self.last_id, &value);
        self.values.insert(self.last_id, value);
        self.touched.push(self.last_id);
        self.last_id
    }

    /// Puts `value` in the place of the value with `id`, if there is one.
    pub(crate) fn replace(&mut self, id: u64, value: T) {
        if let Some(old) = self.values.remove(&id) {
            self.unindex(id, &old);
            self.index(id, &value);
            self.values.insert(id, value);
            self.touched.push(id);
        }
    }

    pub(crate) fn remove(&mut self, id: u64) -> Option<T> {
        self.touched.push(id);
        let value = self.values.remove(&id)?;
        self.unindex(id, &value);
        Some(value)
    }

    /// Whether any value ends at or before `tick`.
    pub(crate) fn any_due(&self, tick: u64) -> bool {
        self.by_end.first().is_some_and(|&(end, _)| end <= tick)
    }

    /// Removes every value that ends at or before `tick`, handing each to `each` in id order.
    pub(crate) fn remove_due(&mut self, tick: u64, mut each: impl FnMut(u64, T)) {
        let mut due = std::mem::take(&mut self.due);
        while let Some(&(end, id)) = self.by_end.first()
            && end <= tick
        {
            self.by_end.pop_first();
            due.push(id);
        }
        due.sort_unstable();
        for id in due.drain(..) {
            if let Some(value) = self.values.remove(&id) {
                self.per_owner.remove(value.owner());
                self.touched.push(id);
                each(id, value);
            }
        }
        self.due = due;
    }

    /// Moves the end of every value to `deadline(end)`.
    pub(crate) fn reschedule(&mut self, deadline: impl Fn(u64) -> u64) {
        self.by_end.clear();
        for (&id, value) in &mut self.values {
            let end = deadline(value.ends_at());
            if end != value.ends_at() {
                value.set_ends_at(end);
                self.touched.push(id);
            }
            self.by_end.insert((end, id));
        }
    }

    fn index(&mut self, id: u64, value: &T) {
        self.per_owner.add(value.owner());
        self.by_end.insert((value.ends_at(), id));
    }

    fn unindex(&mut self, id: u64, value: &T) {
        self.per_owner.remove(value.owner());
        self.by_end.remove(&(value.ends_at(), id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq)]
    struct Offer {
        by: u64,
        until: u64,
    }

    impl Listing for Offer {
        fn owner(&self) -> PlayerId {
            PlayerId(self.by)
        }
        fn ends_at(&self) -> u64 {
            self.until
        }
        fn set_ends_at(&mut self, tick: u64) {
            self.until = tick;
        }
    }

    #[test]
    fn a_sweep_touches_only_what_it_removes_and_hands_it_over_in_id_order() {
        let mut values = Numbered::default();
        let ids: Vec<u64> = (0..1000u64)
            .map(|n| {
                values.insert(Offer {
                    by: n % 7,
                    until: if n % 250 == 3 { 1_000 - n } else { 5_000 },
                })
            })
            .collect();
        values.clear_touched();
        assert!(!values.any_due(0));
        assert!(values.any_due(1_000));
        let mut handed = Vec::new();
        values.remove_due(1_000, |id, _| handed.push(id));
        let due = [ids[3], ids[253], ids[503], ids[753]];
        assert_eq!(handed, due, "in id order, though they end in the opposite order");
        assert_eq!(values.touched(), due, "four rows for the store, not a thousand");
        assert_eq!(values.iter().count(), 996);
        assert!(!values.any_due(4_999));
    }

    #[test]
    fn owner_counts_follow_inserts_replacements_removals_and_expiry() {
        let mut values = Numbered::default();
        let first = values.insert(Offer { by: 1, until: 10 });
        let second = values.insert(Offer { by: 1, until: 20 });
        assert_eq!(values.owned_by(PlayerId(1)), 2);
        values.replace(second, Offer { by: 2, until: 20 });
        assert_eq!(
            (values.owned_by(PlayerId(1)), values.owned_by(PlayerId(2))),
            (1, 1)
        );
        values.remove_due(10, |_, _| {});
        assert_eq!(values.owned_by(PlayerId(1)), 0);
        assert!(values.get(first).is_none());
        assert_eq!(values.remove(second), Some(Offer { by: 2, until: 20 }));
        assert_eq!(values.owned_by(PlayerId(2)), 0);
        assert!(!values.any_due(u64::MAX), "the end index forgets what is removed");
        values.replace(second, Offer { by: 3, until: 1 });
        assert_eq!(values.owned_by(PlayerId(3)), 0, "replacing nothing adds nothing");
    }
}
