//! The tracing machinery: the [`Tracer`] that `Trace` impls report their
//! edges to, and what each kind of walk does with an edge. It lives below
//! the collector, which only chooses a [`TraceKind`] and reads the results;
//! nothing here is public but the opaque `Tracer` type.
//!
//! Invariants:
//! - An edge handed to a visitor points to a live object (the `Trace`
//!   contract: a value reports only the `Gc`s it owns, and it is alive while
//!   it is traced).
//! - While an object is under analysis (flagged `COLLECTING`) its
//!   `Links::prev` holds its scratch count ([`scratch`]); the visitors only
//!   touch the scratch counts and flags of such objects, the `prev` link of
//!   a rescued object (the [`MarkStack`]), and for a `DETACHED` target the
//!   heap's lists (re-attachment, outside the analysis).

use core::ptr::{self, NonNull};

use crate::header::{flags, links_of, Header, Links};
use crate::heap::incremental::{Incremental, MARKED};
use crate::prefetch::{prefetch, WALK_PREFETCH};

/// Receives the edges a [`Trace`](crate::Trace) impl reports. Only the collector creates
/// one; impls pass it on to their fields' `trace`.
///
/// ```
/// use gc_core::{Finalize, Gc, Trace, Tracer};
///
/// struct Wrapper(Vec<Gc<u8>>);
/// impl Finalize for Wrapper {}
/// // SAFETY: forwards to the one field, which owns the edges.
/// unsafe impl Trace for Wrapper {
///     fn trace(&self, tracer: &mut Tracer) {
///         self.0.trace(tracer)
///     }
/// }
/// let w = Gc::into_any(Gc::new(Wrapper(vec![Gc::new(1), Gc::new(2)])));
/// assert_eq!(gc_core::gc::referents(&w).len(), 2);
/// ```
pub struct Tracer {
    pub(crate) kind: TraceKind,
    /// Edges reported but not yet applied (subtract pass of a full
    /// collection only, where the heap is big and edges lead anywhere): each
    /// target is prefetched when reported and applied [`EDGE_DELAY`] edges
    /// later, so the cache misses of a scan's random edge targets overlap
    /// instead of stalling one after the other. Null slots are empty.
    delayed: [*mut Header; EDGE_DELAY],
    /// Edges reported so far; `reported % EDGE_DELAY` is the next slot.
    reported: usize,
}

/// How many edges a [`Tracer`] holds back (a power of two). Only the
/// subtract pass of a full collection delays edges: applying a subtraction
/// later never changes its result, and every pending edge is applied
/// ([`Tracer::flush`]) before the pass ends.
const EDGE_DELAY: usize = 8;

pub(crate) enum TraceKind {
    /// Subtract one from the scratch count of every target already met by
    /// the walk (flagged `COLLECTING`); edges to other objects that may be
    /// members (`IN_GEN`) or must be re-attached (`DETACHED`) are kept here
    /// and applied when the walk has flagged every member.
    Subtract(Vec<NonNull<Header>>),
    /// As `Subtract` in a full collection, where the members are the `IN_GEN`
    /// objects and a member's scratch count is set up on first contact.
    SubtractFull,
    /// Mark the targets in the collected set reachable and push them on the
    /// intrusive work stack.
    Mark(MarkStack),
    /// Record every target.
    Collect(Vec<NonNull<Header>>),
    /// Only bring every target into the cache (teardown looks one object
    /// ahead, so that the counts its drops decrement are at hand).
    Prefetch,
    /// As `Prefetch`, but only for targets more than [`WALK_PREFETCH`]
    /// bytes from `base` (nearer ones are covered by the walk's own
    /// prefetch), counting them in `far`: teardown probes with it whether
    /// looking ahead pays.
    PrefetchProbe { base: usize, far: usize },
    /// A step of an incremental full collection's subtract pass: subtract
    /// one from the side-array scratch count of every target in its entries.
    IncSubtract(&'static Incremental),
    /// A step of its mark pass: mark every target in its entries reachable
    /// and queue it to be traced.
    IncMark(&'static Incremental),
}

impl Tracer {
    pub(crate) fn new(kind: TraceKind) -> Tracer {
        Tracer {
            kind,
            delayed: [core::ptr::null_mut(); EDGE_DELAY],
            reported: 0,
        }
    }

    /// Report one edge to the object with header `target`.
    ///
    /// # Safety
    /// `target` must be a live object that the traced value holds a `Gc` to.
    #[inline(always)]
    pub(crate) unsafe fn edge(&mut self, target: NonNull<Header>) {
        match &mut self.kind {
            TraceKind::SubtractFull => {}
            // Young generations are small and mostly in the cache.
            // SAFETY: a live target (caller).
            TraceKind::Subtract(pending) => return unsafe { subtract_edge(pending, target) },
            // Marking follows edges one after the other, so holding them
            // back would only delay the walk.
            // SAFETY: a live target (caller).
            TraceKind::Mark(stack) => return unsafe { mark_edge(stack, target) },
            TraceKind::Collect(out) => return out.push(target),
            TraceKind::Prefetch => return prefetch(target.as_ptr()),
            TraceKind::PrefetchProbe { base, far } => {
                if (target.as_ptr() as usize).abs_diff(*base) > WALK_PREFETCH {
                    *far += 1;
                    prefetch(target.as_ptr());
                }
                return;
            }
            // SAFETY: a live target (caller).
            TraceKind::IncSubtract(inc) => return unsafe { inc_subtract_edge(inc, target) },
            // SAFETY: a live target (caller).
            TraceKind::IncMark(inc) => return unsafe { inc_mark_edge(inc, target) },
        }
        prefetch(target.as_ptr());
        let slot = &mut self.delayed[self.reported % EDGE_DELAY];
        self.reported = self.reported.wrapping_add(1);
        let due = core::mem::replace(slot, target.as_ptr());
        if let Some(due) = NonNull::new(due) {
            // SAFETY: reported `EDGE_DELAY` edges ago; a traced object's
            // targets stay alive for the whole pass.
            unsafe { apply_delayed(due) };
        }
    }

    /// Tell the collector that this value cannot report its edges right now
    /// (a lock or a borrow held elsewhere keeps it from reading them), as
    /// gc-core's `RefCell`, `Mutex` and `RwLock` impls do when they are
    /// borrowed or locked. Whatever the value holds then counts as
    /// referenced from outside and survives this collection, and the
    /// collector will not skip the next one as provably empty: a hand-written
    /// `Trace` for a cell type of its own must call this whenever it reports
    /// fewer edges than the value owns.
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use gc_core::{gc, Finalize, Gc, Trace, Tracer};
    ///
    /// /// A cell whose contents are unreadable while `busy` is set.
    /// struct Guarded { busy: std::cell::Cell<bool>, inner: RefCell<Option<Gc<Guarded>>> }
    /// impl Finalize for Guarded {}
    /// // SAFETY: reports its one edge, or says it could not.
    /// unsafe impl Trace for Guarded {
    ///     fn trace(&self, tracer: &mut Tracer) {
    ///         if self.busy.get() {
    ///             tracer.incomplete();
    ///         } else {
    ///             self.inner.trace(tracer);
    ///         }
    ///     }
    /// }
    ///
    /// let a = Gc::new(Guarded { busy: true.into(), inner: RefCell::new(None) });
    /// *a.inner.borrow_mut() = Some(a.clone());
    /// let weak = Gc::downgrade(&a);
    /// drop(a);
    /// assert_eq!(gc::collect(), 0); // busy: kept this time
    /// weak.upgrade().unwrap().busy.set(false);
    /// assert_eq!(gc::collect(), 1); // and found by the next collection
    /// ```
    pub fn incomplete(&mut self) {
        crate::heap::epoch::mark_dirty();
    }

    /// Apply every delayed edge, oldest first. Passes call this before they
    /// read the counts or marks the edges change.
    pub(crate) fn flush(&mut self) {
        for i in 0..EDGE_DELAY {
            let idx = self.reported.wrapping_add(i) % EDGE_DELAY;
            let due = core::mem::replace(&mut self.delayed[idx], core::ptr::null_mut());
            if let Some(due) = NonNull::new(due) {
                // SAFETY: as in `edge`.
                unsafe { apply_delayed(due) };
            }
        }
    }
}

/// Apply one delayed edge (out of line: `edge` is inlined into every
/// `trace`).
///
/// # Safety
/// As [`subtract_edge_full`].
#[inline(never)]
unsafe fn apply_delayed(target: NonNull<Header>) {
    // SAFETY: forwarded from the caller.
    unsafe { subtract_edge_full(target) }
}

/// Intrusive stack of rescued objects waiting to be traced, linked through
/// `Links::prev`.
pub(crate) struct MarkStack {
    top: *mut Links,
}

impl MarkStack {
    pub(crate) fn new() -> MarkStack {
        MarkStack {
            top: ptr::null_mut(),
        }
    }

    /// # Safety
    /// `l` must be the links of a live tracked object in no list (a rescued
    /// object just taken out of `unreachable`), so its `prev` is free.
    #[inline]
    pub(crate) unsafe fn push(&mut self, l: NonNull<Links>) {
        // SAFETY: valid links (caller).
        unsafe { l.as_ref() }.prev.set(self.top);
        self.top = l.as_ptr();
    }

    /// The last object pushed, if any.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<NonNull<Links>> {
        let l = NonNull::new(self.top)?;
        // SAFETY: pushed links are valid work-list objects.
        self.top = unsafe { l.as_ref() }.prev.get();
        Some(l)
    }
}

/// The scratch count of an object under analysis (flagged `COLLECTING`).
#[inline]
pub(crate) fn scratch(l: &Links) -> usize {
    l.prev.get().addr()
}

/// Set the scratch count of an object under analysis.
#[inline]
pub(crate) fn set_scratch(l: &Links, n: usize) {
    l.prev.set(ptr::without_provenance_mut(n));
}

/// Tracer callback for phase 2 of a young collection: an edge to an object
/// that may be a member the walk has not met yet waits in `pending`. Only
/// `IN_GEN` objects can be members, and a `DETACHED` target must be
/// re-attached; edges to anything else (untracked, frozen, orphans) are
/// dropped at once, so `pending` holds at most the edges to tracked objects.
///
/// # Safety
/// `target` must be a live object.
#[inline]
unsafe fn subtract_edge(pending: &mut Vec<NonNull<Header>>, target: NonNull<Header>) {
    // SAFETY: live (caller).
    let hdr = unsafe { target.as_ref() };
    if hdr.has(flags::COLLECTING) {
        // SAFETY: a member under analysis.
        unsafe { subtract_one(target) };
    } else if hdr.has(flags::IN_GEN | flags::DETACHED) {
        pending.push(target);
    }
}

/// Subtract one from the scratch count of the work-list member `target`.
///
/// # Safety
/// `target` must be a live object flagged `COLLECTING`.
#[inline]
unsafe fn subtract_one(target: NonNull<Header>) {
    // SAFETY: `COLLECTING` objects are tracked and in the work list (caller).
    let l = unsafe { links_of(target).as_ref() };
    let n = scratch(l);
    debug_assert!(n > 0, "a Trace impl reported more edges than it owns");
    set_scratch(l, n.wrapping_sub(1));
}

/// Apply an edge `subtract_edge` held back, once every member is flagged.
///
/// # Safety
/// `target` must be a live object (the edge's holder is alive and unchanged
/// since it was traced, so its target is).
#[inline]
pub(crate) unsafe fn apply_pending(target: NonNull<Header>) {
    // SAFETY: live (caller).
    let hdr = unsafe { target.as_ref() };
    if hdr.has(flags::COLLECTING) {
        // SAFETY: a member under analysis.
        unsafe { subtract_one(target) };
    } else if hdr.has(flags::DETACHED) {
        // SAFETY: a live detached object.
        unsafe { reattach_slow(target) };
    }
}

/// Tracer callback for phase 2 of a full collection: the members are the
/// `IN_GEN` objects; the first edge to a member sets up its scratch count.
///
/// # Safety
/// `target` must be a live object.
#[inline]
unsafe fn subtract_edge_full(target: NonNull<Header>) {
    // SAFETY: live (caller).
    let hdr = unsafe { target.as_ref() };
    if hdr.has(flags::COLLECTING) {
        // SAFETY: a member under analysis.
        unsafe { subtract_one(target) };
    } else if hdr.has(flags::IN_GEN) {
        // SAFETY: `IN_GEN` objects are tracked and, in a full collection,
        // all in the work list (whose `prev` links are no longer used).
        let l = unsafe { links_of(target).as_ref() };
        set_scratch(l, hdr.strong.get() - 1);
        hdr.set(flags::COLLECTING);
    } else if hdr.has(flags::DETACHED) {
        // SAFETY: a live detached object.
        unsafe { reattach_slow(target) };
    }
}

/// An edge to an object `Gc::get_mut` detached: the traced holder reads its
/// only handle, so no `&mut` to the value is alive; track it again (from the
/// next collection on: it is not part of the running analysis).
///
/// # Safety
/// `target` must be a live detached object.
#[cold]
unsafe fn reattach_slow(target: NonNull<Header>) {
    // SAFETY: forwarded from the caller.
    unsafe { crate::heap::reattach(target) };
}

/// Tracer callback for phase 3: a target under analysis is reachable; one
/// the walk already moved to the unreachable list (`DEAD`) is taken back
/// and pushed to be traced.
///
/// # Safety
/// `target` must be a live object.
#[inline]
unsafe fn mark_edge(stack: &mut MarkStack, target: NonNull<Header>) {
    // SAFETY: live (caller).
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

/// Tracer callback for an incremental subtract step: a target in the
/// phase's entries loses one from its scratch count (an `IN_GEN` object is
/// tracked, so it has links; only the entries' objects carry a slot tag),
/// and a detached target is re-attached.
///
/// # Safety
/// `target` must be a live object.
#[inline]
unsafe fn inc_subtract_edge(inc: &Incremental, target: NonNull<Header>) {
    // SAFETY: live (caller).
    let hdr = unsafe { target.as_ref() };
    if hdr.has(flags::IN_GEN) {
        // SAFETY: a live tracked object.
        unsafe { inc.with_entry(links_of(target), |e| e.scratch.set(e.scratch.get() - 1)) };
    } else if hdr.has(flags::DETACHED) {
        // As in an atomic collection: the traced holder reads the detached
        // object's only handle, so no `&mut` to it is alive. It waits in
        // `reattached` (a step counts as collecting) and joins the next
        // collection's analysis, then generation 0.
        // SAFETY: a live detached object.
        unsafe { reattach_slow(target) };
    }
}

/// Tracer callback for an incremental mark step: a target in the phase's
/// entries not marked yet is marked and queued.
///
/// # Safety
/// `target` must be a live object.
#[inline]
unsafe fn inc_mark_edge(inc: &Incremental, target: NonNull<Header>) {
    // SAFETY: live (caller).
    if !unsafe { target.as_ref() }.has(flags::IN_GEN) {
        return;
    }
    // SAFETY: a live tracked object.
    let l = unsafe { links_of(target) };
    // SAFETY: as above.
    let newly = unsafe {
        inc.with_entry(l, |e| {
            let fresh = e.scratch.get() != MARKED;
            e.scratch.set(MARKED);
            fresh
        })
    };
    if newly == Some(true) {
        // SAFETY: as above.
        if let Some(i) = Incremental::slot_of(unsafe { l.as_ref() }) {
            inc.worklist.borrow_mut().push(i);
        }
    }
}
