//! One connection's outbox: what the tick thread has encoded for a client and its writer task has
//! not sent yet. Frames pile up in byte buffers that the writer swaps out whole, so a tick appends
//! without allocating and a writer sends a tick's worth in one write. The tick never waits on a
//! client: an outbox over its byte limit marks the client a slow consumer and the connection closes.
//!
//! Every outbox also draws on one [`OutboxBudget`] shared by all connections, so that the bytes
//! waiting for all clients together stay bounded however many connect and stop reading. Under
//! that budget each connection is owed an equal share: a client within its share is never cut off
//! for what others hold, and once the budget is spent, the clients holding more than their share
//! are the ones that lose (their frames close them as slow consumers, their datagrams are dropped).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::protocol::ErrorCode;
use crate::sync::lock;
use crate::telemetry::Metrics;

/// The bytes that may wait for all clients together (`[net] outbox_total_bytes`). What is queued
/// is counted in the `outbox_bytes` gauge of the metrics, which is therefore exact, not sampled.
#[derive(Debug)]
pub struct OutboxBudget {
    limit: usize,
    members: AtomicUsize,
    metrics: Arc<Metrics>,
}

impl OutboxBudget {
    /// A budget of `limit` bytes, counted in `metrics`.
    pub fn new(limit: usize, metrics: Arc<Metrics>) -> Arc<OutboxBudget> {
        Arc::new(OutboxBudget {
            limit,
            members: AtomicUsize::new(0),
            metrics,
        })
    }

    /// Bytes queued for every client together.
    pub fn queued(&self) -> usize {
        usize::try_from(self.metrics.outbox_bytes.get()).unwrap_or(0)
    }

    /// Whether a connection holding `held` bytes may queue `more`: always within its share of the
    /// budget, beyond it only while the budget is not spent. Once it is spent only connections
    /// within their shares add, and the shares sum to the budget, so the total stays below twice
    /// the budget (plus a frame per thread, as threads queueing at the same moment may each pass
    /// the check before the other counts).
    fn admits(&self, held: usize, more: usize) -> bool {
        let share = self.limit / self.members.load(Ordering::Relaxed).max(1);
        held.saturating_add(more) <= share || self.queued().saturating_add(more) <= self.limit
    }

    fn take(&self, bytes: usize) {
        self.metrics
            .outbox_bytes
            .add(i64::try_from(bytes).unwrap_or(i64::MAX));
    }

    fn give_back(&self, bytes: usize) {
        self.metrics
            .outbox_bytes
            .add(-i64::try_from(bytes).unwrap_or(i64::MAX));
    }
}

/// What waits for one client.
#[derive(Debug, Default)]
pub struct Pending {
    /// Reply frames for the control stream.
    pub control: Vec<u8>,
    /// Push frames for the event stream.
    pub events: Vec<u8>,
    /// Snapshot datagrams, oldest first.
    pub datagrams: VecDeque<bytes::Bytes>,
}

/// One connection's outbox.
#[derive(Debug)]
pub struct ConnectionOutbox {
    pending: Mutex<Pending>,
    ready: Notify,
    close: AtomicU16,
    max_bytes: usize,
    max_datagrams: usize,
    max_datagram_bytes: usize,
    closed: Notify,
    budget: Arc<OutboxBudget>,
    /// Bytes queued here or taken by the writer and not yet sent, counted in `budget`.
    held: AtomicUsize,
    /// The frames among `held` (replies and events), which `max_bytes` bounds.
    frames_held: AtomicUsize,
}

/// The stream a frame goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// The control stream (replies).
    Control,
    /// The event stream (pushes).
    Events,
}

impl ConnectionOutbox {
    /// An empty outbox holding at most `max_bytes` of frames and `max_datagrams` datagrams of
    /// at most `max_datagram_bytes` each (larger snapshots go on the event stream), and drawing
    /// on `budget` with the other connections.
    pub fn new(
        max_bytes: usize,
        max_datagrams: usize,
        max_datagram_bytes: usize,
        budget: &Arc<OutboxBudget>,
    ) -> ConnectionOutbox {
        budget.members.fetch_add(1, Ordering::Relaxed);
        ConnectionOutbox {
            pending: Mutex::new(Pending::default()),
            ready: Notify::new(),
            close: AtomicU16::new(0),
            max_bytes,
            max_datagrams,
            max_datagram_bytes,
            closed: Notify::new(),
            budget: Arc::clone(budget),
            held: AtomicUsize::new(0),
            frames_held: AtomicUsize::new(0),
        }
    }

    /// Whether `more` bytes may be queued, and if so counts them.
    fn draw(&self, more: usize) -> bool {
        let held = self.held.load(Ordering::Relaxed);
        if !self.budget.admits(held, more) {
            return false;
        }
        self.held.fetch_add(more, Ordering::Relaxed);
        self.budget.take(more);
        true
    }

    /// The writer has sent `bytes` of the frames it took.
    pub fn sent_frames(&self, bytes: usize) {
        self.frames_held.fetch_sub(bytes, Ordering::Relaxed);
        self.sent(bytes);
    }

    /// The writer has sent (or the outbox has dropped) `bytes` of what was queued.
    pub fn sent(&self, bytes: usize) {
        self.held.fetch_sub(bytes, Ordering::Relaxed);
        self.budget.give_back(bytes);
    }

    /// The largest datagram the connection carries.
    pub fn max_datagram_bytes(&self) -> usize {
        self.max_datagram_bytes
    }

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        lock(&self.pending)
    }

    /// Appends frames written by `write` to `lane`; over the connection's byte limit, or over its
    /// share of a spent budget, the frames are discarded and the connection is marked for closing
    /// as a slow consumer.
    pub fn push_frames(&self, lane: Lane, write: impl FnOnce(&mut Vec<u8>)) {
        if self.closing().is_some() {
            return;
        }
        let mut pending = self.lock();
        let buffer = match lane {
            Lane::Control => &mut pending.control,
            Lane::Events => &mut pending.events,
        };
        let before = buffer.len();
        write(buffer);
        let added = buffer.len() - before;
        if !self.count_frames(added) {
            buffer.truncate(before);
            return;
        }
        drop(pending);
        self.ready.notify_one();
    }

    /// Counts `bytes` of frames against the connection's byte limit and the budget; over either,
    /// counts nothing and marks the connection for closing as a slow consumer.
    fn count_frames(&self, bytes: usize) -> bool {
        // What the writer took and has not sent yet counts: it is as far from the client. So do
        // frames reserved at the durable gate.
        let frames = self.frames_held.load(Ordering::Relaxed) + bytes;
        if frames > self.max_bytes || !self.draw(bytes) {
            self.close_with(ErrorCode::SlowConsumer);
            return false;
        }
        self.frames_held.fetch_add(bytes, Ordering::Relaxed);
        true
    }

    /// Counts `bytes` of frames that are to be appended later (they wait for the disk) as if they
    /// were queued now, so that what waits for a client stays within its limits wherever it
    /// waits; false, with the connection marked as a slow consumer, when they do not fit.
    pub fn reserve_frames(&self, bytes: usize) -> bool {
        self.closing().is_none() && self.count_frames(bytes)
    }

    /// Appends `frame`, counted already by [`reserve_frames`](Self::reserve_frames), to `lane`.
    pub fn push_reserved_frames(&self, lane: Lane, frame: &[u8]) {
        if self.closing().is_some() {
            self.sent_frames(frame.len());
            return;
        }
        let mut pending = self.lock();
        match lane {
            Lane::Control => pending.control.extend_from_slice(frame),
            Lane::Events => pending.events.extend_from_slice(frame),
        }
        drop(pending);
        self.ready.notify_one();
    }

    /// Queues a datagram, dropping the oldest beyond the limit; over the connection's share of a
    /// spent budget the new one is dropped instead, as the path might have dropped it.
    pub fn push_datagram(&self, datagram: bytes::Bytes) {
        let mut pending = self.lock();
        if pending.datagrams.len() >= self.max_datagrams
            && let Some(oldest) = pending.datagrams.pop_front()
        {
            self.sent(oldest.len());
        }
        if !self.draw(datagram.len()) {
            return;
        }
        pending.datagrams.push_back(datagram);
        drop(pending);
        self.ready.notify_one();
    }

    /// Asks the connection to close with `code` (the first code asked for wins).
    pub fn close_with(&self, code: ErrorCode) {
        let _ = self
            .close
            .compare_exchange(0, code.code(), Ordering::AcqRel, Ordering::Acquire);
        self.ready.notify_one();
        self.closed.notify_one();
    }

    /// Waits until a close is asked for and returns its code.
    pub async fn closed(&self) -> ErrorCode {
        loop {
            if let Some(code) = self.closing() {
                return code;
            }
            self.closed.notified().await;
        }
    }

    /// The code the connection is to close with, once asked.
    pub fn closing(&self) -> Option<ErrorCode> {
        ErrorCode::from_code(self.close.load(Ordering::Acquire))
    }

    /// Waits until something is queued or a close is asked for, then swaps everything queued
    /// into `into` (whose buffers must be empty; their capacity comes back for the next swap).
    pub async fn take(&self, into: &mut Pending) {
        loop {
            {
                let mut pending = self.lock();
                let queued = !pending.control.is_empty()
                    || !pending.events.is_empty()
                    || !pending.datagrams.is_empty();
                if queued || self.closing().is_some() {
                    std::mem::swap(&mut *pending, into);
                    return;
                }
            }
            self.ready.notified().await;
        }
    }
}

impl Drop for ConnectionOutbox {
    /// What a closed connection still held goes back to the budget, and its share to the others.
    fn drop(&mut self) {
        self.budget.give_back(*self.held.get_mut());
        self.budget.members.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(limit: usize) -> Arc<OutboxBudget> {
        OutboxBudget::new(limit, Arc::new(Metrics::default()))
    }

    #[test]
    fn an_outbox_over_its_limit_closes_as_a_slow_consumer() {
        let outbox = ConnectionOutbox::new(8, 2, 1200, &budget(1 << 20));
        outbox.push_frames(Lane::Control, |out| out.extend_from_slice(b"12345"));
        assert_eq!(outbox.closing(), None);
        outbox.push_frames(Lane::Control, |out| out.extend_from_slice(b"67890"));
        assert_eq!(outbox.closing(), Some(ErrorCode::SlowConsumer));
        assert_eq!(outbox.lock().control, b"12345");
    }

    #[test]
    fn frames_the_writer_took_and_has_not_sent_count_against_the_limit() {
        let outbox = ConnectionOutbox::new(8, 2, 1200, &budget(1 << 20));
        outbox.push_frames(Lane::Control, |out| out.extend_from_slice(b"12345"));
        // The writer takes them and is stuck writing them to a client that reads nothing.
        let taken = std::mem::take(&mut outbox.lock().control);
        outbox.push_frames(Lane::Events, |out| out.extend_from_slice(b"67890"));
        assert_eq!(outbox.closing(), Some(ErrorCode::SlowConsumer));

        let outbox = ConnectionOutbox::new(8, 2, 1200, &budget(1 << 20));
        outbox.push_frames(Lane::Control, |out| out.extend_from_slice(&taken));
        std::mem::take(&mut outbox.lock().control);
        outbox.sent_frames(taken.len());
        outbox.push_frames(Lane::Events, |out| out.extend_from_slice(b"67890"));
        assert_eq!(outbox.closing(), None, "once sent, they count no more");
    }

    #[test]
    fn datagrams_beyond_the_limit_drop_the_oldest() {
        let budget = budget(1 << 20);
        let outbox = ConnectionOutbox::new(8, 2, 1200, &budget);
        for n in 0..3u8 {
            outbox.push_datagram(bytes::Bytes::from(vec![n; 10]));
        }
        let queued: Vec<_> = outbox.lock().datagrams.iter().map(|d| d[0]).collect();
        assert_eq!(queued, [1, 2]);
        assert_eq!(budget.queued(), 20, "the dropped datagram no longer counts");
    }

    #[test]
    fn a_client_within_its_share_is_served_while_one_beyond_it_is_cut_off() {
        // Two connections share 100 bytes: 50 each.
        let budget = budget(100);
        let hoarder = ConnectionOutbox::new(1000, 4, 1200, &budget);
        let reader = ConnectionOutbox::new(1000, 4, 1200, &budget);
        hoarder.push_frames(Lane::Events, |out| out.extend_from_slice(&[1; 80]));
        assert_eq!(
            hoarder.closing(),
            None,
            "beyond its share, but the budget was not spent"
        );
        reader.push_frames(Lane::Control, |out| out.extend_from_slice(&[2; 40]));
        assert_eq!(
            reader.closing(),
            None,
            "within its share, though the budget is now spent"
        );
        assert_eq!(budget.queued(), 120);

        hoarder.push_datagram(bytes::Bytes::from(vec![3; 10]));
        assert!(
            hoarder.lock().datagrams.is_empty(),
            "a datagram beyond the share is dropped"
        );
        hoarder.push_frames(Lane::Events, |out| out.extend_from_slice(&[4; 10]));
        assert_eq!(hoarder.closing(), Some(ErrorCode::SlowConsumer));
        assert_eq!(hoarder.lock().events.len(), 80, "the refused frame is not queued");
        assert_eq!(budget.queued(), 120, "nor counted");

        reader.push_frames(Lane::Control, |out| out.extend_from_slice(&[5; 10]));
        assert_eq!(reader.closing(), None);
        assert_eq!(budget.queued(), 130);
    }

    #[test]
    fn sent_and_closed_outboxes_give_their_bytes_back() {
        let budget = budget(1 << 20);
        let first = ConnectionOutbox::new(1000, 4, 1200, &budget);
        let second = ConnectionOutbox::new(1000, 4, 1200, &budget);
        first.push_frames(Lane::Control, |out| out.extend_from_slice(&[1; 30]));
        first.push_datagram(bytes::Bytes::from(vec![2; 20]));
        second.push_frames(Lane::Events, |out| out.extend_from_slice(&[3; 70]));
        assert_eq!(budget.queued(), 120);
        first.sent(30);
        assert_eq!(budget.queued(), 90);
        drop(second);
        assert_eq!(budget.queued(), 20);
        drop(first);
        assert_eq!(budget.queued(), 0);
    }
}
