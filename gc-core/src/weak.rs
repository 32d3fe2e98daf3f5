//! `Weak<T>`: non-owning references that are cleared when their target dies.
//!
//! Weak references do not live in the object header (that would cost every
//! object a word). The first `downgrade` of an object allocates a small
//! [`WeakCell`] and records it in the heap's weak table under the object's
//! address (the object gets the `HAS_WEAK` flag); every `Weak` to the object
//! shares that cell. When the object dies — count zero, or found unreachable
//! by the collector — the cell is *cleared* (its target set to `None`) and
//! leaves the table; `upgrade` returns `None` from then on. So an object's
//! memory is returned at once even while weak references to it exist.
//!
//! Invariants:
//! - An object has `HAS_WEAK` iff the weak table maps its address to a cell,
//!   and that cell's `target` points back to it.
//! - A cleared cell (`target == None`) is owned by its `Weak`s only and is
//!   freed by the last of them.
//! - An object whose teardown began (`DEAD`) never gets a cell again.

use core::cell::Cell;
use core::fmt;
use core::marker::PhantomData;
use core::ptr::NonNull;

use crate::header::{box_of, flags, GcPointee, Header};
use crate::heap::{self, Heap};
use crate::Gc;

/// Shared by all `Weak`s to one object.
pub(crate) struct WeakCell {
    target: Cell<Option<NonNull<Header>>>,
    weak: Cell<usize>,
}

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
        debug_assert!(hdr.strong.get() > 0 && !hdr.has(flags::DEAD));
        hdr.inc_strong();
        // SAFETY: the cell was made for an object of type `T`, and we just
        // took a strong count for the new handle.
        Some(unsafe { Gc::from_header(box_of::<T>(h)) })
    }
}

/// Make a weak reference to the object behind `h`.
pub(crate) fn downgrade<T: ?Sized>(h: NonNull<Header>) -> Weak<T> {
    // SAFETY: the caller holds a `Gc` to `h`.
    let hdr = unsafe { h.as_ref() };
    if hdr.has(flags::DEAD) {
        return Weak::new();
    }
    let Some(heap) = heap::current() else {
        return Weak::new();
    };
    let cell = if hdr.has(flags::HAS_WEAK) {
        let cell = heap.weak_cells.borrow()[&h.addr().get()];
        // SAFETY: cells in the table are live.
        let c = unsafe { cell.as_ref() };
        c.weak.set(inc(c.weak.get()));
        cell
    } else {
        // Cells come from the system allocator, not the heap's pools: a
        // cleared cell may outlive the heap (a `Weak` in another
        // thread-local) and must not keep the heap's memory alive.
        let cell = NonNull::from(Box::leak(Box::new(WeakCell {
            target: Cell::new(Some(h)),
            weak: Cell::new(1),
        })));
        heap.weak_cells.borrow_mut().insert(h.addr().get(), cell);
        hdr.set(flags::HAS_WEAK);
        cell
    };
    Weak {
        cell: Some(cell),
        _marker: PhantomData,
    }
}

fn inc(n: usize) -> usize {
    n.checked_add(1).unwrap_or_else(|| std::process::abort())
}

/// Number of weak references to the live object `h`.
pub(crate) fn weak_count(h: NonNull<Header>) -> usize {
    // SAFETY: the caller holds a `Gc` to `h`.
    if !unsafe { h.as_ref() }.has(flags::HAS_WEAK) {
        return 0;
    }
    let Some(heap) = heap::current() else {
        return 0;
    };
    let cell = heap.weak_cells.borrow()[&h.addr().get()];
    // SAFETY: cells in the table are live.
    unsafe { cell.as_ref() }.weak.get()
}

/// The object is dying: clear its cell so no `Weak` can reach it.
pub(crate) fn clear(heap: &Heap, h: NonNull<Header>) {
    // SAFETY: the caller passes a live object.
    let hdr = unsafe { h.as_ref() };
    if let Some(cell) = heap.weak_cells.borrow_mut().remove(&h.addr().get()) {
        // SAFETY: cells in the table are live; the `Weak`s now own it alone.
        unsafe { cell.as_ref() }.target.set(None);
    }
    hdr.clear(flags::HAS_WEAK);
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
            heap.weak_cells.borrow_mut().remove(&h.addr().get());
            // SAFETY: the target is alive (the cell was not cleared).
            unsafe { h.as_ref() }.clear(flags::HAS_WEAK);
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

/// As for [`Gc`]: a `Weak<T>` hands out shared access to `T` only, so it is
/// unwind safe when `T` is [`RefUnwindSafe`](std::panic::RefUnwindSafe).
/// (std's `rc::Weak` happens not to be, an accident of its `Cell` counts;
/// `sync::Weak` is.)
///
/// ```
/// use gc_core::Gc;
/// let n = Gc::new(5);
/// let w = Gc::downgrade(&n);
/// let r = std::panic::catch_unwind(|| w.upgrade().map(|g| *g));
/// assert_eq!(r.ok(), Some(Some(5)));
/// ```
impl<T: ?Sized + std::panic::RefUnwindSafe> std::panic::UnwindSafe for Weak<T> {}
/// As for [`Gc`]: see the [`UnwindSafe`](std::panic::UnwindSafe) impl.
impl<T: ?Sized + std::panic::RefUnwindSafe> std::panic::RefUnwindSafe for Weak<T> {}
