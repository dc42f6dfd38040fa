//! The wire protocol's costs. `protocol/encode_decode`: one message of each common kind encoded
//! with a reused [`Encoder`], copied into an aligned buffer as received bytes are, and decoded with
//! the checks the receiver runs (`decode_datagram` / `decode_control` for client-to-server
//! messages, checked `access` for server-to-client ones); the goal for an input datagram is at
//! most 100 ns. `protocol/loopback`: one request round trip on 127.0.0.1, a raw UDP echo of 32
//! bytes against a `Ping` control frame answered with a `Pong` over one quinn bidirectional
//! stream, measured in the same run; the bench prints the ratio of their medians (quinn / raw).
//!
//! Run: `cargo bench --bench protocol`.

use std::hint::black_box;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, criterion_group, criterion_main};
use necpsim::net::tls::{ServerTrust, client_crypto, load_or_generate, server_crypto};
use necpsim::protocol::combat::{LogEntryS2c, NO_SLOT, ParticipantS2c, SessionS2c, SessionSummaryS2c};
use necpsim::protocol::framing::{AlignedCopy, FrameReader};
use necpsim::protocol::{
    ArchivedReplyBodyS2c, ControlC2s, DatagramC2s, EconomyC2s, EconomyOpC2s, Encode, Encoder, EventS2c,
    InputC2s, JoinSessionC2s, PingC2s, PushS2c, ReplyBodyS2c, ReplyS2c, Request, RequestC2s, SnapshotAckC2s,
    access, decode_control, decode_datagram,
};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Samples per loopback benchmark; the ratio is taken over the last this many.
const LOOPBACK_SAMPLES: usize = 50;
/// Frame cap of both ends of the quinn stream.
const MAX_FRAME_BYTES: u32 = 64 * 1024;
/// Most bytes taken from a stream per read.
const READ_CHUNK_BYTES: usize = 64 * 1024;

#[expect(
    clippy::disallowed_methods,
    reason = "a bench measures wall time around the protocol"
)]
fn now() -> Instant {
    Instant::now()
}

/// Benchmarks encoding `message` and decoding its aligned copy with `decode`, which must accept it.
fn encode_decode<T: Encode>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    message: &T,
    decode: fn(&[u8]) -> bool,
) {
    let mut encoder = Encoder::default();
    let mut aligned = AlignedCopy::default();
    let bytes = encoder.encode(message).expect("encodes");
    eprintln!("{name}: {} bytes", bytes.len());
    assert!(decode(aligned.of(bytes)), "{name} must decode");
    group.bench_function(name, |b| {
        b.iter(|| {
            let bytes = encoder.encode(black_box(message)).expect("encodes");
            decode(aligned.of(bytes))
        })
    });
}

fn datagram(bytes: &[u8]) -> bool {
    black_box(decode_datagram(bytes)).is_ok()
}

fn control(bytes: &[u8]) -> bool {
    black_box(decode_control(bytes)).is_ok()
}

fn reply(bytes: &[u8]) -> bool {
    black_box(access::<ReplyS2c>(bytes)).is_ok()
}

fn push(bytes: &[u8]) -> bool {
    black_box(access::<PushS2c>(bytes)).is_ok()
}

fn participant(i: u16) -> ParticipantS2c {
    ParticipantS2c {
        player_id: 100 + u64::from(i),
        npc_kind: u16::MAX,
        net_id: 500 + u32::from(i),
        team: (i % 2) as u8,
        role: (i % 4) as u8,
        status: 0,
        health: 80.0,
        max_health: 100.0,
        damage_dealt: 12.5 * f32::from(i),
        damage_taken: 20.0,
        healing_done: 0.0,
        kills: 1,
        deaths: 0,
        assists: 2,
        shots_fired: 10,
        shots_hit: 4,
    }
}

/// A session read of a 5-vs-5 arena: 10 participants and a short combat log.
fn session_reply() -> ReplyS2c {
    ReplyS2c {
        request_id: 12,
        tick: 5_000,
        body: ReplyBodyS2c::Session(SessionS2c {
            summary: SessionSummaryS2c {
                id: 7,
                created_tick: 4_000,
                status: 1,
                kind: 0,
                participant_count: 10,
            },
            zone_id: 3,
            difficulty: 1,
            team_size: 5,
            time_limit_s: 600,
            started_tick: 4_100,
            ended_tick: 0,
            winner: None,
            participants: (0..10).map(participant).collect(),
            log: (1..=4)
                .map(|seq| LogEntryS2c {
                    seq,
                    tick: 4_100 + u64::from(seq),
                    kind: 1,
                    actor: 0,
                    target: 1,
                    value: 12.5,
                    detail: 0,
                })
                .chain([LogEntryS2c {
                    seq: 5,
                    tick: 4_200,
                    kind: 9,
                    actor: NO_SLOT,
                    target: NO_SLOT,
                    value: 0.0,
                    detail: 1,
                }])
                .collect(),
        }),
    }
}

fn encode_decode_group(c: &mut Criterion) {
    let mut group = c.benchmark_group("protocol/encode_decode");
    let input = DatagramC2s::Input(InputC2s {
        seq: 4_711,
        client_tick: 9_000,
        move_x: 0.6,
        move_y: -0.8,
        aim_x: 1.0,
        aim_y: 0.0,
        buttons: 0b101,
        predicted: Some([120.5, -33.25]),
        ack: 3_999,
    });
    encode_decode(&mut group, "input_datagram", &input, datagram);
    let ack = DatagramC2s::AckSnapshot(SnapshotAckC2s { seq: 4_000 });
    encode_decode(&mut group, "snapshot_ack_datagram", &ack, datagram);
    let join = ControlC2s {
        request_id: 7,
        body: RequestC2s::JoinSession(JoinSessionC2s {
            session: 7,
            team: 1,
            role: 3,
        }),
    };
    encode_decode(&mut group, "join_session_control", &join, control);
    let transfer = ControlC2s {
        request_id: 8,
        body: RequestC2s::Economy(EconomyC2s {
            idempotency_key: 0x1234_5678_9abc_def0_0fed_cba9_8765_4321,
            op: EconomyOpC2s::Transfer {
                to: 43,
                currency: 0,
                amount_minor: 2_500,
            },
        }),
    };
    encode_decode(&mut group, "economy_transfer_control", &transfer, control);
    let ping = ControlC2s {
        request_id: 9,
        body: RequestC2s::Ping(PingC2s {
            client_time_us: 1_700_000_000_123_456,
        }),
    };
    encode_decode(&mut group, "ping_control", &ping, control);
    let order_placed = ReplyS2c {
        request_id: 10,
        tick: 5_000,
        body: ReplyBodyS2c::OrderPlaced {
            order: 77,
            filled: 3,
            resting: 7,
        },
    };
    encode_decode(&mut group, "reply_order_placed", &order_placed, reply);
    encode_decode(
        &mut group,
        "reply_session_10_participants",
        &session_reply(),
        reply,
    );
    let hit = PushS2c::Event(EventS2c::Hit {
        session: 7,
        attacker: Some(501),
        target: 502,
        damage: 31.5,
        crit: true,
    });
    encode_decode(&mut group, "push_event_hit", &hit, push);
    group.finish();
}

/// A thread echoing every datagram sent to its socket until dropped.
#[derive(Debug)]
struct UdpEcho {
    client: UdpSocket,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl UdpEcho {
    fn start() -> UdpEcho {
        let server = UdpSocket::bind("127.0.0.1:0").expect("binds");
        // The echo thread looks at `stop` at least this often.
        server
            .set_read_timeout(Some(Duration::from_millis(50)))
            .expect("timeout");
        let client = UdpSocket::bind("127.0.0.1:0").expect("binds");
        client
            .connect(server.local_addr().expect("bound"))
            .expect("connects");
        client
            .set_read_timeout(Some(Duration::from_secs(2)))
            .expect("timeout");
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while !stopped.load(Ordering::Relaxed) {
                if let Ok((len, from)) = server.recv_from(&mut buf) {
                    let _ = server.send_to(&buf[..len], from);
                }
            }
        });
        UdpEcho {
            client,
            stop,
            thread: Some(thread),
        }
    }

    /// Time for `iterations` round trips of 32 bytes.
    fn round_trips(&self, iterations: u64) -> Duration {
        let mut payload = [0u8; 32];
        let mut echo = [0u8; 64];
        let started = now();
        for i in 0..iterations {
            payload[..8].copy_from_slice(&i.to_le_bytes());
            self.client.send(&payload).expect("sends");
            let len = self.client.recv(&mut echo).expect("echoed within 2 s");
            debug_assert_eq!(echo[..len], payload);
        }
        now() - started
    }
}

impl Drop for UdpEcho {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The server side of the quinn benchmark: answers every `Ping` frame of every bidirectional
/// stream with a `Pong` frame, one write per read.
async fn serve_pongs(endpoint: quinn::Endpoint) {
    while let Some(incoming) = endpoint.accept().await {
        tokio::spawn(async move {
            let Ok(connection) = incoming.await else {
                return;
            };
            while let Ok((send, recv)) = connection.accept_bi().await {
                tokio::spawn(echo_pongs(send, recv));
            }
        });
    }
}

async fn echo_pongs(mut send: quinn::SendStream, mut recv: quinn::RecvStream) {
    let mut reader = FrameReader::new(MAX_FRAME_BYTES);
    let mut encoder = Encoder::default();
    let mut out = Vec::new();
    while let Ok(Some(chunk)) = recv.read_chunk(READ_CHUNK_BYTES, true).await {
        reader.extend(&chunk.bytes);
        out.clear();
        while let Ok(Some(frame)) = reader.next_frame() {
            if let Ok((request_id, Request::Ping { client_time_us })) = decode_control(frame) {
                let pong = ReplyS2c {
                    request_id,
                    tick: 0,
                    body: ReplyBodyS2c::Pong { client_time_us },
                };
                encoder.frame_into(&pong, &mut out).expect("encodes");
            }
        }
        if send.write_all(&out).await.is_err() {
            return;
        }
    }
}

/// The client side: one connection and one bidirectional stream to the pong server.
#[derive(Debug)]
struct QuicClient {
    endpoint: quinn::Endpoint,
    send: quinn::SendStream,
    recv: quinn::RecvStream,
    reader: FrameReader,
    encoder: Encoder,
    out: Vec<u8>,
}

impl QuicClient {
    /// Starts the pong server on 127.0.0.1 with the development certificate generated in
    /// `data_dir`, and connects to it pinning that certificate.
    async fn connect(data_dir: &std::path::Path) -> QuicClient {
        let identity = load_or_generate(None, None, data_dir).expect("development certificate");
        let crypto = server_crypto(&identity).expect("server crypto");
        let server_config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
        let loopback: SocketAddr = "127.0.0.1:0".parse().expect("address");
        let server = quinn::Endpoint::server(server_config, loopback).expect("server binds");
        let server_addr = server.local_addr().expect("bound");
        tokio::spawn(serve_pongs(server));
        let mut endpoint = quinn::Endpoint::client(loopback).expect("client binds");
        let crypto = client_crypto(ServerTrust::Fingerprint(identity.fingerprint)).expect("client crypto");
        endpoint.set_default_client_config(quinn::ClientConfig::new(Arc::new(crypto)));
        let connection = endpoint
            .connect(server_addr, "localhost")
            .expect("connects")
            .await
            .expect("handshake");
        let (send, recv) = connection.open_bi().await.expect("opens a stream");
        QuicClient {
            endpoint,
            send,
            recv,
            reader: FrameReader::new(MAX_FRAME_BYTES),
            encoder: Encoder::default(),
            out: Vec::new(),
        }
    }

    /// Time for `iterations` Ping/Pong round trips, one at a time.
    async fn round_trips(&mut self, iterations: u64) -> Duration {
        let started = now();
        for i in 0..iterations {
            let ping = ControlC2s {
                request_id: i as u32,
                body: RequestC2s::Ping(PingC2s { client_time_us: i }),
            };
            self.out.clear();
            self.encoder.frame_into(&ping, &mut self.out).expect("encodes");
            self.send.write_all(&self.out).await.expect("sends");
            loop {
                if let Some(frame) = self.reader.next_frame().expect("a valid frame") {
                    let pong = access::<ReplyS2c>(frame).expect("a reply");
                    assert!(
                        matches!(pong.body, ArchivedReplyBodyS2c::Pong { client_time_us } if client_time_us == i)
                    );
                    break;
                }
                let chunk = self
                    .recv
                    .read_chunk(READ_CHUNK_BYTES, true)
                    .await
                    .expect("reads")
                    .expect("the stream stays open");
                self.reader.extend(&chunk.bytes);
            }
        }
        now() - started
    }
}

/// The median of the last [`LOOPBACK_SAMPLES`] per-iteration times, in microseconds.
fn median_us(samples: &[f64]) -> f64 {
    let mut last = samples[samples.len().saturating_sub(LOOPBACK_SAMPLES)..].to_vec();
    last.sort_by(f64::total_cmp);
    last.get(last.len() / 2).copied().unwrap_or(f64::NAN)
}

fn per_iteration_us(elapsed: Duration, iterations: u64) -> f64 {
    elapsed.as_secs_f64() * 1e6 / iterations as f64
}

fn loopback_group(c: &mut Criterion) {
    let mut group = c.benchmark_group("protocol/loopback");
    group.sample_size(LOOPBACK_SAMPLES);

    let udp = UdpEcho::start();
    let mut udp_samples = Vec::new();
    group.bench_function("udp_echo_32_bytes", |b| {
        b.iter_custom(|iterations| {
            let elapsed = udp.round_trips(iterations);
            udp_samples.push(per_iteration_us(elapsed, iterations));
            elapsed
        })
    });
    drop(udp);

    // Two workers: the server's connection and endpoint tasks run beside the client, which runs
    // on the bench thread inside `block_on`.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let data_dir = tempfile::tempdir().expect("temporary directory");
    let mut client = runtime.block_on(QuicClient::connect(data_dir.path()));
    let mut quinn_samples = Vec::new();
    group.bench_function("quinn_stream_ping_pong", |b| {
        b.iter_custom(|iterations| {
            let elapsed = runtime.block_on(client.round_trips(iterations));
            quinn_samples.push(per_iteration_us(elapsed, iterations));
            elapsed
        })
    });
    group.finish();
    client.endpoint.close(0u32.into(), b"done");
    drop(client);
    runtime.shutdown_timeout(Duration::from_secs(1));

    let (udp, quinn) = (median_us(&udp_samples), median_us(&quinn_samples));
    eprintln!(
        "loopback round trip, medians of the last {LOOPBACK_SAMPLES} samples: raw UDP {udp:.1} µs, \
         quinn stream {quinn:.1} µs, quinn / raw = {:.2}",
        quinn / udp
    );
}

criterion_group!(benches, encode_decode_group, loopback_group);
criterion_main!(benches);
