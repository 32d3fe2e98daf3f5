// Pins: `#[gc(skip)]` on the type itself is an error that says where it goes.
//
// `#[gc(skip)]` applies to fields only; on the struct it would be a silent
// no-op the author might believe skips the whole type. (The type's only
// option is `#[gc(crate = path)]`.)

use gc_core::{Finalize, Trace};

#[derive(Trace, Finalize)]
#[gc(skip)]
struct S {
    handle: u32,
}

fn main() {
    let _s = S { handle: 0 };
}
