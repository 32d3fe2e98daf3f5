//! Hostile user code run by the collector.
//!
//! Finalizers, collection callbacks, `Drop` impls of skipped fields run
//! during teardown, `Gc::new_cyclic` closures, `OnceCell` initialisers and
//! `write_dot` writers are user code the collector calls while it is in the
//! middle of its own work. Each test here has such code do something
//! unfriendly — drop, create or resurrect handles, take `&mut` through
//! `Gc::get_mut`, move values out with `Gc::try_unwrap`, freeze the heap,
//! collect, panic — and checks that there is no undefined behaviour and that
//! the outcome is exactly the documented one: every value is dropped exactly
//! once and at the expected point, `gc::collect()` returns the expected
//! count, dead objects' `Weak`s no longer upgrade, and values read back as
//! written.
//!
//! User code the collector runs has its panics caught, so the hooks below
//! only record what they see; the assertions are made by the test body.
//!
//! The file runs under Miri with the rest of gc-core's tests (loop sizes
//! shrink under `cfg!(miri)`; the code paths stay the same).

use std::cell::{Cell, OnceCell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;

use gc_core::gc::{self, DebugFlags, DotDirection, DotOptions, Phase};
use gc_core::{intern, interned_count, Finalize, Gc, Trace, Weak};

/// Loop sizes shrink under Miri; the code paths stay the same.
fn scaled(native: usize, miri: usize) -> usize {
    if cfg!(miri) {
        miri
    } else {
        native
    }
}

/// A shared counter.
type Counter = Rc<Cell<usize>>;

fn bump(c: &Cell<usize>) {
    c.set(c.get() + 1);
}

/// Counts drops of the value it is part of.
struct Counted(Counter);

impl Drop for Counted {
    fn drop(&mut self) {
        bump(&self.0);
    }
}

/// An untracked leaf whose drops are counted.
#[derive(Trace, Finalize)]
struct Tick {
    #[gc(skip)]
    _drops: Counted,
}

/// A node for plain cycles, counted.
#[derive(Trace, Finalize)]
struct Node {
    next: RefCell<Option<Gc<Node>>>,
    data: Vec<u32>,
    #[gc(skip)]
    _drops: Counted,
}

fn node(data: u32, drops: &Counter) -> Gc<Node> {
    Gc::new(Node {
        next: RefCell::new(None),
        data: vec![data],
        _drops: Counted(drops.clone()),
    })
}

/// A garbage self-cycle of one `Node`.
fn garbage_self_cycle(data: u32, drops: &Counter) {
    let n = node(data, drops);
    *n.next.borrow_mut() = Some(n.clone());
}

// ---------------------------------------------------------------------------
// Finalizers reaching into the rest of their garbage cycle
// ---------------------------------------------------------------------------

#[derive(Default)]
struct MutLog {
    runs: Cell<usize>,
    got_mut: Cell<Option<bool>>,
    inner_collect: Cell<Option<usize>>,
}

#[derive(Trace)]
struct MutOwner {
    peer: RefCell<Option<Gc<MutPeer>>>,
    #[gc(skip)]
    log: Rc<MutLog>,
    #[gc(skip)]
    _drops: Counted,
}

#[derive(Trace, Finalize)]
struct MutPeer {
    back: RefCell<Option<Gc<MutOwner>>>,
    ticks: RefCell<Vec<Gc<Tick>>>,
    #[gc(skip)]
    _drops: Counted,
}

impl Finalize for MutOwner {
    fn finalize(&self) {
        bump(&self.log.runs);
        let mut slot = self.peer.borrow_mut();
        let Some(peer) = slot.as_mut() else { return };
        let m = Gc::get_mut(peer);
        self.log.got_mut.set(Some(m.is_some()));
        if let Some(m) = m {
            // Allocate and collect while holding `&mut` to a member of the
            // cycle being collected.
            let drops = &self._drops.0;
            for _ in 0..50 {
                m.ticks.get_mut().push(Gc::new(Tick {
                    _drops: Counted(drops.clone()),
                }));
            }
            self.log.inner_collect.set(Some(gc::collect()));
        }
    }
}

#[test]
fn finalizer_get_mut_on_a_garbage_peer_mutates_it_and_everything_is_freed_once() {
    let drops = Counter::default();
    let log = Rc::new(MutLog::default());
    let owner = Gc::new(MutOwner {
        peer: RefCell::new(None),
        log: log.clone(),
        _drops: Counted(drops.clone()),
    });
    let peer = Gc::new(MutPeer {
        back: RefCell::new(Some(owner.clone())),
        ticks: RefCell::new(Vec::new()),
        _drops: Counted(drops.clone()),
    });
    *owner.peer.borrow_mut() = Some(peer);
    let w = Gc::downgrade(&owner);
    drop(owner);

    // The finalizer got `&mut` to the peer, which took it out of the
    // collector's sight: the collector cannot tell the borrow has ended, so
    // it keeps the pair (weak refs already cleared) rather than read it.
    assert_eq!(gc::collect(), 2);
    assert_eq!(log.runs.get(), 1);
    assert_eq!(log.got_mut.get(), Some(true), "the peer's only handle");
    assert_eq!(log.inner_collect.get(), Some(0), "collect from a finalizer");
    assert_eq!(drops.get(), 0);
    assert!(w.upgrade().is_none());
    // The owner's traced edge brings the peer back into sight; the next
    // collection frees both and the 50 ticks pushed through `&mut`, without
    // finalizing again.
    assert_eq!(gc::collect(), 2);
    assert_eq!(drops.get(), 2 + 50);
    assert_eq!(log.runs.get(), 1);
    assert_eq!(gc::collect(), 0);
    assert_eq!(drops.get(), 2 + 50);
}

#[derive(Trace)]
struct UnwrapOwner {
    peer: RefCell<Option<Gc<UnwrapPeer>>>,
    #[gc(skip)]
    _drops: Counted,
}

#[derive(Trace, Finalize)]
struct UnwrapPeer {
    back: RefCell<Option<Gc<UnwrapOwner>>>,
    #[gc(skip)]
    id: u32,
    #[gc(skip)]
    _drops: Counted,
}

thread_local! {
    static MOVED_OUT: RefCell<Vec<UnwrapPeer>> = const { RefCell::new(Vec::new()) };
}

impl Finalize for UnwrapOwner {
    fn finalize(&self) {
        let Some(peer) = self.peer.borrow_mut().take() else {
            return;
        };
        if let Ok(value) = Gc::try_unwrap(peer) {
            MOVED_OUT.with(|m| m.borrow_mut().push(value));
        }
    }
}

#[test]
fn finalizer_try_unwrap_moves_a_garbage_peer_out_and_resurrects_the_owner() {
    let drops = Counter::default();
    let owner = Gc::new(UnwrapOwner {
        peer: RefCell::new(None),
        _drops: Counted(drops.clone()),
    });
    let peer = Gc::new(UnwrapPeer {
        back: RefCell::new(Some(owner.clone())),
        id: 7,
        _drops: Counted(drops.clone()),
    });
    let (w_owner, w_peer) = (Gc::downgrade(&owner), Gc::downgrade(&peer));
    *owner.peer.borrow_mut() = Some(peer);
    drop(owner);

    // Both were found; the peer's value moved out (not dropped) and carries
    // the owner's last handle, which resurrects the owner.
    assert_eq!(gc::collect(), 2);
    assert_eq!(drops.get(), 0);
    assert!(w_owner.upgrade().is_none(), "weak refs are cleared first");
    assert!(w_peer.upgrade().is_none());

    let mut moved = MOVED_OUT.with(|m| std::mem::take(&mut *m.borrow_mut()));
    assert_eq!(moved.len(), 1);
    let value = moved.pop().unwrap();
    assert_eq!(value.id, 7);
    let owner = value.back.borrow().clone().expect("owner edge intact");
    assert!(gc::is_finalized(&owner));
    assert!(owner.peer.borrow().is_none());
    assert_eq!(Gc::strong_count(&owner), 2);

    drop(owner);
    assert_eq!(drops.get(), 0);
    drop(value); // the peer value, then the owner's last handle
    assert_eq!(drops.get(), 2);
    assert_eq!(gc::collect(), 0);
    assert_eq!(drops.get(), 2);
}

// ---------------------------------------------------------------------------
// Collection callbacks
// ---------------------------------------------------------------------------

#[derive(Default)]
struct CallbackLog {
    seen_start: Cell<usize>,
    seen_stop: Cell<usize>,
    get_mut_while_cyclic: Cell<usize>,
    unwrapped: RefCell<Vec<Vec<u32>>>,
}

#[test]
fn callback_can_break_unwrap_and_free_the_garbage_it_finds_in_objects() {
    let drops = Counter::default();
    let log = Rc::new(CallbackLog::default());
    let cb_log = log.clone();
    let id = gc::add_callback(move |phase, _| {
        for o in gc::objects(None) {
            let Ok(mut g) = o.downcast::<Node>() else {
                continue;
            };
            match phase {
                Phase::Start => bump(&cb_log.seen_start),
                Phase::Stop => bump(&cb_log.seen_stop),
            }
            if Gc::get_mut(&mut g).is_some() {
                bump(&cb_log.get_mut_while_cyclic);
            }
            drop(g.next.borrow_mut().take());
            if let Some(m) = Gc::get_mut(&mut g) {
                m.data.push(2);
            }
            if let Ok(value) = Gc::try_unwrap(g) {
                cb_log.unwrapped.borrow_mut().push(value.data.clone());
            }
        }
    });
    for _ in 0..5 {
        garbage_self_cycle(1, &drops);
    }

    // The Start callback freed all five before the collection looked.
    assert_eq!(gc::collect(), 0);
    assert_eq!(drops.get(), 5);
    assert_eq!(log.seen_start.get(), 5);
    assert_eq!(log.seen_stop.get(), 0);
    assert_eq!(log.get_mut_while_cyclic.get(), 0);
    assert_eq!(*log.unwrapped.borrow(), vec![vec![1, 2]; 5]);

    assert!(gc::remove_callback(id));
    garbage_self_cycle(3, &drops);
    assert_eq!(gc::collect(), 1);
    assert_eq!(drops.get(), 6);
    assert_eq!(log.seen_start.get(), 5);
}

// ---------------------------------------------------------------------------
// Drop impls of skipped fields, run while a cycle is torn down
// ---------------------------------------------------------------------------

#[derive(Default)]
struct ProbeLog {
    upgrades_tried: Cell<usize>,
    upgrades_live: Cell<usize>,
    inner_collect: Cell<Option<usize>>,
    dying_listed: Cell<usize>,
    survivor: RefCell<Option<Gc<Node>>>,
}

/// In a skipped field: its `Drop` runs while its cycle is torn down.
struct Probe {
    weaks: RefCell<Vec<Weak<Torn>>>,
    log: Rc<ProbeLog>,
    drops: Counter,
}

impl Drop for Probe {
    fn drop(&mut self) {
        for w in self.weaks.borrow().iter() {
            bump(&self.log.upgrades_tried);
            if w.upgrade().is_some() {
                bump(&self.log.upgrades_live);
            }
        }
        self.log.inner_collect.set(Some(gc::collect()));
        let listed = gc::objects(None)
            .into_iter()
            .filter(|o| o.is::<Torn>())
            .count();
        self.log.dying_listed.set(listed);
        *self.log.survivor.borrow_mut() = Some(node(9, &self.drops));
    }
}

#[derive(Trace, Finalize)]
struct Torn {
    next: RefCell<Option<Gc<Torn>>>,
    #[gc(skip)]
    probe: Option<Probe>,
    #[gc(skip)]
    _drops: Counted,
}

#[test]
fn teardown_drop_finds_its_cycle_weakly_dead_and_may_allocate() {
    let drops = Counter::default();
    let log = Rc::new(ProbeLog::default());
    let a = Gc::new(Torn {
        next: RefCell::new(None),
        probe: Some(Probe {
            weaks: RefCell::new(Vec::new()),
            log: log.clone(),
            drops: drops.clone(),
        }),
        _drops: Counted(drops.clone()),
    });
    let b = Gc::new(Torn {
        next: RefCell::new(Some(a.clone())),
        probe: None,
        _drops: Counted(drops.clone()),
    });
    *a.next.borrow_mut() = Some(b.clone());
    let weaks = vec![Gc::downgrade(&a), Gc::downgrade(&b)];
    *a.probe.as_ref().unwrap().weaks.borrow_mut() = weaks.clone();
    drop((a, b));

    assert_eq!(gc::collect(), 2);
    assert_eq!(drops.get(), 2);
    assert_eq!(log.upgrades_tried.get(), 2);
    assert_eq!(log.upgrades_live.get(), 0);
    assert_eq!(log.inner_collect.get(), Some(0));
    assert_eq!(log.dying_listed.get(), 0);
    assert!(weaks.iter().all(|w| w.upgrade().is_none()));

    let survivor = log.survivor.borrow_mut().take().expect("allocated in drop");
    assert_eq!(survivor.data, [9]);
    drop(survivor);
    assert_eq!(drops.get(), 3);
    assert_eq!(gc::collect(), 0);
}

// ---------------------------------------------------------------------------
// Resurrection
// ---------------------------------------------------------------------------

#[derive(Trace)]
struct Phoenix {
    me: RefCell<Option<Gc<Phoenix>>>,
    data: Vec<String>,
    #[gc(skip)]
    finalized: Counter,
    #[gc(skip)]
    _drops: Counted,
}

thread_local! {
    static RISEN: RefCell<Vec<Gc<Phoenix>>> = const { RefCell::new(Vec::new()) };
}

impl Finalize for Phoenix {
    fn finalize(&self) {
        bump(&self.finalized);
        if let Some(me) = self.me.borrow_mut().take() {
            RISEN.with(|r| r.borrow_mut().push(me));
        }
    }
}

#[test]
fn resurrected_object_mutated_through_get_mut_while_collections_run() {
    let drops = Counter::default();
    let churn_drops = Counter::default();
    let finalized = Counter::default();
    let p = Gc::new(Phoenix {
        me: RefCell::new(None),
        data: vec!["x".into()],
        finalized: finalized.clone(),
        _drops: Counted(drops.clone()),
    });
    *p.me.borrow_mut() = Some(p.clone());
    drop(p);

    assert_eq!(gc::collect(), 1, "a resurrected object is counted");
    assert_eq!((finalized.get(), drops.get()), (1, 0));
    let mut p = RISEN.with(|r| r.borrow_mut().pop()).expect("resurrected");
    assert!(gc::is_finalized(&p));

    gc::set_threshold(2, 1, 1);
    let m = Gc::get_mut(&mut p).expect("the only handle");
    m.data.push("y".into());
    for i in 0..10 {
        garbage_self_cycle(i, &churn_drops); // automatic collections
    }
    let pending = 10 - churn_drops.get();
    assert!(pending >= 1, "the last cycle is left for gc::collect");
    assert_eq!(gc::collect(), pending);
    m.data.push("z".into());
    gc::set_threshold(700, 10, 10);

    assert_eq!(churn_drops.get(), 10);
    assert_eq!(p.data, ["x", "y", "z"]);
    assert_eq!(drops.get(), 0);

    // Garbage again: freed without a second finalization.
    *p.me.borrow_mut() = Some(p.clone());
    drop(p);
    assert_eq!(gc::collect(), 1);
    assert_eq!((finalized.get(), drops.get()), (1, 1));
    assert!(RISEN.with(|r| r.borrow().is_empty()));
}

// ---------------------------------------------------------------------------
// new_cyclic and OnceCell initialisers
// ---------------------------------------------------------------------------

#[derive(Trace, Finalize)]
struct Cyclic {
    me: Weak<Cyclic>,
    #[gc(skip)]
    _drops: Counted,
}

#[test]
fn new_cyclic_closure_that_collects_then_panics_builds_nothing() {
    let drops = Counter::default();
    garbage_self_cycle(0, &drops);
    let stash: RefCell<Option<Weak<Cyclic>>> = RefCell::new(None);
    let inner_collect = Cell::new(None);
    let r = catch_unwind(AssertUnwindSafe(|| {
        Gc::<Cyclic>::new_cyclic(|w| {
            *stash.borrow_mut() = Some(w.clone());
            inner_collect.set(Some(gc::collect()));
            panic!("closure panics");
        })
    }));
    assert!(r.is_err());
    assert_eq!(inner_collect.get(), Some(1), "the real collection ran");
    assert_eq!(drops.get(), 1);
    let w = stash.take().unwrap();
    assert!(w.upgrade().is_none());
    assert_eq!(w.strong_count(), 0);
    assert_eq!(gc::collect(), 0);
}

#[test]
fn new_cyclic_weak_does_not_upgrade_in_a_callback_during_construction() {
    let drops = Counter::default();
    let pending: Rc<RefCell<Option<Weak<Cyclic>>>> = Rc::default();
    let (calls, live) = (Counter::default(), Counter::default());
    let (cb_pending, cb_calls, cb_live) = (pending.clone(), calls.clone(), live.clone());
    let id = gc::add_callback(move |_, _| {
        if let Some(w) = cb_pending.borrow().as_ref() {
            bump(&cb_calls);
            if w.upgrade().is_some() {
                bump(&cb_live);
            }
        }
    });
    let g = Gc::<Cyclic>::new_cyclic(|w| {
        *pending.borrow_mut() = Some(w.clone());
        assert_eq!(gc::collect(), 0);
        Cyclic {
            me: w.clone(),
            _drops: Counted(drops.clone()),
        }
    });
    assert!(gc::remove_callback(id));
    assert_eq!(
        (calls.get(), live.get()),
        (2, 0),
        "Start and Stop, both dead"
    );
    assert!(Gc::ptr_eq(&g.me.upgrade().unwrap(), &g));

    drop(g);
    assert_eq!(drops.get(), 1);
    assert!(pending.borrow().as_ref().unwrap().upgrade().is_none());
}

#[derive(Trace, Finalize)]
struct Once {
    cell: OnceCell<Gc<Once>>,
    #[gc(skip)]
    _drops: Counted,
}

#[test]
fn oncecell_initialiser_that_collects_sees_the_cell_empty_and_the_cycle_is_freed() {
    let drops = Counter::default();
    let a = Gc::new(Once {
        cell: OnceCell::new(),
        _drops: Counted(drops.clone()),
    });
    let inner_collect = Cell::new(None);
    let a2 = a.clone();
    let got = a.cell.get_or_init(|| {
        inner_collect.set(Some(gc::collect()));
        a2
    });
    assert!(Gc::ptr_eq(got, &a));
    assert_eq!(inner_collect.get(), Some(0));
    assert_eq!(drops.get(), 0);
    drop(a);
    assert_eq!(gc::collect(), 1);
    assert_eq!(drops.get(), 1);
}

// ---------------------------------------------------------------------------
// Heap-wide state changed from finalizers
// ---------------------------------------------------------------------------

#[derive(Trace)]
struct Freezer {
    next: RefCell<Option<Gc<Freezer>>>,
    #[gc(skip)]
    action: Option<fn()>,
    #[gc(skip)]
    _drops: Counted,
}

impl Finalize for Freezer {
    fn finalize(&self) {
        if let Some(f) = self.action {
            f();
        }
    }
}

fn freezer(action: Option<fn()>, drops: &Counter) -> Gc<Freezer> {
    Gc::new(Freezer {
        next: RefCell::new(None),
        action,
        _drops: Counted(drops.clone()),
    })
}

/// A garbage pair whose first member's finalizer runs `action`.
fn garbage_pair(action: fn(), drops: &Counter) {
    let a = freezer(Some(action), drops);
    let b = freezer(None, drops);
    *a.next.borrow_mut() = Some(b.clone());
    *b.next.borrow_mut() = Some(a);
}

#[test]
fn freeze_and_unfreeze_in_finalizers_move_live_objects_not_the_garbage() {
    let drops = Counter::default();
    let keep: Vec<Gc<Freezer>> = (0..3)
        .map(|_| {
            let k = freezer(None, &drops);
            *k.next.borrow_mut() = Some(k.clone());
            k
        })
        .collect();

    garbage_pair(gc::freeze, &drops);
    assert_eq!(gc::collect(), 2);
    assert_eq!(drops.get(), 2, "the garbage is freed anyway");
    assert_eq!(gc::freeze_count(), 3, "the live objects were frozen");

    drop(keep);
    assert_eq!(gc::collect(), 0, "frozen garbage is not scanned");
    assert_eq!(drops.get(), 2);

    garbage_pair(gc::unfreeze, &drops);
    assert_eq!(gc::collect(), 2);
    assert_eq!(drops.get(), 4);
    assert_eq!(gc::freeze_count(), 0);
    assert_eq!(gc::collect(), 3, "unfrozen, the dropped cycles are found");
    assert_eq!(drops.get(), 7);
}

#[test]
fn saveall_garbage_handles_can_break_the_cycles_and_unwrap_the_values() {
    let drops = Counter::default();
    gc::set_debug(DebugFlags::SAVEALL);
    for i in 0..3 {
        let a = node(2 * i, &drops);
        let b = node(2 * i + 1, &drops);
        *b.next.borrow_mut() = Some(a.clone());
        *a.next.borrow_mut() = Some(b);
    }
    assert_eq!(gc::collect(), 6);
    gc::set_debug(DebugFlags::empty());
    assert_eq!(drops.get(), 0);

    let saved: Vec<Gc<Node>> = gc::garbage()
        .into_iter()
        .map(|o| o.downcast::<Node>().ok().unwrap())
        .collect();
    assert_eq!(saved.len(), 6);
    gc::clear_garbage();
    assert_eq!(drops.get(), 0);
    for n in &saved {
        drop(n.next.borrow_mut().take());
    }
    let mut data: Vec<u32> = saved
        .into_iter()
        .map(|mut n| {
            assert!(Gc::get_mut(&mut n).is_some());
            Gc::try_unwrap(n).ok().unwrap().data[0]
        })
        .collect();
    data.sort_unstable();
    assert_eq!(data, [0, 1, 2, 3, 4, 5]);
    assert_eq!(drops.get(), 6);
    assert_eq!(gc::collect(), 0);
}

// ---------------------------------------------------------------------------
// Interning, debug output
// ---------------------------------------------------------------------------

#[derive(Default)]
struct InternLog {
    finalizer_canonical: Cell<usize>,
    drops_run: Cell<usize>,
    get_mut_refused: Cell<usize>,
    store: RefCell<Vec<Gc<str>>>,
}

/// In a skipped field: interns strings while its object is torn down.
struct Interner(Rc<InternLog>);

impl Drop for Interner {
    fn drop(&mut self) {
        bump(&self.0.drops_run);
        for i in 0..20 {
            let s = intern(&format!("s{}", i % 5));
            self.0.store.borrow_mut().push(s);
        }
        let mut s1 = intern("s1");
        if Gc::get_mut(&mut s1).is_none() {
            bump(&self.0.get_mut_refused);
        }
    }
}

#[derive(Trace)]
struct Interning {
    next: RefCell<Option<Gc<Interning>>>,
    s: Gc<str>,
    #[gc(skip)]
    interner: Interner,
}

impl Finalize for Interning {
    fn finalize(&self) {
        if Gc::ptr_eq(&intern(&self.s), &self.s) {
            bump(&self.interner.0.finalizer_canonical);
        }
    }
}

#[test]
fn interning_from_finalizers_and_teardown_drops_returns_canonical_strings() {
    let baseline = interned_count();
    let log = Rc::new(InternLog::default());
    let s1 = intern("s1");
    for _ in 0..3 {
        let a = Gc::new(Interning {
            next: RefCell::new(None),
            s: intern("s1"),
            interner: Interner(log.clone()),
        });
        *a.next.borrow_mut() = Some(a.clone());
    }
    assert_eq!(gc::collect(), 3);
    assert_eq!(log.finalizer_canonical.get(), 3);
    assert_eq!(log.drops_run.get(), 3);
    assert_eq!(log.get_mut_refused.get(), 3);

    let store = log.store.take();
    assert_eq!(store.len(), 60);
    for (i, s) in store.iter().enumerate() {
        assert_eq!(&**s, format!("s{}", i % 5));
        assert!(Gc::ptr_eq(s, &store[i % 5]));
    }
    assert!(Gc::ptr_eq(&store[1], &s1));
    assert_eq!(interned_count(), baseline + 5);
    drop(store);
    assert_eq!(interned_count(), baseline + 1);
    drop(s1);
    assert_eq!(interned_count(), baseline);
}

/// A `write_dot` sink that, on its first write, breaks the graph's cycle,
/// freeing one of the nodes drawn, and collects.
struct FreeingWriter {
    victim: Option<Gc<Node>>,
    inner_collect: Option<usize>,
    out: Vec<u8>,
}

impl std::io::Write for FreeingWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        if let Some(g) = self.victim.take() {
            drop(g.next.borrow_mut().take());
            self.inner_collect = Some(gc::collect());
        }
        self.out.extend_from_slice(b);
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn write_dot_writer_that_frees_a_drawn_node_gets_the_whole_graph() {
    let drops = Counter::default();
    let a = node(0, &drops);
    let b = node(1, &drops);
    *b.next.borrow_mut() = Some(a.clone());
    *a.next.borrow_mut() = Some(b);
    let root = Gc::into_any(a.clone());
    let mut w = FreeingWriter {
        victim: Some(a),
        inner_collect: None,
        out: Vec::new(),
    };

    let opts = DotOptions {
        direction: DotDirection::Referents,
        ..Default::default()
    };
    gc::write_dot(&root, opts, &mut w).unwrap();
    assert_eq!(drops.get(), 1, "b was freed during the write");
    assert_eq!(w.inner_collect, Some(0));
    let text = String::from_utf8(std::mem::take(&mut w.out)).unwrap();
    assert!(text.starts_with("digraph gc {"), "{text}");
    assert!(
        text.contains("n0 -> n1;") && text.contains("n1 -> n0;"),
        "{text}"
    );

    // Drawn again, only `a` is left.
    let opts = DotOptions {
        direction: DotDirection::Referrers,
        ..Default::default()
    };
    gc::write_dot(&root, opts, &mut w).unwrap();
    let text = String::from_utf8(w.out).unwrap();
    assert!(text.contains("n0 [") && !text.contains("n1"), "{text}");

    drop(root);
    assert_eq!(drops.get(), 2);
    assert_eq!(gc::collect(), 0);
}

// ---------------------------------------------------------------------------
// Incremental mode
// ---------------------------------------------------------------------------

#[test]
fn incremental_collection_with_get_mut_and_relinking_frees_every_node() {
    let (allocs, drops) = (Cell::new(0), Counter::default());
    let new = |data| {
        bump(&allocs);
        node(data, &drops)
    };
    gc::set_incremental(true);
    gc::set_threshold(10, 1, 1);
    let count = scaled(200, 120) as u32;
    let mut live: Vec<Gc<Node>> = Vec::new();
    for i in 0..count {
        let a = new(i);
        if i % 3 == 0 {
            *a.next.borrow_mut() = Some(a.clone());
        } else {
            live.push(a);
        }
    }
    let mut mutated = 0;
    for round in 0..scaled(20, 6) {
        for g in live.iter_mut() {
            if let Some(m) = Gc::get_mut(g) {
                m.data.push(round as u32);
                *m.next.get_mut() = Some(new(0));
                mutated += 1;
            }
        }
        for i in 0..live.len() {
            if i % 7 == round % 7 {
                let c = live[i].clone();
                let j = (i + 1) % live.len();
                *live[j].next.borrow_mut() = Some(c);
            }
        }
    }
    assert!(mutated > 0);
    assert!(gc::incremental_collections() > 0);
    assert!(drops.get() < allocs.get(), "`live` still holds nodes");
    drop(live);
    gc::set_incremental(false);
    gc::set_threshold(700, 10, 10);
    gc::collect();
    assert_eq!(drops.get(), allocs.get());
    assert_eq!(gc::collect(), 0);
}

#[derive(Trace)]
struct Hostile {
    next: RefCell<Option<Gc<Hostile>>>,
    data: Vec<u32>,
    #[gc(skip)]
    mode: u8,
    #[gc(skip)]
    allocs: Counter,
    #[gc(skip)]
    _drops: Counted,
}

thread_local! {
    static PULLED_BACK: RefCell<Vec<Gc<Hostile>>> = const { RefCell::new(Vec::new()) };
}

fn hostile(data: u32, mode: u8, allocs: &Counter, drops: &Counter) -> Gc<Hostile> {
    bump(allocs);
    Gc::new(Hostile {
        next: RefCell::new(None),
        data: vec![data],
        mode,
        allocs: allocs.clone(),
        _drops: Counted(drops.clone()),
    })
}

impl Finalize for Hostile {
    fn finalize(&self) {
        match self.mode {
            1 => gc::set_incremental(false),
            2 => {
                let _ = gc::objects(None);
                gc::set_incremental(true);
            }
            3 => {
                if let Some(n) = self.next.borrow().clone() {
                    PULLED_BACK.with(|b| b.borrow_mut().push(n));
                }
            }
            4 => {
                let mut slot = self.next.borrow_mut();
                let Some(m) = slot.as_mut().and_then(Gc::get_mut) else {
                    return;
                };
                m.data.push(1);
                for _ in 0..scaled(20, 4) {
                    let x = hostile(0, 0, &self.allocs, &self._drops.0);
                    *x.next.borrow_mut() = Some(x.clone());
                }
            }
            5 => gc::freeze(),
            _ => {}
        }
    }
}

/// Break the cycles the mode-3 finalizers resurrected.
fn release_pulled_back() {
    for x in PULLED_BACK.with(|b| b.take()) {
        drop(x.next.borrow_mut().take());
    }
}

#[test]
fn incremental_mode_with_finalizers_that_toggle_it_resurrect_and_freeze_frees_everything() {
    let (allocs, drops) = (Counter::default(), Counter::default());
    gc::set_incremental(true);
    gc::set_threshold(8, 1, 1);
    let mut weaks = Vec::new();
    let mut keep = Vec::new();
    for round in 0..scaled(60, 18) as u32 {
        let ring: Vec<Gc<Hostile>> = (0..3)
            .map(|i| hostile(i, (round % 6) as u8, &allocs, &drops))
            .collect();
        for i in 0..3 {
            *ring[i].next.borrow_mut() = Some(ring[(i + 1) % 3].clone());
        }
        weaks.push(Gc::downgrade(&ring[0]));
        if round % 4 == 0 {
            keep.push(ring[1].clone());
        }
        drop(ring);
        if round % 5 == 0 {
            if let Some(mut k) = keep.pop() {
                if let Some(m) = Gc::get_mut(&mut k) {
                    m.data.push(round);
                }
                drop(k.next.borrow_mut().take());
            }
        }
        if round % 10 == 9 {
            gc::unfreeze();
        }
        release_pulled_back();
    }
    drop(keep);
    gc::set_incremental(false);
    gc::set_threshold(700, 10, 10);
    for _ in 0..5 {
        gc::unfreeze();
        gc::collect();
        release_pulled_back();
    }
    assert_eq!(drops.get(), allocs.get());
    assert!(weaks.iter().all(|w| w.upgrade().is_none()));
    assert_eq!(gc::collect(), 0);
}

// ---------------------------------------------------------------------------
// Thread exit
// ---------------------------------------------------------------------------

/// Counts drops across threads.
struct SendCounted(Arc<AtomicUsize>);

impl Drop for SendCounted {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[derive(Default)]
struct ExitLog {
    drops: Arc<AtomicUsize>,
    exit_drops_run: AtomicUsize,
    upgrades_live: AtomicUsize,
    unwrapped: AtomicUsize,
}

#[derive(Trace, Finalize)]
struct Leaf {
    next: RefCell<Option<Gc<Leaf>>>,
    #[gc(skip)]
    _drops: SendCounted,
}

/// In a skipped field: upgrades, unwraps and allocates while the exiting
/// thread's heap tears down its cycle.
struct ExitDrop {
    log: Arc<ExitLog>,
    target: Weak<Leaf>,
    own: Option<Gc<Leaf>>,
}

impl Drop for ExitDrop {
    fn drop(&mut self) {
        self.log.exit_drops_run.fetch_add(1, SeqCst);
        if self.target.upgrade().is_some() {
            self.log.upgrades_live.fetch_add(1, SeqCst);
        }
        if let Some(mut g) = self.own.take() {
            drop(Gc::get_mut(&mut g).map(|m| m.next.get_mut().take()));
            if Gc::try_unwrap(g).is_ok() {
                self.log.unwrapped.fetch_add(1, SeqCst);
            }
        }
        // New garbage while the heap is shutting down.
        let x = leaf(&self.log);
        *x.next.borrow_mut() = Some(x.clone());
    }
}

#[derive(Trace, Finalize)]
struct Exiting {
    next: RefCell<Option<Gc<Exiting>>>,
    #[gc(skip)]
    _d: ExitDrop,
}

fn leaf(log: &ExitLog) -> Gc<Leaf> {
    Gc::new(Leaf {
        next: RefCell::new(None),
        _drops: SendCounted(log.drops.clone()),
    })
}

#[test]
fn thread_exit_teardown_with_hostile_drops_frees_every_value_once() {
    let log = Arc::new(ExitLog::default());
    let thread_log = log.clone();
    std::thread::spawn(move || {
        let log = thread_log;
        let target = leaf(&log);
        *target.next.borrow_mut() = Some(target.clone());
        let a = Gc::new(Exiting {
            next: RefCell::new(None),
            _d: ExitDrop {
                log: log.clone(),
                target: Gc::downgrade(&target),
                own: Some(leaf(&log)),
            },
        });
        *a.next.borrow_mut() = Some(a.clone());
        drop((target, a));
    })
    .join()
    .unwrap();

    // Left to the heap's shutdown collection: the `target` self-cycle, the
    // `Exiting` cycle and its `own` leaf, and the self-cycle its drop made.
    assert_eq!(log.exit_drops_run.load(SeqCst), 1);
    assert_eq!(log.upgrades_live.load(SeqCst), 0);
    assert_eq!(log.unwrapped.load(SeqCst), 1);
    assert_eq!(log.drops.load(SeqCst), 3);
}
