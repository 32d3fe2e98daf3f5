//! What happens to unreachable objects before their teardown, in PEP 442's
//! order: their weak references are cleared, each finalizer runs once on an
//! intact object, reachability is checked again (resurrected objects
//! survive), and `SAVEALL` keeps the rest instead of tearing them down.
//! CPython's `handle_weakrefs`, `finalize_garbage` and
//! `handle_resurrected_objects`.
//!
//! Invariants:
//! - While finalizers run, no garbage object is flagged `COLLECTING` or
//!   `DEAD`, all are `IN_GEN` (so the analysis after them starts like a
//!   young collection's), and the collector refers to them only through the
//!   heads of its own lists, re-read after every call, and through the
//!   count it holds on the object being finalized.

use core::ptr::NonNull;
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::analysis::{find_unreachable, Analysis, Members};
use super::generations::rejoin_generation;
use super::{describe, describe_all, output_lines};
use crate::header::{flags, header_of, Header};
use crate::heap::debug_flags::DebugFlags;
use crate::heap::Heap;
use crate::lifecycle;
use crate::list::List;

/// Finalization, resurrection check and teardown of the objects in
/// `unreachable` (prepared by [`find_unreachable`]). Resurrected objects go to
/// generation `older`. Returns the number of orphans (torn down, but still
/// referenced by a handle a `Drop` impl kept).
pub(super) fn handle_garbage(
    heap: &Heap,
    unreachable: &List,
    analysis: &Analysis,
    older: usize,
    debug: DebugFlags,
) -> usize {
    let finalizable = analysis.finalizable;
    if unreachable.is_empty() {
        return 0;
    }
    if finalizable || debug.contains(DebugFlags::SAVEALL) {
        // Finalizers and `gc::garbage()` see intact objects. The analysis
        // after the finalizers needs its members unflagged and `IN_GEN`, like
        // a young collection's (and no full collection can run meanwhile).
        super::revive_for_reanalysis(heap, unreachable);
    }
    if finalizable {
        run_finalizers(unreachable);
        // Finalizers may have resurrected some: analyse again. (Weak
        // references made meanwhile are cleared by this analysis too.)
        let work = List::new_uninit();
        work.init();
        work.append(unreachable);
        let again = find_unreachable(heap, &work, unreachable, Members::WorkList);
        if again.with_weak {
            clear_weakrefs(heap, unreachable);
        }
        rejoin_generation(heap, &work, older);
    }
    if debug.contains(DebugFlags::SAVEALL) {
        save_all(heap, unreachable, older);
        return 0;
    }
    let mut lines = if debug.contains(DebugFlags::RESOURCES) {
        describe_resources(unreachable)
    } else {
        Vec::new()
    };
    let orphans = List::new_uninit();
    orphans.init();
    // (An upper bound if finalizers resurrected some.)
    let n = super::teardown::tear_down(heap, unreachable, analysis.unreachable, &orphans);
    // Described before they join the heap's orphans, written after: the sink
    // may drop the handles that keep them, which frees them.
    if debug.contains(DebugFlags::UNCOLLECTABLE) {
        lines.extend(describe_all(&orphans, "uncollectable"));
    }
    heap.lists.orphans.append(&orphans);
    output_lines(heap, &lines);
    n
}

/// `DebugFlags::RESOURCES`: a line for each object of `garbage` (about to be
/// torn down) whose type owns a resource, which is being released late.
fn describe_resources(garbage: &List) -> Vec<String> {
    garbage
        .iter()
        .map(|l| {
            // SAFETY: live garbage objects.
            unsafe { header_of(l) }
        })
        .filter(|&h| {
            // SAFETY: as above.
            let owns = unsafe { h.as_ref() }.vtable().owns_resource;
            // A hand-written answer is user code: a panic counts as `false`.
            // (It cannot reach the garbage, which nothing outside refers to.)
            catch_unwind(owns).unwrap_or_else(|payload| {
                crate::output::discard(payload);
                false
            })
        })
        .map(|h| {
            format!(
                "gc: resource {} released by the cycle collector, not when its last handle \
                 went: break the cycle (or close the resource) when done with it",
                // SAFETY: a live garbage object.
                unsafe { describe(h) }
            )
        })
        .collect()
}

/// Run each garbage object's finalizer once in its life, on an intact
/// object. The finalizers are user code: they may drop, free or resurrect
/// any garbage object; the loop only ever takes the first object left, and
/// holds no pointer across a call.
fn run_finalizers(unreachable: &List) {
    let done = List::new_uninit();
    done.init();
    while let Some(l) = unreachable.first() {
        // SAFETY: live garbage object; moving it between our lists.
        unsafe {
            crate::list::unlink(l);
            done.push_back(l);
        }
        // SAFETY: live garbage object.
        let h = unsafe { header_of(l) };
        // SAFETY: as above.
        let hdr = unsafe { h.as_ref() };
        if hdr.vtable().has_finalizer && !hdr.has(flags::FINALIZED) {
            hdr.set(flags::FINALIZED);
            // Hold a count so the finalizer cannot free its own object.
            hdr.inc_strong();
            // SAFETY: the value is intact.
            unsafe { lifecycle::run_finalizer(h) };
            // SAFETY: gives back the count taken above, which is still ours.
            unsafe { give_back(h) };
        }
    }
    unreachable.append(&done);
}

/// Drop a strong count the collector holds on `h`. If it is the last one the
/// object is destroyed at once, like any other, and its drop is user code: a
/// panic is reported, never propagated (the collector is mid-collection).
///
/// # Safety
/// The caller must own one strong count of the live object `h`.
pub(super) unsafe fn give_back(h: NonNull<Header>) {
    // SAFETY: live while our count is held.
    let type_name = (unsafe { h.as_ref() }.vtable().type_name)();
    // SAFETY: the count is ours to give (caller).
    let give = || unsafe { lifecycle::dec_strong(h) };
    if let Err(payload) = catch_unwind(AssertUnwindSafe(give)) {
        crate::output::panic_in("drop", type_name, payload);
    }
}

/// `SAVEALL`: garbage goes to `gc::garbage()` (each entry owns a strong
/// count) and ages into generation `older` instead of being torn down.
fn save_all(heap: &Heap, garbage: &List, older: usize) {
    let mut saved = heap.garbage.borrow_mut();
    for l in garbage.iter() {
        // SAFETY: live garbage object.
        let h = unsafe { header_of(l) };
        // SAFETY: as above; the entry owns the new count.
        unsafe { h.as_ref() }.inc_strong();
        saved.push(h);
    }
    drop(saved);
    rejoin_generation(heap, garbage, older);
}

/// Clear the weak references to the objects of `garbage` (PEP 442's first
/// step, before any finalizer runs: CPython's `handle_weakrefs`).
pub(super) fn clear_weakrefs(heap: &Heap, garbage: &List) {
    for l in garbage.iter() {
        // SAFETY: live garbage object.
        let h = unsafe { header_of(l) };
        // SAFETY: as above.
        if unsafe { h.as_ref() }.has(flags::HAS_WEAK) {
            // SAFETY: as above.
            unsafe { heap.clear_weak(h) };
        }
    }
}
