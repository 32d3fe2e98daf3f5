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
