// Pins: `GcAny` is not `Send`.
//
// A type-erased handle still owns a non-atomic strong count on this thread's
// heap; sending it would bypass the `!Send` of the `Gc` it came from.

use gc_core::{Gc, GcAny};

fn main() {
    let any: GcAny = Gc::into_any(Gc::new(String::from("x")));
    let handle = std::thread::spawn(move || any.type_name());
    let _ = handle.join();
}
