//! The seed's benchmark table on realistic data: every operation goes through the command door
//! (`Sim::submit`, one tick) in a world that remembers 10,000 sessions: 2,000 active 1-vs-1
//! duels whose players have traded shots (so their combat logs are full), 1,000 ended and 7,000
//! pending (creates: a world of 10,000 to 20,000 pending sessions; ends: 1,000 duels started for
//! each batch). Each measured tick carries a batch of requests and criterion reports the time per
//! request including the tick's fixed part, which `seed/tick_without_requests` measures alone
//! (the per-request cost is the difference divided by the batch). `seed/get_session` reads whole
//! sessions (the full combat log); `seed/get_session_following` reads them as a client that
//! follows a session does, asking only for log entries newer than the ones it holds. Snapshots
//! are turned down so that the tick measures the session handlers.
//!
//! Run: `cargo bench --bench seed_table`.

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use necpsim::config::Config;
use necpsim::protocol::combat::SessionS2c;
use necpsim::sim::combat::{Difficulty, Role, SessionId, SessionKind, Team};
use necpsim::sim::{
    Action, ActionInput, ClientId, Command, ListQuery, Outbox, ReplyBody, SessionSettings, Sim, Target,
};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DUELS: u64 = 2_000;
const ENDED: u64 = 1_000;
const PENDING: u64 = 7_000;
const BATCH: u64 = 1_000;
/// Clients that create sessions and read them; not players in the world.
const READER: u64 = 1_000_000;

fn config() -> Config {
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
    let mut config = Config::load(&assets).expect("bundled assets are valid");
    config.gameplay.world.spawn.radius_m = 2_000.0;
    config.gameplay.interest.snapshot_rate_hz = 0.01;
    config.server.sim.inbox_capacity = 1 << 20;
    config.combat.sessions.limits.max_open_sessions = 1_000_000;
    config.combat.sessions.limits.max_open_sessions_per_creator = 1_000_000;
    // The world keeps its 10,000 sessions however many ticks the bench runs.
    config.combat.sessions.limits.pending_expiry_s = 1e9;
    config.combat.sessions.limits.ended_retention_s = 1e9;
    // Duels that neither side wins and no time limit ends while the bench runs.
    config.gameplay.characters.player.max_health = 1e9;
    config.combat.sessions.types.pvp_arena.max_time_limit_s = 86_400;
    config.combat.sessions.types.guild_war.max_time_limit_s = 86_400;
    // Ended duels pay their rewards although the bench ends them as soon as they start.
    config.combat.loot.rewards.pvp_arena.min_active_s = 0.0;
    // Duellists may be anywhere in the world and still reach each other.
    for weapon in config.combat.weapons.weapons.values_mut() {
        weapon.range_m = 10_000.0;
        weapon.falloff_start_m = None;
    }
    config
}

fn settings(kind: SessionKind) -> SessionSettings {
    SessionSettings {
        kind,
        zone_id: 1,
        difficulty: Difficulty::Normal,
        team_size: Some(1),
        time_limit_s: Some(86_400),
    }
}

fn step(sim: &mut Sim, outbox: &mut Outbox) {
    sim.step();
    sim.drain_outputs(outbox);
}

/// Creates `count` sessions of `kind` and returns their ids.
fn create(sim: &mut Sim, outbox: &mut Outbox, kind: SessionKind, count: u64) -> Vec<SessionId> {
    for _ in 0..count {
        sim.submit(ClientId(READER), Command::CreateSession(settings(kind)))
            .expect("room");
    }
    step(sim, outbox);
    outbox
        .replies
        .iter()
        .filter_map(|r| match r.body {
            ReplyBody::SessionCreated { session } => Some(session),
            _ => None,
        })
        .collect()
}

/// Starts a duel in each of `sessions` between players `first_player + 2i` and `+ 2i + 1`
/// (who join the world first) and returns their snapshot ids.
fn start_duels(sim: &mut Sim, outbox: &mut Outbox, sessions: &[SessionId], first_player: u64) -> Vec<u32> {
    for i in 0..sessions.len() as u64 * 2 {
        sim.submit(ClientId(first_player + i), Command::Join)
            .expect("room");
    }
    step(sim, outbox);
    let net_ids = outbox
        .replies
        .iter()
        .filter_map(|r| match r.body {
            ReplyBody::Joined { net_id } => Some(net_id),
            _ => None,
        })
        .collect();
    for (i, &session) in sessions.iter().enumerate() {
        let player = first_player + 2 * i as u64;
        for (offset, team) in [(0, Team::TeamA), (1, Team::TeamB)] {
            let join = Command::JoinSession {
                session,
                team,
                role: Role::Support,
            };
            sim.submit(ClientId(player + offset), join).expect("room");
        }
    }
    step(sim, outbox);
    step(sim, outbox);
    net_ids
}

/// The world of the table: 2,000 duels with full logs, 1,000 ended, 7,000 pending.
fn seeded_world() -> (Sim, Vec<SessionId>, Outbox) {
    let mut sim = Sim::new(Arc::new(config()));
    let mut outbox = Outbox::default();
    let duels = create(&mut sim, &mut outbox, SessionKind::PvpArena, DUELS + ENDED);
    let net_ids = start_duels(&mut sim, &mut outbox, &duels, 0);
    // Both sides of every duel shoot until the logs are full, with no one dying.
    for round in 0..40 {
        for (i, &session) in duels.iter().enumerate() {
            let shooter = (2 * i + round % 2) as u64;
            let target = net_ids[2 * i + 1 - round % 2];
            let fire = Command::Act(ActionInput {
                session,
                action: Action::Fire,
                target: Target::Entity(target),
            });
            sim.submit(ClientId(shooter), fire).expect("room");
        }
        for _ in 0..15 {
            step(&mut sim, &mut outbox);
        }
    }
    for &session in &duels[DUELS as usize..] {
        sim.submit(ClientId(READER), Command::EndSession { session })
            .expect("room");
    }
    let mut all = duels;
    all.extend(create(&mut sim, &mut outbox, SessionKind::GuildWar, PENDING));
    step(&mut sim, &mut outbox);
    assert_eq!(sim.sessions().len() as u64, DUELS + ENDED + PENDING);
    (sim, all, outbox)
}

/// How long `f` takes.
#[expect(
    clippy::disallowed_methods,
    reason = "a bench measures wall time around the simulation"
)]
fn timed(f: impl FnOnce()) -> Duration {
    let started = Instant::now();
    f();
    started.elapsed()
}

#[expect(
    clippy::print_stdout,
    reason = "the reply sizes are part of this bench's output"
)]
fn seed_table(c: &mut Criterion) {
    let (mut sim, sessions, mut outbox) = seeded_world();
    let mut group = c.benchmark_group("seed");
    group.sample_size(30);

    group.bench_function("tick_without_requests", |b| {
        b.iter(|| step(&mut sim, &mut outbox))
    });

    group.throughput(Throughput::Elements(BATCH));
    let mut next = 0usize;
    group.bench_function("get_session", |b| {
        b.iter(|| {
            for _ in 0..BATCH {
                next = (next + 7_919) % sessions.len();
                let get = Command::GetSession {
                    session: sessions[next],
                    log_after: 0,
                };
                let _ = sim.submit(ClientId(READER), get);
            }
            step(&mut sim, &mut outbox);
        });
    });

    // The same reads by clients that follow their sessions and already hold the log so far.
    let mut held = Vec::with_capacity(sessions.len());
    for &session in &sessions {
        let get = Command::GetSession {
            session,
            log_after: 0,
        };
        sim.submit(ClientId(READER), get).expect("room");
    }
    step(&mut sim, &mut outbox);
    for reply in &outbox.replies {
        if let ReplyBody::Session(view) = reply.body {
            let newest = view.log.of(&outbox.log).last().map_or(0, |entry| entry.seq);
            held.push((view.summary.id, newest));
        }
    }
    group.bench_function("get_session_following", |b| {
        b.iter(|| {
            for _ in 0..BATCH {
                next = (next + 7_919) % held.len();
                let (session, log_after) = held[next];
                let _ = sim.submit(ClientId(READER), Command::GetSession { session, log_after });
            }
            step(&mut sim, &mut outbox);
        });
    });

    const LISTS: u64 = 100;
    group.throughput(Throughput::Elements(LISTS));
    group.bench_function("list_sessions_50", |b| {
        b.iter(|| {
            for _ in 0..LISTS {
                let _ = sim.submit(ClientId(READER), Command::ListSessions(ListQuery::default()));
            }
            step(&mut sim, &mut outbox);
        });
    });

    // Creates go into a world of 10,000 to 20,000 pending sessions; it is rebuilt (not measured)
    // whenever it reaches 20,000.
    let fresh_world = |outbox: &mut Outbox| {
        let mut world = Sim::new(Arc::new(config()));
        create(&mut world, outbox, SessionKind::PvpArena, DUELS + ENDED + PENDING);
        world
    };
    let mut creating = fresh_world(&mut outbox);
    group.throughput(Throughput::Elements(BATCH));
    group.bench_function("create_session", |b| {
        b.iter_custom(|iterations| {
            let mut measured = Duration::ZERO;
            for _ in 0..iterations {
                if creating.sessions().len() >= 20_000 {
                    creating = fresh_world(&mut outbox);
                }
                for _ in 0..BATCH {
                    let create = Command::CreateSession(settings(SessionKind::PvpArena));
                    let _ = creating.submit(ClientId(READER), create);
                }
                measured += timed(|| step(&mut creating, &mut outbox));
            }
            measured
        });
    });

    // Each batch ends 1,000 freshly started duels; starting them is setup, not measured. The world
    // holds its 10,000 sessions and the newest `max_ended_sessions` (4,096) ended ones, the oldest
    // forgotten as new ones end: a busy server's steady state, forgetting included.
    let mut ending = fresh_world(&mut outbox);
    let mut round = 0u64;
    group.bench_function("end_session", |b| {
        b.iter_custom(|iterations| {
            let mut measured = Duration::ZERO;
            for _ in 0..iterations {
                round += 1;
                let duels = create(&mut ending, &mut outbox, SessionKind::PvpArena, BATCH);
                start_duels(&mut ending, &mut outbox, &duels, round * 10 * BATCH);
                for session in duels {
                    let _ = ending.submit(ClientId(READER), Command::EndSession { session });
                }
                measured += timed(|| step(&mut ending, &mut outbox));
                // The duellists leave the world again, so that it keeps its size.
                for player in 0..2 * BATCH {
                    let _ = ending.submit(ClientId(round * 10 * BATCH + player), Command::Leave);
                }
                step(&mut ending, &mut outbox);
            }
            measured
        });
    });

    // The same get reply in both encodings: a duel with a full combat log.
    let get = Command::GetSession {
        session: sessions[0],
        log_after: 0,
    };
    sim.submit(ClientId(READER), get).expect("room");
    step(&mut sim, &mut outbox);
    let ReplyBody::Session(view) = outbox.replies[0].body else {
        panic!("get refused")
    };
    let reply = SessionS2c::from_view(&view, &outbox);
    group.throughput(Throughput::Elements(1));
    let mut arena = rkyv::ser::allocator::Arena::new();
    let mut bytes = rkyv::util::AlignedVec::<16>::with_capacity(16 * 1024);
    group.bench_function("reply_encode_rkyv", |b| {
        b.iter(|| {
            bytes.clear();
            bytes = rkyv::api::high::to_bytes_in_with_alloc::<_, _, rkyv::rancor::Error>(
                black_box(&reply),
                std::mem::take(&mut bytes),
                arena.acquire(),
            )
            .expect("encodes");
            black_box(bytes.len())
        });
    });
    let mut json = Vec::with_capacity(16 * 1024);
    group.bench_function("reply_encode_serde_json", |b| {
        b.iter(|| {
            json.clear();
            serde_json::to_writer(&mut json, black_box(&reply)).expect("encodes");
            black_box(json.len())
        });
    });
    println!(
        "get reply of {} participants and {} log entries: rkyv {} bytes, JSON {} bytes",
        reply.participants.len(),
        reply.log.len(),
        bytes.len(),
        json.len()
    );

    let metrics = necpsim::telemetry::Metrics::default();
    group.bench_function("counter_increment", |b| {
        b.iter(|| black_box(&metrics.ticks).inc());
    });
    group.finish();
}

criterion_group!(benches, seed_table);
criterion_main!(benches);
