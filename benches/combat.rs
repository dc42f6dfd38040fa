//! Combat hot paths. `damage/*`: the hits of a 200-participant fight (one hit per participant
//! per tick, and ten) through the damage formula: the SIMD batch over columns, the scalar
//! reference one hit at a time, and the reference formula looped over the same columns (which the
//! compiler vectorises), in the same run. `fight/guild_war_100v100`: whole ticks of a 100-vs-100 guild war in which
//! every participant fires each time its weapon allows. Run: `cargo bench --bench combat`.

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use necpsim::config::Config;
use necpsim::sim::combat::damage::{
    Hit, HitLanes, armor_mitigation, damage_of, resolve_scalar, resolve_simd,
};
use necpsim::sim::combat::{Difficulty, Role, SessionKind, Team};
use necpsim::sim::{Action, ActionInput, ClientId, Command, Outbox, ReplyBody, SessionSettings, Sim, Target};
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Columns of `n` plausible hits: weapon damage, attack power, crits, type multipliers,
/// resistances and armour as the bundled assets have them.
fn columns(n: usize) -> [Vec<f32>; 6] {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut unit = move || (rng.next_u32() >> 8) as f32 / (1u32 << 24) as f32;
    let mut columns: [Vec<f32>; 6] = Default::default();
    for _ in 0..n {
        let crit = if unit() < 0.1 { 1.5 } else { 1.0 };
        let row = [
            18.0 + 42.0 * unit(),
            20.0 * unit(),
            crit,
            0.8 + 0.7 * unit(),
            25.0 * unit(),
            armor_mitigation(20.0 + 100.0 * unit()),
        ];
        for (column, value) in columns.iter_mut().zip(row) {
            column.push(value);
        }
    }
    columns
}

fn damage(c: &mut Criterion) {
    let mut group = c.benchmark_group("damage");
    for hits in [200, 2_000] {
        let [base, power, crit, multiplier, resistance, armor] = columns(hits);
        let lanes = HitLanes {
            base_damage: &base,
            attack_power: &power,
            crit: &crit,
            type_multiplier: &multiplier,
            resistance_pct: &resistance,
            armor_mitigation: &armor,
        };
        let one_by_one: Vec<Hit> = (0..hits).filter_map(|i| lanes.hit(i)).collect();
        let mut out = vec![0.0; hits];
        group.throughput(Throughput::Elements(hits as u64));
        group.bench_function(BenchmarkId::new("simd", hits), |b| {
            b.iter(|| resolve_simd(black_box(&lanes), black_box(&mut out)));
        });
        group.bench_function(BenchmarkId::new("scalar", hits), |b| {
            b.iter(|| resolve_scalar(black_box(&one_by_one), black_box(&mut out)));
        });
        // The reference formula over the same columns as the SIMD pass: the compiler vectorises
        // this loop by itself, which shows how much of the gain is layout and how much `wide`.
        group.bench_function(BenchmarkId::new("scalar_over_columns", hits), |b| {
            b.iter(|| {
                let lanes = black_box(&lanes);
                for (i, out) in black_box(&mut out).iter_mut().enumerate() {
                    *out = damage_of(&Hit {
                        base_damage: lanes.base_damage[i],
                        attack_power: lanes.attack_power[i],
                        crit: lanes.crit[i],
                        type_multiplier: lanes.type_multiplier[i],
                        resistance_pct: lanes.resistance_pct[i],
                        armor_mitigation: lanes.armor_mitigation[i],
                    });
                }
            });
        });
    }
    group.finish();
}

/// A 100-vs-100 guild war, started, with every participant's snapshot id.
fn guild_war() -> (Sim, Outbox, necpsim::sim::combat::SessionId, Vec<u32>) {
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
    let mut config = Config::load(&assets).expect("bundled assets are valid");
    config.gameplay.world.spawn.radius_m = 30.0;
    config.gameplay.characters.player.max_health = 1e9;
    let mut sim = Sim::new(Arc::new(config));
    let mut outbox = Outbox::default();
    let step = |sim: &mut Sim, outbox: &mut Outbox| {
        sim.step();
        sim.drain_outputs(outbox);
    };
    for player in 0..200 {
        sim.submit(ClientId(player), Command::Join).expect("room");
    }
    let settings = SessionSettings {
        kind: SessionKind::GuildWar,
        zone_id: 1,
        difficulty: Difficulty::Normal,
        team_size: Some(100),
        time_limit_s: Some(7_200),
    };
    sim.submit(ClientId(0), Command::CreateSession(settings))
        .expect("room");
    step(&mut sim, &mut outbox);
    let mut net_ids = Vec::new();
    let mut session = None;
    for reply in &outbox.replies {
        match reply.body {
            ReplyBody::Joined { net_id } => net_ids.push(net_id),
            ReplyBody::SessionCreated { session: id } => session = Some(id),
            _ => {}
        }
    }
    let session = session.expect("created");
    let roles = [Role::Assault, Role::Support, Role::Tech, Role::Stealth];
    for player in 0..200u64 {
        let team = if player < 100 { Team::TeamA } else { Team::TeamB };
        let role = roles[player as usize % 4];
        sim.submit(ClientId(player), Command::JoinSession { session, team, role })
            .expect("room");
    }
    step(&mut sim, &mut outbox);
    step(&mut sim, &mut outbox);
    (sim, outbox, session, net_ids)
}

fn fight(c: &mut Criterion) {
    let (mut sim, mut outbox, session, net_ids) = guild_war();
    let mut group = c.benchmark_group("fight");
    group.throughput(Throughput::Elements(200));
    group.bench_function("guild_war_100v100", |b| {
        b.iter(|| {
            for player in 0..200usize {
                let opponent = (player + 100 + sim.tick() as usize % 100) % 200;
                let fire = Command::Act(ActionInput {
                    session,
                    action: Action::Fire,
                    target: Target::Entity(net_ids[opponent]),
                });
                let _ = sim.submit(ClientId(player as u64), fire);
            }
            sim.step();
            sim.drain_outputs(&mut outbox);
        });
    });
    group.finish();
}

criterion_group!(benches, damage, fight);
criterion_main!(benches);
