//! Model-based tests: random programs of graph operations, collections,
//! freezes and finalizers that resurrect, allocate or panic, run against
//! gc-core and checked step by step against a plain reachability oracle (see
//! `model/mod.rs` for the language, the oracle and what is compared).
//!
//! A failure prints the shrunk program as Rust source
//! (`prog(Mode, &[...])`); keep it as a `#[test]` below.
//!
//! Every test runs on its own thread and so on its own heap; `model::run`
//! collects what an earlier program on the thread left before starting.

#[path = "model/mod.rs"]
mod model;

use model::Fin::{self, *};
use model::Mode::{self, *};
use model::Op::{self, *};
use model::{Program, SLOTS, WEAK_SLOTS};
use proptest::prelude::*;
use proptest::test_runner::{RngAlgorithm, TestError, TestRng, TestRunner};

fn prog(mode: Mode, ops: &[Op]) -> Program {
    Program {
        mode,
        ops: ops.to_vec(),
    }
}

fn check(p: &Program) {
    if let Err(e) = model::run(p) {
        panic!("{e}\nprogram:\n{}", p.to_rust());
    }
}

// ---------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------

fn fin() -> impl Strategy<Value = Fin> {
    prop_oneof![
        3 => Just(Plain),
        3 => Just(Count),
        3 => any::<u8>().prop_map(Resurrect),
        1 => (0u8..3).prop_map(Alloc),
        1 => Just(Panic),
    ]
}

fn slot() -> impl Strategy<Value = u8> {
    0..SLOTS as u8
}

fn weak() -> impl Strategy<Value = u8> {
    prop_oneof![3 => 0u8..2, 1 => 0..WEAK_SLOTS as u8]
}

/// `new` and `collect` weigh allocations and explicit collections:
/// `Triggers` programs allocate more and collect less, so that automatic
/// collections of the older generations come due.
fn op(new: u32, collect: u32) -> impl Strategy<Value = Op> {
    prop_oneof![
        new => (slot(), fin()).prop_map(|(slot, fin)| New { slot, fin }),
        14 => (slot(), slot()).prop_map(|(from, to)| AddEdge { from, to }),
        2 => (slot(), 0u8..4).prop_map(|(from, idx)| RemoveEdge { from, idx }),
        6 => slot().prop_map(|slot| DropHandle { slot }),
        2 => (slot(), slot()).prop_map(|(from, to)| CloneHandle { from, to }),
        3 => (slot(), weak()).prop_map(|(slot, weak)| Downgrade { slot, weak }),
        4 => (weak(), slot()).prop_map(|(weak, slot)| Upgrade { weak, slot }),
        collect => Just(Collect),
        collect => (0u8..3).prop_map(CollectGeneration),
        1 => Just(Freeze),
        1 => Just(Unfreeze),
        2 => Just(ClearRescued),
        1 => (0u8..4, 0u8..4, 0u8..4).prop_map(|(a, b, c)| SetThreshold(a, b, c)),
    ]
}

const MAX_OPS: usize = if cfg!(miri) { 24 } else { 60 };

fn program() -> impl Strategy<Value = Program> {
    prop_oneof![5 => Just(Exact), 3 => Just(Triggers), 2 => Just(Auto)].prop_flat_map(|mode| {
        let (new, collect) = if mode == Triggers { (12, 1) } else { (6, 4) };
        proptest::collection::vec(op(new, collect), MAX_OPS / 4..=MAX_OPS)
            .prop_map(move |ops| Program { mode, ops })
    })
}

/// 256 cases (8 under Miri); `PROPTEST_CASES` overrides it for long hunts.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(if cfg!(miri) { 8 } else { 256 });
    ProptestConfig {
        cases,
        failure_persistence: None,
        // Shrinking replays whole programs; keep it bounded under Miri.
        max_shrink_iters: if cfg!(miri) { 64 } else { 4096 },
        ..ProptestConfig::default()
    }
}

/// The property: every random program agrees with the oracle. On failure,
/// proptest's shrunk program is shrunk further by `model::minimize`, and both
/// are printed as Rust source.
#[test]
fn random_programs_match_the_oracle() {
    let mut runner = TestRunner::new(config());
    let result = runner.run(&program(), |p| {
        model::run(&p).map_err(TestCaseError::fail)?;
        Ok(())
    });
    match result {
        Ok(()) => {}
        Err(TestError::Fail(reason, p)) => {
            let small = model::minimize(&p);
            let why = model::run(&small)
                .err()
                .unwrap_or_else(|| "panicked".into());
            panic!(
                "{reason}\nshrunk by proptest:\n{}\nminimized ({why}):\n{}",
                p.to_rust(),
                small.to_rust()
            );
        }
        Err(e) => panic!("{e}"),
    }
}

// ---------------------------------------------------------------------------
// Fixed programs (quick under Miri)
// ---------------------------------------------------------------------------

/// Hand-written programs, one per feature of the model. (Remember that
/// `AddEdge`, `RemoveEdge`, `DropHandle`, `CloneHandle.from` and
/// `Downgrade.slot` count among the occupied slots.)
fn fixed_programs() -> Vec<Program> {
    vec![
        // acyclic chain freed by counting, finalizers run once
        prog(
            Exact,
            &[
                New {
                    slot: 0,
                    fin: Count,
                },
                New {
                    slot: 1,
                    fin: Count,
                },
                AddEdge { from: 0, to: 1 },
                DropHandle { slot: 1 },
                DropHandle { slot: 0 },
                Collect,
            ],
        ),
        // a 3-cycle found by a full collection, weak cleared
        prog(
            Exact,
            &[
                New {
                    slot: 0,
                    fin: Count,
                },
                New {
                    slot: 1,
                    fin: Plain,
                },
                New {
                    slot: 2,
                    fin: Count,
                },
                AddEdge { from: 0, to: 1 },
                AddEdge { from: 1, to: 2 },
                AddEdge { from: 2, to: 0 },
                Downgrade { slot: 1, weak: 0 },
                DropHandle { slot: 0 }, // slot 0
                DropHandle { slot: 0 }, // slot 1
                Upgrade { weak: 0, slot: 3 },
                DropHandle { slot: 1 }, // slot 3
                DropHandle { slot: 0 }, // slot 2
                Collect,
                Upgrade { weak: 0, slot: 3 },
            ],
        ),
        // resurrection of a cycle member, then its second death by counting
        prog(
            Exact,
            &[
                New {
                    slot: 0,
                    fin: Resurrect(0),
                },
                New {
                    slot: 1,
                    fin: Count,
                },
                AddEdge { from: 0, to: 1 },
                AddEdge { from: 1, to: 0 },
                Downgrade { slot: 1, weak: 1 },
                DropHandle { slot: 0 },
                DropHandle { slot: 1 },
                Collect,
                Upgrade { weak: 1, slot: 2 },
                Collect,
                ClearRescued,
                Collect,
            ],
        ),
        // self-resurrection through a self edge
        prog(
            Exact,
            &[
                New {
                    slot: 0,
                    fin: Resurrect(0),
                },
                AddEdge { from: 0, to: 0 },
                DropHandle { slot: 0 },
                Collect,
                Collect,
                ClearRescued,
                Collect,
            ],
        ),
        // generations: a young cycle pointing at an old node
        prog(
            Exact,
            &[
                New {
                    slot: 0,
                    fin: Count,
                },
                Collect,
                New {
                    slot: 1,
                    fin: Count,
                },
                New {
                    slot: 2,
                    fin: Plain,
                },
                AddEdge { from: 1, to: 2 },
                AddEdge { from: 2, to: 1 },
                AddEdge { from: 1, to: 0 },
                DropHandle { slot: 0 },
                DropHandle { slot: 1 },
                DropHandle { slot: 2 },
                CollectGeneration(0),
                CollectGeneration(1),
            ],
        ),
        // frozen garbage survives until unfreeze + collect
        prog(
            Exact,
            &[
                New {
                    slot: 0,
                    fin: Count,
                },
                AddEdge { from: 0, to: 0 },
                Freeze,
                DropHandle { slot: 0 },
                Collect,
                New {
                    slot: 1,
                    fin: Count,
                },
                AddEdge { from: 1, to: 1 },
                DropHandle { slot: 1 },
                CollectGeneration(1),
                Unfreeze,
                CollectGeneration(2),
            ],
        ),
        // allocating and panicking finalizers, by counting and in a cycle
        prog(
            Exact,
            &[
                New {
                    slot: 0,
                    fin: Alloc(2),
                },
                New {
                    slot: 1,
                    fin: Panic,
                },
                AddEdge { from: 0, to: 1 },
                AddEdge { from: 1, to: 0 },
                New {
                    slot: 2,
                    fin: Alloc(0),
                },
                DropHandle { slot: 2 },
                DropHandle { slot: 0 },
                DropHandle { slot: 1 },
                Collect,
                New {
                    slot: 3,
                    fin: Panic,
                },
                DropHandle { slot: 3 },
                Collect,
            ],
        ),
        // predicted automatic collections of every generation
        prog(
            Triggers,
            &[
                New {
                    slot: 0,
                    fin: Count,
                },
                AddEdge { from: 0, to: 0 },
                DropHandle { slot: 0 },
                New {
                    slot: 0,
                    fin: Count,
                },
                New {
                    slot: 1,
                    fin: Resurrect(0),
                },
                AddEdge { from: 1, to: 0 },
                AddEdge { from: 0, to: 1 },
                DropHandle { slot: 0 },
                DropHandle { slot: 0 },
                New {
                    slot: 2,
                    fin: Count,
                },
                New {
                    slot: 3,
                    fin: Count,
                },
                New {
                    slot: 4,
                    fin: Alloc(1),
                },
                New {
                    slot: 5,
                    fin: Plain,
                },
                ClearRescued,
                New {
                    slot: 6,
                    fin: Count,
                },
                New {
                    slot: 7,
                    fin: Count,
                },
                New {
                    slot: 8,
                    fin: Count,
                },
                New {
                    slot: 9,
                    fin: Count,
                },
                New {
                    slot: 10,
                    fin: Count,
                },
                New {
                    slot: 11,
                    fin: Count,
                },
                SetThreshold(1, 0, 0),
                New {
                    slot: 0,
                    fin: Count,
                },
                New {
                    slot: 1,
                    fin: Count,
                },
            ],
        ),
        // automatic collections with tiny thresholds
        prog(
            Auto,
            &[
                SetThreshold(1, 1, 1),
                New {
                    slot: 0,
                    fin: Resurrect(0),
                },
                New {
                    slot: 1,
                    fin: Alloc(1),
                },
                AddEdge { from: 0, to: 1 },
                AddEdge { from: 1, to: 0 },
                DropHandle { slot: 0 },
                DropHandle { slot: 1 },
                New {
                    slot: 2,
                    fin: Count,
                },
                New {
                    slot: 3,
                    fin: Count,
                },
                ClearRescued,
                New {
                    slot: 4,
                    fin: Count,
                },
                New {
                    slot: 5,
                    fin: Count,
                },
            ],
        ),
    ]
}

/// Pseudo-random programs from a fixed seed, through the fuzz decoder.
fn generated_programs(n: usize, len: usize) -> Vec<Program> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 24) as u8
    };
    (0..n)
        .map(|_| {
            let bytes: Vec<u8> = (0..len).map(|_| next()).collect();
            model::decode(&bytes)
        })
        .collect()
}

#[test]
fn fixed_programs_match_the_oracle() {
    for p in fixed_programs() {
        check(&p);
    }
}

#[test]
fn generated_programs_match_the_oracle() {
    let (n, len) = if cfg!(miri) { (4, 60) } else { (64, 200) };
    for p in generated_programs(n, len) {
        check(&p);
    }
}

/// The generators reach what the oracle is there to check: fruitful and
/// automatic collections, resurrection, weak upgrades both ways, finalizers
/// that allocate and panic, predicted automatic collections of every
/// generation, and mostly exact `gc::count()` checks.
#[cfg_attr(miri, ignore = "coverage statistics need many programs")]
#[test]
fn random_programs_cover_the_interesting_cases() {
    // A fixed seed: the thresholds below are not a matter of luck.
    let mut runner = TestRunner::new_with_rng(
        ProptestConfig {
            cases: 256,
            failure_persistence: None,
            ..ProptestConfig::default()
        },
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    runner
        .run(&program(), |p| {
            model::run(&p).map_err(TestCaseError::fail)?;
            Ok(())
        })
        .unwrap();
    let c = model::coverage();
    println!("{c:#?}");
    assert!(c.fruitful_collections > 50, "{c:?}");
    assert!(c.automatic_collections > 20, "{c:?}");
    let [g0, g1, g2] = c.predicted_automatic;
    assert!(g0 > 50 && g1 > 10 && g2 > 0, "{c:?}");
    assert!(c.resurrections > 20, "{c:?}");
    assert!(
        c.freed_by_collector > 60 && c.freed_by_counting > 60,
        "{c:?}"
    );
    assert!(c.upgrades_ok > 15 && c.upgrades_failed > 2, "{c:?}");
    assert!(c.panics > 15 && c.allocations > 15, "{c:?}");
    assert!(c.count0_checked > 20 * c.count0_unknown, "{c:?}");
}

fn corpus_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/ops")
}

/// The fuzz target's committed seed corpus passes here too (so a corpus
/// entry that once crashed stays a regression test without cargo-fuzz).
#[cfg_attr(miri, ignore = "reads files")]
#[test]
fn fuzz_corpus_matches_the_oracle() {
    let Ok(dir) = std::fs::read_dir(corpus_dir()) else {
        return;
    };
    for entry in dir {
        let path = entry.unwrap().path();
        let p = model::decode(&std::fs::read(&path).unwrap());
        if let Err(e) = model::run(&p) {
            panic!("{}: {e}\nprogram:\n{}", path.display(), p.to_rust());
        }
    }
}

/// Write the fixed programs into the fuzz corpus as seeds:
/// `cargo test -p gc-core --test model -- --ignored write_seed_corpus`.
#[test]
#[ignore = "writes fuzz/corpus/ops; run by hand"]
fn write_seed_corpus() {
    let dir = corpus_dir();
    std::fs::create_dir_all(&dir).unwrap();
    for (i, p) in fixed_programs().iter().enumerate() {
        std::fs::write(dir.join(format!("seed-{i}")), model::encode(p)).unwrap();
    }
}

#[test]
fn decode_inverts_encode() {
    for p in fixed_programs() {
        assert_eq!(model::decode(&model::encode(&p)), p);
    }
}

// ---------------------------------------------------------------------------
// Regressions found by the property test (shrunk programs)
// ---------------------------------------------------------------------------
//
// None so far: 300,000+ random programs (release build, all three modes)
// and a one-minute libFuzzer run agreed with the oracle.
