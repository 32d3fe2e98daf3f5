// Pins: `#[derive(Trace)]` rejects unions.
//
// The derive cannot know which field of a union is active, so it cannot
// trace it; such types must implement `Trace` by hand.

use gc_core::{Finalize, Trace};

#[derive(Trace, Finalize)]
union U {
    a: u32,
    b: f32,
}

fn main() {
    let _u = U { a: 1 };
}
