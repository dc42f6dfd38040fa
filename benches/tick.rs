//! Whole ticks of the real schedule with simulated clients, the same workload as `necpsim bench`:
//! N player bots steering at 30 Hz and acknowledging every snapshot, in a world of 2,500 m² per
//! entity (about 18 others in each client's view), with and without 10× as many wandering NPCs.
//! Criterion's throughput is per entity. Run: `cargo bench --bench tick`.

use std::path::Path;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use necpsim::bench::{BenchOptions, prepare};
use necpsim::config::Config;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn options(players: u32, npcs: u32) -> BenchOptions {
    BenchOptions {
        players,
        npcs,
        fighters: 0,
        ticks: 0,
        seed: 1,
        area_per_entity_m2: 2500.0,
        snapshot_threads: None,
        progress: false,
    }
}

fn tick(c: &mut Criterion) {
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
    let config = Config::load(&assets).expect("bundled assets are valid");
    let mut group = c.benchmark_group("tick");
    group.sample_size(20);
    for (name, players, npcs) in [
        ("players", 1_000, 0),
        ("players", 10_000, 0),
        ("players_and_10x_npcs", 1_000, 10_000),
        ("players_and_10x_npcs", 10_000, 100_000),
    ] {
        let (mut sim, mut bots, mut outbox) =
            prepare(config.clone(), &options(players, npcs)).expect("the bundled assets start one thread");
        group.throughput(Throughput::Elements(u64::from(players + npcs)));
        group.bench_function(BenchmarkId::new(name, players), |b| {
            b.iter(|| bots.tick(&mut sim, &mut outbox));
        });
    }
    group.finish();
}

criterion_group!(benches, tick);
criterion_main!(benches);
