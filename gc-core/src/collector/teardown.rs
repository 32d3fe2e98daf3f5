//! Teardown of garbage: every value dropped while every allocation that can
//! still reach it is valid, every allocation freed once nothing refers to it
//! (CPython's `delete_garbage`, which in Rust must also drop the values).
//!
//! Invariants:
//! - Every member is flagged `DEAD` before any value is dropped: a `Drop`
//!   impl that reaches a dead member through a `Gc` panics instead of reading
//!   a dropped value, and `lifecycle::release` ignores a `DEAD` member that is
//!   not an `ORPHAN`, so nothing ahead of the walk is freed by user code.
//! - The walk never reads the garbage list behind itself.

use core::ptr::{self, NonNull};
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::{trace_object, AbortOnPanic, TRACE_PANICKED, WALK_PREFETCH};
use crate::header::{flags, header_of, Links};
use crate::heap::Heap;
use crate::lifecycle;
use crate::list::List;
use crate::prefetch::prefetch;
use crate::tracer::{TraceKind, Tracer};

/// Garbage sets from this size on are torn down looking one object ahead.
const LOOK_AHEAD_MIN: usize = 1 << 14;

/// Drop every value of `garbage` (all flagged `DEAD`) and free each object
/// once nothing refers to it any more, in one walk and a short second one:
/// an object whose count is zero once its own value is dropped is freed at
/// once; the others (still referred to by a member not yet dropped, or by a
/// handle a `Drop` impl kept) wait on a stack, and after the walk those whose
/// count has reached zero meanwhile are freed too. So every allocation of the
/// set stays valid while anything can still reach it. Objects still
/// referenced at the end become `ORPHAN`s in `orphans` (freed when their last
/// handle goes). Returns their number.
pub(super) fn tear_down(heap: &Heap, garbage: &List, size: usize, orphans: &List) -> usize {
    // The walk goes backwards, newest objects first: objects usually refer
    // to older ones, so a value's drop mostly takes the last count of
    // members still ahead, which are then freed as the walk meets them.
    // Walking stays valid: nothing ahead of the walk is freed (`release`
    // ignores a `DEAD` object that is not an `ORPHAN`; user code in the
    // drops cannot unlink one: `get_mut`/`try_unwrap` panic on it), and the
    // `garbage` list is never read again behind the walk.
    let end = garbage.head_ptr();
    let mut prefetcher = Tracer::new(TraceKind::Prefetch);
    // Tracing ahead pays only when the set is too big for the cache.
    let look_ahead = size >= LOOK_AHEAD_MIN;
    // Objects waiting for their count to reach zero, linked through `next`.
    let mut waiting: *mut Links = ptr::null_mut();
    // SAFETY: the sentinel's `prev` is intact.
    let mut cur = NonNull::new(unsafe { (*end).prev.get() }).filter(|p| p.as_ptr() != end);
    while let Some(l) = cur {
        // SAFETY: `l` is ahead of the walk, so still allocated.
        let prev = unsafe { l.as_ref() }.prev.get();
        prefetch(l.as_ptr().cast::<u8>().wrapping_sub(WALK_PREFETCH));
        cur = if prev == end {
            None
        } else {
            NonNull::new(prev)
        };
        if let Some(ahead) = cur.filter(|_| look_ahead) {
            // Bring in the counts the next drop will decrement.
            let guard = AbortOnPanic(TRACE_PANICKED);
            // SAFETY: ahead of the walk: allocated, value not yet dropped.
            unsafe { trace_object(header_of(ahead), &mut prefetcher) };
            core::mem::forget(guard);
        }
        // SAFETY: as above.
        let h = unsafe { header_of(l) };
        // SAFETY: as above.
        let hdr = unsafe { h.as_ref() };
        let vt = hdr.vtable();
        hdr.clear(flags::COLLECTING);
        if hdr.has(flags::SITE) {
            // Its memory is returned by this teardown (now, or as an orphan):
            // it is no longer a live object of its allocation site.
            // SAFETY: allocated until this teardown frees it.
            unsafe { heap.forget_site(h) };
        }
        if vt.needs_drop {
            // SAFETY: each value is dropped exactly once, while every
            // object that can reach it is still allocated; `DEAD` makes any
            // access through a `Gc` panic instead of reading a dropped value.
            let result = catch_unwind(AssertUnwindSafe(|| unsafe { (vt.drop_value)(h) }));
            if let Err(payload) = result {
                crate::output::panic_in("drop", (vt.type_name)(), payload);
            }
        }
        heap.policy.count_free();
        if hdr.strong.get() == 0 {
            // SAFETY: value dropped and no handle left; no list is read
            // through it again.
            unsafe { lifecycle::free(heap, h) };
        } else {
            // SAFETY: `l` left `garbage` (never read behind the walk); its
            // `next` is free.
            unsafe { l.as_ref() }.next.set(waiting);
            waiting = l.as_ptr();
        }
    }
    garbage.init();
    let mut left = 0;
    while let Some(l) = NonNull::new(waiting) {
        // SAFETY: waiting objects are allocated (freed only here or, as
        // orphans, after this loop); their `next` links the stack.
        waiting = unsafe { l.as_ref() }.next.get();
        prefetch(l.as_ptr().cast::<u8>().wrapping_add(WALK_PREFETCH));
        // SAFETY: as above.
        let h = unsafe { header_of(l) };
        // SAFETY: as above.
        let hdr = unsafe { h.as_ref() };
        if hdr.strong.get() == 0 {
            // SAFETY: value dropped and no handle left.
            unsafe { lifecycle::free(heap, h) };
        } else {
            // Kept by a handle a `Drop` impl stored: freed by `release` when
            // that handle goes.
            hdr.set(flags::ORPHAN);
            // SAFETY: in no list now.
            unsafe { orphans.push_back(l) };
            left += 1;
        }
    }
    left
}
