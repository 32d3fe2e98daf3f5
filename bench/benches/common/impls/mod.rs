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

        /// GCBench's node: two mutable edges and two integers.
        $(#[$attr])*
        #[allow(dead_code)]
        pub struct GNode {
            pub left: C<Option<P<GNode>>>,
            pub right: C<Option<P<GNode>>>,
            pub i: u64,
            pub j: u64,
        }

        /// A tree node with a strong parent pointer (rust-cc-benchmarks).
        $(#[$attr])*
        pub struct PTree {
            pub parent: C<Option<P<PTree>>>,
            pub left: Option<P<PTree>>,
            pub right: Option<P<PTree>>,
        }

        /// A doubly linked list node (both edges strong).
        $(#[$attr])*
        pub struct DNode {
            pub back: C<Option<P<DNode>>>,
            pub fwd: C<Option<P<DNode>>>,
        }

        /// The stress test's node: a label and a growing list of edges.
        $(#[$attr])*
        #[allow(dead_code)]
        pub struct SNode {
            pub label: String,
            pub edges: Vec<P<C<SNode>>>,
        }

        /// The pause probes' node: four mutable edges and a drop counter.
        $(#[$attr])*
        #[allow(dead_code)] // `counted` counts by being dropped
        pub struct PNode {
            pub edges: C<[Option<P<PNode>>; 4]>,
            pub counted: $crate::common::Counted,
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
        auto_on: $auto_on:block
        $(, methods: { $($method:item)* })? $(,)?
    ) => {
        use std::hint::black_box;
        use std::time::{Duration, Instant};

        use gc_bench::bench_support::{
            binary_trees_depth, GcBenchParams, Probe, Sizes, XorShift64, GRAPH_SEED,
        };
        use $crate::common::{Counted, StepRecorder};

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


        fn check_tree(t: &TreeNode) -> u64 {
            1 + t.left.as_deref().map_or(0, check_tree) + t.right.as_deref().map_or(0, check_tree)
        }

        fn gnode() -> P<GNode> {
            P::new(GNode {
                left: C::new(None),
                right: C::new(None),
                i: 0,
                j: 0,
            })
        }

        /// GCBench's `Populate`: build top-down, assigning to older objects.
        fn gc_populate(depth: u32, node: &P<GNode>) {
            if depth == 0 {
                return;
            }
            *node.left.borrow_mut() = Some(gnode());
            *node.right.borrow_mut() = Some(gnode());
            gc_populate(depth - 1, node.left.borrow().as_ref().expect("left"));
            gc_populate(depth - 1, node.right.borrow().as_ref().expect("right"));
        }

        /// GCBench's `MakeTree`: build bottom-up.
        fn gc_make_tree(depth: u32) -> P<GNode> {
            if depth == 0 {
                return gnode();
            }
            P::new(GNode {
                left: C::new(Some(gc_make_tree(depth - 1))),
                right: C::new(Some(gc_make_tree(depth - 1))),
                i: 0,
                j: 0,
            })
        }

        /// A parent-pointer tree below a parent (rust-cc-benchmarks'
        /// `new_nested`; its root is the same without a parent): children
        /// that have children point back to their parent.
        fn ptree(depth: usize) -> P<PTree> {
            if depth == 0 {
                return P::new(PTree {
                    parent: C::new(None),
                    left: None,
                    right: None,
                });
            }
            let node = P::new(PTree {
                parent: C::new(None),
                left: Some(ptree(depth - 1)),
                right: Some(ptree(depth - 1)),
            });
            for child in [&node.left, &node.right].into_iter().flatten() {
                if child.left.is_some() {
                    *child.parent.borrow_mut() = Some(node.clone());
                }
            }
            node
        }

        fn check_ptree(t: &PTree) -> usize {
            match (&t.left, &t.right) {
                (Some(l), Some(r)) => check_ptree(l) + check_ptree(r) + 1,
                _ => 1,
            }
        }

        /// Clear every parent pointer (the hand-written `Rc` way).
        fn clear_parents(t: &PTree) {
            *t.parent.borrow_mut() = None;
            for c in [&t.left, &t.right].into_iter().flatten() {
                clear_parents(c);
            }
        }

        fn dnode(back: Option<P<DNode>>) -> P<DNode> {
            P::new(DNode {
                back: C::new(back),
                fwd: C::new(None),
            })
        }

        /// Append a node after `tail`; returns the new tail.
        #[inline(always)]
        fn dll_append(tail: P<DNode>) -> P<DNode> {
            let node = dnode(Some(tail.clone()));
            *tail.fwd.borrow_mut() = Some(node.clone());
            node
        }

        /// Nodes behind `tail`, itself included, not counting the sentinel
        /// (which has no `back`).
        fn dll_len(tail: &P<DNode>) -> usize {
            let mut n = 0;
            let mut cur = tail.back.borrow().clone();
            while let Some(node) = cur {
                n += 1;
                cur = node.back.borrow().clone();
            }
            n
        }

        /// Unlink a list from its tail node by node (no recursive drop).
        fn dll_unlink(tail: P<DNode>) {
            let mut cur = Some(tail);
            while let Some(node) = cur {
                *node.fwd.borrow_mut() = None;
                cur = node.back.borrow_mut().take();
            }
        }

        fn pnode(edges: [Option<P<PNode>>; 4]) -> P<PNode> {
            P::new(PNode {
                edges: C::new(edges),
                counted: Counted::new(),
            })
        }

        /// The tree probe: one node per step, bottom-up.
        fn probe_tree(depth: u32, rec: &mut StepRecorder) -> P<PNode> {
            if depth == 0 {
                let n = rec.len() + 1;
                return rec.step(n, || pnode([None, None, None, None]));
            }
            let l = probe_tree(depth - 1, rec);
            let r = probe_tree(depth - 1, rec);
            let n = rec.len() + 1;
            rec.step(n, || pnode([Some(l), Some(r), None, None]))
        }

        /// This implementation.
        pub struct Imp;

        impl $crate::common::Impl for Imp {
            const NAME: &'static str = $name;
            type Old = Vec<P<Link>>;

            $($($method)*)?

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

            fn binary_trees(n: u32) -> u64 {
                let max = binary_trees_depth(n);
                let stretch = build_tree(max + 1, 1);
                let mut total = check_tree(&stretch);
                drop(stretch);
                let long_lived = build_tree(max, 1);
                let mut d = 4;
                while d <= max {
                    let iterations = 1u64 << (max - d + 4);
                    let mut check = 0;
                    for _ in 0..iterations {
                        let t = build_tree(d, 1);
                        check += check_tree(&t);
                    }
                    total += check;
                    d += 2;
                }
                total += check_tree(&long_lived);
                drop(long_lived);
                collect();
                total
            }

            fn gcbench(p: &GcBenchParams) -> u64 {
                let mut nodes = 0u64;
                let stretch = gc_make_tree(p.stretch_depth);
                nodes += GcBenchParams::tree_size(p.stretch_depth) as u64;
                drop(black_box(stretch));
                let long_lived = gnode();
                gc_populate(p.long_lived_depth, &long_lived);
                nodes += GcBenchParams::tree_size(p.long_lived_depth) as u64;
                let mut array = vec![0.0f64; p.array_size];
                for (i, x) in array.iter_mut().enumerate().take(p.array_size / 2) {
                    *x = 1.0 / i as f64;
                }
                let mut d = p.min_depth;
                while d <= p.max_depth {
                    let iters = p.iterations(d);
                    for _ in 0..iters {
                        let t = gnode();
                        gc_populate(d, &t);
                        drop(black_box(t));
                    }
                    for _ in 0..iters {
                        drop(black_box(gc_make_tree(d)));
                    }
                    nodes += (2 * iters * GcBenchParams::tree_size(d)) as u64;
                    d += 2;
                }
                assert!(long_lived.left.borrow().is_some() || p.long_lived_depth == 0);
                if p.array_size / 2 > 1000 {
                    assert_eq!(array[1000], 1.0 / 1000.0);
                }
                drop(black_box(array));
                drop(long_lived);
                collect();
                nodes
            }

            fn rcb_binary_trees(max: usize) -> Vec<usize> {
                let mut res = Vec::new();
                for depth in (4..max).step_by(2) {
                    let iterations = 1usize << (max - depth + 4);
                    let mut check = 0;
                    for _ in 0..iterations {
                        check += check_tree(&build_tree(depth as u32, 1)) as usize;
                    }
                    res.push(check);
                }
                collect();
                res
            }

            fn rcb_parent_trees(max: usize) -> Vec<usize> {
                let mut res = Vec::new();
                for depth in (4..max).step_by(2) {
                    let iterations = 1usize << (max - depth + 4);
                    let mut check = 0;
                    for _ in 0..iterations {
                        let t = ptree(depth);
                        check += check_ptree(&t);
                        if HAND_BREAK {
                            clear_parents(&t);
                        }
                    }
                    res.push(check);
                }
                collect();
                res
            }

            fn rcb_linked_list(size: usize) -> Vec<usize> {
                let mut res = Vec::new();
                for _ in 0..30 {
                    // The sentinel (rust-cc-benchmarks' `Nil`) gets no
                    // forward edge.
                    let mut tail = dnode(None);
                    for _ in 0..size {
                        let node = dnode(Some(tail.clone()));
                        if tail.back.borrow().is_some() {
                            *tail.fwd.borrow_mut() = Some(node.clone());
                        }
                        tail = node;
                    }
                    res.push(dll_len(&tail));
                    if HAND_BREAK {
                        dll_unlink(tail);
                    } else {
                        drop(tail);
                    }
                }
                collect();
                res
            }

            fn rcb_stress(n: usize) -> Vec<usize> {
                let mut res = Vec::new();
                let mut rng = XorShift64::new(0xCAFE);
                let mut nodes: Vec<P<C<SNode>>> = (0..=n)
                    .map(|i| {
                        P::new(C::new(SNode {
                            label: format!("Node {i}"),
                            edges: Vec::new(),
                        }))
                    })
                    .collect();
                // `Rc` cannot tell which nodes became unreachable: it keeps
                // them all and breaks every edge at the end.
                let all = if HAND_BREAK { nodes.clone() } else { Vec::new() };
                for _ in 0..=n {
                    let a = rng.below(nodes.len());
                    let b = rng.below(nodes.len());
                    let e = nodes[b].clone();
                    nodes[a].borrow_mut().edges.push(e);
                }
                // rust-cc-benchmarks: 2^15 nodes, shrink every 2^10.
                let shrink = (n / 32).max(1);
                for i in 0..n {
                    if i % shrink == 0 {
                        nodes.truncate(n - i);
                        collect();
                        res.push(nodes.len());
                    }
                }
                drop(nodes);
                for node in &all {
                    node.borrow_mut().edges.clear();
                }
                drop(all);
                collect();
                res
            }

            fn dll_grow(n: usize) {
                let mut tail = dnode(None);
                for _ in 1..n {
                    tail = dll_append(tail);
                }
                black_box(&tail);
                if HAND_BREAK {
                    dll_unlink(tail);
                } else {
                    drop(tail);
                }
                collect();
            }

            fn probe(p: Probe, s: &Sizes, rec: &mut StepRecorder) {
                match p {
                    Probe::Tree => {
                        let root = probe_tree(s.tree_depth, rec);
                        std::mem::forget(root);
                    }
                    Probe::Cycles2 => {
                        for _ in 0..s.cycles2 {
                            rec.step(0, || {
                                let a = pnode([None, None, None, None]);
                                let b = pnode([Some(a.clone()), None, None, None]);
                                a.edges.borrow_mut()[0] = Some(b);
                                if HAND_BREAK {
                                    let b = a.edges.borrow_mut()[0].take();
                                    drop(b);
                                }
                                drop(black_box(a));
                            });
                        }
                    }
                    Probe::BigCycle => {
                        let first = rec.step(1, || pnode([None, None, None, None]));
                        let mut head = first.clone();
                        for i in 1..s.big_cycle {
                            head = rec.step(i + 1, || pnode([Some(head), None, None, None]));
                        }
                        rec.step(s.big_cycle, || first.edges.borrow_mut()[0] = Some(head));
                        std::mem::forget(first);
                    }
                    Probe::RandomGraph => {
                        let n = s.graph_nodes;
                        let mut nodes: Vec<P<PNode>> = Vec::with_capacity(n);
                        for i in 0..n {
                            let node = rec.step(i + 1, || pnode([None, None, None, None]));
                            nodes.push(node);
                        }
                        let mut rng = XorShift64::new(GRAPH_SEED);
                        for node in &nodes {
                            rec.step(n, || {
                                let mut e = node.edges.borrow_mut();
                                for slot in e.iter_mut().take(s.graph_edges) {
                                    *slot = Some(nodes[rng.below(n)].clone());
                                }
                            });
                        }
                        std::mem::forget(nodes);
                    }
                    Probe::DllGrow => {
                        let mut tail = rec.step(1, || pnode([None, None, None, None]));
                        for i in 1..s.dll_grow {
                            // The old tail handle goes inside the step.
                            tail = rec.step(i + 1, move || {
                                let node = pnode([Some(tail.clone()), None, None, None]);
                                tail.edges.borrow_mut()[1] = Some(node.clone());
                                node
                            });
                        }
                        std::mem::forget(tail);
                    }
                    Probe::OldChurn => {
                        let window = Probe::old_churn_window(s);
                        let mut live: Vec<Option<P<PNode>>> = (0..window).map(|_| None).collect();
                        for i in 0..s.cycles2 {
                            let slot = &mut live[i % window];
                            rec.step(2 * (i + 1).min(window), || {
                                let a = pnode([None, None, None, None]);
                                let b = pnode([Some(a.clone()), None, None, None]);
                                a.edges.borrow_mut()[0] = Some(b);
                                let old = slot.replace(a);
                                if HAND_BREAK {
                                    if let Some(o) = &old {
                                        let b = o.edges.borrow_mut()[0].take();
                                        drop(b);
                                    }
                                }
                                drop(old);
                            });
                        }
                        std::mem::forget(live);
                    }
                }
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

    impl gc_core::Finalize for crate::common::Counted {
        fn has_finalizer() -> bool {
            false
        }
    }

    // SAFETY: a `Counted` owns no `Gc`.
    unsafe impl gc_core::Trace for crate::common::Counted {
        fn trace(&self, _: &mut gc_core::Tracer) {}
        fn needs_tracking() -> bool {
            false
        }
        fn needs_tracking_shallow() -> bool {
            false
        }
    }

    /// `TreeNode` as a user writes it: with `Gc` spelled out, the derive
    /// sees that its edges are fixed edges to the type itself, and the nodes
    /// are untracked (the workloads' `P<TreeNode>` hides that).
    #[derive(gc_core::Trace, gc_core::Finalize)]
    #[allow(dead_code)]
    pub struct FixedNode {
        pub left: Option<gc_core::Gc<FixedNode>>,
        pub right: Option<gc_core::Gc<FixedNode>>,
        pub value: u64,
    }

    fn build_fixed(depth: u32, value: u64) -> gc_core::Gc<FixedNode> {
        let (left, right) = if depth == 0 {
            (None, None)
        } else {
            (
                Some(build_fixed(depth - 1, 2 * value)),
                Some(build_fixed(depth - 1, 2 * value + 1)),
            )
        };
        gc_core::Gc::new(FixedNode { left, right, value })
    }

    workloads! {
        name: "gc-core",
        node_attrs: [#[derive(gc_core::Trace, gc_core::Finalize)]],
        hand_break: false,
        collect: { gc::collect(); },
        young_collect: { gc::collect_generation(0); },
        auto_off: { gc::disable(); },
        auto_on: { gc::enable(); },
        methods: {
            fn tree_fixed(depth: u32) {
                let root = build_fixed(depth, 1);
                debug_assert!(!gc::is_tracked(&root));
                black_box(&root);
                drop(root);
                collect();
            }
        },
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

    impl rust_cc::Finalize for crate::common::Counted {}

    // SAFETY: a `Counted` owns no `Cc`.
    unsafe impl rust_cc::Trace for crate::common::Counted {
        fn trace(&self, _: &mut rust_cc::Context<'_>) {}
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

    /// GCBench's node: two mutable edges and two integers.
    #[derive(dumpster::Trace)]
    #[allow(dead_code)]
    pub struct GNode {
        pub left: C<Option<P<GNode>>>,
        pub right: C<Option<P<GNode>>>,
        pub i: u64,
        pub j: u64,
    }

    /// A tree node with a strong parent pointer (rust-cc-benchmarks).
    #[derive(dumpster::Trace)]
    pub struct PTree {
        pub parent: C<Option<P<PTree>>>,
        pub left: Option<P<PTree>>,
        pub right: Option<P<PTree>>,
    }

    /// A doubly linked list node (both edges strong).
    #[derive(dumpster::Trace)]
    pub struct DNode {
        pub back: C<Option<P<DNode>>>,
        pub fwd: C<Option<P<DNode>>>,
    }

    /// The stress test's node: a label and a growing list of edges.
    #[derive(dumpster::Trace)]
    #[allow(dead_code)]
    pub struct SNode {
        pub label: String,
        pub edges: Vec<P<C<SNode>>>,
    }

    /// The pause probes' node: four mutable edges and a drop counter.
    #[derive(dumpster::Trace)]
    #[allow(dead_code)]
    pub struct PNode {
        pub edges: C<[Option<P<PNode>>; 4]>,
        pub counted: crate::common::Counted,
    }

    // SAFETY: a `Counted` owns no `Gc`.
    unsafe impl<V: dumpster::Visitor> dumpster::TraceWith<V> for crate::common::Counted {
        fn accept(&self, _: &mut V) -> Result<(), ()> {
            Ok(())
        }
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

    impl Trace for GNode {
        fn trace(&self, t: &mut Tracer) {
            self.left.trace(t);
            self.right.trace(t);
        }
        fn is_type_tracked() -> bool {
            true
        }
    }

    impl Trace for PTree {
        fn trace(&self, t: &mut Tracer) {
            self.parent.trace(t);
            self.left.trace(t);
            self.right.trace(t);
        }
        fn is_type_tracked() -> bool {
            true
        }
    }

    impl Trace for DNode {
        fn trace(&self, t: &mut Tracer) {
            self.back.trace(t);
            self.fwd.trace(t);
        }
        fn is_type_tracked() -> bool {
            true
        }
    }

    impl Trace for SNode {
        fn trace(&self, t: &mut Tracer) {
            for e in &self.edges {
                e.trace(t);
            }
        }
        fn is_type_tracked() -> bool {
            true
        }
    }

    impl Trace for PNode {
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

    impl Trace for GNode {
        fn trace(&self, t: &mut Tracer) {
            self.left.trace(t);
            self.right.trace(t);
        }
    }

    impl Trace for PTree {
        fn trace(&self, t: &mut Tracer) {
            self.parent.trace(t);
            self.left.trace(t);
            self.right.trace(t);
        }
    }

    impl Trace for DNode {
        fn trace(&self, t: &mut Tracer) {
            self.back.trace(t);
            self.fwd.trace(t);
        }
    }

    impl Trace for SNode {
        fn trace(&self, t: &mut Tracer) {
            for e in &self.edges {
                e.trace(t);
            }
        }
    }

    impl Trace for PNode {
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

    impl gc::Finalize for crate::common::Counted {}

    // SAFETY: a `Counted` owns no `Gc`.
    unsafe impl gc::Trace for crate::common::Counted {
        gc::unsafe_empty_trace!();
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
