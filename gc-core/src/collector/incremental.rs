//! Incremental full collections (`gc::set_incremental`): the automatic
//! full collection of a big heap spread over many short steps, so that no
//! single step scans the whole old generation.
//!
//! # The algorithm
//!
//! When the long-lived rule calls for a full collection and it cannot be
//! skipped as provably empty, a *phase* begins instead: every object of the
//! generations as they are then (the *old set*: what an atomic full
//! collection would analyse) moves to the phase, and every later automatic
//! trigger runs its young collection (of what was allocated since) as usual
//! and then one *step*: the larger of [`STEP_WORK`] × `threshold(0)`
//! objects and a [`PHASE_STEPS`]th of the phase's four passes over the old
//! set, each object counting once per pass. The passes: *enumerate* (each
//! object gets a slot in a side array, its scratch count := its strong
//! count), *subtract* (each object is traced; every edge into the old set
//! subtracts one from the target's scratch count), *mark* (from every
//! object with a positive count, mark what it reaches in the old set) and
//! *return* (marked objects go to generation 2, the others become
//! *candidates*). The program runs between steps, so these counts and marks
//! are a stale view: they only choose the candidates. The trigger after the
//! return pass runs the *final step*, an ordinary exact analysis (CPython's
//! trial deletion) of the candidates together with generations 0 and 1,
//! every other object counting as outside references, exactly as in a
//! young collection. That step alone decides what is garbage, so a stale
//! view can never free a live object: it can only leave garbage for the
//! next phase.
//!
//! # What a phase finds
//!
//! - Garbage that was already unreachable when the phase began is found by
//!   its final step: nothing can reach it (a `Weak::upgrade` would make it
//!   reachable again, and then it is not garbage), so its counts and edges
//!   stay as enumerated; its referrers are all garbage, hence in the old
//!   set, so every edge into it is subtracted and nothing marks it; and the
//!   exact step sees it closed among the candidates. So is everything a
//!   gen-1 collection would find at the final step.
//! - If no event (`heap::epoch`) happened since the phase began, that is
//!   all the garbage there is: by the proof in `heap::epoch`, garbage forms
//!   only with an event, so any garbage at the final step was garbage when
//!   the phase began. The final step then counts as an analysis of every
//!   generation, and later full collections are skipped while nothing
//!   happens, exactly as after an atomic one (a growing structure built by
//!   moving handles runs its phases once, not at every trigger).
//! - Garbage that forms during the phase waits for the next phase (or the
//!   next `collect()`): the floating garbage of incremental collection. A
//!   phase takes at most [`PHASE_STEPS`] triggers (`PHASE_STEPS ×
//!   threshold(0)` allocations) plus the final one, so compared with atomic
//!   full collections, which run at the same moments, such garbage waits at
//!   most one phase longer.
//! - `collect()`, `collect_generation(2)`, and everything that walks the
//!   whole heap (`freeze`, `gc::objects`, census, referrers, thread exit,
//!   `set_incremental(false)`) first *settle* the phase: its objects go to
//!   generation 2 unexamined (as a full collection would age them), and an
//!   explicit full collection is exactly the non-incremental one.
//!
//! # Cost
//!
//! A step costs at most its work: with the default threshold, 44,800
//! objects or a 16th of the old set (a dozen nanoseconds to a few tens
//! each), so the longest step while a 2M-object heap grows is a few
//! milliseconds where an atomic full collection takes tens. The four
//! passes and the side array (16 bytes per old object while a phase runs)
//! cost about twice the work of the atomic analysis they replace; the
//! final step costs what a gen-1 collection costs plus the candidates and
//! the garbage it frees (which it frees at once: a phase that finds much
//! garbage has a final step as long as an atomic collection's teardown).
//!
//! # Observable
//!
//! The steps are not collections: no callbacks, statistics or counts. The
//! final step is the gen-2 collection (callbacks with generation 2,
//! `stats()[2]`, counts zeroed, the long-lived rule restarted from the
//! generation 2 it leaves). Unless the phase was clean (above), its
//! analysis counts for generations 0 and 1 only: the next young
//! collections may still be skipped as provably empty, but the next full
//! one analyses.
//!
//! Invariants:
//! - Only steps and the final step change `entries` or the pass; objects
//!   leave `entries` between steps only through
//!   `heap::incremental::unlink_tracked` (freed or detached), which clears
//!   their slot.
//! - A step runs no user code but `Trace::trace` (a panic there aborts, as
//!   in every analysis) and re-reads the phase after each trace; it holds no
//!   borrow of `entries` or `worklist` across one.
//! - The final step ends the phase before it runs any user code.

use core::ptr::NonNull;

use super::{trace_object, AbortOnPanic, TRACE_PANICKED, WALK_PREFETCH};
use crate::header::{header_of, Links, LINKS_SIZE};
use crate::heap::incremental::{Entry, Incremental, Pass, MARKED};
use crate::heap::{epoch, Heap, GENERATIONS};
use crate::list::List;
use crate::prefetch::prefetch;
use crate::tracer::{TraceKind, Tracer};

/// Fewest objects (moved, traced or given back) per step, per object of the
/// gen-0 threshold: a step does at least 64 objects of work for each
/// tracked allocation since the last one. Measured on the old_churn probe
/// (BENCHMARKS.md): with 16, phases over a 300k-object old set took so
/// long that 3× the atomic policy's garbage piled up; with 64, 1.45×.
pub(crate) const STEP_WORK: usize = 64;

/// Steps a phase takes at most: a step's work is at least a 64th of the
/// four passes, so big heaps finish a phase within 64 triggers (the longer
/// a phase, the more garbage forms during it and waits for the next), and
/// a step over a 2M-object old set stays near 2-3 ms.
pub(crate) const PHASE_STEPS: usize = 64;

/// `gc::set_incremental`.
pub(crate) fn set_enabled(heap: &Heap, on: bool) {
    if !on {
        settle(heap);
    }
    heap.incremental.enabled.set(on);
}

/// Begin a phase over every generation (the old set).
pub(super) fn start(heap: &Heap) {
    let inc = &heap.incremental;
    debug_assert!(!inc.active());
    // The old set is every member, as in an atomic full collection: all
    // generations, oldest first.
    let old = heap.members();
    // Every slot at once: growing the array by doubling would copy it
    // within one step (milliseconds for a million objects).
    inc.entries.borrow_mut().reserve_exact(old);
    // Four passes over the old set in at most `PHASE_STEPS` steps, and at
    // least `STEP_WORK` objects per allocation.
    let work = (STEP_WORK * heap.policy.threshold(0)).max(4 * old / PHASE_STEPS);
    inc.step_work.set(work.max(1));
    for g in heap.lists.gens.iter().rev() {
        inc.todo.append(g);
    }
    inc.started_at.set(epoch::now());
    inc.cursor.set(0);
    inc.pass.set(Pass::Enumerate);
}

/// Whether no event (see `heap::epoch`) happened since the running phase
/// began. Then its final step finds all the garbage an atomic full
/// collection at the phase's start would have found (see the module docs),
/// and counts as that analysis for the skipping of later ones.
pub(super) fn clean_since_start(heap: &Heap) -> bool {
    heap.incremental.started_at.get() == epoch::now()
}

/// Whether the running phase has given every object back and waits for its
/// final step.
pub(super) fn ready(heap: &Heap) -> bool {
    let inc = &heap.incremental;
    inc.pass.get() == Pass::Return && inc.cursor.get() >= inc.entries.borrow().len()
}

/// One step of the running phase: at most the step's work, never user code
/// but `Trace::trace`.
pub(super) fn step(heap: &'static Heap) {
    let inc = &heap.incremental;
    let guard = AbortOnPanic(TRACE_PANICKED);
    // Nested collections (an allocation or `gc::collect` inside a `trace`)
    // are refused while a step runs.
    heap.policy.set_collecting(true);
    let mut budget = inc.step_work.get();
    while budget > 0 && inc.active() && !ready(heap) {
        budget -= 1;
        match inc.pass.get() {
            Pass::Enumerate => enumerate_one(inc),
            Pass::Subtract => subtract_one(inc),
            Pass::Mark => mark_one(inc),
            Pass::Return => return_one(inc),
            Pass::Idle => unreachable!("the loop checks the phase"),
        }
    }
    heap.policy.set_collecting(false);
    core::mem::forget(guard);
    // Detached objects the step re-attached (it counts as collecting, so
    // they waited in `reattached`) join generation 0 now, not at the end of
    // the next collection: meanwhile they would be in no generation, hidden
    // from `gc::objects`, the census, `freeze` and the thread-exit report.
    heap.end_reattach();
}

/// Enumerate pass: move the next object of `todo` into the entries.
fn enumerate_one(inc: &Incremental) {
    let Some(l) = inc.todo.pop_front() else {
        inc.pass.set(Pass::Subtract);
        inc.cursor.set(0);
        return;
    };
    // Lists are mostly in address order (see `collector::WALK_PREFETCH`).
    prefetch(l.as_ptr().cast::<u8>().wrapping_add(WALK_PREFETCH));
    // SAFETY: a live tracked object (it was in `todo`).
    let strong = unsafe { header_of(l).as_ref() }.strong.get();
    let mut entries = inc.entries.borrow_mut();
    let i = entries.len();
    entries.push(Entry {
        obj: core::cell::Cell::new(l.as_ptr()),
        scratch: core::cell::Cell::new(isize::try_from(strong).unwrap_or(isize::MAX)),
    });
    // SAFETY: just taken out of `todo`, in no list.
    unsafe { Incremental::tag(l, i) };
}

/// The object of the entry at the cursor (null if gone) and its scratch
/// count, advancing the cursor; `None` at the end of the entries. The
/// object [`AHEAD`] entries on is brought into the cache meanwhile.
fn next_entry(inc: &Incremental) -> Option<(*mut Links, isize)> {
    let i = inc.cursor.get();
    let entries = inc.entries.borrow();
    let e = entries.get(i)?;
    inc.cursor.set(i + 1);
    if let Some(ahead) = entries.get(i + AHEAD) {
        // (Only a hint: the address may be null or freed by then.)
        prefetch(ahead.obj.get().cast::<u8>().wrapping_add(LINKS_SIZE));
    }
    Some((e.obj.get(), e.scratch.get()))
}

/// How far ahead in the entries the passes prefetch objects.
const AHEAD: usize = 8;

/// Trace the live object `obj` of the entries with a tracer of `kind`.
///
/// # Safety
/// `obj` must be the (non-null) `obj` of an entry, read since the last
/// trace: a live object with an intact value.
unsafe fn trace_entry(obj: *mut Links, kind: TraceKind) {
    // SAFETY: non-null (caller).
    let l = unsafe { NonNull::new_unchecked(obj) };
    let mut tracer = Tracer::new(kind);
    // SAFETY: live, intact (caller).
    unsafe { trace_object(header_of(l), &mut tracer) };
}

/// Subtract pass: trace the entry at the cursor.
fn subtract_one(inc: &'static Incremental) {
    match next_entry(inc) {
        None => {
            inc.pass.set(Pass::Mark);
            inc.cursor.set(0);
        }
        Some((obj, _)) if obj.is_null() => {}
        // SAFETY: read just now from its entry.
        Some((obj, _)) => unsafe { trace_entry(obj, TraceKind::IncSubtract(inc)) },
    }
}

/// Mark pass: trace a queued marked entry, or look at the entry at the
/// cursor (a root if its count is positive).
fn mark_one(inc: &'static Incremental) {
    let queued = inc.worklist.borrow_mut().pop();
    let obj = if let Some(i) = queued {
        match inc.entries.borrow().get(i) {
            Some(e) => e.obj.get(),
            None => return,
        }
    } else {
        let i = inc.cursor.get();
        match next_entry(inc) {
            None => {
                inc.pass.set(Pass::Return);
                inc.cursor.set(0);
                return;
            }
            Some((obj, scratch)) if !obj.is_null() && scratch > 0 => {
                inc.entries.borrow()[i].scratch.set(MARKED);
                obj
            }
            Some(_) => return,
        }
    };
    if !obj.is_null() {
        // SAFETY: read just now from its entry.
        unsafe { trace_entry(obj, TraceKind::IncMark(inc)) };
    }
}

/// Return pass: give the entry at the cursor back, to `done` if marked,
/// else to `candidates`.
fn return_one(inc: &Incremental) {
    let i = inc.cursor.get();
    let entries = inc.entries.borrow();
    let Some(e) = entries.get(i) else { return };
    inc.cursor.set(i + 1);
    if let Some(ahead) = entries.get(i + AHEAD) {
        // (Only a hint, as in `next_entry`.)
        prefetch(ahead.obj.get().cast::<u8>());
    }
    let Some(l) = NonNull::new(e.obj.replace(core::ptr::null_mut())) else {
        return;
    };
    let to = if e.scratch.get() == MARKED {
        &inc.done
    } else {
        &inc.candidates
    };
    // SAFETY: a live object of the entries: in no list (its links are
    // rewritten whole).
    unsafe { to.push_back(l) };
}

/// End the phase's bookkeeping: no entries, no queue, idle; its lists are
/// left to the caller.
fn end_phase(inc: &Incremental) {
    *inc.entries.borrow_mut() = Vec::new();
    *inc.worklist.borrow_mut() = Vec::new();
    inc.cursor.set(0);
    inc.pass.set(Pass::Idle);
}

/// The final step, before its analysis: the phase ends, its reachable
/// objects go back in front of generation 2 (they are older than what
/// joined it meanwhile), and `work` receives the candidates.
pub(super) fn take_candidates(heap: &Heap, work: &List) {
    let inc = &heap.incremental;
    debug_assert!(ready(heap));
    end_phase(inc);
    inc.phases.set(inc.phases.get() + 1);
    let old = &heap.lists.gens[GENERATIONS - 1];
    inc.done.append(old);
    old.append(&inc.done);
    work.append(&inc.candidates);
}

/// Give every object of a running phase back to generation 2 unexamined,
/// in its original order, ahead of what joined it meanwhile (before
/// anything that needs every object in a generation list).
pub(crate) fn settle(heap: &Heap) {
    let inc = &heap.incremental;
    if !inc.active() {
        return;
    }
    let back = List::new_uninit();
    back.init();
    back.append(&inc.done);
    for e in inc.entries.borrow().iter() {
        if let Some(l) = NonNull::new(e.obj.replace(core::ptr::null_mut())) {
            // SAFETY: a live object of the entries, in no list.
            unsafe { back.push_back(l) };
        }
    }
    back.append(&inc.todo);
    back.append(&inc.candidates);
    let old = &heap.lists.gens[GENERATIONS - 1];
    back.append(old);
    old.append(&back);
    end_phase(inc);
}

/// Objects in the running phase (walks its lists and entries).
pub(super) fn len(heap: &Heap) -> usize {
    let inc = &heap.incremental;
    let live = inc
        .entries
        .borrow()
        .iter()
        .filter(|e| !e.obj.get().is_null())
        .count();
    live + inc.lists().iter().map(|l| l.len()).sum::<usize>()
}
