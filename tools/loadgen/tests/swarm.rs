//! Runs the swarm's core against a real server started in-process on loopback: 20 bots of the
//! mixed scenario for three seconds, then checks the report and the files written from it.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use loadgen::options::token_key;
use loadgen::{Op, RunOptions, Scenario, html, write_file};
use necpsim::server::{ServeOptions, Server};

/// A copy of the bundled assets with players spawning close together, so that fighters are in
/// range within the short run.
fn assets_copy(into: &Path) {
    let bundled = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets");
    copy_dir(&bundled, into);
    let world = into.join("gameplay/world.toml");
    let text = std::fs::read_to_string(&world).expect("world.toml");
    assert!(text.contains("radius_m = 256.0"), "the spawn radius moved");
    std::fs::write(&world, text.replacen("radius_m = 256.0", "radius_m = 10.0", 1)).expect("write");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy file");
        }
    }
}

#[test]
fn mixed_swarm_reports_every_role() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (assets, data) = (dir.path().join("assets"), dir.path().join("data"));
    assets_copy(&assets);
    let server = Server::start(
        &ServeOptions {
            assets: assets.clone(),
            data: data.clone(),
            bind: Some("127.0.0.1:0".parse().expect("addr")),
            http: Some("127.0.0.1:0".parse().expect("addr")),
        },
        Arc::default(),
    )
    .expect("server starts");

    let options = RunOptions {
        server: server.local_addr(),
        fingerprint: server.fingerprint(),
        tokens: Arc::new(token_key(&assets, &data).expect("token key")),
        scenario: Scenario::load(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("scenarios/mixed.toml")
                .to_str()
                .expect("utf-8"),
        )
        .expect("mixed.toml"),
        clients: 20,
        duration: Duration::from_secs(3),
        ramp: Duration::from_millis(500),
        seed: 7,
        metrics: Some(server.http_addr()),
        first_player: 100,
        per_source_address: 8,
        progress: false,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let report = runtime.block_on(loadgen::run(&options)).expect("the run reports");
    server.stop().expect("the server stops");

    assert_eq!(report.connections, 20, "{report}");
    assert_eq!(report.connect_failures, 0, "{report}");
    assert_eq!(
        (report.roles.roaming, report.roles.fighting, report.roles.trading),
        (14, 4, 2)
    );
    assert!(report.replies > 0 && report.rtt_ms_p50 > 0.0, "{report}");
    assert!(report.op(Op::Ping).is_some_and(|op| op.count > 0), "{report}");
    assert!(report.inputs > 0 && report.snapshots > 0, "{report}");
    assert!(report.sessions_created >= 1, "{report}");
    assert!(report.acted > 0, "fights produced Acted replies: {report}");
    assert!(report.economy_acks > 0, "trades were acknowledged: {report}");
    assert!(report.server_tick_ms_p99.is_some(), "{report}");
    // A tick's CPU time lies within its duration, so every quantile of it does too.
    if let (Some(cpu), Some(wall)) = (report.server_tick_cpu_ms_p99, report.server_tick_ms_p99) {
        assert!(cpu <= wall, "{report}");
    }
    #[cfg(target_os = "linux")]
    assert!(report.server_tick_cpu_ms_p99.is_some(), "{report}");
    // Exported by servers that have the process metrics; absent ones are reported as absent.
    assert!(report.server_rss_mb.is_none_or(|mb| mb > 0.0), "{report}");
    assert!(report.server_tick_budget_ms.is_some(), "{report}");
    assert!(!report.timeline.is_empty(), "{report}");

    let json: serde_json::Value = serde_json::to_value(&report).expect("json");
    for field in [
        "clients",
        "duration_s",
        "errors",
        "rtt_ms_p50",
        "rtt_ms_p99",
        "server_tick_ms_p99",
        "server_tick_cpu_ms_p99",
        "server_rss_mb",
        "snapshots_per_s",
        "refusals_by_code",
        "operations",
    ] {
        assert!(json.get(field).is_some(), "JSON lacks {field}");
    }
    assert_eq!(json["clients"], 20);
    let page = dir.path().join("report.html");
    write_file(&page, &html::render(&report)).expect("html written");
    let text = std::fs::read_to_string(&page).expect("html read");
    assert!(text.contains("<svg") && text.contains("polyline"), "{text}");
}
