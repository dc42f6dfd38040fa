//! Snapshots: at the configured rate, each client is sent the bodies within its view radius,
//! quantized and delta-encoded against the last snapshot it acknowledged (a full snapshot when it
//! has acknowledged none that the server still holds). The clients due are listed in the frame
//! arena; each encoding thread gathers visible sets in buffers it keeps between ticks
//! ([`SnapshotWorker`]), and the encoded bytes end up in the outbox, which outlives the tick
//! ([`SnapshotThreads`] shares the clients out).

use bevy_ecs::change_detection::Mut;
use bevy_ecs::component::Component;
use bevy_ecs::query::QueryState;
use bevy_ecs::system::{Local, Query, Res, ResMut};
use bevy_ecs::world::World;

use super::components::{MotionHandle, NetId, Player};
use super::interest::Interest;
use super::interest_grid::CellRange;
use super::motion::Motion;
use super::players::Clients;
use super::snapshot_codec::{Baseline, EntityState, SnapshotHeader, encode, quantize};
use super::snapshot_threads::SnapshotThreads;
use super::visibility::{CellGroupIndex, GatherScratch, Viewer, Visibility, VisibleSets};
use crate::sim::command::{ClientId, Refusal, ReplyTo};
use crate::sim::output::{Outbox, ReplyBody, SnapshotOut, respond};
use crate::sim::prefetch::prefetch;
use crate::sim::resources::{ActiveConfig, FrameArena, SimCounters, Tick, TickRate};

/// How many sent snapshots per client are kept as possible baselines: 0.8 s at 20 Hz, above any
/// round trip a game stays playable at. An acknowledgement older than that gets a full snapshot.
/// Each kept snapshot costs 8 bytes per visible entity.
pub const HISTORY: usize = 16;

/// One body as a kept snapshot holds it: its position relative to the snapshot's origin (the
/// viewer's own position), which fits 16 bits wherever the view radius allows at most 32,000
/// quantization steps, as config requires. Eight bytes instead of the twelve of [`EntityState`].
#[derive(Debug, Clone, Copy, Default)]
#[repr(C)]
struct HeldState {
    id: u32,
    dx: i16,
    dy: i16,
}

/// A kept snapshot, read as the baseline of a delta.
#[derive(Debug, Clone, Copy)]
struct HeldSnapshot<'a> {
    origin: [i32; 2],
    states: &'a [HeldState],
}

impl HeldSnapshot<'_> {
    /// No baseline: the snapshot is full.
    const NONE: HeldSnapshot<'static> = HeldSnapshot {
        origin: [0, 0],
        states: &[],
    };
}

impl Baseline for HeldSnapshot<'_> {
    fn len(&self) -> usize {
        self.states.len()
    }

    fn state(&self, index: usize) -> EntityState {
        let held = self.states[index];
        EntityState {
            id: held.id,
            qx: self.origin[0].wrapping_add(i32::from(held.dx)),
            qy: self.origin[1].wrapping_add(i32::from(held.dy)),
        }
    }
}

/// The snapshots recently sent to one client, and which one it acknowledged.
///
/// Only the acknowledged snapshot and those sent after it can become a baseline; a new snapshot
/// whose slot has no buffer takes the buffer of an older one. A client that acknowledges promptly
/// therefore holds a round trip's worth of buffers, not [`HISTORY`] of them, and buffers circulate
/// without touching the heap once they have grown to the crowd's size.
#[derive(Component, Debug, Default)]
pub struct SnapshotHistory {
    next_seq: u32,
    acked: Option<u32>,
    seqs: [u32; HISTORY],
    kept: [Kept; HISTORY],
}

/// One slot of a history: where its snapshot was seen from, and its bodies (together, so that
/// reading a baseline touches one cache line of the history besides its sequence numbers).
#[derive(Debug, Default)]
struct Kept {
    origin: [i32; 2],
    states: Vec<HeldState>,
}

impl SnapshotHistory {
    /// The newest acknowledged snapshot still held.
    fn baseline(&self) -> Option<(u32, HeldSnapshot<'_>)> {
        let seq = self.acked?;
        let slot = seq as usize % HISTORY;
        (self.seqs[slot] == seq).then(|| {
            let kept = &self.kept[slot];
            let held = HeldSnapshot {
                origin: kept.origin,
                states: &kept.states,
            };
            (seq, held)
        })
    }

    /// Records that the client holds `seq`; false when that snapshot was never sent or is no
    /// longer held. An older acknowledgement than the current one changes nothing.
    pub(crate) fn acknowledge(&mut self, seq: u32) -> bool {
        let held = seq != 0 && seq < self.next_seq.max(1) && self.seqs[seq as usize % HISTORY] == seq;
        if held && self.acked.is_none_or(|acked| seq > acked) {
            self.acked = Some(seq);
        }
        held
    }

    /// A slot whose buffer holds a snapshot sent before the acknowledged one: it can never be a
    /// baseline again, so its buffer is free for a new snapshot.
    fn outdated_buffer(&self) -> Option<usize> {
        let acked = self.acked?;
        (0..HISTORY).find(|&slot| {
            let seq = self.seqs[slot];
            seq != 0 && seq < acked && self.kept[slot].states.capacity() > 0
        })
    }

    /// Keeps `states` (sorted by id), seen from `origin`, as the next snapshot sent, and returns
    /// its sequence number. A state too far from the origin for 16 bits (which config rules out)
    /// leaves the snapshot unkept: it is still sent, but never becomes a baseline.
    fn record(&mut self, origin: [i32; 2], states: &[EntityState]) -> u32 {
        self.next_seq = self.next_seq.max(1);
        let seq = self.next_seq;
        self.next_seq += 1;
        let slot = seq as usize % HISTORY;
        if self.kept[slot].states.capacity() == 0
            && let Some(donor) = self.outdated_buffer()
        {
            self.seqs[donor] = 0;
            let given = std::mem::take(&mut self.kept[donor].states);
            self.kept[slot].states = given;
        }
        let kept = &mut self.kept[slot];
        let held = &mut kept.states;
        held.clear();
        if held.capacity() < states.len() {
            // Head-room, so that a crowd growing by a few bodies does not reallocate every lap.
            let wanted = states.len() + states.len() / 8 + 16;
            held.reserve_exact(wanted.max(64));
        }
        // One branch-free pass; a wrapped difference that does not survive the round trip
        // through i16 did not fit (the baseline adds it back with the same wrapping).
        let mut fits = true;
        held.extend(states.iter().map(|state| {
            let dx = state.qx.wrapping_sub(origin[0]);
            let dy = state.qy.wrapping_sub(origin[1]);
            fits &= i32::from(dx as i16) == dx && i32::from(dy as i16) == dy;
            HeldState {
                id: state.id,
                dx: dx as i16,
                dy: dy as i16,
            }
        }));
        self.seqs[slot] = if fits { seq } else { 0 };
        kept.origin = origin;
        seq
    }

    /// Where the baseline's bodies and the next snapshot's buffer are, for a prefetch (either
    /// may be a dangling pointer to an empty buffer).
    fn buffers_in_use(&self) -> [*const HeldState; 2] {
        let next = self.next_seq.max(1) as usize % HISTORY;
        let baseline = self.acked.map_or(next, |acked| acked as usize % HISTORY);
        [
            self.kept[baseline].states.as_ptr(),
            self.kept[next].states.as_ptr(),
        ]
    }

    /// Asks for the lines the encoding reads first: the sequence numbers and the kept slot of
    /// the baseline.
    fn prefetch(&self) {
        self.prefetch_sequence_numbers();
        if let Some(acked) = self.acked {
            prefetch(&self.kept[acked as usize % HISTORY]);
        }
    }

    /// Asks for the lines an acknowledgement reads.
    pub(crate) fn prefetch_sequence_numbers(&self) {
        prefetch(&self.seqs);
        prefetch(&self.next_seq);
    }

    /// The last sequence number sent, 0 before any.
    pub fn last_sent(&self) -> u32 {
        self.next_seq.saturating_sub(1)
    }

    /// The acknowledged sequence number in use as baseline, if any.
    pub fn acked(&self) -> Option<u32> {
        self.acked
    }
}

/// Applies this tick's snapshot acknowledgements sent alone (those riding inputs are applied with
/// their input) and answers them: a client not in the world is told so, and one sent as a request
/// is taken, whether or not its snapshot is still held, since an acknowledgement is a hint.
/// `histories` is the caller's cached query.
pub(crate) fn acknowledge(
    world: &mut World,
    histories: &mut QueryState<&mut SnapshotHistory>,
    acks: &[(ReplyTo, u32)],
) {
    let mut unknown = 0;
    for &(to, seq) in acks {
        let Some(entity) = world.resource::<Clients>().entity(to.client) else {
            respond(world, to, ReplyBody::Refused(Refusal::NotJoined));
            continue;
        };
        let held = histories
            .get_mut(world, entity)
            .is_ok_and(|mut history| history.acknowledge(seq));
        unknown += u64::from(!held);
        if to.request != 0 {
            respond(world, to, ReplyBody::Acted);
        }
    }
    world.resource_mut::<SimCounters>().unknown_acks += unknown;
}

/// How many clients ahead the encoding pass asks for the grid cells of a client's query, and
/// then for the runs those cells point at and for the client's kept snapshots.
const PREFETCH_CELLS_AHEAD: usize = 8;
const PREFETCH_RUNS_AHEAD: usize = 4;

/// A client due a snapshot this tick, as the first pass found it.
pub(crate) struct DueClient<'w> {
    client: ClientId,
    /// Its player's body: id and position.
    viewer: Viewer,
    /// The cells its grid query will read, when they are worth prefetching.
    cells: Option<CellRange>,
    /// Addresses of its baseline's bodies and of its next snapshot's buffer, for a prefetch
    /// (either may dangle: an empty buffer).
    buffers: [usize; 2],
    history: Mut<'w, SnapshotHistory>,
}

/// What every snapshot of one tick shares.
#[derive(Clone, Copy)]
pub(crate) struct SnapshotFrame<'v> {
    sets: VisibleSets<'v>,
    tick: u64,
}

/// The buffers one snapshot thread works in, kept between ticks so that they stop allocating.
#[derive(Debug, Default)]
pub(crate) struct SnapshotWorker {
    scratch: GatherScratch,
    visible: Vec<EntityState>,
    /// The snapshots this thread encoded, back to back; `snapshots` index `bytes`.
    pub(crate) bytes: Vec<u8>,
    pub(crate) snapshots: Vec<SnapshotOut>,
}

impl SnapshotWorker {
    /// Encodes the snapshot of every client in `clients`, in order, appending the bytes and one
    /// [`SnapshotOut`] per client.
    pub(crate) fn encode(&mut self, frame: &SnapshotFrame<'_>, clients: &mut [DueClient<'_>]) {
        let SnapshotWorker {
            scratch,
            visible,
            bytes,
            snapshots,
        } = self;
        let (sets, grid, precision_m) = (frame.sets, frame.sets.grid(), frame.sets.precision_m());
        for at in 0..clients.len() {
            if let Some(Some(cells)) = clients.get(at + PREFETCH_CELLS_AHEAD).map(|c| c.cells) {
                grid.prefetch_cells(cells);
            }
            if let Some(ahead) = clients.get(at + PREFETCH_RUNS_AHEAD) {
                if let Some(cells) = ahead.cells {
                    grid.prefetch_runs(cells);
                }
                for address in ahead.buffers {
                    prefetch(std::ptr::without_provenance::<HeldState>(address));
                }
                ahead.history.prefetch();
            }
            let client = &mut clients[at];
            let Viewer { x, y, .. } = client.viewer;
            sets.gather(scratch, client.viewer, visible);

            let history = &mut *client.history;
            let (baseline_seq, baseline) = history.baseline().unwrap_or((0, HeldSnapshot::NONE));
            let header = SnapshotHeader {
                seq: history.last_sent() + 1,
                baseline_seq,
                tick: frame.tick,
            };
            let start = bytes.len();
            encode(header, visible, &baseline, bytes);
            let origin = [quantize(x, precision_m), quantize(y, precision_m)];
            let seq = history.record(origin, visible);
            snapshots.push(SnapshotOut {
                client: client.client,
                seq,
                bytes: start..bytes.len(),
            });
        }
    }
}

/// Sends every client its snapshot when one is due.
#[expect(clippy::too_many_arguments, reason = "a system names every resource it reads")]
pub(crate) fn send_snapshots(
    config: Res<ActiveConfig>,
    rate: Res<TickRate>,
    tick: Res<Tick>,
    motion: Res<Motion>,
    interest: Res<Interest>,
    threads: Res<SnapshotThreads>,
    mut arena: ResMut<FrameArena>,
    mut outbox: ResMut<Outbox>,
    mut players: Query<(&Player, &NetId, &MotionHandle, &mut SnapshotHistory)>,
    mut cell_groups: Local<CellGroupIndex>,
    mut workers: Local<Vec<SnapshotWorker>>,
) {
    let settings = &config.0.gameplay.interest;
    let every = rate.ticks_in(1.0 / settings.snapshot_rate_hz);
    // Each client has its own phase, so the snapshot work is spread evenly over the ticks of one
    // snapshot interval instead of landing on one tick in `every`.
    let due = |net_id: u32| (tick.0 + u64::from(net_id)).is_multiple_of(every);
    let bump = arena.bump();
    let mut visibility = Visibility::new(
        interest.grid(),
        settings.view_radius_m,
        settings.position_precision_m,
        settings.max_visible as usize,
        &mut cell_groups,
        bump,
    );
    // The clients due are found first in a pass that does nothing else, so the cache misses of
    // reaching their positions and histories overlap; the pass that encodes then prefetches a few
    // clients ahead what it will read.
    let grid = interest.grid();
    let shares = visibility.shares();
    let mut due_clients = bumpalo::collections::Vec::new_in(bump);
    for (player, &NetId(net_id), &handle, history) in &mut players {
        if due(net_id) {
            let [x, y] = motion.position(handle);
            due_clients.push(DueClient {
                client: player.client,
                viewer: Viewer { id: net_id, x, y },
                // A crowd's grid stays in cache, and its clients mostly read shared lists.
                cells: (!shares)
                    .then(|| grid.query_cells(x, y, settings.view_radius_m))
                    .flatten(),
                buffers: history.buffers_in_use().map(<*const HeldState>::addr),
                history,
            });
        }
    }
    workers.resize_with(threads.count(), SnapshotWorker::default);
    if shares {
        for client in &due_clients {
            visibility.add_client(client.viewer.x, client.viewer.y);
        }
        visibility.share(&mut workers[0].scratch);
    }
    let frame = SnapshotFrame {
        sets: visibility.sets(),
        tick: tick.0,
    };
    threads.encode(&frame, &mut due_clients, &mut workers, &mut outbox);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send(history: &mut SnapshotHistory, visible: u32) -> u32 {
        let states: Vec<EntityState> = (0..visible).map(|id| EntityState { id, qx: 0, qy: 0 }).collect();
        history.record([0, 0], &states)
    }

    fn baseline_states(history: &SnapshotHistory) -> Vec<EntityState> {
        let (_, held) = history.baseline().expect("a baseline");
        (0..held.len()).map(|i| held.state(i)).collect()
    }

    #[test]
    fn a_kept_body_takes_eight_bytes() {
        assert_eq!(size_of::<HeldState>(), 8);
    }

    #[test]
    fn a_kept_snapshot_reads_back_as_sent() {
        let mut history = SnapshotHistory::default();
        let origin = [1_000_000, -2_000_000];
        let states = [
            EntityState {
                id: 3,
                qx: origin[0] - 32_000,
                qy: origin[1] + 32_000,
            },
            EntityState {
                id: 9,
                qx: origin[0],
                qy: origin[1],
            },
            EntityState {
                id: 40,
                qx: origin[0] + 12_345,
                qy: origin[1] - 1,
            },
        ];
        let seq = history.record(origin, &states);
        assert!(history.acknowledge(seq));
        assert_eq!(baseline_states(&history), states);
    }

    #[test]
    fn a_body_beyond_sixteen_bits_leaves_the_snapshot_unkept() {
        let mut history = SnapshotHistory::default();
        let first = send(&mut history, 5);
        assert!(history.acknowledge(first));
        let far = [EntityState {
            id: 1,
            qx: 40_000,
            qy: 0,
        }];
        let second = history.record([0, 0], &far);
        assert!(!history.acknowledge(second), "an unkept snapshot is not held");
        assert_eq!(history.baseline().map(|(seq, _)| seq), Some(first));
    }

    fn buffers(history: &SnapshotHistory) -> usize {
        history
            .kept
            .iter()
            .filter(|kept| kept.states.capacity() > 0)
            .count()
    }

    #[test]
    fn a_client_acknowledging_two_snapshots_behind_holds_four_buffers() {
        let mut history = SnapshotHistory::default();
        let mut sent = Vec::new();
        for _ in 0..200 {
            sent.push(send(&mut history, 500));
            if sent.len() > 2 {
                assert!(history.acknowledge(sent[sent.len() - 3]));
            }
            assert!(buffers(&history) <= 4, "{} buffers", buffers(&history));
        }
        let (seq, baseline) = history.baseline().expect("an acknowledged baseline");
        assert_eq!(seq, sent[sent.len() - 3]);
        assert_eq!(baseline.len(), 500, "the baseline's states survive recycling");
    }

    #[test]
    fn a_client_that_never_acknowledges_holds_at_most_the_history() {
        let mut history = SnapshotHistory::default();
        for _ in 0..100 {
            send(&mut history, 10);
        }
        assert_eq!(buffers(&history), HISTORY);
        assert!(history.baseline().is_none());
    }

    #[test]
    fn late_acknowledgements_of_recycled_snapshots_change_nothing() {
        let mut history = SnapshotHistory::default();
        let first = send(&mut history, 3);
        let second = send(&mut history, 4);
        assert!(history.acknowledge(second));
        assert!(
            history.acknowledge(first),
            "still a snapshot that was sent and held"
        );
        assert_eq!(
            history.baseline().map(|(seq, states)| (seq, states.len())),
            Some((second, 4))
        );
    }
}
