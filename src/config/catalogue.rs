//! The names the economy's durable state refers to by place: currencies and items, each by its
//! place in name order. Balances, holdings, orders and journal records carry that place, not the
//! name, so an edit that moves a name would hand one currency's balances, or one item's holdings,
//! to another. While the server runs the names are fixed; at a start, new names may follow the
//! ones the store already refers to.

use super::Config;
use super::source::Checker;

/// The names of the currencies and of the items, each list in name order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Catalogue {
    /// Currency names; a currency's place here is its id.
    pub currencies: Vec<String>,
    /// Item names; an item's place here is its id.
    pub items: Vec<String>,
}

impl Catalogue {
    /// The names `config` defines.
    pub fn of(config: &Config) -> Catalogue {
        Catalogue {
            currencies: config.economy.currencies.currencies.keys().cloned().collect(),
            items: config.economy.items.items.keys().cloned().collect(),
        }
    }
}

/// What an edit may do to the names in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamesMay {
    /// Nothing: a reload while the server runs, whose economy holds the names' places in memory.
    StayAsTheyAre,
    /// Grow at the end: a start over a store, which refers to the places it knows and to no other.
    GrowAtTheEnd,
}

/// Refuses `names` (the `table` of the file being checked, in name order) unless every name of
/// `kept` keeps its place and, unless `may` allows new names after them, nothing is added.
pub(crate) fn check_places<'n>(
    check: &mut Checker<'_>,
    table: &str,
    kept: &[String],
    names: impl Iterator<Item = &'n String>,
    may: NamesMay,
) {
    let names: Vec<&String> = names.collect();
    let refers =
        "the economy's balances, holdings, orders and journal refer to each by its place in name order";
    let last = kept
        .last()
        .map_or(String::new(), |name| format!(" after `{name}`"));
    for (place, kept_name) in kept.iter().enumerate() {
        if names.get(place) == Some(&kept_name) {
            continue;
        }
        match (may, names.contains(&kept_name)) {
            (_, false) => check.refuse(
                table,
                format!("`{kept_name}` cannot be removed or renamed: {refers}"),
            ),
            (NamesMay::GrowAtTheEnd, true) => {
                // Every name before `place` is where it was, so the one that moved here is new.
                let newcomer = names.get(place).map_or("", |name| name.as_str());
                check.refuse(
                    &format!("{table}.{newcomer}"),
                    format!("`{newcomer}` would take the place of `{kept_name}`: {refers}; a new name must sort{last}"),
                );
            }
            (NamesMay::StayAsTheyAre, true) => break,
        }
        // One refusal says it; the places after the first moved one all move.
        return;
    }
    if may == NamesMay::StayAsTheyAre && names.len() != kept.len() {
        let first_new = names.iter().find(|name| !kept.contains(name));
        let key = first_new.map_or(table.to_owned(), |name| format!("{table}.{name}"));
        check.refuse(
            &key,
            format!("names can be added only at a restart, while the server runs {refers}; a new name must sort{last}"),
        );
    }
}
