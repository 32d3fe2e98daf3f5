//! The cycle collector: what is freed, what survives, finalization order.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use gc_core::{gc, Finalize, Gc, Trace, Weak};

thread_local! {
    static LOG: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

fn log(s: String) {
    LOG.with(|l| l.borrow_mut().push(s));
}

fn take_log() -> Vec<String> {
    LOG.with(|l| std::mem::take(&mut *l.borrow_mut()))
}

#[derive(Trace)]
struct Node {
    name: &'static str,
    edges: RefCell<Vec<Gc<Node>>>,
    #[gc(skip)]
    _drops: DropCount,
    #[gc(skip)]
    finalizes: Rc<Cell<usize>>,
}

impl Finalize for Node {
    fn finalize(&self) {
        self.finalizes.set(self.finalizes.get() + 1);
        log(format!("finalize {}", self.name));
    }
}

/// Counts drops of the `Node` it sits in (a field type may implement Drop).
struct DropCount(Rc<Cell<usize>>);
impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

struct Counters {
    drops: Rc<Cell<usize>>,
    finalizes: Rc<Cell<usize>>,
}

impl Counters {
    fn new() -> Counters {
        Counters {
            drops: Rc::default(),
            finalizes: Rc::default(),
        }
    }

    fn node(&self, name: &'static str) -> Gc<Node> {
        Gc::new(Node {
            name,
            edges: RefCell::new(Vec::new()),
            _drops: DropCount(self.drops.clone()),
            finalizes: self.finalizes.clone(),
        })
    }
}

fn link(a: &Gc<Node>, b: &Gc<Node>) {
    a.edges.borrow_mut().push(b.clone());
}

#[test]
fn self_cycle_is_collected() {
    gc::collect();
    let c = Counters::new();
    let a = c.node("a");
    link(&a, &a);
    let w = Gc::downgrade(&a);
    drop(a);
    assert!(w.upgrade().is_some(), "a cycle survives counting");
    assert_eq!(gc::collect(), 1);
    assert!(w.upgrade().is_none());
    assert_eq!(c.finalizes.get(), 1);
    take_log();
}

#[test]
fn two_object_cycle_is_collected() {
    gc::collect();
    let c = Counters::new();
    let a = c.node("a");
    let b = c.node("b");
    link(&a, &b);
    link(&b, &a);
    drop((a, b));
    assert_eq!(gc::collect(), 2);
    assert_eq!(c.finalizes.get(), 2);
    assert_eq!(gc::collect(), 0);
    take_log();
}

#[test]
fn cycle_reachable_from_live_object_survives() {
    gc::collect();
    let c = Counters::new();
    let root = c.node("root");
    let a = c.node("a");
    let b = c.node("b");
    link(&a, &b);
    link(&b, &a);
    link(&root, &a);
    drop((a, b));
    assert_eq!(gc::collect(), 0);
    assert_eq!(c.finalizes.get(), 0);
    root.edges.borrow_mut().clear();
    assert_eq!(gc::collect(), 2);
    assert_eq!(c.finalizes.get(), 2);
    drop(root);
    assert_eq!(c.finalizes.get(), 3);
    take_log();
}

/// Objects built top-down (an older object made to point to newer ones) are
/// met by the collector's newest-first walk before their referrer, so they
/// are first taken for garbage and then taken back. Taken back, they must
/// keep their weak references, not be finalized, and stay collectable.
#[test]
fn objects_met_before_their_referrer_survive_intact() {
    const N: usize = 40;
    for full in [false, true] {
        gc::collect();
        let c = Counters::new();
        let root = c.node("root");
        // root -> n[0] -> n[1] -> ... -> n[N-1] -> n[0] (a cycle hanging off
        // the root), each made after the one pointing to it.
        let mut last = root.clone();
        let mut weaks = Vec::new();
        let mut first = None;
        for _ in 0..N {
            let n = c.node("n");
            link(&last, &n);
            weaks.push(Gc::downgrade(&n));
            first.get_or_insert_with(|| n.clone());
            last = n;
        }
        link(&last, &first.take().unwrap());
        drop(last);
        let found = if full {
            gc::collect()
        } else {
            gc::collect_generation(0)
        };
        assert_eq!(found, 0, "full collection: {full}");
        assert!(weaks.iter().all(|w| w.upgrade().is_some()));
        assert_eq!(c.finalizes.get(), 0);
        assert_eq!(c.drops.get(), 0);
        let objects = gc::objects(None);
        for w in &weaks {
            let n = w.upgrade().unwrap();
            assert!(gc::is_tracked(&n));
            let n = Gc::into_any(n);
            assert!(
                objects.iter().any(|o| gc_core::GcAny::ptr_eq(o, &n)),
                "a rescued object is back in a generation"
            );
        }
        drop(objects);
        // Once the root lets go, the whole cycle is garbage for good, for a
        // young collection and a full one alike.
        root.edges.borrow_mut().clear();
        assert_eq!(gc::collect_generation(if full { 2 } else { 1 }), N);
        assert!(weaks.iter().all(|w| w.upgrade().is_none()));
        assert_eq!(c.finalizes.get(), N);
        assert_eq!(c.drops.get(), N);
        drop(root);
        take_log();
    }
}

/// An object referenced by garbage and by a live object met later in the
/// walk is taken back; only the garbage goes.
#[test]
fn garbage_pointing_to_rescued_objects_is_collected_alone() {
    gc::collect();
    let c = Counters::new();
    let keep = c.node("keep");
    let shared = c.node("shared");
    link(&keep, &shared);
    // Garbage cycle made after `shared`, pointing to it.
    let a = c.node("a");
    let b = c.node("b");
    link(&a, &b);
    link(&b, &a);
    link(&a, &shared);
    let ws = Gc::downgrade(&shared);
    drop((a, b, shared));
    assert_eq!(gc::collect(), 2);
    assert_eq!(c.finalizes.get(), 2);
    let shared = ws.upgrade().expect("still referenced by `keep`");
    assert_eq!(Gc::strong_count(&shared), 2);
    drop(shared);
    drop(keep);
    assert_eq!(c.drops.get(), 4);
    take_log();
}

#[test]
fn big_ring_and_chain_collect_without_recursion() {
    gc::collect();
    let n = if cfg!(miri) { 200 } else { 200_000 };
    let c = Counters::new();
    let first = c.node("ring");
    let mut prev = first.clone();
    for _ in 1..n {
        let next = c.node("ring");
        link(&prev, &next);
        prev = next;
    }
    link(&prev, &first);
    drop((first, prev));
    assert_eq!(gc::collect(), n);
    assert_eq!(c.finalizes.get(), n);
    take_log();
}

#[test]
fn cycles_through_std_containers() {
    gc::collect();
    #[derive(Trace, Finalize)]
    enum Shape {
        Leaf(u32),
        Map(RefCell<HashMap<String, Gc<Shape>>>),
        Opt { inner: RefCell<Option<Gc<Shape>>> },
        Tuple(RefCell<(u8, Vec<Gc<Shape>>)>),
    }
    let leaf = Gc::new(Shape::Leaf(1));
    let map = Gc::new(Shape::Map(RefCell::new(HashMap::new())));
    let opt = Gc::new(Shape::Opt {
        inner: RefCell::new(None),
    });
    let tup = Gc::new(Shape::Tuple(RefCell::new((0, vec![]))));
    if let Shape::Map(m) = &*map {
        m.borrow_mut().insert("o".into(), opt.clone());
        m.borrow_mut().insert("l".into(), leaf.clone());
    }
    if let Shape::Opt { inner } = &*opt {
        *inner.borrow_mut() = Some(tup.clone());
    }
    if let Shape::Tuple(t) = &*tup {
        t.borrow_mut().1.push(map.clone());
    }
    let wl = Gc::downgrade(&leaf);
    drop((leaf, map, opt, tup));
    assert_eq!(gc::collect(), 4);
    assert!(wl.upgrade().is_none());
}

#[test]
fn weak_references_are_cleared_before_finalizers_run() {
    gc::collect();
    #[derive(Trace)]
    struct Watcher {
        other: RefCell<Weak<Watcher>>,
        me: RefCell<Option<Gc<Watcher>>>,
        #[gc(skip)]
        saw: Rc<Cell<Option<bool>>>,
    }
    impl Finalize for Watcher {
        fn finalize(&self) {
            self.saw.set(Some(self.other.borrow().upgrade().is_some()));
        }
    }
    let saw = Rc::new(Cell::new(None));
    let a = Gc::new(Watcher {
        other: RefCell::new(Weak::new()),
        me: RefCell::new(None),
        saw: saw.clone(),
    });
    *a.me.borrow_mut() = Some(a.clone());
    *a.other.borrow_mut() = Gc::downgrade(&a);
    drop(a);
    assert_eq!(gc::collect(), 1);
    assert_eq!(saw.get(), Some(false));
}

thread_local! {
    static RESCUED: RefCell<Vec<Gc<Node>>> = const { RefCell::new(Vec::new()) };
}

#[derive(Trace)]
struct Rescuer {
    target: RefCell<Option<Gc<Node>>>,
    back: RefCell<Option<Gc<Rescuer>>>,
}

impl Finalize for Rescuer {
    fn finalize(&self) {
        if let Some(t) = self.target.borrow().clone() {
            RESCUED.with(|r| r.borrow_mut().push(t));
        }
    }
}

#[test]
fn resurrected_objects_survive_and_are_not_finalized_again() {
    gc::collect();
    let c = Counters::new();
    // rescuer <-> itself, rescuer -> a <-> b
    let r = Gc::new(Rescuer {
        target: RefCell::new(None),
        back: RefCell::new(None),
    });
    *r.back.borrow_mut() = Some(r.clone());
    let a = c.node("a");
    let b = c.node("b");
    link(&a, &b);
    link(&b, &a);
    *r.target.borrow_mut() = Some(a.clone());
    drop((r, a, b));
    // All three are found unreachable (CPython counts resurrected ones too).
    assert_eq!(gc::collect(), 3);
    assert_eq!(c.finalizes.get(), 2);
    let a = RESCUED.with(|r| r.borrow_mut().pop()).unwrap();
    assert!(gc::is_finalized(&a));
    assert_eq!(a.name, "a");
    assert_eq!(a.edges.borrow()[0].name, "b");
    // Garbage again: collected without a second finalization.
    drop(a);
    assert_eq!(gc::collect(), 2);
    assert_eq!(c.finalizes.get(), 2);
    take_log();
}

#[test]
fn finalizer_sees_intact_cycle_members() {
    gc::collect();
    #[derive(Trace)]
    struct Peer {
        value: u32,
        peer: RefCell<Option<Gc<Peer>>>,
        #[gc(skip)]
        seen: Rc<Cell<u32>>,
    }
    impl Finalize for Peer {
        fn finalize(&self) {
            let p = self.peer.borrow();
            let v = p.as_ref().map_or(0, |p| p.value);
            self.seen.set(self.seen.get() + v);
        }
    }
    let seen = Rc::new(Cell::new(0));
    let a = Gc::new(Peer {
        value: 1,
        peer: RefCell::new(None),
        seen: seen.clone(),
    });
    let b = Gc::new(Peer {
        value: 10,
        peer: RefCell::new(Some(a.clone())),
        seen: seen.clone(),
    });
    *a.peer.borrow_mut() = Some(b.clone());
    drop((a, b));
    assert_eq!(gc::collect(), 2);
    assert_eq!(seen.get(), 11);
}

#[test]
fn field_drop_reaching_into_dead_cycle_panics_cleanly() {
    gc::collect();
    // A field type with a hand-written Drop that dereferences a Gc.
    struct Peeker(RefCell<Option<Gc<Cyc>>>, Rc<Cell<usize>>);
    impl Drop for Peeker {
        fn drop(&mut self) {
            if let Some(g) = self.0.borrow().as_ref() {
                // The peer may be dead already: this must panic, not read freed memory.
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| g.tag));
                if r.is_err() {
                    self.1.set(self.1.get() + 1);
                }
            }
        }
    }
    impl Finalize for Peeker {}
    // SAFETY: traces its one Gc.
    unsafe impl Trace for Peeker {
        fn trace(&self, t: &mut gc_core::Tracer) {
            self.0.trace(t)
        }
    }
    #[derive(Trace, Finalize)]
    struct Cyc {
        tag: u32,
        peek: Peeker,
    }
    let panics = Rc::new(Cell::new(0));
    let a = Gc::new(Cyc {
        tag: 1,
        peek: Peeker(RefCell::new(None), panics.clone()),
    });
    let b = Gc::new(Cyc {
        tag: 2,
        peek: Peeker(RefCell::new(Some(a.clone())), panics.clone()),
    });
    *a.peek.0.borrow_mut() = Some(b.clone());
    drop((a, b));
    assert_eq!(gc::collect(), 2);
    assert_eq!(panics.get(), 2, "both peeks hit a dead object");
}

#[test]
fn escaped_handle_during_teardown_is_an_orphan_not_a_dangling_pointer() {
    gc::collect();
    thread_local!(static KEEP: RefCell<Option<Gc<Esc>>> = const { RefCell::new(None) });
    struct Stash(RefCell<Option<Gc<Esc>>>);
    impl Drop for Stash {
        fn drop(&mut self) {
            if let Some(g) = self.0.borrow_mut().take() {
                KEEP.with(|k| *k.borrow_mut() = Some(g));
            }
        }
    }
    impl Finalize for Stash {}
    // SAFETY: traces its one Gc.
    unsafe impl Trace for Stash {
        fn trace(&self, t: &mut gc_core::Tracer) {
            self.0.trace(t)
        }
    }
    #[derive(Trace, Finalize)]
    struct Esc {
        stash: Stash,
    }
    let a = Gc::new(Esc {
        stash: Stash(RefCell::new(None)),
    });
    *a.stash.0.borrow_mut() = Some(a.clone());
    drop(a);
    let before = gc::stats()[2].uncollectable;
    assert_eq!(gc::collect(), 1);
    assert_eq!(gc::stats()[2].uncollectable, before + 1);
    let kept = KEEP.with(|k| k.borrow_mut().take()).unwrap();
    assert!(!gc::is_tracked(&kept));
    assert_eq!(Gc::strong_count(&kept), 1);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = &kept.stash;
    }));
    assert!(r.is_err(), "the value is gone");
    assert!(Gc::downgrade(&kept).upgrade().is_none());
    drop(kept); // frees the orphan's memory
}

#[test]
fn mutably_borrowed_refcell_keeps_contents_alive() {
    gc::collect();
    let c = Counters::new();
    let a = c.node("a");
    let b = c.node("b");
    link(&a, &b);
    link(&b, &a);
    let wa = Gc::downgrade(&a);
    let guard_owner = a.clone();
    drop((a, b));
    {
        let _borrow = guard_owner.edges.borrow_mut();
        drop(guard_owner.clone());
        // `a`'s edges cannot be read: b looks externally referenced.
        assert_eq!(gc::collect(), 0);
    }
    drop(guard_owner);
    assert_eq!(gc::collect(), 2);
    assert!(wa.upgrade().is_none());
    take_log();
}

#[test]
fn finalizer_panics_are_contained() {
    gc::collect();
    #[derive(Trace)]
    struct Bomb {
        me: RefCell<Option<Gc<Bomb>>>,
        #[gc(skip)]
        ran: Rc<Cell<usize>>,
    }
    impl Finalize for Bomb {
        fn finalize(&self) {
            self.ran.set(self.ran.get() + 1);
            panic!("boom");
        }
    }
    let ran = Rc::new(Cell::new(0));
    for _ in 0..3 {
        let b = Gc::new(Bomb {
            me: RefCell::new(None),
            ran: ran.clone(),
        });
        *b.me.borrow_mut() = Some(b.clone());
    }
    assert_eq!(gc::collect(), 3);
    assert_eq!(ran.get(), 3);
    // Count-zero path too.
    drop(Gc::new(Bomb {
        me: RefCell::new(None),
        ran: ran.clone(),
    }));
    assert_eq!(ran.get(), 4);
}

#[test]
fn every_collected_value_drops_once() {
    gc::collect();
    let c = Counters::new();
    let nodes: Vec<_> = (0..10).map(|_| c.node("n")).collect();
    for (i, n) in nodes.iter().enumerate() {
        link(n, &nodes[(i + 1) % 10]);
        link(n, &nodes[(i + 3) % 10]);
    }
    drop(nodes);
    assert_eq!(c.drops.get(), 0);
    assert_eq!(gc::collect(), 10);
    assert_eq!(c.drops.get(), 10);
    assert_eq!(c.finalizes.get(), 10);
    take_log();
}
