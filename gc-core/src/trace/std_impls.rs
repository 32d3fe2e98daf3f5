//! `Trace` for more of the standard library: ranges, bounds, orderings,
//! atomics, locks, `ManuallyDrop`, `Cow`, paths, files, I/O errors, network
//! addresses, `Saturating`, `OnceLock`, function pointers.
//!
//! The impls follow the rules of the parent module: leaves (types that can
//! never own a `Gc`) answer `needs_tracking() == false`; containers that hold
//! their value inline ask the value's type the same question. Types that are
//! already `Trace` through a generic impl are not repeated here: `Box<str>`
//! and `Box<[T]>` (through `Box<T: ?Sized>`), `Rc<str>` and `Arc<str>`
//! (through the untraced `Rc`/`Arc` impls, so they are leaves).
//!
//! Locks: a `Mutex` or `RwLock` that is locked (for writing) while the
//! collector traces it is skipped, exactly as a mutably borrowed `RefCell`
//! is: its contents count as externally referenced and survive that
//! collection. A poisoned lock is traced (its value is still owned by it).

use core::cmp::Ordering;
use core::mem::ManuallyDrop;
use core::num::Saturating;
use core::ops::{Bound, Range, RangeFrom, RangeFull, RangeInclusive, RangeTo, RangeToInclusive};
use core::sync::atomic;
use std::borrow::Cow;
use std::ffi::{CStr, CString, OsStr};
use std::path::Path;
use std::sync::{Mutex, OnceLock, RwLock, TryLockError};

use super::{Finalize, Trace, Tracer};

leaf!(
    Ordering,
    RangeFull,
    atomic::AtomicBool,
    atomic::AtomicI8,
    atomic::AtomicI16,
    atomic::AtomicI32,
    atomic::AtomicI64,
    atomic::AtomicIsize,
    atomic::AtomicU8,
    atomic::AtomicU16,
    atomic::AtomicU32,
    atomic::AtomicU64,
    atomic::AtomicUsize,
    atomic::Ordering,
    core::alloc::Layout,
    std::fs::File,
    std::fs::Metadata,
    std::fs::FileType,
    std::fs::Permissions,
    std::io::Error,
    std::io::ErrorKind,
    std::net::IpAddr,
    std::net::Ipv4Addr,
    std::net::Ipv6Addr,
    std::net::SocketAddr,
    std::net::SocketAddrV4,
    std::net::SocketAddrV6,
    std::net::TcpListener,
    std::net::TcpStream,
    std::net::UdpSocket,
    std::thread::ThreadId,
    CString,
);

/// Unsized leaves: only `trace` can be written for them (the tracking
/// questions need `Self: Sized`); `Box<Path>`, `Rc<OsStr>` and so on get
/// their answers from the pointer's impl.
macro_rules! unsized_leaf {
    ($($t:ty),* $(,)?) => {$(
        impl Finalize for $t {}
        // SAFETY: the type owns no `Gc`.
        unsafe impl Trace for $t {
            #[inline]
            fn trace(&self, _: &mut Tracer) {}
        }
    )*};
}

unsized_leaf!(Path, OsStr, CStr);

impl<T> Finalize for atomic::AtomicPtr<T> {
    #[inline]
    fn has_finalizer() -> bool {
        false
    }
}
/// A raw pointer is never traced (it owns no count).
// SAFETY: reports nothing.
unsafe impl<T: 'static> Trace for atomic::AtomicPtr<T> {
    #[inline]
    fn trace(&self, _: &mut Tracer) {}
    #[inline]
    fn needs_tracking() -> bool {
        false
    }
    #[inline]
    fn needs_tracking_shallow() -> bool {
        false
    }
}

inline_container! {
    [T] Range<T> => |s, t| { s.start.trace(t); s.end.trace(t) }, [T];
    [T] RangeInclusive<T> => |s, t| { s.start().trace(t); s.end().trace(t) }, [T];
    [T] RangeFrom<T> => |s, t| s.start.trace(t), [T];
    [T] RangeTo<T> => |s, t| s.end.trace(t), [T];
    [T] RangeToInclusive<T> => |s, t| s.end.trace(t), [T];
    [T] Bound<T> => |s, t| match s {
        Bound::Included(v) | Bound::Excluded(v) => v.trace(t),
        Bound::Unbounded => {}
    }, [T];
    [T] Saturating<T> => |s, t| s.0.trace(t), [T];
    /// The value is traced, so a cycle through it is found; the collector
    /// never drops it (dropping a `ManuallyDrop` does nothing). A `Gc` inside
    /// one whose owner is torn down is therefore never released: its
    /// target's memory stays allocated (its value is still dropped if the
    /// target is part of the same garbage).
    [T] ManuallyDrop<T> => |s, t| T::trace(s, t), [T];
    /// Traced through [`OnceLock::get`]: an empty (or still initialising)
    /// lock holds nothing yet.
    [T] OnceLock<T> => |s, t| if let Some(v) = s.get() { v.trace(t) }, [T];
    /// Traced through `try_lock`: a `Mutex` locked while the collector runs
    /// is skipped, like a mutably borrowed `RefCell` (its contents count as
    /// externally referenced and survive that collection). A poisoned mutex
    /// is traced.
    [T] Mutex<T> => |s, t| match s.try_lock() {
        Ok(v) => T::trace(&v, t),
        Err(TryLockError::Poisoned(p)) => T::trace(&p.into_inner(), t),
        Err(TryLockError::WouldBlock) => t.incomplete(),
    }, [T];
    /// Traced through `try_read`: an `RwLock` locked for writing while the
    /// collector runs is skipped, like a mutably borrowed `RefCell`. A
    /// poisoned lock is traced.
    [T] RwLock<T> => |s, t| match s.try_read() {
        Ok(v) => T::trace(&v, t),
        Err(TryLockError::Poisoned(p)) => T::trace(&p.into_inner(), t),
        Err(TryLockError::WouldBlock) => t.incomplete(),
    }, [T];
}

impl<B: ?Sized + ToOwned> Finalize for Cow<'static, B> {
    #[inline]
    fn has_finalizer() -> bool {
        false
    }
}
/// Only the `Owned` variant is traced: a `Borrowed` one refers to `'static`
/// data it does not own (reporting a `Gc` in there as its edge would
/// over-report).
// SAFETY: visits the owned value only.
unsafe impl<B: ?Sized + ToOwned + 'static> Trace for Cow<'static, B>
where
    B::Owned: Trace,
{
    #[inline]
    fn trace(&self, tracer: &mut Tracer) {
        if let Cow::Owned(v) = self {
            v.trace(tracer)
        }
    }
    #[inline]
    fn needs_tracking() -> bool {
        B::Owned::needs_tracking()
    }
    #[inline]
    fn needs_tracking_shallow() -> bool {
        B::Owned::needs_tracking_shallow()
    }
}

/// Function pointers (safe, `unsafe`, `extern "C"`) of up to six arguments
/// own nothing.
macro_rules! fn_pointers {
    ($($arg:ident)*) => {
        fn_pointers!(@one [fn($($arg),*) -> R] $($arg)*);
        fn_pointers!(@one [unsafe fn($($arg),*) -> R] $($arg)*);
        fn_pointers!(@one [extern "C" fn($($arg),*) -> R] $($arg)*);
        fn_pointers!(@one [unsafe extern "C" fn($($arg),*) -> R] $($arg)*);
    };
    (@one [$t:ty] $($arg:ident)*) => {
        impl<R, $($arg),*> Finalize for $t {
            #[inline]
            fn has_finalizer() -> bool { false }
        }
        // SAFETY: a function pointer owns no `Gc`.
        unsafe impl<R: 'static, $($arg: 'static),*> Trace for $t {
            #[inline]
            fn trace(&self, _: &mut Tracer) {}
            #[inline]
            fn needs_tracking() -> bool { false }
            #[inline]
            fn needs_tracking_shallow() -> bool { false }
        }
    };
}

fn_pointers!();
fn_pointers!(A);
fn_pointers!(A B);
fn_pointers!(A B C);
fn_pointers!(A B C D);
fn_pointers!(A B C D E);
fn_pointers!(A B C D E F);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Gc;

    #[test]
    fn leaves_are_untracked() {
        assert!(!Ordering::needs_tracking());
        assert!(!atomic::AtomicUsize::needs_tracking());
        assert!(!<atomic::AtomicPtr<Gc<u8>>>::needs_tracking());
        assert!(!std::io::Error::needs_tracking());
        assert!(!std::net::SocketAddr::needs_tracking());
        assert!(!<fn(u8, u16, u32, u64, i8, i16) -> Gc<u8>>::needs_tracking());
        assert!(!<unsafe extern "C" fn() -> ()>::needs_tracking());
        assert!(!RangeFull::needs_tracking());
    }

    #[test]
    fn inline_containers_ask_their_element() {
        assert!(!<Range<u32>>::needs_tracking());
        assert!(<Range<Gc<u8>>>::needs_tracking());
        assert!(<RangeInclusive<Gc<u8>>>::needs_tracking());
        assert!(!<Bound<u8>>::needs_tracking());
        assert!(<Bound<Gc<u8>>>::needs_tracking());
        assert!(!<Mutex<Vec<u8>>>::needs_tracking());
        assert!(<Mutex<Vec<Gc<u8>>>>::needs_tracking());
        assert!(<RwLock<Option<Gc<u8>>>>::needs_tracking());
        assert!(<ManuallyDrop<Gc<u8>>>::needs_tracking());
        assert!(!<ManuallyDrop<String>>::needs_tracking());
        assert!(<OnceLock<Gc<u8>>>::needs_tracking());
        assert!(!<Saturating<u8>>::needs_tracking());
        assert!(!<Cow<'static, str>>::needs_tracking());
        assert!(<Cow<'static, [Gc<u8>]>>::needs_tracking());
        // A `Vec` is a heap container, answered shallowly by the outer one.
        assert!(!<Cow<'static, [u8]>>::needs_tracking());
    }
}
