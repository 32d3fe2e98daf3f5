//! Types that derive `Trace` and `Finalize` in a crate whose `Cargo.toml`
//! says `mygc = { package = "gc-core", .. }`, so `gc_core` is not a name in
//! scope here: the derive must find `mygc` in the manifest (issue 18). The
//! second half reaches gc-core only through a re-export and names it with
//! `#[gc(crate = path)]`.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use mygc::{Finalize, Gc, Trace};

/// Found from Cargo.toml: the generated code says `::mygc::Trace`.
#[derive(Trace, Finalize)]
pub struct Node {
    pub name: String,
    pub edges: RefCell<Vec<Gc<Node>>>,
}

/// A generic enum with a skipped field and a hand-written finalizer.
#[derive(Trace)]
pub enum Tree<T> {
    Leaf(T),
    Branch {
        kids: RefCell<Vec<Gc<Tree<T>>>>,
        #[gc(skip)]
        finalized: Rc<Cell<usize>>,
    },
}

impl<T> Finalize for Tree<T> {
    fn finalize(&self) {
        if let Tree::Branch { finalized, .. } = self {
            finalized.set(finalized.get() + 1);
        }
    }
}

/// How a framework would hand gc-core to its users: under its own path.
pub mod framework {
    pub use mygc as gc;
}

/// Named through the re-export only.
#[derive(framework::gc::Trace, framework::gc::Finalize)]
#[gc(crate = crate::framework::gc)]
pub struct ViaReexport {
    pub next: RefCell<Option<framework::gc::Gc<ViaReexport>>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use mygc::gc;

    #[test]
    fn derived_types_under_a_renamed_dependency_are_collected() {
        let a = Gc::new(Node {
            name: "a".into(),
            edges: RefCell::new(vec![]),
        });
        let b = Gc::new(Node {
            name: "b".into(),
            edges: RefCell::new(vec![a.clone()]),
        });
        a.edges.borrow_mut().push(b.clone());
        assert!(gc::is_tracked(&a));
        let watch = Gc::downgrade(&a);
        drop((a, b));
        assert!(watch.upgrade().is_some(), "a cycle survives counting");
        assert_eq!(gc::collect(), 2);
        assert!(watch.upgrade().is_none());
    }

    #[test]
    fn generic_enum_with_skip_and_manual_finalize() {
        let finalized = Rc::new(Cell::new(0));
        let branch = Gc::new(Tree::Branch {
            kids: RefCell::new(vec![Gc::new(Tree::Leaf(7u32))]),
            finalized: finalized.clone(),
        });
        if let Tree::Branch { kids, .. } = &*branch {
            kids.borrow_mut().push(branch.clone()); // a self-cycle
        }
        drop(branch);
        assert_eq!(finalized.get(), 0);
        // The branch and the leaf it owns (tracked: a `Tree` can hold `Gc`s).
        assert_eq!(gc::collect(), 2);
        assert_eq!(finalized.get(), 1);
    }

    #[test]
    fn crate_option_through_a_reexport() {
        let a = Gc::new(ViaReexport {
            next: RefCell::new(None),
        });
        *a.next.borrow_mut() = Some(a.clone());
        drop(a);
        assert_eq!(gc::collect(), 1);
    }
}
