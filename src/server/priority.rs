//! The scheduling policy of the threads a request waits for. With `threads.realtime_priority` set,
//! the tick thread runs under Linux's real-time `SCHED_FIFO` policy at that priority, and the
//! network and store threads one below it: no thread of another process takes their core while
//! they work, a tick lasts its own CPU time, and the threads a tick wakes (to send its replies, to
//! commit its batch) start at once on the other core instead of waiting for the tick to end. Off by
//! default: it needs `CAP_SYS_NICE` or an `RLIMIT_RTPRIO` of at least the priority, and a real-time
//! thread that never sleeps keeps its core from everything else.

use tracing::{info, warn};

/// Which of the server's threads is asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ThreadRole {
    /// The tick thread: the configured priority.
    Tick,
    /// The network and store threads: one below, so that waking them never preempts a tick.
    Helper,
}

/// Applies `threads.realtime_priority` to the calling thread: nothing for 0, `SCHED_FIFO` at the
/// priority of `role` otherwise. Where the system refuses, the thread keeps its normal policy,
/// with a warning.
pub(crate) fn apply_to_current_thread(realtime_priority: u8, role: ThreadRole) {
    if realtime_priority == 0 {
        return;
    }
    let priority = match role {
        ThreadRole::Tick => realtime_priority,
        ThreadRole::Helper => realtime_priority.saturating_sub(1).max(1),
    };
    let thread = std::thread::current();
    let thread = thread.name().unwrap_or("unnamed");
    match set_fifo(priority) {
        Ok(()) => info!(
            thread,
            priority, "thread runs under SCHED_FIFO (threads.realtime_priority)"
        ),
        Err(error) => warn!(
            thread,
            priority,
            %error,
            "threads.realtime_priority not applied: the thread keeps the normal policy \
             (it needs CAP_SYS_NICE or an RLIMIT_RTPRIO of at least the priority)"
        ),
    }
}

#[cfg(target_os = "linux")]
fn set_fifo(priority: u8) -> std::io::Result<()> {
    let param = libc::sched_param {
        sched_priority: i32::from(priority),
    };
    // SAFETY: `param` is a valid sched_param that outlives the call; pid 0 is the calling thread.
    let result = unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) };
    if result == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn set_fifo(_priority: u8) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "SCHED_FIFO is set here through Linux's sched_setscheduler",
    ))
}
