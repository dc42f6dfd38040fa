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
/// priority of `role` otherwise. Where the system refuses, or the process may run on one core
/// only (which the real-time threads would then keep from everything else, the kernel's own
/// threads included), the thread keeps its normal policy, with a warning.
pub(crate) fn apply_to_current_thread(realtime_priority: u8, role: ThreadRole) {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let Some(priority) = priority_for(realtime_priority, role, cores) else {
        if realtime_priority != 0 {
            warn!(
                realtime_priority,
                cores, "threads.realtime_priority not applied: this process may use one core only"
            );
        }
        return;
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

/// The `SCHED_FIFO` priority of a thread in `role` for `threads.realtime_priority`, on a process
/// that may use `cores` cores; `None` for the normal policy.
fn priority_for(realtime_priority: u8, role: ThreadRole, cores: usize) -> Option<u8> {
    if realtime_priority == 0 || cores < 2 {
        return None;
    }
    Some(match role {
        ThreadRole::Tick => realtime_priority,
        ThreadRole::Helper => realtime_priority.saturating_sub(1).max(1),
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tick_runs_at_the_priority_and_its_helpers_one_below_on_two_cores_or_more() {
        assert_eq!(priority_for(10, ThreadRole::Tick, 2), Some(10));
        assert_eq!(priority_for(10, ThreadRole::Helper, 2), Some(9));
        assert_eq!(priority_for(99, ThreadRole::Helper, 64), Some(98));
    }

    #[test]
    fn zero_or_a_single_core_leaves_the_normal_policy() {
        assert_eq!(priority_for(0, ThreadRole::Tick, 8), None);
        assert_eq!(priority_for(10, ThreadRole::Tick, 1), None);
        assert_eq!(priority_for(10, ThreadRole::Helper, 1), None);
    }
}
