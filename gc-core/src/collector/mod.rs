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
//! The walks also prefetch the memory a page ahead: generation lists are
//! mostly in allocation order, which the pools make address order.
//!
//! Garbage is then handled as PEP 442 prescribes: weak references cleared,
//! finalizers run (once per object life, user code!), reachability checked
//! again for resurrected objects, and the rest torn down: every value is
//! dropped while every allocation that can still reach it — through any
//! `Gc` left anywhere — is valid, and an allocation is freed only once no
//! handle to it remains (see [`tear_down`]).
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
//! - Only one collection runs at a time per heap (`Heap::collecting`); a
//!   collection requested from inside one returns 0.
//! - User code is never called while the collector holds a pointer it has
//!   not re-validated: across every call (callbacks, finalizers, drops, the
//!   debug sink) each object it still refers to is kept by a count it holds,
//!   or flagged `DEAD` (only the collector frees it), or found again through
//!   a list head afterwards; sink text is formatted before the call. Every
//!   such call is under `catch_unwind`, so no panic leaves a collection.

use core::ptr::{self, NonNull};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::debug;
use crate::gc::{CallbackInfo, DebugFlags, Phase};
use crate::header::{flags, header_of, links_of, Header, Links};
use crate::heap::{Heap, GENERATIONS};
use crate::lifecycle;
use crate::list::List;
use crate::prefetch::prefetch;
use crate::trace::{TraceKind, Tracer};

/// How far ahead in memory the walks prefetch. Generation lists are mostly
/// in allocation order and the pools hand out blocks in address order, so
/// the objects a walk meets next usually lie just above (pass 2) or below
/// (pass 3, which walks backwards) the current one.
const WALK_PREFETCH: usize = 4096;

/// Capacity of the pending-edge buffer kept between young collections.
const PENDING_KEEP: usize = 1 << 12;

/// Garbage sets from this size on are torn down looking one object ahead.
const LOOK_AHEAD_MIN: usize = 1 << 14;

/// Why a collection runs (affects only reporting).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reason {
    /// A threshold was passed by an allocation.
    Automatic,
    /// `gc::collect`/`gc::collect_generation`.
    Manual,
    /// The thread is exiting.
    Shutdown,
}

/// Intrusive stack of rescued objects waiting to be traced, linked through
/// `Links::prev`.
pub(crate) struct MarkStack {
    top: *mut Links,
}

impl MarkStack {
    fn new() -> MarkStack {
        MarkStack {
            top: ptr::null_mut(),
        }
    }

    /// # Safety
    /// `l` must be the links of a live tracked object in no list (a rescued
    /// object just taken out of `unreachable`), so its `prev` is free.
    #[inline]
    unsafe fn push(&mut self, l: NonNull<Links>) {
        // SAFETY: valid links (caller).
        unsafe { l.as_ref() }.prev.set(self.top);
        self.top = l.as_ptr();
    }

    #[inline]
    fn pop(&mut self) -> Option<NonNull<Links>> {
        let l = NonNull::new(self.top)?;
        // SAFETY: pushed links are valid work-list objects.
        self.top = unsafe { l.as_ref() }.prev.get();
        Some(l)
    }
}

#[inline]
fn scratch(l: &Links) -> usize {
    l.prev.get().addr()
}

#[inline]
fn set_scratch(l: &Links, n: usize) {
    l.prev.set(ptr::without_provenance_mut(n));
}

/// Tracer callback for phase 2 of a young collection: an edge to an object
/// that may be a member the walk has not met yet waits in `pending`. Only
/// `IN_GEN` objects can be members, and a `DETACHED` target must be
/// re-attached; edges to anything else (untracked, frozen, orphans) are
/// dropped at once, so `pending` holds at most the edges to tracked objects.
#[inline]
pub(crate) fn subtract_edge(pending: &mut Vec<NonNull<Header>>, target: NonNull<Header>) {
    // SAFETY: an edge reported by `trace` points to a live object.
    let hdr = unsafe { target.as_ref() };
    if hdr.has(flags::COLLECTING) {
        subtract_one(target);
    } else if hdr.has(flags::IN_GEN | flags::DETACHED) {
        pending.push(target);
    }
}

/// Subtract one from the scratch count of the work-list member `target`.
#[inline]
fn subtract_one(target: NonNull<Header>) {
    // SAFETY: `COLLECTING` objects are tracked and in the work list.
    let l = unsafe { links_of(target).as_ref() };
    let n = scratch(l);
    debug_assert!(n > 0, "a Trace impl reported more edges than it owns");
    set_scratch(l, n.wrapping_sub(1));
}

/// Apply an edge `subtract_edge` held back, once every member is flagged.
#[inline]
fn apply_pending(target: NonNull<Header>) {
    // SAFETY: the edge's holder is alive and unchanged, so is the target.
    let hdr = unsafe { target.as_ref() };
    if hdr.has(flags::COLLECTING) {
        subtract_one(target);
    } else if hdr.has(flags::DETACHED) {
        reattach_slow(target);
    }
}

/// Tracer callback for phase 2 of a full collection: the members are the
/// `IN_GEN` objects; the first edge to a member sets up its scratch count.
#[inline]
pub(crate) fn subtract_edge_full(target: NonNull<Header>) {
    // SAFETY: an edge reported by `trace` points to a live object.
    let hdr = unsafe { target.as_ref() };
    if hdr.has(flags::COLLECTING) {
        subtract_one(target);
    } else if hdr.has(flags::IN_GEN) {
        // SAFETY: `IN_GEN` objects are tracked and, in a full collection,
        // all in the work list (whose `prev` links are no longer used).
        let l = unsafe { links_of(target).as_ref() };
        set_scratch(l, hdr.strong.get() - 1);
        hdr.set(flags::COLLECTING);
    } else if hdr.has(flags::DETACHED) {
        reattach_slow(target);
    }
}

/// An edge to an object `Gc::get_mut` detached: the traced holder reads its
/// only handle, so no `&mut` to the value is alive; track it again (from the
/// next collection on: it is not part of the running analysis).
#[cold]
fn reattach_slow(target: NonNull<Header>) {
    // SAFETY: a live detached object (the edge proves it is alive).
    unsafe { crate::heap::reattach(target) };
}

/// Tracer callback for phase 3.
#[inline]
pub(crate) fn mark_edge(stack: &mut MarkStack, target: NonNull<Header>) {
    // SAFETY: an edge reported by `trace` points to a live object.
    let hdr = unsafe { target.as_ref() };
    if hdr.has(flags::COLLECTING) {
        hdr.clear(flags::COLLECTING);
        if hdr.has(flags::DEAD) {
            // Moved to `unreachable` by the walk, which has passed it: take
            // it back and trace it now.
            // SAFETY: `COLLECTING` objects are tracked.
            let l = unsafe { links_of(target) };
            // SAFETY: objects in `unreachable` have real list links; after
            // the unlink its `prev` is free for the stack.
            unsafe {
                crate::list::unlink(l);
                stack.push(l);
            }
        }
    }
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

/// What [`find_unreachable`] found.
struct Analysis {
    reachable: usize,
    unreachable: usize,
    /// Some unreachable object still has a finalizer to run.
    finalizable: bool,
}

/// Which objects a [`find_unreachable`] analysis covers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Members {
    /// Every object in generations 0–2 (all merged into the work list): the
    /// `IN_GEN` flag tells membership, so the first edge to a member sets it
    /// up.
    AllGenerations,
    /// Just the objects of the work list (young generations, or garbage
    /// re-examined after finalizers; none flagged `COLLECTING` yet): the walk
    /// sets each one up when it meets it, and edges to objects not met yet
    /// wait until the walk ends.
    WorkList,
}

/// Phases 1–3 on `work`. Afterwards `work` holds the reachable objects (flag
/// cleared, in their original order except that rescued objects come just
/// before the object whose tracing rescued them) and `unreachable` (which
/// must be empty) the others, in their original order, prepared for
/// teardown: weak references cleared, flagged `DEAD` (and still
/// `COLLECTING`) and out of the generations (`IN_GEN` cleared). A caller that
/// runs finalizers first must revive them (clear `DEAD`) and, before
/// analysing them again, clear `COLLECTING` and set `IN_GEN`: every member of
/// `work` must be flagged `IN_GEN` and none `COLLECTING` on entry.
fn find_unreachable(heap: &Heap, work: &List, unreachable: &List, members: Members) -> Analysis {
    let guard = AbortOnPanic(TRACE_PANICKED);
    // 1.+2. update and subtract refs in one walk: each object's scratch
    //    count is set up (in `prev`, flagged `COLLECTING`) before its own
    //    edges are applied; an edge to an object not set up yet is applied
    //    when that object is met (all generations: every `IN_GEN` object is
    //    a member) or after the walk (young: membership is known only then).
    //    The walk also reverses the `next` chain, so that pass 3 meets the
    //    newest objects first.
    let kind = match members {
        Members::AllGenerations => TraceKind::SubtractFull,
        Members::WorkList => TraceKind::Subtract(heap.pending_edges.take()),
    };
    let mut tracer = Tracer::new(kind);
    let end = work.head_ptr();
    let mut reversed = end;
    // SAFETY: the sentinel's `next` is intact.
    let mut cur = unsafe { (*end).next.get() };
    while cur != end {
        // SAFETY: `cur` is a work-list object not yet walked; its `next` is
        // intact.
        let l = unsafe { NonNull::new_unchecked(cur) };
        // SAFETY: as above.
        let links = unsafe { l.as_ref() };
        cur = links.next.get();
        prefetch(l.as_ptr().cast::<u8>().wrapping_add(WALK_PREFETCH));
        links.next.set(reversed);
        reversed = l.as_ptr();
        // SAFETY: live work-list object.
        let h = unsafe { header_of(l) };
        // SAFETY: as above.
        let hdr = unsafe { h.as_ref() };
        debug_assert!(
            members == Members::AllGenerations || !hdr.has(flags::COLLECTING),
            "a young work-list member was set up before the walk met it"
        );
        if !hdr.has(flags::COLLECTING) {
            // First contact: set up its count before its own edges, which
            // may point to itself, are subtracted.
            set_scratch(links, hdr.strong.get());
            hdr.set(flags::COLLECTING);
        }
        // SAFETY: live objects with intact values.
        unsafe { trace_object(h, &mut tracer) };
    }
    tracer.flush();
    if let TraceKind::Subtract(mut pending) = tracer.kind {
        for target in pending.drain(..) {
            apply_pending(target);
        }
        pending.shrink_to(PENDING_KEEP);
        heap.pending_edges.set(pending);
    }
    // 3. mark and partition in one walk (CPython's `move_unreachable`),
    //    newest objects first: in Rust an object can only be built pointing
    //    to older ones, so what a reachable object reaches is mostly still
    //    ahead of the walk. Each object the walk meets is either reachable
    //    (marked already, or a root: a positive scratch count), then kept and
    //    traced, its targets ahead of the walk marked; or tentatively
    //    unreachable, then moved to `unreachable` at once (flagged `DEAD`,
    //    which means "in `unreachable`" until the walk ends). An edge to such
    //    an object takes it back (rescues it): it is kept and traced at once.
    //    Both lists are rebuilt front first, which restores the original
    //    order.
    let mut scan = Scan {
        first_kept: end,
        kept: 0,
        moved: 0,
        finalizable: 0,
        with_weak: 0,
    };
    // SAFETY: the sentinel; its `prev` becomes the last kept object.
    unsafe { (*end).prev.set(end) };
    let mut tracer = Tracer::new(TraceKind::Mark(MarkStack::new()));
    let mut cur = reversed;
    while cur != end {
        // SAFETY: `cur` is a work-list object the walk has not passed; its
        // (reversed) `next` is intact: marking writes only flags ahead.
        let l = unsafe { NonNull::new_unchecked(cur) };
        // SAFETY: as above; read before `l` is relinked.
        cur = unsafe { l.as_ref() }.next.get();
        prefetch(l.as_ptr().cast::<u8>().wrapping_sub(WALK_PREFETCH));
        // SAFETY: as above.
        let hdr = unsafe { header_of(l).as_ref() };
        if hdr.has(flags::COLLECTING) {
            // SAFETY: as above.
            if scratch(unsafe { l.as_ref() }) == 0 {
                scan.count_moved(hdr, 1);
                hdr.set(flags::DEAD);
                hdr.clear(flags::IN_GEN);
                // SAFETY: `l` leaves `work` (rebuilt by the walk) for
                // `unreachable`.
                unsafe { unreachable.push_front(l) };
                continue;
            }
            hdr.clear(flags::COLLECTING);
        }
        // SAFETY: `l` is reachable and its links are free (`next` was read).
        unsafe { scan.keep(l) };
        // SAFETY: as above.
        unsafe { trace_reachable(l, &mut tracer, &mut scan) };
    }
    // SAFETY: the sentinel; `first_kept` is it or the first kept object.
    unsafe {
        (*end).next.set(scan.first_kept);
        (*scan.first_kept).prev.set(end);
    }
    // 4. the objects left in `unreachable` are garbage: weak references to
    //    them are cleared now (a rescued object must keep its weaks).
    if scan.with_weak > 0 {
        for l in unreachable.iter() {
            // SAFETY: live garbage object.
            let h = unsafe { header_of(l) };
            // SAFETY: as above.
            if unsafe { h.as_ref() }.has(flags::HAS_WEAK) {
                crate::weak::clear(heap, h);
            }
        }
    }
    core::mem::forget(guard);
    Analysis {
        reachable: scan.kept,
        unreachable: scan.moved,
        finalizable: scan.finalizable > 0,
    }
}

/// Book-keeping of the mark-and-partition walk of [`find_unreachable`].
struct Scan {
    /// The first object of the rebuilt work list (or its sentinel).
    first_kept: *mut Links,
    /// Objects kept.
    kept: usize,
    /// Objects currently in `unreachable`.
    moved: usize,
    /// Of those, how many still have a finalizer to run.
    finalizable: usize,
    /// Of those, how many have weak references.
    with_weak: usize,
}

impl Scan {
    /// Count `hdr` into (`delta` 1) or out of (`delta` -1) the objects in
    /// `unreachable`.
    #[inline]
    fn count_moved(&mut self, hdr: &Header, delta: isize) {
        self.moved = self.moved.wrapping_add_signed(delta);
        if hdr.vtable().has_finalizer && !hdr.has(flags::FINALIZED) {
            self.finalizable = self.finalizable.wrapping_add_signed(delta);
        }
        if hdr.has(flags::HAS_WEAK) {
            self.with_weak = self.with_weak.wrapping_add_signed(delta);
        }
    }

    /// Put `l` in front of the rebuilt work list.
    ///
    /// # Safety
    /// `l` must be a marked work-list object whose links are free (the walk
    /// has read its `next`), and `first_kept` the front of the rebuilt list.
    #[inline]
    unsafe fn keep(&mut self, l: NonNull<Links>) {
        // SAFETY: both are valid links (caller); the sentinel's `prev` may
        // be written (it becomes the last kept object).
        unsafe {
            l.as_ref().next.set(self.first_kept);
            (*self.first_kept).prev.set(l.as_ptr());
        }
        self.first_kept = l.as_ptr();
        self.kept += 1;
    }
}

/// Trace the reachable object `l` (phase 3), then every object the tracing
/// rescued from `unreachable`, and what those rescue in turn.
///
/// # Safety
/// `l` must be a live work-list object with an intact value, marked and kept.
#[inline]
unsafe fn trace_reachable(l: NonNull<Links>, tracer: &mut Tracer, scan: &mut Scan) {
    // SAFETY: forwarded from the caller.
    unsafe { trace_object(header_of(l), tracer) };
    loop {
        let TraceKind::Mark(stack) = &mut tracer.kind else {
            unreachable!("the tracer was made for marking")
        };
        let Some(top) = stack.pop() else { break };
        // SAFETY: only rescued objects are pushed; they are live.
        let h = unsafe { header_of(top) };
        // SAFETY: as above.
        let hdr = unsafe { h.as_ref() };
        // Back in the generations, out of the garbage counts.
        scan.count_moved(hdr, -1);
        hdr.clear(flags::DEAD);
        hdr.set(flags::IN_GEN);
        // SAFETY: popped, so its `prev` is free; it is in no list.
        unsafe { scan.keep(top) };
        // SAFETY: live object with an intact value.
        unsafe { trace_object(h, tracer) };
    }
}

/// Collect generation `generation` (younger ones merged in). Returns the
/// number of unreachable objects found, or 0 if a collection is running.
///
/// User code runs at these points only, each under `catch_unwind` (a panic is
/// reported and the collection goes on): the callbacks (not at shutdown, as
/// in CPython), the debug sink, the finalizers, the drops of the counts the
/// collector gives back after them, the value drops of the teardown, and the
/// drops of objects queued meanwhile. None of them is called while the
/// collector holds a pointer into a list or a header that the call could
/// invalidate: what is written to the sink is formatted first, and every
/// loop around a call re-reads its list afterwards.
pub(crate) fn collect(heap: &Heap, generation: usize, reason: Reason) -> usize {
    if heap.collecting.get() {
        return 0;
    }
    let guard = AbortOnPanic("gc: internal error: a panic escaped the collector; aborting");
    heap.collecting.set(true);
    heap.update_trigger();
    let callbacks = reason != Reason::Shutdown;
    let mut info = CallbackInfo {
        generation,
        collected: 0,
        uncollectable: 0,
    };
    if callbacks {
        crate::gc::run_callbacks(heap, Phase::Start, &info);
    }
    let debug = heap.debug.get();
    let stats_start = debug
        .contains(DebugFlags::STATS)
        .then(|| (generation_sizes(heap), std::time::Instant::now()));

    // Counters, as CPython: this collection counts for the next generation.
    if generation + 1 < GENERATIONS {
        let c = &heap.counts[generation + 1];
        c.set(c.get() + 1);
    }
    for c in &heap.counts[..=generation] {
        c.set(0);
    }

    let work = List::new_uninit();
    work.init();
    // Oldest generation first, so that the work list is in allocation order
    // (which the analysis's newest-first walk relies on to be fast).
    for g in heap.gens[..=generation].iter().rev() {
        work.append(g);
    }
    let unreachable = List::new_uninit();
    unreachable.init();
    let members = if generation == GENERATIONS - 1 {
        Members::AllGenerations
    } else {
        Members::WorkList
    };
    let analysis = find_unreachable(heap, &work, &unreachable, members);

    // Survivors age by one generation.
    let older = (generation + 1).min(GENERATIONS - 1);
    if generation == GENERATIONS - 2 {
        let p = &heap.long_lived_pending;
        p.set(p.get() + analysis.reachable);
    } else if generation == GENERATIONS - 1 {
        heap.long_lived_pending.set(0);
        heap.long_lived_total.set(analysis.reachable);
    }
    heap.gens[older].append(&work);

    let found = analysis.unreachable;
    if debug.contains(DebugFlags::COLLECTABLE) {
        let lines = describe_all(&unreachable, "collectable");
        output_lines(heap, &lines);
    }
    let orphans = handle_garbage(heap, &unreachable, &analysis, older, debug);
    if let Some((sizes, start)) = stats_start {
        debug::output_to(
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
        crate::gc::run_callbacks(heap, Phase::Stop, &info);
    }
    heap.end_reattach();
    heap.collecting.set(false);
    heap.update_trigger();
    if heap.drop_depth.get() == 0 {
        lifecycle::drain_deferred_reporting(heap);
    }
    core::mem::forget(guard);
    found
}

/// Finalization, resurrection check and teardown of the objects in
/// `unreachable` (prepared by [`find_unreachable`]). Resurrected objects go to
/// generation `older`. Returns the number of orphans (torn down, but still
/// referenced by a handle a `Drop` impl kept).
fn handle_garbage(
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
        for l in unreachable.iter() {
            // SAFETY: live garbage objects.
            let hdr = unsafe { header_of(l).as_ref() };
            hdr.clear(flags::DEAD | flags::COLLECTING);
            hdr.set(flags::IN_GEN);
        }
    }
    if finalizable {
        run_finalizers(unreachable);
        // Finalizers may have resurrected some: analyse again. (Weak
        // references made meanwhile are cleared by this analysis too.)
        let work = List::new_uninit();
        work.init();
        work.append(unreachable);
        find_unreachable(heap, &work, unreachable, Members::WorkList);
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
    let n = tear_down(heap, unreachable, analysis.unreachable, &orphans);
    // Described before they join the heap's orphans, written after: the sink
    // may drop the handles that keep them, which frees them.
    if debug.contains(DebugFlags::UNCOLLECTABLE) {
        lines.extend(describe_all(&orphans, "uncollectable"));
    }
    heap.orphans.append(&orphans);
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
                crate::report::discard(payload);
                false
            })
        })
        .map(|h| {
            format!(
                "gc: resource {} released by the cycle collector, not when its last handle \
                 went: break the cycle (or close the resource) when done with it",
                describe(h)
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
unsafe fn give_back(h: NonNull<Header>) {
    // SAFETY: live while our count is held.
    let type_name = (unsafe { h.as_ref() }.vtable().type_name)();
    // SAFETY: the count is ours to give (caller).
    let handle = unsafe { crate::GcAny::from_header(h) };
    if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(handle))) {
        crate::report::panic_in("drop", type_name, payload);
    }
}

/// `SAVEALL`: garbage goes to `gc::garbage()` (strong handles) and ages into
/// generation `older` instead of being torn down.
fn save_all(heap: &Heap, garbage: &List, older: usize) {
    let mut saved = heap.garbage.borrow_mut();
    for l in garbage.iter() {
        // SAFETY: live garbage objects; the handle takes a new count.
        saved.push(unsafe { crate::GcAny::new_ref(header_of(l)) });
    }
    drop(saved);
    rejoin_generation(heap, garbage, older);
}

/// Garbage that survives after all (resurrected, or kept by `SAVEALL`) goes
/// back into generation `older`.
fn rejoin_generation(heap: &Heap, objects: &List, older: usize) {
    for l in objects.iter() {
        // SAFETY: live objects.
        let hdr = unsafe { header_of(l).as_ref() };
        hdr.clear(flags::COLLECTING | flags::DEAD);
        hdr.set(flags::IN_GEN);
    }
    heap.gens[older].append(objects);
}

/// `Type @ 0xaddr` of a live object.
fn describe(h: NonNull<Header>) -> String {
    // SAFETY: callers pass live objects (their memory is still allocated).
    let name = (unsafe { h.as_ref() }.vtable().type_name)();
    format!("<{name} @ {:#x}>", h.addr().get())
}

/// One debug line `gc: {what} <Type @ 0xaddr>` per object of `list`, made
/// before any of them is written, since writing runs user code.
fn describe_all(list: &List, what: &str) -> Vec<String> {
    list.iter()
        // SAFETY: list members are allocated.
        .map(|l| format!("gc: {what} {}", describe(unsafe { header_of(l) })))
        .collect()
}

/// Write `lines` to the debug sink (user code; it may do anything).
fn output_lines(heap: &Heap, lines: &[String]) {
    for line in lines {
        debug::output_to(heap, line);
    }
}

/// Objects in generations 0, 1, 2 and the permanent one (walks the lists).
fn generation_sizes(heap: &Heap) -> [usize; 4] {
    [
        heap.gens[0].len(),
        heap.gens[1].len(),
        heap.gens[2].len(),
        heap.permanent.len(),
    ]
}

/// Drop every value of `garbage` (all flagged `DEAD`) and free each object
/// once nothing refers to it any more, in one walk and a short second one:
/// an object whose count is zero once its own value is dropped is freed at
/// once; the others (still referred to by a member not yet dropped, or by a
/// handle a `Drop` impl kept) wait on a stack, and after the walk those whose
/// count has reached zero meanwhile are freed too. So every allocation of the
/// set stays valid while anything can still reach it. Objects still
/// referenced at the end become `ORPHAN`s in `orphans` (freed when their last
/// handle goes). Returns their number.
fn tear_down(heap: &Heap, garbage: &List, size: usize, orphans: &List) -> usize {
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
            debug::sites::forget(heap, h);
        }
        if vt.needs_drop {
            // SAFETY: each value is dropped exactly once, while every
            // object that can reach it is still allocated; `DEAD` makes any
            // access through a `Gc` panic instead of reading a dropped value.
            let result = catch_unwind(AssertUnwindSafe(|| unsafe { (vt.drop_value)(h) }));
            if let Err(payload) = result {
                crate::report::panic_in("drop", (vt.type_name)(), payload);
            }
        }
        heap.note_untracked();
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

/// An allocation passed the gen-0 threshold: collect the oldest generation
/// whose count exceeds its threshold (gen 2 only under the long-lived rule).
#[cold]
#[inline(never)]
pub(crate) fn collect_automatic(heap: &Heap) {
    for g in (0..GENERATIONS).rev() {
        if heap.counts[g].get() <= heap.thresholds[g].get() {
            continue;
        }
        if g == GENERATIONS - 1 && heap.long_lived_pending.get() < heap.long_lived_total.get() / 4 {
            continue;
        }
        collect(heap, g, Reason::Automatic);
        return;
    }
}
