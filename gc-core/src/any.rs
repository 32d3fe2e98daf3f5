//! `GcAny`: a type-erased strong handle, as the debug tools hand out.

use core::any::TypeId;
use core::fmt;
use core::hash::{Hash, Hasher};
use core::ptr::NonNull;

use crate::header::{flags, Header};
use crate::lifecycle;
use crate::trace::{Finalize, Trace};
use crate::tracer::Tracer;
use crate::vtable::{box_of, GcPointee};
use crate::Gc;

/// A strong reference to a `Gc` object of any type, like `Rc<dyn Any>`.
/// Cloning and dropping count like a `Gc`; it is an edge for the collector
/// when stored in a traced value. Get the typed pointer back with
/// [`downcast`](GcAny::downcast).
///
/// ```
/// use gc_core::{Gc, GcAny};
///
/// let any: GcAny = Gc::into_any(Gc::new(String::from("x")));
/// assert_eq!(any.type_name(), "alloc::string::String");
/// let s: Gc<String> = any.downcast().unwrap();
/// assert_eq!(*s, "x");
/// ```
pub struct GcAny {
    ptr: NonNull<Header>,
}

impl GcAny {
    /// # Safety
    /// `ptr` must be a live object; the handle takes over one strong count.
    pub(crate) unsafe fn from_header(ptr: NonNull<Header>) -> GcAny {
        GcAny { ptr }
    }

    /// A new handle to the live object `ptr` (takes a new strong count).
    ///
    /// # Safety
    /// `ptr` must be a live object.
    pub(crate) unsafe fn new_ref(ptr: NonNull<Header>) -> GcAny {
        // SAFETY: forwarded from the caller.
        unsafe { ptr.as_ref() }.inc_strong();
        let any = GcAny { ptr };
        any.reattach_if_detached();
        any
    }

    /// A new handle proves a detached object is no longer mutably borrowed
    /// (see `Heap::reattach`).
    fn reattach_if_detached(&self) {
        if self.header().has(flags::DETACHED) {
            // SAFETY: a live detached object.
            unsafe { crate::heap::reattach(self.ptr) };
        }
    }

    /// Whether the collector already tore the object down (an orphan).
    pub(crate) fn is_dead(&self) -> bool {
        self.header().has(flags::DEAD)
    }

    pub(crate) fn header_ptr(&self) -> NonNull<Header> {
        self.ptr
    }

    fn header(&self) -> &Header {
        // SAFETY: the handle keeps the object alive.
        unsafe { self.ptr.as_ref() }
    }

    /// The name of the value's type, as [`std::any::type_name`] gives it.
    ///
    /// ```
    /// use gc_core::Gc;
    /// assert_eq!(Gc::into_any(Gc::new(1_i64)).type_name(), "i64");
    /// ```
    pub fn type_name(&self) -> &'static str {
        (self.header().vtable().type_name)()
    }

    /// Whether the value is a `T`.
    ///
    /// ```
    /// use gc_core::Gc;
    /// let a = Gc::into_any(Gc::new(1_u8));
    /// assert!(a.is::<u8>());
    /// assert!(!a.is::<u16>());
    /// ```
    pub fn is<T: ?Sized + GcPointee>(&self) -> bool {
        (self.header().vtable().type_id)() == TypeId::of::<T>()
    }

    /// The typed `Gc`, or the handle back if the value is not a `T`.
    ///
    /// ```
    /// use gc_core::Gc;
    /// let a = Gc::into_any(Gc::new(1_u8));
    /// let a = a.downcast::<u16>().unwrap_err();
    /// assert_eq!(*a.downcast::<u8>().unwrap(), 1);
    /// ```
    pub fn downcast<T: ?Sized + GcPointee>(self) -> Result<Gc<T>, GcAny> {
        if !self.is::<T>() {
            return Err(self);
        }
        let ptr = self.ptr;
        core::mem::forget(self);
        // SAFETY: the type matches, and the count moves to the `Gc`.
        Ok(unsafe { Gc::from_box(box_of::<T>(ptr)) })
    }

    /// A reference to the value if it is a `T`. Panics if the value was
    /// already destroyed by the collector (see [`Gc`]'s `Deref`).
    ///
    /// ```
    /// use gc_core::Gc;
    /// let a = Gc::into_any(Gc::new(9_u8));
    /// assert_eq!(a.downcast_ref::<u8>(), Some(&9));
    /// ```
    pub fn downcast_ref<T: ?Sized + GcPointee>(&self) -> Option<&T> {
        if !self.is::<T>() {
            return None;
        }
        self.header().assert_alive();
        // SAFETY: the type matches and the value is intact.
        Some(unsafe { &(*box_of::<T>(self.ptr).as_ptr()).value })
    }

    /// Whether two handles point to the same object.
    ///
    /// ```
    /// use gc_core::{Gc, GcAny};
    /// let g = Gc::new(1);
    /// let a = Gc::into_any(g.clone());
    /// let b = Gc::into_any(g);
    /// assert!(GcAny::ptr_eq(&a, &b));
    /// ```
    pub fn ptr_eq(this: &GcAny, other: &GcAny) -> bool {
        this.ptr == other.ptr
    }

    /// Number of strong handles (`Gc` and `GcAny`) to the object.
    ///
    /// ```
    /// use gc_core::Gc;
    /// let g = Gc::new(1);
    /// let a = Gc::into_any(g.clone());
    /// assert_eq!(a.strong_count(), 2);
    /// ```
    pub fn strong_count(&self) -> usize {
        self.header().strong.get()
    }

    /// The address of the object's header (stable while it lives).
    ///
    /// ```
    /// use gc_core::Gc;
    /// let a = Gc::into_any(Gc::new(1));
    /// assert_ne!(a.addr(), 0);
    /// ```
    pub fn addr(&self) -> usize {
        self.ptr.addr().get()
    }
}

impl Clone for GcAny {
    fn clone(&self) -> GcAny {
        self.header().inc_strong();
        let any = GcAny { ptr: self.ptr };
        any.reattach_if_detached();
        any
    }
}

impl Drop for GcAny {
    fn drop(&mut self) {
        // SAFETY: this handle owns one count and is gone afterwards.
        unsafe { lifecycle::dec_strong(self.ptr) }
    }
}

impl fmt::Debug for GcAny {
    /// `GcAny(<type> @ <address>)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GcAny({} @ {:#x})", self.type_name(), self.addr())
    }
}

impl PartialEq for GcAny {
    /// Identity, as [`GcAny::ptr_eq`].
    fn eq(&self, other: &GcAny) -> bool {
        GcAny::ptr_eq(self, other)
    }
}

impl Eq for GcAny {}

impl Hash for GcAny {
    /// Hashes the identity.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.ptr.hash(state)
    }
}

impl Finalize for GcAny {
    fn has_finalizer() -> bool {
        false
    }
}

/// A `GcAny` is one edge to its target, like a `Gc`.
// SAFETY: reports exactly the count this handle owns.
unsafe impl Trace for GcAny {
    #[inline]
    fn trace(&self, tracer: &mut Tracer) {
        // SAFETY: the handle keeps its target alive.
        unsafe { tracer.edge(self.ptr) }
    }
}
