//! Cache prefetch hints for the collector's walks.
//!
//! A prefetch never faults and changes nothing the program can observe, so
//! any address may be hinted, even one outside every allocation (the walks
//! guess where the next objects lie). Under Miri, and on targets without a
//! stable prefetch instruction, the hint does nothing.

/// How far ahead in memory the walks prefetch. Generation lists are mostly
/// in allocation order and the pools hand out blocks in address order, so
/// the objects a walk meets next usually lie just above (a forward walk) or
/// below (a backward one) the current one.
pub(crate) const WALK_PREFETCH: usize = 4096;

/// Hint the CPU to bring the cache line holding `addr` into the cache.
#[inline(always)]
pub(crate) fn prefetch<T>(addr: *const T) {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    // SAFETY: a prefetch is only a hint: it never faults and reads nothing
    // the program can observe, whatever the address.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(addr.cast::<i8>());
    }
    #[cfg(not(all(target_arch = "x86_64", not(miri))))]
    let _ = addr;
}
