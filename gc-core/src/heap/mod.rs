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

/// Thread exit: one last full collection, then the heap is marked dead.
/// Whatever is still alive (referenced from other thread-locals) is leaked.
fn shutdown() {
    let p = HEAP.with(Cell::get);
    if p.addr() <= 1 {
        return;
    }
    // SAFETY: see `current`.
    let heap = unsafe { &*p };
    crate::lifecycle::drain_deferred(heap);
    heap.enabled.set(false);
    heap.update_trigger();
    crate::collector::collect(heap, GENERATIONS - 1, crate::collector::Reason::Shutdown);
    crate::lifecycle::drain_deferred(heap);
    HEAP.with(|h| h.set(dead()));
    if heap.pool.is_unused() {
        heap.pool.release_all();
        // SAFETY: no object refers to the heap's lists any more, and `HEAP` no
        // longer hands it out; it was created by `Box::into_raw` in `create`.
        drop(unsafe { Box::from_raw(p.cast_mut()) });
    }
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

    /// A traced object refers to the detached object `h`: its handle is not
    /// mutably borrowed, so it goes back to generation 0 — once the running
    /// collection ends ([`Heap::end_reattach`]); until then it waits in
    /// `reattached`, outside the analysis.
    ///
    /// # Safety
    /// `h` must be a live detached object.
    pub(crate) unsafe fn reattach(&self, h: NonNull<Header>) {
        // SAFETY: detached objects are in the (well-formed) `detached` list.
        unsafe {
            h.as_ref().clear(crate::header::flags::DETACHED);
            let l = crate::header::links_of(h);
            crate::list::unlink(l);
            self.reattached.push_back(l);
        }
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

/// Allocation that does not go through a heap (used after shutdown).
pub(crate) fn alloc_system(layout: Layout) -> NonNull<u8> {
    // SAFETY: `layout` has a non-zero size (it always contains a header).
    let p = unsafe { std::alloc::alloc(layout) };
    match NonNull::new(p) {
        Some(p) => p,
        None => std::alloc::handle_alloc_error(layout),
    }
}
