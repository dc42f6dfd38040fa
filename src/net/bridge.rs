//! The bridge between connection tasks and the tick thread. Connection tasks push checked commands
//! into a bounded channel (a full channel refuses the request with a busy code) and announce
//! arrivals, departures and subscription changes on a second channel; the tick thread feeds both
//! into the simulation before each step and, after it, encodes every reply, event and snapshot
//! once into the outboxes of the clients that receive it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};

use bevy_platform::collections::HashMap;
use tracing::warn;

use super::durable::DurableGate;
use super::outbox::{ConnectionOutbox, Lane};
use crate::protocol::{Encode, Encoder};
use crate::protocol::{
    EventS2c, PROTOCOL_VERSION, PushS2c, ReplyS2c, SnapshotRefS2c, SnapshotS2c, WelcomeS2c, topics,
};
use crate::sim::{ClientId, Command, Outbox, Refusal, ReplyTo, Sim, SimEvent};
use crate::telemetry::Metrics;
use crate::telemetry::metrics::MessageKind;

/// What every `Welcome` says of the world, besides the player.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WorldFacts {
    /// Simulation ticks per second.
    pub tick_rate_hz: f32,
    /// Metres per step of the positions in snapshots.
    pub position_precision_m: f32,
}

/// A change to the set of connected clients, in the order connection tasks saw them.
#[derive(Debug)]
pub enum Lifecycle {
    /// A client passed `Hello`: its player joins the world, answering request `to.request`.
    Connected {
        /// The client and its `Hello`'s request number.
        to: ReplyTo,
        /// The connection's number, which its commands carry (see [`BridgeHandle::submit`]).
        connection: u64,
        /// Where its replies go.
        outbox: Arc<ConnectionOutbox>,
    },
    /// A client changed its event subscription.
    Subscribed {
        /// The client.
        client: ClientId,
        /// Topic bits.
        topics: u32,
        /// The session of the combat topic.
        session: u64,
    },
    /// A client's connection ended: its player leaves the world.
    Disconnected {
        /// The client.
        client: ClientId,
    },
}

/// The connection tasks' end of the bridge.
#[derive(Debug, Clone)]
pub struct BridgeHandle {
    commands: Sender<(u64, ReplyTo, Command)>,
    queued: Arc<AtomicUsize>,
    capacity: usize,
    lifecycle: Sender<Lifecycle>,
}

impl BridgeHandle {
    /// Queues a command that connection number `connection` received, for the next tick; refused
    /// with [`Refusal::Busy`] when the queue is full. A command whose connection has closed by the
    /// time the tick takes it is dropped: its player may be back on a new connection, which must
    /// not run (or be answered for) what the old one asked.
    pub fn submit(&self, connection: u64, to: ReplyTo, command: Command) -> Result<(), Refusal> {
        if self.queued.fetch_add(1, Ordering::Relaxed) >= self.capacity {
            self.queued.fetch_sub(1, Ordering::Relaxed);
            return Err(Refusal::Busy);
        }
        self.commands.send((connection, to, command)).map_err(|_| {
            self.queued.fetch_sub(1, Ordering::Relaxed);
            Refusal::Busy
        })
    }

    /// Announces a lifecycle change (never refused: there is one per connection event).
    pub fn announce(&self, change: Lifecycle) {
        // The tick thread only goes away when the server stops, and then nothing is waiting.
        let _ = self.lifecycle.send(change);
    }
}

/// What one connected client receives.
#[derive(Debug)]
struct Subscriber {
    connection: u64,
    outbox: Arc<ConnectionOutbox>,
    topics: u32,
    session: u64,
}

/// The tick thread's end of the bridge.
#[derive(Debug)]
pub struct NetBridge {
    commands: Receiver<(u64, ReplyTo, Command)>,
    queued: Arc<AtomicUsize>,
    lifecycle: Receiver<Lifecycle>,
    clients: HashMap<ClientId, Subscriber>,
    encoder: Encoder,
    frame: Vec<u8>,
    datagrams: DatagramArena,
    capacity: usize,
    gate: Arc<DurableGate>,
    /// A command taken from the queue whose connection's arrival the inbox had no room for
    /// yet; it goes first at the next tick.
    held_over: Option<(u64, ReplyTo, Command)>,
}

/// Bytes of datagrams cut from one allocation.
const DATAGRAM_CHUNK_BYTES: usize = 64 * 1024;

/// Cuts snapshot datagrams from shared chunks: one allocation per chunk, not per datagram. A
/// chunk is freed once the network thread has sent (and dropped) every datagram cut from it.
#[derive(Debug, Default)]
struct DatagramArena {
    chunk: bytes::BytesMut,
}

impl DatagramArena {
    /// A datagram holding a copy of `bytes`.
    fn copy(&mut self, bytes: &[u8]) -> bytes::Bytes {
        if self.chunk.capacity() < bytes.len() {
            self.chunk = bytes::BytesMut::with_capacity(DATAGRAM_CHUNK_BYTES.max(bytes.len()));
        }
        self.chunk.extend_from_slice(bytes);
        self.chunk.split().freeze()
    }
}

/// Both ends of a bridge whose command queue holds `capacity` commands (the simulation's inbox
/// capacity, so that one tick's drain always fits). The queue is counted rather than preallocated:
/// its memory follows the commands actually waiting, not the bound.
pub fn bridge(capacity: usize) -> (BridgeHandle, NetBridge) {
    let (commands_tx, commands) = channel();
    let (lifecycle_tx, lifecycle) = channel();
    let queued = Arc::new(AtomicUsize::new(0));
    (
        BridgeHandle {
            commands: commands_tx,
            queued: Arc::clone(&queued),
            capacity,
            lifecycle: lifecycle_tx,
        },
        NetBridge {
            commands,
            queued,
            lifecycle,
            clients: HashMap::default(),
            encoder: Encoder::default(),
            frame: Vec::new(),
            datagrams: DatagramArena::default(),
            capacity,
            gate: Arc::new(DurableGate::default()),
            held_over: None,
        },
    )
}

impl NetBridge {
    /// Feeds everything the connection tasks queued into `sim`: arrivals, departures and
    /// subscriptions first, in order, then as many commands as the sim's inbox takes (the rest
    /// wait for the next tick). Arrivals and departures beyond the inbox wait too, in order, so
    /// that none is lost. Returns the number of commands queued.
    pub fn feed(&mut self, sim: &mut Sim) -> usize {
        let mut fed = 0;
        self.take_lifecycle(sim, &mut fed);
        while fed < self.capacity {
            let Some((connection, to, command)) = self.held_over.take().or_else(|| self.next_command())
            else {
                break;
            };
            let is_current = |bridge: &NetBridge| {
                bridge
                    .clients
                    .get(&to.client)
                    .is_some_and(|subscriber| subscriber.connection == connection)
            };
            // A connection announces itself before it submits anything, but both may have been
            // queued after the lifecycle changes above were read: a request sent along with the
            // Hello would otherwise be lost.
            if !is_current(self) {
                self.take_lifecycle(sim, &mut fed);
                if fed >= self.capacity {
                    self.held_over = Some((connection, to, command));
                    break;
                }
            }
            if is_current(self) {
                fed += usize::from(submit(sim, to, command));
            }
        }
        fed
    }

    /// The next command the connection tasks queued.
    fn next_command(&mut self) -> Option<(u64, ReplyTo, Command)> {
        let next = self.commands.try_recv().ok()?;
        self.queued.fetch_sub(1, Ordering::Relaxed);
        Some(next)
    }

    /// Takes the queued arrivals, departures and subscriptions in order, as far as the inbox has
    /// room, counting what it submits in `fed`.
    fn take_lifecycle(&mut self, sim: &mut Sim, fed: &mut usize) {
        while *fed < self.capacity {
            let change = match self.lifecycle.try_recv() {
                Ok(change) => change,
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            };
            match change {
                Lifecycle::Connected {
                    to,
                    connection,
                    outbox,
                } => {
                    self.clients.insert(
                        to.client,
                        Subscriber {
                            connection,
                            outbox,
                            topics: 0,
                            session: 0,
                        },
                    );
                    *fed += usize::from(submit(sim, to, Command::Join));
                }
                Lifecycle::Subscribed {
                    client,
                    topics,
                    session,
                } => {
                    if let Some(subscriber) = self.clients.get_mut(&client) {
                        subscriber.topics = topics;
                        subscriber.session = session;
                    }
                }
                Lifecycle::Disconnected { client } => {
                    self.clients.remove(&client);
                    *fed += usize::from(submit(sim, client.into(), Command::Leave));
                }
            }
        }
    }

    /// Encodes the replies, events and snapshots of tick `tick` into the outboxes of their clients
    /// (economy acknowledgements and reads through the durable gate: a read shows nothing that
    /// is not yet on disk); a `Welcome` tells what `world` says.
    pub fn deliver(&mut self, outbox: &Outbox, tick: u64, world: WorldFacts, metrics: &Metrics) {
        for reply in &outbox.replies {
            let Some(subscriber) = self.clients.get(&reply.client) else {
                continue;
            };
            let welcome = |net_id| WelcomeS2c {
                protocol_version: PROTOCOL_VERSION,
                player: reply.client.0,
                net_id,
                tick_rate_hz: world.tick_rate_hz,
                server_tick: reply.tick,
                position_precision_m: world.position_precision_m,
            };
            let message = ReplyS2c::from_sim(reply, outbox, welcome);
            self.frame.clear();
            encode_frame(&mut self.encoder, &message, &mut self.frame);
            metrics.sent(MessageKind::Reply, self.frame.len());
            if reply.body.changes_economy() || reply.body.reads_economy() {
                self.gate
                    .hold(reply.tick, &subscriber.outbox, Lane::Control, &self.frame);
            } else {
                subscriber
                    .outbox
                    .push_frames(Lane::Control, |out| out.extend_from_slice(&self.frame));
            }
        }
        for event in &outbox.events {
            self.frame.clear();
            encode_frame(
                &mut self.encoder,
                &PushS2c::Event(EventS2c::from_sim(event)),
                &mut self.frame,
            );
            let addressee = EventS2c::addressee(event);
            for (client, subscriber) in &self.clients {
                if addressee == Some(*client) || wants(subscriber, event) {
                    metrics.sent(MessageKind::Event, self.frame.len());
                }
                if addressee == Some(*client) {
                    // A trade proposal is news only once it is durable.
                    self.gate
                        .hold(tick, &subscriber.outbox, Lane::Events, &self.frame);
                } else if wants(subscriber, event) {
                    subscriber
                        .outbox
                        .push_frames(Lane::Events, |out| out.extend_from_slice(&self.frame));
                }
            }
        }
        for snapshot in &outbox.snapshots {
            let Some(subscriber) = self.clients.get(&snapshot.client) else {
                continue;
            };
            let payload = outbox.snapshot_payload(snapshot);
            let Ok(bytes) = self.encoder.encode(&SnapshotRefS2c { payload }) else {
                continue;
            };
            metrics.sent(MessageKind::Snapshot, bytes.len());
            if bytes.len() <= subscriber.outbox.max_datagram_bytes() {
                subscriber.outbox.push_datagram(self.datagrams.copy(bytes));
            } else {
                let message = PushS2c::Snapshot(SnapshotS2c {
                    payload: payload.to_vec(),
                });
                self.frame.clear();
                encode_frame(&mut self.encoder, &message, &mut self.frame);
                subscriber
                    .outbox
                    .push_frames(Lane::Events, |out| out.extend_from_slice(&self.frame));
            }
        }
    }

    /// The tick loop finished `tick`, whose changes went to the store when `submitted`: replies
    /// that waited only for the ticks before it may leave once those are durable.
    pub fn finished(&self, tick: u64, submitted: bool) {
        self.gate.finished(tick, submitted);
    }

    /// The gate that holds economy acknowledgements until the store has committed their tick; the
    /// store's writer releases it.
    pub fn durable_gate(&self) -> Arc<DurableGate> {
        Arc::clone(&self.gate)
    }
}

/// Queues `command`; true when it took a place in the inbox.
fn submit(sim: &mut Sim, to: ReplyTo, command: Command) -> bool {
    match sim.submit_request(to, command) {
        Ok(()) => true,
        Err(refusal) => {
            warn!(client = to.client.0, %refusal, "command dropped: the inbox is full");
            false
        }
    }
}

fn encode_frame(encoder: &mut Encoder, message: &impl Encode, out: &mut Vec<u8>) {
    if let Err(error) = encoder.frame_into(message, out) {
        warn!(%error, "message not sent");
    }
}

/// Whether `subscriber` asked for `event`'s topic.
fn wants(subscriber: &Subscriber, event: &SimEvent) -> bool {
    match *event {
        SimEvent::PlayerJoined { .. } | SimEvent::PlayerLeft { .. } => {
            subscriber.topics & topics::PLAYERS != 0
        }
        SimEvent::SessionChanged { .. } => subscriber.topics & topics::SESSIONS != 0,
        SimEvent::Hit { session, .. } | SimEvent::Killed { session, .. } => {
            subscriber.topics & topics::COMBAT != 0 && subscriber.session == session.0
        }
        SimEvent::TradeProposed { .. } => false,
        SimEvent::ClockChanged { .. } => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::net::outbox::OutboxBudget;
    use crate::sim::ClientId;
    use crate::telemetry::Metrics;

    fn outbox() -> Arc<ConnectionOutbox> {
        let budget = OutboxBudget::new(usize::MAX, Arc::new(Metrics::default()));
        Arc::new(ConnectionOutbox::new(1 << 20, 4, 1200, &budget))
    }

    fn connect(handle: &BridgeHandle, client: u64, connection: u64) -> Arc<ConnectionOutbox> {
        let outbox = outbox();
        handle.announce(Lifecycle::Connected {
            to: ReplyTo::from(ClientId(client)),
            connection,
            outbox: Arc::clone(&outbox),
        });
        outbox
    }

    #[test]
    fn a_full_queue_refuses_until_the_tick_drains_it() {
        let mut sim = Sim::new(Arc::new(Config::default()));
        let (handle, mut bridge) = bridge(3);
        connect(&handle, 7, 1);
        let to = ReplyTo::from(ClientId(7));
        let list = || Command::ListSessions(Default::default());
        assert_eq!(handle.submit(1, to, list()), Ok(()));
        assert_eq!(handle.submit(1, to, list()), Ok(()));
        assert_eq!(handle.submit(1, to, list()), Ok(()));
        assert_eq!(handle.submit(1, to, list()), Err(Refusal::Busy));
        assert_eq!(bridge.feed(&mut sim), 3, "the join and two commands");
        assert_eq!(handle.submit(1, to, list()), Ok(()), "room again after the drain");
    }

    #[test]
    fn what_a_closed_connection_queued_is_not_run_for_the_next_one() {
        let mut sim = Sim::new(Arc::new(Config::default()));
        let (handle, mut bridge) = bridge(1024);
        connect(&handle, 7, 1);
        bridge.feed(&mut sim);
        sim.step();
        // Connection 1 queues request 5, closes, and its player is back on connection 2, all
        // before the next tick.
        let old = ReplyTo {
            client: ClientId(7),
            request: 5,
        };
        let list = || Command::ListSessions(Default::default());
        assert_eq!(handle.submit(1, old, list()), Ok(()));
        handle.announce(Lifecycle::Disconnected { client: ClientId(7) });
        connect(&handle, 7, 2);
        bridge.feed(&mut sim);
        sim.step();
        let mut out = Outbox::default();
        sim.drain_outputs(&mut out);
        let requests: Vec<u32> = out.replies.iter().map(|reply| reply.request).collect();
        assert!(!requests.contains(&5), "{requests:?}");
        assert_eq!(sim.player_count(), 1);
        let new = ReplyTo {
            client: ClientId(7),
            request: 6,
        };
        assert_eq!(handle.submit(2, new, list()), Ok(()));
        bridge.feed(&mut sim);
        sim.step();
        sim.drain_outputs(&mut out);
        let requests: Vec<u32> = out.replies.iter().map(|reply| reply.request).collect();
        assert_eq!(requests, [6], "the new connection's own request runs");
    }

    #[test]
    fn arrivals_beyond_the_inbox_wait_for_the_next_tick() {
        let mut sim = Sim::new(Arc::new(Config::default()));
        let (handle, mut bridge) = bridge(16);
        for client in 1..=17 {
            connect(&handle, client, client);
        }
        assert_eq!(bridge.feed(&mut sim), 16);
        sim.step();
        assert_eq!(sim.player_count(), 16);
        assert_eq!(bridge.feed(&mut sim), 1, "the seventeenth arrival, kept");
        sim.step();
        assert_eq!(sim.player_count(), 17);
    }

    #[test]
    fn datagrams_are_cut_from_one_chunk_until_it_is_full() {
        let mut arena = DatagramArena::default();
        let first = arena.copy(b"first");
        let second = arena.copy(b"second");
        assert_eq!((&first[..], &second[..]), (&b"first"[..], &b"second"[..]));
        assert_eq!(
            second.as_ptr(),
            first.as_ptr().wrapping_add(first.len()),
            "one allocation"
        );
        let rest = vec![7u8; arena.chunk.capacity()];
        let filling = arena.copy(&rest);
        assert_eq!(filling.as_ptr(), second.as_ptr().wrapping_add(second.len()));
        assert_eq!(arena.chunk.capacity(), 0, "the chunk is full");
        let next = arena.copy(b"next");
        assert_eq!(arena.chunk.capacity(), DATAGRAM_CHUNK_BYTES - 4, "a new chunk");
        let large = vec![9u8; 2 * DATAGRAM_CHUNK_BYTES];
        assert_eq!(&arena.copy(&large)[..], &large[..], "larger than a chunk");
        assert_eq!(
            (&first[..], &second[..], &next[..]),
            (&b"first"[..], &b"second"[..], &b"next"[..]),
            "earlier datagrams are untouched"
        );
    }
}
