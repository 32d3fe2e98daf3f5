// Pins: `Gc<T>` is not `Send`.
//
// Every thread has its own heap and the reference counts are not atomic;
// moving a `Gc` to another thread would let two threads update the same
// counts (and the other thread's collector) without synchronisation.

use gc_core::Gc;

fn main() {
    let g = Gc::new(5_u32);
    let handle = std::thread::spawn(move || *g + 1);
    let _ = handle.join();
}
