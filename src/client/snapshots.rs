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

/// The decoded snapshots a client holds, newest last.
#[derive(Debug, Default)]
pub struct SnapshotReceiver {
    held: Vec<(u32, Vec<EntityState>)>,
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
        if self.held.len() == SNAPSHOT_HISTORY {
            self.held.remove(0);
        }
        self.held.push((header.seq, states));
        let states = self.held.last().map_or(&[][..], |(_, states)| states.as_slice());
        Ok((header, states))
    }
}
