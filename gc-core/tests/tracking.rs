//! `Trace::needs_tracking` answers of the std impls: which types are
//! untracked leaves, and that recursive types terminate.

use std::collections::HashMap;

use gc_core::{Finalize, Gc, Trace, Tracer, Weak};

struct Tree {
    _kids: Vec<Tree>,
}
impl Finalize for Tree {}
// SAFETY: forwards to its one field, as the derive would.
unsafe impl Trace for Tree {
    fn trace(&self, t: &mut Tracer) {
        self._kids.trace(t)
    }
    fn needs_tracking() -> bool {
        <Vec<Tree>>::needs_tracking()
    }
    fn needs_tracking_shallow() -> bool {
        <Vec<Tree>>::needs_tracking_shallow()
    }
}

#[test]
fn tracking_answers() {
    assert!(!u8::needs_tracking());
    assert!(!String::needs_tracking());
    assert!(!<Option<(u8, String)>>::needs_tracking());
    assert!(!<Vec<u32>>::needs_tracking());
    // Two pointer levels deep is answered conservatively.
    assert!(<HashMap<String, Vec<u8>>>::needs_tracking());
    assert!(!<HashMap<String, u8>>::needs_tracking());
    assert!(<Vec<Vec<u32>>>::needs_tracking());
    assert!(<Gc<u8>>::needs_tracking());
    assert!(!<Weak<u8>>::needs_tracking());
    assert!(<Option<Gc<u8>>>::needs_tracking());
    assert!(<Vec<Gc<u8>>>::needs_tracking());
    assert!(!<[u8; 4]>::needs_tracking());
    assert!(!<[Gc<u8>; 0]>::needs_tracking());
    assert!(!<std::rc::Rc<Gc<u8>>>::needs_tracking());
    // A recursive type terminates (conservatively tracked).
    assert!(Tree::needs_tracking());
}
