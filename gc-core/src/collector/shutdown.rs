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
/// 1. frozen objects are unfrozen, so frozen cycles are freed too, and
///    `SAVEALL` no longer applies (a finalizer that freezes objects or sets
///    `SAVEALL` again keeps them, and they are leaked);
/// 2. the heap's own holders of handles are emptied: the callbacks are
///    dropped (they run no more, as in CPython's shutdown collection) and
///    `gc::garbage()` is cleared. (Objects
///    `Gc::get_mut` detached stay out: a `&'static mut` to one may still be
///    held by a later thread-local destructor; none of them can be cyclic
///    garbage, see `Heap::reattach`);
/// 3. full collections run until one finds nothing (at most
///    [`SHUTDOWN_ROUNDS`]), so that cycles made by finalizers are freed too;
///    callbacks registered or garbage saved meanwhile send it back to 2;
/// 4. with `DebugFlags::UNCOLLECTABLE`, what is still alive — referenced
///    from other thread-locals, or kept by the debug sink — is reported to
///    the sink; the sink is then dropped (and one it set while dropping),
///    and 2–4 run again.
///
/// Then the heap layer marks the heap dead (and frees it if no object is
/// left in its memory).
fn on_exit(heap: &'static Heap) {
    lifecycle::drain_deferred_reporting(heap);
    heap.policy.set_enabled(false);
    super::incremental::settle(heap);
    let flags = &heap.hooks.debug;
    flags.set(flags.get() & !DebugFlags::SAVEALL);
    super::generations::unfreeze(heap);
    let mut reported = false;
    // User code run here (finalizers, drops) may register new callbacks or
    // sinks and make new garbage: drop the holders and collect until none
    // is left (bounded; whatever is left then is leaked with the heap).
    for _ in 0..SHUTDOWN_ROUNDS {
        drop_callbacks_and_garbage(heap);
        collect_until_clean(heap);
        if holds_callbacks_or_garbage(heap) {
            continue; // registered by the collections' finalizers or drops
        }
        if !reported && heap.hooks.debug.get().contains(DebugFlags::UNCOLLECTABLE) {
            report_leaks(heap);
            reported = true;
        }
        if !drop_sinks(heap) && !holds_callbacks_or_garbage(heap) {
            return;
        }
    }
}

/// Whether callbacks or saved garbage are registered.
fn holds_callbacks_or_garbage(heap: &Heap) -> bool {
    !heap.hooks.callbacks.borrow().is_empty() || !heap.garbage.borrow().is_empty()
}

/// Drop the callbacks and `gc::garbage()`'s handles (each under
/// `catch_unwind`); whether there were any.
fn drop_callbacks_and_garbage(heap: &Heap) -> bool {
    let had_callbacks = super::callbacks::drop_callbacks(heap);
    let saved = core::mem::take(&mut *heap.garbage.borrow_mut());
    let had_garbage = !saved.is_empty();
    for h in saved {
        // SAFETY: each entry owns a strong count of a live object.
        unsafe { super::finalize::give_back(h) };
    }
    had_callbacks || had_garbage
}

/// Drop the debug sink and one set from inside it (each under
/// `catch_unwind`); whether there was one. Output goes to stderr after.
fn drop_sinks(heap: &Heap) -> bool {
    let sinks = heap.hooks.take_sinks();
    let had = sinks.iter().any(Option::is_some);
    for s in sinks.into_iter().flatten() {
        crate::output::drop_reporting(s, "the debug sink");
    }
    had
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
    super::incremental::settle(heap);
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
