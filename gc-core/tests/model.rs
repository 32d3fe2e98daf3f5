//! Model-based tests: random programs of graph operations, collections,
//! freezes, `Gc::get_mut` and moved handles, borrows held across
//! operations, `SAVEALL`, threshold changes and finalizers that resurrect,
//! allocate or panic, run against gc-core and checked step by step against
//! a plain reachability oracle (see `model/mod.rs` for the language, the
//! oracle and what is compared). The checks after each step make no handle,
//! so a collector that skips collections it thinks cannot find anything is
//! tested as it would run.
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

/// Run `p`; on failure panic with it and its minimized form.
fn check(p: &Program) {
    if let Err(e) = model::run(p) {
        let small = model::minimize(p);
        let why = model::run(&small)
            .err()
            .unwrap_or_else(|| "panicked".into());
        panic!(
            "{e}\nprogram:\n{}\nminimized ({why}):\n{}",
            p.to_rust(),
            small.to_rust()
        );
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

/// A generation to collect, young ones more often.
fn young_first() -> impl Strategy<Value = u8> {
    prop_oneof![2 => Just(0u8), 2 => Just(1), 1 => Just(2)]
}

/// Thresholds: often `(1, 1, 1)` or small, else anything up to `(11, 5, 5)`
/// (`t0 == 0` turns automatic collection off).
fn threshold() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => Just(SetThreshold(1, 1, 1)),
        2 => (1u8..4, 0u8..3, 0u8..3).prop_map(|(a, b, c)| SetThreshold(a, b, c)),
        1 => (0u8..12, 0u8..6, 0u8..6).prop_map(|(a, b, c)| SetThreshold(a, b, c)),
    ]
}

/// `new`, `collect` and `threshold` weigh allocations, explicit
/// collections (young ones mostly) and threshold changes: `Triggers` programs allocate more and
/// collect less, so that automatic collections of the older generations
/// come due, and change thresholds more often.
fn op(new: u32, collect: u32, threshold_weight: u32) -> impl Strategy<Value = Op> {
    prop_oneof![
        new => (slot(), fin()).prop_map(|(slot, fin)| New { slot, fin }),
        14 => (slot(), slot()).prop_map(|(from, to)| AddEdge { from, to }),
        3 => (slot(), slot()).prop_map(|(from, to)| MoveEdge { from, to }),
        2 => (slot(), 0u8..4).prop_map(|(from, idx)| RemoveEdge { from, idx }),
        6 => slot().prop_map(|slot| DropHandle { slot }),
        2 => (slot(), slot()).prop_map(|(from, to)| CloneHandle { from, to }),
        3 => (slot(), weak()).prop_map(|(slot, weak)| Downgrade { slot, weak }),
        4 => (weak(), slot()).prop_map(|(weak, slot)| Upgrade { weak, slot }),
        collect.div_ceil(2) => Just(Collect),
        collect => young_first().prop_map(CollectGeneration),
        2 => Just(Freeze),
        2 => Just(Unfreeze),
        3 => Just(ClearRescued),
        threshold_weight => threshold(),
        6 => (slot(), prop_oneof![0u8..4, 4u8..6], slot())
            .prop_map(|(slot, edit, arg)| GetMut { slot, edit, arg }),
        3 => (slot(), 0u8..6, prop::bool::weighted(0.75))
            .prop_map(|(slot, len, mutable)| Borrow { slot, len, mutable }),
        2 => any::<bool>().prop_map(SaveAll),
        1 => Just(ClearGarbage),
        2 => (slot(), slot()).prop_map(|(from, to)| Link { from, to }),
    ]
}

/// A cycle between a node that a gen-0 collection moved to generation 1
/// and a younger one, dropped (by refilling both slots), then a young
/// collection: garbage spanning the young generations (gen 1 finds it, gen
/// 0 must not).
fn spanning_cycle() -> impl Strategy<Value = Vec<Op>> {
    (slot(), slot(), fin(), fin(), 0u8..2).prop_map(|(a, b, fa, fb, g)| {
        vec![
            New { slot: a, fin: fa },
            CollectGeneration(0),
            New { slot: b, fin: fb },
            Link { from: a, to: b },
            Link { from: b, to: a },
            New {
                slot: a,
                fin: Plain,
            },
            New {
                slot: b,
                fin: Plain,
            },
            CollectGeneration(g),
        ]
    })
}

const MAX_OPS: usize = if cfg!(miri) { 24 } else { 60 };

fn program() -> impl Strategy<Value = Program> {
    program_in(prop_oneof![
        4 => Just(Exact),
        4 => Just(Triggers),
        2 => Just(Auto),
        2 => Just(Probe),
        2 => Just(Incremental)
    ])
}

/// Programs of the modes `modes` chooses.
fn program_in(modes: impl Strategy<Value = Mode>) -> impl Strategy<Value = Program> {
    modes.prop_flat_map(|mode| {
        let (new, collect, t) = match mode {
            Triggers | Incremental => (16, 1, 2),
            Probe => (6, 1, 1),
            _ => (6, 4, 1),
        };
        // Programs with automatic collection often start by choosing
        // their thresholds.
        let start = if matches!(mode, Triggers | Auto | Incremental) {
            proptest::option::weighted(0.6, threshold()).boxed()
        } else {
            Just(None).boxed()
        };
        let item = prop_oneof![
            24 => op(new, collect, t).prop_map(|o| vec![o]),
            if mode == Probe { 3 } else { 1 } => spanning_cycle(),
        ];
        (
            start,
            proptest::collection::vec(item, MAX_OPS / 4..=MAX_OPS * 2 / 3),
        )
            .prop_map(move |(start, items)| {
                let mut ops: Vec<Op> = start
                    .into_iter()
                    .chain(items.into_iter().flatten())
                    .collect();
                ops.truncate(MAX_OPS);
                Program { mode, ops }
            })
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
    check_random(program());
}

/// The same property for `Incremental` programs only, where incremental
/// phases run between the steps (`PROPTEST_CASES` for long hunts).
#[test]
fn incremental_programs_keep_the_invariants() {
    check_random(program_in(Just(Incremental)));
}

/// `Auto` programs only, each run twice: as written and as its
/// forced-dirty twin, in which no collection can be skipped as provably
/// empty; both must observe the same collections (see `model::run`).
#[test]
fn auto_programs_agree_with_their_forced_dirty_twins() {
    check_random(program_in(Just(Auto)));
}

fn check_random(programs: impl Strategy<Value = Program>) {
    let mut runner = TestRunner::new(config());
    let result = runner.run(&programs, |p| {
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
        // get_mut detaches x (x -> y pushed through the &mut); y -> x by
        // moving x's only handle: the young collection that traces y
        // re-attaches x and finds the 2-cycle
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
                GetMut {
                    slot: 1,
                    edit: 0,
                    arg: 0,
                },
                MoveEdge { from: 0, to: 1 },
                DropHandle { slot: 0 },
                CollectGeneration(0),
                Collect,
            ],
        ),
        // a cycle through a chain of two detached nodes (one round of
        // re-attachment per link), old by then: young probes miss it, the
        // first full collection finds it
        prog(
            Probe,
            &[
                New {
                    slot: 0,
                    fin: Count,
                },
                New {
                    slot: 2,
                    fin: Plain,
                },
                GetMut {
                    slot: 1,
                    edit: 0,
                    arg: 0,
                },
                New {
                    slot: 1,
                    fin: Count,
                },
                MoveEdge { from: 1, to: 2 },
                GetMut {
                    slot: 1,
                    edit: 3,
                    arg: 0,
                },
                MoveEdge { from: 0, to: 1 },
                DropHandle { slot: 0 },
                CollectGeneration(1),
                Collect,
            ],
        ),
        // get_mut: removing an edge, failing on a second handle and on a
        // weak, re-attachment by clone and by downgrade, detaching a frozen
        // node and moving a handle into it
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
                GetMut {
                    slot: 0,
                    edit: 1,
                    arg: 0,
                },
                Collect,
                CloneHandle { from: 0, to: 2 },
                GetMut {
                    slot: 0,
                    edit: 3,
                    arg: 0,
                },
                DropHandle { slot: 2 },
                GetMut {
                    slot: 1,
                    edit: 3,
                    arg: 0,
                },
                Downgrade { slot: 1, weak: 0 },
                GetMut {
                    slot: 1,
                    edit: 3,
                    arg: 0,
                },
                Freeze,
                GetMut {
                    slot: 0,
                    edit: 2,
                    arg: 1,
                },
                Unfreeze,
                CollectGeneration(2),
                DropHandle { slot: 0 },
                Collect,
            ],
        ),
        // a mutably borrowed cell is not traced: the detached node it
        // points to stays detached while the holder keeps the cycle; after
        // the release the cycle is garbage and one collection finds it
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
                GetMut {
                    slot: 1,
                    edit: 0,
                    arg: 0,
                },
                MoveEdge { from: 0, to: 1 },
                Borrow {
                    slot: 0,
                    len: 2,
                    mutable: true,
                },
                DropHandle { slot: 0 },
                Collect,
                CollectGeneration(0),
                Collect,
            ],
        ),
        // edges changed through a mutable borrow's guard, left alone under
        // a shared borrow; a self-cycle whose last root was a holder
        prog(
            Probe,
            &[
                New {
                    slot: 0,
                    fin: Count,
                },
                New {
                    slot: 1,
                    fin: Resurrect(0),
                },
                Borrow {
                    slot: 0,
                    len: 4,
                    mutable: true,
                },
                AddEdge { from: 0, to: 1 },
                Borrow {
                    slot: 1,
                    len: 1,
                    mutable: false,
                },
                AddEdge { from: 1, to: 0 },
                RemoveEdge { from: 1, idx: 0 },
                AddEdge { from: 1, to: 0 },
                DropHandle { slot: 0 },
                DropHandle { slot: 0 },
                CollectGeneration(1),
                ClearRescued,
                New {
                    slot: 3,
                    fin: Count,
                },
                AddEdge { from: 0, to: 0 },
                Borrow {
                    slot: 0,
                    len: 2,
                    mutable: true,
                },
                RemoveEdge { from: 0, idx: 0 },
                AddEdge { from: 0, to: 0 },
                DropHandle { slot: 0 },
                Collect,
            ],
        ),
        // SAVEALL keeps a cycle and a finalizer's junk in gc.garbage (found
        // again after a clear while it is on); after it is off, a clear and
        // a young collection (which does not reach them) the full one
        // frees them
        prog(
            Exact,
            &[
                SaveAll(true),
                New {
                    slot: 0,
                    fin: Count,
                },
                New {
                    slot: 1,
                    fin: Plain,
                },
                AddEdge { from: 0, to: 1 },
                AddEdge { from: 1, to: 0 },
                New {
                    slot: 2,
                    fin: Alloc(1),
                },
                DropHandle { slot: 2 },
                DropHandle { slot: 0 },
                DropHandle { slot: 0 },
                Collect,
                Collect,
                ClearGarbage,
                Collect,
                SaveAll(false),
                ClearGarbage,
                CollectGeneration(0),
                Collect,
            ],
        ),
        // frozen garbage (its outside handles dropped while frozen) is found
        // by the first full collection after unfreeze, not by young ones
        prog(
            Probe,
            &[
                New {
                    slot: 0,
                    fin: Count,
                },
                New {
                    slot: 1,
                    fin: Resurrect(0),
                },
                AddEdge { from: 0, to: 1 },
                AddEdge { from: 1, to: 0 },
                Freeze,
                DropHandle { slot: 0 },
                DropHandle { slot: 0 },
                Unfreeze,
                New {
                    slot: 2,
                    fin: Count,
                },
                New {
                    slot: 3,
                    fin: Count,
                },
                ClearRescued,
                CollectGeneration(1),
            ],
        ),
        // thresholds changed mid-program, larger ones and (1, 1, 1), with
        // detached nodes and a borrow across automatic collections
        prog(
            Triggers,
            &[
                SetThreshold(3, 2, 1),
                New {
                    slot: 0,
                    fin: Count,
                },
                AddEdge { from: 0, to: 0 },
                New {
                    slot: 1,
                    fin: Count,
                },
                GetMut {
                    slot: 1,
                    edit: 0,
                    arg: 0,
                },
                DropHandle { slot: 0 },
                New {
                    slot: 2,
                    fin: Resurrect(1),
                },
                AddEdge { from: 1, to: 0 },
                MoveEdge { from: 1, to: 0 },
                New {
                    slot: 3,
                    fin: Count,
                },
                Borrow {
                    slot: 1,
                    len: 3,
                    mutable: true,
                },
                New {
                    slot: 4,
                    fin: Count,
                },
                New {
                    slot: 5,
                    fin: Count,
                },
                SetThreshold(1, 1, 1),
                New {
                    slot: 6,
                    fin: Count,
                },
                New {
                    slot: 7,
                    fin: Count,
                },
                DropHandle { slot: 0 },
                New {
                    slot: 8,
                    fin: Count,
                },
                New {
                    slot: 9,
                    fin: Count,
                },
                SetThreshold(11, 5, 5),
                New {
                    slot: 10,
                    fin: Count,
                },
            ],
        ),
        // Re-analysis after a re-attachment is exact: n2 -> n1 (detached)
        // -> n0 -> n0, n2 -> n2, all garbage. The full collection finds n2,
        // re-attaches n1 and analyses everything again, n2 included, whose
        // edge to n1 is internal, so one collection finds all three. (Until
        // the second round analysed the survivors only, n2's edge counted
        // as an outside reference, n0 survived and the next collection
        // found it: 1, then 1.)
        prog(
            Exact,
            &[
                New {
                    slot: 0,
                    fin: Count,
                },
                AddEdge { from: 0, to: 0 },
                New {
                    slot: 1,
                    fin: Count,
                },
                GetMut {
                    slot: 1,
                    edit: 0,
                    arg: 0,
                },
                DropHandle { slot: 0 },
                New {
                    slot: 0,
                    fin: Count,
                },
                MoveEdge { from: 0, to: 1 },
                AddEdge { from: 0, to: 0 },
                DropHandle { slot: 0 },
                Collect,
                Collect,
            ],
        ),
        // get_mut closing a 2-cycle by moving the detached handle (edit 5),
        // and stashing a detached node in another's edges (edit 4)
        prog(
            Probe,
            &[
                New {
                    slot: 0,
                    fin: Count,
                },
                New {
                    slot: 1,
                    fin: Resurrect(0),
                },
                GetMut {
                    slot: 1,
                    edit: 5,
                    arg: 0,
                },
                New {
                    slot: 2,
                    fin: Count,
                },
                GetMut {
                    slot: 1,
                    edit: 4,
                    arg: 0,
                },
                DropHandle { slot: 0 },
                CollectGeneration(1),
                ClearRescued,
            ],
        ),
        // a cycle spanning the young generations (built with `Link`, by
        // slot), found by generation 1; resurrected into generation 2 and
        // dropped again, young collections leave it to the full one
        prog(
            Exact,
            &[
                New {
                    slot: 3,
                    fin: Count,
                },
                CollectGeneration(0),
                New {
                    slot: 5,
                    fin: Resurrect(0),
                },
                Link { from: 3, to: 5 },
                Link { from: 5, to: 3 },
                New {
                    slot: 3,
                    fin: Plain,
                },
                New {
                    slot: 5,
                    fin: Plain,
                },
                CollectGeneration(1),
                ClearRescued,
                CollectGeneration(1),
                Collect,
            ],
        ),
        // junk a finalizer leaves in generation 0 is found by the next young
        // probe
        prog(
            Probe,
            &[
                New {
                    slot: 0,
                    fin: Alloc(1),
                },
                DropHandle { slot: 0 },
                New {
                    slot: 0,
                    fin: Alloc(2),
                },
                New {
                    slot: 0,
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
    // Every feature the fixed programs are there for was reached.
    let c = model::coverage();
    println!("{c:#?}");
    let reached = [
        c.predicted_automatic[2],
        c.predicted_automatic_t0_above_1,
        c.resurrections,
        c.refound_resurrected,
        c.thawed_found,
        c.get_mut_ok,
        c.get_mut_failed,
        c.reattached_by_trace,
        c.found_in_later_rounds,
        c.untraced_detached,
        c.collections_while_borrowed,
        c.found_after_release,
        c.saved_refound,
        c.fruitful_young_probes,
        c.young_spanning,
        c.young_left_garbage,
    ];
    assert!(reached.iter().all(|&n| n > 0), "{c:?}");
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
    // What the skipping of collections must not get wrong.
    assert!(c.predicted_automatic_t0_above_1 > 5, "{c:?}");
    assert!(c.refound_resurrected > 50 && c.thawed_found > 50, "{c:?}");
    assert!(c.get_mut_ok > 60 && c.get_mut_failed > 60, "{c:?}");
    assert!(
        c.reattached_by_trace > 10 && c.found_in_later_rounds > 3,
        "{c:?}"
    );
    assert!(
        c.collections_while_borrowed > 40 && c.found_after_release > 5,
        "{c:?}"
    );
    assert!(c.saved > 20 && c.saved_refound > 20, "{c:?}");
    assert!(
        c.probes > 500 && c.fruitful_probes > 30 && c.fruitful_young_probes > 4,
        "{c:?}"
    );
    assert!(c.young_spanning > 20 && c.young_left_garbage > 60, "{c:?}");
    assert!(
        c.incremental_phases > 5 && c.incremental_found > 10,
        "{c:?}"
    );
    assert!(c.twins > 20 && c.twin_skipped > 20, "{c:?}");
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
// 300,000+ random programs (release build, the first three modes) and a
// one-minute libFuzzer run agreed with the oracle before `Probe`, `GetMut`,
// `MoveEdge`, `Borrow`, `SaveAll`, `ClearGarbage` and `Link`; with them,
// 500,000 more found only the oracle bug below, and pass since its fix.
// The first generated program with `GetMut` and `MoveEdge` found a
// re-analysis imprecision (a full collection could leave garbage that hangs
// on a re-attached node behind garbage it found first), fixed since; its
// program is among the fixed programs above.

/// An oracle bug, not gc-core's: the teardown frees each garbage object
/// right after its value's drop, so the frees and allocations of a cascade
/// (here the finalizer of a re-attached node only garbage referred to)
/// interleave with the garbage's own frees, and `count().0` saturates in an
/// order the model must not assume.
#[test]
fn teardown_cascades_and_garbage_frees_are_one_batch() {
    check(&prog(
        Exact,
        &[
            New {
                slot: 0,
                fin: Alloc(0),
            },
            New {
                slot: 1,
                fin: Count,
            },
            New {
                slot: 2,
                fin: Count,
            },
            DropHandle { slot: 10 },
            New {
                slot: 0,
                fin: Alloc(0),
            },
            AddEdge { from: 0, to: 0 },
            New {
                slot: 6,
                fin: Alloc(1),
            },
            New {
                slot: 5,
                fin: Count,
            },
            New {
                slot: 3,
                fin: Count,
            },
            New {
                slot: 2,
                fin: Count,
            },
            GetMut {
                slot: 4,
                edit: 4,
                arg: 0,
            },
            New {
                slot: 0,
                fin: Count,
            },
        ],
    ));
}
