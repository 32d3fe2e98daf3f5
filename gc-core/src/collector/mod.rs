//! The generational cycle collector (CPython's `Python/gc.c` algorithm).
//!
//! A collection of generation `g` analyses generations `0..=g` merged into
//! one work list:
//!
//! 1. *update refs*: each object's scratch count := its strong count, and the
//!    object is flagged `COLLECTING`. This happens in the walk of pass 2,
//!    when the walk meets the object, before its own edges are applied;
//! 2. *subtract refs*: tracing every object, each edge to a `COLLECTING`
//!    object subtracts one from the target's scratch count. What is left is
//!    the number of references from outside the work list. An edge to an
//!    object the walk has not met yet: in a full collection every `IN_GEN`
//!    object is a member, so the edge sets its target up on the spot; in a
//!    young collection membership is known only when the walk has flagged
//!    every member, so an edge to an `IN_GEN` object not flagged yet (a
//!    younger member, or an object of an older generation) waits in a
//!    buffer until then. Objects are built pointing to older ones, which the
//!    walk has met, so mostly only edges into older generations wait; the
//!    buffer is bounded by the young objects' edges to tracked objects. The
//!    walk also reverses the list's `next` chain, and in a full collection
//!    the edges it reports are applied a few at a time behind a prefetch
//!    (see `Tracer::edge`);
//! 3. *mark and partition* in one walk, newest objects first (CPython's
//!    `move_unreachable`): an object with a positive scratch count, or
//!    marked by an edge from a reachable object, is reachable: it is kept
//!    and traced, marking its targets. One with a zero count that is not
//!    marked yet moves to the unreachable list at once, tentatively; an edge
//!    found later takes it back and traces it at once (an intrusive stack,
//!    never recursion). Since an object can only be built pointing to older
//!    ones, the walk mostly meets a referrer before its targets, so few
//!    objects move twice. Both lists are rebuilt in their original order;
//!    reachable objects then move to the next generation.
//!
//! Before any of this, a collection that provably cannot find garbage is
//! skipped: no decrement to nonzero (nor anything else that can hide
//! garbage from an analysis) happened since the last analysis covering its
//! generations; see `heap::epoch` for the events and the proof. It still
//! does everything observable (counts, statistics, callbacks, debug output,
//! survivors aging), in `generations::skip_collection`.
//!
//! The walks also prefetch the memory a page ahead: generation lists are
//! mostly in allocation order, which the pools make address order.
//!
//! Garbage is then handled as PEP 442 prescribes: weak references cleared,
//! finalizers run (once per object life, user code!), reachability checked
//! again for resurrected objects, and the rest torn down: every value is
//! dropped while every allocation that can still reach it — through any
//! `Gc` left anywhere — is valid, and an allocation is freed only once no
//! handle to it remains (see `teardown`).
//!
//! Modules, one per concept, each phase a function named for what it does
//! (as in CPython's `gc.c`): [`analysis`] (`subtract_refs`,
//! `move_unreachable`), [`finalize`] (`clear_weakrefs`, `run_finalizers`,
//! the check for resurrection, `SAVEALL`), [`teardown`], [`generations`]
//! (aging, merging, freeze, the automatic policy), [`callbacks`] and
//! [`shutdown`] (thread exit). [`collect`] → [`collect_generations`] are
//! CPython's `_PyGC_Collect` → `gc_collect_main`; `validate_list` checks the
//! lists between phases in debug builds.
//!
//! Invariants:
//! - During phases 1–3 only `next` of a work-list object is a list pointer
//!   (reversed by phase 2); once the object is set up (`COLLECTING`) its
//!   `Links::prev` holds its scratch count. An object moved to the
//!   unreachable list has real links there and is flagged `DEAD` until the
//!   walk ends; a rescued one's `prev` holds the stack link until it is
//!   kept. No user code runs in these phases except `Trace::trace`, whose
//!   contract forbids changing the graph; a panic there aborts.
//! - Before any user code runs (callbacks, finalizers, drops), every tracked
//!   object is again in a well-formed list and only garbage carries
//!   `COLLECTING` (none does while finalizers run: the analysis after them
//!   starts from unflagged members).
//! - Only one collection runs at a time per heap (`Policy::collecting`); a
//!   collection requested from inside one returns 0.
//! - User code is never called while the collector holds a pointer it has
//!   not re-validated: across every call (callbacks, finalizers, drops, the
//!   debug sink) each object it still refers to is kept by a count it holds,
//!   or flagged `DEAD` (only the collector frees it), or found again through
//!   a list head afterwards; sink text is formatted before the call. Every
//!   such call is under `catch_unwind`, so no panic leaves a collection.

mod analysis;
mod callbacks;
mod finalize;
mod generations;
pub(crate) mod incremental;
mod shutdown;
mod teardown;

use core::ptr::NonNull;

use crate::header::{flags, header_of, Header};
use crate::heap::debug_flags::DebugFlags;
use crate::heap::hooks::{CallbackInfo, Phase};
use crate::heap::{epoch, Heap, GENERATIONS};
use crate::lifecycle;
use crate::list::List;
use crate::output;
use crate::prefetch::WALK_PREFETCH;
use crate::tracer::Tracer;

pub(crate) use generations::{collect_automatic, freeze, objects_of, unfreeze};
pub(crate) use shutdown::thread_heap;

/// Why a collection runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reason {
    /// A threshold was passed by an allocation.
    Automatic,
    /// `gc::collect`/`gc::collect_generation`.
    Manual,
    /// The thread is exiting: no callbacks run (as in CPython, whose
    /// shutdown collection skips them).
    Shutdown,
}

/// Call `trace` on the value of `h` with `tracer`.
///
/// # Safety
/// `h` must be a live object with an intact value.
#[inline]
unsafe fn trace_object(h: NonNull<Header>, tracer: &mut Tracer) {
    // SAFETY: forwarded from the caller.
    unsafe { (h.as_ref().vtable().trace)(h, tracer) }
}

/// Aborts the process with its message if dropped during unwinding. Around
/// the analysis a panic can only come from `Trace::trace`, and it would leave
/// the lists half rewritten; around a whole collection every call to user
/// code catches its panics, so an unwind reaching the guard is a bug in the
/// collector, and aborting is the only way not to leave objects linked into
/// list heads on a dead stack frame.
struct AbortOnPanic(&'static str);

/// The message of the guard around the analysis.
const TRACE_PANICKED: &str =
    "gc: a Trace::trace implementation panicked during a collection; aborting";

impl Drop for AbortOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.0);
            std::process::abort();
        }
    }
}

/// Collect generation `generation` (younger ones merged in): CPython's
/// `_PyGC_Collect`. Returns the number of unreachable objects found, or 0 if
/// a collection is running.
///
/// This level owns what is observable around a collection: the
/// `collecting` switch, callbacks (`Phase::Start` before, `Phase::Stop`
/// after; none at thread exit, as in CPython), `DebugFlags::STATS`, the
/// statistics, and the objects re-attached or queued meanwhile.
/// [`collect_generations`] does the work.
///
/// User code runs at these points only, each under `catch_unwind` (a panic is
/// reported and the collection goes on): the drops of objects an earlier
/// panic left in the deferred queue (before the collection begins), the
/// callbacks, the debug sink, the finalizers, the drops of the counts the
/// collector gives back after them, the value drops of the teardown, and the
/// drops of objects queued meanwhile. None of them is called while the
/// collector holds a pointer into a list or a header that the call could
/// invalidate: what is written to the sink is formatted first, and every loop
/// around a call re-reads its list afterwards.
pub(crate) fn collect(heap: &Heap, generation: usize, reason: Reason) -> usize {
    if heap.policy.collecting() {
        return 0;
    }
    // Objects a panicking drop left in the deferred queue are dead but their
    // values still hold handles, which the analysis would count as outside
    // references: destroy them first, as if that had happened before the
    // call.
    drain_deferred_unless_nested(heap);
    let guard = AbortOnPanic("gc: internal error: a panic escaped the collector; aborting");
    heap.policy.set_collecting(true);
    let callbacks = reason != Reason::Shutdown;
    let mut info = CallbackInfo {
        generation,
        collected: 0,
        uncollectable: 0,
    };
    if callbacks {
        callbacks::run_callbacks(heap, Phase::Start, &info);
    }
    let debug = heap.hooks.debug.get();
    let stats_start = debug.contains(DebugFlags::STATS).then(|| {
        (
            generations::generation_sizes(heap),
            std::time::Instant::now(),
        )
    });

    let (found, orphans) = collect_generations(heap, generation, reason, debug);

    if let Some((sizes, start)) = stats_start {
        output::output_to(
            heap,
            &format!(
                "gc: done: generation {generation}, objects per generation {} {} {} (frozen {}), \
                 {found} unreachable, {orphans} uncollectable, {:.6}s elapsed",
                sizes[0],
                sizes[1],
                sizes[2],
                sizes[3],
                start.elapsed().as_secs_f64()
            ),
        );
    }
    {
        let mut stats = heap.stats.borrow_mut();
        stats[generation].collections += 1;
        stats[generation].collected += found;
        stats[generation].uncollectable += orphans;
    }
    if generation == GENERATIONS - 1 {
        heap.pool.trim(Some(crate::heap::pool::ARENA_DECAY));
    }
    info.collected = found;
    info.uncollectable = orphans;
    if callbacks {
        callbacks::run_callbacks(heap, Phase::Stop, &info);
    }
    heap.end_reattach();
    heap.policy.set_collecting(false);
    drain_deferred_unless_nested(heap);
    core::mem::forget(guard);
    found
}

/// Destroy the objects waiting in the deferred queue, unless this runs inside
/// a destruction (a collection a `Drop` started), whose own loop drains the
/// queue when it unwinds to the outermost release.
fn drain_deferred_unless_nested(heap: &Heap) {
    if heap.destruction.depth.get() == 0 {
        lifecycle::drain_deferred_reporting(heap);
    }
}

/// The collection proper (CPython's `gc_collect_main`): generations
/// `0..=generation` merged into one work list, trial deletion, survivors
/// aged, and the garbage handled (weak references cleared, finalized,
/// checked again, torn down). Returns the unreachable objects found and the
/// orphans left (torn down, still referenced by a handle a `Drop` kept).
fn collect_generations(
    heap: &Heap,
    generation: usize,
    reason: Reason,
    debug: DebugFlags,
) -> (usize, usize) {
    if generation == GENERATIONS - 1 {
        if reason == Reason::Automatic && incremental::ready(heap) {
            return collect_incremental_final(heap, debug);
        }
        // An explicit full collection is the exact one: a running
        // incremental phase gives its objects back first.
        incremental::settle(heap);
    }
    generations::count_collection(heap, generation);
    if generation == GENERATIONS - 1 {
        // (An O(heap) walk: only where a scan of the heap is due anyway.)
        validate_members(heap);
    }
    let epoch = epoch::now();
    if generations::provably_empty(heap, generation, epoch) {
        generations::skip_collection(heap, generation, epoch);
        return (0, 0);
    }
    // Events from here on (a value that cannot be traced, drops during the
    // teardown) leave the next collection to analyse.
    heap.policy.analysed(generation, epoch);
    let work = List::new_uninit();
    work.init();
    generations::merge_generations(heap, generation, &work);
    let members = if generation == GENERATIONS - 1 {
        analysis::Members::AllGenerations
    } else {
        analysis::Members::WorkList
    };
    collect_work(heap, &work, members, debug, |survivors, n| {
        generations::age_survivors(heap, generation, survivors, n)
    })
}

/// The final step of an incremental full collection (see [`incremental`]):
/// the gen-2 collection whose analysis covers the phase's candidates and
/// generations 0 and 1, everything else counting as outside references.
/// Survivors join generation 2, and the long-lived rule restarts from it.
fn collect_incremental_final(heap: &Heap, debug: DebugFlags) -> (usize, usize) {
    generations::count_collection(heap, GENERATIONS - 1);
    let epoch = epoch::now();
    // With no event since the phase began, this finds what an atomic full
    // collection at its start would have (see `incremental`); otherwise it
    // is exact for generations 0 and 1 only (a superset of them is
    // analysed), and the next full collection analyses.
    let level = if incremental::clean_since_start(heap) {
        GENERATIONS - 1
    } else {
        GENERATIONS - 2
    };
    let work = List::new_uninit();
    work.init();
    incremental::take_candidates(heap, &work);
    heap.policy.analysed(level, epoch);
    generations::merge_generations(heap, GENERATIONS - 2, &work);
    collect_work(
        heap,
        &work,
        analysis::Members::WorkList,
        debug,
        |survivors, _| {
            let old = GENERATIONS - 1;
            heap.lists.gens[old].append(survivors);
            let policy = &heap.policy;
            policy.long_lived_pending.set(0);
            // Generations 0 and 1 are empty now: every member is in gen 2.
            policy.long_lived_total.set(heap.members());
            old
        },
    )
}

/// Trial deletion of `work` and what follows it: weak references of the
/// garbage cleared, survivors aged by `age` (given them and their number,
/// it returns the generation they joined), garbage finalized, checked again
/// and torn down. Returns the unreachable objects found and the orphans
/// left (torn down, still referenced by a handle a `Drop` kept).
fn collect_work(
    heap: &Heap,
    work: &List,
    members: analysis::Members,
    debug: DebugFlags,
    age: impl FnOnce(&List, usize) -> usize,
) -> (usize, usize) {
    validate_list(work, ListState::Members);
    let unreachable = List::new_uninit();
    unreachable.init();
    let analysis = analyse_with_reattached(heap, work, &unreachable, members);
    if analysis.with_weak {
        // A rescued object keeps its weaks: cleared only now.
        finalize::clear_weakrefs(heap, &unreachable);
    }
    let older = age(work, analysis.reachable);
    if debug.contains(DebugFlags::COLLECTABLE) {
        let lines = describe_all(&unreachable, "collectable");
        output_lines(heap, &lines);
    }
    let orphans = finalize::handle_garbage(heap, &unreachable, &analysis, older, debug);
    if analysis.unreachable > 0 {
        // Finalizers may have resurrected garbage, `SAVEALL` kept it, drops
        // left orphans: none of that is a decrement the epoch saw.
        epoch::mark_dirty();
    }
    (analysis.unreachable, orphans)
}

/// With debug assertions (not under Miri): between collections every
/// `IN_GEN` object is in a generation, and the heap's count of them is
/// right (a skipped full collection relies on it).
fn validate_members(heap: &Heap) {
    if !cfg!(debug_assertions) || cfg!(miri) {
        return;
    }
    let in_gens: usize = heap.lists.gens.iter().map(List::len).sum();
    assert_eq!(
        in_gens,
        heap.members(),
        "gc: internal error: IN_GEN count out of step"
    );
}

/// Trial deletion on `work`, repeated while it re-attaches objects
/// `Gc::get_mut` had detached: an edge from a member to such an object
/// proves it is no longer borrowed, and it may close a cycle with the
/// members (its only handle can be moved into an object it reaches, without
/// a new handle that would have re-attached it earlier). So it becomes a
/// member after all, and the analysis runs again over everything: the
/// survivors, the re-attached objects *and the garbage found so far*, which
/// goes back into the work list (revived as the finalization path revives
/// it). Re-analysing the garbage too keeps the answer exact: its edges into
/// the survivors are internal, not outside references, so a survivor that
/// only garbage referred to is found in the same collection (analysing the
/// survivors alone would count those edges as outside references and leave
/// such objects for the next collection). A chain of detached objects takes
/// one round per link; each round only happens when an analysis re-attached
/// something, which each detached object does once.
fn analyse_with_reattached(
    heap: &Heap,
    work: &List,
    unreachable: &List,
    members: analysis::Members,
) -> analysis::Analysis {
    let mut analysis = analysis::find_unreachable(heap, work, unreachable, members);
    while !heap.lists.reattached.is_empty() {
        heap.take_reattached(work);
        revive_for_reanalysis(heap, unreachable);
        work.append(unreachable);
        validate_list(work, ListState::Members);
        analysis = analysis::find_unreachable(heap, work, unreachable, members);
    }
    analysis
}

/// Undoes what [`analysis::find_unreachable`] did to the objects it found
/// unreachable (flagged `DEAD | COLLECTING`, out of the generations), so
/// that they can be members of another analysis: unflagged and `IN_GEN`, as
/// [`analysis::find_unreachable`] requires of its work list.
pub(super) fn revive_for_reanalysis(heap: &Heap, unreachable: &List) {
    for l in unreachable.iter() {
        // SAFETY: live objects of the unreachable list: no teardown has run
        // since the analysis put them there.
        let hdr = unsafe { header_of(l).as_ref() };
        hdr.clear(flags::DEAD | flags::COLLECTING);
        heap.enter_gen(hdr);
    }
}

/// What a list must look like between phases (see [`validate_list`]).
#[derive(Clone, Copy, PartialEq, Eq)]
enum ListState {
    /// Members about to be analysed: `IN_GEN`, not `COLLECTING`/`DEAD`
    /// (in a full collection some may already be set up: `COLLECTING`).
    Members,
    /// Reachable objects after the analysis: `IN_GEN`, not `COLLECTING`.
    Kept,
    /// Unreachable objects after the analysis: `DEAD | COLLECTING`, not
    /// `IN_GEN`.
    Unreachable,
}

/// CPython's `validate_list`, with debug assertions only: `list` is
/// well-formed (every `prev` is the reverse of a `next`) and its objects are
/// flagged as `state` says.
fn validate_list(list: &List, state: ListState) {
    if !cfg!(debug_assertions) || cfg!(miri) {
        // (Under Miri the walks would only repeat what Miri checks anyway.)
        return;
    }
    let end = list.head_ptr();
    let mut prev = end;
    for l in list.iter() {
        // SAFETY: list members are allocated tracked objects.
        let (links, hdr) = unsafe { (l.as_ref(), header_of(l).as_ref()) };
        assert_eq!(
            links.prev.get(),
            prev,
            "gc: internal error: list links broken"
        );
        prev = l.as_ptr();
        let ok = match state {
            ListState::Members => hdr.has(flags::IN_GEN) && !hdr.has(flags::DEAD),
            ListState::Kept => hdr.has(flags::IN_GEN) && !hdr.has(flags::COLLECTING | flags::DEAD),
            ListState::Unreachable => {
                hdr.has(flags::DEAD) && hdr.has(flags::COLLECTING) && !hdr.has(flags::IN_GEN)
            }
        };
        assert!(ok, "gc: internal error: object flags do not match the list");
    }
    // SAFETY: the sentinel is valid.
    let last = unsafe { (*end).prev.get() };
    assert_eq!(last, prev, "gc: internal error: list links broken");
}

/// `Type @ 0xaddr` of an object.
///
/// # Safety
/// `h` must be an allocated object (its header readable).
unsafe fn describe(h: NonNull<Header>) -> String {
    // SAFETY: allocated (caller).
    let name = (unsafe { h.as_ref() }.vtable().type_name)();
    format!("<{name} @ {:#x}>", h.addr().get())
}

/// One debug line `gc: {what} <Type @ 0xaddr>` per object of `list`, made
/// before any of them is written, since writing runs user code.
fn describe_all(list: &List, what: &str) -> Vec<String> {
    list.iter()
        // SAFETY: list members are allocated.
        .map(|l| format!("gc: {what} {}", unsafe { describe(header_of(l)) }))
        .collect()
}

/// Write `lines` to the debug sink (user code; it may do anything).
fn output_lines(heap: &Heap, lines: &[String]) {
    for line in lines {
        output::output_to(heap, line);
    }
}
