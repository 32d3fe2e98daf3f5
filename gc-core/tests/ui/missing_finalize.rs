// Pins: `#[derive(Trace)]` without `#[derive(Finalize)]` (or an
// `impl Finalize`) is an error that says to add one of them.
//
// `Trace: Finalize`: every traced type has a (possibly empty) finalizer.

use gc_core::Trace;

#[derive(Trace)]
struct Point {
    x: i32,
    y: i32,
}

fn main() {
    let p = Point { x: 1, y: 2 };
    let _ = p.x + p.y;
}
