//! `Trace`, `Finalize` and the `Tracer` the collector passes to `trace`.
//!
//! Invariants a `Trace` impl upholds (the derive upholds all of them):
//! - `trace` visits every `Gc` the value owns at most once per owning handle,
//!   and never a `Gc` it does not own a count of (over-reporting an edge makes
//!   the collector free a live object). Missing an edge is safe: the target
//!   only looks externally referenced and survives (it may leak).
//! - `trace` does not create, clone, drop or move `Gc`s, and does not mutate
//!   the object graph; it may read through cells.
//! - `needs_tracking` may return `false` only if no value of the type can be
//!   on a cycle of `Gc` edges: it owns no `Gc`, or only `Gc`s whose targets'
//!   types own none (`struct Pair(Gc<u8>, Gc<String>)`, as the derive
//!   answers), or its only other `Gc`s are edges to its own type that no
//!   shared reference can change (`struct Tree { kids: Vec<Gc<Tree>> }`; see
//!   [`Trace::needs_tracking`] for why such edges never close a cycle). A
//!   wrong `false` only makes cycles through the type uncollectable.

use core::cell::{Cell, RefCell};
use core::marker::PhantomData;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet, LinkedList, VecDeque};

use crate::tracer::Tracer;

/// Lists the [`Gc`](crate::Gc) edges a value owns, so the cycle collector can
/// find reference cycles.
///
/// Derive it with `#[derive(Trace)]`; a derived impl traces every field (skip
/// one with `#[gc(skip)]`, which must then hold no `Gc`) and makes the type
/// untracked when none of its values can be on a cycle: every `Gc` a field
/// can hold points to an untracked type, or, outside any cell, back to the
/// type itself (an immutable tree or list; see [`Trace::needs_tracking`]).
///
/// ```
/// use gc_core::{Finalize, Gc, Trace};
/// use std::cell::RefCell;
///
/// #[derive(Trace, Finalize)]
/// struct Node {
///     name: String,
///     edges: RefCell<Vec<Gc<Node>>>,
/// }
///
/// let a = Gc::new(Node { name: "a".into(), edges: RefCell::new(vec![]) });
/// a.edges.borrow_mut().push(a.clone()); // a self-cycle
/// drop(a);
/// assert_eq!(gc_core::gc::collect(), 1);
/// ```
///
/// # Safety
///
/// `trace` must call [`Trace::trace`] on every field that can own a `Gc`
/// (visiting a `Gc` reports one edge), and must never report an edge the value
/// does not own: an over-reported edge makes the collector free an object that
/// is still referenced. It must not create, clone or drop `Gc`s or change the
/// object graph while tracing. Missing an edge is always safe (the target then
/// looks externally referenced and may leak); a value that cannot report its
/// edges at the moment (a lock held elsewhere) calls
/// [`Tracer::incomplete`], so that the collector does not skip the next
/// collection as provably empty. A `Gc` reached through an
/// `Rc`/`Arc` must not be traced, because its count is shared with owners the
/// collector cannot see.
///
/// A panic escaping `trace` during a collection aborts the process: the
/// collector cannot restore its bookkeeping half way through.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement `Trace`, so the collector cannot see the `Gc`s it may hold",
    label = "not `Trace`",
    note = "for your own types, add `#[derive(Trace, Finalize)]`; mark a field that holds no `Gc` \
            (a `File`, a closure, a foreign type) `#[gc(skip)]` to leave it out of tracing",
    note = "for `dyn YourTrait`, make `Trace` a supertrait: `trait YourTrait: Trace {{ .. }}`",
    note = "a `Cell` is `Trace` only for a `Copy` type, and `Gc` is not `Copy`: \
            use `RefCell` (`RefCell<Option<Gc<T>>>` for a link that can be empty)"
)]
pub unsafe trait Trace: Finalize + 'static {
    /// Visit every `Gc` this value owns by calling `trace` on each field.
    ///
    /// ```
    /// use gc_core::{Finalize, Gc, Trace, Tracer};
    ///
    /// struct Pair(Gc<u32>, Gc<u32>);
    /// impl Finalize for Pair {}
    /// // SAFETY: both fields are traced, nothing else is.
    /// unsafe impl Trace for Pair {
    ///     fn trace(&self, tracer: &mut Tracer) {
    ///         self.0.trace(tracer);
    ///         self.1.trace(tracer);
    ///     }
    /// }
    /// let p = Gc::new(Pair(Gc::new(1), Gc::new(2)));
    /// assert!(gc_core::gc::is_tracked(&p));
    /// ```
    fn trace(&self, tracer: &mut Tracer);

    /// Whether a value of this type may be on a reference cycle. Types
    /// answering `false` are *untracked*: never linked into a generation,
    /// never scanned, and as cheap as `Rc`. The default is `true`.
    ///
    /// `false` is right for a type that owns no `Gc`, and for one whose
    /// `Gc`s all point to types that own none: nothing such an object
    /// reaches can lead back to it. The std impls answer the first case;
    /// `Trace for Gc<T>` must answer `true`, because `T` may be unsized
    /// (`Gc<dyn Trait>`) and cannot be asked. `#[derive(Trace)]` answers
    /// the second case for fields spelled `Gc<X>` (also inside `Option`,
    /// `RefCell`, `Box`, `Vec`, `VecDeque`, arrays and slices) by asking
    /// `X`'s [shallow](Trace::needs_tracking_shallow) question, and answers
    /// `Box<str>` and `Box<[T]>` fields from `str` and `T`.
    ///
    /// The derive also leaves out *fixed edges to the type itself*: a field
    /// spelled `Gc<Self>` (or `Gc<ThisType<..>>` with the same arguments),
    /// also inside `Option`, `Box`, `Vec`, `VecDeque`, arrays and slices but
    /// not inside a `RefCell`, adds nothing to either answer. So a tree,
    /// list or expression type without interior mutability,
    /// `struct Tree { kids: Vec<Gc<Tree>>, label: String }`, is untracked
    /// and costs what `Rc` costs, while
    /// `struct Node { next: RefCell<Option<Gc<Node>>> }` is tracked. Why
    /// this is sound: call an edge *fixed* if it is not inside a cell (a
    /// `RefCell`, `Mutex`, `OnceCell`… anything a shared reference can
    /// change). The fixed edges never form a cycle, because a fixed edge
    /// only appears
    /// - when its holder is built (`Gc::new`): nothing refers to the new
    ///   object yet (a `Gc::new_cyclic` weak reference upgrades to `None`
    ///   until it is built), so no path leads back to it; or
    /// - through `&mut` access, which needs the object's only handle and
    ///   no weak reference (`Gc::get_mut`, `Gc::make_mut`), reached from a
    ///   handle the program holds through further objects with one handle
    ///   each: no edge at all leads into that chain from elsewhere, so the
    ///   new edge's target cannot reach back into it.
    ///
    /// So every cycle has an edge inside a cell. Now take an object of a
    /// type whose `Gc`s are fixed edges to its own type except those in
    /// fields whose types answer `false` (which lead only to objects on no
    /// cycle). A cycle through it cannot leave through those fields, so it
    /// would run through fixed self-edges only, and there is no such cycle.
    /// (As everywhere here, a `Gc` kept where the collector cannot see it,
    /// in an `Rc` or a `#[gc(skip)]` field, can still leak.)
    ///
    /// ```
    /// use gc_core::{gc, Finalize, Gc, Trace};
    /// use std::cell::RefCell;
    /// assert!(!String::needs_tracking());
    /// assert!(<Option<Gc<u8>>>::needs_tracking());
    ///
    /// #[derive(Trace, Finalize)]
    /// struct Pair(Gc<u8>, Gc<String>); // edges only to leaves: no cycle
    /// #[derive(Trace, Finalize)]
    /// struct List { next: Option<Gc<List>>, name: Box<str> } // fixed self-edges
    /// #[derive(Trace, Finalize)]
    /// struct Node { next: RefCell<Option<Gc<Node>>> } // can close a cycle
    /// assert!(!Pair::needs_tracking());
    /// assert!(!List::needs_tracking());
    /// assert!(Node::needs_tracking());
    /// let p = Gc::new(Pair(Gc::new(1), Gc::new("a".to_string())));
    /// assert!(!gc::is_tracked(&p));
    /// ```
    fn needs_tracking() -> bool
    where
        Self: Sized,
    {
        true
    }

    /// Like [`needs_tracking`](Trace::needs_tracking) but answering `true` for
    /// any type that owns values through a heap pointer (`Box`, `Vec`, maps…)
    /// without looking inside. Containers that own elements through a pointer
    /// ask their element type this question, which keeps the answer finite for
    /// recursive types such as `struct Tree { kids: Vec<Tree> }`. For that to
    /// hold, a hand-written `needs_tracking_shallow` must only ask other
    /// types' *shallow* questions (or answer a constant), never a
    /// `needs_tracking`: the derive's answer for a `Gc<X>` field asks `X`'s
    /// shallow question from inside a `needs_tracking`.
    ///
    /// ```
    /// use gc_core::Trace;
    /// assert!(!u32::needs_tracking_shallow());
    /// assert!(<Vec<u32>>::needs_tracking_shallow());
    /// assert!(!<Vec<u32>>::needs_tracking());
    /// ```
    fn needs_tracking_shallow() -> bool
    where
        Self: Sized,
    {
        true
    }

    /// Whether a value of this type owns a resource whose release the
    /// program may wait for — a file, a socket, a lock, a child process —
    /// inside something the collector does not see into.
    /// [`DebugFlags::RESOURCES`](crate::gc::DebugFlags::RESOURCES) reports
    /// every such object that the cycle collector frees (its release came
    /// late: only when a collection found its cycle). Only reporting
    /// depends on it.
    ///
    /// The default is `false`. `#[derive(Trace)]` answers `true` when a
    /// `#[gc(skip)]` field's type needs dropping (`std::mem::needs_drop`),
    /// or a traced field's type answers `true` itself (std containers answer
    /// `false`: a resource inside a `Vec` or `RefCell` of a traced field is
    /// not seen; skip that field, or implement this method).
    ///
    /// ```
    /// use gc_core::{Finalize, Trace};
    /// use std::fs::File;
    ///
    /// #[derive(Trace, Finalize)]
    /// struct Log {
    ///     lines: Vec<String>,
    ///     #[gc(skip)]
    ///     file: Option<File>,
    /// }
    /// assert!(Log::owns_resource());
    /// assert!(!String::owns_resource());
    /// ```
    fn owns_resource() -> bool
    where
        Self: Sized,
    {
        false
    }
}

/// The hook that runs once before an object is destroyed.
///
/// `finalize` runs exactly once in an object's life, on an intact object:
/// when its strong count reaches zero, or when the cycle collector finds it
/// unreachable (then all members of the garbage cycle are still valid and may
/// be read). A finalizer may *resurrect* objects of a garbage cycle by storing a
/// `Gc` to them somewhere reachable; those survive and are never finalized
/// again. Types that derive `Trace` cannot implement `Drop`; this is their hook.
///
/// A panic in `finalize` is caught and reported on stderr.
///
/// ```
/// use gc_core::{Finalize, Gc, Trace};
/// use std::cell::Cell;
///
/// thread_local!(static FINALIZED: Cell<u32> = const { Cell::new(0) });
///
/// #[derive(Trace)]
/// struct File { fd: i32 }
/// impl Finalize for File {
///     fn finalize(&self) {
///         FINALIZED.with(|c| c.set(c.get() + 1));
///     }
/// }
/// drop(Gc::new(File { fd: 3 }));
/// assert_eq!(FINALIZED.with(Cell::get), 1);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement `Finalize`, which every `Trace` type needs",
    label = "no `Finalize` impl",
    note = "add `#[derive(Finalize)]` (no finalizer), or write `impl Finalize for {Self}` \
            with a `fn finalize(&self)` to run code once before the value is dropped"
)]
pub trait Finalize {
    /// Called once before the value is dropped.
    fn finalize(&self) {}

    /// Whether `finalize` may do anything. `#[derive(Finalize)]` answers
    /// `false`, which lets the collector skip the finalization pass; manual
    /// impls keep the default `true`.
    ///
    /// ```
    /// use gc_core::Finalize;
    /// assert!(!<Vec<u8>>::has_finalizer());
    /// ```
    fn has_finalizer() -> bool
    where
        Self: Sized,
    {
        true
    }
}

/// `Trace` for types that cannot own a `Gc`.
macro_rules! leaf {
    ($($t:ty),* $(,)?) => {$(
        impl Finalize for $t {
            #[inline]
            fn has_finalizer() -> bool { false }
        }
        // SAFETY: the type owns no `Gc`.
        unsafe impl Trace for $t {
            #[inline]
            fn trace(&self, _: &mut Tracer) {}
            #[inline]
            fn needs_tracking() -> bool { false }
            #[inline]
            fn needs_tracking_shallow() -> bool { false }
        }
    )*};
}

leaf!(
    (),
    bool,
    char,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    String,
    &'static str,
    core::num::NonZeroU8,
    core::num::NonZeroU16,
    core::num::NonZeroU32,
    core::num::NonZeroU64,
    core::num::NonZeroU128,
    core::num::NonZeroUsize,
    core::num::NonZeroI8,
    core::num::NonZeroI16,
    core::num::NonZeroI32,
    core::num::NonZeroI64,
    core::num::NonZeroI128,
    core::num::NonZeroIsize,
    core::time::Duration,
    std::time::Instant,
    std::time::SystemTime,
    std::path::PathBuf,
    std::ffi::OsString,
    core::any::TypeId,
);

impl Finalize for str {}
// SAFETY: a string owns no `Gc`.
unsafe impl Trace for str {
    #[inline]
    fn trace(&self, _: &mut Tracer) {}
}

/// `Trace` for containers that hold their elements inline (no heap pointer):
/// the element type is asked the same question, which stays finite because a
/// type cannot contain itself by value.
macro_rules! inline_container {
    ($($(#[$doc:meta])* [$($g:ident $(: $b:path)?),*] $t:ty => |$s:ident, $tr:ident| $body:expr, [$($e:ty),*];)*) => {$(
        impl<$($g $(: $b)?),*> Finalize for $t {
            #[inline]
            fn has_finalizer() -> bool { false }
        }
        $(#[$doc])*
        // SAFETY: `$body` visits every element at most once.
        unsafe impl<$($g: Trace $(+ $b)?),*> Trace for $t {
            #[inline]
            fn trace(&self, tracer: &mut Tracer) {
                let $s = self;
                let $tr = tracer;
                $body
            }
            #[inline]
            fn needs_tracking() -> bool { false $(|| <$e>::needs_tracking())* }
            #[inline]
            fn needs_tracking_shallow() -> bool { false $(|| <$e>::needs_tracking_shallow())* }
        }
    )*};
}

inline_container! {
    [T] Option<T> => |s, t| if let Some(v) = s { v.trace(t) }, [T];
    [T, E] Result<T, E> => |s, t| match s { Ok(v) => v.trace(t), Err(e) => e.trace(t) }, [T, E];
    [T] core::cmp::Reverse<T> => |s, t| s.0.trace(t), [T];
    [T] core::num::Wrapping<T> => |s, t| s.0.trace(t), [T];
    /// A `RefCell` that is mutably borrowed while the collector traces it is
    /// skipped: its contents count as externally referenced and survive this
    /// collection (under-reporting is safe; the collector does not skip the
    /// next collection, see [`Tracer::incomplete`]).
    [T] RefCell<T> => |s, t| match s.try_borrow() {
        Ok(v) => v.trace(t),
        Err(_) => t.incomplete(),
    }, [T];
    [T] std::cell::OnceCell<T> => |s, t| if let Some(v) = s.get() { v.trace(t) }, [T];
}

// `Cell` by hand rather than through `inline_container!`: `Finalize` needs no
// `Copy` bound, and `do_not_recommend` makes a `Cell<Option<Gc<T>>>` field
// report one "`Cell<..>` does not implement `Trace`" error with the notes of
// `Trace` (which say to use `RefCell`), instead of "`Gc<T>: Copy` is not
// satisfied" once per derived method, pointing into this file.
impl<T> Finalize for Cell<T> {
    #[inline]
    fn has_finalizer() -> bool {
        false
    }
}
/// A `Copy` type cannot own a `Gc` (`Gc` is not `Copy`); the copy is traced
/// anyway in case a manual impl says otherwise.
#[diagnostic::do_not_recommend]
// SAFETY: traces a copy of the one value, which owns what the cell owns.
unsafe impl<T: Trace + Copy> Trace for Cell<T> {
    #[inline]
    fn trace(&self, tracer: &mut Tracer) {
        self.get().trace(tracer)
    }
    #[inline]
    fn needs_tracking() -> bool {
        T::needs_tracking()
    }
    #[inline]
    fn needs_tracking_shallow() -> bool {
        T::needs_tracking_shallow()
    }
}

impl<T, const N: usize> Finalize for [T; N] {
    #[inline]
    fn has_finalizer() -> bool {
        false
    }
}
// SAFETY: visits every element once.
unsafe impl<T: Trace, const N: usize> Trace for [T; N] {
    #[inline]
    fn trace(&self, tracer: &mut Tracer) {
        for v in self {
            v.trace(tracer)
        }
    }
    #[inline]
    fn needs_tracking() -> bool {
        N != 0 && T::needs_tracking()
    }
    #[inline]
    fn needs_tracking_shallow() -> bool {
        N != 0 && T::needs_tracking_shallow()
    }
}

impl<T> Finalize for [T] {}
// SAFETY: visits every element once.
unsafe impl<T: Trace> Trace for [T] {
    #[inline]
    fn trace(&self, tracer: &mut Tracer) {
        for v in self {
            v.trace(tracer)
        }
    }
}

/// `Trace` for containers that own their elements through a heap pointer: the
/// element type is asked the *shallow* question so recursive types terminate.
/// Also used for the optional dependencies' containers (`foreign`). Each
/// entry: the impl's generics (with the bounds the type needs), the type, a
/// closure-like body visiting every element once, and the element types
/// that must be `Trace`.
macro_rules! heap_container {
    ($([$($g:ident $(: $b:path)?),*] $t:ty => |$s:ident, $tr:ident| $body:expr, [$($e:ty),*];)*) => {$(
        impl<$($g $(: $b)?),*> Finalize for $t {
            #[inline]
            fn has_finalizer() -> bool { false }
        }
        // SAFETY: `$body` visits every element exactly once.
        unsafe impl<$($g: 'static $(+ $b)?),*> Trace for $t
        where
            $($e: Trace,)*
        {
            #[inline]
            fn trace(&self, tracer: &mut Tracer) {
                let $s = self;
                let $tr = tracer;
                $body
            }
            #[inline]
            fn needs_tracking() -> bool { false $(|| <$e>::needs_tracking_shallow())* }
            #[inline]
            fn needs_tracking_shallow() -> bool { true }
        }
    )*};
}

heap_container! {
    [T] Vec<T> => |s, t| for v in s { v.trace(t) }, [T];
    [T] VecDeque<T> => |s, t| for v in s { v.trace(t) }, [T];
    [T] LinkedList<T> => |s, t| for v in s { v.trace(t) }, [T];
    [T: Ord] BinaryHeap<T> => |s, t| for v in s.iter() { v.trace(t) }, [T];
    [T: Ord] BTreeSet<T> => |s, t| for v in s { v.trace(t) }, [T];
    [K: Ord, V] BTreeMap<K, V> => |s, t| for (k, v) in s { k.trace(t); v.trace(t) }, [K, V];
    [T, S] HashSet<T, S> => |s, t| for v in s { v.trace(t) }, [T];
    [K, V, S] HashMap<K, V, S> => |s, t| for (k, v) in s { k.trace(t); v.trace(t) }, [K, V];
}

impl<T: ?Sized> Finalize for Box<T> {
    #[inline]
    fn has_finalizer() -> bool {
        false
    }
}
/// `Box<T>` forwards to `T`; `Box<dyn Trait>` works when `Trait: Trace`.
/// Because `T` may be unsized, a box is conservatively tracked.
// SAFETY: visits the boxed value.
unsafe impl<T: ?Sized + Trace> Trace for Box<T> {
    #[inline]
    fn trace(&self, tracer: &mut Tracer) {
        (**self).trace(tracer)
    }
}

/// `Trace` for pointer-like types that report no edge: `PhantomData` (owns
/// nothing), `Weak` (weak edges are never traced) and `Rc`/`Arc`.
///
/// `Rc` and `Arc` are *not* traced through: the count of a `Gc` behind an
/// `Rc` is shared with owners the collector cannot see, so reporting it as an
/// edge of one owner could make the collector free an object another owner
/// still reaches. A `Gc` inside an `Rc` is therefore an external reference:
/// it keeps its target alive, and a cycle through it is never collected.
macro_rules! untraced_pointer {
    ($($(#[$doc:meta])* $t:ident),*) => {$(
        impl<T: ?Sized> $crate::Finalize for $t<T> {
            #[inline]
            fn has_finalizer() -> bool { false }
        }
        $(#[$doc])*
        // SAFETY: reports nothing, which is always safe.
        unsafe impl<T: ?Sized + 'static> $crate::Trace for $t<T> {
            #[inline]
            fn trace(&self, _: &mut $crate::Tracer) {}
            #[inline]
            fn needs_tracking() -> bool { false }
            #[inline]
            fn needs_tracking_shallow() -> bool { false }
        }
    )*};
}
use std::rc::Rc;
use std::sync::Arc;
pub(crate) use untraced_pointer;
untraced_pointer!(PhantomData, Rc, Arc);

macro_rules! tuple {
    ($($name:ident)+) => {
        impl<$($name),+> Finalize for ($($name,)+) {
            #[inline]
            fn has_finalizer() -> bool { false }
        }
        // SAFETY: visits every field once.
        unsafe impl<$($name: Trace),+> Trace for ($($name,)+) {
            #[inline]
            #[allow(non_snake_case)]
            fn trace(&self, tracer: &mut Tracer) {
                let ($($name,)+) = self;
                $($name.trace(tracer);)+
            }
            #[inline]
            fn needs_tracking() -> bool { false $(|| $name::needs_tracking())+ }
            #[inline]
            fn needs_tracking_shallow() -> bool { false $(|| $name::needs_tracking_shallow())+ }
        }
    };
}
tuple!(A);
tuple!(A B);
tuple!(A B C);
tuple!(A B C D);
tuple!(A B C D E);
tuple!(A B C D E F);
tuple!(A B C D E F G);
tuple!(A B C D E F G H);
tuple!(A B C D E F G H I);
tuple!(A B C D E F G H I J);
tuple!(A B C D E F G H I J K);
tuple!(A B C D E F G H I J K L);

mod std_impls;

#[cfg(any(feature = "hashbrown", feature = "indexmap", feature = "smallvec"))]
mod foreign;
