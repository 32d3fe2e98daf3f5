//! The vtable of a `Gc` allocation: everything the collector and the
//! type-erased paths (`GcAny`, `Weak`) need to know about the value's type,
//! one `'static` table per type, and what rebuilds a typed pointer from an
//! object's thin header pointer ([`GcPointee`]). It names the type's `Trace`,
//! `Finalize` and drop functions, so it sits at the top of the tracing
//! layer; the header (`header`) only holds its address.
//!
//! Invariants:
//! - A header's `meta` is the address of the vtable of its value's type,
//!   built by [`new_header`]; the vtable is 512-aligned so the flags fit
//!   in the low bits, and it never changes.
//! - A vtable's `tracked` and its layout come from one answer of
//!   `Trace::needs_tracking` ([`vtable_of`]), the same one the allocation's
//!   layout was made with.

use core::any::TypeId;
use core::marker::PhantomData;
use core::ptr::{self, NonNull};

use crate::header::{
    flags, sized_box_layout, slice_box_layout, slice_len, BoxLayout, GcBox, Header,
};
use crate::trace::Trace;
use crate::tracer::Tracer;

/// Everything the collector and the type-erased code paths need to know about
/// the type of a `Gc` value.
#[repr(C, align(512))]
pub(crate) struct VTable {
    /// Visit the value's `Gc` edges.
    pub(crate) trace: unsafe fn(NonNull<Header>, &mut Tracer),
    /// Call `Finalize::finalize` on the value.
    pub(crate) finalize: unsafe fn(NonNull<Header>),
    /// `drop_in_place` the value.
    pub(crate) drop_value: unsafe fn(NonNull<Header>),
    /// The allocation layout of sized types (no call needed to free them).
    pub(crate) fixed_layout: Option<BoxLayout>,
    /// Allocation layout and header offset of a slice (reads its length).
    pub(crate) layout: unsafe fn(NonNull<Header>) -> BoxLayout,
    /// `drop_value` does something (`core::mem::needs_drop`).
    pub(crate) needs_drop: bool,
    pub(crate) type_name: fn() -> &'static str,
    pub(crate) type_id: fn() -> TypeId,
    /// The object has [`Links`](crate::header::Links) and is linked into a
    /// generation while alive.
    pub(crate) tracked: bool,
    /// `Finalize::finalize` may do something; `false` lets the collector skip it.
    pub(crate) has_finalizer: bool,
    /// `Trace::owns_resource` of the type (asked only for
    /// `DebugFlags::RESOURCES`).
    pub(crate) owns_resource: fn() -> bool,
}

impl VTable {
    /// Layout of the allocation of the live object `h` of this type.
    ///
    /// # Safety
    /// `h` must be a live allocation of this vtable's type.
    #[inline]
    pub(crate) unsafe fn box_layout(&self, h: NonNull<Header>) -> BoxLayout {
        match self.fixed_layout {
            Some(l) => l,
            // SAFETY: forwarded from the caller.
            None => unsafe { (self.layout)(h) },
        }
    }
}

/// A new object's header: one strong count, `vtable`'s address and `flags`.
pub(crate) fn new_header(vtable: &'static VTable, flags: usize) -> Header {
    Header::with_meta(ptr::from_ref(vtable).cast(), flags)
}

impl Header {
    /// The vtable of the object's type.
    #[inline]
    pub(crate) fn vtable(&self) -> &'static VTable {
        // SAFETY: `meta` was built from a `&'static VTable` by `new_header`
        // and only its low (flag) bits are ever changed.
        unsafe { &*self.meta().cast::<VTable>() }
    }

    /// Panic if the object's teardown began; used before handing out `&T`.
    #[inline]
    pub(crate) fn assert_alive(&self) {
        if self.has(flags::DEAD) {
            dead_access((self.vtable().type_name)());
        }
    }
}

#[cold]
#[inline(never)]
#[track_caller]
fn dead_access(type_name: &str) -> ! {
    panic!(
        "gc: accessed a `Gc<{type_name}>` whose value was already destroyed by the cycle \
         collector (a `Drop` impl of a field reached into a garbage cycle being torn down)"
    )
}

/// The types a `Gc` can point to: every sized [`Trace`] type, slices of them
/// and `str`. Sealed; it exists so that `Weak::upgrade` and
/// `GcAny::downcast` can rebuild a (possibly fat) pointer from the collector's
/// thin object pointer.
///
/// ```
/// use gc_core::{Gc, GcPointee};
/// fn erase_and_back<T: ?Sized + GcPointee>(g: Gc<T>) -> Gc<T> {
///     Gc::into_any(g).downcast::<T>().ok().unwrap()
/// }
/// assert_eq!(&*erase_and_back(Gc::<str>::from("s")), "s");
/// assert_eq!(*erase_and_back(Gc::new(1_u8)), 1);
/// ```
pub trait GcPointee: sealed::Pointee + Trace {}

impl<T: ?Sized + sealed::Pointee + Trace> GcPointee for T {}

pub(crate) mod sealed {
    use super::*;

    /// Turns a thin header pointer back into a box pointer.
    ///
    /// # Safety
    /// `from_header` must return a pointer to the same allocation with the
    /// right metadata.
    #[allow(private_interfaces)]
    pub unsafe trait Pointee {
        /// # Safety
        /// `h` must point to the header of a live allocation of `Self`.
        unsafe fn from_header(h: NonNull<Header>) -> NonNull<GcBox<Self>>;

        /// A null pointer (empty, for slices).
        fn null() -> *const Self;
    }

    // SAFETY: sized boxes are thin; the header is the start of the `GcBox`.
    #[allow(private_interfaces)]
    unsafe impl<T: Trace> Pointee for T {
        #[inline]
        unsafe fn from_header(h: NonNull<Header>) -> NonNull<GcBox<T>> {
            h.cast()
        }

        fn null() -> *const T {
            ptr::null()
        }
    }

    // SAFETY: the length was stored by `Gc::<[T]>::from` and is read back.
    #[allow(private_interfaces)]
    unsafe impl<T: Trace> Pointee for [T] {
        #[inline]
        unsafe fn from_header(h: NonNull<Header>) -> NonNull<GcBox<[T]>> {
            // SAFETY: the caller guarantees a live `[T]` allocation. Where
            // its length sits depends on whether it was allocated tracked,
            // which its vtable says (`needs_tracking` is not asked again: a
            // hand-written impl might answer differently).
            let len = unsafe { slice_len(h, h.as_ref().vtable().tracked) };
            let fat = ptr::slice_from_raw_parts_mut(h.as_ptr().cast::<T>(), len) as *mut GcBox<[T]>;
            // SAFETY: derived from a non-null pointer.
            unsafe { NonNull::new_unchecked(fat) }
        }

        fn null() -> *const [T] {
            ptr::slice_from_raw_parts(ptr::null(), 0)
        }
    }

    // SAFETY: as for `[u8]`; `str` allocations are never tracked.
    #[allow(private_interfaces)]
    unsafe impl Pointee for str {
        #[inline]
        unsafe fn from_header(h: NonNull<Header>) -> NonNull<GcBox<str>> {
            // SAFETY: the caller guarantees a live `str` allocation.
            let len = unsafe { slice_len(h, false) };
            let fat =
                ptr::slice_from_raw_parts_mut(h.as_ptr().cast::<u8>(), len) as *mut GcBox<str>;
            // SAFETY: derived from a non-null pointer.
            unsafe { NonNull::new_unchecked(fat) }
        }

        fn null() -> *const str {
            ptr::slice_from_raw_parts(ptr::null::<u8>(), 0) as *const str
        }
    }
}

/// Rebuild the box pointer of a `T` from its header.
///
/// # Safety
/// `h` must point to the header of a live allocation of `T`.
#[inline]
pub(crate) unsafe fn box_of<T: ?Sized + GcPointee>(h: NonNull<Header>) -> NonNull<GcBox<T>> {
    // SAFETY: forwarded from the caller.
    unsafe { <T as sealed::Pointee>::from_header(h) }
}

/// Builds the `'static` vtables of sized types. `TRACKED` and `FIN` are
/// computed from `Trace::needs_tracking` / `Finalize::has_finalizer` (plain
/// functions, so they cannot feed a `const` directly) by [`vtable_of`], which
/// takes the tracking answer its caller also used for the layout.
struct SizedVTable<T, const TRACKED: bool, const FIN: bool>(PhantomData<T>);

impl<T: Trace, const TRACKED: bool, const FIN: bool> SizedVTable<T, TRACKED, FIN> {
    const VTABLE: VTable = VTable {
        trace: trace_value::<T>,
        finalize: finalize_value::<T>,
        drop_value: drop_value::<T>,
        fixed_layout: Some(sized_box_layout::<T>(TRACKED)),
        layout: sized_layout::<T, TRACKED>,
        needs_drop: core::mem::needs_drop::<T>(),
        type_name: core::any::type_name::<T>,
        type_id: TypeId::of::<T>,
        tracked: TRACKED,
        has_finalizer: FIN,
        owns_resource: T::owns_resource,
    };
}

struct SliceVTable<T, const TRACKED: bool, const FIN: bool>(PhantomData<T>);

impl<T: Trace, const TRACKED: bool, const FIN: bool> SliceVTable<T, TRACKED, FIN> {
    const VTABLE: VTable = VTable {
        trace: trace_value::<[T]>,
        finalize: finalize_value::<[T]>,
        drop_value: drop_value::<[T]>,
        fixed_layout: None,
        layout: slice_layout::<T, TRACKED>,
        needs_drop: core::mem::needs_drop::<T>(),
        type_name: core::any::type_name::<[T]>,
        type_id: TypeId::of::<[T]>,
        tracked: TRACKED,
        has_finalizer: FIN,
        owns_resource: T::owns_resource,
    };
}

static STR_VTABLE: VTable = VTable {
    trace: trace_value::<str>,
    finalize: finalize_value::<str>,
    drop_value: drop_value::<str>,
    fixed_layout: None,
    layout: slice_layout::<u8, false>,
    needs_drop: false,
    type_name: core::any::type_name::<str>,
    type_id: TypeId::of::<str>,
    tracked: false,
    has_finalizer: false,
    owns_resource: || false,
};

/// The vtable of a sized type, for an object allocated tracked (with links)
/// or not: `tracked` is the one answer of `T::needs_tracking()` that the
/// object's layout was also computed from.
#[inline]
pub(crate) fn vtable_of<T: Trace>(tracked: bool) -> &'static VTable {
    match (tracked, T::has_finalizer()) {
        (true, true) => &SizedVTable::<T, true, true>::VTABLE,
        (true, false) => &SizedVTable::<T, true, false>::VTABLE,
        (false, true) => &SizedVTable::<T, false, true>::VTABLE,
        (false, false) => &SizedVTable::<T, false, false>::VTABLE,
    }
}

/// The vtable of `[T]`; `tracked` as for [`vtable_of`].
#[inline]
pub(crate) fn slice_vtable_of<T: Trace>(tracked: bool) -> &'static VTable {
    match (tracked, T::has_finalizer()) {
        (true, true) => &SliceVTable::<T, true, true>::VTABLE,
        (true, false) => &SliceVTable::<T, true, false>::VTABLE,
        (false, true) => &SliceVTable::<T, false, true>::VTABLE,
        (false, false) => &SliceVTable::<T, false, false>::VTABLE,
    }
}

pub(crate) fn str_vtable() -> &'static VTable {
    &STR_VTABLE
}

/// # Safety
/// `h` must be the header of a live allocation of `T`.
unsafe fn value_ptr<T: ?Sized + GcPointee>(h: NonNull<Header>) -> *mut T {
    // SAFETY: forwarded from the caller.
    let b = unsafe { box_of::<T>(h) };
    // SAFETY: `b` points to a live `GcBox<T>`; no reference is created.
    unsafe { &raw mut (*b.as_ptr()).value }
}

unsafe fn trace_value<T: ?Sized + GcPointee>(h: NonNull<Header>, tracer: &mut Tracer) {
    // SAFETY: the vtable of `T` is only used with allocations of `T`, and the
    // collector only traces values that are alive (not yet dropped).
    unsafe { (*value_ptr::<T>(h)).trace(tracer) }
}

unsafe fn finalize_value<T: ?Sized + GcPointee>(h: NonNull<Header>) {
    // SAFETY: as `trace_value`.
    unsafe { (*value_ptr::<T>(h)).finalize() }
}

unsafe fn drop_value<T: ?Sized + GcPointee>(h: NonNull<Header>) {
    // SAFETY: the caller drops each value exactly once, with no reference to
    // it outstanding.
    unsafe { ptr::drop_in_place(value_ptr::<T>(h)) }
}

unsafe fn sized_layout<T, const TRACKED: bool>(_: NonNull<Header>) -> BoxLayout {
    sized_box_layout::<T>(TRACKED)
}

unsafe fn slice_layout<T, const TRACKED: bool>(h: NonNull<Header>) -> BoxLayout {
    // SAFETY: the vtable is only used with live allocations of `[T]`.
    let len = unsafe { slice_len(h, TRACKED) };
    slice_box_layout::<T>(TRACKED, len)
}
