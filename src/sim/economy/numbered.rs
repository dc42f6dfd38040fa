//! [`Numbered`]: values under ids assigned from 1 in creation order and never reused, in id order
//! (trades, auctions).

use std::collections::BTreeMap;

/// Values by id.
#[derive(Debug)]
pub struct Numbered<T> {
    values: BTreeMap<u64, T>,
    last_id: u64,
    /// Ids that may have changed this tick (with repeats), for the store.
    touched: Vec<u64>,
}

impl<T> Default for Numbered<T> {
    fn default() -> Self {
        Numbered {
            values: BTreeMap::new(),
            last_id: 0,
            touched: Vec::new(),
        }
    }
}

impl<T> Numbered<T> {
    /// The value with `id`.
    pub fn get(&self, id: u64) -> Option<&T> {
        self.values.get(&id)
    }

    /// Every value, by id.
    pub fn iter(&self) -> impl Iterator<Item = (&u64, &T)> {
        self.values.iter()
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
        self.values.insert(self.last_id, value);
        self.touched.push(self.last_id);
        self.last_id
    }

    pub(crate) fn get_mut(&mut self, id: u64) -> Option<&mut T> {
        self.touched.push(id);
        self.values.get_mut(&id)
    }

    pub(crate) fn remove(&mut self, id: u64) -> Option<T> {
        self.touched.push(id);
        self.values.remove(&id)
    }

    /// Whether any value satisfies `due` (cheap check before a sweep).
    pub(crate) fn any(&self, due: impl Fn(&T) -> bool) -> bool {
        self.values.values().any(due)
    }

    /// Keeps the values for which `keep` (given the id) returns true; only those removed count
    /// as touched, since `keep` cannot change the others.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(u64, &T) -> bool) {
        let touched = &mut self.touched;
        self.values.retain(|&id, value| {
            let kept = keep(id, value);
            if !kept {
                touched.push(id);
            }
            kept
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sweep_touches_only_what_it_removes() {
        let mut values = Numbered::default();
        let ids: Vec<u64> = (0..1000u32).map(|value| values.insert(value)).collect();
        values.clear_touched();
        values.retain(|_, &value| value != 500);
        assert_eq!(
            values.touched(),
            [ids[500]],
            "one row for the store, not a thousand"
        );
        assert!(values.get(ids[500]).is_none());
        assert_eq!(values.iter().count(), 999);
    }
}
