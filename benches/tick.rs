//! Whole-tick cost: `Sim::step` over N moving players, each sending one movement input per tick,
//! outputs drained, worlds warmed first so that steady state is measured. Reported per player
//! (criterion's element throughput). Run: `cargo bench --bench tick`.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use necpsim::config::Config;
use necpsim::sim::{ClientId, Command, MoveInput, Outbox, Sim};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn bundled_config(players: u64) -> Arc<Config> {
    let assets = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
    let mut config = Config::load(&assets).expect("bundled assets are valid");
    config.server.sim.inbox_capacity = u32::try_from(players).expect("fits");
    Arc::new(config)
}

fn joined_world(players: u64) -> Sim {
    let mut sim = Sim::new(bundled_config(players));
    for client in 0..players {
        sim.submit(ClientId(client), Command::Join).expect("room");
    }
    sim.step();
    sim
}

/// The eight stick directions, so that building inputs costs the bench next to nothing.
const D: f32 = std::f32::consts::FRAC_1_SQRT_2;
const DIRECTIONS: [(f32, f32); 8] = [
    (1.0, 0.0),
    (D, D),
    (0.0, 1.0),
    (-D, D),
    (-1.0, 0.0),
    (-D, -D),
    (0.0, -1.0),
    (D, -D),
];

fn tick_with_inputs(sim: &mut Sim, players: u64, seq: u32, outbox: &mut Outbox) {
    for client in 0..players {
        let (move_x, move_y) = DIRECTIONS[(client as usize + seq as usize) % DIRECTIONS.len()];
        let input = MoveInput {
            seq,
            client_tick: seq,
            move_x,
            move_y,
            ..MoveInput::default()
        };
        sim.submit(ClientId(client), Command::Move(input)).expect("room");
    }
    sim.step();
    sim.drain_outputs(outbox);
}

fn tick(c: &mut Criterion) {
    let mut group = c.benchmark_group("tick");
    for players in [1_000u64, 10_000, 100_000] {
        group.throughput(Throughput::Elements(players));
        group.bench_with_input(
            BenchmarkId::new("inputs_and_step", players),
            &players,
            |b, &players| {
                let mut sim = joined_world(players);
                let mut outbox = Outbox::default();
                let mut seq = 0;
                for _ in 0..10 {
                    seq += 1;
                    tick_with_inputs(&mut sim, players, seq, &mut outbox);
                }
                b.iter(|| {
                    seq += 1;
                    tick_with_inputs(&mut sim, players, seq, &mut outbox);
                    black_box(outbox.replies.len())
                });
            },
        );
        group.bench_with_input(BenchmarkId::new("step_only", players), &players, |b, &players| {
            let mut sim = joined_world(players);
            let mut outbox = Outbox::default();
            tick_with_inputs(&mut sim, players, 1, &mut outbox);
            b.iter(|| {
                sim.step();
                sim.drain_outputs(&mut outbox);
            });
        });
    }
    group.finish();
}

criterion_group!(benches, tick);
criterion_main!(benches);
