//! What the criterion benchmarks (`benches/gc_bench.rs`) and the report
//! generator (`src/bin/bench-report.rs`) share: workload sizes, the PRNG,
//! `/proc/self/status` readers and the parent/child protocol.
//!
//! The peer crates are dev-dependencies of this package, so only the bench
//! target can link them. `bench-report` therefore builds the bench binary and
//! runs it as a child process with [`CHILD_ENV`] set: the child runs one
//! implementation on one workload and prints [`RESULT_PREFIX`] lines, which
//! the parent reads back with [`parse_results`]. A child that overflows its
//! stack or panics takes nobody down with it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Environment variable: multiply every workload size by this factor
/// (e.g. `GC_BENCH_SCALE=0.01` for a quick smoke run). Default 1.
pub const SCALE_ENV: &str = "GC_BENCH_SCALE";
/// Environment variable that makes the bench binary a child: its value is the
/// mode (see [`ChildMode`]).
pub const CHILD_ENV: &str = "GC_BENCH_CHILD";
/// Environment variable: implementation name for a child (one of [`IMPLS`]).
pub const IMPL_ENV: &str = "GC_BENCH_IMPL";
/// Environment variable: workload name for a child (see [`Workload::name`]).
pub const WORKLOAD_ENV: &str = "GC_BENCH_WORKLOAD";
/// Environment variable: timed repetitions a child runs (after one warm-up).
pub const REPS_ENV: &str = "GC_BENCH_REPS";
/// Environment variable: size override for a child (elements; used for the
/// instruction-count runs at reduced sizes).
pub const SIZE_ENV: &str = "GC_BENCH_SIZE";
/// Environment variable: keep repeating (beyond `GC_BENCH_REPS`, up to
/// [`MAX_REPS`]) until the timed repetitions add up to this many
/// milliseconds, so that cheap workloads get enough samples for a stable
/// median.
pub const MIN_TIME_ENV: &str = "GC_BENCH_MIN_TIME_MS";
/// Upper bound on the repetitions [`MIN_TIME_ENV`] adds.
pub const MAX_REPS: usize = 51;
/// Environment variable: 0 to skip a child's untimed warm-up repetition.
pub const WARMUP_ENV: &str = "GC_BENCH_WARMUP";
/// Environment variable: which live objects a memory child builds
/// (`chain` or `leaves`).
pub const MEM_KIND_ENV: &str = "GC_BENCH_MEM_KIND";
/// Environment variable: the `N` of Benchmarks Game binary-trees (default
/// [`BT_N_DEFAULT`]; the site uses 21). [`SCALE_ENV`] lowers it by
/// `round(-log2(scale))` (the work halves per step of `N`), to at least 6.
pub const BT_N_ENV: &str = "GC_BENCH_BT_N";
/// Default `N` of binary-trees.
pub const BT_N_DEFAULT: u32 = 16;
/// Environment variable: the pause probe a pause child runs (see
/// [`Probe::name`]).
pub const PROBE_ENV: &str = "GC_BENCH_PROBE";
/// Prefix of every result line a child prints on stdout.
pub const RESULT_PREFIX: &str = "GCB";

/// The implementations, in table order. `gc-core` first: ratios are to it.
/// `gc-core/inc` is gc-core with `gc::set_incremental(true)`.
pub const IMPLS: &[&str] = &[
    "gc-core",
    "gc-core/inc",
    "Rc",
    "rust-cc",
    "dumpster",
    "gcmodule",
    "bacon_rajan_cc",
    "gc",
];

/// Seed of the random graph (any fixed value; the same for every impl).
pub const GRAPH_SEED: u64 = 0x9E37_79B9_7F4A_7C15;

/// What a child process does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildMode {
    /// Run a workload: one warm-up, then `reps` timed repetitions.
    Time,
    /// Build live nodes and report RSS (VmRSS/VmHWM) and heap bytes.
    Mem,
    /// gc-core only: bytes per object from `gc::heap_stats`.
    Header,
    /// Grow a structure one step at a time ([`PROBE_ENV`]): the longest
    /// step, percentiles and the peak of unreachable-but-unfreed objects.
    Pause,
    /// The pooled heap against `Box` and `Rc`, and allocation-site tracking
    /// (the `small_alloc` and `alloc_sites` benches, as plain timings).
    Micro,
}

impl ChildMode {
    /// The value of [`CHILD_ENV`] for this mode.
    pub fn name(self) -> &'static str {
        match self {
            ChildMode::Time => "time",
            ChildMode::Mem => "mem",
            ChildMode::Header => "header",
            ChildMode::Pause => "pause",
            ChildMode::Micro => "micro",
        }
    }

    /// Inverse of [`ChildMode::name`].
    pub fn from_name(s: &str) -> Option<ChildMode> {
        [
            ChildMode::Time,
            ChildMode::Mem,
            ChildMode::Header,
            ChildMode::Pause,
            ChildMode::Micro,
        ]
        .into_iter()
        .find(|m| m.name() == s)
    }
}

/// Every timed workload. The `*Collect` variants build the same garbage with
/// automatic collection turned off and time only the reclaiming step (the
/// explicit collection; for `Rc` the hand-breaking of the cycles and drop).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Workload {
    /// Allocate and drop small leaf objects (`u64` payload), one at a time.
    AllocDrop,
    /// Clone and drop one pointer (to a leaf).
    CloneDrop,
    /// Build a complete binary tree bottom-up, drop it.
    Tree,
    /// `Tree` with the node type written as a user writes it for gc-core
    /// (`Option<Gc<TreeNode>>`): the derive sees the fixed edges to the type
    /// itself and leaves the nodes untracked. The same as `Tree` for the
    /// others.
    TreeFixed,
    /// Build two-node cycles one after another, dropping each; collect.
    Cycles2,
    /// As `Cycles2` with automatic collection off; times the final collection.
    Cycles2Collect,
    /// Build one ring, drop it, collect.
    BigCycle,
    /// As `BigCycle`; times the collection only.
    BigCycleCollect,
    /// Nodes with 4 random edges each (one big strongly connected heap); drop, collect.
    RandomGraph,
    /// As `RandomGraph`; times the collection only.
    RandomGraphCollect,
    /// Short-lived two-node cycles, collecting (young gen) every 1000, with
    /// the small old heap live.
    YoungChurnSmall,
    /// The same with the large old heap live.
    YoungChurnLarge,
    /// Build a long chain, then time dropping it (and collecting).
    DeepChain,
    /// Benchmarks Game binary-trees by its rules (stretch tree, long-lived
    /// tree, `2^(N-d+4)` trees of each depth `d = 4, 6, …, N`, checked).
    BinaryTrees,
    /// Boehm's GCBench: stretch tree, long-lived tree, a live `f64` array,
    /// then trees of depths 4..=16 step 2 built top-down and bottom-up.
    GcBench,
    /// rust-cc-benchmarks "binary trees" (depths 4..11 step 2, no stretch
    /// or long-lived tree; one collection at the end).
    RccBinaryTrees,
    /// rust-cc-benchmarks "binary trees with parent pointers" (a strong
    /// parent pointer per node: a cycle per child).
    RccParentTrees,
    /// rust-cc-benchmarks "large linked list": a 4096-node doubly linked
    /// list (strong back pointers) built and dropped, 30 rounds.
    RccLinkedList,
    /// rust-cc-benchmarks "stress test": 2^15 nodes, 2^15 random edges,
    /// nodes unrooted 1/32 at a time with a collection after each.
    RccStress,
    /// Grow a doubly linked list (every neighbour pair a strong cycle) by
    /// appending one node at a time; drop and collect it.
    DllGrow,
}

impl Workload {
    /// All timed workloads, in table order.
    pub const ALL: [Workload; 20] = [
        Workload::AllocDrop,
        Workload::CloneDrop,
        Workload::Tree,
        Workload::TreeFixed,
        Workload::Cycles2,
        Workload::Cycles2Collect,
        Workload::BigCycle,
        Workload::BigCycleCollect,
        Workload::RandomGraph,
        Workload::RandomGraphCollect,
        Workload::YoungChurnSmall,
        Workload::YoungChurnLarge,
        Workload::DeepChain,
        Workload::BinaryTrees,
        Workload::GcBench,
        Workload::RccBinaryTrees,
        Workload::RccParentTrees,
        Workload::RccLinkedList,
        Workload::RccStress,
        Workload::DllGrow,
    ];

    /// The workloads also measured cold: a fresh process per measured run,
    /// no warm-up (what a program that builds its structure once sees).
    pub const COLD: [Workload; 10] = [
        Workload::Tree,
        Workload::TreeFixed,
        Workload::BinaryTrees,
        Workload::GcBench,
        Workload::Cycles2,
        Workload::BigCycle,
        Workload::RandomGraph,
        Workload::DllGrow,
        Workload::AllocDrop,
        Workload::CloneDrop,
    ];

    /// Stable name (criterion group name, child protocol).
    pub fn name(self) -> &'static str {
        match self {
            Workload::AllocDrop => "alloc_drop",
            Workload::CloneDrop => "clone_drop",
            Workload::Tree => "tree",
            Workload::TreeFixed => "tree_fixed",
            Workload::Cycles2 => "cycles2",
            Workload::Cycles2Collect => "cycles2_collect",
            Workload::BigCycle => "big_cycle",
            Workload::BigCycleCollect => "big_cycle_collect",
            Workload::RandomGraph => "random_graph",
            Workload::RandomGraphCollect => "random_graph_collect",
            Workload::YoungChurnSmall => "young_churn_small_old",
            Workload::YoungChurnLarge => "young_churn_large_old",
            Workload::DeepChain => "deep_chain",
            Workload::BinaryTrees => "binary_trees",
            Workload::GcBench => "gcbench",
            Workload::RccBinaryTrees => "rcb_binary_trees",
            Workload::RccParentTrees => "rcb_parent_trees",
            Workload::RccLinkedList => "rcb_linked_list",
            Workload::RccStress => "rcb_stress",
            Workload::DllGrow => "dll_grow",
        }
    }

    /// Whether one run takes long enough that a child times one repetition
    /// per round (after its warm-up) instead of several.
    pub fn heavy(self) -> bool {
        matches!(
            self,
            Workload::BinaryTrees | Workload::GcBench | Workload::DllGrow
        )
    }

    /// Inverse of [`Workload::name`].
    pub fn from_name(s: &str) -> Option<Workload> {
        Workload::ALL.into_iter().find(|w| w.name() == s)
    }

    /// Whether the workload may crash a peer (stack overflow in a recursive
    /// drop or collector): run it in a child process.
    pub fn may_crash(self) -> bool {
        !matches!(self, Workload::AllocDrop | Workload::CloneDrop)
    }
}

/// The pause probes: grow a structure one step at a time (one node, or one
/// two-node cycle), timing every step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Probe {
    /// The binary tree of `tree`, bottom-up: one node per step.
    Tree,
    /// Two-node cycles, each dropped after it is built: one cycle per step.
    Cycles2,
    /// The ring of `big_cycle`: one node per step (closed at the end).
    BigCycle,
    /// The random graph: one node per step, then one node's edges per step.
    RandomGraph,
    /// A doubly linked list, every neighbour pair a strong cycle: one
    /// appended node per step.
    DllGrow,
    /// Old garbage: a window of two-node cycles kept alive long enough to
    /// reach the oldest generation, one replaced per step (the replaced
    /// one becomes garbage there). Only full collections find it, so this
    /// shows how much garbage a full-collection policy lets pile up.
    OldChurn,
}

impl Probe {
    /// All probes, in table order.
    pub const ALL: [Probe; 6] = [
        Probe::Tree,
        Probe::Cycles2,
        Probe::BigCycle,
        Probe::RandomGraph,
        Probe::DllGrow,
        Probe::OldChurn,
    ];

    /// Stable name (child protocol, tables).
    pub fn name(self) -> &'static str {
        match self {
            Probe::Tree => "tree",
            Probe::Cycles2 => "cycles2",
            Probe::BigCycle => "big_cycle",
            Probe::RandomGraph => "random_graph",
            Probe::DllGrow => "dll_grow",
            Probe::OldChurn => "old_churn",
        }
    }

    /// Inverse of [`Probe::name`].
    pub fn from_name(s: &str) -> Option<Probe> {
        Probe::ALL.into_iter().find(|p| p.name() == s)
    }

    /// Steps the probe takes at `sizes`.
    pub fn steps(self, s: &Sizes) -> usize {
        match self {
            Probe::Tree => s.tree_nodes(),
            Probe::Cycles2 => s.cycles2,
            Probe::BigCycle => s.big_cycle,
            Probe::RandomGraph => 2 * s.graph_nodes,
            Probe::DllGrow => s.dll_grow,
            Probe::OldChurn => s.cycles2,
        }
    }

    /// The window of live cycles of [`Probe::OldChurn`] (a fifth of its
    /// steps, at least one).
    pub fn old_churn_window(s: &Sizes) -> usize {
        (s.cycles2 / 5).max(1)
    }
}

/// Boehm's GCBench parameters (the original's at full scale).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GcBenchParams {
    /// `kStretchTreeDepth` (18).
    pub stretch_depth: u32,
    /// `kLongLivedTreeDepth` (16).
    pub long_lived_depth: u32,
    /// `kArraySize` (500,000 doubles).
    pub array_size: usize,
    /// `kMinTreeDepth` (4).
    pub min_depth: u32,
    /// `kMaxTreeDepth` (16).
    pub max_depth: u32,
}

impl GcBenchParams {
    /// Nodes of a complete tree of `depth` (GCBench's `TreeSize`).
    pub fn tree_size(depth: u32) -> usize {
        (1usize << (depth + 1)) - 1
    }

    /// GCBench's `NumIters(depth)`: `2 * TreeSize(stretch) / TreeSize(depth)`.
    pub fn iterations(&self, depth: u32) -> usize {
        2 * Self::tree_size(self.stretch_depth) / Self::tree_size(depth)
    }

    /// Nodes allocated by one run.
    pub fn nodes(&self) -> usize {
        let mut n = Self::tree_size(self.stretch_depth) + Self::tree_size(self.long_lived_depth);
        let mut d = self.min_depth;
        while d <= self.max_depth {
            n += 2 * self.iterations(d) * Self::tree_size(d);
            d += 2;
        }
        n
    }
}

/// Benchmarks Game binary-trees: `max(min_depth + 2, n)` with min depth 4.
pub fn binary_trees_depth(n: u32) -> u32 {
    n.max(6)
}

/// The check total binary-trees must print for `n`: the stretch tree, every
/// iteration tree and the long-lived tree, each counting its nodes.
pub fn binary_trees_expected(n: u32) -> u64 {
    let max = binary_trees_depth(n);
    let size = |d: u32| (1u64 << (d + 1)) - 1;
    let mut total = size(max + 1) + size(max);
    let mut d = 4;
    while d <= max {
        total += (1u64 << (max - d + 4)) * size(d);
        d += 2;
    }
    total
}

/// Workload sizes. [`Sizes::full`] are the sizes issue 8 names.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sizes {
    /// Leaf objects allocated and dropped.
    pub alloc_drop: usize,
    /// Clone+drop pairs.
    pub clone_drop: usize,
    /// Levels below the root of the complete binary tree
    /// (`2^(depth+1) - 1` nodes).
    pub tree_depth: u32,
    /// Two-node cycles.
    pub cycles2: usize,
    /// Ring length.
    pub big_cycle: usize,
    /// Random-graph nodes.
    pub graph_nodes: usize,
    /// Edges per random-graph node.
    pub graph_edges: usize,
    /// Short-lived cycles per young-churn run.
    pub churn_cycles: usize,
    /// Old heap of the small young-churn case.
    pub churn_old_small: usize,
    /// Old heap of the large young-churn case.
    pub churn_old_large: usize,
    /// Cycles between two collections in young churn.
    pub churn_every: usize,
    /// Chain length.
    pub deep_chain: usize,
    /// Live nodes for the memory measurement.
    pub mem_nodes: usize,
    /// Benchmarks Game binary-trees `N`.
    pub bt_n: u32,
    /// GCBench's parameters.
    pub gcbench: GcBenchParams,
    /// rust-cc-benchmarks binary trees' maximum depth (11; not scaled).
    pub rcb_depth: usize,
    /// rust-cc-benchmarks linked list length (4096, 30 rounds; not scaled).
    pub rcb_list: usize,
    /// rust-cc-benchmarks stress test nodes and edges (2^15; not scaled).
    pub rcb_stress: usize,
    /// Nodes of the growing doubly linked list.
    pub dll_grow: usize,
}

impl Sizes {
    /// The sizes of issue 8.
    pub const fn full() -> Sizes {
        Sizes {
            alloc_drop: 10_000_000,
            clone_drop: 10_000_000,
            tree_depth: 19, // 2^20 - 1 = 1,048,575 nodes
            cycles2: 500_000,
            big_cycle: 1_000_000,
            graph_nodes: 200_000,
            graph_edges: 4,
            churn_cycles: 100_000,
            churn_old_small: 10_000,
            churn_old_large: 1_000_000,
            churn_every: 1000,
            deep_chain: 10_000_000,
            mem_nodes: 1_000_000,
            bt_n: BT_N_DEFAULT,
            gcbench: GcBenchParams {
                stretch_depth: 18,
                long_lived_depth: 16,
                array_size: 500_000,
                min_depth: 4,
                max_depth: 16,
            },
            rcb_depth: 11,
            rcb_list: 4096,
            rcb_stress: 1 << 15,
            dll_grow: 2_000_000,
        }
    }

    /// Every count multiplied by `scale` (at least 1; the tree keeps at least
    /// 3 nodes; edges per node and the collection interval do not scale).
    /// Depth parameters (binary-trees' `N`, GCBench's depths) drop by
    /// `round(-log2(scale))`, since each level doubles the work;
    /// rust-cc-benchmarks' parameters are small and stay.
    pub fn scaled(scale: f64) -> Sizes {
        let f = Sizes::full();
        let shift = depth_shift(scale);
        let depth = |d: u32, min: u32| d.saturating_sub(shift).max(min);
        let g = f.gcbench;
        let s = |n: usize| ((n as f64 * scale).round() as usize).max(1);
        let nodes = s((1usize << (f.tree_depth + 1)) - 1);
        Sizes {
            alloc_drop: s(f.alloc_drop),
            clone_drop: s(f.clone_drop),
            tree_depth: tree_depth_for(nodes).max(1),
            cycles2: s(f.cycles2),
            big_cycle: s(f.big_cycle),
            graph_nodes: s(f.graph_nodes),
            graph_edges: f.graph_edges,
            churn_cycles: s(f.churn_cycles),
            churn_old_small: s(f.churn_old_small),
            churn_old_large: s(f.churn_old_large),
            churn_every: f.churn_every,
            deep_chain: s(f.deep_chain),
            mem_nodes: s(f.mem_nodes),
            bt_n: depth(f.bt_n, 6),
            gcbench: GcBenchParams {
                stretch_depth: depth(g.stretch_depth, 6),
                long_lived_depth: depth(g.long_lived_depth, 4),
                array_size: s(g.array_size),
                min_depth: g.min_depth,
                max_depth: depth(g.max_depth, 4),
            },
            rcb_depth: f.rcb_depth,
            rcb_list: f.rcb_list,
            rcb_stress: f.rcb_stress,
            dll_grow: s(f.dll_grow),
        }
    }

    /// Sizes for the scale in [`SCALE_ENV`] (1 when unset or invalid), with
    /// binary-trees' `N` from [`BT_N_ENV`] (scaled the same way).
    pub fn from_env() -> Sizes {
        let scale = scale_from_env();
        let mut s = Sizes::scaled(scale);
        if let Some(n) = std::env::var(BT_N_ENV)
            .ok()
            .and_then(|v| v.parse::<u32>().ok())
        {
            s.bt_n = n.saturating_sub(depth_shift(scale)).max(6);
        }
        s
    }

    /// Nodes of the tree.
    pub fn tree_nodes(&self) -> usize {
        (1usize << (self.tree_depth + 1)) - 1
    }

    /// The element count a workload is described by (for tables).
    pub fn count(&self, w: Workload) -> usize {
        match w {
            Workload::AllocDrop => self.alloc_drop,
            Workload::CloneDrop => self.clone_drop,
            Workload::Tree | Workload::TreeFixed => self.tree_nodes(),
            Workload::Cycles2 | Workload::Cycles2Collect => self.cycles2,
            Workload::BigCycle | Workload::BigCycleCollect => self.big_cycle,
            Workload::RandomGraph | Workload::RandomGraphCollect => self.graph_nodes,
            Workload::YoungChurnSmall | Workload::YoungChurnLarge => self.churn_cycles,
            Workload::DeepChain => self.deep_chain,
            Workload::BinaryTrees => self.bt_n as usize,
            Workload::GcBench => self.gcbench.long_lived_depth as usize,
            Workload::RccBinaryTrees | Workload::RccParentTrees => self.rcb_depth,
            Workload::RccLinkedList => self.rcb_list,
            Workload::RccStress => self.rcb_stress,
            Workload::DllGrow => self.dll_grow,
        }
    }

    /// Override the size of one workload (child [`SIZE_ENV`]).
    pub fn with_count(mut self, w: Workload, n: usize) -> Sizes {
        let n = n.max(1);
        match w {
            Workload::AllocDrop => self.alloc_drop = n,
            Workload::CloneDrop => self.clone_drop = n,
            Workload::Tree | Workload::TreeFixed => self.tree_depth = tree_depth_for(n).max(1),
            Workload::Cycles2 | Workload::Cycles2Collect => self.cycles2 = n,
            Workload::BigCycle | Workload::BigCycleCollect => self.big_cycle = n,
            Workload::RandomGraph | Workload::RandomGraphCollect => self.graph_nodes = n,
            Workload::YoungChurnSmall | Workload::YoungChurnLarge => self.churn_cycles = n,
            Workload::DeepChain => self.deep_chain = n,
            Workload::BinaryTrees => self.bt_n = (n as u32).max(6),
            Workload::GcBench => {
                // Every depth moves with the long-lived one.
                let f = Sizes::full().gcbench;
                let d = (n as u32).max(4);
                let shift = f.long_lived_depth as i64 - d as i64;
                let at = |x: u32, min: u32| ((x as i64 - shift).max(min as i64)) as u32;
                self.gcbench.long_lived_depth = d;
                self.gcbench.stretch_depth = at(f.stretch_depth, 6);
                self.gcbench.max_depth = at(f.max_depth, 4);
            }
            Workload::RccBinaryTrees | Workload::RccParentTrees => self.rcb_depth = n.max(5),
            Workload::RccLinkedList => self.rcb_list = n,
            Workload::RccStress => self.rcb_stress = n.max(32),
            Workload::DllGrow => self.dll_grow = n,
        }
        self
    }
}

/// How many levels depth parameters lose at `scale`: `round(-log2(scale))`
/// (0 for scales of 1 and above).
pub fn depth_shift(scale: f64) -> u32 {
    (-scale.log2()).round().max(0.0) as u32
}

/// Largest depth whose complete tree has at most `nodes` nodes.
fn tree_depth_for(nodes: usize) -> u32 {
    // 2^(d+1) - 1 <= nodes  <=>  d + 1 <= log2(nodes + 1)
    (usize::BITS - 1 - (nodes + 1).leading_zeros()).saturating_sub(1)
}

/// The factor in [`SCALE_ENV`], or 1.
pub fn scale_from_env() -> f64 {
    std::env::var(SCALE_ENV)
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .unwrap_or(1.0)
}

/// Marsaglia's xorshift64: tiny, deterministic, good enough to pick edges.
#[derive(Clone, Debug)]
pub struct XorShift64(u64);

impl XorShift64 {
    /// A generator from `seed` (0 is replaced: xorshift needs a non-zero state).
    pub fn new(seed: u64) -> XorShift64 {
        XorShift64(if seed == 0 {
            0x2545_F491_4F6C_DD1D
        } else {
            seed
        })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n` (`n > 0`; the modulo bias is irrelevant here).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// A field of `/proc/self/status` in KiB (`"VmRSS"`, `"VmHWM"`), if present.
pub fn proc_status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.trim().trim_end_matches("kB").trim().parse().ok()
    })
}

/// Minor page faults of this process so far (`/proc/self/stat` field 10).
pub fn proc_minor_faults() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may contain
    // spaces): state, ppid, pgrp, session, tty_nr, tpgid, flags, minflt.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(7)?.parse().ok()
}

/// Print one result line: `GCB <key> <values…>`.
pub fn emit<V: std::fmt::Display>(key: &str, values: &[V]) {
    let mut line = format!("{RESULT_PREFIX} {key}");
    for v in values {
        let _ = write!(line, " {v}");
    }
    println!("{line}");
}

/// The result lines of a child's stdout, by key.
pub fn parse_results(stdout: &str) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for line in stdout.lines() {
        let mut words = line.split_whitespace();
        if words.next() != Some(RESULT_PREFIX) {
            continue;
        }
        if let Some(key) = words.next() {
            out.insert(key.to_string(), words.map(str::to_string).collect());
        }
    }
    out
}

/// Median of `v` (mean of the two middle values for an even count); `None`
/// for an empty slice.
pub fn median(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let m = s.len() / 2;
    Some(if s.len().is_multiple_of(2) {
        (s[m - 1] + s[m]) / 2.0
    } else {
        s[m]
    })
}

/// How a child process ended.
#[derive(Debug, Clone, PartialEq)]
pub enum ChildOutcome {
    /// Exit status 0; its result lines.
    Ok(BTreeMap<String, Vec<String>>),
    /// Rust's "has overflowed its stack" message (SIGSEGV guard page hit).
    StackOverflow,
    /// A panic (message's first line).
    Panicked(String),
    /// Killed after the time limit.
    TimedOut(std::time::Duration),
    /// Any other failure (signal or exit code, last stderr line).
    Failed(String),
}

impl ChildOutcome {
    /// A short description for tables and notes ("ok" when it worked).
    pub fn describe(&self) -> String {
        match self {
            ChildOutcome::Ok(_) => "ok".to_string(),
            ChildOutcome::StackOverflow => "stack overflow".to_string(),
            ChildOutcome::Panicked(m) => format!("panicked: {m}"),
            ChildOutcome::TimedOut(d) => format!("timed out after {} s", d.as_secs()),
            ChildOutcome::Failed(m) => format!("failed: {m}"),
        }
    }
}

/// Run `cmd` (with stdout/stderr captured to temporary files so a
/// long-running child cannot block on a full pipe), killing it after
/// `limit`, and classify how it ended.
pub fn run_child(mut cmd: std::process::Command, limit: std::time::Duration) -> ChildOutcome {
    use std::process::Stdio;
    use std::time::Instant;

    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let dir = std::env::temp_dir();
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tag = format!("gc-bench-{}-{n}", std::process::id());
    let out_path = dir.join(format!("{tag}.out"));
    let err_path = dir.join(format!("{tag}.err"));
    let files =
        std::fs::File::create(&out_path).and_then(|o| Ok((o, std::fs::File::create(&err_path)?)));
    let (out, err) = match files {
        Ok(f) => f,
        Err(e) => return ChildOutcome::Failed(format!("cannot create temp files: {e}")),
    };
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err));
    let start = Instant::now();
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return ChildOutcome::Failed(format!("cannot start: {e}")),
    };
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) if start.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                break Err(ChildOutcome::TimedOut(limit));
            }
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(5)),
            Err(e) => break Err(ChildOutcome::Failed(format!("wait: {e}"))),
        }
    };
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    let _ = std::fs::remove_file(&out_path);
    let _ = std::fs::remove_file(&err_path);
    let status = match status {
        Ok(s) => s,
        Err(outcome) => return outcome,
    };
    if status.success() {
        return ChildOutcome::Ok(parse_results(&stdout));
    }
    if stderr.contains("has overflowed its stack") {
        return ChildOutcome::StackOverflow;
    }
    if let Some(i) = stderr.find("panicked at") {
        let msg = stderr[i..].lines().nth(1).unwrap_or("").trim().to_string();
        return ChildOutcome::Panicked(msg);
    }
    let last = stderr.lines().last().unwrap_or("").trim().to_string();
    ChildOutcome::Failed(describe_status(&status, &last))
}

fn describe_status(status: &std::process::ExitStatus, last: &str) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            let name = match sig {
                6 => "SIGABRT",
                9 => "SIGKILL",
                11 => "SIGSEGV",
                _ => "signal",
            };
            return format!("killed by {name} ({sig}) {last}")
                .trim()
                .to_string();
        }
    }
    format!("{status} {last}").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_scale() {
        let full = Sizes::scaled(1.0);
        assert_eq!(full, Sizes::full());
        assert_eq!(full.tree_nodes(), 1_048_575);
        let small = Sizes::scaled(0.01);
        assert_eq!(small.alloc_drop, 100_000);
        assert_eq!(small.tree_nodes(), 8191);
        assert_eq!(Sizes::scaled(1e-9).tree_depth, 1);
    }

    #[test]
    fn names_round_trip() {
        for w in Workload::ALL {
            assert_eq!(Workload::from_name(w.name()), Some(w));
        }
        for p in Probe::ALL {
            assert_eq!(Probe::from_name(p.name()), Some(p));
        }
        for m in [
            ChildMode::Time,
            ChildMode::Mem,
            ChildMode::Header,
            ChildMode::Pause,
            ChildMode::Micro,
        ] {
            assert_eq!(ChildMode::from_name(m.name()), Some(m));
        }
    }

    #[test]
    fn protocol() {
        let r = parse_results("noise\nGCB times 1 2 3\nGCB ok\n");
        assert_eq!(r["times"], ["1", "2", "3"]);
        assert!(r["ok"].is_empty());
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn xorshift_is_deterministic() {
        let mut a = XorShift64::new(GRAPH_SEED);
        let mut b = XorShift64::new(GRAPH_SEED);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
            assert!(a.below(7) < 7);
            b.below(7);
        }
    }

    #[test]
    fn reads_proc_status() {
        if std::path::Path::new("/proc/self/status").exists() {
            assert!(proc_status_kib("VmRSS").unwrap() > 0);
            let before = proc_minor_faults().unwrap();
            let v = std::hint::black_box(vec![1u8; 1 << 20]);
            drop(v);
            assert!(proc_minor_faults().unwrap() >= before);
        }
    }
}
