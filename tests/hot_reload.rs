//! Hot reload on a temporary copy of the assets: a valid edit reaches the simulation at the next
//! tick boundary; a broken edit is refused with file, key and reason while the old value keeps
//! running. Checked both on the library (the watcher feeding a Sim) and on `necpsim serve`, whose
//! currencies keep their places in name order while it runs and across its restarts.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{ServerProcess, serve_args, serve_to_exit};
use necpsim::config::{AssetWatcher, Config, ReloadOutcome};
use necpsim::sim::{ClientId, Command, MoveInput, Outbox, Sim};

const WAIT: Duration = Duration::from_secs(10);

/// Distance the player of client 1 moves east in one tick.
fn step_east(sim: &mut Sim) -> f32 {
    let before = sim.player_position(ClientId(1)).expect("joined").x;
    sim.step();
    sim.drain_outputs(&mut Outbox::default());
    sim.player_position(ClientId(1)).expect("joined").x - before
}

#[test]
fn the_watcher_delivers_valid_edits_and_refuses_broken_ones() {
    let dir = common::assets_copy();
    let config = Arc::new(Config::load(dir.path()).expect("valid copy"));
    let watcher = AssetWatcher::start(dir.path(), Arc::clone(&config)).expect("watch");
    let mut sim = Sim::new(config);
    sim.submit(ClientId(1), Command::Join).expect("room");
    sim.step();
    let east = MoveInput {
        seq: 1,
        move_x: 1.0,
        ..MoveInput::default()
    };
    sim.submit(ClientId(1), Command::Move(east)).expect("room");
    assert!((step_east(&mut sim) - 6.0 / 60.0).abs() < 1e-5);

    common::edit(
        dir.path(),
        "gameplay/characters.toml",
        "speed_mps = 6.0",
        "speed_mps = 12.0",
    );
    let Some(ReloadOutcome::Applied(next)) = watcher.next_within(WAIT) else {
        panic!("the valid edit was not delivered");
    };
    assert_eq!(sim.config().changed_files(&next), ["gameplay/characters.toml"]);
    sim.apply_config(next);
    assert!(
        (step_east(&mut sim) - 12.0 / 60.0).abs() < 1e-5,
        "the new speed applies the next tick"
    );

    common::edit(
        dir.path(),
        "gameplay/characters.toml",
        "speed_mps = 12.0",
        "speed_mps = -1.0",
    );
    let Some(ReloadOutcome::Refused(errors)) = watcher.next_within(WAIT) else {
        panic!("the broken edit was not refused");
    };
    let text = errors.to_string();
    let expected = format!(
        "{}:5: player.speed_mps: must be between 0.1 and 100, got -1",
        dir.path().join("gameplay/characters.toml").display()
    );
    assert_eq!(text, expected);
    assert!(
        (step_east(&mut sim) - 12.0 / 60.0).abs() < 1e-5,
        "the running value is kept"
    );
}

#[test]
fn an_edit_saved_before_the_watch_began_is_delivered_too() {
    let dir = common::assets_copy();
    let loaded = Arc::new(Config::load(dir.path()).expect("valid copy"));
    // Saved while the server was still starting: after its load, before its watch.
    common::edit(
        dir.path(),
        "gameplay/characters.toml",
        "speed_mps = 6.0",
        "speed_mps = 12.0",
    );
    let watcher = AssetWatcher::start(dir.path(), Arc::clone(&loaded)).expect("watch");
    let Some(ReloadOutcome::Applied(next)) = watcher.next_within(WAIT) else {
        panic!("the edit was not delivered");
    };
    assert_eq!(next.gameplay.characters.player.speed_mps, 12.0);
}

#[test]
fn serve_applies_a_valid_edit_and_refuses_a_broken_one() {
    let assets = common::assets_copy();
    let data = tempfile::tempdir().expect("temp dir");
    let server = ServerProcess::start(&serve_args(assets.path(), data.path(), "127.0.0.1:0"));
    server.wait_for("serving", WAIT);
    let set_damage = |from: &str, to: &str| {
        let field = |value: &str| format!("base_damage = {value}");
        common::edit(assets.path(), "combat/weapons.toml", &field(from), &field(to));
    };

    set_damage("24.0", "30.0");
    let reloaded = server.wait_for("config reloaded", WAIT);
    assert_eq!(reloaded["changed"], "combat/weapons.toml");
    assert!(reloaded["tick"].as_u64().expect("tick logged") > 0);

    set_damage("30.0", "-5");
    let refused = server.wait_for("config edit refused; the running config stays in force", WAIT);
    let error = refused["error"].as_str().expect("error logged");
    assert!(
        error.ends_with("combat/weapons.toml:5: weapons.smart_pistol.base_damage: must be > 0, got -5"),
        "{error}"
    );

    // Fixing the file again is accepted: the refusal left the watcher running.
    set_damage("-5", "24.0");
    let again = server.wait_for("config reloaded", WAIT);
    assert_eq!(again["changed"], "combat/weapons.toml");
}

#[test]
fn an_edit_of_a_restart_only_key_keeps_its_running_value_while_the_rest_applies() {
    let dir = common::assets_copy();
    let running = Config::load(dir.path()).expect("valid copy");
    common::edit(
        dir.path(),
        "server.toml",
        "inbox_capacity = 65536",
        "inbox_capacity = 16",
    );
    common::edit(
        dir.path(),
        "server.toml",
        "max_queued_batches = 100000",
        "max_queued_batches = 17",
    );
    common::edit(
        dir.path(),
        "server.toml",
        "max_connections_per_ip = 64",
        "max_connections_per_ip = 2",
    );
    common::edit(
        dir.path(),
        "gameplay/characters.toml",
        "speed_mps = 6.0",
        "speed_mps = 12.0",
    );
    let mut next = Config::load(dir.path()).expect("valid edit");
    let kept = running.keep_restart_only(&mut next);
    assert_eq!(
        kept,
        [
            "server.toml: sim.inbox_capacity",
            "server.toml: net.max_connections_per_ip",
            "server.toml: store.max_queued_batches"
        ]
    );
    assert_eq!(next.server.sim.inbox_capacity, 65_536);
    assert_eq!(next.server.store, running.server.store);
    assert_eq!(
        next.gameplay.characters.player.speed_mps, 12.0,
        "the live key applies"
    );
    assert!(
        running.keep_restart_only(&mut next).is_empty(),
        "nothing left to keep"
    );
}

#[test]
fn a_directory_moved_into_place_is_reloaded_and_editor_lock_files_are_ignored() {
    let dir = common::assets_copy();
    let config = Arc::new(Config::load(dir.path()).expect("valid copy"));
    let watcher = AssetWatcher::start(dir.path(), Arc::clone(&config)).expect("watch");

    // An editor's lock file beside the file being edited is not an asset file.
    std::fs::write(dir.path().join("gameplay/.#characters.toml"), "user@host.1234").expect("lock file");
    common::edit(
        dir.path(),
        "gameplay/characters.toml",
        "speed_mps = 6.0",
        "speed_mps = 7.0",
    );
    let Some(ReloadOutcome::Applied(next)) = watcher.next_within(WAIT) else {
        panic!("the edit beside a lock file was not applied");
    };
    assert_eq!(next.gameplay.characters.player.speed_mps, 7.0);

    // A new version of a whole folder, prepared beside the assets and renamed into place.
    let staged = tempfile::tempdir_in(dir.path().parent().expect("a parent")).expect("staging dir");
    let fresh = staged.path().join("gameplay");
    copy_dir(&dir.path().join("gameplay"), &fresh);
    let characters = fresh.join("characters.toml");
    let text = std::fs::read_to_string(&characters).expect("readable");
    std::fs::write(&characters, text.replace("speed_mps = 7.0", "speed_mps = 9.0")).expect("edited");
    std::fs::rename(dir.path().join("gameplay"), staged.path().join("old")).expect("moved away");
    std::fs::rename(&fresh, dir.path().join("gameplay")).expect("moved into place");
    let applied = loop {
        match watcher.next_within(WAIT) {
            Some(ReloadOutcome::Applied(next)) => break next,
            // The moment the folder was away, its files were missing.
            Some(ReloadOutcome::Refused(_)) => continue,
            None => panic!("the folder moved into place was not reloaded"),
        }
    };
    assert_eq!(applied.gameplay.characters.player.speed_mps, 9.0);
}

#[test]
fn assets_behind_a_symbolic_link_switched_to_a_new_release_are_followed() {
    let root = tempfile::tempdir().expect("temp dir");
    let release = |name: &str, speed: &str| release_of(&root.path().join(name), speed);
    let first = release("release-1", "6.0");
    let current = root.path().join("current");
    std::os::unix::fs::symlink(&first, &current).expect("link");
    let config = Arc::new(Config::load(&current).expect("valid release"));
    let watcher = AssetWatcher::start(&current, Arc::clone(&config)).expect("watch");

    // The link is switched at once to a new release, as a deployment does.
    let second = release("release-2", "8.0");
    switch_link(&current, &second);
    let Some(ReloadOutcome::Applied(next)) = watcher.next_within(WAIT) else {
        panic!("the new release was not loaded");
    };
    assert_eq!(next.gameplay.characters.player.speed_mps, 8.0);

    // Edits to the new release are seen.
    common::edit(
        &second,
        "gameplay/characters.toml",
        "speed_mps = 8.0",
        "speed_mps = 9.0",
    );
    let Some(ReloadOutcome::Applied(next)) = watcher.next_within(WAIT) else {
        panic!("the edit to the new release was not applied");
    };
    assert_eq!(next.gameplay.characters.player.speed_mps, 9.0);
}

#[test]
fn a_link_switched_higher_up_the_path_than_the_assets_is_followed_too() {
    let root = tempfile::tempdir().expect("temp dir");
    let release = |name: &str, speed: &str| {
        let path = root.path().join(name);
        release_of(&path.join("assets"), speed);
        path
    };
    let first = release("release-1", "6.0");
    let current = root.path().join("current");
    std::os::unix::fs::symlink(&first, &current).expect("link");
    // The server is pointed at `current/assets`: the switched link is two levels up.
    let assets = current.join("assets");
    let config = Arc::new(Config::load(&assets).expect("valid release"));
    let watcher = AssetWatcher::start(&assets, Arc::clone(&config)).expect("watch");
    // Its first look at the assets finds nothing new (and so cannot be what sees the switch).
    assert!(watcher.next_within(Duration::from_secs(1)).is_none());

    let second = release("release-2", "8.0");
    switch_link(&current, &second);
    let Some(ReloadOutcome::Applied(next)) = watcher.next_within(WAIT) else {
        panic!("the new release was not loaded");
    };
    assert_eq!(next.gameplay.characters.player.speed_mps, 8.0);
}

/// A copy of the bundled assets at `path` whose player speed is `speed`; returns `path`.
fn release_of(path: &std::path::Path, speed: &str) -> std::path::PathBuf {
    let copy = common::assets_copy();
    common::edit(
        copy.path(),
        "gameplay/characters.toml",
        "speed_mps = 6.0",
        &format!("speed_mps = {speed}"),
    );
    copy_dir(copy.path(), path);
    path.to_path_buf()
}

/// Points the symbolic link `link` at `target` at once, as a deployment does (a new link renamed
/// over the old one).
fn switch_link(link: &std::path::Path, target: &std::path::Path) {
    let switching = link.with_extension("new");
    std::os::unix::fs::symlink(target, &switching).expect("link");
    std::fs::rename(&switching, link).expect("switched");
}

/// Copies the directory tree `from` to `to`.
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("folder");
    for entry in std::fs::read_dir(from).expect("readable") {
        let path = entry.expect("entry").path();
        let target = to.join(path.file_name().expect("a name"));
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copied");
        }
    }
}

#[test]
#[expect(
    clippy::disallowed_methods,
    reason = "the test paces its writes on the wall clock; the rule protects src/sim"
)]
fn a_file_written_without_pause_is_still_reloaded_within_a_second() {
    let dir = common::assets_copy();
    let config = Arc::new(Config::load(dir.path()).expect("valid copy"));
    let watcher = AssetWatcher::start(dir.path(), Arc::clone(&config)).expect("watch");
    let characters = dir.path().join("gameplay/characters.toml");
    let edited = std::fs::read_to_string(&characters)
        .expect("readable")
        .replace("speed_mps = 6.0", "speed_mps = 7.0");
    // A tool that saves the file every 50 ms for 3 s (whole, through a hidden temporary file),
    // never leaving 150 ms of quiet.
    let temporary = dir.path().join("gameplay/.characters.toml.tmp");
    let writer = std::thread::spawn(move || {
        for _ in 0..60 {
            std::fs::write(&temporary, &edited).expect("written");
            std::fs::rename(&temporary, &characters).expect("saved");
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    let during = watcher.next_within(Duration::from_secs(2));
    writer.join().expect("writer ends");
    let Some(ReloadOutcome::Applied(next)) = during else {
        panic!("no reload while the file was being written: {during:?}");
    };
    assert_eq!(next.gameplay.characters.player.speed_mps, 7.0);
}

#[test]
fn the_position_step_changes_only_at_a_restart_and_bounds_live_edits_until_then() {
    let server = common::NetServer::start(|_| {});
    let runtime = common::runtime();
    let assets = server.assets.path();
    let interest = assets.join("gameplay/interest.toml");
    let welcomed_step = |server: &common::NetServer| {
        runtime.block_on(async { server.connect(1).await.welcome().position_precision_m })
    };

    common::edit(
        assets,
        "gameplay/interest.toml",
        "position_precision_m = 0.01",
        "position_precision_m = 0.1",
    );
    server.process.wait_for(
        "gameplay/interest.toml: position_precision_m changed; it takes effect at the next restart",
        WAIT,
    );
    server.process.wait_for("config reloaded", WAIT);
    assert_eq!(welcomed_step(&server), 0.01, "the running step stays in force");

    // 1,000 m is 10,000 steps of the edited 0.1 m but 100,000 of the running 0.01 m, past what
    // kept snapshots hold; likewise the bounds are past the reach of 0.01 m steps.
    common::edit(
        assets,
        "gameplay/interest.toml",
        "view_radius_m = 120.0",
        "view_radius_m = 1000.0",
    );
    common::edit(
        assets,
        "gameplay/world.toml",
        "max_x_m = 2048.0",
        "max_x_m = 100000.0",
    );
    let mut seen = Vec::new();
    let refusals: Vec<String> = (0..2)
        .map(|_| {
            let line = server
                .process
                .look_for(
                    "config edit refused; the running config stays in force",
                    WAIT,
                    &mut seen,
                )
                .unwrap_or_else(|| panic!("no refusal; saw {seen:#?}"));
            line["error"].as_str().expect("error logged").to_owned()
        })
        .collect();
    assert_eq!(
        refusals[0],
        format!(
            "{}:4: view_radius_m: must be at most 32000 position_precision_m steps (320 m at 0.01 m, \
             the running value: an edit of position_precision_m takes effect at the next restart), \
             got 100000",
            interest.display()
        )
    );
    assert!(
        refusals[1].ends_with(
            "gameplay/world.toml:5: bounds.max_x_m: must be within ±83886.08 m of the origin (2^23 \
             steps of position_precision_m = 0.01 m, the running value: an edit of \
             position_precision_m takes effect at the next restart; positions farther out are \
             coarser than a step), got 100000"
        ),
        "{}",
        refusals[1]
    );
    assert_eq!(welcomed_step(&server), 0.01);

    // Undone, and a player stat edited: that edit is what the reload reports, and the step that
    // still waits for the restart is not reported again.
    common::edit(
        assets,
        "gameplay/interest.toml",
        "view_radius_m = 1000.0",
        "view_radius_m = 120.0",
    );
    common::edit(
        assets,
        "gameplay/world.toml",
        "max_x_m = 100000.0",
        "max_x_m = 2048.0",
    );
    common::edit(
        assets,
        "gameplay/characters.toml",
        "speed_mps = 6.0",
        "speed_mps = 6.5",
    );
    let mut seen = Vec::new();
    let reloaded = loop {
        let line = server
            .process
            .look_for("config reloaded", WAIT, &mut seen)
            .unwrap_or_else(|| panic!("no reload; saw {seen:#?}"));
        // The three saves may land in one reload or in several.
        if line["changed"]
            .as_str()
            .is_some_and(|changed| changed.contains("characters"))
        {
            break line;
        }
    };
    assert_eq!(reloaded["changed"], "gameplay/characters.toml");
    let repeated: Vec<_> = seen
        .iter()
        .filter(|line| {
            line["message"]
                .as_str()
                .is_some_and(|m| m.contains("next restart"))
        })
        .collect();
    assert!(repeated.is_empty(), "{repeated:#?}");

    // After a restart the edited step is in force, and the same edits are valid under it.
    server.process.terminate();
    let common::NetServer {
        mut process,
        assets,
        data,
        ..
    } = server;
    assert!(process.wait_exit(WAIT).is_some_and(|status| status.success()));
    let restarted = common::NetServer::start_in(assets, data);
    assert_eq!(welcomed_step(&restarted), 0.1);
}

#[test]
fn a_reload_must_hold_under_the_edited_position_step_too_or_the_next_start_would_fail() {
    let dir = common::assets_copy();
    let running = Config::load(dir.path()).expect("valid copy");
    // 120 m is 12,000 steps of the running 0.01 m, but 120,000 of the edited 0.001 m.
    common::edit(
        dir.path(),
        "gameplay/interest.toml",
        "position_precision_m = 0.01",
        "position_precision_m = 0.001",
    );
    let errors = Config::reload(dir.path(), &running)
        .expect_err("the next start would refuse it")
        .to_string();
    assert!(
        errors.ends_with(
            "view_radius_m: must be at most 32000 position_precision_m steps (32 m at 0.001 m), got 120000"
        ),
        "{errors}"
    );
}

#[test]
fn currencies_keep_their_places_while_the_server_runs_and_across_its_restarts() {
    let assets = common::assets_copy();
    let data = tempfile::tempdir().expect("temp dir");
    let args = serve_args(assets.path(), data.path(), "127.0.0.1:0");
    let currencies = assets.path().join("economy/currencies.toml");
    let original = std::fs::read_to_string(&currencies).expect("currencies");
    let with = |name: &str| {
        let table = format!("\n[currencies.{name}]\nminor_unit_digits = 2\ntradeable = true\n");
        std::fs::write(&currencies, format!("{original}{table}")).expect("write currencies");
    };
    let added_line = original.lines().count() + 2;

    let mut server = ServerProcess::start(&args);
    server.wait_for("serving", WAIT);
    with("bonds");
    let refused = server.wait_for("config edit refused; the running config stays in force", WAIT);
    let error = refused["error"].as_str().expect("error logged");
    assert!(
        error.ends_with(&format!(
            "economy/currencies.toml:{added_line}: currencies.bonds: names can be added only at a restart, \
             while the server runs the economy's balances, holdings, orders and journal refer to each by its \
             place in name order; a new name must sort after `eurodollars`"
        )),
        "{error}"
    );
    server.terminate();
    assert!(server.wait_exit(WAIT).is_some_and(|status| status.success()));

    // At a start, "bonds" would take the place of "cryptos", whose balances the store keeps.
    let out = serve_to_exit(args);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "economy/currencies.toml:{added_line}: currencies.bonds: `bonds` would take the place of `cryptos`"
        )),
        "{stderr}"
    );

    // A name that sorts after every other one is added at a start, and cannot go again; a start
    // that fails for another reason (its address taken) adds nothing.
    with("zlotys");
    let taken = std::net::UdpSocket::bind("127.0.0.1:0").expect("a port");
    let address = taken.local_addr().expect("bound").to_string();
    let out = serve_to_exit(serve_args(assets.path(), data.path(), &address));
    assert_eq!(out.status.code(), Some(1));
    std::fs::write(&currencies, &original).expect("write currencies");
    let mut server = ServerProcess::start(&args);
    server.wait_for("serving", WAIT);
    server.terminate();
    assert!(server.wait_exit(WAIT).is_some_and(|status| status.success()));
    with("zlotys");
    let mut server = ServerProcess::start(&args);
    server.wait_for("serving", WAIT);
    server.terminate();
    assert!(server.wait_exit(WAIT).is_some_and(|status| status.success()));
    std::fs::write(&currencies, &original).expect("write currencies");
    let out = serve_to_exit(args);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("economy/currencies.toml:3: currencies: `zlotys` cannot be removed or renamed"),
        "{stderr}"
    );
}
