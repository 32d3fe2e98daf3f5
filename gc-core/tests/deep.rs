//! Dropping very deep structures never overflows the stack (the deferred
//! drop queue), on the main thread and on small spawned threads.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gc_core::{gc, Finalize, Gc, Trace, Weak};

/// Under Miri the sizes shrink; the code paths (queueing past the nesting
/// limit) are the same.
fn scaled(n: usize) -> usize {
    if cfg!(miri) {
        n / 10_000
    } else {
        n
    }
}

#[derive(Trace)]
struct Link {
    next: Option<Gc<Link>>,
    /// Shared by every link: its strong count tells how many links live.
    #[gc(skip)]
    _alive: Rc<Cell<usize>>,
}

impl Finalize for Link {}

fn chain(n: usize, drops: &Rc<Cell<usize>>) -> Gc<Link> {
    let mut head = Gc::new(Link {
        next: None,
        _alive: drops.clone(),
    });
    for _ in 1..n {
        head = Gc::new(Link {
            next: Some(head),
            _alive: drops.clone(),
        });
    }
    head
}

/// A link whose edge a shared reference can change: tracked, unlike
/// [`Link`], whose edge is fixed once built (an untracked type).
#[derive(Trace)]
struct TrackedLink {
    next: RefCell<Option<Gc<TrackedLink>>>,
    #[gc(skip)]
    _alive: Rc<Cell<usize>>,
}

impl Finalize for TrackedLink {}

fn tracked_chain(n: usize, drops: &Rc<Cell<usize>>) -> Gc<TrackedLink> {
    let mut head: Option<Gc<TrackedLink>> = None;
    for _ in 0..n {
        head = Some(Gc::new(TrackedLink {
            next: RefCell::new(head),
            _alive: drops.clone(),
        }));
    }
    head.expect("n > 0")
}

/// Counts its drops.
struct Count(Rc<Cell<usize>>);

impl Drop for Count {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[test]
fn ten_million_chain_drops_on_main_stack() {
    let n = scaled(10_000_000);
    let drops = Rc::new(Cell::new(0));
    let head = chain(n, &drops);
    let w = Gc::downgrade(&head);
    drop(head);
    assert!(w.upgrade().is_none());
    // Every link was freed: the drop counter is shared through `Rc`, whose
    // strong count falls back to one.
    assert_eq!(Rc::strong_count(&drops), 1);
}

#[test]
fn ten_million_tracked_chain_drops_on_main_stack() {
    let n = scaled(10_000_000);
    let drops = Rc::new(Cell::new(0));
    let head = tracked_chain(n, &drops);
    assert!(gc::is_tracked(&head));
    assert!(!gc::is_tracked(&chain(1, &drops)), "fixed self-edges only");
    drop(head);
    assert_eq!(Rc::strong_count(&drops), 1);
}

#[test]
fn deep_chain_drops_on_a_2mib_thread() {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let drops = Rc::new(Cell::new(0));
            drop(chain(scaled(1_000_000), &drops));
            assert_eq!(Rc::strong_count(&drops), 1);
            drop(tracked_chain(scaled(1_000_000), &drops));
            assert_eq!(Rc::strong_count(&drops), 1);
        })
        .unwrap()
        .join()
        .unwrap();
}

/// A tree of `Vec` children, one million levels deep.
#[derive(Trace, Finalize)]
struct Tree {
    kids: Vec<Gc<Tree>>,
    #[gc(skip)]
    _count: CountField,
}

struct CountField(#[allow(dead_code)] Count);

fn deep_tree(depth: usize, drops: &Rc<Cell<usize>>) -> Gc<Tree> {
    let mut t = Gc::new(Tree {
        kids: vec![],
        _count: CountField(Count(drops.clone())),
    });
    for i in 1..depth {
        let mut kids = vec![t];
        if i % 100 == 0 {
            kids.push(Gc::new(Tree {
                kids: vec![],
                _count: CountField(Count(drops.clone())),
            }));
        }
        t = Gc::new(Tree {
            kids,
            _count: CountField(Count(drops.clone())),
        });
    }
    t
}

#[test]
fn million_deep_vec_tree_drops() {
    let depth = scaled(1_000_000).max(50);
    let drops = Rc::new(Cell::new(0));
    let t = deep_tree(depth, &drops);
    drop(t);
    assert_eq!(drops.get(), depth + (depth - 1) / 100);
    // Also on a small thread.
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let drops = Rc::new(Cell::new(0));
            drop(deep_tree(depth, &drops));
            assert_eq!(drops.get(), depth + (depth - 1) / 100);
        })
        .unwrap()
        .join()
        .unwrap();
}

/// A chain through `Option<Box<..>>`, `RefCell` and a `Weak` side link.
#[derive(Trace, Finalize)]
struct Mixed {
    next: RefCell<Option<Box<Option<Gc<Mixed>>>>>,
    prev: Weak<Mixed>,
    #[gc(skip)]
    _count: CountField,
}

#[test]
fn chain_through_box_option_and_weak_drops() {
    let n = scaled(2_000_000).max(100);
    let drops = Rc::new(Cell::new(0));
    let mut head = Gc::new(Mixed {
        next: RefCell::new(None),
        prev: Weak::new(),
        _count: CountField(Count(drops.clone())),
    });
    let tail = Gc::downgrade(&head);
    for _ in 1..n {
        let new = Gc::new(Mixed {
            next: RefCell::new(Some(Box::new(Some(head.clone())))),
            prev: Weak::new(),
            _count: CountField(Count(drops.clone())),
        });
        head = new;
    }
    drop(head);
    assert_eq!(drops.get(), n);
    assert!(tail.upgrade().is_none());
    let _ = gc::collect();
}

#[test]
fn deep_chain_inside_a_garbage_cycle_is_torn_down() {
    gc::collect();
    let n = scaled(1_000_000).max(100);
    let drops = Rc::new(Cell::new(0));
    #[derive(Trace, Finalize)]
    struct Ring {
        me: RefCell<Option<Gc<Ring>>>,
        chain: Gc<TrackedLink>,
    }
    let r = Gc::new(Ring {
        me: RefCell::new(None),
        chain: tracked_chain(n, &drops),
    });
    *r.me.borrow_mut() = Some(r.clone());
    drop(r);
    // The chain hangs off the garbage cycle only, so it is garbage too.
    assert_eq!(gc::collect(), n + 1);
    assert_eq!(Rc::strong_count(&drops), 1);
}
