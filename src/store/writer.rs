//! The writer thread: takes each tick's [`Batch`] from the tick thread and commits it, together
//! with every batch that queued up meanwhile, in one transaction (group commit). The tick never
//! waits on the disk; it reads the writer's progress ([`WriterStatus`]) to release
//! acknowledgements and to refuse new economy commands when the writer falls behind, stalls in a
//! commit (a disk that stops answering) or fails.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Instant;

use crate::sync::lock;
use tracing::{error, info, warn};

use super::{Batch, Store};

/// Most batches committed in one transaction.
const MAX_GROUP: usize = 256;

/// Pause between two tries of a commit that wrote nothing for a reason that passes (a lock, a
/// full disk).
const RETRY_PAUSE: std::time::Duration = std::time::Duration::from_millis(100);

/// The writer's progress, readable from any thread.
#[derive(Debug)]
pub struct WriterStatus {
    submitted: AtomicU64,
    committed: AtomicU64,
    failed: AtomicBool,
    failure: Mutex<Option<String>>,
    commits: AtomicU64,
    commit_micros: AtomicU64,
    /// What `commit_started` counts from.
    epoch: Instant,
    /// When the commit under way started, in microseconds after `epoch` plus one; 0 between
    /// commits.
    commit_started: AtomicU64,
    /// Why the commit under way is being tried again, while it is.
    waiting_on: Mutex<Option<String>>,
    /// Set when the server stops: a commit that cannot go through is then given up, not retried.
    stopping: AtomicBool,
}

impl Default for WriterStatus {
    #[expect(
        clippy::disallowed_methods,
        reason = "a stalled commit is measured on the wall clock"
    )]
    fn default() -> Self {
        WriterStatus {
            submitted: AtomicU64::new(0),
            committed: AtomicU64::new(0),
            failed: AtomicBool::new(false),
            failure: Mutex::new(None),
            commits: AtomicU64::new(0),
            commit_micros: AtomicU64::new(0),
            epoch: Instant::now(),
            commit_started: AtomicU64::new(0),
            waiting_on: Mutex::new(None),
            stopping: AtomicBool::new(false),
        }
    }
}

/// Why the economy must wait for the store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Holdup {
    /// A commit failed; nothing is written from then on.
    #[error("the store failed: {0}")]
    Failed(String),
    /// The commit under way has taken longer than allowed (a disk that stopped answering, a lock
    /// another process holds, a full disk).
    #[error("the store is stalled: a commit has taken {took:?}{}", because(.waiting_on))]
    Stalled {
        /// How long it has taken so far.
        took: std::time::Duration,
        /// Why it is being tried again, if it is.
        waiting_on: Option<String>,
    },
    /// More tick batches than allowed are not yet on disk.
    #[error("the store is behind by {0} tick batches")]
    Behind(u64),
}

/// `waiting_on` as the end of a sentence.
fn because(waiting_on: &Option<String>) -> String {
    waiting_on
        .as_ref()
        .map(|why| format!(", trying again because {why}"))
        .unwrap_or_default()
}

impl WriterStatus {
    /// Why the economy must wait, if it must: a failed commit, a commit under way for longer than
    /// `max_stall`, or more than `max_backlog` batches not yet on disk.
    pub fn holdup(&self, max_backlog: u64, max_stall: std::time::Duration) -> Option<Holdup> {
        if let Some(failure) = self.failure() {
            return Some(Holdup::Failed(failure));
        }
        let committing_for = self.committing_for();
        if committing_for > max_stall {
            return Some(Holdup::Stalled {
                took: committing_for,
                waiting_on: lock(&self.waiting_on).clone(),
            });
        }
        let backlog = self.backlog();
        (backlog > max_backlog).then_some(Holdup::Behind(backlog))
    }

    /// How long the commit under way has taken so far; zero between commits.
    #[expect(
        clippy::disallowed_methods,
        reason = "a stalled commit is measured on the wall clock"
    )]
    pub fn committing_for(&self) -> std::time::Duration {
        match self.commit_started.load(Ordering::Acquire) {
            0 => std::time::Duration::ZERO,
            started => self
                .epoch
                .elapsed()
                .saturating_sub(std::time::Duration::from_micros(started - 1)),
        }
    }

    fn commit_starts(&self, at: Instant) {
        let micros = u64::try_from(at.duration_since(self.epoch).as_micros()).unwrap_or(u64::MAX - 1);
        self.commit_started.store(micros + 1, Ordering::Release);
    }

    /// Batches submitted but not yet on disk.
    pub fn backlog(&self) -> u64 {
        self.submitted
            .load(Ordering::Acquire)
            .saturating_sub(self.committed.load(Ordering::Acquire))
    }

    /// Why the writer stopped, once a commit failed.
    pub fn failure(&self) -> Option<String> {
        if !self.failed.load(Ordering::Acquire) {
            return None;
        }
        lock(&self.failure).clone()
    }

    /// Records that nothing is written from now on, and why.
    fn fail(&self, failure: String) {
        *lock(&self.failure) = Some(failure);
        self.failed.store(true, Ordering::Release);
    }

    /// Transactions committed, and the total time they took in microseconds.
    pub fn commits(&self) -> (u64, u64) {
        (
            self.commits.load(Ordering::Relaxed),
            self.commit_micros.load(Ordering::Relaxed),
        )
    }
}

/// The tick thread's handle on the writer thread.
#[derive(Debug)]
pub struct StoreWriter {
    batches: Option<Sender<Batch>>,
    status: Arc<WriterStatus>,
    thread: Option<JoinHandle<()>>,
}

/// Called on the writer thread after each commit with the tick of the newest batch committed and
/// how long the commit took.
pub type OnCommit = Box<dyn FnMut(u64, std::time::Duration) + Send>;

impl StoreWriter {
    /// Starts the writer thread over `store`; it runs `on_start` first, and `on_commit` after
    /// every commit.
    pub fn spawn(
        store: Box<dyn Store>,
        on_commit: OnCommit,
        on_start: impl FnOnce() + Send + 'static,
    ) -> std::io::Result<StoreWriter> {
        let (sender, batches) = channel();
        let status = Arc::new(WriterStatus::default());
        let thread = thread::Builder::new().name("store".into()).spawn({
            let status = Arc::clone(&status);
            move || {
                on_start();
                write_loop(store, &batches, &status, on_commit)
            }
        })?;
        Ok(StoreWriter {
            batches: Some(sender),
            status,
            thread: Some(thread),
        })
    }

    /// Queues `batch` for the next commit.
    pub fn submit(&self, batch: Batch) {
        self.status.submitted.fetch_add(1, Ordering::AcqRel);
        if let Some(sender) = &self.batches
            && sender.send(batch).is_err()
        {
            // The thread ends on its own only after a failed commit, which the status already
            // reports; anything else (a panic) must not pass for a working store.
            self.status.committed.fetch_add(1, Ordering::AcqRel);
            if self.status.failure().is_none() {
                self.status.fail("the store's writer thread stopped".to_owned());
            }
        }
    }

    /// The writer's progress.
    pub fn status(&self) -> &Arc<WriterStatus> {
        &self.status
    }

    /// Commits everything queued, then stops the thread.
    pub fn finish(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.status.stopping.store(true, Ordering::Release);
        self.batches = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for StoreWriter {
    fn drop(&mut self) {
        self.stop();
    }
}

#[expect(
    clippy::disallowed_methods,
    reason = "commit latency is measured on the wall clock"
)]
fn write_loop(
    mut store: Box<dyn Store>,
    batches: &Receiver<Batch>,
    status: &WriterStatus,
    mut on_commit: OnCommit,
) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    while let Ok(first) = batches.recv() {
        group.push(first);
        while group.len() < MAX_GROUP {
            match batches.try_recv() {
                Ok(batch) => group.push(batch),
                Err(_) => break,
            }
        }
        let started = Instant::now();
        status.commit_starts(started);
        let committed = commit_retrying(&mut *store, &group, status);
        status.commit_started.store(0, Ordering::Release);
        let took = started.elapsed();
        if let Err(failure) = committed {
            if status.stopping.load(Ordering::Acquire) {
                error!(
                    %failure,
                    batches = group.len(),
                    "store commit given up at shutdown; what it held was never acknowledged"
                );
            } else {
                error!(%failure, "store commit failed; economy commands are refused from now on");
            }
            status.fail(failure.to_string());
            return;
        }
        status.commits.fetch_add(1, Ordering::Relaxed);
        status
            .commit_micros
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
        let newest = group.last().map_or(0, |batch| batch.tick);
        status.committed.fetch_add(group.len() as u64, Ordering::AcqRel);
        group.clear();
        on_commit(newest, took);
    }
}

/// Commits `group`, trying again for as long as the failure is one that wrote nothing and passes
/// (another connection holding the lock, a full disk) and the server is not stopping; the
/// watchdog sees the wait as a stalled commit.
#[expect(
    clippy::disallowed_methods,
    reason = "the writer thread waits between two tries of a commit, off the tick thread"
)]
fn commit_retrying(
    store: &mut dyn Store,
    group: &[Batch],
    status: &WriterStatus,
) -> Result<(), super::StoreError> {
    let mut tries = 0u32;
    loop {
        match store.commit(group) {
            Err(failure) if failure.is_retryable() && !status.stopping.load(Ordering::Acquire) => {
                if tries == 0 {
                    warn!(%failure, "store commit waits; trying again until it goes through");
                }
                tries += 1;
                *lock(&status.waiting_on) = Some(failure.to_string());
                thread::sleep(RETRY_PAUSE);
            }
            committed => {
                if tries > 0 {
                    *lock(&status.waiting_on) = None;
                    if committed.is_ok() {
                        info!(tries = tries + 1, "store commit went through after waiting");
                    }
                }
                return committed;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{BalanceRow, JournalVisitor, StoreError};

    /// A store whose commits panic, as a bug in a `Store` implementation would.
    struct Panicking;

    impl Store for Panicking {
        fn commit(&mut self, _: &[Batch]) -> Result<(), StoreError> {
            panic!("planted: a commit that panics");
        }
        fn journal(&self, _: &mut JournalVisitor<'_>) -> Result<(), StoreError> {
            Ok(())
        }
        fn ledger(&self, _: &mut dyn FnMut(crate::sim::economy::ledger::Entry)) -> Result<(), StoreError> {
            Ok(())
        }
        fn balances(&self) -> Result<Vec<BalanceRow>, StoreError> {
            Ok(Vec::new())
        }
        fn ledger_len(&self) -> Result<u64, StoreError> {
            Ok(0)
        }
        fn economy_rows(&self) -> Result<crate::store::EconomyRows, StoreError> {
            Ok(crate::store::EconomyRows::default())
        }
        fn has_key(&self, _: crate::sim::economy::ledger::PlayerId, _: u128) -> Result<bool, StoreError> {
            Ok(false)
        }
        fn catalogue(&self) -> Result<Option<crate::config::Catalogue>, StoreError> {
            Ok(None)
        }
        fn keep_catalogue(&mut self, _: &crate::config::Catalogue) -> Result<(), StoreError> {
            Ok(())
        }
    }

    #[test]
    fn a_writer_thread_that_dies_is_reported_as_a_failed_store() {
        let writer = StoreWriter::spawn(Box::new(Panicking), Box::new(|_, _| {}), || {}).expect("spawns");
        writer.submit(Batch::default());
        // The first batch is with the thread as it dies; a later one finds it gone.
        for round in 0..10_000_000u32 {
            if writer.status().failure().is_some() {
                break;
            }
            if round % 1_000 == 0 {
                writer.submit(Batch::default());
            }
            thread::yield_now();
        }
        let holdup = writer.status().holdup(u64::MAX, std::time::Duration::MAX);
        assert_eq!(
            holdup,
            Some(Holdup::Failed("the store's writer thread stopped".to_owned()))
        );
    }
}
