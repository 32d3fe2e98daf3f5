//! The memory layout of a `Gc` allocation: header, generation links, vtable.
//!
//! ```text
//!  tracked sized:     [ next | prev ][ strong | meta ][ value ]
//!  untracked sized:                  [ strong | meta ][ value ]
//!  tracked slice:        [ len ][ next | prev ][ strong | meta ][ value ]
//!  untracked slice:                     [ len ][ strong | meta ][ value ]
//!                                              ^ a `Gc` points here (the `GcBox`)
//! ```
//!
//! The allocation has the alignment of the `GcBox` (8, or the value's if
//! larger); padding before the prefix appears only for over-aligned values,
//! so every offset below is from the header, never from the block start.
//!
//! Invariants:
//! - `Header` is the first field of the `#[repr(C)]` [`GcBox`]; a `Gc` holds a
//!   pointer to it that was derived from the raw allocation, so the prefix
//!   (links, length) at negative offsets is in bounds of its provenance.
//!   Code never derives a header pointer from a reference to the box.
//! - `meta` is a pointer to the type's `'static`
//!   [`VTable`](crate::vtable::VTable) whose low 9 bits hold the per-object
//!   [`flags`] (vtables are 512-aligned). The vtable fixes everything about
//!   the type; the flags are the only per-object state besides the strong
//!   count.
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
use core::cell::Cell;
use core::ptr::NonNull;

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
    /// Tagged pointer: the address of the type's `'static` vtable (see
    /// `vtable`) with the [`flags`] in its low bits.
    meta: Cell<*const ()>,
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
        // The allocation has the box's alignment (at least 8, the header's),
        // so the links and the length, 8-byte words, sit right before the
        // header; only an over-aligned value pads the prefix.
        let align = box_layout.align();
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
    /// A header with one strong count, for the vtable at `meta` (which must
    /// be aligned so that the [`flags`] bits are free) and `flags` set.
    pub(crate) fn with_meta(meta: *const (), flags: usize) -> Header {
        debug_assert_eq!(meta.addr() & flags::MASK, 0);
        Header {
            strong: Cell::new(1),
            meta: Cell::new(meta.map_addr(|a| a | flags)),
        }
    }

    /// The vtable address, flags stripped (with the provenance `with_meta`
    /// was given).
    #[inline]
    pub(crate) fn meta(&self) -> *const () {
        self.meta.get().map_addr(|a| a & !flags::MASK)
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

/// The string of a live `str` object (`Gc<str>`), read from its header.
///
/// # Safety
/// `h` must be a live `str` allocation (untracked, with its length slot),
/// and the string must not be used after the object dies.
pub(crate) unsafe fn str_of<'a>(h: NonNull<Header>) -> &'a str {
    // SAFETY: `str` objects are untracked slices: the length sits in its
    // slot and the bytes right after the header, as `GcBox<str>` lays them.
    unsafe {
        let len = slice_len(h, false);
        let bytes = h
            .cast::<u8>()
            .add(core::mem::offset_of!(GcBox<[u8; 0]>, value));
        core::str::from_utf8_unchecked(core::slice::from_raw_parts(bytes.as_ptr(), len))
    }
}

/// # Safety
/// As [`len_slot`], before the allocation is published.
pub(crate) unsafe fn write_slice_len(h: NonNull<Header>, tracked: bool, len: usize) {
    // SAFETY: as `slice_len`.
    unsafe { len_slot(h, tracked).write(len) }
}

pub(crate) const fn sized_box_layout<T>(tracked: bool) -> BoxLayout {
    BoxLayout::new(Layout::new::<GcBox<T>>(), prefix_size(tracked, false))
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
        assert_eq!(s.header_offset, 24);
        assert_eq!(s.layout.size(), 24 + 16 + 24);
        // No padding to 16: a tracked box of a 24-byte value is 56 bytes.
        assert_eq!(sized_box_layout::<[u64; 3]>(true).layout.size(), 56);
        assert_eq!(sized_box_layout::<[u64; 3]>(true).layout.align(), 8);
        // 16-aligned values keep their alignment (and a 16-multiple size).
        #[repr(align(16))]
        struct A16(#[allow(dead_code)] u64);
        let w = sized_box_layout::<A16>(true);
        assert_eq!((w.layout.align(), w.header_offset), (16, 16));
        assert_eq!(w.layout.size() % 16, 0);
        let ws = slice_box_layout::<A16>(true, 1);
        assert_eq!((ws.layout.align(), ws.header_offset), (16, 32));
    }
}
