//! The pooled heap: memory really goes back, holes are reused, statistics
//! add up.

use std::cell::RefCell;

use gc_core::gc::{self, HeapStats};
use gc_core::{Finalize, Gc, Trace};

fn scaled(n: usize) -> usize {
    if cfg!(miri) {
        n / 500
    } else {
        n
    }
}

fn used_blocks(s: &HeapStats) -> usize {
    s.classes.iter().map(|c| c.used_blocks).sum()
}

/// Index of the size class of a `Gc<u64>`: a 24-byte box (16-byte header and
/// the value) in the 24-byte class (classes step by 8 bytes).
const U64_CLASS: usize = 1;

#[test]
fn arenas_go_back_after_a_large_structure_is_freed() {
    let base = gc::heap_stats();
    let n = scaled(1_000_000);
    let v: Vec<Gc<u64>> = (0..n as u64).map(Gc::new).collect();
    let full = gc::heap_stats();
    assert!(full.arenas_live > base.arenas_live + 2, "{full}");
    assert_eq!(used_blocks(&full), used_blocks(&base) + n);
    // Each `Gc<u64>` is a 24-byte box in the 24-byte class.
    assert_eq!(full.classes[U64_CLASS].block_size, 24);
    assert_eq!(
        full.classes[U64_CLASS].used_blocks,
        base.classes[U64_CLASS].used_blocks + n
    );
    drop(v);
    let after = gc::heap_stats();
    assert_eq!(used_blocks(&after), used_blocks(&base));
    // The empty arenas are kept for reuse for a while...
    assert!(
        after.arenas_empty + 1 >= full.arenas_live - base.arenas_live,
        "{after}"
    );
    // ...and go back to the system on request.
    let trimmed = gc::trim_heap();
    assert_eq!(trimmed, after.arenas_empty);
    let trimmed_stats = gc::heap_stats();
    assert_eq!(trimmed_stats.arenas_empty, 0);
    assert_eq!(trimmed_stats.arenas_freed, after.arenas_freed + trimmed);
    assert!(
        trimmed_stats.arenas_live <= base.arenas_live + 1,
        "at most the arena of a kept empty pool remains: {trimmed_stats}"
    );
}

#[test]
fn empty_arenas_are_reused_then_decay_at_a_full_collection() {
    let n = scaled(300_000);
    let v: Vec<Gc<u64>> = (0..n as u64).map(Gc::new).collect();
    let full = gc::heap_stats();
    drop(v);
    // Building the same structure again takes no new arena.
    let v: Vec<Gc<u64>> = (0..n as u64).map(Gc::new).collect();
    let again = gc::heap_stats();
    assert_eq!(again.arenas_allocated, full.arenas_allocated, "{again}");
    drop(v);
    let empty = gc::heap_stats().arenas_empty;
    assert!(empty > 0);
    // A full collection right away keeps them; one after the decay returns them.
    gc::collect();
    assert_eq!(gc::heap_stats().arenas_empty, empty);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    gc::collect();
    let decayed = gc::heap_stats();
    assert_eq!(decayed.arenas_empty, 0, "{decayed}");
    assert_eq!(decayed.arenas_freed, full.arenas_freed + empty);
}

#[test]
fn freed_holes_are_reused_without_growth() {
    let n = scaled(1_000_000);
    let mut v: Vec<Option<Gc<u64>>> = (0..n as u64).map(|i| Some(Gc::new(i))).collect();
    let full = gc::heap_stats();
    for slot in v.iter_mut().step_by(2) {
        *slot = None;
    }
    let holes = gc::heap_stats();
    assert_eq!(
        holes.classes[U64_CLASS].used_blocks,
        full.classes[U64_CLASS].used_blocks - n / 2
    );
    assert_eq!(holes.arenas_live, full.arenas_live, "half-empty pools stay");
    for (i, slot) in v.iter_mut().step_by(2).enumerate() {
        *slot = Some(Gc::new(i as u64));
    }
    let refilled = gc::heap_stats();
    assert_eq!(
        refilled.arenas_live, full.arenas_live,
        "no growth: {refilled}"
    );
    assert_eq!(
        refilled.classes[U64_CLASS].pools,
        full.classes[U64_CLASS].pools
    );
    assert_eq!(
        refilled.classes[U64_CLASS].used_blocks,
        full.classes[U64_CLASS].used_blocks
    );
}

#[test]
fn large_and_over_aligned_objects_use_the_system_allocator() {
    #[derive(Trace, Finalize)]
    #[repr(align(64))]
    struct Aligned(u8);
    let base = gc::heap_stats();
    let big = Gc::new([0_u8; 4096]);
    let al = Gc::new(Aligned(7));
    assert_eq!(Gc::as_ptr(&al) as usize % 64, 0);
    assert_eq!(al.0, 7);
    let s = gc::heap_stats();
    assert_eq!(s.large_objects, base.large_objects + 2);
    assert!(s.large_bytes >= base.large_bytes + 4096 + 64);
    drop((big, al));
    let s = gc::heap_stats();
    assert_eq!(s.large_objects, base.large_objects);
    assert_eq!(s.large_bytes, base.large_bytes);
}

#[test]
fn every_size_class_round_trips() {
    // Strings of growing length cover every class of `Gc<str>` boxes.
    let base = gc::heap_stats();
    let strings: Vec<Gc<str>> = (0..600).map(|n| Gc::from("x".repeat(n).as_str())).collect();
    for (n, s) in strings.iter().enumerate() {
        assert_eq!(s.len(), n);
    }
    let s = gc::heap_stats();
    assert!(s
        .classes
        .iter()
        .all(|c| c.used_blocks > 0 || c.block_size <= 16));
    drop(strings);
    assert_eq!(used_blocks(&gc::heap_stats()), used_blocks(&base));
}

#[test]
fn tracked_objects_are_returned_while_weak_references_live() {
    #[derive(Trace, Finalize)]
    struct Node {
        next: RefCell<Option<Gc<Node>>>,
    }
    gc::collect();
    let base = used_blocks(&gc::heap_stats());
    let n = scaled(10_000);
    let nodes: Vec<_> = (0..n)
        .map(|_| {
            Gc::new(Node {
                next: RefCell::new(None),
            })
        })
        .collect();
    let weaks: Vec<_> = nodes.iter().map(Gc::downgrade).collect();
    for (i, node) in nodes.iter().enumerate() {
        *node.next.borrow_mut() = Some(nodes[(i + 1) % n].clone());
    }
    // n objects (weak cells live outside the pools, so that a dead `Weak`
    // never keeps a finished thread's heap alive).
    assert_eq!(used_blocks(&gc::heap_stats()), base + n);
    drop(nodes);
    assert_eq!(gc::collect(), n);
    assert!(weaks.iter().all(|w| w.upgrade().is_none()));
    // The objects' memory is back although their weak references live on.
    assert_eq!(used_blocks(&gc::heap_stats()), base);
    drop(weaks);
    assert_eq!(used_blocks(&gc::heap_stats()), base);
}

#[test]
fn stats_table_mentions_arenas_and_classes() {
    let keep: Vec<_> = (0..100).map(Gc::new).collect();
    let table = gc::heap_stats().to_string();
    assert!(table.contains("# arenas allocated total"), "{table}");
    assert!(table.contains("blocks in use"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.trim_start().starts_with("1     24")),
        "{table}"
    );
    drop(keep);
}

#[test]
fn a_thread_gives_its_arenas_back_at_exit() {
    // Nothing observable from outside but the absence of leaks under Miri
    // and the sanitizers; the heap must shut down cleanly with live weaks
    // and garbage cycles pending.
    std::thread::spawn(|| {
        #[derive(Trace, Finalize)]
        struct Node {
            me: RefCell<Option<Gc<Node>>>,
        }
        let n = Gc::new(Node {
            me: RefCell::new(None),
        });
        *n.me.borrow_mut() = Some(n.clone());
        let w = Gc::downgrade(&n);
        drop(n);
        assert!(w.upgrade().is_some());
        let strings: Vec<Gc<str>> = (0..100).map(|i| Gc::from(i.to_string())).collect();
        drop(strings);
    })
    .join()
    .unwrap();
}

/// A random cyclic graph: most members are still referenced by a member not
/// yet dropped when their own value goes, so they wait for the end of the
/// teardown. Every block must be back in the pools after one collection.
#[test]
fn a_collected_random_graph_returns_every_block() {
    #[derive(Trace, Finalize)]
    struct Node {
        edges: RefCell<Vec<Gc<Node>>>,
    }
    gc::collect();
    let base = gc::heap_stats();
    let n = scaled(20_000).max(8);
    let nodes: Vec<Gc<Node>> = (0..n)
        .map(|_| {
            Gc::new(Node {
                edges: RefCell::new(Vec::new()),
            })
        })
        .collect();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for node in &nodes {
        for _ in 0..3 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let target = nodes[(x % n as u64) as usize].clone();
            node.edges.borrow_mut().push(target);
        }
    }
    let weak = Gc::downgrade(&nodes[0]);
    drop(nodes);
    let found = gc::collect();
    assert!(weak.upgrade().is_none());
    // Nodes nobody pointed to were freed by their count alone.
    assert!(found > n / 2 && found <= n, "{found} of {n}");
    let after = gc::heap_stats();
    assert_eq!(used_blocks(&after), used_blocks(&base), "{after}");
    assert_eq!(after.large_objects, base.large_objects);
    assert_eq!(gc::stats()[2].uncollectable, 0);
}

#[test]
fn boxes_take_their_size_rounded_to_eight_bytes() {
    // A tracked node of 24 bytes (its `OnceCell` can be set later, so it
    // can close a cycle).
    #[derive(Trace, Finalize)]
    struct Node {
        parent: std::cell::OnceCell<Gc<Node>>,
        right: Option<Gc<Node>>,
        value: u64,
    }
    let n = 1000;
    let base = gc::heap_stats().bytes_in_use;
    // 16 bytes of links, 16 of header, the value.
    let nodes: Vec<Gc<Node>> = (0..n)
        .map(|i| {
            Gc::new(Node {
                parent: std::cell::OnceCell::new(),
                right: None,
                value: i,
            })
        })
        .collect();
    assert!(gc::is_tracked(&nodes[0]));
    assert_eq!(gc::heap_stats().bytes_in_use - base, n as usize * 56);
    assert_eq!(nodes.iter().map(|x| x.value).sum::<u64>(), n * (n - 1) / 2);
    drop(nodes);
    // An untracked `Gc<u64>`: the header and the value.
    let words: Vec<Gc<u64>> = (0..n).map(Gc::new).collect();
    assert_eq!(gc::heap_stats().bytes_in_use - base, n as usize * 24);
    drop(words);
    assert_eq!(gc::heap_stats().bytes_in_use, base);
}

#[test]
fn sixteen_aligned_values_stay_aligned_among_eight_byte_classes() {
    // A derived leaf: no `Gc` inside, so untracked, like any plain value.
    #[derive(Clone, Copy, Trace, Finalize)]
    #[repr(align(16))]
    struct A16(u64);
    #[derive(Trace, Finalize)]
    struct Tracked {
        _next: Option<Gc<Tracked>>,
        value: A16,
    }
    fn aligned<T: ?Sized>(p: *const T) -> bool {
        (p as *const u8 as usize) % 16 == 0
    }
    let mut keep_small: Vec<Gc<u64>> = Vec::new();
    let mut keep: Vec<Gc<[A16]>> = Vec::new();
    let mut keep_tracked: Vec<Gc<Tracked>> = Vec::new();
    let mut keep_sized: Vec<Gc<A16>> = Vec::new();
    for round in 0..scaled(2000).max(8) {
        // 8-aligned boxes in between shift where the next blocks start.
        keep_small.push(Gc::new(round as u64));
        let len = round % 20;
        let s: Gc<[A16]> = Gc::from(vec![A16(round as u64); len]);
        assert!(aligned(s.as_ptr()), "slice of {len}");
        assert!(s.iter().all(|a| a.0 == round as u64));
        keep.push(s);
        let t = Gc::new(Tracked {
            _next: None,
            value: A16(round as u64),
        });
        assert!(aligned(&t.value));
        keep_tracked.push(t);
        let a = Gc::new(A16(round as u64));
        assert!(aligned(&*a));
        keep_sized.push(a);
        if round % 3 == 0 {
            // Free some so that reused blocks are checked too.
            keep.remove(0);
            keep_tracked.remove(0);
        }
    }
}
