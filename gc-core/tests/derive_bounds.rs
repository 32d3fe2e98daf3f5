//! `#[derive(Trace)]` on structs with an unsized last field, and generic
//! parameters that only skipped fields use.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gc_core::{gc, Finalize, Gc, Trace};

fn is_trace<T: ?Sized + Trace>() {}

/// Neither `Trace` nor `'static`-dependent: only ever stored in skipped fields.
struct Foreign(#[allow(dead_code)] u32);

#[derive(Trace, Finalize)]
struct Skips<T, U> {
    traced: Option<Gc<Skips<T, U>>>,
    #[gc(skip)]
    _t: T,
    #[gc(skip)]
    _u: Vec<U>,
}

#[test]
fn parameters_used_only_in_skipped_fields_need_not_be_trace() {
    is_trace::<Skips<Foreign, Foreign>>();
    let a = Gc::new(Skips {
        traced: None,
        _t: Foreign(1),
        _u: vec![Foreign(2)],
    });
    let b = Gc::new(Skips {
        traced: Some(a),
        _t: Foreign(3),
        _u: vec![],
    });
    // Its only edge is a fixed one to its own type (same arguments).
    assert!(!gc::is_tracked(&b));
}

pub trait Shape: Trace {
    fn area(&self) -> u32;
}

/// A custom DST: the whole struct is unsized.
#[derive(Trace, Finalize)]
struct AnyShape(dyn Shape);

/// A struct whose last field may be unsized.
#[derive(Trace, Finalize)]
struct Tail<T: ?Sized> {
    id: u32,
    rest: T,
}

/// A struct that ends in a slice.
#[derive(Trace, Finalize)]
struct Slice {
    len: usize,
    items: [Gc<u8>],
}

#[test]
fn unsized_last_fields_derive() {
    is_trace::<AnyShape>();
    is_trace::<Tail<dyn Shape>>();
    is_trace::<Tail<[Gc<u8>]>>();
    is_trace::<Slice>();
    // A generic tail is asked conservatively: tracked whatever `T` is.
    assert!(<Tail<u8>>::needs_tracking());
    assert!(<Tail<Gc<u8>>>::needs_tracking());
}

#[derive(Trace, Finalize)]
struct Sized2 {
    id: u32,
    rest: u64,
}

#[test]
fn a_sized_last_field_is_asked_exactly() {
    assert!(!Sized2::needs_tracking());
    assert!(!Sized2::needs_tracking_shallow());
}

struct Drops(Rc<Cell<usize>>);
impl Drop for Drops {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[derive(Trace, Finalize)]
struct Link {
    next: RefCell<Option<Gc<Tail<Link>>>>,
    #[gc(skip)]
    _drops: Drops,
}

#[test]
fn a_cycle_through_a_generic_tail_is_collected() {
    gc::collect();
    let d = Rc::new(Cell::new(0));
    let a = Gc::new(Tail {
        id: 1,
        rest: Link {
            next: RefCell::new(None),
            _drops: Drops(d.clone()),
        },
    });
    *a.rest.next.borrow_mut() = Some(a.clone());
    assert_eq!(a.id, 1);
    drop(a);
    assert_eq!(gc::collect(), 1);
    assert_eq!(d.get(), 1);
}
