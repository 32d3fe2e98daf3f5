//! `Rc` parity: `new_cyclic`, `make_mut`, `unwrap_or_clone`, the `From` /
//! `FromIterator` / `Default` conversions, `Weak::as_ptr` / `Weak::ptr_eq`.

use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

use gc_core::{gc, Finalize, Gc, Trace, Tracer, Weak};

/// Counts drops, clones and finalizations of the values that carry it.
#[derive(Default)]
struct Counter {
    dropped: Cell<usize>,
    cloned: Cell<usize>,
    finalized: Cell<usize>,
}

/// A leaf value whose drop, clone and finalize are counted.
struct Item(Rc<Counter>, u32);

impl Clone for Item {
    fn clone(&self) -> Item {
        self.0.cloned.set(self.0.cloned.get() + 1);
        Item(self.0.clone(), self.1)
    }
}

impl Drop for Item {
    fn drop(&mut self) {
        self.0.dropped.set(self.0.dropped.get() + 1);
    }
}

impl Finalize for Item {
    fn finalize(&self) {
        self.0.finalized.set(self.0.finalized.get() + 1);
    }
}

// SAFETY: owns no `Gc`.
unsafe impl Trace for Item {
    fn trace(&self, _: &mut Tracer) {}
    fn needs_tracking() -> bool {
        false
    }
}

#[derive(Trace)]
struct Node {
    me: Weak<Node>,
    next: RefCell<Option<Gc<Node>>>,
    item: Item,
}

impl Finalize for Node {
    fn finalize(&self) {
        self.item.finalize();
    }
}

impl Clone for Node {
    fn clone(&self) -> Node {
        Node {
            me: self.me.clone(),
            next: RefCell::new(self.next.borrow().clone()),
            item: self.item.clone(),
        }
    }
}

fn item(c: &Rc<Counter>, n: u32) -> Item {
    Item(c.clone(), n)
}

#[test]
fn new_cyclic_weak_upgrades_only_after_construction() {
    gc::collect();
    let c = Rc::new(Counter::default());
    let node = Gc::new_cyclic(|me: &Weak<Node>| {
        assert!(me.upgrade().is_none());
        assert_eq!(me.strong_count(), 0);
        assert_eq!(me.weak_count(), 0);
        Node {
            me: me.clone(),
            next: RefCell::new(None),
            item: item(&c, 1),
        }
    });
    assert!(gc::is_tracked(&node));
    let me = node.me.upgrade().unwrap();
    assert!(Gc::ptr_eq(&me, &node));
    drop(me);
    assert_eq!(Gc::weak_count(&node), 1);
    assert_eq!(Gc::strong_count(&node), 1);
    let w = node.me.clone();
    // The weak self-reference keeps nothing alive: counting frees it.
    drop(node);
    assert_eq!(c.finalized.get(), 1);
    assert_eq!(c.dropped.get(), 1);
    assert!(w.upgrade().is_none());
    assert_eq!(gc::collect(), 0);
}

#[test]
fn new_cyclic_without_keeping_the_weak() {
    let c = Rc::new(Counter::default());
    let g = Gc::new_cyclic(|_| item(&c, 2));
    assert_eq!(Gc::weak_count(&g), 0);
    assert_eq!(g.1, 2);
    drop(g);
    assert_eq!(c.dropped.get(), 1);
}

thread_local! {
    static STASH: RefCell<Option<Weak<Node>>> = const { RefCell::new(None) };
}

#[test]
fn new_cyclic_panic_leaks_nothing_and_finalizes_nothing() {
    gc::collect();
    let before = gc::objects(None).len();
    let count_before = gc::count().0;
    let c = Rc::new(Counter::default());
    let result = catch_unwind(AssertUnwindSafe(|| {
        Gc::new_cyclic(|me: &Weak<Node>| {
            STASH.with(|s| *s.borrow_mut() = Some(me.clone()));
            let _partial = item(&c, 3);
            panic!("construction failed");
        })
    }));
    assert!(result.is_err());
    assert_eq!(
        c.dropped.get(),
        1,
        "the partial value was dropped by unwinding"
    );
    assert_eq!(c.finalized.get(), 0);
    assert_eq!(gc::objects(None).len(), before);
    assert_eq!(gc::count().0, count_before);
    let stashed = STASH.with(|s| s.borrow_mut().take()).unwrap();
    assert!(stashed.upgrade().is_none());
    assert_eq!(stashed.weak_count(), 0);
    drop(stashed);
    // The heap works on.
    let n = Gc::new_cyclic(|me| Node {
        me: me.clone(),
        next: RefCell::new(None),
        item: item(&c, 4),
    });
    *n.next.borrow_mut() = Some(n.clone());
    drop(n);
    assert_eq!(gc::collect(), 1);
    assert_eq!(c.finalized.get(), 1);
    assert_eq!(c.dropped.get(), 2);
}

#[test]
fn new_cyclic_strong_cycle_is_collected() {
    gc::collect();
    let c = Rc::new(Counter::default());
    let a = Gc::new_cyclic(|me| Node {
        me: me.clone(),
        next: RefCell::new(None),
        item: item(&c, 5),
    });
    let b = Gc::new_cyclic(|me| Node {
        me: me.clone(),
        next: RefCell::new(Some(a.clone())),
        item: item(&c, 6),
    });
    *a.next.borrow_mut() = Some(b.clone());
    let (wa, wb) = (a.me.clone(), b.me.clone());
    drop((a, b));
    assert_eq!(gc::collect(), 2);
    assert_eq!(c.finalized.get(), 2);
    assert_eq!(c.dropped.get(), 2);
    assert!(wa.upgrade().is_none() && wb.upgrade().is_none());
}

#[test]
fn make_mut_clones_when_shared() {
    let c = Rc::new(Counter::default());
    let mut a = Gc::new(item(&c, 1));
    let b = a.clone();
    Gc::make_mut(&mut a).1 = 2;
    assert_eq!(c.cloned.get(), 1);
    assert_eq!((a.1, b.1), (2, 1));
    assert!(!Gc::ptr_eq(&a, &b));
    assert_eq!(Gc::strong_count(&a), 1);
    assert_eq!(Gc::strong_count(&b), 1);
    // Unique now: no further clone.
    Gc::make_mut(&mut a).1 = 3;
    assert_eq!(c.cloned.get(), 1);
    drop((a, b));
    assert_eq!(c.dropped.get(), 2);
    assert_eq!(c.finalized.get(), 2);
}

#[test]
fn make_mut_disassociates_weaks_without_cloning() {
    let c = Rc::new(Counter::default());
    let mut a = Gc::new(item(&c, 1));
    let w = Gc::downgrade(&a);
    let w2 = w.clone();
    let addr = Gc::as_ptr(&a);
    Gc::make_mut(&mut a).1 = 9;
    assert_eq!(c.cloned.get(), 0);
    assert_eq!(c.dropped.get(), 0);
    assert_eq!(Gc::as_ptr(&a), addr);
    assert!(w.upgrade().is_none() && w2.upgrade().is_none());
    assert_eq!(w.strong_count(), 0);
    assert_eq!(Gc::weak_count(&a), 0);
    assert!(Weak::ptr_eq(&w, &w2));
    // New weaks work again.
    let w3 = Gc::downgrade(&a);
    assert_eq!(w3.upgrade().unwrap().1, 9);
    assert!(!Weak::ptr_eq(&w, &w3));
    drop(a);
    assert_eq!(c.dropped.get(), 1);
    assert_eq!(c.finalized.get(), 1);
}

fn node(c: &Rc<Counter>, n: u32) -> Gc<Node> {
    Gc::new(Node {
        me: Weak::new(),
        next: RefCell::new(None),
        item: item(c, n),
    })
}

/// `make_mut` keeps `get_mut`'s discipline: the tracked object leaves the
/// generations while the `&mut` may be alive.
#[test]
fn make_mut_detaches_a_tracked_object_like_get_mut() {
    gc::collect();
    let c = Rc::new(Counter::default());
    let mut a = node(&c, 1);
    let before = gc::objects(None).len();
    Gc::make_mut(&mut a).item.1 = 2;
    assert_eq!(
        gc::objects(None).len(),
        before - 1,
        "detached while borrowed"
    );
    assert_eq!(c.cloned.get(), 0);
    // A traced object referring to it brings it back.
    let holder = node(&c, 3);
    *holder.next.borrow_mut() = Some(a.clone());
    gc::collect();
    assert_eq!(gc::objects(None).len(), before + 1);
    drop((a, holder));
    assert_eq!(c.dropped.get(), 2);
}

/// The test: an object that went through `make_mut` or `get_mut`
/// and is then linked into a cycle is collected by the next `collect()`.
#[test]
fn an_object_that_went_through_make_mut_or_get_mut_then_into_a_cycle_is_collected() {
    gc::collect();
    let c = Rc::new(Counter::default());
    let mut a = node(&c, 1);
    Gc::make_mut(&mut a).item.1 = 2;
    *a.next.borrow_mut() = Some(a.clone());
    drop(a);
    assert_eq!(gc::collect(), 1);
    assert_eq!(c.dropped.get(), 1);

    let mut b = node(&c, 3);
    Gc::get_mut(&mut b).unwrap().item.1 = 4;
    *b.next.borrow_mut() = Some(b.clone());
    drop(b);
    assert_eq!(gc::collect(), 1);
    assert_eq!(c.dropped.get(), 2);
}

#[test]
fn unwrap_or_clone_moves_when_unique_and_clones_when_shared() {
    let c = Rc::new(Counter::default());
    let a = Gc::new(item(&c, 1));
    let w = Gc::downgrade(&a);
    let b = a.clone();
    let v = Gc::unwrap_or_clone(a);
    assert_eq!(c.cloned.get(), 1);
    assert_eq!(v.1, 1);
    assert!(w.upgrade().is_some());
    let v2 = Gc::unwrap_or_clone(b);
    assert_eq!(c.cloned.get(), 1, "moved out, not cloned");
    assert_eq!(c.finalized.get(), 0, "moved out values are not finalized");
    assert_eq!(c.dropped.get(), 0);
    assert!(w.upgrade().is_none());
    drop((v, v2));
    assert_eq!(c.dropped.get(), 2);
}

#[test]
fn from_box_moves_the_value() {
    let c = Rc::new(Counter::default());
    let g: Gc<Item> = Gc::from(Box::new(item(&c, 5)));
    assert_eq!(g.1, 5);
    assert_eq!(c.dropped.get(), 0);
    drop(g);
    assert_eq!(c.dropped.get(), 1);
    assert_eq!(c.finalized.get(), 1);

    let s: Gc<str> = Gc::from(String::from("boxed").into_boxed_str());
    assert_eq!(&*s, "boxed");

    let slice: Box<[Item]> = vec![item(&c, 1), item(&c, 2)].into_boxed_slice();
    let g: Gc<[Item]> = Gc::from(slice);
    assert_eq!(c.dropped.get(), 1, "elements moved, not dropped");
    assert_eq!(g.iter().map(|i| i.1).collect::<Vec<_>>(), [1, 2]);
    assert!(Gc::into_any(g).downcast::<[Item]>().is_ok());
    assert_eq!(c.dropped.get(), 3);
    assert_eq!(c.cloned.get(), 0);
}

#[test]
fn from_array_and_from_iterator_make_slices() {
    gc::collect();
    let c = Rc::new(Counter::default());
    let g: Gc<[Item]> = Gc::from([item(&c, 1), item(&c, 2), item(&c, 3)]);
    assert_eq!(g.len(), 3);
    assert_eq!(c.dropped.get(), 0);
    let w = Gc::downgrade(&g);
    assert_eq!(w.upgrade().unwrap()[2].1, 3);
    drop(g);
    assert_eq!(c.dropped.get(), 3);
    assert!(w.upgrade().is_none());

    let g: Gc<[Item]> = (10..14).map(|n| item(&c, n)).collect();
    assert_eq!(g.iter().map(|i| i.1).sum::<u32>(), 46);
    drop(g);
    assert_eq!(c.dropped.get(), 7);
    let empty: Gc<[Item]> = std::iter::empty().collect();
    assert!(empty.is_empty());
    let none: Gc<[u8]> = Gc::from([]);
    assert!(none.is_empty());

    // A cycle through a slice made from an array.
    let a = Gc::new(Slots {
        slots: RefCell::new(None),
        _item: item(&c, 20),
    });
    let slice: Gc<[Gc<Slots>]> = Gc::from([a.clone(), a.clone()]);
    assert!(gc::is_tracked(&slice));
    *a.slots.borrow_mut() = Some(slice);
    drop(a);
    assert_eq!(gc::collect(), 2);
    assert_eq!(c.dropped.get(), 8);
    assert_eq!(c.cloned.get(), 0);
}

#[derive(Trace, Finalize)]
struct Slots {
    slots: RefCell<Option<Gc<[Gc<Slots>]>>>,
    _item: Item,
}

#[test]
fn defaults_are_empty() {
    let s: Gc<str> = Gc::default();
    assert_eq!(&*s, "");
    let v: Gc<[Gc<u8>]> = Gc::default();
    assert!(v.is_empty());
    assert!(!gc::is_tracked(&s));
}

#[test]
fn weak_as_ptr_and_ptr_eq_follow_rc() {
    let a = Gc::new(3_u64);
    let w = Gc::downgrade(&a);
    assert_eq!(Weak::as_ptr(&w), Gc::as_ptr(&a));
    let s: Gc<[u8]> = Gc::from([1, 2]);
    let ws = Gc::downgrade(&s);
    assert_eq!(Weak::as_ptr(&ws), Gc::as_ptr(&s));
    // SAFETY: the target is alive.
    assert_eq!(unsafe { &*Weak::as_ptr(&ws) }, &[1, 2]);
    let ws2 = Gc::downgrade(&s);
    assert!(Weak::ptr_eq(&ws, &ws2));
    drop(s);
    assert!(Weak::as_ptr(&ws).is_null());
    assert!(Weak::ptr_eq(&ws, &ws2), "same allocation even when gone");
    assert!(!Weak::ptr_eq(&ws, &Weak::new()));
    drop(a);
    assert!(Weak::as_ptr(&w).is_null());
}
