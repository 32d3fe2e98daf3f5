//! The intern table: the canonical `Gc<str>` of each interned string.
//!
//! Invariants:
//! - The table holds no strong reference: an entry is the canonical object
//!   itself (flag `INTERNED`), and it leaves the table the moment its count
//!   reaches zero (`lifecycle::unregister`), before it is destroyed.
//! - Only canonical objects carry `INTERNED`; they are never tracked.

use core::borrow::Borrow;
use core::hash::{Hash, Hasher};
use core::ptr::NonNull;

use super::Heap;
use crate::header::{flags, str_of, Header};

/// A table entry: a live, untracked `str` object.
pub(crate) struct Interned(NonNull<Header>);

impl Interned {
    fn as_str(&self) -> &str {
        // SAFETY: entries are live `str` objects (removed before they die).
        unsafe { str_of(self.0) }
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

impl Heap {
    /// The canonical object for `s`, if there is one (no count taken).
    pub(crate) fn interned(&self, s: &str) -> Option<NonNull<Header>> {
        self.tables.interned.borrow().get(s).map(|e| e.0)
    }

    /// Make `h` the canonical object of its string.
    ///
    /// # Safety
    /// `h` must be a live, untracked `str` object that is not interned yet.
    pub(crate) unsafe fn intern(&self, h: NonNull<Header>) {
        // SAFETY: live (caller).
        unsafe { h.as_ref() }.set(flags::INTERNED);
        self.tables.interned.borrow_mut().insert(Interned(h));
    }

    /// Number of canonical strings.
    pub(crate) fn interned_count(&self) -> usize {
        self.tables.interned.borrow().len()
    }

    /// The interned object `h` is dying: it leaves the table.
    ///
    /// # Safety
    /// `h` must be a live interned `str` object.
    pub(crate) unsafe fn forget_interned(&self, h: NonNull<Header>) {
        let key = Interned(h);
        self.tables.interned.borrow_mut().remove(key.as_str());
        // SAFETY: live (caller).
        unsafe { h.as_ref() }.clear(flags::INTERNED);
    }
}
