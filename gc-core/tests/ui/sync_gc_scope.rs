// Pins: `&Gc<T>` cannot be shared with another thread (`Gc<T>: !Sync`).
//
// A scoped thread borrowing a `Gc` could clone it, which updates a non-atomic
// count owned by the spawning thread's heap, racing with that thread.

use gc_core::Gc;

fn main() {
    let g = Gc::new(5_u32);
    let r = &g;
    std::thread::scope(|s| {
        s.spawn(move || {
            let _other = r.clone();
        });
    });
}
