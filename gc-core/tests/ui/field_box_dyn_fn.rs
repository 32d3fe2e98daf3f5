// Pins: a closure field (`Box<dyn Fn()>`) is rejected with the error at the
// field, and the notes name `#[gc(skip)]` (for a closure that holds no `Gc`).
//
// The collector cannot look inside a closure, so a closure field must be
// skipped explicitly; README's "Drop, closures, trait objects and foreign
// types" says what to do when the closure needs a `Gc` (capture a `Weak`).

use gc_core::{Finalize, Trace};

#[derive(Trace, Finalize)]
struct Button {
    label: String,
    on_click: Box<dyn Fn()>,
}

fn main() {
    let b = Button {
        label: "ok".into(),
        on_click: Box::new(|| {}),
    };
    (b.on_click)();
    let _ = b.label;
}
