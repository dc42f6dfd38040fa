//! Server-authoritative movement through the doors that drive it: the SIMD sweep against its
//! scalar reference, and random hostile input streams through `Sim::submit` that must never move
//! a player faster than its speed allows. Plus each anti-cheat refusal, wanderers, departures and
//! the tick rate.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use necpsim::config::Config;
use necpsim::sim::motion::{Bounds, MotionColumns, sweep_scalar, sweep_simd};
use necpsim::sim::{ClientId, Command, MoveInput, Outbox, Refusal, ReplyBody, Sim};
use proptest::prelude::*;

fn soa(bodies: &[(f32, f32, f32, f32, f32)]) -> MotionColumns {
    MotionColumns::from_fn(bodies.len(), |i| {
        let (x, y, dir_x, dir_y, speed) = bodies[i];
        [x, y, dir_x, dir_y, speed]
    })
}

proptest! {
    #[test]
    fn simd_sweeps_equal_the_scalar_reference(
        bodies in prop::collection::vec(
            (-3000.0f32..3000.0, -3000.0f32..3000.0, -1.0f32..1.0, -1.0f32..1.0, 0.0f32..50.0),
            0..300,
        ),
        dt in 0.0001f32..0.1,
        half in 100.0f32..2500.0,
    ) {
        let bounds = Bounds { min_x: -half, min_y: -half * 0.5, max_x: half, max_y: half * 0.75 };
        let mut reference = soa(&bodies);
        sweep_scalar(reference.columns(), dt, bounds);
        let mut simd = soa(&bodies);
        sweep_simd(simd.columns(), dt, bounds);
        let got = simd.x.values().iter().chain(simd.y.values());
        for (got, want) in got.zip(reference.x.values().iter().chain(reference.y.values())) {
            prop_assert!((got - want).abs() <= 1e-5 * want.abs().max(1.0), "{got} != {want}");
        }
    }
}

/// One hostile input: a burst of inputs with speed-hack vectors, predicted positions anywhere and
/// client ticks that jump ahead.
fn hostile_input() -> impl Strategy<Value = MoveInput> {
    (
        0u32..6,
        -1.0e6f32..1.0e6,
        -1.0e6f32..1.0e6,
        prop::option::of((-5000.0f32..5000.0, -5000.0f32..5000.0)),
        0u32..40,
    )
        .prop_map(|(seq_step, move_x, move_y, predicted, tick_jump)| MoveInput {
            seq: seq_step,
            client_tick: tick_jump,
            move_x,
            move_y,
            predicted: predicted.map(|(x, y)| [x, y]),
            ..MoveInput::default()
        })
}

fn small_world() -> Arc<Config> {
    let mut config = common::load_bundled();
    config.server.sim.inbox_capacity = 64;
    Arc::new(config)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn no_input_stream_moves_a_player_faster_than_its_speed(
        ticks in prop::collection::vec(prop::collection::vec(hostile_input(), 0..4), 1..12),
    ) {
        let config = small_world();
        let speed = config.gameplay.characters.player.speed_mps;
        let dt = 1.0 / config.server.tick.rate_hz;
        let mut sim = Sim::new(config);
        let client = ClientId(1);
        sim.submit(client, Command::Join).expect("room");
        sim.step();
        let start = sim.player_position(client).expect("joined");
        let (mut seq, mut client_tick) = (0u32, 0u32);
        for (elapsed_ticks, inputs) in ticks.iter().enumerate() {
            let before = sim.player_position(client).expect("joined");
            for input in inputs {
                seq += input.seq;
                client_tick += input.client_tick;
                let input = MoveInput { seq, client_tick, ..*input };
                sim.submit(client, Command::Move(input)).expect("room");
            }
            sim.step();
            let after = sim.player_position(client).expect("joined");
            let step = (after.x - before.x).hypot(after.y - before.y);
            prop_assert!(step <= speed * dt * 1.05, "moved {step} m in one tick");
            let total = (after.x - start.x).hypot(after.y - start.y);
            prop_assert!(total <= speed * dt * (elapsed_ticks + 1) as f32 * 1.05, "moved {total} m in all");
        }
    }
}

fn joined(config: Arc<Config>, clients: u64) -> Sim {
    let mut sim = Sim::new(config);
    for client in 0..clients {
        sim.submit(ClientId(client), Command::Join).expect("room");
    }
    sim.step();
    sim
}

fn refusals(sim: &mut Sim) -> Vec<Refusal> {
    sim.step();
    let mut outbox = Outbox::default();
    sim.drain_outputs(&mut outbox);
    outbox
        .replies
        .iter()
        .filter_map(|reply| match reply.body {
            ReplyBody::Refused(refusal) => Some(refusal),
            _ => None,
        })
        .collect()
}

fn east(seq: u32, client_tick: u32, predicted: Option<[f32; 2]>) -> Command {
    Command::Move(MoveInput {
        seq,
        client_tick,
        move_x: 1.0,
        predicted,
        ..MoveInput::default()
    })
}

#[test]
fn teleports_out_of_bounds_and_time_compression_are_refused_counted_and_change_nothing() {
    let config = common::bundled_config();
    let tolerance = config.gameplay.movement.anti_cheat.teleport_tolerance_m;
    let max_lead = config.gameplay.movement.anti_cheat.max_input_lead_ticks;
    let edge = config.gameplay.world.bounds.max_x_m;
    let mut sim = joined(config, 1);
    let client = ClientId(0);
    let at = sim.player_position(client).expect("joined");
    let hash = |sim: &Sim| sim.player_position(client);

    // An honest prediction within tolerance is accepted and steers the player.
    sim.submit(client, east(1, 2, Some([at.x + tolerance * 0.5, at.y])))
        .expect("room");
    assert_eq!(refusals(&mut sim), []);
    let moved = sim.player_position(client).expect("joined");
    assert!(moved.x > at.x);

    let cheats = [
        (
            east(2, 3, Some([moved.x + tolerance * 2.0, moved.y])),
            Refusal::Teleport,
        ),
        (east(3, 4, Some([edge + 1.0, moved.y])), Refusal::OutOfBounds),
        (east(4, 5 + max_lead + 1, None), Refusal::TimeCompression),
    ];
    for (command, refusal) in cheats {
        let before = hash(&sim);
        let stop = Command::Move(MoveInput {
            seq: 0,
            ..MoveInput::default()
        });
        sim.submit(client, stop).expect("room");
        sim.submit(client, command).expect("room");
        assert_eq!(refusals(&mut sim), [refusal]);
        // The refused input did not replace the running one: the player kept going east.
        assert!(hash(&sim).expect("joined").x > before.expect("joined").x);
    }
    let counters = sim.counters();
    assert_eq!(
        (
            counters.teleports,
            counters.out_of_bounds,
            counters.time_compression
        ),
        (1, 1, 1)
    );
}

#[test]
fn wanderers_roam_inside_the_world() {
    let mut config = common::load_bundled();
    config.gameplay.world.ambient.npcs = 50;

    let bounds = config.gameplay.world.bounds.clone();
    let mut sim = Sim::new(Arc::new(config));
    let start: BTreeMap<u32, [f32; 2]> = sim.motion().bodies().map(|b| (b.net_id, b.position)).collect();
    // 10 s, across two renumberings of the slots (every 5 s).
    for _ in 0..600 {
        sim.step();
    }
    assert_eq!(sim.motion().len(), 50);
    let mut total = 0.0;
    for body in sim.motion().bodies() {
        let [x, y] = body.position;
        let start = start[&body.net_id];
        assert!(
            (bounds.min_x_m..=bounds.max_x_m).contains(&x) && (bounds.min_y_m..=bounds.max_y_m).contains(&y)
        );
        let distance = (x - start[0]).hypot(y - start[1]);
        assert!(distance > 0.1, "wanderer {} stood still", body.net_id);
        total += distance;
        let [vx, vy] = body.velocity;
        let speed = vx.hypot(vy);
        assert!(
            (speed - 2.0).abs() < 1e-4,
            "wanderers walk at ambient.speed_mps, got {speed}"
        );
    }
    // Five 4 m legs in random directions: about 8 m from the start on average.
    assert!(total / 50.0 > 4.0, "mean distance from start {}", total / 50.0);
}

#[test]
fn leaving_hands_the_players_state_to_the_store() {
    let config = common::bundled_config();
    let max_health = config.gameplay.characters.player.max_health;
    let mut sim = joined(config, 3);
    let at = sim.player_position(ClientId(1)).expect("joined");
    sim.submit(ClientId(1), Command::Leave).expect("room");
    sim.step();
    let mut outbox = Outbox::default();
    sim.drain_outputs(&mut outbox);
    let [record] = outbox.departures[..] else {
        panic!("one departure expected: {:?}", outbox.departures);
    };
    assert_eq!(
        (record.client, record.tick, record.health),
        (ClientId(1), 2, max_health)
    );
    assert_eq!((record.x_m, record.y_m), (at.x, at.y));
    // The remaining players are intact after the slot swap.
    assert_eq!(sim.motion().len(), 2);
    assert!(sim.player_position(ClientId(0)).is_some() && sim.player_position(ClientId(2)).is_some());
}

#[test]
fn movement_integrates_over_the_current_tick_rate() {
    let config = common::bundled_config();
    let speed = config.gameplay.characters.player.speed_mps;
    let mut sim = joined(config, 1);
    let client = ClientId(0);
    sim.submit(client, east(1, 2, None)).expect("room");
    sim.step();
    let step_x = |sim: &mut Sim| {
        let before = sim.player_position(client).expect("joined").x;
        sim.step();
        sim.player_position(client).expect("joined").x - before
    };
    assert!((step_x(&mut sim) - speed / 60.0).abs() < 1e-4);
    sim.set_tick_rate(30.0);
    assert!((step_x(&mut sim) - speed / 30.0).abs() < 1e-4);
}

/// Counts the time-compression refusals of `client`'s inputs over `ticks` ticks, one input a
/// tick, whose client tick is what `client_tick` makes of the server tick; `seq` numbers them.
fn time_compressions(sim: &mut Sim, seq: &mut u32, ticks: u64, client_tick: impl Fn(u64) -> u32) -> usize {
    let mut refused = 0;
    for _ in 0..ticks {
        *seq += 1;
        sim.submit(ClientId(0), east(*seq, client_tick(sim.tick()), None))
            .expect("room");
        refused += refusals(sim)
            .iter()
            .filter(|&&refusal| refusal == Refusal::TimeCompression)
            .count();
    }
    refused
}

#[test]
fn a_first_input_far_ahead_of_the_clock_is_refused_and_does_not_set_the_usual_lead() {
    let mut sim = joined(common::bundled_config(), 1);
    let seq = &mut 0;
    assert_eq!(
        time_compressions(&mut sim, seq, 1, |tick| (tick + 1_000_000) as u32),
        1
    );
    // A clock twenty ticks fast is still refused from its first input on.
    let fast = |tick: u64| (tick + 20) as u32;
    assert_eq!(time_compressions(&mut sim, seq, 60, fast), 60);
}

#[test]
fn a_first_input_that_arrives_late_refuses_none_of_the_inputs_after_it() {
    let mut sim = joined(common::bundled_config(), 1);
    for _ in 0..100 {
        sim.step();
    }
    let seq = &mut 0;
    // Held up on the way for a second; and then a client numbering its ticks from 0.
    let late = |tick: u64| (tick - 60) as u32;
    assert_eq!(time_compressions(&mut sim, seq, 1, late), 0);
    let on_time = |tick: u64| (tick + 3) as u32;
    assert_eq!(time_compressions(&mut sim, seq, 120, on_time), 0);
    let mut sim = joined(common::bundled_config(), 1);
    for _ in 0..100 {
        sim.step();
    }
    assert_eq!(time_compressions(&mut sim, seq, 1, |_| 0), 0);
    assert_eq!(time_compressions(&mut sim, seq, 120, on_time), 0);
}

#[test]
fn input_numbers_go_on_past_two_to_the_thirty_second() {
    let mut sim = joined(common::bundled_config(), 1);
    let x = |sim: &Sim| sim.player_position(ClientId(0)).expect("joined").x;
    let west = |seq: u32, client_tick: u32| {
        Command::Move(MoveInput {
            seq,
            client_tick,
            move_x: -1.0,
            ..MoveInput::default()
        })
    };
    let start = x(&sim);
    common::step_with(&mut sim, &[(0, east(u32::MAX - 1, 3, None))]);
    common::step_with(&mut sim, &[(0, east(u32::MAX, 4, None))]);
    assert!(x(&sim) > start, "moving east");
    let east_at = x(&sim);
    // Numbered on from 0 after u32::MAX: newer, so the player turns west.
    common::step_with(&mut sim, &[(0, west(0, 5))]);
    common::step_with(&mut sim, &[(0, west(1, 6))]);
    assert!(x(&sim) < east_at, "still moving east after the numbering wrapped");
    // An input numbered before the last one is stale, across the wrap too.
    common::step_with(&mut sim, &[(0, east(u32::MAX, 7, None))]);
    let west_at = x(&sim);
    common::step_with(&mut sim, &[]);
    assert!(x(&sim) < west_at);

    // A refused first input does not count as taken: numbers from the upper half go on working.
    let mut sim = joined(common::bundled_config(), 1);
    assert_eq!(
        refusals_of(&mut sim, east(3_000_000_000, 1_000, None)),
        [Refusal::TimeCompression]
    );
    let start = x(&sim);
    assert_eq!(refusals_of(&mut sim, east(3_000_000_001, 4, None)), []);
    sim.step();
    assert!(x(&sim) > start, "the first input taken steers");
}

fn refusals_of(sim: &mut Sim, command: Command) -> Vec<Refusal> {
    sim.submit(ClientId(0), command).expect("room");
    refusals(sim)
}

#[test]
fn a_lag_spike_refuses_nothing_while_a_fast_clock_is_refused_for_as_long_as_it_runs_fast() {
    let mut sim = joined(common::bundled_config(), 1);
    let seq = &mut 0;
    let on_time = |tick: u64| (tick + 3) as u32;
    assert_eq!(time_compressions(&mut sim, seq, 60, on_time), 0);

    // Half a second without a word, then the inputs held up on the way arrive at once, each
    // with the client tick it was sent at, and the stream carries on on time.
    let held_from = sim.tick();
    for _ in 0..30 {
        sim.step();
    }
    for sent in held_from..held_from + 30 {
        *seq += 1;
        sim.submit(ClientId(0), east(*seq, on_time(sent), None))
            .expect("room");
    }
    assert_eq!(refusals(&mut sim), []);
    assert_eq!(
        time_compressions(&mut sim, seq, 600, on_time),
        0,
        "the lag spike is forgiven"
    );

    // A clock that runs a quarter fast is refused once it is far enough ahead, and from then on.
    let start = sim.tick();
    let fast = |tick: u64| on_time(start + (tick - start) * 5 / 4);
    let refused = time_compressions(&mut sim, seq, 600, fast);
    assert!(refused > 500, "a fast clock got {refused} of 600 inputs refused");
    // Back on time, it is not refused.
    assert_eq!(time_compressions(&mut sim, seq, 60, on_time), 0);
}

#[test]
fn inputs_queued_before_a_leave_and_a_join_in_one_tick_do_not_reach_the_new_player() {
    let mut sim = joined(common::bundled_config(), 1);
    let client = ClientId(0);
    let tick = |sim: &Sim| u32::try_from(sim.tick()).expect("small") + 1;
    // The old connection's last input, then a reconnect, all in the same tick.
    sim.submit(client, east(9_000, tick(&sim), None)).expect("room");
    sim.submit(client, Command::Leave).expect("room");
    sim.submit(client, Command::Join).expect("room");
    assert_eq!(refusals(&mut sim), []);
    let start = sim.player_position(client).expect("rejoined");
    sim.step();
    assert_eq!(
        sim.player_position(client),
        Some(start),
        "the old input steers nothing"
    );
    // The new connection numbers its inputs from 1, and they are taken.
    sim.submit(client, east(1, tick(&sim), None)).expect("room");
    assert_eq!(refusals(&mut sim), []);
    assert!(sim.player_position(client).expect("joined").x > start.x);
}
