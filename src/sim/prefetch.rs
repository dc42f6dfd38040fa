//! Software prefetch: a hint that memory will be read soon, so that a batch of independent reads
//! (a tick's session gets, each of a session somewhere in a large store) overlaps its cache misses
//! instead of paying them one after another.

/// Asks the CPU to bring the cache line holding `value` towards the core. Never faults and changes
/// nothing observable; a no-op where the target has no prefetch instruction.
#[inline(always)]
pub(crate) fn prefetch<T>(value: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `_mm_prefetch` only requires SSE, which every x86-64 CPU has; a prefetch is a hint,
    // not a memory access, so any address (even a dangling one) is allowed.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>(value.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}
