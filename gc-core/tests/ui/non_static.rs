// Pins: `Gc::new` rejects values that borrow from the stack.
//
// `Trace: 'static`: a `Gc` may outlive any scope (a cycle lives until the
// collector finds it), so it must not hold a reference to a local. Here the
// only `Trace` impl for `&str` is the one for `&'static str`.

use gc_core::Gc;

fn main() {
    let local = String::from("on the stack");
    let _g = Gc::new(local.as_str());
}
