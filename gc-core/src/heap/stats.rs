//! `gc::heap_stats()`: what the pooled allocator holds, like CPython's
//! `sys._debugmallocstats()`.

use core::fmt;

use super::pool::{self, block_size, CLASSES};
use super::Heap;

/// Occupancy of one size class of the pooled allocator.
///
/// ```
/// let s = gc_core::gc::heap_stats();
/// assert_eq!(s.classes[0].block_size, 16);
/// assert_eq!(s.classes[1].block_size, 24);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SizeClassStats {
    /// Bytes per block of this class.
    pub block_size: usize,
    /// Pools currently serving this class.
    pub pools: usize,
    /// Blocks handed out.
    pub used_blocks: usize,
    /// Blocks available in those pools.
    pub free_blocks: usize,
}

/// A snapshot of the calling thread's heap memory.
///
/// Objects of up to 512 bytes (header included) live in pools of one size
/// class, carved from arenas taken from the system allocator and given back
/// when all their pools are empty; bigger or over-aligned objects go to the
/// system allocator directly ("large").
///
/// ```
/// use gc_core::{gc, Gc};
/// let before = gc::heap_stats();
/// let v: Vec<_> = (0..1000).map(Gc::new).collect();
/// let after = gc::heap_stats();
/// assert!(after.bytes_in_use >= before.bytes_in_use + 1000 * 16);
/// println!("{after}");
/// # drop(v);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HeapStats {
    /// Bytes per arena.
    pub arena_size: usize,
    /// Bytes per pool.
    pub pool_size: usize,
    /// Arenas taken from the system since the heap was created.
    pub arenas_allocated: usize,
    /// Arenas given back to the system.
    pub arenas_freed: usize,
    /// Arenas held now.
    pub arenas_live: usize,
    /// Of those, arenas with no block in use, kept for reuse until a full
    /// collection finds them unused for a second (or `gc::trim_heap`).
    pub arenas_empty: usize,
    /// One entry per size class (16, 24, 32, …, 512 bytes).
    pub classes: Vec<SizeClassStats>,
    /// Objects allocated directly from the system allocator.
    pub large_objects: usize,
    /// Bytes of those.
    pub large_bytes: usize,
    /// Bytes in blocks handed out plus large bytes.
    pub bytes_in_use: usize,
}

impl HeapStats {
    pub(crate) fn of(heap: &Heap) -> HeapStats {
        let c = heap.pool.counters();
        let usage = heap.pool.class_usage();
        let classes: Vec<SizeClassStats> = (0..CLASSES)
            .map(|i| SizeClassStats {
                block_size: block_size(i),
                pools: usage[i].pools,
                used_blocks: usage[i].used_blocks,
                free_blocks: usage[i].free_blocks,
            })
            .collect();
        let small: usize = classes.iter().map(|c| c.used_blocks * c.block_size).sum();
        HeapStats {
            arena_size: pool::ARENA_SIZE,
            pool_size: pool::POOL_SIZE,
            arenas_allocated: c.arenas_allocated,
            arenas_freed: c.arenas_freed,
            arenas_live: c.arenas_allocated - c.arenas_freed,
            arenas_empty: heap.pool.empty_arenas(),
            classes,
            large_objects: c.large_objects,
            large_bytes: c.large_bytes,
            bytes_in_use: small + c.large_bytes,
        }
    }
}

impl fmt::Display for HeapStats {
    /// A table in the spirit of `sys._debugmallocstats()`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "class   size   num pools   blocks in use  avail blocks")?;
        writeln!(f, "-----   ----   ---------   -------------  ------------")?;
        for (i, c) in self.classes.iter().enumerate() {
            if c.pools == 0 {
                continue;
            }
            writeln!(
                f,
                "{i:>5}   {:>4}   {:>9}   {:>13}  {:>12}",
                c.block_size, c.pools, c.used_blocks, c.free_blocks
            )?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "# arenas allocated total  = {:>12}",
            self.arenas_allocated
        )?;
        writeln!(f, "# arenas reclaimed        = {:>12}", self.arenas_freed)?;
        writeln!(f, "# arenas allocated now    = {:>12}", self.arenas_live)?;
        writeln!(f, "# arenas empty (kept)     = {:>12}", self.arenas_empty)?;
        writeln!(
            f,
            "{:>12} bytes in {} arenas of {} bytes ({} byte pools)",
            self.arenas_live * self.arena_size,
            self.arenas_live,
            self.arena_size,
            self.pool_size
        )?;
        writeln!(f, "# large objects           = {:>12}", self.large_objects)?;
        writeln!(f, "# bytes in large objects  = {:>12}", self.large_bytes)?;
        write!(f, "# bytes in use            = {:>12}", self.bytes_in_use)
    }
}
