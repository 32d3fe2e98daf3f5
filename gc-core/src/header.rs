//! The memory layout of a `Gc` allocation: header, generation links, vtable.
//!
//! ```text
//!  tracked sized:     [ next | prev ][ strong | meta ][ value ]
//!  untracked sized:                  [ strong | meta ][ value ]
//!  tracked slice:  [ pad | len ][ next | prev ][ strong | meta ][ value ]
//!  untracked slice:       [ pad | len ][ strong | meta ][ value ]
//!                                      ^ a `Gc` points here (the `GcBox`)
//! ```
//!
//! Invariants:
//! - `Header` is the first field of the `#[repr(C)]` [`GcBox`]; a `Gc` holds a
//!   pointer to it that was derived from the raw allocation, so the prefix
//!   (links, length) at negative offsets is in bounds of its provenance.
//!   Code never derives a header pointer from a reference to the box.
//! - `meta` is a pointer to the type's `'static` [`VTable`] whose low 9 bits
//!   hold the per-object [`flags`] (vtables are 512-aligned). The vtable fixes everything about the type; the
//!   flags are the only per-object state besides the strong count.
//! - Tracked objects (those whose type may own a `Gc`) have [`Links`] 16 bytes
//!   before the header; untracked objects have none. The header is 16 bytes,
//!   so a tracked object costs 32 bytes of header and an untracked one 16.
//! - Slices store their length 8 bytes before the links (or the header), so the
//!   collector can rebuild the fat pointer from a thin header pointer.
//! - The vtable is always the one of the type the object was created as. A
//!   `Gc<dyn Trait>` or `Gc<[T]>` made by `coerce_gc!` from a `Gc<X>` or
//!   `Gc<[T; N]>` keeps `X`'s (`[T; N]`'s) vtable, so the object traces,
//!   finalizes, drops and frees as what it is; such a `[T]` has no length
//!   slot (its handles carry the length), and its vtable's `type_id` is
//!   `[T; N]`'s, so nothing rebuilds it as a slice from its header
//!   (`GcAny::downcast::<[T]>` checks the `type_id` first).

use core::alloc::Layout;
use core::any::TypeId;
use core::cell::Cell;
use core::marker::PhantomData;
use core::ptr::{self, NonNull};

use crate::trace::{Trace, Tracer};

/// Per-object state kept in the low bits of [`Header::meta`].
pub(crate) mod flags {
    /// A weak cell for this object exists in the heap's weak table.
    pub const HAS_WEAK: usize = 1 << 0;
    /// `finalize` has run (or was skipped for good); it never runs again.
    pub const FINALIZED: usize = 1 << 1;
    /// Member of the set the running collection analyses (tracked only).
    pub const COLLECTING: usize = 1 << 2;
    /// Teardown began: the value is dropped or being dropped. Any access to the
    /// value through a `Gc` panics from now on.
    pub const DEAD: usize = 1 << 3;
    /// A dead object that a `Gc` still referred to after its teardown; the
    /// memory is freed when that last handle goes.
    pub const ORPHAN: usize = 1 << 4;
    /// The object is the canonical copy of a string in the intern table.
    pub const INTERNED: usize = 1 << 5;
    /// The allocation-site table may hold a record for the object.
    pub const SITE: usize = 1 << 6;
    /// A tracked object taken out of the generations by `Gc::get_mut`: while
    /// the `&mut T` may be alive the collector must not read the value. It
    /// returns to generation 0 when a traced object reports an edge to it
    /// (which proves its only handle is no longer mutably borrowed).
    pub const DETACHED: usize = 1 << 7;
    /// The object is in generation 0, 1 or 2 (not frozen, detached or dead),
    /// or is garbage whose finalizers are running (analysed again after
    /// them). The members of a full collection are exactly these objects;
    /// every member of any analysis carries the flag.
    pub const IN_GEN: usize = 1 << 8;
    /// All flag bits; the vtable alignment guarantees these are zero in its address.
    pub const MASK: usize = (1 << 9) - 1;
}

/// The part every `Gc` allocation starts with.
#[repr(C)]
pub(crate) struct Header {
    /// Number of `Gc`/`GcAny` handles. Zero means the object is dying or dead.
    pub(crate) strong: Cell<usize>,
    /// Tagged pointer: `&'static VTable | flags`.
    meta: Cell<*const VTable>,
}

/// Doubly linked list node placed just before the header of a tracked object.
/// During a collection `prev` holds the scratch reference count instead.
#[repr(C)]
pub(crate) struct Links {
    pub(crate) next: Cell<*mut Links>,
    pub(crate) prev: Cell<*mut Links>,
}

/// What a `Gc<T>` points to. Public (but unreachable by name) only because
/// the [`coerce_gc!`](crate::coerce_gc) expansion handles `*const GcBox<T>`
/// values in the user's crate.
#[doc(hidden)]
#[repr(C)]
pub struct GcBox<T: ?Sized> {
    pub(crate) header: Header,
    pub(crate) value: T,
}

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
    /// The object has [`Links`] and is linked into a generation while alive.
    pub(crate) tracked: bool,
    /// `Finalize::finalize` may do something; `false` lets the collector skip it.
    pub(crate) has_finalizer: bool,
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

/// The allocation holding one `Gc` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BoxLayout {
    pub(crate) layout: Layout,
    /// Offset of the [`Header`] from the start of the allocation.
    pub(crate) header_offset: usize,
}

/// Size of the links prefix of tracked objects.
pub(crate) const LINKS_SIZE: usize = core::mem::size_of::<Links>();
const LEN_SIZE: usize = core::mem::size_of::<usize>();

impl BoxLayout {
    /// Layout of an allocation whose `GcBox` has layout `box_layout` and is
    /// preceded by `prefix` bytes.
    pub(crate) const fn new(box_layout: Layout, prefix: usize) -> BoxLayout {
        // Every allocation is at least 16-aligned so that the header, links
        // and length sit at fixed offsets and pool blocks fit any box.
        let align = if box_layout.align() > 16 {
            box_layout.align()
        } else {
            16
        };
        let header_offset = round_up(prefix, align);
        let size = header_offset + box_layout.size();
        match Layout::from_size_align(size, align) {
            Ok(layout) => BoxLayout {
                layout,
                header_offset,
            },
            Err(_) => panic!("Gc allocation too large"),
        }
    }
}

pub(crate) const fn round_up(n: usize, align: usize) -> usize {
    (n + align - 1) & !(align - 1)
}

/// Bytes before the header that hold links and the slice length.
pub(crate) const fn prefix_size(tracked: bool, slice: bool) -> usize {
    (if tracked { LINKS_SIZE } else { 0 }) + (if slice { LEN_SIZE } else { 0 })
}

impl Header {
    pub(crate) fn new(vtable: &'static VTable, flags: usize) -> Header {
        Header {
            strong: Cell::new(1),
            meta: Cell::new(ptr::from_ref(vtable).map_addr(|a| a | flags)),
        }
    }

    #[inline]
    pub(crate) fn vtable(&self) -> &'static VTable {
        let p = self.meta.get().map_addr(|a| a & !flags::MASK);
        // SAFETY: `meta` was built from a `&'static VTable` by `Header::new`
        // and only its low (flag) bits are ever changed.
        unsafe { &*p }
    }

    #[inline]
    pub(crate) fn has(&self, flag: usize) -> bool {
        self.meta.get().addr() & flag != 0
    }

    #[inline]
    pub(crate) fn set(&self, flag: usize) {
        self.meta.set(self.meta.get().map_addr(|a| a | flag));
    }

    #[inline]
    pub(crate) fn clear(&self, flag: usize) {
        self.meta.set(self.meta.get().map_addr(|a| a & !flag));
    }

    /// Add one strong reference, aborting on overflow as `Rc` does.
    #[inline]
    pub(crate) fn inc_strong(&self) {
        let n = self.strong.get().wrapping_add(1);
        self.strong.set(n);
        if n == 0 {
            // Wrapping to zero needs `usize::MAX` leaked handles; memory
            // safety cannot survive it, so stop like `Rc` does.
            std::process::abort();
        }
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

/// Pointer to the links of a tracked object.
///
/// # Safety
/// `h` must point to the header of a live allocation of a tracked type.
#[inline]
pub(crate) unsafe fn links_of(h: NonNull<Header>) -> NonNull<Links> {
    // SAFETY: tracked allocations have `Links` directly before the header, and
    // `h` carries the provenance of the whole allocation.
    unsafe { h.cast::<Links>().sub(1) }
}

/// Inverse of [`links_of`].
///
/// # Safety
/// `l` must point to the links of a live tracked allocation.
#[inline]
pub(crate) unsafe fn header_of(l: NonNull<Links>) -> NonNull<Header> {
    // SAFETY: see `links_of`.
    unsafe { l.add(1).cast::<Header>() }
}

/// Where the slice length is stored.
///
/// # Safety
/// `h` must be the header of a live slice allocation.
unsafe fn len_slot(h: NonNull<Header>, tracked: bool) -> NonNull<usize> {
    let back = prefix_size(tracked, true);
    // SAFETY: slice allocations reserve `prefix_size(tracked, true)` bytes
    // before the header; the length is the first of them.
    unsafe { h.cast::<u8>().sub(back).cast::<usize>() }
}

/// Reads the stored length of a slice allocation.
///
/// # Safety
/// As [`len_slot`].
pub(crate) unsafe fn slice_len(h: NonNull<Header>, tracked: bool) -> usize {
    // SAFETY: the caller guarantees a live slice allocation; the length was
    // written when it was created.
    unsafe { len_slot(h, tracked).read() }
}

/// # Safety
/// As [`len_slot`], before the allocation is published.
pub(crate) unsafe fn write_slice_len(h: NonNull<Header>, tracked: bool, len: usize) {
    // SAFETY: as `slice_len`.
    unsafe { len_slot(h, tracked).write(len) }
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
            // SAFETY: the caller guarantees a live `[T]` allocation.
            let len = unsafe { slice_len(h, T::needs_tracking()) };
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
/// functions, so they cannot feed a `const` directly) by [`vtable_of`].
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
};

/// The vtable of a sized type.
#[inline]
pub(crate) fn vtable_of<T: Trace>() -> &'static VTable {
    match (T::needs_tracking(), T::has_finalizer()) {
        (true, true) => &SizedVTable::<T, true, true>::VTABLE,
        (true, false) => &SizedVTable::<T, true, false>::VTABLE,
        (false, true) => &SizedVTable::<T, false, true>::VTABLE,
        (false, false) => &SizedVTable::<T, false, false>::VTABLE,
    }
}

/// The vtable of `[T]`.
#[inline]
pub(crate) fn slice_vtable_of<T: Trace>() -> &'static VTable {
    match (T::needs_tracking(), T::has_finalizer()) {
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

pub(crate) const fn sized_box_layout<T>(tracked: bool) -> BoxLayout {
    BoxLayout::new(Layout::new::<GcBox<T>>(), prefix_size(tracked, false))
}

unsafe fn slice_layout<T, const TRACKED: bool>(h: NonNull<Header>) -> BoxLayout {
    // SAFETY: the vtable is only used with live allocations of `[T]`.
    let len = unsafe { slice_len(h, TRACKED) };
    slice_box_layout::<T>(TRACKED, len)
}

pub(crate) fn slice_box_layout<T>(tracked: bool, len: usize) -> BoxLayout {
    let value = match Layout::array::<T>(len) {
        Ok(l) => l,
        Err(_) => panic!("Gc slice too large"),
    };
    let (box_layout, _) = match Layout::new::<Header>().extend(value) {
        Ok(l) => l,
        Err(_) => panic!("Gc slice too large"),
    };
    BoxLayout::new(box_layout.pad_to_align(), prefix_size(tracked, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_sizes() {
        assert_eq!(core::mem::size_of::<Header>(), 16);
        assert_eq!(sized_box_layout::<u64>(false).layout.size(), 24);
        assert_eq!(sized_box_layout::<u64>(true).layout.size(), 40);
        assert_eq!(sized_box_layout::<u64>(true).header_offset, 16);
        assert_eq!(sized_box_layout::<[u8; 64]>(false).header_offset, 0);
        // Over-aligned values keep the header right before them.
        #[repr(align(64))]
        struct Big(#[allow(dead_code)] u8);
        let l = sized_box_layout::<Big>(true);
        assert_eq!(l.layout.align(), 64);
        assert_eq!(l.header_offset, 64);
        assert_eq!(core::mem::offset_of!(GcBox<Big>, value), 64);
        let s = slice_box_layout::<u64>(true, 3);
        assert_eq!(s.header_offset, 32);
        assert_eq!(s.layout.size(), 32 + 16 + 24);
    }
}
