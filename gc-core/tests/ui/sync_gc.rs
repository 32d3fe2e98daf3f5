// Pins: `Gc<T>` is not `Sync` (checked directly with a `Sync` bound).
//
// Sharing `&Gc<T>` between threads would let another thread clone or drop
// through it, updating non-atomic counts owned by this thread's heap.
// `sync_gc_scope.rs` pins the same property through `std::thread::scope`
// (kept separate because rustc reports the unsatisfied `Gc<u32>: Sync` only
// once per file, which would leave the second check unverified).

use gc_core::Gc;

fn assert_sync<T: Sync>() {}

fn main() {
    assert_sync::<Gc<u32>>();
}
