//! `Trace` for the containers of optional dependencies, each behind the
//! cargo feature of the same name (all off by default): `hashbrown`
//! (`HashMap`, `HashSet`), `indexmap` (`IndexMap`, `IndexSet`) and
//! `smallvec` (`SmallVec`).
//!
//! All of them may own their elements through a heap pointer, so, like
//! `Vec`, they ask their element types the *shallow* tracking question
//! (which keeps recursive types such as `struct T(SmallVec<[T; 0]>)`
//! finite).

// `heap_container!` (from `trace`) names these.
use super::{Finalize, Trace, Tracer};

#[cfg(feature = "hashbrown")]
heap_container! {
    [K, V, S] hashbrown::HashMap<K, V, S> => |s, t| for (k, v) in s { k.trace(t); v.trace(t) }, [K, V];
    [T, S] hashbrown::HashSet<T, S> => |s, t| for v in s { v.trace(t) }, [T];
}

#[cfg(feature = "indexmap")]
heap_container! {
    [K, V, S] indexmap::IndexMap<K, V, S> => |s, t| for (k, v) in s { k.trace(t); v.trace(t) }, [K, V];
    [T, S] indexmap::IndexSet<T, S> => |s, t| for v in s { v.trace(t) }, [T];
}

#[cfg(feature = "smallvec")]
heap_container! {
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
