//! Round trips, hostile bytes and hand-computed encodings of the snapshot codec.
use super::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

fn st(id: u32, qx: i32, qy: i32) -> EntityState {
    EntityState { id, qx, qy }
}

fn header(seq: u32, baseline_seq: u32, tick: u64) -> SnapshotHeader {
    SnapshotHeader {
        seq,
        baseline_seq,
        tick,
    }
}

fn roundtrip(h: SnapshotHeader, cur: &[EntityState], base: &[EntityState]) -> Vec<EntityState> {
    let mut bytes = Vec::new();
    encode(h, cur, base, &mut bytes);
    let mut out = Vec::new();
    assert_eq!(decode(&bytes, base, &mut out), Ok(h));
    out
}

#[test]
fn tiny_delta_has_hand_computed_bytes() {
    let base = [st(5, 10, 20), st(7, -4, 0)];
    let cur = [st(5, 13, 19), st(9, 100, -50)];
    let mut bytes = Vec::new();
    let stats = encode(header(3, 2, 1000), &cur, &base, &mut bytes);
    let expected: Vec<u8> = vec![
        0x03, // seq 3
        0x02, // baseline_seq 2
        0xE8, 0x07, // tick 1000 = 0x68 | 7 << 7
        0x01, // one removed
        0x07, // removed id 7, first so gap = id
        0x02, // two entries
        0x0A, // id 5: gap 5, delta -> 5 << 1
        0x06, // dx +3 -> zigzag 6
        0x01, // dy -1 -> zigzag 1
        0x07, // id 9: gap 9 - 5 - 1 = 3, new -> 3 << 1 | 1
        0xC8, 0x01, // qx 100 -> zigzag 200
        0x63, // qy -50 -> zigzag 99
    ];
    assert_eq!(bytes, expected);
    assert_eq!(
        stats,
        EncodeStats {
            added: 1,
            changed: 1,
            unchanged: 0,
            removed: 1,
            bytes: 14
        }
    );

    let mut out = Vec::new();
    assert_eq!(decode(&bytes, &base, &mut out), Ok(header(3, 2, 1000)));
    assert_eq!(out, cur);
    assert_eq!(decode_header(&bytes), Ok(header(3, 2, 1000)));
}

#[test]
fn unchanged_entities_are_omitted_and_copied_back() {
    let base = [st(1, 0, 0), st(2, 5, 5), st(3, 7, 7)];
    let cur = [st(1, 0, 0), st(2, 6, 5), st(3, 7, 7)];
    let mut bytes = Vec::new();
    let stats = encode(header(9, 8, 0), &cur, &base, &mut bytes);
    // seq, baseline, tick, n_removed 0, n_entries 1, tag (gap 2, delta), dx 1, dy 0.
    assert_eq!(bytes, [0x09, 0x08, 0x00, 0x00, 0x01, 0x04, 0x02, 0x00]);
    assert_eq!(stats.unchanged, 2);
    assert_eq!(roundtrip(header(9, 8, 0), &cur, &base), cur);
}

#[test]
fn full_snapshot_ignores_baseline() {
    let base = [st(1, 1, 1), st(2, 2, 2)];
    let cur = [st(2, -1, 3)];
    let mut bytes = Vec::new();
    let stats = encode(header(1, 0, 5), &cur, &base, &mut bytes);
    // Entry: gap 2, new -> tag 5; qx -1 -> 1; qy 3 -> 6.
    assert_eq!(bytes, [0x01, 0x00, 0x05, 0x00, 0x01, 0x05, 0x01, 0x06]);
    assert_eq!(
        stats,
        EncodeStats {
            added: 1,
            changed: 0,
            unchanged: 0,
            removed: 0,
            bytes: 8
        }
    );
    let mut out = Vec::new();
    assert_eq!(decode(&bytes, &[st(2, 0, 0)], &mut out), Ok(header(1, 0, 5)));
    assert_eq!(out, cur);
}

#[test]
fn extreme_ids_and_positions_round_trip() {
    let base = [
        st(0, i32::MIN, i32::MAX),
        st(u32::MAX - 1, 0, 0),
        st(u32::MAX, i32::MAX, i32::MIN),
    ];
    let cur = [st(0, i32::MAX, i32::MIN), st(u32::MAX, i32::MIN, i32::MAX)];
    assert_eq!(roundtrip(header(u32::MAX, u32::MAX, u64::MAX), &cur, &base), cur);
    assert_eq!(roundtrip(header(1, 0, 0), &cur, &base), cur);
}

#[test]
fn encode_appends_without_touching_existing_bytes() {
    let mut bytes = vec![0xAA, 0xBB];
    let stats = encode(header(1, 0, 0), &[st(1, 2, 3)], &[], &mut bytes);
    assert_eq!(bytes.get(..2), Some(&[0xAA, 0xBB][..]));
    assert_eq!(stats.bytes as usize, bytes.len() - 2);
}

#[test]
fn steady_state_does_not_reallocate() {
    let base: Vec<_> = (0..100).map(|i| st(i, i as i32, 0)).collect();
    let cur: Vec<_> = (0..100).map(|i| st(i * 2, i as i32 + 1, 0)).collect();
    let mut bytes = Vec::with_capacity(4096);
    let mut out = Vec::with_capacity(512);
    let (bytes_ptr, out_ptr) = (bytes.as_ptr(), out.as_ptr());
    for seq in 1..5 {
        bytes.clear();
        encode(header(seq, seq - 1, 0), &cur, &base, &mut bytes);
        assert_eq!(decode(&bytes, &base, &mut out).map(|h| h.seq), Ok(seq));
        assert_eq!(out, cur);
    }
    assert_eq!(bytes.as_ptr(), bytes_ptr);
    assert_eq!(out.as_ptr(), out_ptr);
}

/// Deterministic generator so the crowd figure is reproducible.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn range(&mut self, lo: i32, hi: i32) -> i32 {
        lo + (self.next() % (hi - lo + 1) as u64) as i32
    }
}

#[test]
fn crowd_of_a_thousand_costs_at_most_eight_bytes_per_changed_entity() {
    let precision = 0.01;
    let mut rng = SplitMix(42);
    let mut id = 0u32;
    let base: Vec<_> = (0..1000)
        .map(|_| {
            // Live ids have small holes where entities despawned.
            id += 1 + (rng.next() % 4) as u32;
            let qx = quantize(rng.range(-500, 500) as f32, precision);
            let qy = quantize(rng.range(-500, 500) as f32, precision);
            st(id, qx, qy)
        })
        .collect();
    // Up to 0.6 m per axis at 0.01 m precision.
    let max_step = quantize(0.6, precision);
    assert_eq!(max_step, 60);
    let cur: Vec<_> = base
        .iter()
        .map(|e| {
            st(
                e.id,
                e.qx + rng.range(-max_step, max_step),
                e.qy + rng.range(-max_step, max_step),
            )
        })
        .collect();

    let mut bytes = Vec::new();
    let stats = encode(header(1001, 1000, 123_456), &cur, &base, &mut bytes);
    assert!(stats.changed >= 990, "{stats:?}");
    let per_changed = f64::from(stats.bytes) / f64::from(stats.changed);
    assert!(per_changed <= 8.0, "{per_changed} bytes per changed entity");
    // Tag, dx and dy each fit one byte here; a format regression shows up before the budget does.
    assert!(per_changed < 3.05, "{per_changed} bytes per changed entity");
    assert_eq!(roundtrip(header(1001, 1000, 123_456), &cur, &base), cur);
}

#[test]
fn quantize_round_trips_within_half_a_step() {
    for precision in [0.001f32, 0.01, 0.05, 0.25] {
        let mut v = -1000.0f32;
        while v <= 1000.0 {
            let back = dequantize(quantize(v, precision), precision);
            // f32 itself cannot represent the result more finely than about one ulp of v.
            let tolerance = precision / 2.0 + v.abs() * f32::EPSILON * 2.0;
            assert!((back - v).abs() <= tolerance, "{v} at {precision}: {back}");
            v += 0.137;
        }
    }
    assert_eq!(quantize(0.014, 0.01), 1);
    assert_eq!(quantize(-0.016, 0.01), -2);
    assert_eq!(dequantize(-150, 0.01), -1.5);
}

#[test]
fn quantize_handles_nan_and_saturates() {
    assert_eq!(quantize(f32::NAN, 0.01), 0);
    assert_eq!(quantize(1.0, 0.0), i32::MAX);
    assert_eq!(quantize(0.0, 0.0), 0);
    assert_eq!(quantize(1e30, 0.01), i32::MAX);
    assert_eq!(quantize(-1e30, 0.01), i32::MIN);
    assert_eq!(quantize(f32::INFINITY, 0.01), i32::MAX);
    assert_eq!(quantize(f32::NEG_INFINITY, 0.01), i32::MIN);
}

fn decode_err(bytes: &[u8], base: &[EntityState]) -> DecodeError {
    let mut out = vec![st(99, 9, 9)];
    let err = decode(bytes, base, &mut out).err();
    assert!(out.is_empty(), "out must be cleared on error");
    err.unwrap_or_else(|| panic!("{bytes:02X?} decoded"))
}

#[test]
fn malformed_inputs_give_typed_errors() {
    let base = [st(5, 10, 20), st(7, -4, 0)];
    assert_eq!(decode_err(&[], &base), DecodeError::Truncated);
    assert_eq!(decode_err(&[1, 1, 0x80], &base), DecodeError::Truncated);
    assert_eq!(decode_err(&[0xFF; 11], &base), DecodeError::VarintOverflow);
    // Ten bytes whose last group exceeds bit 63.
    let mut too_big = [0xFF; 10];
    too_big[9] = 0x02;
    assert_eq!(decode_err(&too_big, &base), DecodeError::VarintOverflow);
    // seq = 2^32 does not fit u32.
    assert_eq!(
        decode_err(&[0x80, 0x80, 0x80, 0x80, 0x10, 1, 0], &base),
        DecodeError::VarintOverflow
    );
    assert_eq!(
        decode_err(&[1, 1, 0, 100, 0], &base),
        DecodeError::CountTooLarge {
            count: 100,
            remaining: 1
        }
    );
    assert_eq!(
        decode_err(&[1, 1, 0, 0, 1, 0, 0], &base),
        DecodeError::CountTooLarge {
            count: 1,
            remaining: 2
        }
    );
    assert_eq!(
        decode_err(&[1, 1, 0, 0, 0, 0], &base),
        DecodeError::TrailingBytes { count: 1 }
    );
    assert_eq!(
        decode_err(&[1, 1, 0, 1, 6, 0], &base),
        DecodeError::RemovedUnknown { id: 6 }
    );
    assert_eq!(
        decode_err(&[1, 1, 0, 1, 9, 0], &base),
        DecodeError::RemovedUnknown { id: 9 }
    );
    // Removed list 5 then 5 + 1 + 0 = 6, which the baseline lacks.
    assert_eq!(
        decode_err(&[1, 1, 0, 2, 5, 0, 0], &base),
        DecodeError::RemovedUnknown { id: 6 }
    );
    assert_eq!(
        decode_err(&[1, 1, 0, 0, 1, 12, 0, 0], &base),
        DecodeError::DeltaForUnknown { id: 6 }
    );
    assert_eq!(
        decode_err(&[1, 1, 0, 0, 1, 11, 0, 0], &base),
        DecodeError::AddedExisting { id: 5 }
    );
    assert_eq!(
        decode_err(&[1, 1, 0, 1, 5, 1, 10, 2, 0], &base),
        DecodeError::RemovedAndPresent { id: 5 }
    );
    // Entries for 4294967295 then anything after it.
    assert_eq!(
        decode_err(
            &[1, 0, 0, 0, 2, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0, 0, 1, 0, 0],
            &base
        ),
        DecodeError::IdOverflow
    );
    // A gap of 2^32 cannot be an id.
    assert_eq!(
        decode_err(&[1, 0, 0, 0, 1, 0x81, 0x80, 0x80, 0x80, 0x20, 0, 0], &base),
        DecodeError::IdOverflow
    );
    // New entity at zigzag 2^32 = +2^31, one past i32::MAX.
    assert_eq!(
        decode_err(&[1, 0, 0, 0, 1, 1, 0x80, 0x80, 0x80, 0x80, 0x10, 0], &base),
        DecodeError::PositionOverflow { id: 0 }
    );
    // Delta pushing i32::MAX one further.
    assert_eq!(
        decode_err(&[1, 1, 0, 0, 1, 0, 2, 0], &[st(0, i32::MAX, 0)]),
        DecodeError::PositionOverflow { id: 0 }
    );
    assert_eq!(
        decode_err(&[1, 1, 0, 0, 0], &[st(2, 0, 0), st(1, 0, 0)]),
        DecodeError::UnsortedBaseline
    );
    assert_eq!(decode_header(&[1, 2]), Err(DecodeError::Truncated));
}

#[derive(Debug, Clone)]
enum Op {
    Keep,
    Nudge(i32, i32),
    Teleport(i32, i32),
    Remove,
}

fn arb_id() -> impl Strategy<Value = u32> {
    prop_oneof![8 => 0u32..2000, 1 => any::<u32>(), 1 => (u32::MAX - 64)..=u32::MAX]
}

fn arb_pos() -> impl Strategy<Value = (i32, i32)> {
    prop_oneof![8 => (-100_000i32..100_000, -100_000i32..100_000), 1 => any::<(i32, i32)>()]
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::Keep),
        4 => (-70i32..=70, -70i32..=70).prop_map(|(dx, dy)| Op::Nudge(dx, dy)),
        1 => any::<(i32, i32)>().prop_map(|(x, y)| Op::Teleport(x, y)),
        2 => Just(Op::Remove),
    ]
}

fn to_states(map: &BTreeMap<u32, (i32, i32)>) -> Vec<EntityState> {
    map.iter().map(|(&id, &(qx, qy))| st(id, qx, qy)).collect()
}

/// A baseline and a current state derived from it by moves, removals and additions.
fn arb_scenario() -> impl Strategy<Value = (Vec<EntityState>, Vec<EntityState>)> {
    (
        prop::collection::btree_map(arb_id(), arb_pos(), 0..500),
        prop::collection::vec(arb_op(), 500),
        prop::collection::btree_map(arb_id(), arb_pos(), 0..60),
    )
        .prop_map(|(base, ops, added)| {
            let mut cur = BTreeMap::new();
            for ((&id, &(x, y)), op) in base.iter().zip(ops) {
                match op {
                    Op::Keep => {
                        cur.insert(id, (x, y));
                    }
                    Op::Nudge(dx, dy) => {
                        cur.insert(id, (x.saturating_add(dx), y.saturating_add(dy)));
                    }
                    Op::Teleport(nx, ny) => {
                        cur.insert(id, (nx, ny));
                    }
                    Op::Remove => {}
                }
            }
            cur.extend(added);
            (to_states(&base), to_states(&cur))
        })
}

fn arb_header() -> impl Strategy<Value = SnapshotHeader> {
    (any::<u32>(), 1u32..=u32::MAX, any::<u64>()).prop_map(|(seq, b, tick)| header(seq, b, tick))
}

proptest! {
    #[test]
    fn delta_round_trips((base, cur) in arb_scenario(), h in arb_header(), prefix in prop::collection::vec(any::<u8>(), 0..4)) {
        let mut bytes = prefix.clone();
        let stats = encode(h, &cur, &base, &mut bytes);
        prop_assert_eq!(bytes.get(..prefix.len()), Some(&prefix[..]));
        let encoded = bytes.get(prefix.len()..).unwrap_or_default();
        prop_assert_eq!(stats.bytes as usize, encoded.len());
        prop_assert_eq!((stats.added + stats.changed + stats.unchanged) as usize, cur.len());
        prop_assert_eq!((stats.removed + stats.changed + stats.unchanged) as usize, base.len());

        let mut out = Vec::new();
        prop_assert_eq!(decode(encoded, &base, &mut out), Ok(h));
        prop_assert_eq!(&out, &cur);
        prop_assert_eq!(decode_header(encoded), Ok(h));
    }

    #[test]
    fn full_snapshot_round_trips((base, cur) in arb_scenario(), h in arb_header(), other in arb_scenario()) {
        let h = SnapshotHeader { baseline_seq: 0, ..h };
        let mut bytes = Vec::new();
        let stats = encode(h, &cur, &base, &mut bytes);
        prop_assert_eq!(stats.added as usize, cur.len());
        prop_assert_eq!(stats.removed + stats.changed + stats.unchanged, 0);
        let mut out = Vec::new();
        prop_assert_eq!(decode(&bytes, &other.0, &mut out), Ok(h));
        prop_assert_eq!(&out, &cur);
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256), (base, _) in arb_scenario()) {
        let mut out = Vec::new();
        if decode(&bytes, &base, &mut out).is_ok() {
            prop_assert!(is_strictly_ascending(&out));
        }
        let _ = decode_header(&bytes);
    }

    #[test]
    fn damaged_encodings_never_panic(
        (base, cur) in arb_scenario(),
        h in arb_header(),
        cut in any::<prop::sample::Index>(),
        flip_at in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let mut bytes = Vec::new();
        encode(h, &cur, &base, &mut bytes);
        let mut out = Vec::new();

        // A strict prefix reads the same values until it runs dry, so it can never decode.
        let truncated = bytes.get(..cut.index(bytes.len())).unwrap_or_default();
        prop_assert!(decode(truncated, &base, &mut out).is_err());

        let mut flipped = bytes.clone();
        if let Some(b) = flipped.get_mut(flip_at.index(bytes.len())) {
            *b ^= flip;
        }
        if decode(&flipped, &base, &mut out).is_ok() {
            prop_assert!(is_strictly_ascending(&out));
        }
    }
}
