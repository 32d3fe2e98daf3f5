//! Trait objects and slices through `coerce_gc!` / `coerce_weak!`: the
//! object keeps behaving as its concrete type (traced, finalized once,
//! dropped, freed), and `Weak`s to unsized targets rebuild the right fat
//! pointer.

use std::cell::{Cell, RefCell};
use std::fmt::{Debug, Display};
use std::rc::Rc;

use gc_core::{coerce_gc, coerce_weak, gc, Finalize, Gc, GcAny, Trace, Weak};

/// Counts finalize and drop calls.
#[derive(Clone, Default)]
struct Counts {
    finalized: Rc<Cell<usize>>,
    dropped: Rc<Cell<usize>>,
}

struct DropMark(Rc<Cell<usize>>);
impl Drop for DropMark {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

trait Value: Trace {
    fn name(&self) -> String;
    fn children(&self) -> Vec<Gc<dyn Value>> {
        Vec::new()
    }
}

#[derive(Trace)]
struct Num {
    n: i64,
    #[gc(skip)]
    counts: Counts,
    #[gc(skip)]
    _drop: DropMark,
}

impl Finalize for Num {
    fn finalize(&self) {
        self.counts.finalized.set(self.counts.finalized.get() + 1);
    }
}

impl Value for Num {
    fn name(&self) -> String {
        format!("num {}", self.n)
    }
}

#[derive(Trace)]
struct List {
    items: RefCell<Vec<Gc<dyn Value>>>,
    #[gc(skip)]
    counts: Counts,
    #[gc(skip)]
    _drop: DropMark,
}

impl Finalize for List {
    fn finalize(&self) {
        self.counts.finalized.set(self.counts.finalized.get() + 1);
    }
}

impl Value for List {
    fn name(&self) -> String {
        format!("list of {}", self.items.borrow().len())
    }
    fn children(&self) -> Vec<Gc<dyn Value>> {
        self.items.borrow().clone()
    }
}

fn num(n: i64, c: &Counts) -> Gc<Num> {
    Gc::new(Num {
        n,
        counts: c.clone(),
        _drop: DropMark(c.dropped.clone()),
    })
}

fn list(c: &Counts) -> Gc<List> {
    Gc::new(List {
        items: RefCell::new(vec![]),
        counts: c.clone(),
        _drop: DropMark(c.dropped.clone()),
    })
}

#[test]
fn a_trait_object_derefs_clones_and_drops_as_the_concrete_value() {
    let c = Counts::default();
    let v: Gc<dyn Value> = coerce_gc!(num(3, &c));
    assert_eq!(v.name(), "num 3");
    assert!(!gc::is_tracked(&v), "Num holds no Gc: untracked");
    let v2 = v.clone();
    assert_eq!(Gc::strong_count(&v), 2);
    assert!(Gc::ptr_eq(&v, &v2));
    drop(v);
    assert_eq!(c.dropped.get(), 0);
    drop(v2);
    assert_eq!(c.finalized.get(), 1);
    assert_eq!(c.dropped.get(), 1);
}

#[test]
fn ptr_eq_compares_addresses_only() {
    let c = Counts::default();
    let concrete = num(1, &c);
    let as_value: Gc<dyn Value> = coerce_gc!(concrete.clone());
    let as_value2: Gc<dyn Value> = coerce_gc!(concrete.clone());
    assert!(Gc::ptr_eq(&as_value, &as_value2));
    assert_eq!(
        Gc::as_ptr(&as_value) as *const u8,
        Gc::as_ptr(&concrete) as *const u8
    );
    let other: Gc<dyn Value> = coerce_gc!(num(1, &c));
    assert!(!Gc::ptr_eq(&as_value, &other));
}

#[test]
fn a_cycle_through_trait_objects_is_collected_finalized_once_and_dropped() {
    gc::collect();
    let c = Counts::default();
    let a = list(&c);
    let b = list(&c);
    let n: Gc<dyn Value> = coerce_gc!(num(7, &c));
    a.items.borrow_mut().push(coerce_gc!(b.clone()));
    a.items.borrow_mut().push(n);
    b.items.borrow_mut().push(coerce_gc!(a.clone()));
    assert!(gc::is_tracked(&a));
    let weak: Weak<dyn Value> = coerce_weak!(Gc::downgrade(&b));
    assert_eq!(weak.upgrade().unwrap().name(), "list of 1");
    assert_eq!(a.children().len(), 2);
    drop((a, b));
    assert_eq!(c.dropped.get(), 0);
    assert_eq!(gc::collect(), 2);
    assert_eq!(c.finalized.get(), 3);
    assert_eq!(c.dropped.get(), 3);
    assert!(weak.upgrade().is_none());
    assert_eq!(gc::collect(), 0);
    assert_eq!(c.finalized.get(), 3);
}

#[test]
fn downcast_works_for_handles_that_came_through_a_trait_object() {
    let c = Counts::default();
    let v: Gc<dyn Value> = coerce_gc!(num(9, &c));
    let any: GcAny = Gc::into_any(v);
    assert!(any.is::<Num>());
    assert!(any.type_name().ends_with("Num"));
    let Err(any) = any.downcast::<List>() else {
        panic!("not a List")
    };
    let back: Gc<Num> = any.downcast().unwrap();
    assert_eq!(back.n, 9);
    assert_eq!(Gc::strong_count(&back), 1);
}

#[test]
fn dyn_trait_static_and_std_traits() {
    let d: Gc<dyn Debug + 'static> = coerce_gc!(Gc::new(vec![1, 2]));
    assert_eq!(format!("{d:?}"), "[1, 2]");
    let s: Gc<dyn Display> = coerce_gc!(Gc::new(String::from("hi")));
    assert_eq!(s.to_string(), "hi");
    assert_eq!(format!("{s}"), "hi");
    let any: Gc<dyn std::any::Any> = coerce_gc!(Gc::new(5_u8));
    assert_eq!(any.downcast_ref::<u8>(), Some(&5));
    // Pushing into a vector infers the target from the element type.
    let mut v: Vec<Gc<dyn Display>> = Vec::new();
    v.push(coerce_gc!(Gc::new(1_u8)));
    v.push(coerce_gc!(Gc::new('c')));
    let printed: Vec<String> = v.iter().map(|x| x.to_string()).collect();
    assert_eq!(printed, ["1", "c"]);
}

#[derive(Trace, Finalize)]
#[repr(align(64))]
struct Aligned(u8);

trait Byte: Trace {
    fn byte(&self) -> u8;
}
impl Byte for Aligned {
    fn byte(&self) -> u8 {
        self.0
    }
}
#[derive(Trace, Finalize)]
struct Zst;
impl Byte for Zst {
    fn byte(&self) -> u8 {
        0
    }
}

#[test]
fn over_aligned_and_zero_sized_values() {
    let a = Gc::new(Aligned(42));
    let d: Gc<dyn Byte> = coerce_gc!(a.clone());
    assert_eq!(d.byte(), 42);
    assert_eq!(Gc::as_ptr(&d) as *const u8 as usize % 64, 0);
    assert_eq!(Gc::as_ptr(&d) as *const u8, Gc::as_ptr(&a) as *const u8);
    let w: Weak<dyn Byte> = coerce_weak!(Gc::downgrade(&a));
    assert_eq!(w.upgrade().unwrap().byte(), 42);
    let z: Gc<dyn Byte> = coerce_gc!(Gc::new(Zst));
    assert_eq!(z.byte(), 0);
}

#[derive(Trace, Finalize)]
struct Elem {
    next: RefCell<Option<Gc<[Gc<Elem>]>>>,
    #[gc(skip)]
    _drop: DropMark,
}

#[test]
fn slices_from_arrays() {
    gc::collect();
    let s: Gc<[u32]> = coerce_gc!(Gc::new([1, 2, 3]));
    assert_eq!(&*s, &[1, 2, 3]);
    assert_eq!(s.len(), 3);
    // The object is still a `[u32; 3]`: it downcasts to the array, not to a slice.
    let any = Gc::into_any(s.clone());
    let any = any.downcast::<[u32]>().unwrap_err();
    assert_eq!(*any.downcast::<[u32; 3]>().unwrap(), [1, 2, 3]);
    // A `Weak<[T]>` keeps the length.
    let w = Gc::downgrade(&s);
    assert_eq!(&*w.upgrade().unwrap(), &[1, 2, 3]);
    let w2: Weak<[u32]> = coerce_weak!(Gc::downgrade(&Gc::new([4_u32; 5])));
    assert!(w2.upgrade().is_none(), "the array is gone");
    // A cycle through a coerced slice.
    let dropped = Rc::new(Cell::new(0));
    let e = Gc::new(Elem {
        next: RefCell::new(None),
        _drop: DropMark(dropped.clone()),
    });
    let arr: Gc<[Gc<Elem>]> = coerce_gc!(Gc::new([e.clone(), e.clone()]));
    assert!(gc::is_tracked(&arr));
    *e.next.borrow_mut() = Some(arr);
    drop(e);
    assert_eq!(gc::collect(), 2);
    assert_eq!(dropped.get(), 1);
}

#[test]
fn weak_to_unsized_targets() {
    let c = Counts::default();
    let v: Gc<dyn Value> = coerce_gc!(num(5, &c));
    let w1 = Gc::downgrade(&v);
    let w2 = w1.clone();
    let w3: Weak<dyn Value> = coerce_weak!(w1.clone());
    assert_eq!(Gc::weak_count(&v), 3, "every handle counts");
    assert_eq!(w3.weak_count(), 3);
    assert_eq!(w3.strong_count(), 1);
    assert!(Weak::ptr_eq(&w1, &w2));
    assert!(Weak::ptr_eq(&w1, &w3));
    assert_eq!(w3.upgrade().unwrap().name(), "num 5");
    drop(w2);
    assert_eq!(Gc::weak_count(&v), 2);
    drop(v);
    assert_eq!(c.dropped.get(), 1);
    assert!(w1.upgrade().is_none() && w3.upgrade().is_none());
    assert_eq!(w1.weak_count(), 0);
    assert!(Weak::ptr_eq(&w1, &w3), "still the same (gone) object");
    // Coercing a weak whose target is gone gives an empty one.
    let w4: Weak<dyn Value> = coerce_weak!(w1.clone());
    assert!(w4.upgrade().is_none());
    assert!(Weak::ptr_eq(&w4, &Weak::new()));

    // `str` targets.
    let s: Gc<str> = Gc::from("text");
    let ws = Gc::downgrade(&s);
    assert_eq!(&*ws.upgrade().unwrap(), "text");
    assert_eq!(Weak::as_ptr(&ws), Gc::as_ptr(&s));
    drop(s);
    assert!(ws.upgrade().is_none());
    assert!(Weak::as_ptr(&ws).is_null());
    let empty: Weak<str> = Weak::new();
    assert!(empty.upgrade().is_none());
    let e2: Weak<dyn Display> = coerce_weak!(Weak::<u8>::new());
    assert!(e2.upgrade().is_none());
}

#[test]
fn a_weak_is_one_pointer() {
    assert_eq!(
        std::mem::size_of::<Weak<u64>>(),
        std::mem::size_of::<usize>()
    );
    assert_eq!(
        std::mem::size_of::<Weak<dyn Display>>(),
        std::mem::size_of::<usize>()
    );
    assert_eq!(
        std::mem::size_of::<Gc<dyn Display>>(),
        2 * std::mem::size_of::<usize>()
    );
}

#[derive(Trace, Finalize)]
struct Tail<T: ?Sized> {
    id: u32,
    rest: T,
}

impl<T: ?Sized + Value> Value for Tail<T> {
    fn name(&self) -> String {
        format!("tail {} {}", self.id, self.rest.name())
    }
}

#[test]
fn a_derived_custom_dst_through_coercion() {
    gc::collect();
    let c = Counts::default();
    let t: Gc<Tail<dyn Value>> = coerce_gc!(Gc::new(Tail {
        id: 4,
        rest: Num {
            n: 2,
            counts: c.clone(),
            _drop: DropMark(c.dropped.clone()),
        },
    }));
    assert_eq!(t.rest.name(), "num 2");
    let tl = Gc::new(Tail {
        id: 5,
        rest: List {
            items: RefCell::new(vec![]),
            counts: c.clone(),
            _drop: DropMark(c.dropped.clone()),
        },
    });
    let as_value: Gc<dyn Value> = coerce_gc!(tl.clone());
    tl.rest.items.borrow_mut().push(as_value); // a cycle through the tail
    let as_tail: Gc<Tail<dyn Value>> = coerce_gc!(tl);
    assert_eq!(as_tail.name(), "tail 5 list of 1");
    drop(as_tail);
    assert_eq!(gc::collect(), 1);
    assert_eq!(c.dropped.get(), 1);
    drop(t);
    assert_eq!(c.dropped.get(), 2);
}
