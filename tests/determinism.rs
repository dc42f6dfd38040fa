//! The simulation is a pure function of its seed and its command stream: two runs with the same
//! seed and the same clients (joins, leaves, moves with stale, invalid, teleporting and
//! clock-skewed inputs, snapshot acknowledgements, combat sessions created, joined, left, ended and
//! read, shots and abilities at opponents, transfers and market orders with fresh and reused
//! idempotency keys, 100 wanderers) agree on the state hash after every one
//! of 1,000 ticks, and a different seed gives a different world.
//!
//! The clients are driven by a seeded generator that also reads the replies, as real clients do
//! (which session they joined, which ids their opponents have), so the stream is the same in both
//! runs exactly as long as the worlds are.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use necpsim::sim::combat::{Difficulty, Role, SessionId, SessionKind, Team};
use necpsim::sim::economy::Side;
use necpsim::sim::{
    Action, ActionInput, ClientId, Command, EconomyOp, EconomyRequest, ListQuery, MoveInput, Outbox,
    ReplyBody, SessionSettings, Sim, Target,
};
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

const TICKS: u32 = 1_000;
const CLIENTS: u64 = 200;

/// Seeded clients that send a random mix of commands and remember what the replies told them.
struct Clients {
    rng: ChaCha8Rng,
    seqs: Vec<u32>,
    net_ids: BTreeMap<ClientId, u32>,
    session_of: BTreeMap<ClientId, SessionId>,
    members: BTreeMap<SessionId, Vec<ClientId>>,
    created_by: BTreeMap<ClientId, SessionId>,
    last_created: u64,
}

impl Clients {
    fn new(seed: u64) -> Clients {
        Clients {
            rng: ChaCha8Rng::seed_from_u64(seed),
            seqs: vec![0; CLIENTS as usize],
            net_ids: BTreeMap::new(),
            session_of: BTreeMap::new(),
            members: BTreeMap::new(),
            created_by: BTreeMap::new(),
            last_created: 0,
        }
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.rng.next_u32() as usize % items.len()]
    }

    /// A random opponent's id in `client`'s session, or a random id.
    fn target(&mut self, client: ClientId) -> u32 {
        let mates = self
            .session_of
            .get(&client)
            .and_then(|s| self.members.get(s))
            .cloned()
            .unwrap_or_default();
        let ids: Vec<u32> = mates
            .iter()
            .filter_map(|c| self.net_ids.get(c).copied())
            .collect();
        if ids.is_empty() || self.rng.next_u32().is_multiple_of(8) {
            1 + self.rng.next_u32() % 400
        } else {
            self.pick(&ids)
        }
    }

    fn commands(&mut self, tick: u32) -> Vec<(ClientId, Command)> {
        (0..self.rng.next_u32() % 64)
            .map(|_| {
                let client = ClientId(self.rng.next_u64() % CLIENTS);
                let command = self.command(client, tick);
                (client, command)
            })
            .collect()
    }

    fn command(&mut self, client: ClientId, tick: u32) -> Command {
        let seq = &mut self.seqs[client.0 as usize];
        // Mostly newer, sometimes a replay of an old sequence number.
        *seq += self.rng.next_u32() % 3;
        let mut input = MoveInput {
            seq: *seq,
            client_tick: tick,
            move_x: (self.rng.next_u32() % 2001) as f32 / 1000.0 - 1.0,
            move_y: (self.rng.next_u32() % 2001) as f32 / 1000.0 - 1.0,
            ..MoveInput::default()
        };
        let session = self.session_of.get(&client).copied().unwrap_or(SessionId(1));
        let recent = SessionId(
            self.last_created
                .saturating_sub(u64::from(self.rng.next_u32() % 4)),
        );
        match self.rng.next_u32() % 40 {
            0 => Command::Join,
            1 => Command::Leave,
            2 => Command::Move(MoveInput {
                move_x: f32::NAN,
                ..input
            }),
            3 => Command::Move(MoveInput {
                predicted: Some([(self.rng.next_u32() % 4000) as f32 - 2000.0, 0.0]),
                ..input
            }),
            4 => Command::Move(MoveInput {
                client_tick: tick + 100,
                ..input
            }),
            5 => Command::AckSnapshot {
                seq: self.rng.next_u32() % 40,
            },
            6 => Command::CreateSession(SessionSettings {
                kind: self.pick(&SessionKind::ALL),
                zone_id: 1,
                difficulty: self.pick(&[Difficulty::Normal, Difficulty::Hard, Difficulty::Elite]),
                team_size: Some(1 + (self.rng.next_u32() % 2) as u16),
                time_limit_s: Some(5 + self.rng.next_u32() % 20),
            }),
            7 | 8 => Command::JoinSession {
                session: recent,
                team: self.pick(&[Team::TeamA, Team::TeamB, Team::Solo]),
                role: self.pick(&Role::ALL),
            },
            9..=13 | 27..=29 => Command::Act(ActionInput {
                session,
                action: Action::Fire,
                target: Target::Entity(self.target(client)),
            }),
            14 => Command::Act(ActionInput {
                session,
                action: Action::Ability((self.rng.next_u32() % 3) as u8),
                target: Target::Entity(self.target(client)),
            }),
            15 => Command::LeaveSession { session },
            16 | 25 | 26 => Command::EndSession {
                session: self.created_by.get(&client).copied().unwrap_or(recent),
            },
            17 => Command::GetSession {
                session: recent,
                log_after: 0,
            },
            18 => Command::ListSessions(ListQuery::default()),
            19 | 20 => {
                let op = EconomyOp::Transfer {
                    to: ClientId(self.rng.next_u64() % CLIENTS),
                    currency: (self.rng.next_u32() % 2) as u16,
                    amount_minor: i64::from(self.rng.next_u32() % 5_000) - 100,
                };
                self.economy(op)
            }
            21..=23 => {
                let op = EconomyOp::PlaceOrder {
                    item: (self.rng.next_u32() % 5) as u16,
                    side: self.pick(&[Side::Buy, Side::Sell]),
                    price_minor: i64::from(400 + self.rng.next_u32() % 400),
                    quantity: 1 + self.rng.next_u32() % 6,
                    lifetime_s: Some(1 + self.rng.next_u32() % 10),
                };
                self.economy(op)
            }
            24 => {
                let op = EconomyOp::CancelOrder {
                    order: u64::from(1 + self.rng.next_u32() % 200),
                };
                self.economy(op)
            }
            _ => {
                input.aim_x = 1.0;
                Command::Move(input)
            }
        }
    }

    /// An economy command with a fresh key, or now and then a key used before.
    fn economy(&mut self, op: EconomyOp) -> Command {
        let key = u128::from(self.rng.next_u32() % 5_000);
        Command::Economy(EconomyRequest { key, op })
    }

    /// Learns ids and sessions from the replies.
    fn observe(&mut self, outbox: &Outbox) {
        for reply in &outbox.replies {
            match reply.body {
                ReplyBody::Joined { net_id } => {
                    self.net_ids.insert(reply.client, net_id);
                }
                ReplyBody::SessionCreated { session } => {
                    self.last_created = session.0;
                    self.created_by.insert(reply.client, session);
                }
                ReplyBody::SessionJoined { session, .. } => {
                    self.session_of.insert(reply.client, session);
                    self.members.entry(session).or_default().push(reply.client);
                }
                _ => {}
            }
        }
    }
}

/// What a run produced: the hash after each tick, and how much combat happened.
struct Run {
    hashes: Vec<u64>,
    sim: Sim,
    hits: usize,
    ended: usize,
    trades: usize,
}

fn run(sim_seed: u64, clients_seed: u64) -> Run {
    let mut config = common::load_bundled();
    config.gameplay.world.ambient.npcs = 100;
    config.gameplay.world.spawn.radius_m = 40.0;
    let mut sim = Sim::with_seed(Arc::new(config), sim_seed);
    let mut clients = Clients::new(clients_seed);
    let mut outbox = Outbox::default();
    let (mut hits, mut ended, mut trades) = (0, 0, 0);
    let hashes = (1..=TICKS)
        .map(|tick| {
            for (client, command) in clients.commands(tick) {
                sim.submit(client, command).expect("inbox has room");
            }
            sim.step();
            sim.drain_outputs(&mut outbox);
            clients.observe(&outbox);
            hits += outbox
                .events
                .iter()
                .filter(|e| matches!(e, necpsim::sim::SimEvent::Hit { .. }))
                .count();
            trades += outbox
                .replies
                .iter()
                .filter(|r| matches!(r.body, ReplyBody::OrderPlaced { filled: 1.., .. }))
                .count();
            sim.economy()
                .ledger
                .check_invariants()
                .expect("ledger invariants hold");
            ended += outbox
                .replies
                .iter()
                .filter(|r| matches!(r.body, ReplyBody::SessionEnded { .. }))
                .count();
            // Clients acknowledge what they received, so later snapshots are deltas.
            for snapshot in &outbox.snapshots {
                let ack = Command::AckSnapshot { seq: snapshot.seq };
                sim.submit(snapshot.client, ack).expect("inbox has room");
            }
            sim.state_hash()
        })
        .collect();
    Run {
        hashes,
        sim,
        hits,
        ended,
        trades,
    }
}

#[test]
fn same_seed_and_commands_give_identical_state_every_tick() {
    let first = run(7, 42);
    let second = run(7, 42);
    assert_eq!(first.hashes.len(), TICKS as usize);
    if let Some(tick) = first.hashes.iter().zip(&second.hashes).position(|(a, b)| a != b) {
        panic!("runs diverged at tick {}", tick + 1);
    }
    // The stream must have exercised the interesting paths, or agreement proves little.
    let sim = &first.sim;
    let counters = sim.counters();
    assert!(
        sim.player_count() > 50,
        "players in the world: {}",
        sim.player_count()
    );
    assert!(counters.stale_inputs > 0);
    assert!(
        counters.teleports > 0 && counters.time_compression > 0,
        "{counters:?}"
    );
    assert!(counters.refused_commands > counters.teleports + counters.time_compression);
    assert!(counters.unknown_acks > 0);
    assert!(first.hits > 50, "hits: {}", first.hits);
    assert!(
        first.ended > 0,
        "sessions ended by their creators: {}",
        first.ended
    );
    assert!(sim.sessions().len() > 20, "sessions: {}", sim.sessions().len());
    assert!(first.trades > 10, "orders that traded at once: {}", first.trades);
}

#[test]
fn a_different_seed_gives_a_different_world() {
    let first = run(7, 42);
    let other = run(8, 42);
    assert_ne!(first.hashes.last(), other.hashes.last());
}
