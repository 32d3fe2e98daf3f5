//! `Weak<T>`: non-owning references that are cleared when their target dies.
//!
//! Every `Weak` to an object shares one cell of the heap's weak table
//! (`heap::weak_cells`, which says how cells are made and cleared); `upgrade`
//! returns `None` once the cell is cleared, which happens when the object
//! dies — count zero, or found unreachable by the collector. So an object's
//! memory is returned at once even while weak references to it exist.
//!
//! Invariants:
//! - A `Weak` owns one count of its cell (or has none: `Weak::new`).
//! - An object whose teardown began (`DEAD`) never gets a cell again.

use core::fmt;
use core::marker::PhantomData;
use core::ptr::NonNull;

use crate::header::{flags, Header};
use crate::heap;
use crate::heap::weak_cells::{inc, WeakCell};
use crate::vtable::{box_of, GcPointee};
use crate::Gc;

/// A weak reference to a [`Gc`] object: it does not keep the object alive and
/// is not an edge for the collector. [`upgrade`](Weak::upgrade) gives a `Gc`
/// while the object lives, `None` once it is being destroyed — including when
/// the collector found it in a garbage cycle (weak references are cleared
/// before any finalizer runs).
///
/// ```
/// use gc_core::{Gc, Weak};
///
/// let strong = Gc::new(5);
/// let weak: Weak<i32> = Gc::downgrade(&strong);
/// assert_eq!(*weak.upgrade().unwrap(), 5);
/// drop(strong);
/// assert!(weak.upgrade().is_none());
/// ```
pub struct Weak<T: ?Sized> {
    cell: Option<NonNull<WeakCell>>,
    _marker: PhantomData<*const T>,
}

impl<T: ?Sized> Weak<T> {
    /// A weak reference to nothing: [`upgrade`](Weak::upgrade) always returns `None`.
    /// Does not allocate.
    ///
    /// ```
    /// use gc_core::Weak;
    /// let w: Weak<String> = Weak::new();
    /// assert!(w.upgrade().is_none());
    /// ```
    pub const fn new() -> Weak<T> {
        Weak {
            cell: None,
            _marker: PhantomData,
        }
    }

    fn cell(&self) -> Option<&WeakCell> {
        // SAFETY: a `Weak` owns one count of its cell, which keeps it allocated.
        self.cell.map(|c| unsafe { &*c.as_ptr() })
    }

    fn target(&self) -> Option<NonNull<Header>> {
        self.cell().and_then(|c| c.target.get())
    }

    /// Number of `Gc` handles to the target (0 once it is gone).
    ///
    /// ```
    /// use gc_core::Gc;
    /// let a = Gc::new(1);
    /// let w = Gc::downgrade(&a);
    /// assert_eq!(w.strong_count(), 1);
    /// drop(a);
    /// assert_eq!(w.strong_count(), 0);
    /// ```
    pub fn strong_count(&self) -> usize {
        // SAFETY: a set target is a live object (cells are cleared first).
        self.target()
            .map_or(0, |h| unsafe { h.as_ref() }.strong.get())
    }

    /// Number of `Weak`s to the target (0 once it is gone).
    ///
    /// ```
    /// use gc_core::Gc;
    /// let a = Gc::new(1);
    /// let w = Gc::downgrade(&a);
    /// let _w2 = w.clone();
    /// assert_eq!(w.weak_count(), 2);
    /// ```
    pub fn weak_count(&self) -> usize {
        match self.cell() {
            Some(c) if c.target.get().is_some() => c.weak.get(),
            _ => 0,
        }
    }

    /// Whether both point to the same object (or both to nothing).
    ///
    /// ```
    /// use gc_core::{Gc, Weak};
    /// let a = Gc::new(1);
    /// assert!(Weak::ptr_eq(&Gc::downgrade(&a), &Gc::downgrade(&a)));
    /// assert!(!Weak::ptr_eq(&Gc::downgrade(&a), &Weak::new()));
    /// ```
    pub fn ptr_eq(this: &Weak<T>, other: &Weak<T>) -> bool {
        this.cell == other.cell
    }
}

impl<T: ?Sized + GcPointee> Weak<T> {
    /// A `Gc` to the target if it is still alive.
    ///
    /// ```
    /// use gc_core::Gc;
    /// let a = Gc::new("x".to_string());
    /// let w = Gc::downgrade(&a);
    /// assert_eq!(*w.upgrade().unwrap(), "x");
    /// ```
    pub fn upgrade(&self) -> Option<Gc<T>> {
        let h = self.target()?;
        // SAFETY: a set target is alive and not dead: cells are cleared when
        // the count reaches zero and before any teardown.
        let hdr = unsafe { h.as_ref() };
        // (Never `DETACHED`: `downgrade` re-attaches, and `get_mut` does not
        // detach an object that has weak references.)
        debug_assert!(hdr.strong.get() > 0 && !hdr.has(flags::DEAD | flags::DETACHED));
        hdr.inc_strong();
        // SAFETY: the cell was made for an object of type `T`, and we just
        // took a strong count for the new handle.
        Some(unsafe { Gc::from_box(box_of::<T>(h)) })
    }
}

/// Make a weak reference to the object behind `h`.
///
/// # Safety
/// `h` must be a live object of type `T` (the caller holds a `Gc` to it).
pub(crate) unsafe fn downgrade<T: ?Sized>(h: NonNull<Header>) -> Weak<T> {
    // SAFETY: live (caller).
    let hdr = unsafe { h.as_ref() };
    if hdr.has(flags::DEAD) {
        return Weak::new();
    }
    let Some(heap) = heap::current() else {
        return Weak::new();
    };
    if hdr.has(flags::DETACHED) {
        // A weak reference can later make a new handle, and `&Gc` proves the
        // `&mut` from `get_mut` has ended (see `Heap::reattach`).
        // SAFETY: a live detached object.
        unsafe { heap.reattach(h) };
    }
    // SAFETY: live and not dead (checked above).
    let cell = unsafe { heap.weak_cell_for(h) };
    Weak {
        cell: Some(cell),
        _marker: PhantomData,
    }
}

/// Number of weak references to the live object `h`.
///
/// # Safety
/// `h` must be a live object (the caller holds a `Gc` to it).
pub(crate) unsafe fn weak_count(h: NonNull<Header>) -> usize {
    match heap::current() {
        // SAFETY: forwarded from the caller.
        Some(heap) => unsafe { heap.weak_count_of(h) },
        None => 0,
    }
}

impl<T: ?Sized> Clone for Weak<T> {
    /// Another weak reference to the same object.
    ///
    /// ```
    /// use gc_core::{Gc, Weak};
    /// let a = Gc::new(1);
    /// let w = Gc::downgrade(&a);
    /// assert!(Weak::ptr_eq(&w, &w.clone()));
    /// ```
    fn clone(&self) -> Weak<T> {
        if let Some(c) = self.cell() {
            c.weak.set(inc(c.weak.get()));
        }
        Weak {
            cell: self.cell,
            _marker: PhantomData,
        }
    }
}

impl<T: ?Sized> Drop for Weak<T> {
    fn drop(&mut self) {
        let Some(cell) = self.cell else { return };
        // SAFETY: this `Weak` owns a count of the cell.
        let c = unsafe { cell.as_ref() };
        let n = c.weak.get() - 1;
        c.weak.set(n);
        if n > 0 {
            return;
        }
        if let Some(h) = c.target.get() {
            // The target lives on without weak references.
            let Some(heap) = heap::current() else {
                // The heap is gone and the target leaked with it; the cell
                // stays in the heap's (leaked) weak table.
                return;
            };
            // SAFETY: the target is alive (the cell was not cleared).
            unsafe { heap.clear_weak(h) };
        }
        // SAFETY: the last owner of the cell; it came from `Box::leak`.
        drop(unsafe { Box::from_raw(cell.as_ptr()) });
    }
}

impl<T: ?Sized> Default for Weak<T> {
    /// Same as [`Weak::new`].
    ///
    /// ```
    /// let w: gc_core::Weak<u8> = Default::default();
    /// assert!(w.upgrade().is_none());
    /// ```
    fn default() -> Weak<T> {
        Weak::new()
    }
}

impl<T: ?Sized> fmt::Debug for Weak<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(Weak)")
    }
}

crate::trace::untraced_pointer!(
    /// Weak edges are never traced: a `Weak` does not keep its target alive.
    Weak
);
