//! Locking that outlives a panic: every mutex in the server guards data that each critical
//! section leaves consistent, so a holder that panicked (a bug, reported where it happened) must
//! not take every later user of the data down with it.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `mutex`, even if a panicking holder poisoned it.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
