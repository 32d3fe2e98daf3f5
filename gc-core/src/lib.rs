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
//!   acts on the calling thread's heap. At thread exit the heap runs a last
//!   collection; objects still referenced (from other thread-locals) are
//!   leaked, never freed under a live reference.
//! - **Untracked leaves.** Values whose type cannot own a `Gc` (numbers,
//!   `String`, structs of such fields) are never seen by the collector and
//!   cost what an `Rc` costs. See [`Trace::needs_tracking`].
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
//!   to 512 bytes in pools and arenas, like pymalloc); [`gc::heap_stats`]
//!   shows it. Strings repeated a lot can be shared with [`intern`].
//!
//! The invariants the implementation relies on, and what a hand-written
//! `unsafe impl Trace` must uphold, are in `SAFETY.md`, which ships in this
//! crate's package (next to its `Cargo.toml`; in the repository it is the
//! file at the root).
//!
//! Module map: `pointer` (`Gc`), `weak` (`Weak`), `any` (`GcAny`), `trace`
//! (`Trace`, `Finalize`, `Tracer`), `header` (object layout), `heap` (the
//! per-thread heap), `lifecycle` (what happens at count zero), `collector`
//! (the cycle collector), `gc` (the control module), `intern`, `debug`
//! (leak-hunting tools).

#![doc = include_str!("docs/drop_closures_foreign.md")]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

extern crate self as gc_core;

mod any;
mod collector;
mod debug;
pub mod gc;
mod header;
mod heap;
mod intern;
mod lifecycle;
mod list;
mod pointer;
mod prefetch;
mod report;
mod trace;
mod weak;

pub use any::GcAny;
pub use gc_derive::{Finalize, Trace};
pub use header::GcPointee;
pub use intern::{intern, interned_count};
pub use pointer::Gc;
pub use trace::{Finalize, Trace, Tracer};
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
    impl<T: Drop> TraceTypesMustNotImplementDrop_UseFinalizeInstead for T {}
}
