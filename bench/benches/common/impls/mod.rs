//! The implementations. Each module imports its pointer as `P` and its
//! mutable cell as `C`, then instantiates `workloads!`, which resolves those
//! names in the calling module.

/// Defines the node types `Link`, `TreeNode` and `GraphNode` (see
/// `common`) with the given attributes; `P` and `C` must be in scope.
macro_rules! nodes {
    ($(#[$attr:meta])*) => {
        /// A node with one mutable edge.
        $(#[$attr])*
        #[allow(dead_code)] // `value` gives the nodes a realistic size
        pub struct Link {
            pub next: C<Option<P<Link>>>,
            pub value: u64,
        }

        /// A binary tree node, built bottom-up (no mutation).
        $(#[$attr])*
        #[allow(dead_code)]
        pub struct TreeNode {
            pub left: Option<P<TreeNode>>,
            pub right: Option<P<TreeNode>>,
            pub value: u64,
        }

        /// A graph node with four mutable edges.
        $(#[$attr])*
        pub struct GraphNode {
            pub edges: C<[Option<P<GraphNode>>; 4]>,
        }
    };
}

/// Defines `Link`, `TreeNode`, `GraphNode` and `Imp: Impl` in the calling
/// module, which must have `P` (the pointer type) and `C` (the cell type,
/// with `new` and `borrow_mut`) in scope.
///
/// - `node_attrs` (optional): define the node types with these attributes
///   (the derives) through `nodes!`; without it the module defines them;
/// - `hand_break`: break cycles by hand before dropping (for `Rc`);
/// - `collect`: a full collection;
/// - `young_collect`: the collection young churn runs every 1000 cycles;
/// - `auto_off` / `auto_on`: turn automatic collection off and back on.
macro_rules! workloads {
    (
        name: $name:literal,
        node_attrs: [$(#[$attr:meta])*],
        $($rest:tt)*
    ) => {
        nodes! { $(#[$attr])* }
        workloads! { name: $name, $($rest)* }
    };
    (
        name: $name:literal,
        hand_break: $hand_break:expr,
        collect: $collect:block,
        young_collect: $young:block,
        auto_off: $auto_off:block,
        auto_on: $auto_on:block $(,)?
    ) => {
        use std::hint::black_box;
        use std::time::{Duration, Instant};

        use gc_bench::bench_support::{XorShift64, GRAPH_SEED};

        const HAND_BREAK: bool = $hand_break;

        #[inline(always)]
        fn collect() $collect

        #[inline(always)]
        fn young_collect() $young

        #[inline(always)]
        fn auto_off() $auto_off

        #[inline(always)]
        fn auto_on() $auto_on

        fn link(next: Option<P<Link>>, value: u64) -> P<Link> {
            P::new(Link {
                next: C::new(next),
                value,
            })
        }

        fn build_tree(depth: u32, value: u64) -> P<TreeNode> {
            if depth == 0 {
                return P::new(TreeNode {
                    left: None,
                    right: None,
                    value,
                });
            }
            let left = build_tree(depth - 1, 2 * value);
            let right = build_tree(depth - 1, 2 * value + 1);
            P::new(TreeNode {
                left: Some(left),
                right: Some(right),
                value,
            })
        }

        /// One two-node cycle `a <-> b`; returns `a` (which `b` points to and
        /// which points to `b`).
        #[inline(always)]
        fn two_cycle(i: u64) -> P<Link> {
            let a = link(None, i);
            let b = link(Some(a.clone()), i);
            *a.next.borrow_mut() = Some(b);
            a
        }

        /// Break the cycle through `a` (the hand-written `Rc` way).
        #[inline(always)]
        fn break_two_cycle(a: &P<Link>) {
            let b = a.next.borrow_mut().take();
            drop(b);
        }

        /// A ring of `n` nodes; returns a handle to one of them.
        fn ring(n: usize) -> P<Link> {
            let tail = link(None, 0);
            let mut head = tail.clone();
            for i in 1..n {
                head = link(Some(head), i as u64);
            }
            *tail.next.borrow_mut() = Some(head);
            tail
        }

        /// Unlink a chain or ring node by node, so no drop recurses.
        fn unlink_iteratively(start: &P<Link>) {
            let mut cur = start.next.borrow_mut().take();
            while let Some(node) = cur {
                cur = node.next.borrow_mut().take();
            }
        }

        fn chain(n: usize) -> P<Link> {
            let mut head = link(None, 0);
            for i in 1..n {
                head = link(Some(head), i as u64);
            }
            head
        }

        fn random_graph_nodes(n: usize, edges: usize) -> Vec<P<GraphNode>> {
            let nodes: Vec<P<GraphNode>> = (0..n)
                .map(|_| {
                    P::new(GraphNode {
                        edges: C::new([None, None, None, None]),
                    })
                })
                .collect();
            let mut rng = XorShift64::new(GRAPH_SEED);
            for node in &nodes {
                let mut e = node.edges.borrow_mut();
                for slot in e.iter_mut().take(edges) {
                    *slot = Some(nodes[rng.below(n)].clone());
                }
            }
            nodes
        }

        fn break_graph(nodes: &[P<GraphNode>]) {
            for node in nodes {
                *node.edges.borrow_mut() = [None, None, None, None];
            }
        }

        /// This implementation.
        pub struct Imp;

        impl $crate::common::Impl for Imp {
            const NAME: &'static str = $name;
            type Old = Vec<P<Link>>;

            fn alloc_drop(n: usize) {
                for i in 0..n {
                    black_box(P::new(i as u64));
                }
                collect();
            }

            fn clone_drop(n: usize) {
                let p = P::new(7_u64);
                for _ in 0..n {
                    let c = black_box(black_box(&p).clone());
                    drop(c);
                }
                drop(p);
                collect();
            }

            fn tree(depth: u32) {
                let root = build_tree(depth, 1);
                black_box(&root);
                drop(root);
                collect();
            }

            fn cycles2(n: usize) {
                for i in 0..n {
                    let a = two_cycle(i as u64);
                    if HAND_BREAK {
                        break_two_cycle(&a);
                    }
                    drop(black_box(a));
                }
                collect();
            }

            fn cycles2_collect(n: usize) -> Duration {
                auto_off();
                let mut keep = Vec::new();
                for i in 0..n {
                    let a = two_cycle(i as u64);
                    if HAND_BREAK {
                        keep.push(a);
                    } else {
                        drop(black_box(a));
                    }
                }
                let t = Instant::now();
                for a in keep.drain(..) {
                    break_two_cycle(&a);
                }
                drop(keep);
                collect();
                let d = t.elapsed();
                auto_on();
                d
            }

            fn big_cycle(n: usize) {
                let r = ring(n);
                black_box(&r);
                if HAND_BREAK {
                    unlink_iteratively(&r);
                }
                drop(r);
                collect();
            }

            fn big_cycle_collect(n: usize) -> Duration {
                auto_off();
                let r = ring(n);
                black_box(&r);
                let t;
                if HAND_BREAK {
                    t = Instant::now();
                    unlink_iteratively(&r);
                    drop(r);
                } else {
                    drop(r);
                    t = Instant::now();
                }
                collect();
                let d = t.elapsed();
                auto_on();
                d
            }

            fn random_graph(n: usize, edges: usize) {
                let nodes = random_graph_nodes(n, edges);
                black_box(&nodes);
                if HAND_BREAK {
                    break_graph(&nodes);
                }
                drop(nodes);
                collect();
            }

            fn random_graph_collect(n: usize, edges: usize) -> Duration {
                auto_off();
                let nodes = random_graph_nodes(n, edges);
                black_box(&nodes);
                let t;
                if HAND_BREAK {
                    t = Instant::now();
                    break_graph(&nodes);
                    drop(nodes);
                } else {
                    drop(nodes);
                    t = Instant::now();
                }
                collect();
                let d = t.elapsed();
                auto_on();
                d
            }

            fn churn_setup(old: usize) -> Vec<P<Link>> {
                auto_off();
                let v: Vec<P<Link>> = (0..old).map(|i| link(None, i as u64)).collect();
                collect();
                v
            }

            fn churn(cycles: usize, every: usize) {
                for i in 0..cycles {
                    let a = two_cycle(i as u64);
                    if HAND_BREAK {
                        break_two_cycle(&a);
                    }
                    drop(black_box(a));
                    if (i + 1) % every == 0 {
                        young_collect();
                    }
                }
            }

            fn churn_teardown(old: Vec<P<Link>>) {
                drop(old);
                collect();
                auto_on();
            }

            fn deep_chain(n: usize) -> Duration {
                let head = chain(n);
                black_box(&head);
                let t = Instant::now();
                drop(head);
                collect();
                t.elapsed()
            }

            fn live_chain(n: usize) -> Box<dyn std::any::Any> {
                Box::new(chain(n))
            }

            fn live_leaves(n: usize) -> Box<dyn std::any::Any> {
                let v: Vec<P<u64>> = (0..n).map(|i| P::new(i as u64)).collect();
                Box::new(v)
            }
        }
    };
}

/// gc-core: `Gc`, `RefCell`; `gc::collect`, `gc::collect_generation(0)` in
/// young churn, `gc::disable`/`enable`.
pub mod gc_core_impl {
    use gc_core::gc;
    use gc_core::Gc as P;
    use std::cell::RefCell as C;

    workloads! {
        name: "gc-core",
        node_attrs: [#[derive(gc_core::Trace, gc_core::Finalize)]],
        hand_break: false,
        collect: { gc::collect(); },
        young_collect: { gc::collect_generation(0); },
        auto_off: { gc::disable(); },
        auto_on: { gc::enable(); },
    }
}

/// std `Rc` with cycles broken by hand; nothing to collect.
pub mod rc_impl {
    use std::cell::RefCell as C;
    use std::rc::Rc as P;

    workloads! {
        name: "Rc",
        node_attrs: [],
        hand_break: true,
        collect: {},
        young_collect: {},
        auto_off: {},
        auto_on: {},
    }
}

/// rust-cc: `Cc`, `RefCell`; `collect_cycles`, `config::set_auto_collect`.
pub mod rust_cc_impl {
    use rust_cc::Cc as P;
    use std::cell::RefCell as C;

    fn set_auto(on: bool) {
        rust_cc::config::config(|c| c.set_auto_collect(on)).expect("rust-cc config");
    }

    workloads! {
        name: "rust-cc",
        node_attrs: [#[derive(rust_cc::Trace, rust_cc::Finalize)]],
        hand_break: false,
        collect: { rust_cc::collect_cycles(); },
        young_collect: { rust_cc::collect_cycles(); },
        auto_off: { set_auto(false); },
        auto_on: { set_auto(true); },
    }
}

/// dumpster (unsync): `Gc`, `RefCell`; `collect`, `set_collect_condition`.
pub mod dumpster_impl {
    use dumpster::unsync::{self, Gc as P};
    use std::cell::RefCell as C;

    fn never(_: &unsync::CollectInfo) -> bool {
        false
    }

    // dumpster's derive output does not survive `macro_rules!` hygiene
    // (`self` in field spans), so its node types are written out here.
    /// A node with one mutable edge.
    #[derive(dumpster::Trace)]
    #[allow(dead_code)]
    pub struct Link {
        pub next: C<Option<P<Link>>>,
        pub value: u64,
    }

    /// A binary tree node, built bottom-up (no mutation).
    #[derive(dumpster::Trace)]
    #[allow(dead_code)]
    pub struct TreeNode {
        pub left: Option<P<TreeNode>>,
        pub right: Option<P<TreeNode>>,
        pub value: u64,
    }

    /// A graph node with four mutable edges.
    #[derive(dumpster::Trace)]
    pub struct GraphNode {
        pub edges: C<[Option<P<GraphNode>>; 4]>,
    }

    workloads! {
        name: "dumpster",
        hand_break: false,
        collect: { unsync::collect(); },
        young_collect: { unsync::collect(); },
        auto_off: { unsync::set_collect_condition(never); },
        auto_on: { unsync::set_collect_condition(unsync::default_collect_condition); },
    }
}

/// gcmodule: `Cc`, `RefCell`; `collect_thread_cycles` (it never collects on
/// its own). Its derive cannot handle recursive types (`is_type_tracked`
/// would recurse), so `Trace` is written by hand as its docs say.
pub mod gcmodule_impl {
    use gcmodule::{Cc as P, Trace, Tracer};
    use std::cell::RefCell as C;

    workloads! {
        name: "gcmodule",
        node_attrs: [],
        hand_break: false,
        collect: { gcmodule::collect_thread_cycles(); },
        young_collect: { gcmodule::collect_thread_cycles(); },
        auto_off: {},
        auto_on: {},
    }

    impl Trace for Link {
        fn trace(&self, t: &mut Tracer) {
            self.next.trace(t);
        }
        fn is_type_tracked() -> bool {
            true
        }
    }

    impl Trace for TreeNode {
        fn trace(&self, t: &mut Tracer) {
            self.left.trace(t);
            self.right.trace(t);
        }
        fn is_type_tracked() -> bool {
            true
        }
    }

    impl Trace for GraphNode {
        fn trace(&self, t: &mut Tracer) {
            if let Ok(edges) = self.edges.try_borrow() {
                for e in edges.iter() {
                    e.trace(t);
                }
            }
        }
        fn is_type_tracked() -> bool {
            true
        }
    }
}

/// bacon_rajan_cc: `Cc`, `RefCell`; `collect_cycles` (never automatic). No
/// derive: `Trace` by hand.
pub mod bacon_impl {
    use bacon_rajan_cc::{Cc as P, Trace, Tracer};
    use std::cell::RefCell as C;

    workloads! {
        name: "bacon_rajan_cc",
        node_attrs: [],
        hand_break: false,
        collect: { bacon_rajan_cc::collect_cycles(); },
        young_collect: { bacon_rajan_cc::collect_cycles(); },
        auto_off: {},
        auto_on: {},
    }

    impl Trace for Link {
        fn trace(&self, t: &mut Tracer) {
            self.next.trace(t);
        }
    }

    impl Trace for TreeNode {
        fn trace(&self, t: &mut Tracer) {
            self.left.trace(t);
            self.right.trace(t);
        }
    }

    impl Trace for GraphNode {
        fn trace(&self, t: &mut Tracer) {
            for e in self.edges.borrow().iter() {
                e.trace(t);
            }
        }
    }
}

/// gc (rust-gc): `Gc`, `GcCell`; `force_collect`; automatic collection off by
/// setting its byte threshold to `usize::MAX` (`unstable-config` feature).
// gc_derive 0.5 wraps its impls in a `const _: () = { … }` block.
#[allow(non_local_definitions)]
pub mod rust_gc_impl {
    use gc::{Gc as P, GcCell as C};

    fn set_threshold(t: usize) {
        gc::configure(|c| c.threshold = t);
    }

    workloads! {
        name: "gc",
        node_attrs: [#[derive(gc::Trace, gc::Finalize)]],
        hand_break: false,
        collect: { gc::force_collect(); },
        young_collect: { gc::force_collect(); },
        auto_off: { set_threshold(usize::MAX); },
        auto_on: { set_threshold(100); },
    }
}
