//! The client against a scripted server over loopback QUIC: the real TLS and framing, with each
//! test playing the server's side by hand (the server itself lives elsewhere and is not used).

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use quinn::{ConnectionError, RecvStream, SendStream, VarInt};

use super::*;
use crate::net::tls::{self, ServerTrust};
use crate::protocol::framing::{AlignedCopy, FrameReader, write_frame};
use crate::protocol::{
    ControlC2s, CreateSessionC2s, DecodeError, Encode, Encoder, EventS2c, HelloC2s, PROTOCOL_VERSION,
    PingC2s, PushS2c, ReplyBodyS2c, ReplyS2c, RequestC2s, SessionRefC2s, SnapshotS2c, WelcomeS2c,
    decode_datagram, read_owned,
};
use crate::sim::Command;
use crate::sim::snapshot_codec::{self, EntityState, SnapshotHeader};

const TOKEN: &str = "token-7";
const WELCOME: WelcomeS2c = WelcomeS2c {
    protocol_version: PROTOCOL_VERSION,
    player: 7,
    net_id: 3,
    tick_rate_hz: 60.0,
    server_tick: 100,
    position_precision_m: 0.01,
};

/// A server endpoint with a development certificate, scripted per test.
struct MockServer {
    endpoint: quinn::Endpoint,
    fingerprint: [u8; 32],
    _dir: tempfile::TempDir,
}

impl MockServer {
    fn start() -> MockServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let identity = tls::load_or_generate(None, None, dir.path()).expect("identity");
        let crypto = Arc::new(tls::server_crypto(&identity).expect("server crypto"));
        let endpoint = quinn::Endpoint::server(
            quinn::ServerConfig::with_crypto(crypto),
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        )
        .expect("server endpoint");
        MockServer {
            endpoint,
            fingerprint: identity.fingerprint,
            _dir: dir,
        }
    }

    fn options(&self) -> ConnectOptions {
        let address = self.endpoint.local_addr().expect("bound");
        ConnectOptions::new(address, ServerTrust::Fingerprint(self.fingerprint), TOKEN)
    }

    /// The next connection, once its control stream has delivered data.
    async fn accept(&self) -> Peer {
        let incoming = self.endpoint.accept().await.expect("a connection");
        let connection = incoming.await.expect("handshake");
        let (send, recv) = connection.accept_bi().await.expect("control stream");
        Peer {
            connection,
            send,
            recv,
            frames: FrameReader::new(1 << 16),
            encoder: Encoder::default(),
            pushes: None,
        }
    }
}

/// The server's side of one connection.
struct Peer {
    connection: quinn::Connection,
    send: SendStream,
    recv: RecvStream,
    frames: FrameReader,
    encoder: Encoder,
    pushes: Option<SendStream>,
}

impl Peer {
    /// The next control frame; `None` once the stream or connection has ended.
    async fn request(&mut self) -> Option<Result<ControlC2s, DecodeError>> {
        loop {
            if let Some(frame) = self.frames.next_frame().expect("framing") {
                return Some(read_owned::<ControlC2s>(frame));
            }
            let chunk = self.recv.read_chunk(usize::MAX, true).await.ok()??;
            self.frames.extend(&chunk.bytes);
        }
    }

    /// Reads the hello and checks it; returns its request number.
    async fn hello(&mut self) -> u32 {
        let hello = self.request().await.expect("a frame").expect("valid");
        let RequestC2s::Hello(HelloC2s {
            protocol_version,
            token,
        }) = hello.body
        else {
            panic!("not a hello: {hello:?}");
        };
        assert_eq!((protocol_version, token.as_str()), (PROTOCOL_VERSION, TOKEN));
        hello.request_id
    }

    async fn welcome(&mut self) {
        let id = self.hello().await;
        self.reply(id, ReplyBodyS2c::Welcome(WELCOME)).await;
    }

    async fn reply(&mut self, request_id: u32, body: ReplyBodyS2c) {
        let mut out = Vec::new();
        let reply = ReplyS2c {
            request_id,
            tick: 100,
            body,
        };
        self.encoder.frame_into(&reply, &mut out).expect("encodes");
        self.send.write_all(&out).await.expect("write");
    }

    async fn push(&mut self, push: &PushS2c) {
        let mut out = Vec::new();
        self.encoder.frame_into(push, &mut out).expect("encodes");
        self.push_bytes(&out).await;
    }

    async fn push_bytes(&mut self, bytes: &[u8]) {
        let stream = match &mut self.pushes {
            Some(stream) => stream,
            None => self
                .pushes
                .insert(self.connection.open_uni().await.expect("event stream")),
        };
        stream.write_all(bytes).await.expect("write");
    }

    fn datagram(&mut self, message: &impl Encode) {
        let bytes = self.encoder.encode(message).expect("encodes").to_vec();
        self.connection.send_datagram(bytes.into()).expect("datagram");
    }

    /// Waits for the client to close the connection and returns its code.
    async fn closed_by_client(&self) -> u64 {
        match self.connection.closed().await {
            ConnectionError::ApplicationClosed(close) => close.error_code.into_inner(),
            other => panic!("not closed by the client: {other:?}"),
        }
    }
}

fn snapshot(seq: u32, baseline: (u32, &[EntityState]), states: &[EntityState]) -> SnapshotS2c {
    let header = SnapshotHeader {
        seq,
        baseline_seq: baseline.0,
        tick: 100 + u64::from(seq),
    };
    let mut payload = Vec::new();
    snapshot_codec::encode(header, states, baseline.1, &mut payload);
    SnapshotS2c { payload }
}

fn entity(id: u32, qx: i32) -> EntityState {
    EntityState { id, qx, qy: -qx }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_speaks_every_part_of_the_protocol() {
    let server = MockServer::start();
    let options = server.options();
    let first = [entity(3, 10), entity(9, 20)];
    let second = [entity(3, 11), entity(12, 5)];
    let script = tokio::spawn(async move {
        let mut peer = server.accept().await;
        peer.welcome().await;
        peer.reply(0, ReplyBodyS2c::Refused { code: 1012 }).await;
        let joined = EventS2c::PlayerJoined { player: 8, net_id: 4 };
        peer.push(&PushS2c::Event(joined)).await;
        peer.datagram(&snapshot(1, (0, &[]), &first));
        let ack = peer.connection.read_datagram().await.expect("an ack");
        let mut aligned = AlignedCopy::default();
        assert_eq!(
            decode_datagram(aligned.of(&ack)),
            Ok(Command::AckSnapshot { seq: 1 })
        );
        // Too large for a datagram, say: the delta comes on the event stream.
        peer.push(&PushS2c::Snapshot(snapshot(2, (1, &first), &second)))
            .await;
        let mut pings = 0;
        while let Some(request) = peer.request().await {
            let ControlC2s { request_id, body } = request.expect("valid");
            let answer = match body {
                RequestC2s::Ping(PingC2s { client_time_us }) => {
                    pings += 1;
                    ReplyBodyS2c::Pong { client_time_us }
                }
                RequestC2s::CreateSession(_) => ReplyBodyS2c::SessionCreated { session: 5 },
                _ => ReplyBodyS2c::Refused { code: 1020 },
            };
            peer.reply(request_id, answer).await;
        }
        pings
    });

    let client = Client::connect(options).await.expect("connects");
    assert_eq!(*client.welcome(), WELCOME);
    let unsolicited = client.next_unsolicited().await.expect("a reply");
    assert_eq!(
        (unsolicited.request_id, unsolicited.body),
        (0, ReplyBodyS2c::Refused { code: 1012 })
    );
    assert_eq!(
        client.next_event().await,
        Some(EventS2c::PlayerJoined { player: 8, net_id: 4 })
    );
    let full = client
        .next_snapshot()
        .await
        .expect("a snapshot")
        .expect("decodes");
    assert_eq!((full.header.seq, full.states.as_slice()), (1, &first[..]));
    let delta = client
        .next_snapshot()
        .await
        .expect("a snapshot")
        .expect("decodes");
    assert_eq!(
        (delta.header.baseline_seq, delta.states.as_slice()),
        (1, &second[..])
    );

    // Pipelined from several tasks at once: every reply finds its request.
    let bursts = (0..4).map(|burst| {
        let client = client.clone();
        tokio::spawn(async move {
            let pending = (0..50)
                .map(|n| {
                    client.send(RequestC2s::Ping(PingC2s {
                        client_time_us: burst * 100 + n,
                    }))
                })
                .collect::<Result<Vec<_>, _>>()
                .expect("queued");
            for (n, reply) in (0..).zip(pending) {
                let reply = reply.await.expect("answered");
                assert_eq!(
                    reply.body,
                    ReplyBodyS2c::Pong {
                        client_time_us: burst * 100 + n
                    }
                );
            }
        })
    });
    for burst in bursts.collect::<Vec<_>>() {
        burst.await.expect("burst");
    }
    client.ping().await.expect("pong");
    let create = RequestC2s::CreateSession(CreateSessionC2s {
        kind: 0,
        zone_id: 1,
        difficulty: 0,
        team_size: None,
        time_limit_s: None,
    });
    assert_eq!(
        client.request(create).await.expect("created"),
        ReplyBodyS2c::SessionCreated { session: 5 }
    );
    let refused = client
        .request(RequestC2s::LeaveSession(SessionRefC2s { session: 5 }))
        .await;
    assert!(
        matches!(&refused, Err(ClientError::Refused { code: 1020, message }) if message == "rate limited"),
        "{refused:?}"
    );
    assert_eq!(client.unsolicited_count(), 1);
    client.close();
    assert!(matches!(
        client.closed().await,
        ClientError::Connection(ConnectionError::LocallyClosed)
    ));
    assert!(
        client
            .request(RequestC2s::Ping(PingC2s { client_time_us: 0 }))
            .await
            .is_err()
    );
    assert_eq!(script.await.expect("server script"), 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_servers_close_code_reaches_every_waiter() {
    let server = MockServer::start();
    let options = server.options();
    let script = tokio::spawn(async move {
        // A refused hello: closed before any welcome.
        let mut refused = server.accept().await;
        refused.hello().await;
        refused.connection.close(VarInt::from_u32(1002), b"forged token");
        // Garbage after the welcome: closed as malformed.
        let mut peer = server.accept().await;
        peer.welcome().await;
        let garbage = peer.request().await.expect("a frame");
        assert_eq!(garbage, Err(DecodeError::Malformed));
        peer.connection
            .close(VarInt::from_u32(1011), b"malformed message");
        peer.connection.closed().await;
    });

    let forged = Client::connect(options.clone()).await;
    assert!(
        matches!(&forged, Err(ClientError::Closed { code: 1002, reason }) if reason == "forged token"),
        "{forged:?}"
    );
    let client = Client::connect(options).await.expect("connects");
    let mut garbage = Vec::new();
    write_frame(&mut garbage, &[0xff; 8]);
    client.send_raw_control(&garbage).expect("queued");
    let ping = client
        .send(RequestC2s::Ping(PingC2s { client_time_us: 1 }))
        .expect("queued");
    for error in [ping.await.expect_err("closed"), client.closed().await] {
        assert!(
            matches!(&error, ClientError::Closed { code: 1011, reason } if reason == "malformed message"),
            "{error:?}"
        );
    }
    assert!(matches!(
        client.close_reason(),
        Some(ClientError::Closed { code: 1011, .. })
    ));
    assert_eq!(client.next_event().await, None);
    assert_eq!(client.next_snapshot().await, None);
    script.await.expect("server script");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_welcomes_is_given_up_on() {
    let server = MockServer::start();
    let mut options = server.options();
    options.welcome_timeout = Duration::from_millis(300);
    let script = tokio::spawn(async move {
        // It reads the hello and stays silent, the connection kept alive.
        let mut silent = server.accept().await;
        silent.hello().await;
        silent.closed_by_client().await
    });
    let attempt = Client::connect(options).await;
    assert!(
        matches!(attempt, Err(ClientError::WelcomeTimeout(after)) if after == Duration::from_millis(300)),
        "{attempt:?}"
    );
    assert_eq!(
        script.await.expect("server script"),
        0,
        "the client closed its attempt"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_server_bytes_close_the_connection_instead_of_panicking() {
    let server = MockServer::start();
    let options = server.options();
    let script = tokio::spawn(async move {
        // A reply that is no archive.
        let mut peer = server.accept().await;
        peer.welcome().await;
        let ping = peer.request().await.expect("a frame").expect("valid");
        assert!(matches!(ping.body, RequestC2s::Ping(_)), "{ping:?}");
        let mut garbage = Vec::new();
        write_frame(&mut garbage, &[0xff; 8]);
        peer.send.write_all(&garbage).await.expect("write");
        let malformed = peer.closed_by_client().await;
        // An event frame above the client's limit.
        let mut peer = server.accept().await;
        peer.welcome().await;
        peer.request().await.expect("a frame").expect("valid");
        peer.push_bytes(&u32::MAX.to_le_bytes()).await;
        (malformed, peer.closed_by_client().await)
    });

    let client = Client::connect(options.clone()).await.expect("connects");
    let ping = client.ping().await;
    assert!(
        matches!(ping, Err(ClientError::Decode(DecodeError::Malformed))),
        "{ping:?}"
    );
    let client = Client::connect(options).await.expect("connects");
    let ping = client.ping().await;
    assert!(matches!(ping, Err(ClientError::Frame(_))), "{ping:?}");
    assert!(matches!(client.closed().await, ClientError::Frame(_)));
    assert_eq!(client.next_event().await, None);
    assert_eq!(script.await.expect("server script"), (1011, 1010));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_reads_only_snapshots_learns_the_connection_ended() {
    let server = MockServer::start();
    let options = server.options();
    let script = tokio::spawn(async move {
        let mut peer = server.accept().await;
        peer.welcome().await;
        // More events than the client holds for a caller that reads none, then a snapshot.
        let event = PushS2c::Event(EventS2c::PlayerJoined { player: 9, net_id: 4 });
        let mut out = Vec::new();
        for _ in 0..2 * tasks::EVENT_QUEUE {
            peer.encoder.frame_into(&event, &mut out).expect("encodes");
        }
        peer.push_bytes(&out).await;
        // Until the client's transport holds them all: a close while sent data is still
        // unacknowledged and fills the congestion window is never sent (quinn-proto 0.11.19).
        let mut pushes = peer.pushes.take().expect("the event stream");
        pushes.finish().expect("finished");
        pushes.stopped().await.expect("acknowledged");
        peer.datagram(&snapshot(1, (0, &[]), &[entity(3, 10)]));
        // The client acknowledges the snapshot once it has read it.
        peer.connection.read_datagram().await.expect("an acknowledgement");
        peer.connection.close(VarInt::from_u32(1040), b"shutting down");
        server.endpoint.wait_idle().await;
    });

    let client = Client::connect(options).await.expect("connects");
    let ended = async {
        while let Some(snapshot) = client.next_snapshot().await {
            assert!(snapshot.is_ok(), "{snapshot:?}");
        }
    };
    tokio::time::timeout(Duration::from_secs(10), ended)
        .await
        .expect("the snapshots end with the connection");
    script.await.expect("server script");
}
