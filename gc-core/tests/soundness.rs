//! Regression tests for defects found by adversarial programs written
//! against the public API (issue 15), one per defect, and one test per place
//! where the collector or a debug tool runs user code: callbacks, the debug
//! sink, finalizers, the drops of counts the collector gives back, value
//! drops during teardown, the drops of objects queued meanwhile, DOT
//! writers, `Trace` in the debug tools and thread exit. At each of them the
//! user code drops, creates and resurrects handles and panics; afterwards
//! the collector must still work and every object must be freed exactly
//! once. Under Miri (`cargo +nightly miri test -p gc-core --test soundness`)
//! the defects these tests pin were use-after-free reports.

use std::cell::{Cell, RefCell};
use std::io::{self, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};

use gc_core::gc::{self, DebugFlags, DotDirection, DotOptions, Phase};
use gc_core::{Finalize, Gc, GcAny, Trace, Tracer, Weak};

// ---------------------------------------------------------------------------
// Shared pieces
// ---------------------------------------------------------------------------

/// Counts drops of the value it is part of.
struct Counted(Rc<Cell<usize>>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

/// Counts its drop, then panics.
struct Bomb(Rc<Cell<usize>>);

impl Drop for Bomb {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
        panic!("bomb went off");
    }
}

/// A node with an optional self/next edge, a drop counter and an optional
/// bomb.
#[derive(Trace, Finalize)]
struct Node {
    next: RefCell<Option<Gc<Node>>>,
    #[gc(skip)]
    _drops: Counted,
    #[gc(skip)]
    _bomb: Option<Bomb>,
}

fn node(drops: &Rc<Cell<usize>>) -> Gc<Node> {
    Gc::new(Node {
        next: RefCell::new(None),
        _drops: Counted(drops.clone()),
        _bomb: None,
    })
}

fn link(a: &Gc<Node>, b: &Gc<Node>) {
    *a.next.borrow_mut() = Some(b.clone());
}

/// `n` two-node cycles, dropped: `2 * n` objects of garbage.
fn make_cycles(n: usize, drops: &Rc<Cell<usize>>) {
    for _ in 0..n {
        let a = node(drops);
        let b = node(drops);
        link(&a, &b);
        link(&b, &a);
    }
}

/// The collector still works: a fresh cycle is found and freed, and
/// automatic collection still runs.
fn assert_collector_works() {
    let drops = Rc::new(Cell::new(0));
    make_cycles(3, &drops);
    assert_eq!(gc::collect(), 6, "a later collection finds new garbage");
    assert_eq!(drops.get(), 6);
    let before = gc::stats()[0].collections;
    let (t0, t1, t2) = gc::threshold();
    gc::set_threshold(5, t1, t2);
    make_cycles(5, &drops);
    gc::set_threshold(t0, t1, t2);
    assert!(
        gc::stats()[0].collections > before,
        "automatic collection still runs"
    );
    gc::collect();
    assert_eq!(drops.get(), 16);
}

/// A debug sink writing into a shared buffer.
#[derive(Clone, Default)]
struct Capture(Rc<RefCell<Vec<u8>>>);

impl Capture {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.borrow()).into_owned()
    }
}

impl Write for Capture {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A writer (debug sink or DOT writer) that runs `before` — the hostile
/// user code under test — on every write, then captures the bytes.
struct OnWrite<F: FnMut()> {
    before: F,
    out: Capture,
}

impl<F: FnMut()> OnWrite<F> {
    fn new(before: F) -> (OnWrite<F>, Capture) {
        let out = Capture::default();
        (
            OnWrite {
                before,
                out: out.clone(),
            },
            out,
        )
    }
}

impl<F: FnMut()> Write for OnWrite<F> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        (self.before)();
        self.out.write(b)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// `f`, run on the first call only.
fn once(f: impl FnOnce()) -> impl FnMut() {
    let mut f = Some(f);
    move || {
        if let Some(f) = f.take() {
            f()
        }
    }
}

// ---------------------------------------------------------------------------
// 1. A panicking `Drop` during the finalizer phase
// ---------------------------------------------------------------------------

#[derive(Trace)]
struct SelfDestruct {
    me: RefCell<Option<Gc<SelfDestruct>>>,
    #[gc(skip)]
    _bomb: Bomb,
}

impl Finalize for SelfDestruct {
    fn finalize(&self) {
        // Breaks its own cycle: the count the collector holds while this
        // runs is then the last one, and giving it back drops the value.
        self.me.borrow_mut().take();
    }
}

thread_local! {
    static RESURRECTED: RefCell<Vec<Gc<Lazarus>>> = const { RefCell::new(Vec::new()) };
}

#[derive(Trace)]
struct Lazarus {
    me: RefCell<Option<Gc<Lazarus>>>,
    #[gc(skip)]
    _drops: Counted,
}

impl Finalize for Lazarus {
    fn finalize(&self) {
        let me = self.me.borrow().clone().expect("still a self-cycle");
        RESURRECTED.with(|r| r.borrow_mut().push(me));
    }
}

#[test]
fn a_panicking_drop_after_a_finalizer_does_not_escape_the_collection() {
    gc::collect();
    let bombs = Rc::new(Cell::new(0));
    let drops = Rc::new(Cell::new(0));
    // A finalizer resurrects this one before the bomb goes off.
    let l = Gc::new(Lazarus {
        me: RefCell::new(None),
        _drops: Counted(drops.clone()),
    });
    *l.me.borrow_mut() = Some(l.clone());
    drop(l);
    let s = Gc::new(SelfDestruct {
        me: RefCell::new(None),
        _bomb: Bomb(bombs.clone()),
    });
    *s.me.borrow_mut() = Some(s.clone());
    drop(s);
    let found = catch_unwind(gc::collect).expect("no panic escapes gc::collect");
    assert_eq!(found, 2);
    assert_eq!(bombs.get(), 1, "the value was dropped once");
    // The resurrected object is alive, in a generation, and freed normally.
    let back = RESURRECTED.with(|r| r.borrow_mut().pop()).unwrap();
    assert!(gc::objects(None)
        .iter()
        .any(|o| o.addr() == Gc::into_any(back.clone()).addr()));
    back.me.borrow_mut().take();
    drop(back);
    assert_eq!(drops.get(), 1);
    assert_collector_works();
}

/// `Bomb` for another thread: counts into an atomic.
struct ArcBomb(Arc<AtomicUsize>);

impl Drop for ArcBomb {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
        panic!("bomb went off at thread exit");
    }
}

#[derive(Trace)]
struct SelfDestructAtExit {
    me: RefCell<Option<Gc<SelfDestructAtExit>>>,
    #[gc(skip)]
    _bomb: ArcBomb,
}

impl Finalize for SelfDestructAtExit {
    fn finalize(&self) {
        self.me.borrow_mut().take();
    }
}

#[test]
fn a_panicking_drop_after_a_finalizer_at_thread_exit_does_not_abort() {
    let bombs = Arc::new(AtomicUsize::new(0));
    let b = bombs.clone();
    std::thread::spawn(move || {
        let s = Gc::new(SelfDestructAtExit {
            me: RefCell::new(None),
            _bomb: ArcBomb(b),
        });
        *s.me.borrow_mut() = Some(s.clone());
    })
    .join()
    .expect("the thread exits normally (an escaping panic would abort)");
    assert_eq!(
        bombs.load(SeqCst),
        1,
        "freed by the thread's last collection"
    );
}

// ---------------------------------------------------------------------------
// 2. A callback removing itself, whose captured state panics on drop
// ---------------------------------------------------------------------------

#[test]
fn a_self_removing_callback_whose_drop_panics_does_not_kill_the_collector() {
    gc::collect();
    let bombs = Rc::new(Cell::new(0));
    let bomb = Bomb(bombs.clone());
    let id = Rc::new(Cell::new(None));
    let my_id = id.clone();
    let registered = gc::add_callback(move |_, _| {
        let _captured = &bomb;
        if let Some(me) = my_id.get() {
            assert!(gc::remove_callback(me));
        }
    });
    id.set(Some(registered));
    let drops = Rc::new(Cell::new(0));
    make_cycles(2, &drops);
    let found = catch_unwind(gc::collect).expect("no panic escapes gc::collect");
    assert_eq!(found, 4);
    assert_eq!(drops.get(), 4);
    assert_eq!(bombs.get(), 1, "the removed callback was dropped once");
    assert!(!gc::remove_callback(registered));
    assert_collector_works();
}

// ---------------------------------------------------------------------------
// 3. A DOT writer that drops the last handle to a node of the graph
// ---------------------------------------------------------------------------

/// Big enough (over 512 bytes) to come from the system allocator, not the
/// pools: freeing it returns the memory at once, so a later read of it is
/// a use-after-free that Miri and AddressSanitizer see.
#[derive(Trace, Finalize)]
struct Big {
    child: RefCell<Option<Gc<Big>>>,
    #[gc(skip)]
    _pad: [u8; 600],
    #[gc(skip)]
    _drops: Counted,
}

fn big(drops: &Rc<Cell<usize>>, child: Option<Gc<Big>>) -> Gc<Big> {
    Gc::new(Big {
        child: RefCell::new(child),
        _pad: [0; 600],
        _drops: Counted(drops.clone()),
    })
}

fn dot_with(root: &GcAny, direction: DotDirection, on_first_write: impl FnOnce()) -> String {
    let (mut w, out) = OnWrite::new(once(on_first_write));
    let options = DotOptions {
        direction,
        ..DotOptions::default()
    };
    gc::write_dot(root, options, &mut w).unwrap();
    out.text()
}

#[test]
fn a_dot_writer_that_frees_a_referent_of_the_root() {
    gc::collect();
    let drops = Rc::new(Cell::new(0));
    // root -> leaf; the writer empties the root's edge, freeing the leaf.
    let root = big(&drops, Some(big(&drops, None)));
    let r = root.clone();
    let text = dot_with(
        &Gc::into_any(root.clone()),
        DotDirection::Referents,
        move || drop(r.child.borrow_mut().take()),
    );
    assert_eq!(text.matches("soundness::Big").count(), 2, "{text}");
    assert!(text.contains("n0 -> n1"), "{text}");
    assert_eq!(drops.get(), 1, "the leaf was freed once, after the walk");
    drop(root);
    assert_eq!(drops.get(), 2);
    assert_collector_works();
}

#[test]
fn a_dot_writer_that_frees_a_referrer_of_the_root() {
    gc::collect();
    let drops = Rc::new(Cell::new(0));
    // referrer -> root; only the writer holds the referrer.
    let root = big(&drops, None);
    let referrer = big(&drops, Some(root.clone()));
    let text = dot_with(
        &Gc::into_any(root.clone()),
        DotDirection::Referrers,
        move || drop(referrer),
    );
    assert_eq!(text.matches("soundness::Big").count(), 2, "{text}");
    assert!(text.contains("n1 -> n0"), "{text}");
    assert_eq!(
        drops.get(),
        1,
        "the referrer was freed once, after the walk"
    );
    drop(root);
    assert_eq!(drops.get(), 2);
    assert_collector_works();
}

// ---------------------------------------------------------------------------
// 4. An UNCOLLECTABLE debug sink that frees orphans
// ---------------------------------------------------------------------------

/// A field type whose `Drop` keeps a clone of a `Gc` it owns.
struct KeepOnDrop(Option<Gc<Member>>);

impl Drop for KeepOnDrop {
    fn drop(&mut self) {
        if let Some(g) = self.0.take() {
            // Cloning a handle to a dead member is allowed; reading it is not.
            MEMBERS_KEPT.with(|k| k.borrow_mut().push(g.clone()));
        }
    }
}

// SAFETY: reports the one `Gc` it owns.
unsafe impl Trace for KeepOnDrop {
    fn trace(&self, tracer: &mut Tracer) {
        self.0.trace(tracer);
    }
}
impl Finalize for KeepOnDrop {}

/// Big (system-allocated, see `Big`), so that a read of a freed member is
/// seen by Miri and AddressSanitizer.
#[derive(Trace, Finalize)]
struct Member {
    next: RefCell<Option<KeepOnDrop>>,
    #[gc(skip)]
    _pad: [u8; 600],
    #[gc(skip)]
    _drops: Counted,
}

thread_local! {
    static MEMBERS_KEPT: RefCell<Vec<Gc<Member>>> = const { RefCell::new(Vec::new()) };
}

#[test]
fn a_sink_that_frees_orphans_while_uncollectable_ones_are_reported() {
    gc::collect();
    let drops = Rc::new(Cell::new(0));
    let ring: Vec<Gc<Member>> = (0..5)
        .map(|_| {
            Gc::new(Member {
                next: RefCell::new(None),
                _pad: [0; 600],
                _drops: Counted(drops.clone()),
            })
        })
        .collect();
    for i in 0..5 {
        *ring[i].next.borrow_mut() = Some(KeepOnDrop(Some(ring[(i + 1) % 5].clone())));
    }
    drop(ring);
    // The sink drops every kept member handle when written to.
    let (sink, out) =
        OnWrite::new(|| drop(MEMBERS_KEPT.with(|k| std::mem::take(&mut *k.borrow_mut()))));
    gc::set_debug_output(Some(Box::new(sink)));
    gc::set_debug(DebugFlags::UNCOLLECTABLE);
    assert_eq!(gc::collect(), 5);
    gc::set_debug(DebugFlags::empty());
    gc::set_debug_output(None);
    let text = out.text();
    // Every member was kept by its predecessor's field drop: all orphans,
    // all reported, and the sink freed them all while reporting.
    assert_eq!(text.matches("gc: uncollectable").count(), 5, "{text}");
    assert!(MEMBERS_KEPT.with(|k| k.borrow().is_empty()));
    assert_eq!(drops.get(), 5);
    assert!(gc::stats()[2].uncollectable >= 5);
    assert_collector_works();
}

// ---------------------------------------------------------------------------
// 5. A `needs_tracking` whose answer changes between calls
// ---------------------------------------------------------------------------

thread_local! {
    static ASKED: Cell<usize> = const { Cell::new(0) };
}

/// Answers `needs_tracking` true and false in turn (a wrong, but safe,
/// implementation: it owns no `Gc`).
#[allow(dead_code)]
struct Fickle(u64, Counted);

impl Finalize for Fickle {}

// SAFETY: owns no `Gc`, so reporting nothing is exact; `needs_tracking`
// answering `true` for it is only a cost, `false` is correct.
unsafe impl Trace for Fickle {
    fn trace(&self, _: &mut Tracer) {}
    fn needs_tracking() -> bool {
        ASKED.with(|a| {
            a.set(a.get() + 1);
            a.get() % 2 == 1
        })
    }
    fn needs_tracking_shallow() -> bool {
        Self::needs_tracking()
    }
}

#[test]
fn a_fickle_needs_tracking_never_mismatches_layout_and_vtable() {
    gc::collect();
    let drops = Rc::new(Cell::new(0));
    let mut all = Vec::new();
    for i in 0..8 {
        all.push(Gc::new(Fickle(i, Counted(drops.clone()))));
    }
    let slices: Vec<Gc<[Fickle]>> = (0..4)
        .map(|i| {
            Gc::from(vec![
                Fickle(i, Counted(drops.clone())),
                Fickle(i, Counted(drops.clone())),
            ])
        })
        .collect();
    // Rebuilding the fat pointer of a slice reads its length from where its
    // allocation put it.
    for s in &slices {
        let w = Gc::downgrade(s);
        assert_eq!(w.upgrade().unwrap().len(), 2);
        let any = Gc::into_any(s.clone());
        assert_eq!(any.downcast::<[Fickle]>().ok().unwrap().len(), 2);
    }
    gc::collect();
    drop(all);
    drop(slices);
    assert_eq!(drops.get(), 16);
    assert_collector_works();
}

// ---------------------------------------------------------------------------
// 6. Cycles through objects that went through `Gc::get_mut`
// ---------------------------------------------------------------------------

#[test]
fn a_self_cycle_built_after_get_mut_is_collected() {
    gc::collect();
    let drops = Rc::new(Cell::new(0));
    let mut n = node(&drops);
    assert!(Gc::get_mut(&mut n).is_some());
    assert!(gc::objects(None).is_empty(), "detached while borrowed");
    link(&n, &n);
    assert_eq!(gc::objects(None).len(), 1, "the clone re-attached it");
    drop(n);
    assert_eq!(gc::collect(), 1);
    assert_eq!(drops.get(), 1);
}

#[test]
fn cycles_closed_through_weak_or_gc_any_after_get_mut_are_collected() {
    gc::collect();
    let drops = Rc::new(Cell::new(0));
    // Through a weak reference.
    let mut a = node(&drops);
    Gc::get_mut(&mut a).unwrap();
    let w: Weak<Node> = Gc::downgrade(&a);
    *a.next.borrow_mut() = w.upgrade();
    drop(a);
    // Through `GcAny`.
    let mut b = node(&drops);
    Gc::get_mut(&mut b).unwrap();
    let any: GcAny = Gc::into_any(b);
    let again = any.clone().downcast::<Node>().ok().unwrap();
    *again.next.borrow_mut() = Some(any.downcast::<Node>().ok().unwrap());
    drop(again);
    // Two detached objects closed into one cycle.
    let mut c = node(&drops);
    let mut d = node(&drops);
    Gc::get_mut(&mut c).unwrap();
    Gc::get_mut(&mut d).unwrap();
    link(&c, &d);
    link(&d, &c);
    drop((c, d));
    assert_eq!(gc::collect(), 4);
    assert_eq!(drops.get(), 4);
    drop(w);
}

#[test]
fn a_get_mut_cycle_left_at_thread_exit_is_freed() {
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    std::thread::spawn(move || {
        struct Tell(Arc<AtomicUsize>);
        impl Drop for Tell {
            fn drop(&mut self) {
                self.0.fetch_add(1, SeqCst);
            }
        }
        #[derive(Trace, Finalize)]
        struct N {
            me: RefCell<Option<Gc<N>>>,
            #[gc(skip)]
            _t: Tell,
        }
        let mut n = Gc::new(N {
            me: RefCell::new(None),
            _t: Tell(d),
        });
        Gc::get_mut(&mut n).unwrap();
        *n.me.borrow_mut() = Some(n.clone());
    })
    .join()
    .unwrap();
    assert_eq!(
        drops.load(SeqCst),
        1,
        "freed by the thread's last collection"
    );
}

// ---------------------------------------------------------------------------
// 7. Allocation sites of objects the collector freed
// ---------------------------------------------------------------------------

#[test]
fn allocation_sites_forget_objects_the_collector_freed() {
    gc::collect();
    gc::track_allocations(true);
    let drops = Rc::new(Cell::new(0));
    make_cycles(10, &drops);
    let a = node(&drops);
    let b = node(&drops);
    link(&a, &b);
    assert_eq!(gc::collect(), 20);
    let live: usize = gc::allocation_sites().iter().map(|s| s.count).sum();
    assert_eq!(live, 2, "only the live pair is left");
    // Orphans too are forgotten when their memory goes.
    drop((a, b));
    assert_eq!(
        gc::allocation_sites()
            .iter()
            .map(|s| s.count)
            .sum::<usize>(),
        0
    );
    gc::track_allocations(false);
}

// ---------------------------------------------------------------------------
// 8. Thread exit: garbage made during it, holders of handles
// ---------------------------------------------------------------------------

/// Counts finalizers and drops across threads.
#[derive(Default)]
struct Tally {
    finalized: AtomicUsize,
    dropped: AtomicUsize,
    made: AtomicUsize,
}

struct Dropped(Arc<Tally>);

impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.dropped.fetch_add(1, SeqCst);
    }
}

/// A self-cycle whose finalizer makes another one, `depth` times.
#[derive(Trace)]
struct Breeder {
    me: RefCell<Option<Gc<Breeder>>>,
    #[gc(skip)]
    depth: usize,
    #[gc(skip)]
    tally: Dropped,
}

impl Finalize for Breeder {
    fn finalize(&self) {
        self.tally.0.finalized.fetch_add(1, SeqCst);
        if self.depth > 0 {
            breed(self.depth - 1, &self.tally.0);
        }
    }
}

fn breed(depth: usize, tally: &Arc<Tally>) {
    tally.made.fetch_add(1, SeqCst);
    let b = Gc::new(Breeder {
        me: RefCell::new(None),
        depth,
        tally: Dropped(tally.clone()),
    });
    *b.me.borrow_mut() = Some(b.clone());
}

#[test]
fn cycles_made_by_finalizers_at_thread_exit_are_freed() {
    let tally = Arc::new(Tally::default());
    let t = tally.clone();
    std::thread::spawn(move || breed(5, &t)).join().unwrap();
    assert_eq!(tally.made.load(SeqCst), 6);
    assert_eq!(tally.finalized.load(SeqCst), 6);
    assert_eq!(
        tally.dropped.load(SeqCst),
        6,
        "every generation of garbage freed"
    );
}

#[derive(Trace, Finalize)]
struct Loop {
    me: RefCell<Option<Gc<Loop>>>,
    #[gc(skip)]
    _tally: Dropped,
}

fn loop_node(tally: &Arc<Tally>) -> Gc<Loop> {
    tally.made.fetch_add(1, SeqCst);
    let l = Gc::new(Loop {
        me: RefCell::new(None),
        _tally: Dropped(tally.clone()),
    });
    *l.me.borrow_mut() = Some(l.clone());
    l
}

/// A sink that owns a handle.
struct HoldingSink(#[allow(dead_code)] Gc<Loop>, Arc<Mutex<Vec<u8>>>);

impl Write for HoldingSink {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.1.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn handles_held_by_callbacks_sink_garbage_and_frozen_objects_are_freed_at_thread_exit() {
    let tally = Arc::new(Tally::default());
    let t = tally.clone();
    let text = Arc::new(Mutex::new(Vec::new()));
    let out = text.clone();
    std::thread::spawn(move || {
        // A callback holding a cycle member.
        let held = loop_node(&t);
        gc::add_callback(move |_, _| {
            let _ = &held;
        });
        // The debug sink holding one.
        gc::set_debug_output(Some(Box::new(HoldingSink(loop_node(&t), out))));
        // Garbage kept by SAVEALL.
        drop(loop_node(&t));
        gc::set_debug(DebugFlags::SAVEALL);
        assert_eq!(gc::collect(), 1);
        assert_eq!(gc::garbage().len(), 1);
        // A frozen garbage cycle.
        drop(loop_node(&t));
        gc::freeze();
        gc::set_debug(DebugFlags::SAVEALL | DebugFlags::UNCOLLECTABLE);
    })
    .join()
    .unwrap();
    assert_eq!(tally.made.load(SeqCst), 4);
    assert_eq!(tally.dropped.load(SeqCst), 4, "nothing leaked");
    // What was still alive when the report ran: the sink's own object.
    let text = String::from_utf8(text.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("gc: thread exit: 1 tracked objects are still referenced"),
        "{text}"
    );
    assert!(text.contains("Loop"), "{text}");
}

// ---------------------------------------------------------------------------
// 9. `set_debug_output` from inside the sink
// ---------------------------------------------------------------------------

#[test]
fn set_debug_output_from_inside_the_sink() {
    gc::collect();
    let second = Capture::default();
    let next = second.clone();
    // On its first write, the sink installs `second` in its place.
    let (sink, first) = OnWrite::new(once(move || gc::set_debug_output(Some(Box::new(next)))));
    gc::set_debug_output(Some(Box::new(sink)));
    gc::set_debug(DebugFlags::STATS);
    gc::collect();
    gc::collect();
    gc::set_debug(DebugFlags::empty());
    gc::set_debug_output(None);
    assert_eq!(
        first.text().matches("gc: done").count(),
        1,
        "{}",
        first.text()
    );
    assert_eq!(
        second.text().matches("gc: done").count(),
        1,
        "{}",
        second.text()
    );
}

// ---------------------------------------------------------------------------
// Every place user code runs: it drops, creates, resurrects and panics
// ---------------------------------------------------------------------------

thread_local! {
    /// Live objects user code holds on to (resurrection target).
    static STASH: RefCell<Vec<Gc<Node>>> = const { RefCell::new(Vec::new()) };
    /// A live cycle user code may break.
    static VICTIM: RefCell<Option<Gc<Node>>> = const { RefCell::new(None) };
}

/// What every piece of hostile user code does: make new garbage, drop the
/// handle to a live cycle (making it garbage), stash a new object, and
/// finally panic if asked.
fn mayhem(drops: &Rc<Cell<usize>>, panic: bool) {
    make_cycles(1, drops);
    VICTIM.with(|v| drop(v.borrow_mut().take()));
    STASH.with(|s| s.borrow_mut().push(node(drops)));
    let _ = gc::collect(); // 0 inside a collection; a collection otherwise
    if panic {
        panic!("user code panics on purpose");
    }
}

fn set_victim(drops: &Rc<Cell<usize>>) {
    let a = node(drops);
    let b = node(drops);
    link(&a, &b);
    link(&b, &a);
    VICTIM.with(|v| *v.borrow_mut() = Some(a));
}

/// Frees everything the test made and checks every object was dropped once.
fn settle(drops: &Rc<Cell<usize>>, made: usize) {
    STASH.with(|s| s.borrow_mut().clear());
    VICTIM.with(|v| drop(v.borrow_mut().take()));
    gc::collect();
    gc::collect();
    assert_eq!(drops.get(), made, "every object dropped exactly once");
    assert_collector_works();
}

#[test]
fn hostile_callbacks() {
    gc::collect();
    let drops = Rc::new(Cell::new(0));
    set_victim(&drops);
    let d = drops.clone();
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    let id = gc::add_callback(move |phase, info| {
        c.set(c.get() + 1);
        if phase == Phase::Start {
            assert_eq!((info.collected, info.uncollectable), (0, 0));
        }
        // Adding and removing callbacks from inside one.
        let extra = gc::add_callback(|_, _| {});
        assert!(gc::remove_callback(extra));
        mayhem(&d, phase == Phase::Stop);
    });
    make_cycles(2, &drops);
    // The `Start` callback runs before the analysis: the cycle it makes and
    // the victim it drops are garbage of this collection too.
    assert_eq!(catch_unwind(gc::collect).expect("contained"), 4 + 2 + 2);
    assert!(calls.get() >= 2);
    assert!(gc::remove_callback(id));
    // 2 victim + 4 garbage + per call (2 cycle + 1 stash).
    settle(&drops, 6 + 3 * calls.get());
}

#[derive(Trace)]
struct Hostile {
    me: RefCell<Option<Gc<Hostile>>>,
    #[gc(skip)]
    drops: Rc<Cell<usize>>,
    #[gc(skip)]
    _counted: Counted,
}

impl Finalize for Hostile {
    fn finalize(&self) {
        // Resurrect itself, then do everything else, then panic.
        HOSTILE_BACK.with(|b| b.borrow_mut().push(self.me.borrow().clone().unwrap()));
        mayhem(&self.drops, true);
    }
}

thread_local! {
    static HOSTILE_BACK: RefCell<Vec<Gc<Hostile>>> = const { RefCell::new(Vec::new()) };
}

#[test]
fn hostile_finalizers() {
    gc::collect();
    let drops = Rc::new(Cell::new(0));
    set_victim(&drops);
    for _ in 0..3 {
        let h = Gc::new(Hostile {
            me: RefCell::new(None),
            drops: drops.clone(),
            _counted: Counted(drops.clone()),
        });
        *h.me.borrow_mut() = Some(h.clone());
    }
    assert_eq!(catch_unwind(gc::collect).expect("contained"), 3);
    let back = HOSTILE_BACK.with(|b| std::mem::take(&mut *b.borrow_mut()));
    assert_eq!(back.len(), 3, "all resurrected");
    for h in back {
        assert!(gc::is_finalized(&h));
        h.me.borrow_mut().take();
    }
    // 2 victim + 3 hostile + per finalizer (2 + 1).
    settle(&drops, 2 + 3 + 3 * 3);
}

/// A field whose drop, during teardown, does everything.
struct HostileDrop(Rc<Cell<usize>>);

impl Drop for HostileDrop {
    fn drop(&mut self) {
        mayhem(&self.0, true);
    }
}

#[derive(Trace, Finalize)]
struct Doomed {
    next: RefCell<Option<Gc<Doomed>>>,
    #[gc(skip)]
    _hostile: HostileDrop,
    #[gc(skip)]
    _counted: Counted,
}

#[test]
fn hostile_drops_during_teardown() {
    gc::collect();
    let drops = Rc::new(Cell::new(0));
    set_victim(&drops);
    let ring: Vec<Gc<Doomed>> = (0..3)
        .map(|_| {
            Gc::new(Doomed {
                next: RefCell::new(None),
                _hostile: HostileDrop(drops.clone()),
                _counted: Counted(drops.clone()),
            })
        })
        .collect();
    for i in 0..3 {
        *ring[i].next.borrow_mut() = Some(ring[(i + 1) % 3].clone());
    }
    drop(ring);
    assert_eq!(catch_unwind(gc::collect).expect("contained"), 3);
    // 2 victim + 3 doomed + per drop (2 + 1).
    settle(&drops, 2 + 3 + 3 * 3);
}

#[test]
fn hostile_debug_sink() {
    gc::collect();
    let drops = Rc::new(Cell::new(0));
    set_victim(&drops);
    let writes = Rc::new(Cell::new(0));
    // Does everything on every write, and panics on every other one.
    let (w, d) = (writes.clone(), drops.clone());
    let (sink, _) = OnWrite::new(move || {
        w.set(w.get() + 1);
        mayhem(&d, w.get() % 2 == 0);
    });
    gc::set_debug_output(Some(Box::new(sink)));
    gc::set_debug(DebugFlags::STATS | DebugFlags::COLLECTABLE | DebugFlags::UNCOLLECTABLE);
    make_cycles(2, &drops);
    let found = catch_unwind(gc::collect).expect("contained");
    gc::set_debug(DebugFlags::empty());
    gc::set_debug_output(None);
    assert_eq!(found, 4);
    assert!(writes.get() >= 2);
    // 2 victim + 4 garbage + per write (2 + 1).
    settle(&drops, 6 + 3 * writes.get());
}

#[test]
fn hostile_dot_writer() {
    gc::collect();
    let drops = Rc::new(Cell::new(0));
    set_victim(&drops);
    let root = VICTIM.with(|v| Gc::into_any(v.borrow().clone().unwrap()));
    for direction in [DotDirection::Referrers, DotDirection::Referents] {
        // Does everything, then panics.
        let d = drops.clone();
        let (mut w, _) = OnWrite::new(move || mayhem(&d, true));
        let r = catch_unwind(AssertUnwindSafe(|| {
            gc::write_dot(
                &root,
                DotOptions {
                    direction,
                    ..DotOptions::default()
                },
                &mut w,
            )
        }));
        // The writer's own panic reaches the caller of `write_dot` (it is
        // the caller's code); the heap is consistent.
        assert!(r.is_err());
    }
    drop(root);
    // 2 victim + per write (2 + 1).
    settle(&drops, 2 + 2 * 3);
}

/// Traces a panic: `gc::referents` and friends propagate it to their
/// caller (outside a collection it is the caller's own code).
struct PanickyTrace;
impl Finalize for PanickyTrace {}
// SAFETY: owns no `Gc`; its `trace` panics, which the debug tools must
// survive.
unsafe impl Trace for PanickyTrace {
    fn trace(&self, _: &mut Tracer) {
        panic!("trace panics");
    }
    fn needs_tracking() -> bool {
        true
    }
}

#[test]
fn a_panicking_trace_in_the_debug_tools() {
    gc::collect();
    let p = Gc::into_any(Gc::new(PanickyTrace));
    assert!(catch_unwind(AssertUnwindSafe(|| gc::referents(&p))).is_err());
    assert!(catch_unwind(AssertUnwindSafe(|| gc::referrers(&p))).is_err());
    // Not inside a hook any more: collections run.
    drop(p);
    assert_collector_works();
}

/// A deep chain that only a garbage cycle holds, but that the analysis
/// does not see (frozen), is freed by counting during the teardown: its
/// destruction nests deeper than the limit and is queued, and drops that
/// panic leave part of the queue to the end of the collection, which drains
/// it with the panics contained.
#[derive(Trace, Finalize)]
struct Chain {
    next: Option<Gc<Chain>>,
    #[gc(skip)]
    _bomb: Option<Bomb>,
    #[gc(skip)]
    _counted: Counted,
}

#[derive(Trace, Finalize)]
struct ChainHead {
    me: RefCell<Option<Gc<ChainHead>>>,
    chain: RefCell<Option<Gc<Chain>>>,
}

#[test]
fn panics_in_queued_drops_during_a_collection() {
    gc::collect();
    let drops = Rc::new(Cell::new(0));
    let bombs = Rc::new(Cell::new(0));
    let mut chain: Option<Gc<Chain>> = None;
    for i in 0..40 {
        chain = Some(Gc::new(Chain {
            next: chain,
            _bomb: (i % 10 == 0).then(|| Bomb(bombs.clone())),
            _counted: Counted(drops.clone()),
        }));
    }
    gc::freeze();
    let head = Gc::new(ChainHead {
        me: RefCell::new(None),
        chain: RefCell::new(chain),
    });
    *head.me.borrow_mut() = Some(head.clone());
    drop(head);
    assert_eq!(catch_unwind(gc::collect).expect("contained"), 1);
    assert_eq!(drops.get(), 40, "the whole chain was freed");
    assert_eq!(bombs.get(), 4);
    assert_eq!(
        gc::freeze_count(),
        0,
        "its objects left the permanent generation"
    );
    gc::unfreeze();
    assert_collector_works();
}

// ---------------------------------------------------------------------------
// Found by the adversarial review of 2026-12-07
// ---------------------------------------------------------------------------

#[derive(Trace, Finalize, Clone)]
struct Shared {
    edges: RefCell<Vec<Gc<Shared>>>,
    #[gc(skip)]
    tag: u32,
}

fn shared(tag: u32) -> Gc<Shared> {
    Gc::new(Shared {
        edges: RefCell::new(Vec::new()),
        tag,
    })
}

/// `Gc::make_mut` of a shared object allocates a copy, and that allocation
/// may start an automatic collection, whose callbacks take a handle to
/// every object in generation 0 (`gc::objects`). The copy must not be among
/// them: before the fix the callback got a second handle to it and
/// `make_mut` panicked with an internal `unreachable!`, its promise of a
/// unique handle broken.
#[test]
fn make_mut_keeps_its_copy_unique_when_its_allocation_collects() {
    gc::collect();
    let grabbed: Rc<RefCell<Vec<GcAny>>> = Rc::default();
    let g = grabbed.clone();
    let id = gc::add_callback(move |phase, _| {
        if phase == Phase::Start {
            g.borrow_mut().extend(gc::objects(Some(0)));
        }
    });
    let (t0, t1, t2) = gc::threshold();
    gc::set_threshold(1, 10, 10);
    let mut a = shared(1);
    let b = a.clone();
    // Allocations until the next one is due to collect.
    let _x = shared(2);
    let _y = shared(3);
    let before = gc::stats()[0].collections;
    let result = catch_unwind(AssertUnwindSafe(|| Gc::make_mut(&mut a).tag = 10));
    let collected = gc::stats()[0].collections - before;
    gc::set_threshold(t0, t1, t2);
    gc::remove_callback(id);
    assert!(result.is_ok(), "make_mut panicked");
    assert!(
        collected > 0,
        "the copy's allocation collected (the case tested)"
    );
    assert_eq!(Gc::strong_count(&a), 1, "the copy has one handle");
    assert!(!grabbed.borrow().iter().any(|o| o
        .downcast_ref::<Shared>()
        .is_some_and(|s| std::ptr::eq(s, &*a))));
    assert_eq!((a.tag, b.tag), (10, 1));
    grabbed.borrow_mut().clear();
    drop((a, b));
    assert_collector_works();
}

/// `gc::clear_garbage` drops every saved handle even when one of those
/// drops panics; the first panic goes on afterwards. Before the fix the
/// handles after the panicking one were never given back, so their objects
/// could never be freed.
#[test]
fn clear_garbage_drops_every_handle_even_if_a_drop_panics() {
    gc::collect();
    let drops = Rc::new(Cell::new(0));
    let bombs = Rc::new(Cell::new(0));
    for _ in 0..3 {
        let n = Gc::new(Node {
            next: RefCell::new(None),
            _drops: Counted(drops.clone()),
            _bomb: Some(Bomb(bombs.clone())),
        });
        *n.next.borrow_mut() = Some(n.clone());
    }
    gc::set_debug(DebugFlags::SAVEALL);
    assert_eq!(gc::collect(), 3);
    gc::set_debug(DebugFlags::empty());
    // Break the cycles, so that the list's handles are the last ones: each
    // drop in `clear_garbage` frees its node and sets off its bomb.
    for g in gc::garbage() {
        g.downcast::<Node>().ok().unwrap().next.borrow_mut().take();
    }
    assert!(
        catch_unwind(gc::clear_garbage).is_err(),
        "the first panic goes on"
    );
    assert_eq!(bombs.get(), 3, "every drop ran");
    assert_eq!(drops.get(), 3, "every node was freed");
    assert!(gc::garbage().is_empty());
    assert_collector_works();
}
