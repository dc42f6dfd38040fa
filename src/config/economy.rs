//! `assets/economy/`: currencies (`currencies.toml`) and the item catalogue (`items.toml`). Amounts
//! are integers in a currency's minor units; items name the currency of their base price.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::source::Checker;

/// Everything under `assets/economy/`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EconomyConfig {
    /// `economy/currencies.toml`.
    pub currencies: CurrenciesConfig,
    /// `economy/items.toml`.
    pub items: ItemsConfig,
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

impl CurrenciesConfig {
    pub(crate) fn validate(&self, check: &mut Checker<'_>) {
        check.not_empty("currencies", self.currencies.len());
        for (name, currency) in &self.currencies {
            check.within(
                &format!("currencies.{name}.minor_unit_digits"),
                currency.minor_unit_digits,
                0,
                8,
            );
        }
    }
}

impl ItemsConfig {
    /// Checks every item; currency names are checked only when `currencies` parsed.
    pub(crate) fn validate(&self, check: &mut Checker<'_>, currencies: Option<&CurrenciesConfig>) {
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
            check.positive(&key("base_price_minor"), item.base_price_minor);
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
