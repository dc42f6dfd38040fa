//! One connection's outbox: what the tick thread has encoded for a client and its writer task has
//! not sent yet. Frames pile up in byte buffers that the writer swaps out whole, so a tick appends
//! without allocating and a writer sends a tick's worth in one write. The tick never waits on a
//! client: an outbox over its byte limit marks the client a slow consumer and the connection closes.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Mutex, PoisonError};

use tokio::sync::Notify;

use crate::protocol::ErrorCode;

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
    /// at most `max_datagram_bytes` each (larger snapshots go on the event stream).
    pub fn new(max_bytes: usize, max_datagrams: usize, max_datagram_bytes: usize) -> ConnectionOutbox {
        ConnectionOutbox {
            pending: Mutex::new(Pending::default()),
            ready: Notify::new(),
            close: AtomicU16::new(0),
            max_bytes,
            max_datagrams,
            max_datagram_bytes,
            closed: Notify::new(),
        }
    }

    /// The largest datagram the connection carries.
    pub fn max_datagram_bytes(&self) -> usize {
        self.max_datagram_bytes
    }

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends frames written by `write` to `lane`; over the byte limit the frames are discarded
    /// and the connection is marked for closing as a slow consumer.
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
        if buffer.len() > self.max_bytes {
            buffer.truncate(before);
            drop(pending);
            self.close_with(ErrorCode::SlowConsumer);
            return;
        }
        drop(pending);
        self.ready.notify_one();
    }

    /// Queues a datagram, dropping the oldest beyond the limit.
    pub fn push_datagram(&self, datagram: bytes::Bytes) {
        let mut pending = self.lock();
        if pending.datagrams.len() >= self.max_datagrams {
            pending.datagrams.pop_front();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outbox_over_its_limit_closes_as_a_slow_consumer() {
        let outbox = ConnectionOutbox::new(8, 2, 1200);
        outbox.push_frames(Lane::Control, |out| out.extend_from_slice(b"12345"));
        assert_eq!(outbox.closing(), None);
        outbox.push_frames(Lane::Control, |out| out.extend_from_slice(b"67890"));
        assert_eq!(outbox.closing(), Some(ErrorCode::SlowConsumer));
        assert_eq!(outbox.lock().control, b"12345");
    }

    #[test]
    fn datagrams_beyond_the_limit_drop_the_oldest() {
        let outbox = ConnectionOutbox::new(8, 2, 1200);
        for n in 0..3u8 {
            outbox.push_datagram(bytes::Bytes::from(vec![n]));
        }
        let queued: Vec<_> = outbox.lock().datagrams.iter().map(|d| d[0]).collect();
        assert_eq!(queued, [1, 2]);
    }
}
