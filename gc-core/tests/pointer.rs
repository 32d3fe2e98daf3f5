//! Counting, weak references and the `Rc`-like surface of `Gc`.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use gc_core::{gc, Finalize, Gc, GcAny, Trace, Weak};

/// Counts finalize and drop calls of a value.
#[derive(Clone, Default)]
struct Probe {
    finalized: Rc<Cell<usize>>,
    dropped: Rc<Cell<usize>>,
}

/// A leaf whose drop and finalize are observable.
struct Tracked {
    probe: Probe,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.probe.dropped.set(self.probe.dropped.get() + 1);
    }
}

impl Finalize for Tracked {
    fn finalize(&self) {
        self.probe.finalized.set(self.probe.finalized.get() + 1);
    }
}

// SAFETY: owns no `Gc`.
unsafe impl Trace for Tracked {
    fn trace(&self, _: &mut gc_core::Tracer) {}
    fn needs_tracking() -> bool {
        false
    }
}

#[derive(Trace)]
struct Node {
    probe: Tracked,
    next: RefCell<Option<Gc<Node>>>,
}

impl Finalize for Node {}

fn node(p: &Probe) -> Gc<Node> {
    Gc::new(Node {
        probe: Tracked { probe: p.clone() },
        next: RefCell::new(None),
    })
}

#[test]
fn count_zero_finalizes_drops_and_frees() {
    let p = Probe::default();
    let a = Gc::new(Tracked { probe: p.clone() });
    let b = a.clone();
    assert_eq!(Gc::strong_count(&a), 2);
    let w = Gc::downgrade(&a);
    drop(a);
    assert_eq!(p.dropped.get(), 0);
    assert!(w.upgrade().is_some());
    drop(b);
    assert_eq!(p.finalized.get(), 1);
    assert_eq!(p.dropped.get(), 1);
    assert!(w.upgrade().is_none());
    assert_eq!(w.strong_count(), 0);
    assert_eq!(w.weak_count(), 0);
}

#[test]
fn weak_counts_follow_rc() {
    let a = Gc::new(5_u32);
    assert_eq!(Gc::weak_count(&a), 0);
    let w1 = Gc::downgrade(&a);
    let w2 = w1.clone();
    let w3 = Gc::downgrade(&a);
    assert_eq!(Gc::weak_count(&a), 3);
    assert!(Weak::ptr_eq(&w1, &w3));
    drop((w1, w2));
    assert_eq!(Gc::weak_count(&a), 1);
    assert_eq!(w3.strong_count(), 1);
    drop(w3);
    assert_eq!(Gc::weak_count(&a), 0);
    // A weak made after all others died works again.
    let w4 = Gc::downgrade(&a);
    assert_eq!(*w4.upgrade().unwrap(), 5);
    let empty: Weak<u32> = Weak::new();
    assert!(empty.upgrade().is_none());
    assert_eq!(empty.weak_count(), 0);
}

#[test]
fn get_mut_and_try_unwrap_follow_rc() {
    let mut a = Gc::new(String::from("x"));
    Gc::get_mut(&mut a).unwrap().push('y');
    assert_eq!(*a, "xy");
    let b = a.clone();
    assert!(Gc::get_mut(&mut a).is_none());
    drop(b);
    let w = Gc::downgrade(&a);
    assert!(Gc::get_mut(&mut a).is_none(), "a weak blocks get_mut");
    // try_unwrap ignores weaks, which stop upgrading.
    assert_eq!(Gc::try_unwrap(a).unwrap(), "xy");
    assert!(w.upgrade().is_none());

    let c = Gc::new(1);
    let c2 = c.clone();
    let c = Gc::try_unwrap(c).unwrap_err();
    assert!(Gc::ptr_eq(&c, &c2));
}

#[test]
fn try_unwrap_does_not_finalize_and_untracks() {
    let p = Probe::default();
    let n = node(&p);
    assert!(gc::is_tracked(&n));
    let count = gc::count().0;
    let value = Gc::try_unwrap(n).ok().unwrap();
    assert_eq!(gc::count().0, count - 1);
    assert_eq!(p.finalized.get(), 0);
    drop(value);
    assert_eq!(p.dropped.get(), 1);
    assert_eq!(p.finalized.get(), 0);
}

#[test]
fn forwarding_traits() {
    use std::collections::hash_map::DefaultHasher;
    use std::hash::{Hash, Hasher};
    let a = Gc::new(3);
    let b = Gc::new(4);
    assert!(a < b);
    assert_eq!(a, Gc::new(3));
    assert_eq!(a.cmp(&b), std::cmp::Ordering::Less);
    assert_eq!(format!("{a:?} {b}"), "3 4");
    assert!(format!("{a:p}").starts_with("0x"));
    let h = |x: &dyn Fn(&mut DefaultHasher)| {
        let mut s = DefaultHasher::new();
        x(&mut s);
        s.finish()
    };
    assert_eq!(h(&|s| a.hash(s)), h(&|s| 3.hash(s)));
    let d: Gc<Vec<u8>> = Gc::default();
    assert!(d.is_empty());
    let f: Gc<u8> = 9.into();
    assert_eq!(*std::borrow::Borrow::<u8>::borrow(&f), 9);
    assert_eq!(*AsRef::<u8>::as_ref(&f), 9);
    let mut m = HashMap::new();
    m.insert(Gc::<str>::from("k"), 1);
    assert_eq!(m.get("k"), Some(&1));
}

#[test]
fn unsized_values() {
    let s: Gc<str> = Gc::from("hello");
    assert_eq!(&*s, "hello");
    let t = s.clone();
    assert_eq!(Gc::strong_count(&s), 2);
    drop(t);
    let w = Gc::downgrade(&s);
    assert_eq!(&*w.upgrade().unwrap(), "hello");
    drop(s);
    assert!(w.upgrade().is_none());

    let v: Gc<[u64]> = Gc::from(vec![1, 2, 3]);
    assert_eq!(v.iter().sum::<u64>(), 6);
    let e: Gc<[String]> = Gc::from(Vec::<String>::new());
    assert!(e.is_empty());

    // A slice of tracked elements is tracked and takes part in cycles.
    let p = Probe::default();
    let n = node(&p);
    let slice: Gc<[Gc<Node>]> = Gc::from(vec![n.clone(), n.clone()]);
    assert!(gc::is_tracked(&slice));
    let any = Gc::into_any(slice.clone());
    let back = any.downcast::<[Gc<Node>]>().unwrap();
    assert_eq!(back.len(), 2);
    drop((back, slice, n));
    assert_eq!(p.dropped.get(), 1);
}

#[test]
fn untracked_leaves() {
    #[derive(Trace, Finalize)]
    struct Leaf {
        a: u64,
        s: String,
        v: Vec<u8>,
        o: Option<(i32, char)>,
    }
    let l = Gc::new(Leaf {
        a: 1,
        s: "s".into(),
        v: vec![1],
        o: None,
    });
    assert!(!gc::is_tracked(&l));
    assert_eq!(l.a + l.v[0] as u64, 2);
    assert_eq!(l.s.len(), 1);
    assert!(l.o.is_none());
    let before = gc::count().0;
    let _more: Vec<_> = (0..10).map(Gc::new).collect();
    assert_eq!(
        gc::count().0,
        before,
        "untracked allocations are not counted"
    );
    let t = Gc::new(RefCell::new(Vec::<Gc<u8>>::new()));
    assert!(gc::is_tracked(&t));
    assert_eq!(gc::count().0, before + 1);
}

#[test]
fn gc_any_downcast_and_identity() {
    let g = Gc::new(7_u16);
    let a = Gc::into_any(g.clone());
    assert_eq!(a.type_name(), "u16");
    assert!(a.is::<u16>());
    assert_eq!(a.downcast_ref::<u16>(), Some(&7));
    assert_eq!(a.downcast_ref::<u32>(), None);
    assert_eq!(a.strong_count(), 2);
    let a2 = a.clone();
    assert_eq!(a, a2);
    assert!(format!("{a:?}").starts_with("GcAny(u16 @ 0x"));
    let a = a.downcast::<i8>().unwrap_err();
    let back = a.downcast::<u16>().unwrap();
    assert!(Gc::ptr_eq(&back, &g));
    let s: GcAny = Gc::into_any(Gc::<str>::from("str"));
    assert_eq!(s.downcast::<str>().unwrap().len(), 3);
}

#[test]
fn interning_shares_and_forgets() {
    let before = gc_core::interned_count();
    let a = gc_core::intern("interning_shares_and_forgets");
    let b = gc_core::intern("interning_shares_and_forgets");
    assert!(Gc::ptr_eq(&a, &b));
    assert_eq!(gc_core::interned_count(), before + 1);
    drop(a);
    assert_eq!(gc_core::interned_count(), before + 1);
    drop(b);
    assert_eq!(gc_core::interned_count(), before);
    let c = gc_core::intern("interning_shares_and_forgets");
    assert_eq!(&*c, "interning_shares_and_forgets");
}

#[test]
fn strong_count_is_not_limited() {
    let n = if cfg!(miri) { 20_000 } else { 100_000 };
    let a = Gc::new(0_u8);
    let clones: Vec<_> = (0..n).map(|_| a.clone()).collect();
    assert_eq!(Gc::strong_count(&a), n + 1);
    drop(clones);
    assert_eq!(Gc::strong_count(&a), 1);
}

/// `get_mut` on a tracked object: the collector must not read the value
/// while the `&mut` is alive (Miri checks this), and the object becomes
/// collectable again once it is referenced from a traced object.
#[test]
fn get_mut_keeps_the_collector_away_then_retracks() {
    #[derive(Trace, Finalize)]
    struct Holder {
        items: Vec<Gc<Holder>>,
        back: RefCell<Option<Gc<Holder>>>,
    }
    fn holder() -> Gc<Holder> {
        Gc::new(Holder {
            items: Vec::new(),
            back: RefCell::new(None),
        })
    }
    gc::collect();
    gc::set_threshold(1, 1, 1);
    let mut g = holder();
    let m = Gc::get_mut(&mut g).unwrap();
    for _ in 0..20 {
        // Each allocation may run a collection while `m` is alive.
        m.items.push(holder());
    }
    m.items.clear();
    assert!(gc::is_tracked(&g));
    assert!(
        !gc::objects(None).contains(&Gc::into_any(g.clone())),
        "detached while its only handle could be mutably borrowed"
    );
    // Store the only handle in a traced object, making a cycle through it.
    let parent = holder();
    *g.back.borrow_mut() = Some(parent.clone());
    *parent.back.borrow_mut() = Some(g);
    let w = Gc::downgrade(&parent);
    drop(parent);
    gc::set_threshold(700, 10, 10);
    // The first collection sees the edge and re-tracks; the next frees.
    gc::collect();
    gc::collect();
    assert!(
        w.upgrade().is_none(),
        "the cycle through the object is collected"
    );
}

#[test]
fn get_mut_refuses_interned_strings() {
    let mut s = gc_core::intern("get_mut_refuses_interned_strings");
    assert!(Gc::get_mut(&mut s).is_none());
    let mut t: Gc<str> = Gc::from("plain");
    assert!(Gc::get_mut(&mut t).is_some());
}

/// `Gc::get_mut` takes a tracked object out of the generations (detaches
/// it) until a new handle, a weak reference or an edge a collection traces
/// proves the `&mut` has ended. Meanwhile every way of reading, taking and
/// giving up its count sees its one handle, and it is freed by its count.
mod detached_counts {
    use super::*;

    /// A tracked node, detached by `get_mut`.
    fn detached(p: &Probe) -> Gc<Node> {
        let mut a = node(p);
        assert!(Gc::get_mut(&mut a).unwrap().next.get_mut().is_none());
        a
    }

    #[test]
    fn the_only_handle_counts_one_and_frees_on_drop() {
        let p = Probe::default();
        let mut a = detached(&p);
        assert_eq!(Gc::strong_count(&a), 1);
        assert_eq!(Gc::weak_count(&a), 0);
        // Still the only handle: get_mut again, make_mut without a copy.
        assert!(Gc::get_mut(&mut a).is_some());
        drop(a);
        assert_eq!(p.dropped.get(), 1, "the detached object was not freed");
        // A tracked `Clone` value: make_mut of a detached one copies nothing.
        let mut v = Gc::new(vec![node(&p)]);
        Gc::get_mut(&mut v).unwrap();
        let before = Gc::as_ptr(&v);
        Gc::make_mut(&mut v).push(node(&p));
        assert_eq!(Gc::as_ptr(&v), before, "make_mut copied a unique value");
        assert_eq!(Gc::strong_count(&v), 1);
        drop(v);
        assert_eq!(p.dropped.get(), 3);
    }

    #[test]
    fn clone_reattaches_and_counts_two() {
        let p = Probe::default();
        let a = detached(&p);
        let b = a.clone();
        assert_eq!((Gc::strong_count(&a), Gc::strong_count(&b)), (2, 2));
        // Back in the generations: a cycle through it is collected.
        *b.next.borrow_mut() = Some(a.clone());
        assert_eq!(Gc::strong_count(&a), 3);
        drop((a, b));
        assert_eq!(p.dropped.get(), 0);
        assert_eq!(gc::collect(), 1);
        assert_eq!(p.dropped.get(), 1);
    }

    #[test]
    fn try_unwrap_and_into_inner_take_the_value() {
        let p = Probe::default();
        let a = detached(&p);
        let value = Gc::try_unwrap(a).ok().expect("the only handle");
        assert_eq!(p.dropped.get(), 0);
        drop(value);
        assert_eq!(p.dropped.get(), 1);
        let b = detached(&p);
        let c = b.clone();
        let Err(b) = Gc::try_unwrap(b) else {
            panic!("try_unwrap took a value with two handles")
        };
        drop(c);
        assert!(Gc::into_inner(b).is_some());
        assert_eq!(p.dropped.get(), 2);
    }

    #[test]
    fn weak_and_any_handles_see_one_count() {
        let p = Probe::default();
        let a = detached(&p);
        let w = Gc::downgrade(&a);
        assert_eq!(w.strong_count(), 1);
        assert_eq!(w.upgrade().map(|g| Gc::strong_count(&g)), Some(2));
        drop((w, a));
        assert_eq!(p.dropped.get(), 1);

        let any = Gc::into_any(detached(&p));
        assert_eq!(any.strong_count(), 1);
        let any2 = any.clone();
        assert_eq!(any.strong_count(), 2);
        drop(any);
        let g = any2.downcast::<Node>().ok().unwrap();
        assert_eq!(Gc::strong_count(&g), 1);
        drop(g);
        assert_eq!(p.dropped.get(), 2);
    }

    #[test]
    fn a_holder_dropping_the_only_handle_frees_it() {
        // The detached object's handle lives in a tracked holder; the holder
        // is freed by its count, and with it the detached object.
        let p = Probe::default();
        let holder = node(&p);
        *holder.next.borrow_mut() = Some(node(&p));
        {
            let mut slot = holder.next.borrow_mut();
            Gc::get_mut(slot.as_mut().unwrap()).unwrap();
        }
        let child = holder.next.borrow().clone().unwrap();
        assert_eq!(Gc::strong_count(&child), 2);
        drop(child);
        // Detached again, then the holder goes.
        {
            let mut slot = holder.next.borrow_mut();
            Gc::get_mut(slot.as_mut().unwrap()).unwrap();
        }
        drop(holder);
        assert_eq!(p.dropped.get(), 2);
        // And traced by a collection while detached: re-attached there, and
        // a garbage cycle through it is found.
        let q = Probe::default();
        let x = node(&q);
        let mut y = node(&q);
        Gc::get_mut(&mut y).unwrap();
        *y.next.borrow_mut() = Some(x.clone());
        *x.next.borrow_mut() = Some(y);
        drop(x);
        let found = gc::collect() + gc::collect();
        assert_eq!(found, 2);
        assert_eq!(q.dropped.get(), 2);
    }
}
