// `coerce_gc!` / `coerce_weak!` accept unsizing coercions only: not a
// reinterpretation between sized types, not a trait the value does not
// implement, and nothing but a `Gc` (`Weak`).
use gc_core::{coerce_gc, coerce_weak, Gc, Weak};
use std::fmt::Display;

fn main() {
    let _bits: Gc<u64> = coerce_gc!(Gc::new(1_u32));
    let _shown: Gc<dyn Display> = coerce_gc!(Gc::new(vec![1_u8]));
    let _boxed: Gc<dyn Display> = coerce_gc!(Box::new(1_u8));
    let _weak: Weak<[u8; 2]> = coerce_weak!(Gc::downgrade(&Gc::new([0_u8; 4])));
}
