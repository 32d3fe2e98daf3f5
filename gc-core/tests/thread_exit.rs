//! Thread exit: the heap of a thread runs one last full collection from its
//! thread-local destructor; whatever still cannot be freed (referenced from
//! other thread-locals) is leaked, never freed under a live reference, and
//! `Gc`s used by thread-local destructors that run after the heap is gone do
//! not crash.
//!
//! Every scenario runs on a thread made with `std::thread::spawn` and reports
//! through `Arc`s of atomics. The heap registers its destructor when it is
//! created; a thread-local first touched before that has its destructor
//! registered earlier. In which order the destructors then run is verified by
//! `tls_destructor_order` (with plain std types) instead of assumed; each test
//! derives what it expects from that, so both orders are exercised and the
//! assertions hold for either.
//!
//! Scenarios that leak by design (an object still referenced when the heap
//! shuts down is never freed) are ignored under Miri, whose leak check would
//! report them; run them with `MIRIFLAGS=-Zmiri-ignore-leaks` and
//! `cargo +nightly miri test -p gc-core --test thread_exit -- --include-ignored`.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::thread;

use gc_core::{gc, Finalize, Gc, Trace, Weak};

const NONE: usize = usize::MAX;

// ---------------------------------------------------------------------------
// Destructor order of thread-locals on this platform
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TlsOrder {
    /// The thread-local registered last is destroyed first (glibc, Miri).
    ReverseRegistration,
    /// The thread-local registered first is destroyed first.
    Registration,
}

/// Observe the order in which a spawned thread destroys two thread-locals
/// first touched one after the other.
fn tls_destructor_order() -> TlsOrder {
    struct Probe(&'static str, Arc<Mutex<Vec<&'static str>>>);
    impl Drop for Probe {
        fn drop(&mut self) {
            self.1.lock().unwrap().push(self.0);
        }
    }
    thread_local! {
        static FIRST: RefCell<Option<Probe>> = const { RefCell::new(None) };
        static SECOND: RefCell<Option<Probe>> = const { RefCell::new(None) };
    }
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    thread::spawn(move || {
        FIRST.with(|p| *p.borrow_mut() = Some(Probe("first", l.clone())));
        SECOND.with(|p| *p.borrow_mut() = Some(Probe("second", l)));
    })
    .join()
    .unwrap();
    let log = log.lock().unwrap().clone();
    match log[..] {
        ["second", "first"] => TlsOrder::ReverseRegistration,
        ["first", "second"] => TlsOrder::Registration,
        _ => panic!("unexpected thread-local destructor order {log:?}"),
    }
}

/// Whether the destructor of a thread-local registered *before* the heap
/// runs after the heap's.
fn earlier_registered_runs_later() -> bool {
    tls_destructor_order() == TlsOrder::ReverseRegistration
}

#[test]
fn tls_destructor_order_is_deterministic() {
    let order = tls_destructor_order();
    assert_eq!(order, tls_destructor_order());
    if cfg!(target_os = "linux") {
        // glibc's __cxa_thread_atexit_impl runs destructors last-in, first-out.
        assert_eq!(order, TlsOrder::ReverseRegistration);
    }
}

// ---------------------------------------------------------------------------
// Shared bookkeeping
// ---------------------------------------------------------------------------

/// What happened on the thread, reported to the test thread.
struct Events {
    seq: AtomicUsize,
    /// Tick of the first finalizer of plain garbage: the heap's final collection.
    shutdown_at: AtomicUsize,
    /// Tick at which the keeper thread-local was destroyed.
    keeper_dropped_at: AtomicUsize,
    garbage_finalized: AtomicUsize,
    garbage_dropped: AtomicUsize,
    kept_finalized: AtomicUsize,
    kept_dropped: AtomicUsize,
    /// A kept object was finalized or dropped while the keeper still held it.
    violations: AtomicUsize,
    keeper_holds: AtomicBool,
    /// Set by a thread-local destructor that finished its work.
    late_done: AtomicBool,
    late_collect: AtomicUsize,
    late_finalized: AtomicUsize,
    /// Finalizers that found a thread-local already destroyed.
    tls_gone: AtomicUsize,
}

impl Events {
    fn new() -> Arc<Events> {
        Arc::new(Events {
            seq: AtomicUsize::new(0),
            shutdown_at: AtomicUsize::new(NONE),
            keeper_dropped_at: AtomicUsize::new(NONE),
            garbage_finalized: AtomicUsize::new(0),
            garbage_dropped: AtomicUsize::new(0),
            kept_finalized: AtomicUsize::new(0),
            kept_dropped: AtomicUsize::new(0),
            violations: AtomicUsize::new(0),
            keeper_holds: AtomicBool::new(false),
            late_done: AtomicBool::new(false),
            late_collect: AtomicUsize::new(NONE),
            late_finalized: AtomicUsize::new(0),
            tls_gone: AtomicUsize::new(0),
        })
    }

    fn tick(&self) -> usize {
        self.seq.fetch_add(1, SeqCst)
    }

    fn get(a: &AtomicUsize) -> usize {
        a.load(SeqCst)
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
    /// Unreferenced garbage left behind when the thread ends.
    Garbage,
    /// Referenced from another thread-local.
    Kept,
    /// Made by a thread-local destructor.
    Late,
}

/// Counts drops by role and checks kept objects are not dropped while held.
struct DropCheck(Role, Arc<Events>);

impl Drop for DropCheck {
    fn drop(&mut self) {
        let ev = &self.1;
        match self.0 {
            Role::Garbage => {
                ev.garbage_dropped.fetch_add(1, SeqCst);
            }
            Role::Kept => {
                if ev.keeper_holds.load(SeqCst) {
                    ev.violations.fetch_add(1, SeqCst);
                }
                ev.kept_dropped.fetch_add(1, SeqCst);
            }
            Role::Late => {}
        }
    }
}

#[derive(Trace)]
struct Node {
    next: RefCell<Option<Gc<Node>>>,
    /// An extra edge (garbage pointing at kept objects).
    also: RefCell<Option<Gc<Node>>>,
    #[gc(skip)]
    role: Role,
    #[gc(skip)]
    ev: Arc<Events>,
    #[gc(skip)]
    _drop: DropCheck,
}

impl Finalize for Node {
    fn finalize(&self) {
        let ev = &self.ev;
        match self.role {
            Role::Garbage => {
                ev.garbage_finalized.fetch_add(1, SeqCst);
                let t = ev.tick();
                let _ = ev.shutdown_at.compare_exchange(NONE, t, SeqCst, SeqCst);
            }
            Role::Kept => {
                if ev.keeper_holds.load(SeqCst) {
                    ev.violations.fetch_add(1, SeqCst);
                }
                ev.kept_finalized.fetch_add(1, SeqCst);
            }
            Role::Late => {
                ev.late_finalized.fetch_add(1, SeqCst);
            }
        }
    }
}

fn node(role: Role, ev: &Arc<Events>) -> Gc<Node> {
    Gc::new(Node {
        next: RefCell::new(None),
        also: RefCell::new(None),
        role,
        ev: ev.clone(),
        _drop: DropCheck(role, ev.clone()),
    })
}

/// A two-node cycle; returns one of its nodes.
fn pair(role: Role, ev: &Arc<Events>) -> Gc<Node> {
    let a = node(role, ev);
    let b = node(role, ev);
    *a.next.borrow_mut() = Some(b.clone());
    *b.next.borrow_mut() = Some(a.clone());
    a
}

// ---------------------------------------------------------------------------
// Garbage left at thread exit
// ---------------------------------------------------------------------------

/// Cycles that are garbage when the thread ends are finalized (and freed) by
/// the heap's final collection.
#[test]
fn garbage_cycles_left_at_thread_exit_are_finalized() {
    let ev = Events::new();
    let e = ev.clone();
    let cycles = if cfg!(miri) { 5 } else { 200 };
    thread::spawn(move || {
        gc::disable();
        for _ in 0..cycles {
            drop(pair(Role::Garbage, &e));
        }
        // A self-cycle and a longer ring too.
        let s = node(Role::Garbage, &e);
        *s.next.borrow_mut() = Some(s.clone());
        drop(s);
        let first = node(Role::Garbage, &e);
        let mut prev = first.clone();
        for _ in 0..9 {
            let n = node(Role::Garbage, &e);
            *prev.next.borrow_mut() = Some(n.clone());
            prev = n;
        }
        *prev.next.borrow_mut() = Some(first);
        drop(prev);
        assert_eq!(
            Events::get(&e.garbage_finalized),
            0,
            "nothing collected yet"
        );
    })
    .join()
    .unwrap();
    let total = 2 * cycles + 1 + 10;
    assert_eq!(Events::get(&ev.garbage_finalized), total);
    assert_eq!(Events::get(&ev.garbage_dropped), total);
}

/// Several threads, each with its own heap, exit at the same time.
#[test]
fn garbage_of_many_threads_is_finalized_per_thread() {
    let ev = Events::new();
    let per_thread = if cfg!(miri) { 3 } else { 100 };
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let e = ev.clone();
            thread::spawn(move || {
                for _ in 0..per_thread {
                    drop(pair(Role::Garbage, &e));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(Events::get(&ev.garbage_finalized), 4 * 2 * per_thread);
    assert_eq!(Events::get(&ev.garbage_dropped), 4 * 2 * per_thread);
}

/// A `Weak` whose target died long before, held by a thread-local destroyed
/// after the heap shut down, is dropped safely.
///
/// Weak cells live outside the heap's pools, so a dead `Weak` does not keep
/// the heap alive: under Miri its leak check proves the heap is freed.
#[test]
fn dead_weak_in_tls_destroyed_after_heap() {
    thread_local!(static HOLD: RefCell<Vec<Weak<Node>>> = const { RefCell::new(Vec::new()) });
    let ev = Events::new();
    let e = ev.clone();
    thread::spawn(move || {
        // Registered before the heap: destroyed after it (reverse order),
        // or before it; either way the weak's target is long gone.
        HOLD.with(|_| ());
        let n = node(Role::Garbage, &e);
        HOLD.with(|h| h.borrow_mut().push(Gc::downgrade(&n)));
        drop(n);
        assert!(HOLD.with(|h| h.borrow()[0].upgrade().is_none()));
    })
    .join()
    .unwrap();
    assert_eq!(Events::get(&ev.garbage_finalized), 1);
    assert_eq!(Events::get(&ev.garbage_dropped), 1);
}

/// A callback's captured state that counts its drop, then panics.
struct PanicOnDrop(Arc<AtomicUsize>);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
        panic!("a callback's state panics on drop");
    }
}

/// Thread exit drops the callbacks one at a time: two whose captured state
/// panics on drop are both dropped and reported, and the thread ends
/// normally. Before the fix they were dropped as one `Vec`, and the second
/// panic, raised while the first unwound, aborted the process.
#[test]
fn two_callbacks_panicking_on_drop_at_thread_exit_do_not_abort() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let d = dropped.clone();
    thread::spawn(move || {
        for _ in 0..2 {
            let state = PanicOnDrop(d.clone());
            gc::add_callback(move |_, _| {
                let _ = &state;
            });
        }
    })
    .join()
    .expect("the thread ends normally");
    assert_eq!(dropped.load(SeqCst), 2);
}

/// Callbacks whose drops keep registering callbacks outlast every round of
/// thread exit; the heap drops those left (two of them panicking on drop)
/// one at a time too, after it is dead. Every panicking state ever made is
/// dropped exactly once, and the thread ends normally.
#[test]
fn callbacks_registered_in_the_last_round_of_thread_exit_are_dropped() {
    /// Registers its successor and two panicking states when dropped, for
    /// more rounds than thread exit runs (once the heap is dead, a new
    /// callback is dropped at once, ending the chain at the first panic).
    struct Respawn {
        left: usize,
        made: Arc<AtomicUsize>,
        dropped: Arc<AtomicUsize>,
    }
    impl Drop for Respawn {
        fn drop(&mut self) {
            if self.left == 0 {
                return;
            }
            let next = Respawn {
                left: self.left - 1,
                made: self.made.clone(),
                dropped: self.dropped.clone(),
            };
            gc::add_callback(move |_, _| {
                let _ = &next;
            });
            for _ in 0..2 {
                self.made.fetch_add(1, SeqCst);
                let state = PanicOnDrop(self.dropped.clone());
                gc::add_callback(move |_, _| {
                    let _ = &state;
                });
            }
        }
    }
    let made = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicUsize::new(0));
    let (m, d) = (made.clone(), dropped.clone());
    thread::spawn(move || {
        let first = Respawn {
            left: 150,
            made: m,
            dropped: d,
        };
        gc::add_callback(move |_, _| {
            let _ = &first;
        });
    })
    .join()
    .expect("the thread ends normally");
    let made = made.load(SeqCst);
    assert!(
        made > 2 * 100,
        "the chain outlasted the exit rounds ({made})"
    );
    assert_eq!(dropped.load(SeqCst), made);
}

/// A `Weak` never upgrades to an object whose count reached zero after the
/// heap shut down: its value moved out by `Gc::try_unwrap`, or its last
/// handle dropped (leaked then, with its weak cell still set, since no heap
/// is left to clear it). Before the fix the first upgrade handed out a `Gc`
/// to the moved-out (and freed) `String`, and the second brought a count
/// back from zero (a debug assertion, fatal in a thread-local destructor).
/// If this platform ran `LATE`'s destructor before the heap's, the same
/// holds through the heap.
#[cfg_attr(
    miri,
    ignore = "leaks by design (run with -Zmiri-ignore-leaks --include-ignored)"
)]
#[test]
fn weak_after_heap_shutdown_never_revives_a_zero_count() {
    struct Late {
        moved: Option<(Gc<String>, Weak<String>)>,
        dropped: Option<(Gc<String>, Weak<String>)>,
        /// (try_unwrap succeeded, upgrade after it, upgrade after the drop)
        seen: Arc<Mutex<Option<(bool, bool, bool)>>>,
    }
    impl Drop for Late {
        fn drop(&mut self) {
            let (g, w) = self.moved.take().unwrap();
            let unwrapped = Gc::try_unwrap(g).ok();
            let ok = unwrapped.as_deref() == Some("moved out");
            drop(unwrapped); // the String's buffer is freed here
            let revived_moved = w.upgrade().is_some();
            let (g, w) = self.dropped.take().unwrap();
            drop(g);
            let revived_dropped = w.upgrade().is_some();
            *self.seen.lock().unwrap() = Some((ok, revived_moved, revived_dropped));
        }
    }
    thread_local!(static LATE: RefCell<Option<Late>> = const { RefCell::new(None) });
    let seen = Arc::new(Mutex::new(None));
    let s = seen.clone();
    thread::spawn(move || {
        // Registered before the heap: on this platform destroyed after it
        // (see `tls_destructor_order`).
        LATE.with(|_| ());
        let pair = |text: &str| {
            let g = Gc::new(text.to_string());
            let w = Gc::downgrade(&g);
            (g, w)
        };
        LATE.with(|l| {
            *l.borrow_mut() = Some(Late {
                moved: Some(pair("moved out")),
                dropped: Some(pair("dropped")),
                seen: s,
            })
        });
    })
    .join()
    .unwrap();
    assert_eq!(*seen.lock().unwrap(), Some((true, false, false)));
}

// ---------------------------------------------------------------------------
// Objects kept alive by another thread-local
// ---------------------------------------------------------------------------

/// Holds `Gc`s in a thread-local; marks when its destructor starts.
struct Keeper {
    ev: Arc<Events>,
    nodes: Vec<Gc<Node>>,
    /// Untracked objects and weak references, dropped with the keeper.
    text: Option<Gc<String>>,
    weak_live: Weak<Node>,
    weak_dead: Weak<Node>,
}

impl Drop for Keeper {
    fn drop(&mut self) {
        self.ev.keeper_holds.store(false, SeqCst);
        let t = self.ev.tick();
        self.ev.keeper_dropped_at.store(t, SeqCst);
        assert_eq!(self.text.as_deref().map(String::as_str), Some("kept"));
        // The kept objects are intact whichever destructor ran first.
        for n in &self.nodes {
            assert_eq!(n.role, Role::Kept);
            assert!(n.next.borrow().is_some());
        }
        assert!(self.weak_dead.upgrade().is_none());
        let _ = self.weak_live.upgrade();
        // Fields (the `Gc`s) are dropped after this returns.
    }
}

thread_local! {
    static KEEP: RefCell<Option<Keeper>> = const { RefCell::new(None) };
}

/// Run a thread that leaves garbage cycles behind and keeps other cycles
/// alive from the `KEEP` thread-local, first touched before or after the
/// heap is created. Returns the events once the thread has ended.
fn run_keeper_thread(keeper_registered_first: bool) -> Arc<Events> {
    let ev = Events::new();
    let e = ev.clone();
    let (garbage, kept) = if cfg!(miri) { (2, 2) } else { (50, 50) };
    let install = move |e: &Arc<Events>| {
        KEEP.with(|k| {
            *k.borrow_mut() = Some(Keeper {
                ev: e.clone(),
                nodes: Vec::new(),
                text: None,
                weak_live: Weak::new(),
                weak_dead: Weak::new(),
            })
        })
    };
    thread::spawn(move || {
        if keeper_registered_first {
            install(&e); // registers KEEP's destructor before the heap's
        }
        gc::disable(); // the first heap use creates the heap
        if !keeper_registered_first {
            install(&e);
        }
        e.keeper_holds.store(true, SeqCst);
        let nodes: Vec<_> = (0..kept).map(|_| pair(Role::Kept, &e)).collect();
        // Garbage that also points at kept objects: tearing it down at
        // shutdown must only decrement their counts.
        for i in 0..garbage {
            let g = pair(Role::Garbage, &e);
            *g.also.borrow_mut() = Some(nodes[i % kept].clone());
        }
        let dead = node(Role::Late, &e);
        let weak_dead = Gc::downgrade(&dead);
        drop(dead);
        KEEP.with(|k| {
            let mut k = k.borrow_mut();
            let k = k.as_mut().unwrap();
            k.weak_live = Gc::downgrade(&nodes[0]);
            k.weak_dead = weak_dead;
            k.text = Some(Gc::new("kept".to_string()));
            k.nodes = nodes;
        });
    })
    .join()
    .unwrap();
    ev
}

fn check_keeper_outcome(ev: &Events, keeper_registered_first: bool) {
    let (garbage, kept) = if cfg!(miri) { (2, 2) } else { (50, 50) };
    assert_eq!(
        Events::get(&ev.violations),
        0,
        "a kept object was finalized or dropped while referenced"
    );
    // Plain garbage: finalized by the final collection in either order.
    assert_eq!(Events::get(&ev.garbage_finalized), 2 * garbage);
    assert_eq!(Events::get(&ev.garbage_dropped), 2 * garbage);
    assert_eq!(
        Events::get(&ev.late_finalized),
        1,
        "the `dead` node, by count"
    );
    let keeper_at = Events::get(&ev.keeper_dropped_at);
    let shutdown_at = Events::get(&ev.shutdown_at);
    assert_ne!(keeper_at, NONE, "the keeper's destructor ran");
    assert_ne!(shutdown_at, NONE, "the heap's final collection ran");
    let keeper_first = keeper_at < shutdown_at;
    // Verified, not assumed: the order follows the registration order.
    let expected_keeper_first = keeper_registered_first != earlier_registered_runs_later();
    assert_eq!(keeper_first, expected_keeper_first);
    if keeper_first {
        // The kept cycles became garbage before the heap shut down: its
        // final collection finalized and freed them.
        assert_eq!(Events::get(&ev.kept_finalized), 2 * kept);
        assert_eq!(Events::get(&ev.kept_dropped), 2 * kept);
    } else {
        // Still referenced when the heap shut down: leaked, never finalized
        // or freed, also not when the keeper dropped them afterwards.
        assert_eq!(Events::get(&ev.kept_finalized), 0);
        assert_eq!(Events::get(&ev.kept_dropped), 0);
    }
}

/// `KEEP` first touched after the heap was created: with reverse-order
/// destruction it is destroyed before the heap shuts down.
#[test]
fn kept_objects_keeper_registered_after_heap() {
    let ev = run_keeper_thread(false);
    check_keeper_outcome(&ev, false);
}

/// `KEEP` first touched before the heap was created: with reverse-order
/// destruction the heap shuts down first, and the keeper's `Gc`s (tracked
/// cycles, an untracked string, weak references) are dropped after the heap
/// is gone.
#[test]
#[cfg_attr(
    miri,
    ignore = "leaks by design: objects referenced at heap shutdown are never freed"
)]
fn kept_objects_keeper_registered_before_heap() {
    let ev = run_keeper_thread(true);
    check_keeper_outcome(&ev, true);
}

// ---------------------------------------------------------------------------
// Gc::new and gc:: calls from thread-local destructors
// ---------------------------------------------------------------------------

/// Allocates, links, downgrades and collects from its destructor.
struct LateAlloc(Arc<Events>);

impl Drop for LateAlloc {
    fn drop(&mut self) {
        let ev = &self.0;
        let a = pair(Role::Late, ev);
        let text: Gc<str> = Gc::from("late");
        assert_eq!(&*text, "late");
        let n = Gc::new(5_u64);
        assert_eq!(*n + 1, 6);
        let w = Gc::downgrade(&a);
        if let Some(g) = w.upgrade() {
            assert!(Gc::ptr_eq(&g, &a));
        }
        let _ = (gc::count(), gc::stats(), gc::is_enabled(), gc::threshold());
        assert!(!gc::is_finalized(&a));
        drop(a);
        ev.late_collect.store(gc::collect(), SeqCst);
        let _ = gc::objects(None);
        ev.late_done.store(true, SeqCst);
    }
}

thread_local! {
    static LATE: RefCell<Option<LateAlloc>> = const { RefCell::new(None) };
}

fn run_late_alloc_thread(registered_first: bool) -> Arc<Events> {
    let ev = Events::new();
    let e = ev.clone();
    thread::spawn(move || {
        if registered_first {
            LATE.with(|l| *l.borrow_mut() = Some(LateAlloc(e.clone())));
        }
        drop(pair(Role::Garbage, &e)); // creates the heap; some garbage
        if !registered_first {
            LATE.with(|l| *l.borrow_mut() = Some(LateAlloc(e.clone())));
        }
    })
    .join()
    .unwrap();
    ev
}

fn check_late_alloc(ev: &Events, registered_first: bool) {
    assert!(ev.late_done.load(SeqCst), "the destructor finished");
    assert_eq!(Events::get(&ev.garbage_finalized), 2);
    let after_heap = registered_first == earlier_registered_runs_later();
    if after_heap {
        // No heap any more: collect() finds nothing; the new cycle leaks.
        assert_eq!(Events::get(&ev.late_collect), 0);
        assert_eq!(Events::get(&ev.late_finalized), 0);
    } else {
        // The heap still runs: the new cycle and the thread's garbage pair
        // are collected by the destructor's collect().
        assert_eq!(Events::get(&ev.late_collect), 4);
        assert_eq!(Events::get(&ev.late_finalized), 2);
    }
}

/// A thread-local destroyed before the heap allocates and collects normally.
#[test]
fn gc_new_in_tls_destructor_before_heap_shutdown() {
    let ev = run_late_alloc_thread(false);
    check_late_alloc(&ev, false);
}

/// `Gc::new` (tracked and untracked), `downgrade` and `gc::` calls in a
/// thread-local destructor that runs after the heap shut down do not crash.
#[test]
#[cfg_attr(
    miri,
    ignore = "leaks by design: objects made after heap shutdown are never freed"
)]
fn gc_new_in_tls_destructor_after_heap_shutdown() {
    let ev = run_late_alloc_thread(true);
    check_late_alloc(&ev, true);
}

/// A thread whose first use of `Gc` is inside a thread-local destructor.
#[test]
fn gc_first_used_in_tls_destructor() {
    thread_local!(static ONLY: RefCell<Option<LateAlloc>> = const { RefCell::new(None) });
    let ev = Events::new();
    let e = ev.clone();
    thread::spawn(move || {
        ONLY.with(|l| *l.borrow_mut() = Some(LateAlloc(e)));
    })
    .join()
    .unwrap();
    assert!(ev.late_done.load(SeqCst));
    // A heap made during thread-local destruction works like any other:
    // the cycle is collected by the destructor's own collect().
    assert_eq!(Events::get(&ev.late_collect), 2);
    assert_eq!(Events::get(&ev.late_finalized), 2);
}

// ---------------------------------------------------------------------------
// Finalizers run by the final collection
// ---------------------------------------------------------------------------

thread_local! {
    /// A place finalizers store into at shutdown.
    static STASH: RefCell<Vec<Gc<Rescuer>>> = const { RefCell::new(Vec::new()) };
}

#[derive(Trace)]
struct Rescuer {
    me: RefCell<Option<Gc<Rescuer>>>,
    #[gc(skip)]
    ev: Arc<Events>,
    /// Also leave a new garbage cycle behind (it leaks: there is only one
    /// final collection).
    #[gc(skip)]
    make_garbage: bool,
    #[gc(skip)]
    _drop: DropCheck,
}

impl Finalize for Rescuer {
    /// Allocate; resurrect into `STASH`, which may already be destroyed:
    /// then the access panics and the collector catches it.
    fn finalize(&self) {
        self.ev.kept_finalized.fetch_add(1, SeqCst);
        drop(node(Role::Late, &self.ev)); // freed by count at once
        if self.make_garbage {
            drop(pair(Role::Late, &self.ev));
        }
        let me = self.me.borrow().clone().unwrap();
        if STASH.try_with(|s| s.borrow_mut().push(me.clone())).is_err() {
            self.ev.tls_gone.fetch_add(1, SeqCst);
            STASH.with(|_| ()); // panics: caught by the collector
        }
    }
}

/// Finalizers that run during the final collection may resurrect objects
/// into another thread-local (still alive, or already destroyed — then the
/// access panics and is caught), allocate, and make new garbage; nothing
/// resurrected is freed under a live reference, nothing crashes.
fn run_rescuer_thread(stash_registered_first: bool) -> Arc<Events> {
    let ev = Events::new();
    let e = ev.clone();
    thread::spawn(move || {
        if stash_registered_first {
            STASH.with(|_| ());
        }
        gc::disable();
        if !stash_registered_first {
            STASH.with(|_| ());
        }
        for _ in 0..3 {
            let r = Gc::new(Rescuer {
                me: RefCell::new(None),
                ev: e.clone(),
                make_garbage: stash_registered_first,
                _drop: DropCheck(Role::Kept, e.clone()),
            });
            *r.me.borrow_mut() = Some(r.clone());
        }
    })
    .join()
    .unwrap();
    ev
}

fn check_rescuer(ev: &Events, stash_registered_first: bool) {
    assert_eq!(Events::get(&ev.kept_finalized), 3, "each finalized once");
    assert_eq!(Events::get(&ev.violations), 0);
    let stash_alive_at_shutdown = stash_registered_first == earlier_registered_runs_later();
    if stash_alive_at_shutdown {
        // Resurrected into a live thread-local: never freed (leaked).
        assert_eq!(Events::get(&ev.tls_gone), 0);
        assert_eq!(Events::get(&ev.kept_dropped), 0);
    } else {
        // The thread-local was gone: not resurrected, torn down.
        assert_eq!(Events::get(&ev.tls_gone), 3);
        assert_eq!(Events::get(&ev.kept_dropped), 3);
    }
}

#[test]
fn shutdown_finalizer_touching_destroyed_tls() {
    let ev = run_rescuer_thread(false);
    check_rescuer(&ev, false);
}

#[test]
#[cfg_attr(
    miri,
    ignore = "leaks by design: objects resurrected at heap shutdown are never freed"
)]
fn shutdown_finalizer_resurrecting_into_live_tls() {
    let ev = run_rescuer_thread(true);
    check_rescuer(&ev, true);
}
