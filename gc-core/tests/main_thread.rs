//! Dropping a 10-million-long chain on the *main* thread (8 MiB stack by
//! default) does not overflow. This test has no libtest harness (see
//! gc-core/Cargo.toml), so `main` below runs on the process's main thread.

use std::cell::Cell;
use std::rc::Rc;

use gc_core::{gc, Finalize, Gc, Trace};

/// Its edge is fixed once built, so the type is untracked.
#[derive(Trace, Finalize)]
struct Link {
    next: Option<Gc<Link>>,
    #[gc(skip)]
    _alive: Rc<Cell<usize>>,
}

/// Its edge can be changed through a shared reference: tracked.
#[derive(Trace, Finalize)]
struct TrackedLink {
    next: std::cell::RefCell<Option<Gc<TrackedLink>>>,
    #[gc(skip)]
    _alive: Rc<Cell<usize>>,
}

fn main() {
    let n = if cfg!(miri) { 2_000 } else { 10_000_000 };
    let alive = Rc::new(Cell::new(0));
    let mut head = Gc::new(Link {
        next: None,
        _alive: alive.clone(),
    });
    for _ in 1..n {
        head = Gc::new(Link {
            next: Some(head),
            _alive: alive.clone(),
        });
    }
    assert_eq!(Rc::strong_count(&alive), n + 1);
    drop(head);
    assert_eq!(Rc::strong_count(&alive), 1, "every link was freed");

    // A chain of tracked links, dropped.
    let mut chain = None;
    for _ in 0..n {
        chain = Some(Gc::new(TrackedLink {
            next: std::cell::RefCell::new(chain),
            _alive: alive.clone(),
        }));
    }
    assert!(chain.as_ref().is_some_and(gc::is_tracked));
    drop(chain);
    assert_eq!(Rc::strong_count(&alive), 1, "every tracked link was freed");

    // The same chain hanging off a garbage cycle, torn down by the collector.
    #[derive(Trace, Finalize)]
    struct Ring {
        me: std::cell::RefCell<Option<Gc<Ring>>>,
        chain: Option<Gc<TrackedLink>>,
    }
    let mut chain = None;
    for _ in 0..n {
        chain = Some(Gc::new(TrackedLink {
            next: std::cell::RefCell::new(chain),
            _alive: alive.clone(),
        }));
    }
    let ring = Gc::new(Ring {
        me: std::cell::RefCell::new(None),
        chain,
    });
    *ring.me.borrow_mut() = Some(ring.clone());
    drop(ring);
    assert_eq!(gc::collect(), n + 1);
    assert_eq!(Rc::strong_count(&alive), 1);
    println!("main_thread: dropped three {n}-long chains on the main thread");
}
