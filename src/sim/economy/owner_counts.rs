//! [`OwnerCounts`]: how many open orders, trades or auctions each player has, for the per-player
//! limits of `economy/players.toml`.

use bevy_platform::collections::HashMap;

use super::ledger::PlayerId;

/// A count per player; players with none take no room.
#[derive(Debug, Default)]
pub struct OwnerCounts(HashMap<PlayerId, u32>);

impl OwnerCounts {
    /// How many `owner` has.
    pub fn of(&self, owner: PlayerId) -> u32 {
        self.0.get(&owner).copied().unwrap_or(0)
    }

    /// Counts one more for `owner`.
    pub(crate) fn add(&mut self, owner: PlayerId) {
        *self.0.entry(owner).or_insert(0) += 1;
    }

    /// Counts one fewer for `owner`.
    pub(crate) fn remove(&mut self, owner: PlayerId) {
        if let Some(count) = self.0.get_mut(&owner) {
            *count -= 1;
            if *count == 0 {
                self.0.remove(&owner);
            }
        }
    }
}
