//! The weak table: the [`WeakCell`] shared by all `Weak`s to an object,
//! keyed by the object's header address.
//!
//! Weak references do not live in the object header (that would cost every
//! object a word). The first `Gc::downgrade` of an object allocates its cell
//! (from the system allocator: a cleared cell may outlive the heap, held by a
//! `Weak` in another thread-local) and records it here; the object gets the
//! `HAS_WEAK` flag. When the object dies — count zero, or found unreachable
//! by the collector — the cell is *cleared* (target `None`) and leaves the
//! table, so the object's memory can be returned at once while `Weak`s to it
//! still exist.
//!
//! Invariants:
//! - An object has `HAS_WEAK` iff the table maps its address to a cell, and
//!   that cell's `target` points back to it.
//! - A cleared cell (`target == None`) is owned by its `Weak`s only and is
//!   freed by the last of them. The only other cell without a target is the
//!   one `Gc::new_cyclic` hands its closure before the object exists; it is
//!   attached to the object (or freed) when the closure returns.

use core::cell::Cell;
use core::ptr::NonNull;

use super::Heap;
use crate::header::{flags, Header};

/// The cell every `Weak` to one object shares.
pub(crate) struct WeakCell {
    /// The object, or `None` once it died.
    pub(crate) target: Cell<Option<NonNull<Header>>>,
    /// Number of `Weak`s owning the cell.
    pub(crate) weak: Cell<usize>,
}

/// `n + 1`, aborting on overflow (as `Rc` does for its counts).
pub(crate) fn inc(n: usize) -> usize {
    n.checked_add(1).unwrap_or_else(|| std::process::abort())
}

impl Heap {
    /// The cell of `h` with one more `Weak` counted in it, made if `h` has
    /// none yet.
    ///
    /// # Safety
    /// `h` must be a live object that is not `DEAD`.
    pub(crate) unsafe fn weak_cell_for(&self, h: NonNull<Header>) -> NonNull<WeakCell> {
        // SAFETY: live (caller).
        let hdr = unsafe { h.as_ref() };
        if hdr.has(flags::HAS_WEAK) {
            let cell = self.tables.weak_cells.borrow()[&h.addr().get()];
            // SAFETY: cells in the table are live.
            let c = unsafe { cell.as_ref() };
            c.weak.set(inc(c.weak.get()));
            return cell;
        }
        let cell = NonNull::from(Box::leak(Box::new(WeakCell {
            target: Cell::new(Some(h)),
            weak: Cell::new(1),
        })));
        self.tables
            .weak_cells
            .borrow_mut()
            .insert(h.addr().get(), cell);
        hdr.set(flags::HAS_WEAK);
        cell
    }

    /// Give the live object `h`, which has no cell, the target-less `cell`
    /// that `Gc::new_cyclic`'s closure got (the cell's target is set).
    ///
    /// # Safety
    /// `h` must be a live object without `HAS_WEAK`; `cell` a live cell
    /// whose target is `h`.
    pub(crate) unsafe fn attach_weak_cell(&self, h: NonNull<Header>, cell: NonNull<WeakCell>) {
        self.tables
            .weak_cells
            .borrow_mut()
            .insert(h.addr().get(), cell);
        // SAFETY: live (caller).
        unsafe { h.as_ref() }.set(flags::HAS_WEAK);
    }

    /// Number of `Weak`s to `h`.
    ///
    /// # Safety
    /// `h` must be a live object.
    pub(crate) unsafe fn weak_count_of(&self, h: NonNull<Header>) -> usize {
        // SAFETY: live (caller).
        if !unsafe { h.as_ref() }.has(flags::HAS_WEAK) {
            return 0;
        }
        let cell = self.tables.weak_cells.borrow()[&h.addr().get()];
        // SAFETY: cells in the table are live.
        unsafe { cell.as_ref() }.weak.get()
    }

    /// `h` died (or its teardown began): its weak references stop upgrading.
    ///
    /// # Safety
    /// `h` must be a live object (its memory still allocated).
    pub(crate) unsafe fn clear_weak(&self, h: NonNull<Header>) {
        if let Some(cell) = self.tables.weak_cells.borrow_mut().remove(&h.addr().get()) {
            // SAFETY: cells in the table are live; the `Weak`s now own it alone.
            unsafe { cell.as_ref() }.target.set(None);
        }
        // SAFETY: live (caller).
        unsafe { h.as_ref() }.clear(flags::HAS_WEAK);
    }
}
