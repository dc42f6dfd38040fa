//! Commands through `Sim::submit`, the door the network layer uses: joining, leaving, steering, and
//! every refusal, each checked against hand-computed expectations.

mod common;

use std::sync::Arc;

use necpsim::sim::{ClientId, Command, MoveInput, Outbox, Refusal, ReplyBody, ReplyTo, Sim, SimEvent};

fn step(sim: &mut Sim) -> Outbox {
    sim.step();
    let mut outbox = Outbox::default();
    sim.drain_outputs(&mut outbox);
    outbox
}

fn submit(sim: &mut Sim, client: u64, command: Command) {
    sim.submit(ClientId(client), command).expect("inbox has room");
}

fn steer(seq: u32, move_x: f32, move_y: f32) -> Command {
    Command::Move(MoveInput {
        seq,
        move_x,
        move_y,
        ..MoveInput::default()
    })
}

fn reply_bodies(outbox: &Outbox, client: u64) -> Vec<ReplyBody> {
    outbox
        .replies
        .iter()
        .filter(|reply| reply.client == ClientId(client))
        .map(|reply| reply.body)
        .collect()
}

#[test]
fn join_spawns_inside_the_spawn_disc_and_announces_it() {
    let config = common::load_bundled();
    let spawn = config.gameplay.world.spawn.clone();
    let mut sim = Sim::new(Arc::new(config));
    for client in 0..100 {
        submit(&mut sim, client, Command::Join);
    }
    let outbox = step(&mut sim);
    assert_eq!(sim.player_count(), 100);
    assert_eq!(outbox.replies.len(), 100);
    assert_eq!(outbox.events.len(), 100);
    for client in 0..100 {
        let [ReplyBody::Joined { net_id }] = reply_bodies(&outbox, client)[..] else {
            panic!("client {client} got {:?}", reply_bodies(&outbox, client));
        };
        assert!(outbox.events.contains(&SimEvent::PlayerJoined {
            client: ClientId(client),
            net_id
        }));
        let at = sim.player_position(ClientId(client)).expect("joined");
        let distance = (at.x - spawn.center_x_m).hypot(at.y - spawn.center_y_m);
        assert!(
            distance <= spawn.radius_m,
            "client {client} spawned {distance} m out"
        );
    }
    assert!(outbox.replies.iter().all(|reply| reply.tick == 1));
}

#[test]
fn joining_twice_is_refused_and_changes_nothing() {
    let mut sim = Sim::new(Arc::new(common::load_bundled()));
    submit(&mut sim, 1, Command::Join);
    step(&mut sim);
    let before = sim.state_hash();
    let at = sim.player_position(ClientId(1));

    submit(&mut sim, 1, Command::Join);
    let outbox = step(&mut sim);
    assert_eq!(
        reply_bodies(&outbox, 1),
        [ReplyBody::Refused(Refusal::AlreadyJoined)]
    );
    assert_eq!(Refusal::AlreadyJoined.code(), 100);
    assert!(outbox.events.is_empty());
    assert_eq!(sim.player_count(), 1);
    assert_eq!(sim.player_position(ClientId(1)), at);
    assert_ne!(
        sim.state_hash(),
        before,
        "the tick and the refusal counter advance"
    );
    assert_eq!(sim.counters().refused_commands, 1);
}

#[test]
fn leave_removes_the_player_and_a_second_leave_is_refused() {
    let mut sim = Sim::new(Arc::new(common::load_bundled()));
    submit(&mut sim, 9, Command::Join);
    let joined = step(&mut sim);
    let [ReplyBody::Joined { net_id }] = reply_bodies(&joined, 9)[..] else {
        panic!("no join reply");
    };

    submit(&mut sim, 9, Command::Leave);
    submit(&mut sim, 9, Command::Leave);
    let outbox = step(&mut sim);
    assert_eq!(
        reply_bodies(&outbox, 9),
        [ReplyBody::Left, ReplyBody::Refused(Refusal::NotJoined)]
    );
    assert_eq!(
        outbox.events,
        [SimEvent::PlayerLeft {
            client: ClientId(9),
            net_id
        }]
    );
    assert_eq!(sim.player_count(), 0);
    assert_eq!(sim.player_position(ClientId(9)), None);
}

#[test]
fn moving_without_joining_or_with_a_non_finite_vector_is_refused() {
    let mut sim = Sim::new(Arc::new(common::load_bundled()));
    submit(&mut sim, 1, Command::Join);
    step(&mut sim);
    let at = sim.player_position(ClientId(1));

    submit(&mut sim, 2, steer(1, 1.0, 0.0));
    submit(&mut sim, 1, steer(1, f32::INFINITY, 0.0));
    let outbox = step(&mut sim);
    assert_eq!(reply_bodies(&outbox, 2), [ReplyBody::Refused(Refusal::NotJoined)]);
    assert_eq!(
        reply_bodies(&outbox, 1),
        [ReplyBody::Refused(Refusal::InvalidInput)]
    );
    assert_eq!(
        sim.player_position(ClientId(1)),
        at,
        "a refused input moves nothing"
    );
}

#[test]
fn one_tick_moves_top_speed_over_rate_and_long_vectors_are_clamped() {
    let config = common::load_bundled();
    let per_tick = config.gameplay.characters.player.speed_mps / config.server.tick.rate_hz;
    let mut sim = Sim::new(Arc::new(config));
    submit(&mut sim, 1, Command::Join);
    submit(&mut sim, 2, Command::Join);
    step(&mut sim);
    let start = [1, 2].map(|c| sim.player_position(ClientId(c)).expect("joined"));

    submit(&mut sim, 1, steer(1, 1.0, 0.0));
    submit(&mut sim, 2, steer(1, 30.0, 40.0));
    step(&mut sim);
    let one = sim.player_position(ClientId(1)).expect("joined");
    assert!((one.x - start[0].x - per_tick).abs() < 1e-4);
    assert_eq!(one.y, start[0].y);
    let two = sim.player_position(ClientId(2)).expect("joined");
    assert!((two.x - start[1].x - per_tick * 0.6).abs() < 1e-4);
    assert!((two.y - start[1].y - per_tick * 0.8).abs() < 1e-4);
}

#[test]
fn stale_and_reordered_inputs_resolve_to_the_newest() {
    let config = common::load_bundled();
    let per_tick = config.gameplay.characters.player.speed_mps / config.server.tick.rate_hz;
    let mut sim = Sim::new(Arc::new(config));
    submit(&mut sim, 1, Command::Join);
    step(&mut sim);
    let start = sim.player_position(ClientId(1)).expect("joined");

    // Arrive out of order within one tick: seq 5 (east) must win over seq 4 (west).
    submit(&mut sim, 1, steer(5, 1.0, 0.0));
    submit(&mut sim, 1, steer(4, -1.0, 0.0));
    step(&mut sim);
    let after = sim.player_position(ClientId(1)).expect("joined");
    assert!((after.x - start.x - per_tick).abs() < 1e-4);
    assert_eq!(
        sim.counters().stale_inputs,
        0,
        "seq 4 is older but was not yet applied"
    );

    // A late duplicate next tick is stale too, and the player keeps going east.
    submit(&mut sim, 1, steer(3, 0.0, 1.0));
    step(&mut sim);
    let later = sim.player_position(ClientId(1)).expect("joined");
    assert!((later.x - after.x - per_tick).abs() < 1e-4);
    assert_eq!(later.y, start.y);
    assert_eq!(sim.counters().stale_inputs, 1);
}

#[test]
fn players_stop_at_the_world_bounds() {
    let config = common::load_bundled();
    let max_x = config.gameplay.world.bounds.max_x_m;
    let mut sim = Sim::new(Arc::new(config));
    submit(&mut sim, 1, Command::Join);
    step(&mut sim);
    submit(&mut sim, 1, steer(1, 1.0, 0.0));
    // 4096 m at 6 m/s and 60 Hz is about 41,000 ticks; 50,000 is more than enough.
    for _ in 0..50_000 {
        step(&mut sim);
    }
    assert_eq!(sim.player_position(ClientId(1)).expect("joined").x, max_x);
}

#[test]
fn a_full_inbox_refuses_with_busy_and_queues_nothing_more() {
    let mut config = common::load_bundled();
    config.server.sim.inbox_capacity = 16;
    let mut sim = Sim::new(Arc::new(config));
    for client in 0..16 {
        submit(&mut sim, client, Command::Join);
    }
    assert_eq!(sim.submit(ClientId(99), Command::Join), Err(Refusal::Busy));
    assert_eq!(Refusal::Busy.code(), 1);
    step(&mut sim);
    assert_eq!(sim.player_count(), 16);
    assert_eq!(sim.player_position(ClientId(99)), None);
    // Room again after the tick.
    assert_eq!(sim.submit(ClientId(99), Command::Join), Ok(()));
}

#[test]
fn replies_carry_the_request_number_they_answer() {
    let mut sim = Sim::new(Arc::new(necpsim::config::Config::default()));
    let to = |request| ReplyTo {
        client: ClientId(9),
        request,
    };
    sim.submit_request(to(41), Command::Join).expect("room");
    sim.submit_request(to(42), Command::Join).expect("room");
    sim.submit(
        ClientId(9),
        Command::EconomyRead(necpsim::sim::EconomyRead::Wallet),
    )
    .expect("room");
    let outbox = step(&mut sim);
    let answered: Vec<(u32, ReplyBody)> = outbox.replies.iter().map(|r| (r.request, r.body)).collect();
    assert!(
        matches!(answered[0], (41, ReplyBody::Joined { .. })),
        "{answered:?}"
    );
    assert_eq!(answered[1], (42, ReplyBody::Refused(Refusal::AlreadyJoined)));
    assert!(
        matches!(answered[2], (0, ReplyBody::Wallet { .. })),
        "{answered:?}"
    );
}
