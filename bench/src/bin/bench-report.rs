//! Runs gc-core, std `Rc`, the peer crates and CPython on every workload and
//! writes BENCHMARKS.md — every section of it.
//!
//! ```sh
//! cargo run --release -p gc-bench --bin bench-report
//! GC_BENCH_SCALE=0.01 cargo run --release -p gc-bench --bin bench-report -- --output /tmp/b.md
//! GC_BENCH_BT_N=21 cargo run --release -p gc-bench --bin bench-report   # the site's binary-trees N
//! ```
//!
//! Options: `--rounds N` (default 3: every implementation runs once per
//! round, in a fresh process, so that slow phases of a shared machine hit
//! all of them), `--reps N` (timed repetitions per process, default 3, more
//! for cheap workloads), `--steady N` (processes per implementation in the
//! steady measurement of issue 17's targets, default 5; 0 skips it),
//! `--no-valgrind`, `--no-python` (no CPython column), `--no-pauses` (no
//! pause probes), `--output PATH` (default: BENCHMARKS.md at the
//! workspace root, next to its Cargo.toml), `--impls a,b,…` and `--workloads a,b,…` (subsets).
//!
//! The peers are dev-dependencies, which a binary cannot link, so this
//! program builds the criterion bench binary (`cargo bench --no-run`) and
//! runs it as a worker: per round, one child process per implementation and
//! workload, one untimed warm-up, then timed repetitions (*warm*); the median of all
//! rounds' repetitions is reported. For `Workload::COLD` every round also
//! runs one fresh process per implementation with no warm-up and one timed
//! run (*cold*). The pause probes (`ChildMode::Pause`) and the
//! `small_alloc`/`alloc_sites` timings (`ChildMode::Micro`) run in the same
//! worker; CPython's column runs `bench/python/bench.py` with the same
//! protocol. The targets table adds a steady measurement
//! ([`STEADY_PROCESSES`]): gc-core, gc-core/inc and `Rc` alone, in more
//! processes, each warm process's fastest run counted. A child that overflows its stack, panics or times out is
//! recorded as such. Instruction counts come from `valgrind --tool=callgrind`
//! when it is installed.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use gc_bench::bench_support::{
    binary_trees_depth, binary_trees_expected, median, run_child, ChildMode, ChildOutcome, Probe,
    Sizes, Workload, BT_N_ENV, CHILD_ENV, IMPLS, IMPL_ENV, MAX_REPS, MEM_KIND_ENV, MIN_TIME_ENV,
    PROBE_ENV, REPS_ENV, SCALE_ENV, SIZE_ENV, WARMUP_ENV, WORKLOAD_ENV,
};

/// gc-core's two policies for full collections: atomic (the default) and
/// incremental (`gc::set_incremental(true)`).
const GC_CORE_POLICIES: [&str; 2] = ["gc-core", "gc-core/inc"];

/// Peers (not gc-core, not `Rc`).
const PEERS: &[&str] = &["rust-cc", "dumpster", "gcmodule", "bacon_rajan_cc", "gc"];

/// Crates whose versions the report lists.
const CRATES: &[&str] = &[
    "gc-core",
    "rust-cc",
    "dumpster",
    "gcmodule",
    "bacon_rajan_cc",
    "gc",
    "criterion",
];

/// Workloads measured with callgrind: (workload, smaller size, larger size).
/// The instruction count per element is the difference divided by the size
/// difference, which cancels start-up and setup costs.
const CALLGRIND: &[(Workload, usize, usize)] = &[
    (Workload::AllocDrop, 100_000, 200_000),
    (Workload::CloneDrop, 1_000_000, 2_000_000),
    (Workload::Tree, 16_383, 32_767),
    (Workload::TreeFixed, 16_383, 32_767),
    (Workload::Cycles2, 20_000, 40_000),
];

/// Issue 17's time targets: (workload, reference, limit of gc-core's time ÷
/// the reference's, label).
const TARGETS: &[(Workload, &str, f64, &str)] = &[
    (Workload::Tree, "Rc", 1.0, "tree ≤ 1.0× `Rc`"),
    (
        Workload::TreeFixed,
        "Rc",
        1.0,
        "tree_fixed (nodes written `Option<Gc<TreeNode>>`, untracked) ≤ 1.0× `Rc`",
    ),
    (Workload::BinaryTrees, "Rc", 1.0, "binary_trees ≤ 1.0× `Rc`"),
    (
        Workload::BigCycle,
        "Rc",
        1.5,
        "big_cycle incl. build ≤ 1.5× hand-broken `Rc`",
    ),
    (
        Workload::Cycles2,
        "Rc",
        1.0,
        "cycles2 ≤ 1.0× hand-broken `Rc`",
    ),
    (
        Workload::RandomGraph,
        "Rc",
        1.0,
        "random_graph ≤ 1.0× hand-broken `Rc`",
    ),
    (Workload::AllocDrop, "Rc", 0.8, "alloc_drop ≤ 0.8× `Rc`"),
    (
        Workload::CloneDrop,
        "Rc",
        1.1,
        "clone_drop within 10 % of `Rc`",
    ),
];

/// Default number of fresh processes per implementation and target workload
/// in the steady measurement (`--steady N`).
///
/// Why a second measurement: on a shared virtual machine the same binary's
/// time differs between processes by up to 1.7× (measured for `Rc`'s tree:
/// 16.5 to 31 ms), and a whole process is slow or fast together (placement
/// of its memory, other tenants, the kernel's memory scanner). A median over
/// three processes' runs then moves by more than the differences the targets
/// ask about. Noise only ever adds time, so each process's fastest run is
/// its steady cost; the median over several processes of that, with the
/// implementations' processes interleaved so that a slow phase hits all of
/// them, is the steady measure. Cold runs have one run per process, so
/// their steady measure is the median over more processes.
const STEADY_PROCESSES: usize = 5;

/// The implementations the steady measurement runs: gc-core's two policies
/// and the targets' reference.
const STEADY_IMPLS: [&str; 3] = ["gc-core", "gc-core/inc", "Rc"];

/// Cheap workloads repeat until their timed runs add up to this (ms) in
/// each child.
const MIN_TIME_MS: u64 = 500;

/// A cell whose run takes longer than this in the first round is not run
/// again in later rounds (marked ‡).
const SLOW_RUN: Duration = Duration::from_secs(3);

/// Time limit of one child.
const CHILD_LIMIT: Duration = Duration::from_secs(300);

/// The CPython column (`bench/python/bench.py`).
const CPYTHON: &str = "CPython";

/// The workloads `bench/python/bench.py` expresses.
const PY_WORKLOADS: &[Workload] = &[
    Workload::Tree,
    Workload::BinaryTrees,
    Workload::Cycles2,
    Workload::BigCycle,
    Workload::RandomGraph,
    Workload::DllGrow,
];

/// Workloads whose `Rc` version breaks cycles by hand ("Rc†").
const HAND_BROKEN: &[Workload] = &[
    Workload::Cycles2,
    Workload::Cycles2Collect,
    Workload::BigCycle,
    Workload::BigCycleCollect,
    Workload::RandomGraph,
    Workload::RandomGraphCollect,
    Workload::YoungChurnSmall,
    Workload::YoungChurnLarge,
    Workload::RccParentTrees,
    Workload::RccLinkedList,
    Workload::RccStress,
    Workload::DllGrow,
];

struct Options {
    reps: usize,
    rounds: usize,
    valgrind: bool,
    output: PathBuf,
    impls: Vec<String>,
    workloads: Vec<Workload>,
    python: bool,
    pauses: bool,
    /// Processes per implementation in the steady measurement of the
    /// targets (0: none).
    steady: usize,
}

fn parse_options(root: &Path) -> Options {
    let mut o = Options {
        reps: 3,
        rounds: 3,
        valgrind: true,
        output: root.join("BENCHMARKS.md"),
        impls: IMPLS.iter().map(|s| s.to_string()).collect(),
        workloads: Workload::ALL.to_vec(),
        python: true,
        pauses: true,
        steady: STEADY_PROCESSES,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .unwrap_or_else(|| usage(&format!("{name} needs a value")))
        };
        match a.as_str() {
            "--reps" => {
                o.reps = value("--reps")
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .unwrap_or_else(|| usage("--reps needs a positive number"))
            }
            "--rounds" => {
                o.rounds = value("--rounds")
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .unwrap_or_else(|| usage("--rounds needs a positive number"))
            }
            "--steady" => {
                o.steady = value("--steady")
                    .parse()
                    .unwrap_or_else(|_| usage("--steady needs a number"))
            }
            "--no-valgrind" => o.valgrind = false,
            "--no-python" => o.python = false,
            "--no-pauses" => o.pauses = false,
            "--output" => o.output = PathBuf::from(value("--output")),
            "--impls" => {
                o.impls = value("--impls").split(',').map(str::to_string).collect();
                if let Some(bad) = o.impls.iter().find(|i| !IMPLS.contains(&i.as_str())) {
                    usage(&format!("unknown implementation {bad:?}"));
                }
            }
            "--workloads" => {
                o.workloads = value("--workloads")
                    .split(',')
                    .map(|w| {
                        Workload::from_name(w)
                            .unwrap_or_else(|| usage(&format!("unknown workload {w:?}")))
                    })
                    .collect();
            }
            "-h" | "--help" => usage(""),
            other => usage(&format!("unknown argument {other:?}")),
        }
    }
    o
}

fn usage(msg: &str) -> ! {
    if !msg.is_empty() {
        eprintln!("bench-report: {msg}");
    }
    eprintln!(
        "usage: bench-report [--reps N] [--rounds N] [--steady N] [--no-valgrind] [--no-python] \
         [--no-pauses] [--output PATH] [--impls a,b] [--workloads a,b]\n  impls: {}\n  workloads: {}",
        IMPLS.join(","),
        Workload::ALL.map(Workload::name).join(",")
    );
    std::process::exit(if msg.is_empty() { 0 } else { 2 });
}

fn main() {
    // This package lives in `bench/`; the report, Cargo.lock and the git
    // checkout it describes are at the workspace root above it.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("bench/ has a parent directory")
        .to_path_buf();
    let opts = parse_options(&root);
    let started = Instant::now();
    let load_before = load_average();
    let exe = build_worker(&root);
    eprintln!("worker: {}", exe.display());
    let sizes = Sizes::from_env();

    let python = if opts.python { python_version() } else { None };
    let runner = Runner {
        exe: exe.clone(),
        script: root.join("bench").join("python").join("bench.py"),
        python: python.is_some(),
        sizes,
    };
    // CPython is a column when python3 runs; its cells say why not otherwise.
    let mut columns: Vec<String> = opts.impls.clone();
    if opts.python {
        columns.push(CPYTHON.to_string());
    }

    // Rounds: every implementation runs once per round, so a slow phase of
    // the (shared, noisy) machine hits all of them rather than one.
    let mut times: BTreeMap<(Workload, String), Result<Vec<f64>, String>> = BTreeMap::new();
    let mut cold: BTreeMap<(Workload, String), Result<Vec<f64>, String>> = BTreeMap::new();
    // Cells whose first round's run took longer than `SLOW_RUN`: measured
    // in that round only (warm and cold separately), to keep the full report
    // within its time budget.
    let mut slow: BTreeSet<(Workload, String)> = BTreeSet::new();
    let mut slow_cold: BTreeSet<(Workload, String)> = BTreeSet::new();
    let mut diags: BTreeMap<(Workload, String), Diag> = BTreeMap::new();
    for &w in &opts.workloads {
        for round in 1..=opts.rounds {
            for name in &columns {
                let key = (w, name.clone());
                if let Some(Err(_)) = times.get(&key) {
                    continue; // failed in an earlier round (or not expressible)
                }
                if let Some(why) = runner.unavailable(name, w) {
                    times.insert(key, Err(why));
                    continue;
                }
                if slow.contains(&key) {
                    continue;
                }
                let (reps, warmup) = match w {
                    // A 10M chain per repetition; no warm-up needed for a drop.
                    Workload::DeepChain => (1, false),
                    // Long runs: one timed repetition per round after the warm-up.
                    _ if w.heavy() || name == CPYTHON => (1, true),
                    _ => (opts.reps, true),
                };
                let t = Instant::now();
                let r = runner.time_child(name, w, reps, warmup);
                log_run(w.name(), "warm", round, name, &r, t);
                match r {
                    Ok(v) => {
                        if median(&v.times).is_some_and(|t| t > SLOW_RUN.as_nanos() as f64) {
                            slow.insert(key.clone());
                        }
                        let d = diags.entry(key.clone()).or_default();
                        d.minflt.push(v.minflt);
                        d.collections.push(v.collections);
                        d.skipped.push(v.skipped);
                        if let Ok(all) = times.entry(key).or_insert_with(|| Ok(Vec::new())) {
                            all.extend(v.times);
                        }
                    }
                    Err(e) => {
                        times.insert(key, Err(e));
                    }
                }
            }
            // Cold: a fresh process per measured run, no warm-up.
            if !Workload::COLD.contains(&w) {
                continue;
            }
            for name in &columns {
                let key = (w, name.clone());
                if let Some(Err(e)) = times.get(&key) {
                    cold.insert(key, Err(e.clone()));
                    continue;
                }
                if let Some(Err(_)) = cold.get(&key) {
                    continue;
                }
                if slow_cold.contains(&key) {
                    continue;
                }
                let t = Instant::now();
                let r = runner.time_child(name, w, 1, false);
                log_run(w.name(), "cold", round, name, &r, t);
                match r {
                    Ok(v) => {
                        if median(&v.times).is_some_and(|t| t > SLOW_RUN.as_nanos() as f64) {
                            slow_cold.insert(key.clone());
                        }
                        if let Ok(all) = cold.entry(key).or_insert_with(|| Ok(Vec::new())) {
                            all.extend(v.times);
                        }
                    }
                    Err(e) => {
                        cold.insert(key, Err(e));
                    }
                }
            }
        }
    }

    let steady = steady_phase(&runner, &opts);

    // Pause probes: one fresh process per implementation, probe and round.
    let mut pauses: BTreeMap<(Probe, String), Result<Vec<PauseResult>, String>> = BTreeMap::new();
    if opts.pauses {
        for p in Probe::ALL {
            for round in 1..=opts.rounds {
                for name in &columns {
                    let key = (p, name.clone());
                    if let Some(Err(_)) = pauses.get(&key) {
                        continue;
                    }
                    let t = Instant::now();
                    let r = if name == CPYTHON && !runner.python {
                        Err("python3 not found".to_string())
                    } else {
                        runner.pause_child(name, p)
                    };
                    eprintln!(
                        "pause {:<16} round {round} {:<15} {} ({:.1} s)",
                        p.name(),
                        name,
                        match &r {
                            Ok(v) => format!("max {} floating {}", fmt_ns(v.max), v.floating),
                            Err(e) => e.clone(),
                        },
                        t.elapsed().as_secs_f64()
                    );
                    match r {
                        Ok(v) => {
                            if let Ok(all) = pauses.entry(key).or_insert_with(|| Ok(Vec::new())) {
                                all.push(v);
                            }
                        }
                        Err(e) => {
                            pauses.insert(key, Err(e));
                        }
                    }
                }
            }
        }
    }

    let micro = runner.micro_child();
    eprintln!("micro: {micro:?}");

    let mut mem: BTreeMap<(&str, String), Result<MemResult, String>> = BTreeMap::new();
    for kind in ["chain", "leaves"] {
        for name in &opts.impls {
            let r = mem_child(&exe, name, kind);
            eprintln!("mem_per_object {kind:<6} {name:<15} {r:?}");
            mem.insert((kind, name.clone()), r);
        }
    }

    let header = header_child(&exe);
    eprintln!("header: {header:?}");

    let valgrind = if opts.valgrind {
        valgrind_version()
    } else {
        None
    };
    let mut instr: BTreeMap<(Workload, String), Result<f64, String>> = BTreeMap::new();
    if valgrind.is_some() {
        for &(w, n1, n2) in CALLGRIND {
            for name in &opts.impls {
                let r = callgrind_per_elem(&exe, name, w, n1, n2);
                eprintln!("callgrind {:<12} {:<15} {r:?}", w.name(), name);
                instr.insert((w, name.clone()), r);
            }
        }
    }

    let report = Report {
        opts: &opts,
        columns: &columns,
        python,
        sizes,
        times,
        cold,
        slow,
        slow_cold,
        steady,
        pauses,
        micro,
        diags,
        mem,
        header,
        instr,
        valgrind,
        load_before,
        load_after: load_average(),
        elapsed: started.elapsed(),
        root: &root,
    };
    let text = report.render();
    std::fs::write(&opts.output, text).unwrap_or_else(|e| {
        eprintln!("bench-report: cannot write {}: {e}", opts.output.display());
        std::process::exit(1)
    });
    eprintln!(
        "wrote {} in {:.0} s",
        opts.output.display(),
        started.elapsed().as_secs_f64()
    );
}

/// One implementation's steady measurement on one workload.
#[derive(Default)]
struct Steady {
    /// Each warm process's fastest timed run (ns).
    warm: Vec<f64>,
    /// Each cold process's one run (ns).
    cold: Vec<f64>,
}

/// The steady measurement of the targets (see [`STEADY_PROCESSES`]): for
/// each target workload, `opts.steady` times a warm process (warm-up, then
/// timed runs, of which the fastest counts) and a cold one (one run) of
/// each of [`STEADY_IMPLS`], interleaved.
fn steady_phase(
    runner: &Runner,
    opts: &Options,
) -> BTreeMap<(Workload, String), Result<Steady, String>> {
    let mut out: BTreeMap<(Workload, String), Result<Steady, String>> = BTreeMap::new();
    let impls: Vec<&str> = STEADY_IMPLS
        .into_iter()
        .filter(|i| opts.impls.iter().any(|o| o == i))
        .collect();
    for &(w, ..) in TARGETS {
        if !opts.workloads.contains(&w) {
            continue;
        }
        for process in 1..=opts.steady {
            for &name in &impls {
                let key = (w, name.to_string());
                if let Some(Err(_)) = out.get(&key) {
                    continue;
                }
                let t = Instant::now();
                let warm = runner.time_child(name, w, opts.reps, true);
                log_run(w.name(), "steady warm", process, name, &warm, t);
                let t = Instant::now();
                let cold = runner.time_child(name, w, 1, false);
                log_run(w.name(), "steady cold", process, name, &cold, t);
                match (warm, cold) {
                    (Ok(warm), Ok(cold)) => {
                        if let Ok(s) = out.entry(key).or_insert_with(|| Ok(Steady::default())) {
                            s.warm.extend(warm.times.iter().copied().reduce(f64::min));
                            s.cold.extend(cold.times.first().copied());
                        }
                    }
                    (Err(e), _) | (_, Err(e)) => {
                        out.insert(key, Err(e));
                    }
                }
            }
        }
    }
    out
}

/// Build the bench binary and return its path.
fn build_worker(root: &Path) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    eprintln!("building the worker: cargo bench -p gc-bench --bench gc_bench --no-run");
    let out = Command::new(cargo)
        .current_dir(root)
        .args([
            "bench",
            "-p",
            "gc-bench",
            "--bench",
            "gc_bench",
            "--no-run",
            "--message-format=json-render-diagnostics",
        ])
        .stderr(std::process::Stdio::inherit())
        .output()
        .unwrap_or_else(|e| {
            eprintln!("bench-report: cannot run cargo: {e}");
            std::process::exit(1)
        });
    if !out.status.success() {
        eprintln!("bench-report: building the bench binary failed");
        std::process::exit(1);
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let exe = stdout
        .lines()
        .filter(|l| l.contains("\"compiler-artifact\"") && l.contains("\"name\":\"gc_bench\""))
        .find_map(|l| json_string_field(l, "executable"));
    match exe {
        Some(e) => PathBuf::from(e),
        None => {
            eprintln!("bench-report: cargo did not report the gc_bench executable");
            std::process::exit(1)
        }
    }
}

/// The string value of `"field":"…"` in a line of JSON (no escapes inside
/// paths expected beyond `\\` and `\"`).
fn json_string_field(line: &str, field: &str) -> Option<String> {
    let key = format!("\"{field}\":\"");
    let start = line.find(&key)? + key.len();
    let mut out = String::new();
    let mut chars = line[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => out.push(chars.next()?),
            c => out.push(c),
        }
    }
    None
}

fn worker(exe: &Path, mode: ChildMode, impl_name: &str) -> Command {
    let mut cmd = Command::new(exe);
    cmd.env(CHILD_ENV, mode.name()).env(IMPL_ENV, impl_name);
    cmd
}

/// The numbers a child reported under `key` (unparsable ones left out).
fn numbers(r: &BTreeMap<String, Vec<String>>, key: &str) -> Vec<f64> {
    r.get(key)
        .into_iter()
        .flatten()
        .filter_map(|t| t.parse().ok())
        .collect()
}

/// The first number reported under `key`, NaN if none.
fn first_number(r: &BTreeMap<String, Vec<String>>, key: &str) -> f64 {
    numbers(r, key).first().copied().unwrap_or(f64::NAN)
}

/// Generations 0, 1 and 2 of a per-generation line, NaN where missing.
fn per_generation(r: &BTreeMap<String, Vec<String>>, key: &str) -> [f64; 3] {
    let v = numbers(r, key);
    [0, 1, 2].map(|g| v.get(g).copied().unwrap_or(f64::NAN))
}

fn outcome_to_result(o: ChildOutcome) -> Result<BTreeMap<String, Vec<String>>, String> {
    match o {
        ChildOutcome::Ok(r) => Ok(r),
        other => Err(other.describe()),
    }
}

/// What one timing child reports.
struct TimeResult {
    /// Timed runs (ns).
    times: Vec<f64>,
    /// Minor page faults per timed run.
    minflt: f64,
    /// gc-core collections per timed run, by generation.
    collections: [f64; 3],
    /// Of those, the ones skipped (proven empty), by generation.
    skipped: [f64; 3],
}

/// What one pause child reports.
#[derive(Debug, Clone)]
struct PauseResult {
    /// The whole growth (ns).
    total: f64,
    /// Longest step and 99.9th percentile (ns).
    max: f64,
    p999: f64,
    /// Peak of unreachable objects not yet freed.
    floating: f64,
    /// gc-core's (or CPython's) gen-0 threshold in that process.
    threshold: f64,
    /// Collections during the growth, by generation, and the skipped ones.
    collections: [f64; 3],
    skipped: [f64; 3],
}

/// Starts the children: the bench binary, or `python3 bench/python/bench.py`
/// for the CPython column.
struct Runner {
    exe: PathBuf,
    script: PathBuf,
    python: bool,
    sizes: Sizes,
}

impl Runner {
    /// Why `name` cannot run `w`, if it cannot.
    fn unavailable(&self, name: &str, w: Workload) -> Option<String> {
        if name != CPYTHON {
            return None;
        }
        if !self.python {
            return Some("python3 not found".to_string());
        }
        (!PY_WORKLOADS.contains(&w)).then(|| "n/a".to_string())
    }

    fn command(&self, mode: ChildMode, impl_name: &str) -> Command {
        if impl_name == CPYTHON {
            let s = &self.sizes;
            let mut cmd = Command::new("python3");
            cmd.arg(&self.script)
                .env(CHILD_ENV, mode.name())
                .env(IMPL_ENV, impl_name)
                .env(
                    "GC_BENCH_PY_SIZES",
                    format!(
                        "tree_depth={},cycles2={},big_cycle={},graph_nodes={},graph_edges={},\
                         bt_n={},dll_grow={}",
                        s.tree_depth,
                        s.cycles2,
                        s.big_cycle,
                        s.graph_nodes,
                        s.graph_edges,
                        s.bt_n,
                        s.dll_grow
                    ),
                );
            cmd
        } else {
            worker(&self.exe, mode, impl_name)
        }
    }

    /// Timed repetitions of `w` in a fresh child.
    fn time_child(
        &self,
        impl_name: &str,
        w: Workload,
        reps: usize,
        warmup: bool,
    ) -> Result<TimeResult, String> {
        let mut cmd = self.command(ChildMode::Time, impl_name);
        cmd.env(WORKLOAD_ENV, w.name())
            .env(REPS_ENV, reps.to_string())
            .env(
                MIN_TIME_ENV,
                if warmup && !w.heavy() { MIN_TIME_MS } else { 0 }.to_string(),
            )
            .env(WARMUP_ENV, if warmup { "1" } else { "0" });
        let r = outcome_to_result(run_child(cmd, CHILD_LIMIT))?;
        let times = numbers(&r, "times");
        if times.is_empty() {
            return Err("no times reported".to_string());
        }
        Ok(TimeResult {
            times,
            minflt: first_number(&r, "minflt"),
            collections: per_generation(&r, "collections"),
            skipped: per_generation(&r, "skipped"),
        })
    }

    /// One run of pause probe `p` in a fresh child.
    fn pause_child(&self, impl_name: &str, p: Probe) -> Result<PauseResult, String> {
        let mut cmd = self.command(ChildMode::Pause, impl_name);
        cmd.env(PROBE_ENV, p.name());
        let r = outcome_to_result(run_child(cmd, CHILD_LIMIT))?;
        let st = numbers(&r, "steps");
        let [_steps, total, max, p999, _p99, _p50] = st[..] else {
            return Err("malformed steps line".to_string());
        };
        Ok(PauseResult {
            total,
            max,
            p999,
            floating: first_number(&r, "floating"),
            threshold: first_number(&r, "threshold"),
            collections: per_generation(&r, "collections"),
            skipped: per_generation(&r, "skipped"),
        })
    }

    /// The small_alloc / alloc_sites timings: `case -> (n, ns)`.
    fn micro_child(&self) -> Result<BTreeMap<String, (f64, f64)>, String> {
        let cmd = worker(&self.exe, ChildMode::Micro, "gc-core");
        let r = outcome_to_result(run_child(cmd, CHILD_LIMIT))?;
        Ok(r.into_iter()
            .filter_map(|(k, v)| {
                let case = k.strip_prefix("micro_")?.to_string();
                Some((case, (v.first()?.parse().ok()?, v.get(1)?.parse().ok()?)))
            })
            .collect())
    }
}

fn log_run(
    w: &str,
    kind: &str,
    round: usize,
    name: &str,
    r: &Result<TimeResult, String>,
    t: Instant,
) {
    eprintln!(
        "{w:<22} {kind} round {round} {name:<15} {:>10} ({:.1} s)",
        match r {
            Ok(v) => fmt_ns(median(&v.times).unwrap_or(f64::NAN)),
            Err(e) => e.clone(),
        },
        t.elapsed().as_secs_f64()
    );
}

fn python_version() -> Option<String> {
    let out = Command::new("python3").arg("--version").output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Per-run diagnostics of one implementation on one workload, over rounds.
#[derive(Default)]
struct Diag {
    minflt: Vec<f64>,
    collections: Vec<[f64; 3]>,
    skipped: Vec<[f64; 3]>,
}

#[derive(Debug, Clone, Copy)]
struct MemResult {
    /// Peak RSS growth per node (bytes).
    rss_per_node: f64,
    /// gc-core heap bytes per node (`gc::heap_stats` delta).
    heap_per_node: f64,
}

/// Median over three children of the memory per live node.
fn mem_child(exe: &Path, impl_name: &str, kind: &str) -> Result<MemResult, String> {
    let mut rss = Vec::new();
    let mut heap = Vec::new();
    for _ in 0..3 {
        let mut cmd = worker(exe, ChildMode::Mem, impl_name);
        cmd.env(MEM_KIND_ENV, kind);
        let r = outcome_to_result(run_child(cmd, CHILD_LIMIT))?;
        let v: Vec<f64> = r
            .get("mem")
            .ok_or("no mem line")?
            .iter()
            .filter_map(|x| x.parse().ok())
            .collect();
        let [n, before, hwm, _after, heap_bytes] = v[..] else {
            return Err("malformed mem line".to_string());
        };
        // `leaves` keeps the handles in a Vec: 8 bytes per node that are not
        // the objects'.
        let vec_slot = if kind == "leaves" { 8.0 } else { 0.0 };
        rss.push((hwm - before) * 1024.0 / n - vec_slot);
        heap.push(heap_bytes / n);
    }
    Ok(MemResult {
        rss_per_node: median(&rss).unwrap_or(f64::NAN),
        heap_per_node: median(&heap).unwrap_or(f64::NAN),
    })
}

/// gc-core bytes per object for tracked/untracked payloads of 8/16/32 bytes.
fn header_child(exe: &Path) -> Result<BTreeMap<String, f64>, String> {
    let cmd = worker(exe, ChildMode::Header, "gc-core");
    let r = outcome_to_result(run_child(cmd, CHILD_LIMIT))?;
    Ok(r.into_iter()
        .filter_map(|(k, v)| Some((k, v.first()?.parse().ok()?)))
        .collect())
}

fn valgrind_version() -> Option<String> {
    let out = Command::new("valgrind").arg("--version").output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Instructions executed by one run of `w` at size `n` (callgrind's total).
fn callgrind_total(exe: &Path, impl_name: &str, w: Workload, n: usize) -> Result<f64, String> {
    let out_file = std::env::temp_dir().join(format!(
        "gc-bench-callgrind-{}-{}-{}-{n}.out",
        std::process::id(),
        impl_name.replace('/', "-"),
        w.name()
    ));
    let mut cmd = Command::new("valgrind");
    cmd.arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out_file.display()))
        .arg(exe)
        .env(CHILD_ENV, ChildMode::Time.name())
        .env(IMPL_ENV, impl_name)
        .env(WORKLOAD_ENV, w.name())
        .env(REPS_ENV, "1")
        .env(WARMUP_ENV, "0")
        .env(SIZE_ENV, n.to_string());
    outcome_to_result(run_child(cmd, CHILD_LIMIT))?;
    let text = std::fs::read_to_string(&out_file).map_err(|e| format!("callgrind output: {e}"));
    let _ = std::fs::remove_file(&out_file);
    let text = text?;
    text.lines()
        .find_map(|l| {
            l.strip_prefix("summary:")
                .or_else(|| l.strip_prefix("totals:"))
        })
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| "no total in callgrind output".to_string())
}

fn callgrind_per_elem(
    exe: &Path,
    impl_name: &str,
    w: Workload,
    n1: usize,
    n2: usize,
) -> Result<f64, String> {
    let a = callgrind_total(exe, impl_name, w, n1)?;
    let b = callgrind_total(exe, impl_name, w, n2)?;
    Ok((b - a) / (n2 - n1) as f64)
}

/// The 1/5/15-minute load averages.
fn load_average() -> String {
    read_trimmed("/proc/loadavg")
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn command_line(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".to_string())
}

/// `name -> version` of the packages in Cargo.lock.
fn lock_versions(root: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(root.join("Cargo.lock")).unwrap_or_default();
    let mut out = BTreeMap::new();
    let mut name = None;
    for line in text.lines() {
        if line.starts_with("[[package]]") {
            name = None;
        } else if let Some(v) = line.strip_prefix("name = ") {
            name = Some(v.trim_matches('"').to_string());
        } else if let Some(v) = line.strip_prefix("version = ") {
            if let Some(n) = name.take() {
                out.insert(n, v.trim_matches('"').to_string());
            }
        }
    }
    out
}

fn fmt_ns(ns: f64) -> String {
    if !ns.is_finite() {
        "?".to_string()
    } else if ns < 1e3 {
        format!("{ns:.0} ns")
    } else if ns < 1e6 {
        format!("{:.1} µs", ns / 1e3)
    } else if ns < 1e9 {
        format!("{:.1} ms", ns / 1e6)
    } else {
        format!("{:.2} s", ns / 1e9)
    }
}

fn fmt_count(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Timed runs (ns) per workload and implementation, or why there are none.
type Times = BTreeMap<(Workload, String), Result<Vec<f64>, String>>;

struct Report<'a> {
    opts: &'a Options,
    /// Table columns: the implementations, then CPython.
    columns: &'a [String],
    /// `python3 --version`, if it ran.
    python: Option<String>,
    sizes: Sizes,
    times: BTreeMap<(Workload, String), Result<Vec<f64>, String>>,
    /// Cold runs (fresh process, no warm-up), for `Workload::COLD`.
    cold: BTreeMap<(Workload, String), Result<Vec<f64>, String>>,
    /// Warm and cold cells measured in the first round only (`SLOW_RUN`).
    slow: BTreeSet<(Workload, String)>,
    slow_cold: BTreeSet<(Workload, String)>,
    /// The steady measurement of the targets ([`steady_phase`]).
    steady: BTreeMap<(Workload, String), Result<Steady, String>>,
    pauses: BTreeMap<(Probe, String), Result<Vec<PauseResult>, String>>,
    micro: Result<BTreeMap<String, (f64, f64)>, String>,
    diags: BTreeMap<(Workload, String), Diag>,
    mem: BTreeMap<(&'static str, String), Result<MemResult, String>>,
    header: Result<BTreeMap<String, f64>, String>,
    instr: BTreeMap<(Workload, String), Result<f64, String>>,
    valgrind: Option<String>,
    load_before: String,
    load_after: String,
    elapsed: Duration,
    root: &'a Path,
}

impl Report<'_> {
    fn median(&self, w: Workload, name: &str) -> Option<f64> {
        match self.times.get(&(w, name.to_string()))? {
            Ok(v) => median(v),
            Err(_) => None,
        }
    }

    fn min(&self, w: Workload, name: &str) -> Option<f64> {
        match self.times.get(&(w, name.to_string()))? {
            Ok(v) => v.iter().copied().reduce(f64::min),
            Err(_) => None,
        }
    }

    fn describe(&self, w: Workload) -> String {
        let s = &self.sizes;
        match w {
            Workload::AllocDrop => format!("alloc_drop: {} leaf objects", fmt_count(s.alloc_drop)),
            Workload::CloneDrop => format!("clone_drop: {} clone+drop", fmt_count(s.clone_drop)),
            Workload::Tree => format!(
                "tree: {}-node binary tree build+drop",
                fmt_count(s.tree_nodes())
            ),
            Workload::TreeFixed => "tree_fixed: the same tree, gc-core's nodes written \
                                     `Option<Gc<TreeNode>>` (untracked)"
                .to_string(),
            Workload::Cycles2 => format!("cycles2: {} two-node cycles", fmt_count(s.cycles2)),
            Workload::Cycles2Collect => "cycles2, reclaim step only".to_string(),
            Workload::BigCycle => format!("big_cycle: one {}-node ring", fmt_count(s.big_cycle)),
            Workload::BigCycleCollect => "big_cycle, reclaim step only".to_string(),
            Workload::RandomGraph => format!(
                "random_graph: {} nodes × {} edges",
                fmt_count(s.graph_nodes),
                s.graph_edges
            ),
            Workload::RandomGraphCollect => "random_graph, reclaim step only".to_string(),
            Workload::YoungChurnSmall => format!(
                "young_churn: {} cycles, {} old",
                fmt_count(s.churn_cycles),
                fmt_count(s.churn_old_small)
            ),
            Workload::YoungChurnLarge => format!(
                "young_churn: {} cycles, {} old",
                fmt_count(s.churn_cycles),
                fmt_count(s.churn_old_large)
            ),
            Workload::DeepChain => format!("deep_chain: drop a {}-chain", fmt_count(s.deep_chain)),
            Workload::BinaryTrees => format!(
                "binary_trees: Benchmarks Game, N={} ({} nodes)",
                binary_trees_depth(s.bt_n),
                fmt_count(binary_trees_expected(s.bt_n) as usize)
            ),
            Workload::GcBench => format!(
                "gcbench: Boehm's GCBench, stretch {}, long-lived {}, depths {}..={} ({} nodes)",
                s.gcbench.stretch_depth,
                s.gcbench.long_lived_depth,
                s.gcbench.min_depth,
                s.gcbench.max_depth,
                fmt_count(s.gcbench.nodes())
            ),
            Workload::RccBinaryTrees => {
                format!(
                    "rcb_binary_trees: rust-cc-benchmarks, depth {}",
                    s.rcb_depth
                )
            }
            Workload::RccParentTrees => format!(
                "rcb_parent_trees: rust-cc-benchmarks, parent pointers, depth {}",
                s.rcb_depth
            ),
            Workload::RccLinkedList => format!(
                "rcb_linked_list: rust-cc-benchmarks, {}-node list × 30",
                fmt_count(s.rcb_list)
            ),
            Workload::RccStress => format!(
                "rcb_stress: rust-cc-benchmarks, {} nodes",
                fmt_count(s.rcb_stress)
            ),
            Workload::DllGrow => format!(
                "dll_grow: {}-node doubly linked list grown, dropped",
                fmt_count(s.dll_grow)
            ),
        }
    }

    fn render(&self) -> String {
        let mut o = String::new();
        let impls: Vec<&str> = self.opts.impls.iter().map(String::as_str).collect();
        let scale = std::env::var(SCALE_ENV).unwrap_or_else(|_| "1".to_string());

        let _ = writeln!(
            o,
            "# Benchmarks: gc-core against std `Rc` and the peer crates\n"
        );
        let _ = writeln!(
            o,
            "Generated by `cargo run --release -p gc-bench --bin bench-report` \
             (source: `bench/src/bin/bench-report.rs`, workloads: `bench/benches/common/`), \
             {} (UTC), in {:.0} min. Scale {scale} (`{SCALE_ENV}`; 1 = the sizes of issue 8). \
             The criterion version of the same workloads: `cargo bench -p gc-bench --bench gc_bench`.\n",
            command_line("date", &["-u", "+%Y-%m-%d %H:%M"]),
            self.elapsed.as_secs_f64() / 60.0
        );

        let columns: Vec<&str> = self.columns.iter().map(String::as_str).collect();
        self.render_targets17(&mut o);
        self.render_targets(&mut o);
        self.render_machine(&mut o);
        self.render_times(&mut o, &columns);
        self.render_cold(&mut o, &columns);
        self.render_pauses(&mut o, &columns);
        self.render_skipped(&mut o);
        self.render_instr(&mut o, &impls);
        self.render_mem(&mut o, &impls);
        self.render_diags(&mut o, &impls);
        self.render_micro(&mut o);
        self.render_notes(&mut o, &impls);
        self.render_method(&mut o);
        o
    }

    fn render_machine(&self, o: &mut String) {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
            .unwrap_or_else(|| "unknown".to_string());
        let cpus = cpuinfo
            .lines()
            .filter(|l| l.starts_with("processor"))
            .count();
        let mem_total = read_trimmed("/proc/meminfo")
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:").map(|v| v.trim().to_string()))
            .unwrap_or_default();
        let stack = read_trimmed("/proc/self/limits")
            .lines()
            .find_map(|l| l.strip_prefix("Max stack size"))
            .and_then(|l| l.split_whitespace().next()?.parse::<u64>().ok())
            .map(|b| format!("{} MiB (soft limit; Rust's main thread uses it)", b >> 20))
            .unwrap_or_else(|| "unknown".to_string());
        let head = command_line(
            "git",
            &[
                "-C",
                &self.root.display().to_string(),
                "rev-parse",
                "--short",
                "HEAD",
            ],
        );
        let dirty = !command_line(
            "git",
            &[
                "-C",
                &self.root.display().to_string(),
                "status",
                "--porcelain",
                "--",
                "gc-core",
            ],
        )
        .is_empty();
        let versions = lock_versions(self.root);

        let _ = writeln!(o, "## Machine and versions\n");
        let _ = writeln!(o, "| | |\n|---|---|");
        let _ = writeln!(
            o,
            "| CPU | {model} ({cpus} logical CPUs in /proc/cpuinfo) |"
        );
        let _ = writeln!(o, "| nproc | {} |", command_line("nproc", &[]));
        let _ = writeln!(o, "| memory | {mem_total} |");
        let _ = writeln!(o, "| kernel | {} |", command_line("uname", &["-sr"]));
        let _ = writeln!(o, "| rustc | {} |", command_line("rustc", &["-V"]));
        let _ = writeln!(
            o,
            "| profile | `bench` (release, debuginfo), default allocator (glibc malloc) |"
        );
        let _ = writeln!(o, "| main-thread stack | {stack} |");
        let _ = writeln!(
            o,
            "| load average | before: {} / after: {} |",
            self.load_before, self.load_after
        );
        let _ = writeln!(
            o,
            "| valgrind | {} |",
            self.valgrind.as_deref().unwrap_or("not used")
        );
        let _ = writeln!(
            o,
            "| CPython | {} |",
            match (&self.python, self.opts.python) {
                (Some(v), _) => format!("{v} (`bench/python/bench.py`, default gc settings)"),
                (None, true) => "python3 not found: its column says so".to_string(),
                (None, false) => "not used (`--no-python`)".to_string(),
            }
        );
        let _ = writeln!(
            o,
            "| gc-core source | commit {head}{} |",
            if dirty {
                " plus uncommitted changes in gc-core/"
            } else {
                ""
            }
        );
        for c in CRATES {
            let _ = writeln!(
                o,
                "| {c} | {} |",
                versions.get(*c).map(String::as_str).unwrap_or("?")
            );
        }
        let _ = writeln!(o);
    }

    fn cell(&self, w: Workload, name: &str) -> String {
        self.cell_in(&self.times, &self.slow, w, name)
    }

    /// A time cell from `map` (warm or cold): the median, "†" for `Rc`
    /// where it breaks cycles by hand, and the ratio to gc-core's.
    fn cell_in(
        &self,
        map: &Times,
        slow: &BTreeSet<(Workload, String)>,
        w: Workload,
        name: &str,
    ) -> String {
        let get = |n: &str| match map.get(&(w, n.to_string())) {
            Some(Ok(v)) => median(v),
            _ => None,
        };
        match map.get(&(w, name.to_string())) {
            Some(Err(e)) if e == "n/a" => return "n/a".to_string(),
            Some(Err(e)) => return format!("**{e}**"),
            _ => {}
        }
        let Some(t) = get(name) else {
            return "–".to_string();
        };
        let mut dagger = if name == "Rc" && HAND_BROKEN.contains(&w) {
            "†"
        } else {
            ""
        }
        .to_string();
        if slow.contains(&(w, name.to_string())) && self.opts.rounds > 1 {
            dagger.push('‡');
        }
        match get("gc-core") {
            Some(base) if name != "gc-core" && base > 0.0 => {
                format!("{}{dagger} ({:.2}×)", fmt_ns(t), t / base)
            }
            _ => format!("{}{dagger}", fmt_ns(t)),
        }
    }

    /// The steady measurement's median (over processes) for `w` and `name`:
    /// of each warm process's fastest run, or of the cold runs.
    fn steady_median(&self, w: Workload, name: &str, cold: bool) -> Option<f64> {
        match self.steady.get(&(w, name.to_string()))? {
            Ok(s) => median(if cold { &s.cold } else { &s.warm }),
            Err(_) => None,
        }
    }

    fn cold_median(&self, w: Workload, name: &str) -> Option<f64> {
        match self.cold.get(&(w, name.to_string()))? {
            Ok(v) => median(v),
            Err(_) => None,
        }
    }

    fn render_cold(&self, o: &mut String, columns: &[&str]) {
        let _ = writeln!(
            o,
            "## Time, cold (a fresh process per measured run)
"
        );
        let _ = writeln!(
            o,
            "The table above is **warm**: each process runs the workload once untimed, so its \
             pools and the allocator's arenas are already mapped when the timed runs start. \
             This table is **cold**: per round, every implementation runs each of these \
             workloads once in a fresh process with no warm-up — what a program that builds its \
             structure once sees, page faults included. Median of {} rounds (one run each; \
             ‡: first round only, as above); in parentheses the ratio to gc-core's cold time.\n",
            self.opts.rounds
        );
        table_header(o, "workload (cold)", columns);
        for w in Workload::COLD {
            if !self.opts.workloads.contains(&w) {
                continue;
            }
            let _ = write!(o, "| {} |", self.describe(w));
            for i in columns {
                let _ = write!(o, " {} |", self.cell_in(&self.cold, &self.slow_cold, w, i));
            }
            let _ = writeln!(o);
        }
        let _ = writeln!(o);
    }

    /// Over the rounds of probe `p` for `name`: the median longest step, the
    /// median 99.9th percentile, the largest floating-garbage peak.
    fn pause_summary(&self, p: Probe, name: &str) -> Result<(f64, f64, f64, f64), String> {
        match self.pauses.get(&(p, name.to_string())) {
            Some(Ok(v)) if !v.is_empty() => {
                let max: Vec<f64> = v.iter().map(|r| r.max).collect();
                let p999: Vec<f64> = v.iter().map(|r| r.p999).collect();
                let total: Vec<f64> = v.iter().map(|r| r.total).collect();
                let floating = v.iter().map(|r| r.floating).fold(0.0, f64::max);
                Ok((
                    median(&max).unwrap_or(f64::NAN),
                    median(&p999).unwrap_or(f64::NAN),
                    floating,
                    median(&total).unwrap_or(f64::NAN),
                ))
            }
            Some(Err(e)) => Err(e.clone()),
            _ => Err("–".to_string()),
        }
    }

    fn render_pauses(&self, o: &mut String, columns: &[&str]) {
        let _ = writeln!(
            o,
            "## Pauses while a structure grows
"
        );
        if !self.opts.pauses {
            let _ = writeln!(o, "Not measured (`--no-pauses`).\n");
            return;
        }
        let s = &self.sizes;
        let _ = writeln!(
            o,
            "Each probe grows a structure one step at a time in a fresh process (cold, no \
             warm-up) and times every step with `Instant` (CPython: `perf_counter_ns`); \
             automatic collection is on with each implementation's defaults. A step is one node \
             (tree: {} nodes bottom-up; big_cycle: a {}-node ring, closed by the last step; \
             random_graph: {} nodes, then {} edges per node, one node's edges per step; \
             dll_grow: a {}-node doubly linked list, every neighbour pair a strong cycle, one \
             appended node per step) or one two-node cycle, dropped as soon as it is built \
             (cycles2: {}), or kept in a window of the last {} cycles and dropped when it \
             leaves it, by then in the oldest generation (old_churn: {} steps, one new cycle \
             and one old one made garbage per step). The probes' nodes are `PNode {{ edges: Cell<[Option<P<PNode>>; 4]>, \
             counted }}` for every implementation (CPython: a `__slots__` class), larger than \
             the timed workloads' nodes. Cells: the longest step / the 99.9th percentile, \
             median over {} rounds; `Rc` (hand-broken where a cycle is made) shows what \
             allocation and page faults alone cost.\n",
            fmt_count(s.tree_nodes()),
            fmt_count(s.big_cycle),
            fmt_count(s.graph_nodes),
            s.graph_edges,
            fmt_count(s.dll_grow),
            fmt_count(s.cycles2),
            fmt_count(Probe::old_churn_window(s)),
            fmt_count(Probe::OldChurn.steps(s)),
            self.opts.rounds
        );
        table_header(o, "probe: longest step / p99.9", columns);
        for p in Probe::ALL {
            let _ = write!(o, "| {} ({} steps) |", p.name(), fmt_count(p.steps(s)));
            for i in columns {
                let cell = match self.pause_summary(p, i) {
                    Ok((max, p999, _, _)) => format!("{} / {}", fmt_ns(max), fmt_ns(p999)),
                    Err(e) if e == "–" => e,
                    Err(e) => format!("**{e}**"),
                };
                let _ = write!(o, " {cell} |");
            }
            let _ = writeln!(o);
        }
        let _ = writeln!(
            o,
            "\nFloating garbage: the peak number of objects no longer reachable but not yet \
             freed, `created − dropped − reachable` from a drop counter in every probe node \
             (CPython: `__del__`), sampled after every step; the largest over the rounds. \
             Only cycles2 (young garbage) and old_churn (old garbage, which only full \
             collections find) make garbage while growing; the other rows show that nothing is \
             freed early or late. CPython's probe node owns its edges in a list, a second \
             object its collector counts, so per node its generation 0 fills twice as fast and \
             its collections run twice as often as with the Rust implementations' nodes: its \
             old_churn garbage waits about half as long for that reason.\n"
        );
        table_header(o, "probe: floating garbage peak (objects)", columns);
        for p in Probe::ALL {
            let _ = write!(o, "| {} |", p.name());
            for i in columns {
                let cell = match self.pause_summary(p, i) {
                    Ok((_, _, f, _)) => format!("{f:.0}"),
                    Err(e) if e == "–" => e,
                    Err(e) => format!("**{e}**"),
                };
                let _ = write!(o, " {cell} |");
            }
            let _ = writeln!(o);
        }
        let _ = writeln!(o);
        if let (Ok((_, _, f, _)), Some(Ok(v))) = (
            self.pause_summary(Probe::Cycles2, "gc-core"),
            self.pauses.get(&(Probe::Cycles2, "gc-core".to_string())),
        ) {
            let t0 = v.first().map(|r| r.threshold).unwrap_or(f64::NAN);
            let _ = writeln!(
                o,
                "gc-core's floating-garbage peak on cycles2: {f:.0} objects = {:.2} × gen-0's \
                 threshold ({t0:.0}, `gc::threshold().0`). A gen-0 collection runs when the \
                 tracked allocations minus frees since the last one exceed the threshold, and \
                 every cycle it finds is freed, so between collections at most about one \
                 threshold of garbage objects (plus the two of the cycle being built) is \
                 pending: the bound is ≈ 1 × the gen-0 threshold.\n",
                f / t0
            );
        }
    }

    fn render_skipped(&self, o: &mut String) {
        let _ = writeln!(
            o,
            "## gc-core: collections run and skipped
"
        );
        let _ = writeln!(
            o,
            "Per timed run (warm table; median over rounds), gc-core's collections by \
             generation as *run / skipped*: a skipped collection is one the collector proved \
             could not find garbage (no decrement to a nonzero count since the last analysis \
             covering that generation, `gc::skipped_collections()`); it still counts in \
             `gc::stats()` but scans nothing. Then the same for the pause probes' growth (one \
             run). Where the cost goes: every collection that runs scans its generations.\n"
        );
        let _ = writeln!(
            o,
            "| workload | gen 0 | gen 1 | gen 2 |\n|---|---:|---:|---:|"
        );
        let fmt = |c: [f64; 3], k: [f64; 3]| {
            [0, 1, 2].map(|g| {
                if c[g].is_nan() {
                    "–".to_string()
                } else {
                    format!("{:.0} / {:.0}", c[g] - k[g], k[g])
                }
            })
        };
        for &w in &self.opts.workloads {
            let Some(d) = self.diags.get(&(w, "gc-core".to_string())) else {
                continue;
            };
            let med = |v: &[[f64; 3]], g: usize| {
                median(&v.iter().map(|x| x[g]).collect::<Vec<_>>()).unwrap_or(f64::NAN)
            };
            let c = [0, 1, 2].map(|g| med(&d.collections, g));
            let k = [0, 1, 2].map(|g| med(&d.skipped, g));
            let [a, b, cc] = fmt(c, k);
            let _ = writeln!(o, "| {} | {a} | {b} | {cc} |", w.name());
        }
        for p in Probe::ALL {
            if let Some(Ok(v)) = self.pauses.get(&(p, "gc-core".to_string())) {
                if let Some(r) = v.last() {
                    let [a, b, cc] = fmt(r.collections, r.skipped);
                    let _ = writeln!(o, "| pause probe {} | {a} | {b} | {cc} |", p.name());
                }
            }
        }
        let _ = writeln!(o);
    }

    fn render_micro(&self, o: &mut String) {
        let m = match &self.micro {
            Ok(m) => m,
            Err(e) => {
                let _ = writeln!(o, "## Pooled heap against `Box` and `Rc`\n\nFailed: {e}\n");
                return;
            }
        };
        let t = |k: &str| m.get(k).map(|v| fmt_ns(v.1)).unwrap_or_else(|| "?".into());
        let n = m.get("one_gc").map(|v| v.0).unwrap_or(f64::NAN);
        let _ = writeln!(
            o,
            "## Pooled heap against `Box` and `Rc` (the `small_alloc` bench)\n\n\
             {} `u64` values, median of 11 runs after a warm-up in one process (a worker \
             child; `cargo bench -p gc-bench --bench small_alloc` is the criterion version). \
             `Box` and `Rc` use glibc malloc.\n",
            fmt_count(n as usize)
        );
        let _ = writeln!(o, "| workload | Box | Rc | Gc |\n|---|---:|---:|---:|");
        let _ = writeln!(
            o,
            "| allocate and drop one at a time | {} | {} | {} |",
            t("one_box"),
            t("one_rc"),
            t("one_gc")
        );
        let _ = writeln!(
            o,
            "| build a `Vec` of them, then drop it | {} | {} | {} |\n",
            t("vec_box"),
            t("vec_rc"),
            t("vec_gc")
        );
        let m2 = m.get("sites_off").map(|v| v.0).unwrap_or(f64::NAN);
        let _ = writeln!(
            o,
            "## Allocation-site tracking (the `alloc_sites` bench)\n\n\
             {} tracked nodes allocated and dropped (median of 11 runs): {} with \
             `gc::track_allocations` off (the default; the only cost is one branch in \
             `Gc::new`), {} with it on (a hash-table insert and remove per object); the same \
             loop with `Rc<RefCell<..>>` takes {}. Criterion version: `cargo bench -p gc-bench \
             --bench alloc_sites`.\n",
            fmt_count(m2 as usize),
            t("sites_off"),
            t("sites_on"),
            t("sites_rc")
        );
    }

    /// One "met" / "missed by X %" verdict for `value ≤ limit`.
    fn verdict17(value: f64, limit: f64) -> String {
        if !value.is_finite() {
            "not measured".to_string()
        } else if value <= limit {
            "**met**".to_string()
        } else {
            let pct = (value / limit - 1.0) * 100.0;
            if pct < 1.0 {
                format!("**missed by {pct:.1} %**")
            } else {
                format!("**missed by {pct:.0} %**")
            }
        }
    }

    fn render_targets17(&self, o: &mut String) {
        let _ = writeln!(o, "## Targets (issue 17)\n");
        let _ = writeln!(
            o,
            "Measured in this run, two ways; each cell gives both verdicts. *steady*: the \
             steady measurement, {} fresh processes per implementation, interleaved (warm: each \
             process's fastest timed run after a warm-up, median over the processes; cold: one \
             run per process, median over the processes), the measure that stays put on this \
             shared machine, where a whole process can run up to 1.7× slower than another of \
             the same binary. *all runs*: the Time table's and the cold table's medians (warm: \
             all timed runs of {} rounds; cold: {} processes). *warm* runs after a warm-up in \
             the same process, *cold* in a fresh process without one. Ratios are gc-core's \
             time ÷ the reference's; \"missed by X %\" is how far the ratio is above its \
             limit.\n",
            self.opts.steady, self.opts.rounds, self.opts.rounds
        );
        let _ = writeln!(
            o,
            "| target | gc-core warm | gc-core cold | gc-core/inc warm | gc-core/inc cold |\n\
             |---|---|---|---|---|"
        );
        let ratio = |g: Option<f64>, r: Option<f64>, limit: f64| match (g, r) {
            (Some(g), Some(r)) => format!("{} — {:.2}×", Self::verdict17(g / r, limit), g / r),
            _ => "not measured".to_string(),
        };
        let both = |steady: String, all: String| format!("steady: {steady}; all runs: {all}");
        for &(w, reference, limit, label) in TARGETS {
            let _ = write!(o, "| {label} |");
            for name in GC_CORE_POLICIES {
                let warm = both(
                    ratio(
                        self.steady_median(w, name, false),
                        self.steady_median(w, reference, false),
                        limit,
                    ),
                    ratio(self.median(w, name), self.median(w, reference), limit),
                );
                let cold = both(
                    ratio(
                        self.steady_median(w, name, true),
                        self.steady_median(w, reference, true),
                        limit,
                    ),
                    ratio(
                        self.cold_median(w, name),
                        self.cold_median(w, reference),
                        limit,
                    ),
                );
                let _ = write!(o, " {warm} | {cold} |");
            }
            let _ = writeln!(o);
        }
        let _ = write!(o, "| young_churn flat in old-heap size |");
        for name in GC_CORE_POLICIES {
            let churn = match (
                self.median(Workload::YoungChurnSmall, name),
                self.median(Workload::YoungChurnLarge, name),
            ) {
                (Some(s), Some(l)) => format!(
                    "{} — {:.2}× (large old heap ÷ small, ±10 % counted as flat)",
                    Self::verdict17(l / s, 1.10),
                    l / s
                ),
                _ => "not measured".to_string(),
            };
            let _ = write!(
                o,
                " {churn} | – (its old heap is built per process anyway) |"
            );
        }
        let _ = writeln!(o);
        let _ = write!(o, "| dll_grow longest step ≤ 1/5 of rust-cc's |");
        for name in GC_CORE_POLICIES {
            let dll = match (
                self.pause_summary(Probe::DllGrow, name),
                self.pause_summary(Probe::DllGrow, "rust-cc"),
            ) {
                (Ok((g, ..)), Ok((r, ..))) => format!(
                    "{} — {} vs rust-cc's {} ({:.2}× of rust-cc's; the limit is 0.20×)",
                    Self::verdict17(g / r, 0.2),
                    fmt_ns(g),
                    fmt_ns(r),
                    g / r
                ),
                _ => "not measured".to_string(),
            };
            let _ = write!(o, " – (the probes run in fresh processes) | {dll} |");
        }
        let _ = writeln!(o);
        let _ = writeln!(o);
        self.render_incremental(o);
    }

    /// gc-core's two policies for full collections side by side: what the
    /// incremental one costs in time and floating garbage, and what it buys
    /// in pauses.
    fn render_incremental(&self, o: &mut String) {
        let [atomic, inc] = GC_CORE_POLICIES;
        let _ = writeln!(
            o,
            "## Incremental against atomic full collections\n\n\
             `gc-core/inc` is gc-core with `gc::set_incremental(true)`: a full collection the \
             long-lived rule calls for runs as a phase of steps (each 64 × the gen-0 threshold \
             objects or a 64th of the phase, whichever is more) between automatic triggers, then one exact analysis of what the \
             steps could not show reachable. Ratios: {inc} ÷ {atomic} in this run (below 1: the \
             incremental policy is faster).\n"
        );
        let _ = writeln!(o, "| workload | warm | cold |\n|---|---|---|");
        let r = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
            _ => "–".to_string(),
        };
        for w in Workload::ALL {
            let warm = r(self.median(w, inc), self.median(w, atomic));
            let cold = r(self.cold_median(w, inc), self.cold_median(w, atomic));
            if warm == "–" && cold == "–" {
                continue;
            }
            let _ = writeln!(o, "| {} | {warm} | {cold} |", w.name());
        }
        let _ = writeln!(
            o,
            "\n| probe | longest step {atomic} | longest step {inc} | floating garbage peak \
             {atomic} | floating garbage peak {inc} |\n|---|---|---|---|---|"
        );
        for p in Probe::ALL {
            let cell = |name: &str| match self.pause_summary(p, name) {
                Ok((max, _, f, _)) => (fmt_ns(max), format!("{f:.0}")),
                Err(e) => (e.clone(), e),
            };
            let (ma, fa) = cell(atomic);
            let (mi, fi) = cell(inc);
            let _ = writeln!(o, "| {} | {ma} | {mi} | {fa} | {fi} |", p.name());
        }
        let _ = writeln!(o);
    }

    fn render_times(&self, o: &mut String, impls: &[&str]) {
        let _ = writeln!(o, "## Time, warm (median wall time per run)\n");
        let _ = writeln!(
            o,
            "Each cell: the median of all timed runs from {} rounds; in each round every \
             implementation runs in a fresh process (one after the other, so slow phases of \
             the shared machine are spread over all of them): one untimed warm-up, then at \
             least {} timed runs, more (up to {MAX_REPS}) until they add up to {:.1} s \
             (`deep_chain`: one run per round, no warm-up; binary_trees, gcbench, dll_grow and \
             every CPython cell: one timed run per round after the warm-up; ‡: a run took \
             more than {} s in the first round, so that cell was measured in the first round \
             only, which keeps the full report near 20 minutes). In parentheses: that time divided \
             by gc-core's — above 1 means gc-core is faster. \"Reclaim step only\" rows build \
             the same garbage with automatic collection off and time only the explicit \
             collection (for `Rc`: breaking the cycles by hand and dropping).\n",
            self.opts.rounds,
            self.opts.reps,
            MIN_TIME_MS as f64 / 1000.0,
            SLOW_RUN.as_secs(),
        );
        table_header(o, "workload", impls);
        for &w in &self.opts.workloads {
            let _ = write!(o, "| {} |", self.describe(w));
            for i in impls {
                let _ = write!(o, " {} |", self.cell(w, i));
            }
            let _ = writeln!(o);
        }
        let _ = writeln!(o);
    }

    fn render_instr(&self, o: &mut String, impls: &[&str]) {
        let _ = writeln!(o, "## Instructions per element (callgrind)\n");
        if self.valgrind.is_none() {
            let _ = writeln!(
                o,
                "valgrind was not available or not used (`--no-valgrind`).\n"
            );
            return;
        }
        let _ = writeln!(
            o,
            "`valgrind --tool=callgrind` instruction counts (Ir) of one run at two sizes; \
             the difference divided by the size difference is the cost of one element \
             (one allocation+drop, one clone+drop, one tree node, one two-node cycle \
             including its share of collection), independent of start-up. Repeatable \
             where wall times on a shared machine are not; cache misses are not counted.\n"
        );
        table_header(o, "workload (sizes)", impls);
        for &(w, n1, n2) in CALLGRIND {
            let _ = write!(
                o,
                "| {} ({} → {}) |",
                w.name(),
                fmt_count(n1),
                fmt_count(n2)
            );
            let base = match self.instr.get(&(w, "gc-core".to_string())) {
                Some(Ok(b)) => Some(*b),
                _ => None,
            };
            for i in impls {
                let cell = match self.instr.get(&(w, i.to_string())) {
                    Some(Ok(v)) => match base {
                        Some(b) if *i != "gc-core" && b > 0.0 => format!("{v:.1} ({:.2}×)", v / b),
                        _ => format!("{v:.1}"),
                    },
                    Some(Err(e)) => format!("**{e}**"),
                    None => "–".to_string(),
                };
                let _ = write!(o, " {cell} |");
            }
            let _ = writeln!(o);
        }
        let _ = writeln!(o);
    }

    fn render_mem(&self, o: &mut String, impls: &[&str]) {
        let _ = writeln!(o, "## Memory per live object\n");
        let _ = writeln!(
            o,
            "Peak RSS growth (`VmHWM` after − `VmRSS` before, from /proc/self/status) while \
             building {} live objects in a fresh process, divided by their number; median of \
             3 processes. *chain*: `Link {{ next: RefCell<Option<P<Link>>>, value: u64 }}` \
             nodes, each pointing to the previous one (24-byte payload; a tracked type). \
             *leaves*: `P<u64>` kept in a `Vec` (8-byte payload; the Vec's 8 bytes per \
             handle are subtracted). For gc-core the `gc::heap_stats().bytes_in_use` delta \
             per object is shown too.\n",
            fmt_count(self.sizes.mem_nodes)
        );
        let _ = writeln!(
            o,
            "| implementation | chain: B/node (RSS) | leaves: B/object (RSS) |"
        );
        let _ = writeln!(o, "|---|---:|---:|");
        for i in impls {
            let cell = |kind: &'static str| match self.mem.get(&(kind, i.to_string())) {
                Some(Ok(m)) if *i == "gc-core" => {
                    format!("{:.1} (heap_stats: {:.0})", m.rss_per_node, m.heap_per_node)
                }
                Some(Ok(m)) => format!("{:.1}", m.rss_per_node),
                Some(Err(e)) => format!("**{e}**"),
                None => "–".to_string(),
            };
            let _ = writeln!(o, "| {i} | {} | {} |", cell("chain"), cell("leaves"));
        }
        let _ = writeln!(o);
        let _ = writeln!(o, "### gc-core header (from `gc::heap_stats` deltas)\n");
        match &self.header {
            Ok(h) => {
                let _ = writeln!(
                    o,
                    "Bytes in use per object for 10,000 objects, by payload size (`size_of` of \
                     the value). Blocks come in 8-byte size classes, so the header is what is \
                     left at payloads that are multiples of 8.\n"
                );
                let _ = writeln!(o, "| payload | tracked: bytes/object | header | untracked: bytes/object | header |");
                let _ = writeln!(o, "|---:|---:|---:|---:|---:|");
                for size in [8, 16, 32] {
                    let t = h.get(&format!("header_tracked_{size}"));
                    let u = h.get(&format!("header_untracked_{size}"));
                    let f = |v: Option<&f64>| v.map(|v| format!("{v:.0}")).unwrap_or("?".into());
                    let d = |v: Option<&f64>| {
                        v.map(|v| format!("{:.0}", v - size as f64))
                            .unwrap_or("?".into())
                    };
                    let _ = writeln!(
                        o,
                        "| {size} B | {} | {} | {} | {} |",
                        f(t),
                        d(t),
                        f(u),
                        d(u)
                    );
                }
            }
            Err(e) => {
                let _ = writeln!(o, "Header measurement failed: {e}");
            }
        }
        let _ = writeln!(o);
    }

    fn render_diags(&self, o: &mut String, impls: &[&str]) {
        let _ = writeln!(
            o,
            "## Diagnostics: page faults and gc-core collections per run\n"
        );
        let _ = writeln!(
            o,
            "Minor page faults per timed run (`/proc/self/stat`, median over rounds): memory \
             the process had to take from the kernel again — an allocator that returns freed \
             memory to the system pays this on every rebuild. Last column: gc-core's \
             collections per timed run by generation (`gc::stats`), automatic ones included.\n"
        );
        let _ = write!(o, "| workload |");
        for i in impls {
            let _ = write!(o, " {i} |");
        }
        let _ = write!(o, " gc-core collections (gen 0 / 1 / 2) |\n|---|");
        for _ in impls {
            let _ = write!(o, "---:|");
        }
        let _ = writeln!(o, "---:|");
        for &w in &self.opts.workloads {
            let _ = write!(o, "| {} |", w.name());
            for i in impls {
                let cell = match self.diags.get(&(w, i.to_string())) {
                    Some(d) if !d.minflt.is_empty() => {
                        format!("{:.0}", median(&d.minflt).unwrap_or(f64::NAN))
                    }
                    _ => "–".to_string(),
                };
                let _ = write!(o, " {cell} |");
            }
            let coll = self
                .diags
                .get(&(w, "gc-core".to_string()))
                .and_then(|d| d.collections.last().copied());
            let _ = match coll {
                Some([a, b, c]) => writeln!(o, " {a:.1} / {b:.1} / {c:.1} |"),
                None => writeln!(o, " – |"),
            };
        }
        let _ = writeln!(o);
    }

    /// The targets of DESIGN.md / issue 8, one line each.
    fn target_lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        let ratio = |w: Workload, a: &str, b: &str| Some(self.median(w, a)? / self.median(w, b)?);
        let pct = |r: f64| (r - 1.0) * 100.0;
        let verdict = |ok: bool| if ok { "**met**" } else { "**missed**" };
        let noise = |r: f64| {
            if (r - 1.0).abs() < 0.10 {
                " — within this machine's ±10 % run-to-run noise, where the instruction \
                 counts are the steadier measure"
            } else {
                ""
            }
        };

        // 1. alloc+drop faster than Rc.
        match ratio(Workload::AllocDrop, "gc-core", "Rc") {
            Some(r) => out.push(format!(
                "alloc+drop faster than `Rc`: {} — gc-core takes {:.2}× `Rc`'s time ({:+.0} %){}{}.",
                verdict(r < 1.0),
                r,
                pct(r),
                noise(r),
                self.instr_note(Workload::AllocDrop)
            )),
            None => out.push("alloc+drop faster than `Rc`: not measured.".to_string()),
        }
        // 2. clone/drop within 10 % of Rc.
        match ratio(Workload::CloneDrop, "gc-core", "Rc") {
            Some(r) => out.push(format!(
                "clone/drop within 10 % of `Rc`: {} — gc-core takes {:.2}× `Rc`'s time ({:+.0} %){}{}.",
                verdict(r <= 1.10),
                r,
                pct(r),
                noise(r),
                self.instr_note(Workload::CloneDrop)
            )),
            None => out.push("clone/drop within 10 % of `Rc`: not measured.".to_string()),
        }
        // 3. cycle collection ≥ 2× the fastest peer.
        let cyc = [
            Workload::Cycles2,
            Workload::Cycles2Collect,
            Workload::BigCycle,
            Workload::BigCycleCollect,
            Workload::RandomGraph,
            Workload::RandomGraphCollect,
        ];
        let mut parts = Vec::new();
        let mut all_ok = true;
        for w in cyc.into_iter().filter(|w| self.opts.workloads.contains(w)) {
            let Some(g) = self.median(w, "gc-core") else {
                all_ok = false;
                parts.push(format!("{}: gc-core failed", w.name()));
                continue;
            };
            let best = PEERS
                .iter()
                .filter_map(|p| Some((*p, self.median(w, p)?)))
                .min_by(|a, b| a.1.total_cmp(&b.1));
            match best {
                Some((p, t)) => {
                    let s = t / g;
                    all_ok &= s >= 2.0;
                    // Hand-broken `Rc` does no collection work at all: a
                    // target below its time cannot be met by any collector.
                    let below_rc = match self.median(w, "Rc") {
                        Some(r) if s < 2.0 && t / 2.0 < r => format!(
                            "; 2× would need {}, less than hand-broken `Rc`'s {}",
                            fmt_ns(t / 2.0),
                            fmt_ns(r)
                        ),
                        _ => String::new(),
                    };
                    parts.push(format!("{} {:.2}× (vs {p}{below_rc})", w.name(), s));
                }
                None => parts.push(format!("{}: no peer completed", w.name())),
            }
        }
        out.push(format!(
            "cycle collection ≥ 2× the fastest peer: {} — speed-up over the fastest peer that \
             completed: {}.",
            verdict(all_ok),
            parts.join(", ")
        ));
        // 4. young churn independent of the old heap.
        let (s, l) = (
            self.median(Workload::YoungChurnSmall, "gc-core"),
            self.median(Workload::YoungChurnLarge, "gc-core"),
        );
        match (s, l) {
            (Some(s), Some(l)) => {
                let mins = (
                    self.min(Workload::YoungChurnSmall, "gc-core"),
                    self.min(Workload::YoungChurnLarge, "gc-core"),
                );
                let fastest = match mins {
                    (Some(a), Some(b)) => {
                        format!(
                            "; fastest runs {} vs {} ({:.2}×)",
                            fmt_ns(a),
                            fmt_ns(b),
                            b / a
                        )
                    }
                    _ => String::new(),
                };
                // The fastest runs are the ones other load disturbed least,
                // so either measure within 10 % counts.
                let fastest_same = matches!(mins, (Some(a), Some(b)) if b / a <= 1.10);
                out.push(format!(
                    "young_churn the same with {} and {} old objects: {} — medians {} vs {} \
                     ({:.2}×{fastest}; ±10 % in the medians or the fastest runs counted as \
                     the same on this noisy machine).",
                    fmt_count(self.sizes.churn_old_small),
                    fmt_count(self.sizes.churn_old_large),
                    verdict(l / s <= 1.10 || fastest_same),
                    fmt_ns(s),
                    fmt_ns(l),
                    l / s
                ))
            }
            _ => out.push("young_churn: not measured.".to_string()),
        }
        // 5. no stack overflow on the 10M chain.
        match self
            .times
            .get(&(Workload::DeepChain, "gc-core".to_string()))
        {
            Some(Ok(v)) => out.push(format!(
                "no stack overflow dropping a {}-chain: **met** — dropped in {}.",
                fmt_count(self.sizes.deep_chain),
                fmt_ns(median(v).unwrap_or(f64::NAN))
            )),
            Some(Err(e)) => out.push(format!(
                "no stack overflow dropping a {}-chain: **missed** — {e}.",
                fmt_count(self.sizes.deep_chain)
            )),
            None => out.push("deep chain: not measured.".to_string()),
        }
        // 6. header sizes.
        match &self.header {
            Ok(h) => {
                let hdr = |kind: &str| {
                    [16, 32]
                        .iter()
                        .filter_map(|s| Some(h.get(&format!("header_{kind}_{s}"))? - *s as f64))
                        .fold(f64::NAN, f64::max)
                };
                let (t, u) = (hdr("tracked"), hdr("untracked"));
                out.push(format!(
                    "header ≤ 32 bytes tracked / ≤ 16 untracked: {} — {t:.0} / {u:.0} bytes \
                     (`gc::heap_stats` bytes_in_use deltas; 8-byte size classes add rounding \
                     for other payload sizes).",
                    verdict(t <= 32.0 && u <= 16.0)
                ));
            }
            Err(e) => out.push(format!("header: measurement failed ({e}).")),
        }
        out
    }

    fn instr_note(&self, w: Workload) -> String {
        match (
            self.instr.get(&(w, "gc-core".to_string())),
            self.instr.get(&(w, "Rc".to_string())),
        ) {
            (Some(Ok(g)), Some(Ok(r))) => format!(
                "; callgrind: {g:.1} vs {r:.1} instructions per element ({:.2}×)",
                g / r
            ),
            _ => String::new(),
        }
    }

    fn render_targets(&self, o: &mut String) {
        let _ = writeln!(
            o,
            "## Targets (DESIGN.md \"Performance\", issue 8 item 3)\n"
        );
        for line in self.target_lines() {
            let _ = writeln!(o, "- {line}");
        }
        let _ = write!(
            o,
            "\nYoung churn, time with the large old heap ÷ time with the small one, per \
             implementation (a collector that scans the whole heap on every collection grows \
             here; `Rc` shows what the memory system alone does):"
        );
        for i in &self.opts.impls {
            if let (Some(s), Some(l)) = (
                self.median(Workload::YoungChurnSmall, i),
                self.median(Workload::YoungChurnLarge, i),
            ) {
                let _ = write!(o, " {i} {:.2}×;", l / s);
            }
        }
        let _ = writeln!(o, "\n");
    }

    fn render_notes(&self, o: &mut String, impls: &[&str]) {
        let _ = writeln!(
            o,
            "## Notes: what each implementation can and cannot do here\n"
        );
        // Failures grouped by implementation and outcome.
        let mut failures: BTreeMap<(String, String), Vec<&str>> = BTreeMap::new();
        for ((w, i), r) in self.times.iter().chain(&self.cold) {
            if let Err(e) = r {
                if e == "n/a" {
                    continue; // not expressible; see the implementation's note
                }
                let ws = failures.entry((i.clone(), e.clone())).or_default();
                if !ws.contains(&w.name()) {
                    ws.push(w.name());
                }
            }
        }
        for ((kind, i), r) in &self.mem {
            if let Err(e) = r {
                failures
                    .entry((i.clone(), e.clone()))
                    .or_default()
                    .push(if *kind == "chain" {
                        "mem_per_object (chain)"
                    } else {
                        "mem_per_object (leaves)"
                    });
            }
        }
        if failures.is_empty() {
            let _ = writeln!(o, "- Every implementation completed every workload.");
        } else {
            let _ = writeln!(
                o,
                "- Failures (each in its own child process, so nothing else was affected):"
            );
            for ((i, e), ws) in &failures {
                let _ = writeln!(o, "  - {i}: {e} in {}", ws.join(", "));
            }
        }
        let notes: &[(&str, &str)] = &[
            (
                "gc-core",
                "default settings (automatic generational collection on) except in the \
              reclaim-only rows and young churn, where `gc::disable()` is in force and young churn \
              calls `gc::collect_generation(0)` every 1000 cycles. Tracked types carry a 16-byte \
              generation link before the 16-byte header.",
            ),
            (
                "Rc",
                "no collector: every cycle is broken by hand before its last handle goes \
              (\"hand-broken Rc\"); the ring is unlinked node by node, the graph's edges cleared, \
              because a recursive `Drop` of a 1M-long path overflows the stack. `deep_chain` uses \
              `Rc`'s own recursive `Drop`, as users would, and is expected to overflow.",
            ),
            (
                "rust-cc",
                "`Cc` with `#[derive(Trace, Finalize)]`; `collect_cycles()`; automatic \
              collection switched off with `config::config(|c| c.set_auto_collect(false))` in the \
              reclaim-only rows and young churn. It has no generations: `collect_cycles` looks at \
              the objects buffered as possible cycle roots.",
            ),
            (
                "dumpster",
                "`dumpster::unsync::Gc` with `#[derive(Trace)]` (written out: its derive \
              output breaks inside `macro_rules!`); `unsync::collect()`; automatic collection off \
              with `set_collect_condition(never)` where the others have it off. Every last drop \
              removes the object from a hash map of dirty allocations, which is why its simple \
              workloads are slow. No generations.",
            ),
            (
                "gcmodule",
                "`Cc` with a hand-written `Trace` (`is_type_tracked() == true`): its \
              derive recurses forever on self-referential types, as its docs warn; \
              `collect_thread_cycles()`; it never collects automatically. Its collector scans \
              every tracked object, so young churn grows with the old heap.",
            ),
            (
                "bacon_rajan_cc",
                "`Cc` with a hand-written `Trace` (no derive); `collect_cycles()`; \
              never automatic. Every decrement that does not free adds the object to a root \
              buffer (Bacon–Rajan synchronous cycle collection); no generations.",
            ),
            (
                "gc",
                "rust-gc is a tracing mark-and-sweep collector, not reference counting: a \
              dropped `Gc` frees nothing until a collection, so every workload ends with \
              `force_collect()` and its times include the sweep. Mutation through `GcCell`. \
              Automatic collection off (byte threshold set to `usize::MAX` through the \
              `unstable-config` feature) in the reclaim-only rows and young churn, where every \
              collection is a full mark-and-sweep of the live heap.",
            ),
        ];
        for (name, note) in notes {
            if impls.contains(name) {
                let _ = writeln!(o, "- **{name}**: {note}");
            }
        }
        if self.opts.python {
            let _ = writeln!(
                o,
                "- **CPython**: `bench/python/bench.py`, one `python3` process per run like the \
                 Rust children, default collector settings (gc on, thresholds 700/10/10), \
                 `__slots__` classes with the same fields as the Rust nodes, the same \
                 xorshift64 for the random graph (its cost in pure Python is part of the time), \
                 `gc.collect()` at the end of each workload. \"n/a\": the workload is not \
                 expressed in Python (only tree, binary_trees, cycles2, big_cycle, random_graph \
                 and dll_grow are); the Rust-only micro-benchmarks (alloc/clone, young churn, \
                 deep chain, the reclaim-only rows) measure things Python does not expose \
                 separately."
            );
        }
        let _ = writeln!(o);
    }

    fn render_method(&self, o: &mut String) {
        let _ = writeln!(o, "## Method\n");
        let _ = writeln!(
            o,
            "- All implementations run the same workload code (`bench/benches/common/impls/mod.rs`, \
             one `workloads!` instantiation each); only the pointer, cell, `Trace` plumbing and \
             collection calls differ. Payloads are `u64`; the random graph uses a fixed-seed \
             xorshift64.\n\
             - Times are wall-clock medians; the machine is shared and noisy (see the load \
             average above), so differences under ~10 % are not significant. Instruction counts \
             are repeatable but ignore cache behaviour.\n\
             - The workloads spell each implementation's pointer `P` (`use gc_core::Gc as P`), \
             so gc-core's derive cannot see that `TreeNode`'s edges are fixed edges to the type \
             itself: in `tree` and `binary_trees` its nodes are tracked, which is what these \
             rows measure (the collection policy on a growing tracked structure). \
             `tree_fixed` is the same tree with gc-core's node written as a user writes it, \
             `Option<Gc<TreeNode>>`: untracked (see `Trace::needs_tracking`); for the others it \
             runs `tree` again.\n\
             - `deep_chain` times only the drop (plus a collection call); building the chain is \
             not timed. `young_churn` builds the old heap once per process (not timed), then \
             times the churn loop.\n\
             - binary_trees follows the Benchmarks Game rules: a stretch tree of depth N+1 \
             built, checked and dropped, a long-lived tree of depth N, then for d = 4, 6, …, N \
             2^(N−d+4) trees of depth d built and checked; the child asserts the total check \
             count. N = 16 here by default; `{BT_N_ENV}=21` is the site's parameter. \
             `{SCALE_ENV}` lowers N and GCBench's depths by round(−log2(scale)) levels (each \
             level doubles the work); rust-cc-benchmarks' four keep their own small parameters \
             at every scale. GCBench: kStretchTreeDepth 18, kLongLivedTreeDepth 16, kArraySize \
             500,000 doubles (half of them set to 1/i, checked at the end), depths 4..=16 step 2, \
             NumIters(d) = 2·TreeSize(18)/TreeSize(d) trees built top-down (Populate) and as \
             many bottom-up (MakeTree) per depth. rust-cc-benchmarks' stress test uses this \
             package's xorshift64 (seed 0xCAFE) instead of `StdRng`; its `Rc†` keeps every node \
             and clears all edges at the end (`Rc` cannot tell which nodes became unreachable), \
             its parent-pointer trees clear the parent pointers by hand before each drop \
             (the original's `Rc` baseline uses `Weak`), and its linked list unlinks node by \
             node. \"Rc†\" marks every `Rc` cell where cycles are broken by hand.\n\
             - Heavy workloads (binary_trees, gcbench, dll_grow) and every CPython run time one \
             repetition per round after the warm-up; a child is killed after {} s.\n\
             - Regenerate: `cargo run --release -p gc-bench --bin bench-report` (about 25 \
             minutes at full scale on 2 cores); quick check: `GC_BENCH_SCALE=0.01 cargo run --release -p \
             gc-bench --bin bench-report -- --output /tmp/b.md`.",
            CHILD_LIMIT.as_secs()
        );
    }
}

/// The header row and alignment row of a table with one column per impl.
fn table_header(o: &mut String, first: &str, impls: &[&str]) {
    let _ = write!(o, "| {first} |");
    for i in impls {
        let _ = write!(o, " {i} |");
    }
    let _ = write!(o, "\n|---|");
    for _ in impls {
        let _ = write!(o, "---:|");
    }
    let _ = writeln!(o);
}
