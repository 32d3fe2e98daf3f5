// Pins: the `Drop` guard also covers generic types deriving `Trace`.
//
// `impl<T> Drop for S<T>` must conflict with the derive's
// `TraceTypesMustNotImplementDrop_UseFinalizeInstead` impl just like the
// non-generic case: the collector may drop a `S<T>` whose fields still point
// into a half-destroyed cycle. Use `Finalize` instead.

use gc_core::{Finalize, Gc, Trace};

#[derive(Trace, Finalize)]
struct S<T> {
    value: T,
    next: Option<Gc<S<T>>>,
}

impl<T> Drop for S<T> {
    fn drop(&mut self) {}
}

fn main() {
    let _s = Gc::new(S {
        value: 1_u32,
        next: None,
    });
}
