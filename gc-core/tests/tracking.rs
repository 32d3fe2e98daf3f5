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

// Derived types: an object whose `Gc`s all point to types that own no `Gc`
// can never be on a cycle, so the derive makes it untracked (issue 17 item
// 3). The derive recognises `Gc<X>` (and `Box`, `Vec`, `VecDeque`, `Option`,
// `RefCell` around it, `Box<str>`, `Box<[T]>`) by spelling and checks that
// the type is the one it thinks before using the finer answer.

mod derived {
    use std::cell::RefCell;
    use std::collections::VecDeque;

    use gc_core::{gc, Finalize, Gc, Trace};

    #[derive(Trace, Finalize)]
    pub struct Pair(pub Gc<u8>, pub Gc<String>);

    #[derive(Trace, Finalize)]
    pub struct Names {
        pub name: Box<str>,
        pub codes: Box<[u32]>,
        pub boxed: Box<u64>,
        pub parent_name: Option<Gc<str>>,
        pub tags: RefCell<Vec<Gc<String>>>,
        pub queue: VecDeque<Gc<[u8]>>,
        pub nested: Vec<Option<Box<[Gc<u8>]>>>,
    }

    /// Recursive through `Gc`: can be on a cycle.
    #[derive(Trace, Finalize)]
    pub struct Node {
        pub value: Gc<u8>,
        pub next: RefCell<Option<Gc<Node>>>,
    }

    /// Points to a type that owns a `Gc` (even an untracked one): tracked,
    /// the answer is shallow one level down.
    #[derive(Trace, Finalize)]
    pub struct ToPair(pub Gc<Pair>);

    /// Recursive through `Box` without `Gc`: finite, untracked answer is
    /// conservative (`Box<Tree>` asks `Tree`'s shallow question, `true`).
    #[derive(Trace, Finalize)]
    pub struct Tree {
        pub kids: Vec<Tree>,
        pub first: Option<Box<Tree>>,
    }

    /// A generic pointee is answered conservatively (`T: Trace` is not a
    /// bound of the derived impl, so the probe cannot ask `T`).
    #[derive(Trace, Finalize)]
    pub struct Generic<T: 'static>(pub Gc<T>);

    /// A trait object behind `Gc`: tracked.
    pub trait Shape: Trace {}
    #[derive(Trace, Finalize)]
    pub struct Dyn(pub Gc<dyn Shape>);

    #[test]
    fn leaf_pointees_make_the_holder_untracked() {
        assert!(!Pair::needs_tracking());
        assert!(!Names::needs_tracking());
        assert!(Node::needs_tracking());
        assert!(ToPair::needs_tracking());
        assert!(Tree::needs_tracking());
        assert!(<Generic<u8>>::needs_tracking());
        assert!(Dyn::needs_tracking());
        // Shallow answers are unchanged: a `Gc` field is a pointer.
        assert!(Pair::needs_tracking_shallow());
    }

    #[test]
    fn untracked_holders_never_enter_a_generation_and_free_by_count() {
        gc::collect();
        let before = gc::count().0;
        let leaf = Gc::new(7u8);
        let text = Gc::new(String::from("x"));
        let pairs: Vec<Gc<Pair>> = (0..100)
            .map(|_| Gc::new(Pair(leaf.clone(), text.clone())))
            .collect();
        assert!(pairs.iter().all(|p| !gc::is_tracked(p)));
        assert_eq!(gc::count().0, before, "no Pair joined generation 0");
        assert_eq!(Gc::strong_count(&leaf), 101);
        drop(pairs);
        // Freed by their counts, which released the leaf handles.
        assert_eq!(Gc::strong_count(&leaf), 1);
        assert_eq!(Gc::strong_count(&text), 1);

        let names = Gc::new(Names {
            name: "n".into(),
            codes: vec![1, 2].into_boxed_slice(),
            boxed: Box::new(3),
            parent_name: Some(Gc::from("p")),
            tags: RefCell::new(vec![text.clone()]),
            queue: VecDeque::from([Gc::from(&[1u8, 2][..])]),
            nested: vec![Some(vec![leaf.clone()].into_boxed_slice())],
        });
        assert!(!gc::is_tracked(&names));
        assert_eq!(Gc::strong_count(&text), 2);
        assert_eq!(Gc::strong_count(&leaf), 2);
        drop(names);
        assert_eq!(Gc::strong_count(&text), 1);
        assert_eq!(Gc::strong_count(&leaf), 1);
    }

    #[test]
    fn a_cycle_of_tracked_nodes_with_untracked_leaves_is_collected() {
        let leaf = Gc::new(1u8);
        let a = Gc::new(Node {
            value: leaf.clone(),
            next: RefCell::new(None),
        });
        let b = Gc::new(Node {
            value: leaf.clone(),
            next: RefCell::new(Some(a.clone())),
        });
        *a.next.borrow_mut() = Some(b.clone());
        assert!(gc::is_tracked(&a));
        drop((a, b));
        assert_eq!(gc::collect(), 2);
        assert_eq!(Gc::strong_count(&leaf), 1);
    }
}

// A type named like a shape that is not the std or gc-core one: the derive's
// type check falls back to the field type's own answer.
mod shadowed {
    use gc_core::{Finalize, Trace, Tracer};

    /// Not gc-core's `Gc`: owns a real `gc_core::Gc` to a tracked type.
    pub struct Gc<T: 'static>(pub gc_core::Gc<Vec<gc_core::Gc<T>>>);
    impl<T> Finalize for Gc<T> {}
    // SAFETY: traces its one field.
    unsafe impl<T: 'static> Trace for Gc<T> {
        fn trace(&self, t: &mut Tracer) {
            self.0.trace(t)
        }
    }

    #[derive(Trace, Finalize)]
    pub struct Holder(pub Gc<u8>);

    #[test]
    fn a_look_alike_gc_is_asked_itself() {
        assert!(
            Holder::needs_tracking(),
            "the look-alike's impl says tracked"
        );
    }
}

// Fixed edges to the type itself: a `Gc<Self>` outside any cell can never
// close a cycle (the proof is in `Trace::needs_tracking`), so a type whose
// other edges all lead to types that answer `false` is untracked. An edge
// inside a cell (`RefCell`, `OnceCell`, `Mutex`) is not fixed: such types
// stay tracked, and their cycles are collected.
mod fixed_self_edges {
    use std::cell::{OnceCell, RefCell};
    use std::rc::Rc;
    use std::sync::Mutex;

    use gc_core::{gc, Finalize, Gc, Trace};

    /// Counts the live values that hold a clone (its strong count).
    type Alive = Rc<()>;

    #[derive(Trace, Finalize)]
    pub struct Tree {
        pub kids: Vec<Gc<Tree>>,
        pub label: String,
        #[gc(skip)]
        pub _alive: Alive,
    }

    #[derive(Trace, Finalize)]
    pub struct List {
        pub next: Option<Gc<Self>>,
    }

    #[derive(Trace, Finalize)]
    pub struct Quad {
        pub kids: [Option<Gc<Quad>>; 4],
        pub boxed: Option<Box<Gc<Quad>>>,
    }

    #[derive(Trace, Finalize)]
    pub enum Expr {
        Num(u64),
        Add(Gc<Expr>, Gc<Expr>),
        Neg(Box<Gc<Expr>>),
        Name(Gc<str>),
    }

    #[derive(Trace, Finalize)]
    pub struct Generic<T> {
        pub next: Option<Gc<Generic<T>>>,
        pub value: T,
    }

    /// Points to untracked trees only: untracked too.
    #[derive(Trace, Finalize)]
    pub struct Forest {
        pub trees: Vec<Gc<Tree>>,
        pub cached: RefCell<Option<Gc<Tree>>>,
    }

    /// The self-edge is in a cell: not fixed.
    #[derive(Trace, Finalize)]
    pub struct InCell {
        pub next: RefCell<Option<Gc<InCell>>>,
        #[gc(skip)]
        pub _alive: Alive,
    }

    /// Children fixed, the parent set later through a `OnceCell`.
    #[derive(Trace, Finalize)]
    pub struct Parented {
        pub parent: OnceCell<Gc<Parented>>,
        pub kids: Vec<Gc<Parented>>,
        #[gc(skip)]
        pub _alive: Alive,
    }

    #[derive(Trace, Finalize)]
    pub struct Locked {
        pub next: Mutex<Option<Gc<Locked>>>,
        #[gc(skip)]
        pub _alive: Alive,
    }

    /// A fixed self-edge, and an edge to a type that can point back.
    #[derive(Trace, Finalize)]
    pub struct Mixed {
        pub next: Option<Gc<Mixed>>,
        pub other: Gc<Back>,
        #[gc(skip)]
        pub _alive: Alive,
    }

    #[derive(Trace, Finalize)]
    pub struct Back {
        pub to: RefCell<Option<Gc<Mixed>>>,
    }

    /// Its `Gc` points to a `Vec` that holds only fixed edges back to it.
    #[derive(Trace, Finalize)]
    pub struct Indirect {
        pub kids: Gc<Vec<Gc<Indirect>>>,
    }

    /// The same `Vec` in a `RefCell`: a cycle can close through it.
    #[derive(Trace, Finalize)]
    pub struct IndirectCell {
        pub kids: Gc<RefCell<Vec<Gc<IndirectCell>>>>,
    }

    #[test]
    fn edges_back_through_a_gc_of_a_container() {
        gc::collect();
        assert!(!Indirect::needs_tracking());
        assert!(IndirectCell::needs_tracking());
        let leaf = Gc::new(Indirect {
            kids: Gc::new(vec![]),
        });
        let top = Gc::new(Indirect {
            kids: Gc::new(vec![leaf.clone(), leaf.clone()]),
        });
        assert_eq!(Gc::strong_count(&leaf), 3);
        drop(top);
        assert_eq!(Gc::strong_count(&leaf), 1, "freed by its count");

        let kids = Gc::new(RefCell::new(vec![]));
        let n = Gc::new(IndirectCell { kids: kids.clone() });
        kids.borrow_mut().push(n.clone());
        assert!(gc::is_tracked(&n) && gc::is_tracked(&kids));
        let w = Gc::downgrade(&n);
        drop((n, kids));
        assert_eq!(gc::collect(), 2);
        assert!(w.upgrade().is_none());
    }

    #[test]
    fn fixed_self_edges_leave_a_type_untracked() {
        assert!(!Tree::needs_tracking());
        assert!(!Tree::needs_tracking_shallow());
        assert!(!List::needs_tracking());
        assert!(!Quad::needs_tracking());
        assert!(!Expr::needs_tracking());
        assert!(!<Generic<u64>>::needs_tracking());
        assert!(!Forest::needs_tracking());
        // Not fixed, or not only to itself.
        assert!(InCell::needs_tracking());
        assert!(Parented::needs_tracking());
        assert!(Locked::needs_tracking());
        assert!(Mixed::needs_tracking());
        assert!(Back::needs_tracking());
        assert!(<Generic<RefCell<Option<Gc<Back>>>>>::needs_tracking());
    }

    #[test]
    fn an_immutable_tree_is_untracked_and_freed_by_its_counts() {
        gc::collect();
        let before = gc::count().0;
        let alive = Alive::new(());
        fn build(depth: u32, alive: &Alive) -> Gc<Tree> {
            let kids = if depth == 0 {
                vec![]
            } else {
                vec![build(depth - 1, alive), build(depth - 1, alive)]
            };
            Gc::new(Tree {
                kids,
                label: depth.to_string(),
                _alive: alive.clone(),
            })
        }
        let tree = build(9, &alive);
        assert_eq!(Rc::strong_count(&alive), 1 + 1023);
        assert!(!gc::is_tracked(&tree));
        assert_eq!(gc::count().0, before, "no node joined generation 0");
        let forest = Gc::new(Forest {
            trees: vec![tree.clone()],
            cached: RefCell::new(Some(tree.clone())),
        });
        assert!(!gc::is_tracked(&forest));
        drop((tree, forest));
        assert_eq!(Rc::strong_count(&alive), 1, "every node freed by its count");
    }

    #[test]
    fn an_expression_tree_is_untracked() {
        let x = Gc::new(Expr::Name(Gc::from("x")));
        let one = Gc::new(Expr::Num(1));
        let sum = Gc::new(Expr::Add(x.clone(), one));
        let neg = Gc::new(Expr::Neg(Box::new(sum)));
        assert!(!gc::is_tracked(&neg));
        assert!(matches!(&*neg, Expr::Neg(s) if matches!(&***s, Expr::Add(..))));
        drop(neg);
        assert_eq!(
            Gc::strong_count(&x),
            1,
            "the sum and its operands were freed"
        );
        if let Expr::Name(n) = &*x {
            assert_eq!(&**n, "x");
        }
    }

    #[test]
    fn a_fixed_edge_cannot_be_turned_into_a_cycle_by_get_mut() {
        let mut a = Gc::new(List { next: None });
        let b = Gc::new(List {
            next: Some(a.clone()),
        });
        // Pointing `a` at `b` would need `&mut` access to `a`, which `b`
        // shares.
        assert!(Gc::get_mut(&mut a).is_none());
        drop(b);
        // Alone again, `a` can only be pointed at objects that cannot reach it.
        let c = Gc::new(List { next: None });
        Gc::get_mut(&mut a).expect("the only handle").next = Some(c);
        assert!(a.next.is_some());
    }

    #[test]
    fn cycles_through_cells_of_self_referential_types_are_collected() {
        gc::collect();
        let alive = Alive::new(());

        let a = Gc::new(InCell {
            next: RefCell::new(None),
            _alive: alive.clone(),
        });
        *a.next.borrow_mut() = Some(a.clone());

        let kid = Gc::new(Parented {
            parent: OnceCell::new(),
            kids: vec![],
            _alive: alive.clone(),
        });
        let parent = Gc::new(Parented {
            parent: OnceCell::new(),
            kids: vec![kid.clone()],
            _alive: alive.clone(),
        });
        assert!(kid.parent.set(parent.clone()).is_ok());

        let l = Gc::new(Locked {
            next: Mutex::new(None),
            _alive: alive.clone(),
        });
        *l.next.lock().unwrap() = Some(l.clone());

        let back = Gc::new(Back {
            to: RefCell::new(None),
        });
        let m = Gc::new(Mixed {
            next: None,
            other: back.clone(),
            _alive: alive.clone(),
        });
        *back.to.borrow_mut() = Some(m.clone());

        assert!([
            gc::is_tracked(&a),
            gc::is_tracked(&kid),
            gc::is_tracked(&l),
            gc::is_tracked(&m),
            gc::is_tracked(&back)
        ]
        .iter()
        .all(|&t| t));
        drop((a, kid, parent, l, m, back));
        assert_eq!(Rc::strong_count(&alive), 1 + 5, "all in garbage cycles");
        // InCell 1, Parented 2, Locked 1, Mixed + Back 2.
        assert_eq!(gc::collect(), 6);
        assert_eq!(Rc::strong_count(&alive), 1, "every cycle was freed");
    }
}

// Recursive types whose answers go through a pointer and back to the type
// itself: the shallow answer must not ask the type again (it would recurse
// forever). Found by review of the fixed-self-edge rule.
mod recursive_through_pointers {
    use std::cell::RefCell;

    use gc_core::{gc, Finalize, Gc, Trace};

    #[derive(Trace, Finalize)]
    pub struct Trie {
        pub children: Vec<Option<Trie>>,
    }

    #[derive(Trace, Finalize)]
    pub struct Nested {
        pub kid: Option<Box<RefCell<Nested>>>,
    }

    #[derive(Trace, Finalize)]
    pub struct Parent {
        pub parent: RefCell<Option<Gc<RefCell<Parent>>>>,
    }

    #[test]
    fn answers_terminate() {
        // Conservative answers (the pointer's contents are not looked into).
        assert!(Trie::needs_tracking());
        assert!(Nested::needs_tracking());
        // Can be on a cycle: a `Gc` inside a `RefCell`.
        assert!(Parent::needs_tracking());
        let t = Gc::new(Trie {
            children: vec![None, Some(Trie { children: vec![] })],
        });
        assert!(gc::is_tracked(&t));
    }

    #[test]
    fn a_cycle_through_a_gc_of_a_refcell_is_collected() {
        gc::collect();
        let p = Gc::new(RefCell::new(Parent {
            parent: RefCell::new(None),
        }));
        *p.borrow().parent.borrow_mut() = Some(p.clone());
        assert!(gc::is_tracked(&p));
        let w = Gc::downgrade(&p);
        drop(p);
        assert_eq!(gc::collect(), 1);
        assert!(w.upgrade().is_none());
    }
}

// `#[gc(crate = path)]` naming a module whose `Gc` is an alias of another
// `gc_core::Gc` type: the derive's type check must not take it for gc-core's
// `Gc` (the alias here hides a `RefCell`, through which a cycle closes).
mod aliased_crate_path {
    use std::cell::RefCell;

    pub mod gcx {
        pub use gc_core::*;
        /// Shadows the glob's `Gc`.
        pub type Gc<T> = gc_core::Gc<std::cell::RefCell<T>>;
    }
    use gc_core::{gc, Finalize, Trace};
    use gcx::Gc;

    #[derive(Trace, Finalize)]
    #[gc(crate = gcx)]
    pub struct S {
        pub next: Option<Gc<Self>>,
    }

    #[test]
    fn an_aliased_gc_is_not_a_fixed_self_edge() {
        gc::collect();
        assert!(<S as Trace>::needs_tracking());
        let r: Gc<S> = gc_core::Gc::new(RefCell::new(S { next: None }));
        assert!(gc::is_tracked(&r));
        r.borrow_mut().next = Some(r.clone());
        let w = gc_core::Gc::downgrade(&r);
        drop(r);
        assert_eq!(gc::collect(), 1);
        assert!(w.upgrade().is_none());
    }
}
