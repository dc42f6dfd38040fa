//! [`EconomyRules`]: the economy configuration resolved for the tick: currencies and items by
//! index, the market fee, lifetimes and windows in ticks.

use bevy_ecs::resource::Resource;

use super::ledger::CurrencyId;
use crate::config::{Config, MakersConfig};
use crate::sim::resources::{ResolvedRules, TickRate};

/// One item kind, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ItemRule {
    /// Whether units share slots (and may be traded on the market).
    pub stackable: bool,
    /// The currency its market is priced in.
    pub currency: CurrencyId,
}

/// A currency pair of the house exchange, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PairRule {
    /// The currency the house buys and sells.
    pub base: CurrencyId,
    /// The currency it prices it in.
    pub quote: CurrencyId,
    /// Mid price: quote minor units per million base minor units.
    pub mid: i64,
    /// Spread in basis points of the mid.
    pub spread_bps: u32,
    /// Fee on what the player receives, in basis points.
    pub fee_bps: u32,
}

impl PairRule {
    /// What `amount` of `from` buys in the pair's other currency before the fee, at the house's
    /// price (mid less half the spread when the player sells base, plus half when it buys base);
    /// `None` when `from` is not in the pair.
    pub fn convert(&self, from: CurrencyId, amount: i64) -> Option<i64> {
        let half_spread = i128::from(self.spread_bps);
        let mid = i128::from(self.mid);
        let amount = i128::from(amount);
        let out = if from == self.base {
            amount * mid * (20_000 - half_spread) / (20_000 * 1_000_000)
        } else if from == self.quote {
            let ask = mid * (20_000 + half_spread);
            amount * 20_000 * 1_000_000 / ask.max(1)
        } else {
            return None;
        };
        i64::try_from(out).ok()
    }
}

/// Which version of the economy's own rules (the code, not the configuration) applies a tick.
/// Each journal record is stored with the version that applied it and replayed under the same
/// one, so a fix to what the economy accepts never rewrites what players were told had happened.
/// The version also names the bytes of a record: a change to them takes a new version, and
/// `store::decode_record` keeps reading the older ones. `tests/store_upgrades.rs` replays a store
/// of every version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RulesVersion(pub u32);

impl RulesVersion {
    /// The rules of every record stored before versions were.
    pub const FIRST: RulesVersion = RulesVersion(1);
    /// Goods that list one currency or item twice are refused; a trade's room check counts the
    /// proposer's outgoing units out of its escrow and the responder's out of what it holds; an
    /// idempotency key's fingerprint covers a trade's unique item; auctions refuse currencies
    /// that may not change hands; each currency reward is minted on its own, zero ones skipped.
    pub const SECOND: RulesVersion = RulesVersion(2);
    /// Each player's open market orders, trade proposals and auctions are capped
    /// ([`EconomyRules::open_limits`], stored beside a record's rules from this version on).
    pub const THIRD: RulesVersion = RulesVersion(3);
    /// What is open follows a change of the rules (`economy::carry_over`): an item whose price
    /// currency changed has its orders in other currencies closed (and the first change from
    /// earlier rules closes those they left), and a change of tick rate keeps every deadline and
    /// every idempotency key's age in time; accepting a trade counts the units of an item listed
    /// twice together.
    pub const FOURTH: RulesVersion = RulesVersion(4);
    /// Slots are counted for a player that holds nothing yet, as for any other: a trade no longer
    /// gives it more than fits (earlier rules let it receive anything), and a bid is refused when
    /// the auction's goods would not fit in the bidder's slots, as a buy order is.
    pub const FIFTH: RulesVersion = RulesVersion(5);
    /// The rules this build applies to new ticks.
    pub const CURRENT: RulesVersion = RulesVersion::FIFTH;
}

impl Default for RulesVersion {
    fn default() -> RulesVersion {
        RulesVersion::CURRENT
    }
}

/// The most of each kind one player may have open at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OpenLimits {
    /// Market orders.
    pub orders: u32,
    /// Trade proposals, counted for their proposer.
    pub trades: u32,
    /// Auctions, counted for their seller.
    pub auctions: u32,
}

impl Default for OpenLimits {
    /// No limit: what records of the rules before [`RulesVersion::THIRD`] applied.
    fn default() -> OpenLimits {
        OpenLimits {
            orders: u32::MAX,
            trades: u32::MAX,
            auctions: u32::MAX,
        }
    }
}

/// Everything economy systems read from the configuration.
#[derive(Debug, Clone, PartialEq, Default, Resource, serde::Serialize, serde::Deserialize)]
pub struct EconomyRules {
    /// The version of the rules' code in force: the current one live, a record's own in a replay.
    /// Not part of a record's bytes; the store keeps it beside them.
    #[serde(skip)]
    pub version: RulesVersion,
    /// Currencies by index (name order): tradeable flag and starting balance.
    pub currencies: Vec<(bool, i64)>,
    /// Items by index (name order).
    pub items: Vec<ItemRule>,
    /// Each item's `max_stack`, by index.
    pub max_stack: Vec<u32>,
    /// Market fee in basis points.
    pub fee_bps: u32,
    /// Order lifetime when none is asked for.
    pub default_order_ticks: u64,
    /// Longest order lifetime.
    pub max_order_ticks: u64,
    /// Candle length.
    pub candle_interval_ticks: u64,
    /// Candles kept per item.
    pub candles_kept: usize,
    /// Inventory slots per player.
    pub inventory_slots: u64,
    /// How long idempotency keys are remembered.
    pub idempotency_window_ticks: u64,
    /// The tick rate the tick counts were computed for.
    pub rate_hz: f32,
    /// Units of items every new player starts with, by item index.
    pub starting_items: Vec<(u16, u32)>,
    /// The house exchange's pairs.
    pub pairs: Vec<PairRule>,
    /// Auction fee in basis points.
    pub auction_fee_bps: u32,
    /// Shortest and longest auction, in ticks.
    pub auction_ticks: [u64; 2],
    /// Each item's base price in minor units, by index.
    pub base_price: Vec<i64>,
    /// The market makers.
    pub makers: MakersConfig,
    /// Per-player limits on what is open. Not in the serialized rules, whose bytes the records
    /// of earlier versions fix: the store keeps them beside (`store::encode_record`).
    #[serde(skip)]
    pub open_limits: OpenLimits,
    /// Ticks between two quotes of one maker.
    pub maker_interval_ticks: u64,
}

impl ResolvedRules for EconomyRules {
    fn resolve(config: &Config, rate: TickRate) -> EconomyRules {
        EconomyRules::resolve(config, rate)
    }

    fn rate_hz(&self) -> f32 {
        self.rate_hz
    }
}

impl EconomyRules {
    /// Whether `currency` exists and may change hands between players.
    pub(crate) fn tradeable(&self, currency: CurrencyId) -> bool {
        self.currencies
            .get(usize::from(currency.0))
            .is_some_and(|&(tradeable, _)| tradeable)
    }

    /// Resolves `config` for a world ticking at `rate`.
    pub fn resolve(config: &Config, rate: TickRate) -> EconomyRules {
        let economy = &config.economy;
        let currencies = economy
            .currencies
            .currencies
            .values()
            .map(|c| (c.tradeable, c.starting_balance_minor))
            .collect();
        let currency_index = |name: &str| {
            economy
                .currencies
                .currencies
                .keys()
                .position(|n| n == name)
                .unwrap_or(0) as u16
        };
        let items = economy
            .items
            .items
            .values()
            .map(|item| ItemRule {
                stackable: item.stackable,
                currency: CurrencyId(currency_index(&item.price_currency)),
            })
            .collect();
        let seconds = |s: u32| rate.ticks_in(s as f32);
        EconomyRules {
            version: RulesVersion::CURRENT,
            currencies,
            items,
            max_stack: economy
                .items
                .items
                .values()
                .map(|item| item.max_stack.max(1))
                .collect(),
            fee_bps: economy.market.fee_bps,
            default_order_ticks: seconds(economy.market.default_order_lifetime_s),
            max_order_ticks: seconds(economy.market.max_order_lifetime_s),
            candle_interval_ticks: seconds(economy.market.candle_interval_s),
            candles_kept: economy.market.candles_kept as usize,
            inventory_slots: u64::from(economy.players.inventory_slots),
            idempotency_window_ticks: seconds(economy.players.idempotency_window_s),
            rate_hz: rate.0,
            starting_items: economy
                .players
                .starting_items
                .iter()
                .filter_map(|(name, &units)| {
                    let index = economy.items.items.keys().position(|n| n == name)?;
                    Some((index as u16, units))
                })
                .collect(),
            auction_fee_bps: economy.auctions.fee_bps,
            base_price: economy
                .items
                .items
                .values()
                .map(|item| item.base_price_minor)
                .collect(),
            makers: economy.market.makers.clone(),
            open_limits: OpenLimits {
                orders: economy.players.max_open_orders,
                trades: economy.players.max_open_trades,
                auctions: economy.players.max_open_auctions,
            },
            maker_interval_ticks: seconds(economy.market.makers.quote_interval_s),
            auction_ticks: [economy.auctions.min_duration_h, economy.auctions.max_duration_h]
                .map(|hours| seconds(hours.saturating_mul(3_600))),
            pairs: economy
                .exchange
                .pairs
                .values()
                .map(|pair| PairRule {
                    base: CurrencyId(currency_index(&pair.base)),
                    quote: CurrencyId(currency_index(&pair.quote)),
                    mid: pair.quote_per_million_base,
                    spread_bps: pair.spread_bps,
                    fee_bps: pair.fee_bps,
                })
                .collect(),
        }
    }

    /// The pair that exchanges `from` for `to`, either way round.
    pub fn pair(&self, from: CurrencyId, to: CurrencyId) -> Option<&PairRule> {
        self.pairs
            .iter()
            .find(|p| (p.base, p.quote) == (from, to) || (p.base, p.quote) == (to, from))
    }

    /// `seconds` as whole ticks at the rate the rules were resolved for.
    pub fn ticks_in(&self, seconds: u32) -> u64 {
        TickRate(self.rate_hz).ticks_in(seconds as f32)
    }

    /// The market fee on proceeds of `amount`, rounded down.
    pub fn fee_on(&self, amount: i64) -> i64 {
        let fee = i128::from(amount) * i128::from(self.fee_bps) / 10_000;
        i64::try_from(fee).unwrap_or(i64::MAX)
    }
}
