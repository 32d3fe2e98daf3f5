//! `Gc<T>`: the reference-counted pointer.
//!
//! Invariants:
//! - A `Gc` owns one strong count of a live allocation made by [`Gc::new`] or
//!   one of the `From` impls, through a pointer derived from the raw
//!   allocation (so the header prefix is reachable from it).
//! - Clone and drop are plain count updates; the work when a count reaches
//!   zero is in `lifecycle::release`.
//! - Every access to the value goes through [`Gc::inner_value`], which panics
//!   if the collector already destroyed the value (`DEAD`).

use core::borrow::Borrow;
use core::cmp::Ordering;
use core::fmt;
use core::hash::{Hash, Hasher};
use core::marker::PhantomData;
use core::ops::Deref;
use core::ptr::{self, NonNull};

use crate::header::{
    flags, links_of, sized_box_layout, slice_box_layout, write_slice_len, BoxLayout, GcBox, Header,
};
use crate::heap::{self, Heap};
use crate::lifecycle;
use crate::list;
use crate::trace::{Finalize, Trace};
use crate::tracer::Tracer;
use crate::vtable::{box_of, new_header, slice_vtable_of, str_vtable, vtable_of, VTable};
use crate::weak::{self, Weak};

/// Makes `Gc<T>` and `Weak<T>` invariant in `T` (`T` appears both as an
/// argument and as a result) without taking away any auto trait, so that
/// the compiler's `Send`/`Sync` errors keep naming the raw pointers that
/// cause them. See [`Gc`] for why no variance is allowed.
pub(crate) type Invariant<T> = fn(&T) -> &T;

/// A pointer to a value on this thread's garbage-collected heap.
///
/// `Gc<T>` is reference counted like [`Rc`](std::rc::Rc): cloning adds a
/// count, dropping removes one, and when the count reaches zero the value's
/// [`Finalize::finalize`] runs, then the value is dropped and its memory
/// returned — immediately. Reference cycles, which counting alone never
/// frees, are found by the cycle collector (see [`gc`](crate::gc)), which
/// frees them automatically as allocations accumulate, or on
/// [`gc::collect`](crate::gc::collect).
///
/// `Gc` is neither `Send` nor `Sync`: every thread has its own heap. Mutation
/// goes through `Cell`/`RefCell` as with `Rc`.
///
/// Unlike `Rc`, `Gc<T>` (and [`Weak<T>`]) is *invariant* in `T`: a
/// `Gc<&'static str>` is not a `Gc<&'a str>`, nor is a
/// `Gc<for<'x> fn(&'x u8)>` a `Gc<fn(&'static u8)>`. The object keeps the
/// type it was created with — the collector runs that type's `Trace`,
/// `Finalize` and `Drop`, and [`GcAny`](crate::GcAny) downcasts to it — so
/// a handle naming a supertype could store a value through [`Gc::get_mut`]
/// that is later read as the creation type. A shorter-lived view is a
/// borrow (`&*g` coerces to `&&'a str`); unsizing to `dyn Trait` or a slice
/// goes through [`coerce_gc!`](crate::coerce_gc).
///
/// ```
/// use gc_core::{Finalize, Gc, Trace};
/// use std::cell::RefCell;
///
/// #[derive(Trace, Finalize)]
/// struct Node {
///     next: RefCell<Option<Gc<Node>>>,
/// }
///
/// let a = Gc::new(Node { next: RefCell::new(None) });
/// let b = Gc::new(Node { next: RefCell::new(Some(a.clone())) });
/// *a.next.borrow_mut() = Some(b.clone()); // a <-> b
/// drop((a, b));
/// assert_eq!(gc_core::gc::collect(), 2);
/// ```
pub struct Gc<T: ?Sized> {
    ptr: NonNull<GcBox<T>>,
    // Owns a `GcBox<T>` (for the drop check), and is invariant in `T`: the
    // object keeps the type it was created with (its vtable, `GcAny`'s
    // `TypeId`), so no handle may name a supertype of it (see
    // [`Invariant`]).
    _marker: PhantomData<(Invariant<T>, GcBox<T>)>,
}

impl<T: Trace> Gc<T> {
    /// Move `value` to the heap. If its type may own a `Gc`, the object is
    /// *tracked* (linked into generation 0, which may start an automatic
    /// collection); otherwise it costs what an `Rc` costs.
    ///
    /// ```
    /// use gc_core::Gc;
    /// let five = Gc::new(5);
    /// assert_eq!(*five, 5);
    /// assert!(!gc_core::gc::is_tracked(&five));
    /// ```
    #[inline]
    #[track_caller]
    pub fn new(value: T) -> Gc<T> {
        Gc::new_then(value, |_, _| {}, Publish::InGeneration)
    }

    /// [`Gc::new`], running `before_publish` on the initialised object just
    /// before it is published as `how` says (linked into generation 0,
    /// which may start a collection); `Gc::new_cyclic` attaches its weak
    /// cell there.
    #[inline]
    #[track_caller]
    pub(crate) fn new_then(
        value: T,
        before_publish: impl FnOnce(&Heap, NonNull<Header>),
        how: Publish,
    ) -> Gc<T> {
        // Asked once: the layout and the vtable must agree even if a
        // hand-written `needs_tracking` answers differently each time.
        let tracked = T::needs_tracking();
        let layout = if tracked {
            const { sized_box_layout::<T>(true) }
        } else {
            const { sized_box_layout::<T>(false) }
        };
        let vtable = vtable_of::<T>(tracked);
        let heap = crate::collector::thread_heap();
        // SAFETY: `layout` is the layout of a tracked/untracked box of `T`.
        let b: NonNull<GcBox<T>> = unsafe { alloc_box(heap, layout) }.cast();
        // SAFETY: freshly allocated with room for a `GcBox<T>` at `b`.
        unsafe {
            b.write(GcBox {
                header: new_header(vtable, 0),
                value,
            });
        }
        if let Some(heap) = heap {
            if heap.tracks_sites() {
                // SAFETY: the box is initialised and live.
                unsafe { record_site(heap, b.cast(), layout) };
            }
            before_publish(heap, b.cast());
        }
        // SAFETY: the box is fully initialised.
        unsafe { publish(heap, b.cast(), vtable, how) };
        Gc {
            ptr: b,
            _marker: PhantomData,
        }
    }

    /// The value, if this is the only `Gc` to it (weak references do not
    /// count, as with `Rc::try_unwrap`); otherwise the `Gc` back. The value
    /// moves out without being finalized or dropped, and existing `Weak`s to it
    /// stop upgrading.
    ///
    /// ```
    /// use gc_core::Gc;
    /// let a = Gc::new(3);
    /// assert_eq!(Gc::try_unwrap(a), Ok(3));
    /// let b = Gc::new(4);
    /// let _b2 = b.clone();
    /// assert!(Gc::try_unwrap(b).is_err());
    /// ```
    pub fn try_unwrap(this: Gc<T>) -> Result<T, Gc<T>> {
        this.header().assert_alive();
        if this.header().strong.get() != 1 {
            return Err(this);
        }
        let h = this.header_ptr();
        let this = core::mem::ManuallyDrop::new(this);
        // SAFETY: we hold the only strong count; the value is intact.
        let value = unsafe { ptr::read(&(*this.ptr.as_ptr()).value) };
        this.header().strong.set(0);
        if let Some(heap) = heap::current() {
            // SAFETY: the object is alive and about to be freed; its value has
            // been moved out.
            unsafe {
                lifecycle::unregister(heap, h);
                lifecycle::free(heap, h);
            }
        }
        Ok(value)
    }

    /// Like [`try_unwrap`](Gc::try_unwrap) but `None` instead of the `Gc`.
    ///
    /// ```
    /// use gc_core::Gc;
    /// assert_eq!(Gc::into_inner(Gc::new(7)), Some(7));
    /// ```
    pub fn into_inner(this: Gc<T>) -> Option<T> {
        Gc::try_unwrap(this).ok()
    }
}

/// Record the caller of `Gc::new` as the allocation site of `h`.
///
/// # Safety
/// `h` must be a live object of `layout`.
#[cold]
#[track_caller]
unsafe fn record_site(heap: &Heap, h: NonNull<Header>, layout: BoxLayout) {
    let at = core::panic::Location::caller();
    // SAFETY: live (caller).
    unsafe { heap.record_site(h, at, layout.layout.size()) };
}

/// Allocate the memory for a box; after the heap of the thread was shut
/// down, from the system allocator (such objects are never freed).
///
/// # Safety
/// `layout` must be a `BoxLayout` computed for the value that is written.
#[inline]
unsafe fn alloc_box(heap: Option<&'static Heap>, layout: BoxLayout) -> NonNull<Header> {
    let mem = match heap {
        Some(heap) => heap.alloc(layout.layout),
        None => heap::alloc_system(layout.layout),
    };
    // SAFETY: the header lies inside the allocation.
    unsafe { mem.add(layout.header_offset).cast() }
}

/// How [`publish`] hands a new tracked object to the collector.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Publish {
    /// Into generation 0, as every new object.
    InGeneration,
    /// Into generation 0 and at once out of it again, as `Gc::get_mut`
    /// would take it: *before* the automatic collection its allocation may
    /// start, whose user code (callbacks, finalizers, drops) could
    /// otherwise take a handle to it from `gc::objects` or `gc::referrers`.
    /// For a new object that must stay unique (`Gc::make_mut`'s copy).
    Detached,
}

/// Finish a new object: set up its links and, if tracked, hand it to
/// generation 0 (which may run an automatic collection), detached first if
/// `how` says so.
///
/// # Safety
/// `h` must be a fully initialised new object of `vtable`'s type.
#[inline]
unsafe fn publish(
    heap: Option<&'static Heap>,
    h: NonNull<Header>,
    vtable: &'static VTable,
    how: Publish,
) {
    if vtable.tracked {
        // SAFETY: tracked boxes were allocated with links.
        let links = unsafe { links_of(h) };
        match heap {
            Some(heap) => {
                // SAFETY: the links are in no list yet.
                let due = unsafe { heap.track_new(links) };
                if how == Publish::Detached {
                    // SAFETY: a live tracked object, just linked into
                    // generation 0; its only handle is about to be made.
                    unsafe { heap.detach_from_generations(h) };
                }
                if due {
                    crate::collector::collect_automatic(heap);
                }
            }
            // SAFETY: valid links memory.
            None => unsafe { list::init_unlinked(links) },
        }
    }
}

impl<T: ?Sized> Gc<T> {
    /// Wrap a box pointer that already owns a strong count.
    ///
    /// # Safety
    /// `ptr` must point to the `GcBox` of a live allocation of `T` (derived
    /// from the allocation, see `header`) and carry one strong count that
    /// the new `Gc` takes over.
    #[inline]
    pub(crate) unsafe fn from_box(ptr: NonNull<GcBox<T>>) -> Gc<T> {
        Gc {
            ptr,
            _marker: PhantomData,
        }
    }

    /// The box pointer (fat for an unsized `T`).
    #[inline]
    pub(crate) fn box_ptr(&self) -> NonNull<GcBox<T>> {
        self.ptr
    }

    #[inline]
    pub(crate) fn header_ptr(&self) -> NonNull<Header> {
        self.ptr.cast()
    }

    #[inline]
    pub(crate) fn header(&self) -> &Header {
        // SAFETY: the `Gc` keeps the allocation alive.
        unsafe { &(*self.ptr.as_ptr()).header }
    }

    /// The value; panics if the collector already destroyed it.
    #[inline]
    fn inner_value(&self) -> &T {
        self.header().assert_alive();
        // SAFETY: alive and not dead, so the value is intact; shared access.
        unsafe { &(*self.ptr.as_ptr()).value }
    }

    /// Whether two `Gc`s point to the same allocation (like [`Rc::ptr_eq`](std::rc::Rc::ptr_eq)).
    ///
    /// ```
    /// use gc_core::Gc;
    /// let a = Gc::new(1);
    /// let b = a.clone();
    /// assert!(Gc::ptr_eq(&a, &b));
    /// assert!(!Gc::ptr_eq(&a, &Gc::new(1)));
    /// ```
    #[inline]
    pub fn ptr_eq(this: &Gc<T>, other: &Gc<T>) -> bool {
        ptr::addr_eq(this.ptr.as_ptr(), other.ptr.as_ptr())
    }

    /// Number of `Gc` handles to this object.
    ///
    /// ```
    /// use gc_core::Gc;
    /// let a = Gc::new(1);
    /// let _b = a.clone();
    /// assert_eq!(Gc::strong_count(&a), 2);
    /// ```
    #[inline]
    pub fn strong_count(this: &Gc<T>) -> usize {
        this.header().strong.get()
    }

    /// Number of [`Weak`] handles to this object.
    ///
    /// ```
    /// use gc_core::Gc;
    /// let a = Gc::new(1);
    /// let w = Gc::downgrade(&a);
    /// assert_eq!(Gc::weak_count(&a), 1);
    /// drop(w);
    /// assert_eq!(Gc::weak_count(&a), 0);
    /// ```
    pub fn weak_count(this: &Gc<T>) -> usize {
        // SAFETY: `this` keeps the object alive.
        unsafe { weak::weak_count(this.header_ptr()) }
    }

    /// A [`Weak`] to this object.
    ///
    /// ```
    /// use gc_core::Gc;
    /// let a = Gc::new(1);
    /// let w = Gc::downgrade(&a);
    /// assert!(Gc::ptr_eq(&w.upgrade().unwrap(), &a));
    /// ```
    pub fn downgrade(this: &Gc<T>) -> Weak<T> {
        weak::downgrade(this.ptr)
    }

    /// Mutable access if no other `Gc` or `Weak` to the object exists (as
    /// [`Rc::get_mut`](std::rc::Rc::get_mut)).
    ///
    /// ```
    /// use gc_core::Gc;
    /// let mut a = Gc::new(1);
    /// *Gc::get_mut(&mut a).unwrap() += 1;
    /// assert_eq!(*a, 2);
    /// let _w = Gc::downgrade(&a);
    /// assert!(Gc::get_mut(&mut a).is_none());
    /// ```
    ///
    /// Interned strings are never handed out mutably (`None`). A tracked
    /// object leaves the collector's generations while it may be mutably
    /// borrowed — the collector must not read a value someone holds `&mut`
    /// to — and returns to generation 0 as soon as a traced object is seen
    /// referring to it or a new handle or weak reference to it is made.
    pub fn get_mut(this: &mut Gc<T>) -> Option<&mut T> {
        let h = this.header_ptr();
        let hdr = this.header();
        hdr.assert_alive();
        if hdr.strong.get() != 1 || hdr.has(flags::HAS_WEAK | flags::INTERNED) {
            return None;
        }
        if hdr.vtable().tracked && !hdr.has(flags::DETACHED) {
            if let Some(heap) = heap::current() {
                // SAFETY: a live tracked object; outside the analysis phases
                // its links are real list pointers.
                unsafe { heap.detach_from_generations(h) };
            }
        }
        // SAFETY: the only handle, borrowed mutably, and the collector will
        // not read the value while it is detached; the value is intact.
        Some(unsafe { &mut (*this.ptr.as_ptr()).value })
    }

    /// The address of the value (as [`Rc::as_ptr`](std::rc::Rc::as_ptr)).
    ///
    /// ```
    /// use gc_core::Gc;
    /// let a = Gc::new(1);
    /// assert_eq!(Gc::as_ptr(&a), &*a as *const i32);
    /// ```
    pub fn as_ptr(this: &Gc<T>) -> *const T {
        // SAFETY: no reference is created.
        unsafe { &raw const (*this.ptr.as_ptr()).value }
    }
}

impl<T: ?Sized> Gc<T> {
    /// Erase the type, keeping the strong count (see [`GcAny`](crate::GcAny)).
    /// A `GcAny` made from a `Gc<dyn Trait>` downcasts to the concrete type
    /// the object was created as.
    ///
    /// ```
    /// use gc_core::Gc;
    /// let any = Gc::into_any(Gc::new(5_u8));
    /// assert_eq!(any.type_name(), "u8");
    /// assert_eq!(*any.downcast::<u8>().unwrap(), 5);
    /// ```
    pub fn into_any(this: Gc<T>) -> crate::GcAny {
        let h = this.header_ptr();
        core::mem::forget(this);
        // SAFETY: the count owned by `this` moves to the `GcAny`.
        unsafe { crate::GcAny::from_header(h) }
    }
}

impl<T: ?Sized> Clone for Gc<T> {
    /// Another handle to the same object (a count increment).
    ///
    /// ```
    /// use gc_core::Gc;
    /// let a = Gc::new(1);
    /// let b = a.clone();
    /// assert!(Gc::ptr_eq(&a, &b));
    /// ```
    #[inline]
    fn clone(&self) -> Gc<T> {
        let hdr = self.header();
        hdr.inc_strong();
        if hdr.has(flags::DETACHED) {
            // SAFETY: a live detached object; `&self` proves the `&mut` from
            // `get_mut` has ended (see `Heap::reattach`).
            unsafe { heap::reattach(self.header_ptr()) };
        }
        Gc {
            ptr: self.ptr,
            _marker: PhantomData,
        }
    }
}

impl<T: ?Sized> Drop for Gc<T> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: this handle owns one count and is gone afterwards.
        unsafe { lifecycle::dec_strong(self.header_ptr()) }
    }
}

impl<T: ?Sized> Deref for Gc<T> {
    type Target = T;

    /// The value. Panics only if the cycle collector already destroyed it,
    /// which a `Drop` impl of a field can observe during teardown.
    #[inline]
    fn deref(&self) -> &T {
        self.inner_value()
    }
}

impl<T: ?Sized> Finalize for Gc<T> {
    #[inline]
    fn has_finalizer() -> bool {
        false
    }
}

/// A `Gc` is one edge to its target.
// SAFETY: reports exactly the count this handle owns.
unsafe impl<T: ?Sized + 'static> Trace for Gc<T> {
    #[inline]
    fn trace(&self, tracer: &mut Tracer) {
        // SAFETY: the handle keeps its target alive.
        unsafe { tracer.edge(self.header_ptr()) };
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Gc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for Gc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

impl<T: ?Sized> fmt::Pointer for Gc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Pointer::fmt(&Gc::as_ptr(self), f)
    }
}

impl<T: ?Sized + PartialEq> PartialEq for Gc<T> {
    #[inline]
    fn eq(&self, other: &Gc<T>) -> bool {
        **self == **other
    }
}

impl<T: ?Sized + Eq> Eq for Gc<T> {}

impl<T: ?Sized + PartialOrd> PartialOrd for Gc<T> {
    #[inline]
    fn partial_cmp(&self, other: &Gc<T>) -> Option<Ordering> {
        (**self).partial_cmp(&**other)
    }
}

impl<T: ?Sized + Ord> Ord for Gc<T> {
    #[inline]
    fn cmp(&self, other: &Gc<T>) -> Ordering {
        (**self).cmp(&**other)
    }
}

impl<T: ?Sized + Hash> Hash for Gc<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (**self).hash(state)
    }
}

impl<T: Trace + Default> Default for Gc<T> {
    /// A `Gc` holding `T::default()`.
    ///
    /// ```
    /// let a: gc_core::Gc<u32> = Default::default();
    /// assert_eq!(*a, 0);
    /// ```
    #[track_caller]
    fn default() -> Gc<T> {
        Gc::new(T::default())
    }
}

impl<T: ?Sized> Borrow<T> for Gc<T> {
    fn borrow(&self) -> &T {
        self
    }
}

impl<T: ?Sized> AsRef<T> for Gc<T> {
    fn as_ref(&self) -> &T {
        self
    }
}

impl<T: Trace> From<T> for Gc<T> {
    /// Same as [`Gc::new`].
    ///
    /// ```
    /// use gc_core::Gc;
    /// let a: Gc<i32> = 4.into();
    /// assert_eq!(*a, 4);
    /// ```
    #[track_caller]
    fn from(value: T) -> Gc<T> {
        Gc::new(value)
    }
}

/// Allocate an unsized box for `len` elements and let `init` write them.
///
/// # Safety
/// `init` must initialise exactly `len` elements at the pointer it gets;
/// `vtable`/`layout` must describe `[E]` (or `str` with `E = u8`).
pub(crate) unsafe fn new_slice_box<E>(
    len: usize,
    vtable: &'static VTable,
    layout: BoxLayout,
    init: impl FnOnce(*mut E),
) -> NonNull<Header> {
    let heap = crate::collector::thread_heap();
    // SAFETY: `layout` fits the header, prefix and `len` elements.
    let h = unsafe { alloc_box(heap, layout) };
    // SAFETY: the header and length slot lie inside the fresh allocation.
    unsafe {
        h.write(new_header(vtable, 0));
        write_slice_len(h, vtable.tracked, len);
    }
    let value_offset = core::mem::offset_of!(GcBox<[E; 0]>, value);
    // SAFETY: the elements start `value_offset` after the header.
    init(unsafe { h.cast::<u8>().add(value_offset).cast::<E>().as_ptr() });
    // SAFETY: fully initialised now.
    unsafe { publish(heap, h, vtable, Publish::InGeneration) };
    h
}

impl<T: Trace> From<Vec<T>> for Gc<[T]> {
    /// Move the elements of a vector into a `Gc<[T]>`.
    ///
    /// ```
    /// use gc_core::Gc;
    /// let s: Gc<[u32]> = Gc::from(vec![1, 2, 3]);
    /// assert_eq!(&*s, &[1, 2, 3]);
    /// ```
    fn from(v: Vec<T>) -> Gc<[T]> {
        // The type's answers first: if they panic, `v` is still dropped.
        let tracked = T::needs_tracking();
        let vtable = slice_vtable_of::<T>(tracked);
        let len = v.len();
        let layout = slice_box_layout::<T>(tracked, len);
        let mut v = core::mem::ManuallyDrop::new(v);
        // SAFETY: copies `len` initialised elements out of the vector, whose
        // buffer is then freed without dropping them.
        let h = unsafe {
            new_slice_box::<T>(len, vtable, layout, |dst| {
                ptr::copy_nonoverlapping(v.as_ptr(), dst, len);
                v.set_len(0);
                core::mem::ManuallyDrop::drop(&mut v);
            })
        };
        // SAFETY: a new `[T]` object with one strong count.
        unsafe { Gc::from_box(box_of::<[T]>(h)) }
    }
}

impl<T: Trace + Clone> From<&[T]> for Gc<[T]> {
    /// Clone the elements of a slice into a `Gc<[T]>`.
    ///
    /// ```
    /// use gc_core::Gc;
    /// let s: Gc<[String]> = Gc::from(&["a".to_string()][..]);
    /// assert_eq!(s[0], "a");
    /// ```
    fn from(s: &[T]) -> Gc<[T]> {
        Gc::from(s.to_vec())
    }
}

impl From<&str> for Gc<str> {
    /// Copy a string into a `Gc<str>`.
    ///
    /// ```
    /// use gc_core::Gc;
    /// let s: Gc<str> = Gc::from("hello");
    /// assert_eq!(&*s, "hello");
    /// ```
    fn from(s: &str) -> Gc<str> {
        let len = s.len();
        let layout = slice_box_layout::<u8>(false, len);
        // SAFETY: copies `len` bytes of valid UTF-8.
        let h = unsafe {
            new_slice_box::<u8>(len, str_vtable(), layout, |dst| {
                ptr::copy_nonoverlapping(s.as_ptr(), dst, len)
            })
        };
        // SAFETY: a new `str` object with one strong count.
        unsafe { Gc::from_box(box_of::<str>(h)) }
    }
}

impl From<String> for Gc<str> {
    /// Copy a `String` into a `Gc<str>`.
    ///
    /// ```
    /// use gc_core::Gc;
    /// let s: Gc<str> = Gc::from(String::from("hi"));
    /// assert_eq!(&*s, "hi");
    /// ```
    fn from(s: String) -> Gc<str> {
        Gc::from(s.as_str())
    }
}

/// As for `Rc`: a `Gc<T>` gives shared access to `T` only, so it is unwind
/// safe when `T` is [`RefUnwindSafe`](std::panic::RefUnwindSafe) (which a
/// `RefCell` inside is not). The counts and flags in the header are the
/// collector's bookkeeping, as `Rc`'s counts are its own, not state a caller
/// could see half-updated after a panic.
///
/// ```
/// use gc_core::Gc;
/// let n = Gc::new(5);
/// let r = std::panic::catch_unwind(|| *n + 1);
/// assert_eq!(r.ok(), Some(6));
/// ```
impl<T: ?Sized + std::panic::RefUnwindSafe> std::panic::UnwindSafe for Gc<T> {}
/// As for `Rc`: see the [`UnwindSafe`](std::panic::UnwindSafe) impl.
impl<T: ?Sized + std::panic::RefUnwindSafe> std::panic::RefUnwindSafe for Gc<T> {}
