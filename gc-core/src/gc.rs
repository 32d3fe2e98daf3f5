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

use core::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};

use core::ptr::NonNull;

use crate::collector::{self, Reason};
pub use crate::debug::census::{Census, Growth, TypeCount};
pub use crate::debug::dot::{DotDirection, DotOptions};
pub use crate::debug::flags::DebugFlags;
pub use crate::debug::sites::AllocationSite;
use crate::header::{flags, header_of, Header};
use crate::heap::{self, Heap, GENERATIONS};
pub use crate::heap::{HeapStats, SizeClassStats};
use crate::trace::{TraceKind, Tracer};
use crate::{Gc, GcAny};

/// Statistics of one generation, as `gc.get_stats()` reports them.
///
/// ```
/// let s = gc_core::gc::stats();
/// assert_eq!(s.len(), 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GenerationStats {
    /// Collections of this generation (a full collection counts for gen 2 only).
    pub collections: usize,
    /// Unreachable objects found by those collections, in total.
    pub collected: usize,
    /// Unreachable objects whose memory could not be freed because a `Drop`
    /// impl kept a handle to them during teardown (they are freed when that
    /// handle goes), in total.
    pub uncollectable: usize,
}

/// Phase of a collection passed to callbacks.
///
/// ```
/// use gc_core::gc::Phase;
/// assert_ne!(Phase::Start, Phase::Stop);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Before the collection; `collected` and `uncollectable` are 0.
    Start,
    /// After the collection.
    Stop,
}

/// What a callback learns about a collection.
///
/// ```
/// use gc_core::gc::CallbackInfo;
/// let i = CallbackInfo { generation: 2, collected: 0, uncollectable: 0 };
/// assert_eq!(i.generation, 2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallbackInfo {
    /// The generation being collected.
    pub generation: usize,
    /// Unreachable objects found (0 at `Start`).
    pub collected: usize,
    /// Objects that could not be freed (0 at `Start`).
    pub uncollectable: usize,
}

slotmap::new_key_type! {
    /// Identifies a callback registered with [`add_callback`].
    ///
    /// ```
    /// let id = gc_core::gc::add_callback(|_, _| {});
    /// let copy = id;
    /// assert_eq!(id, copy);
    /// assert!(gc_core::gc::remove_callback(id));
    /// ```
    pub struct CallbackId;
}

type Callback = Box<dyn FnMut(Phase, &CallbackInfo)>;

/// The registered callbacks, in the order they were added.
#[derive(Default)]
pub(crate) struct Callbacks {
    /// `None` while the callback is running.
    map: slotmap::SlotMap<CallbackId, Option<Callback>>,
    order: Vec<CallbackId>,
}

/// Run every callback for `phase`. Callbacks may add or remove callbacks
/// (added ones run from the next collection on); a panic is reported and the
/// remaining callbacks still run.
pub(crate) fn run_callbacks(heap: &Heap, phase: Phase, info: &CallbackInfo) {
    if heap.callbacks.borrow().order.is_empty() {
        return;
    }
    let ids = heap.callbacks.borrow().order.clone();
    for id in ids {
        let taken = heap
            .callbacks
            .borrow_mut()
            .map
            .get_mut(id)
            .and_then(Option::take);
        let Some(mut cb) = taken else { continue };
        let result = catch_unwind(AssertUnwindSafe(|| cb(phase, info)));
        if let Err(payload) = result {
            crate::report::panic_in("callback", "gc callback", payload);
        }
        // Put it back unless it was removed while running; a removed one is
        // dropped here, outside the borrow and under `catch_unwind`: what it
        // captured is user code, which may drop handles or panic.
        let removed = match heap.callbacks.borrow_mut().map.get_mut(id) {
            Some(slot) => {
                *slot = Some(cb);
                None
            }
            None => Some(cb),
        };
        if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(removed))) {
            crate::report::panic_in("drop", "gc callback", payload);
        }
    }
}

/// Thread exit: drop every callback (they run no more, as in CPython), so
/// that what they captured is released before the last collections.
pub(crate) fn drop_callbacks(heap: &Heap) {
    let all = core::mem::take(&mut *heap.callbacks.borrow_mut());
    if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(all))) {
        crate::report::panic_in("drop", "gc callback", payload);
    }
}

fn with_heap<R>(default: R, f: impl FnOnce(&'static Heap) -> R) -> R {
    match heap::current() {
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
        h.enabled.set(true);
        h.update_trigger();
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
        h.enabled.set(false);
        h.update_trigger();
    })
}

/// Whether automatic collection is on.
///
/// ```
/// assert!(gc_core::gc::is_enabled());
/// ```
pub fn is_enabled() -> bool {
    with_heap(false, |h| h.enabled.get())
}

/// The collection thresholds `(t0, t1, t2)`; default `(700, 10, 10)`.
///
/// ```
/// assert_eq!(gc_core::gc::threshold(), (700, 10, 10));
/// ```
pub fn threshold() -> (usize, usize, usize) {
    with_heap(
        (
            heap::DEFAULT_THRESHOLDS[0],
            heap::DEFAULT_THRESHOLDS[1],
            heap::DEFAULT_THRESHOLDS[2],
        ),
        |h| {
            let t = &h.thresholds;
            (t[0].get(), t[1].get(), t[2].get())
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
        h.thresholds[0].set(t0);
        h.thresholds[1].set(t1);
        h.thresholds[2].set(t2);
        h.update_trigger();
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
        let c = &h.counts;
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
    with_heap((), |h| {
        for g in &h.gens {
            clear_in_gen(g);
            h.permanent.append(g);
        }
        h.counts[0].set(0);
    })
}

/// Clear `IN_GEN` on every object of `list` (freeze).
fn clear_in_gen(list: &crate::list::List) {
    for l in list.iter() {
        // SAFETY: list members are live tracked objects.
        unsafe { header_of(l).as_ref() }.clear(flags::IN_GEN);
    }
}

/// Move the permanent generation back into the oldest generation.
///
/// ```
/// gc_core::gc::unfreeze();
/// assert_eq!(gc_core::gc::freeze_count(), 0);
/// ```
pub fn unfreeze() {
    with_heap((), Heap::unfreeze)
}

/// Number of objects in the permanent generation.
///
/// ```
/// assert_eq!(gc_core::gc::freeze_count(), 0);
/// ```
pub fn freeze_count() -> usize {
    with_heap(0, |h| h.permanent.len())
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
    let heap = heap::current().expect("gc: add_callback called during thread shutdown");
    let mut cbs = heap.callbacks.borrow_mut();
    let id = cbs.map.insert(Some(Box::new(f)));
    cbs.order.push(id);
    id
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
        let removed = {
            let mut cbs = h.callbacks.borrow_mut();
            let removed = cbs.map.remove(id);
            if removed.is_some() {
                cbs.order.retain(|&i| i != id);
            }
            removed
        };
        // Dropped outside the borrow: the closure's drop may run user code.
        removed.is_some()
    })
}

/// Every tracked object of `generation` (`None`: generations 0–2, not the
/// frozen ones), as `gc.get_objects()`. Panics if `generation > 2`.
///
/// An object [`Gc::get_mut`] handed out mutably is in no generation until a
/// traced object is seen referring to it again, so it is not listed meanwhile.
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
        let mut out = Vec::new();
        for g in range {
            for l in h.gens[g].iter() {
                // SAFETY: list members are live tracked objects.
                out.push(unsafe { GcAny::new_ref(header_of(l)) });
            }
        }
        out
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
    edges_of(of.header_ptr())
        .into_iter()
        // SAFETY: reported edges point to live objects.
        .map(|h| unsafe { GcAny::new_ref(h) })
        .collect()
}

/// The edges `trace` reports for the live object `h`.
pub(crate) fn edges_of(h: NonNull<Header>) -> Vec<NonNull<Header>> {
    // SAFETY: the caller holds a handle to `h`.
    let hdr = unsafe { h.as_ref() };
    hdr.assert_alive();
    let mut tracer = Tracer::new(TraceKind::Collect(Vec::new()));
    // SAFETY: live object with an intact value.
    let mut trace = || unsafe { (hdr.vtable().trace)(h, &mut tracer) };
    match heap::current() {
        Some(heap) => heap.in_hook(trace),
        None => trace(),
    }
    match tracer.kind {
        TraceKind::Collect(v) => v,
        _ => unreachable!(),
    }
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
    let target = to.header_ptr();
    let mut all = with_heap(Vec::new(), tracked_objects);
    // Each candidate is held by a handle while it is traced (user code).
    all.retain(|obj| edges_of(obj.header_ptr()).contains(&target));
    all
}

/// A handle to every tracked object in generations 0–2 and the permanent
/// generation, taken before any user code runs, so that walking them never
/// depends on a list that user code could change.
pub(crate) fn tracked_objects(heap: &Heap) -> Vec<GcAny> {
    let mut out = Vec::new();
    for list in heap.gens.iter().chain([&heap.permanent]) {
        for l in list.iter() {
            // SAFETY: list members are live tracked objects.
            out.push(unsafe { GcAny::new_ref(header_of(l)) });
        }
    }
    out
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
    with_heap((), |h| h.debug.set(flags))
}

/// The current debug flags (Python's `gc.get_debug`).
///
/// ```
/// assert!(gc_core::gc::debug().is_empty());
/// ```
pub fn debug() -> DebugFlags {
    with_heap(DebugFlags::empty(), |h| h.debug.get())
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
    with_heap((), |h| crate::debug::set_sink(h, sink))
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
    with_heap(Vec::new(), |h| h.garbage.borrow().clone())
}

/// Drop the handles in [`garbage`], and nothing else: CPython's
/// `gc.garbage.clear()`. The objects they kept are still cyclic garbage;
/// the next collection (automatic or [`collect`]) frees them and counts
/// them — unless `SAVEALL` is still set, which saves them again.
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
    with_heap((), |h| {
        let saved = core::mem::take(&mut *h.garbage.borrow_mut());
        drop(saved); // outside the borrow: dropping may free objects
    })
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
    match heap::current() {
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
    with_heap((), |h| crate::debug::sites::set_tracking(h, on))
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

impl fmt::Display for GenerationStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "collections={} collected={} uncollectable={}",
            self.collections, self.collected, self.uncollectable
        )
    }
}
