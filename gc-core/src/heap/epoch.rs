//! The *candidate epoch*: a per-thread count of the events that can turn
//! live objects into cyclic garbage, which lets the collector skip a
//! collection that provably cannot find any (see
//! `collector::generations::skip_if_clean`).
//!
//! # Why a collection with no new event finds nothing
//!
//! Call an object *in the generations* when it carries `IN_GEN`; a
//! collection of generation `g` analyses the objects in generations
//! `0..=g`. An *event* is one of:
//! - a *decrement to nonzero* of an object in the generations (Bacon and
//!   Rajan's candidate: a strong count that went down and not to zero);
//! - anything that may make an analysis keep an unreachable object alive
//!   or hide an object from it: a value that could not report its edges
//!   ([`Tracer::incomplete`](crate::Tracer::incomplete), e.g. a mutably
//!   borrowed `RefCell`), a detached object re-attached, `unfreeze`, and a
//!   collection that found garbage (finalizers may resurrect it, `SAVEALL`
//!   keeps it, drops may leave orphans). These call [`mark_dirty`].
//!
//! Claim: if no event happened since the start of the last analysis of a
//! level `>= g`, a collection of generation `g` finds nothing.
//!
//! Proof. Suppose it would find a nonempty set `F`. `F` is closed: every
//! reference to a member comes from a member (a reference from anywhere
//! else — a handle on the stack, an untracked or frozen or detached holder,
//! an object of an older generation, or an object reachable from those —
//! would make that member reachable, hence not in `F`). Every member had an
//! outside reference when it was created (the `Gc` that `Gc::new` returned),
//! so let `t` be the moment the last outside reference to `F` went away. It
//! was not *moved* into `F`: to store a handle into a member one must reach
//! that member through a reference that is itself outside `F` and is still
//! there after the store (safe Rust cannot move a handle into a structure
//! while borrowing the structure through that same handle), so it would not
//! be the last. So it was dropped: a strong-count decrement of a member
//! `m`, and not to zero (`m` is alive now, and a count never comes back from
//! zero). Was `m` in the generations at `t`? Objects only leave them
//! through `freeze`, `Gc::get_mut` (detach) and death, and only come back
//! through `unfreeze` and re-attachment, both events; so if `m` was out at
//! `t` an event happened when it came back, after `t`. Otherwise the
//! decrement at `t` was an event. Either way an event happened at or after
//! `t`, so by assumption the last analysis `A` of a level `>= g` started
//! after `t`. Generations only ever move objects to older ones (again
//! except `unfreeze` and re-attachment, events), so when `A` ran every
//! member of `F` was in a generation no older than now, i.e. in `0..=g`,
//! hence a member of `A`; no reference to `F` was added since `t`
//! (nothing outside reaches it; a `Weak::upgrade` would add an outside
//! reference whose drop is a later decrement); so `A` saw `F` closed and
//! found it unreachable — unless something kept it alive, which is an
//! event after `A`'s start, excluded. So `A` freed `F` (or found garbage,
//! an event): contradiction. ∎
//!
//! What the epoch cannot do: let a full collection of a growing heap
//! analyse only what joined since the last full collection, treating the
//! older part as outside references, when only *that part* saw no event.
//! A handle to an old object can be moved into a new one without any
//! event on the old part. Counterexample: old `R -> O`, the program's only
//! handle `r` to `R`; `let y = Gc::new(Node { edges: vec![r] })` moves `r`
//! into the new `Y`; `o.edges.push(y.clone())`, reaching `O` through
//! `y -> R -> O`; `drop(y)`. The only event is the decrement of the *new*
//! `Y`, yet `{Y, R, O}` is now garbage, and an analysis of the new part
//! alone counts `O -> Y` as an outside reference and keeps it. Knowing
//! which old objects lost their outside references would take a barrier
//! on every store of a handle into a traced field (std's `RefCell` has
//! none), or per-object outside counts kept up to date, which the same
//! moves make impossible. So a dirty full collection analyses the whole
//! heap, and the 25 % rule keeps the total of those analyses within a
//! constant factor of the objects added.
//!
//! What would be exact but does not help: the proof above shows more — every
//! garbage object is reached from the member `m` whose decrement removed the
//! last outside reference (apply it to the predecessors of the object), so
//! an analysis of only what the candidates since the last full collection
//! reach (Bacon and Rajan's roots), the rest counting as outside, would find
//! exactly the garbage (the other events still forcing a whole analysis).
//! But remembering candidates means a buffer write per decrement to nonzero
//! instead of one increment, and on the structures that make full
//! collections expensive — a growing doubly linked list, a tree with parent
//! pointers, a graph — each step's candidates reach the whole structure, so
//! such an analysis still covers the heap.
//!
//! The counter is a thread-local cell of its own, not a heap field, so that
//! the drop of a handle pays one thread-local increment and no lookup of the
//! heap.
//!
//! Invariants:
//! - [`now`] never decreases; every event above increments it.

use core::cell::Cell;

thread_local! {
    static EVENTS: Cell<u64> = const { Cell::new(0) };
}

/// Count a decrement to nonzero of an object in the generations.
#[inline(always)]
pub(crate) fn note_decrement() {
    EVENTS.with(|e| e.set(e.get().wrapping_add(1)));
}

/// Count an event that is not a decrement (see the module docs): the next
/// collection of every generation analyses.
#[inline]
pub(crate) fn mark_dirty() {
    note_decrement();
}

/// The number of events so far on this thread.
#[inline]
pub(crate) fn now() -> u64 {
    EVENTS.with(Cell::get)
}
