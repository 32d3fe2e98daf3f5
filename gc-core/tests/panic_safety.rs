//! Panics in user code the collector runs: `Drop` of a field during
//! teardown, `Trace::trace` (aborts, by design), and collections that start
//! while user code holds `RefCell` borrows.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gc_core::{gc, Finalize, Gc, Trace, Tracer};

/// A field whose `Drop` panics, counting how many times it ran.
struct Grenade(Rc<Cell<usize>>);

impl Drop for Grenade {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
        panic!("grenade went off during teardown");
    }
}

#[derive(Trace, Finalize)]
struct Node {
    next: RefCell<Option<Gc<Node>>>,
    #[gc(skip)]
    _grenade: Option<Grenade>,
    #[gc(skip)]
    _dropped: DropFlag,
}

struct DropFlag(Rc<Cell<usize>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[test]
fn a_panicking_field_drop_during_teardown_is_contained() {
    gc::collect();
    let exploded = Rc::new(Cell::new(0));
    let dropped = Rc::new(Cell::new(0));
    let ring: Vec<Gc<Node>> = (0..4)
        .map(|i| {
            Gc::new(Node {
                next: RefCell::new(None),
                _grenade: (i % 2 == 0).then(|| Grenade(exploded.clone())),
                _dropped: DropFlag(dropped.clone()),
            })
        })
        .collect();
    for i in 0..4 {
        *ring[i].next.borrow_mut() = Some(ring[(i + 1) % 4].clone());
    }
    let weak = Gc::downgrade(&ring[1]);
    drop(ring);
    assert_eq!(gc::collect(), 4);
    assert_eq!(exploded.get(), 2, "both grenades went off");
    // The panicking drops still dropped their other fields (unwinding), and
    // the other values were dropped too.
    assert_eq!(dropped.get(), 4);
    assert!(weak.upgrade().is_none());
    // The heap is consistent: everything was freed, later collections work.
    assert!(gc::objects(None).is_empty());
    assert_eq!(gc::collect(), 0);
}

#[test]
fn collections_while_a_refcell_is_mutably_borrowed() {
    gc::collect();
    gc::set_threshold(10, 1, 1);
    let dropped = Rc::new(Cell::new(0));
    let a = Gc::new(Node {
        next: RefCell::new(None),
        _grenade: None,
        _dropped: DropFlag(dropped.clone()),
    });
    let b = Gc::new(Node {
        next: RefCell::new(Some(a.clone())),
        _grenade: None,
        _dropped: DropFlag(dropped.clone()),
    });
    *a.next.borrow_mut() = Some(b.clone());
    let wb = Gc::downgrade(&b);
    drop(b);
    {
        let mut borrow = a.next.borrow_mut();
        // Automatic collections run while the borrow is alive: `a`'s edge
        // cannot be read, so `b` looks externally referenced and survives.
        for _ in 0..200 {
            let _young = Gc::new(Node {
                next: RefCell::new(None),
                _grenade: None,
                _dropped: DropFlag(Rc::new(Cell::new(0))),
            });
        }
        assert!(gc::stats().iter().map(|s| s.collections).sum::<usize>() > 0);
        assert!(wb.upgrade().is_some());
        assert_eq!(dropped.get(), 0);
        // The borrow is still usable.
        assert!(borrow.is_some());
        *borrow = borrow.take();
    }
    drop(a);
    gc::set_threshold(700, 10, 10);
    assert_eq!(gc::collect(), 2);
    assert_eq!(dropped.get(), 2);
}

/// A manual `Trace` that panics: the collector cannot restore its lists half
/// way through, so the process aborts with a message (tested in a child
/// process; this environment variable selects the child's role).
const CHILD: &str = "GC_CORE_PANIC_SAFETY_CHILD";

struct Faulty {
    me: RefCell<Option<Gc<Faulty>>>,
}

impl Finalize for Faulty {}

// SAFETY: traces its one field; the panic is the point of the test.
unsafe impl Trace for Faulty {
    fn trace(&self, tracer: &mut Tracer) {
        if std::env::var_os(CHILD).is_some() {
            panic!("trace failed on purpose");
        }
        self.me.trace(tracer)
    }
}

#[test]
#[cfg_attr(miri, ignore = "spawns a child process")]
fn a_panic_in_trace_during_a_collection_aborts() {
    if std::env::var_os(CHILD).is_some() {
        let f = Gc::new(Faulty {
            me: RefCell::new(None),
        });
        *f.me.borrow_mut() = Some(f.clone());
        gc::collect();
        unreachable!("the collection must abort");
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_panic_in_trace_during_a_collection_aborts",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(out.status.signal(), Some(6), "SIGABRT expected: {stderr}");
    }
    assert!(
        stderr.contains("a Trace::trace implementation panicked during a collection; aborting"),
        "{stderr}"
    );
}

/// `Gc` and `Weak` are `UnwindSafe` when their target is `RefUnwindSafe`, as
/// `Rc` is: `catch_unwind` over a closure that uses them needs no
/// `AssertUnwindSafe` (this failed to compile before, naming an internal
/// `UnsafeCell` of the header). After the caught panic the objects are intact
/// and counting still frees them.
#[test]
fn catch_unwind_over_gc_and_weak_without_assert_unwind_safe() {
    let n = Gc::new(41_i32);
    let w = Gc::downgrade(&n);
    let ok = std::panic::catch_unwind(|| *n + 1);
    assert_eq!(ok.ok(), Some(42));

    let caught = std::panic::catch_unwind(|| {
        let g = w.upgrade().expect("alive");
        assert_eq!(Gc::strong_count(&g), 2);
        panic!("inside catch_unwind");
    });
    assert!(caught.is_err());
    // The upgraded handle was dropped during unwinding.
    assert_eq!(Gc::strong_count(&n), 1);
    drop(n);
    assert!(w.upgrade().is_none());

    fn unwind_safe<T: std::panic::UnwindSafe + std::panic::RefUnwindSafe>(_: &T) {}
    unwind_safe(&Gc::new(String::from("s")));
    unwind_safe(&gc_core::Weak::<Vec<u8>>::new());
}

#[derive(Trace, Finalize)]
struct Fan {
    edges: RefCell<Vec<Gc<Fan>>>,
    #[gc(skip)]
    _grenade: Option<Grenade>,
    #[gc(skip)]
    _dropped: DropFlag,
}

/// A node counting its drop in `drops`; with `panics`, its drop panics
/// (after the count: the field is dropped while unwinding).
fn fan(drops: &Rc<Cell<usize>>, panics: bool) -> Gc<Fan> {
    Gc::new(Fan {
        edges: RefCell::new(Vec::new()),
        _grenade: panics.then(|| Grenade(Rc::new(Cell::new(0)))),
        _dropped: DropFlag(drops.clone()),
    })
}

/// A panicking drop deep in a chain leaves the objects queued behind it
/// (the deferred queue of deep destruction) dead but not yet destroyed,
/// their values still holding handles. The next `gc::collect()` destroys
/// them before its analysis, so a cycle that only such an object referred
/// to is found by that collection, not one later. Every chain length is
/// tried, so some put the cycle's last referrer in the queue whatever the
/// nesting limit is.
#[test]
fn a_cycle_held_by_an_object_a_panic_left_queued_is_found_by_the_next_collect() {
    std::thread::spawn(|| {
        gc::disable();
        for chain in 0..16 {
            let drops = Rc::new(Cell::new(0));
            let a = fan(&drops, false);
            let b = fan(&drops, false);
            a.edges.borrow_mut().push(b.clone());
            b.edges.borrow_mut().push(a.clone());
            // The cycle's only referrer from outside it.
            let holder = fan(&drops, false);
            holder.edges.borrow_mut().push(a.clone());
            drop((a, b));
            // `bottom` holds `holder` and, dropped before it, a panicking
            // object; `chain` objects above `bottom`.
            let bottom = fan(&drops, false);
            bottom.edges.borrow_mut().push(holder);
            bottom.edges.borrow_mut().push(fan(&drops, true));
            let mut top = bottom;
            for _ in 0..chain {
                let n = fan(&drops, false);
                n.edges.borrow_mut().push(top);
                top = n;
            }
            let all = 5 + chain;
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(top)));
            assert!(result.is_err(), "chain {chain}: the panic reaches the drop");
            assert_eq!(
                gc::collect(),
                2,
                "chain {chain}: the cycle is found at once"
            );
            assert_eq!(drops.get(), all, "chain {chain}: every value dropped once");
            assert_eq!(gc::collect(), 0, "chain {chain}: nothing left");
        }
        gc::enable();
    })
    .join()
    .unwrap();
}
