//! The per-thread heap: generation lists, the collection policy's state,
//! the side tables (weak cells, interned strings, allocation sites), the
//! hooks into user code, and the memory the `Gc` boxes live in. This is the
//! layer everything above reads and writes; it runs no user code itself and
//! knows nothing of tracing or of the collector.
//!
//! Invariants:
//! - Each thread has at most one `Heap`, created on first use by a layer
//!   that supplies its thread-exit hook ([`current_or_create`]), boxed and
//!   leaked so its lists never move. `HEAP` holds a pointer to it, or
//!   [`dead`] once the thread-local destructor has shut it down.
//! - After shutdown no `Gc` memory is freed and no user code is run by the
//!   heap: objects still alive at that point are leaked, never freed under a
//!   live reference.
//! - Heap state is only changed through `Cell`s/`RefCell`s in short critical
//!   sections that never call user code, so re-entrant calls from finalizers,
//!   callbacks or `Drop` impls find it consistent.
//! - A tracked object is in exactly one list of [`Lists`] (or, while a
//!   collection analyses or tears it down, in one of the collector's own;
//!   or, while an incremental full collection runs, in one of its lists or
//!   its entries, see `incremental`), and carries `IN_GEN` exactly while it
//!   is in one of `gens` (or under analysis as a member, or in the
//!   incremental phase).

use core::alloc::Layout;
use core::cell::{Cell, RefCell};
use core::ptr::{self, NonNull};
use std::collections::{HashMap, HashSet};

use crate::header::{flags, header_of, links_of, Header, Links};
use crate::heap::debug_flags::DebugFlags;
use crate::list::{self, List};

pub(crate) mod debug_flags;
pub(crate) mod epoch;
pub(crate) mod hooks;
pub(crate) mod incremental;
pub(crate) mod interned;
mod policy;
pub(crate) mod pool;
pub(crate) mod sites;
mod stats;
pub(crate) mod weak_cells;

pub use stats::{HeapStats, SizeClassStats};

/// Number of generations scanned by the collector.
pub(crate) const GENERATIONS: usize = 3;

/// Default thresholds, as CPython.
pub(crate) const DEFAULT_THRESHOLDS: [usize; GENERATIONS] = [700, 10, 10];

/// The lists tracked objects live in.
pub(crate) struct Lists {
    /// Generations 0 (youngest) to 2 (oldest).
    pub(crate) gens: [List; GENERATIONS],
    /// Objects moved out of the generations by `freeze`; never scanned.
    pub(crate) permanent: List,
    /// Tracked objects handed out by `Gc::get_mut` (flag `DETACHED`); never
    /// scanned until they are provably not borrowed (see [`Heap::reattach`]).
    pub(crate) detached: List,
    /// Torn-down objects a handle still refers to (`DEAD | ORPHAN`); each is
    /// freed when its last handle goes.
    pub(crate) orphans: List,
    /// Detached objects re-attached during the running collection; they
    /// join generation 0 when it ends.
    pub(crate) reattached: List,
    /// How many objects carry `IN_GEN` (between collections: the objects of
    /// `gens`). Kept by [`Heap::enter_gen`] and [`Heap::leave_gen`], so a
    /// skipped full collection knows its survivors without walking them.
    members: Cell<usize>,
}

/// Destruction in progress (see `lifecycle`).
pub(crate) struct Destruction {
    /// Nesting depth of object destruction.
    pub(crate) depth: Cell<usize>,
    /// Objects whose count reached zero while destruction was nested too deep.
    pub(crate) deferred: RefCell<Vec<NonNull<Header>>>,
}

/// Tables keyed by object address, for what does not fit in a header.
pub(crate) struct SideTables {
    /// Weak cells of objects that have weak references.
    pub(crate) weak_cells: RefCell<HashMap<usize, NonNull<weak_cells::WeakCell>>>,
    /// Canonical interned strings.
    pub(crate) interned: RefCell<HashSet<interned::Interned>>,
    /// Allocation sites of live objects, while tracking is on.
    pub(crate) track_sites: Cell<bool>,
    pub(crate) sites: RefCell<sites::Sites>,
}

/// User code the heap holds: callbacks and the debug output.
pub(crate) struct Hooks {
    pub(crate) callbacks: RefCell<hooks::Callbacks>,
    pub(crate) debug: Cell<DebugFlags>,
    /// Where debug output goes; `None` is stderr.
    pub(crate) sink: RefCell<Option<Box<dyn std::io::Write>>>,
    /// A sink set by `gc::set_debug_output` while `sink` was writing (from
    /// inside the sink); installed when that write returns.
    pub(crate) sink_next: Cell<Option<Option<Box<dyn std::io::Write>>>>,
}

impl Hooks {
    /// Take the debug sink and one set from inside it (to be dropped outside
    /// the borrow: their drops are user code).
    pub(crate) fn take_sinks(&self) -> [Option<Box<dyn std::io::Write>>; 2] {
        [
            self.sink.borrow_mut().take(),
            self.sink_next.take().flatten(),
        ]
    }
}

/// Per-thread heap state.
pub(crate) struct Heap {
    pub(crate) lists: Lists,
    pub(crate) policy: policy::Policy,
    pub(crate) stats: RefCell<[hooks::GenerationStats; GENERATIONS]>,
    /// Finalizers or out-of-collection `trace` calls on the stack; while
    /// non-zero, `gc::collect` returns 0.
    pub(crate) in_user_hook: Cell<usize>,
    pub(crate) destruction: Destruction,
    /// Edges the subtract pass of a young collection (or of the analysis
    /// after finalizers) holds until its walk ends (see
    /// `collector::analysis`); empty between collections, kept for its
    /// capacity.
    pub(crate) pending_edges: Cell<Vec<NonNull<Header>>>,
    pub(crate) tables: SideTables,
    /// Where the blocks come from.
    pub(crate) pool: pool::PoolAllocator,
    pub(crate) hooks: Hooks,
    /// Garbage kept by `DebugFlags::SAVEALL`: each entry owns a strong count.
    pub(crate) garbage: RefCell<Vec<NonNull<Header>>>,
    /// The incremental full collection's phase (see `collector::incremental`).
    pub(crate) incremental: incremental::Incremental,
    /// Run by the thread-local destructor before the heap is marked dead
    /// (the collector's thread-exit work; a function pointer so that this
    /// layer does not depend on the collector).
    on_exit: fn(&'static Heap),
}

thread_local! {
    static HEAP: Cell<*const Heap> = const { Cell::new(ptr::null()) };
    static OWNER: HeapOwner = const { HeapOwner };
}

/// Marks a heap that was shut down by its thread's exit.
fn dead() -> *const Heap {
    ptr::without_provenance(1)
}

/// The calling thread's heap, if it was created and has not shut down yet.
/// (Every object was allocated through [`current_or_create`], so code that
/// holds one finds the heap unless the thread is exiting.)
#[inline]
pub(crate) fn current() -> Option<&'static Heap> {
    let p = HEAP.with(Cell::get);
    if p.addr() > 1 {
        // SAFETY: a pointer other than null/dead was set by `create` to a
        // leaked box; it stays valid until `shutdown` replaces it with `dead`.
        Some(unsafe { &*p })
    } else {
        None
    }
}

/// The calling thread's heap, created on first use with `on_exit` as its
/// thread-exit hook; `None` once the thread's heap has shut down (during
/// thread-local destruction).
#[inline]
pub(crate) fn current_or_create(on_exit: fn(&'static Heap)) -> Option<&'static Heap> {
    let p = HEAP.with(Cell::get);
    if p.addr() > 1 {
        // SAFETY: as in `current`.
        Some(unsafe { &*p })
    } else if p.is_null() {
        create(on_exit)
    } else {
        None
    }
}

#[cold]
fn create(on_exit: fn(&'static Heap)) -> Option<&'static Heap> {
    // Registering the owner's destructor fails once thread-local destruction
    // has started; then this thread gets no heap.
    OWNER.try_with(|_| ()).ok()?;
    // Keep the raw pointer (not one derived from a reference) so that
    // `shutdown` may turn it back into the box.
    let raw = Box::into_raw(Box::new(Heap::new(on_exit)));
    // SAFETY: just allocated; it is freed only by `shutdown`, after `HEAP`
    // stops handing it out.
    let heap: &'static Heap = unsafe { &*raw };
    let l = &heap.lists;
    for list in l
        .gens
        .iter()
        .chain([&l.permanent, &l.detached, &l.orphans, &l.reattached])
        .chain(heap.incremental.lists())
    {
        list.init();
    }
    HEAP.with(|h| h.set(raw));
    Some(heap)
}

struct HeapOwner;

impl Drop for HeapOwner {
    fn drop(&mut self) {
        shutdown();
    }
}

/// Thread exit: the exit hook runs (the collector frees what it can; no
/// panic leaves it), then the heap is marked dead, and freed if no object
/// is left in its memory. Whatever is still alive is leaked.
fn shutdown() {
    let p = HEAP.with(Cell::get);
    if p.addr() <= 1 {
        return;
    }
    // SAFETY: see `current`.
    let heap = unsafe { &*p };
    (heap.on_exit)(heap);
    HEAP.with(|h| h.set(dead()));
    if heap.pool.is_unused() {
        heap.pool.release_all();
        // SAFETY: no object refers to the heap's lists any more, and `HEAP` no
        // longer hands it out; it was created by `Box::into_raw` in `create`.
        let heap = unsafe { Box::from_raw(p.cast_mut()) };
        // The exit hook emptied the user code the heap holds; should any be
        // left (registered in its last round), it is dropped one value at a
        // time, and its drop must not unwind out of a thread-local
        // destructor.
        let callbacks = heap.hooks.callbacks.borrow_mut().take_all();
        for (_, cb) in callbacks {
            drop_quietly(cb);
        }
        for sink in heap.hooks.take_sinks() {
            drop_quietly(sink);
        }
        drop_quietly(heap);
    }
}

/// Drop `value`, whose drop may be user code, after the heap is dead: a
/// panic is caught and its payload dropped unreported (no output is left to
/// report it to, and a thread-local destructor must not unwind). Values are
/// dropped one at a time: dropped together (one `Vec`), a second panic while
/// the first unwinds would abort the process.
fn drop_quietly<T>(value: T) {
    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(value)));
    if let Err(payload) = dropped {
        discard(payload);
    }
}

/// Drop a panic payload whose own `Drop` might panic, without unwinding
/// (only a payload thrown by that drop is forgotten).
pub(crate) fn discard(payload: Box<dyn std::any::Any + Send>) {
    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(payload)));
    if let Err(again) = dropped {
        core::mem::forget(again);
    }
}

impl Heap {
    fn new(on_exit: fn(&'static Heap)) -> Heap {
        Heap {
            lists: Lists {
                gens: [List::new_uninit(), List::new_uninit(), List::new_uninit()],
                permanent: List::new_uninit(),
                detached: List::new_uninit(),
                orphans: List::new_uninit(),
                reattached: List::new_uninit(),
                members: Cell::new(0),
            },
            policy: policy::Policy::new(),
            stats: RefCell::new(Default::default()),
            in_user_hook: Cell::new(0),
            destruction: Destruction {
                depth: Cell::new(0),
                deferred: RefCell::new(Vec::new()),
            },
            pending_edges: Cell::new(Vec::new()),
            tables: SideTables {
                weak_cells: RefCell::new(HashMap::new()),
                interned: RefCell::default(),
                track_sites: Cell::new(false),
                sites: RefCell::default(),
            },
            pool: pool::PoolAllocator::new(),
            hooks: Hooks {
                callbacks: RefCell::default(),
                debug: Cell::default(),
                sink: RefCell::new(None),
                sink_next: Cell::new(None),
            },
            garbage: RefCell::default(),
            incremental: incremental::Incremental::new(),
            on_exit,
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
        !self.destruction.deferred.borrow().is_empty()
    }

    /// Link a freshly allocated tracked object into generation 0. Returns
    /// whether that passes the threshold (the caller then starts an
    /// automatic collection).
    ///
    /// # Safety
    /// `links` must belong to a live tracked object that is in no list.
    #[inline]
    #[must_use]
    pub(crate) unsafe fn track_new(&self, links: NonNull<Links>) -> bool {
        // SAFETY: forwarded from the caller.
        unsafe {
            self.lists.gens[0].push_back(links);
            self.enter_gen(header_of(links).as_ref());
        }
        self.policy.count_allocation()
    }

    /// Move a tracked object out of the generations into `detached`.
    ///
    /// # Safety
    /// `h` must be a live tracked object in a well-formed list (or in the
    /// incremental phase's entries).
    pub(crate) unsafe fn detach_from_generations(&self, h: NonNull<Header>) {
        // SAFETY: forwarded from the caller.
        unsafe {
            let l = links_of(h);
            incremental::unlink_tracked(&self.incremental, l);
            self.lists.detached.push_back(l);
            let hdr = h.as_ref();
            hdr.set(flags::DETACHED);
            // It belongs to no generation and no analysis (this may be a
            // member of a garbage set that a finalizer takes out).
            hdr.clear(flags::COLLECTING);
            self.leave_gen(hdr);
        }
    }

    /// The detached object `h` is provably not mutably borrowed any more: a
    /// traced object's edge to it was read, or a new handle or weak
    /// reference to it is being made (from a `&Gc`, which the `&mut` that
    /// `Gc::get_mut` returned borrowed exclusively). It goes back to
    /// generation 0 — at once, or, during a collection, when that ends
    /// ([`Heap::end_reattach`]), waiting in `reattached` outside the analysis.
    ///
    /// A cycle through a detached object can be closed without a new handle
    /// (its only handle moved into an object it reaches); then the first
    /// collection that traces that object re-attaches it, and analyses again
    /// with it as a member (`collector::analyse_with_reattached`), so it is
    /// found by that collection.
    ///
    /// # Safety
    /// `h` must be a live detached object.
    pub(crate) unsafe fn reattach(&self, h: NonNull<Header>) {
        // SAFETY: detached objects are in the (well-formed) `detached` list.
        unsafe {
            let hdr = h.as_ref();
            hdr.clear(flags::DETACHED);
            let l = links_of(h);
            list::unlink(l);
            if self.policy.collecting() {
                self.lists.reattached.push_back(l);
            } else {
                self.lists.gens[0].push_back(l);
                self.enter_gen(hdr);
            }
        }
        // Its edges were hidden from every analysis meanwhile.
        epoch::mark_dirty();
    }

    /// Move the objects re-attached during a collection into generation 0.
    pub(crate) fn end_reattach(&self) {
        self.take_reattached(&self.lists.gens[0]);
    }

    /// Move the objects re-attached so far onto the end of `to` (a
    /// generation, or a collection's work list), flagged `IN_GEN`.
    pub(crate) fn take_reattached(&self, to: &List) {
        for l in self.lists.reattached.iter() {
            // SAFETY: list members are live tracked objects.
            self.enter_gen(unsafe { header_of(l).as_ref() });
        }
        to.append(&self.lists.reattached);
    }

    /// Flag `hdr` `IN_GEN` (a tracked object joining a generation, or a
    /// collection's members), counting it once.
    #[inline]
    pub(crate) fn enter_gen(&self, hdr: &Header) {
        if !hdr.has(flags::IN_GEN) {
            hdr.set(flags::IN_GEN);
            let m = &self.lists.members;
            m.set(m.get() + 1);
        }
    }

    /// Clear `IN_GEN` on `hdr` (leaving the generations: freed, frozen,
    /// detached, or found unreachable), counting it once.
    #[inline]
    pub(crate) fn leave_gen(&self, hdr: &Header) {
        if hdr.has(flags::IN_GEN) {
            hdr.clear(flags::IN_GEN);
            let m = &self.lists.members;
            m.set(m.get() - 1);
        }
    }

    /// `n` objects had their `IN_GEN` flag cleared directly (the
    /// collector's partition walk, which moves objects out and back in).
    #[inline]
    pub(crate) fn note_left_gen(&self, n: usize) {
        let m = &self.lists.members;
        m.set(m.get() - n);
    }

    /// How many objects carry `IN_GEN`.
    #[inline]
    pub(crate) fn members(&self) -> usize {
        self.lists.members.get()
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
