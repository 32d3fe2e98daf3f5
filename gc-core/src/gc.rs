//! The `gc` control module: Python's `gc` module in Rust names.
//!
//! Every function acts on the calling thread's heap — its settings, counters,
//! statistics and objects. Collections run automatically as tracked
//! allocations accumulate (see [`set_threshold`]); [`collect`] runs a full one
//! on demand.
//!
//! ```
//! use gc_core::{gc, Finalize, Gc, Trace};
//! use std::cell::RefCell;
//!
//! #[derive(Trace, Finalize)]
//! struct Node(RefCell<Option<Gc<Node>>>);
//!
//! let a = Gc::new(Node(RefCell::new(None)));
//! *a.0.borrow_mut() = Some(a.clone());
//! drop(a);
//! assert_eq!(gc::collect(), 1);
//! assert!(gc::stats()[2].collected >= 1);
//! ```

use crate::collector::{self, Reason};
pub use crate::debug::census::{Census, Growth, TypeCount};
pub use crate::debug::dot::{DotDirection, DotOptions};
pub use crate::debug::sites::AllocationSite;
use crate::header::flags;
pub use crate::heap::debug_flags::DebugFlags;
pub use crate::heap::hooks::{CallbackId, CallbackInfo, GenerationStats, Phase};
use crate::heap::{Heap, DEFAULT_THRESHOLDS, GENERATIONS};
pub use crate::heap::{HeapStats, SizeClassStats};
use crate::{Gc, GcAny};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

fn with_heap<R>(default: R, f: impl FnOnce(&'static Heap) -> R) -> R {
    match collector::thread_heap() {
        Some(h) => f(h),
        None => default,
    }
}

fn check_generation(generation: usize) {
    assert!(
        generation < GENERATIONS,
        "gc: invalid generation {generation}: generations are 0, 1 and 2"
    );
}

/// Run a full collection (all three generations). Returns the number of
/// unreachable objects found — including any a finalizer resurrected — or 0
/// at once when called from a finalizer, a collection callback or a `trace`
/// implementation.
///
/// ```
/// use gc_core::{gc, Gc};
/// drop(Gc::new(1));
/// assert_eq!(gc::collect(), 0); // nothing cyclic
/// ```
pub fn collect() -> usize {
    collect_generation(GENERATIONS - 1)
}

/// Collect `generation` (0, 1 or 2) with the younger ones merged in.
/// Panics if `generation > 2`.
///
/// ```
/// assert_eq!(gc_core::gc::collect_generation(0), 0);
/// ```
pub fn collect_generation(generation: usize) -> usize {
    check_generation(generation);
    with_heap(0, |h| {
        if h.in_user_hook.get() > 0 {
            return 0;
        }
        collector::collect(h, generation, Reason::Manual)
    })
}

/// Turn automatic collection on (the default).
///
/// ```
/// gc_core::gc::enable();
/// assert!(gc_core::gc::is_enabled());
/// ```
pub fn enable() {
    with_heap((), |h| {
        h.policy.set_enabled(true);
    })
}

/// Turn automatic collection off. [`collect`] still works.
///
/// ```
/// use gc_core::gc;
/// gc::disable();
/// assert!(!gc::is_enabled());
/// gc::enable();
/// ```
pub fn disable() {
    with_heap((), |h| {
        h.policy.set_enabled(false);
    })
}

/// Whether automatic collection is on.
///
/// ```
/// assert!(gc_core::gc::is_enabled());
/// ```
pub fn is_enabled() -> bool {
    with_heap(false, |h| h.policy.enabled())
}

/// The collection thresholds `(t0, t1, t2)`; default `(700, 10, 10)`.
///
/// ```
/// assert_eq!(gc_core::gc::threshold(), (700, 10, 10));
/// ```
pub fn threshold() -> (usize, usize, usize) {
    with_heap(
        (
            DEFAULT_THRESHOLDS[0],
            DEFAULT_THRESHOLDS[1],
            DEFAULT_THRESHOLDS[2],
        ),
        |h| {
            let [t0, t1, t2] = h.policy.thresholds();
            (t0, t1, t2)
        },
    )
}

/// Set the thresholds. Generation 0 is collected when tracked allocations
/// minus frees exceed `t0`; generation 1 when more than `t1` gen-0 collections
/// happened since its last one; generation 2 when more than `t2` gen-1
/// collections happened and the long-lived rule allows it. `t0 == 0` disables
/// automatic collection, as in CPython. Every `usize` is accepted (CPython's
/// negative values cannot be expressed).
///
/// ```
/// use gc_core::gc;
/// gc::set_threshold(1000, 20, 5);
/// assert_eq!(gc::threshold(), (1000, 20, 5));
/// gc::set_threshold(700, 10, 10);
/// ```
pub fn set_threshold(t0: usize, t1: usize, t2: usize) {
    with_heap((), |h| {
        h.policy.set_thresholds([t0, t1, t2]);
    })
}

/// CPython's `get_count`: tracked allocations minus frees since the last
/// gen-0 collection, then gen-0 collections since the last gen-1 collection,
/// then gen-1 collections since the last gen-2 collection.
///
/// ```
/// use gc_core::{gc, Gc};
/// gc::collect();
/// let g = Gc::new(Some(Gc::new(1))); // one tracked allocation
/// assert_eq!(gc::count().0, 1);
/// # drop(g);
/// ```
pub fn count() -> (usize, usize, usize) {
    with_heap((0, 0, 0), |h| {
        let c = &h.policy.counts;
        (c[0].get(), c[1].get(), c[2].get())
    })
}

/// Per-generation statistics since the thread's heap was created.
///
/// ```
/// let before = gc_core::gc::stats()[2].collections;
/// gc_core::gc::collect();
/// assert_eq!(gc_core::gc::stats()[2].collections, before + 1);
/// ```
pub fn stats() -> [GenerationStats; 3] {
    with_heap(Default::default(), |h| *h.stats.borrow())
}

/// Of the collections counted in [`stats`], how many per generation the
/// collector proved could not find anything and did without scanning.
///
/// A cyclic garbage set can only form when the last reference from outside
/// it is dropped, which decrements a member's count to a nonzero value (a
/// *candidate*, in Bacon and Rajan's terms: safe Rust cannot move a handle
/// into a structure that only that handle reaches). The collector counts
/// those decrements; a collection of generation `g` with none since the
/// last analysis that covered `g` (and nothing else that can hide garbage
/// from an analysis: an untraceable value, see
/// [`Tracer::incomplete`](crate::Tracer::incomplete), `unfreeze`, a
/// re-attached `get_mut` object, a collection that found garbage) is
/// skipped — unless objects taken out by `Gc::get_mut` are still detached,
/// since a scan re-attaches those its generations refer to. It still counts everywhere a collection is observable:
/// [`count`], [`stats`], callbacks, `DebugFlags::STATS`, its survivors
/// moving to the next generation and the long-lived rule. Building a
/// structure without dropping shared handles (a tree, a list built by
/// moving handles) so costs no scanning at all.
///
/// ```
/// use gc_core::{gc, Gc};
/// gc::collect();
/// let before = gc::skipped_collections()[0];
/// // A tree built bottom-up moves every handle: no candidate.
/// let leaves: Vec<_> = (0..10).map(|i| Gc::new(Some(Gc::new(i)))).collect();
/// let tree = Gc::new(leaves);
/// gc::collect_generation(0);
/// assert_eq!(gc::skipped_collections()[0], before + 1);
/// # drop(tree);
/// ```
pub fn skipped_collections() -> [usize; 3] {
    with_heap([0; 3], |h| h.policy.skipped())
}

/// Make this thread's automatic full collections incremental (`true`) or
/// atomic (`false`, the default). Incremental, a full collection the
/// long-lived rule calls for is spread over the following automatic
/// triggers: each runs its young collection and then a step over a bounded
/// part of the old generation (64 × `threshold().0` objects, or a 64th of
/// the phase's work if that is more), and the trigger after the last step
/// runs the gen-2 collection proper, an exact analysis of the objects the
/// steps could not show reachable (with generations 0 and 1). So no single
/// step scans the whole old generation: the longest pause while a big
/// cyclic structure grows is a young collection plus a step, not a scan
/// of the heap.
///
/// The trade-off (measured in BENCHMARKS.md): the steps see the heap
/// changing under them, so they only choose candidates; what they decide
/// is checked exactly, and a live object is never freed, but garbage that
/// forms while a phase runs waits for the next phase, at most one phase longer than with atomic collections. The
/// steps also cost about twice the work of one atomic scan (four passes,
/// and a side array of 16 bytes per old object while a phase runs), and a
/// phase that finds much garbage frees it in its final step at once. This
/// is why it is off by default: DESIGN.md pins CPython's rule that each
/// automatic trigger runs the collection its counts call for, and the
/// numbers (BENCHMARKS.md, "Incremental against atomic") show the cost. [`collect`] and `collect_generation(2)`
/// stay exact full collections (a running phase gives its objects back
/// first), as do [`freeze`], [`objects`], the census and referrer tools,
/// and thread exit. Turning it off gives a running phase's objects back.
///
/// ```
/// use gc_core::{gc, Gc};
/// gc::set_incremental(true);
/// assert!(gc::is_incremental());
/// let keep: Vec<_> = (0..1_000).map(|i| Gc::new(Some(Gc::new(i)))).collect();
/// gc::set_incremental(false);
/// assert!(!gc::is_incremental());
/// # drop(keep);
/// ```
pub fn set_incremental(on: bool) {
    with_heap((), |h| collector::incremental::set_enabled(h, on))
}

/// Whether automatic full collections are incremental on this thread (see
/// [`set_incremental`]).
///
/// ```
/// assert!(!gc_core::gc::is_incremental());
/// ```
pub fn is_incremental() -> bool {
    with_heap(false, |h| h.incremental.enabled.get())
}

/// How many incremental full collections (phases) this thread has
/// finished: each is also one collection of generation 2 in [`stats`].
///
/// ```
/// assert_eq!(gc_core::gc::incremental_collections(), 0);
/// ```
pub fn incremental_collections() -> usize {
    with_heap(0, |h| h.incremental.phases.get())
}

/// Move every tracked object into the permanent generation, which no
/// collection scans (use it after building long-lived data, e.g. before
/// forking worker state, as in CPython). Resets the gen-0 count.
///
/// ```
/// use gc_core::{gc, Gc};
/// let keep = Gc::new(vec![Gc::new(1)]);
/// gc::freeze();
/// assert!(gc::freeze_count() >= 1);
/// gc::unfreeze();
/// assert_eq!(gc::freeze_count(), 0);
/// # drop(keep);
/// ```
pub fn freeze() {
    with_heap((), collector::freeze)
}

/// Move the permanent generation back into the oldest generation.
///
/// ```
/// gc_core::gc::unfreeze();
/// assert_eq!(gc_core::gc::freeze_count(), 0);
/// ```
pub fn unfreeze() {
    with_heap((), collector::unfreeze)
}

/// Number of objects in the permanent generation.
///
/// ```
/// assert_eq!(gc_core::gc::freeze_count(), 0);
/// ```
pub fn freeze_count() -> usize {
    with_heap(0, |h| h.lists.permanent.len())
}

/// Whether the object is tracked by the collector: its type may own a `Gc`,
/// and its value has not been destroyed.
///
/// ```
/// use gc_core::{gc, Gc};
/// assert!(!gc::is_tracked(&Gc::new(1)));
/// assert!(gc::is_tracked(&Gc::new(vec![Gc::new(1)])));
/// ```
pub fn is_tracked<T: ?Sized>(g: &Gc<T>) -> bool {
    let hdr = g.header();
    hdr.vtable().tracked && !hdr.has(flags::DEAD)
}

/// Whether the object's finalizer already ran (it was found in a garbage
/// cycle and resurrected by a finalizer).
///
/// ```
/// use gc_core::{gc, Gc};
/// assert!(!gc::is_finalized(&Gc::new(1)));
/// ```
pub fn is_finalized<T: ?Sized>(g: &Gc<T>) -> bool {
    g.header().has(flags::FINALIZED)
}

/// Register `f` to run before (`Phase::Start`) and after (`Phase::Stop`)
/// every collection on this thread, in the order callbacks were added. A
/// callback may allocate, drop `Gc`s and add or remove callbacks; calling
/// [`collect`] from it returns 0. A panic is caught and reported on stderr.
///
/// After the thread's heap has shut down (from a thread-local destroyed
/// later) nothing is registered: the id returned is one no callback has.
///
/// ```
/// use gc_core::gc::{self, Phase};
/// use std::{cell::Cell, rc::Rc};
///
/// let starts = Rc::new(Cell::new(0));
/// let s = starts.clone();
/// let id = gc::add_callback(move |phase, _| if phase == Phase::Start { s.set(s.get() + 1) });
/// gc::collect();
/// assert_eq!(starts.get(), 1);
/// assert!(gc::remove_callback(id));
/// ```
pub fn add_callback(f: impl FnMut(Phase, &CallbackInfo) + 'static) -> CallbackId {
    match collector::thread_heap() {
        Some(heap) => heap.hooks.callbacks.borrow_mut().add(Box::new(f)),
        None => CallbackId::default(),
    }
}

/// Unregister a callback. Returns `false` if `id` is not registered (for
/// example when it was removed already).
///
/// ```
/// let id = gc_core::gc::add_callback(|_, _| {});
/// assert!(gc_core::gc::remove_callback(id));
/// assert!(!gc_core::gc::remove_callback(id));
/// ```
pub fn remove_callback(id: CallbackId) -> bool {
    with_heap(false, |h| {
        let removed = h.hooks.callbacks.borrow_mut().remove(id);
        // Dropped outside the borrow: the closure's drop may run user code.
        removed.is_some()
    })
}

/// Every tracked object of `generation` (`None`: generations 0–2, not the
/// frozen ones), as `gc.get_objects()`. Panics if `generation > 2`.
///
/// An object [`Gc::get_mut`] handed out mutably is in no generation until a
/// traced object is seen referring to it again or a new handle or weak
/// reference to it is made, so it is not listed meanwhile.
///
/// ```
/// use gc_core::{gc, Gc};
/// let g = Gc::new(vec![Gc::new(1)]);
/// let all = gc::objects(None);
/// assert!(all.iter().any(|o| o.addr() == Gc::into_any(g.clone()).addr()));
/// ```
pub fn objects(generation: Option<usize>) -> Vec<GcAny> {
    let range = match generation {
        Some(g) => {
            check_generation(g);
            g..=g
        }
        None => 0..=GENERATIONS - 1,
    };
    with_heap(Vec::new(), |h| {
        collector::objects_of(h, range)
            .into_iter()
            // SAFETY: each entry carries a count the handle takes over.
            .map(|o| unsafe { GcAny::from_header(o) })
            .collect()
    })
}

/// The objects `of` holds a `Gc` edge to, as its `Trace` impl reports them
/// (`gc.get_referents`). An edge reported twice appears twice.
///
/// ```
/// use gc_core::{gc, Gc};
/// let leaf = Gc::new(7_u32);
/// let pair = Gc::into_any(Gc::new((leaf.clone(), leaf.clone())));
/// let r = gc::referents(&pair);
/// assert_eq!(r.len(), 2);
/// assert_eq!(*r[0].clone().downcast::<u32>().unwrap(), 7);
/// ```
pub fn referents(of: &GcAny) -> Vec<GcAny> {
    crate::debug::graph::referents(of)
}

/// The tracked objects (in any generation, frozen ones included) that hold a
/// `Gc` edge to `to` (`gc.get_referrers`). Scans every tracked object, so it
/// is slow on a big heap; untracked objects are never referrers.
///
/// ```
/// use gc_core::{gc, Gc, GcAny};
/// let leaf = Gc::new(1_u8);
/// let holder = Gc::new(vec![leaf.clone()]);
/// let refs = gc::referrers(&Gc::into_any(leaf));
/// assert_eq!(refs, vec![Gc::into_any(holder)]);
/// ```
pub fn referrers(to: &GcAny) -> Vec<GcAny> {
    with_heap(Vec::new(), |h| crate::debug::graph::referrers(h, to))
}

/// Return every empty arena to the system allocator now, like `malloc_trim`.
/// Returns how many were returned.
///
/// Normally an arena whose objects are all freed is kept for reuse and
/// returned by the first full collection that finds it unused for a second,
/// so that freeing a big structure and building another costs no page
/// faults; call this after freeing a lot of memory that will not be needed
/// again soon.
///
/// ```
/// use gc_core::{gc, Gc};
/// let n = if cfg!(miri) { 2_000 } else { 100_000 }; // Miri's arenas are small
/// let big: Vec<_> = (0..n).map(Gc::new).collect();
/// drop(big);
/// assert!(gc::heap_stats().arenas_empty > 0);
/// assert!(gc::trim_heap() > 0);
/// assert_eq!(gc::heap_stats().arenas_empty, 0);
/// ```
pub fn trim_heap() -> usize {
    with_heap(0, |h| h.pool.trim(None))
}

/// A snapshot of the calling thread's heap memory: arenas, pools and
/// blocks per size class, large objects (see [`HeapStats`]).
///
/// ```
/// use gc_core::{gc, Gc};
/// let keep = Gc::new(1_u64);
/// let stats = gc::heap_stats();
/// assert!(stats.arenas_live >= 1);
/// assert!(stats.classes.iter().any(|c| c.used_blocks > 0));
/// # drop(keep);
/// ```
pub fn heap_stats() -> HeapStats {
    with_heap(HeapStats::default(), HeapStats::of)
}

/// Set the debug flags of this thread's collector (Python's `gc.set_debug`).
///
/// ```
/// use gc_core::gc::{self, DebugFlags};
/// gc::set_debug(DebugFlags::STATS);
/// assert_eq!(gc::debug(), DebugFlags::STATS);
/// gc::set_debug(DebugFlags::empty());
/// ```
pub fn set_debug(flags: DebugFlags) {
    with_heap((), |h| h.hooks.debug.set(flags))
}

/// The current debug flags (Python's `gc.get_debug`).
///
/// ```
/// assert!(gc_core::gc::debug().is_empty());
/// ```
pub fn debug() -> DebugFlags {
    with_heap(DebugFlags::empty(), |h| h.hooks.debug.get())
}

/// Send debug output (flag output and reports of panics caught in
/// finalizers and callbacks) to `sink` instead of stderr; `None` restores
/// stderr. Write errors are ignored.
///
/// ```
/// use gc_core::gc::{self, DebugFlags};
/// use std::{cell::RefCell, io::Write, rc::Rc};
///
/// #[derive(Clone, Default)]
/// struct Capture(Rc<RefCell<Vec<u8>>>);
/// impl Write for Capture {
///     fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
///         self.0.borrow_mut().extend_from_slice(b);
///         Ok(b.len())
///     }
///     fn flush(&mut self) -> std::io::Result<()> { Ok(()) }
/// }
/// let out = Capture::default();
/// gc::set_debug_output(Some(Box::new(out.clone())));
/// gc::set_debug(DebugFlags::STATS);
/// gc::collect();
/// assert!(String::from_utf8_lossy(&out.0.borrow()).contains("gc: done"));
/// gc::set_debug(DebugFlags::empty());
/// gc::set_debug_output(None);
/// ```
///
/// Called from inside the sink itself (while it writes), the change takes
/// effect as soon as that write returns.
pub fn set_debug_output(sink: Option<Box<dyn std::io::Write>>) {
    with_heap((), |h| crate::output::set_sink(h, sink))
}

/// The objects [`DebugFlags::SAVEALL`] kept instead of freeing them
/// (Python's `gc.garbage`), as new handles.
///
/// ```
/// use gc_core::{gc, Finalize, Gc, Trace};
/// use std::cell::RefCell;
/// #[derive(Trace, Finalize)]
/// struct N(RefCell<Option<Gc<N>>>);
/// let n = Gc::new(N(RefCell::new(None)));
/// *n.0.borrow_mut() = Some(n.clone());
/// drop(n);
/// gc::set_debug(gc::DebugFlags::SAVEALL);
/// assert_eq!(gc::collect(), 1);
/// assert_eq!(gc::garbage().len(), 1);
/// gc::set_debug(gc::DebugFlags::empty());
/// gc::clear_garbage();
/// assert!(gc::garbage().is_empty());
/// assert_eq!(gc::collect(), 1); // freed by the next collection
/// ```
pub fn garbage() -> Vec<GcAny> {
    with_heap(Vec::new(), |h| {
        h.garbage
            .borrow()
            .iter()
            // SAFETY: entries own a count, so they are live; the handle
            // takes a new one.
            .map(|&o| unsafe { GcAny::new_ref(o) })
            .collect()
    })
}

/// Drop the handles in [`garbage`], and nothing else: CPython's
/// `gc.garbage.clear()`. The objects they kept are still cyclic garbage;
/// the next collection (automatic or [`collect`]) frees them and counts
/// them — unless `SAVEALL` is still set, which saves them again.
///
/// Every handle is dropped even if a drop panics (a handle whose cycle was
/// broken meanwhile may be the object's last); the first such panic then
/// continues out of `clear_garbage`, later ones are discarded.
///
/// ```
/// use gc_core::{gc, Finalize, Gc, Trace};
/// use std::cell::RefCell;
/// #[derive(Trace, Finalize)]
/// struct N(RefCell<Option<Gc<N>>>);
/// let n = Gc::new(N(RefCell::new(None)));
/// *n.0.borrow_mut() = Some(n.clone());
/// drop(n);
/// gc::set_debug(gc::DebugFlags::SAVEALL);
/// assert_eq!(gc::collect(), 1);
/// gc::set_debug(gc::DebugFlags::empty());
/// gc::clear_garbage();
/// assert!(gc::garbage().is_empty());
/// assert_eq!(gc::collect(), 1); // the cycle is freed now
/// ```
pub fn clear_garbage() {
    let panicked = with_heap(None, |h| {
        let saved = core::mem::take(&mut *h.garbage.borrow_mut());
        // Outside the borrow: dropping may free objects (user code). Every
        // handle goes even if a drop panics (the entries are plain pointers:
        // one left behind would keep its object forever), and the first
        // panic goes on once they all have.
        let mut first = None;
        for o in saved {
            // SAFETY: each entry owns a count, which this handle takes over.
            let handle = unsafe { GcAny::from_header(o) };
            if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(handle))) {
                match first {
                    None => first = Some(payload),
                    Some(_) => crate::output::discard(payload),
                }
            }
        }
        first
    });
    if let Some(payload) = panicked {
        resume_unwind(payload);
    }
}

/// Count the live tracked objects by type (see [`Census`]).
///
/// ```
/// use gc_core::{gc, Gc};
/// let g = Gc::new(vec![Gc::new(0_u8)]);
/// assert_eq!(gc::census().get(std::any::type_name::<Vec<Gc<u8>>>()).count, 1);
/// # drop(g);
/// ```
pub fn census() -> Census {
    with_heap(Census::default(), Census::of)
}

/// Write the reference graph around `root` as Graphviz DOT: its referrers
/// (what keeps it alive) or its referents, to `options.max_depth` edges (see
/// [`DotOptions`]). Nodes are labelled with type names; the root is filled.
/// Render with `dot -Tsvg`.
///
/// ```
/// use gc_core::{gc, Gc};
/// let leaf = Gc::new(1_u8);
/// let holder = Gc::new(vec![leaf.clone()]);
/// let mut dot = Vec::new();
/// gc::write_dot(&Gc::into_any(leaf), gc::DotOptions::default(), &mut dot).unwrap();
/// let dot = String::from_utf8(dot).unwrap();
/// assert!(dot.starts_with("digraph"));
/// assert!(dot.contains("n1 -> n0"));
/// # drop(holder);
/// ```
pub fn write_dot(
    root: &GcAny,
    options: DotOptions,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    match collector::thread_heap() {
        Some(h) => crate::debug::dot::write(h, root, options, out),
        None => Ok(()),
    }
}

/// Start (`true`) or stop recording where each object is allocated:
/// `Gc::new` records its caller (`#[track_caller]`) for every object while
/// tracking is on; stopping forgets the records. Costs a hash insert per
/// allocation while on, one branch while off.
///
/// ```
/// gc_core::gc::track_allocations(true);
/// gc_core::gc::track_allocations(false);
/// assert!(gc_core::gc::allocation_sites().is_empty());
/// ```
pub fn track_allocations(on: bool) {
    with_heap((), |h| h.set_site_tracking(on))
}

/// Live objects recorded by [`track_allocations`], grouped by the line that
/// allocated them, most objects first (tracemalloc's `statistics('lineno')`).
///
/// ```
/// use gc_core::{gc, Gc};
/// gc::track_allocations(true);
/// let keep: Vec<_> = (0..5).map(|_| Gc::new([0_u8; 32])).collect();
/// let sites = gc::allocation_sites();
/// assert_eq!(sites[0].count, 5);
/// assert!(sites[0].location.file().ends_with(".rs"));
/// gc::track_allocations(false);
/// # drop(keep);
/// ```
pub fn allocation_sites() -> Vec<AllocationSite> {
    with_heap(Vec::new(), crate::debug::sites::top)
}
