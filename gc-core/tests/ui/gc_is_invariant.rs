// `Gc<T>` and `Weak<T>` are invariant in `T`, and `coerce_gc!` /
// `coerce_weak!` do no subtyping: the object keeps the type it was created
// with (its `Drop`, `Trace`, `Finalize` and `GcAny`'s `TypeId`), so a handle
// that named a supertype could write a shorter-lived value through
// `Gc::get_mut` and read it back, through `GcAny`, as the creation type.
// A shorter-lived view is a borrow instead (`&*g` coerces to `&&'a str`).
use gc_core::{coerce_gc, coerce_weak, Gc, Weak};

fn shorter<'a>(g: Gc<&'static str>) -> Gc<&'a str> {
    g
}

fn shorter_weak<'a>(w: Weak<&'static str>) -> Weak<&'a str> {
    w
}

type HigherRanked = for<'a> fn(&'a u8);
type OnlyStatic = fn(&'static u8);

fn less_general(g: Gc<HigherRanked>) -> Gc<OnlyStatic> {
    coerce_gc!(g)
}

fn less_general_weak(w: Weak<HigherRanked>) -> Weak<OnlyStatic> {
    coerce_weak!(w)
}

fn main() {}
