//! `Trace` for the containers of optional dependencies, each behind the
//! cargo feature of the same name (all off by default): `hashbrown`
//! (`HashMap`, `HashSet`), `indexmap` (`IndexMap`, `IndexSet`) and
//! `smallvec` (`SmallVec`).
//!
//! All of them may own their elements through a heap pointer, so, like
//! `Vec`, they ask their element types the *shallow* tracking question
//! (which keeps recursive types such as `struct T(SmallVec<[T; 0]>)`
//! finite).

use super::{Finalize, Trace, Tracer};

/// `Finalize` (no finalizer) and `Trace` visiting every element once.
macro_rules! foreign_container {
    ($([$($g:ident $(: $b:path)?),*] $t:ty => |$s:ident, $tr:ident| $body:expr, [$($e:ty),*];)*) => {$(
        impl<$($g $(: $b)?),*> Finalize for $t {
            #[inline]
            fn has_finalizer() -> bool { false }
        }
        // SAFETY: `$body` visits every element exactly once.
        unsafe impl<$($g: 'static $(+ $b)?),*> Trace for $t
        where
            $($e: Trace,)*
        {
            #[inline]
            fn trace(&self, tracer: &mut Tracer) {
                let $s = self;
                let $tr = tracer;
                $body
            }
            #[inline]
            fn needs_tracking() -> bool { false $(|| <$e>::needs_tracking_shallow())* }
            #[inline]
            fn needs_tracking_shallow() -> bool { true }
        }
    )*};
}

#[cfg(feature = "hashbrown")]
foreign_container! {
    [K, V, S] hashbrown::HashMap<K, V, S> => |s, t| for (k, v) in s { k.trace(t); v.trace(t) }, [K, V];
    [T, S] hashbrown::HashSet<T, S> => |s, t| for v in s { v.trace(t) }, [T];
}

#[cfg(feature = "indexmap")]
foreign_container! {
    [K, V, S] indexmap::IndexMap<K, V, S> => |s, t| for (k, v) in s { k.trace(t); v.trace(t) }, [K, V];
    [T, S] indexmap::IndexSet<T, S> => |s, t| for v in s { v.trace(t) }, [T];
}

#[cfg(feature = "smallvec")]
foreign_container! {
    [A: smallvec::Array] smallvec::SmallVec<A> => |s, t| for v in s { v.trace(t) }, [A::Item];
}

#[cfg(test)]
mod tests {
    #[allow(unused_imports)]
    use crate::{Gc, Trace};

    #[cfg(feature = "hashbrown")]
    #[test]
    fn hashbrown_answers() {
        assert!(!<hashbrown::HashMap<u8, String>>::needs_tracking());
        assert!(<hashbrown::HashMap<u8, Gc<u8>>>::needs_tracking());
        assert!(<hashbrown::HashSet<Gc<u8>>>::needs_tracking());
    }

    #[cfg(feature = "indexmap")]
    #[test]
    fn indexmap_answers() {
        assert!(!<indexmap::IndexMap<u8, String>>::needs_tracking());
        assert!(<indexmap::IndexMap<u8, Gc<u8>>>::needs_tracking());
        assert!(<indexmap::IndexSet<Gc<u8>>>::needs_tracking());
    }

    #[cfg(feature = "smallvec")]
    #[test]
    fn smallvec_answers() {
        assert!(!<smallvec::SmallVec<[u8; 4]>>::needs_tracking());
        assert!(<smallvec::SmallVec<[Gc<u8>; 4]>>::needs_tracking());
    }
}
