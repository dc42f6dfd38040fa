//! Operations through the doors an operator uses: the HTTP endpoints of a running server
//! (`/metrics` parsed as Prometheus text, `/healthz`, `/readyz`), load shedding switched on and
//! off by editing `server.toml` on the running server, SIGTERM during economy traffic, and the
//! huge-page policy as the kernel reports it.

#![expect(
    clippy::disallowed_methods,
    reason = "waiting on a live server needs the wall clock; the rule protects src/sim"
)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::NetServer;
use necpsim::client::{Client, ClientError};
use necpsim::protocol::{CreateSessionC2s, EconomyC2s, EconomyOpC2s, PingC2s, ReplyBodyS2c, RequestC2s};
use necpsim::sim::economy::ledger::PlayerId;
use necpsim::store::sqlite::SqliteStore;
use necpsim::store::{DATABASE_FILE, Store};

const WAIT: Duration = Duration::from_secs(20);

fn scrape(server: &NetServer) -> prometheus_parse::Scrape {
    let (status, body) = server.get("/metrics");
    assert_eq!(status, 200);
    prometheus_parse::Scrape::parse(body.lines().map(|line| Ok(line.to_owned()))).expect("Prometheus text")
}

/// The value of `metric` with `labels`.
fn value(scrape: &prometheus_parse::Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    let sample = scrape
        .samples
        .iter()
        .find(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .unwrap_or_else(|| panic!("no {metric} {labels:?}"));
    match sample.value {
        prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Gauge(v) => v,
        ref other => panic!("{metric} is {other:?}"),
    }
}

#[test]
fn metrics_parse_and_move_under_real_traffic() {
    let server = NetServer::start(|_| {});
    assert_eq!(server.get("/healthz"), (200, "ok\n".to_owned()));
    assert_eq!(server.get("/readyz"), (200, "ready\n".to_owned()));
    assert_eq!(server.get("/nothing").0, 404);
    let before = scrape(&server);
    assert!(
        before.docs.contains_key("necpsim_tick_duration_seconds"),
        "HELP lines present"
    );
    common::runtime().block_on(async {
        let client = server.connect(1).await;
        for n in 0..5 {
            client
                .request(RequestC2s::Ping(PingC2s { client_time_us: n }))
                .await
                .expect("pong");
        }
        let overdraft = client
            .request(RequestC2s::Economy(EconomyC2s {
                idempotency_key: 9,
                op: EconomyOpC2s::Transfer {
                    to: 2,
                    currency: 1,
                    amount_minor: 5,
                },
            }))
            .await;
        // Player 2 has never entered the world.
        assert!(
            matches!(overdraft, Err(ClientError::Refused { code: 304, .. })),
            "{overdraft:?}"
        );
        let after = scrape(&server);
        let control = [("direction", "in"), ("kind", "control")];
        assert!(
            value(&after, "necpsim_messages_total", &control)
                >= value(&before, "necpsim_messages_total", &control) + 6.0
        );
        assert!(value(&after, "necpsim_ticks_total", &[]) > value(&before, "necpsim_ticks_total", &[]));
        assert_eq!(value(&after, "necpsim_connections", &[]), 1.0);
        assert_eq!(value(&after, "necpsim_players", &[]), 1.0);
        assert_eq!(value(&after, "necpsim_refusals_total", &[("code", "304")]), 1.0);
        // Even a refused economy command's key is remembered, so that its retry is refused alike.
        assert_eq!(value(&after, "necpsim_idempotency_keys", &[]), 1.0);
        assert!(value(&after, "necpsim_process_resident_memory_bytes", &[]) > 1e6);
        assert!(value(&after, "necpsim_process_cpu_seconds_total", &[]) > 0.0);
        // A tick's CPU time is measured inside its wall time, so it can never add up to more.
        let text = server.get("/metrics").1;
        let total = |line: &str| -> f64 {
            let found = text.lines().find_map(|l| l.strip_prefix(line));
            found
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or_else(|| panic!("no {line}"))
        };
        assert!(total("necpsim_tick_cpu_seconds_count ") > 0.0, "{text}");
        // Lateness is observed once per wake-up, before the ticks it runs are counted.
        let late = total("necpsim_tick_lateness_seconds_count ");
        assert!(
            late > 0.0 && late <= total("necpsim_ticks_total ") + 1.0,
            "{text}"
        );
        assert!(
            total("necpsim_tick_cpu_seconds_sum ") <= total("necpsim_tick_duration_seconds_sum "),
            "{text}"
        );
        assert!(
            value(
                &after,
                "necpsim_message_bytes_total",
                &[("direction", "out"), ("kind", "reply")]
            ) > 0.0
        );
    });
}

#[test]
fn load_shedding_engages_and_releases_on_a_running_server() {
    let shedding = |engage: &str, release: &str| {
        format!(
            "[shedding]\nenabled = true\nwindow_ticks = 5\nengage_tick_p99_ratio = {engage}\n\
             release_tick_p99_ratio = {release}"
        )
    };
    let relaxed = shedding("50.0", "40.0");
    // Any tick at all is over a millionth of the budget (the least release config accepts is
    // above zero, so that shedding can always switch off).
    let overloaded = shedding("0.000001", "0.000001");
    let server = NetServer::start(|assets| {
        let defaults = "[shedding]\nenabled = false\nwindow_ticks = 120\nengage_tick_p99_ratio = 1.0\n\
                        release_tick_p99_ratio = 0.7";
        common::edit(assets, "server.toml", defaults, &relaxed);
    });
    let wait_for_readiness = |ready: bool| {
        let deadline = std::time::Instant::now() + WAIT;
        while (server.get("/readyz").0 == 200) != ready {
            assert!(
                std::time::Instant::now() < deadline,
                "readiness never became {ready}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    common::runtime().block_on(async {
        let admitted = server.connect(1).await;
        common::edit(server.assets.path(), "server.toml", &relaxed, &overloaded);
        wait_for_readiness(false);
        assert!(server.get("/readyz").1.contains("shedding load"));
        let refused = Client::connect(server.options(2)).await;
        assert!(
            matches!(refused, Err(ClientError::Closed { code: 1031, .. })),
            "{refused:?}"
        );
        let create = RequestC2s::CreateSession(CreateSessionC2s {
            kind: 0,
            zone_id: 1,
            difficulty: 0,
            team_size: Some(1),
            time_limit_s: None,
        });
        let busy = admitted.request(create.clone()).await;
        assert!(
            matches!(busy, Err(ClientError::Refused { code: 1, .. })),
            "{busy:?}"
        );
        admitted.ping().await.expect("players already in keep playing");

        common::edit(server.assets.path(), "server.toml", &overloaded, &relaxed);
        wait_for_readiness(true);
        server.connect(2).await;
        assert!(matches!(
            admitted.request(create).await,
            Ok(ReplyBodyS2c::SessionCreated { .. })
        ));
        let metrics = scrape(&server);
        assert_eq!(value(&metrics, "necpsim_load_shedding_engaged_total", &[]), 1.0);
        assert_eq!(value(&metrics, "necpsim_load_shedding", &[]), 0.0);
        assert!(value(&metrics, "necpsim_refusals_total", &[("code", "1031")]) >= 1.0);
        assert_eq!(
            value(&metrics, "necpsim_config_reloads_total", &[("outcome", "ok")]),
            2.0
        );
    });
}

#[test]
fn sigterm_during_economy_traffic_exits_cleanly_and_keeps_every_acknowledgement() {
    let mut server = NetServer::start(|_| {});
    let acknowledged: Arc<Mutex<Vec<(u64, u128)>>> = Arc::default();
    let runtime = common::runtime();
    let clients: Vec<Client> = runtime.block_on(async {
        let mut clients = Vec::new();
        for player in 1..=10 {
            clients.push(server.connect(player).await);
        }
        clients
    });
    for (index, client) in clients.iter().enumerate() {
        let client = client.clone();
        let acknowledged = Arc::clone(&acknowledged);
        let player = index as u64 + 1;
        runtime.spawn(async move {
            for n in 0u128.. {
                let key = n << 64 | u128::from(player);
                let transfer = RequestC2s::Economy(EconomyC2s {
                    idempotency_key: key,
                    op: EconomyOpC2s::Transfer {
                        to: player % 10 + 1,
                        currency: 1,
                        amount_minor: 1,
                    },
                });
                match client.request(transfer).await {
                    Ok(_) => acknowledged.lock().expect("not poisoned").push((player, key)),
                    Err(ClientError::Refused { .. }) => {}
                    Err(_) => return,
                }
            }
        });
    }
    std::thread::sleep(Duration::from_millis(700));
    server.process.terminate();
    let exit = server.process.wait_exit(WAIT).expect("exits within the deadline");
    assert!(exit.success(), "{exit:?}");
    let closed = runtime.block_on(async { tokio::time::timeout(WAIT, clients[0].closed()).await });
    assert!(
        matches!(closed, Ok(ClientError::Closed { code: 1040, .. })),
        "clients are told of the shutdown: {closed:?}"
    );
    let acknowledged = acknowledged.lock().expect("not poisoned").clone();
    assert!(acknowledged.len() > 50, "traffic ran: {}", acknowledged.len());
    let store = SqliteStore::open_read_only(&server.data.path().join(DATABASE_FILE)).expect("store opens");
    for (player, key) in acknowledged {
        assert!(
            store.has_key(PlayerId(player), key).expect("readable"),
            "player {player} key {key:#x} lost"
        );
    }
    necpsim::store::recovery::verify(&store).expect("the store verifies");
}

/// The kernel's view of the serving process: `sim.huge_pages = false` (the default) switches
/// transparent huge pages off for it, and `true` leaves them to the system's setting.
#[cfg(target_os = "linux")]
#[test]
fn huge_pages_follow_the_server_setting() {
    let thp_enabled = |server: &NetServer| {
        let status = std::fs::read_to_string(format!("/proc/{}/status", server.process.pid()))
            .expect("the server's /proc status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("THP_enabled:"))
            .map(|value| value.trim().to_owned())
            .expect("a THP_enabled line")
    };
    let default = NetServer::start(|_| {});
    assert_eq!(thp_enabled(&default), "0");
    drop(default);

    let allowed = NetServer::start(|assets| {
        common::edit(assets, "server.toml", "huge_pages = false", "huge_pages = true");
    });
    assert_eq!(thp_enabled(&allowed), "1");
}

/// The scheduling policy and real-time priority of the serving process's thread named `name`, as
/// the kernel reports them (`/proc/PID/task/TID/stat` fields 41 and 40), once they are `expected`
/// (a thread sets its policy when it starts) or after `WAIT`.
#[cfg(target_os = "linux")]
fn thread_policy(server: &NetServer, name: &str, expected: (u32, u32)) -> Option<(u32, u32)> {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let policy = read_thread_policy(server, name);
        if policy == Some(expected) || std::time::Instant::now() > deadline {
            return policy;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[cfg(target_os = "linux")]
fn read_thread_policy(server: &NetServer, name: &str) -> Option<(u32, u32)> {
    let tasks = format!("/proc/{}/task", server.process.pid());
    for task in std::fs::read_dir(tasks).expect("the server's threads") {
        let path = task.expect("a thread").path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if comm.trim() != name {
            continue;
        }
        let stat = std::fs::read_to_string(path.join("stat")).expect("the thread's stat");
        let after_name = &stat[stat.rfind(')').expect("a name in parentheses") + 1..];
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let field = |n: usize| fields[n - 3].parse::<u32>().expect("a number");
        return Some((field(41), field(40)));
    }
    None
}

/// `threads.realtime_priority`: 0 (the default) leaves every thread under the normal policy; a
/// priority puts the tick thread under `SCHED_FIFO` at it and the network and store threads one
/// below, wherever this machine lets a process do so (and otherwise the server runs on under the
/// normal policy).
#[cfg(target_os = "linux")]
#[test]
fn the_server_threads_run_at_the_configured_realtime_priorities() {
    const SCHED_OTHER: u32 = 0;
    const SCHED_FIFO: u32 = 1;
    const THREADS: [&str; 3] = ["tick", "net", "store"];
    let normal = (SCHED_OTHER, 0);
    let default = NetServer::start(|_| {});
    for name in THREADS {
        assert_eq!(thread_policy(&default, name, normal), Some(normal), "{name}");
    }
    drop(default);

    let allowed = std::thread::spawn(|| {
        let param = libc::sched_param { sched_priority: 7 };
        // SAFETY: `param` outlives the call; pid 0 is this short-lived probe thread.
        unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) == 0 }
    })
    .join()
    .expect("the probe thread");
    let realtime = NetServer::start(|assets| {
        common::edit(
            assets,
            "server.toml",
            "realtime_priority = 0",
            "realtime_priority = 7",
        );
        common::edit(
            assets,
            "server.toml",
            "snapshot_threads = 1",
            "snapshot_threads = 2",
        );
    });
    for name in THREADS.into_iter().chain(["snapshot-0", "snapshot-1"]) {
        let priority = if name == "net" || name == "store" { 6 } else { 7 };
        let expected = if allowed { (SCHED_FIFO, priority) } else { normal };
        assert_eq!(
            thread_policy(&realtime, name, expected),
            Some(expected),
            "{name}; SCHED_FIFO allowed here: {allowed}"
        );
    }
}

/// Sends `request` on a fresh connection to the server's HTTP endpoints and reads the whole
/// answer; an error if the connection is reset instead of closed.
fn http_exchange(server: &NetServer, request: &[u8]) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(server.http)?;
    stream.write_all(request)?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    Ok(answer)
}

#[test]
fn slow_or_silent_http_clients_hold_up_neither_the_endpoints_nor_a_shutdown() {
    use std::io::Write;

    let mut server = NetServer::start(|_| {});
    // Clients that trickle a request a byte at a time, and one that sends nothing at all.
    let mut trickling: Vec<std::net::TcpStream> = (0..4)
        .map(|_| {
            let mut stream = std::net::TcpStream::connect(server.http).expect("connects");
            stream.write_all(b"GET /hea").expect("sent");
            stream
        })
        .collect();
    let _silent = std::net::TcpStream::connect(server.http).expect("connects");
    let trickler = std::thread::spawn(move || {
        for _ in 0..12 {
            for stream in &mut trickling {
                let _ = stream.write_all(b"l");
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    });
    let (sender, answered) = std::sync::mpsc::channel();
    let http = server.http;
    std::thread::spawn(move || {
        let probe = NetServer::get_from(http, "/healthz");
        let _ = sender.send(probe);
    });
    let (status, _) = answered
        .recv_timeout(Duration::from_millis(1_500))
        .expect("/healthz answers while other clients are slow");
    assert_eq!(status, 200);

    // A request head of a few KiB (a large cookie, say) is read whole, so the answer ends in a
    // clean close, not a reset; one over 8 KiB is refused.
    let cookie = "c".repeat(4_000);
    let answer = http_exchange(
        &server,
        format!("GET /healthz HTTP/1.1\r\nHost: necpsim\r\nCookie: {cookie}\r\n\r\n").as_bytes(),
    )
    .expect("answered and closed");
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    let huge = "c".repeat(9_000);
    let answer = http_exchange(
        &server,
        format!("GET /healthz HTTP/1.1\r\nCookie: {huge}\r\n\r\n").as_bytes(),
    );
    assert!(
        answer
            .as_deref()
            .map_or(true, |answer| answer.starts_with("HTTP/1.1 431")),
        "{answer:?}"
    );

    // A request with more after its blank line (here a body) is answered at once.
    let answer = http_exchange(&server, b"POST /healthz HTTP/1.1\r\nContent-Length: 1\r\n\r\nx")
        .expect("answered and closed");
    assert!(answer.starts_with("HTTP/1.1 405"), "{answer}");

    // Silent clients taking every place are cut off, oldest first, to let a probe in.
    let _silent: Vec<std::net::TcpStream> = (0..40)
        .map(|_| std::net::TcpStream::connect(server.http).expect("connects"))
        .collect();
    let (status, _) = NetServer::get_from(server.http, "/readyz");
    assert_eq!(status, 200);

    // A shutdown does not wait for them: it ends well within its 10-s deadline, with exit 0.
    server.process.terminate();
    let exit = server.process.wait_exit(WAIT).expect("exits");
    assert!(exit.success(), "{exit:?}");
    trickler.join().expect("trickler ends");
}
