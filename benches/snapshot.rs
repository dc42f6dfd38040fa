//! Snapshots of a moving crowd: how many bytes a changed entity costs on the wire, and how long the
//! encoder takes. Run: `cargo bench --bench snapshot`.
//!
//! The byte figure comes from the real schedule: 2,000 player bots spread so that each sees about
//! 50 others, all moving at full speed, acknowledging each snapshot after a round trip of
//! `ACK_DELAY_TICKS`, and decoding every snapshot with the client's [`SnapshotReceiver`]. A changed
//! entity is one whose decoded state differs from the baseline's (or is new to it).

use std::collections::VecDeque;
use std::hint::black_box;
use std::sync::Arc;

#[path = "../tests/common/steering.rs"]
mod steering;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use necpsim::client::SnapshotReceiver;
use necpsim::config::Config;
use necpsim::sim::snapshot_codec::{EntityState, SnapshotHeader, encode};
use necpsim::sim::{ClientId, Command, Outbox, Sim};
use steering::steer_in_circles;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PLAYERS: u64 = 2_000;
const TICKS: u32 = 600;

fn crowd_config() -> Arc<Config> {
    let assets = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
    let mut config = Config::load(&assets).expect("bundled assets are valid");
    // 2,000 players over a disc where a 120 m view holds about 50 of them.
    let radius = (PLAYERS as f32 * 120.0 * 120.0 / 50.0).sqrt();
    config.gameplay.world.spawn.radius_m = radius;
    config.server.sim.inbox_capacity = 4 * PLAYERS as u32;
    Arc::new(config)
}

/// Bytes per changed entity over the run's delta snapshots, with acknowledgements arriving
/// `ack_delay_ticks` after each snapshot.
fn bytes_per_changed_entity(ack_delay_ticks: usize) -> (f64, u64) {
    let mut sim = Sim::new(crowd_config());
    let mut receivers: Vec<SnapshotReceiver> = (0..PLAYERS).map(|_| SnapshotReceiver::default()).collect();
    let mut in_flight: VecDeque<Vec<(ClientId, u32)>> = VecDeque::new();
    let mut outbox = Outbox::default();
    let (mut bytes, mut changed, mut deltas) = (0u64, 0u64, 0u64);
    let mut previous: Vec<Vec<(u32, Vec<EntityState>)>> = vec![Vec::new(); PLAYERS as usize];
    for client in 0..PLAYERS {
        sim.submit(ClientId(client), Command::Join).expect("room");
    }
    for tick in 1..=TICKS {
        steer_in_circles(&mut sim, PLAYERS, tick, 0.618, 0.01);
        if in_flight.len() > ack_delay_ticks {
            for (client, seq) in in_flight.pop_front().unwrap_or_default() {
                sim.submit(client, Command::AckSnapshot { seq }).expect("room");
            }
        }
        sim.step();
        sim.drain_outputs(&mut outbox);
        let mut acks = Vec::new();
        for snapshot in &outbox.snapshots {
            let client = snapshot.client.0 as usize;
            let payload = outbox.snapshot_payload(snapshot);
            let (header, states) = receivers[client].receive(payload).expect("valid snapshot");
            let states = states.to_vec();
            if header.baseline_seq != 0 {
                let baseline = previous[client]
                    .iter()
                    .find(|(seq, _)| *seq == header.baseline_seq)
                    .map(|(_, states)| states.as_slice())
                    .unwrap_or_default();
                changed += states.iter().filter(|state| !baseline.contains(state)).count() as u64;
                bytes += payload.len() as u64;
                deltas += 1;
            }
            previous[client].push((header.seq, states));
            if previous[client].len() > 32 {
                previous[client].remove(0);
            }
            acks.push((snapshot.client, header.seq));
        }
        in_flight.push_back(acks);
    }
    (bytes as f64 / changed.max(1) as f64, deltas)
}

#[expect(clippy::print_stdout, reason = "the byte figures are this bench's output")]
fn report_bytes() {
    for delay in [1, 6, 12] {
        let (per_entity, deltas) = bytes_per_changed_entity(delay);
        println!(
            "snapshot bytes per changed entity, acks {delay} ticks late: {per_entity:.2} \
             ({deltas} delta snapshots, {PLAYERS} players, {TICKS} ticks)"
        );
    }
}

fn encode_speed(c: &mut Criterion) {
    report_bytes();
    let mut group = c.benchmark_group("snapshot");
    for visible in [16usize, 64, 256] {
        let baseline: Vec<EntityState> = (0..visible as u32)
            .map(|i| EntityState {
                id: i * 3 + 1,
                qx: i as i32 * 1000,
                qy: -(i as i32) * 700,
            })
            .collect();
        let current: Vec<EntityState> = baseline
            .iter()
            .map(|s| EntityState {
                qx: s.qx + 30,
                qy: s.qy - 12,
                ..*s
            })
            .collect();
        let header = SnapshotHeader {
            seq: 9,
            baseline_seq: 8,
            tick: 1234,
        };
        let mut out = Vec::with_capacity(4096);
        group.throughput(Throughput::Elements(visible as u64));
        group.bench_function(BenchmarkId::new("encode_delta", visible), |b| {
            b.iter(|| {
                out.clear();
                black_box(encode(header, black_box(&current), &baseline, &mut out))
            });
        });
    }
    group.finish();
}

criterion_group!(benches, encode_speed);
criterion_main!(benches);
