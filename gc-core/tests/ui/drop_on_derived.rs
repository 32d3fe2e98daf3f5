// Pins: a type deriving `Trace` cannot also implement `Drop`.
//
// The cycle collector drops the members of a garbage cycle while they still
// point to each other, so a `Drop` impl could read an already-destroyed
// neighbour. Traced types must use `Finalize` instead; the derive makes
// `impl Drop` a conflicting-implementations error naming
// `TraceTypesMustNotImplementDrop_UseFinalizeInstead`.

use gc_core::{Finalize, Gc, Trace};

#[derive(Trace, Finalize)]
struct S {
    next: Option<Gc<S>>,
}

impl Drop for S {
    fn drop(&mut self) {
        if let Some(next) = &self.next {
            let _ = next.next.is_some();
        }
    }
}

fn main() {
    let _s = Gc::new(S { next: None });
}
