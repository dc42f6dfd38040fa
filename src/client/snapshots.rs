//! Following a snapshot stream: keeps the states of recently received snapshots so that each delta
//! can be decoded against the baseline it names.

use crate::sim::SNAPSHOT_HISTORY;
use crate::sim::snapshot_codec::{DecodeError, EntityState, SnapshotHeader, decode, decode_header};

/// Why a snapshot could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiveError {
    /// The bytes are not a valid snapshot.
    #[error("malformed snapshot: {0}")]
    Malformed(#[from] DecodeError),
    /// The snapshot is a delta against one this receiver no longer (or never) held.
    #[error("snapshot {seq} is a delta against {baseline_seq}, which is not held")]
    MissingBaseline {
        /// The snapshot's sequence number.
        seq: u32,
        /// The baseline it names.
        baseline_seq: u32,
    },
}

/// The decoded snapshots a client holds: the newest by sequence number, which the server's
/// baselines come from. Datagrams arrive reordered and duplicated: a late one takes the place of
/// none of the newer, nor a duplicate a second place.
#[derive(Debug, Default)]
pub struct SnapshotReceiver {
    held: Vec<(u32, Vec<EntityState>)>,
    /// The last snapshot decoded that was older than every one held (so not kept).
    too_old: Vec<EntityState>,
}

impl SnapshotReceiver {
    /// Decodes `bytes` against the baseline it names and keeps the result; returns its header and
    /// the full state it describes, sorted by id.
    pub fn receive(&mut self, bytes: &[u8]) -> Result<(SnapshotHeader, &[EntityState]), ReceiveError> {
        let header = decode_header(bytes)?;
        let baseline = match header.baseline_seq {
            0 => &[][..],
            seq => self
                .held
                .iter()
                .find(|(held, _)| *held == seq)
                .map(|(_, states)| states.as_slice())
                .ok_or(ReceiveError::MissingBaseline {
                    seq: header.seq,
                    baseline_seq: seq,
                })?,
        };
        let mut states = Vec::with_capacity(baseline.len() + 16);
        decode(bytes, baseline, &mut states)?;
        let oldest = (0..self.held.len()).min_by_key(|&at| self.held[at].0);
        let place = match self.held.iter().position(|(seq, _)| *seq == header.seq) {
            Some(same) => Some(same),
            None if self.held.len() < SNAPSHOT_HISTORY => {
                self.held.push((header.seq, Vec::new()));
                Some(self.held.len() - 1)
            }
            None => oldest.filter(|&at| self.held[at].0 < header.seq),
        };
        let Some(place) = place else {
            self.too_old = states;
            return Ok((header, &self.too_old));
        };
        self.held[place] = (header.seq, states);
        Ok((header, &self.held[place].1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::snapshot_codec::encode;

    fn snapshot(seq: u32, baseline: (u32, &[EntityState]), states: &[EntityState]) -> Vec<u8> {
        let header = SnapshotHeader {
            seq,
            baseline_seq: baseline.0,
            tick: u64::from(seq),
        };
        let mut bytes = Vec::new();
        encode(header, states, baseline.1, &mut bytes);
        bytes
    }

    #[test]
    fn late_and_repeated_snapshots_keep_the_newest_baselines() {
        let state = |seq: u32| {
            [EntityState {
                id: 1,
                qx: seq as i32,
                qy: 0,
            }]
        };
        let mut receiver = SnapshotReceiver::default();
        let full = snapshot(1, (0, &[]), &state(1));
        receiver.receive(&full).expect("full");
        let deltas: Vec<Vec<u8>> = (2..=SNAPSHOT_HISTORY as u32)
            .map(|seq| snapshot(seq, (1, &state(1)), &state(seq)))
            .collect();
        for delta in &deltas {
            receiver.receive(delta).expect("delta against 1");
        }
        // The history is full. Repeats of held snapshots arrive late: each keeps its one place.
        for delta in deltas.iter().take(5) {
            receiver.receive(delta).expect("a repeat decodes");
        }
        // So the server's baseline is still held.
        let next = SNAPSHOT_HISTORY as u32 + 1;
        let (header, states) = receiver
            .receive(&snapshot(next, (1, &state(1)), &state(next)))
            .expect("still against 1");
        assert_eq!((header.seq, states), (next, &state(next)[..]));
        // A snapshot older than all held decodes, but takes no newer one's place.
        let (_, states) = receiver.receive(&full).expect("a late full one");
        assert_eq!(states, state(1));
        receiver
            .receive(&snapshot(next + 1, (next, &state(next)), &state(next + 1)))
            .expect("against the newest");
    }
}
