//! Acknowledgements that wait for the disk: a reply that tells a player the economy changed or
//! what it holds (and the event announcing a trade proposal) leaves for the client only once the
//! store has committed every change up to the tick of the reply. Until then its encoded frame
//! waits here, counted against the client's outbox as if it were queued there already, so that
//! a client that stops reading while the disk is slow is cut off as a slow consumer instead of
//! holding memory outside every limit. A tick that changed nothing durable is durable as soon as
//! the ticks before it are.

use crate::sync::lock;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

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
    /// Every tick up to this one is durable.
    committed: u64,
    /// The last tick whose changes went to the store.
    submitted: u64,
    /// The last tick the simulation finished.
    finished: u64,
    held: VecDeque<Held>,
}

impl GateState {
    /// Marks every tick up to `tick` durable and sends what waited for them.
    fn durable_up_to(&mut self, tick: u64) {
        self.committed = self.committed.max(tick);
        while self.held.front().is_some_and(|held| held.tick <= self.committed) {
            if let Some(held) = self.held.pop_front() {
                held.outbox.push_reserved_frames(held.lane, &held.frame);
            }
        }
    }
}

/// Frames held until the store commits their tick.
#[derive(Debug, Default)]
pub struct DurableGate(Mutex<GateState>);

impl DurableGate {
    fn lock(&self) -> std::sync::MutexGuard<'_, GateState> {
        lock(&self.0)
    }

    /// Sends `frame` to `outbox` once tick `tick` is durable (at once if it already is). A frame
    /// that does not fit in the outbox's limits is dropped and the connection closes as a slow
    /// consumer, as it would if the frame were queued at once.
    pub(crate) fn hold(&self, tick: u64, outbox: &Arc<ConnectionOutbox>, lane: Lane, frame: &[u8]) {
        let mut state = self.lock();
        if tick <= state.committed {
            drop(state);
            outbox.push_frames(lane, |out| out.extend_from_slice(frame));
            return;
        }
        if !outbox.reserve_frames(frame.len()) {
            return;
        }
        state.held.push_back(Held {
            tick,
            outbox: Arc::clone(outbox),
            lane,
            frame: frame.to_vec(),
        });
    }

    /// The store committed the changes of every tick up to `tick`: sends what waited for them,
    /// and for the ticks after it that changed nothing when no later change is pending.
    pub fn release(&self, tick: u64) {
        let mut state = self.lock();
        let up_to = if tick >= state.submitted {
            state.finished.max(tick)
        } else {
            tick
        };
        state.durable_up_to(up_to);
    }

    /// The simulation finished `tick`, whose changes went to the store when `submitted`; a tick
    /// without changes is durable at once if nothing before it is still pending.
    pub fn finished(&self, tick: u64, submitted: bool) {
        let mut state = self.lock();
        state.finished = state.finished.max(tick);
        if submitted {
            state.submitted = state.submitted.max(tick);
        } else if state.committed >= state.submitted {
            state.durable_up_to(tick);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::outbox::OutboxBudget;
    use crate::protocol::ErrorCode;
    use crate::telemetry::Metrics;

    fn unbounded() -> Arc<OutboxBudget> {
        OutboxBudget::new(usize::MAX, Arc::new(Metrics::default()))
    }

    fn sent(outbox: &ConnectionOutbox) -> Vec<u8> {
        outbox.lock().control.clone()
    }

    #[test]
    fn a_reply_waits_for_every_change_up_to_its_tick() {
        let gate = DurableGate::default();
        let outbox = Arc::new(ConnectionOutbox::new(1 << 10, 4, 1200, &unbounded()));
        // Tick 5 changed the economy; tick 6 changed nothing, but a read at 6 shows tick 5.
        gate.hold(5, &outbox, Lane::Control, b"a");
        gate.finished(5, true);
        gate.hold(6, &outbox, Lane::Control, b"b");
        gate.finished(6, false);
        assert_eq!(sent(&outbox), b"", "tick 5 is not on disk yet");
        gate.release(5);
        assert_eq!(sent(&outbox), b"ab", "and then nothing is pending");
    }

    #[test]
    fn a_tick_that_changed_nothing_is_durable_once_the_ticks_before_it_are() {
        let gate = DurableGate::default();
        let outbox = Arc::new(ConnectionOutbox::new(1 << 10, 4, 1200, &unbounded()));
        gate.hold(1, &outbox, Lane::Control, b"a");
        gate.finished(1, false);
        assert_eq!(sent(&outbox), b"a");
        // A later change still waits for its own commit, not for an earlier one.
        gate.hold(2, &outbox, Lane::Control, b"b");
        gate.finished(2, true);
        gate.hold(3, &outbox, Lane::Control, b"c");
        gate.finished(3, true);
        gate.release(2);
        assert_eq!(sent(&outbox), b"ab");
        gate.release(3);
        assert_eq!(sent(&outbox), b"abc");
    }

    #[test]
    fn frames_waiting_for_the_disk_count_against_the_outbox_and_the_budget() {
        let budget = OutboxBudget::new(1 << 20, Arc::new(Metrics::default()));
        let gate = DurableGate::default();
        let outbox = Arc::new(ConnectionOutbox::new(8, 4, 1200, &budget));
        gate.hold(1, &outbox, Lane::Control, b"12345");
        assert_eq!(budget.queued(), 5, "counted while it waits");
        gate.hold(1, &outbox, Lane::Events, b"6789");
        assert_eq!(
            outbox.closing(),
            Some(ErrorCode::SlowConsumer),
            "nine bytes would wait for a client allowed eight"
        );
        assert_eq!(budget.queued(), 5, "the refused frame is not held");
        gate.finished(1, true);
        gate.release(1);
        assert_eq!(sent(&outbox), b"", "nothing more is sent to a closing connection");
        assert_eq!(budget.queued(), 0, "and what waited is given back");
    }
}
