// Pins: a trait object whose trait does not have `Trace` as a supertrait is
// rejected with the error at the field, and the notes say to add `Trace` as
// a supertrait (`trait Value: Trace`).
//
// The collector traces a `Box<dyn Value>` through the vtable of `Trace`,
// which `dyn Value` has only if `Value: Trace`.

use gc_core::{Finalize, Trace};

trait Value {
    fn show(&self) -> String;
}

#[derive(Trace, Finalize)]
struct Env {
    values: Vec<Box<dyn Value>>,
}

fn main() {
    let env = Env { values: Vec::new() };
    let _ = env.values.iter().map(|v| v.show()).count();
}
