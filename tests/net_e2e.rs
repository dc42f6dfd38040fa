//! End to end over loopback QUIC against the real `necpsim serve` binary, through the client SDK
//! as a game client uses it: authenticate, create and join a combat session, move, fire, trade,
//! and see replies, events and snapshots; then hostile input, each case closing only the
//! offending connection with its documented code while another client keeps being served.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::NetServer;
use necpsim::client::{Client, ClientError};
use necpsim::net::tls::{ServerTrust, client_crypto};
use necpsim::protocol::{
    ActC2s, ControlC2s, CreateSessionC2s, DatagramC2s, EconomyC2s, EconomyOpC2s, EconomyReadC2s, Encoder,
    ErrorCode, EventS2c, GetSessionC2s, GoodsC2s, HelloC2s, InputC2s, JoinSessionC2s, ListSessionsC2s,
    PingC2s, ReplyBodyS2c, RequestC2s, SnapshotAckC2s, SubscribeC2s, TargetC2s, topics,
};
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);

/// Everyone spawns within 3 m of the origin, so a fight needs no walking.
fn close_quarters(assets: &std::path::Path) {
    common::edit(
        assets,
        "gameplay/world.toml",
        "radius_m = 256.0",
        "radius_m = 3.0",
    );
}

async fn ask(client: &Client, body: RequestC2s) -> ReplyBodyS2c {
    timeout(WAIT, client.request(body))
        .await
        .expect("answered in time")
        .expect("not refused")
}

async fn next_event(client: &Client, wanted: impl Fn(&EventS2c) -> bool) -> EventS2c {
    timeout(WAIT, async {
        loop {
            let event = client.next_event().await.expect("event stream open");
            if wanted(&event) {
                return event;
            }
        }
    })
    .await
    .expect("event in time")
}

/// Eurodollars: currency 1 in the name order of `economy/currencies.toml`, with a starting balance.
const EURODOLLARS: u16 = 1;

fn wallet_minor(reply: &ReplyBodyS2c) -> i64 {
    let ReplyBodyS2c::Wallet { balances } = reply else {
        panic!("not a wallet: {reply:?}");
    };
    balances
        .iter()
        .find(|b| b.currency == EURODOLLARS)
        .expect("a eurodollar balance")
        .available
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn players_fight_move_and_trade_through_the_real_server() {
    let server = NetServer::start(close_quarters);
    let alice = server.connect(1).await;
    let bob = server.connect(2).await;
    assert_eq!(alice.welcome().player, 1);
    assert_eq!(bob.welcome().player, 2);
    assert_ne!(alice.welcome().net_id, bob.welcome().net_id);
    assert!(alice.welcome().tick_rate_hz > 0.0);
    let config = necpsim::config::Config::load(server.assets.path()).expect("the server's assets");
    assert_eq!(
        alice.welcome().position_precision_m,
        config.gameplay.interest.position_precision_m,
        "clients are told the step of snapshot positions"
    );
    assert!(alice.ping().await.expect("pong") < WAIT);

    // A session, seen by a subscriber as it starts.
    let subscribe = SubscribeC2s {
        topics: topics::SESSIONS | topics::COMBAT,
        session: 0,
    };
    assert_eq!(
        ask(&alice, RequestC2s::Subscribe(subscribe)).await,
        ReplyBodyS2c::Subscribed {
            topics: subscribe.topics
        }
    );
    let create = CreateSessionC2s {
        kind: 0,
        zone_id: 1,
        difficulty: 0,
        team_size: Some(1),
        time_limit_s: None,
    };
    let ReplyBodyS2c::SessionCreated { session } = ask(&alice, RequestC2s::CreateSession(create)).await
    else {
        panic!("no session");
    };
    let combat = SubscribeC2s {
        topics: topics::SESSIONS | topics::COMBAT,
        session,
    };
    ask(&alice, RequestC2s::Subscribe(combat)).await;
    for (client, team) in [(&alice, 0), (&bob, 1)] {
        let join = JoinSessionC2s {
            session,
            team,
            role: 0,
        };
        let reply = ask(client, RequestC2s::JoinSession(join)).await;
        assert!(
            matches!(reply, ReplyBodyS2c::SessionJoined { session: s, .. } if s == session),
            "{reply:?}"
        );
    }
    next_event(
        &alice,
        |e| matches!(e, EventS2c::SessionChanged { session: s, status: 1 } if *s == session),
    )
    .await;

    // Alice fires at Bob until a shot lands; the hit arrives as an event.
    let fire = RequestC2s::Act(ActC2s {
        session,
        ability: None,
        target: TargetC2s::Entity(bob.welcome().net_id),
    });
    let mut acted = false;
    for _ in 0..50 {
        match timeout(WAIT, alice.request(fire.clone()))
            .await
            .expect("answered")
        {
            Ok(ReplyBodyS2c::Acted) => {
                acted = true;
                break;
            }
            // Between shots the weapon is not ready yet.
            Err(ClientError::Refused { code: 222, .. }) => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            other => panic!("unexpected answer to fire: {other:?}"),
        }
    }
    assert!(acted, "no shot was carried out");
    let hit = next_event(&alice, |e| matches!(e, EventS2c::Hit { .. })).await;
    assert!(
        matches!(hit, EventS2c::Hit { session: s, target, .. } if s == session && target == bob.welcome().net_id)
    );
    let ReplyBodyS2c::Session(view) = ask(
        &bob,
        RequestC2s::GetSession(GetSessionC2s {
            session,
            log_after: 0,
        }),
    )
    .await
    else {
        panic!("no session view");
    };
    assert_eq!(view.participants.len(), 2);
    assert!(
        view.participants
            .iter()
            .any(|p| p.player_id == 1 && p.shots_fired >= 1)
    );
    assert!(!view.log.is_empty());
    let ReplyBodyS2c::SessionList(list) =
        ask(&bob, RequestC2s::ListSessions(ListSessionsC2s::default())).await
    else {
        panic!("no list");
    };
    assert!(list.sessions.iter().any(|s| s.id == session));

    // Moving: inputs go up as datagrams, snapshots come down, decoded and acknowledged.
    for seq in 1..=30 {
        let input = InputC2s {
            seq,
            client_tick: seq,
            move_x: 1.0,
            ..InputC2s::default()
        };
        alice.send_input(input).expect("datagram sent");
    }
    // Snapshots queued since she entered come first; one soon shows both players.
    let both = timeout(WAIT, async {
        loop {
            let snapshot = alice
                .next_snapshot()
                .await
                .expect("stream open")
                .expect("decodes");
            if snapshot.states.len() >= 2 {
                return snapshot;
            }
        }
    })
    .await
    .expect("a snapshot with both players in time");
    let later = timeout(WAIT, alice.next_snapshot())
        .await
        .expect("in time")
        .expect("open");
    let later = later.expect("deltas against acknowledged snapshots decode");
    assert!(later.header.seq > both.header.seq);

    // Money moves once per idempotency key; a trade proposal reaches its responder.
    let before = wallet_minor(&ask(&bob, RequestC2s::EconomyRead(EconomyReadC2s::Wallet)).await);
    let transfer = RequestC2s::Economy(EconomyC2s {
        idempotency_key: 0xfeed,
        op: EconomyOpC2s::Transfer {
            to: 2,
            currency: EURODOLLARS,
            amount_minor: 150,
        },
    });
    let first = ask(&alice, transfer.clone()).await;
    assert!(matches!(first, ReplyBodyS2c::Transferred { .. }), "{first:?}");
    assert_eq!(
        ask(&alice, transfer).await,
        first,
        "a repeat gets the first reply"
    );
    let after = wallet_minor(&ask(&bob, RequestC2s::EconomyRead(EconomyReadC2s::Wallet)).await);
    assert_eq!(after, before + 150);
    let overdraft = alice
        .request(RequestC2s::Economy(EconomyC2s {
            idempotency_key: 0xbeef,
            op: EconomyOpC2s::Transfer {
                to: 2,
                currency: EURODOLLARS,
                amount_minor: i64::MAX,
            },
        }))
        .await;
    assert!(
        matches!(overdraft, Err(ClientError::Refused { code: 300, .. })),
        "{overdraft:?}"
    );
    let offer = RequestC2s::Economy(EconomyC2s {
        idempotency_key: 0xcafe,
        op: EconomyOpC2s::OfferTrade {
            to: 2,
            gives: GoodsC2s {
                money: [(EURODOLLARS, 10), (0, 0)],
                ..GoodsC2s::default()
            },
            wants: GoodsC2s {
                money: [(EURODOLLARS, 5), (0, 0)],
                ..GoodsC2s::default()
            },
            lifetime_s: 60,
        },
    });
    let ReplyBodyS2c::TradeProposed { trade, version } = ask(&alice, offer).await else {
        panic!("no trade");
    };
    let proposed = next_event(&bob, |e| matches!(e, EventS2c::TradeProposed { .. })).await;
    assert_eq!(
        proposed,
        EventS2c::TradeProposed {
            trade,
            proposer: 1,
            version
        }
    );
}

/// A bare QUIC connection to `server`, with no `Hello` sent: the door a hostile client uses.
async fn raw_connection(server: &NetServer) -> quinn::Connection {
    raw_connection_with(server, quinn::TransportConfig::default()).await
}

async fn raw_connection_with(server: &NetServer, transport: quinn::TransportConfig) -> quinn::Connection {
    let crypto = client_crypto(ServerTrust::Fingerprint(server.fingerprint)).expect("client TLS");
    let mut endpoint = quinn::Endpoint::client("127.0.0.1:0".parse().expect("addr")).expect("endpoint");
    let mut config = quinn::ClientConfig::new(Arc::new(crypto));
    config.transport_config(Arc::new(transport));
    endpoint.set_default_client_config(config);
    endpoint
        .connect(server.addr, "localhost")
        .expect("connect")
        .await
        .expect("handshake")
}

/// Writes `bytes` on a new control stream (then ends it when `finish`), and returns the code the
/// server closes the connection with.
async fn send_and_await_close(server: &NetServer, bytes: &[u8], finish: bool) -> u64 {
    let connection = raw_connection(server).await;
    let (mut send, _recv) = connection.open_bi().await.expect("stream");
    send.write_all(bytes).await.expect("written");
    if finish {
        send.finish().expect("finished");
    }
    close_code(&connection).await
}

async fn close_code(connection: &quinn::Connection) -> u64 {
    match timeout(WAIT, connection.closed()).await.expect("closed in time") {
        quinn::ConnectionError::ApplicationClosed(close) => close.error_code.into_inner(),
        other => panic!("not closed by the server application: {other}"),
    }
}

fn framed(message: &ControlC2s) -> Vec<u8> {
    let mut out = Vec::new();
    Encoder::default().frame_into(message, &mut out).expect("encodes");
    out
}

fn hello(version: u16, token: String) -> Vec<u8> {
    framed(&ControlC2s {
        request_id: 1,
        body: RequestC2s::Hello(HelloC2s {
            protocol_version: version,
            token,
        }),
    })
}

async fn client_close_code(client: &Client) -> u16 {
    match timeout(WAIT, client.closed()).await.expect("closed in time") {
        ClientError::Closed { code, .. } => code,
        other => panic!("not closed by the server: {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_closes_only_the_offending_connection() {
    let server = NetServer::start(|assets| {
        common::edit(
            assets,
            "server.toml",
            "flood_drops_per_s = 2000",
            "flood_drops_per_s = 200",
        );
    });
    let bystander = server.connect(100).await;
    let still_served = || async {
        timeout(WAIT, bystander.ping())
            .await
            .expect("in time")
            .expect("the bystander is still served");
    };
    let token = server.token(5, "1h");

    let mut random = vec![0u8; 68];
    random[..4].copy_from_slice(&64u32.to_le_bytes());
    for (i, byte) in random[4..].iter_mut().enumerate() {
        *byte = (i as u8).wrapping_mul(151).wrapping_add(7);
    }
    assert_eq!(
        send_and_await_close(&server, &random, false).await,
        1011,
        "random bytes"
    );
    still_served().await;
    assert_eq!(
        send_and_await_close(&server, &u32::MAX.to_le_bytes(), false).await,
        1010,
        "oversized length prefix"
    );
    still_served().await;
    let whole = hello(necpsim::protocol::PROTOCOL_VERSION, token.clone());
    assert_eq!(
        send_and_await_close(&server, &whole[..whole.len() / 2], true).await,
        1013,
        "truncated frame"
    );
    still_served().await;
    assert_eq!(
        send_and_await_close(&server, &hello(999, token.clone()), false).await,
        1000,
        "wrong version"
    );
    still_served().await;

    // Tokens: malformed, forged (signed by another secret's hand: one byte changed), expired.
    assert_eq!(
        send_and_await_close(
            &server,
            &hello(necpsim::protocol::PROTOCOL_VERSION, "not-a-token".into()),
            false
        )
        .await,
        1001
    );
    let mut forged = token.clone().into_bytes();
    let last = forged.len() - 1;
    forged[last] = if forged[last] == b'0' { b'1' } else { b'0' };
    let forged = String::from_utf8(forged).expect("hex");
    assert_eq!(
        send_and_await_close(
            &server,
            &hello(necpsim::protocol::PROTOCOL_VERSION, forged),
            false
        )
        .await,
        1002
    );
    let short_lived = server.token(6, "1s");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        send_and_await_close(
            &server,
            &hello(necpsim::protocol::PROTOCOL_VERSION, short_lived),
            false
        )
        .await,
        1003
    );
    still_served().await;

    // A valid archive with a value out of range, from an authenticated client.
    let offender = server.connect(7).await;
    let bad_team = framed(&ControlC2s {
        request_id: 9,
        body: RequestC2s::JoinSession(JoinSessionC2s {
            session: 1,
            team: 7,
            role: 0,
        }),
    });
    offender.send_raw_control(&bad_team).expect("sent");
    assert_eq!(client_close_code(&offender).await, 1012, "out-of-range value");
    still_served().await;

    // A datagram flood.
    let flooder = server.connect(8).await;
    let mut encoder = Encoder::default();
    let input = encoder
        .encode(&DatagramC2s::Input(InputC2s::default()))
        .expect("encodes")
        .to_vec();
    let flood = async {
        loop {
            for _ in 0..100 {
                if flooder.send_raw_datagram(&input).is_err() {
                    return;
                }
            }
            tokio::task::yield_now().await;
        }
    };
    let _ = timeout(WAIT, flood).await;
    assert_eq!(client_close_code(&flooder).await, 1021, "datagram flood");
    still_served().await;

    // A flood of requests that ignores its refusals.
    let ping = framed(&ControlC2s {
        request_id: 3,
        body: RequestC2s::Ping(PingC2s { client_time_us: 0 }),
    });
    let mut pings = hello(necpsim::protocol::PROTOCOL_VERSION, server.token(10, "1h"));
    // The control bucket's burst (20) and then more refusals than this server's flood allows
    // (200), with little left over: what the client still sends after the close could outlive
    // the server's memory of the connection and be answered with a stateless reset.
    pings.extend(ping.repeat(300));
    let floods_before = refusals_counted(&server, ErrorCode::Flood);
    let pinger = raw_connection(&server).await;
    let (mut send, _recv) = pinger.open_bi().await.expect("stream");
    // The server closes the connection before it has read all of it, while the replies it sent
    // still fill the congestion window: the close code reaches the client all the same.
    let _ = send.write_all(&pings).await;
    assert_eq!(close_code(&pinger).await, 1021, "request flood");
    assert_eq!(
        refusals_counted(&server, ErrorCode::Flood),
        floods_before + 1,
        "request flood"
    );
    still_served().await;

    // A client that stops reading its replies.
    let connection = raw_connection(&server).await;
    let (mut send, mut recv) = connection.open_bi().await.expect("stream");
    send.write_all(&hello(
        necpsim::protocol::PROTOCOL_VERSION,
        server.token(11, "1h"),
    ))
    .await
    .expect("written");
    let welcome = timeout(WAIT, recv.read_chunk(1 << 16, true))
        .await
        .expect("in time");
    assert!(welcome.is_ok(), "{welcome:?}");
    recv.stop(0u32.into()).expect("stopped");
    send.write_all(&ping).await.expect("written");
    assert_eq!(close_code(&connection).await, 1030, "a stopped control stream");
    still_served().await;

    // More streams than the protocol uses.
    let streamer = server.connect(9).await;
    let (mut extra, _recv) = streamer.connection().open_bi().await.expect("a second stream");
    extra.write_all(b"x").await.expect("written");
    assert_eq!(
        client_close_code(&streamer).await,
        1014,
        "a second bidirectional stream"
    );
    still_served().await;

    // One player, one connection.
    let twin = Client::connect(server.options(100)).await;
    assert!(
        matches!(twin, Err(ClientError::Closed { code: 1005, .. })),
        "{twin:?}"
    );
    still_served().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_over_their_rate_are_refused_and_a_client_that_stops_reading_is_cut_off() {
    let server = NetServer::start(|assets| {
        common::edit(
            assets,
            "server.toml",
            "outbox_bytes = 1048576",
            "outbox_bytes = 65536",
        );
    });
    let client = server.connect(1).await;
    // The control bucket holds 20 at once.
    assert_eq!(pings_over_the_rate(&client, 40).await, 20);

    // A client that never reads its replies: the server's outbox for it overflows and it is
    // disconnected, while others are served.
    let (stalled, _send, _never_read) = stalled_client_flooding_pings(&server, 2).await;
    assert_eq!(close_code(&stalled).await, 1030, "slow consumer");
    // The reading client's bucket has refilled meanwhile.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    client.ping().await.expect("the reading client is served");
}

/// How many of `count` pings sent at once are refused for their rate.
async fn pings_over_the_rate(client: &Client, count: u64) -> usize {
    let ping = |n| RequestC2s::Ping(PingC2s { client_time_us: n });
    let pings: Vec<_> = (0..count)
        .map(|n| client.send(ping(n)))
        .collect::<Result<_, _>>()
        .expect("queued");
    let mut limited = 0;
    for pending in pings {
        let reply = timeout(WAIT, pending).await.expect("in time").expect("answered");
        match reply.body {
            ReplyBodyS2c::Pong { .. } => {}
            ReplyBodyS2c::Refused { code: 1020 } => limited += 1,
            other => panic!("{other:?}"),
        }
    }
    limited
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_player_who_reconnects_resumes_its_rate_limits() {
    // One control request every ten seconds once the burst of 20 is spent.
    let server = NetServer::start(|assets| {
        common::edit(
            assets,
            "server.toml",
            "control = { per_s = 10.0, burst = 20.0 }",
            "control = { per_s = 0.1, burst = 20.0 }",
        );
    });
    let client = server.connect(1).await;
    assert_eq!(pings_over_the_rate(&client, 20).await, 0);
    client.close();
    client.closed().await;
    let again = connect_once_free(&server, 1).await;
    let limited = pings_over_the_rate(&again, 20).await;
    assert!(
        limited >= 18,
        "only {limited} of 20 refused: the reconnect started with a full bucket"
    );
    // Another player's bucket is its own.
    assert_eq!(pings_over_the_rate(&server.connect(2).await, 20).await, 0);
}

/// `player`, connected as soon as the server has a place for it (it frees the place, or the
/// player's seat, of a closed connection only once it has seen the connection go).
async fn connect_once_free(server: &NetServer, player: u64) -> Client {
    let attempts = async {
        loop {
            match Client::connect(server.options(player)).await {
                Ok(client) => break client,
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    };
    timeout(WAIT, attempts).await.expect("a place within the wait")
}

/// A client that stops reading, with replies to 4,000 pings piling up for it (about 120 KB, far
/// below the bundled `outbox_bytes`). Its streams come back with it: dropping the one it never
/// reads would tell the server to stop sending instead.
async fn stalled_client_flooding_pings(
    server: &NetServer,
    player: u64,
) -> (quinn::Connection, quinn::SendStream, quinn::RecvStream) {
    let mut transport = quinn::TransportConfig::default();
    transport
        .stream_receive_window(quinn::VarInt::from_u32(4096))
        .receive_window(quinn::VarInt::from_u32(8192));
    let stalled = raw_connection_with(server, transport).await;
    let (mut send, never_read) = stalled.open_bi().await.expect("stream");
    let token = server.token(player, "1h");
    send.write_all(&hello(necpsim::protocol::PROTOCOL_VERSION, token))
        .await
        .expect("hello");
    let one = framed(&ControlC2s {
        request_id: 2,
        body: RequestC2s::Ping(PingC2s { client_time_us: 0 }),
    });
    let burst: Vec<u8> = std::iter::repeat_n(one, 4000).flatten().collect();
    let _ = timeout(WAIT, send.write_all(&burst)).await;
    (stalled, send, never_read)
}

/// How many requests the server refused, and connections it closed, with `code`.
fn refusals_counted(server: &NetServer, code: ErrorCode) -> u64 {
    let (_, text) = server.get("/metrics");
    let line = format!("necpsim_refusals_total{{code=\"{}\"}} ", code.code());
    text.lines()
        .find_map(|l| l.strip_prefix(line.as_str()))
        .map_or(0, |value| value.trim().parse().expect("a count"))
}

/// The `necpsim_outbox_bytes` gauge.
fn outbox_bytes(server: &NetServer) -> i64 {
    let (_, text) = server.get("/metrics");
    text.lines()
        .find_map(|line| line.strip_prefix("necpsim_outbox_bytes "))
        .and_then(|value| value.trim().parse().ok())
        .expect("the gauge is exported")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_together_hold_no_more_than_the_outbox_budget() {
    // Each client alone may hold 1 MiB; all of them together 64 KiB.
    let server = NetServer::start(|assets| {
        common::edit(
            assets,
            "server.toml",
            "outbox_total_bytes = 268435456",
            "outbox_total_bytes = 65536",
        );
    });
    let reader = server.connect(1).await;
    let (stalled, _send, _never_read) = stalled_client_flooding_pings(&server, 2).await;
    assert_eq!(
        close_code(&stalled).await,
        1030,
        "beyond its share of a spent budget, a slow consumer"
    );
    // The reader, within its share, is served, and what the stalled client held is given back.
    reader.ping().await.expect("the reading client is served");
    let given_back = async {
        while outbox_bytes(&server) > 1024 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    timeout(WAIT, given_back)
        .await
        .unwrap_or_else(|_| panic!("{} bytes still held", outbox_bytes(&server)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inputs_and_acknowledgements_sent_as_requests_are_answered() {
    let server = NetServer::start(|_| {});
    let client = server.connect(1).await;
    let input = |seq, predicted| InputC2s {
        seq,
        move_x: 1.0,
        predicted,
        ..InputC2s::default()
    };
    let ask = |body| timeout(WAIT, client.request(body));
    let taken = ask(RequestC2s::Input(input(2, None))).await.expect("in time");
    assert!(matches!(taken, Ok(ReplyBodyS2c::Acted)), "{taken:?}");
    // Superseded by the newer input already taken: what it asked for is in effect.
    let stale = ask(RequestC2s::Input(input(1, None))).await.expect("in time");
    assert!(matches!(stale, Ok(ReplyBodyS2c::Acted)), "{stale:?}");
    // Refused under its own request, not as an unsolicited reply.
    let outside = ask(RequestC2s::Input(input(3, Some([1.0e6, 1.0e6]))))
        .await
        .expect("in time");
    let out_of_bounds = necpsim::sim::Refusal::OutOfBounds.code();
    assert!(
        matches!(outside, Err(ClientError::Refused { code, .. }) if code == out_of_bounds),
        "{outside:?}"
    );
    let ack = ask(RequestC2s::AckSnapshot(SnapshotAckC2s { seq: 1 }))
        .await
        .expect("in time");
    assert!(matches!(ack, Ok(ReplyBodyS2c::Acted)), "{ack:?}");
    assert_eq!(client.unsolicited_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inputs_count_against_one_rate_whether_sent_as_datagrams_or_requests() {
    let server = NetServer::start(|assets| {
        common::edit(
            assets,
            "server.toml",
            "input = { per_s = 150.0, burst = 300.0 }",
            "input = { per_s = 0.1, burst = 10.0 }",
        );
    });
    let client = server.connect(1).await;
    // Predicted far outside the world: every input that gets past the rate reaches the
    // simulation and comes back refused as out of bounds.
    let outside = |seq| InputC2s {
        seq,
        predicted: Some([1.0e6, 1.0e6]),
        ..InputC2s::default()
    };
    // Datagrams take the whole burst...
    for seq in 1..=10 {
        client.send_input(outside(seq)).expect("sent");
    }
    timeout(WAIT, async {
        while client.unsolicited_count() < 10 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the ten datagrams reach the simulation");
    // ...so an input on the control stream is refused for its rate, not judged by the sim.
    let reply = timeout(WAIT, client.request(RequestC2s::Input(outside(11))))
        .await
        .expect("answered in time");
    assert!(
        matches!(reply, Err(ClientError::Refused { code: 1020, .. })),
        "{reply:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_caps_are_refused_before_the_handshake() {
    let server = NetServer::start(|assets| {
        let edit = |from, to| common::edit(assets, "server.toml", from, to);
        edit("max_connections_per_ip = 64", "max_connections_per_ip = 2");
        // Every address must answer a retry first: admitted clients pass it.
        edit("retry_above_handshakes = 64", "retry_above_handshakes = 0");
    });
    let first = server.connect(1).await;
    let _second = server.connect(2).await;
    let third = Client::connect(server.options(3)).await;
    let Err(ClientError::Connection(refused)) = third else {
        panic!("a third connection from one address was not refused: {third:?}");
    };
    assert!(refused.to_string().contains("refused"), "{refused}");
    first.ping().await.expect("the admitted are served");
    first.close();
    drop(first);
    // The freed place takes a new connection.
    connect_once_free(&server, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_that_never_say_hello_cannot_keep_players_out() {
    let server = NetServer::start(|assets| {
        let edit = |from, to| common::edit(assets, "server.toml", from, to);
        edit("max_connections = 5000", "max_connections = 3");
        edit("hello_timeout_ms = 5000", "hello_timeout_ms = 60000");
    });
    let player = server.connect(1).await;
    // Two connections that never say hello take the other places...
    let oldest = raw_connection(&server).await;
    let _newer = raw_connection(&server).await;
    // ...and a player still gets in: the one that waited longest makes room.
    let second = timeout(WAIT, Client::connect(server.options(2)))
        .await
        .expect("in time")
        .expect("the player is admitted");
    assert_eq!(timeout(WAIT, close_code(&oldest)).await.expect("closed"), 1006);
    for client in [&player, &second] {
        client
            .ping()
            .await
            .expect("welcomed players are never pushed out");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_and_client_ask_each_other_for_fewer_acknowledgements() {
    let server = NetServer::start(|_| {});
    let client = server.connect(1).await;
    client.ping().await.expect("served");
    let stats = client.connection().stats();
    assert!(
        stats.frame_rx.ack_frequency >= 1,
        "the server asked for no acknowledgement frequency: {:?}",
        stats.frame_rx
    );
    assert!(
        stats.frame_tx.ack_frequency >= 1,
        "the client asked for no acknowledgement frequency: {:?}",
        stats.frame_tx
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_sent_along_with_the_hello_are_answered() {
    let server = NetServer::start(|_| {});
    // Each connection writes its Hello and a request in one go: the request may reach the tick
    // in the same moment as the arrival it depends on. Every other one then ends its side of
    // the stream, which asks for nothing more but still wants its answers.
    let mut open = Vec::new();
    for player in 10..26 {
        let token = server.token(player, "1h");
        let connection = raw_connection(&server).await;
        let (mut send, mut recv) = connection.open_bi().await.expect("stream");
        let mut bytes = hello(necpsim::protocol::PROTOCOL_VERSION, token);
        bytes.extend(framed(&ControlC2s {
            request_id: 2,
            body: RequestC2s::EconomyRead(EconomyReadC2s::Wallet),
        }));
        send.write_all(&bytes).await.expect("written");
        if player % 2 == 0 {
            send.finish().expect("finished");
        }
        let mut frames = necpsim::protocol::framing::FrameReader::new(1 << 20);
        let mut answered = Vec::new();
        while answered.len() < 2 {
            let chunk = timeout(WAIT, recv.read_chunk(1 << 16, true))
                .await
                .unwrap_or_else(|_| panic!("player {player} got only {answered:?}"))
                .expect("readable")
                .expect("not finished");
            frames.extend(&chunk.bytes);
            while let Some(frame) = frames.next_frame().expect("a valid frame") {
                let reply =
                    necpsim::protocol::read_owned::<necpsim::protocol::ReplyS2c>(frame).expect("a reply");
                answered.push((reply.request_id, reply.body));
            }
        }
        assert!(
            matches!(answered[0], (1, ReplyBodyS2c::Welcome(_))),
            "{answered:?}"
        );
        assert!(
            matches!(answered[1], (2, ReplyBodyS2c::Wallet { .. })),
            "{answered:?}"
        );
        open.push(connection);
    }
}

/// Sends `client`'s player east for `span`, 50 inputs a second numbered on from `seq`, each with
/// the client's reckoning of the server's tick.
async fn steer(client: &Client, seq: &mut u32, span: Duration) {
    for _ in 0..span.as_millis() / 20 {
        *seq += 1;
        let input = InputC2s {
            seq: *seq,
            client_tick: client.server_tick() as u32,
            move_x: 1.0,
            ..InputC2s::default()
        };
        client.send_input(input).expect("sent");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_are_told_of_a_new_tick_rate_and_their_inputs_follow_it() {
    let server = NetServer::start(|_| {});
    let client = server.connect(1).await;
    let mut seq = 0;
    steer(&client, &mut seq, Duration::from_secs(1)).await;

    common::edit(
        server.assets.path(),
        "server.toml",
        "rate_hz = 60.0",
        "rate_hz = 30.0",
    );
    // A busy machine may also drop a few ticks first, which is announced at the old rate.
    let (_, from_tick) = next_clock_change(&client, |rate_hz, _| rate_hz == 30.0).await;
    assert!(from_tick > client.welcome().server_tick);
    // At 30 Hz for three seconds: a client counting at the welcome's 60 Hz would run 90 ticks
    // ahead and have every input refused as time compression.
    steer(&client, &mut seq, Duration::from_secs(3)).await;
    let reckoned = client.server_tick() - from_tick;
    assert!(
        reckoned < 150,
        "reckoned {reckoned} ticks in three seconds at 30 Hz"
    );
    assert_few_refused(&client);
}

/// The next `ClockChanged` event of `client` (its rate and next tick) that `wanted` accepts.
async fn next_clock_change(client: &Client, wanted: impl Fn(f32, u64) -> bool) -> (f32, u64) {
    loop {
        let event = timeout(WAIT, client.next_event())
            .await
            .expect("told in time")
            .expect("an event");
        if let EventS2c::ClockChanged {
            tick_rate_hz,
            from_tick,
        } = event
            && wanted(tick_rate_hz, from_tick)
        {
            return (tick_rate_hz, from_tick);
        }
    }
}

/// Asserts that at most a few of `client`'s inputs were refused: on a busy machine, a stall of
/// the server shorter than its catch-up drops no tick and announces nothing, and the inputs it
/// held up may come in bunches; without the clock events every input after the change is.
fn assert_few_refused(client: &Client) {
    let refused = client.unsolicited_count();
    assert!(refused <= 10, "{refused} inputs refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_stall_clients_are_told_where_the_server_clock_resumes() {
    let server = NetServer::start(|_| {});
    let client = server.connect(1).await;
    let mut seq = 0;
    steer(&client, &mut seq, Duration::from_secs(1)).await;
    // Clock events already received (a busy machine may have dropped ticks) are not the stall's.
    while let Ok(Some(_)) = timeout(Duration::from_millis(100), client.next_event()).await {}
    let before = client.server_tick();

    // The server stops for two seconds; it then runs a few overdue ticks and drops the rest.
    let signal = |name: &str| {
        let pid = server.process.pid().to_string();
        let status = std::process::Command::new("kill")
            .args([name, &pid])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {name}");
    };
    signal("-STOP");
    tokio::time::sleep(Duration::from_secs(2)).await;
    signal("-CONT");
    let (_, from_tick) = next_clock_change(&client, |_, _| true).await;
    // A few overdue ticks: not the 120 the stall took.
    assert!(from_tick < before + 20, "resumes at {from_tick}, from {before}");
    assert!(client.server_tick() < before + 20, "the reckoning follows");

    // Counting on from where it was told, the client keeps its lead: without the event, every
    // input would be about 110 ticks ahead of the server, and refused.
    steer(&client, &mut seq, Duration::from_secs(2)).await;
    assert_few_refused(&client);
}
