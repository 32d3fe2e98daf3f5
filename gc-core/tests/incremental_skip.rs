//! An incremental phase's final step may count as an analysis of every
//! generation (so that later full collections are skipped while nothing
//! happens) only when no event happened during the phase: garbage that forms
//! while a phase runs is not found by it, and must be found by the next one.
//! These tests fail if the final step claims exactness too eagerly.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gc_core::{gc, Finalize, Gc, Trace};

/// Counts drops of the nodes that hold it.
struct Counter(Rc<Cell<usize>>);

impl Drop for Counter {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[derive(Trace, Finalize)]
struct Node {
    #[gc(skip)]
    _drops: Counter,
    next: RefCell<Option<Gc<Node>>>,
}

fn node(drops: &Rc<Cell<usize>>) -> Gc<Node> {
    Gc::new(Node {
        _drops: Counter(drops.clone()),
        next: RefCell::new(None),
    })
}

/// A two-node cycle, held by the returned handle.
fn cycle(drops: &Rc<Cell<usize>>) -> Gc<Node> {
    let a = node(drops);
    let b = node(drops);
    *b.next.borrow_mut() = Some(a.clone());
    *a.next.borrow_mut() = Some(b);
    a
}

/// One scenario on a fresh heap: an old heap (a chain of live nodes and
/// one rooted cycle) whose epoch is made dirty without garbage (a clone of
/// a live handle dropped), so the long-lived rule starts a phase that finds
/// nothing; allocation (live ticks: no events) drives the phases; the
/// cycle's root is dropped at tick `last`, then allocation goes on without
/// any event. The cycle must be freed by automatic collections alone,
/// however its drop falls relative to the phases: a drop late in a phase
/// (after its mark pass saw the root) is missed by that phase, whose final
/// step then finds nothing, and only the next phase can free the cycle.
fn scenario(last: usize) {
    std::thread::spawn(move || {
        gc::set_incremental(true);
        gc::disable();
        let drops = Rc::new(Cell::new(0));
        let live = Rc::new(Cell::new(0));
        let mut root = Some(cycle(&drops));
        let chain: Vec<Gc<Node>> = (0..2_000).map(|_| node(&live)).collect();
        gc::collect();
        gc::set_threshold(4, 0, 0);
        gc::enable();
        // An event without garbage: the next full collection cannot be
        // skipped, and finds nothing.
        drop(chain[0].clone());
        let mut ticks = Vec::new();
        for t in 0..200_000 {
            if t == last {
                // A decrement to nonzero: the cycle is garbage now.
                drop(root.take());
            }
            // Tracked, kept: ages into generation 2 and so drives the
            // long-lived rule, without any event.
            ticks.push(node(&live));
            if root.is_none() && drops.get() == 2 {
                break;
            }
        }
        assert_eq!(
            drops.get(),
            2,
            "root dropped at tick {last}: automatic collections left the cycle ({} phases)",
            gc::incremental_collections()
        );
        assert_eq!(live.get(), 0, "a live node was freed");
        drop((chain, ticks));
    })
    .join()
    .unwrap();
}

#[test]
#[cfg_attr(
    miri,
    ignore = "thousands of allocations per scenario; the phases' memory safety is tested in tests/incremental.rs"
)]
fn garbage_that_forms_during_a_phase_is_found_by_a_later_one() {
    for last in (300..1_000).step_by(7) {
        scenario(last);
    }
}
