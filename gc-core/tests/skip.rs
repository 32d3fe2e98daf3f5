//! Collections that provably cannot find garbage are skipped (issue 17):
//! which ones are skipped (`gc::skipped_collections`), that a skipped
//! collection is observable exactly as a scanning one, and that every event
//! that can hide garbage from an analysis makes the next one scan — each
//! case checked by what is freed (drop counts), not only by the counter.
//!
//! Every test runs on its own thread and so on a fresh heap.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gc_core::gc::{self, CallbackInfo, Phase};
use gc_core::{Finalize, Gc, Trace};

/// Counts its drop (a `Trace` type may not implement `Drop` itself).
struct Tally(Rc<Cell<usize>>);

impl Drop for Tally {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[derive(Trace, Finalize)]
struct Node {
    edges: RefCell<Vec<Gc<Node>>>,
    #[gc(skip)]
    _drops: Tally,
}

fn node(drops: &Rc<Cell<usize>>) -> Gc<Node> {
    Gc::new(Node {
        edges: RefCell::new(Vec::new()),
        _drops: Tally(drops.clone()),
    })
}

fn start() {
    gc::set_threshold(1_000_000, 10, 10);
    gc::collect();
}

fn skipped() -> [usize; 3] {
    gc::skipped_collections()
}

/// A tree built bottom-up moves every handle into its parent: no
/// decrement, so no automatic collection scans — and they still count,
/// age the survivors and run callbacks exactly as before.
#[test]
fn building_a_tree_skips_every_automatic_collection() {
    start();
    gc::set_threshold(50, 3, 3);
    let drops = Rc::new(Cell::new(0));
    let starts = Rc::new(Cell::new(0));
    let s = starts.clone();
    let id = gc::add_callback(move |phase: Phase, _: &CallbackInfo| {
        if phase == Phase::Start {
            s.set(s.get() + 1);
        }
    });
    let stats_before = gc::stats();
    let skipped_before = skipped();
    let mut level: Vec<Gc<Node>> = (0..1024).map(|_| node(&drops)).collect();
    while level.len() > 1 {
        let mut next = Vec::new();
        let mut it = level.into_iter();
        while let (Some(a), Some(b)) = (it.next(), it.next()) {
            let parent = node(&drops);
            parent.edges.borrow_mut().extend([a, b]);
            next.push(parent);
        }
        level = next;
    }
    let stats = gc::stats();
    let collections: usize = (0..3)
        .map(|g| stats[g].collections - stats_before[g].collections)
        .sum();
    let now = skipped();
    let skips: usize = (0..3).map(|g| now[g] - skipped_before[g]).sum();
    assert!(collections > 30, "{collections} automatic collections");
    assert_eq!(skips, collections, "every collection was provably empty");
    assert_eq!(
        starts.get(),
        collections,
        "skipped ones still run callbacks"
    );
    // Survivors aged: the whole tree left generation 0.
    assert!(gc::objects(Some(0)).len() < 50);
    assert!(gc::objects(Some(2)).len() > 1000);
    gc::remove_callback(id);
    drop(level);
    assert_eq!(drops.get(), 2047);
}

/// A cycle whose last outside handle is dropped is found by the very next
/// collection of its generation.
#[test]
fn dropping_the_last_outside_handle_makes_the_next_collection_scan() {
    start();
    let drops = Rc::new(Cell::new(0));
    let a = node(&drops);
    let b = node(&drops);
    a.edges.borrow_mut().push(b.clone());
    b.edges.borrow_mut().push(a.clone());
    drop(b); // a decrement to nonzero
    let before = skipped()[0];
    assert_eq!(gc::collect_generation(0), 0, "a is still held");
    assert_eq!(skipped()[0], before, "that collection scanned");
    // Nothing happened since: the next one is skipped.
    assert_eq!(gc::collect_generation(0), 0);
    assert_eq!(skipped()[0], before + 1);
    drop(a);
    assert_eq!(gc::collect_generation(1), 2);
    assert_eq!(drops.get(), 2);
}

/// The garbage-forming drop may happen in an older generation than the
/// one collected next: only collections covering it must scan.
#[test]
fn a_candidate_in_an_old_generation_is_found_by_the_full_collection() {
    start();
    let drops = Rc::new(Cell::new(0));
    let a = node(&drops);
    let b = node(&drops);
    a.edges.borrow_mut().push(b.clone());
    b.edges.borrow_mut().push(a.clone());
    drop(b);
    gc::collect(); // both are old now
    drop(a);
    assert_eq!(gc::collect_generation(0), 0);
    assert_eq!(gc::collect_generation(1), 0);
    assert_eq!(gc::collect(), 2);
    assert_eq!(drops.get(), 2);
}

/// A mutably borrowed `RefCell` cannot be traced: what it holds survives
/// that collection, and the next one scans (not skipped) and finds it.
#[test]
fn a_borrowed_refcell_leaves_the_next_collection_dirty() {
    start();
    let drops = Rc::new(Cell::new(0));
    let holder = node(&drops);
    let a = node(&drops);
    let b = node(&drops);
    a.edges.borrow_mut().push(b.clone());
    b.edges.borrow_mut().push(a.clone());
    holder.edges.borrow_mut().push(a);
    drop(b);
    gc::collect();
    // The cycle's only outside reference is inside `holder`'s cell.
    let mut guard = holder.edges.borrow_mut();
    let a = guard.pop().unwrap();
    drop(a); // garbage now, and a decrement: this one scans anyway
    assert_eq!(gc::collect(), 2);
    drop(guard);
    assert_eq!(drops.get(), 2);

    // Now one where the borrow is the only thing hiding garbage: a cycle
    // reachable only through the borrowed cell of an object that is
    // itself garbage.
    let x = node(&drops);
    let y = node(&drops);
    x.edges.borrow_mut().push(y.clone());
    y.edges.borrow_mut().push(x.clone());
    drop(y);
    let before = skipped()[2];
    {
        let _borrow = x.edges.borrow_mut();
        // x is held by the handle (alive), y through x's untraceable cell.
        assert_eq!(gc::collect(), 0);
    }
    assert_eq!(skipped()[2], before);
    // The borrow made the collector promise nothing: the next full
    // collection scans although no handle was dropped since.
    assert_eq!(gc::collect(), 0);
    assert_eq!(
        skipped()[2],
        before,
        "not skipped after an untraceable value"
    );
    drop(x);
    assert_eq!(gc::collect(), 2);
    assert_eq!(drops.get(), 4);
}

/// Garbage made while frozen is found by the first full collection after
/// `unfreeze`, although the decrement happened outside the generations.
#[test]
fn garbage_formed_while_frozen_is_found_after_unfreeze() {
    start();
    let drops = Rc::new(Cell::new(0));
    let a = node(&drops);
    let b = node(&drops);
    a.edges.borrow_mut().push(b.clone());
    b.edges.borrow_mut().push(a.clone());
    drop(b);
    gc::collect();
    gc::freeze();
    drop(a); // a frozen object: not a candidate the epoch counts
    assert_eq!(gc::collect(), 0);
    gc::unfreeze();
    assert_eq!(gc::collect(), 2);
    assert_eq!(drops.get(), 2);
}

/// `Gc::get_mut` hides an object from the generations; a cycle closed by
/// moving its only handle into an object it reaches (no decrement of it,
/// and it is outside the generations) is found by the next collection.
#[test]
fn a_cycle_closed_by_moving_a_detached_handle_is_found() {
    start();
    let drops = Rc::new(Cell::new(0));
    let mut a = node(&drops);
    let b = node(&drops);
    gc::collect();
    // a is unique: get_mut detaches it.
    Gc::get_mut(&mut a).unwrap().edges.get_mut().push(b.clone());
    gc::collect();
    gc::collect();
    // Move the only handle of a into b, which a reaches: a cycle, and the
    // outside handle to b is the last one left.
    b.edges.borrow_mut().push(a);
    drop(b);
    assert_eq!(gc::collect(), 2);
    assert_eq!(drops.get(), 2);
}

/// Resurrection: a finalizer that stores a handle keeps its cycle, and the
/// drop of that handle later makes the cycle collectable again.
#[test]
fn a_resurrected_cycle_is_found_after_its_rescuer_lets_go() {
    thread_local! {
        static RESCUED: RefCell<Vec<Gc<Phoenix>>> = const { RefCell::new(Vec::new()) };
    }
    #[derive(Trace)]
    struct Phoenix {
        next: RefCell<Option<Gc<Phoenix>>>,
        #[gc(skip)]
        _drops: Tally,
    }
    impl Finalize for Phoenix {
        fn finalize(&self) {
            // (Weak references are cleared before finalizers run: rescue
            // through a strong edge.)
            if let Some(next) = self.next.borrow().clone() {
                RESCUED.with(|r| r.borrow_mut().push(next));
            }
        }
    }
    start();
    let drops = Rc::new(Cell::new(0));
    let mk = || {
        Gc::new(Phoenix {
            next: RefCell::new(None),
            _drops: Tally(drops.clone()),
        })
    };
    let a = mk();
    let b = mk();
    *a.next.borrow_mut() = Some(b.clone());
    *b.next.borrow_mut() = Some(a.clone());
    drop((a, b));
    assert_eq!(gc::collect(), 2, "found, finalized, resurrected");
    assert_eq!(drops.get(), 0);
    RESCUED.with(|r| r.borrow_mut().clear());
    assert_eq!(gc::collect(), 2, "finalizers ran: freed this time");
    assert_eq!(drops.get(), 2);
}

/// `DebugFlags::STATS` writes the same line for a skipped collection.
#[test]
fn a_skipped_collection_writes_its_stats_line() {
    #[derive(Clone, Default)]
    struct Sink(Rc<RefCell<Vec<u8>>>);
    impl std::io::Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    start();
    let sink = Sink::default();
    gc::set_debug_output(Some(Box::new(sink.clone())));
    gc::set_debug(gc::DebugFlags::STATS);
    let drops = Rc::new(Cell::new(0));
    let keep = node(&drops);
    let before = skipped()[0];
    gc::collect_generation(0);
    gc::set_debug(gc::DebugFlags::empty());
    gc::set_debug_output(None);
    assert_eq!(skipped()[0], before + 1);
    let out = String::from_utf8(sink.0.borrow().clone()).unwrap();
    assert!(
        out.contains("gc: done: generation 0, objects per generation 1 0 0"),
        "{out}"
    );
    drop(keep);
}
