// Pins: `Weak<T>` is not `Send`.
//
// A `Weak` shares its (non-atomic) weak cell with the heap of the thread that
// created it, and `upgrade` would hand out a `Gc` on the wrong thread.

use gc_core::{Gc, Weak};

fn main() {
    let strong = Gc::new(5_u32);
    let weak: Weak<u32> = Gc::downgrade(&strong);
    let handle = std::thread::spawn(move || weak.upgrade().is_some());
    let _ = handle.join();
    drop(strong);
}
