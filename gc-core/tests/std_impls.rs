//! `Trace` for std types: cycles through locks, once-cells and
//! `ManuallyDrop` are found; a locked lock keeps its contents alive.

use std::borrow::Cow;
use std::cell::{Cell, OnceCell};
use std::mem::ManuallyDrop;
use std::rc::Rc;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use gc_core::{gc, Finalize, Gc, Trace};

/// Counts drops of the value it sits in.
#[derive(Clone, Default)]
struct Drops(Rc<Cell<usize>>);

impl Drop for Drops {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

impl Finalize for Drops {}
// SAFETY: owns no `Gc`.
unsafe impl Trace for Drops {
    fn trace(&self, _: &mut gc_core::Tracer) {}
    fn needs_tracking() -> bool {
        false
    }
}

impl Drops {
    fn get(&self) -> usize {
        self.0.get()
    }
}

#[derive(Trace, Finalize)]
struct InMutex {
    edges: Mutex<Vec<Gc<InMutex>>>,
    #[gc(skip)]
    _drops: Drops,
}

#[derive(Trace, Finalize)]
struct InRwLock {
    edge: RwLock<Option<Gc<InRwLock>>>,
    #[gc(skip)]
    _drops: Drops,
}

#[derive(Trace, Finalize)]
struct InOnce {
    edge: OnceCell<Gc<InOnce>>,
    lock: OnceLock<u8>,
    #[gc(skip)]
    _drops: Drops,
}

#[test]
fn cycle_through_a_mutex_is_collected() {
    gc::collect();
    let d = Drops::default();
    let a = Gc::new(InMutex {
        edges: Mutex::new(vec![]),
        _drops: d.clone(),
    });
    let b = Gc::new(InMutex {
        edges: Mutex::new(vec![a.clone()]),
        _drops: d.clone(),
    });
    a.edges.lock().unwrap().push(b.clone());
    a.edges.lock().unwrap().push(a.clone());
    drop((a, b));
    assert_eq!(d.get(), 0);
    assert_eq!(gc::collect(), 2);
    assert_eq!(d.get(), 2);
}

/// Runs `check` while `lock` holds a lock inside the self-cycle `obj` and no
/// `Gc` to it exists outside the cycle; the lock is released after `check`,
/// which must prove the object is still allocated (else the guard is leaked
/// rather than used).
fn while_locked<T: Trace, G>(
    obj: Gc<T>,
    lock: impl FnOnce(&'static T) -> G,
    check: impl FnOnce() -> bool,
) {
    let weak = Gc::downgrade(&obj);
    let ptr: *const T = &*obj;
    // SAFETY: the object is kept allocated by its self-cycle until the
    // collector frees it; `check` (run while it must still be alive) proves
    // it was not freed before `guard` is used again, and `guard` is leaked
    // otherwise.
    let guard = lock(unsafe { &*ptr });
    drop(obj);
    let ok = check() && weak.upgrade().is_some();
    if !ok {
        std::mem::forget(guard);
        panic!("the locked object did not survive the collection");
    }
    drop(guard);
}

#[test]
fn a_locked_mutex_keeps_its_contents_alive() {
    gc::collect();
    let d = Drops::default();
    let a = Gc::new(InMutex {
        edges: Mutex::new(vec![]),
        _drops: d.clone(),
    });
    a.edges.lock().unwrap().push(a.clone());
    let weak = Gc::downgrade(&a);
    // While locked the collector cannot see the self-edge: the object counts
    // as referenced from outside and survives.
    while_locked(
        a,
        |obj| obj.edges.lock().unwrap(),
        || gc::collect() == 0 && d.get() == 0,
    );
    // Unlocked, it is garbage.
    assert_eq!(gc::collect(), 1);
    assert_eq!(d.get(), 1);
    assert!(weak.upgrade().is_none());
}

#[test]
fn cycle_through_an_rwlock_is_collected_unless_write_locked() {
    gc::collect();
    let d = Drops::default();
    let a = Gc::new(InRwLock {
        edge: RwLock::new(None),
        _drops: d.clone(),
    });
    *a.edge.write().unwrap() = Some(a.clone());
    let weak = Gc::downgrade(&a);
    while_locked(
        a,
        |obj| obj.edge.write().unwrap(),
        || gc::collect() == 0 && d.get() == 0,
    );
    // A read lock does not stop tracing.
    let a = weak.upgrade().unwrap();
    let read = a.edge.read().unwrap();
    let still_readable = read.is_some();
    drop(read);
    drop(a);
    assert!(still_readable);
    assert_eq!(gc::collect(), 1);
    assert_eq!(d.get(), 1);
}

#[test]
fn a_read_locked_rwlock_is_traced() {
    gc::collect();
    let d = Drops::default();
    let a = Gc::new(InRwLock {
        edge: RwLock::new(None),
        _drops: d.clone(),
    });
    *a.edge.write().unwrap() = Some(a.clone());
    let weak = Gc::downgrade(&a);
    let ptr: *const InRwLock = &*a;
    // SAFETY: the self-cycle keeps the object allocated until a collection
    // frees it; the read guard is checked to be gone (leaked) before then.
    let read = unsafe { &*ptr }.edge.read().unwrap();
    assert!(read.is_some());
    std::mem::forget(read); // a read lock held for good does not block tracing
    drop(a);
    assert_eq!(gc::collect(), 1);
    assert_eq!(d.get(), 1);
    assert!(weak.upgrade().is_none());
}

#[test]
fn cycle_through_a_once_cell_is_collected() {
    gc::collect();
    let d = Drops::default();
    let a = Gc::new(InOnce {
        edge: OnceCell::new(),
        lock: OnceLock::new(),
        _drops: d.clone(),
    });
    assert!(a.edge.set(a.clone()).is_ok());
    assert!(a.lock.set(1).is_ok());
    drop(a);
    assert_eq!(gc::collect(), 1);
    assert_eq!(d.get(), 1);
}

#[derive(Trace, Finalize)]
struct InOnceLock {
    edge: OnceLock<Gc<InOnceLock>>,
    #[gc(skip)]
    _drops: Drops,
}

#[test]
fn cycle_through_a_once_lock_is_collected() {
    gc::collect();
    let d = Drops::default();
    let a = Gc::new(InOnceLock {
        edge: OnceLock::new(),
        _drops: d.clone(),
    });
    assert!(a.edge.set(a.clone()).is_ok());
    drop(a);
    assert_eq!(gc::collect(), 1);
    assert_eq!(d.get(), 1);
}

thread_local! {
    static MARKS_DROPPED: Cell<usize> = const { Cell::new(0) };
}

/// Counts its drops in a thread-local, owning no memory (so a `Mark` that is
/// never dropped leaks nothing).
struct Mark;
impl Drop for Mark {
    fn drop(&mut self) {
        MARKS_DROPPED.with(|m| m.set(m.get() + 1));
    }
}

#[derive(Trace, Finalize)]
struct InManuallyDrop {
    next: std::cell::RefCell<Option<Gc<InManuallyDrop>>>,
    #[gc(skip)]
    _mark: ManuallyDrop<Mark>,
    #[gc(skip)]
    _drops: Drops,
}

#[test]
fn manually_drop_contents_are_never_dropped() {
    gc::collect();
    let marks = MARKS_DROPPED.with(Cell::get);
    let d = Drops::default();
    let new = || {
        Gc::new(InManuallyDrop {
            next: std::cell::RefCell::new(None),
            _mark: ManuallyDrop::new(Mark),
            _drops: d.clone(),
        })
    };
    // Freed by counting.
    drop(new());
    assert_eq!(d.get(), 1);
    // Torn down by the collector.
    let a = new();
    *a.next.borrow_mut() = Some(a.clone());
    drop(a);
    assert_eq!(gc::collect(), 1);
    assert_eq!(d.get(), 2);
    assert_eq!(MARKS_DROPPED.with(Cell::get), marks, "never dropped");
}

#[derive(Trace)]
struct SelfInManuallyDrop {
    edge: std::cell::RefCell<ManuallyDrop<Option<Gc<SelfInManuallyDrop>>>>,
    #[gc(skip)]
    _drops: Drops,
}

impl Finalize for SelfInManuallyDrop {
    fn finalize(&self) {
        // The collector never drops what a `ManuallyDrop` holds: release the
        // edge here, or the object's memory stays allocated for good.
        let mut edge = self.edge.borrow_mut();
        // SAFETY: the finalizer runs once and the emptied `ManuallyDrop` is
        // never read again.
        drop(unsafe { ManuallyDrop::take(&mut *edge) });
    }
}

#[test]
fn a_cycle_through_manually_drop_is_collected() {
    gc::collect();
    let d = Drops::default();
    let a = Gc::new(SelfInManuallyDrop {
        edge: std::cell::RefCell::new(ManuallyDrop::new(None)),
        _drops: d.clone(),
    });
    **a.edge.borrow_mut() = Some(a.clone());
    assert!(gc::is_tracked(&a));
    drop(a);
    // The edge is traced, so the cycle is found (were it not, the object
    // would look referenced from outside and nothing would be collected).
    assert_eq!(gc::collect(), 1);
    assert_eq!(d.get(), 1);
    assert!(gc::objects(None).is_empty());
}

#[derive(Trace, Finalize)]
struct InCow {
    edge: std::cell::RefCell<Cow<'static, [Gc<InCow>]>>,
    name: Cow<'static, str>,
    #[gc(skip)]
    _drops: Drops,
}

#[test]
fn cycle_through_an_owned_cow_is_collected() {
    gc::collect();
    let d = Drops::default();
    let a = Gc::new(InCow {
        edge: std::cell::RefCell::new(Cow::Borrowed(&[])),
        name: Cow::Borrowed("a"),
        _drops: d.clone(),
    });
    *a.edge.borrow_mut() = Cow::Owned(vec![a.clone()]);
    assert_eq!(a.name, "a");
    drop(a);
    assert_eq!(gc::collect(), 1);
    assert_eq!(d.get(), 1);
}

#[test]
fn tracking_answers_of_std_types() {
    use std::ops::{Bound, Range, RangeFull, RangeInclusive};
    use std::sync::atomic::{AtomicBool, AtomicU64};
    // Leaves.
    assert!(!<Range<u32>>::needs_tracking());
    assert!(!<RangeInclusive<char>>::needs_tracking());
    assert!(!RangeFull::needs_tracking());
    assert!(!<Bound<u8>>::needs_tracking());
    assert!(!std::cmp::Ordering::needs_tracking());
    assert!(!<std::cmp::Reverse<u8>>::needs_tracking());
    assert!(!AtomicBool::needs_tracking());
    assert!(!AtomicU64::needs_tracking());
    assert!(!<Mutex<String>>::needs_tracking());
    assert!(!<RwLock<u8>>::needs_tracking());
    assert!(!<OnceCell<u8>>::needs_tracking());
    assert!(!<ManuallyDrop<u8>>::needs_tracking());
    assert!(!<Cow<'static, str>>::needs_tracking());
    assert!(!std::path::PathBuf::needs_tracking());
    assert!(!std::ffi::OsString::needs_tracking());
    assert!(!std::io::Error::needs_tracking());
    assert!(!std::net::IpAddr::needs_tracking());
    assert!(!std::net::SocketAddrV6::needs_tracking());
    assert!(!std::time::Duration::needs_tracking());
    assert!(!std::time::Instant::needs_tracking());
    assert!(!std::time::SystemTime::needs_tracking());
    assert!(!std::num::NonZeroU32::needs_tracking());
    assert!(!<std::num::Wrapping<u8>>::needs_tracking());
    assert!(!<std::num::Saturating<i8>>::needs_tracking());
    assert!(!<Rc<str>>::needs_tracking());
    assert!(!<Arc<str>>::needs_tracking());
    assert!(!<fn(u8) -> u8>::needs_tracking());
    assert!(!<fn(u8, u8, u8, u8, u8, u8)>::needs_tracking());
    assert!(!std::any::TypeId::needs_tracking());
    assert!(!std::fs::File::needs_tracking());
    // Containers of `Gc`s.
    assert!(<Range<Gc<u8>>>::needs_tracking());
    assert!(<Bound<Gc<u8>>>::needs_tracking());
    assert!(<Mutex<Vec<Gc<u8>>>>::needs_tracking());
    assert!(<RwLock<Gc<u8>>>::needs_tracking());
    assert!(<OnceCell<Gc<u8>>>::needs_tracking());
    assert!(<OnceLock<Gc<u8>>>::needs_tracking());
    assert!(<ManuallyDrop<Gc<u8>>>::needs_tracking());
    assert!(<std::num::Saturating<Gc<u8>>>::needs_tracking());
    assert!(<Cow<'static, [Gc<u8>]>>::needs_tracking());
    // `Box` of an unsized type is conservatively tracked (the element type
    // cannot be asked while it may be unsized).
    assert!(<Box<str>>::needs_tracking());
    assert!(<Box<[u8]>>::needs_tracking());
}

#[test]
fn unsized_std_values_in_gc() {
    let s: Gc<Box<str>> = Gc::new("x".into());
    let p: Gc<Box<std::path::Path>> = Gc::new(std::path::Path::new("/tmp").into());
    let o: Gc<Rc<std::ffi::OsStr>> = Gc::new(std::ffi::OsStr::new("o").into());
    let f: Gc<fn(u8) -> u8> = Gc::new(|x| x + 1);
    let e = Gc::new(std::io::Error::other("boom"));
    assert!(!gc::is_tracked(&o) && !gc::is_tracked(&f) && !gc::is_tracked(&e));
    assert_eq!(&**s, "x");
    assert_eq!(p.to_str(), Some("/tmp"));
    assert_eq!((*f)(1), 2);
}
