//! Reference-counted garbage-collected pointers with a CPython-style
//! generational cycle collector.
//!
//! Every [`Gc<T>`] is reference counted and freed the moment its count
//! reaches zero, like [`Rc`](std::rc::Rc). Reference cycles, which counting
//! cannot free, are found by a generational cycle collector modelled on
//! CPython's: it runs automatically as tracked allocations accumulate, or on
//! [`gc::collect`]. `#[derive(Trace)]` writes, for each type, the code that
//! lists the `Gc` edges it owns — all the collector needs to know about it.
//!
//! ```
//! use gc_core::{gc, Finalize, Gc, Trace};
//! use std::cell::RefCell;
//!
//! #[derive(Trace, Finalize)]
//! struct Person {
//!     name: String,
//!     friends: RefCell<Vec<Gc<Person>>>,
//! }
//!
//! let alice = Gc::new(Person { name: "Alice".into(), friends: RefCell::new(vec![]) });
//! let bob = Gc::new(Person { name: "Bob".into(), friends: RefCell::new(vec![]) });
//! alice.friends.borrow_mut().push(bob.clone());
//! bob.friends.borrow_mut().push(alice.clone()); // a cycle
//! drop((alice, bob));                           // counting alone cannot free it
//! assert_eq!(gc::collect(), 2);                 // the collector does
//! ```
//!
//! # What to know
//!
//! - **One heap per thread.** `Gc` is `!Send + !Sync`; every [`gc`] function
//!   acts on the calling thread's heap. At thread exit the heap drops its
//!   callbacks, debug sink and `gc::garbage()` list and collects until
//!   nothing more is found (cycles made by finalizers meanwhile included);
//!   objects still referenced (from other thread-locals) are leaked, never
//!   freed under a live reference, and `DebugFlags::UNCOLLECTABLE` reports
//!   them.
//! - **Untracked leaves.** Values whose type cannot be on a cycle (numbers,
//!   `String`, structs of such fields, structs whose `Gc`s lead only to
//!   such leaves, and immutable self-referential types such as
//!   `struct Tree { kids: Vec<Gc<Tree>> }`) are never seen by the collector
//!   and cost what an `Rc` costs. See [`Trace::needs_tracking`].
//! - **Finalization** follows PEP 442: for a garbage cycle, weak references
//!   are cleared first, then each object's [`Finalize::finalize`] runs once on
//!   an intact object, then objects a finalizer made reachable again survive
//!   and the rest are dropped and freed.
//! - **No `Drop` on traced types**: a type deriving `Trace` cannot implement
//!   `Drop` (compile error); use `Finalize`. A `Drop` impl of a *field* type
//!   that reaches into a cycle being torn down gets a panic, never a dangling
//!   read.
//! - **Deep structures are fine**: dropping a 10-million-long chain does not
//!   overflow the stack, and the collector never recurses through user data.
//! - **Trait objects** on stable Rust: [`coerce_gc!`] turns a `Gc<Num>` into
//!   a `Gc<dyn Value>` (or a `Gc<[T; N]>` into a `Gc<[T]>`), and
//!   [`coerce_weak!`] does the same for `Weak`; the object still traces,
//!   finalizes and drops as the concrete value.
//! - **Cargo features** (all off by default): `hashbrown`, `indexmap` and
//!   `smallvec` implement `Trace` for those crates' containers.
//! - **What the collector cannot see**: a `File` or a closure in a
//!   `#[gc(skip)]` field, a trait object, an `Rc` — see [Drop, closures,
//!   trait objects and foreign types](#drop-closures-trait-objects-and-foreign-types)
//!   below for what to do, and how to find a leak through one.
//!
//! - **Finding leaks**: [`gc::set_debug`] flags (`STATS`, `COLLECTABLE`,
//!   `UNCOLLECTABLE`, `SAVEALL`), [`gc::objects`], [`gc::referrers`],
//!   [`gc::referents`], [`gc::census`] with diffs, [`gc::write_dot`] and
//!   [`gc::track_allocations`] do what Python's `gc`, objgraph and
//!   tracemalloc do.
//! - **Memory** comes from a per-thread pooled allocator (size classes of 16
//!   to 512 bytes in steps of 8, in pools and arenas, like pymalloc and
//!   mimalloc); [`gc::heap_stats`]
//!   shows it. Strings repeated a lot can be shared with [`intern`](fn@intern).
//!
//! The invariants the implementation relies on, and what a hand-written
//! `unsafe impl Trace` must uphold, are in `SAFETY.md`, which ships in this
//! crate's package (next to its `Cargo.toml`; in the repository it is the
//! file at the root).
//!
//! How the implementation is layered, and the path of an object from
//! `Gc::new` through the heap, the generations and the collector's phases
//! to its teardown, is described in `ARCHITECTURE.md` at the repository
//! root.

#![doc = include_str!("docs/drop_closures_foreign.md")]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

extern crate self as gc_core;

// Layers, each importing only from the ones above it in this list (see
// ARCHITECTURE.md): object layout; per-thread state; diagnostics output;
// tracing (machinery, traits, vtable); lifecycle; collector; handles; leak
// tools; and the facade (`gc`, this file).
mod header;
mod list;
mod prefetch;

mod heap;

mod output;

mod trace;
mod tracer;
mod vtable;

mod lifecycle;

mod collector;

mod any;
mod coerce;
mod intern;
mod pointer;
mod rc_api;
mod weak;

mod debug;

pub mod gc;

pub use any::GcAny;
pub use gc_derive::{Finalize, Trace};
pub use intern::{intern, interned_count};
pub use pointer::Gc;
pub use trace::{Finalize, Trace};
pub use tracer::Tracer;
pub use vtable::GcPointee;
pub use weak::Weak;

/// Items the derive macros refer to. Not public API.
#[doc(hidden)]
pub mod __private {
    /// Implemented by the derive for every type deriving `Trace`. The blanket
    /// impl for `Drop` types makes `impl Drop` on such a type a
    /// "conflicting implementations" error naming this trait: traced types
    /// must use `Finalize` instead of `Drop`, because the collector drops the
    /// members of a garbage cycle while they still point to each other.
    #[allow(non_camel_case_types)]
    pub trait TraceTypesMustNotImplementDrop_UseFinalizeInstead {}

    #[allow(drop_bounds)]
    impl<T: ?Sized + Drop> TraceTypesMustNotImplementDrop_UseFinalizeInstead for T {}

    use core::marker::PhantomData;

    /// Asks the tracking questions of a type that may be unsized (the last
    /// field of a derived struct): `(&&TrackingProbe::<T>::NEW).__needs_tracking()`
    /// resolves to [`SizedTracking`] when `T` is known to be sized and
    /// `Trace`, and to [`UnsizedTracking`] (which answers `true`, tracked)
    /// otherwise.
    pub struct TrackingProbe<T: ?Sized>(PhantomData<T>);

    impl<T: ?Sized> TrackingProbe<T> {
        /// The probe.
        pub const NEW: TrackingProbe<T> = TrackingProbe(PhantomData);
    }

    /// The answers of a sized `Trace` type (preferred: one autoref closer).
    pub trait SizedTracking {
        /// `T::needs_tracking()`.
        fn __needs_tracking(&self) -> bool;
        /// `T::needs_tracking_shallow()`.
        fn __needs_tracking_shallow(&self) -> bool;
        /// `T::owns_resource()`.
        fn __owns_resource(&self) -> bool;
    }

    impl<T: crate::Trace> SizedTracking for &TrackingProbe<T> {
        #[inline]
        fn __needs_tracking(&self) -> bool {
            T::needs_tracking()
        }
        #[inline]
        fn __needs_tracking_shallow(&self) -> bool {
            T::needs_tracking_shallow()
        }
        #[inline]
        fn __owns_resource(&self) -> bool {
            T::owns_resource()
        }
    }

    /// The conservative answers for a type that may be unsized.
    pub trait UnsizedTracking {
        /// `true`.
        fn __needs_tracking(&self) -> bool;
        /// `true`.
        fn __needs_tracking_shallow(&self) -> bool;
        /// `false` (only reporting depends on it).
        fn __owns_resource(&self) -> bool;
    }

    impl<T: ?Sized> UnsizedTracking for TrackingProbe<T> {
        #[inline]
        fn __needs_tracking(&self) -> bool {
            true
        }
        #[inline]
        fn __needs_tracking_shallow(&self) -> bool {
            true
        }
        #[inline]
        fn __owns_resource(&self) -> bool {
            false
        }
    }

    // `str` and slices are unsized but their answers are known: the probe
    // asks them directly (a `Box<str>` or `Gc<[u32]>` field is untracked).
    impl SizedTracking for &TrackingProbe<str> {
        #[inline]
        fn __needs_tracking(&self) -> bool {
            false
        }
        #[inline]
        fn __needs_tracking_shallow(&self) -> bool {
            false
        }
        #[inline]
        fn __owns_resource(&self) -> bool {
            false
        }
    }

    impl<T: crate::Trace> SizedTracking for &TrackingProbe<[T]> {
        #[inline]
        fn __needs_tracking(&self) -> bool {
            T::needs_tracking()
        }
        #[inline]
        fn __needs_tracking_shallow(&self) -> bool {
            T::needs_tracking_shallow()
        }
        #[inline]
        fn __owns_resource(&self) -> bool {
            T::owns_resource()
        }
    }

    /// gc-core's `Gc`, for the derive's type checks: a crate path given with
    /// `#[gc(crate = path)]` may name a module with a `Gc` of its own (an
    /// alias of some other `gc_core::Gc<..>`), but re-exports this module
    /// unchanged.
    pub type RealGc<T> = crate::Gc<T>;

    /// Compares two types: `(&&SameType::<A, B>::NEW).__same()` is `true`
    /// when `A` and `B` are the same type ([`IsSameType`]) and `false`
    /// otherwise ([`NotSameType`]). The derive uses it to check that a field
    /// type it recognised by its spelling (`Gc<X>`, `Option<..>`, `Box<..>`,
    /// ...) is the type it thinks: a user's own `Gc` or `Option` makes it
    /// fall back to asking the field type itself.
    pub struct SameType<A: ?Sized, B: ?Sized>(PhantomData<A>, PhantomData<B>);

    impl<A: ?Sized, B: ?Sized> SameType<A, B> {
        /// The probe.
        pub const NEW: SameType<A, B> = SameType(PhantomData, PhantomData);
    }

    /// The two types are the same (preferred: one autoref closer).
    pub trait IsSameType {
        /// `true`.
        fn __same(&self) -> bool;
    }

    impl<A: ?Sized> IsSameType for &SameType<A, A> {
        #[inline]
        fn __same(&self) -> bool {
            true
        }
    }

    /// The two types differ, or are not known to be the same.
    pub trait NotSameType {
        /// `false`.
        fn __same(&self) -> bool;
    }

    impl<A: ?Sized, B: ?Sized> NotSameType for SameType<A, B> {
        #[inline]
        fn __same(&self) -> bool {
            false
        }
    }
}
