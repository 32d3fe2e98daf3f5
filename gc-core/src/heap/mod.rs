//! The per-thread heap: generation lists, counters, settings, and the memory
//! the `Gc` boxes live in.
//!
//! Invariants:
//! - Each thread has at most one `Heap`, created on first use, boxed and
//!   leaked so its lists never move. `HEAP` holds a pointer to it, or
//!   [`DEAD`] once the thread-local destructor has shut it down.
//! - After shutdown no `Gc` memory is freed and no user code is run by the
//!   heap: objects still alive at that point are leaked, never freed under a
//!   live reference.
//! - Heap state is only changed through `Cell`s/`RefCell`s in short critical
//!   sections that never call user code, so re-entrant calls from finalizers,
//!   callbacks or `Drop` impls find it consistent.

use core::alloc::Layout;
use core::cell::{Cell, RefCell};
use core::ptr::{self, NonNull};
use std::collections::{HashMap, HashSet};

use crate::header::{Header, Links};
use crate::list::List;
use crate::weak::WeakCell;

pub(crate) mod pool;
mod stats;

pub use stats::{HeapStats, SizeClassStats};

/// Number of generations scanned by the collector.
pub(crate) const GENERATIONS: usize = 3;

/// Default thresholds, as CPython.
pub(crate) const DEFAULT_THRESHOLDS: [usize; GENERATIONS] = [700, 10, 10];

/// Per-thread heap state.
pub(crate) struct Heap {
    /// Generations 0 (youngest) to 2 (oldest).
    pub(crate) gens: [List; GENERATIONS],
    /// Objects moved out of the generations by `freeze`; never scanned.
    pub(crate) permanent: List,
    /// Tracked objects handed out by `Gc::get_mut` (flag `DETACHED`); never
    /// scanned until an edge to them is seen.
    pub(crate) detached: List,
    /// Torn-down objects a handle still refers to (`DEAD | ORPHAN`); each is
    /// freed when its last handle goes.
    pub(crate) orphans: List,
    /// Detached objects seen referenced during the running collection; they
    /// join generation 0 when it ends.
    pub(crate) reattached: List,
    /// CPython's `get_count`: tracked allocations minus frees since the last
    /// gen-0 collection, then collections of gen 0 / gen 1 since the last
    /// collection of gen 1 / gen 2.
    pub(crate) counts: [Cell<usize>; GENERATIONS],
    pub(crate) thresholds: [Cell<usize>; GENERATIONS],
    pub(crate) enabled: Cell<bool>,
    /// A collection is running (its user callbacks/finalizers may be on the stack).
    pub(crate) collecting: Cell<bool>,
    /// Finalizers or out-of-collection `trace` calls on the stack; while
    /// non-zero, `gc::collect` returns 0.
    pub(crate) in_user_hook: Cell<usize>,
    /// `counts[0]` above which an allocation starts an automatic collection;
    /// `usize::MAX` while none may start. Derived from the fields above.
    trigger: Cell<usize>,
    /// Objects in the oldest generation after the last full collection.
    pub(crate) long_lived_total: Cell<usize>,
    /// Objects moved into the oldest generation since then.
    pub(crate) long_lived_pending: Cell<usize>,
    pub(crate) stats: RefCell<[crate::gc::GenerationStats; GENERATIONS]>,
    /// Nesting depth of object destruction (see `lifecycle`).
    pub(crate) drop_depth: Cell<usize>,
    /// Objects whose count reached zero while destruction was nested too deep.
    pub(crate) deferred: RefCell<Vec<NonNull<Header>>>,
    /// Edges the subtract pass of a young collection (or of the analysis
    /// after finalizers) holds until its walk ends (see
    /// `collector::find_unreachable`); empty between collections, kept for
    /// its capacity.
    pub(crate) pending_edges: Cell<Vec<NonNull<Header>>>,
    /// Weak cells of objects that have weak references, keyed by header address.
    pub(crate) weak_cells: RefCell<HashMap<usize, NonNull<WeakCell>>>,
    /// Where the blocks come from.
    pub(crate) pool: pool::PoolAllocator,
    pub(crate) callbacks: RefCell<crate::gc::Callbacks>,
    pub(crate) debug: Cell<crate::gc::DebugFlags>,
    /// Where debug output goes; `None` is stderr.
    pub(crate) debug_sink: RefCell<Option<Box<dyn std::io::Write>>>,
    /// A sink set by `gc::set_debug_output` while `debug_sink` was writing
    /// (from inside the sink); installed when that write returns.
    pub(crate) debug_sink_next: Cell<Option<Option<Box<dyn std::io::Write>>>>,
    /// Garbage kept by `DebugFlags::SAVEALL`.
    pub(crate) garbage: RefCell<Vec<crate::GcAny>>,
    pub(crate) track_sites: Cell<bool>,
    pub(crate) sites: RefCell<crate::debug::sites::Sites>,
    pub(crate) interned: RefCell<HashSet<crate::intern::Interned>>,
}

thread_local! {
    static HEAP: Cell<*const Heap> = const { Cell::new(ptr::null()) };
    static OWNER: HeapOwner = const { HeapOwner };
}

/// Marks a heap that was shut down by its thread's exit.
fn dead() -> *const Heap {
    ptr::without_provenance(1)
}

/// The calling thread's heap, created on first use; `None` once the thread's
/// heap has shut down (during thread-local destruction).
#[inline]
pub(crate) fn current() -> Option<&'static Heap> {
    let p = HEAP.with(Cell::get);
    if p.addr() > 1 {
        // SAFETY: a pointer other than null/dead was set by `create` to a
        // leaked box; it stays valid until `shutdown` replaces it with `dead`.
        Some(unsafe { &*p })
    } else if p.is_null() {
        create()
    } else {
        None
    }
}

#[cold]
fn create() -> Option<&'static Heap> {
    // Registering the owner's destructor fails once thread-local destruction
    // has started; then this thread gets no heap.
    OWNER.try_with(|_| ()).ok()?;
    // Keep the raw pointer (not one derived from a reference) so that
    // `shutdown` may turn it back into the box.
    let raw = Box::into_raw(Box::new(Heap::new()));
    // SAFETY: just allocated; it is freed only by `shutdown`, after `HEAP`
    // stops handing it out.
    let heap: &'static Heap = unsafe { &*raw };
    for g in &heap.gens {
        g.init();
    }
    heap.permanent.init();
    heap.detached.init();
    heap.orphans.init();
    heap.reattached.init();
    heap.update_trigger();
    HEAP.with(|h| h.set(raw));
    Some(heap)
}

struct HeapOwner;

impl Drop for HeapOwner {
    fn drop(&mut self) {
        shutdown();
    }
}

/// How many full collections thread exit runs at most while each finds
/// garbage (a finalizer may make new garbage; one that always does would
/// otherwise never let the thread end).
const SHUTDOWN_ROUNDS: usize = 100;

/// Thread exit: everything the thread can no longer reach is freed, then the
/// heap is marked dead. In order:
/// 1. the heap's own holders of handles are emptied: the callbacks are
///    dropped (they run no more, as in CPython's shutdown collection) and
///    `gc::garbage()` is cleared (`SAVEALL` no longer applies);
/// 2. frozen objects are unfrozen, so frozen cycles are freed too. (Objects
///    `Gc::get_mut` detached stay out: a `&'static mut` to one may still be
///    held by a later thread-local destructor; none of them can be cyclic
///    garbage, see `Heap::reattach`);
/// 3. full collections run until one finds nothing (at most
///    [`SHUTDOWN_ROUNDS`]), so that cycles made by finalizers are freed too;
/// 4. with `DebugFlags::UNCOLLECTABLE`, what is still alive — referenced
///    from other thread-locals, or kept by the debug sink — is reported to
///    the sink; the sink is then dropped, and if it held anything, step 3
///    runs again.
///
/// Whatever is still alive then is leaked, never freed under a live
/// reference. No panic escapes (a thread-local destructor that panics
/// aborts the process): all user code here runs under `catch_unwind`.
fn shutdown() {
    let p = HEAP.with(Cell::get);
    if p.addr() <= 1 {
        return;
    }
    // SAFETY: see `current`.
    let heap = unsafe { &*p };
    crate::lifecycle::drain_deferred_reporting(heap);
    heap.enabled.set(false);
    heap.update_trigger();
    crate::gc::drop_callbacks(heap);
    heap.debug
        .set(heap.debug.get() & !crate::gc::DebugFlags::SAVEALL);
    let saved = core::mem::take(&mut *heap.garbage.borrow_mut());
    drop_reporting(saved, "gc::garbage()");
    heap.unfreeze();
    collect_until_clean(heap);
    if heap
        .debug
        .get()
        .contains(crate::gc::DebugFlags::UNCOLLECTABLE)
    {
        report_leaks(heap);
    }
    let sink = heap.debug_sink.borrow_mut().take();
    if sink.is_some() {
        drop_reporting(sink, "the debug sink");
        collect_until_clean(heap);
    }
    HEAP.with(|h| h.set(dead()));
    if heap.pool.is_unused() {
        heap.pool.release_all();
        // SAFETY: no object refers to the heap's lists any more, and `HEAP` no
        // longer hands it out; it was created by `Box::into_raw` in `create`.
        drop(unsafe { Box::from_raw(p.cast_mut()) });
    }
}

/// Full collections until one finds nothing (bounded, see `shutdown`).
fn collect_until_clean(heap: &Heap) {
    for _ in 0..SHUTDOWN_ROUNDS {
        let found =
            crate::collector::collect(heap, GENERATIONS - 1, crate::collector::Reason::Shutdown);
        crate::lifecycle::drain_deferred_reporting(heap);
        if found == 0 {
            return;
        }
    }
}

/// Drop `value` (which may hold handles, and whose drop is user code),
/// reporting a panic instead of unwinding.
fn drop_reporting<T>(value: T, what: &str) {
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(value)));
    if let Err(payload) = result {
        crate::report::panic_in("drop", what, payload);
    }
}

/// Thread exit: say which tracked objects are still alive (and so leaked).
fn report_leaks(heap: &Heap) {
    let mut by_type: std::collections::BTreeMap<&'static str, usize> = Default::default();
    let lists = heap
        .gens
        .iter()
        .chain([&heap.permanent, &heap.detached, &heap.orphans]);
    for list in lists {
        for l in list.iter() {
            // SAFETY: list members are allocated tracked objects.
            let name = (unsafe { crate::header::header_of(l).as_ref() }
                .vtable()
                .type_name)();
            *by_type.entry(name).or_default() += 1;
        }
    }
    let total: usize = by_type.values().sum();
    if total == 0 {
        return;
    }
    let mut line = format!(
        "gc: thread exit: {total} tracked objects are still referenced (from other \
         thread-locals, the debug sink, or handles that were forgotten) and are leaked:"
    );
    for (name, n) in by_type {
        line.push_str(&format!(" {n} x {name};"));
    }
    // Formatted before it is written: the sink is user code.
    crate::debug::output_to(heap, &line);
}

impl Heap {
    fn new() -> Heap {
        Heap {
            gens: [List::new_uninit(), List::new_uninit(), List::new_uninit()],
            permanent: List::new_uninit(),
            detached: List::new_uninit(),
            orphans: List::new_uninit(),
            reattached: List::new_uninit(),
            counts: Default::default(),
            thresholds: DEFAULT_THRESHOLDS.map(Cell::new),
            enabled: Cell::new(true),
            collecting: Cell::new(false),
            in_user_hook: Cell::new(0),
            trigger: Cell::new(usize::MAX),
            long_lived_total: Cell::new(0),
            long_lived_pending: Cell::new(0),
            stats: RefCell::new(Default::default()),
            drop_depth: Cell::new(0),
            deferred: RefCell::new(Vec::new()),
            pending_edges: Cell::new(Vec::new()),
            weak_cells: RefCell::new(HashMap::new()),
            pool: pool::PoolAllocator::new(),
            callbacks: RefCell::default(),
            debug: Cell::default(),
            debug_sink: RefCell::new(None),
            debug_sink_next: Cell::new(None),
            garbage: RefCell::default(),
            track_sites: Cell::new(false),
            sites: RefCell::default(),
            interned: RefCell::default(),
        }
    }

    /// Run `f` (a finalizer or a `trace` outside a collection) with
    /// explicit collections refused, even if `f` unwinds.
    pub(crate) fn in_hook<R>(&self, f: impl FnOnce() -> R) -> R {
        struct Leave<'a>(&'a Cell<usize>);
        impl Drop for Leave<'_> {
            fn drop(&mut self) {
                self.0.set(self.0.get() - 1);
            }
        }
        self.in_user_hook.set(self.in_user_hook.get() + 1);
        let _leave = Leave(&self.in_user_hook);
        f()
    }

    /// Whether objects wait in the deferred-destruction queue.
    #[inline]
    pub(crate) fn has_deferred(&self) -> bool {
        !self.deferred.borrow().is_empty()
    }

    /// Recompute the automatic-collection trigger after a setting changed.
    pub(crate) fn update_trigger(&self) {
        let t0 = self.thresholds[0].get();
        let on = self.enabled.get() && t0 != 0 && !self.collecting.get();
        self.trigger.set(if on { t0 } else { usize::MAX });
    }

    /// Link a freshly allocated tracked object into generation 0, and start an
    /// automatic collection if that passes the threshold.
    ///
    /// # Safety
    /// `links` must belong to a live tracked object that is in no list.
    #[inline]
    pub(crate) unsafe fn track_new(&'static self, links: NonNull<Links>) {
        // SAFETY: forwarded from the caller.
        unsafe {
            self.gens[0].push_back(links);
            crate::header::header_of(links)
                .as_ref()
                .set(crate::header::flags::IN_GEN);
        }
        let n = self.counts[0].get() + 1;
        self.counts[0].set(n);
        if n > self.trigger.get() {
            crate::collector::collect_automatic(self);
        }
    }

    /// Move a tracked object out of the generations into `detached`.
    ///
    /// # Safety
    /// `h` must be a live tracked object in a well-formed list.
    pub(crate) unsafe fn detach_from_generations(&self, h: NonNull<Header>) {
        // SAFETY: forwarded from the caller.
        unsafe {
            let l = crate::header::links_of(h);
            crate::list::unlink(l);
            self.detached.push_back(l);
            let hdr = h.as_ref();
            hdr.set(crate::header::flags::DETACHED);
            // It belongs to no generation and no analysis (this may be a
            // member of a garbage set that a finalizer takes out).
            hdr.clear(crate::header::flags::COLLECTING | crate::header::flags::IN_GEN);
        }
    }

    /// The detached object `h` is provably not mutably borrowed any more: a
    /// traced object's edge to it was read, or a new handle or weak
    /// reference to it is being made (from a `&Gc`, which the `&mut` that
    /// `Gc::get_mut` returned borrowed exclusively). It goes back to
    /// generation 0 — at once, or, during a collection, when that ends
    /// ([`Heap::end_reattach`]), waiting in `reattached` outside the analysis.
    ///
    /// This is what lets a detached object take part in a cycle: in safe
    /// code a cycle through it can only be closed with a new handle to it
    /// (its only handle cannot be moved into a structure reached only
    /// through itself), so it is back in a generation by then.
    ///
    /// # Safety
    /// `h` must be a live detached object.
    pub(crate) unsafe fn reattach(&self, h: NonNull<Header>) {
        // SAFETY: detached objects are in the (well-formed) `detached` list.
        unsafe {
            let hdr = h.as_ref();
            hdr.clear(crate::header::flags::DETACHED);
            let l = crate::header::links_of(h);
            crate::list::unlink(l);
            if self.collecting.get() {
                self.reattached.push_back(l);
            } else {
                self.gens[0].push_back(l);
                hdr.set(crate::header::flags::IN_GEN);
            }
        }
    }

    /// Move the permanent generation back into the oldest one (`gc::unfreeze`).
    pub(crate) fn unfreeze(&self) {
        for l in self.permanent.iter() {
            // SAFETY: list members are live tracked objects.
            unsafe { crate::header::header_of(l).as_ref() }.set(crate::header::flags::IN_GEN);
        }
        self.gens[GENERATIONS - 1].append(&self.permanent);
    }

    /// Move the objects re-attached during a collection into generation 0.
    pub(crate) fn end_reattach(&self) {
        for l in self.reattached.iter() {
            // SAFETY: list members are live tracked objects.
            unsafe { crate::header::header_of(l).as_ref() }.set(crate::header::flags::IN_GEN);
        }
        self.gens[0].append(&self.reattached);
    }

    /// A tracked object is being freed (or leaves the heap's accounting).
    #[inline]
    pub(crate) fn note_untracked(&self) {
        let c = self.counts[0].get();
        if c > 0 {
            self.counts[0].set(c - 1);
        }
    }

    /// Allocate memory for a `Gc` box or a weak cell.
    #[inline]
    pub(crate) fn alloc(&self, layout: Layout) -> NonNull<u8> {
        self.pool.alloc(layout)
    }

    /// Return memory from [`Heap::alloc`].
    ///
    /// # Safety
    /// `ptr` must come from [`Heap::alloc`] of this heap with the same layout,
    /// and no reference into it may be used afterwards.
    #[inline]
    pub(crate) unsafe fn dealloc(&self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { self.pool.dealloc(ptr, layout) }
    }
}

/// [`Heap::reattach`] on the calling thread's heap (none after shutdown:
/// then the object stays detached, as nothing is collected any more).
///
/// # Safety
/// `h` must be a live detached object of this thread.
#[cold]
#[inline(never)]
pub(crate) unsafe fn reattach(h: NonNull<Header>) {
    if let Some(heap) = current() {
        // SAFETY: forwarded from the caller.
        unsafe { heap.reattach(h) };
    }
}

/// Allocation that does not go through a heap (used after shutdown).
pub(crate) fn alloc_system(layout: Layout) -> NonNull<u8> {
    // SAFETY: `layout` has a non-zero size (it always contains a header).
    let p = unsafe { std::alloc::alloc(layout) };
    match NonNull::new(p) {
        Some(p) => p,
        None => std::alloc::handle_alloc_error(layout),
    }
}
