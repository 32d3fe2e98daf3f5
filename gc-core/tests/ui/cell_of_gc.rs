// Pins: `Cell<Option<Gc<T>>>` (the `Rc` idiom for a parent link) is rejected
// with ONE error at the field, whose notes say that a `Cell` needs a `Copy`
// type and to use `RefCell` instead.
//
// `Cell<T>` is `Trace` only for `T: Copy` (reading it copies the value out),
// and `Gc` is not `Copy`. Without `#[diagnostic::do_not_recommend]` on that
// impl, rustc reported "`Gc<Node>: Copy` is not satisfied" three times (once
// per derived method), pointing into gc-core's trace.rs.

use gc_core::{Finalize, Gc, Trace};
use std::cell::Cell;

#[derive(Trace, Finalize)]
struct Node {
    name: String,
    parent: Cell<Option<Gc<Node>>>,
}

fn main() {
    let root = Gc::new(Node {
        name: "root".into(),
        parent: Cell::new(None),
    });
    let _ = &root.name;
}
