//! The state of an incremental full collection (see
//! `collector::incremental` for the algorithm and its guarantees): the old
//! objects it analyses, each with its scratch count in a side array instead
//! of its `Links::prev`, so that the program can run, free objects and move
//! others between steps.
//!
//! Invariants:
//! - While a phase runs, every object that was in a generation when it
//!   began and is still alive and `IN_GEN` is in exactly one of: `todo` (not
//!   met yet; real links), [`Entry`] slot `i` of `entries` (then it is in no
//!   list, its `next` is itself and its `prev` is the tag `2 * i + 1`, an odd
//!   value no real links pointer has: links are at least 8-aligned, and
//!   any even alignment would do), `done` (found
//!   reachable) or `candidates` (not found reachable; real links). It keeps
//!   `IN_GEN`, so the heap's member count is unchanged.
//! - A slot's `obj` is null or the live object whose `prev` holds the slot's
//!   tag: [`Incremental::forget`] clears it when the object is freed or
//!   detached, before the block can be reused. Only code that calls no user
//!   code mutably borrows `entries`.
//! - Outside a phase every list here is empty and `entries` is empty.

use core::cell::{Cell, RefCell};
use core::ptr::{self, NonNull};

use crate::header::Links;
use crate::list::List;

/// One object of the analysed old set.
pub(crate) struct Entry {
    /// The object, or null once it was freed, detached or given back.
    pub(crate) obj: Cell<*mut Links>,
    /// Its scratch count (strong count minus the edges from the set seen so
    /// far), or [`MARKED`] once it was found reachable.
    pub(crate) scratch: Cell<isize>,
}

/// The scratch value of an entry found reachable.
pub(crate) const MARKED: isize = isize::MIN;

/// Which pass of the phase runs (each spread over steps).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pass {
    /// No phase.
    Idle,
    /// Moving the objects of `todo` into `entries`, scratch := strong count.
    Enumerate,
    /// Tracing each entry, subtracting its edges into the set.
    Subtract,
    /// Marking from the entries with a positive count.
    Mark,
    /// Giving the entries back: reachable ones to `done`, the rest to
    /// `candidates`.
    Return,
}

/// Per-heap state of the incremental full collection.
pub(crate) struct Incremental {
    /// `gc::set_incremental`.
    pub(crate) enabled: Cell<bool>,
    pub(crate) pass: Cell<Pass>,
    /// Next entry the running pass looks at.
    pub(crate) cursor: Cell<usize>,
    /// Objects a step of the running phase handles (fixed at its start).
    pub(crate) step_work: Cell<usize>,
    /// The candidate epoch (`heap::epoch`) when the running phase began.
    pub(crate) started_at: Cell<u64>,
    pub(crate) entries: RefCell<Vec<Entry>>,
    /// Entries marked reachable whose edges are not traced yet.
    pub(crate) worklist: RefCell<Vec<usize>>,
    pub(crate) todo: List,
    pub(crate) done: List,
    pub(crate) candidates: List,
    /// Phases finished (for tests and statistics).
    pub(crate) phases: Cell<usize>,
}

impl Incremental {
    pub(crate) const fn new() -> Incremental {
        Incremental {
            enabled: Cell::new(false),
            pass: Cell::new(Pass::Idle),
            cursor: Cell::new(0),
            step_work: Cell::new(0),
            started_at: Cell::new(0),
            entries: RefCell::new(Vec::new()),
            worklist: RefCell::new(Vec::new()),
            todo: List::new_uninit(),
            done: List::new_uninit(),
            candidates: List::new_uninit(),
            phases: Cell::new(0),
        }
    }

    /// The lists, for [`List::init`] once the heap has its address.
    pub(crate) fn lists(&self) -> [&List; 3] {
        [&self.todo, &self.done, &self.candidates]
    }

    /// Whether a phase runs.
    #[inline]
    pub(crate) fn active(&self) -> bool {
        self.pass.get() != Pass::Idle
    }

    /// The entry index an object's `prev` holds while it is in `entries`.
    #[inline]
    pub(crate) fn slot_of(l: &Links) -> Option<usize> {
        let p = l.prev.get().addr();
        (p & 1 == 1).then_some(p >> 1)
    }

    /// Tag `l` as the object of slot `i` (it is in no list).
    ///
    /// # Safety
    /// `l` must be the links of a live tracked object in no list.
    #[inline]
    pub(crate) unsafe fn tag(l: NonNull<Links>, i: usize) {
        // SAFETY: valid links (caller).
        let links = unsafe { l.as_ref() };
        links.next.set(l.as_ptr());
        links.prev.set(ptr::without_provenance_mut((i << 1) | 1));
    }

    /// The live entry of `l`, if `l` is in `entries`, with `f` applied.
    ///
    /// # Safety
    /// `l` must be the links of a live tracked object.
    #[inline]
    pub(crate) unsafe fn with_entry<R>(
        &self,
        l: NonNull<Links>,
        f: impl FnOnce(&Entry) -> R,
    ) -> Option<R> {
        // SAFETY: valid links (caller).
        let i = Self::slot_of(unsafe { l.as_ref() })?;
        let entries = self.entries.try_borrow().ok()?;
        let e = entries.get(i)?;
        (e.obj.get() == l.as_ptr()).then(|| f(e))
    }

    /// `l`, an object of `entries`, is being freed or detached: its slot
    /// forgets it and it becomes a self-loop (in no list).
    ///
    /// # Safety
    /// `l` must be the links of a live tracked object whose `prev` holds a
    /// slot tag.
    #[cold]
    #[inline(never)]
    pub(crate) unsafe fn forget(&self, l: NonNull<Links>) {
        // SAFETY: valid links (caller).
        unsafe { self.with_entry(l, |e| e.obj.set(ptr::null_mut())) };
        // SAFETY: valid links (caller).
        let links = unsafe { l.as_ref() };
        links.next.set(l.as_ptr());
        links.prev.set(l.as_ptr());
    }
}

/// Take a tracked object out of whatever it is in (a list, or the
/// incremental phase's entries), leaving it a self-loop.
///
/// # Safety
/// `l` must be the links of a live tracked object that is not under an
/// atomic analysis (its `prev` is a real pointer, a self-loop or a slot tag).
#[inline]
pub(crate) unsafe fn unlink_tracked(inc: &Incremental, l: NonNull<Links>) {
    // SAFETY: forwarded from the caller.
    if Incremental::slot_of(unsafe { l.as_ref() }).is_some() {
        // SAFETY: tagged links of a live object (checked, caller).
        unsafe { inc.forget(l) };
    } else {
        // SAFETY: real links (caller).
        unsafe { crate::list::unlink(l) };
    }
}
