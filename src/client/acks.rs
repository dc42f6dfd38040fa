//! Which snapshot the client acknowledges, and how: a client that sends inputs at least as often as
//! snapshots arrive lets each acknowledgement ride its next input instead of sending a datagram of
//! its own, which halves the datagrams a moving player sends at 30 inputs and 20 snapshots a second.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// An input sent this recently is taken as a sign that another follows soon enough to carry the
/// acknowledgement; otherwise the acknowledgement goes alone.
pub(super) const RIDE_WINDOW: Duration = Duration::from_millis(50);

/// The newest snapshot held and not yet acknowledged, and when the last input left.
#[derive(Debug, Default)]
pub(super) struct AckRider {
    state: Mutex<RiderState>,
}

#[derive(Debug, Default)]
struct RiderState {
    /// Sequence number waiting to ride an input; 0 for none.
    waiting: u32,
    last_input: Option<Instant>,
}

impl AckRider {
    /// An input leaves at `now`: the acknowledgement it carries (0 for none). Each one rides once;
    /// if that input is lost, the next snapshot is acknowledged in turn.
    pub(super) fn on_input(&self, now: Instant) -> u32 {
        let mut state = crate::sync::lock(&self.state);
        state.last_input = Some(now);
        std::mem::take(&mut state.waiting)
    }

    /// Snapshot `seq` was decoded at `now`: true when it must be acknowledged alone, because no
    /// input has left within [`RIDE_WINDOW`].
    pub(super) fn on_snapshot(&self, seq: u32, now: Instant) -> bool {
        let mut state = crate::sync::lock(&self.state);
        let inputs_flow = state
            .last_input
            .is_some_and(|sent| now.saturating_duration_since(sent) <= RIDE_WINDOW);
        if inputs_flow {
            // Snapshots may arrive reordered; the newest is the useful baseline.
            state.waiting = state.waiting.max(seq);
        }
        !inputs_flow
    }
}

#[cfg(test)]
#[expect(
    clippy::disallowed_methods,
    reason = "an instant to count from; the rider itself takes time as an argument"
)]
mod tests {
    use super::*;

    #[test]
    fn without_inputs_every_snapshot_is_acknowledged_alone() {
        let rider = AckRider::default();
        let now = Instant::now();
        assert!(rider.on_snapshot(1, now));
        assert!(rider.on_snapshot(2, now + RIDE_WINDOW));
        assert_eq!(rider.on_input(now + RIDE_WINDOW), 0, "nothing was left to ride");
    }

    #[test]
    fn while_inputs_flow_the_newest_snapshot_rides_the_next_input_once() {
        let rider = AckRider::default();
        let start = Instant::now();
        assert_eq!(rider.on_input(start), 0);
        assert!(!rider.on_snapshot(5, start + Duration::from_millis(10)));
        assert!(
            !rider.on_snapshot(4, start + Duration::from_millis(20)),
            "reordered"
        );
        assert_eq!(rider.on_input(start + Duration::from_millis(33)), 5);
        assert_eq!(rider.on_input(start + Duration::from_millis(66)), 0, "rides once");
    }

    #[test]
    fn once_inputs_stop_acknowledgements_go_alone_again() {
        let rider = AckRider::default();
        let start = Instant::now();
        rider.on_input(start);
        let later = start + RIDE_WINDOW + Duration::from_millis(1);
        assert!(rider.on_snapshot(9, later));
        assert_eq!(rider.on_input(later), 0, "the snapshot was acknowledged alone");
    }
}
