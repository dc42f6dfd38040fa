//! Inventories: per player, how many units of each stackable item it holds, has escrowed in sell
//! orders and has coming from buy orders, and which unique items (each with its own id) it owns.
//! Slots are counted over all three, so a fill or a cancelled order never needs a slot that was not
//! already counted when the order was placed.

use std::collections::BTreeMap;

use super::ledger::PlayerId;

/// Units of one stackable item in one inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Holding {
    /// In the inventory, free to use or sell.
    pub held: u32,
    /// Escrowed by the owner's open sell orders.
    pub escrowed: u32,
    /// Still to arrive from the owner's open buy orders.
    pub incoming: u32,
}

impl Holding {
    fn units(&self) -> u64 {
        u64::from(self.held) + u64::from(self.escrowed) + u64::from(self.incoming)
    }
}

/// One player's inventory.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct Inventory {
    /// Stackable items by item index.
    pub stacks: BTreeMap<u16, Holding>,
    /// Unique items: (unique id, item index).
    pub uniques: Vec<(u64, u16)>,
    /// Unique items escrowed by the owner's trade proposals (still its own, still in its slots).
    pub escrowed_uniques: Vec<(u64, u16)>,
}

impl Inventory {
    /// Slots in use, given each item's `max_stack` by index.
    pub fn slots(&self, max_stack: &[u32]) -> u64 {
        let stacks: u64 = self
            .stacks
            .iter()
            .map(|(&item, holding)| {
                let per_slot = u64::from(max_stack.get(usize::from(item)).copied().unwrap_or(1).max(1));
                holding.units().div_ceil(per_slot)
            })
            .sum();
        stacks + self.uniques.len() as u64 + self.escrowed_uniques.len() as u64
    }

    /// Slots in use if `extra` more units of `item` were counted.
    pub fn slots_with(&self, item: u16, extra: u32, max_stack: &[u32]) -> u64 {
        let mut probe = self.stacks.get(&item).copied().unwrap_or_default();
        probe.incoming = probe.incoming.saturating_add(extra);
        let per_slot = u64::from(max_stack.get(usize::from(item)).copied().unwrap_or(1).max(1));
        let before = self.stacks.get(&item).map_or(0, |h| h.units().div_ceil(per_slot));
        self.slots(max_stack) - before + probe.units().div_ceil(per_slot)
    }

    /// The holding of `item`, created empty if absent.
    pub(crate) fn holding_mut(&mut self, item: u16) -> &mut Holding {
        self.stacks.entry(item).or_default()
    }

    /// Units of `item` free to use.
    pub fn held(&self, item: u16) -> u32 {
        self.stacks.get(&item).map_or(0, |h| h.held)
    }

    /// Moves unique item `id` from `from` to `to` (lists of this or another inventory); false when
    /// `from` does not hold it.
    pub(crate) fn move_unique(from: &mut Vec<(u64, u16)>, to: &mut Vec<(u64, u16)>, id: u64) -> bool {
        let Some(at) = from.iter().position(|&(unique, _)| unique == id) else {
            return false;
        };
        to.push(from.swap_remove(at));
        true
    }

    /// Drops holdings that are all zero, so an inventory's state does not depend on its history.
    pub(crate) fn tidy(&mut self, item: u16) {
        if self.stacks.get(&item).is_some_and(|h| h.units() == 0) {
            self.stacks.remove(&item);
        }
    }
}

/// Every player's inventory, and the owner of every unique item.
#[derive(Debug, Default)]
pub struct Inventories {
    players: BTreeMap<PlayerId, Inventory>,
    next_unique: u64,
    /// Players whose inventory may have changed this tick (with repeats), for the store.
    pub(super) touched: Vec<PlayerId>,
}

impl Inventories {
    /// The inventory of `player` (empty if it has none).
    pub fn of(&self, player: PlayerId) -> Option<&Inventory> {
        self.players.get(&player)
    }

    /// The inventory of `player`, created empty if absent.
    pub(crate) fn of_mut(&mut self, player: PlayerId) -> &mut Inventory {
        self.touched.push(player);
        self.players.entry(player).or_default()
    }

    /// Players whose inventory may have changed this tick, with repeats.
    pub fn touched(&self) -> &[PlayerId] {
        &self.touched
    }

    /// Gives `player` a new unique item of kind `item`; returns its id.
    pub(crate) fn grant_unique(&mut self, player: PlayerId, item: u16) -> u64 {
        self.next_unique += 1;
        let id = self.next_unique;
        self.of_mut(player).uniques.push((id, item));
        id
    }

    /// Every inventory by player.
    pub fn iter(&self) -> impl Iterator<Item = (&PlayerId, &Inventory)> {
        self.players.iter()
    }
}
