// A struct with an unsized last field that derives `Trace` cannot implement
// `Drop` either (use `Finalize`).
use gc_core::{Finalize, Trace};

#[derive(Trace, Finalize)]
struct Tail<T: ?Sized> {
    id: u32,
    rest: T,
}

impl<T: ?Sized> Drop for Tail<T> {
    fn drop(&mut self) {}
}

fn main() {}
