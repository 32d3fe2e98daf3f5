//! Intrusive circular doubly linked lists of tracked objects (the generations).
//!
//! Invariants:
//! - A [`List`] is a sentinel [`Links`] node that must not move once
//!   initialised; every list lives inside the leaked, heap-allocated `Heap` or
//!   on the collector's stack frame (pinned for the duration of a collection).
//! - Outside a collection every tracked, live object is in exactly one list
//!   and its `prev`/`next` are real pointers, except the objects an
//!   incremental phase holds in its side array (their `prev` is a slot tag,
//!   see `heap::incremental`, whose `unlink_tracked` handles both). During a
//!   collection the collector temporarily reuses `prev` of the objects it
//!   analyses (see `collector`); it restores the lists before any user code
//!   runs.
//! - An object that is in no list has `next == prev == self`, so `unlink` is a
//!   no-op on it.

use core::cell::Cell;
use core::ptr::{self, NonNull};

use crate::header::Links;

/// A list head (sentinel).
pub(crate) struct List {
    head: Links,
}

impl List {
    /// A list that must be [`init`](List::init)ed once it has its final address.
    pub(crate) const fn new_uninit() -> List {
        List {
            head: Links {
                next: Cell::new(ptr::null_mut()),
                prev: Cell::new(ptr::null_mut()),
            },
        }
    }

    /// Make the list empty. Must be called once the list is at its final address.
    pub(crate) fn init(&self) {
        let h = self.head_ptr();
        self.head.next.set(h);
        self.head.prev.set(h);
    }

    #[inline]
    pub(crate) fn head_ptr(&self) -> *mut Links {
        ptr::from_ref(&self.head).cast_mut()
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.head.next.get() == self.head_ptr()
    }

    /// First element, if any.
    #[inline]
    pub(crate) fn first(&self) -> Option<NonNull<Links>> {
        let n = self.head.next.get();
        if n == self.head_ptr() {
            None
        } else {
            NonNull::new(n)
        }
    }

    /// Put `node` (which must be in no list) in front.
    ///
    /// # Safety
    /// `node` must point to the links of a live tracked object that is in no list.
    #[inline]
    pub(crate) unsafe fn push_front(&self, node: NonNull<Links>) {
        // SAFETY: `node` is in no list (caller); the sentinel and its first
        // node (or the sentinel again) are adjacent in this list.
        unsafe { insert_between(node, self.head_ptr(), self.head.next.get()) }
    }

    /// Append `node` (which must be in no list).
    ///
    /// # Safety
    /// `node` must point to the links of a live tracked object that is in no list.
    #[inline]
    pub(crate) unsafe fn push_back(&self, node: NonNull<Links>) {
        // SAFETY: `node` is in no list (caller); the last node (or the
        // sentinel) and the sentinel are adjacent in this list.
        unsafe { insert_between(node, self.head.prev.get(), self.head_ptr()) }
    }

    /// Take the first element out (a self-loop afterwards), if any.
    #[inline]
    pub(crate) fn pop_front(&self) -> Option<NonNull<Links>> {
        let first = self.first()?;
        // SAFETY: an element of this well-formed list.
        unsafe { unlink(first) };
        Some(first)
    }

    /// Move every element of `other` to the end of `self`, leaving `other` empty.
    pub(crate) fn append(&self, other: &List) {
        if other.is_empty() {
            return;
        }
        let head = self.head_ptr();
        let last = self.head.prev.get();
        let first_o = other.head.next.get();
        let last_o = other.head.prev.get();
        // SAFETY: all four pointers are nodes of well-formed lists.
        unsafe {
            (*last).next.set(first_o);
            (*first_o).prev.set(last);
            (*last_o).next.set(head);
        }
        self.head.prev.set(last_o);
        other.init();
    }

    /// Number of elements (walks the list).
    pub(crate) fn len(&self) -> usize {
        self.iter().count()
    }

    /// Iterate over the elements. The list must not change while iterating.
    pub(crate) fn iter(&self) -> Iter<'_> {
        Iter {
            head: self.head_ptr(),
            cur: self.head.next.get(),
            _list: core::marker::PhantomData,
        }
    }
}

/// Remove `node` from whatever list it is in and make it a self-loop.
///
/// # Safety
/// `node` must point to the links of a live tracked object whose `prev` and
/// `next` are real pointers (true outside the collector's analysis phases).
#[inline]
pub(crate) unsafe fn unlink(node: NonNull<Links>) {
    // SAFETY: in a well-formed list `prev` and `next` are valid nodes; for a
    // self-loop both are `node` itself.
    unsafe {
        let n = node.as_ref();
        let prev = n.prev.get();
        let next = n.next.get();
        (*prev).next.set(next);
        (*next).prev.set(prev);
        n.next.set(node.as_ptr());
        n.prev.set(node.as_ptr());
    }
}

/// Make `node` a self-loop (in no list).
///
/// # Safety
/// `node` must point to writable (possibly uninitialised) links memory.
#[inline]
pub(crate) unsafe fn init_unlinked(node: NonNull<Links>) {
    // SAFETY: forwarded from the caller.
    unsafe {
        node.as_ptr().write(Links {
            next: Cell::new(node.as_ptr()),
            prev: Cell::new(node.as_ptr()),
        })
    }
}

/// Link `node` in between the adjacent nodes `prev` and `next` of one list.
///
/// # Safety
/// `node` must point to the links of a live tracked object that is in no list
/// (its links may be uninitialised: they are written whole); `prev` and
/// `next` must be adjacent nodes (or the sentinel) of a well-formed list.
#[inline]
unsafe fn insert_between(node: NonNull<Links>, prev: *mut Links, next: *mut Links) {
    // SAFETY: all three are valid links (caller).
    unsafe {
        node.as_ptr().write(Links {
            next: Cell::new(next),
            prev: Cell::new(prev),
        });
        (*prev).next.set(node.as_ptr());
        (*next).prev.set(node.as_ptr());
    }
}

pub(crate) struct Iter<'a> {
    head: *mut Links,
    cur: *mut Links,
    _list: core::marker::PhantomData<&'a List>,
}

impl Iterator for Iter<'_> {
    type Item = NonNull<Links>;

    #[inline]
    fn next(&mut self) -> Option<NonNull<Links>> {
        if self.cur == self.head {
            return None;
        }
        let node = NonNull::new(self.cur)?;
        // SAFETY: `cur` is a node of the list, which does not change while
        // the iterator borrows it.
        self.cur = unsafe { node.as_ref().next.get() };
        Some(node)
    }
}
