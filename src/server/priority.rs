//! The tick thread's scheduling policy. With `tick.realtime_priority` set, the tick thread runs
//! under Linux's real-time `SCHED_FIFO` policy: a thread woken mid-tick (the network's, the store's,
//! another process's) then waits for the tick to finish instead of taking its core, so a tick lasts
//! its own CPU time. Off by default: it needs `CAP_SYS_NICE` or an `RLIMIT_RTPRIO` of at least the
//! priority, and a real-time thread that never sleeps would keep its core from everything else.

use tracing::{info, warn};

/// Applies `tick.realtime_priority` to the calling thread: nothing for 0, `SCHED_FIFO` at that
/// priority otherwise. Where the system refuses, the thread keeps its normal policy, with a warning.
pub(crate) fn apply_to_tick_thread(priority: u8) {
    if priority == 0 {
        return;
    }
    match set_fifo(priority) {
        Ok(()) => info!(
            priority,
            "tick thread runs under SCHED_FIFO (tick.realtime_priority)"
        ),
        Err(error) => warn!(
            priority,
            %error,
            "tick.realtime_priority not applied: the tick thread keeps the normal policy \
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
