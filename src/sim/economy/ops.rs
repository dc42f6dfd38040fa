//! Mutating economy commands: transfers between wallets and market orders (place, cancel). Each
//! carries an idempotency key: a repeat with the same payload gets the first reply again, a
//! repeat with another payload is refused, and either way nothing changes twice. Each command is
//! one ledger transaction: it applies whole or, refused, changes nothing.

use bevy_ecs::world::{Mut, World};

use super::idempotency::{Fingerprinter, IdempotencyKey, Lookup};
use super::ledger::{Account, CurrencyId, EntryKind, LedgerError, PlayerId};
use super::market::{OrderMeta, give_back, settle};
use super::order_book::{NewOrder, OrderId, Owner, Side};
use super::rules::EconomyRules;
use super::{Economy, EconomyInbox, Receipt};
use crate::sim::command::{EconomyOp, EconomyRequest, Refusal};
use crate::sim::gameplay::Clients;
use crate::sim::output::{ReplyBody, respond};
use crate::sim::resources::Tick;

/// Applies every economy command queued this tick, in arrival order.
pub(crate) fn apply_economy_commands(world: &mut World) {
    let mut requests = std::mem::take(&mut world.resource_mut::<EconomyInbox>().requests);
    let tick = world.resource::<Tick>().0;
    for &(client, request) in &requests {
        let joined = world.resource::<Clients>().entity(client).is_some();
        let body = if joined {
            world.resource_scope(|world, rules: Mut<EconomyRules>| {
                let mut economy = world.resource_mut::<Economy>();
                answer(&mut economy, &rules, PlayerId(client.0), request, tick)
            })
        } else {
            ReplyBody::Refused(Refusal::NotJoined)
        };
        respond(world, client, body);
    }
    requests.clear();
    world.resource_mut::<EconomyInbox>().requests = requests;
}

/// The reply to `request`: the recorded one for a repeated key, or a fresh outcome.
fn answer(
    economy: &mut Economy,
    rules: &EconomyRules,
    player: PlayerId,
    request: EconomyRequest,
    tick: u64,
) -> ReplyBody {
    let key = IdempotencyKey(request.key);
    let fingerprint = fingerprint(&request.op);
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

/// A stable digest of what a command asks for.
fn fingerprint(op: &EconomyOp) -> u64 {
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
    };
    print.finish()
}

fn execute(
    economy: &mut Economy,
    rules: &EconomyRules,
    player: PlayerId,
    request: EconomyRequest,
    tick: u64,
) -> Result<ReplyBody, Refusal> {
    let reference = request.key as u64;
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
    }
}

/// The refusal a ledger error stands for.
fn refusal(error: &LedgerError) -> Refusal {
    match error {
        LedgerError::InsufficientFunds { .. } => Refusal::InsufficientFunds,
        _ => Refusal::InvalidAmount,
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
    .map_err(|e| refusal(&e))?;
    let committed = tx.commit().map_err(|e| refusal(&e))?;
    Ok(ReplyBody::Transferred {
        entry: committed.first_seq,
    })
}

/// A market order as asked for.
#[derive(Debug, Clone, Copy)]
struct Order {
    item: u16,
    side: Side,
    price: i64,
    quantity: u32,
    lifetime_s: Option<u32>,
}

fn place(
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
    let tradeable = rules
        .currencies
        .get(usize::from(item_rule.currency.0))
        .is_some_and(|c| c.0);
    if !tradeable {
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
                .map_err(|e| refusal(&e))?;
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
        .map_err(|e| refusal(&e))?;
    Ok(ReplyBody::OrderPlaced {
        order: id.0,
        filled: placed.filled,
        resting: placed.resting,
    })
}

fn cancel(economy: &mut Economy, player: PlayerId, id: OrderId, tick: u64) -> Result<ReplyBody, Refusal> {
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
    give_back(&mut tx, inventories, id, meta, cancelled.remaining).map_err(|e| refusal(&e))?;
    tx.commit().map_err(|e| refusal(&e))?;
    markets.forget_if_done(id);
    Ok(ReplyBody::OrderCancelled {
        order: id.0,
        remaining: cancelled.remaining,
    })
}
