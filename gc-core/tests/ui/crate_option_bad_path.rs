// Pins: `#[gc(crate = path)]` is used as written, so a path that names
// nothing is an error at that path (and nowhere else), saying what is missing.
//
// Without the option the derive would find gc-core in Cargo.toml and this
// would compile; the error proves the option overrides the lookup.

use gc_core::{Finalize, Gc, Trace};

#[derive(Trace, Finalize)]
#[gc(crate = not_a_crate::gc)]
struct S {
    next: Option<Gc<S>>,
}

fn main() {
    let _s = S { next: None };
}
