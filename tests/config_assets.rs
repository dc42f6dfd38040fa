//! The designer's door: every bundled asset file loads, the documented defaults match the bundled
//! files, and every kind of bad edit is refused with the file, the line, the key and the reason.

mod common;

use necpsim::config::{ASSET_FILES, Config, ConfigError};

#[test]
fn every_bundled_asset_file_loads() {
    for relative in ASSET_FILES {
        assert!(
            common::bundled_assets().join(relative).is_file(),
            "{relative} is missing"
        );
    }
    let config = common::load_bundled();
    assert!(config.combat.weapons.weapons.contains_key("smart_pistol"));
    assert_eq!(config.economy.items.items["food"].base_price_minor, 500);
}

#[test]
fn defaults_match_the_bundled_server_and_gameplay_files() {
    let bundled = common::load_bundled();
    let defaults = Config::default();
    assert_eq!(defaults.server, bundled.server);
    assert_eq!(defaults.gameplay, bundled.gameplay);
}

/// Loads a copy of the assets after `edit`, expecting exactly one error.
fn single_error(relative: &str, from: &str, to: &str) -> ConfigError {
    let dir = common::assets_copy();
    common::edit(dir.path(), relative, from, to);
    let errors = Config::load(dir.path()).expect_err("the edit must be refused");
    assert_eq!(errors.len(), 1, "{errors}");
    let error = errors.iter().next().cloned().expect("one error");
    assert_eq!(error.file, dir.path().join(relative).display().to_string());
    error
}

#[test]
fn an_out_of_range_value_names_file_line_key_and_reason() {
    let error = single_error("combat/weapons.toml", "base_damage = 24.0", "base_damage = -5");
    assert_eq!(error.key, "weapons.smart_pistol.base_damage");
    assert_eq!(error.line, Some(5));
    assert_eq!(error.reason, "must be > 0, got -5");
    assert!(
        error
            .to_string()
            .ends_with("combat/weapons.toml:5: weapons.smart_pistol.base_damage: must be > 0, got -5")
    );
}

#[test]
fn an_unknown_key_is_refused() {
    let error = single_error("gameplay/characters.toml", "speed_mps", "sped_mps");
    assert_eq!(error.key, "player.sped_mps");
    assert_eq!(error.line, Some(5));
    assert!(
        error.reason.contains("unknown field `sped_mps`"),
        "{}",
        error.reason
    );
}

#[test]
fn a_name_that_is_not_a_bare_key_is_refused_and_named_whole() {
    // A name with a dot would read as two steps of every key naming it. The new weapon copies
    // the pistol's fields, so that its name is all that is wrong.
    let fields = "damage_type = \"physical\"\nbase_damage = 24.0\nfire_interval_ms = 250\nrange_m = 40.0\n\
                  crit_chance = 0.10\ncrit_multiplier = 1.5\nmagazine = 12\nreload_ms = 1500\n\
                  falloff_start_m = 20.0\nfalloff_min_pct = 60.0\n";
    let pistol = format!("[weapons.smart_pistol]\n{fields}");
    let error = single_error(
        "combat/weapons.toml",
        &pistol,
        &format!("[weapons.\"smart.pistol\"]\n{fields}\n{pistol}"),
    );
    assert_eq!(error.key, "weapons.\"smart.pistol\"");
    assert_eq!(error.line, Some(3));
    assert_eq!(
        error.reason,
        "a name may hold only ASCII letters, digits, `_` and `-`"
    );
    // A value of the wrong type under such a name is named whole as well, on its own line.
    let wrong_type = fields.replace("base_damage = 24.0", "base_damage = \"high\"");
    let error = single_error(
        "combat/weapons.toml",
        &pistol,
        &format!("[weapons.\"smart.pistol\"]\n{wrong_type}\n{pistol}"),
    );
    assert_eq!(error.key, "weapons.\"smart.pistol\".base_damage");
    assert_eq!(error.line, Some(5));
    // Its values are checked once the name is fixed: a bad one is not reported under a key that
    // would misread the name.
    let out_of_range = fields.replace("range_m = 40.0", "range_m = -1.0");
    let error = single_error(
        "combat/weapons.toml",
        &pistol,
        &format!("[weapons.\"smart.pistol\"]\n{out_of_range}\n{pistol}"),
    );
    assert_eq!(error.key, "weapons.\"smart.pistol\"");
    // A quote in a name is escaped in the key, which still finds the name's own line.
    let error = single_error(
        "combat/weapons.toml",
        &pistol,
        &format!("{pistol}\n[weapons.\"a\\\"b\"]\n{fields}"),
    );
    assert_eq!(error.key, "weapons.\"a\\\"b\"");
    assert_eq!(error.line, Some(15));
}

#[test]
fn a_value_of_the_wrong_type_is_refused() {
    let error = single_error("server.toml", "rate_hz = 60.0", "rate_hz = \"fast\"");
    assert_eq!(error.key, "tick.rate_hz");
    assert!(error.reason.contains("invalid type"), "{}", error.reason);
}

#[test]
fn a_realtime_priority_that_leaves_no_room_below_it_is_refused() {
    let error = single_error("server.toml", "realtime_priority = 0", "realtime_priority = 1");
    assert_eq!(error.key, "threads.realtime_priority");
    assert_eq!(
        error.reason,
        "must be 0 (off) or 2 to 99: the network and store threads run one below it"
    );
}

#[test]
fn no_snapshot_threads_at_all_is_refused() {
    let error = single_error("server.toml", "snapshot_threads = 1", "snapshot_threads = 0");
    assert_eq!(error.key, "threads.snapshot_threads");
    assert_eq!(error.reason, "must be between 1 and 256, got 0");
}

#[test]
fn a_reference_to_an_undefined_name_is_refused() {
    let error = single_error(
        "economy/items.toml",
        "price_currency = \"eurodollars\"",
        "price_currency = \"euros\"",
    );
    assert_eq!(error.key, "items.food.price_currency");
    assert!(
        error.reason.starts_with("unknown currency `euros`"),
        "{}",
        error.reason
    );
}

#[test]
fn a_cross_field_rule_is_refused() {
    let error = single_error("economy/items.toml", "max_stack = 1\n", "max_stack = 5\n");
    assert_eq!(error.key, "items.weapon.max_stack");
    assert_eq!(error.reason, "must be 1 for an item that is not stackable, got 5");
}

#[test]
fn broken_toml_is_refused_with_its_line() {
    let error = single_error("gameplay/world.toml", "[spawn]", "[spawn");
    assert_eq!(error.line, Some(9));
}

#[test]
fn a_missing_required_field_is_refused() {
    let error = single_error("combat/weapons.toml", "range_m = 40.0\n", "");
    assert_eq!(error.key, "weapons.smart_pistol");
    assert!(
        error.reason.contains("missing field `range_m`"),
        "{}",
        error.reason
    );
}

#[test]
fn a_missing_file_and_an_unknown_file_are_both_reported() {
    let dir = common::assets_copy();
    std::fs::remove_file(dir.path().join("economy/currencies.toml")).expect("remove");
    std::fs::write(dir.path().join("combat/weapon.toml"), "").expect("write");
    let errors = Config::load(dir.path()).expect_err("refused");
    let text = errors.to_string();
    assert_eq!(errors.len(), 2, "{text}");
    assert!(text.contains("economy/currencies.toml: cannot read"), "{text}");
    assert!(
        text.contains("combat/weapon.toml: not an asset file the server reads"),
        "{text}"
    );
}

#[test]
fn a_file_broken_everywhere_lists_its_first_hundred_errors_and_counts_the_rest() {
    let dir = common::assets_copy();
    let items: String = (0..2_000)
        .map(|i| format!("[items.junk_{i:04}]\ncategory = \"resource\"\ntier = 0\nrarity = \"common\"\nstackable = true\nmax_stack = 10\nbase_price_minor = 5\nprice_currency = \"eurodollars\"\n"))
        .collect();
    std::fs::write(dir.path().join("economy/items.toml"), items).expect("write");
    let errors = Config::load(dir.path()).expect_err("refused");
    let listed: Vec<_> = errors
        .iter()
        .filter(|e| e.file.ends_with("economy/items.toml"))
        .collect();
    assert_eq!(listed.len(), 101, "{errors}");
    assert_eq!(
        listed[0].to_string().rsplit_once(".toml").map(|(_, rest)| rest),
        Some(":3: items.junk_0000.tier: must be between 1 and 10, got 0")
    );
    assert_eq!(listed[100].reason, "1900 more refused values not listed");
}

#[test]
fn links_back_into_the_assets_or_above_them_are_read_once() {
    let dir = common::assets_copy();
    let link = |target: &str, name: &str| {
        std::os::unix::fs::symlink(target, dir.path().join(name)).expect("link");
    };
    // Followed without end, these two alone lead to 2^40 paths.
    link(".", "again");
    link(".", "and_again");
    link("..", "up");
    // A folder linked from elsewhere is read like any other.
    let elsewhere = tempfile::tempdir().expect("temp dir");
    std::fs::write(elsewhere.path().join("stray.toml"), "").expect("write");
    link(elsewhere.path().to_str().expect("utf-8"), "shared");
    std::fs::create_dir(dir.path().join(".git")).expect("hidden folder");
    std::fs::write(dir.path().join(".git/config.toml"), "").expect("write");

    let errors = Config::load(dir.path()).expect_err("refused");
    let text = errors.to_string();
    assert_eq!(errors.len(), 1, "{text}");
    assert!(
        text.contains("shared/stray.toml: not an asset file the server reads"),
        "{text}"
    );
}

#[test]
fn every_error_in_every_file_is_listed() {
    let dir = common::assets_copy();
    common::edit(
        dir.path(),
        "combat/weapons.toml",
        "crit_chance = 0.10",
        "crit_chance = 1.5",
    );
    common::edit(
        dir.path(),
        "combat/weapons.toml",
        "fire_interval_ms = 100",
        "fire_interval_ms = 0",
    );
    common::edit(
        dir.path(),
        "gameplay/world.toml",
        "radius_m = 256.0",
        "radius_m = 9000.0",
    );
    let errors = Config::load(dir.path()).expect_err("refused");
    let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "spawn",
            "weapons.assault_rifle.fire_interval_ms",
            "weapons.smart_pistol.crit_chance"
        ]
    );
}

#[test]
fn a_view_radius_too_fine_for_sixteen_bits_is_refused() {
    let error = single_error(
        "gameplay/interest.toml",
        "position_precision_m = 0.01",
        "position_precision_m = 0.001",
    );
    assert_eq!(error.key, "view_radius_m");
    assert_eq!(
        error.reason,
        "must be at most 32000 position_precision_m steps (32 m at 0.001 m), got 120000"
    );
}
