//! The economy's invariants over random sequences of 10,000 commands by 30 players (transfers,
//! market orders and cancels, trade offers, counters, acceptances and cancels, exchanges with the
//! house, auctions created and bid on) while two market makers quote every item, many of them
//! refused (overdrafts, unknown recipients, reused keys with other payloads, orders and offers for
//! more than a player has, stale trade versions): after every tick, per currency, wallets + reservations + fees == minted −
//! burned and nothing is negative; no order book is crossed; every unit of every item is held or
//! escrowed by exactly one player (trading moves items, never makes or loses them); every unique
//! item has one owner; and at the end, replaying the ledger entries the ticks handed out from an
//! empty ledger reproduces every balance exactly. Every 40 ticks a reload may reprice an item in
//! the other currency or change the tick rate, which what is open must follow.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use necpsim::sim::economy;
use necpsim::sim::economy::ledger::{Entry, Ledger};
use necpsim::sim::{ClientId, Command, EconomyOp, EconomyRequest, Outbox, ReplyBody, Sim, SimEvent};
use proptest::prelude::*;
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

use common::economy_ops::{ITEMS, PLAYERS, random_op};

const OPERATIONS: usize = 10_000;

/// Runs the sequence of `seed` and checks every invariant after every tick.
fn run(seed: u64) -> Result<(), TestCaseError> {
    let mut config = common::load_bundled();
    config.economy.players.inventory_slots = 12;
    config.economy.market.makers.count = 2;
    config
        .economy
        .players
        .starting_items
        .insert("weapon".to_owned(), 2);
    config.economy.market.makers.quote_interval_s = 1;
    let mut sim = Sim::new(Arc::new(config.clone()));
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut outbox = Outbox::default();
    let mut journal: Vec<Entry> = Vec::new();
    let mut records = Vec::new();
    for player in 0..PLAYERS {
        sim.submit(ClientId(player), Command::Join).expect("room");
    }
    sim.step();
    sim.drain_outputs(&mut outbox);
    journal.extend_from_slice(&outbox.ledger);
    records.extend(outbox.economy_record().cloned());
    let starting: BTreeMap<u16, u64> = (0..ITEMS).map(|item| (item, units_of(&sim, item))).collect();

    let mut orders: Vec<u64> = Vec::new();
    let mut trades: Vec<u64> = Vec::new();
    let mut responders: BTreeMap<u64, (u64, u32)> = BTreeMap::new();
    let mut swapped = 0u64;
    let mut traded = 0u64;
    let mut sent = 0;
    let mut keys: Vec<(u64, u128)> = Vec::new();
    let mut ticks = 0u32;
    let mut repriced_orders = 0;
    while sent < OPERATIONS {
        // Now and then a designer's reload: an item priced in the other currency, or another
        // tick rate (what is open carries over to the new rules).
        ticks += 1;
        if ticks.is_multiple_of(40) {
            reload(&mut sim, &mut config, &mut rng);
            repriced_orders += priced_otherwise(&sim);
        }
        for _ in 0..rng.next_u32() % 40 {
            let mut player = u64::from(rng.next_u32()) % PLAYERS;
            let op = random_op(&mut rng, &orders, &trades);
            // Answers to a proposal mostly come from the player it was made to.
            let mut op = op;
            let answered = match &op {
                EconomyOp::AcceptTrade { trade, .. } => Some(*trade),
                EconomyOp::CounterTrade(counter) => Some(counter.trade),
                _ => None,
            };
            if let Some(trade) = answered
                && let Some(&(responder, version)) = responders.get(&trade)
                && !rng.next_u32().is_multiple_of(4)
            {
                player = responder;
                if let EconomyOp::AcceptTrade {
                    version: accepted, ..
                } = &mut op
                {
                    *accepted = version;
                }
            }
            // Now and then a key used before, with whatever payload this is.
            let key = match keys.get(rng.next_u32() as usize % 64) {
                Some(&(owner, key)) if owner == player && rng.next_u32().is_multiple_of(8) => key,
                _ => u128::from(rng.next_u64()),
            };
            keys.push((player, key));
            sim.submit(ClientId(player), Command::Economy(EconomyRequest { key, op }))
                .expect("room");
            sent += 1;
        }
        sim.step();
        sim.drain_outputs(&mut outbox);
        journal.extend_from_slice(&outbox.ledger);
        records.extend(outbox.economy_record().cloned());
        for reply in &outbox.replies {
            match reply.body {
                ReplyBody::OrderPlaced {
                    order,
                    filled,
                    resting,
                } => {
                    traded += u64::from(filled);
                    if resting > 0 {
                        orders.push(order);
                    }
                }
                ReplyBody::TradeProposed { trade, .. } => trades.push(trade),
                ReplyBody::TradeDone { .. } => swapped += 1,
                _ => {}
            }
        }
        for event in &outbox.events {
            if let SimEvent::TradeProposed {
                trade,
                responder,
                version,
                ..
            } = *event
            {
                responders.insert(trade, (responder.0, version));
            }
        }
        check(&sim, &starting)?;
        prop_assert_eq!(
            priced_otherwise(&sim),
            0,
            "an order rests in another currency than its item's"
        );
    }
    prop_assert!(repriced_orders > 0, "no reload closed an order");
    let replayed = Ledger::from_entries(&journal).map_err(|e| TestCaseError::fail(format!("replay: {e}")))?;
    prop_assert!(
        replayed.state_eq(&sim.economy().ledger),
        "replaying the ledger gives other balances"
    );
    // The journal records alone rebuild the same economy, writing the same ledger.
    let mut rewritten = Vec::new();
    let rebuilt = economy::replay(records, |_, entries| rewritten.extend_from_slice(entries))
        .map_err(|e| TestCaseError::fail(format!("journal replay: {e}")))?;
    prop_assert_eq!(rebuilt.economy.digest(), sim.economy().digest());
    prop_assert_eq!(rebuilt.tick, sim.tick());
    prop_assert!(rewritten == journal, "the replay wrote another ledger");
    let refused = sim.counters().refused_commands;
    prop_assert!(refused > 1_000, "refusals exercised: {refused}");
    prop_assert!(journal.len() > 1_000, "entries written: {}", journal.len());
    prop_assert!(traded > 500, "units traded: {traded}");
    prop_assert!(swapped > 3, "trades carried out: {swapped}");
    Ok(())
}

/// Edits `config` as a designer might while the server runs and applies it: one stackable item
/// repriced in the other currency, or the tick rate changed, or both.
fn reload(sim: &mut Sim, config: &mut necpsim::config::Config, rng: &mut ChaCha8Rng) {
    let choice = rng.next_u32() % 4;
    if choice & 1 == 1 {
        let stackable: Vec<String> = (config.economy.items.items.iter())
            .filter(|(_, item)| item.stackable)
            .map(|(name, _)| name.clone())
            .collect();
        let name = &stackable[rng.next_u32() as usize % stackable.len()];
        let item = config.economy.items.items.get_mut(name).expect("listed");
        item.price_currency = if item.price_currency == "cryptos" {
            "eurodollars"
        } else {
            "cryptos"
        }
        .to_owned();
    }
    if choice & 2 == 2 {
        config.server.tick.rate_hz = [30.0, 45.0, 60.0][rng.next_u32() as usize % 3];
    }
    sim.apply_config(Arc::new(config.clone()));
}

/// Open orders in another currency than their item's price currency in the configuration in force.
fn priced_otherwise(sim: &Sim) -> usize {
    let config = sim.config();
    let currencies: Vec<&String> = config.economy.currencies.currencies.keys().collect();
    let priced: Vec<Option<usize>> = (config.economy.items.items.values())
        .map(|item| currencies.iter().position(|&name| *name == item.price_currency))
        .collect();
    (sim.economy().markets.orders())
        .filter(|(_, meta)| priced[usize::from(meta.item)] != Some(usize::from(meta.currency.0)))
        .count()
}

/// Units of `item` held or escrowed by any player.
fn units_of(sim: &Sim, item: u16) -> u64 {
    sim.economy()
        .inventories
        .iter()
        .filter_map(|(_, inventory)| inventory.stacks.get(&item))
        .map(|h| u64::from(h.held) + u64::from(h.escrowed))
        .sum()
}

fn check(sim: &Sim, starting: &BTreeMap<u16, u64>) -> Result<(), TestCaseError> {
    let economy = sim.economy();
    economy
        .ledger
        .check_invariants()
        .map_err(|e| TestCaseError::fail(format!("ledger: {e:?}")))?;
    for item in 0..ITEMS {
        if let Some(book) = economy.markets.book(item)
            && let (Some(bid), Some(ask)) = (book.best_bid(), book.best_ask())
        {
            prop_assert!(bid < ask, "book {item} crossed: {bid} >= {ask}");
        }
        prop_assert_eq!(
            units_of(sim, item),
            starting[&item],
            "units of item {} made or lost",
            item
        );
    }
    let mut uniques = BTreeSet::new();
    for (_, inventory) in economy.inventories.iter() {
        for &(id, _) in inventory.uniques.iter().chain(&inventory.escrowed_uniques) {
            prop_assert!(uniques.insert(id), "unique item {id} has two owners");
        }
    }
    prop_assert_eq!(uniques.len() as u64, 2 * PLAYERS, "unique items made or lost");
    Ok(())
}

proptest! {
    // Fixed seeds: the liveness floors below (trades carried out, units traded) hold for these
    // sequences, where a random one now and then falls short of them and would fail CI by chance.
    #![proptest_config(ProptestConfig {
        cases: 3,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x6e65_6370),
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_trading_keeps_every_invariant(seed in any::<u64>()) {
        run(seed)?;
    }
}
