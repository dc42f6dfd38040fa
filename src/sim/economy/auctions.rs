//! Auctions. A seller escrows a stack of an item and names a starting price, a bid increment, a
//! reserve and optionally a buyout price. Each bid is escrowed in the bidder's wallet and the bid
//! it beats is refunded at once. A bid at or above the buyout price, or the end of the auction,
//! settles it: at or above the reserve the items go to the highest bidder and the money to the
//! seller less the fee; otherwise the items go back to the seller and the bid is refunded.

use super::inventory::{Inventories, Inventory};
use super::ledger::{CurrencyId, EntryKind, Ledger, LedgerError, PlayerId, Transaction};
use super::numbered::{Listing, Numbered};

/// One running auction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Auction {
    /// Who sells.
    pub seller: PlayerId,
    /// The item sold.
    pub item: u16,
    /// Units sold together (a unique item: 1).
    pub quantity: u32,
    /// The unique item sold, by id (0: a stack of `item`).
    pub unique: u64,
    /// The currency bids are in (the item's price currency).
    pub currency: CurrencyId,
    /// Lowest first bid.
    pub starting_price: i64,
    /// Smallest raise over the highest bid.
    pub bid_increment: i64,
    /// Lowest price that sells.
    pub reserve: i64,
    /// A bid of at least this ends the auction at once (0: none).
    pub buyout: i64,
    /// The highest bid and its bidder.
    pub highest: Option<(PlayerId, i64)>,
    /// The tick it ends.
    pub ends_at: u64,
}

impl Auction {
    /// The smallest bid that is accepted now.
    pub fn minimum_bid(&self) -> i64 {
        self.highest.map_or(self.starting_price, |(_, bid)| {
            bid.saturating_add(self.bid_increment)
        })
    }

    /// Whether what it sells fits in `inventory` (`None`: a player that holds nothing yet) with
    /// `inventory_slots`, given each item's `max_stack` by index.
    pub fn fits_in(&self, inventory: Option<&Inventory>, max_stack: &[u32], inventory_slots: u64) -> bool {
        let empty = Inventory::default();
        let inventory = inventory.unwrap_or(&empty);
        let needed = if self.unique != 0 {
            inventory.slots(max_stack) + 1
        } else {
            inventory.slots_with(self.item, self.quantity, max_stack)
        };
        needed <= inventory_slots
    }
}

impl Listing for Auction {
    fn owner(&self) -> PlayerId {
        self.seller
    }

    fn ends_at(&self) -> u64 {
        self.ends_at
    }

    fn set_ends_at(&mut self, tick: u64) {
        self.ends_at = tick;
    }
}

/// Every running auction by id.
pub type Auctions = Numbered<Auction>;

impl Auctions {
    /// Settles every auction whose end has come, in one ledger transaction.
    pub(crate) fn settle_due(
        &mut self,
        tick: u64,
        fee_bps: u32,
        ledger: &mut Ledger,
        inventories: &mut Inventories,
    ) {
        if !self.any_due(tick) {
            return;
        }
        let mut tx = ledger.begin(tick);
        self.remove_due(tick, |id, auction| {
            // Settling moves only what is escrowed: it cannot fail.
            let _ = settle(&mut tx, inventories, &auction, id, fee_bps);
        });
        let _ = tx.commit();
    }
}

/// Ends `auction`: sold to the highest bidder at or above the reserve, or back to the seller.
pub(crate) fn settle(
    tx: &mut Transaction<'_>,
    inventories: &mut Inventories,
    auction: &Auction,
    id: u64,
    fee_bps: u32,
) -> Result<(), LedgerError> {
    let sold = auction.highest.filter(|&(_, bid)| bid >= auction.reserve);
    // The money first: if it could not move, no item has moved either.
    match sold {
        Some((winner, price)) => {
            tx.pay_from_reserved(
                winner,
                auction.seller,
                auction.currency,
                price,
                EntryKind::Auction,
                id,
            )?;
            let fee = i64::try_from(i128::from(price) * i128::from(fee_bps) / 10_000).unwrap_or(0);
            if fee > 0 {
                tx.fee_from_wallet(auction.seller, auction.currency, fee, id)?;
            }
        }
        None => {
            if let Some((bidder, bid)) = auction.highest {
                tx.release(bidder, auction.currency, bid, id)?;
            }
        }
    }
    let receiver = sold.map_or(auction.seller, |(winner, _)| winner);
    if auction.unique != 0 {
        let escrow = &mut inventories.of_mut(auction.seller).escrowed_uniques;
        if let Some(at) = escrow.iter().position(|&(id, _)| id == auction.unique) {
            let unique = escrow.swap_remove(at);
            inventories.of_mut(receiver).uniques.push(unique);
        }
        return Ok(());
    }
    let seller = inventories.of_mut(auction.seller).holding_mut(auction.item);
    seller.escrowed = seller.escrowed.saturating_sub(auction.quantity);
    inventories.of_mut(receiver).holding_mut(auction.item).held += auction.quantity;
    inventories.of_mut(auction.seller).tidy(auction.item);
    Ok(())
}
