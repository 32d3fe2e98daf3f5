//! Thread exit: the heap's exit hook, which frees everything the exiting
//! thread can no longer reach. (The heap layer calls it through a function
//! pointer it was created with — see [`thread_heap`] — so the heap does not
//! depend on the collector: the one exception to the layering, and a
//! run-time one only.)
//!
//! Invariants:
//! - No panic escapes (a thread-local destructor that panics aborts the
//!   process): all user code here runs under `catch_unwind`.
//! - Whatever is still alive at the end is leaked, never freed under a live
//!   reference.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::{collect, Reason};
use crate::header::header_of;
use crate::heap::debug_flags::DebugFlags;
use crate::heap::{self, Heap, GENERATIONS};
use crate::lifecycle;

/// How many full collections thread exit runs at most while each finds
/// garbage (a finalizer may make new garbage; one that always does would
/// otherwise never let the thread end).
const SHUTDOWN_ROUNDS: usize = 100;

/// The calling thread's heap, created on first use with [`on_exit`] as its
/// thread-exit hook; `None` once it has shut down. Everything that may be
/// the first to use the heap (allocation, the `gc` module) gets it here.
#[inline]
pub(crate) fn thread_heap() -> Option<&'static Heap> {
    heap::current_or_create(on_exit)
}

/// Thread exit, in order:
/// 1. the heap's own holders of handles are emptied: the callbacks are
///    dropped (they run no more, as in CPython's shutdown collection) and
///    `gc::garbage()` is cleared (`SAVEALL` no longer applies);
/// 2. frozen objects are unfrozen, so frozen cycles are freed too. (Objects
///    `Gc::get_mut` detached stay out: a `&'static mut` to one may still be
///    held by a later thread-local destructor; none of them can be cyclic
///    garbage, see `Heap::reattach`);
/// 3. full collections run until one finds nothing (at most
///    [`SHUTDOWN_ROUNDS`]), so that cycles made by finalizers are freed too;
/// 4. with `DebugFlags::UNCOLLECTABLE`, what is still alive — referenced
///    from other thread-locals, or kept by the debug sink — is reported to
///    the sink; the sink is then dropped, and if it held anything, step 3
///    runs again.
///
/// Then the heap layer marks the heap dead (and frees it if no object is
/// left in its memory).
fn on_exit(heap: &'static Heap) {
    lifecycle::drain_deferred_reporting(heap);
    heap.policy.set_enabled(false);
    super::callbacks::drop_callbacks(heap);
    let flags = &heap.hooks.debug;
    flags.set(flags.get() & !DebugFlags::SAVEALL);
    let saved = core::mem::take(&mut *heap.garbage.borrow_mut());
    for h in saved {
        // SAFETY: each entry owns a strong count of a live object.
        let result = catch_unwind(AssertUnwindSafe(|| unsafe { lifecycle::dec_strong(h) }));
        if let Err(payload) = result {
            crate::output::panic_in("drop", "an object of gc::garbage()", payload);
        }
    }
    super::generations::unfreeze(heap);
    collect_until_clean(heap);
    if heap.hooks.debug.get().contains(DebugFlags::UNCOLLECTABLE) {
        report_leaks(heap);
    }
    let sink = heap.hooks.sink.borrow_mut().take();
    if sink.is_some() {
        if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(sink))) {
            crate::output::panic_in("drop", "the debug sink", payload);
        }
        collect_until_clean(heap);
    }
}

/// Full collections until one finds nothing (bounded, see [`on_exit`]).
fn collect_until_clean(heap: &Heap) {
    for _ in 0..SHUTDOWN_ROUNDS {
        let found = collect(heap, GENERATIONS - 1, Reason::Shutdown);
        lifecycle::drain_deferred_reporting(heap);
        if found == 0 {
            return;
        }
    }
}

/// Say which tracked objects are still alive (and so leaked).
fn report_leaks(heap: &Heap) {
    let mut by_type: BTreeMap<&'static str, usize> = BTreeMap::new();
    let l = &heap.lists;
    for list in l.gens.iter().chain([&l.permanent, &l.detached, &l.orphans]) {
        for links in list.iter() {
            // SAFETY: list members are allocated tracked objects.
            let name = (unsafe { header_of(links).as_ref() }.vtable().type_name)();
            *by_type.entry(name).or_default() += 1;
        }
    }
    let total: usize = by_type.values().sum();
    if total == 0 {
        return;
    }
    let mut line = format!(
        "gc: thread exit: {total} tracked objects are still referenced (from other \
         thread-locals, the debug sink, or handles that were forgotten) and are leaked:"
    );
    for (name, n) in by_type {
        line.push_str(&format!(" {n} x {name};"));
    }
    // Formatted before it is written: the sink is user code.
    crate::output::output_to(heap, &line);
}
