//! The pooled small-object allocator, in the spirit of CPython's pymalloc.
//!
//! Memory is taken from the system allocator in *arenas* (1 MiB), each cut
//! into *pools* (16 KiB) aligned to the pool size. A pool serves blocks of a
//! single *size class* (16, 24, 32, …, 512 bytes: the smallest box, a header
//! and a zero-sized value, is 16 bytes); its header sits at the start of the
//! pool, so the pool of a block is found by masking the block's address.
//! Classes step by 8 bytes, as in mimalloc, not by 16 as in pymalloc: a `Gc`
//! box is a header plus a value whose size is a multiple of 8, so a 16-byte
//! step would round every other size up by 8 bytes (a tracked binary-tree node,
//! 56 bytes, would take 64). Alignment stays exact: blocks of a class that is
//! a multiple of 16 bytes are 16-aligned, and a request aligned to 16 is
//! served from such a class (its size is rounded up to its alignment).
//! Allocation pops the pool's free list or bumps into never-used space; freeing
//! pushes the block back. A pool that becomes empty returns to its arena
//! (except the last pool of its class, kept so that an allocate/free loop does
//! not re-initialise it). An arena whose pools are all empty is kept for
//! reuse and returned to the system by the first full collection that finds
//! it unused for [`ARENA_DECAY`] (or at once by `gc::trim_heap`): freeing a
//! big structure and building another one then costs no page faults, while an
//! idle heap still shrinks (the decay idea of jemalloc and mimalloc).
//!
//! Invariants:
//! - `used_pools[c]` lists exactly the pools of class `c` that are neither
//!   full nor empty-and-returned; the first of them serves allocations.
//! - A pool's `used` counts its allocated blocks; `free` lists freed blocks;
//!   blocks at or past `next_offset` were never handed out. `full` is set
//!   exactly while the pool has no block left to hand out (and so is out of
//!   `used_pools`).
//! - `usable` lists the arenas that have at least one pool not in use.
//! - Everything is single-threaded (the heap is thread-local) and no user code
//!   runs inside the allocator.
//!
//! Under Miri the same code runs with smaller pools and arenas (still taken
//! from `std::alloc`), so that tests reach every path quickly.

use core::alloc::Layout;
use core::cell::Cell;
use core::ptr::{self, NonNull};
use std::time::{Duration, Instant};

/// Largest block size served from pools.
pub(crate) const MAX_SMALL: usize = 512;
/// Block sizes step by this much.
pub(crate) const GRANULE: usize = 8;
/// Largest alignment served from pools (pool starts and the first block are
/// aligned to it; see [`class_of`]).
pub(crate) const POOL_ALIGN: usize = 16;
/// Smallest block size (a box is at least a 16-byte header).
pub(crate) const MIN_BLOCK: usize = 16;
/// Number of size classes.
pub(crate) const CLASSES: usize = (MAX_SMALL - MIN_BLOCK) / GRANULE + 1;

#[cfg(not(miri))]
pub(crate) const POOL_SIZE: usize = 16 * 1024;
#[cfg(not(miri))]
pub(crate) const POOLS_PER_ARENA: usize = 64;
#[cfg(miri)]
pub(crate) const POOL_SIZE: usize = 2048;
#[cfg(miri)]
pub(crate) const POOLS_PER_ARENA: usize = 4;
pub(crate) const ARENA_SIZE: usize = POOL_SIZE * POOLS_PER_ARENA;
/// How long an empty arena is kept before a full collection returns it.
pub(crate) const ARENA_DECAY: Duration = Duration::from_secs(1);

/// Whether an allocation of `layout` is served from pools.
#[inline]
pub(crate) const fn is_small(layout: Layout) -> bool {
    layout.size() <= MAX_SMALL && layout.align() <= POOL_ALIGN
}

/// Size class of a small allocation.
///
/// The size is first rounded up to the alignment, so a 16-aligned request
/// gets a class whose blocks are all multiples of 16 bytes from the
/// (16-aligned) first block, hence 16-aligned; any class suits 8 or less.
#[inline]
pub(crate) const fn class_of(layout: Layout) -> usize {
    let size = crate::header::round_up(layout.size(), layout.align());
    // Sizes up to `MIN_BLOCK` (only ever exactly 16: every box has a header)
    // are class 0; above it, each `GRANULE` more is one class more.
    size.saturating_sub(MIN_BLOCK - GRANULE + 1) / GRANULE
}

#[inline]
pub(crate) const fn block_size(class: usize) -> usize {
    MIN_BLOCK + class * GRANULE
}

/// Header at the start of every pool.
#[repr(C)]
struct PoolHeader {
    /// Freed blocks, linked through their first word.
    free: Cell<*mut FreeBlock>,
    /// Offset (from the pool start) of the first never-used block.
    next_offset: Cell<usize>,
    /// Allocated blocks.
    used: Cell<usize>,
    /// Size class; `usize::MAX` while the pool is empty and returned.
    class: Cell<usize>,
    /// Every block is handed out: the pool is out of `used_pools` until one
    /// is freed (kept as a flag so that a free tests one byte, not the free
    /// list and the bump offset).
    full: Cell<bool>,
    /// Neighbours in `used_pools[class]`, or (`next` only) in the arena's
    /// list of returned pools.
    prev: Cell<*mut PoolHeader>,
    next: Cell<*mut PoolHeader>,
    arena: Cell<*mut Arena>,
}

impl PoolHeader {
    /// For a pool in `used_pools`: it is the only pool of its class there
    /// (no neighbours), the one kept even when empty.
    #[inline]
    fn alone_in_used(&self) -> bool {
        self.prev.get().is_null() && self.next.get().is_null()
    }
}

struct FreeBlock {
    next: *mut FreeBlock,
}

/// Offset of the first block in a pool.
const POOL_OVERHEAD: usize =
    crate::header::round_up(core::mem::size_of::<PoolHeader>(), POOL_ALIGN);

/// Bookkeeping of one arena (kept outside the arena's memory).
struct Arena {
    base: NonNull<u8>,
    /// Pools returned to the arena (empty), linked through `next`.
    returned: Cell<*mut PoolHeader>,
    /// Pools never initialised: the last `untouched` pools of the arena.
    untouched: Cell<usize>,
    /// Pools not in use (returned + untouched).
    free_pools: Cell<usize>,
    /// Neighbours in the `usable` list.
    prev: Cell<*mut Arena>,
    next: Cell<*mut Arena>,
    in_usable: Cell<bool>,
    /// When the arena last became entirely empty (`None` while in use).
    empty_since: Cell<Option<Instant>>,
}

/// Counters of system allocations.
#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct Counters {
    pub(crate) arenas_allocated: usize,
    pub(crate) arenas_freed: usize,
    pub(crate) large_objects: usize,
    pub(crate) large_bytes: usize,
}

/// Occupancy of one size class.
#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct ClassUsage {
    pub(crate) pools: usize,
    pub(crate) used_blocks: usize,
    pub(crate) free_blocks: usize,
}

pub(crate) struct PoolAllocator {
    used_pools: [Cell<*mut PoolHeader>; CLASSES],
    usable: Cell<*mut Arena>,
    /// Every live arena (for statistics and shutdown).
    arenas: core::cell::RefCell<Vec<*mut Arena>>,
    counters: Cell<Counters>,
}

fn layout_of_arena() -> Layout {
    match Layout::from_size_align(ARENA_SIZE, POOL_SIZE) {
        Ok(l) => l,
        Err(_) => unreachable!("arena layout is valid"),
    }
}

impl PoolAllocator {
    pub(crate) fn new() -> PoolAllocator {
        PoolAllocator {
            used_pools: core::array::from_fn(|_| Cell::new(ptr::null_mut())),
            usable: Cell::new(ptr::null_mut()),
            arenas: Default::default(),
            counters: Cell::new(Counters::default()),
        }
    }

    /// Allocate a block for `layout`, from a pool if it is small.
    #[inline]
    pub(crate) fn alloc(&self, layout: Layout) -> NonNull<u8> {
        if is_small(layout) {
            self.alloc_small(class_of(layout))
        } else {
            self.alloc_large(layout)
        }
    }

    /// Free a block allocated by [`alloc`](PoolAllocator::alloc).
    ///
    /// # Safety
    /// `ptr` must come from `alloc` of this allocator with the same layout and
    /// must not be used afterwards.
    #[inline]
    pub(crate) unsafe fn dealloc(&self, ptr: NonNull<u8>, layout: Layout) {
        if is_small(layout) {
            // SAFETY: forwarded from the caller.
            unsafe { self.free_small(ptr) }
        } else {
            self.update(|c| {
                c.large_objects -= 1;
                c.large_bytes -= layout.size();
            });
            // SAFETY: allocated by `alloc_large` with this layout.
            unsafe { std::alloc::dealloc(ptr.as_ptr(), layout) }
        }
    }

    #[inline]
    fn alloc_small(&self, class: usize) -> NonNull<u8> {
        let pool = self.used_pools[class].get();
        if pool.is_null() {
            return self.alloc_from_new_pool(class);
        }
        // SAFETY: pools in `used_pools` are initialised pools of this class.
        let p = unsafe { &*pool };
        let block = p.free.get();
        let out = if !block.is_null() {
            // SAFETY: free-list entries are freed blocks of this pool.
            p.free.set(unsafe { (*block).next });
            block.cast::<u8>()
        } else {
            let off = p.next_offset.get();
            p.next_offset.set(off + block_size(class));
            // SAFETY: a pool in `used_pools` with an empty free list has
            // never-used space at `next_offset`.
            unsafe { pool.cast::<u8>().add(off) }
        };
        p.used.set(p.used.get() + 1);
        if p.free.get().is_null() && p.next_offset.get() + block_size(class) > POOL_SIZE {
            // Full: it leaves the list until a block is freed.
            p.full.set(true);
            self.unlink_used(class, pool);
        }
        // SAFETY: a block inside the pool is not null.
        unsafe { NonNull::new_unchecked(out) }
    }

    #[cold]
    fn alloc_from_new_pool(&self, class: usize) -> NonNull<u8> {
        let pool = self.take_pool();
        // SAFETY: `take_pool` returns an unused pool of the arena; its header
        // memory is ours to (re)initialise.
        unsafe {
            let arena = (*pool).arena.get();
            pool.write(PoolHeader {
                free: Cell::new(ptr::null_mut()),
                next_offset: Cell::new(POOL_OVERHEAD),
                used: Cell::new(0),
                class: Cell::new(class),
                full: Cell::new(false),
                prev: Cell::new(ptr::null_mut()),
                next: Cell::new(ptr::null_mut()),
                arena: Cell::new(arena),
            });
        }
        self.used_pools[class].set(pool);
        self.alloc_small(class)
    }

    /// An unused pool from some arena (a new arena if needed).
    fn take_pool(&self) -> *mut PoolHeader {
        let mut arena = self.usable.get();
        if arena.is_null() {
            arena = self.new_arena();
        }
        // SAFETY: arenas in `usable` are live and have a free pool.
        let a = unsafe { &*arena };
        let pool = if !a.returned.get().is_null() {
            let pool = a.returned.get();
            // SAFETY: returned pools are valid pool headers.
            a.returned.set(unsafe { (*pool).next.get() });
            pool
        } else {
            let index = POOLS_PER_ARENA - a.untouched.get();
            a.untouched.set(a.untouched.get() - 1);
            // SAFETY: `index < POOLS_PER_ARENA`, inside the arena.
            let pool = unsafe { a.base.as_ptr().add(index * POOL_SIZE) }.cast::<PoolHeader>();
            // Only `arena` is read before the header is fully written.
            // SAFETY: pool memory inside the arena.
            unsafe { (&raw mut (*pool).arena).write(Cell::new(arena)) };
            pool
        };
        a.free_pools.set(a.free_pools.get() - 1);
        a.empty_since.set(None);
        if a.free_pools.get() == 0 {
            self.unlink_usable(arena);
        }
        pool
    }

    #[cold]
    fn new_arena(&self) -> *mut Arena {
        let layout = layout_of_arena();
        // SAFETY: non-zero size.
        let base = unsafe { std::alloc::alloc(layout) };
        let Some(base) = NonNull::new(base) else {
            std::alloc::handle_alloc_error(layout)
        };
        let arena = Box::into_raw(Box::new(Arena {
            base,
            returned: Cell::new(ptr::null_mut()),
            untouched: Cell::new(POOLS_PER_ARENA),
            free_pools: Cell::new(POOLS_PER_ARENA),
            prev: Cell::new(ptr::null_mut()),
            next: Cell::new(ptr::null_mut()),
            in_usable: Cell::new(false),
            empty_since: Cell::new(None),
        }));
        self.arenas.borrow_mut().push(arena);
        self.update(|c| c.arenas_allocated += 1);
        self.link_usable(arena);
        arena
    }

    /// # Safety
    /// `ptr` must be a live block of some pool.
    #[inline]
    unsafe fn free_small(&self, ptr: NonNull<u8>) {
        let pool = ptr
            .as_ptr()
            .map_addr(|a| a & !(POOL_SIZE - 1))
            .cast::<PoolHeader>();
        // SAFETY: blocks live inside pools whose header is at the pool start.
        let p = unsafe { &*pool };
        let block = ptr.as_ptr().cast::<FreeBlock>();
        // SAFETY: the block is ours again; it is at least 16 bytes and
        // 8-aligned, room for a `FreeBlock`.
        unsafe { block.write(FreeBlock { next: p.free.get() }) };
        p.free.set(block);
        let used = p.used.get() - 1;
        p.used.set(used);
        if p.full.get() || (used == 0 && !p.alone_in_used()) {
            self.pool_changed_list(pool);
        }
    }

    /// After a free: a pool that was full rejoins `used_pools`; one that is
    /// now empty goes back to its arena (unless it is the last of its class).
    #[cold]
    #[inline(never)]
    fn pool_changed_list(&self, pool: *mut PoolHeader) {
        // SAFETY: an initialised pool of this allocator.
        let p = unsafe { &*pool };
        let class = p.class.get();
        if p.full.get() {
            p.full.set(false);
            self.link_used(class, pool);
        }
        // Keep the last pool of a class even when empty, so that an
        // allocate/free loop does not re-initialise a pool every time.
        if p.used.get() == 0 && !p.alone_in_used() {
            self.unlink_used(class, pool);
            self.return_pool(pool);
        }
    }

    /// An empty pool goes back to its arena. An arena left empty waits at
    /// the back of the usable list (pools come from busier arenas first) until
    /// [`trim`](PoolAllocator::trim) returns it.
    #[cold]
    fn return_pool(&self, pool: *mut PoolHeader) {
        // SAFETY: `pool` is an initialised, now empty pool.
        let p = unsafe { &*pool };
        p.class.set(usize::MAX);
        let arena = p.arena.get();
        // SAFETY: pools point to their live arena.
        let a = unsafe { &*arena };
        p.next.set(a.returned.get());
        a.returned.set(pool);
        a.free_pools.set(a.free_pools.get() + 1);
        if a.free_pools.get() == POOLS_PER_ARENA {
            a.empty_since.set(Some(Instant::now()));
            self.unlink_usable(arena);
        }
        if !a.in_usable.get() {
            self.link_usable(arena);
        }
    }

    /// Return to the system every empty arena that has been empty for at
    /// least `min_age` (all of them for `None`). Returns how many.
    pub(crate) fn trim(&self, min_age: Option<Duration>) -> usize {
        let now = Instant::now();
        let idle: Vec<*mut Arena> = self
            .arenas
            .borrow()
            .iter()
            .copied()
            .filter(|&arena| {
                // SAFETY: live arenas.
                let a = unsafe { &*arena };
                match (a.empty_since.get(), min_age) {
                    (Some(_), None) => true,
                    (Some(since), Some(age)) => now.duration_since(since) >= age,
                    (None, _) => false,
                }
            })
            .collect();
        for &arena in &idle {
            self.free_arena(arena);
        }
        idle.len()
    }

    /// Empty arenas kept for reuse.
    pub(crate) fn empty_arenas(&self) -> usize {
        self.arenas
            .borrow()
            .iter()
            // SAFETY: live arenas.
            .filter(|&&a| unsafe { &*a }.empty_since.get().is_some())
            .count()
    }

    fn free_arena(&self, arena: *mut Arena) {
        self.unlink_usable(arena);
        self.arenas.borrow_mut().retain(|&a| a != arena);
        // SAFETY: the arena is empty and unlinked; it came from `Box::into_raw`.
        let a = unsafe { Box::from_raw(arena) };
        // SAFETY: allocated by `new_arena` with this layout.
        unsafe { std::alloc::dealloc(a.base.as_ptr(), layout_of_arena()) };
        self.update(|c| c.arenas_freed += 1);
    }

    #[cold]
    fn alloc_large(&self, layout: Layout) -> NonNull<u8> {
        self.update(|c| {
            c.large_objects += 1;
            c.large_bytes += layout.size();
        });
        super::alloc_system(layout)
    }

    fn update(&self, f: impl FnOnce(&mut Counters)) {
        let mut c = self.counters.get();
        f(&mut c);
        self.counters.set(c);
    }

    fn link_used(&self, class: usize, pool: *mut PoolHeader) {
        let head = self.used_pools[class].get();
        // SAFETY: `pool` and `head` (if any) are initialised pools.
        unsafe {
            (*pool).prev.set(ptr::null_mut());
            (*pool).next.set(head);
            if !head.is_null() {
                (*head).prev.set(pool);
            }
        }
        self.used_pools[class].set(pool);
    }

    fn unlink_used(&self, class: usize, pool: *mut PoolHeader) {
        // SAFETY: `pool` is in `used_pools[class]`; its neighbours are too.
        unsafe {
            let prev = (*pool).prev.get();
            let next = (*pool).next.get();
            if prev.is_null() {
                self.used_pools[class].set(next);
            } else {
                (*prev).next.set(next);
            }
            if !next.is_null() {
                (*next).prev.set(prev);
            }
        }
    }

    fn link_usable(&self, arena: *mut Arena) {
        // New usable arenas go to the back: pools are taken from older
        // arenas first, so that young, lightly used ones can empty out.
        // SAFETY: live arenas.
        unsafe {
            let a = &*arena;
            a.in_usable.set(true);
            a.next.set(ptr::null_mut());
            let mut last = self.usable.get();
            if last.is_null() {
                a.prev.set(ptr::null_mut());
                self.usable.set(arena);
                return;
            }
            while !(*last).next.get().is_null() {
                last = (*last).next.get();
            }
            (*last).next.set(arena);
            a.prev.set(last);
        }
    }

    fn unlink_usable(&self, arena: *mut Arena) {
        // SAFETY: live arenas in the `usable` list.
        unsafe {
            let a = &*arena;
            if !a.in_usable.get() {
                return;
            }
            a.in_usable.set(false);
            let prev = a.prev.get();
            let next = a.next.get();
            if prev.is_null() {
                self.usable.set(next);
            } else {
                (*prev).next.set(next);
            }
            if !next.is_null() {
                (*next).prev.set(prev);
            }
        }
    }

    pub(crate) fn counters(&self) -> Counters {
        self.counters.get()
    }

    /// Pools, used and free blocks per size class (walks every arena).
    pub(crate) fn class_usage(&self) -> [ClassUsage; CLASSES] {
        let mut out = [ClassUsage::default(); CLASSES];
        for &arena in self.arenas.borrow().iter() {
            // SAFETY: live arenas.
            let a = unsafe { &*arena };
            let touched = POOLS_PER_ARENA - a.untouched.get();
            for i in 0..touched {
                // SAFETY: touched pools have initialised headers.
                let p = unsafe { &*a.base.as_ptr().add(i * POOL_SIZE).cast::<PoolHeader>() };
                let class = p.class.get();
                if class == usize::MAX {
                    continue;
                }
                let capacity = (POOL_SIZE - POOL_OVERHEAD) / block_size(class);
                let u = &mut out[class];
                u.pools += 1;
                u.used_blocks += p.used.get();
                u.free_blocks += capacity - p.used.get();
            }
        }
        out
    }

    /// Whether no block is handed out.
    pub(crate) fn is_unused(&self) -> bool {
        self.counters().large_objects == 0 && self.class_usage().iter().all(|c| c.used_blocks == 0)
    }

    /// Give every arena back to the system. Only valid when no block is in use.
    pub(crate) fn release_all(&self) {
        let arenas = core::mem::take(&mut *self.arenas.borrow_mut());
        for arena in arenas {
            // SAFETY: no block is in use; arenas came from `Box::into_raw`.
            let a = unsafe { Box::from_raw(arena) };
            // SAFETY: allocated by `new_arena` with this layout.
            unsafe { std::alloc::dealloc(a.base.as_ptr(), layout_of_arena()) };
            self.update(|c| c.arenas_freed += 1);
        }
        self.usable.set(ptr::null_mut());
        for c in &self.used_pools {
            c.set(ptr::null_mut());
        }
    }
}
