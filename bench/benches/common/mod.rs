//! The workloads, written once (the `workloads!` macro) and instantiated for
//! gc-core, std `Rc` and every peer crate, so that all implementations run
//! exactly the same code and differ only in the pointer, the cell type, the
//! `Trace` plumbing and the collection calls.
//!
//! Node types (per implementation):
//! - `Link { next: Cell<Option<P<Link>>>, value: u64 }`: cycles, rings,
//!   chains, young churn, memory per object;
//! - `TreeNode { left, right: Option<P<TreeNode>>, value: u64 }`: the tree;
//! - `GraphNode { edges: Cell<[Option<P<GraphNode>>; 4]> }`: the random graph.
//!
//! `Rc` has no collector: where a workload makes garbage cycles, its `Rc`
//! instance breaks them by hand (`HAND_BREAK`), iteratively where a recursive
//! drop would overflow the stack.

use std::time::Duration;

pub mod impls;

/// One implementation (gc-core, `Rc` or a peer) of every workload.
pub trait Impl {
    /// Name in tables and criterion ids (one of `bench_support::IMPLS`).
    const NAME: &'static str;
    /// The live "old" objects of young churn.
    type Old;

    /// Allocate and immediately drop `n` leaf objects (`u64`).
    fn alloc_drop(n: usize);
    /// Clone and drop one pointer `n` times.
    fn clone_drop(n: usize);
    /// Build a complete binary tree of `depth` levels below the root, drop it.
    fn tree(depth: u32);
    /// `n` two-node cycles, each dropped right after it is built; collect.
    fn cycles2(n: usize);
    /// `n` two-node cycles built and dropped with automatic collection off;
    /// returns how long reclaiming them took.
    fn cycles2_collect(n: usize) -> Duration;
    /// A ring of `n` nodes, dropped and collected.
    fn big_cycle(n: usize);
    /// As `big_cycle`, automatic collection off; returns the reclaim time.
    fn big_cycle_collect(n: usize) -> Duration;
    /// `n` nodes with `edges` random edges each; dropped and collected.
    fn random_graph(n: usize, edges: usize);
    /// As `random_graph`, automatic collection off; returns the reclaim time.
    fn random_graph_collect(n: usize, edges: usize) -> Duration;
    /// Young churn, setup: automatic collection off, `old` live objects that
    /// are then collected once (they become old).
    fn churn_setup(old: usize) -> Self::Old;
    /// Young churn, the timed part: `cycles` short-lived two-node cycles, a
    /// young collection every `every` cycles.
    fn churn(cycles: usize, every: usize);
    /// Young churn, teardown: drop the old objects, collect, automatic
    /// collection back on.
    fn churn_teardown(old: Self::Old);
    /// Build a chain of `n` nodes; returns how long dropping (and collecting)
    /// it took. May overflow the stack (run it in a child process).
    fn deep_chain(n: usize) -> Duration;
    /// A chain of `n` live nodes, for memory measurements (leak it: dropping
    /// may overflow the stack).
    fn live_chain(n: usize) -> Box<dyn std::any::Any>;
    /// `n` live leaf objects in a `Vec` (8 bytes each on top of the objects).
    fn live_leaves(n: usize) -> Box<dyn std::any::Any>;
}

/// Run `$body` with `$I` bound to the implementation named `$name` (a
/// `&str`); evaluates to `Some(body)`, or `None` for an unknown name.
#[macro_export]
macro_rules! with_impl {
    ($name:expr, $I:ident => $body:expr) => {{
        use $crate::common::impls::*;
        match $name {
            "gc-core" => {
                type $I = gc_core_impl::Imp;
                Some($body)
            }
            "Rc" => {
                type $I = rc_impl::Imp;
                Some($body)
            }
            "rust-cc" => {
                type $I = rust_cc_impl::Imp;
                Some($body)
            }
            "dumpster" => {
                type $I = dumpster_impl::Imp;
                Some($body)
            }
            "gcmodule" => {
                type $I = gcmodule_impl::Imp;
                Some($body)
            }
            "bacon_rajan_cc" => {
                type $I = bacon_impl::Imp;
                Some($body)
            }
            "gc" => {
                type $I = rust_gc_impl::Imp;
                Some($body)
            }
            _ => None,
        }
    }};
}
