//! Player-to-player trades. A trade is always one player's proposal: what the proposer gives and
//! what it wants. The proposer's goods are escrowed while the proposal stands (money reserved,
//! items escrowed); the other player may accept the exact version it saw, which swaps everything
//! in one ledger transaction or changes nothing, counter with new terms (then it becomes the
//! proposer: the first escrow is released and its own goods are escrowed), or cancel. Either
//! player may cancel; a proposal that reaches its expiry is cancelled.

use super::inventory::{Inventories, Inventory};
use super::ledger::{Account, CurrencyId, EntryKind, Ledger, LedgerError, PlayerId, Transaction};
use super::numbered::{Listing, Numbered};
use super::rules::{EconomyRules, RulesVersion};
use crate::sim::command::{Goods, Refusal};

/// One pending trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Trade {
    /// Who proposed the current terms (its goods are escrowed).
    pub proposer: PlayerId,
    /// Who may accept or counter them.
    pub responder: PlayerId,
    /// What the proposer gives.
    pub gives: Goods,
    /// What the proposer wants in return.
    pub wants: Goods,
    /// Bumped by every counter; an acceptance names the version it accepts.
    pub version: u32,
    /// The tick the proposal lapses.
    pub expires_at: u64,
}

impl Listing for Trade {
    /// The proposer: its goods are the ones escrowed.
    fn owner(&self) -> PlayerId {
        self.proposer
    }

    fn ends_at(&self) -> u64 {
        self.expires_at
    }

    fn set_ends_at(&mut self, tick: u64) {
        self.expires_at = tick;
    }
}

/// Every pending trade by id.
pub type Trades = Numbered<Trade>;

impl Trades {
    /// Cancels every proposal whose expiry has come, giving back its escrow in one transaction.
    pub(crate) fn expire(&mut self, tick: u64, ledger: &mut Ledger, inventories: &mut Inventories) {
        if !self.any_due(tick) {
            return;
        }
        let mut tx = ledger.begin(tick);
        self.remove_due(tick, |id, trade| {
            // Releasing an escrow that is there cannot fail.
            let _ = release(&mut tx, inventories, trade.proposer, &trade.gives, id);
        });
        let _ = tx.commit();
    }
}

/// The money entries of `goods` that are not empty.
fn money(goods: &Goods) -> impl Iterator<Item = (CurrencyId, i64)> + Clone + '_ {
    goods
        .money
        .iter()
        .filter(|(_, amount)| *amount != 0)
        .map(|&(currency, amount)| (CurrencyId(currency), amount))
}

/// The item entries of `goods` that are not empty.
fn items(goods: &Goods) -> impl Iterator<Item = (u16, u32)> + Clone + '_ {
    goods.items.iter().filter(|(_, units)| *units != 0).copied()
}

/// Whether two of `ids` are the same.
fn repeats(ids: impl Iterator<Item = u16> + Clone) -> bool {
    ids.clone()
        .enumerate()
        .any(|(at, id)| ids.clone().skip(at + 1).any(|other| other == id))
}

/// Refuses goods that name unknown or untradeable currencies, unknown or unstackable items,
/// negative amounts, or (from [`RulesVersion::SECOND`]) one currency or item in two entries,
/// since each entry is checked against the inventory on its own; an empty entry is a zero amount.
pub(crate) fn check_goods(goods: &Goods, rules: &EconomyRules) -> Result<(), Refusal> {
    let listed_twice =
        repeats(money(goods).map(|(currency, _)| currency.0)) || repeats(items(goods).map(|(item, _)| item));
    if listed_twice && rules.version >= RulesVersion::SECOND {
        return Err(Refusal::ListedTwice);
    }
    for (currency, amount) in money(goods) {
        let (tradeable, _) = *rules
            .currencies
            .get(usize::from(currency.0))
            .ok_or(Refusal::UnknownCurrency)?;
        if !tradeable {
            return Err(Refusal::NotTradeable);
        }
        if amount < 0 {
            return Err(Refusal::InvalidAmount);
        }
    }
    for (item, _) in items(goods) {
        let rule = rules.items.get(usize::from(item)).ok_or(Refusal::UnknownItem)?;
        if !rule.stackable {
            return Err(Refusal::NotStackable);
        }
    }
    let empty = money(goods).next().is_none() && items(goods).next().is_none() && goods.unique == 0;
    if empty {
        Err(Refusal::InvalidAmount)
    } else {
        Ok(())
    }
}

/// Escrows `goods` of `owner`: money reserved, items escrowed. Checks everything before changing
/// any item, so a refusal leaves the inventory as it was (the caller drops the transaction).
pub(crate) fn escrow(
    tx: &mut Transaction<'_>,
    inventories: &mut Inventories,
    owner: PlayerId,
    goods: &Goods,
    reference: u64,
) -> Result<(), Refusal> {
    let inventory = inventories.of_mut(owner);
    let owns_unique = goods.unique == 0 || inventory.uniques.iter().any(|&(id, _)| id == goods.unique);
    if !owns_unique || items(goods).any(|(item, units)| inventory.held(item) < units) {
        return Err(Refusal::NotEnoughItems);
    }
    for (currency, amount) in money(goods) {
        tx.reserve(owner, currency, amount, reference)
            .map_err(|e| ledger_refusal(&e))?;
    }
    for (item, units) in items(goods) {
        let holding = inventory.holding_mut(item);
        holding.held -= units;
        holding.escrowed += units;
    }
    if goods.unique != 0 {
        let Inventory {
            uniques,
            escrowed_uniques,
            ..
        } = inventory;
        Inventory::move_unique(uniques, escrowed_uniques, goods.unique);
    }
    Ok(())
}

/// Gives `owner` back its escrowed `goods`.
pub(crate) fn release(
    tx: &mut Transaction<'_>,
    inventories: &mut Inventories,
    owner: PlayerId,
    goods: &Goods,
    reference: u64,
) -> Result<(), LedgerError> {
    for (currency, amount) in money(goods) {
        tx.release(owner, currency, amount, reference)?;
    }
    let inventory = inventories.of_mut(owner);
    for (item, units) in items(goods) {
        let holding = inventory.holding_mut(item);
        holding.escrowed = holding.escrowed.saturating_sub(units);
        holding.held += units;
    }
    if goods.unique != 0 {
        let Inventory {
            uniques,
            escrowed_uniques,
            ..
        } = inventory;
        Inventory::move_unique(escrowed_uniques, uniques, goods.unique);
    }
    Ok(())
}

/// Carries out `trade`: the proposer's escrowed goods to the responder, the responder's goods
/// (checked here) to the proposer. Refused, it changes nothing.
pub(crate) fn swap(
    tx: &mut Transaction<'_>,
    inventories: &mut Inventories,
    rules: &EconomyRules,
    trade: &Trade,
    reference: u64,
) -> Result<(), Refusal> {
    let (proposer, responder) = (trade.proposer, trade.responder);
    let has = inventories.of(responder);
    let owns_unique = trade.wants.unique == 0
        || has.is_some_and(|i| i.uniques.iter().any(|&(id, _)| id == trade.wants.unique));
    // Earlier rules checked each entry alone, so a proposal made under the first rules that lists
    // an item twice could take more units than the responder held.
    let counted_together = rules.version >= RulesVersion::FOURTH;
    let wanted = |item: u16, units: u32| {
        if counted_together {
            items(&trade.wants)
                .filter(|&(listed, _)| listed == item)
                .map(|(_, units)| u64::from(units))
                .sum()
        } else {
            u64::from(units)
        }
    };
    let short = |(item, units): (u16, u32)| u64::from(has.map_or(0, |i| i.held(item))) < wanted(item, units);
    if !owns_unique || items(&trade.wants).any(short) {
        return Err(Refusal::NotEnoughItems);
    }
    // The proposer's outgoing units sit in its escrow, the responder's in what it holds; the
    // first rules took them out of both.
    let first_rules = rules.version < RulesVersion::SECOND;
    // Earlier rules let a player that held nothing yet receive anything.
    let counts_empty = rules.version >= RulesVersion::FIFTH;
    let fits = |player: PlayerId, incoming: &Goods, outgoing: &Goods, outgoing_escrowed: bool| {
        let mut probe = match inventories.of(player) {
            Some(inventory) => inventory.clone(),
            None if counts_empty => Inventory::default(),
            None => return true,
        };
        for (item, units) in items(outgoing) {
            let holding = probe.holding_mut(item);
            if outgoing_escrowed || first_rules {
                holding.escrowed = holding.escrowed.saturating_sub(units);
            }
            if !outgoing_escrowed || first_rules {
                holding.held = holding.held.saturating_sub(units);
            }
        }
        for (item, units) in items(incoming) {
            let holding = probe.holding_mut(item);
            holding.held = holding.held.saturating_add(units);
        }
        let swapped = u64::from(incoming.unique != 0);
        let given = u64::from(outgoing.unique != 0);
        probe.slots(&rules.max_stack) + swapped - given <= rules.inventory_slots
    };
    if !fits(responder, &trade.gives, &trade.wants, false)
        || !fits(proposer, &trade.wants, &trade.gives, true)
    {
        return Err(Refusal::InventoryFull);
    }
    for (currency, amount) in money(&trade.gives) {
        tx.pay_from_reserved(
            proposer,
            responder,
            currency,
            amount,
            EntryKind::Trading,
            reference,
        )
        .map_err(|e| ledger_refusal(&e))?;
    }
    for (currency, amount) in money(&trade.wants) {
        let (from, to) = (Account::Wallet(responder), Account::Wallet(proposer));
        tx.transfer(EntryKind::Trading, currency, from, to, amount, reference)
            .map_err(|e| ledger_refusal(&e))?;
    }
    for (item, units) in items(&trade.gives) {
        let holding = inventories.of_mut(proposer).holding_mut(item);
        holding.escrowed = holding.escrowed.saturating_sub(units);
        inventories.of_mut(responder).holding_mut(item).held += units;
    }
    for (item, units) in items(&trade.wants) {
        // Wraps only under the rules before the fourth, as the builds that applied them did.
        let held = &mut inventories.of_mut(responder).holding_mut(item).held;
        *held = held.wrapping_sub(units);
        inventories.of_mut(proposer).holding_mut(item).held += units;
    }
    for (item, _) in items(&trade.gives).chain(items(&trade.wants)) {
        inventories.of_mut(proposer).tidy(item);
        inventories.of_mut(responder).tidy(item);
    }
    hand_over_unique(inventories, proposer, responder, trade.gives.unique, true);
    hand_over_unique(inventories, responder, proposer, trade.wants.unique, false);
    Ok(())
}

/// Moves unique item `id` (0: none) from `from` (out of its escrow when `escrowed`) to `to`.
fn hand_over_unique(inventories: &mut Inventories, from: PlayerId, to: PlayerId, id: u64, escrowed: bool) {
    if id == 0 {
        return;
    }
    let source = inventories.of_mut(from);
    let list = if escrowed {
        &mut source.escrowed_uniques
    } else {
        &mut source.uniques
    };
    let Some(at) = list.iter().position(|&(unique, _)| unique == id) else {
        return;
    };
    let unique = list.swap_remove(at);
    inventories.of_mut(to).uniques.push(unique);
}

/// The refusal a ledger error stands for.
pub(crate) fn ledger_refusal(error: &LedgerError) -> Refusal {
    match error {
        LedgerError::InsufficientFunds { .. } => Refusal::InsufficientFunds,
        _ => Refusal::InvalidAmount,
    }
}
