// Pins: `Gc<T>` is `UnwindSafe` exactly when `Rc<T>` is: not for
// `T = RefCell<_>` (a panic could leave the cell's contents half-updated and
// observable afterwards), and the error names `RefCell`, as it does for `Rc`,
// not an internal type of gc-core. (`Gc<i32>` and `Weak<i32>` are unwind
// safe: see the doc examples of their `UnwindSafe` impls and
// tests/panic_safety.rs.)

use gc_core::Gc;
use std::cell::RefCell;

fn main() {
    let shared = Gc::new(RefCell::new(0));
    let _ = std::panic::catch_unwind(|| {
        *shared.borrow_mut() += 1;
    });
}
