//! Whole ticks of the real schedule with simulated clients, the same workload as `necpsim bench`:
//! N player bots steering at 30 Hz and acknowledging every snapshot, in a world of 2,500 m² per
//! entity (about 18 others in each client's view), with and without 10× as many wandering NPCs,
//! and the 10,000 players again with two snapshot threads, stepped from one of them as the server
//! does. Criterion's throughput is per entity. Run: `cargo bench --bench tick`.

use std::path::Path;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use necpsim::bench::{BenchOptions, prepare};
use necpsim::config::Config;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn options(players: u32, npcs: u32, snapshot_threads: u16) -> BenchOptions {
    BenchOptions {
        players,
        npcs,
        fighters: 0,
        ticks: 0,
        seed: 1,
        area_per_entity_m2: 2500.0,
        snapshot_threads: Some(snapshot_threads),
        progress: false,
    }
}

fn tick(c: &mut Criterion) {
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
    let config = Config::load(&assets).expect("bundled assets are valid");
    let mut group = c.benchmark_group("tick");
    group.sample_size(20);
    for (name, players, npcs, snapshot_threads) in [
        ("players", 1_000, 0, 1),
        ("players", 10_000, 0, 1),
        ("players_2_snapshot_threads", 10_000, 0, 2),
        ("players_and_10x_npcs", 1_000, 10_000, 1),
        ("players_and_10x_npcs", 10_000, 100_000, 1),
    ] {
        let (mut sim, mut bots, mut outbox) =
            prepare(config.clone(), &options(players, npcs, snapshot_threads))
                .expect("the world fits and the snapshot threads start");
        group.throughput(Throughput::Elements(u64::from(players + npcs)));
        let threads = sim.snapshot_threads();
        group.bench_function(BenchmarkId::new(name, players), |b| {
            // Only the steps are timed, as `necpsim bench` times them: not the bots' own work.
            b.iter_custom(|ticks| {
                threads.run(|| (0..ticks).map(|_| bots.tick(&mut sim, &mut outbox).step).sum())
            });
        });
    }
    group.finish();
}

criterion_group!(benches, tick);
criterion_main!(benches);
