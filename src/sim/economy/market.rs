//! The market: one order book per item, and the money and items behind every order. Placing a buy
//! order reserves its limit price times its quantity in the buyer's wallet and counts the slots
//! the items will need; placing a sell order escrows the items. Every fill settles at once in the
//! same ledger transaction as the placement: the buyer's reserved money pays the seller, the
//! difference to the buyer's limit goes back to the buyer, the seller pays the fee, and the items
//! move. Cancels and expiries give back what the order still holds.

use bevy_platform::collections::HashMap;

use super::inventory::Inventories;
use super::ledger::{CurrencyId, EntryKind, Ledger, LedgerError, PlayerId, Transaction};
use super::order_book::{Expired, Fill, OrderBook, OrderId, Owner, Side};
use super::owner_counts::OwnerCounts;
use super::rules::EconomyRules;

/// What the market remembers of an open order beyond the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrderMeta {
    /// Its owner.
    pub owner: PlayerId,
    /// The item traded.
    pub item: u16,
    /// Buy or sell.
    pub side: Side,
    /// The limit price per unit.
    pub limit: i64,
    /// The currency it was placed in (its item's price currency then): what it reserved, and
    /// what its fills and refunds pay, whatever a later reload says.
    pub currency: CurrencyId,
}

/// Every order book and open order.
#[derive(Debug, Default)]
pub struct Markets {
    books: Vec<OrderBook>,
    /// Looked up, and iterated only for digests (sorted there), so its order never matters; it
    /// keeps its capacity, so placing and filling orders does not allocate.
    orders: HashMap<OrderId, OrderMeta>,
    /// How many of `orders` each player owns.
    per_owner: OwnerCounts,
    next_order: u64,
    /// Fills of the order being placed; kept so that placing does not allocate.
    fills: Vec<Fill>,
    /// Orders expired this tick; kept for the same reason.
    expired: Vec<Expired>,
    /// Orders that may have changed this tick (with repeats), for the store.
    pub(super) touched: Vec<OrderId>,
}

impl Markets {
    /// The book of `item`.
    pub fn book(&self, item: u16) -> Option<&OrderBook> {
        self.books.get(usize::from(item))
    }

    /// An open order.
    pub fn order(&self, id: OrderId) -> Option<&OrderMeta> {
        self.orders.get(&id)
    }

    /// How many open orders `owner` has.
    pub fn owned_by(&self, owner: PlayerId) -> u32 {
        self.per_owner.of(owner)
    }

    /// Every open order, in no particular order.
    pub fn orders(&self) -> impl Iterator<Item = (&OrderId, &OrderMeta)> {
        self.orders.iter()
    }

    /// Makes sure there is a book for every item, with `rules`' candles.
    pub(crate) fn ensure_books(&mut self, rules: &EconomyRules) {
        while self.books.len() < rules.items.len() {
            self.books.push(OrderBook::with_candles(
                rules.candle_interval_ticks,
                rules.candles_kept,
            ));
        }
    }

    /// The fill buffer, empty, for one placement.
    pub(crate) fn take_fill_scratch(&mut self) -> Vec<Fill> {
        std::mem::take(&mut self.fills)
    }

    /// Hands the fill buffer back, emptied.
    pub(crate) fn return_fill_scratch(&mut self, mut fills: Vec<Fill>) {
        fills.clear();
        self.fills = fills;
    }

    /// A fresh order id.
    pub(crate) fn next_id(&mut self) -> OrderId {
        self.next_order += 1;
        OrderId(self.next_order)
    }

    pub(crate) fn book_mut(&mut self, item: u16) -> Option<&mut OrderBook> {
        self.books.get_mut(usize::from(item))
    }

    pub(crate) fn open(&mut self, id: OrderId, meta: OrderMeta) {
        self.touched.push(id);
        if self.orders.insert(id, meta).is_none() {
            self.per_owner.add(meta.owner);
        }
    }

    /// Removes `id` from the open orders.
    fn close(&mut self, id: OrderId) -> Option<OrderMeta> {
        let meta = self.orders.remove(&id)?;
        self.per_owner.remove(meta.owner);
        Some(meta)
    }

    /// Orders that may have changed this tick, with repeats.
    pub fn touched(&self) -> &[OrderId] {
        &self.touched
    }

    /// Forgets `id` once nothing of it rests in its book.
    pub(crate) fn forget_if_done(&mut self, id: OrderId) {
        self.touched.push(id);
        let done = self
            .orders
            .get(&id)
            .is_none_or(|meta| self.book(meta.item).is_none_or(|book| book.order(id).is_none()));
        if done {
            self.close(id);
        }
    }
}

impl Markets {
    /// Removes every order whose lifetime is over and gives back what it held, in one ledger
    /// transaction.
    pub(crate) fn expire_all(&mut self, tick: u64, ledger: &mut Ledger, inventories: &mut Inventories) {
        let mut expired = std::mem::take(&mut self.expired);
        for book in &mut self.books {
            book.expire(tick, &mut expired);
        }
        if !expired.is_empty() {
            let mut tx = ledger.begin(tick);
            for gone in &expired {
                self.close_giving_back(&mut tx, inventories, gone.id, gone.remaining);
            }
            let _ = tx.commit();
        }
        expired.clear();
        self.expired = expired;
    }

    /// Closes order `id`, already out of its book with `remaining` units, and gives back what
    /// those units hold inside `tx`.
    fn close_giving_back(
        &mut self,
        tx: &mut Transaction<'_>,
        inventories: &mut Inventories,
        id: OrderId,
        remaining: u32,
    ) {
        self.touched.push(id);
        if let Some(meta) = self.close(id) {
            // Releasing what an order reserved cannot fail: the reservation is there.
            let _ = give_back(tx, inventories, id, meta, remaining);
        }
    }

    /// Moves the expiry of every resting order to `deadline(expiry)`.
    pub(crate) fn reschedule(&mut self, deadline: impl Fn(u64) -> u64) {
        let touched = &mut self.touched;
        for book in &mut self.books {
            book.reschedule(&deadline, |id| touched.push(id));
        }
    }

    /// Closes, in id order and in one ledger transaction, every open order placed in a currency
    /// other than its item's price currency under `rules`, giving back what each holds: a book
    /// matches all its orders against each other and pays in the buyer's currency, so orders in
    /// two currencies must never rest in one. Returns the orders closed, by id, with the units
    /// each still held.
    pub(crate) fn close_in_other_currencies(
        &mut self,
        rules: &EconomyRules,
        tick: u64,
        ledger: &mut Ledger,
        inventories: &mut Inventories,
    ) -> Vec<(OrderId, u32)> {
        let priced_otherwise = |meta: &OrderMeta| {
            rules
                .items
                .get(usize::from(meta.item))
                .is_some_and(|rule| rule.currency != meta.currency)
        };
        let mut closing: Vec<(OrderId, OrderMeta)> = (self.orders.iter())
            .filter(|(_, meta)| priced_otherwise(meta))
            .map(|(&id, &meta)| (id, meta))
            .collect();
        if closing.is_empty() {
            return Vec::new();
        }
        closing.sort_unstable_by_key(|&(id, _)| id);
        let mut closed = Vec::with_capacity(closing.len());
        let mut tx = ledger.begin(tick);
        for (id, meta) in closing {
            let Some(Ok(cancelled)) = self
                .book_mut(meta.item)
                .map(|book| book.cancel(id, Owner(meta.owner.0)))
            else {
                continue;
            };
            self.close_giving_back(&mut tx, inventories, id, cancelled.remaining);
            closed.push((id, cancelled.remaining));
        }
        let _ = tx.commit();
        closed
    }
}

/// Settles one fill inside `tx`: money from the buyer's reservation to the seller, the excess over
/// the buyer's limit back to the buyer, the fee from the seller, the items to the buyer.
pub(crate) fn settle(
    tx: &mut Transaction<'_>,
    inventories: &mut Inventories,
    markets: &Markets,
    rules: &EconomyRules,
    fill: &Fill,
    taker: OrderMeta,
) -> Result<(), LedgerError> {
    let maker = markets.order(fill.maker).copied();
    let (buy, sell) = match fill.taker_side {
        Side::Buy => (Some(taker), maker),
        Side::Sell => (maker, Some(taker)),
    };
    let (Some(buy), Some(sell)) = (buy, sell) else {
        return Ok(());
    };
    let currency = buy.currency;
    let quantity = i64::from(fill.quantity);
    let paid = fill.price.saturating_mul(quantity);
    let reference = fill.maker.0;
    tx.pay_from_reserved(
        buy.owner,
        sell.owner,
        currency,
        paid,
        EntryKind::Trading,
        reference,
    )?;
    let excess = (buy.limit - fill.price).saturating_mul(quantity);
    if excess > 0 {
        tx.release(buy.owner, currency, excess, reference)?;
    }
    let fee = rules.fee_on(paid);
    if fee > 0 {
        tx.fee_from_wallet(sell.owner, currency, fee, reference)?;
    }
    let bought = inventories.of_mut(buy.owner).holding_mut(buy.item);
    bought.incoming = bought.incoming.saturating_sub(fill.quantity);
    bought.held += fill.quantity;
    let sold = inventories.of_mut(sell.owner).holding_mut(sell.item);
    sold.escrowed = sold.escrowed.saturating_sub(fill.quantity);
    inventories.of_mut(sell.owner).tidy(sell.item);
    Ok(())
}

/// Gives back what `remaining` units of an order still hold: a buy order's reserved money and
/// counted slots, a sell order's escrowed items.
pub(crate) fn give_back(
    tx: &mut Transaction<'_>,
    inventories: &mut Inventories,
    id: OrderId,
    meta: OrderMeta,
    remaining: u32,
) -> Result<(), LedgerError> {
    if remaining == 0 {
        return Ok(());
    }
    let inventory = inventories.of_mut(meta.owner);
    match meta.side {
        Side::Buy => {
            let currency = meta.currency;
            let amount = meta.limit.saturating_mul(i64::from(remaining));
            tx.release(meta.owner, currency, amount, id.0)?;
            let holding = inventory.holding_mut(meta.item);
            holding.incoming = holding.incoming.saturating_sub(remaining);
        }
        Side::Sell => {
            let holding = inventory.holding_mut(meta.item);
            holding.escrowed = holding.escrowed.saturating_sub(remaining);
            holding.held += remaining;
        }
    }
    inventory.tidy(meta.item);
    Ok(())
}
