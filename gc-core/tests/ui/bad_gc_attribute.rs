// Pins: an unknown `#[gc(...)]` field option is an error.
//
// `skip` is the only option; a typo such as `#[gc(skp)]` must not be ignored
// silently, or the field would be traced when the author meant to skip it
// (or, with other typos, the reverse).

use gc_core::{Finalize, Trace};

#[derive(Trace, Finalize)]
struct S {
    #[gc(skp)]
    handle: u32,
}

fn main() {
    let _s = S { handle: 0 };
}
