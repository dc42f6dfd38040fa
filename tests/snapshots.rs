//! Snapshots as a client sees them: every snapshot decodes, against the baseline it names, to
//! exactly the quantized state of the bodies within the view radius (in a crowd past
//! `max_visible`, the nearest of them); entities entering and leaving
//! view are added and removed; the first snapshot is full and later ones are deltas against the
//! acknowledged one; each client gets one every `rate / snapshot_rate_hz` ticks.

mod common;

use common::steering::steer_in_circles;

use std::collections::BTreeMap;
use std::sync::Arc;

use necpsim::client::SnapshotReceiver;
use necpsim::config::Config;
use necpsim::sim::snapshot_codec::{EntityState, quantize};
use necpsim::sim::{ClientId, Command, MoveInput, Outbox, ReplyBody, Sim};

/// The quantized states of the bodies within view of the body `own` at `(cx, cy)` (past
/// `max_visible`, that body and the nearest, the lower id first at equal distance), by id: what a
/// snapshot must say.
fn truth(sim: &Sim, config: &Config, own: u32, cx: f32, cy: f32) -> Vec<EntityState> {
    let interest = &config.gameplay.interest;
    let motion = sim.motion();
    let r2 = interest.view_radius_m * interest.view_radius_m;
    let mut states: Vec<EntityState> = motion
        .bodies()
        .filter_map(|body| {
            let [x, y] = body.position;
            let (dx, dy) = (x - cx, y - cy);
            (dx * dx + dy * dy <= r2).then(|| EntityState {
                id: body.net_id,
                qx: quantize(x, interest.position_precision_m),
                qy: quantize(y, interest.position_precision_m),
            })
        })
        .collect();
    let quantized = |v: f32| i64::from(quantize(v, interest.position_precision_m));
    let (vx, vy) = (quantized(cx), quantized(cy));
    states.sort_by_key(|state| {
        let (dx, dy) = (i64::from(state.qx) - vx, i64::from(state.qy) - vy);
        (state.id != own, dx * dx + dy * dy, state.id)
    });
    states.truncate(interest.max_visible as usize);
    states.sort_unstable_by_key(|state| state.id);
    states
}

fn crowd(npcs: u32) -> Arc<Config> {
    let mut config = common::load_bundled();
    config.gameplay.world.ambient.npcs = npcs;
    config.gameplay.world.spawn.radius_m = 300.0;
    Arc::new(config)
}

#[test]
fn every_snapshot_decodes_to_the_visible_quantized_state() {
    let config = crowd(200);
    assert!(config.gameplay.interest.max_visible > 240, "nobody is left out");
    assert!(every_snapshot_decodes_to_the_truth(config) > 12);
}

#[test]
fn in_a_crowd_past_max_visible_every_snapshot_shows_the_nearest() {
    let mut config = Arc::unwrap_or_clone(crowd(200));
    config.gameplay.interest.max_visible = 12;
    assert_eq!(every_snapshot_decodes_to_the_truth(Arc::new(config)), 12);
}

/// Runs 40 steering clients among `config`'s NPCs for four seconds, checking every snapshot; the
/// most bodies one showed.
fn every_snapshot_decodes_to_the_truth(config: Arc<Config>) -> usize {
    let mut sim = Sim::new(Arc::clone(&config));
    let mut receivers: Vec<SnapshotReceiver> = (0..40).map(|_| SnapshotReceiver::default()).collect();
    for client in 0..40 {
        sim.submit(ClientId(client), Command::Join).expect("room");
    }
    let mut outbox = Outbox::default();
    let (mut full, mut deltas, mut checked, mut most) = (0, 0, 0, 0);
    let mut own_ids = BTreeMap::new();
    for tick in 1..=240u32 {
        steer_in_circles(&mut sim, 40, tick, 1.0, 0.02);
        sim.step();
        sim.drain_outputs(&mut outbox);
        for reply in &outbox.replies {
            if let ReplyBody::Joined { net_id } = reply.body {
                own_ids.insert(reply.client, net_id);
            }
        }
        for snapshot in &outbox.snapshots {
            let client = snapshot.client;
            let receiver = &mut receivers[client.0 as usize];
            let (header, states) = receiver
                .receive(outbox.snapshot_payload(snapshot))
                .expect("decodes");
            assert_eq!((header.seq, header.tick), (snapshot.seq, sim.tick()));
            let at = sim.player_position(client).expect("joined");
            assert_eq!(
                states,
                truth(&sim, &config, own_ids[&client], at.x, at.y),
                "client {} tick {}",
                client.0,
                sim.tick()
            );
            if header.baseline_seq == 0 {
                full += 1
            } else {
                deltas += 1
            }
            checked += 1;
            most = most.max(states.len());
            // Clients acknowledge every other snapshot, so baselines lag by one or two.
            if header.seq % 2 == 0 {
                sim.submit(client, Command::AckSnapshot { seq: header.seq })
                    .expect("room");
            }
        }
    }
    assert_eq!(
        checked,
        40 * 240 / 3,
        "one snapshot per client every third tick at 60 Hz and 20 Hz"
    );
    assert!(full >= 40 && deltas > full * 10, "full {full}, deltas {deltas}");
    assert_eq!(sim.counters().unknown_acks, 0);
    most
}

#[test]
fn entities_leaving_and_entering_view_are_removed_and_added() {
    let mut config = common::load_bundled();
    config.gameplay.world.spawn.radius_m = 1.0;
    let config = Arc::new(config);
    let radius = config.gameplay.interest.view_radius_m;
    let speed = config.gameplay.characters.player.speed_mps;
    let mut sim = Sim::new(Arc::clone(&config));
    sim.submit(ClientId(0), Command::Join).expect("room");
    sim.submit(ClientId(1), Command::Join).expect("room");
    let mut receiver = SnapshotReceiver::default();
    let mut outbox = Outbox::default();
    let mut seen = Vec::new();
    let steer = |sim: &mut Sim, seq: u32, move_x: f32| {
        let input = MoveInput {
            seq,
            move_x,
            ..MoveInput::default()
        };
        sim.submit(ClientId(1), Command::Move(input)).expect("room");
    };
    // Client 1 walks east until out of view, then back.
    let ticks_out = ((radius + 10.0) / speed * 60.0) as u32;
    for tick in 1..=2 * ticks_out {
        if tick == 1 {
            steer(&mut sim, 1, 1.0);
        }
        if tick == ticks_out {
            steer(&mut sim, 2, -1.0);
        }
        sim.step();
        sim.drain_outputs(&mut outbox);
        for snapshot in outbox.snapshots.iter().filter(|s| s.client == ClientId(0)) {
            let (header, states) = receiver
                .receive(outbox.snapshot_payload(snapshot))
                .expect("decodes");
            seen.push(states.len());
            sim.submit(ClientId(0), Command::AckSnapshot { seq: header.seq })
                .expect("room");
        }
    }
    // Both in view, then only itself, then both again.
    let transitions: Vec<usize> = seen.iter().copied().fold(Vec::new(), |mut runs, count| {
        if runs.last() != Some(&count) {
            runs.push(count);
        }
        runs
    });
    assert_eq!(transitions, [2, 1, 2]);
}

/// Runs client 7 in a crowd for 30 ticks, submitting `acknowledge(seq)` when its `nth` snapshot
/// arrives; returns the sim and every snapshot's `(seq, baseline_seq)`.
fn headers_acknowledging(nth: usize, acknowledge: impl Fn(&Sim, u32) -> Command) -> (Sim, Vec<(u32, u32)>) {
    let mut sim = Sim::new(crowd(20));
    sim.submit(ClientId(7), Command::Join).expect("room");
    let mut receiver = SnapshotReceiver::default();
    let mut outbox = Outbox::default();
    let mut headers = Vec::new();
    for _ in 0..30 {
        sim.step();
        sim.drain_outputs(&mut outbox);
        for snapshot in &outbox.snapshots {
            let (header, _) = receiver
                .receive(outbox.snapshot_payload(snapshot))
                .expect("decodes");
            headers.push((header.seq, header.baseline_seq));
            if headers.len() == nth {
                let command = acknowledge(&sim, header.seq);
                sim.submit(ClientId(7), command).expect("room");
            }
        }
    }
    (sim, headers)
}

#[test]
fn the_first_snapshot_is_full_and_deltas_name_the_acknowledged_one() {
    let (mut sim, headers) = headers_acknowledging(4, |_, seq| Command::AckSnapshot { seq });
    // Until the fourth snapshot is acknowledged, every snapshot is full; from then on, every one is
    // a delta against the fourth.
    assert_eq!(headers.len(), 10);
    let acked = headers[3].0;
    assert!(
        headers[..4].iter().all(|&(_, baseline)| baseline == 0),
        "{headers:?}"
    );
    assert!(
        headers[4..].iter().all(|&(_, baseline)| baseline == acked),
        "{headers:?}"
    );

    // An acknowledgement of a snapshot never sent is ignored and counted.
    sim.submit(ClientId(7), Command::AckSnapshot { seq: 999 })
        .expect("room");
    sim.step();
    assert_eq!(sim.counters().unknown_acks, 1);
}

#[test]
fn an_acknowledgement_riding_an_input_counts_like_one_sent_alone() {
    let (mut sim, headers) = headers_acknowledging(2, |sim, seq| {
        Command::Move(MoveInput {
            seq: 1,
            client_tick: sim.tick() as u32,
            ack: seq,
            ..MoveInput::default()
        })
    });
    let acked = headers[1].0;
    assert!(
        headers[2..].iter().all(|&(_, baseline)| baseline == acked),
        "{headers:?}"
    );
    assert_eq!(sim.counters().unknown_acks, 0);
    assert_eq!(sim.counters().refused_commands, 0, "the input itself is applied");

    // Riding a stale input, an acknowledgement of a snapshot never sent is ignored and counted.
    let ack = MoveInput {
        seq: 1,
        client_tick: sim.tick() as u32,
        ack: 999,
        ..MoveInput::default()
    };
    sim.submit(ClientId(7), Command::Move(ack)).expect("room");
    sim.step();
    assert_eq!(sim.counters().unknown_acks, 1);
}

/// Steps `sims` side by side with the same joins, inputs and acknowledgements (each client
/// acknowledging what the first sim sent it), asserting every tick that all of them send the
/// same snapshots, byte for byte. Returns how many snapshots were compared.
fn same_snapshots_every_tick(sims: &mut [Sim], clients: u64, ticks: u32) -> usize {
    for sim in sims.iter_mut() {
        for client in 0..clients {
            sim.submit(ClientId(client), Command::Join).expect("room");
        }
    }
    let mut outboxes: Vec<Outbox> = sims.iter().map(|_| Outbox::default()).collect();
    let mut compared = 0;
    for tick in 1..=ticks {
        let acks: Vec<(ClientId, u32)> = outboxes[0]
            .snapshots
            .iter()
            .map(|snapshot| (snapshot.client, snapshot.seq))
            .collect();
        for (sim, outbox) in sims.iter_mut().zip(&mut outboxes) {
            for &(client, seq) in &acks {
                sim.submit(client, Command::AckSnapshot { seq }).expect("room");
            }
            steer_in_circles(sim, clients, tick, 0.7, 0.03);
            sim.step();
            sim.drain_outputs(outbox);
        }
        let (first, others) = outboxes.split_first().expect("at least one sim");
        for other in others {
            assert_eq!(other.snapshots, first.snapshots, "tick {tick}");
            assert_eq!(other.snapshot_bytes, first.snapshot_bytes, "tick {tick}");
        }
        compared += first.snapshots.len();
    }
    compared
}

#[test]
fn snapshot_threads_send_the_same_bytes_as_the_tick_thread_alone() {
    let clients = 3_300;
    let mut sims: Vec<Sim> = [1, 3]
        .into_iter()
        .map(|threads| {
            let mut config = common::load_bundled();
            config.server.threads.snapshot_threads = threads;
            config.server.sim.inbox_capacity = 4 * clients as u32;
            let mut sim = Sim::new(Arc::new(config));
            let started = sim.spawn_snapshot_threads(|| {}).expect("threads start");
            assert_eq!(started.count(), usize::from(threads));
            sim
        })
        .collect();
    // 1,100 clients due each tick: the pool shares them out.
    let compared = same_snapshots_every_tick(&mut sims, clients, 30);
    assert_eq!(compared, 3_300 * 30 / 3);
}

#[test]
fn renumbering_the_motion_slots_changes_no_snapshot() {
    let clients = 600;
    // Each client sees about 54 bodies: the bundled cap leaves them all, 40 leaves some out.
    for max_visible in [None, Some(40)] {
        // Off, a window of every slot each tick, and a lap of six ticks; small cells so that
        // bodies cross them all the time and the windows have something to sort.
        let mut sims: Vec<Sim> = [0.0, 1.0 / 60.0, 0.1]
            .into_iter()
            .map(|interval_s| {
                let mut config = common::load_bundled();
                config.gameplay.world.ambient.npcs = 0;
                config.gameplay.world.spawn.radius_m = 400.0;
                config.gameplay.interest.cell_size_m = 8.0;
                config.gameplay.interest.spatial_sort_interval_s = interval_s;
                if let Some(max) = max_visible {
                    config.gameplay.interest.max_visible = max;
                }
                config.server.sim.inbox_capacity = 4 * clients as u32;
                Sim::new(Arc::new(config))
            })
            .collect();
        let compared = same_snapshots_every_tick(&mut sims, clients, 90);
        assert_eq!(compared, 600 * 90 / 3, "max_visible {max_visible:?}");
    }
}
