//! The command line as an operator uses it: `check-config`, `--version`, `--help`, `token`, and `serve`
//! refusing to start on bad assets, a data directory already in use or a taken address.

mod common;

use std::time::Duration;

use common::{ServerProcess, necpsim, serve_args, serve_to_exit};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn check_config_accepts_the_bundled_assets() {
    let assets = common::bundled_assets();
    let out = necpsim(&["check-config", assets.to_str().expect("utf-8 path")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).ends_with(": ok\n"), "{}", text(&out.stdout));
}

#[test]
fn check_config_lists_every_error_and_exits_1() {
    let dir = common::assets_copy();
    common::edit(
        dir.path(),
        "combat/weapons.toml",
        "base_damage = 24.0",
        "base_damage = -5",
    );
    common::edit(dir.path(), "gameplay/characters.toml", "speed_mps", "sped_mps");
    let out = necpsim(&["check-config", dir.path().to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("combat/weapons.toml:5: weapons.smart_pistol.base_damage: must be > 0, got -5"),
        "{stderr}"
    );
    assert!(
        stderr.contains("gameplay/characters.toml:5: player.sped_mps: unknown field"),
        "{stderr}"
    );
    assert!(stderr.contains("2 error(s)"), "{stderr}");
}

#[test]
fn version_and_help_are_available_everywhere() {
    let version = necpsim(&["--version"]);
    assert!(version.status.success());
    assert_eq!(
        text(&version.stdout),
        format!("necpsim {}\n", env!("CARGO_PKG_VERSION"))
    );

    let help = text(&necpsim(&["--help"]).stdout);
    assert!(help.contains("serve") && help.contains("check-config"), "{help}");
    let serve = text(&necpsim(&["serve", "--help"]).stdout);
    for option in ["--assets", "--data", "--bind", "--log-format"] {
        assert!(serve.contains(option), "serve --help lacks {option}: {serve}");
    }
    let check = text(&necpsim(&["check-config", "--help"]).stdout);
    assert!(check.contains("[DIR]"), "{check}");
    assert!(necpsim(&["serve", "--version"]).status.success());
}

#[test]
fn serve_refuses_invalid_assets() {
    let dir = common::assets_copy();
    common::edit(dir.path(), "server.toml", "rate_hz = 60.0", "rate_hz = 0");
    let data = tempfile::tempdir().expect("temp dir");
    let out = serve_to_exit(serve_args(dir.path(), data.path(), "127.0.0.1:0"));
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("server.toml:4: tick.rate_hz: must be between 1 and 1000, got 0"),
        "{stderr}"
    );
}

#[test]
fn serve_refuses_a_data_dir_in_use_and_a_taken_address() {
    let data = tempfile::tempdir().expect("temp dir");
    let assets = common::bundled_assets();
    let first = ServerProcess::start(&serve_args(&assets, data.path(), "127.0.0.1:0"));
    let serving = first.wait_for("serving", Duration::from_secs(20));
    let udp = serving["udp"].as_str().expect("udp address logged").to_owned();

    let same_dir = serve_to_exit(serve_args(&assets, data.path(), "127.0.0.1:0"));
    assert_eq!(same_dir.status.code(), Some(1));
    assert!(text(&same_dir.stderr).contains("is in use by another necpsim process"));

    let other_data = tempfile::tempdir().expect("temp dir");
    let same_addr = serve_to_exit(serve_args(&assets, other_data.path(), &udp));
    assert_eq!(same_addr.status.code(), Some(1));
    assert!(text(&same_addr.stderr).contains(&format!("cannot bind UDP {udp}")));
}

#[test]
fn a_corrupt_store_keeps_the_server_from_starting_and_fails_verification() {
    let data = tempfile::tempdir().expect("temp dir");
    std::fs::write(data.path().join("necpsim.db"), vec![0x5a; 8192]).expect("write");
    let out = serve_to_exit(serve_args(&common::bundled_assets(), data.path(), "127.0.0.1:0"));
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("cannot open the store") && stderr.contains("necpsim.db"),
        "{stderr}"
    );
    let data_arg = data.path().to_str().expect("utf-8");
    for command in ["verify", "replay-ledger"] {
        let out = necpsim(&[command, "--data", data_arg]);
        assert_eq!(out.status.code(), Some(1), "{command}");
        assert!(
            text(&out.stderr).contains("necpsim.db"),
            "{command}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn verify_and_replay_ledger_accept_a_store_the_server_wrote() {
    let data = tempfile::tempdir().expect("temp dir");
    let server = ServerProcess::start(&serve_args(&common::bundled_assets(), data.path(), "127.0.0.1:0"));
    server.wait_for("serving", Duration::from_secs(20));
    drop(server);
    let data_arg = data.path().to_str().expect("utf-8");
    for command in ["verify", "replay-ledger"] {
        let out = necpsim(&[command, "--data", data_arg]);
        assert!(out.status.success(), "{command}: {}", text(&out.stderr));
        assert!(
            text(&out.stdout).contains(&format!("ok: {command}")),
            "{}",
            text(&out.stdout)
        );
    }
}

#[test]
fn serve_writes_a_chrome_trace_of_its_ticks_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("temp dir");
    let trace = dir.path().join("trace.json");
    let data = dir.path().join("data");
    let assets = common::bundled_assets();
    let trace_arg = trace.to_str().expect("utf-8");
    let args = [
        &serve_args(&assets, &data, "127.0.0.1:0")[..],
        &["--trace-file", trace_arg],
    ]
    .concat();
    let mut server = ServerProcess::start(&args);
    server.wait_for("serving", Duration::from_secs(20));
    server.wait_for("tick summary", Duration::from_secs(20));
    let pid = server.pid().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    let status = server.wait_exit(Duration::from_secs(20)).expect("exits");
    assert!(status.success(), "{status:?}");
    let events: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&trace).expect("trace written"))
            .expect("trace is JSON");
    for span in ["tick", "simulate", "store", "output"] {
        assert!(
            events.iter().any(|e| e["name"] == span && e["ph"] == "B"),
            "no {span} span in the trace"
        );
    }

    // A trace file that cannot be created is an error, not a crash.
    let missing = dir.path().join("no such dir").join("trace.json");
    let out = necpsim(&["--trace-file", missing.to_str().expect("utf-8"), "check-config"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("cannot create the trace file"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn bench_runs_the_schedule_and_writes_its_report() {
    let out_dir = tempfile::tempdir().expect("temp dir");
    let json = out_dir.path().join("bench.json");
    let assets = common::bundled_assets();
    let out = necpsim(&[
        "bench",
        "--players",
        "20",
        "--npcs",
        "30",
        "--ticks",
        "30",
        "--assets",
        assets.to_str().expect("utf-8 path"),
        "--json",
        json.to_str().expect("utf-8 path"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("30 ticks, 50 entities (20 players, 30 npcs)"),
        "{stdout}"
    );
    assert!(stdout.contains("ns per entity per tick"), "{stdout}");
    assert!(stdout.contains("of which p50: simulation"), "{stdout}");

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("report written")).expect("json");
    assert_eq!(
        (report["ticks"].as_u64(), report["entities"].as_u64()),
        (Some(30), Some(50))
    );
    for field in [
        "tick_ms_p50",
        "tick_ms_p99",
        "tick_ms_max",
        "ns_per_entity_tick",
        "simulate_ms_p50",
        "output_ms_p50",
    ] {
        assert!(
            report[field].as_f64().is_some_and(|v| v > 0.0),
            "{field}: {}",
            report[field]
        );
    }
    // 20 bots over 30 ticks at 20 Hz snapshots: 200 snapshots, all honest inputs accepted.
    assert_eq!(report["snapshots"].as_u64(), Some(200));
    assert_eq!(report["refused"].as_u64(), Some(0));
    assert_eq!(report["snapshot_threads"].as_u64(), Some(1));
}

#[test]
fn bench_shares_snapshots_out_to_the_threads_asked_for() {
    let out_dir = tempfile::tempdir().expect("temp dir");
    let assets = common::bundled_assets();
    let report = |threads: &str| {
        let json = out_dir.path().join(format!("bench-{threads}.json"));
        // 3,300 clients: 1,100 due a snapshot each tick, enough to share out.
        let out = necpsim(&[
            "bench",
            "--players",
            "3300",
            "--ticks",
            "6",
            "--snapshot-threads",
            threads,
            "--assets",
            assets.to_str().expect("utf-8 path"),
            "--json",
            json.to_str().expect("utf-8 path"),
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        (
            text(&out.stdout),
            serde_json::from_str::<serde_json::Value>(
                &std::fs::read_to_string(&json).expect("report written"),
            )
            .expect("json"),
        )
    };
    let (_, alone) = report("1");
    let (stdout, shared) = report("3");
    assert!(stdout.contains("snapshots encoded by 3 threads"), "{stdout}");
    assert_eq!(shared["snapshot_threads"].as_u64(), Some(3));
    assert_eq!(shared["snapshots"].as_u64(), Some(3300 * 6 / 3));
    // The same world and bots: the same snapshots, so the same mean size.
    for field in ["snapshots", "snapshot_bytes_mean", "inputs"] {
        assert_eq!(shared[field], alone[field], "{field}");
    }

    let refused = necpsim(&["bench", "--players", "1", "--snapshot-threads", "0"]);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("--snapshot-threads"),
        "{}",
        text(&refused.stderr)
    );
}

#[test]
fn bench_refuses_what_it_cannot_run_and_ticks_at_the_servers_rate() {
    let refusal = |args: &[&str], expected: &str| {
        let out = necpsim(&[&["bench", "--ticks", "1"], args].concat());
        assert!(!out.status.success(), "{args:?} ran");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    };
    refusal(
        &["--fighters", "5"],
        "must be a multiple of 10 (fighters play 5-vs-5), got 5",
    );
    refusal(
        &["--players", "15", "--fighters", "20"],
        "--fighters 20 is more than --players 15: fighters are among the players",
    );
    refusal(
        &["--area-per-entity-m2=-5"],
        "must be a finite number above 0, got -5",
    );
    refusal(
        &["--area-per-entity-m2", "0"],
        "must be a finite number above 0, got 0",
    );
    refusal(
        &["--area-per-entity-m2", "NaN"],
        "must be a finite number above 0, got NaN",
    );
    refusal(
        &["--players", "100", "--area-per-entity-m2", "1e9"],
        "a world of 316228 m square reaches beyond ±83886 m, where positions lose their 0.01 m \
         precision",
    );

    // With the adaptive table on, 20 players tick at its first step, as the server would.
    let assets = common::assets_copy();
    common::edit(assets.path(), "server.toml", "enabled = false", "enabled = true");
    let out = necpsim(&[
        "bench",
        "--players",
        "20",
        "--ticks",
        "10",
        "--assets",
        assets.path().to_str().expect("utf-8 path"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("(20 players, 0 npcs), 128 Hz"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn serve_follows_the_adaptive_rate_table_when_it_is_on() {
    let assets = common::assets_copy();
    let data = tempfile::tempdir().expect("temp dir");
    common::edit(assets.path(), "server.toml", "enabled = false", "enabled = true");
    let server = ServerProcess::start(&serve_args(assets.path(), data.path(), "127.0.0.1:0"));
    // No players: the first step of the table, 128 Hz.
    let serving = server.wait_for("serving", Duration::from_secs(20));
    assert_eq!(serving["rate_hz"].as_f64(), Some(128.0));
    assert_eq!(serving["adaptive"].as_bool(), Some(true));

    // Turning it off on the running server goes back to tick.rate_hz.
    common::edit(assets.path(), "server.toml", "enabled = true", "enabled = false");
    let reloaded = server.wait_for("config reloaded", Duration::from_secs(20));
    assert_eq!(reloaded["changed"], "server.toml");
    assert_eq!(reloaded["rate_hz"].as_f64(), Some(60.0));
}

#[test]
fn bench_fighting_bots_play_arenas() {
    let out_dir = tempfile::tempdir().expect("temp dir");
    let json = out_dir.path().join("bench.json");
    let assets = common::bundled_assets();
    let out = necpsim(&[
        "bench",
        "--players",
        "30",
        "--fighters",
        "20",
        "--ticks",
        "600",
        "--area-per-entity-m2",
        "100",
        "--assets",
        assets.to_str().expect("utf-8 path"),
        "--json",
        json.to_str().expect("utf-8 path"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("fighters: 20"),
        "{}",
        text(&out.stdout)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("report written")).expect("json");
    let count = |field: &str| report[field].as_u64().unwrap_or(0);
    assert_eq!(count("fighters"), 20);
    assert!(
        count("shots") > 0 && count("hits") > 0 && count("kills") > 0,
        "{report}"
    );
    assert!(count("hits") <= count("shots"), "{report}");
    assert_eq!(count("refused"), 0, "honest bots: {report}");
}

#[test]
fn token_refuses_the_ids_kept_for_the_servers_own_accounts() {
    let data = tempfile::tempdir().expect("temp dir");
    let assets = common::bundled_assets();
    let token = |player: &str| {
        necpsim(&[
            "token",
            "--player",
            player,
            "--assets",
            assets.to_str().expect("utf-8 path"),
            "--data",
            data.path().to_str().expect("utf-8 path"),
        ])
    };
    let maker = token(&u64::MAX.to_string());
    assert!(!maker.status.success());
    assert!(
        text(&maker.stderr).contains("--player"),
        "{}",
        text(&maker.stderr)
    );
    let player = token("18446744073709486079");
    assert!(player.status.success(), "{}", text(&player.stderr));
    assert_eq!(text(&player.stdout).trim().len(), 2 * (1 + 8 + 8 + 32));
}
