//! The command line as an operator uses it: `check-config`, `--version`, `--help`, and `serve`
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
