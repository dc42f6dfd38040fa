//! Limits that keep the simulation sound, through the designer's door: an edited copy of the bundled
//! assets is refused with file, line, key and reason when a value would break the game at run time
//! (an infinite number, a load shedder that never switches off, a session type that can never be
//! created, prices and item counts past what the economy's integers hold, a million unique starting
//! items, a world wider than its position precision resolves, snapshots that may show nothing, an
//! outbox budget that cannot hold one frame), and
//! accepted, and working, right at each limit.

mod common;

use std::sync::Arc;
use std::time::Duration;

use necpsim::config::{Config, ConfigError};
use necpsim::sim::combat::{Difficulty, SessionKind};
use necpsim::sim::economy::Side;
use necpsim::sim::{Command, EconomyOp, EconomyRead, EconomyRequest, ReplyBody, SessionSettings, Sim};
use necpsim::telemetry::shedding::{Load, LoadShedder};

/// One edit of a bundled asset file: the file, the text replaced and its replacement.
type Edit<'a> = (&'a str, &'a str, &'a str);

/// Loads a copy of the bundled assets after `edits`.
fn load_edited(edits: &[Edit<'_>]) -> Result<Config, necpsim::config::ConfigErrors> {
    let dir = common::assets_copy();
    for &(relative, from, to) in edits {
        common::edit(dir.path(), relative, from, to);
    }
    Config::load(dir.path())
}

/// The single error that `edits` cause, checked to name `relative`.
fn refused(relative: &str, edits: &[Edit<'_>]) -> ConfigError {
    let errors = load_edited(edits).expect_err("the edit must be refused");
    assert_eq!(errors.len(), 1, "{errors}");
    let error = errors.iter().next().cloned().expect("one error");
    assert!(error.file.ends_with(relative), "{error}");
    error
}

#[test]
fn an_infinite_number_is_refused_where_a_positive_one_is_required() {
    let cases = [
        (
            "combat/weapons.toml",
            "base_damage = 24.0",
            "weapons.smart_pistol.base_damage",
        ),
        (
            "combat/weapons.toml",
            "range_m = 40.0",
            "weapons.smart_pistol.range_m",
        ),
        (
            "combat/weapons.toml",
            "heat_capacity = 100.0",
            "weapons.arc_caster.heat_capacity",
        ),
        (
            "combat/abilities.toml",
            "range_m = 30.0",
            "abilities.frag_grenade.range_m",
        ),
        (
            "combat/npcs.toml",
            "max_health = 400.0",
            "npcs.street_thug.max_health",
        ),
        (
            "combat/npcs.toml",
            "attack_range_m = 25.0",
            "npcs.street_thug.attack_range_m",
        ),
    ];
    for (relative, line, key) in cases {
        let name = line.split(" = ").next().expect("a key");
        let error = refused(relative, &[(relative, line, &format!("{name} = inf"))]);
        assert_eq!(error.key, key);
        assert_eq!(error.reason, "must be finite, got inf");
        assert!(error.line.is_some(), "{error}");
    }
}

#[test]
fn an_infinite_or_nan_number_is_refused_where_a_range_is_allowed() {
    let error = refused(
        "gameplay/world.toml",
        &[("gameplay/world.toml", "speed_mps = 2.0", "speed_mps = nan")],
    );
    assert_eq!(error.key, "ambient.speed_mps");
    assert_eq!(error.reason, "must be finite, got NaN");
}

#[test]
fn an_infinite_world_is_refused_once_per_key() {
    let world = "gameplay/world.toml";
    let errors = load_edited(&[
        (world, "min_x_m = -2048.0", "min_x_m = -inf"),
        (world, "max_x_m = 2048.0", "max_x_m = inf"),
        (world, "center_y_m = 0.0", "center_y_m = inf"),
        (world, "radius_m = 256.0", "radius_m = inf"),
    ])
    .expect_err("refused");
    let refusals: Vec<(Option<usize>, &str, &str)> = errors
        .iter()
        .map(|e| (e.line, e.key.as_str(), e.reason.as_str()))
        .collect();
    assert_eq!(
        refusals,
        [
            (Some(4), "bounds.min_x_m", "must be finite, got -inf"),
            (Some(5), "bounds.max_x_m", "must be finite, got inf"),
            (Some(11), "spawn.center_y_m", "must be finite, got inf"),
            (Some(12), "spawn.radius_m", "must be finite, got inf"),
        ]
    );
}

#[test]
fn check_config_refuses_an_infinite_bound() {
    let dir = common::assets_copy();
    common::edit(
        dir.path(),
        "gameplay/world.toml",
        "max_y_m = 2048.0",
        "max_y_m = inf",
    );
    let out = common::necpsim(&["check-config", dir.path().to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("gameplay/world.toml:7: bounds.max_y_m: must be finite, got inf"),
        "{stderr}"
    );
}

#[test]
fn a_world_edge_past_what_its_precision_resolves_is_refused() {
    let world = "gameplay/world.toml";
    let error = refused(world, &[(world, "max_x_m = 2048.0", "max_x_m = 90000.0")]);
    assert_eq!((error.line, error.key.as_str()), (Some(5), "bounds.max_x_m"));
    assert!(
        error
            .reason
            .starts_with("must be within ±83886.08 m of the origin")
            && error.reason.ends_with("got 90000"),
        "{error}"
    );
    // A finer step leaves a smaller world: at 0.005 m the bundled bounds pass, these do not.
    let interest = "gameplay/interest.toml";
    let finer = (
        interest,
        "position_precision_m = 0.01",
        "position_precision_m = 0.005",
    );
    let wider = (world, "min_y_m = -2048.0", "min_y_m = -50000.0");
    assert!(load_edited(&[finer]).is_ok());
    assert!(load_edited(&[wider]).is_ok());
    let error = refused(world, &[finer, wider]);
    assert_eq!(error.key, "bounds.min_y_m");
    assert!(error.reason.contains("±41943.04 m"), "{error}");
}

#[test]
fn an_outbox_budget_smaller_than_one_frame_is_refused() {
    let server = "server.toml";
    let error = refused(
        server,
        &[(
            server,
            "outbox_total_bytes = 268435456",
            "outbox_total_bytes = 1000",
        )],
    );
    assert_eq!(error.key, "net.outbox_total_bytes");
    assert_eq!(error.reason, "must be between 65536 and 1099511627776, got 1000");
    assert!(error.line.is_some(), "{error}");
}

#[test]
fn a_snapshot_that_may_show_no_entity_is_refused() {
    let interest = "gameplay/interest.toml";
    let error = refused(interest, &[(interest, "max_visible = 256", "max_visible = 0")]);
    assert_eq!(error.key, "max_visible");
    assert_eq!(error.reason, "must be between 1 and 65535, got 0");
    assert!(error.line.is_some(), "{error}");
}

#[test]
fn a_player_at_the_edge_of_the_widest_accepted_world_moves_by_its_speed() {
    let world = "gameplay/world.toml";
    let config = load_edited(&[
        (world, "max_x_m = 2048.0", "max_x_m = 83886.0"),
        (world, "center_x_m = 0.0", "center_x_m = 83884.0"),
        (world, "radius_m = 256.0", "radius_m = 1.0"),
    ])
    .expect("accepted at the limit");
    let step_m = config.gameplay.characters.player.speed_mps / config.server.tick.rate_hz;
    let precision_m = config.gameplay.interest.position_precision_m;
    let mut sim = Sim::new(Arc::new(config));
    common::step_with(&mut sim, &[(0, Command::Join)]);
    let client = necpsim::sim::ClientId(0);
    for tick in 1..=30 {
        // West, from within 3 m of the edge, where f32 positions are at their coarsest.
        let west = Command::Move(necpsim::sim::MoveInput {
            seq: tick,
            client_tick: tick,
            move_x: -1.0,
            ..Default::default()
        });
        let before = sim.player_position(client).expect("joined").x;
        common::step_with(&mut sim, &[(0, west)]);
        let moved = before - sim.player_position(client).expect("joined").x;
        assert!(
            (moved - step_m).abs() <= precision_m,
            "tick {tick}: moved {moved} m"
        );
    }
}

#[test]
fn a_release_threshold_that_shedding_never_gets_below_is_refused() {
    for (line, key, engage) in [
        (
            "release_inbox_fill = 0.25",
            "shedding.release_inbox_fill",
            "engage_inbox_fill (0.5)",
        ),
        (
            "release_tick_p99_ratio = 0.7",
            "shedding.release_tick_p99_ratio",
            "engage_tick_p99_ratio (1)",
        ),
    ] {
        let name = line.split(" = ").next().expect("a key");
        let error = refused("server.toml", &[("server.toml", line, &format!("{name} = 0.0"))]);
        assert_eq!(error.key, key);
        assert_eq!(
            error.reason,
            format!("must be > 0 (shedding switches off only below it) and at most {engage}, got 0")
        );
    }
}

#[test]
fn an_engage_threshold_of_zero_is_refused_by_its_own_name() {
    for line in ["engage_inbox_fill = 0.5", "engage_tick_p99_ratio = 1.0"] {
        let name = line.split(" = ").next().expect("a key");
        let error = refused("server.toml", &[("server.toml", line, &format!("{name} = 0.0"))]);
        assert_eq!(error.key, format!("shedding.{name}"));
        assert_eq!(error.reason, "must be > 0, got 0");
    }
}

#[test]
fn shedding_switches_off_at_the_lowest_accepted_release_thresholds() {
    let config = load_edited(&[
        (
            "server.toml",
            "release_inbox_fill = 0.25",
            "release_inbox_fill = 0.001",
        ),
        (
            "server.toml",
            "release_tick_p99_ratio = 0.7",
            "release_tick_p99_ratio = 0.001",
        ),
    ])
    .expect("accepted");
    let shedding = &config.server.shedding;
    let idle = Load {
        tick: Duration::ZERO,
        budget: Duration::from_millis(16),
        inbox_fill: 0.0,
        store_backlog: 0,
    };
    let backed_up = Load {
        store_backlog: u64::from(shedding.engage_store_backlog) + 1,
        ..idle
    };
    let mut shedder = LoadShedder::default();
    assert_eq!(shedder.observe(shedding, backed_up), Some(true));
    let window = shedding.window_ticks as usize;
    let released = (0..=window).find_map(|_| shedder.observe(shedding, idle));
    assert_eq!(released, Some(false));
}

#[test]
fn a_session_type_too_big_for_max_participants_is_refused() {
    let sessions = "combat/sessions.toml";
    // pve_raid: 4 players and 4 NPCs.
    let error = refused(
        sessions,
        &[
            (sessions, "max_participants = 200", "max_participants = 7"),
            (sessions, "default_team_size = 5", "default_team_size = 3"),
            (sessions, "default_team_size = 8", "default_team_size = 7"),
            (sessions, "default_team_size = 20", "default_team_size = 3"),
        ],
    );
    assert_eq!(error.key, "types.pve_raid.default_team_size");
    assert_eq!(
        error.reason,
        "makes 8 participants with its teams and NPCs, more than limits.max_participants (7)"
    );
    // guild_war: two teams of 20.
    let error = refused(
        sessions,
        &[(sessions, "max_participants = 200", "max_participants = 39")],
    );
    assert_eq!(error.key, "types.guild_war.default_team_size");
}

/// Creates a session of every type at its default team size and time limit in a world of `config`.
fn create_every_type_at_its_defaults(config: Config) {
    let mut sim = Sim::new(Arc::new(config));
    common::step_with(&mut sim, &[(1, Command::Join)]);
    for kind in [
        SessionKind::PvpArena,
        SessionKind::PveRaid,
        SessionKind::ExtractZone,
        SessionKind::GuildWar,
    ] {
        let settings = SessionSettings {
            kind,
            zone_id: 1,
            difficulty: Difficulty::Normal,
            team_size: None,
            time_limit_s: None,
        };
        let out = common::step_with(&mut sim, &[(1, Command::CreateSession(settings))]);
        let bodies: Vec<ReplyBody> = out.replies.iter().map(|r| r.body).collect();
        assert!(
            matches!(bodies[..], [ReplyBody::SessionCreated { .. }]),
            "{kind:?}: {bodies:?}"
        );
    }
}

#[test]
fn every_session_type_can_be_created_at_its_defaults_down_to_the_smallest_accepted_limit() {
    create_every_type_at_its_defaults(common::load_bundled());
    // guild_war's two teams of 20 need exactly 40.
    let sessions = "combat/sessions.toml";
    let tight = load_edited(&[(sessions, "max_participants = 200", "max_participants = 40")]);
    create_every_type_at_its_defaults(tight.expect("accepted"));
}

#[test]
fn a_base_price_past_the_makers_arithmetic_is_refused() {
    let items = "economy/items.toml";
    let error = refused(
        items,
        &[(
            items,
            "base_price_minor = 500",
            "base_price_minor = 1000000000001",
        )],
    );
    assert_eq!(error.key, "items.food.base_price_minor");
    assert_eq!(
        error.reason,
        "must be between 1 and 1000000000000, got 1000000000001"
    );
}

#[test]
fn health_and_damage_past_what_stays_finite_in_a_fight_are_refused() {
    // At 1e37 health, the elite factor of 100 (or an edit's scaling) would make an NPC's health
    // infinite, so it could never die; at a tiny one an edit's scaling would overflow.
    let npcs = "combat/npcs.toml";
    for (value, reason) in [
        (
            "1e37",
            "must be between 1 and 1000000000, got 10000000000000000000000000000000000000",
        ),
        (
            "1e-30",
            "must be between 1 and 1000000000, got 0.000000000000000000000000000001",
        ),
    ] {
        let error = refused(
            npcs,
            &[(npcs, "max_health = 400.0", &format!("max_health = {value}"))],
        );
        assert_eq!(error.key, "npcs.street_thug.max_health");
        assert_eq!(error.reason, reason);
    }
    let weapons = "combat/weapons.toml";
    let error = refused(weapons, &[(weapons, "base_damage = 24.0", "base_damage = 3e37")]);
    assert_eq!(error.key, "weapons.smart_pistol.base_damage");
    assert_eq!(
        error.reason,
        "must be at most 1000000, got 30000000000000000000000000000000000000"
    );
}

/// Steps `sim` once with `commands`, checks the books and returns the bodies of the replies.
fn replies(sim: &mut Sim, commands: &[(u64, Command)]) -> Vec<ReplyBody> {
    let out = common::step_with(sim, commands);
    sim.economy().ledger.check_invariants().expect("balanced books");
    out.replies.iter().map(|r| r.body).collect()
}

/// Best bid and ask of `item` after `ticks` more ticks, as player 1 reads them.
fn quotes(sim: &mut Sim, item: u16, ticks: usize) -> (Option<i64>, Option<i64>) {
    for _ in 0..ticks {
        replies(sim, &[]);
    }
    let read = Command::EconomyRead(EconomyRead::Market { item, depth: 1 });
    match replies(sim, &[(1, read)])[..] {
        [ReplyBody::Market(view)] => (view.bid, view.ask),
        ref other => panic!("market refused: {other:?}"),
    }
}

#[test]
fn market_makers_keep_quoting_at_the_highest_accepted_base_price() {
    const FOOD: u16 = 1;
    const PRICE: i64 = 1_000_000_000_000;
    let market = "economy/market.toml";
    let config = load_edited(&[
        (
            "economy/items.toml",
            "base_price_minor = 500",
            "base_price_minor = 1000000000000",
        ),
        (market, "count = 0", "count = 1"),
        (market, "budget_minor = 10000000", "budget_minor = 1000000000000"),
        (market, "quote_interval_s = 5", "quote_interval_s = 1"),
        (market, "order_units = 3", "order_units = 1"),
    ])
    .expect("accepted");
    let ticks_per_quote = config.server.tick.rate_hz as usize + 1;
    let mut sim = Sim::new(Arc::new(config));
    replies(&mut sim, &[(1, Command::Join)]);
    let (Some(bid), Some(ask)) = quotes(&mut sim, FOOD, ticks_per_quote) else {
        panic!("no quotes")
    };
    assert!(bid < PRICE && PRICE < ask, "{bid} {ask}");
    // The player sells into the bid, so the maker learns from a fill at that price.
    let sell = EconomyOp::PlaceOrder {
        item: FOOD,
        side: Side::Sell,
        price_minor: bid,
        quantity: 1,
        lifetime_s: None,
    };
    let placed = replies(
        &mut sim,
        &[(1, Command::Economy(EconomyRequest { key: 1, op: sell }))],
    );
    assert!(
        matches!(placed[..], [ReplyBody::OrderPlaced { filled: 1, .. }]),
        "{placed:?}"
    );
    // The fill spent most of the maker's budget: it asks on, around the belief it learnt.
    let (_, Some(later_ask)) = quotes(&mut sim, FOOD, ticks_per_quote) else {
        panic!("no ask")
    };
    assert!(bid < later_ask && later_ask <= 2 * PRICE, "{bid} {later_ask}");
}

#[test]
fn slots_that_could_hold_more_units_than_an_inventory_counts_are_refused() {
    let slots = |n: &'static str| ("economy/players.toml", "inventory_slots = 40", n);
    let food_stack = ("economy/items.toml", "max_stack = 100", "max_stack = 1000000");
    // 4294 × 1000000 units fit below u32::MAX (4294967295); 4295 × 1000000 do not.
    load_edited(&[slots("inventory_slots = 4294"), food_stack]).expect("accepted");
    let error = refused(
        "economy/players.toml",
        &[slots("inventory_slots = 4295"), food_stack],
    );
    assert_eq!(error.key, "inventory_slots");
    assert_eq!(
        error.reason,
        "4295 slots of items.food.max_stack (1000000) in economy/items.toml hold 4295000000 units; \
         inventory_slots × max_stack must be below 4294967295"
    );
}

#[test]
fn more_unique_starting_items_than_slots_are_refused() {
    let players = "economy/players.toml";
    let start = |to: &'static str| (players, "starting_items = { food = 10, wood = 5 }", to);
    // One unique item per unit, one slot each: the bundled 40 slots hold 40.
    load_edited(&[start("starting_items = { food = 10, weapon = 40 }")]).expect("accepted");
    let error = refused(
        players,
        &[start("starting_items = { food = 10, weapon = 1000000 }")],
    );
    assert_eq!(error.key, "starting_items");
    assert_eq!(
        error.reason,
        "gives 1000000 unique items (one per unit of an item that is not stackable, each in a slot \
         of its own), more than inventory_slots (40)"
    );
}

#[test]
fn a_store_queue_no_longer_than_its_backlog_is_refused() {
    let server = "server.toml";
    let error = refused(
        server,
        &[(server, "max_queued_batches = 100000", "max_queued_batches = 16")],
    );
    assert_eq!(error.key, "store.max_queued_batches");
    assert_eq!(error.reason, "must be between 17 and 10000000, got 16");
    assert!(error.line.is_some(), "{error}");
}

#[test]
fn a_second_exchange_pair_of_the_same_currencies_is_refused() {
    let exchange = "economy/exchange.toml";
    let reversed = "fee_bps = 50\n\n[pairs.eurodollars_cryptos]\nbase = \"eurodollars\"\n\
                    quote = \"cryptos\"\nquote_per_million_base = 400\nspread_bps = 200\nfee_bps = 50";
    let error = refused(exchange, &[(exchange, "fee_bps = 50", reversed)]);
    assert_eq!(error.key, "pairs.eurodollars_cryptos.quote");
    assert_eq!(
        error.reason,
        "pairs.cryptos_eurodollars already exchanges eurodollars and cryptos"
    );
    assert!(error.line.is_some(), "{error}");
}

#[test]
fn more_currencies_than_a_16_bit_index_reaches_are_refused() {
    let currencies = "economy/currencies.toml";
    let mut more = String::from("starting_balance_minor = 0\n");
    for n in 0..65_535 {
        more.push_str(&format!(
            "\n[currencies.c{n:05}]\nminor_unit_digits = 0\ntradeable = false\nstarting_balance_minor = 0\n"
        ));
    }
    let error = refused(currencies, &[(currencies, "starting_balance_minor = 0", &more)]);
    assert_eq!(error.key, "currencies");
    assert_eq!(error.reason, "at most 65536 entries, got 65537");
}

#[test]
fn a_weapon_that_heats_must_cool() {
    let weapons = "combat/weapons.toml";
    let error = refused(
        weapons,
        &[(weapons, "cooling_per_s = 20.0", "cooling_per_s = 0.0")],
    );
    assert_eq!(error.key, "weapons.arc_caster.cooling_per_s");
    assert_eq!(
        error.reason,
        "must be above 0 for a weapon whose heat_per_shot is"
    );
    // One that never heats needs no cooling.
    load_edited(&[
        (weapons, "cooling_per_s = 20.0", "cooling_per_s = 0.0"),
        (weapons, "heat_per_shot = 12.0", "heat_per_shot = 0.0"),
    ])
    .expect("accepted");
}

#[test]
fn an_integer_its_key_cannot_hold_is_refused_with_the_range_it_can() {
    for (file, from, to, key, reason) in [
        (
            "combat/effects.toml",
            "max_stacks = 3",
            "max_stacks = 300",
            "effects.burn.max_stacks",
            "must be an integer from 0 to 255, got 300",
        ),
        (
            "combat/sessions.toml",
            "max_participants = 200",
            "max_participants = -1",
            "limits.max_participants",
            "must be an integer from 0 to 65535, got -1",
        ),
    ] {
        let error = refused(file, &[(file, from, to)]);
        assert_eq!((error.key.as_str(), error.reason.as_str()), (key, reason));
    }
}
