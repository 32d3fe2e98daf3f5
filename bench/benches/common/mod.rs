//! The workloads, written once (the `workloads!` macro) and instantiated for
//! gc-core, std `Rc` and every peer crate, so that all implementations run
//! exactly the same code and differ only in the pointer, the cell type, the
//! `Trace` plumbing and the collection calls.
//!
//! Node types (per implementation):
//! - `Link { next: Cell<Option<P<Link>>>, value: u64 }`: cycles, rings,
//!   chains, young churn, memory per object;
//! - `TreeNode { left, right: Option<P<TreeNode>>, value: u64 }`: the tree;
//! - `GraphNode { edges: Cell<[Option<P<GraphNode>>; 4]> }`: the random graph;
//! - `GNode { left, right: Cell<Option<P<GNode>>>, i, j: u64 }`: GCBench;
//! - `PTree { parent: Cell<Option<P<PTree>>>, left, right: Option<P<PTree>> }`:
//!   rust-cc-benchmarks' binary trees with (strong) parent pointers;
//! - `DNode { back, fwd: Cell<Option<P<DNode>>> }`: doubly linked lists;
//! - `SNode { label: String, edges: Vec<P<Cell<SNode>>> }`: the stress test;
//! - `PNode { edges: Cell<[Option<P<PNode>>; 4]>, counted: Counted }`: the
//!   pause probes (a drop counter, so floating garbage can be counted).
//!
//! Benchmarks Game binary-trees and rust-cc-benchmarks' binary trees use
//! `TreeNode` (its `u64` payload is not read by the checks).
//!
//! `Rc` has no collector: where a workload makes garbage cycles, its `Rc`
//! instance breaks them by hand (`HAND_BREAK`), iteratively where a recursive
//! drop would overflow the stack.

use std::cell::Cell;
use std::time::{Duration, Instant};

use gc_bench::bench_support::{GcBenchParams, Probe, Sizes};

pub mod impls;

thread_local! {
    static CREATED: Cell<usize> = const { Cell::new(0) };
    static DROPPED: Cell<usize> = const { Cell::new(0) };
}

/// A zero-sized field that counts how many were made and dropped on this
/// thread: the probes' nodes carry one, so `created − dropped − reachable`
/// is the garbage an implementation has not freed yet.
pub struct Counted(());

impl Counted {
    /// A new counter (one more created).
    #[inline(always)]
    pub fn new() -> Counted {
        CREATED.with(|c| c.set(c.get() + 1));
        Counted(())
    }
}

impl Default for Counted {
    fn default() -> Counted {
        Counted::new()
    }
}

impl Drop for Counted {
    #[inline(always)]
    fn drop(&mut self) {
        DROPPED.with(|c| c.set(c.get() + 1));
    }
}

/// Counted objects created and not yet dropped on this thread.
pub fn unfreed() -> usize {
    CREATED.with(Cell::get) - DROPPED.with(Cell::get)
}

/// The pause probe's record: every step's time and the peak number of
/// unreachable objects not yet freed (sampled after every step, outside its
/// timing).
pub struct StepRecorder {
    /// Step times (ns, saturated at `u32::MAX`).
    pub steps: Vec<u32>,
    /// Peak of `unfreed() − reachable`.
    pub peak_floating: usize,
}

impl StepRecorder {
    /// A recorder for `steps` steps (its buffer allocated up front).
    pub fn new(steps: usize) -> StepRecorder {
        StepRecorder {
            steps: Vec::with_capacity(steps),
            peak_floating: 0,
        }
    }

    /// Run and time one step; `reachable` is the number of counted objects
    /// the program still reaches after it.
    #[inline(always)]
    pub fn step<R>(&mut self, reachable: usize, f: impl FnOnce() -> R) -> R {
        let t = Instant::now();
        let r = f();
        let ns = t.elapsed().as_nanos().min(u32::MAX as u128) as u32;
        self.steps.push(ns);
        let floating = unfreed().saturating_sub(reachable);
        self.peak_floating = self.peak_floating.max(floating);
        r
    }

    /// Steps taken so far.
    pub fn len(&self) -> usize {
        self.steps.len()
    }
}

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
    /// `tree` with the nodes written as a user writes them for this
    /// implementation; only gc-core's differ (see `Workload::TreeFixed`).
    fn tree_fixed(depth: u32) {
        Self::tree(depth)
    }
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
    /// Benchmarks Game binary-trees for `n`; returns the sum of every check.
    fn binary_trees(n: u32) -> u64;
    /// Boehm's GCBench; returns the number of nodes it built.
    fn gcbench(p: &GcBenchParams) -> u64;
    /// rust-cc-benchmarks binary trees up to `max` (exclusive); the checks.
    fn rcb_binary_trees(max: usize) -> Vec<usize>;
    /// rust-cc-benchmarks binary trees with parent pointers; the checks.
    fn rcb_parent_trees(max: usize) -> Vec<usize>;
    /// rust-cc-benchmarks large linked list of `size`, 30 rounds; lengths.
    fn rcb_linked_list(size: usize) -> Vec<usize>;
    /// rust-cc-benchmarks stress test with `n` nodes and edges; the live
    /// node counts after each collection.
    fn rcb_stress(n: usize) -> Vec<usize>;
    /// Grow a doubly linked list to `n` nodes by appending; drop, collect.
    fn dll_grow(n: usize);
    /// Run pause probe `p` (growth only: the caller exits without teardown).
    fn probe(p: Probe, s: &Sizes, rec: &mut StepRecorder);
}

/// Run `$body` with `$I` bound to the implementation named `$name` (a
/// `&str`); evaluates to `Some(body)`, or `None` for an unknown name.
#[macro_export]
macro_rules! with_impl {
    ($name:expr, $I:ident => $body:expr) => {{
        use $crate::common::impls::*;
        match $name {
            "gc-core" => {
                gc_core::gc::set_incremental(false);
                type $I = gc_core_impl::Imp;
                Some($body)
            }
            "gc-core/inc" => {
                gc_core::gc::set_incremental(true);
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
