// Pins: `Trace` is an `unsafe trait`; a manual impl must say `unsafe impl`.
//
// An impl that over-reports edges makes the collector free live objects, so
// implementing `Trace` by hand is a promise the compiler cannot check.

use gc_core::{Finalize, Gc, Trace, Tracer};

struct X {
    inner: Gc<u32>,
}

impl Finalize for X {}

impl Trace for X {
    fn trace(&self, tracer: &mut Tracer) {
        self.inner.trace(tracer);
    }
}

fn main() {
    let _x = Gc::new(X { inner: Gc::new(1) });
}
