use std::path::Path;

use super::*;
use crate::sim::combat::{Role, SessionId, SessionKind, Team};
use crate::sim::{Command, EconomyOp, MoveInput, Target};

fn frame(request_id: u32, body: RequestC2s) -> Vec<u8> {
    let mut encoder = Encoder::default();
    encoder
        .encode(&ControlC2s { request_id, body })
        .expect("encodes")
        .to_vec()
}

fn decoded(request_id: u32, body: RequestC2s) -> Result<Command, DecodeError> {
    let bytes = frame(request_id, body);
    let mut aligned = framing::AlignedCopy::default();
    let (id, request) = decode_control(aligned.of(&bytes))?;
    assert_eq!(id, request_id);
    match request {
        Request::Sim(command) => Ok(command),
        other => panic!("not a sim command: {other:?}"),
    }
}

#[test]
fn hello_keeps_its_version_and_token() {
    let bytes = frame(
        1,
        RequestC2s::Hello(HelloC2s {
            protocol_version: PROTOCOL_VERSION,
            token: "ab12".into(),
        }),
    );
    let mut aligned = framing::AlignedCopy::default();
    let (id, request) = decode_control(aligned.of(&bytes)).expect("valid");
    assert_eq!(id, 1);
    assert_eq!(
        request,
        Request::Hello {
            protocol_version: PROTOCOL_VERSION,
            token: "ab12"
        }
    );
}

#[test]
fn requests_become_the_commands_they_name() {
    let join = decoded(
        7,
        RequestC2s::JoinSession(JoinSessionC2s {
            session: 3,
            team: 1,
            role: 2,
        }),
    );
    assert_eq!(
        join,
        Ok(Command::JoinSession {
            session: SessionId(3),
            team: Team::TeamB,
            role: Role::Tech,
        })
    );
    let create = decoded(
        8,
        RequestC2s::CreateSession(CreateSessionC2s {
            kind: 1,
            zone_id: 4,
            difficulty: 2,
            team_size: Some(3),
            time_limit_s: None,
        }),
    );
    let Ok(Command::CreateSession(settings)) = create else {
        panic!("{create:?}");
    };
    assert_eq!(settings.kind, SessionKind::PveRaid);
    assert_eq!(settings.team_size, Some(3));
    let transfer = decoded(
        9,
        RequestC2s::Economy(EconomyC2s {
            idempotency_key: u128::MAX - 1,
            op: EconomyOpC2s::Transfer {
                to: 12,
                currency: 0,
                amount_minor: 250,
            },
        }),
    );
    let Ok(Command::Economy(request)) = transfer else {
        panic!("{transfer:?}");
    };
    assert_eq!(request.key, u128::MAX - 1);
    assert!(matches!(
        request.op,
        EconomyOp::Transfer {
            amount_minor: 250,
            ..
        }
    ));
    let act = decoded(
        10,
        RequestC2s::Act(ActC2s {
            session: 3,
            ability: Some(1),
            target: TargetC2s::Point([1.5, -2.0]),
        }),
    );
    let Ok(Command::Act(action)) = act else {
        panic!("{act:?}");
    };
    assert_eq!(action.target, Target::Point([1.5, -2.0]));
}

#[test]
fn out_of_range_codes_are_refused_with_the_field_named() {
    let cases = [
        (
            RequestC2s::JoinSession(JoinSessionC2s {
                session: 1,
                team: 3,
                role: 0,
            }),
            "join_session.team",
        ),
        (
            RequestC2s::CreateSession(CreateSessionC2s {
                kind: 9,
                zone_id: 0,
                difficulty: 0,
                team_size: None,
                time_limit_s: None,
            }),
            "create_session.kind",
        ),
        (
            RequestC2s::Act(ActC2s {
                session: 1,
                ability: Some(200),
                target: TargetC2s::Entity(1),
            }),
            "act.ability",
        ),
        (
            RequestC2s::Act(ActC2s {
                session: 1,
                ability: None,
                target: TargetC2s::Point([f32::NAN, 0.0]),
            }),
            "act.target",
        ),
        (
            RequestC2s::Subscribe(SubscribeC2s {
                topics: 1 << 30,
                session: 0,
            }),
            "subscribe.topics",
        ),
        (
            RequestC2s::Economy(EconomyC2s {
                idempotency_key: 1,
                op: EconomyOpC2s::PlaceOrder {
                    item: 0,
                    side: 2,
                    price_minor: 1,
                    quantity: 1,
                    lifetime_s: None,
                },
            }),
            "place_order.side",
        ),
    ];
    for (body, field) in cases {
        let bytes = frame(1, body);
        let mut aligned = framing::AlignedCopy::default();
        let error = decode_control(aligned.of(&bytes)).expect_err("out of range");
        assert_eq!(error, DecodeError::InvalidValue(field));
        assert_eq!(error.code(), ErrorCode::InvalidValue);
    }
}

#[test]
fn damaged_archives_are_malformed_never_read() {
    let bytes = frame(
        5,
        RequestC2s::Hello(HelloC2s {
            protocol_version: 1,
            token: "token".into(),
        }),
    );
    let mut aligned = framing::AlignedCopy::default();
    for cut in 0..bytes.len() {
        assert!(decode_control(aligned.of(&bytes[..cut])).is_err(), "cut at {cut}");
    }
    for byte in 0..=255u8 {
        let garbage = [byte; 64];
        assert_eq!(
            decode_control(aligned.of(&garbage)).err(),
            Some(DecodeError::Malformed),
            "{byte}"
        );
    }
    // Every single-byte change either still validates or is refused; none panics.
    for at in 0..bytes.len() {
        let mut changed = bytes.clone();
        changed[at] ^= 0xa5;
        let _ = decode_control(aligned.of(&changed));
    }
}

#[test]
fn datagrams_carry_inputs_and_acks() {
    let input = InputC2s {
        seq: 4,
        client_tick: 90,
        move_x: 1.0,
        predicted: Some([3.0, 4.0]),
        ack: 3,
        ..InputC2s::default()
    };
    let mut encoder = Encoder::default();
    let mut aligned = framing::AlignedCopy::default();
    let bytes = encoder
        .encode(&DatagramC2s::Input(input))
        .expect("encodes")
        .to_vec();
    assert_eq!(
        decode_datagram(aligned.of(&bytes)),
        Ok(Command::Move(MoveInput {
            seq: 4,
            client_tick: 90,
            move_x: 1.0,
            predicted: Some([3.0, 4.0]),
            ack: 3,
            ..MoveInput::default()
        }))
    );
    let bytes = encoder
        .encode(&DatagramC2s::AckSnapshot(SnapshotAckC2s { seq: 17 }))
        .expect("encodes")
        .to_vec();
    assert_eq!(
        decode_datagram(aligned.of(&bytes)),
        Ok(Command::AckSnapshot { seq: 17 })
    );
}

#[test]
fn replies_survive_a_checked_round_trip() {
    let reply = ReplyS2c {
        request_id: 77,
        tick: 12,
        body: ReplyBodyS2c::Market(MarketS2c {
            item: 2,
            last: Some(100),
            bid: Some(99),
            ask: None,
            bids: vec![(99, 5), (98, 1)],
            asks: vec![],
        }),
    };
    let mut encoder = Encoder::default();
    let mut aligned = framing::AlignedCopy::default();
    let bytes = encoder.encode(&reply).expect("encodes").to_vec();
    assert_eq!(read_owned::<ReplyS2c>(aligned.of(&bytes)), Ok(reply));
}

#[test]
fn a_borrowed_snapshot_encodes_to_the_owned_ones_bytes() {
    let mut encoder = Encoder::default();
    let mut aligned = framing::AlignedCopy::default();
    for len in [0, 1, 3, 17, 1_000] {
        let payload: Vec<u8> = (0..len).map(|n| (n * 7 % 251) as u8).collect();
        let owned = encoder
            .encode(&SnapshotS2c {
                payload: payload.clone(),
            })
            .expect("encodes")
            .to_vec();
        let borrowed = encoder
            .encode(&SnapshotRefS2c { payload: &payload })
            .expect("encodes")
            .to_vec();
        assert_eq!(borrowed, owned, "{len} bytes");
        assert_eq!(
            read_owned::<SnapshotS2c>(aligned.of(&borrowed)),
            Ok(SnapshotS2c { payload })
        );
    }
}

#[test]
fn every_code_has_its_own_number_and_message() {
    let mut codes: Vec<u16> = ErrorCode::ALL.iter().map(|c| c.code()).collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), ErrorCode::ALL.len());
    assert_eq!(error_message(1012), "value out of range");
    assert_eq!(error_message(300), "insufficient funds");
    assert_eq!(error_message(9), "unknown error code 9");
}

#[test]
fn no_source_file_reads_archives_unchecked() {
    fn scan(dir: &Path, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("src/ is readable") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                scan(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("readable");
                let needle = ["access", "_unchecked"].concat();
                if text.contains(&needle) {
                    found.push(path.display().to_string());
                }
            }
        }
    }
    let mut found = Vec::new();
    scan(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut found);
    assert!(found.is_empty(), "unchecked rkyv access in {found:?}");
}
