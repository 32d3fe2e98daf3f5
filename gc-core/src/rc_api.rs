//! The rest of `Rc`'s API on `Gc`: [`Gc::new_cyclic`], [`Gc::make_mut`],
//! [`Gc::unwrap_or_clone`], and the conversions `From<Box<T>>`,
//! `From<Box<str>>`, `From<Box<[T]>>`, `From<[T; N]>`, `FromIterator` and
//! `Default` for `Gc<str>` / `Gc<[T]>`.
//!
//! Invariants:
//! - `new_cyclic`'s object is fully initialised, and its weak cell attached,
//!   before it is published (linked into generation 0, which may start a
//!   collection); until then no `Gc` to it exists and its `Weak`s upgrade to
//!   `None`. If the closure panics nothing has been allocated on the heap.
//! - `make_mut` hands out `&mut T` only through [`Gc::get_mut`], so a
//!   tracked object is detached from the generations exactly as `get_mut`
//!   does it while the borrow may be alive.

use core::mem::ManuallyDrop;
use core::ptr;

use crate::header::{flags, slice_box_layout};
use crate::heap;
use crate::pointer::{new_slice_box, Publish};
use crate::trace::Trace;
use crate::vtable::{box_of, slice_vtable_of};
use crate::weak::{self, Weak};
use crate::Gc;

impl<T: Trace> Gc<T> {
    /// A new `Gc` whose value is built by `data_fn` from a [`Weak`] to the
    /// object itself (as [`Rc::new_cyclic`](std::rc::Rc::new_cyclic)). The
    /// weak reference, and every clone of it, upgrades to `None` until
    /// `data_fn` returns; from then on they upgrade to the new object.
    ///
    /// If `data_fn` panics, nothing was allocated on the heap and no
    /// finalizer runs; the `Weak`s it made stay empty.
    ///
    /// ```
    /// use gc_core::{Finalize, Gc, Trace, Weak};
    ///
    /// #[derive(Trace, Finalize)]
    /// struct Node {
    ///     me: Weak<Node>,
    ///     value: u32,
    /// }
    ///
    /// let node = Gc::new_cyclic(|me| {
    ///     assert!(me.upgrade().is_none()); // not built yet
    ///     Node { me: me.clone(), value: 7 }
    /// });
    /// assert!(Gc::ptr_eq(&node.me.upgrade().unwrap(), &node));
    /// assert_eq!(node.value, 7);
    /// ```
    #[track_caller]
    pub fn new_cyclic<F>(data_fn: F) -> Gc<T>
    where
        F: FnOnce(&Weak<T>) -> T,
    {
        let weak = weak::new_unattached::<T>();
        let value = data_fn(&weak);
        let g = Gc::new_then(
            value,
            |heap, h| {
                // SAFETY: a new, initialised object of type `T` without a
                // cell, not yet published.
                unsafe { weak::attach(&weak, heap, h) };
            },
            Publish::InGeneration,
        );
        // The closure's `Weak` goes; the clones it kept now reach the object.
        drop(weak);
        g
    }
}

impl<T: Trace + Clone> Gc<T> {
    /// Mutable access to the value, cloning it first if other `Gc`s share it
    /// (as [`Rc::make_mut`](std::rc::Rc::make_mut)): after the call this
    /// handle is the only one to its object. If only `Weak`s share it, they
    /// are disassociated instead (they stop upgrading, as with `Rc`; the
    /// value is not cloned and stays where it is).
    ///
    /// Like [`Gc::get_mut`], a tracked object leaves the collector's
    /// generations while the `&mut T` may be alive, and returns as soon as a
    /// traced object is seen referring to it or a new handle or weak
    /// reference to it is made.
    ///
    /// ```
    /// use gc_core::Gc;
    /// let mut a = Gc::new(vec![1]);
    /// let b = a.clone();
    /// Gc::make_mut(&mut a).push(2); // clones: `b` is unchanged
    /// assert_eq!((&*a, &*b), (&vec![1, 2], &vec![1]));
    ///
    /// let w = Gc::downgrade(&a);
    /// Gc::make_mut(&mut a).push(3); // no clone; the weak is cut loose
    /// assert_eq!(*a, [1, 2, 3]);
    /// assert!(w.upgrade().is_none());
    /// ```
    #[track_caller]
    pub fn make_mut(this: &mut Gc<T>) -> &mut T {
        let hdr = this.header();
        hdr.assert_alive();
        if hdr.strong.get() != 1 {
            *this = unique_copy(this);
        } else if hdr.has(flags::HAS_WEAK) {
            match heap::current() {
                // The object is alive and not under analysis here: clearing
                // its cell is what its death would do to the weaks.
                // SAFETY: `this` keeps the object alive.
                Some(heap) => unsafe { heap.clear_weak(this.header_ptr()) },
                // After shutdown the weak table is gone: clone instead.
                None => *this = unique_copy(this),
            }
        }
        match Gc::get_mut(this) {
            Some(value) => value,
            // The copy's handle is the only one: it was detached before any
            // user code ran (the clone's allocation may start a collection,
            // the old handle's drop may free an object), and nothing lists or
            // traces a detached object.
            None => unreachable!("a sized object with one handle and no weak references"),
        }
    }

    /// The value: moved out if this is the only `Gc` to it (weak references
    /// do not count, as with [`Gc::try_unwrap`]), cloned otherwise (as
    /// [`Rc::unwrap_or_clone`](std::rc::Rc::unwrap_or_clone)).
    ///
    /// ```
    /// use gc_core::Gc;
    /// let a = Gc::new(String::from("x"));
    /// let b = a.clone();
    /// assert_eq!(Gc::unwrap_or_clone(a), "x"); // cloned: `b` still holds it
    /// assert_eq!(Gc::unwrap_or_clone(b), "x"); // moved out
    /// ```
    pub fn unwrap_or_clone(this: Gc<T>) -> T {
        Gc::try_unwrap(this).unwrap_or_else(|shared| (*shared).clone())
    }
}

/// A new object holding a clone of `this`'s value, whose handle is the only
/// one even after user code ran: detached from the generations before the
/// automatic collection its allocation may start (see [`Publish::Detached`]),
/// as [`Gc::get_mut`] would detach it anyway.
#[track_caller]
fn unique_copy<T: Trace + Clone>(this: &Gc<T>) -> Gc<T> {
    Gc::new_then((**this).clone(), |_, _| {}, Publish::Detached)
}

impl<T: Trace> From<Box<T>> for Gc<T> {
    /// Move a boxed value into a `Gc` (the box is freed). For unsized
    /// values see the impls for `Box<str>` and `Box<[T]>`; a `Box<dyn
    /// Trait>` cannot be converted (the object's vtable must be the concrete
    /// type's, which a trait object does not name) — make the `Gc` of the
    /// concrete value and [`coerce_gc!`](crate::coerce_gc) it instead.
    ///
    /// ```
    /// use gc_core::Gc;
    /// let g: Gc<u32> = Gc::from(Box::new(5));
    /// assert_eq!(*g, 5);
    /// ```
    #[track_caller]
    fn from(b: Box<T>) -> Gc<T> {
        Gc::new(*b)
    }
}

impl From<Box<str>> for Gc<str> {
    /// Copy a boxed string into a `Gc<str>`.
    ///
    /// ```
    /// use gc_core::Gc;
    /// let g: Gc<str> = Gc::from(Box::<str>::from("boxed"));
    /// assert_eq!(&*g, "boxed");
    /// ```
    fn from(b: Box<str>) -> Gc<str> {
        Gc::from(&*b)
    }
}

impl<T: Trace> From<Box<[T]>> for Gc<[T]> {
    /// Move the elements of a boxed slice into a `Gc<[T]>`.
    ///
    /// ```
    /// use gc_core::Gc;
    /// let g: Gc<[String]> = Gc::from(vec!["a".to_string()].into_boxed_slice());
    /// assert_eq!(g[0], "a");
    /// ```
    fn from(b: Box<[T]>) -> Gc<[T]> {
        Gc::from(b.into_vec())
    }
}

impl<T: Trace, const N: usize> From<[T; N]> for Gc<[T]> {
    /// Move the elements of an array into a `Gc<[T]>` (an object created as
    /// a slice: `GcAny::downcast::<[T]>` finds it, unlike a
    /// [`coerce_gc!`](crate::coerce_gc)ed `Gc<[T; N]>`).
    ///
    /// ```
    /// use gc_core::Gc;
    /// let g: Gc<[u8]> = Gc::from([1, 2, 3]);
    /// assert_eq!(&*g, &[1, 2, 3]);
    /// assert!(Gc::into_any(g).downcast::<[u8]>().is_ok());
    /// ```
    fn from(array: [T; N]) -> Gc<[T]> {
        let array = ManuallyDrop::new(array);
        // Asked once, for the layout and the vtable alike.
        let tracked = T::needs_tracking();
        let layout = slice_box_layout::<T>(tracked, N);
        // SAFETY: moves the `N` elements out of the array, which is never
        // dropped.
        let h = unsafe {
            new_slice_box::<T>(N, slice_vtable_of::<T>(tracked), layout, |dst| {
                ptr::copy_nonoverlapping(array.as_ptr(), dst, N)
            })
        };
        // SAFETY: a new `[T]` object with one strong count.
        unsafe { Gc::from_box(box_of::<[T]>(h)) }
    }
}

impl<T: Trace> FromIterator<T> for Gc<[T]> {
    /// Collect the items into a `Gc<[T]>`.
    ///
    /// ```
    /// use gc_core::Gc;
    /// let g: Gc<[u32]> = (1..=3).map(|i| i * 10).collect();
    /// assert_eq!(&*g, &[10, 20, 30]);
    /// ```
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Gc<[T]> {
        Gc::from(iter.into_iter().collect::<Vec<T>>())
    }
}

impl Default for Gc<str> {
    /// An empty `Gc<str>`.
    ///
    /// ```
    /// let s: gc_core::Gc<str> = Default::default();
    /// assert_eq!(&*s, "");
    /// ```
    fn default() -> Gc<str> {
        Gc::from("")
    }
}

impl<T: Trace> Default for Gc<[T]> {
    /// An empty `Gc<[T]>`.
    ///
    /// ```
    /// let s: gc_core::Gc<[u8]> = Default::default();
    /// assert!(s.is_empty());
    /// ```
    fn default() -> Gc<[T]> {
        Gc::from(Vec::new())
    }
}
