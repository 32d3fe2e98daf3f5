//! Incremental full collections (`gc::set_incremental`): phases run between
//! automatic triggers, find old garbage without `collect()`, never free a
//! live object, and settle when a whole-heap operation needs every object.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gc_core::{gc, Finalize, Gc, Trace};

#[derive(Trace)]
struct Node {
    #[gc(skip)]
    _drops: NodeDrop,
    #[gc(skip)]
    id: usize,
    edges: RefCell<Vec<Gc<Node>>>,
}

impl Finalize for Node {}

impl Drop for NodeDrop {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

/// Counts the drops of the nodes that hold it.
struct NodeDrop(Rc<Cell<usize>>);

fn node(drops: &Rc<Cell<usize>>, id: usize) -> Gc<Node> {
    Gc::new(Node {
        _drops: NodeDrop(drops.clone()),
        id,
        edges: RefCell::new(Vec::new()),
    })
}

/// Run `f` on a fresh thread (its own heap), with incremental collection on.
fn on_thread(f: impl FnOnce() + Send + 'static) {
    std::thread::spawn(move || {
        gc::set_incremental(true);
        f();
    })
    .join()
    .unwrap();
}

/// A doubly linked chain of `n` nodes (every neighbour pair a cycle): its
/// first and last node.
fn chain(drops: &Rc<Cell<usize>>, first_id: usize, n: usize) -> (Gc<Node>, Gc<Node>) {
    let head = node(drops, first_id);
    let mut tail = head.clone();
    for i in 1..n {
        let next = node(drops, first_id + i);
        next.edges.borrow_mut().push(tail.clone());
        tail.edges.borrow_mut().push(next.clone());
        tail = next;
    }
    (head, tail)
}

#[test]
fn a_phase_finds_old_garbage_without_collect() {
    on_thread(|| {
        let drops = Rc::new(Cell::new(0));
        // Old garbage: chains that live long enough to reach generation 2,
        // then lose their last outside handle.
        let old: Vec<_> = (0..20).map(|i| chain(&drops, i * 100, 100)).collect();
        let (live, live_tail) = chain(&drops, 1_000_000, 5_000);
        gc::collect(); // everything is in generation 2 now
        drop(old);
        assert_eq!(drops.get(), 0, "the chains are cyclic");
        let phases = gc::incremental_collections();
        let full = gc::stats()[2].collections;
        // Allocation drives triggers, and so phases (the first one finds
        // the 2,000 old nodes).
        let mut grow = live_tail;
        let mut i = 0;
        while gc::incremental_collections() < phases + 2 {
            let next = node(&drops, 2_000_000 + i);
            next.edges.borrow_mut().push(grow.clone());
            grow.edges.borrow_mut().push(next.clone());
            grow = next;
            i += 1;
            assert!(i < 2_000_000, "no phase finished");
        }
        assert_eq!(drops.get(), 2_000, "exactly the old chains were freed");
        assert!(gc::stats()[2].collections >= full + 2);
        // Everything alive is intact.
        let mut seen = 0;
        let mut cur = live.clone();
        loop {
            assert!(cur.id >= 1_000_000);
            seen += 1;
            let next = cur.edges.borrow().last().cloned();
            match next {
                Some(n) if n.id > cur.id => cur = n,
                _ => break,
            }
        }
        assert_eq!(seen, 5_000 + i);
        drop((cur, grow, live));
        gc::collect();
        assert_eq!(drops.get(), 2_000 + 5_000 + i);
    });
}
