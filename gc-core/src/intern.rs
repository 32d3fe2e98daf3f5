//! String interning: one shared `Gc<str>` per distinct string.
//!
//! The table is the heap's (`heap::interned`, which states its invariants);
//! this is the public entry point.

use crate::vtable::box_of;
use crate::Gc;

/// The canonical `Gc<str>` equal to `s`: every call with equal contents
/// returns the same allocation while any handle to it is alive, so equal
/// interned strings compare with [`Gc::ptr_eq`] and are stored once.
///
/// Intern strings that repeat a lot and live long — identifiers, keys,
/// symbol names — as Python interns identifiers. The table does not keep
/// strings alive: when the last handle goes, the string is freed and its entry
/// removed. Interning costs a hash lookup, so one-off strings are cheaper as
/// plain `Gc::from(s)`.
///
/// ```
/// use gc_core::{intern, Gc};
///
/// let a = intern("name");
/// let b = intern(&String::from("name"));
/// assert!(Gc::ptr_eq(&a, &b));
/// assert!(!Gc::ptr_eq(&a, &Gc::from("name")));
/// ```
pub fn intern(s: &str) -> Gc<str> {
    let Some(heap) = crate::collector::thread_heap() else {
        return Gc::from(s);
    };
    if let Some(entry) = heap.interned(s) {
        // SAFETY: entries are live; the new handle takes a strong count.
        unsafe {
            entry.as_ref().inc_strong();
            return Gc::from_box(box_of::<str>(entry));
        }
    }
    let g = Gc::<str>::from(s);
    // SAFETY: `g` keeps its new, untracked `str` object alive.
    unsafe { heap.intern(g.header_ptr()) };
    g
}

/// Number of strings in the calling thread's intern table.
///
/// ```
/// let before = gc_core::interned_count();
/// let s = gc_core::intern("a-rare-identifier");
/// assert_eq!(gc_core::interned_count(), before + 1);
/// drop(s);
/// assert_eq!(gc_core::interned_count(), before);
/// ```
pub fn interned_count() -> usize {
    crate::heap::current().map_or(0, |h| h.interned_count())
}
