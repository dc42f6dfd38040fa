//! Steady-state ticks must not touch the heap: after warm-up, stepping a world of 10,000 moving
//! players and 2,000 wanderers performs zero allocations, with a fresh input from every player
//! and an acknowledgement of every snapshot each tick, snapshots encoded for every player and
//! outputs drained; and ticks full of combat session gets, lists and creates in a world of 10,000
//! sessions, or of market orders that trade and wallet transfers, allocate nothing either; nor do
//! ticks whose snapshots three threads encode. A counting global allocator, armed only on the
//! test's thread and on its snapshot threads, proves it. On the wire side, encoding an input
//! datagram with a reused encoder and decoding it from a reused aligned copy allocates nothing
//! either.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use necpsim::config::Config;
use necpsim::protocol::framing::AlignedCopy;
use necpsim::protocol::{DatagramC2s, Encoder, InputC2s, decode_datagram};
use necpsim::sim::combat::{Difficulty, Role, SessionId, SessionKind, Team};
use necpsim::sim::{
    ClientId, Command, ListQuery, MoveInput, Outbox, ReplyBody, SNAPSHOT_HISTORY, SessionSettings, Sim,
};

struct CountingAllocator;

thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    /// Set on the snapshot threads of the one test that starts them.
    static SNAPSHOT_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// Counting on the snapshot threads, whose allocations add up across threads.
static SNAPSHOT_THREADS_ARMED: AtomicBool = AtomicBool::new(false);
static SNAPSHOT_THREAD_ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

fn note_allocation() {
    // `try_with` because the allocator may run while thread-locals are being torn down.
    let armed = ARMED.try_with(Cell::get).unwrap_or(false);
    if armed {
        let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
    } else if SNAPSHOT_THREADS_ARMED.load(Ordering::Relaxed)
        && SNAPSHOT_THREAD.try_with(Cell::get).unwrap_or(false)
    {
        SNAPSHOT_THREAD_ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded unchanged to the system allocator; counting has no effect on
// the memory handed out.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Heap allocations made on this thread while `f` runs.
fn allocations_during(f: impl FnOnce()) -> u64 {
    ALLOCATIONS.with(|count| count.set(0));
    ARMED.with(|armed| armed.set(true));
    f();
    ARMED.with(|armed| armed.set(false));
    ALLOCATIONS.with(Cell::get)
}

/// Heap allocations made on this thread and on the snapshot threads while `f` runs; for the one
/// test that starts snapshot threads, since the count is shared by every test running.
fn allocations_here_and_on_snapshot_threads_during(f: impl FnOnce()) -> u64 {
    SNAPSHOT_THREAD_ALLOCATIONS.store(0, Ordering::SeqCst);
    SNAPSHOT_THREADS_ARMED.store(true, Ordering::SeqCst);
    let here = allocations_during(f);
    SNAPSHOT_THREADS_ARMED.store(false, Ordering::SeqCst);
    here + SNAPSHOT_THREAD_ALLOCATIONS.load(Ordering::SeqCst)
}

/// One input per player, steering in a direction that depends on the tick, and an acknowledgement
/// of each snapshot in `received`.
fn submit_inputs(sim: &mut Sim, players: u64, seq: u32, received: &Outbox) {
    for snapshot in &received.snapshots {
        let ack = Command::AckSnapshot { seq: snapshot.seq };
        sim.submit(snapshot.client, ack).expect("inbox has room");
    }
    for client in 0..players {
        let angle = (client as f32 * 0.37 + seq as f32 * 0.05).sin();
        let input = MoveInput {
            seq,
            client_tick: seq,
            move_x: angle,
            move_y: 1.0 - angle.abs(),
            ..MoveInput::default()
        };
        sim.submit(ClientId(client), Command::Move(input))
            .expect("inbox has room");
    }
}

/// The bundled assets with `npcs` wanderers, everyone spawned within `spawn_radius_m` of the
/// centre, and frequent spatial sorts.
fn world_config(players: u64, npcs: u32, spawn_radius_m: f32) -> Config {
    let mut config = common::load_bundled();
    config.gameplay.world.ambient.npcs = npcs;
    // Renumber slots into cell order every 15 ticks, so the measured ticks include some.
    config.gameplay.interest.spatial_sort_interval_s = 0.25;
    config.gameplay.world.spawn.radius_m = spawn_radius_m;
    config.server.sim.inbox_capacity = 4 * players as u32;
    config
}

#[test]
fn the_counter_sees_an_allocation() {
    let counted = allocations_during(|| drop(std::hint::black_box(Box::new(7u64))));
    assert_eq!(
        counted, 1,
        "the counting allocator must see heap use, or the other test proves nothing"
    );
}

/// 10,000 players and 2,000 wanderers spread over the whole world: about 35 neighbours in view
/// each, and each client queries the grid for its own snapshot.
#[test]
fn a_steady_state_tick_over_10_000_players_does_not_allocate() {
    let bounds = common::load_bundled().gameplay.world.bounds.max_x_m;
    steady_ticks_do_not_allocate(10_000, world_config(10_000, 2_000, bounds));
}

/// 400 players in a disc of 40 m: everybody sees everybody, and the clients in one grid cell
/// share their snapshots' candidate list.
#[test]
fn a_steady_state_tick_in_a_crowd_does_not_allocate() {
    steady_ticks_do_not_allocate(400, world_config(400, 0, 40.0));
}

/// The 10,000 players again, their snapshots encoded by three threads, the tick loop on one of
/// them as the server runs it: 3,333 clients are due each tick, enough to share out.
#[test]
fn a_steady_state_tick_with_three_snapshot_threads_does_not_allocate() {
    let bounds = common::load_bundled().gameplay.world.bounds.max_x_m;
    let mut config = world_config(10_000, 2_000, bounds);
    config.server.threads.snapshot_threads = 3;
    steady_ticks_do_not_allocate(10_000, config);
}

fn steady_ticks_do_not_allocate(players: u64, config: Config) {
    let threads_wanted = usize::from(config.server.threads.snapshot_threads);
    let mut sim = Sim::new(Arc::new(config));
    let threads = sim
        .spawn_snapshot_threads(|| SNAPSHOT_THREAD.with(|flag| flag.set(true)))
        .expect("the snapshot threads start");
    assert_eq!(threads.count(), threads_wanted);
    let shared_out = threads.count() > 1;
    threads.run(|| steady_ticks_on_this_thread(players, &mut sim, shared_out));
}

/// `shared_out`: the snapshot threads' allocations count too.
fn steady_ticks_on_this_thread(players: u64, sim: &mut Sim, shared_out: bool) {
    for client in 0..players {
        sim.submit(ClientId(client), Command::Join)
            .expect("inbox has room");
    }
    let mut outbox = Outbox::default();
    sim.step();
    sim.drain_outputs(&mut outbox);
    assert_eq!(sim.player_count(), players as usize);

    // Warm-up: enough snapshot rounds to fill every client's history ring, so every buffer has
    // reached its steady-state size.
    let warm_up = 3 * SNAPSHOT_HISTORY as u32 + 12;
    for seq in 1..=warm_up {
        let received = outbox.clone();
        submit_inputs(sim, players, seq, &received);
        sim.step();
        sim.drain_outputs(&mut outbox);
    }
    let before = sim.state_hash();

    let mut snapshots = 0;
    for seq in warm_up + 1..=warm_up + 30 {
        let received = outbox.clone();
        let tick = || {
            submit_inputs(sim, players, seq, &received);
            sim.step();
            sim.drain_outputs(&mut outbox);
        };
        let counted = if shared_out {
            allocations_here_and_on_snapshot_threads_during(tick)
        } else {
            allocations_during(tick)
        };
        assert_eq!(counted, 0, "tick {} allocated {counted} times", sim.tick());
        snapshots += outbox.snapshots.len();
    }
    assert_ne!(
        sim.state_hash(),
        before,
        "the measured ticks must have moved the players"
    );
    assert_eq!(
        snapshots,
        10 * players as usize,
        "30 ticks at 60 Hz carry 10 snapshot rounds"
    );
    let counters = sim.counters();
    assert_eq!(
        (counters.refused_commands, counters.unknown_acks),
        (0, 0),
        "{counters:?}"
    );
}

fn arena_settings() -> SessionSettings {
    SessionSettings {
        kind: SessionKind::PvpArena,
        zone_id: 1,
        difficulty: Difficulty::Normal,
        team_size: Some(1),
        time_limit_s: None,
    }
}

/// Steps once with `commands` from client 0 and drains.
fn tick_with(sim: &mut Sim, outbox: &mut Outbox, commands: impl IntoIterator<Item = Command>) {
    for command in commands {
        sim.submit(ClientId(0), command).expect("inbox has room");
    }
    sim.step();
    sim.drain_outputs(outbox);
}

#[test]
fn session_gets_lists_and_creates_do_not_allocate_after_warm_up() {
    let mut config = common::load_bundled();
    config.server.sim.inbox_capacity = 1 << 16;
    config.combat.sessions.limits.max_open_sessions = 100_000;
    config.combat.sessions.limits.max_open_sessions_per_creator = 100_000;
    config.combat.sessions.limits.pending_expiry_s = 1.0;
    config.combat.sessions.limits.ended_retention_s = 0.0;
    let mut sim = Sim::new(Arc::new(config));
    let mut outbox = Outbox::default();

    // 10,000 sessions, 100 of them with a duel going on, and 3,000 more that expire and are
    // forgotten, leaving reusable slots behind.
    tick_with(
        &mut sim,
        &mut outbox,
        (0..13_000).map(|_| Command::CreateSession(arena_settings())),
    );
    let sessions: Vec<SessionId> = outbox
        .replies
        .iter()
        .filter_map(|r| match r.body {
            ReplyBody::SessionCreated { session } => Some(session),
            _ => None,
        })
        .collect();
    for player in 1..=200u64 {
        sim.submit(ClientId(player), Command::Join).expect("room");
    }
    tick_with(&mut sim, &mut outbox, []);
    for duel in 0..100u64 {
        let session = sessions[duel as usize];
        for (player, team) in [(2 * duel + 1, Team::TeamA), (2 * duel + 2, Team::TeamB)] {
            let join = Command::JoinSession {
                session,
                team,
                role: Role::Tech,
            };
            sim.submit(ClientId(player), join).expect("room");
        }
    }
    tick_with(&mut sim, &mut outbox, []);
    // Keep 10,000 alive: create them again after the first 13,000 pending ones expire.
    for _ in 0..61 {
        tick_with(&mut sim, &mut outbox, []);
    }
    tick_with(
        &mut sim,
        &mut outbox,
        (0..9_900).map(|_| Command::CreateSession(arena_settings())),
    );
    tick_with(&mut sim, &mut outbox, []);
    assert_eq!(sim.sessions().len(), 10_000);

    let reads = |round: usize| -> Vec<Command> {
        let gets = (0..500).map(|i| Command::GetSession {
            session: sessions[(i * 7 + round) % 100],
            log_after: 0,
        });
        let lists = (0..20).map(|_| Command::ListSessions(ListQuery::default()));
        let creates = (0..100).map(|_| Command::CreateSession(arena_settings()));
        gets.chain(lists).chain(creates).collect()
    };
    for round in 0..5 {
        tick_with(&mut sim, &mut outbox, reads(round));
    }
    for round in 5..10 {
        let commands = reads(round);
        let counted = allocations_during(|| tick_with(&mut sim, &mut outbox, commands));
        assert_eq!(counted, 0, "tick {} allocated {counted} times", sim.tick());
        let views = outbox
            .replies
            .iter()
            .filter(|r| matches!(r.body, ReplyBody::Session(_)))
            .count();
        let pages = outbox
            .replies
            .iter()
            .filter(|r| matches!(r.body, ReplyBody::SessionList { .. }))
            .count();
        let created = outbox
            .replies
            .iter()
            .filter(|r| matches!(r.body, ReplyBody::SessionCreated { .. }))
            .count();
        assert_eq!((views, pages, created), (500, 20, 100));
        assert_eq!(outbox.summaries.len(), 20 * 50);
        assert!(outbox.participants.len() >= 500 * 2);
    }
}

#[test]
fn market_orders_and_transfers_do_not_allocate_after_warm_up() {
    use necpsim::sim::economy::Side;
    use necpsim::sim::{EconomyOp, EconomyRequest};

    let mut config = common::load_bundled();
    config.server.sim.inbox_capacity = 1 << 16;
    config
        .economy
        .players
        .starting_items
        .insert("food".to_owned(), 1_000_000);
    config.economy.players.inventory_slots = 1_000_000;
    config.economy.players.idempotency_window_s = 1;
    let mut sim = Sim::new(Arc::new(config));
    let mut outbox = Outbox::default();
    for player in 0..200u64 {
        sim.submit(ClientId(player), Command::Join).expect("room");
    }
    sim.step();
    sim.drain_outputs(&mut outbox);
    let mut key = 0u128;
    let mut batch = |n: u64| -> Vec<(u64, Command)> {
        (0..300u64)
            .map(|i| {
                key += 1;
                let player = (n * 300 + i) % 200;
                let op = match i % 3 {
                    0 => EconomyOp::PlaceOrder {
                        item: 1,
                        side: Side::Sell,
                        price_minor: 1_000 + (i % 10) as i64,
                        quantity: 1,
                        lifetime_s: Some(1),
                    },
                    1 => EconomyOp::PlaceOrder {
                        item: 1,
                        side: Side::Buy,
                        price_minor: 1_010,
                        quantity: 1,
                        lifetime_s: Some(1),
                    },
                    _ => EconomyOp::Transfer {
                        to: ClientId((player + 1) % 200),
                        currency: 1,
                        amount_minor: 1,
                    },
                };
                (player, Command::Economy(EconomyRequest { key, op }))
            })
            .collect()
    };
    // Warm-up past the order lifetime and the key window, so that expiries run too.
    for n in 0..200 {
        for (player, command) in batch(n) {
            sim.submit(ClientId(player), command).expect("room");
        }
        sim.step();
        sim.drain_outputs(&mut outbox);
    }
    for n in 200..210 {
        let commands = batch(n);
        let counted = allocations_during(|| {
            for (player, command) in commands {
                sim.submit(ClientId(player), command).expect("room");
            }
            sim.step();
            sim.drain_outputs(&mut outbox);
        });
        let traded = outbox
            .replies
            .iter()
            .filter(|r| matches!(r.body, ReplyBody::OrderPlaced { filled: 1, .. }))
            .count();
        assert!(traded > 50, "orders must trade: {traded}");
        assert_eq!(counted, 0, "tick {} allocated {counted} times", sim.tick());
    }
}

#[test]
fn encoding_and_decoding_an_input_datagram_does_not_allocate_after_warm_up() {
    let mut encoder = Encoder::default();
    let mut aligned = AlignedCopy::default();
    let mut round_trip = |seq: u32| {
        let input = DatagramC2s::Input(InputC2s {
            seq,
            client_tick: seq,
            move_x: 0.6,
            move_y: -0.8,
            aim_x: 1.0,
            buttons: 1,
            predicted: Some([seq as f32, 2.0]),
            ..InputC2s::default()
        });
        let bytes = encoder.encode(&input).expect("encodes");
        let decoded = decode_datagram(aligned.of(bytes)).expect("decodes");
        assert!(matches!(decoded, Command::Move(MoveInput { seq: s, .. }) if s == seq));
    };
    // Warm-up: the encoder's buffer, the aligned copy and rkyv's thread-local arena grow once.
    round_trip(0);
    let counted = allocations_during(|| {
        for seq in 1..=1_000 {
            round_trip(seq);
        }
    });
    assert_eq!(counted, 0, "1,000 input round trips allocated {counted} times");
}
