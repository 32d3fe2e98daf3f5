//! The generational collector as CPython's `Lib/test/test_gc.py` checks it:
//! exact `collect()` results for cycles, `count()`/threshold bookkeeping,
//! the long-lived rule, `freeze`, callbacks, `stats()` and how objects move
//! through the generations.
//!
//! Every test runs on its own thread and therefore on a fresh heap; tests
//! that depend on exact counts still start with `gc::collect()` and set the
//! thresholds they rely on.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use gc_core::gc::{self, CallbackId, CallbackInfo, Phase};
use gc_core::{Finalize, Gc, GcAny, Trace, Weak};

/// Scale a loop count down under Miri.
fn scaled(native: usize, miri: usize) -> usize {
    if cfg!(miri) {
        miri
    } else {
        native
    }
}

/// A clean slate for a test that counts exactly: thresholds too high for an
/// automatic collection to interfere (tests of the triggers set their own),
/// and no garbage left.
fn start() {
    gc::set_threshold(1_000_000, 10, 10);
    gc::collect();
}

fn bump(c: &Cell<usize>) {
    c.set(c.get() + 1);
}

// ---------------------------------------------------------------------------
// Helper types
// ---------------------------------------------------------------------------

/// Counts drops of the value it sits in (a field type may implement `Drop`).
struct DropProbe(Rc<Cell<usize>>);

impl Drop for DropProbe {
    fn drop(&mut self) {
        bump(&self.0);
    }
}

/// Shared finalize/drop counters for the objects a test creates.
#[derive(Clone, Default)]
struct Counters {
    finalized: Rc<Cell<usize>>,
    dropped: Rc<Cell<usize>>,
}

impl Counters {
    fn node(&self) -> Gc<Node> {
        Gc::new(Node {
            edges: RefCell::new(Vec::new()),
            finalized: self.finalized.clone(),
            _drop: DropProbe(self.dropped.clone()),
        })
    }

    fn finalized(&self) -> usize {
        self.finalized.get()
    }

    fn dropped(&self) -> usize {
        self.dropped.get()
    }

    /// A ring of `len` nodes (`len == 1`: a self-cycle) that nothing else
    /// references; returns weak references to its members.
    fn garbage_ring(&self, len: usize) -> Vec<Weak<Node>> {
        let nodes: Vec<Gc<Node>> = (0..len).map(|_| self.node()).collect();
        for i in 0..len {
            link(&nodes[i], &nodes[(i + 1) % len]);
        }
        nodes.iter().map(Gc::downgrade).collect()
    }
}

/// The workhorse: a tracked node with outgoing edges and observable
/// finalization and drop.
#[derive(Trace)]
struct Node {
    edges: RefCell<Vec<Gc<Node>>>,
    #[gc(skip)]
    finalized: Rc<Cell<usize>>,
    #[gc(skip)]
    _drop: DropProbe,
}

impl Finalize for Node {
    fn finalize(&self) {
        bump(&self.finalized);
    }
}

fn link(from: &Gc<Node>, to: &Gc<Node>) {
    from.edges.borrow_mut().push(to.clone());
}

fn all_dead<T: Trace>(weaks: &[Weak<T>]) -> bool {
    weaks.iter().all(|w| w.upgrade().is_none())
}

fn all_alive<T: Trace>(weaks: &[Weak<T>]) -> bool {
    weaks.iter().all(|w| w.upgrade().is_some())
}

/// An edge to another `Obj`, held through one kind of std container.
#[derive(Trace, Finalize)]
enum Link {
    Empty,
    InVec(Vec<Gc<Obj>>),
    InMap(HashMap<u32, Gc<Obj>>),
    InOption(Option<Gc<Obj>>),
    InTuple((u8, Gc<Obj>, String)),
    InBox(Box<Gc<Obj>>),
    Named {
        label: &'static str,
        target: Gc<Obj>,
    },
    Nested(Vec<NestedSlot>),
}

/// Several std containers deep.
type NestedSlot = Option<Box<(u16, Gc<Obj>)>>;

const LINK_KINDS: usize = 7;

/// Build link kind `kind` (0..LINK_KINDS) pointing at `to`.
fn make_link(kind: usize, to: Gc<Obj>) -> Link {
    match kind {
        0 => Link::InVec(vec![to]),
        1 => Link::InMap(HashMap::from([(7, to)])),
        2 => Link::InOption(Some(to)),
        3 => Link::InTuple((1, to, String::from("tuple"))),
        4 => Link::InBox(Box::new(to)),
        5 => Link::Named {
            label: "named",
            target: to,
        },
        6 => Link::Nested(vec![None, Some(Box::new((3, to))), None]),
        _ => unreachable!(),
    }
}

#[derive(Trace)]
struct Obj {
    link: RefCell<Link>,
    #[gc(skip)]
    finalized: Rc<Cell<usize>>,
    #[gc(skip)]
    _drop: DropProbe,
}

impl Finalize for Obj {
    fn finalize(&self) {
        bump(&self.finalized);
    }
}

impl Counters {
    fn obj(&self) -> Gc<Obj> {
        Gc::new(Obj {
            link: RefCell::new(Link::Empty),
            finalized: self.finalized.clone(),
            _drop: DropProbe(self.dropped.clone()),
        })
    }
}

/// Records every callback invocation of the current thread's heap.
struct Recorder {
    log: Rc<RefCell<Vec<(Phase, CallbackInfo)>>>,
    id: CallbackId,
}

impl Recorder {
    fn new() -> Recorder {
        let log: Rc<RefCell<Vec<(Phase, CallbackInfo)>>> = Rc::default();
        let l = log.clone();
        let id = gc::add_callback(move |phase, info| l.borrow_mut().push((phase, *info)));
        Recorder { log, id }
    }

    /// Generations of the collections started so far.
    fn starts(&self) -> Vec<usize> {
        self.log
            .borrow()
            .iter()
            .filter(|(p, _)| *p == Phase::Start)
            .map(|(_, i)| i.generation)
            .collect()
    }

    /// The `Stop` infos so far.
    fn stops(&self) -> Vec<CallbackInfo> {
        self.log
            .borrow()
            .iter()
            .filter(|(p, _)| *p == Phase::Stop)
            .map(|(_, i)| *i)
            .collect()
    }

    fn len(&self) -> usize {
        self.log.borrow().len()
    }

    fn clear(&self) {
        self.log.borrow_mut().clear();
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        gc::remove_callback(self.id);
    }
}

/// The generation (0–2) whose `objects` list contains `any`, or `None`.
/// Checks that it is listed at most once overall.
fn generation_of(any: &GcAny) -> Option<usize> {
    let mut found = None;
    for g in 0..3 {
        let objs = gc::objects(Some(g));
        let hits = objs.iter().filter(|o| GcAny::ptr_eq(o, any)).count();
        assert!(hits <= 1, "listed {hits} times in generation {g}");
        if hits == 1 {
            assert_eq!(found, None, "listed in two generations");
            found = Some(g);
        }
    }
    // `objects(None)` agrees (compared by address this time).
    let in_all = gc::objects(None)
        .iter()
        .filter(|o| o.addr() == any.addr())
        .count();
    assert_eq!(in_all, usize::from(found.is_some()));
    found
}

fn gen_of<T: Trace>(g: &Gc<T>) -> Option<usize> {
    generation_of(&Gc::into_any(g.clone()))
}

// ---------------------------------------------------------------------------
// 1. collect() returns the exact number of unreachable objects
// ---------------------------------------------------------------------------

#[test]
fn self_cycle_is_one_object() {
    start();
    let c = Counters::default();
    let w = c.garbage_ring(1);
    assert!(all_alive(&w), "counting alone cannot free a self-cycle");
    assert_eq!(gc::collect(), 1);
    assert!(all_dead(&w));
    assert_eq!((c.finalized(), c.dropped()), (1, 1));
    assert_eq!(gc::collect(), 0, "nothing left the second time");
}

#[test]
fn two_object_cycle_is_two_objects() {
    start();
    let c = Counters::default();
    let w = c.garbage_ring(2);
    assert_eq!(gc::collect(), 2);
    assert!(all_dead(&w));
    assert_eq!((c.finalized(), c.dropped()), (2, 2));
    assert_eq!(gc::collect(), 0);
}

#[test]
fn several_independent_cycles_are_counted_exactly() {
    start();
    let c = Counters::default();
    let mut weaks = Vec::new();
    let mut expected = 0;
    for len in 1..=scaled(20, 6) {
        weaks.extend(c.garbage_ring(len));
        expected += len;
    }
    assert_eq!(gc::collect(), expected);
    assert!(all_dead(&weaks));
    assert_eq!(c.dropped(), expected);
}

#[test]
fn cycles_through_each_container_kind() {
    start();
    for kind in 0..LINK_KINDS {
        for len in [1, 3] {
            let c = Counters::default();
            let objs: Vec<Gc<Obj>> = (0..len).map(|_| c.obj()).collect();
            for i in 0..len {
                *objs[i].link.borrow_mut() = make_link(kind, objs[(i + 1) % len].clone());
            }
            let weaks: Vec<Weak<Obj>> = objs.iter().map(Gc::downgrade).collect();
            drop(objs);
            assert!(all_alive(&weaks), "kind {kind}: counting cannot free it");
            assert_eq!(gc::collect(), len, "kind {kind}, ring of {len}");
            assert!(all_dead(&weaks), "kind {kind}");
            assert_eq!(c.finalized(), len, "kind {kind}");
            assert_eq!(c.dropped(), len, "kind {kind}");
        }
    }
}

#[test]
fn ring_mixing_every_container_kind() {
    start();
    let c = Counters::default();
    let objs: Vec<Gc<Obj>> = (0..LINK_KINDS).map(|_| c.obj()).collect();
    for (kind, o) in objs.iter().enumerate() {
        *o.link.borrow_mut() = make_link(kind, objs[(kind + 1) % LINK_KINDS].clone());
    }
    let weaks: Vec<Weak<Obj>> = objs.iter().map(Gc::downgrade).collect();
    drop(objs);
    assert_eq!(gc::collect(), LINK_KINDS);
    assert!(all_dead(&weaks));
    assert_eq!(c.dropped(), LINK_KINDS);
}

#[test]
fn garbage_cycle_counts_its_tracked_tail_but_not_untracked_leaves() {
    start();
    #[derive(Trace, Finalize)]
    struct Holder {
        next: RefCell<Option<Gc<Holder>>>,
        tail: Option<Gc<Holder>>,
        leaf: Gc<String>,
    }
    let leaf = Gc::new(String::from("leaf"));
    assert!(!gc::is_tracked(&leaf));
    let tail = Gc::new(Holder {
        next: RefCell::new(None),
        tail: None,
        leaf: leaf.clone(),
    });
    let a = Gc::new(Holder {
        next: RefCell::new(None),
        tail: Some(tail.clone()),
        leaf: leaf.clone(),
    });
    let b = Gc::new(Holder {
        next: RefCell::new(Some(a.clone())),
        tail: None,
        leaf: leaf.clone(),
    });
    *a.next.borrow_mut() = Some(b.clone());
    let (wl, wt, wa) = (
        Gc::downgrade(&leaf),
        Gc::downgrade(&tail),
        Gc::downgrade(&a),
    );
    drop((leaf, tail, a, b));
    // a <-> b plus the tail only they reference: 3 tracked objects. The
    // untracked leaf is freed with them but is not part of the count.
    assert_eq!(gc::collect(), 3);
    assert!(wa.upgrade().is_none());
    assert!(wt.upgrade().is_none());
    assert!(wl.upgrade().is_none());
}

// ---------------------------------------------------------------------------
// 2. Reachability from live and frozen objects
// ---------------------------------------------------------------------------

#[test]
fn cycle_reachable_from_live_object_survives() {
    start();
    let c = Counters::default();
    let root = c.node();
    let a = c.node();
    let b = c.node();
    link(&a, &b);
    link(&b, &a);
    link(&root, &a);
    let w = vec![Gc::downgrade(&a), Gc::downgrade(&b)];
    drop((a, b));
    for g in [0, 1, 2, 2] {
        assert_eq!(gc::collect_generation(g), 0, "generation {g}");
    }
    assert!(all_alive(&w));
    assert_eq!(c.finalized(), 0);
    root.edges.borrow_mut().clear();
    assert_eq!(gc::collect(), 2);
    assert!(all_dead(&w));
    assert_eq!(c.finalized(), 2);
}

/// A young collection applies an edge to a member the walk has not met yet
/// (here: every edge of a ring goes from an older node to a newer one) only
/// once the walk is over, and never to an object outside the young
/// generations. Old objects the garbage points to keep their counts: they
/// are freed exactly when their last outside handle goes.
#[test]
fn young_collection_counts_edges_to_newer_members_and_spares_old_targets() {
    start();
    let c = Counters::default();
    let old = c.node();
    let old_weak = Gc::downgrade(&old);
    gc::collect();
    assert_eq!(gen_of(&old), Some(2));
    let len = scaled(50, 8);
    let weaks = c.garbage_ring(len);
    // Each young member also points at the old node, and a young survivor
    // points at the ring's newest member from outside the ring.
    for w in &weaks {
        link(&w.upgrade().unwrap(), &old);
    }
    let survivor = c.node();
    let newest = weaks[len - 1].upgrade().unwrap();
    link(&newest, &survivor);
    drop(newest);
    assert_eq!(gc::collect_generation(0), len);
    assert!(all_dead(&weaks));
    assert_eq!(c.dropped(), len);
    assert_eq!(gen_of(&survivor), Some(1));
    assert_eq!(Gc::strong_count(&survivor), 1);
    assert_eq!(Gc::strong_count(&old), 1, "the ring's edges to it are gone");
    drop(old);
    assert!(old_weak.upgrade().is_none(), "freed by its last handle");
    assert_eq!(gc::collect(), 0);
}

#[test]
fn cycle_reachable_only_from_frozen_object_survives_until_unfrozen() {
    start();
    let c = Counters::default();
    let root = c.node();
    gc::freeze();
    assert_eq!(gc::freeze_count(), 1);
    assert_eq!(gen_of(&root), None, "frozen objects are in no generation");

    // A cycle made after the freeze, hanging off the frozen root only.
    let a = c.node();
    let b = c.node();
    link(&a, &b);
    link(&b, &a);
    link(&root, &a);
    let w = vec![Gc::downgrade(&a), Gc::downgrade(&b)];
    drop((a, b));
    assert_eq!(gc::collect(), 0);
    assert!(all_alive(&w), "the frozen root is an external reference");
    assert_eq!(gc::freeze_count(), 1, "collect does not freeze survivors");

    gc::unfreeze();
    assert_eq!(gc::freeze_count(), 0);
    assert_eq!(gen_of(&root), Some(2), "unfreeze moves objects to gen 2");
    assert_eq!(gc::collect(), 0, "still reachable from the live root");
    assert!(all_alive(&w));

    drop(root); // freed by counting at once
    assert_eq!((c.finalized(), c.dropped()), (1, 1));
    assert!(all_alive(&w));
    assert_eq!(gc::collect(), 2);
    assert!(all_dead(&w));
    assert_eq!((c.finalized(), c.dropped()), (3, 3));
}

#[test]
fn frozen_garbage_is_not_scanned_until_unfrozen() {
    start();
    let c = Counters::default();
    let w = c.garbage_ring(2);
    let w1 = c.garbage_ring(1);
    gc::freeze();
    assert_eq!(gc::freeze_count(), 3);
    assert!(gc::objects(None).is_empty());
    for g in [0, 1, 2] {
        assert_eq!(gc::collect_generation(g), 0, "generation {g}");
    }
    assert!(all_alive(&w) && all_alive(&w1));
    assert_eq!(gc::freeze_count(), 3);
    gc::unfreeze();
    assert_eq!(gc::freeze_count(), 0);
    assert_eq!(gc::objects(Some(2)).len(), 3);
    assert_eq!(gc::collect(), 3);
    assert!(all_dead(&w) && all_dead(&w1));
    assert_eq!(c.dropped(), 3);
}

#[test]
fn freeze_count_follows_frozen_objects() {
    start();
    let c = Counters::default();
    assert_eq!(gc::freeze_count(), 0);
    let keep: Vec<Gc<Node>> = (0..5).map(|_| c.node()).collect();
    let untracked = Gc::new(42_u64);
    assert_eq!(gc::count().0, 5);
    gc::freeze();
    assert_eq!(gc::freeze_count(), 5, "only tracked objects are frozen");
    assert_eq!(gc::count().0, 0, "freeze resets the gen-0 count");
    assert!(gc::objects(None).is_empty());

    // Freezing again adds only what is new.
    let more: Vec<Gc<Node>> = (0..3).map(|_| c.node()).collect();
    assert_eq!(gc::objects(Some(0)).len(), 3);
    gc::freeze();
    assert_eq!(gc::freeze_count(), 8);

    // A frozen object freed by counting leaves the permanent generation.
    let mut keep = keep;
    drop(keep.pop());
    assert_eq!(c.dropped(), 1);
    assert_eq!(gc::freeze_count(), 7);

    gc::unfreeze();
    assert_eq!(gc::freeze_count(), 0);
    assert_eq!(gc::objects(Some(2)).len(), 7);
    assert_eq!(gc::objects(Some(0)).len(), 0);
    gc::unfreeze(); // nothing to do
    assert_eq!(gc::objects(Some(2)).len(), 7);
    drop((keep, more, untracked));
    assert_eq!(c.dropped(), 8);
    assert_eq!(gc::freeze_count(), 0);
    assert!(gc::objects(None).is_empty());
}

// ---------------------------------------------------------------------------
// 3. count()
// ---------------------------------------------------------------------------

#[test]
fn count_is_tracked_allocations_minus_frees() {
    start();
    assert_eq!(gc::count(), (0, 0, 0));
    let c = Counters::default();
    let mut keep: Vec<Gc<Node>> = Vec::new();
    for i in 1..=5 {
        keep.push(c.node());
        assert_eq!(gc::count().0, i);
    }

    // Untracked allocations do not count.
    let five = Gc::new(5_u32);
    let s = Gc::new(String::from("no Gc inside"));
    let t = Gc::new((1_u8, 2.5_f64, String::new()));
    assert!(!gc::is_tracked(&five) && !gc::is_tracked(&s) && !gc::is_tracked(&t));
    assert_eq!(gc::count(), (5, 0, 0));

    // One tracked box (the outer one) holding an untracked one.
    let opt = Gc::new(Some(Gc::new(1_u32)));
    assert!(gc::is_tracked(&opt));
    assert!(!gc::is_tracked((*opt).as_ref().unwrap()));
    assert_eq!(gc::count().0, 6);

    // Frees of tracked objects decrement; frees of untracked ones do not.
    drop(keep.pop());
    drop(keep.pop());
    assert_eq!(gc::count().0, 4);
    drop((five, s, t));
    assert_eq!(gc::count().0, 4);

    // A garbage cycle is not freed by counting, so it still counts.
    let w = c.garbage_ring(2);
    assert_eq!(gc::count().0, 6);
    assert!(all_alive(&w));

    // Collecting frees it but resets the count first: no underflow.
    assert_eq!(gc::collect_generation(0), 2);
    assert_eq!(gc::count(), (0, 1, 0));
    drop(keep);
    drop(opt);
    assert_eq!(c.dropped(), 7);
    assert_eq!(gc::count().0, 0, "frees never take the count below 0");
    let again = c.node();
    assert_eq!(gc::count().0, 1);
    drop(again);
    assert_eq!(gc::count().0, 0);
}

#[test]
fn collect_generation_updates_counts_like_get_count() {
    start();
    let c = Counters::default();
    assert_eq!(gc::count(), (0, 0, 0));
    let _a = c.node();
    assert_eq!(gc::count(), (1, 0, 0));
    assert_eq!(gc::collect_generation(0), 0);
    assert_eq!(gc::count(), (0, 1, 0));
    assert_eq!(gc::collect_generation(0), 0);
    assert_eq!(gc::count(), (0, 2, 0));
    let _b = (c.node(), c.node(), c.node());
    assert_eq!(gc::count(), (3, 2, 0));
    assert_eq!(gc::collect_generation(1), 0);
    assert_eq!(gc::count(), (0, 0, 1));
    assert_eq!(gc::collect_generation(0), 0);
    assert_eq!(gc::count(), (0, 1, 1));
    assert_eq!(gc::collect_generation(1), 0);
    assert_eq!(gc::count(), (0, 0, 2));
    let _d = c.node();
    assert_eq!(gc::count(), (1, 0, 2));
    assert_eq!(gc::collect_generation(2), 0);
    assert_eq!(gc::count(), (0, 0, 0));
    assert_eq!(gc::collect(), 0);
    assert_eq!(gc::count(), (0, 0, 0));
}

// ---------------------------------------------------------------------------
// 4. Thresholds
// ---------------------------------------------------------------------------

#[test]
fn threshold_roundtrip_and_default() {
    if !cfg!(miri) {
        assert_eq!(gc::threshold(), (700, 10, 10));
    }
    gc::set_threshold(123, 4, 5);
    assert_eq!(gc::threshold(), (123, 4, 5));
    gc::set_threshold(0, 0, 0);
    assert_eq!(gc::threshold(), (0, 0, 0));
    gc::set_threshold(700, 10, 10);
    assert_eq!(gc::threshold(), (700, 10, 10));
}

#[test]
fn gen0_collection_starts_when_count_exceeds_t0() {
    start();
    gc::set_threshold(5, 100, 100);
    let rec = Recorder::new();
    let c = Counters::default();
    let mut keep = Vec::new();
    for i in 1..=5 {
        keep.push(c.node());
        assert_eq!(gc::count().0, i);
        assert!(rec.starts().is_empty(), "count {i} does not exceed t0 = 5");
    }
    keep.push(c.node()); // count 6 > 5
    assert_eq!(rec.starts(), vec![0]);
    assert_eq!(gc::count(), (0, 1, 0));
    assert_eq!(rec.stops()[0].collected, 0, "every object is alive");

    // The next one again needs count 6.
    for _ in 0..5 {
        keep.push(c.node());
    }
    assert_eq!(rec.starts(), vec![0]);
    keep.push(c.node());
    assert_eq!(rec.starts(), vec![0, 0]);
    assert_eq!(gc::count(), (0, 2, 0));
    assert_eq!(c.finalized(), 0);
}

#[test]
fn gen0_trigger_counts_frees_and_ignores_untracked() {
    start();
    gc::set_threshold(5, 100, 100);
    let rec = Recorder::new();
    let c = Counters::default();
    let mut keep = Vec::new();
    for _ in 0..4 {
        keep.push(c.node());
    }
    keep.truncate(1); // 4 allocations - 3 frees
    assert_eq!(gc::count().0, 1);
    let untracked: Vec<Gc<u64>> = (0..100).map(Gc::new).collect();
    assert_eq!(gc::count().0, 1);
    for _ in 0..4 {
        keep.push(c.node());
    }
    assert_eq!(gc::count().0, 5);
    assert!(rec.starts().is_empty());
    keep.push(c.node());
    assert_eq!(rec.starts(), vec![0]);
    drop(untracked);
}

#[test]
fn gen1_collection_after_more_than_t1_gen0_collections() {
    start();
    gc::set_threshold(3, 2, 100);
    let rec = Recorder::new();
    let c = Counters::default();
    let mut keep = Vec::new();
    let mut seen = Vec::new();
    for i in 1..=32 {
        let before = rec.starts().len();
        keep.push(c.node());
        let starts = rec.starts();
        if starts.len() > before {
            assert_eq!(starts.len(), before + 1, "one collection per trigger");
            seen.push((i, starts[before], gc::count()));
        }
    }
    // Triggers every 4 allocations (count 4 > 3); gen 1 once count().1 > 2,
    // i.e. after three gen-0 collections.
    assert_eq!(
        seen,
        vec![
            (4, 0, (0, 1, 0)),
            (8, 0, (0, 2, 0)),
            (12, 0, (0, 3, 0)),
            (16, 1, (0, 0, 1)),
            (20, 0, (0, 1, 1)),
            (24, 0, (0, 2, 1)),
            (28, 0, (0, 3, 1)),
            (32, 1, (0, 0, 2)),
        ]
    );
    // The Stop infos name the same generations.
    let stop_gens: Vec<usize> = rec.stops().iter().map(|i| i.generation).collect();
    assert_eq!(stop_gens, vec![0, 0, 0, 1, 0, 0, 0, 1]);
    assert_eq!(c.finalized(), 0);
}

/// Allocate 30 live nodes with thresholds (2, 1, 1) on top of `old` live
/// nodes that survived a full collection; return (allocation, generation) of
/// every automatic collection.
fn cadence_with_old_objects(old: usize) -> Vec<(usize, usize)> {
    gc::collect();
    gc::set_threshold(10_000, 10, 10);
    let c = Counters::default();
    let old_nodes: Vec<Gc<Node>> = (0..old).map(|_| c.node()).collect();
    gc::collect(); // long-lived total := old
    assert_eq!(gc::objects(Some(2)).len(), old);
    assert_eq!(gc::count(), (0, 0, 0));
    gc::set_threshold(2, 1, 1);
    let rec = Recorder::new();
    let mut keep = Vec::new();
    let mut seen = Vec::new();
    for i in 1..=30 {
        let before = rec.starts().len();
        keep.push(c.node());
        let starts = rec.starts();
        assert!(starts.len() <= before + 1);
        if starts.len() > before {
            seen.push((i, starts[before]));
        }
    }
    assert_eq!(c.finalized(), 0, "everything is alive");
    drop(old_nodes);
    seen
}

#[test]
fn automatic_cadence_without_long_lived_objects() {
    // Nothing survived the last full collection: the 25 % rule never blocks.
    assert_eq!(
        cadence_with_old_objects(0),
        vec![
            (3, 0),
            (6, 0),
            (9, 1),
            (12, 0),
            (15, 0),
            (18, 1),
            (21, 2),
            (24, 0),
            (27, 0),
            (30, 1)
        ]
    );
}

#[test]
fn automatic_cadence_with_long_lived_objects() {
    // 100 long-lived objects: gen 2 waits until more than 25 young objects
    // have been promoted to it by gen-1 collections (9 per gen-1 collection).
    assert_eq!(
        cadence_with_old_objects(100),
        vec![
            (3, 0),
            (6, 0),
            (9, 1),
            (12, 0),
            (15, 0),
            (18, 1),
            (21, 0), // gen 2 due, but 18 pending < 100 / 4: blocked
            (24, 0),
            (27, 1), // 27 pending now
            (30, 2)
        ]
    );
}

/// Prepare `old` objects that survived a full collection, then `young`
/// objects promoted to gen 2 by a gen-1 collection, make counts (0, 1, 1)
/// and trigger one automatic collection with thresholds (1, 0, 0). Returns
/// the generation of that collection.
fn long_lived_case(old: usize, young: usize) -> usize {
    gc::disable();
    gc::collect();
    let c = Counters::default();
    let old_nodes: Vec<Gc<Node>> = (0..old).map(|_| c.node()).collect();
    gc::collect();
    assert_eq!(gc::objects(Some(2)).len(), old);
    let young_nodes: Vec<Gc<Node>> = (0..young).map(|_| c.node()).collect();
    gc::collect_generation(1);
    assert_eq!(gc::objects(Some(2)).len(), old + young);
    gc::collect_generation(0);
    assert_eq!(gc::count(), (0, 1, 1));

    gc::set_threshold(1, 0, 0);
    gc::enable();
    let full_before = gc::stats()[2].collections;
    let rec = Recorder::new();
    let _x = c.node();
    assert!(rec.starts().is_empty());
    let _y = c.node(); // count 2 > 1
    let starts = rec.starts();
    assert_eq!(starts.len(), 1, "one collection per trigger");
    let g = starts[0];
    assert_eq!(
        gc::stats()[2].collections,
        full_before + usize::from(g == 2)
    );
    assert_eq!(gc::count(), if g == 2 { (0, 0, 0) } else { (0, 0, 2) });
    assert_eq!(c.finalized(), 0);
    drop((old_nodes, young_nodes));
    g
}

#[test]
fn long_lived_rule_blocks_gen2_below_a_quarter() {
    // 0 promoted vs 100 long-lived: gen 2 is due by count but blocked, and
    // the trigger collects the next generation that is due (gen 1).
    assert_eq!(long_lived_case(100, 0), 1);
}

#[test]
fn long_lived_rule_blocks_just_below_a_quarter() {
    // 2 promoted < 12 / 4.
    assert_eq!(long_lived_case(12, 2), 1);
}

#[test]
fn long_lived_rule_allows_gen2_at_a_quarter() {
    // 3 promoted, not < 12 / 4.
    assert_eq!(long_lived_case(12, 3), 2);
}

#[test]
fn long_lived_rule_allows_gen2_with_empty_old_heap() {
    assert_eq!(long_lived_case(0, 0), 2);
}

#[test]
fn zero_t0_disables_automatic_collection() {
    start();
    gc::set_threshold(0, 0, 0);
    assert!(gc::is_enabled());
    let rec = Recorder::new();
    let c = Counters::default();
    let n = scaled(2_000, 60);
    let mut weaks = Vec::new();
    for _ in 0..n {
        weaks.extend(c.garbage_ring(1));
    }
    assert!(rec.starts().is_empty());
    assert_eq!(gc::count().0, n);
    assert_eq!(c.finalized(), 0);
    // Manual collection still works.
    assert_eq!(gc::collect_generation(0), n);
    assert!(all_dead(&weaks));
    assert_eq!(rec.starts(), vec![0]);
}

#[test]
fn automatic_collections_free_garbage_cycles() {
    start();
    gc::set_threshold(10, 1_000_000, 1_000_000);
    let rec = Recorder::new();
    let c = Counters::default();
    let stats_before = gc::stats();
    let n = scaled(1_000, 60);
    for _ in 0..n {
        c.garbage_ring(1);
    }
    let triggers = rec.starts();
    assert!(triggers.iter().all(|&g| g == 0));
    // A trigger every 11 allocations (the count restarts at 0).
    assert_eq!(triggers.len(), n / 11);
    let freed = c.finalized();
    let reported: usize = rec.stops().iter().map(|i| i.collected).sum();
    assert_eq!(reported, freed);
    assert_eq!(gc::stats()[0].collected - stats_before[0].collected, freed);
    // Each trigger finds the (at least 10) garbage self-cycles since the last.
    assert!(freed >= 10 * triggers.len() - 10, "freed {freed}");
    // The rest is found by a full collection.
    let rest = n - freed;
    assert_eq!(gc::objects(None).len(), rest);
    assert_eq!(gc::collect(), rest);
    assert_eq!(c.finalized(), n);
    assert_eq!(c.dropped(), n);
}

// ---------------------------------------------------------------------------
// 5. disable()/enable()
// ---------------------------------------------------------------------------

#[test]
fn disable_stops_automatic_collections_but_not_collect() {
    start();
    gc::set_threshold(50, 10, 10);
    assert!(gc::is_enabled());
    gc::disable();
    assert!(!gc::is_enabled());
    let rec = Recorder::new();
    let c = Counters::default();
    let n = scaled(10_000, 100);
    let mut weaks = Vec::new();
    for i in 0..n {
        weaks.extend(c.garbage_ring(1 + i % 2));
    }
    let objects = weaks.len();
    assert!(
        rec.starts().is_empty(),
        "no automatic collection while disabled"
    );
    assert_eq!(gc::count().0, objects);
    assert_eq!(c.finalized(), 0);

    // collect() works while disabled.
    let more = c.garbage_ring(3);
    assert_eq!(gc::collect(), objects + 3);
    assert_eq!(rec.starts(), vec![2]);
    assert!(all_dead(&weaks) && all_dead(&more));
    assert!(!gc::is_enabled(), "collect does not enable");

    // Re-enabled, the next allocation past the threshold collects.
    rec.clear();
    let garbage = 60;
    for _ in 0..garbage {
        c.garbage_ring(1);
    }
    assert!(rec.starts().is_empty());
    gc::enable();
    assert!(gc::is_enabled());
    let _trigger = c.node(); // count 61 > 50
    assert_eq!(rec.starts(), vec![0]);
    assert_eq!(rec.stops()[0].collected, garbage);
    assert_eq!(c.finalized(), objects + 3 + garbage);
}

// ---------------------------------------------------------------------------
// 6. Callbacks
// ---------------------------------------------------------------------------

#[test]
fn callbacks_see_start_then_stop_with_exact_info() {
    start();
    let rec = Recorder::new();
    let c = Counters::default();
    c.garbage_ring(2);
    c.garbage_ring(1);
    let n = gc::collect();
    assert_eq!(n, 3);
    let info = |generation, collected| CallbackInfo {
        generation,
        collected,
        uncollectable: 0,
    };
    assert_eq!(
        *rec.log.borrow(),
        vec![(Phase::Start, info(2, 0)), (Phase::Stop, info(2, n))]
    );
    rec.clear();

    for g in [0, 1] {
        c.garbage_ring(4);
        let n = gc::collect_generation(g);
        assert_eq!(n, 4);
        assert_eq!(
            *rec.log.borrow(),
            vec![(Phase::Start, info(g, 0)), (Phase::Stop, info(g, n))]
        );
        rec.clear();
    }

    assert_eq!(gc::collect(), 0);
    assert_eq!(
        *rec.log.borrow(),
        vec![(Phase::Start, info(2, 0)), (Phase::Stop, info(2, 0))]
    );
}

#[test]
fn callbacks_run_in_insertion_order() {
    start();
    let log: Rc<RefCell<Vec<(usize, Phase)>>> = Rc::default();
    let ids: Vec<CallbackId> = (0..4)
        .map(|k| {
            let l = log.clone();
            gc::add_callback(move |p, _| l.borrow_mut().push((k, p)))
        })
        .collect();
    gc::collect();
    let expect = |ks: &[usize]| {
        let mut v: Vec<(usize, Phase)> = ks.iter().map(|&k| (k, Phase::Start)).collect();
        v.extend(ks.iter().map(|&k| (k, Phase::Stop)));
        v
    };
    assert_eq!(
        std::mem::take(&mut *log.borrow_mut()),
        expect(&[0, 1, 2, 3])
    );

    assert!(gc::remove_callback(ids[1]));
    let l = log.clone();
    let late = gc::add_callback(move |p, _| l.borrow_mut().push((4, p)));
    gc::collect_generation(0);
    assert_eq!(
        std::mem::take(&mut *log.borrow_mut()),
        expect(&[0, 2, 3, 4])
    );
    for id in [ids[0], ids[2], ids[3], late] {
        assert!(gc::remove_callback(id));
    }
    gc::collect();
    assert!(log.borrow().is_empty());
}

#[test]
fn remove_callback_returns_true_then_false() {
    start();
    let calls = Rc::new(Cell::new(0));
    let k = calls.clone();
    let id = gc::add_callback(move |_, _| bump(&k));
    let other = gc::add_callback(|_, _| {});
    assert_ne!(id, other);
    gc::collect();
    assert_eq!(calls.get(), 2);
    assert!(gc::remove_callback(id));
    assert!(!gc::remove_callback(id));
    gc::collect();
    assert_eq!(calls.get(), 2, "a removed callback no longer runs");
    assert!(!gc::remove_callback(id));
    assert!(gc::remove_callback(other));
    assert!(!gc::remove_callback(other));
    // The closure (and what it captured) was dropped on removal.
    assert_eq!(Rc::strong_count(&calls), 1);
}

#[test]
fn collect_inside_callback_returns_zero() {
    start();
    let c = Counters::default();
    let nested: Rc<RefCell<Vec<(Phase, usize, usize)>>> = Rc::default();
    let n = nested.clone();
    let id = gc::add_callback(move |p, _| {
        let full = gc::collect();
        let young = gc::collect_generation(0);
        n.borrow_mut().push((p, full, young));
    });
    let rec = Recorder::new();
    let w = c.garbage_ring(2);
    assert_eq!(
        gc::collect(),
        2,
        "the nested calls did not steal the garbage"
    );
    assert!(all_dead(&w));
    assert_eq!(
        *nested.borrow(),
        vec![(Phase::Start, 0, 0), (Phase::Stop, 0, 0)]
    );
    // The nested calls ran no collection: one Start/Stop pair in total.
    assert_eq!(rec.len(), 2);
    assert_eq!(rec.starts(), vec![2]);
    assert!(gc::remove_callback(id));
}

#[test]
fn callback_removing_itself_during_a_collection() {
    start();
    let my_id: Rc<Cell<Option<CallbackId>>> = Rc::default();
    let results: Rc<RefCell<Vec<bool>>> = Rc::default();
    let (me, res) = (my_id.clone(), results.clone());
    let id = gc::add_callback(move |_, _| {
        let id = me.get().expect("id set before any collection");
        res.borrow_mut().push(gc::remove_callback(id));
    });
    my_id.set(Some(id));
    let rec = Recorder::new();
    let c = Counters::default();
    c.garbage_ring(3);
    assert_eq!(gc::collect(), 3);
    assert_eq!(*results.borrow(), vec![true], "ran once, at Start");
    assert_eq!(rec.len(), 2, "the later callback saw Start and Stop");
    c.garbage_ring(2);
    assert_eq!(gc::collect(), 2);
    assert_eq!(results.borrow().len(), 1, "gone for good");
    assert_eq!(rec.starts(), vec![2, 2]);
    assert!(!gc::remove_callback(id));
    // The closure was dropped (it held `my_id` and `results`).
    assert_eq!(Rc::strong_count(&results), 1);
}

#[test]
fn callback_removing_a_later_callback() {
    start();
    let victim_calls = Rc::new(Cell::new(0));
    let vc = victim_calls.clone();
    let victim_id: Rc<Cell<Option<CallbackId>>> = Rc::default();
    let removed: Rc<RefCell<Vec<bool>>> = Rc::default();
    let (vid, rm) = (victim_id.clone(), removed.clone());
    let killer = gc::add_callback(move |_, _| {
        if let Some(id) = vid.take() {
            rm.borrow_mut().push(gc::remove_callback(id));
        }
    });
    let victim = gc::add_callback(move |_, _| bump(&vc));
    victim_id.set(Some(victim));
    let c = Counters::default();
    c.garbage_ring(2);
    assert_eq!(gc::collect(), 2);
    assert_eq!(*removed.borrow(), vec![true]);
    assert_eq!(victim_calls.get(), 0, "removed before its turn");
    gc::collect();
    assert_eq!(victim_calls.get(), 0);
    assert!(!gc::remove_callback(victim));
    assert!(gc::remove_callback(killer));
}

#[test]
fn callback_adding_a_callback_during_a_collection() {
    start();
    let added_log: Rc<RefCell<Vec<(Phase, usize)>>> = Rc::default();
    let added_id: Rc<Cell<Option<CallbackId>>> = Rc::default();
    let (al, aid) = (added_log.clone(), added_id.clone());
    let adder = gc::add_callback(move |_, _| {
        if aid.get().is_none() {
            let l = al.clone();
            aid.set(Some(gc::add_callback(move |p, i| {
                l.borrow_mut().push((p, i.generation))
            })));
        }
    });
    let c = Counters::default();
    c.garbage_ring(2);
    assert_eq!(gc::collect(), 2);
    let added = added_id.get().expect("added during the first collection");
    // Whether the new callback already sees the first collection's Stop is
    // not specified; it never sees a Start it was not registered for.
    {
        let first = added_log.borrow();
        assert!(
            first.is_empty() || *first == vec![(Phase::Stop, 2)],
            "{first:?}"
        );
    }
    added_log.borrow_mut().clear();
    c.garbage_ring(1);
    assert_eq!(gc::collect_generation(1), 1);
    assert_eq!(
        *added_log.borrow(),
        vec![(Phase::Start, 1), (Phase::Stop, 1)]
    );
    assert!(gc::remove_callback(added));
    assert!(gc::remove_callback(adder));
}

#[test]
fn panicking_callback_is_contained() {
    start();
    let bomb_calls = Rc::new(Cell::new(0));
    let bc = bomb_calls.clone();
    let bomb = gc::add_callback(move |_, _| {
        bump(&bc);
        panic!("callback panic (expected by the test)");
    });
    let rec = Recorder::new();
    let c = Counters::default();
    let w = c.garbage_ring(3);
    assert_eq!(gc::collect(), 3);
    assert!(all_dead(&w));
    assert_eq!(bomb_calls.get(), 2, "ran (and panicked) at Start and Stop");
    assert_eq!(rec.starts(), vec![2], "the next callback still ran");
    assert_eq!(rec.stops()[0].collected, 3);
    // The heap is consistent: collections keep working.
    let w = c.garbage_ring(2);
    assert_eq!(gc::collect_generation(0), 2);
    assert!(all_dead(&w));
    assert_eq!(bomb_calls.get(), 4);
    assert!(gc::remove_callback(bomb));
    let w = c.garbage_ring(1);
    assert_eq!(gc::collect(), 1);
    assert!(all_dead(&w));
    assert_eq!(bomb_calls.get(), 4);
    assert_eq!(c.dropped(), 6);
}

#[test]
fn allocations_inside_callbacks_never_start_a_nested_collection() {
    start();
    gc::set_threshold(2, 10, 10);
    let c = Counters::default();
    let rec = Recorder::new();
    let made: Rc<RefCell<Vec<Gc<Node>>>> = Rc::default();
    let (m, cc) = (made.clone(), c.clone());
    let id = gc::add_callback(move |_, _| {
        for _ in 0..5 {
            m.borrow_mut().push(cc.node()); // 5 > t0 = 2
        }
    });
    assert_eq!(gc::collect(), 0);
    assert_eq!(rec.starts(), vec![2], "no nested automatic collection");
    assert_eq!(made.borrow().len(), 10);
    // What Start allocated was counted before the reset; what Stop
    // allocated counts now.
    assert_eq!(gc::count(), (5, 0, 0));
    // So the next tracked allocation passes t0 at once.
    let _t = c.node();
    assert_eq!(rec.starts(), vec![2, 0]);
    assert_eq!(gc::count(), (5, 1, 0));
    assert_eq!(made.borrow().len(), 20);
    assert!(gc::remove_callback(id));
    drop(made);
    assert_eq!(c.finalized(), 20);
}

// ---------------------------------------------------------------------------
// 7. stats()
// ---------------------------------------------------------------------------

#[test]
fn stats_add_up_per_generation() {
    start();
    gc::disable();
    let before = gc::stats();
    let c = Counters::default();
    let mut collections = [0_usize; 3];
    let mut collected = [0_usize; 3];
    let rounds = scaled(60, 9);
    for i in 0..rounds {
        let g = i % 3;
        let len = 1 + i % 4;
        c.garbage_ring(len);
        let n = gc::collect_generation(g);
        assert_eq!(n, len);
        collections[g] += 1;
        collected[g] += n;
    }
    let after = gc::stats();
    for g in 0..3 {
        assert_eq!(
            after[g].collections - before[g].collections,
            collections[g],
            "generation {g}"
        );
        assert_eq!(
            after[g].collected - before[g].collected,
            collected[g],
            "generation {g}"
        );
        assert_eq!(after[g].uncollectable, before[g].uncollectable);
    }
    let total: usize = collected.iter().sum();
    assert_eq!(c.dropped(), total);

    // A full collection counts for generation 2 only.
    let s = gc::stats();
    c.garbage_ring(5);
    assert_eq!(gc::collect(), 5);
    let t = gc::stats();
    assert_eq!(t[0], s[0]);
    assert_eq!(t[1], s[1]);
    assert_eq!(t[2].collections, s[2].collections + 1);
    assert_eq!(t[2].collected, s[2].collected + 5);
}

// ---------------------------------------------------------------------------
// 8. Objects move through the generations
// ---------------------------------------------------------------------------

#[test]
fn objects_move_one_generation_per_collection() {
    start();
    let c = Counters::default();
    let n = c.node();
    let untracked = Gc::new(9_u32);
    assert_eq!(gen_of(&n), Some(0));
    assert_eq!(
        gen_of(&untracked),
        None,
        "untracked objects are never listed"
    );
    assert_eq!(gc::objects(Some(0)).len(), 1);
    gc::collect_generation(0);
    assert_eq!(gen_of(&n), Some(1));
    assert!(gc::objects(Some(0)).is_empty());
    gc::collect_generation(0);
    assert_eq!(gen_of(&n), Some(1), "a gen-0 collection leaves gen 1 alone");
    gc::collect_generation(1);
    assert_eq!(gen_of(&n), Some(2));
    gc::collect_generation(1);
    assert_eq!(gen_of(&n), Some(2));
    gc::collect();
    assert_eq!(gen_of(&n), Some(2), "the oldest generation is the last");
    assert_eq!(Gc::strong_count(&n), 1, "objects() handles were released");
}

#[test]
fn collecting_a_generation_merges_the_younger_ones() {
    start();
    let c = Counters::default();
    let a = c.node();
    gc::collect_generation(0);
    let b = c.node();
    assert_eq!((gen_of(&a), gen_of(&b)), (Some(1), Some(0)));
    gc::collect_generation(1);
    assert_eq!((gen_of(&a), gen_of(&b)), (Some(2), Some(2)));
    let d = c.node();
    assert_eq!(gen_of(&d), Some(0));
    gc::collect();
    assert_eq!(gen_of(&d), Some(2), "a full collection promotes gen 0 too");
    let ids: Vec<usize> = gc::objects(Some(2)).iter().map(GcAny::addr).collect();
    for g in [&a, &b, &d] {
        assert!(ids.contains(&Gc::into_any(g.clone()).addr()));
    }
    assert_eq!(ids.len(), 3);
}

// ---------------------------------------------------------------------------
// 9. Young collections leave old garbage alone
// ---------------------------------------------------------------------------

#[test]
fn young_collection_does_not_free_an_old_cycle() {
    start();
    let c = Counters::default();
    let a = c.node();
    let b = c.node();
    link(&a, &b);
    link(&b, &a);
    assert_eq!(gc::collect(), 0, "still referenced: survives and ages");
    assert_eq!((gen_of(&a), gen_of(&b)), (Some(2), Some(2)));
    let w = vec![Gc::downgrade(&a), Gc::downgrade(&b)];
    drop((a, b));
    assert_eq!(gc::collect_generation(0), 0);
    assert_eq!(gc::collect_generation(1), 0);
    assert!(
        all_alive(&w),
        "gen-2 garbage is not seen by younger collections"
    );
    assert_eq!(c.finalized(), 0);
    assert_eq!(gc::collect(), 2);
    assert!(all_dead(&w));
    assert_eq!(c.finalized(), 2);
}

#[test]
fn gen1_cycle_needs_a_gen1_collection() {
    start();
    let c = Counters::default();
    let a = c.node();
    link(&a, &a);
    gc::collect_generation(0);
    assert_eq!(gen_of(&a), Some(1));
    let w = vec![Gc::downgrade(&a)];
    drop(a);
    assert_eq!(gc::collect_generation(0), 0);
    assert!(all_alive(&w));
    assert_eq!(gc::collect_generation(1), 1);
    assert!(all_dead(&w));
}

// ---------------------------------------------------------------------------
// 10. Invalid generations
// ---------------------------------------------------------------------------

#[test]
#[should_panic(expected = "generation 3")]
fn collect_generation_3_panics() {
    gc::collect_generation(3);
}

#[test]
#[should_panic(expected = "generation 3")]
fn objects_of_generation_3_panics() {
    let _ = gc::objects(Some(3));
}

#[test]
#[should_panic(expected = "generation 7")]
fn collect_generation_names_the_bad_generation() {
    gc::collect_generation(7);
}

// ---------------------------------------------------------------------------
// 11. Young collections do not touch old objects' reachability
// ---------------------------------------------------------------------------

#[test]
fn young_collections_free_exactly_the_young_garbage() {
    gc::disable();
    gc::collect();
    let old_n = scaled(1_000, 30);
    let young_cycles = scaled(50, 5);
    let hung = scaled(10, 3);
    let old_c = Counters::default();
    let young_c = Counters::default();

    // A big live ring of old objects, plus an old garbage cycle that is
    // aged while still referenced.
    let old: Vec<Gc<Node>> = (0..old_n).map(|_| old_c.node()).collect();
    for i in 0..old_n {
        link(&old[i], &old[(i + 1) % old_n]);
    }
    let og_a = old_c.node();
    let og_b = old_c.node();
    link(&og_a, &og_b);
    link(&og_b, &og_a);
    assert_eq!(gc::collect(), 0);
    assert_eq!(gc::objects(Some(2)).len(), old_n + 2);
    let old_garbage = vec![Gc::downgrade(&og_a), Gc::downgrade(&og_b)];

    // Young objects: garbage cycles, cycles hanging off live old objects,
    // and one object hanging off the (soon) old garbage.
    let mut young_garbage = Vec::new();
    for i in 0..young_cycles {
        young_garbage.extend(young_c.garbage_ring(1 + i % 2));
    }
    let garbage_n = young_garbage.len();
    let mut hung_weaks = Vec::new();
    for (i, holder) in old.iter().take(hung).enumerate() {
        let w = young_c.garbage_ring(2);
        let head = w[i % 2].upgrade().unwrap();
        link(holder, &head);
        hung_weaks.extend(w);
    }
    let orphan = young_c.node();
    link(&og_a, &orphan);
    let orphan_w = vec![Gc::downgrade(&orphan)];
    drop(orphan);
    drop((og_a, og_b));

    assert_eq!(gc::collect_generation(0), garbage_n);
    assert!(all_dead(&young_garbage));
    assert_eq!(young_c.finalized(), garbage_n);
    assert!(all_alive(&hung_weaks), "referenced from old objects");
    assert!(
        all_alive(&orphan_w),
        "referenced from old (garbage) objects"
    );
    assert!(all_alive(&old_garbage), "old garbage is not examined");
    assert_eq!(old_c.finalized(), 0);
    assert_eq!(gc::objects(Some(2)).len(), old_n + 2, "old heap untouched");
    assert_eq!(gc::objects(Some(1)).len(), 2 * hung + 1);

    // Cut the young cycles loose: now they are gen-1 garbage.
    for holder in old.iter().take(hung) {
        holder.edges.borrow_mut().pop();
    }
    assert_eq!(gc::collect_generation(0), 0);
    assert_eq!(gc::collect_generation(1), 2 * hung);
    assert!(all_dead(&hung_weaks));
    assert!(all_alive(&old_garbage) && all_alive(&orphan_w));

    // The old garbage and what hangs off it need a full collection.
    assert_eq!(gc::collect(), 3);
    assert!(all_dead(&old_garbage) && all_dead(&orphan_w));
    assert_eq!(old_c.finalized(), 2);

    // Finally the big ring itself.
    let ring: Vec<Weak<Node>> = old.iter().map(Gc::downgrade).collect();
    drop(old);
    assert_eq!(gc::collect_generation(1), 0);
    assert_eq!(gc::collect(), old_n);
    assert!(all_dead(&ring));
    assert_eq!(old_c.dropped(), old_n + 2);
    assert!(gc::objects(None).is_empty());
}
