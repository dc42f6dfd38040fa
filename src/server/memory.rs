//! The serving process's memory policy: whether the kernel may back its heap with transparent huge
//! pages. The allocator asks for huge pages on its arenas, and then one touched byte commits two
//! megabytes; a server whose memory is thousands of small per-connection states pays for that in
//! resident size (about 40 % more with a thousand clients) for no measurable gain in tick time.

use tracing::{info, warn};

/// Applies `sim.huge_pages`: when false, transparent huge pages are switched off for this process
/// (Linux `PR_SET_THP_DISABLE`; pages already faulted in stay as they are). Where the switch is
/// unavailable the server runs on, with a warning.
pub(crate) fn apply_huge_pages_policy(allowed: bool) {
    if allowed {
        return;
    }
    match disable_transparent_huge_pages() {
        Ok(()) => info!("transparent huge pages off for this process (sim.huge_pages = false)"),
        Err(error) => warn!(%error, "could not switch off transparent huge pages"),
    }
}

#[cfg(target_os = "linux")]
fn disable_transparent_huge_pages() -> std::io::Result<()> {
    // SAFETY: PR_SET_THP_DISABLE takes plain integer arguments and touches no memory of ours.
    let result = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1 as libc::c_ulong, 0, 0, 0) };
    if result == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn disable_transparent_huge_pages() -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "transparent huge pages are a Linux switch",
    ))
}
