//! The threads that encode snapshots (`[threads] snapshot_threads`). With more than one, the
//! clients due a snapshot are cut into contiguous shares, one per thread of a rayon pool, and the
//! shares' bytes are then joined in client order: the outbox holds exactly what one thread would
//! have written.
//!
//! A caller that steps the world from one of the pool's threads ([`SnapshotThreads::run`]) hands
//! the shares to the others through that thread's own queue. Stepping from any other thread works
//! the same, but goes through the pool's shared queue, which allocates a block now and then.

use std::sync::Arc;

use bevy_ecs::resource::Resource;
use rayon::prelude::*;

use super::snapshot::{DueClient, SnapshotFrame, SnapshotWorker};
use crate::sim::output::{Outbox, SnapshotOut};

/// Fewer clients due than this are encoded on the tick thread alone: waking the pool would cost
/// more than it saves.
const PARALLEL_FROM_CLIENTS: usize = 1024;

/// The threads that encode snapshots: a pool, or none when the tick thread encodes them all.
/// Clones share the pool.
#[derive(Resource, Debug, Default, Clone)]
pub struct SnapshotThreads {
    pool: Option<Arc<rayon::ThreadPool>>,
}

impl SnapshotThreads {
    /// A pool of `count` threads named `snapshot-N`, each running `on_start` first; none for 1.
    pub(crate) fn spawn(
        count: usize,
        on_start: impl Fn() + Send + Sync + 'static,
    ) -> Result<SnapshotThreads, rayon::ThreadPoolBuildError> {
        if count <= 1 {
            return Ok(SnapshotThreads::default());
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(count)
            .thread_name(|index| format!("snapshot-{index}"))
            .start_handler(move |_| on_start())
            .build()?;
        Ok(SnapshotThreads {
            pool: Some(Arc::new(pool)),
        })
    }

    /// Runs `f` on one of the threads and returns what it returns (runs it here when there is no
    /// pool). A tick loop run this way is one of the threads that encode its snapshots.
    pub fn run<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        match &self.pool {
            Some(pool) => pool.install(f),
            None => f(),
        }
    }

    /// How many threads encode (1 without a pool).
    pub fn count(&self) -> usize {
        self.pool.as_ref().map_or(1, |pool| pool.current_num_threads())
    }

    /// Encodes the snapshots of `clients` into `outbox`, in their order. `workers` holds one
    /// [`SnapshotWorker`] per thread.
    pub(crate) fn encode(
        &self,
        frame: &SnapshotFrame<'_>,
        clients: &mut [DueClient<'_>],
        workers: &mut [SnapshotWorker],
        outbox: &mut Outbox,
    ) {
        // The first share writes straight into the outbox's buffers, lent to the first worker.
        let first = &mut workers[0];
        std::mem::swap(&mut first.bytes, &mut outbox.snapshot_bytes);
        std::mem::swap(&mut first.snapshots, &mut outbox.snapshots);
        match self
            .pool
            .as_ref()
            .filter(|_| clients.len() >= PARALLEL_FROM_CLIENTS)
        {
            None => first.encode(frame, clients),
            Some(pool) => {
                let share = clients.len().div_ceil(workers.len());
                pool.install(|| {
                    clients
                        .par_chunks_mut(share)
                        .zip(workers.par_iter_mut())
                        .for_each(|(clients, worker)| worker.encode(frame, clients));
                });
            }
        }
        let first = &mut workers[0];
        std::mem::swap(&mut first.bytes, &mut outbox.snapshot_bytes);
        std::mem::swap(&mut first.snapshots, &mut outbox.snapshots);
        for worker in &mut workers[1..] {
            let offset = outbox.snapshot_bytes.len();
            outbox.snapshot_bytes.extend_from_slice(&worker.bytes);
            outbox
                .snapshots
                .extend(worker.snapshots.drain(..).map(|snapshot| SnapshotOut {
                    bytes: snapshot.bytes.start + offset..snapshot.bytes.end + offset,
                    ..snapshot
                }));
            worker.bytes.clear();
        }
    }
}
