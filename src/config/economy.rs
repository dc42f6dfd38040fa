//! `assets/economy/`: currencies (`currencies.toml`), the item catalogue (`items.toml`), the market
//! (`market.toml`: fee, order lifetime, candles) and what every player has (`players.toml`:
//! inventory slots, how long idempotency keys are remembered). Amounts are integers in a
//! currency's minor units; items name the currency of their base price.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::catalogue::{NamesMay, check_places};
use super::source::Checker;

/// Everything under `assets/economy/`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EconomyConfig {
    /// `economy/currencies.toml`.
    pub currencies: CurrenciesConfig,
    /// `economy/items.toml`.
    pub items: ItemsConfig,
    /// `economy/market.toml`.
    pub market: MarketConfig,
    /// `economy/players.toml`.
    pub players: PlayersConfig,
    /// `economy/exchange.toml`.
    pub exchange: ExchangeConfig,
    /// `economy/auctions.toml`.
    pub auctions: AuctionsConfig,
}

/// `economy/auctions.toml`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuctionsConfig {
    /// Fee on the seller's proceeds, in basis points, paid to the fee account.
    pub fee_bps: u32,
    /// Shortest auction, in hours of game time.
    pub min_duration_h: u32,
    /// Longest auction, in hours of game time.
    pub max_duration_h: u32,
}

/// `economy/exchange.toml`: one `[pairs.NAME]` table per currency pair the house exchanges.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeConfig {
    /// Pairs by name.
    pub pairs: BTreeMap<String, PairConfig>,
}

/// One `[pairs.NAME]` table: the house buys `base` and sells it for `quote`, both ways.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairConfig {
    /// A currency from `currencies.toml`.
    pub base: String,
    /// Another currency from `currencies.toml`.
    pub quote: String,
    /// Mid price: minor units of `quote` for one million minor units of `base`.
    pub quote_per_million_base: i64,
    /// Distance between the house's buy and sell price, in basis points of the mid (half on
    /// each side).
    pub spread_bps: u32,
    /// Fee on what the player receives, in basis points, paid to the fee account.
    pub fee_bps: u32,
}

/// `economy/market.toml`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketConfig {
    /// Fee on the seller's proceeds of every fill, in basis points (250 = 2.5 %), paid to the fee
    /// account.
    pub fee_bps: u32,
    /// Lifetime of an order that names none.
    pub default_order_lifetime_s: u32,
    /// Longest lifetime an order may ask for.
    pub max_order_lifetime_s: u32,
    /// Length of one OHLCV candle.
    pub candle_interval_s: u32,
    /// Candles kept per item.
    pub candles_kept: u32,
    /// `[makers]`: automated traders that quote every stackable item.
    #[serde(default)]
    pub makers: MakersConfig,
}

/// `[makers]` of `market.toml`: market makers that learn prices from their fills.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MakersConfig {
    /// Market makers (0: none).
    pub count: u32,
    /// Minted to each maker, per currency an item is priced in, when the world starts.
    pub budget_minor: i64,
    /// Units of each stackable item each maker starts with.
    pub units_per_item: u32,
    /// Time between two quotes of one maker.
    pub quote_interval_s: u32,
    /// Width of a maker's first price belief, in percent of the item's base price.
    pub initial_spread_pct: u32,
    /// How far a fill moves the belief towards its price (and narrows it), in percent.
    pub learning_pct: u32,
    /// Units in each quote.
    pub order_units: u32,
}

impl Default for MakersConfig {
    fn default() -> Self {
        MakersConfig {
            count: 0,
            budget_minor: 10_000_000,
            units_per_item: 50,
            quote_interval_s: 5,
            initial_spread_pct: 20,
            learning_pct: 20,
            order_units: 3,
        }
    }
}

/// `economy/players.toml`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlayersConfig {
    /// Inventory slots: a stack (up to the item's `max_stack`) or a unique item takes one.
    pub inventory_slots: u32,
    /// How long a mutating command's idempotency key is remembered (game time).
    pub idempotency_window_s: u32,
    /// Units of items (names from `items.toml`) a player starts with on first entering the world;
    /// each unit of an item that is not stackable is a unique item of its own.
    #[serde(default)]
    pub starting_items: BTreeMap<String, u32>,
    /// The most market orders one player may have open at once.
    #[serde(default = "default_max_open_orders")]
    pub max_open_orders: u32,
    /// The most trade proposals one player may have standing as their proposer at once.
    #[serde(default = "default_max_open_trades")]
    pub max_open_trades: u32,
    /// The most auctions one player may run at once.
    #[serde(default = "default_max_open_auctions")]
    pub max_open_auctions: u32,
}

fn default_max_open_orders() -> u32 {
    100
}

fn default_max_open_trades() -> u32 {
    20
}

fn default_max_open_auctions() -> u32 {
    20
}

/// `economy/currencies.toml`: one `[currencies.NAME]` table per currency.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CurrenciesConfig {
    /// Currencies by name.
    pub currencies: BTreeMap<String, CurrencyConfig>,
}

/// One `[currencies.NAME]` table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CurrencyConfig {
    /// Decimal digits of the minor unit (2: amounts are hundredths).
    pub minor_unit_digits: u8,
    /// Whether players may trade it with each other.
    pub tradeable: bool,
    /// Minted into a player's wallet when the player first enters the world.
    #[serde(default)]
    pub starting_balance_minor: i64,
}

/// `economy/items.toml`: one `[items.NAME]` table per item kind.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemsConfig {
    /// Item kinds by name.
    pub items: BTreeMap<String, ItemConfig>,
}

/// Item rarity, from common to legendary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rarity {
    /// Everyday goods.
    Common,
    /// Slightly better than common.
    Uncommon,
    /// Hard to find.
    Rare,
    /// Very hard to find.
    Epic,
    /// Unique-grade.
    Legendary,
}

/// One `[items.NAME]` table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemConfig {
    /// Free-form grouping for designers and market filters (`resource`, `weapon`, ...).
    pub category: String,
    /// Tier, 1 (basic) to 10.
    pub tier: u8,
    /// How rare it is.
    pub rarity: Rarity,
    /// Whether several of it share one inventory slot.
    pub stackable: bool,
    /// Most units in one stack (1 when not stackable).
    pub max_stack: u32,
    /// Reference price in minor units of `price_currency`.
    pub base_price_minor: i64,
    /// Name of a currency in `currencies.toml`.
    pub price_currency: String,
}

/// Highest `base_price_minor`. Market makers quote up to about 1.6 times an item's price for up to
/// 1000 units and scale prices by percentages, which stays far inside `i64` below this bound.
const MAX_BASE_PRICE_MINOR: i64 = 1_000_000_000_000;

impl CurrenciesConfig {
    /// Checks every currency, and that the names in force (`kept`) keep their places.
    pub(crate) fn validate(&self, check: &mut Checker<'_>, kept: Option<(&[String], NamesMay)>) {
        check.not_empty("currencies", self.currencies.len());
        check.indexable("currencies", self.currencies.len());
        if let Some((kept, may)) = kept {
            check_places(check, "currencies", kept, self.currencies.keys(), may);
        }
        for (name, currency) in &self.currencies {
            check.within(
                &format!("currencies.{name}.minor_unit_digits"),
                currency.minor_unit_digits,
                0,
                8,
            );
            check.within(
                &format!("currencies.{name}.starting_balance_minor"),
                currency.starting_balance_minor,
                0,
                1_000_000_000_000,
            );
        }
    }
}

impl ItemsConfig {
    /// Checks every item, and that the names in force (`kept`) keep their places; currency names
    /// are checked only when `currencies` parsed.
    pub(crate) fn validate(
        &self,
        check: &mut Checker<'_>,
        currencies: Option<&CurrenciesConfig>,
        kept: Option<(&[String], NamesMay)>,
    ) {
        check.indexable("items", self.items.len());
        if let Some((kept, may)) = kept {
            check_places(check, "items", kept, self.items.keys(), may);
        }
        for (name, item) in &self.items {
            let key = |field: &str| format!("items.{name}.{field}");
            check.within(&key("tier"), item.tier, 1, 10);
            if item.stackable {
                check.within(&key("max_stack"), item.max_stack, 1, 1_000_000);
            } else if item.max_stack != 1 {
                check.refuse(
                    &key("max_stack"),
                    format!(
                        "must be 1 for an item that is not stackable, got {}",
                        item.max_stack
                    ),
                );
            }
            check.within(
                &key("base_price_minor"),
                item.base_price_minor,
                1,
                MAX_BASE_PRICE_MINOR,
            );
            if let Some(currencies) = currencies {
                check.one_of(
                    &key("price_currency"),
                    &item.price_currency,
                    "currency",
                    currencies.currencies.keys(),
                );
            }
        }
    }
}

impl MarketConfig {
    pub(crate) fn validate(&self, check: &mut Checker<'_>) {
        check.within("fee_bps", self.fee_bps, 0, 5_000);
        check.within("max_order_lifetime_s", self.max_order_lifetime_s, 1, 30 * 86_400);
        check.within(
            "default_order_lifetime_s",
            self.default_order_lifetime_s,
            1,
            self.max_order_lifetime_s,
        );
        check.within("candle_interval_s", self.candle_interval_s, 1, 86_400);
        let makers = &self.makers;
        check.within("makers.count", makers.count, 0, 100);
        check.within("makers.budget_minor", makers.budget_minor, 0, 1_000_000_000_000);
        check.within("makers.units_per_item", makers.units_per_item, 0, 1_000_000);
        check.within("makers.quote_interval_s", makers.quote_interval_s, 1, 3_600);
        check.within("makers.initial_spread_pct", makers.initial_spread_pct, 1, 100);
        check.within("makers.learning_pct", makers.learning_pct, 1, 100);
        check.within("makers.order_units", makers.order_units, 1, 1_000);
        check.within("candles_kept", self.candles_kept, 1, 10_000);
    }
}

impl PlayersConfig {
    /// Checks the numbers, and the starting items against `items` when it parsed.
    pub(crate) fn validate(&self, check: &mut Checker<'_>, items: Option<&ItemsConfig>) {
        check.within("inventory_slots", self.inventory_slots, 1, 10_000);
        check.within("idempotency_window_s", self.idempotency_window_s, 1, 30 * 86_400);
        check.within("max_open_orders", self.max_open_orders, 1, 100_000);
        check.within("max_open_trades", self.max_open_trades, 1, 100_000);
        check.within("max_open_auctions", self.max_open_auctions, 1, 100_000);
        for (name, &units) in &self.starting_items {
            let key = format!("starting_items.{name}");
            check.within(&key, units, 1, 1_000_000);
            if let Some(items) = items {
                check.one_of(&key, name, "item", items.items.keys());
            }
        }
        if let Some(items) = items {
            self.validate_fullest_stack(check, items);
            self.validate_unique_starts(check, items);
        }
    }

    /// Refuses slots that could hold as many units of one item as an inventory can count: a
    /// player's units of an item (held, escrowed and still to come) are each a `u32`, bounded only
    /// by its slots, and a buy order's slot count stops at `u32::MAX` units, so exactly that many
    /// would let one more order through.
    fn validate_fullest_stack(&self, check: &mut Checker<'_>, items: &ItemsConfig) {
        let Some((name, item)) = items.items.iter().max_by_key(|(_, item)| item.max_stack) else {
            return;
        };
        let units = u64::from(self.inventory_slots) * u64::from(item.max_stack);
        if units >= u64::from(u32::MAX) {
            check.refuse(
                "inventory_slots",
                format!(
                    "{} slots of items.{name}.max_stack ({}) in economy/items.toml hold {units} units; \
                     inventory_slots × max_stack must be below {}",
                    self.inventory_slots,
                    item.max_stack,
                    u32::MAX
                ),
            );
        }
    }

    /// Refuses starting items that give more unique items than there are slots: every unit of an
    /// item that is not stackable is a unique item of its own, in a slot of its own.
    fn validate_unique_starts(&self, check: &mut Checker<'_>, items: &ItemsConfig) {
        let unique: u64 = self
            .starting_items
            .iter()
            .filter(|(name, _)| items.items.get(*name).is_some_and(|item| !item.stackable))
            .map(|(_, &units)| u64::from(units))
            .sum();
        if unique > u64::from(self.inventory_slots) {
            check.refuse(
                "starting_items",
                format!(
                    "gives {unique} unique items (one per unit of an item that is not stackable, \
                     each in a slot of its own), more than inventory_slots ({})",
                    self.inventory_slots
                ),
            );
        }
    }
}

impl ExchangeConfig {
    /// Checks every pair; currency names only when `currencies` parsed.
    pub(crate) fn validate(&self, check: &mut Checker<'_>, currencies: Option<&CurrenciesConfig>) {
        for (name, pair) in &self.pairs {
            let key = |field: &str| format!("pairs.{name}.{field}");
            if let Some(currencies) = currencies {
                check.one_of(&key("base"), &pair.base, "currency", currencies.currencies.keys());
                check.one_of(
                    &key("quote"),
                    &pair.quote,
                    "currency",
                    currencies.currencies.keys(),
                );
            }
            if pair.base == pair.quote {
                check.refuse(&key("quote"), "must differ from base");
            }
            let same_currencies = |other: &&PairConfig| {
                (&other.base, &other.quote) == (&pair.base, &pair.quote)
                    || (&other.base, &other.quote) == (&pair.quote, &pair.base)
            };
            if let Some((first, _)) = self
                .pairs
                .iter()
                .take_while(|(other, _)| *other != name)
                .find(|(_, other)| same_currencies(other))
            {
                check.refuse(
                    &key("quote"),
                    format!("pairs.{first} already exchanges {} and {}", pair.base, pair.quote),
                );
            }
            check.within(
                &key("quote_per_million_base"),
                pair.quote_per_million_base,
                1,
                1_000_000_000_000,
            );
            check.within(&key("spread_bps"), pair.spread_bps, 0, 5_000);
            check.within(&key("fee_bps"), pair.fee_bps, 0, 5_000);
        }
    }
}

impl AuctionsConfig {
    pub(crate) fn validate(&self, check: &mut Checker<'_>) {
        check.within("fee_bps", self.fee_bps, 0, 5_000);
        check.within("max_duration_h", self.max_duration_h, 1, 24 * 30);
        check.within("min_duration_h", self.min_duration_h, 1, self.max_duration_h);
    }
}
