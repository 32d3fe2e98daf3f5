//! gc-core against std `Rc` and the peer crates (rust-cc, dumpster,
//! gcmodule, bacon_rajan_cc, gc) on the workloads of issue 8 and the ones of
//! issue 17 (Benchmarks Game binary-trees, Boehm's GCBench,
//! rust-cc-benchmarks' four, a growing doubly linked list). The pause probes
//! and the small_alloc/alloc_sites timings run only as bench-report
//! children (`GC_BENCH_CHILD=pause` / `micro`).
//!
//! ```sh
//! cargo bench -p gc-bench --bench gc_bench                      # everything, full sizes
//! GC_BENCH_SCALE=0.01 cargo bench -p gc-bench --bench gc_bench  # quick smoke run
//! cargo bench -p gc-bench --bench gc_bench -- cycles2/          # one group
//! ```
//!
//! Workloads that can crash a peer (a recursive drop or collector that
//! overflows the stack) are first run once in a child process (this binary
//! re-invoked with `GC_BENCH_CHILD` set); an implementation that fails there
//! is reported on stderr and skipped. `deep_chain` and `mem_per_object` are
//! always measured in child processes; `mem_per_object` uses a custom
//! criterion measurement whose unit is bytes per live node (peak RSS).
//!
//! The same binary is the worker of `cargo run --release -p gc-bench --bin
//! bench-report`, which writes BENCHMARKS.md from simple median timings.

mod common;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use gc_bench::bench_support::{
    self as bs, ChildMode, ChildOutcome, Probe, Sizes, Workload, CHILD_ENV, IMPLS, IMPL_ENV,
    MAX_REPS, MEM_KIND_ENV, MIN_TIME_ENV, PROBE_ENV, REPS_ENV, SIZE_ENV, WARMUP_ENV, WORKLOAD_ENV,
};

use common::Impl;

fn main() {
    if let Ok(mode) = std::env::var(CHILD_ENV) {
        child::run(&mode);
        return;
    }
    let sizes = Sizes::from_env();
    let filter = Filter::from_args();
    let mut c = configure(Criterion::default());
    for w in Workload::ALL {
        bench_workload(&mut c, w, &sizes, &filter);
    }
    c.final_summary();
    let mut m = configure(Criterion::default().with_measurement(BytesPerNode));
    bench_mem(&mut m, &sizes, &filter);
    m.final_summary();
}

fn configure<M: Measurement>(c: Criterion<M>) -> Criterion<M> {
    c.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args()
}

/// The positional filter of `cargo bench -- FILTER`, to avoid probing
/// benchmarks criterion will skip. Only plain substrings are understood;
/// anything regex-like probes everything.
struct Filter {
    terms: Vec<String>,
    exact: bool,
}

impl Filter {
    fn from_args() -> Filter {
        // Options of criterion's command line that take a value.
        const WITH_VALUE: &[&str] = &[
            "--save-baseline",
            "-s",
            "--baseline",
            "-b",
            "--baseline-lenient",
            "--load-baseline",
            "--sample-size",
            "--warm-up-time",
            "--measurement-time",
            "--nresamples",
            "--noise-threshold",
            "--confidence-level",
            "--significance-level",
            "--profile-time",
            "--plotting-backend",
            "--output-format",
            "--color",
            "-c",
            "--format",
        ];
        let mut terms = Vec::new();
        let mut exact = false;
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            if a == "--exact" {
                exact = true;
            } else if WITH_VALUE.contains(&a.as_str()) {
                args.next();
            } else if !a.starts_with('-') {
                terms.push(a);
            }
        }
        Filter { terms, exact }
    }

    fn wants(&self, id: &str) -> bool {
        let regexy = |t: &str| t.chars().any(|c| "\\.+*?()|[]{}^$".contains(c));
        self.terms.is_empty()
            || self.terms.iter().any(|t| {
                regexy(t)
                    || if self.exact {
                        id == t
                    } else {
                        id.contains(t.as_str())
                    }
            })
    }
}

/// Run `workload` for `impl_name` in a child process.
fn run_in_child(mode: ChildMode, impl_name: &str, extra: &[(&str, String)]) -> ChildOutcome {
    let exe = std::env::current_exe().expect("current_exe");
    let mut cmd = Command::new(exe);
    cmd.env(CHILD_ENV, mode.name()).env(IMPL_ENV, impl_name);
    for (k, v) in extra {
        cmd.env(k, v);
    }
    bs::run_child(cmd, Duration::from_secs(1800))
}

/// One run of `w` in a child; `None` if it worked, else why not.
fn probe(w: Workload, impl_name: &str, sizes: &Sizes) -> Option<String> {
    let n = sizes.count(w).to_string();
    let out = run_in_child(
        ChildMode::Time,
        impl_name,
        &[
            (WORKLOAD_ENV, w.name().to_string()),
            (REPS_ENV, "1".to_string()),
            (WARMUP_ENV, "0".to_string()),
            (SIZE_ENV, n),
        ],
    );
    match out {
        ChildOutcome::Ok(_) => None,
        other => Some(other.describe()),
    }
}

/// Sum of the `times` a child reports for `reps` runs of `w`.
fn child_times(w: Workload, impl_name: &str, reps: u64, sizes: &Sizes) -> Duration {
    let out = run_in_child(
        ChildMode::Time,
        impl_name,
        &[
            (WORKLOAD_ENV, w.name().to_string()),
            (REPS_ENV, reps.to_string()),
            (WARMUP_ENV, "0".to_string()),
            (SIZE_ENV, sizes.count(w).to_string()),
        ],
    );
    match out {
        ChildOutcome::Ok(r) => r
            .get("times")
            .into_iter()
            .flatten()
            .map(|t| Duration::from_nanos(t.parse().expect("child time")))
            .sum(),
        other => panic!(
            "{}/{impl_name} failed in a child: {}",
            w.name(),
            other.describe()
        ),
    }
}

fn bench_workload(c: &mut Criterion, w: Workload, sizes: &Sizes, filter: &Filter) {
    let (group_name, param) = match w {
        Workload::YoungChurnSmall => ("young_churn", format!("old={}", sizes.churn_old_small)),
        Workload::YoungChurnLarge => ("young_churn", format!("old={}", sizes.churn_old_large)),
        _ => (w.name(), sizes.count(w).to_string()),
    };
    let mut g = c.benchmark_group(group_name);
    g.sampling_mode(SamplingMode::Flat);
    g.throughput(Throughput::Elements(sizes.count(w) as u64));
    for &name in IMPLS {
        let id = format!("{group_name}/{name}/{param}");
        if !filter.wants(&id) {
            continue;
        }
        if w.may_crash() {
            if let Some(why) = probe(w, name, sizes) {
                eprintln!("{id}: skipped, {why} (in a child process)");
                continue;
            }
        }
        let bid = BenchmarkId::new(name, &param);
        let s = *sizes;
        with_impl!(name, I => match w {
            Workload::AllocDrop => {
                g.bench_function(bid, |b| b.iter(|| I::alloc_drop(s.alloc_drop)));
            }
            Workload::CloneDrop => {
                g.bench_function(bid, |b| b.iter(|| I::clone_drop(s.clone_drop)));
            }
            Workload::Tree => {
                g.bench_function(bid, |b| b.iter(|| I::tree(s.tree_depth)));
            }
            Workload::TreeFixed => {
                g.bench_function(bid, |b| b.iter(|| I::tree_fixed(s.tree_depth)));
            }
            Workload::Cycles2 => {
                g.bench_function(bid, |b| b.iter(|| I::cycles2(s.cycles2)));
            }
            Workload::Cycles2Collect => {
                g.bench_function(bid, |b| {
                    b.iter_custom(|n| (0..n).map(|_| I::cycles2_collect(s.cycles2)).sum())
                });
            }
            Workload::BigCycle => {
                g.bench_function(bid, |b| b.iter(|| I::big_cycle(s.big_cycle)));
            }
            Workload::BigCycleCollect => {
                g.bench_function(bid, |b| {
                    b.iter_custom(|n| (0..n).map(|_| I::big_cycle_collect(s.big_cycle)).sum())
                });
            }
            Workload::RandomGraph => {
                g.bench_function(bid, |b| {
                    b.iter(|| I::random_graph(s.graph_nodes, s.graph_edges))
                });
            }
            Workload::RandomGraphCollect => {
                g.bench_function(bid, |b| {
                    b.iter_custom(|n| {
                        (0..n)
                            .map(|_| I::random_graph_collect(s.graph_nodes, s.graph_edges))
                            .sum()
                    })
                });
            }
            Workload::YoungChurnSmall | Workload::YoungChurnLarge => {
                let old_n = if w == Workload::YoungChurnSmall {
                    s.churn_old_small
                } else {
                    s.churn_old_large
                };
                let old = I::churn_setup(old_n);
                g.bench_function(bid, |b| b.iter(|| I::churn(s.churn_cycles, s.churn_every)));
                I::churn_teardown(old);
            }
            Workload::DeepChain => {
                g.bench_function(bid, |b| b.iter_custom(|n| child_times(w, name, n, &s)));
            }
            Workload::BinaryTrees => {
                g.bench_function(bid, |b| b.iter(|| I::binary_trees(s.bt_n)));
            }
            Workload::GcBench => {
                g.bench_function(bid, |b| b.iter(|| I::gcbench(&s.gcbench)));
            }
            Workload::RccBinaryTrees => {
                g.bench_function(bid, |b| b.iter(|| I::rcb_binary_trees(s.rcb_depth)));
            }
            Workload::RccParentTrees => {
                g.bench_function(bid, |b| b.iter(|| I::rcb_parent_trees(s.rcb_depth)));
            }
            Workload::RccLinkedList => {
                g.bench_function(bid, |b| b.iter(|| I::rcb_linked_list(s.rcb_list)));
            }
            Workload::RccStress => {
                g.bench_function(bid, |b| b.iter(|| I::rcb_stress(s.rcb_stress)));
            }
            Workload::DllGrow => {
                g.bench_function(bid, |b| b.iter(|| I::dll_grow(s.dll_grow)));
            }
        });
    }
    g.finish();
}

/// Criterion measurement whose value is bytes (per live node), measured in a
/// child process from `/proc/self/status` (peak RSS growth).
struct BytesPerNode;

struct BytesFormatter;

impl ValueFormatter for BytesFormatter {
    fn scale_values(&self, _typical: f64, _values: &mut [f64]) -> &'static str {
        "B/node"
    }
    fn scale_throughputs(&self, _t: f64, _th: &Throughput, _v: &mut [f64]) -> &'static str {
        "B/node"
    }
    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "B/node"
    }
}

impl Measurement for BytesPerNode {
    type Intermediate = ();
    type Value = f64;
    fn start(&self) {}
    fn end(&self, _: ()) -> f64 {
        0.0
    }
    fn add(&self, a: &f64, b: &f64) -> f64 {
        a + b
    }
    fn zero(&self) -> f64 {
        0.0
    }
    fn to_f64(&self, v: &f64) -> f64 {
        *v
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &BytesFormatter
    }
}

/// Bytes per node of `kind` (`chain`/`leaves`) from one child run.
fn mem_child(impl_name: &str, kind: &str) -> Result<BTreeMap<String, Vec<String>>, String> {
    match run_in_child(
        ChildMode::Mem,
        impl_name,
        &[(MEM_KIND_ENV, kind.to_string())],
    ) {
        ChildOutcome::Ok(r) => Ok(r),
        other => Err(other.describe()),
    }
}

/// Peak-RSS growth per node from a memory child's results.
pub fn rss_per_node(r: &BTreeMap<String, Vec<String>>) -> Option<f64> {
    let v = r.get("mem")?;
    let n: f64 = v.first()?.parse().ok()?;
    let before: f64 = v.get(1)?.parse().ok()?;
    let hwm: f64 = v.get(2)?.parse().ok()?;
    Some((hwm - before) * 1024.0 / n)
}

fn bench_mem(c: &mut Criterion<BytesPerNode>, sizes: &Sizes, filter: &Filter) {
    let mut g = c.benchmark_group("mem_per_object");
    g.sampling_mode(SamplingMode::Flat);
    for kind in ["chain", "leaves"] {
        for &name in IMPLS {
            let param = format!("{kind}={}", sizes.mem_nodes);
            let id = format!("mem_per_object/{name}/{param}");
            if !filter.wants(&id) {
                continue;
            }
            if let Err(why) = mem_child(name, kind) {
                eprintln!("{id}: skipped, {why} (in a child process)");
                continue;
            }
            g.bench_function(BenchmarkId::new(name, &param), |b| {
                b.iter_custom(|n| {
                    (0..n)
                        .map(|_| {
                            let per_node = mem_child(name, kind)
                                .ok()
                                .as_ref()
                                .and_then(rss_per_node)
                                .expect("memory child");
                            // `leaves` keeps its handles in a Vec: 8 bytes
                            // per object that are not the object's.
                            if kind == "leaves" {
                                per_node - 8.0
                            } else {
                                per_node
                            }
                        })
                        .sum()
                })
            });
        }
    }
    g.finish();
}

/// The child side of the protocol (see `gc_bench::bench_support`).
mod child {
    use super::*;
    use gc_bench::bench_support::{
        binary_trees_expected, emit, proc_minor_faults, proc_status_kib, scale_from_env,
    };
    use gc_core::{Finalize, Gc, Trace};
    use std::time::Instant;

    fn env(name: &str) -> Option<String> {
        std::env::var(name).ok()
    }

    pub fn run(mode: &str) {
        let mode = ChildMode::from_name(mode).unwrap_or_else(|| fail(&format!("mode {mode:?}")));
        let impl_name = env(IMPL_ENV).unwrap_or_else(|| "gc-core".to_string());
        let done = match mode {
            ChildMode::Time => {
                let w = env(WORKLOAD_ENV)
                    .and_then(|s| Workload::from_name(&s))
                    .unwrap_or_else(|| fail("GC_BENCH_WORKLOAD"));
                let mut sizes = Sizes::from_env();
                if let Some(n) = env(SIZE_ENV).and_then(|s| s.parse().ok()) {
                    sizes = sizes.with_count(w, n);
                }
                let reps: usize = env(REPS_ENV).and_then(|s| s.parse().ok()).unwrap_or(5);
                let warmup = env(WARMUP_ENV).is_none_or(|s| s != "0");
                let min_time = env(MIN_TIME_ENV)
                    .and_then(|s| s.parse().ok())
                    .map(Duration::from_millis)
                    .unwrap_or_default();
                with_impl!(impl_name.as_str(), I => time::<I>(w, &sizes, reps, min_time, warmup))
            }
            ChildMode::Mem => {
                let kind = env(MEM_KIND_ENV).unwrap_or_else(|| "chain".to_string());
                let n = Sizes::from_env().mem_nodes;
                with_impl!(impl_name.as_str(), I => mem::<I>(&kind, n))
            }
            ChildMode::Header => {
                header();
                Some(())
            }
            ChildMode::Pause => {
                let p = env(PROBE_ENV)
                    .and_then(|s| Probe::from_name(&s))
                    .unwrap_or_else(|| fail("GC_BENCH_PROBE"));
                let sizes = Sizes::from_env();
                with_impl!(impl_name.as_str(), I => pause::<I>(p, &sizes))
            }
            ChildMode::Micro => {
                micro();
                Some(())
            }
        };
        if done.is_none() {
            fail(&format!("unknown implementation {impl_name:?}"));
        }
    }

    fn fail(what: &str) -> ! {
        eprintln!("gc_bench child: bad or missing {what}");
        std::process::exit(2);
    }

    /// One untimed warm-up (unless disabled), then `reps` timed runs (more,
    /// up to `MAX_REPS`, until they add up to `min_time`); prints `GCB times
    /// <ns>…`.
    fn time<I: Impl>(w: Workload, s: &Sizes, reps: usize, min_time: Duration, warmup: bool) {
        let once = |w: Workload| -> Duration {
            let t = std::time::Instant::now();
            let measured = match w {
                Workload::AllocDrop => {
                    I::alloc_drop(s.alloc_drop);
                    None
                }
                Workload::CloneDrop => {
                    I::clone_drop(s.clone_drop);
                    None
                }
                Workload::Tree => {
                    I::tree(s.tree_depth);
                    None
                }
                Workload::TreeFixed => {
                    I::tree_fixed(s.tree_depth);
                    None
                }
                Workload::Cycles2 => {
                    I::cycles2(s.cycles2);
                    None
                }
                Workload::Cycles2Collect => Some(I::cycles2_collect(s.cycles2)),
                Workload::BigCycle => {
                    I::big_cycle(s.big_cycle);
                    None
                }
                Workload::BigCycleCollect => Some(I::big_cycle_collect(s.big_cycle)),
                Workload::RandomGraph => {
                    I::random_graph(s.graph_nodes, s.graph_edges);
                    None
                }
                Workload::RandomGraphCollect => {
                    Some(I::random_graph_collect(s.graph_nodes, s.graph_edges))
                }
                Workload::YoungChurnSmall | Workload::YoungChurnLarge => {
                    I::churn(s.churn_cycles, s.churn_every);
                    None
                }
                Workload::DeepChain => Some(I::deep_chain(s.deep_chain)),
                Workload::BinaryTrees => {
                    let check = I::binary_trees(s.bt_n);
                    assert_eq!(check, binary_trees_expected(s.bt_n), "binary-trees check");
                    None
                }
                Workload::GcBench => {
                    let nodes = I::gcbench(&s.gcbench);
                    assert_eq!(nodes, s.gcbench.nodes() as u64, "GCBench nodes");
                    None
                }
                Workload::RccBinaryTrees | Workload::RccParentTrees => {
                    let checks = if w == Workload::RccBinaryTrees {
                        I::rcb_binary_trees(s.rcb_depth)
                    } else {
                        I::rcb_parent_trees(s.rcb_depth)
                    };
                    let want: Vec<usize> = (4..s.rcb_depth)
                        .step_by(2)
                        .map(|d| (1 << (s.rcb_depth - d + 4)) * ((1 << (d + 1)) - 1))
                        .collect();
                    assert_eq!(checks, want, "rust-cc-benchmarks tree checks");
                    None
                }
                Workload::RccLinkedList => {
                    let lens = I::rcb_linked_list(s.rcb_list);
                    assert_eq!(lens, vec![s.rcb_list; 30], "list lengths");
                    None
                }
                Workload::RccStress => {
                    let live = I::rcb_stress(s.rcb_stress);
                    assert_eq!(live.first(), Some(&s.rcb_stress), "stress test");
                    None
                }
                Workload::DllGrow => {
                    I::dll_grow(s.dll_grow);
                    None
                }
            };
            measured.unwrap_or_else(|| t.elapsed())
        };
        let old = match w {
            Workload::YoungChurnSmall => Some(I::churn_setup(s.churn_old_small)),
            Workload::YoungChurnLarge => Some(I::churn_setup(s.churn_old_large)),
            _ => None,
        };
        if warmup {
            once(w);
        }
        let mut times: Vec<u128> = Vec::new();
        let mut total = Duration::ZERO;
        let faults_before = proc_minor_faults().unwrap_or(0);
        let stats_before = gc_core::gc::stats();
        let skipped_before = gc_core::gc::skipped_collections();
        while times.len() < reps || (total < min_time && times.len() < MAX_REPS) {
            let t = once(w);
            total += t;
            times.push(t.as_nanos());
        }
        let faults = proc_minor_faults().unwrap_or(0) - faults_before;
        let stats_after = gc_core::gc::stats();
        let skipped_after = gc_core::gc::skipped_collections();
        if let Some(old) = old {
            I::churn_teardown(old);
        }
        let runs = times.len() as u64;
        emit("impl", &[I::NAME]);
        emit("times", &times);
        // Per timed run: minor page faults, and gc-core's collections per
        // generation (zero for the other implementations).
        emit("minflt", &[faults / runs]);
        let per_gen =
            [0, 1, 2].map(|g| (stats_after[g].collections - stats_before[g].collections) as u64);
        emit("collections", &per_gen.map(|c| c as f64 / runs as f64));
        // Of those, the ones proven empty and skipped (no scan).
        let skipped = [0, 1, 2].map(|g| (skipped_after[g] - skipped_before[g]) as u64);
        emit("skipped", &skipped.map(|c| c as f64 / runs as f64));
    }

    /// Run pause probe `p` once, no warm-up; prints `GCB steps <n> <total
    /// ns> <max> <p99.9> <p99> <p50>`, `GCB floating <peak>`, `GCB
    /// threshold <gc-core gen-0 threshold>` and gc-core's collections, then
    /// exits without tearing the structure down (see `exit_now`).
    fn pause<I: Impl>(p: Probe, s: &Sizes) {
        let mut rec = common::StepRecorder::new(p.steps(s) + 1);
        let stats_before = gc_core::gc::stats();
        let skipped_before = gc_core::gc::skipped_collections();
        let t = Instant::now();
        I::probe(p, s, &mut rec);
        let total = t.elapsed().as_nanos() as u64;
        let stats_after = gc_core::gc::stats();
        let skipped_after = gc_core::gc::skipped_collections();
        let mut v = std::mem::take(&mut rec.steps);
        v.sort_unstable();
        let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize] as u64;
        emit("impl", &[I::NAME]);
        emit(
            "steps",
            &[v.len() as u64, total, at(1.0), at(0.999), at(0.99), at(0.5)],
        );
        emit("floating", &[rec.peak_floating]);
        emit("threshold", &[gc_core::gc::threshold().0]);
        let per_gen =
            [0, 1, 2].map(|g| (stats_after[g].collections - stats_before[g].collections) as u64);
        emit("collections", &per_gen);
        emit(
            "skipped",
            &[0, 1, 2].map(|g| (skipped_after[g] - skipped_before[g]) as u64),
        );
        exit_now();
    }

    #[derive(Trace, Finalize)]
    struct SiteNode {
        next: std::cell::RefCell<Option<Gc<SiteNode>>>,
        value: u64,
    }

    /// Median time (ns) of 11 runs of `f` after one warm-up.
    fn median_ns(mut f: impl FnMut()) -> u64 {
        f();
        let mut v: Vec<u64> = (0..11)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_nanos() as u64
            })
            .collect();
        v.sort_unstable();
        v[v.len() / 2]
    }

    /// The `small_alloc` and `alloc_sites` benches as plain timings (median
    /// of 11 runs): `GCB micro_<case> <n> <ns>`.
    fn micro() {
        use std::hint::black_box;
        use std::rc::Rc;
        let scale = scale_from_env().min(1.0);
        let n = ((1_000_000.0 * scale) as u64).max(1000);
        type Case<'a> = (&'a str, Box<dyn FnMut() + 'a>);
        let rows: [Case; 6] = [
            (
                "one_box",
                Box::new(|| (0..n).for_each(|i| drop(black_box(Box::new(i))))),
            ),
            (
                "one_rc",
                Box::new(|| (0..n).for_each(|i| drop(black_box(Rc::new(i))))),
            ),
            (
                "one_gc",
                Box::new(|| (0..n).for_each(|i| drop(black_box(Gc::new(i))))),
            ),
            (
                "vec_box",
                Box::new(|| drop(black_box((0..n).map(Box::new).collect::<Vec<_>>()))),
            ),
            (
                "vec_rc",
                Box::new(|| drop(black_box((0..n).map(Rc::new).collect::<Vec<_>>()))),
            ),
            (
                "vec_gc",
                Box::new(|| drop(black_box((0..n).map(Gc::new).collect::<Vec<_>>()))),
            ),
        ];
        for (name, f) in rows {
            emit(&format!("micro_{name}"), &[n, median_ns(f)]);
        }
        let m = ((100_000.0 * scale) as u64).max(1000);
        let rc = median_ns(|| {
            for i in 0..m {
                black_box(Rc::new(std::cell::RefCell::new((None::<Rc<u64>>, i))));
            }
        });
        emit("micro_sites_rc", &[m, rc]);
        for (name, on) in [("sites_off", false), ("sites_on", true)] {
            gc_core::gc::track_allocations(on);
            let t = median_ns(|| {
                for i in 0..m {
                    black_box(Gc::new(SiteNode {
                        next: std::cell::RefCell::new(None),
                        value: i,
                    }));
                }
            });
            gc_core::gc::track_allocations(false);
            emit(&format!("micro_{name}"), &[m, t]);
        }
    }

    /// Build `n` live nodes and print `GCB mem <n> <VmRSS before> <VmHWM
    /// after> <VmRSS after> <gc-core heap bytes delta>` (KiB, KiB, KiB,
    /// bytes), then exit without dropping them (see `exit_now`).
    fn mem<I: Impl>(kind: &str, n: usize) {
        let heap_before = gc_core::gc::heap_stats().bytes_in_use;
        let before = proc_status_kib("VmRSS").unwrap_or(0);
        let live = match kind {
            "leaves" => I::live_leaves(n),
            _ => I::live_chain(n),
        };
        std::hint::black_box(&live);
        let hwm = proc_status_kib("VmHWM").unwrap_or(0);
        let after = proc_status_kib("VmRSS").unwrap_or(0);
        let heap_after = gc_core::gc::heap_stats().bytes_in_use;
        emit(
            "mem",
            &[
                n as u64,
                before,
                hwm,
                after,
                (heap_after - heap_before) as u64,
            ],
        );
        std::mem::forget(live);
        exit_now();
    }

    /// Exit at once: no thread-local destructors, which would tear the live
    /// nodes down (gcmodule's object space, for one, recurses through the
    /// 1M-long chain and overflows the stack at exit).
    fn exit_now() -> ! {
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        extern "C" {
            fn _exit(status: i32) -> !;
        }
        // SAFETY: POSIX `_exit` ends the process without running atexit
        // handlers or destructors; stdout was flushed above and nothing else
        // needs to outlive this call.
        unsafe { _exit(0) }
    }

    #[derive(Trace, Finalize)]
    struct Tracked8 {
        next: std::cell::OnceCell<Gc<Tracked8>>,
    }

    #[derive(Trace, Finalize)]
    struct Tracked16 {
        next: std::cell::OnceCell<Gc<Tracked16>>,
        a: u64,
    }

    #[derive(Trace, Finalize)]
    struct Tracked32 {
        next: std::cell::OnceCell<Gc<Tracked32>>,
        a: [u64; 3],
    }

    /// Heap bytes per object for `n` objects made by `make`.
    fn per_object<T>(make: impl Fn(u64) -> T) -> usize {
        const N: usize = 10_000;
        let before = gc_core::gc::heap_stats().bytes_in_use;
        let v: Vec<T> = (0..N as u64).map(make).collect();
        let after = gc_core::gc::heap_stats().bytes_in_use;
        drop(v);
        (after - before) / N
    }

    /// gc-core's bytes per object (from `gc::heap_stats`) for tracked and
    /// untracked values of 8, 16 and 32 bytes: `GCB header_<kind>_<size>
    /// <bytes>`.
    fn header() {
        gc_core::gc::disable();
        let rows = [
            (
                "tracked",
                8,
                per_object(|_| {
                    Gc::new(Tracked8 {
                        next: Default::default(),
                    })
                }),
            ),
            (
                "tracked",
                16,
                per_object(|i| {
                    Gc::new(Tracked16 {
                        next: Default::default(),
                        a: i,
                    })
                }),
            ),
            (
                "tracked",
                32,
                per_object(|i| {
                    Gc::new(Tracked32 {
                        next: Default::default(),
                        a: [i; 3],
                    })
                }),
            ),
            ("untracked", 8, per_object(Gc::new)),
            ("untracked", 16, per_object(|i| Gc::new([i; 2]))),
            ("untracked", 32, per_object(|i| Gc::new([i; 4]))),
        ];
        for (kind, size, bytes) in rows {
            emit(&format!("header_{kind}_{size}"), &[bytes]);
        }
        // A `OnceCell` can be set after the object is built, so it can
        // close a cycle: these types are tracked (an `Option<Gc<Self>>`
        // alone would be a fixed self-edge, and untracked).
        assert!(gc_core::gc::is_tracked(&Gc::new(Tracked8 {
            next: Default::default()
        })));
        assert_eq!(std::mem::size_of::<Tracked8>(), 8);
        assert_eq!(std::mem::size_of::<Tracked16>(), 16);
        assert_eq!(std::mem::size_of::<Tracked32>(), 32);
    }
}
