//! Writes the committed seed corpus of the fuzz targets, `fuzz/corpus/<target>/`: valid encodings
//! of several messages of each kind (files named `valid-*`, which `tests/fuzz_corpus.rs` requires
//! to decode), and truncated, corrupted or out-of-range ones. The input layout of each target is
//! the one `necpsim::protocol::fuzzing` documents.
//!
//! Run: `cargo run --example make_fuzz_corpus` (after a protocol change that breaks a `valid-*`
//! seed). It rewrites the files it makes and leaves any other file in the corpus alone.

use std::path::Path;

use necpsim::protocol::combat::{
    LogEntryS2c, NO_SLOT, ParticipantS2c, SessionListS2c, SessionS2c, SessionSummaryS2c,
};
use necpsim::protocol::framing::write_frame;
use necpsim::protocol::*;
use necpsim::sim::snapshot_codec::{self, EntityState, SnapshotHeader};

/// One seed file.
struct Seed {
    target: &'static str,
    name: &'static str,
    bytes: Vec<u8>,
}

/// `bytes` with one byte inverted: the last one whose inversion makes `target` refuse the input,
/// so the seed is a damaged message the decoders must catch (a tag, a length, a pointer).
fn refused_flip(bytes: &[u8], target: fn(&[u8]) -> fuzzing::Outcome) -> Vec<u8> {
    (0..bytes.len())
        .rev()
        .map(|at| {
            let mut damaged = bytes.to_vec();
            damaged[at] ^= 0xff;
            damaged
        })
        .find(|damaged| target(damaged).refused > 0)
        .expect("some byte matters")
}

fn encode(message: &impl Encode) -> Vec<u8> {
    Encoder::default().encode(message).expect("encodes").to_vec()
}

/// A control stream of `requests`, numbered from 1, behind the split byte.
fn control_stream(split: u8, requests: impl IntoIterator<Item = RequestC2s>) -> Vec<u8> {
    let mut encoder = Encoder::default();
    let mut stream = vec![split];
    for (request_id, body) in (1..).zip(requests) {
        encoder
            .frame_into(&ControlC2s { request_id, body }, &mut stream)
            .expect("encodes");
    }
    stream
}

fn input(seq: u32, predicted: Option<[f32; 2]>) -> InputC2s {
    InputC2s {
        seq,
        client_tick: 1_000 + seq,
        move_x: 0.6,
        move_y: -0.8,
        aim_x: 1.0,
        aim_y: 0.0,
        buttons: 0b101,
        predicted,
        ack: seq.saturating_sub(2),
    }
}

fn goods(money: i64, item: u16) -> GoodsC2s {
    GoodsC2s {
        money: [(0, money), (0, 0)],
        items: [(item, 2), (0, 0)],
        unique: 0,
    }
}

fn control_seeds() -> Vec<Seed> {
    let seed = |name, bytes| Seed {
        target: "control_frame",
        name,
        bytes,
    };
    let hello = RequestC2s::Hello(HelloC2s {
        protocol_version: PROTOCOL_VERSION,
        token: "v1.42.1900000000.c2lnbmF0dXJl".into(),
    });
    let join = RequestC2s::JoinSession(JoinSessionC2s {
        session: 7,
        team: 1,
        role: 3,
    });
    let sessions = [
        RequestC2s::CreateSession(CreateSessionC2s {
            kind: 1,
            zone_id: 3,
            difficulty: 2,
            team_size: Some(4),
            time_limit_s: None,
        }),
        join.clone(),
        RequestC2s::GetSession(GetSessionC2s {
            session: 7,
            log_after: 12,
        }),
        RequestC2s::ListSessions(ListSessionsC2s {
            status: Some(1),
            kind: Some(0),
            player: Some(42),
            offset: 50,
            limit: Some(25),
        }),
        RequestC2s::Act(ActC2s {
            session: 7,
            ability: Some(2),
            target: TargetC2s::Point([12.5, -3.25]),
        }),
        RequestC2s::Act(ActC2s {
            session: 7,
            ability: None,
            target: TargetC2s::Entity(99),
        }),
        RequestC2s::LeaveSession(SessionRefC2s { session: 7 }),
        RequestC2s::EndSession(SessionRefC2s { session: 8 }),
    ];
    let economy = |op| {
        RequestC2s::Economy(EconomyC2s {
            idempotency_key: 0x1234_5678_9abc_def0_0fed_cba9_8765_4321,
            op,
        })
    };
    let orders = [
        economy(EconomyOpC2s::Transfer {
            to: 43,
            currency: 0,
            amount_minor: 2_500,
        }),
        economy(EconomyOpC2s::PlaceOrder {
            item: 4,
            side: 1,
            price_minor: 1_999,
            quantity: 10,
            lifetime_s: Some(3_600),
        }),
        economy(EconomyOpC2s::CancelOrder { order: 5 }),
        economy(EconomyOpC2s::Exchange {
            from: 0,
            to: 1,
            amount_minor: 1_000,
        }),
        RequestC2s::EconomyRead(EconomyReadC2s::Wallet),
        RequestC2s::EconomyRead(EconomyReadC2s::Market { item: 4, depth: 10 }),
    ];
    let trades = [
        economy(EconomyOpC2s::OfferTrade {
            to: 43,
            gives: goods(100, 4),
            wants: goods(0, 9),
            lifetime_s: 300,
        }),
        economy(EconomyOpC2s::CounterTrade {
            trade: 6,
            gives: goods(50, 4),
            wants: goods(0, 9),
        }),
        economy(EconomyOpC2s::AcceptTrade { trade: 6, version: 2 }),
        economy(EconomyOpC2s::CreateAuction(AuctionTermsC2s {
            item: 4,
            quantity: 3,
            starting_price: 100,
            bid_increment: 10,
            reserve: 150,
            buyout: 500,
            duration_h: 24,
            unique: 0,
        })),
        economy(EconomyOpC2s::Bid {
            auction: 8,
            amount_minor: 160,
        }),
        RequestC2s::EconomyRead(EconomyReadC2s::Inventory),
        RequestC2s::EconomyRead(EconomyReadC2s::Candles { item: 4, count: 60 }),
    ];
    let misc = [
        hello.clone(),
        RequestC2s::Ping(PingC2s {
            client_time_us: 1_700_000_000_123_456,
        }),
        RequestC2s::Subscribe(SubscribeC2s {
            topics: topics::ALL,
            session: 7,
        }),
        RequestC2s::Input(input(1, Some([10.0, 20.0]))),
        RequestC2s::AckSnapshot(SnapshotAckC2s { seq: 31 }),
    ];

    let hello_stream = control_stream(5, [hello.clone()]);
    let hello_cut = hello_stream[..hello_stream.len() - 3].to_vec();
    let mut bad_team = control_stream(
        9,
        [RequestC2s::JoinSession(JoinSessionC2s {
            session: 7,
            team: 3,
            role: 0,
        })],
    );
    let mut oversized = vec![0];
    oversized.extend_from_slice(&(fuzzing::MAX_FRAME_BYTES + 1).to_le_bytes());
    oversized.extend_from_slice(&[0; 16]);
    // An empty frame before any other (the reader's buffer is not allocated yet), then a Hello.
    let mut empty_first = vec![0];
    write_frame(&mut empty_first, &[]);
    empty_first.extend_from_slice(&control_stream(0, [hello.clone()])[1..]);
    let mut garbage = vec![3];
    write_frame(&mut garbage, &[0xa5; 24]);
    write_frame(&mut garbage, &[]);
    let flipped = refused_flip(&control_stream(64, [join]), fuzzing::control_frame);
    // A stray byte after the last frame: the stream ends inside the next length prefix.
    bad_team.push(0);
    vec![
        seed("valid-hello-byte-by-byte", control_stream(0, [hello])),
        seed("valid-hello", hello_stream),
        seed("valid-session-requests", control_stream(7, sessions)),
        seed("valid-economy-orders", control_stream(255, orders)),
        seed("valid-economy-trades-auctions", control_stream(128, trades)),
        seed("valid-ping-subscribe-input-ack", control_stream(31, misc)),
        seed("truncated-hello", hello_cut),
        seed("out-of-range-team-then-cut-prefix", bad_team),
        seed("oversized-prefix", oversized),
        seed("garbage-and-empty-frames", garbage),
        seed("empty-frame-first", empty_first),
        seed("corrupted-join", flipped),
    ]
}

fn datagram_seeds() -> Vec<Seed> {
    let seed = |name, bytes| Seed {
        target: "datagram",
        name,
        bytes,
    };
    let plain = encode(&DatagramC2s::Input(input(17, None)));
    let predicted = encode(&DatagramC2s::Input(input(18, Some([-250.5, 1_024.0]))));
    let ack = encode(&DatagramC2s::AckSnapshot(SnapshotAckC2s { seq: 4_000 }));
    let nan = encode(&DatagramC2s::Input(InputC2s {
        move_x: f32::NAN,
        aim_y: f32::INFINITY,
        ..input(19, None)
    }));
    let bad_input = refused_flip(&predicted, fuzzing::datagram);
    vec![
        seed("valid-input", plain.clone()),
        seed("valid-input-predicted", predicted.clone()),
        seed("valid-ack", ack.clone()),
        seed("valid-input-non-finite", nan),
        seed("truncated-input", predicted[..predicted.len() / 2].to_vec()),
        seed("truncated-ack", ack[..ack.len() - 1].to_vec()),
        seed("corrupted-input", bad_input),
        seed("empty", Vec::new()),
        seed("input-with-trailing-byte", [plain.as_slice(), &[0]].concat()),
    ]
}

fn participant(i: u16) -> ParticipantS2c {
    ParticipantS2c {
        player_id: if i.is_multiple_of(3) {
            0
        } else {
            100 + u64::from(i)
        },
        npc_kind: if i.is_multiple_of(3) { 2 } else { u16::MAX },
        net_id: 500 + u32::from(i),
        team: (i % 2) as u8,
        role: (i % 4) as u8,
        status: 0,
        health: 80.0,
        max_health: 100.0,
        damage_dealt: 12.5 * f32::from(i),
        damage_taken: 20.0,
        healing_done: 0.0,
        kills: u32::from(i % 2),
        deaths: 0,
        assists: 1,
        shots_fired: 10,
        shots_hit: 4,
    }
}

/// A session read with `participants` participants and a short combat log.
fn session_reply(participants: u16) -> ReplyS2c {
    ReplyS2c {
        request_id: 12,
        tick: 5_000,
        body: ReplyBodyS2c::Session(SessionS2c {
            summary: SessionSummaryS2c {
                id: 7,
                created_tick: 4_000,
                status: 1,
                kind: 0,
                participant_count: participants,
            },
            zone_id: 3,
            difficulty: 1,
            team_size: participants / 2,
            time_limit_s: 600,
            started_tick: 4_100,
            ended_tick: 0,
            winner: None,
            participants: (0..participants).map(participant).collect(),
            log: vec![
                LogEntryS2c {
                    seq: 1,
                    tick: 4_100,
                    kind: 9,
                    actor: NO_SLOT,
                    target: NO_SLOT,
                    value: 0.0,
                    detail: 1,
                },
                LogEntryS2c {
                    seq: 2,
                    tick: 4_150,
                    kind: 2,
                    actor: 0,
                    target: 1,
                    value: 31.5,
                    detail: 0,
                },
            ],
        }),
    }
}

fn reply_seeds() -> Vec<Seed> {
    let seed = |name, bytes| Seed {
        target: "reply",
        name,
        bytes,
    };
    let reply = |request_id, body| {
        encode(&ReplyS2c {
            request_id,
            tick: 5_000,
            body,
        })
    };
    let session = encode(&session_reply(10));
    let market = reply(
        9,
        ReplyBodyS2c::Market(MarketS2c {
            item: 4,
            last: Some(1_999),
            bid: Some(1_990),
            ask: None,
            bids: vec![(1_990, 5), (1_980, 12)],
            asks: vec![],
        }),
    );
    // Other values in valid places, for the fuzzer to start from.
    let mut altered = session.clone();
    for at in (0..altered.len()).step_by(97) {
        altered[at] ^= 0x5a;
    }
    let bad_market = refused_flip(&market, fuzzing::reply);
    let bad_session = refused_flip(&session, fuzzing::reply);
    vec![
        seed(
            "valid-welcome",
            reply(
                1,
                ReplyBodyS2c::Welcome(WelcomeS2c {
                    protocol_version: PROTOCOL_VERSION,
                    player: 42,
                    net_id: 501,
                    tick_rate_hz: 60.0,
                    server_tick: 4_999,
                    position_precision_m: 0.01,
                }),
            ),
        ),
        seed(
            "valid-pong",
            reply(
                2,
                ReplyBodyS2c::Pong {
                    client_time_us: 123_456,
                },
            ),
        ),
        seed("valid-refused", reply(0, ReplyBodyS2c::Refused { code: 1020 })),
        seed(
            "valid-order-placed",
            reply(
                3,
                ReplyBodyS2c::OrderPlaced {
                    order: 77,
                    filled: 3,
                    resting: 7,
                },
            ),
        ),
        seed("valid-session-10-participants", session.clone()),
        seed(
            "valid-session-list",
            reply(
                5,
                ReplyBodyS2c::SessionList(SessionListS2c {
                    sessions: (0..3)
                        .map(|i| SessionSummaryS2c {
                            id: 10 - i,
                            created_tick: 100 * i,
                            status: (i % 4) as u8,
                            kind: 0,
                            participant_count: 2,
                        })
                        .collect(),
                }),
            ),
        ),
        seed(
            "valid-inventory",
            reply(
                6,
                ReplyBodyS2c::Inventory {
                    holdings: vec![HoldingS2c {
                        item: 4,
                        held: 10,
                        escrowed: 2,
                        incoming: 0,
                    }],
                    uniques: vec![UniqueS2c { id: 9_001, item: 12 }],
                },
            ),
        ),
        seed("valid-market", market),
        seed(
            "valid-candles",
            reply(
                8,
                ReplyBodyS2c::Candles {
                    item: 4,
                    candles: vec![CandleS2c {
                        open_tick: 3_600,
                        open: 100,
                        high: 120,
                        low: 95,
                        close: 110,
                        volume: 40,
                    }],
                },
            ),
        ),
        seed("truncated-session", session[..session.len() / 3].to_vec()),
        seed("altered-session", altered),
        seed("corrupted-session", bad_session),
        seed("corrupted-market", bad_market),
    ]
}

/// A full snapshot of `count` entities at seq `seq`, moved by `step`.
fn full_payload(seq: u32, count: u32, step: i32) -> (Vec<u8>, Vec<EntityState>) {
    let states: Vec<EntityState> = (0..count)
        .map(|i| EntityState {
            id: 3 * i + 1,
            qx: 100 * i as i32 + step,
            qy: -50 * i as i32 - step,
        })
        .collect();
    let mut payload = Vec::new();
    let header = SnapshotHeader {
        seq,
        baseline_seq: 0,
        tick: u64::from(seq) * 4,
    };
    snapshot_codec::encode(header, &states, &[], &mut payload);
    (payload, states)
}

/// Three snapshot payloads: a full one, then deltas that move, add and remove entities.
fn payload_sequence() -> Vec<Vec<u8>> {
    let (first, base) = full_payload(1, 12, 0);
    let mut moved = base.clone();
    for state in moved.iter_mut().step_by(2) {
        state.qx += 3;
    }
    moved.remove(4);
    moved.push(EntityState {
        id: 1_000,
        qx: -7,
        qy: 7,
    });
    let mut second = Vec::new();
    let header = |seq, baseline_seq| SnapshotHeader {
        seq,
        baseline_seq,
        tick: u64::from(seq) * 4,
    };
    snapshot_codec::encode(header(2, 1), &moved, &base, &mut second);
    let mut third_state = moved.clone();
    third_state.truncate(6);
    let mut third = Vec::new();
    snapshot_codec::encode(header(3, 2), &third_state, &moved, &mut third);
    vec![first, second, third]
}

fn framed(messages: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for message in messages {
        write_frame(&mut out, message);
    }
    out
}

fn wire(payload: &[u8]) -> Vec<u8> {
    encode(&SnapshotS2c {
        payload: payload.to_vec(),
    })
}

fn snapshot_seeds() -> Vec<Seed> {
    let seed = |name, bytes| Seed {
        target: "snapshot",
        name,
        bytes,
    };
    let payloads = payload_sequence();
    let wired: Vec<Vec<u8>> = payloads.iter().map(|p| wire(p)).collect();
    let (empty_world, _) = full_payload(9, 0, 0);
    let mut trailing = payloads[0].clone();
    trailing.push(0);
    let mut huge_count = Vec::new();
    // seq 1, full, tick 0, no removals, then a count of 2^35 entries.
    huge_count.extend_from_slice(&[1, 0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x40]);
    vec![
        seed("valid-wire-full", framed(&wired[..1])),
        seed("valid-wire-full-then-deltas", framed(&wired)),
        seed("valid-wire-empty-world", framed(&[wire(&empty_world)])),
        seed("valid-raw-full-then-deltas", framed(&payloads)),
        seed(
            "wire-full-then-raw-delta",
            framed(&[wired[0].clone(), payloads[1].clone()]),
        ),
        seed("delta-without-baseline", framed(&wired[1..])),
        seed(
            "truncated-payload",
            framed(&[wire(&payloads[0][..payloads[0].len() - 2])]),
        ),
        seed("trailing-byte", framed(&[wire(&trailing)])),
        seed("count-beyond-input", framed(&[huge_count])),
        seed("cut-inside-third-frame", {
            let stream = framed(&wired);
            stream[..stream.len() - 10].to_vec()
        }),
    ]
}

fn push_seeds() -> Vec<Seed> {
    let seed = |name, bytes| Seed {
        target: "push",
        name,
        bytes,
    };
    let event = |event| encode(&PushS2c::Event(event));
    let hit = event(EventS2c::Hit {
        session: 7,
        attacker: Some(501),
        target: 502,
        damage: 31.5,
        crit: true,
    });
    let (payload, _) = full_payload(1, 12, 0);
    let snapshot = encode(&PushS2c::Snapshot(SnapshotS2c { payload }));
    let bad_hit = refused_flip(&hit, fuzzing::push);
    let bad_snapshot = refused_flip(&snapshot, fuzzing::push);
    vec![
        seed("valid-hit", hit.clone()),
        seed(
            "valid-status-effect-hit",
            event(EventS2c::Hit {
                session: 7,
                attacker: None,
                target: 502,
                damage: 2.0,
                crit: false,
            }),
        ),
        seed(
            "valid-killed",
            event(EventS2c::Killed {
                session: 7,
                killer: Some(501),
                target: 502,
            }),
        ),
        seed(
            "valid-player-joined",
            event(EventS2c::PlayerJoined {
                player: 42,
                net_id: 501,
            }),
        ),
        seed(
            "valid-session-changed",
            event(EventS2c::SessionChanged {
                session: 7,
                status: 2,
            }),
        ),
        seed(
            "valid-trade-proposed",
            event(EventS2c::TradeProposed {
                trade: 6,
                proposer: 43,
                version: 1,
            }),
        ),
        seed(
            "valid-clock-changed",
            event(EventS2c::ClockChanged {
                tick_rate_hz: 30.0,
                from_tick: 9_001,
            }),
        ),
        seed("valid-snapshot", snapshot.clone()),
        seed("truncated-hit", hit[..hit.len() - 4].to_vec()),
        seed("truncated-snapshot", snapshot[..snapshot.len() - 6].to_vec()),
        seed("corrupted-hit", bad_hit),
        seed("corrupted-snapshot", bad_snapshot),
    ]
}

#[expect(clippy::print_stdout, reason = "the example lists the files it wrote")]
fn main() -> std::io::Result<()> {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let seeds = [
        control_seeds(),
        datagram_seeds(),
        reply_seeds(),
        push_seeds(),
        snapshot_seeds(),
    ];
    for seed in seeds.into_iter().flatten() {
        let dir = corpus.join(seed.target);
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(seed.name);
        std::fs::write(&path, &seed.bytes)?;
        println!("{} ({} bytes)", path.display(), seed.bytes.len());
    }
    Ok(())
}
