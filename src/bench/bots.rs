//! Simulated clients for `necpsim bench`: each bot joins, picks a new random direction about once a
//! second (fighting bots steer towards their opponents instead, see [`super::fighters`]), sends an
//! input at about 30 Hz (staggered across bots) and acknowledges every snapshot it receives with
//! its next input, as the client SDK does while inputs flow on a perfect network.

use std::time::{Duration, Instant};

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

use super::fighters::{FightStats, Fighters};

/// How long one step took, and how much of it simulating.
#[derive(Debug, Clone, Copy)]
pub struct StepTimes {
    /// The whole step: simulating and writing the snapshots.
    pub step: Duration,
    /// Simulating alone.
    pub simulate: Duration,
}
use crate::config::Config;
use crate::sim::{ClientId, Command, MoveInput, Outbox, Sim};

/// The bots and what each last did.
#[derive(Debug)]
pub struct Bots {
    rng: ChaCha8Rng,
    direction: Vec<[f32; 2]>,
    seq: Vec<u32>,
    to_ack: Vec<u32>,
    input_every: u32,
    turn_every: u32,
    client_tick: u32,
    inputs_sent: u64,
    fighters: Fighters,
}

impl Bots {
    /// `count` bots for a server running `config`, the first `fighters` of them fighting.
    pub(super) fn new(count: u32, fighters: u32, seed: u64, config: &Config) -> Bots {
        let rate_hz = config.server.tick.rate_hz;
        let fighters = Fighters::new(fighters.min(count), config);
        let count = count as usize;
        Bots {
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0xb075),
            direction: vec![[1.0, 0.0]; count],
            seq: vec![0; count],
            to_ack: vec![0; count],
            input_every: (rate_hz / 30.0).round().max(1.0) as u32,
            turn_every: rate_hz.round().max(1.0) as u32,
            client_tick: 0,
            inputs_sent: 0,
            fighters,
        }
    }

    /// Every bot asks to join (applied at the next step).
    pub(super) fn join(&self, sim: &mut Sim) {
        for bot in 0..self.direction.len() {
            // The inbox is sized for three commands per bot, so this cannot be refused.
            let _ = sim.submit(ClientId(bot as u64), Command::Join);
        }
    }

    /// Submits this tick's inputs, with the acknowledgements riding them.
    pub(super) fn drive(&mut self, sim: &mut Sim) {
        self.client_tick += 1;
        let tick = self.client_tick;
        let (fighters, direction) = (&mut self.fighters, &mut self.direction);
        fighters.drive(sim, |bot, towards| direction[bot] = towards);
        for bot in 0..self.direction.len() {
            let client = ClientId(bot as u64);
            let phase = bot as u32;
            if (tick + phase).is_multiple_of(self.turn_every) && !self.fighters.includes(bot) {
                self.direction[bot] = random_direction(&mut self.rng);
            }
            if !(tick + phase).is_multiple_of(self.input_every) {
                continue;
            }
            self.seq[bot] += 1;
            let [move_x, move_y] = self.direction[bot];
            let input = MoveInput {
                seq: self.seq[bot],
                client_tick: tick,
                move_x,
                move_y,
                // As the client SDK does while inputs flow, the acknowledgement rides the input.
                ack: std::mem::take(&mut self.to_ack[bot]),
                ..MoveInput::default()
            };
            if sim.submit(client, Command::Move(input)).is_ok() {
                self.inputs_sent += 1;
            }
        }
    }

    /// One tick as the server sees it with these bots connected: their commands, the step, and
    /// the outputs they receive (left in `outbox`). Returns how long the step took, and how much
    /// of it simulating (the rest wrote the snapshots); the bots' own work is not in it.
    pub fn tick(&mut self, sim: &mut Sim, outbox: &mut Outbox) -> StepTimes {
        self.drive(sim);
        let started = Instant::now();
        sim.simulate();
        let simulate = started.elapsed();
        sim.write_snapshots();
        let step = started.elapsed();
        sim.drain_outputs(outbox);
        self.observe(sim, outbox);
        StepTimes { step, simulate }
    }

    /// Notes the snapshots each bot received, to acknowledge them with its next input, and lets the fighters
    /// follow their sessions.
    pub(super) fn observe(&mut self, sim: &mut Sim, outbox: &Outbox) {
        self.fighters.observe(sim, outbox);
        for snapshot in &outbox.snapshots {
            if let Some(slot) = self.to_ack.get_mut(snapshot.client.0 as usize) {
                *slot = snapshot.seq;
            }
        }
    }

    /// What the fighting bots did so far.
    pub(super) fn fight_stats(&self) -> FightStats {
        self.fighters.stats()
    }

    /// Inputs submitted so far.
    pub(super) fn inputs_sent(&self) -> u64 {
        self.inputs_sent
    }
}

fn random_direction(rng: &mut ChaCha8Rng) -> [f32; 2] {
    let angle = (rng.next_u32() >> 8) as f32 / (1u32 << 24) as f32 * std::f32::consts::TAU;
    let (sin, cos) = angle.sin_cos();
    [cos, sin]
}
