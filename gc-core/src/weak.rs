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
//! A `Weak<T>` is one pointer for every `T`. For a sized `T` it points to the
//! cell itself: the cell's thin `target` is all `upgrade` needs. For an
//! unsized `T` (`str`, `[T]`, `dyn Trait`) `upgrade` must rebuild a fat
//! pointer, and a `[T]` or `dyn Trait` made by [`coerce_gc!`](crate::coerce_gc)
//! has no length slot or other record of its metadata in the object; so such
//! a `Weak` points to a small [`FatWeak`] box instead, shared by its clones,
//! which holds the cell and the object's fat box pointer (taken from a `Gc<T>`,
//! so with the object's provenance and the right metadata).
//!
//! Invariants:
//! - An object has `HAS_WEAK` iff the weak table maps its address to a cell,
//!   and that cell's `target` points back to it.
//! - A cleared cell (`target == None`) is owned by its `Weak`s only and is
//!   freed by the last of them. The only other cell without a target is the
//!   one `Gc::new_cyclic` hands its closure before the object exists; it is
//!   attached to the object (or freed) when the closure returns.
//! - An object whose teardown began (`DEAD`) never gets a cell again.
//! - Every `Weak` handle (of any pointee type) owns one count of its cell,
//!   so `WeakCell::weak` is the number of `Weak`s to the object. A `FatWeak`
//!   is freed by the last handle sharing it; its `obj` is used only while the
//!   cell's target is set (the same object, still alive).

use core::cell::Cell;
use core::fmt;
use core::marker::PhantomData;
use core::ptr::{self, NonNull};

use crate::header::{flags, GcBox, Header};
use crate::heap::weak_cells::{inc, WeakCell};
use crate::heap::{self, Heap};
use crate::vtable::GcPointee;
use crate::Gc;

/// What a `Weak<T>` for an unsized `T` points to (see the module docs).
struct FatWeak<T: ?Sized> {
    /// Number of `Weak<T>` handles sharing this box.
    count: Cell<usize>,
    /// The object's cell; each handle sharing this box owns one count of it.
    cell: NonNull<WeakCell>,
    /// The object's box pointer, with its metadata, from a `Gc<T>`. Valid
    /// while `cell`'s target is set; dangling afterwards.
    obj: NonNull<GcBox<T>>,
}

/// Whether a pointer to `T` carries metadata (`T` is unsized).
#[inline(always)]
const fn is_fat<T: ?Sized>() -> bool {
    size_of::<*const T>() != size_of::<*const u8>()
}

/// The box pointer of an object of the thin type `T` with header `h`.
///
/// # Safety
/// `T` must be thin (`!is_fat::<T>()`): in practice a sized type that the
/// calling code only knows as `T: ?Sized`.
#[inline(always)]
unsafe fn thin_box<T: ?Sized>(h: NonNull<Header>) -> NonNull<GcBox<T>> {
    debug_assert!(!is_fat::<T>());
    // SAFETY: for a thin `T` both are one plain pointer; the copy keeps the
    // address and the provenance of `h` (a `GcBox` starts with its header).
    unsafe { ptr::read((&raw const h).cast::<NonNull<GcBox<T>>>()) }
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
///
/// A `Weak` is one pointer whatever `T` is. Weak references to unsized
/// targets (`Weak<str>`, `Weak<[T]>`, `Weak<dyn Trait>` from downgrading a
/// `Gc<dyn Trait>` or from [`coerce_weak!`](crate::coerce_weak)) share a
/// small extra allocation per [`Gc::downgrade`] that holds the target's
/// metadata.
pub struct Weak<T: ?Sized> {
    /// `None` for [`Weak::new`]; else the object's [`WeakCell`] if `T` is
    /// sized, a [`FatWeak<T>`] if it is not.
    ptr: Option<NonNull<u8>>,
    /// Not `Send` or `Sync`, and invariant in `T` (as `Gc`, see
    /// [`Invariant`](crate::pointer::Invariant)).
    _marker: PhantomData<(*const T, crate::pointer::Invariant<T>)>,
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
            ptr: None,
            _marker: PhantomData,
        }
    }

    /// A handle that owns one (already taken) count of `cell`, the cell of
    /// the object `obj` points to.
    fn from_cell(cell: NonNull<WeakCell>, obj: NonNull<GcBox<T>>) -> Weak<T> {
        let ptr = if is_fat::<T>() {
            let fat = Box::new(FatWeak {
                count: Cell::new(1),
                cell,
                obj,
            });
            NonNull::from(Box::leak(fat)).cast()
        } else {
            cell.cast()
        };
        Weak {
            ptr: Some(ptr),
            _marker: PhantomData,
        }
    }

    /// The shared box of an unsized `T`'s handle.
    #[inline]
    fn fat(&self) -> Option<&FatWeak<T>> {
        if !is_fat::<T>() {
            return None;
        }
        // SAFETY: for an unsized `T`, `ptr` is a `FatWeak<T>` that this
        // handle keeps allocated (it owns one of its counts).
        self.ptr.map(|p| unsafe { p.cast::<FatWeak<T>>().as_ref() })
    }

    #[inline]
    fn cell_ptr(&self) -> Option<NonNull<WeakCell>> {
        match self.fat() {
            Some(fat) => Some(fat.cell),
            None => self.ptr.map(NonNull::cast),
        }
    }

    #[inline]
    fn cell(&self) -> Option<&WeakCell> {
        // SAFETY: a `Weak` owns one count of its cell, which keeps it allocated.
        self.cell_ptr().map(|c| unsafe { &*c.as_ptr() })
    }

    #[inline]
    fn target(&self) -> Option<NonNull<Header>> {
        self.cell().and_then(|c| c.target.get())
    }

    /// The box pointer of the target, whose header is `h` (the cell's target).
    #[inline]
    fn box_ptr(&self, h: NonNull<Header>) -> NonNull<GcBox<T>> {
        match self.fat() {
            // The cell is not cleared, so `obj` is the live object `h`.
            Some(fat) => fat.obj,
            // SAFETY: `fat` is `None` for a handle with a target only if `T`
            // is thin.
            None => unsafe { thin_box::<T>(h) },
        }
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

    /// Whether both point to the same object, or both to nothing (as
    /// [`std::rc::Weak::ptr_eq`]; also callable as `Weak::ptr_eq(&a, &b)`).
    /// Only the object's identity is compared (for `dyn Trait` targets, not
    /// the vtable), and two weak references to an object that is gone still
    /// compare equal. After [`coerce_weak!`](crate::coerce_weak) of a `Weak`
    /// whose target was already gone, the result is an empty `Weak`.
    ///
    /// ```
    /// use gc_core::{Gc, Weak};
    /// let a = Gc::new(1);
    /// let (w1, w2) = (Gc::downgrade(&a), Gc::downgrade(&a));
    /// assert!(w1.ptr_eq(&w2));
    /// assert!(!Weak::ptr_eq(&w1, &Gc::downgrade(&Gc::new(1))));
    /// assert!(!Weak::ptr_eq(&w1, &Weak::new()));
    /// assert!(Weak::ptr_eq(&Weak::<u8>::new(), &Weak::new()));
    /// drop(a);
    /// assert!(Weak::ptr_eq(&w1, &w2));
    /// ```
    pub fn ptr_eq(&self, other: &Weak<T>) -> bool {
        self.cell_ptr() == other.cell_ptr()
    }

    /// A `Gc` to the target if it is still alive.
    ///
    /// ```
    /// use gc_core::Gc;
    /// let a = Gc::new("x".to_string());
    /// let w = Gc::downgrade(&a);
    /// assert_eq!(*w.upgrade().unwrap(), "x");
    /// let s: Gc<str> = Gc::from("y");
    /// assert_eq!(&*Gc::downgrade(&s).upgrade().unwrap(), "y");
    /// ```
    pub fn upgrade(&self) -> Option<Gc<T>> {
        let h = self.target()?;
        // SAFETY: a set target is allocated (cells are cleared at count zero
        // and before any teardown; after shutdown such objects are leaked).
        let hdr = unsafe { h.as_ref() };
        // Once the thread's heap is gone, an object whose count reaches zero
        // (its last handle dropped, or its value moved out by `try_unwrap`)
        // is leaked with its cell still set. That count of zero means gone:
        // the value may have been moved out, and a count must never come
        // back from zero.
        if hdr.strong.get() == 0 {
            return None;
        }
        // (Never `DETACHED`: making a weak re-attaches, and `get_mut` does
        // not detach an object that has weak references.)
        debug_assert!(!hdr.has(flags::DEAD | flags::DETACHED));
        hdr.inc_strong();
        // SAFETY: the handle was made for an object of type `T` (or one that
        // unsizes to it, with the metadata in `FatWeak::obj`), and we just
        // took a strong count for the new handle.
        Some(unsafe { Gc::from_box(self.box_ptr(h)) })
    }

    /// The box pointer of the live target, for [`coerce_weak!`](crate::coerce_weak);
    /// `None` if the target is gone (or this is `Weak::new()`).
    pub(crate) fn typed_ptr(&self) -> Option<NonNull<GcBox<T>>> {
        let h = self.target()?;
        Some(self.box_ptr(h))
    }

    /// The `Weak<U>` for `this` after its target's box pointer went through
    /// an unsizing coercion to `ptr`.
    ///
    /// # Safety
    /// `ptr` must be `this.typed_ptr()` (which was `Some`), coerced.
    pub(crate) unsafe fn coerce<U: ?Sized>(this: Weak<T>, ptr: NonNull<GcBox<U>>) -> Weak<U> {
        let Some(cell) = this.cell_ptr() else {
            return Weak::new();
        };
        if !is_fat::<U>() {
            // A thin result means no unsizing happened: `U` is `T`.
            let ptr = this.ptr;
            core::mem::forget(this);
            return Weak {
                ptr,
                _marker: PhantomData,
            };
        }
        // SAFETY: `this` owns a count of its cell, which keeps it allocated.
        let c = unsafe { cell.as_ref() };
        c.weak.set(inc(c.weak.get()));
        // The new handle owns the count just taken; `this` gives its own back.
        drop(this);
        Weak::from_cell(cell, ptr)
    }
}

impl<T: ?Sized + GcPointee> Weak<T> {
    /// The address of the target's value while it is alive (as
    /// [`std::rc::Weak::as_ptr`]); a null pointer once it is gone, and for
    /// [`Weak::new`]. (For a `Weak<dyn Trait>`, compare with
    /// [`Weak::ptr_eq`] instead.)
    ///
    /// ```
    /// use gc_core::{Gc, Weak};
    /// let a = Gc::new(7);
    /// let w = Gc::downgrade(&a);
    /// assert_eq!(Weak::as_ptr(&w), Gc::as_ptr(&a));
    /// // SAFETY: the target is alive (`a` holds it).
    /// assert_eq!(unsafe { *Weak::as_ptr(&w) }, 7);
    /// drop(a);
    /// assert!(Weak::as_ptr(&w).is_null());
    /// assert!(Weak::as_ptr(&Weak::<u8>::new()).is_null());
    /// ```
    pub fn as_ptr(&self) -> *const T {
        match self.typed_ptr() {
            // SAFETY: a live object; no reference is created.
            Some(b) => unsafe { &raw const (*b.as_ptr()).value },
            None => <T as crate::vtable::sealed::Pointee>::null(),
        }
    }
}

/// Make a weak reference to the object `b` points to.
pub(crate) fn downgrade<T: ?Sized>(b: NonNull<GcBox<T>>) -> Weak<T> {
    let h = b.cast::<Header>();
    match cell_for(h) {
        Some(cell) => Weak::from_cell(cell, b),
        None => Weak::new(),
    }
}

/// The cell of the live object `h`, with a new count taken for the caller
/// (made if it had none); `None` if the object is being torn down or the
/// heap is gone.
fn cell_for(h: NonNull<Header>) -> Option<NonNull<WeakCell>> {
    // SAFETY: the caller holds a `Gc` to `h`.
    let hdr = unsafe { h.as_ref() };
    if hdr.has(flags::DEAD) {
        return None;
    }
    let heap = heap::current()?;
    if hdr.has(flags::DETACHED) {
        // A weak reference can later make a new handle, and `&Gc` proves the
        // `&mut` from `get_mut` has ended (see `Heap::reattach`).
        // SAFETY: a live detached object.
        unsafe { heap.reattach(h) };
    }
    // SAFETY: live and not dead (checked above).
    Some(unsafe { heap.weak_cell_for(h) })
}

/// A `Weak` for `Gc::new_cyclic`'s closure: it owns a fresh cell with no
/// target yet, so it (and its clones) upgrade to `None` until
/// [`attach`] gives the cell its object. After the heap shut down, an
/// empty `Weak`.
pub(crate) fn new_unattached<T>() -> Weak<T> {
    if crate::collector::thread_heap().is_none() {
        return Weak::new();
    }
    let cell = NonNull::from(Box::leak(Box::new(WeakCell {
        target: Cell::new(None),
        weak: Cell::new(1),
    })));
    Weak {
        ptr: Some(cell.cast()),
        _marker: PhantomData,
    }
}

/// Make the cell of `weak` (from [`new_unattached`]) the cell of the new
/// object `h`, so that the `Weak`s sharing it upgrade from now on.
///
/// # Safety
/// `h` must be a live object of type `T` that has no cell and that no
/// collection analyses yet (not published).
pub(crate) unsafe fn attach<T>(weak: &Weak<T>, heap: &Heap, h: NonNull<Header>) {
    let Some(cell) = weak.cell_ptr() else { return };
    // SAFETY: `weak` owns a count of the cell; the caller guarantees `h`.
    let (c, hdr) = unsafe { (cell.as_ref(), h.as_ref()) };
    debug_assert!(c.target.get().is_none() && !hdr.has(flags::HAS_WEAK));
    c.target.set(Some(h));
    // SAFETY: as above.
    unsafe { heap.attach_weak_cell(h, cell) };
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
        if let Some(fat) = self.fat() {
            fat.count.set(inc(fat.count.get()));
        }
        Weak {
            ptr: self.ptr,
            _marker: PhantomData,
        }
    }
}

impl<T: ?Sized> Drop for Weak<T> {
    fn drop(&mut self) {
        let Some(cell) = self.cell_ptr() else { return };
        let last_share = self.fat().is_some_and(|fat| {
            let n = fat.count.get() - 1;
            fat.count.set(n);
            n == 0
        });
        if let (true, Some(p)) = (last_share, self.ptr) {
            // SAFETY: the last handle sharing the `FatWeak<T>`, which came
            // from `Box::leak` in `from_cell`.
            drop(unsafe { Box::from_raw(p.cast::<FatWeak<T>>().as_ptr()) });
        }
        // SAFETY: this handle owned a count of `cell`.
        unsafe { release_cell(cell) }
    }
}

/// Give back one count of `cell`, freeing it with the last one.
///
/// # Safety
/// The caller must own a count of `cell`, which it gives up.
unsafe fn release_cell(cell: NonNull<WeakCell>) {
    // (The reference to the cell ends before the cell is freed.)
    {
        // SAFETY: the caller owns a count of the cell.
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
    }
    // SAFETY: the last owner of the cell; it came from `Box::leak`.
    drop(unsafe { Box::from_raw(cell.as_ptr()) });
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
