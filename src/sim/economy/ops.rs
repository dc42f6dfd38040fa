//! Mutating economy commands: transfers between wallets, market orders (place, cancel) and
//! player-to-player trades (offer, counter, accept, cancel), auctions (create, bid) and exchanges
//! with the house. Each
//! carries an idempotency key: a repeat with the same payload gets the first reply again, a
//! repeat with another payload is refused, and either way nothing changes twice. Each command is
//! one ledger transaction: it applies whole or, refused, changes nothing.

use bevy_ecs::world::{Mut, World};

use super::auctions::{self, Auction};
use super::idempotency::{Fingerprinter, IdempotencyKey, Lookup};
use super::ledger::{Account, CurrencyId, EntryKind, PlayerId};
use super::market::{OrderMeta, give_back, settle};
use super::order_book::{NewOrder, OrderId, Owner, Side};
use super::rules::{EconomyRules, RulesVersion};
use super::trades::{self, Trade, ledger_refusal};
use super::{Economy, EconomyInbox, EconomyJournal, Receipt};
use crate::sim::command::{AuctionTerms, ClientId, EconomyOp, EconomyRequest, Goods, Refusal};
use crate::sim::gameplay::Clients;
use crate::sim::output::{Outbox, ReplyBody, SimEvent, respond};
use crate::sim::resources::Tick;

/// Applies every economy command queued this tick, in arrival order.
pub(crate) fn apply_economy_commands(world: &mut World) {
    let mut requests = std::mem::take(&mut world.resource_mut::<EconomyInbox>().requests);
    let paused = world.resource::<EconomyInbox>().paused;
    let tick = world.resource::<Tick>().0;
    for (to, request) in requests.drain(..) {
        let client = to.client;
        let joined = world.resource::<Clients>().entity(client).is_some();
        let body = if paused {
            ReplyBody::Refused(Refusal::Busy)
        } else if joined {
            let player = PlayerId(client.0);
            world
                .resource_mut::<EconomyJournal>()
                .record
                .requests
                .push((player, request.clone()));
            world.resource_scope(|world, rules: Mut<EconomyRules>| {
                let mut economy = world.resource_mut::<Economy>();
                answer(&mut economy, &rules, player, request, tick)
            })
        } else {
            ReplyBody::Refused(Refusal::NotJoined)
        };
        announce_trade(world, body);
        respond(world, to, body);
    }
    requests.clear();
    world.resource_mut::<EconomyInbox>().requests = requests;
}

/// Tells the outside world that a trade proposal stands, so the responder hears of it.
fn announce_trade(world: &mut World, body: ReplyBody) {
    let ReplyBody::TradeProposed { trade, version } = body else {
        return;
    };
    let Some(&proposal) = world.resource::<Economy>().trades.get(trade) else {
        return;
    };
    world
        .resource_mut::<Outbox>()
        .events
        .push(SimEvent::TradeProposed {
            trade,
            proposer: ClientId(proposal.proposer.0),
            responder: ClientId(proposal.responder.0),
            version,
        });
}

/// The reply to `request`: the recorded one for a repeated key, or a fresh outcome.
pub(crate) fn answer(
    economy: &mut Economy,
    rules: &EconomyRules,
    player: PlayerId,
    request: EconomyRequest,
    tick: u64,
) -> ReplyBody {
    let key = IdempotencyKey(request.key);
    let fingerprint = fingerprint(&request.op, rules.version);
    match economy.receipts.check(player, key, fingerprint) {
        Lookup::Replay(receipt) => return receipt.reply(),
        Lookup::Conflict => return ReplyBody::Refused(Refusal::KeyReused),
        Lookup::New => {}
    }
    let body = execute(economy, rules, player, request, tick).unwrap_or_else(ReplyBody::Refused);
    // A key is recorded once, at a tick no earlier than the last: neither can fail here.
    let _ = economy
        .receipts
        .record(player, key, fingerprint, Receipt::of(body), tick);
    body
}

/// A stable digest of what a command asks for, under the rules of `version`.
fn fingerprint(op: &EconomyOp, version: RulesVersion) -> u64 {
    let mut print = Fingerprinter::new();
    match *op {
        EconomyOp::Transfer {
            to,
            currency,
            amount_minor,
        } => print
            .write_u8(0)
            .write_u64(to.0)
            .write_u16(currency)
            .write_i64(amount_minor),
        EconomyOp::PlaceOrder {
            item,
            side,
            price_minor,
            quantity,
            lifetime_s,
        } => print
            .write_u8(1)
            .write_u16(item)
            .write_u8(side as u8)
            .write_i64(price_minor)
            .write_u32(quantity)
            .write_u64(lifetime_s.map_or(u64::MAX, u64::from)),
        EconomyOp::CancelOrder { order } => print.write_u8(2).write_u64(order),
        EconomyOp::OfferTrade(ref offer) => {
            let print = write_goods(print.write_u8(3).write_u64(offer.to.0), &offer.gives, version);
            write_goods(print, &offer.wants, version).write_u32(offer.lifetime_s)
        }
        EconomyOp::CounterTrade(ref counter) => {
            let print = write_goods(
                print.write_u8(4).write_u64(counter.trade),
                &counter.gives,
                version,
            );
            write_goods(print, &counter.wants, version)
        }
        EconomyOp::AcceptTrade { trade, version } => print.write_u8(5).write_u64(trade).write_u32(version),
        EconomyOp::CancelTrade { trade } => print.write_u8(6).write_u64(trade),
        EconomyOp::CreateAuction(ref terms) => print
            .write_u8(8)
            .write_u16(terms.item)
            .write_u32(terms.quantity)
            .write_i64(terms.starting_price)
            .write_i64(terms.bid_increment)
            .write_i64(terms.reserve)
            .write_i64(terms.buyout)
            .write_u32(terms.duration_h)
            .write_u64(terms.unique),
        EconomyOp::Bid {
            auction,
            amount_minor,
        } => print.write_u8(9).write_u64(auction).write_i64(amount_minor),
        EconomyOp::Exchange {
            from,
            to,
            amount_minor,
        } => print
            .write_u8(7)
            .write_u16(from)
            .write_u16(to)
            .write_i64(amount_minor),
    };
    print.finish()
}

/// Goods' part of a fingerprint; the first rules left out the unique item.
fn write_goods<'p>(
    print: &'p mut Fingerprinter,
    goods: &Goods,
    version: RulesVersion,
) -> &'p mut Fingerprinter {
    for (currency, amount) in goods.money {
        print.write_u16(currency).write_i64(amount);
    }
    for (item, units) in goods.items {
        print.write_u16(item).write_u32(units);
    }
    if version >= RulesVersion::SECOND {
        print.write_u64(goods.unique);
    }
    print
}

fn execute(
    economy: &mut Economy,
    rules: &EconomyRules,
    player: PlayerId,
    request: EconomyRequest,
    tick: u64,
) -> Result<ReplyBody, Refusal> {
    let reference = request.key as u64;
    if rules.version >= RulesVersion::THIRD {
        let limits = rules.open_limits;
        let (open, limit) = match request.op {
            EconomyOp::PlaceOrder { .. } => (economy.markets.owned_by(player), limits.orders),
            EconomyOp::OfferTrade(_) | EconomyOp::CounterTrade(_) => {
                (economy.trades.owned_by(player), limits.trades)
            }
            EconomyOp::CreateAuction(_) => (economy.auctions.owned_by(player), limits.auctions),
            _ => (0, u32::MAX),
        };
        if open >= limit {
            return Err(Refusal::TooManyOpen);
        }
    }
    match request.op {
        EconomyOp::Transfer {
            to,
            currency,
            amount_minor,
        } => transfer(
            economy,
            rules,
            player,
            PlayerId(to.0),
            currency,
            amount_minor,
            reference,
            tick,
        ),
        EconomyOp::PlaceOrder {
            item,
            side,
            price_minor,
            quantity,
            lifetime_s,
        } => {
            let order = Order {
                item,
                side,
                price: price_minor,
                quantity,
                lifetime_s,
            };
            place(economy, rules, player, order, tick)
        }
        EconomyOp::CancelOrder { order } => cancel(economy, player, OrderId(order), tick),
        EconomyOp::OfferTrade(offer) => {
            let terms = Terms {
                gives: offer.gives,
                wants: offer.wants,
            };
            offer_trade(
                economy,
                rules,
                player,
                PlayerId(offer.to.0),
                terms,
                offer.lifetime_s,
                tick,
            )
        }
        EconomyOp::CounterTrade(counter) => {
            let terms = Terms {
                gives: counter.gives,
                wants: counter.wants,
            };
            counter_trade(economy, rules, player, counter.trade, terms, tick)
        }
        EconomyOp::AcceptTrade { trade, version } => {
            accept_trade(economy, rules, player, trade, version, tick)
        }
        EconomyOp::CancelTrade { trade } => cancel_trade(economy, player, trade, tick),
        EconomyOp::CreateAuction(terms) => create_auction(economy, rules, player, *terms, tick),
        EconomyOp::Bid {
            auction,
            amount_minor,
        } => bid(economy, rules, player, auction, amount_minor, tick),
        EconomyOp::Exchange {
            from,
            to,
            amount_minor,
        } => exchange(
            economy,
            rules,
            player,
            CurrencyId(from),
            CurrencyId(to),
            amount_minor,
            reference,
            tick,
        ),
    }
}

#[expect(clippy::too_many_arguments, reason = "one transfer names everything it moves")]
fn transfer(
    economy: &mut Economy,
    rules: &EconomyRules,
    from: PlayerId,
    to: PlayerId,
    currency: u16,
    amount: i64,
    reference: u64,
    tick: u64,
) -> Result<ReplyBody, Refusal> {
    let (tradeable, _) = *rules
        .currencies
        .get(usize::from(currency))
        .ok_or(Refusal::UnknownCurrency)?;
    if !tradeable {
        return Err(Refusal::NotTradeable);
    }
    if !economy.accounts.contains(&to) {
        return Err(Refusal::UnknownRecipient);
    }
    if amount <= 0 || from == to {
        return Err(Refusal::InvalidAmount);
    }
    let mut tx = economy.ledger.begin(tick);
    tx.transfer(
        EntryKind::Trading,
        CurrencyId(currency),
        Account::Wallet(from),
        Account::Wallet(to),
        amount,
        reference,
    )
    .map_err(|e| ledger_refusal(&e))?;
    let committed = tx.commit().map_err(|e| ledger_refusal(&e))?;
    Ok(ReplyBody::Transferred {
        entry: committed.first_seq,
    })
}

/// A market order as asked for.
#[derive(Debug, Clone, Copy)]
pub(super) struct Order {
    pub(super) item: u16,
    pub(super) side: Side,
    pub(super) price: i64,
    pub(super) quantity: u32,
    pub(super) lifetime_s: Option<u32>,
}

pub(super) fn place(
    economy: &mut Economy,
    rules: &EconomyRules,
    player: PlayerId,
    order: Order,
    tick: u64,
) -> Result<ReplyBody, Refusal> {
    let item_rule = *rules
        .items
        .get(usize::from(order.item))
        .ok_or(Refusal::UnknownItem)?;
    if !item_rule.stackable {
        return Err(Refusal::NotStackable);
    }
    if !rules.tradeable(item_rule.currency) {
        return Err(Refusal::NotTradeable);
    }
    if order.price <= 0 || order.quantity == 0 {
        return Err(Refusal::InvalidAmount);
    }
    let lifetime = order
        .lifetime_s
        .map_or(rules.default_order_ticks, |s| rules.ticks_in(s));
    if lifetime > rules.max_order_ticks {
        return Err(Refusal::InvalidSettings);
    }
    let Economy {
        ledger,
        inventories,
        markets,
        ..
    } = economy;
    markets.ensure_books(rules);
    let inventory = inventories.of_mut(player);
    let mut tx = ledger.begin(tick);
    match order.side {
        Side::Buy => {
            let needed = inventory.slots_with(order.item, order.quantity, &rules.max_stack);
            if needed > rules.inventory_slots {
                return Err(Refusal::InventoryFull);
            }
            let amount = order
                .price
                .checked_mul(i64::from(order.quantity))
                .ok_or(Refusal::InvalidAmount)?;
            tx.reserve(player, item_rule.currency, amount, 0)
                .map_err(|e| ledger_refusal(&e))?;
            inventory.holding_mut(order.item).incoming += order.quantity;
        }
        Side::Sell => {
            if inventory.held(order.item) < order.quantity {
                return Err(Refusal::NotEnoughItems);
            }
            let holding = inventory.holding_mut(order.item);
            holding.held -= order.quantity;
            holding.escrowed += order.quantity;
        }
    }
    let id = markets.next_id();
    let meta = OrderMeta {
        owner: player,
        item: order.item,
        side: order.side,
        limit: order.price,
        currency: item_rule.currency,
    };
    let new = NewOrder {
        id,
        owner: Owner(player.0),
        side: order.side,
        price: order.price,
        quantity: order.quantity,
        expires_at_tick: Some(tick + lifetime.max(1)),
    };
    let mut fills = markets.take_fill_scratch();
    let placed = markets
        .book_mut(order.item)
        .ok_or(Refusal::UnknownItem)?
        .place(new, tick, &mut fills);
    let placed = match placed {
        Ok(placed) => placed,
        Err(_) => {
            // Unreachable with fresh ids and checked numbers; undo the escrow all the same.
            tx.abort();
            markets.return_fill_scratch(fills);
            let holding = inventories.of_mut(player).holding_mut(order.item);
            match order.side {
                Side::Buy => holding.incoming -= order.quantity,
                Side::Sell => {
                    holding.escrowed -= order.quantity;
                    holding.held += order.quantity;
                }
            }
            inventories.of_mut(player).tidy(order.item);
            return Err(Refusal::InvalidAmount);
        }
    };
    let mut settled = Ok(());
    for fill in &fills {
        settled = settled.and_then(|()| settle(&mut tx, inventories, markets, rules, fill, meta));
    }
    settled = settled.and_then(|()| give_back(&mut tx, inventories, id, meta, placed.cancelled));
    if placed.resting > 0 {
        markets.open(id, meta);
    }
    for fill in &fills {
        markets.forget_if_done(fill.maker);
    }
    markets.return_fill_scratch(fills);
    settled
        .and_then(|()| tx.commit().map(|_| ()))
        .map_err(|e| ledger_refusal(&e))?;
    Ok(ReplyBody::OrderPlaced {
        order: id.0,
        filled: placed.filled,
        resting: placed.resting,
    })
}

pub(super) fn cancel(
    economy: &mut Economy,
    player: PlayerId,
    id: OrderId,
    tick: u64,
) -> Result<ReplyBody, Refusal> {
    let Economy {
        ledger,
        inventories,
        markets,
        ..
    } = economy;
    let meta = *markets.order(id).ok_or(Refusal::UnknownOrder)?;
    if meta.owner != player {
        return Err(Refusal::NotOrderOwner);
    }
    let cancelled = markets
        .book_mut(meta.item)
        .ok_or(Refusal::UnknownOrder)?
        .cancel(id, Owner(player.0))
        .map_err(|_| Refusal::UnknownOrder)?;
    let mut tx = ledger.begin(tick);
    give_back(&mut tx, inventories, id, meta, cancelled.remaining).map_err(|e| ledger_refusal(&e))?;
    tx.commit().map_err(|e| ledger_refusal(&e))?;
    markets.forget_if_done(id);
    Ok(ReplyBody::OrderCancelled {
        order: id.0,
        remaining: cancelled.remaining,
    })
}

/// The terms of a trade proposal.
#[derive(Debug, Clone, Copy)]
struct Terms {
    gives: Goods,
    wants: Goods,
}

impl Terms {
    /// Refuses terms either side of which names what cannot be traded.
    fn check(&self, rules: &EconomyRules) -> Result<(), Refusal> {
        trades::check_goods(&self.gives, rules)?;
        trades::check_goods(&self.wants, rules)
    }
}

fn offer_trade(
    economy: &mut Economy,
    rules: &EconomyRules,
    player: PlayerId,
    to: PlayerId,
    terms: Terms,
    lifetime_s: u32,
    tick: u64,
) -> Result<ReplyBody, Refusal> {
    if !economy.accounts.contains(&to) {
        return Err(Refusal::UnknownRecipient);
    }
    let lifetime = rules.ticks_in(lifetime_s.max(1));
    if to == player || lifetime > rules.max_order_ticks {
        return Err(Refusal::InvalidSettings);
    }
    terms.check(rules)?;
    let Economy {
        ledger,
        inventories,
        trades: open,
        ..
    } = economy;
    let mut tx = ledger.begin(tick);
    trades::escrow(&mut tx, inventories, player, &terms.gives, 0)?;
    tx.commit().map_err(|e| ledger_refusal(&e))?;
    let trade = open.insert(Trade {
        proposer: player,
        responder: to,
        gives: terms.gives,
        wants: terms.wants,
        version: 1,
        expires_at: tick + lifetime,
    });
    Ok(ReplyBody::TradeProposed { trade, version: 1 })
}

fn counter_trade(
    economy: &mut Economy,
    rules: &EconomyRules,
    player: PlayerId,
    id: u64,
    terms: Terms,
    tick: u64,
) -> Result<ReplyBody, Refusal> {
    let trade = *economy.trades.get(id).ok_or(Refusal::UnknownTrade)?;
    if trade.responder != player {
        return Err(Refusal::NotTradeParty);
    }
    terms.check(rules)?;
    let Economy {
        ledger,
        inventories,
        trades: open,
        ..
    } = economy;
    let mut tx = ledger.begin(tick);
    // The counter's goods are escrowed first: refused, nothing has moved and the transaction dies.
    trades::escrow(&mut tx, inventories, player, &terms.gives, id)?;
    trades::release(&mut tx, inventories, trade.proposer, &trade.gives, id)
        .map_err(|e| ledger_refusal(&e))?;
    tx.commit().map_err(|e| ledger_refusal(&e))?;
    let version = trade.version + 1;
    open.replace(
        id,
        Trade {
            proposer: player,
            responder: trade.proposer,
            gives: terms.gives,
            wants: terms.wants,
            version,
            expires_at: trade.expires_at,
        },
    );
    Ok(ReplyBody::TradeProposed { trade: id, version })
}

fn accept_trade(
    economy: &mut Economy,
    rules: &EconomyRules,
    player: PlayerId,
    id: u64,
    version: u32,
    tick: u64,
) -> Result<ReplyBody, Refusal> {
    let trade = *economy.trades.get(id).ok_or(Refusal::UnknownTrade)?;
    if trade.responder != player {
        return Err(Refusal::NotTradeParty);
    }
    if trade.version != version {
        return Err(Refusal::TradeChanged);
    }
    let mut tx = economy.ledger.begin(tick);
    trades::swap(&mut tx, &mut economy.inventories, rules, &trade, id)?;
    tx.commit().map_err(|e| ledger_refusal(&e))?;
    economy.trades.remove(id);
    Ok(ReplyBody::TradeDone { trade: id })
}

fn cancel_trade(economy: &mut Economy, player: PlayerId, id: u64, tick: u64) -> Result<ReplyBody, Refusal> {
    let trade = *economy.trades.get(id).ok_or(Refusal::UnknownTrade)?;
    if trade.proposer != player && trade.responder != player {
        return Err(Refusal::NotTradeParty);
    }
    let mut tx = economy.ledger.begin(tick);
    trades::release(
        &mut tx,
        &mut economy.inventories,
        trade.proposer,
        &trade.gives,
        id,
    )
    .map_err(|e| ledger_refusal(&e))?;
    tx.commit().map_err(|e| ledger_refusal(&e))?;
    economy.trades.remove(id);
    Ok(ReplyBody::TradeCancelled { trade: id })
}

/// Gives the house `amount` of `from` (burned) for what it buys of `to` (minted), less the fee.
#[expect(clippy::too_many_arguments, reason = "one exchange names everything it moves")]
fn exchange(
    economy: &mut Economy,
    rules: &EconomyRules,
    player: PlayerId,
    from: CurrencyId,
    to: CurrencyId,
    amount: i64,
    reference: u64,
    tick: u64,
) -> Result<ReplyBody, Refusal> {
    let pair = rules.pair(from, to).ok_or(Refusal::NoSuchPair)?;
    if amount <= 0 {
        return Err(Refusal::InvalidAmount);
    }
    let gross = pair.convert(from, amount).ok_or(Refusal::NoSuchPair)?;
    let fee = i64::try_from(i128::from(gross) * i128::from(pair.fee_bps) / 10_000).unwrap_or(i64::MAX);
    let received = gross - fee;
    if received <= 0 {
        return Err(Refusal::InvalidAmount);
    }
    let mut tx = economy.ledger.begin(tick);
    tx.burn(from, player, amount, EntryKind::Exchange, reference)
        .map_err(|e| ledger_refusal(&e))?;
    tx.mint(to, player, gross, EntryKind::Exchange, reference)
        .map_err(|e| ledger_refusal(&e))?;
    if fee > 0 {
        tx.fee_from_wallet(player, to, fee, reference)
            .map_err(|e| ledger_refusal(&e))?;
    }
    tx.commit().map_err(|e| ledger_refusal(&e))?;
    Ok(ReplyBody::Exchanged { received })
}

fn create_auction(
    economy: &mut Economy,
    rules: &EconomyRules,
    player: PlayerId,
    terms: AuctionTerms,
    tick: u64,
) -> Result<ReplyBody, Refusal> {
    let prices_valid = terms.starting_price > 0
        && terms.bid_increment > 0
        && terms.reserve >= 0
        && (terms.buyout == 0 || terms.buyout >= terms.starting_price.max(terms.reserve));
    let duration = rules.ticks_in(terms.duration_h.saturating_mul(3_600));
    let [shortest, longest] = rules.auction_ticks;
    if !(shortest..=longest).contains(&duration) {
        return Err(Refusal::InvalidSettings);
    }
    let inventory = economy.inventories.of_mut(player);
    let (item, quantity) = if terms.unique != 0 {
        let at = inventory
            .uniques
            .iter()
            .position(|&(id, _)| id == terms.unique)
            .ok_or(Refusal::NotEnoughItems)?;
        (inventory.uniques[at].1, 1)
    } else {
        (terms.item, terms.quantity)
    };
    let rule = *rules.items.get(usize::from(item)).ok_or(Refusal::UnknownItem)?;
    if terms.unique == 0 && !rule.stackable {
        return Err(Refusal::NotStackable);
    }
    if rules.version >= RulesVersion::SECOND && !rules.tradeable(rule.currency) {
        return Err(Refusal::NotTradeable);
    }
    if quantity == 0 || !prices_valid {
        return Err(Refusal::InvalidAmount);
    }
    if terms.unique != 0 {
        let super::inventory::Inventory {
            uniques,
            escrowed_uniques,
            ..
        } = inventory;
        super::inventory::Inventory::move_unique(uniques, escrowed_uniques, terms.unique);
    } else {
        if inventory.held(item) < quantity {
            return Err(Refusal::NotEnoughItems);
        }
        let holding = inventory.holding_mut(item);
        holding.held -= quantity;
        holding.escrowed += quantity;
    }
    let auction = economy.auctions.insert(Auction {
        seller: player,
        item,
        quantity,
        unique: terms.unique,
        currency: rule.currency,
        starting_price: terms.starting_price,
        bid_increment: terms.bid_increment,
        reserve: terms.reserve,
        buyout: terms.buyout,
        highest: None,
        ends_at: tick + duration,
    });
    Ok(ReplyBody::AuctionCreated { auction })
}

fn bid(
    economy: &mut Economy,
    rules: &EconomyRules,
    player: PlayerId,
    id: u64,
    amount: i64,
    tick: u64,
) -> Result<ReplyBody, Refusal> {
    let auction = *economy.auctions.get(id).ok_or(Refusal::UnknownAuction)?;
    if auction.seller == player {
        return Err(Refusal::OwnAuction);
    }
    if rules.version >= RulesVersion::SECOND && !rules.tradeable(auction.currency) {
        return Err(Refusal::NotTradeable);
    }
    if amount < auction.minimum_bid() {
        return Err(Refusal::BidTooLow);
    }
    let fits = || {
        auction.fits_in(
            economy.inventories.of(player),
            &rules.max_stack,
            rules.inventory_slots,
        )
    };
    if rules.version >= RulesVersion::FIFTH && !fits() {
        return Err(Refusal::InventoryFull);
    }
    let Economy {
        ledger,
        inventories,
        auctions,
        ..
    } = economy;
    let mut tx = ledger.begin(tick);
    tx.reserve(player, auction.currency, amount, id)
        .map_err(|e| ledger_refusal(&e))?;
    if let Some((outbid, previous)) = auction.highest {
        tx.release(outbid, auction.currency, previous, id)
            .map_err(|e| ledger_refusal(&e))?;
    }
    let won = auction.buyout > 0 && amount >= auction.buyout;
    let standing = Auction {
        highest: Some((player, amount)),
        ..auction
    };
    if won {
        auctions::settle(&mut tx, inventories, &standing, id, rules.auction_fee_bps)
            .map_err(|e| ledger_refusal(&e))?;
    }
    tx.commit().map_err(|e| ledger_refusal(&e))?;
    if won {
        auctions.remove(id);
    } else {
        auctions.replace(id, standing);
    }
    Ok(ReplyBody::BidPlaced { auction: id, won })
}
