// Pins: `#[derive(Trace)]` requires every traced field to implement `Trace`.
//
// The derived `trace` visits each field; a field whose type does not
// implement `Trace` could hide `Gc` edges from the collector, so it must be
// rejected (or explicitly marked `#[gc(skip)]`). The error must point at the
// field's type, and its notes (`#[diagnostic::on_unimplemented]` on `Trace`)
// say what to do: derive `Trace` and `Finalize`, or `#[gc(skip)]` a field
// that holds no `Gc`.

use gc_core::{Finalize, Trace};

struct Opaque;

#[derive(Trace, Finalize)]
struct S {
    name: String,
    opaque: Opaque,
}

fn main() {
    let _s = S {
        name: String::new(),
        opaque: Opaque,
    };
}
