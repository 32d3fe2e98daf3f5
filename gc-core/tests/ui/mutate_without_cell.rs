// Pins: a `Gc<T>` gives only shared access to its value.
//
// Like `Rc`, any number of `Gc`s may point to the same value, so `Gc`
// implements `Deref` but not `DerefMut`: mutation must go through
// `Cell`/`RefCell`. Both assigning through the pointer and calling a
// `&mut self` method through it must be rejected.

use gc_core::Gc;

fn main() {
    let g = Gc::new(5);
    *g = 6;

    let v = Gc::new(vec![1_u32, 2, 3]);
    v.push(4);
}
