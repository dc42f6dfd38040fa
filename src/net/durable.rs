//! Acknowledgements that wait for the disk: a reply that tells a player the economy changed (and
//! the event announcing a trade proposal) leaves for the client only once the store has committed
//! the tick that made the change. Until then its encoded frame waits here.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use super::outbox::{ConnectionOutbox, Lane};

/// A frame waiting for its tick to be durable.
#[derive(Debug)]
struct Held {
    tick: u64,
    outbox: Arc<ConnectionOutbox>,
    lane: Lane,
    frame: Vec<u8>,
}

#[derive(Debug, Default)]
struct GateState {
    committed: u64,
    held: VecDeque<Held>,
}

/// Frames held until the store commits their tick.
#[derive(Debug, Default)]
pub struct DurableGate(Mutex<GateState>);

impl DurableGate {
    fn lock(&self) -> std::sync::MutexGuard<'_, GateState> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends `frame` to `outbox` once tick `tick` is durable (at once if it already is).
    pub(crate) fn hold(&self, tick: u64, outbox: &Arc<ConnectionOutbox>, lane: Lane, frame: &[u8]) {
        let mut state = self.lock();
        if tick <= state.committed {
            drop(state);
            outbox.push_frames(lane, |out| out.extend_from_slice(frame));
            return;
        }
        state.held.push_back(Held {
            tick,
            outbox: Arc::clone(outbox),
            lane,
            frame: frame.to_vec(),
        });
    }

    /// Every tick up to `tick` is durable: sends what waited for them.
    pub fn release(&self, tick: u64) {
        let mut state = self.lock();
        state.committed = state.committed.max(tick);
        while state.held.front().is_some_and(|held| held.tick <= tick) {
            if let Some(held) = state.held.pop_front() {
                held.outbox
                    .push_frames(held.lane, |out| out.extend_from_slice(&held.frame));
            }
        }
    }
}
