//! Market makers: automated traders, one account each, that keep a bid and an ask on every
//! stackable item around a price belief (a mean and a width) per item. The belief starts at the
//! item's base price; a quote that traded pulls the mean towards its price and narrows the width,
//! one that did not widens it, so their prices follow what players pay. They trade through the
//! same market as players, with the same escrow, fees and refusals.

use bevy_ecs::world::{Mut, World};
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

use super::ledger::{EntryKind, PlayerId};
use super::ops::{Order, place};
use super::order_book::{OrderId, Side};
use super::{Economy, EconomyRules};
use crate::sim::output::ReplyBody;
use crate::sim::resources::Tick;

/// Account ids of makers count down from here, among the ids no client may have.
const FIRST_MAKER: u64 = u64::MAX;
const _: () = assert!(
    FIRST_MAKER - 100 >= PlayerId::FIRST_RESERVED,
    "makers.count is at most 100"
);

/// What one maker believes an item is worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Belief {
    mean: i64,
    width: i64,
}

/// Every maker's beliefs and standing quotes, and the generator of their price jitter (their own,
/// so that the economy replays from its journal alone).
#[derive(Debug)]
pub struct Makers {
    players: Vec<PlayerId>,
    /// Per maker, per item: belief and the (bid, ask) it last placed.
    books: Vec<Vec<(Belief, [Option<Quote>; 2])>>,
    rng: ChaCha8Rng,
}

impl Makers {
    /// Hears of quotes closed by the market, not traded: `closed` holds each one's order and the
    /// units it still held, by order. The next requote learns from what such a quote sold before
    /// it was closed, as from a quote that sold that much, and nothing from one that sold none.
    pub(crate) fn quotes_closed(&mut self, closed: &[(OrderId, u32)]) {
        let quotes = self.books.iter_mut().flatten().flat_map(|(_, quotes)| quotes);
        for quote in quotes {
            let Some((id, price, units)) = *quote else {
                continue;
            };
            if let Ok(at) = closed.binary_search_by_key(&id, |&(closed, _)| closed) {
                let sold = units.saturating_sub(closed[at].1);
                *quote = (sold > 0).then_some((id, price, sold));
            }
        }
    }
}

/// Seed of the makers' generator.
const MAKERS_SEED: u64 = 0x6d61_6b65_7273;

impl Default for Makers {
    fn default() -> Self {
        Makers {
            players: Vec::new(),
            books: Vec::new(),
            rng: ChaCha8Rng::seed_from_u64(MAKERS_SEED),
        }
    }
}

impl std::hash::Hash for Makers {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (&self.players, &self.books, self.rng.get_word_pos()).hash(state);
    }
}

/// A quote a maker placed: its order, price and the units that rested.
type Quote = (OrderId, i64, u32);

impl Makers {
    /// The makers' accounts.
    pub fn players(&self) -> &[PlayerId] {
        &self.players
    }
}

/// Opens the makers' accounts on the first tick, then requotes each maker every interval.
pub(crate) fn run_market_makers(world: &mut World) {
    world.resource_scope(|world, rules: Mut<EconomyRules>| {
        let tick = world.resource::<Tick>().0;
        step(&mut world.resource_mut::<Economy>(), &rules, tick);
    });
}

/// What [`run_market_makers`] does, at `tick`.
pub(crate) fn step(economy: &mut Economy, rules: &EconomyRules, tick: u64) {
    if rules.makers.count == 0 {
        return;
    }
    if economy.makers.players.is_empty() {
        open_makers(economy, rules, tick);
    }
    let interval = rules.maker_interval_ticks.max(1);
    for maker in 0..economy.makers.players.len() {
        if (tick + maker as u64).is_multiple_of(interval) {
            requote(economy, rules, maker, tick);
        }
    }
}

fn open_makers(economy: &mut Economy, rules: &EconomyRules, tick: u64) {
    let makers = &rules.makers;
    for n in 0..u64::from(makers.count) {
        let player = PlayerId(FIRST_MAKER - n);
        economy.accounts.insert(player);
        let mut tx = economy.ledger.begin(tick);
        let mut funded = Vec::new();
        for (item, rule) in rules.items.iter().enumerate() {
            if !rule.stackable {
                continue;
            }
            if !funded.contains(&rule.currency) {
                funded.push(rule.currency);
                let _ = tx.mint(rule.currency, player, makers.budget_minor, EntryKind::Reward, 0);
            }
            economy.inventories.of_mut(player).holding_mut(item as u16).held += makers.units_per_item;
        }
        // Minting positive amounts into a fresh account cannot fail.
        let _ = tx.commit();
        let mut book = Vec::new();
        believe_in_new_items(&mut book, rules);
        economy.makers.players.push(player);
        economy.makers.books.push(book);
    }
}

/// Gives `book` a first belief, at its base price, for every item it has none for yet: every
/// item when the maker opens, and those a reload added to the catalogue since.
fn believe_in_new_items(book: &mut Vec<(Belief, [Option<Quote>; 2])>, rules: &EconomyRules) {
    let spread_pct = i64::from(rules.makers.initial_spread_pct);
    let new_prices = rules.base_price.iter().skip(book.len());
    book.extend(new_prices.map(|&price| {
        let width = percent(price, spread_pct).max(2);
        (Belief { mean: price, width }, [None, None])
    }));
}

/// Learns from the maker's last quotes, withdraws what is left of them and quotes afresh.
fn requote(economy: &mut Economy, rules: &EconomyRules, maker: usize, tick: u64) {
    let player = economy.makers.players[maker];
    let learning = i64::from(rules.makers.learning_pct);
    believe_in_new_items(&mut economy.makers.books[maker], rules);
    for item in 0..rules.items.len() {
        if !rules.items[item].stackable {
            continue;
        }
        let (mut belief, quotes) = economy.makers.books[maker][item];
        for (id, price, units) in quotes.into_iter().flatten() {
            let left = economy
                .markets
                .book(item as u16)
                .and_then(|book| book.order(id))
                .map_or(0, |order| order.remaining);
            if left < units {
                belief.mean = belief.mean.saturating_add(percent(price - belief.mean, learning));
                belief.width = percent(belief.width, 100 - learning / 2).max(2);
            } else {
                belief.width = percent(belief.width, 100 + learning / 2).min(belief.mean.max(2));
            }
            if left > 0 {
                let _ = super::ops::cancel(economy, player, id, tick);
            }
        }
        let jitter = i64::from(economy.makers.rng.next_u32() % 11) - 5;
        let centre = belief.mean.saturating_add(percent(belief.width, jitter)).max(2);
        let half = (belief.width / 2).max(1);
        let mut placed = [None, None];
        let quotes = [
            (0, Side::Buy, centre.saturating_sub(half)),
            (1, Side::Sell, centre.saturating_add(half)),
        ];
        for (slot, side, price) in quotes {
            let order = Order {
                item: item as u16,
                side,
                price: price.max(1),
                quantity: rules.makers.order_units,
                lifetime_s: None,
            };
            if let Ok(ReplyBody::OrderPlaced {
                order: id, resting, ..
            }) = place(economy, rules, player, order, tick)
                && resting > 0
            {
                placed[slot] = Some((OrderId(id), order.price, resting));
            }
        }
        economy.makers.books[maker][item] = (belief, placed);
    }
}

/// `pct` percent of `value`. Saturating: prices are bounded by the item catalogue, but a belief
/// follows what players pay, and a maker must never take the tick down with an overflow.
fn percent(value: i64, pct: i64) -> i64 {
    value.saturating_mul(pct) / 100
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_quotes_keep_only_what_they_sold_and_the_others_stay_as_they_are() {
        let belief = Belief {
            mean: 500,
            width: 100,
        };
        let quote = |id: u64| Some((OrderId(id), 500, 3));
        let mut makers = Makers {
            players: vec![PlayerId(1), PlayerId(2)],
            books: vec![
                vec![(belief, [quote(1), quote(2)]), (belief, [quote(3), None])],
                vec![(belief, [quote(4), quote(5)])],
            ],
            ..Makers::default()
        };
        // Order 2 closed with all of its 3 units left, order 4 with 1 of them.
        makers.quotes_closed(&[(OrderId(2), 3), (OrderId(4), 1)]);
        let left: Vec<Vec<[Option<Quote>; 2]>> = (makers.books.iter())
            .map(|book| book.iter().map(|&(_, quotes)| quotes).collect())
            .collect();
        assert_eq!(
            left,
            [
                vec![[quote(1), None], [quote(3), None]],
                vec![[Some((OrderId(4), 500, 2)), quote(5)]]
            ]
        );
    }
}
