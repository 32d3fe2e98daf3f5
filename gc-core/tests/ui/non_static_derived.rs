// A derived type with a lifetime parameter is `Trace` only for `'static`
// (the derive adds `'a: 'static`, as `Trace: 'static` demands): a `Gc` of a
// value borrowing a local must be rejected, or it could outlive the borrow.
use gc_core::{Finalize, Gc, Trace};

#[derive(Trace, Finalize)]
struct View<'a> {
    name: &'a str,
}

fn main() {
    let local = String::from("short-lived");
    let g = Gc::new(View { name: &local });
    println!("{}", g.name.len());
}
