//! The writer thread: takes each tick's [`Batch`] from the tick thread and commits it, together
//! with every batch that queued up meanwhile, in one transaction (group commit). The tick never
//! waits on the disk; it reads the writer's progress ([`WriterStatus`]) to release
//! acknowledgements and to refuse new economy commands when the writer falls behind or fails.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Instant;

use tracing::error;

use super::{Batch, Store};

/// Most batches committed in one transaction.
const MAX_GROUP: usize = 256;

/// The writer's progress, readable from any thread.
#[derive(Debug, Default)]
pub struct WriterStatus {
    submitted: AtomicU64,
    committed: AtomicU64,
    failed: AtomicBool,
    failure: Mutex<Option<String>>,
    commits: AtomicU64,
    commit_micros: AtomicU64,
}

impl WriterStatus {
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
        self.failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
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
            // The thread is gone only after a failure, which the status already reports.
            self.status.committed.fetch_add(1, Ordering::AcqRel);
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
        let committed = store.commit(&group);
        let took = started.elapsed();
        if let Err(failure) = committed {
            error!(%failure, "store commit failed; economy commands are refused from now on");
            *status.failure.lock().unwrap_or_else(PoisonError::into_inner) = Some(failure.to_string());
            status.failed.store(true, Ordering::Release);
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
