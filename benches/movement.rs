//! The movement sweep at 10k, 100k and 1M bodies, five ways, in one run so the ratios hold on a
//! noisy machine:
//! - `simd`: the tick's path, `f32x8` over the motion columns (SSE2 halves on a default build,
//!   one AVX register with the opt-in `RUSTFLAGS="-C target-cpu=native"`);
//! - `scalar_columns`: the scalar reference over the same columns;
//! - `bevy_query`: the same sweep as an idiomatic bevy_ecs query over `Position`/`Heading`
//!   components, one entity at a time;
//! - `bandwidth`: reads and writes the same bytes as the sweep (5 streams in, 2 out) with the least
//!   arithmetic, the memory-speed floor.
//!
//! Run: `cargo bench --bench movement`. Opt-in faster build: `RUSTFLAGS="-C target-cpu=native"`.

use std::hint::black_box;

use bevy_ecs::component::Component;
use bevy_ecs::world::World;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use necpsim::sim::motion::{Bounds, MotionColumns, sweep_scalar, sweep_simd};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DT: f32 = 1.0 / 60.0;
const BOUNDS: Bounds = Bounds {
    min_x: -1.0e6,
    min_y: -1.0e6,
    max_x: 1.0e6,
    max_y: 1.0e6,
};

/// Structure-of-arrays columns like the server's, with directions spread around the circle.
fn columns(n: usize) -> MotionColumns {
    MotionColumns::from_fn(n, |i| {
        let angle = i as f32 * 0.618;
        [
            (i % 1000) as f32,
            (i / 1000) as f32,
            angle.cos(),
            angle.sin(),
            6.0,
        ]
    })
}

#[derive(Component)]
struct Position {
    x: f32,
    y: f32,
}

#[derive(Component)]
struct Heading {
    dir_x: f32,
    dir_y: f32,
    speed: f32,
}

fn movement(c: &mut Criterion) {
    let mut group = c.benchmark_group("movement");
    for n in [10_000usize, 100_000, 1_000_000] {
        group.throughput(Throughput::Elements(n as u64));
        let mut soa = columns(n);
        group.bench_function(BenchmarkId::new("simd", n), |b| {
            b.iter(|| sweep_simd(soa.columns(), black_box(DT), BOUNDS));
        });
        group.bench_function(BenchmarkId::new("scalar_columns", n), |b| {
            b.iter(|| sweep_scalar(soa.columns(), black_box(DT), BOUNDS));
        });
        group.bench_function(BenchmarkId::new("bandwidth", n), |b| {
            b.iter(|| {
                let columns = soa.columns();
                let lanes = columns.x.iter_mut().zip(columns.y.iter_mut());
                let inputs = columns.dir_x.iter().zip(columns.dir_y).zip(columns.speed);
                for ((x, y), ((&dx, &dy), &speed)) in lanes.zip(inputs) {
                    *x += dx + speed;
                    *y += dy + speed;
                }
                black_box(soa.x.values());
            });
        });

        let mut world = World::new();
        world.spawn_batch((0..n).map(|i| {
            let angle = i as f32 * 0.618;
            (
                Position {
                    x: (i % 1000) as f32,
                    y: (i / 1000) as f32,
                },
                Heading {
                    dir_x: angle.cos(),
                    dir_y: angle.sin(),
                    speed: 6.0,
                },
            )
        }));
        let mut query = world.query::<(&mut Position, &Heading)>();
        group.bench_function(BenchmarkId::new("bevy_query", n), |b| {
            b.iter(|| {
                let dt = black_box(DT);
                for (mut position, heading) in query.iter_mut(&mut world) {
                    let step = heading.speed * dt;
                    position.x = (position.x + heading.dir_x * step).clamp(BOUNDS.min_x, BOUNDS.max_x);
                    position.y = (position.y + heading.dir_y * step).clamp(BOUNDS.min_y, BOUNDS.max_y);
                }
            });
        });
    }
    group.finish();
}

criterion_group!(benches, movement);
criterion_main!(benches);
