//! Unsizing coercions of `Gc` and `Weak` on stable Rust:
//! [`coerce_gc!`](crate::coerce_gc!) and
//! [`coerce_weak!`](crate::coerce_weak!).
//!
//! Stable Rust has no `CoerceUnsized` for user types, but it does coerce
//! raw pointers: `*mut GcBox<X>` to `*mut GcBox<dyn Trait>` (when `X:
//! Trait`) or `*mut GcBox<[T; N]>` to `*mut GcBox<[T]>`. The macros take
//! the handle's box pointer, let the compiler coerce it where the target is
//! expected (so exactly the unsizing coercions the compiler accepts, with
//! the target inferred), and rebuild the handle around the result. The
//! pointer is `*mut`, not `*const`, because `*mut` is invariant: through a
//! `*const` the compiler would also accept plain subtyping (a
//! `for<'a> fn(&'a u8)` as a `fn(&'static u8)`, a `&'static str` as a
//! `&'a str`), which `Gc`'s invariance forbids (see [`Gc`]).
//!
//! Nothing about the object changes: its header keeps the vtable of the
//! type it was created as, which is what the collector and the count-zero
//! path use to trace, finalize, drop and free it. The fat pointer only adds
//! what the new static type needs (the trait's vtable, or the length).
//!
//! Invariants:
//! - `__private_from_ptr` / `__private_coerce` only ever get the pointer the
//!   paired `__private_into_ptr` / `__private_typed_ptr` returned for the same
//!   handle, after an implicit (unsizing or identity) coercion; the macros
//!   evaluate the user's expression outside their `unsafe` blocks.
//! - The pointers are `*mut`, so the coercion is an unsizing or the
//!   identity, never a subtyping (`tests/ui/gc_is_invariant.rs`).

use core::ptr::NonNull;

use crate::header::GcBox;
use crate::{Gc, Weak};

/// Turn a [`Gc<T>`](crate::Gc) into a `Gc<U>` for any `U` that `T`
/// unsizes to — a trait object (`dyn Trait`, `dyn Trait + 'static`, …) or
/// a slice `[T]` from an array `[T; N]` — with `U` inferred from the context.
/// Stable Rust's stand-in for `let g: Rc<dyn Trait> = rc;`.
///
/// The object is unchanged: a `Gc<dyn Trait>` is traced, finalized, dropped
/// and freed as the concrete value, clones and downgrades like any `Gc`,
/// [`Gc::into_any`](crate::Gc::into_any) of it still downcasts to the
/// concrete type, and [`Gc::ptr_eq`](crate::Gc::ptr_eq) compares addresses
/// only. Conversions that are not unsizing coercions do not compile, and
/// neither do subtyping conversions (`Gc` is invariant, see [`Gc`]).
///
/// ```
/// use gc_core::{coerce_gc, gc, Finalize, Gc, Trace};
/// use std::cell::RefCell;
///
/// trait Value: Trace {
///     fn describe(&self) -> String;
/// }
///
/// #[derive(Trace, Finalize)]
/// struct Num(f64);
/// impl Value for Num {
///     fn describe(&self) -> String {
///         format!("{}", self.0)
///     }
/// }
///
/// #[derive(Trace, Finalize)]
/// struct List(RefCell<Vec<Gc<dyn Value>>>);
/// impl Value for List {
///     fn describe(&self) -> String {
///         format!("list of {}", self.0.borrow().len())
///     }
/// }
///
/// let n: Gc<dyn Value> = coerce_gc!(Gc::new(Num(1.5)));
/// let list = Gc::new(List(RefCell::new(vec![n.clone()])));
/// let as_value: Gc<dyn Value> = coerce_gc!(list.clone());
/// list.0.borrow_mut().push(as_value); // a cycle through a trait object
/// assert_eq!(n.describe(), "1.5");
/// assert_eq!(list.describe(), "list of 2");
/// drop(list);
/// assert_eq!(gc::collect(), 1);
///
/// let s: Gc<[u8]> = coerce_gc!(Gc::new([1, 2, 3]));
/// assert_eq!(&*s, &[1, 2, 3]);
/// ```
///
/// The target must be known where the macro is used (a `let` with a type,
/// a function argument, a field); otherwise the result is just the `Gc<T>`.
#[macro_export]
macro_rules! coerce_gc {
    ($gc:expr $(,)?) => {{
        let ptr: *mut _ = $crate::Gc::__private_into_ptr($gc);
        // SAFETY: `ptr` came from `__private_into_ptr` and only went through
        // the implicit coercion at this call.
        unsafe { $crate::Gc::__private_from_ptr(ptr) }
    }};
}

/// Turn a [`Weak<T>`](crate::Weak) into a `Weak<U>` for any `U` that `T`
/// unsizes to, as [`coerce_gc!`](crate::coerce_gc!) does for `Gc`. If the
/// target is already gone the result is an empty `Weak` (as `Weak::new()`).
///
/// ```
/// use gc_core::{coerce_weak, Gc, Weak};
/// use std::fmt::Display;
///
/// let g = Gc::new(5_u32);
/// let w: Weak<dyn Display> = coerce_weak!(Gc::downgrade(&g));
/// assert_eq!(w.upgrade().unwrap().to_string(), "5");
/// drop(g);
/// assert!(w.upgrade().is_none());
/// ```
#[macro_export]
macro_rules! coerce_weak {
    ($weak:expr $(,)?) => {{
        let weak = $weak;
        match $crate::Weak::__private_typed_ptr(&weak) {
            ::core::option::Option::Some(ptr) => {
                // SAFETY: `ptr` came from `__private_typed_ptr(&weak)` and
                // only went through the implicit coercion at this call.
                unsafe { $crate::Weak::__private_coerce(weak, ptr) }
            }
            ::core::option::Option::None => {
                ::core::mem::drop(weak);
                $crate::Weak::new()
            }
        }
    }};
}

impl<T: ?Sized> Gc<T> {
    /// Used by [`coerce_gc!`]; not public API. The box pointer, owning the
    /// handle's strong count.
    #[doc(hidden)]
    pub fn __private_into_ptr(this: Gc<T>) -> *mut GcBox<T> {
        let ptr = this.box_ptr();
        core::mem::forget(this);
        ptr.as_ptr()
    }

    /// Used by [`coerce_gc!`]; not public API.
    ///
    /// # Safety
    /// `ptr` must be the result of [`Gc::__private_into_ptr`], possibly
    /// through an unsizing coercion, and not used again.
    #[doc(hidden)]
    pub unsafe fn __private_from_ptr(ptr: *mut GcBox<T>) -> Gc<T> {
        // SAFETY: a box pointer (non-null) that owns one strong count, with
        // the metadata the compiler computed for `T` (caller).
        unsafe { Gc::from_box(NonNull::new_unchecked(ptr)) }
    }
}

impl<T: ?Sized> Weak<T> {
    /// Used by [`coerce_weak!`]; not public API. The box pointer of the live
    /// target, or `None`.
    #[doc(hidden)]
    pub fn __private_typed_ptr(this: &Weak<T>) -> Option<*mut GcBox<T>> {
        this.typed_ptr().map(|p| p.as_ptr())
    }

    /// Used by [`coerce_weak!`]; not public API.
    ///
    /// # Safety
    /// `ptr` must be the result of [`Weak::__private_typed_ptr`] for `this`,
    /// possibly through an unsizing coercion.
    #[doc(hidden)]
    pub unsafe fn __private_coerce<U: ?Sized>(this: Weak<T>, ptr: *mut GcBox<U>) -> Weak<U> {
        // SAFETY: forwarded from the caller; `ptr` is non-null.
        unsafe { Weak::coerce(this, NonNull::new_unchecked(ptr)) }
    }
}
