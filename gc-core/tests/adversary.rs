//! Adversarial programs against the issue-15 fixes (from a review): safe-code programs
//! that try to break the collector and the debug tools. Each test states
//! what the documentation promises; a failing test is a finding.

use std::cell::{Cell, RefCell};
use std::io::{self, Write};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;

use gc_core::gc::{self, DebugFlags};
use gc_core::{Finalize, Gc, Trace};

/// Counts drops of the value it is part of.
struct Counted(Rc<Cell<usize>>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

/// Big (system-allocated) node, so that use-after-free is visible to Miri.
#[derive(Trace, Finalize)]
struct N {
    next: RefCell<Option<Gc<N>>>,
    #[gc(skip)]
    _d: Counted,
    #[gc(skip)]
    _pad: [u8; 600],
}

fn n(drops: &Rc<Cell<usize>>, next: Option<Gc<N>>) -> Gc<N> {
    Gc::new(N {
        next: RefCell::new(next),
        _d: Counted(drops.clone()),
        _pad: [0; 600],
    })
}

// ---------------------------------------------------------------------------
// A. `Heap::reattach` claims a cycle through a `get_mut`-detached object can
//    only be closed with a new handle. Counterexample: close it by *moving*
//    the detached object's only handle into an object reached through a
//    handle of its own.
// ---------------------------------------------------------------------------

#[test]
fn a_cycle_closed_by_moving_the_detached_handle_is_found_by_one_collection() {
    gc::collect();
    let drops = Rc::new(Cell::new(0));
    let y = n(&drops, None);
    // x -> y
    let mut x = n(&drops, Some(y.clone()));
    Gc::get_mut(&mut x).unwrap(); // x detached (count 1, no weak)
                                  // y -> x: the only handle to x is moved, no new handle is made.
    *y.next.borrow_mut() = Some(x);
    drop(y);
    // x <-> y is cyclic garbage now; DESIGN: `collect()` counts the
    // objects found unreachable and frees what a full trial deletion frees.
    let found = gc::collect();
    let found2 = gc::collect();
    assert_eq!(
        (found, found2, drops.get()),
        (2, 0, 2),
        "the first full collection should find the 2-cycle"
    );
}

#[test]
fn a_chain_of_detached_objects_in_a_cycle_needs_one_collection_per_link() {
    gc::collect();
    let drops = Rc::new(Cell::new(0));
    let y = n(&drops, None);
    let mut x2 = n(&drops, Some(y.clone())); // x2 -> y
    Gc::get_mut(&mut x2).unwrap();
    let mut x1 = n(&drops, Some(x2)); // x1 -> x2 (moved)
    Gc::get_mut(&mut x1).unwrap();
    let mut x0 = n(&drops, Some(x1)); // x0 -> x1 (moved)
    Gc::get_mut(&mut x0).unwrap();
    *y.next.borrow_mut() = Some(x0); // y -> x0 (moved): y -> x0 -> x1 -> x2 -> y
    drop(y);
    let mut found = Vec::new();
    for _ in 0..5 {
        found.push(gc::collect());
    }
    assert_eq!(
        found,
        vec![4, 0, 0, 0, 0],
        "one full collection should free the 4-cycle"
    );
}

/// Counts into an atomic, for other threads.
struct Tell(Arc<AtomicUsize>);

impl Drop for Tell {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[derive(Trace, Finalize)]
struct T {
    next: RefCell<Option<Gc<T>>>,
    #[gc(skip)]
    _t: Tell,
}

#[test]
fn a_cycle_closed_by_moving_the_detached_handle_is_freed_at_thread_exit() {
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    std::thread::spawn(move || {
        let t = |next| {
            Gc::new(T {
                next: RefCell::new(next),
                _t: Tell(d.clone()),
            })
        };
        let y = t(None);
        let mut x = t(Some(y.clone()));
        Gc::get_mut(&mut x).unwrap();
        *y.next.borrow_mut() = Some(x);
    })
    .join()
    .unwrap();
    // heap/mod.rs `shutdown`: "everything the thread can no longer reach
    // is freed" (detached objects "can't be cyclic garbage").
    assert_eq!(drops.load(SeqCst), 2, "the 2-cycle leaked at thread exit");
}

// ---------------------------------------------------------------------------
// B. Thread exit: user code registered *during* shutdown ends up in the
//    heap box, which is dropped without `catch_unwind` when the pool is
//    empty ("thread exit never aborts the process").
// ---------------------------------------------------------------------------

const CHILD: &str = "GC_ADVERSARY_CHILD";

/// Panics when dropped.
struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("PanicOnDrop dropped");
    }
}

#[derive(Trace)]
struct AddsCallback {
    me: RefCell<Option<Gc<AddsCallback>>>,
}

impl Finalize for AddsCallback {
    fn finalize(&self) {
        // Runs in the thread-exit collection.
        let p = PanicOnDrop;
        gc::add_callback(move |_, _| {
            let _ = &p;
        });
    }
}

/// Runs `body` in a child process (this test binary, filtered to `name`) and
/// returns (success, stderr).
fn in_child(name: &str, body: impl FnOnce()) -> Option<(bool, String)> {
    if std::env::var_os(CHILD).is_some() {
        body();
        return None;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    Some((
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

#[test]
#[cfg_attr(miri, ignore = "spawns a child process")]
fn a_callback_added_by_a_finalizer_at_thread_exit_does_not_abort() {
    let r = in_child(
        "a_callback_added_by_a_finalizer_at_thread_exit_does_not_abort",
        || {
            std::thread::spawn(|| {
                let a = Gc::new(AddsCallback {
                    me: RefCell::new(None),
                });
                *a.me.borrow_mut() = Some(a.clone());
            })
            .join()
            .unwrap();
        },
    );
    if let Some((ok, stderr)) = r {
        assert!(ok, "child died: {stderr}");
    }
}

/// A sink whose drop installs another sink, whose drop panics.
struct Reinstalls;

impl Write for Reinstalls {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Reinstalls {
    fn drop(&mut self) {
        gc::set_debug_output(Some(Box::new(PanicsOnDropSink)));
    }
}

struct PanicsOnDropSink;

impl Write for PanicsOnDropSink {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for PanicsOnDropSink {
    fn drop(&mut self) {
        panic!("sink dropped");
    }
}

#[test]
#[cfg_attr(miri, ignore = "spawns a child process")]
fn a_sink_installed_by_the_sinks_drop_at_thread_exit_does_not_abort() {
    let r = in_child(
        "a_sink_installed_by_the_sinks_drop_at_thread_exit_does_not_abort",
        || {
            std::thread::spawn(|| {
                gc::set_debug_output(Some(Box::new(Reinstalls)));
            })
            .join()
            .unwrap();
        },
    );
    if let Some((ok, stderr)) = r {
        assert!(ok, "child died: {stderr}");
    }
}

// ---------------------------------------------------------------------------
// C. `get_mut`/`try_unwrap`/re-attachment on garbage members from inside
//    finalizers (detaching a member of the garbage under finalization).
// ---------------------------------------------------------------------------

thread_local! {
    static KEEP: RefCell<Vec<Gc<F>>> = const { RefCell::new(Vec::new()) };
}

/// What a finalizer does to the object its `next` points to.
#[derive(Clone, Copy, PartialEq)]
enum Act {
    /// Take the handle out, `get_mut` it, write to it, put it back.
    DetachAndPutBack,
    /// Take the handle out, `get_mut` it, keep it in `KEEP`.
    DetachAndKeep,
    /// Take the handle out, `try_unwrap` it, drop the value.
    Unwrap,
    /// Take the handle out, `get_mut` it, clone it (re-attach during the
    /// collection), drop the clone, `get_mut` again (detach from
    /// `reattached`), put it back.
    DetachReattachDetach,
    Nothing,
}

#[derive(Trace)]
struct F {
    next: RefCell<Option<Gc<F>>>,
    #[gc(skip)]
    act: Cell<Act>,
    #[gc(skip)]
    writes: Cell<usize>,
    #[gc(skip)]
    _d: Counted,
    #[gc(skip)]
    _pad: [u8; 600],
}

impl Finalize for F {
    fn finalize(&self) {
        let act = self.act.replace(Act::Nothing);
        if act == Act::Nothing {
            return;
        }
        let Some(mut h) = self.next.borrow_mut().take() else {
            return;
        };
        match act {
            Act::DetachAndPutBack => {
                if let Some(v) = Gc::get_mut(&mut h) {
                    v.writes.set(v.writes.get() + 1);
                    v._pad[599] = 1;
                }
                *self.next.borrow_mut() = Some(h);
            }
            Act::DetachAndKeep => {
                if let Some(v) = Gc::get_mut(&mut h) {
                    v._pad[0] = 7;
                }
                KEEP.with(|k| k.borrow_mut().push(h));
            }
            Act::Unwrap => match Gc::try_unwrap(h) {
                Ok(v) => drop(v),
                Err(h) => *self.next.borrow_mut() = Some(h),
            },
            Act::DetachReattachDetach => {
                let _ = Gc::get_mut(&mut h).map(|v| v._pad[1] = 1);
                let c = h.clone();
                let _ = gc::collect(); // 0: inside a collection
                drop(c);
                let _ = Gc::get_mut(&mut h).map(|v| v._pad[2] = 1);
                *self.next.borrow_mut() = Some(h);
            }
            Act::Nothing => {}
        }
    }
}

fn f(drops: &Rc<Cell<usize>>, act: Act) -> Gc<F> {
    Gc::new(F {
        next: RefCell::new(None),
        act: Cell::new(act),
        writes: Cell::new(0),
        _d: Counted(drops.clone()),
        _pad: [0; 600],
    })
}

/// A ring of `acts.len()` objects, dropped.
fn ring(drops: &Rc<Cell<usize>>, acts: &[Act]) {
    let objs: Vec<Gc<F>> = acts.iter().map(|&a| f(drops, a)).collect();
    for i in 0..objs.len() {
        *objs[i].next.borrow_mut() = Some(objs[(i + 1) % objs.len()].clone());
    }
}

fn collect_until_zero() -> usize {
    let mut total = 0;
    for _ in 0..10 {
        let n = gc::collect();
        total += n;
        if n == 0 {
            break;
        }
    }
    total
}

#[test]
fn finalizers_that_detach_garbage_members_and_put_them_back() {
    gc::collect();
    let drops = Rc::new(Cell::new(0));
    ring(&drops, &[Act::DetachAndPutBack, Act::Nothing, Act::Nothing]);
    ring(&drops, &[Act::DetachAndPutBack, Act::DetachAndPutBack]);
    ring(
        &drops,
        &[
            Act::DetachReattachDetach,
            Act::Nothing,
            Act::DetachReattachDetach,
        ],
    );
    ring(&drops, &[Act::DetachAndPutBack]); // self-loop: get_mut fails (count 2)
    collect_until_zero();
    for _ in 0..4 {
        gc::collect();
    }
    assert_eq!(drops.get(), 3 + 2 + 3 + 1, "every ring member freed once");
}

#[test]
fn finalizers_that_detach_and_keep_or_unwrap_garbage_members() {
    gc::collect();
    let drops = Rc::new(Cell::new(0));
    ring(&drops, &[Act::DetachAndKeep, Act::Nothing, Act::Nothing]);
    ring(
        &drops,
        &[Act::Unwrap, Act::Nothing, Act::Unwrap, Act::Nothing],
    );
    collect_until_zero();
    let kept = KEEP.with(|k| std::mem::take(&mut *k.borrow_mut()));
    assert_eq!(kept.len(), 1);
    for k in &kept {
        assert_eq!(k._pad[0], 7);
        let _ = gc::referents(&Gc::into_any(k.clone()));
    }
    drop(kept);
    for _ in 0..4 {
        gc::collect();
    }
    assert_eq!(drops.get(), 3 + 4, "every ring member freed once");
}

// ---------------------------------------------------------------------------
// D. Debug tools called from a field's `Drop` during teardown, and on a
//    graph that contains an orphan.
// ---------------------------------------------------------------------------

thread_local! {
    static ORPHANS: RefCell<Vec<Gc<M>>> = const { RefCell::new(Vec::new()) };
    static LIVE: RefCell<Option<Gc<M>>> = const { RefCell::new(None) };
}

/// A field whose drop keeps a clone of a `Gc` to a dying member, stores it
/// in a live object, and runs every debug tool.
struct Meddler(Option<Gc<M>>);

// SAFETY: reports the one `Gc` it owns.
unsafe impl Trace for Meddler {
    fn trace(&self, tracer: &mut gc_core::Tracer) {
        self.0.trace(tracer);
    }
}
impl Finalize for Meddler {}

impl Drop for Meddler {
    fn drop(&mut self) {
        let Some(m) = self.0.take() else { return };
        ORPHANS.with(|o| o.borrow_mut().push(m.clone()));
        LIVE.with(|l| {
            if let Some(live) = &*l.borrow() {
                *live.next.borrow_mut() = Some(m.clone());
                let any = Gc::into_any(live.clone());
                let _ = gc::referents(&any);
                let _ = gc::referrers(&any);
                let _ = gc::objects(None);
                for direction in [gc::DotDirection::Referrers, gc::DotDirection::Referents] {
                    let mut out = Vec::new();
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        gc::write_dot(
                            &any,
                            gc::DotOptions {
                                direction,
                                ..Default::default()
                            },
                            &mut out,
                        )
                    }));
                }
            }
        });
        let any = Gc::into_any(m);
        let _ = gc::referrers(&any);
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| gc::referents(&any)));
    }
}

#[derive(Trace, Finalize)]
struct M {
    next: RefCell<Option<Gc<M>>>,
    meddler: RefCell<Meddler>,
    #[gc(skip)]
    _d: Counted,
    #[gc(skip)]
    _pad: [u8; 600],
}

fn m(drops: &Rc<Cell<usize>>) -> Gc<M> {
    Gc::new(M {
        next: RefCell::new(None),
        meddler: RefCell::new(Meddler(None)),
        _d: Counted(drops.clone()),
        _pad: [0; 600],
    })
}

#[test]
fn debug_tools_from_drops_during_teardown() {
    gc::collect();
    let drops = Rc::new(Cell::new(0));
    LIVE.with(|l| *l.borrow_mut() = Some(m(&drops)));
    {
        let a = m(&drops);
        let b = m(&drops);
        a.meddler.borrow_mut().0 = Some(b.clone());
        b.meddler.borrow_mut().0 = Some(a.clone());
    }
    assert_eq!(gc::collect(), 2);
    let orphans = ORPHANS.with(|o| o.borrow().len());
    assert_eq!(orphans, 2);
    // The orphans are dead: deref panics, the tools do not read them.
    ORPHANS.with(|o| {
        for g in o.borrow().iter() {
            assert!(std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| g._pad[0])).is_err());
            let _ = gc::referrers(&Gc::into_any(g.clone()));
        }
    });
    ORPHANS.with(|o| o.borrow_mut().clear());
    LIVE.with(|l| drop(l.borrow_mut().take()));
    gc::collect();
    assert_eq!(drops.get(), 3);
}

#[derive(Trace, Finalize)]
struct Holder {
    held: RefCell<Vec<Gc<M>>>,
}

#[test]
fn write_dot_over_a_graph_that_reaches_an_orphan() {
    gc::collect();
    let drops = Rc::new(Cell::new(0));
    {
        let a = m(&drops);
        a.meddler.borrow_mut().0 = Some(a.clone());
    }
    assert_eq!(gc::collect(), 1);
    let orphan = ORPHANS.with(|o| o.borrow_mut().pop()).unwrap();
    // A live object refers to an orphan (what UNCOLLECTABLE reports).
    let holder = Gc::into_any(Gc::new(Holder {
        held: RefCell::new(vec![orphan]),
    }));
    // Investigating it with the leak tools: referents/DOT of the holder.
    let referents = gc::referents(&holder);
    assert_eq!(referents.len(), 1);
    drop(referents);
    let mut out = Vec::new();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        gc::write_dot(
            &holder,
            gc::DotOptions {
                direction: gc::DotDirection::Referents,
                ..Default::default()
            },
            &mut out,
        )
    }));
    drop(holder);
    assert!(
        r.is_ok(),
        "write_dot panics when the graph reaches an orphan (it traces the dead value's node)"
    );
    assert_eq!(drops.get(), 1);
}

// ---------------------------------------------------------------------------
// E. `needs_tracking`/`has_finalizer` panicking in `From<Vec<T>>`: SAFETY.md
//    says it "propagates to the caller, before anything is allocated".
// ---------------------------------------------------------------------------

struct Grumpy(#[allow(dead_code)] Counted);
impl Finalize for Grumpy {}
// SAFETY: owns no `Gc`; reports nothing. `needs_tracking` panics, which
// the Trace contract allows (rule 6: "answer anything").
unsafe impl Trace for Grumpy {
    fn trace(&self, _: &mut gc_core::Tracer) {}
    fn needs_tracking() -> bool {
        panic!("needs_tracking panics")
    }
}

#[test]
fn a_panicking_needs_tracking_in_from_vec_drops_the_elements() {
    let drops = Rc::new(Cell::new(0));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        Gc::new(Grumpy(Counted(drops.clone())))
    }));
    assert!(r.is_err());
    assert_eq!(drops.get(), 1, "Gc::new drops the value");
    let v: Vec<Grumpy> = (0..3).map(|_| Grumpy(Counted(drops.clone()))).collect();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Gc::<[Grumpy]>::from(v)));
    assert!(r.is_err());
    assert_eq!(
        drops.get(),
        4,
        "From<Vec<T>> leaks the vector and its elements"
    );
}

// ---------------------------------------------------------------------------
// F. Thread exit: a thread-local destroyed after the heap's shutdown holds
//    handles, weaks and a detached object, and uses them.
// ---------------------------------------------------------------------------

struct LateUser {
    cycle: Option<Gc<T>>,
    weak: gc_core::Weak<T>,
    detached: Option<Gc<T>>,
    tell: Arc<AtomicUsize>,
}

impl Drop for LateUser {
    fn drop(&mut self) {
        // Runs after the heap shut down (registered before the heap was
        // created, so destroyed after it).
        let a = self.weak.upgrade();
        let c = self.cycle.clone();
        if let Some(d) = &mut self.detached {
            let _ = Gc::get_mut(d);
            let d2 = d.clone();
            let _ = Gc::downgrade(&d2);
        }
        let _ = gc::collect();
        let fresh = Gc::new(T {
            next: RefCell::new(c.clone()),
            _t: Tell(self.tell.clone()),
        });
        *fresh.next.borrow_mut() = Some(fresh.clone());
        let _ = gc::objects(None);
        drop((a, c, fresh));
        self.cycle = None;
        self.detached = None;
        self.tell.fetch_add(1000, SeqCst);
    }
}

thread_local! {
    static LATE: RefCell<Option<LateUser>> = const { RefCell::new(None) };
}

#[test]
// The objects it holds are leaked on purpose (documented); Miri reports
// them. Run with MIRIFLAGS=-Zmiri-ignore-leaks: no UB.
#[cfg_attr(miri, ignore = "leaks by design; run with -Zmiri-ignore-leaks")]
fn a_thread_local_destroyed_after_the_heap_uses_its_handles() {
    let tell = Arc::new(AtomicUsize::new(0));
    let t2 = tell.clone();
    std::thread::spawn(move || {
        // Register LATE's destructor before the heap exists.
        LATE.with(|l| drop(l.borrow()));
        let t = |next| {
            Gc::new(T {
                next: RefCell::new(next),
                _t: Tell(t2.clone()),
            })
        };
        let a = t(None);
        let b = t(Some(a.clone()));
        *a.next.borrow_mut() = Some(b.clone());
        let mut d = t(None);
        Gc::get_mut(&mut d).unwrap();
        let user = LateUser {
            weak: Gc::downgrade(&a),
            cycle: Some(a),
            detached: Some(d),
            tell: t2.clone(),
        };
        drop(b);
        LATE.with(|l| *l.borrow_mut() = Some(user));
    })
    .join()
    .unwrap();
    // The late destructor ran; what it held was leaked, not freed.
    assert!(tell.load(SeqCst) >= 1000, "late destructor ran");
}

/// A self-cycle whose finalizer (run by the thread-exit collection)
/// registers a callback holding a new self-cycle.
#[derive(Trace)]
struct Registers {
    me: RefCell<Option<Gc<Registers>>>,
    #[gc(skip)]
    tell: Arc<AtomicUsize>,
    #[gc(skip)]
    _t: Tell,
}

impl Finalize for Registers {
    fn finalize(&self) {
        let held = Gc::new(T {
            next: RefCell::new(None),
            _t: Tell(self.tell.clone()),
        });
        *held.next.borrow_mut() = Some(held.clone());
        gc::add_callback(move |_, _| {
            let _ = &held;
        });
    }
}

#[test]
fn a_callback_registered_during_thread_exit_is_dropped() {
    let tell = Arc::new(AtomicUsize::new(0));
    let t = tell.clone();
    std::thread::spawn(move || {
        let r = Gc::new(Registers {
            me: RefCell::new(None),
            tell: t.clone(),
            _t: Tell(t),
        });
        *r.me.borrow_mut() = Some(r.clone());
    })
    .join()
    .unwrap();
    assert_eq!(
        tell.load(SeqCst),
        2,
        "the callback (and the cycle it holds) registered during thread exit leaked"
    );
}

// ---------------------------------------------------------------------------
// G. `Trace::owns_resource` of a hand-written impl (DebugFlags::RESOURCES)
//    that does everything through thread-locals, then panics with a payload
//    whose own drop does everything again.
// ---------------------------------------------------------------------------

thread_local! {
    static RES_STASH: RefCell<Vec<Gc<N>>> = const { RefCell::new(Vec::new()) };
    static RES_DROPS: Rc<Cell<usize>> = Rc::new(Cell::new(0));
}

fn res_mayhem() {
    let drops = RES_DROPS.with(Rc::clone);
    // Drop the last handle to a live 2-cycle member and to a plain object.
    let taken = RES_STASH.with(|s| std::mem::take(&mut *s.borrow_mut()));
    let mut kept = Vec::new();
    for mut g in taken {
        if let Some(v) = Gc::get_mut(&mut g) {
            v._pad[0] = 9; // detached
            kept.push(g);
        }
    }
    // New garbage and a new survivor.
    let a = n(&drops, None);
    let b = n(&drops, Some(a.clone()));
    *a.next.borrow_mut() = Some(b);
    RES_STASH.with(|s| s.borrow_mut().push(n(&drops, None)));
    drop(kept);
    let _ = gc::collect();
    let _ = gc::objects(None);
    gc::set_debug_output(None);
}

struct Payload;

impl Drop for Payload {
    fn drop(&mut self) {
        res_mayhem();
    }
}

struct Res {
    me: RefCell<Option<Gc<Res>>>,
    _d: Counted,
    _pad: [u8; 600],
}
impl Finalize for Res {}
// SAFETY: reports the one `Gc` it owns, the same every time, and touches
// nothing. (`owns_resource` is not part of the tracing contract.)
unsafe impl Trace for Res {
    fn trace(&self, t: &mut gc_core::Tracer) {
        self.me.trace(t)
    }
    fn owns_resource() -> bool {
        res_mayhem();
        std::panic::panic_any(Payload)
    }
}

#[test]
fn owns_resource_that_does_everything_and_panics() {
    gc::collect();
    let drops = RES_DROPS.with(Rc::clone);
    for _ in 0..3 {
        RES_STASH.with(|s| s.borrow_mut().push(n(&drops, None)));
    }
    for _ in 0..3 {
        let r = Gc::new(Res {
            me: RefCell::new(None),
            _d: Counted(drops.clone()),
            _pad: [0; 600],
        });
        *r.me.borrow_mut() = Some(r.clone());
    }
    gc::set_debug(DebugFlags::RESOURCES);
    let found = gc::collect();
    gc::set_debug(DebugFlags::empty());
    assert_eq!(found, 3, "the three Res self-cycles");
    RES_STASH.with(|s| s.borrow_mut().clear());
    for _ in 0..5 {
        gc::collect();
    }
    // 3 stash + 3 res + per owns_resource call and per payload drop
    // (2 garbage + 1 stash): 3 calls, 3 payloads.
    assert_eq!(drops.get(), 3 + 3 + 6 * 3);
}

struct AddsCallbackLate;

impl Drop for AddsCallbackLate {
    fn drop(&mut self) {
        // After the heap shut down, every other `gc::` function is a no-op.
        let _ = gc::add_callback(|_, _| {});
    }
}

thread_local! {
    static ADDS_LATE: RefCell<Option<AddsCallbackLate>> = const { RefCell::new(None) };
}

#[test]
#[cfg_attr(miri, ignore = "spawns a child process")]
fn add_callback_from_a_thread_local_destroyed_after_the_heap_does_not_abort() {
    let r = in_child(
        "add_callback_from_a_thread_local_destroyed_after_the_heap_does_not_abort",
        || {
            std::thread::spawn(|| {
                ADDS_LATE.with(|a| *a.borrow_mut() = Some(AddsCallbackLate));
                drop(Gc::new(1_u8)); // the heap exists (destroyed first)
            })
            .join()
            .unwrap();
        },
    );
    if let Some((ok, stderr)) = r {
        assert!(ok, "child died: {stderr}");
    }
}
