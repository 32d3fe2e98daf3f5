//! String interning: one shared `Gc<str>` per distinct string.
//!
//! Invariants:
//! - The table holds no strong reference: an entry is the canonical object
//!   itself (flag `INTERNED`), and it leaves the table the moment its count
//!   reaches zero (`lifecycle::detach`), before it is destroyed.
//! - Only canonical objects carry `INTERNED`; they are never tracked.

use core::borrow::Borrow;
use core::hash::{Hash, Hasher};
use core::ptr::NonNull;

use crate::header::{box_of, flags, Header};
use crate::heap::{self, Heap};
use crate::Gc;

/// An entry of the intern table: a live interned `str` object, compared and
/// hashed by its contents.
pub(crate) struct Interned(NonNull<Header>);

impl Interned {
    fn as_str(&self) -> &str {
        // SAFETY: entries are live `str` objects (removed before they die).
        unsafe { &(*box_of::<str>(self.0).as_ptr()).value }
    }
}

impl Borrow<str> for Interned {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Interned {
    fn eq(&self, other: &Interned) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Interned {}

impl Hash for Interned {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

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
    let Some(heap) = heap::current() else {
        return Gc::from(s);
    };
    if let Some(entry) = heap.interned.borrow().get(s) {
        // SAFETY: entries are live; the new handle takes a strong count.
        unsafe {
            entry.0.as_ref().inc_strong();
            return Gc::from_header(box_of::<str>(entry.0));
        }
    }
    let g = Gc::<str>::from(s);
    let h = g.header_ptr();
    // SAFETY: `g` keeps the object alive.
    unsafe { h.as_ref() }.set(flags::INTERNED);
    heap.interned.borrow_mut().insert(Interned(h));
    g
}

/// Remove the dying canonical string `h` from the table.
pub(crate) fn forget(heap: &Heap, h: NonNull<Header>) {
    let key = Interned(h);
    heap.interned.borrow_mut().remove(key.as_str());
    // SAFETY: the caller passes a live object.
    unsafe { h.as_ref() }.clear(flags::INTERNED);
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
    heap::current().map_or(0, |h| h.interned.borrow().len())
}
