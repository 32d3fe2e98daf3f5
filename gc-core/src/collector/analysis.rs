//! Trial deletion: which objects of a work list are unreachable (CPython's
//! `update_refs`, `subtract_refs` and `move_unreachable`).
//!
//! Invariants:
//! - During these phases only `next` of a work-list object is a list
//!   pointer (reversed by [`subtract_refs`]); once the object is set up
//!   (`COLLECTING`) its `Links::prev` holds its scratch count. An object
//!   moved to the unreachable list has real links there and is flagged
//!   `DEAD` until the walk ends; a rescued one's `prev` holds the stack link
//!   until it is kept. No user code runs here except `Trace::trace`.
//! - On return both lists are well-formed again.

use core::ptr::NonNull;

use super::{trace_object, AbortOnPanic, ListState, TRACE_PANICKED, WALK_PREFETCH};
use crate::header::{flags, header_of, Header, Links};
use crate::heap::Heap;
use crate::list::List;
use crate::prefetch::prefetch;
use crate::tracer::{apply_pending, scratch, set_scratch, MarkStack, TraceKind, Tracer};

/// Capacity of the pending-edge buffer kept between young collections.
const PENDING_KEEP: usize = 1 << 12;

/// What [`find_unreachable`] found.
pub(super) struct Analysis {
    /// Objects left in the work list.
    pub(super) reachable: usize,
    /// Objects moved to the unreachable list.
    pub(super) unreachable: usize,
    /// Some unreachable object still has a finalizer to run.
    pub(super) finalizable: bool,
    /// Some unreachable object has weak references.
    pub(super) with_weak: bool,
}

/// Which objects a [`find_unreachable`] analysis covers.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Members {
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

/// Trial deletion on `work` (CPython's `deduce_unreachable`): the phases
/// [`subtract_refs`] and [`move_unreachable`]. Afterwards `work` holds the
/// reachable objects (flag cleared, in their original order except that
/// rescued objects come just before the object whose tracing rescued them)
/// and `unreachable` (which must be empty) the others, in their original
/// order, prepared for teardown: flagged `DEAD` (and still `COLLECTING`) and
/// out of the generations (`IN_GEN` cleared); their weak references are
/// still set ([`Analysis::with_weak`] says whether any has some). A caller
/// that runs finalizers first must revive them (clear `DEAD`) and, before
/// analysing them again, clear `COLLECTING` and set `IN_GEN`: every member of
/// `work` must be flagged `IN_GEN` and none `COLLECTING` on entry.
///
/// No user code runs but `Trace::trace`, whose contract forbids changing the
/// graph; a panic in it aborts (the lists are half rewritten meanwhile).
pub(super) fn find_unreachable(
    heap: &Heap,
    work: &List,
    unreachable: &List,
    members: Members,
) -> Analysis {
    let guard = AbortOnPanic(TRACE_PANICKED);
    let newest = subtract_refs(heap, work, members);
    let analysis = move_unreachable(work, newest, unreachable);
    core::mem::forget(guard);
    // The walk cleared `IN_GEN` on exactly the objects it left in
    // `unreachable`.
    heap.note_left_gen(analysis.unreachable);
    super::validate_list(work, ListState::Kept);
    super::validate_list(unreachable, ListState::Unreachable);
    analysis
}

/// Phases 1 and 2, *update refs* and *subtract refs*, in one walk over
/// `work`: each object's scratch count is set up (in `prev`, flagged
/// `COLLECTING`) to its strong count before its own edges are applied, and
/// every edge to a member subtracts one from the target's. An edge to an
/// object not set up yet is applied when that object is met (all
/// generations: every `IN_GEN` object is a member) or after the walk
/// (young: membership is known only then, so such edges wait in
/// `heap.pending_edges`).
///
/// Returns the newest object (or the sentinel): the walk reverses the
/// `next` chain, so that [`move_unreachable`] meets the newest objects
/// first. Afterwards only `next` of a work-list object is a list pointer,
/// and each member's scratch count is its number of references from outside
/// the work list.
///
/// Not inlined (nor is [`move_unreachable`]): each walk gets the registers
/// to itself. Inlined into one function, the two loops spilled their loop
/// bounds to the stack, which cost 1.5 % more instructions on a growing
/// ring than the single function this was split from (callgrind).
#[inline(never)]
fn subtract_refs(heap: &Heap, work: &List, members: Members) -> *mut Links {
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
            // SAFETY: the holder of the edge is a member, alive and
            // unchanged since it was traced.
            unsafe { apply_pending(target) };
        }
        pending.shrink_to(PENDING_KEEP);
        heap.pending_edges.set(pending);
    }
    reversed
}

/// Phase 3, mark and partition in one walk (CPython's `move_unreachable`),
/// newest objects first, from `newest` along the chain [`subtract_refs`]
/// reversed: in Rust an object can only be built pointing to older ones, so
/// what a reachable object reaches is mostly still ahead of the walk. Each
/// object the walk meets is either reachable (marked already, or a root: a
/// positive scratch count), then kept and traced, its targets ahead of the
/// walk marked; or tentatively unreachable, then moved to `unreachable` at
/// once (flagged `DEAD`, which means "in `unreachable`" until the walk
/// ends). An edge to such an object takes it back (rescues it): it is kept
/// and traced at once. Both lists are rebuilt front first, which restores
/// the original order; afterwards both are well-formed.
#[inline(never)]
fn move_unreachable(work: &List, newest: *mut Links, unreachable: &List) -> Analysis {
    let end = work.head_ptr();
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
    let mut cur = newest;
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
    Analysis {
        reachable: scan.kept,
        unreachable: scan.moved,
        finalizable: scan.finalizable > 0,
        with_weak: scan.with_weak > 0,
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
