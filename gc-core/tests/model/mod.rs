//! The operation language, the executor against gc-core and the reachability
//! oracle of the model-based tests.
//!
//! Shared by `tests/model.rs` (proptest) and `fuzz/fuzz_targets/ops.rs`
//! (cargo-fuzz, through `#[path]`), so it depends on nothing but gc-core and
//! std.
//!
//! A [`Program`] is a list of [`Op`]s over [`SLOTS`] handle slots (each holds
//! at most one `Gc<Node>`; several slots may hold the same node) and
//! [`WEAK_SLOTS`] weak slots. Arguments are reduced modulo their range when
//! executed, so every value is a valid program; an operation that needs a
//! node when no slot holds one does nothing. Besides building and cutting
//! edges, the language covers what makes a collection keep an unreachable
//! object, or not see one: objects `Gc::get_mut` detaches from the
//! generations (and handles moved without a clone, [`Op::MoveEdge`]), edge
//! cells kept borrowed across later operations ([`Op::Borrow`], whose
//! holder is a root meanwhile), freezing, resurrecting finalizers, `SAVEALL`
//! and `gc::clear_garbage`, and thresholds changed at any point.
//!
//! [`run`] executes a program on the calling thread's heap, in one of four
//! [`Mode`]s. In [`Mode::Exact`] automatic collection is off and every step
//! is compared with [`Model`], a plain graph with explicit strong counts and
//! a trial deletion that follows gc-core's rounds of re-attachment:
//! which nodes are finalized and dropped (per node, through a [`Book`] the
//! nodes write to), strong and weak counts, weak liveness, the value of
//! `gc::collect*`, `gc::count()`, `gc::stats()`, every collection as the
//! collection callbacks and `DebugFlags::STATS` report it (its generation,
//! what it found, and the size of every generation and of the frozen set
//! when it started), the number of tracked nodes in the generations
//! (`gc::census`, so detached ones are told apart), the rescue list, and the
//! edges of everything reachable. These per-step checks are *quiet*: they
//! make and drop no handle, so they change no strong count and cannot make
//! a collection that could skip its scan do the work after all. Every 16th
//! step and at the end the checks also compare `gc::objects(Some(g))` per
//! generation and `gc::garbage()`, which make and drop handles.
//! [`Mode::Probe`] is `Exact` with a collection of a generation chosen by a
//! fixed cycle (young ones mostly) after every step, whose return value the
//! model predicts: the most direct check of a collector that skips
//! collections it believes cannot find anything. [`Mode::Triggers`] is
//! `Exact` with automatic collection on and small thresholds: allocating
//! finalizers act as counting ones, so tracked objects are only allocated by
//! `New`, and the model predicts every automatic collection (thresholds,
//! `count()`, the long-lived rule). In [`Mode::Auto`] collections may start
//! at any tracked allocation, including inside finalizers that allocate in
//! the middle of a cascade of frees, so only what holds regardless is
//! checked: nothing reachable is dropped, nothing is finalized or dropped
//! twice, and after the final full collection the live nodes are exactly
//! the reachable ones; and each `Auto` program runs a second time as its
//! *forced-dirty twin*, in which no collection may skip its analysis, and
//! both runs must observe the same collections and results (see [`run`]).
//! Every program ends by releasing
//! every borrow, dropping every root and collecting until nothing is left:
//! then every node must have been dropped exactly once and every finalizer
//! must have run exactly once.
//!
//! With the environment variable `MODEL_TRACE` set, every step prints what
//! it returned (and each probe what it found), to follow a failing program.

#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::rc::Rc;

use gc_core::gc::{self, DebugFlags, Phase};
use gc_core::{Finalize, Gc, Trace, Weak};

/// Number of handle slots.
pub const SLOTS: usize = 12;
/// Number of weak slots.
pub const WEAK_SLOTS: usize = 6;
/// Thresholds set at the start of `Triggers` and `Auto` programs (a
/// program may change them with its first operation).
pub const AUTO_THRESHOLDS: (usize, usize, usize) = (1, 1, 1);
/// Thresholds set at the start of `Incremental` programs: every trigger
/// that may start or advance an incremental phase does.
pub const INCREMENTAL_THRESHOLDS: (usize, usize, usize) = (1, 0, 0);
/// The generations `Probe` programs collect after their steps, in turn.
pub const PROBE_GENERATIONS: [usize; 7] = [0, 1, 0, 0, 2, 1, 0];

// ---------------------------------------------------------------------------
// The language
// ---------------------------------------------------------------------------

/// What a node's finalizer does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fin {
    /// Nothing observable (it still is a finalizer for the collector).
    Plain,
    /// Records the call in the book (every kind but `Plain` does).
    Count,
    /// Pushes a clone of `edges[k % len]` (if any) onto the rescue list.
    Resurrect(u8),
    /// Allocates and drops one tracked object, then leaves a garbage cycle of
    /// `1 + n % 3` tracked objects behind.
    Alloc(u8),
    /// Panics (the collector catches and reports it).
    Panic,
}

/// One step of a program. Arguments documented as *occupied slots* pick
/// the `i % n`-th of the `n` occupied slots (so they rarely do nothing);
/// other slot and weak-slot arguments are reduced modulo the pool size.
///
/// The edges of a node whose edge cell a [`Op::Borrow`] holds *shared* are
/// left alone by the operations that would change them (they do nothing);
/// those of a node whose cell it holds *mutably* are changed through the
/// borrow's guard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// A new node in slot `slot % SLOTS` (the handle there before is dropped).
    New { slot: u8, fin: Fin },
    /// `from.edges.push(to.clone())` (`from`, `to`: occupied slots, see
    /// [`Op`]).
    AddEdge { from: u8, to: u8 },
    /// Remove `edges[idx % len]` of occupied slot `from`.
    RemoveEdge { from: u8, idx: u8 },
    /// Empty occupied slot `slot`.
    DropHandle { slot: u8 },
    /// Put a clone of occupied slot `from` in slot `to % SLOTS`.
    CloneHandle { from: u8, to: u8 },
    /// `weaks[weak] = Gc::downgrade(occupied slot `slot`)`.
    Downgrade { slot: u8, weak: u8 },
    /// `slots[slot] = weaks[weak].upgrade()` if that is `Some`.
    Upgrade { weak: u8, slot: u8 },
    /// `gc::collect()`.
    Collect,
    /// `gc::collect_generation(g % 3)`.
    CollectGeneration(u8),
    /// `gc::freeze()`.
    Freeze,
    /// `gc::unfreeze()`.
    Unfreeze,
    /// Drop the rescue list.
    ClearRescued,
    /// `gc::set_threshold(t0 % 16, t1 % 8, t2 % 8)` (`t0 == 0` disables
    /// automatic collection).
    SetThreshold(u8, u8, u8),
    /// Move the handle out of occupied slot `to` into the edges of occupied
    /// slot `from`, without a clone: the count moves with it, so a
    /// detached object stays detached. Nothing if both pick the same slot.
    MoveEdge { from: u8, to: u8 },
    /// `Gc::get_mut` on occupied slot `slot` (it succeeds when that handle
    /// is the node's only one and no weak reference exists; the node then
    /// leaves the generations, *detached*, until it is cloned, downgraded or
    /// reached by an edge a collection traces), and on success an edit of
    /// its edges through `RefCell::get_mut`, by `edit % 6`: 0 push a clone
    /// of occupied slot `arg` (made before `get_mut`, so it fails when that
    /// is the same node), 1 remove `edges[arg % len]`, 2 push the handle
    /// moved out of occupied slot `arg` (taken before, put back on failure;
    /// no move if it is `slot` itself), 3 nothing; then 4 moves the handle
    /// of `slot` into the edges of occupied slot `arg` (as
    /// [`Op::MoveEdge`]), and 5 does 0 and then 4 — the detached node and
    /// `arg` form a cycle closed without a new handle.
    GetMut { slot: u8, edit: u8, arg: u8 },
    /// Clone occupied slot `slot` into a holder and borrow that node's edge
    /// cell (`borrow_mut` if `mutable`, else `borrow`) for the next
    /// `1 + len % 6` operations (fewer at the end of the program or of an
    /// enclosing borrow), then release the guard and drop the holder.
    /// Nothing (the operations still run) if the cell is borrowed in a way
    /// that conflicts. A collection meanwhile cannot trace a mutably
    /// borrowed cell: its edges count as references from outside.
    Borrow { slot: u8, len: u8, mutable: bool },
    /// `gc::set_debug` with `DebugFlags::SAVEALL` on or off (`STATS` stays
    /// on: the checks read it).
    SaveAll(bool),
    /// `gc::clear_garbage()`.
    ClearGarbage,
    /// `slots[from % SLOTS].edges.push(slots[to % SLOTS].clone())` if both
    /// slots are occupied: [`Op::AddEdge`] addressed by slot, so that
    /// generators can build a cycle between the nodes they just made.
    Link { from: u8, to: u8 },
}

/// How a program runs and what is checked (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// No automatic collection; everything compared with the model.
    Exact,
    /// Automatic collection with small thresholds, no allocating finalizers;
    /// everything compared with the model, automatic collections included.
    Triggers,
    /// Automatic collection with small thresholds; invariants only.
    Auto,
    /// `Exact`, and a collection of [`PROBE_GENERATIONS`]`[k % 7]` after the
    /// `k`-th step, its value predicted.
    Probe,
    /// `Auto` with incremental full collections (`gc::set_incremental`):
    /// phases run between the steps; invariants only.
    Incremental,
}

/// A program: the mode and the operations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    pub mode: Mode,
    pub ops: Vec<Op>,
}

impl Program {
    /// Rust source for a regression test (`prog(Mode, &[...])`).
    pub fn to_rust(&self) -> String {
        let mut s = format!("prog({:?}, &[\n", self.mode);
        for op in &self.ops {
            let _ = writeln!(s, "    {op:?},");
        }
        s.push_str("])");
        s
    }
}

fn slot(s: u8) -> usize {
    usize::from(s) % SLOTS
}

/// The `i % n`-th of the `n` occupied slots.
fn pick<T>(slots: &[Option<T>], i: u8) -> Option<usize> {
    let n = slots.iter().filter(|s| s.is_some()).count();
    if n == 0 {
        return None;
    }
    slots
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_some())
        .nth(usize::from(i) % n)
        .map(|(k, _)| k)
}

fn weak_slot(w: u8) -> usize {
    usize::from(w) % WEAK_SLOTS
}

fn generation(g: u8) -> usize {
    usize::from(g) % 3
}

fn thresholds(t0: u8, t1: u8, t2: u8) -> (usize, usize, usize) {
    (
        usize::from(t0) % 16,
        usize::from(t1) % 8,
        usize::from(t2) % 8,
    )
}

fn junk_size(n: u8) -> usize {
    1 + usize::from(n) % 3
}

/// How many of the following operations a `Borrow` holds its guard for.
fn borrow_len(len: u8) -> usize {
    1 + usize::from(len) % 6
}

/// What `Op::GetMut` does with the `&mut` it got.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Edit {
    Push,
    Remove,
    Move,
    Touch,
    /// `Touch`, then the handle moved into `arg`'s edges.
    Stash,
    /// `Push`, then the handle moved into `arg`'s edges.
    Close,
}

fn edit_kind(e: u8) -> Edit {
    match e % 6 {
        0 => Edit::Push,
        1 => Edit::Remove,
        2 => Edit::Move,
        3 => Edit::Touch,
        4 => Edit::Stash,
        _ => Edit::Close,
    }
}

/// The debug flags of a program (`STATS` always: the checks parse it).
fn debug_flags(saveall: bool) -> DebugFlags {
    if saveall {
        DebugFlags::STATS | DebugFlags::SAVEALL
    } else {
        DebugFlags::STATS
    }
}

/// `Triggers` programs have no allocating finalizers.
fn effective(mode: Mode, fin: Fin) -> Fin {
    match (mode, fin) {
        (Mode::Triggers, Fin::Alloc(_)) => Fin::Count,
        _ => fin,
    }
}

// ---------------------------------------------------------------------------
// Byte encoding (the fuzz target's input format)
// ---------------------------------------------------------------------------

/// Longest program [`decode`] produces.
pub const MAX_DECODED_OPS: usize = 256;

/// Decode fuzzer bytes: the first byte selects the mode (`% 5`: exact,
/// triggers, auto, probe, incremental), then each operation is a tag byte (`% 22`)
/// followed by its arguments (missing bytes read as 0). Every byte string
/// is a program.
pub fn decode(data: &[u8]) -> Program {
    let mut it = data.iter().copied();
    let mode = match it.next().unwrap_or(0) % 5 {
        0 => Mode::Exact,
        1 => Mode::Triggers,
        2 => Mode::Auto,
        3 => Mode::Probe,
        _ => Mode::Incremental,
    };
    let mut ops = Vec::new();
    while let Some(tag) = it.next() {
        if ops.len() == MAX_DECODED_OPS {
            break;
        }
        let mut arg = || it.next().unwrap_or(0);
        let op = match tag % 22 {
            0 | 1 => {
                let s = arg();
                let k = arg();
                let fin = match k % 8 {
                    0 | 1 => Fin::Plain,
                    2 | 3 => Fin::Count,
                    4 | 5 => Fin::Resurrect(k / 8),
                    6 => Fin::Alloc(k / 8),
                    _ => Fin::Panic,
                };
                Op::New { slot: s, fin }
            }
            2 | 3 => Op::AddEdge {
                from: arg(),
                to: arg(),
            },
            4 => Op::RemoveEdge {
                from: arg(),
                idx: arg(),
            },
            5 | 6 => Op::DropHandle { slot: arg() },
            7 => Op::CloneHandle {
                from: arg(),
                to: arg(),
            },
            8 => Op::Downgrade {
                slot: arg(),
                weak: arg(),
            },
            9 => Op::Upgrade {
                weak: arg(),
                slot: arg(),
            },
            10 => Op::Collect,
            11 => Op::CollectGeneration(arg()),
            12 => Op::Freeze,
            13 => Op::Unfreeze,
            14 => Op::ClearRescued,
            15 => Op::SetThreshold(arg(), arg(), arg()),
            16 => Op::MoveEdge {
                from: arg(),
                to: arg(),
            },
            17 => Op::GetMut {
                slot: arg(),
                edit: arg(),
                arg: arg(),
            },
            18 => Op::Borrow {
                slot: arg(),
                len: arg(),
                mutable: arg() % 2 == 1,
            },
            19 => Op::SaveAll(arg() % 2 == 1),
            20 => Op::ClearGarbage,
            _ => Op::Link {
                from: arg(),
                to: arg(),
            },
        };
        ops.push(op);
    }
    Program { mode, ops }
}

/// The inverse of [`decode`] (for writing seed corpora).
pub fn encode(p: &Program) -> Vec<u8> {
    let mut out = vec![p.mode as u8];
    for op in &p.ops {
        match *op {
            Op::New { slot, fin } => {
                let k = match fin {
                    Fin::Plain => 0,
                    Fin::Count => 2,
                    Fin::Resurrect(k) => 4 + (k % 32) * 8,
                    Fin::Alloc(n) => 6 + (n % 32) * 8,
                    Fin::Panic => 7,
                };
                out.extend([0, slot, k]);
            }
            Op::AddEdge { from, to } => out.extend([2, from, to]),
            Op::RemoveEdge { from, idx } => out.extend([4, from, idx]),
            Op::DropHandle { slot } => out.extend([5, slot]),
            Op::CloneHandle { from, to } => out.extend([7, from, to]),
            Op::Downgrade { slot, weak } => out.extend([8, slot, weak]),
            Op::Upgrade { weak, slot } => out.extend([9, weak, slot]),
            Op::Collect => out.push(10),
            Op::CollectGeneration(g) => out.extend([11, g]),
            Op::Freeze => out.push(12),
            Op::Unfreeze => out.push(13),
            Op::ClearRescued => out.push(14),
            Op::SetThreshold(a, b, c) => out.extend([15, a, b, c]),
            Op::MoveEdge { from, to } => out.extend([16, from, to]),
            Op::GetMut { slot, edit, arg } => out.extend([17, slot, edit, arg]),
            Op::Borrow { slot, len, mutable } => out.extend([18, slot, len, u8::from(mutable)]),
            Op::SaveAll(on) => out.extend([19, u8::from(on)]),
            Op::ClearGarbage => out.push(20),
            Op::Link { from, to } => out.extend([21, from, to]),
        }
    }
    out
}

// ---------------------------------------------------------------------------
// The objects
// ---------------------------------------------------------------------------

/// What happened to each node, by id.
#[derive(Default, Debug)]
pub struct Book {
    /// Finalizer calls (kinds other than `Plain`).
    pub finalized: Vec<u32>,
    /// Drops of the node's value.
    pub dropped: Vec<u32>,
    /// Each node's finalizer kind.
    pub fins: Vec<Fin>,
    /// Violations noticed inside finalizers or drops.
    pub errors: Vec<String>,
}

/// Records the drop of the node it sits in.
struct Token {
    id: usize,
    book: Rc<RefCell<Book>>,
}

impl Drop for Token {
    fn drop(&mut self) {
        self.book.borrow_mut().dropped[self.id] += 1;
    }
}

/// A graph node.
#[derive(Trace)]
pub struct Node {
    #[gc(skip)]
    pub id: usize,
    #[gc(skip)]
    fin: Fin,
    pub edges: RefCell<Vec<Gc<Node>>>,
    #[gc(skip)]
    token: Token,
}

/// The payload of a finalizer's deliberate panic (filtered from the output).
pub struct ModelPanic;

/// How much of the interesting behaviour programs reached (summed over the
/// programs run on this thread), so tests can assert the generators are not
/// degenerate. Counted by the model, so only in the modes that have one.
#[derive(Clone, Copy, Debug, Default)]
pub struct Coverage {
    pub programs: usize,
    pub ops: usize,
    /// Collections (explicit ones) that found something.
    pub fruitful_collections: usize,
    /// Automatic collections during `Triggers` and `Auto` programs.
    pub automatic_collections: usize,
    /// Automatic collections the model predicted (`Triggers`), by generation.
    pub predicted_automatic: [usize; 3],
    /// Of those, the ones under a gen-0 threshold above 1.
    pub predicted_automatic_t0_above_1: usize,
    /// Nodes finalized and resurrected by the collector.
    pub resurrections: usize,
    /// Nodes found again by a collection after a finalizer resurrected them.
    pub refound_resurrected: usize,
    /// Nodes freed by the collector / by counting (exact mode).
    pub freed_by_collector: usize,
    pub freed_by_counting: usize,
    /// `gc::count().0` compared exactly / skipped as order dependent.
    pub count0_checked: usize,
    pub count0_unknown: usize,
    pub upgrades_ok: usize,
    pub upgrades_failed: usize,
    /// Panicking / allocating finalizers that ran.
    pub panics: usize,
    pub allocations: usize,
    /// Found by a full collection after `unfreeze` (garbage made frozen).
    pub thawed_found: usize,
    /// `Gc::get_mut` that succeeded / failed.
    pub get_mut_ok: usize,
    pub get_mut_failed: usize,
    /// Detached nodes re-attached by an edge a collection traced, and the
    /// nodes found unreachable by the analysis rounds that followed.
    pub reattached_by_trace: usize,
    pub found_in_later_rounds: usize,
    /// Edges to detached nodes a collection could not trace (mutably
    /// borrowed cell).
    pub untraced_detached: usize,
    /// Collections while some cell was mutably borrowed.
    pub collections_while_borrowed: usize,
    /// Nodes found unreachable after a borrow whose holder was their last
    /// root was released.
    pub found_after_release: usize,
    /// Nodes kept by `SAVEALL`, and nodes found again after a clear.
    pub saved: usize,
    pub saved_refound: usize,
    /// `Probe` collections, those that found something, and the young
    /// ones among them.
    pub probes: usize,
    pub fruitful_probes: usize,
    pub fruitful_young_probes: usize,
    /// Young collections (generation 1) that found garbage from both young
    /// generations, and young collections that left garbage in their
    /// generations because it hangs on to something older.
    pub young_spanning: usize,
    pub young_left_garbage: usize,
    /// Incremental full collections finished in `Incremental` programs, and
    /// the unreachable objects their final steps found.
    pub incremental_phases: usize,
    pub incremental_found: usize,
    /// `Auto` programs run with their forced-dirty twins, and the
    /// collections their clean runs skipped as provably empty (the ones
    /// the comparison checks).
    pub twins: usize,
    pub twin_skipped: usize,
}

thread_local! {
    static COVERAGE: Cell<Coverage> = Cell::new(Coverage::default());
}

/// The coverage counters of this thread.
pub fn coverage() -> Coverage {
    COVERAGE.with(Cell::get)
}

fn cover(f: impl FnOnce(&mut Coverage)) {
    COVERAGE.with(|c| {
        let mut v = c.get();
        f(&mut v);
        c.set(v);
    })
}

thread_local! {
    /// Where resurrecting finalizers store what they rescue.
    static RESCUE: RefCell<Vec<Gc<Node>>> = const { RefCell::new(Vec::new()) };
    /// Live `Junk` objects.
    static JUNK_LIVE: Cell<usize> = const { Cell::new(0) };
    /// What the debug sink received (`DebugFlags::STATS` lines).
    static SINK: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    /// What the collection callback saw: (`Phase::Stop`?, info).
    static CALLS: RefCell<Vec<(bool, gc::CallbackInfo)>> = const { RefCell::new(Vec::new()) };
    /// What a twin run observed, in order (see [`run`]).
    static TWIN_LOG: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    /// Whether this run is the forced-dirty twin (see [`run`]).
    static DIRTY: Cell<bool> = const { Cell::new(false) };
    /// The tracked object whose handle the forced-dirty twin clones and
    /// drops (see [`poke`]).
    static DIRTIER: RefCell<Option<Gc<Dirtier>>> = const { RefCell::new(None) };
}

impl Finalize for Node {
    fn finalize(&self) {
        {
            let mut book = self.token.book.borrow_mut();
            if book.dropped[self.id] != 0 {
                book.errors
                    .push(format!("node {} finalized after its drop", self.id));
            }
            if self.fin != Fin::Plain {
                book.finalized[self.id] += 1;
            }
        }
        match self.fin {
            Fin::Plain | Fin::Count => {}
            Fin::Resurrect(k) => {
                let rescued = {
                    let edges = self.edges.borrow();
                    (!edges.is_empty()).then(|| edges[usize::from(k) % edges.len()].clone())
                };
                if let Some(r) = rescued {
                    RESCUE.with(|l| l.borrow_mut().push(r));
                }
            }
            Fin::Alloc(n) => {
                cover(|c| c.allocations += 1);
                alloc_junk(junk_size(n))
            }
            Fin::Panic => {
                cover(|c| c.panics += 1);
                std::panic::panic_any(ModelPanic)
            }
        }
    }
}

/// Garbage left behind by allocating finalizers.
#[derive(Trace, Finalize)]
struct Junk {
    next: RefCell<Option<Gc<Junk>>>,
    #[gc(skip)]
    _probe: JunkProbe,
}

struct JunkProbe;

impl Drop for JunkProbe {
    fn drop(&mut self) {
        JUNK_LIVE.with(|c| c.set(c.get() - 1));
    }
}

fn junk() -> Gc<Junk> {
    JUNK_LIVE.with(|c| c.set(c.get() + 1));
    Gc::new(Junk {
        next: RefCell::new(None),
        _probe: JunkProbe,
    })
}

/// One tracked object freed at once, then a garbage cycle of `n` objects.
fn alloc_junk(n: usize) {
    poke();
    drop(junk());
    poke();
    let first = junk();
    let mut last = first.clone();
    for _ in 1..n {
        poke();
        let j = junk();
        *last.next.borrow_mut() = Some(j.clone());
        last = j;
    }
    *last.next.borrow_mut() = Some(first);
}

/// A tracked object that twin runs hold for the whole program (a new one
/// after every `Freeze`, so that it is always in the generations), in
/// both twins alike, so that it changes no count between them.
#[derive(Trace, Finalize)]
struct Dirtier {
    _unused: RefCell<Option<Gc<Dirtier>>>,
}

/// Give a twin run its [`Dirtier`] (again: the one before may be frozen).
fn renew_dirtier() {
    let new = Gc::new(Dirtier {
        _unused: RefCell::new(None),
    });
    let old = DIRTIER.with(|d| d.borrow_mut().replace(new));
    drop(old);
}

/// In the forced-dirty twin, a decrement to nonzero of an object in the
/// generations (a clone of the dirtier's handle, dropped): an event that
/// forbids the next collection to skip its analysis (see gc-core's
/// `heap/epoch.rs`). Called before every operation and every allocation
/// of an allocating finalizer.
fn poke() {
    if DIRTY.with(Cell::get) {
        DIRTIER.with(|d| {
            if let Some(d) = &*d.borrow() {
                drop(Gc::clone(d));
            }
        });
    }
}

/// Record what a twin run observed (see [`run`]).
fn twin_log(line: impl FnOnce() -> String) {
    if DIRTIER.with(|d| d.borrow().is_some()) {
        let line = line();
        TWIN_LOG.with(|l| l.borrow_mut().push(line));
    }
}

/// Ends a twin run (also by a panic): the dirtier goes, the flag and the
/// log are reset.
struct Twin;

impl Drop for Twin {
    fn drop(&mut self) {
        let d = DIRTIER.with(|d| d.borrow_mut().take());
        drop(d);
        DIRTY.with(|c| c.set(false));
        TWIN_LOG.with(|l| l.borrow_mut().clear());
    }
}

fn rescue_take() -> Vec<Gc<Node>> {
    RESCUE.with(|l| std::mem::take(&mut *l.borrow_mut()))
}

/// The ids on the rescue list (without making handles).
fn rescue_ids() -> Vec<usize> {
    RESCUE.with(|l| l.borrow().iter().map(|g| g.id).collect())
}

/// Let the deliberate finalizer panics through silently (they are caught by
/// the collector); every other panic goes to the hook installed before.
pub fn install_panic_filter() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !info.payload().is::<ModelPanic>() {
                previous(info);
            }
        }));
    });
}

/// The debug sink of a program: keeps what the collector writes.
struct Capture;

impl std::io::Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        SINK.with(|s| s.borrow_mut().extend_from_slice(b));
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One collection as reported (and predicted): its generation, the sizes
/// of generations 0–2 and of the frozen set when it started, and the
/// number of unreachable objects it found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    pub generation: usize,
    pub sizes: [usize; 3],
    pub frozen: usize,
    pub found: usize,
}

/// Parse `gc: done: generation G, objects per generation A B C (frozen F),
/// N unreachable, U uncollectable, T elapsed`.
fn parse_stats(line: &str) -> Option<(Record, usize)> {
    let t: Vec<&str> = line.split_whitespace().collect();
    let num = |i: usize| -> Option<usize> {
        t.get(i)?
            .trim_matches(|c: char| !c.is_ascii_digit())
            .parse()
            .ok()
    };
    let record = Record {
        generation: num(3)?,
        sizes: [num(7)?, num(8)?, num(9)?],
        frozen: num(11)?,
        found: num(12)?,
    };
    Some((record, num(14)?))
}

/// The `STATS` lines written since the last call (complete lines only).
fn take_stats_lines() -> Result<Vec<(Record, usize)>, String> {
    let text = SINK.with(|s| {
        let mut s = s.borrow_mut();
        let end = s.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        let rest = s.split_off(end);
        String::from_utf8_lossy(&std::mem::replace(&mut *s, rest)).into_owned()
    });
    let mut out = Vec::new();
    for line in text.lines().filter(|l| l.starts_with("gc: done:")) {
        out.push(parse_stats(line).ok_or_else(|| format!("unparsable STATS line {line:?}"))?);
    }
    Ok(out)
}

fn take_calls() -> Vec<(bool, gc::CallbackInfo)> {
    CALLS.with(|c| std::mem::take(&mut *c.borrow_mut()))
}

fn forget_reports() {
    SINK.with(|s| s.borrow_mut().clear());
    drop(take_calls());
}

// ---------------------------------------------------------------------------
// The system under test
// ---------------------------------------------------------------------------

/// What an operation returned, for comparison with the model.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    None,
    Collected(usize),
    Upgraded(bool),
    /// Whether `Gc::get_mut` gave access.
    GotMut(bool),
    /// The node a `Borrow` borrowed, if it could.
    Borrowed(Option<usize>),
}

/// The borrows the enclosing `Op::Borrow`s hold while the operations in
/// their ranges run: the holders' handles (roots) and, by node id, the
/// edge vectors of the cells held mutably (reachable through their guards
/// only).
#[derive(Default)]
pub struct Held<'a> {
    holders: Vec<&'a Gc<Node>>,
    guards: Vec<(usize, &'a mut Vec<Gc<Node>>)>,
}

impl Held<'_> {
    /// The same borrows, for a nested range that adds its own.
    fn reborrow(&mut self) -> Held<'_> {
        Held {
            holders: self.holders.clone(),
            guards: self
                .guards
                .iter_mut()
                .map(|(id, v)| (*id, &mut **v))
                .collect(),
        }
    }

    fn guard(&self, id: usize) -> Option<&Vec<Gc<Node>>> {
        self.guards
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, v)| &**v)
    }

    fn guard_mut(&mut self, id: usize) -> Option<&mut Vec<Gc<Node>>> {
        self.guards
            .iter_mut()
            .find(|(i, _)| *i == id)
            .map(|(_, v)| &mut **v)
    }
}

/// Whether the edges of `a` can be changed now: its cell is not borrowed,
/// or a `Borrow` holds it mutably (then they change through its guard).
fn editable(a: &Node, held: &Held) -> bool {
    a.edges.try_borrow_mut().is_ok() || held.guard(a.id).is_some()
}

/// Run `f` on the edges of `a` if they can be changed now (see
/// [`editable`]).
fn edit<R>(a: &Node, held: &mut Held, f: impl FnOnce(&mut Vec<Gc<Node>>) -> R) -> Option<R> {
    if let Ok(mut e) = a.edges.try_borrow_mut() {
        return Some(f(&mut e));
    }
    held.guard_mut(a.id).map(f)
}

/// Every node reachable from `g` not in `out` yet: its strong count and the
/// ids of its edges. Makes no handle (the checks must not change counts).
fn walk(g: &Gc<Node>, held: &Held, out: &mut BTreeMap<usize, (usize, Vec<usize>)>) {
    if out.contains_key(&g.id) {
        return;
    }
    let strong = Gc::strong_count(g);
    match held.guard(g.id) {
        Some(edges) => {
            out.insert(g.id, (strong, edges.iter().map(|e| e.id).collect()));
            for e in edges {
                walk(e, held, out);
            }
        }
        None => {
            let edges = g.edges.borrow();
            out.insert(g.id, (strong, edges.iter().map(|e| e.id).collect()));
            for e in edges.iter() {
                walk(e, held, out);
            }
        }
    }
}

/// The roots the test holds.
pub struct Real {
    mode: Mode,
    slots: Vec<Option<Gc<Node>>>,
    /// Each with its target's id (the checks do not upgrade).
    weaks: Vec<Option<(Weak<Node>, usize)>>,
    book: Rc<RefCell<Book>>,
}

impl Real {
    fn new(mode: Mode, book: Rc<RefCell<Book>>) -> Real {
        Real {
            mode,
            slots: (0..SLOTS).map(|_| None).collect(),
            weaks: (0..WEAK_SLOTS).map(|_| None).collect(),
            book,
        }
    }

    fn apply(&mut self, op: &Op, held: &mut Held) -> Outcome {
        match *op {
            Op::New { slot: s, fin } => {
                let fin = effective(self.mode, fin);
                let id = {
                    let mut b = self.book.borrow_mut();
                    b.finalized.push(0);
                    b.dropped.push(0);
                    b.fins.push(fin);
                    b.dropped.len() - 1
                };
                let node = Gc::new(Node {
                    id,
                    fin,
                    edges: RefCell::new(Vec::new()),
                    token: Token {
                        id,
                        book: self.book.clone(),
                    },
                });
                let old = self.slots[slot(s)].replace(node);
                drop(old);
            }
            Op::AddEdge { from, to } => {
                if let (Some(a), Some(b)) = (pick(&self.slots, from), pick(&self.slots, to)) {
                    let (a, b) = (
                        self.slots[a].as_ref().unwrap(),
                        self.slots[b].as_ref().unwrap(),
                    );
                    edit(a, held, |e| e.push(b.clone()));
                }
            }
            Op::RemoveEdge { from, idx } => {
                if let Some(a) = pick(&self.slots, from) {
                    let a = self.slots[a].as_ref().unwrap();
                    let removed = edit(a, held, |edges| {
                        let len = edges.len();
                        (len > 0).then(|| edges.remove(usize::from(idx) % len))
                    });
                    drop(removed); // outside the borrow: may run finalizers
                }
            }
            Op::DropHandle { slot: s } => {
                if let Some(s) = pick(&self.slots, s) {
                    drop(self.slots[s].take());
                }
            }
            Op::CloneHandle { from, to } => {
                if let Some(a) = pick(&self.slots, from).and_then(|a| self.slots[a].clone()) {
                    let old = self.slots[slot(to)].replace(a);
                    drop(old);
                }
            }
            Op::Downgrade { slot: s, weak } => {
                if let Some(a) = pick(&self.slots, s) {
                    let a = self.slots[a].as_ref().unwrap();
                    self.weaks[weak_slot(weak)] = Some((Gc::downgrade(a), a.id));
                }
            }
            Op::Upgrade { weak, slot: s } => {
                if let Some((w, _)) = &self.weaks[weak_slot(weak)] {
                    let up = w.upgrade();
                    let ok = up.is_some();
                    cover(|c| {
                        if ok {
                            c.upgrades_ok += 1
                        } else {
                            c.upgrades_failed += 1
                        }
                    });
                    if let Some(g) = up {
                        let old = self.slots[slot(s)].replace(g);
                        drop(old);
                    }
                    return Outcome::Upgraded(ok);
                }
            }
            Op::Collect => return Outcome::Collected(gc::collect()),
            Op::CollectGeneration(g) => {
                return Outcome::Collected(gc::collect_generation(generation(g)))
            }
            Op::Freeze => {
                gc::freeze();
                if DIRTIER.with(|d| d.borrow().is_some()) {
                    renew_dirtier();
                }
            }
            Op::Unfreeze => gc::unfreeze(),
            Op::ClearRescued => drop(rescue_take()),
            Op::SetThreshold(a, b, c) => {
                let (t0, t1, t2) = thresholds(a, b, c);
                gc::set_threshold(t0, t1, t2);
            }
            Op::MoveEdge { from, to } => {
                if let (Some(f), Some(t)) = (pick(&self.slots, from), pick(&self.slots, to)) {
                    if f != t && editable(self.slots[f].as_ref().unwrap(), held) {
                        let h = self.slots[t].take().unwrap();
                        edit(self.slots[f].as_ref().unwrap(), held, |e| e.push(h));
                    }
                }
            }
            Op::GetMut {
                slot: s,
                edit: kind,
                arg,
            } => {
                if let Some(s) = pick(&self.slots, s) {
                    let t = pick(&self.slots, arg).unwrap();
                    let (ok, stash) = match edit_kind(kind) {
                        Edit::Stash => (self.get_mut(s, Edit::Touch, arg), true),
                        Edit::Close => (self.get_mut(s, Edit::Push, arg), true),
                        other => (self.get_mut(s, other, arg), false),
                    };
                    if ok && stash && t != s && editable(self.slots[t].as_ref().unwrap(), held) {
                        let h = self.slots[s].take().unwrap();
                        edit(self.slots[t].as_ref().unwrap(), held, |e| e.push(h));
                    }
                    cover(|c| {
                        if ok {
                            c.get_mut_ok += 1
                        } else {
                            c.get_mut_failed += 1
                        }
                    });
                    return Outcome::GotMut(ok);
                }
            }
            // Run by `run_ops`, which holds the guard.
            Op::Borrow { .. } => {}
            Op::SaveAll(on) => gc::set_debug(debug_flags(on)),
            Op::ClearGarbage => gc::clear_garbage(),
            Op::Link { from, to } => {
                if let (Some(a), Some(b)) = (&self.slots[slot(from)], &self.slots[slot(to)]) {
                    edit(a, held, |e| e.push(b.clone()));
                }
            }
        }
        Outcome::None
    }

    /// `Op::GetMut` on slot `s` (occupied); whether `get_mut` gave access.
    fn get_mut(&mut self, s: usize, kind: Edit, arg: u8) -> bool {
        match kind {
            Edit::Push => {
                let t = pick(&self.slots, arg).unwrap();
                let extra = self.slots[t].clone().unwrap();
                match Gc::get_mut(self.slots[s].as_mut().unwrap()) {
                    Some(n) => {
                        n.edges.get_mut().push(extra);
                        true
                    }
                    None => {
                        drop(extra);
                        false
                    }
                }
            }
            Edit::Remove => {
                let mut removed = None;
                let ok = match Gc::get_mut(self.slots[s].as_mut().unwrap()) {
                    Some(n) => {
                        let edges = n.edges.get_mut();
                        let len = edges.len();
                        if len > 0 {
                            removed = Some(edges.remove(usize::from(arg) % len));
                        }
                        true
                    }
                    None => false,
                };
                drop(removed); // after the `&mut`: may run finalizers
                ok
            }
            Edit::Move => {
                let t = pick(&self.slots, arg).unwrap();
                if t == s {
                    return Gc::get_mut(self.slots[s].as_mut().unwrap()).is_some();
                }
                let h = self.slots[t].take().unwrap();
                match Gc::get_mut(self.slots[s].as_mut().unwrap()) {
                    Some(n) => {
                        n.edges.get_mut().push(h);
                        true
                    }
                    None => {
                        self.slots[t] = Some(h);
                        false
                    }
                }
            }
            Edit::Touch => Gc::get_mut(self.slots[s].as_mut().unwrap()).is_some(),
            Edit::Stash | Edit::Close => unreachable!("split by `apply`"),
        }
    }

    /// The holder of `Op::Borrow`: a clone of occupied slot `slot` if its
    /// cell can be borrowed that way.
    fn borrow_target(&self, slot: u8, mutable: bool) -> Option<Gc<Node>> {
        let a = self.slots[pick(&self.slots, slot)?].as_ref().unwrap();
        let free = if mutable {
            a.edges.try_borrow_mut().is_ok()
        } else {
            a.edges.try_borrow().is_ok()
        };
        free.then(|| a.clone())
    }

    /// Every node reachable from the slots, the holders and the rescue
    /// list: its strong count and the ids of its edges.
    fn graph(&self, held: &Held) -> BTreeMap<usize, (usize, Vec<usize>)> {
        let mut out = BTreeMap::new();
        for g in self.slots.iter().flatten() {
            walk(g, held, &mut out);
        }
        for g in &held.holders {
            walk(g, held, &mut out);
        }
        RESCUE.with(|l| {
            for g in l.borrow().iter() {
                walk(g, held, &mut out);
            }
        });
        out
    }
}

// ---------------------------------------------------------------------------
// The oracle
// ---------------------------------------------------------------------------

/// Where a live object is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Gen {
    Young(usize),
    Frozen,
    /// Taken out of the generations by `Gc::get_mut`.
    Detached,
}

#[derive(Clone, Debug)]
struct MNode {
    fin: Fin,
    edges: Vec<usize>,
    /// Slot handles + edges from live nodes + rescue entries + holders +
    /// `SAVEALL` entries.
    strong: usize,
    freed: bool,
    finalized: bool,
    generation: Gen,
    /// Bumped whenever the node's weak references are cleared.
    weak_epoch: u32,
    /// Coverage marks: unfrozen, saved by `SAVEALL`, left without a root
    /// by the release of a borrow.
    thawed: bool,
    was_saved: bool,
    released: bool,
}

/// A garbage cycle an allocating finalizer left.
#[derive(Clone, Copy, Debug)]
struct MJunk {
    size: usize,
    generation: Gen,
    /// Kept in `gc::garbage()` by `SAVEALL`.
    saved: bool,
}

/// The plain graph model of the heap (exact mode).
#[derive(Clone, Debug)]
pub struct Model {
    nodes: Vec<MNode>,
    slots: Vec<Option<usize>>,
    /// Target and the target's weak epoch when the weak was made.
    weaks: Vec<Option<(usize, u32)>>,
    rescue: Vec<usize>,
    /// The holders of the borrows in progress, and the nodes whose cells
    /// they hold mutably / shared (one entry per borrow).
    holders: Vec<usize>,
    borrowed_mut: Vec<usize>,
    borrowed_shared: Vec<usize>,
    /// `gc::garbage()` (its nodes; its junk is marked `saved`).
    saved: Vec<usize>,
    saveall: bool,
    junk: Vec<MJunk>,
    /// `gc::count().0`, `None` while saturation makes it order dependent.
    count0: Option<usize>,
    counts: [usize; 3],
    /// `collections` and `collected` per generation since the start.
    stats: [(usize, usize); 3],
    thresholds: (usize, usize, usize),
    mode: Mode,
    /// Automatic collection on (`Triggers` until the finale).
    enabled: bool,
    /// CPython's long-lived rule: objects that survived the last full
    /// collection, and objects moved to generation 2 since.
    long_lived_total: usize,
    long_lived_pending: usize,
    /// Objects in the generations / frozen that are not the program's.
    foreign: [usize; 3],
    foreign_frozen: usize,
    /// Inside `collect`: re-attachments wait for its end.
    collecting: bool,
    reattach_later: Vec<usize>,
    /// Collections since the last check.
    log: Vec<Record>,
    /// `Probe` collections so far.
    probes: usize,
}

/// Allocations and frees of tracked objects in a step whose internal order
/// the model does not fix.
#[derive(Default, Clone, Copy)]
struct Churn {
    allocs: usize,
    frees: usize,
}

fn remove_one(v: &mut Vec<usize>, x: usize) {
    let i = v
        .iter()
        .position(|&y| y == x)
        .expect("oracle: entry to remove");
    v.remove(i);
}

impl Model {
    fn new(mode: Mode, thresholds: (usize, usize, usize), base: &Baseline) -> Model {
        let foreign: usize = base.gens.iter().sum();
        Model {
            mode,
            enabled: mode == Mode::Triggers,
            // `reset` ended with a full collection that kept only these
            long_lived_total: foreign,
            long_lived_pending: 0,
            foreign: base.gens,
            foreign_frozen: base.frozen,
            nodes: Vec::new(),
            slots: vec![None; SLOTS],
            weaks: vec![None; WEAK_SLOTS],
            rescue: Vec::new(),
            holders: Vec::new(),
            borrowed_mut: Vec::new(),
            borrowed_shared: Vec::new(),
            saved: Vec::new(),
            saveall: false,
            junk: Vec::new(),
            count0: Some(0),
            counts: [0; 3],
            stats: [(0, 0); 3],
            thresholds,
            collecting: false,
            reattach_later: Vec::new(),
            log: Vec::new(),
            probes: 0,
        }
    }

    /// Apply one unordered batch of allocations and frees to `count0`
    /// (frees saturate at 0, as CPython's `gc_dealloc` does).
    fn churn(&mut self, c: Churn) {
        self.count0 = match self.count0 {
            Some(n) if n >= c.frees => Some(n + c.allocs - c.frees),
            Some(n) if c.allocs == 0 => Some(n.saturating_sub(c.frees)),
            _ => None,
        };
    }

    fn dec(&mut self, n: usize, zeros: &mut Vec<usize>) {
        let node = &mut self.nodes[n];
        assert!(!node.freed && node.strong > 0, "oracle: bad decrement");
        node.strong -= 1;
        if node.strong == 0 {
            zeros.push(n);
        }
    }

    /// Give up one count of each of `nodes`, freeing what that releases.
    fn dec_all(&mut self, nodes: impl IntoIterator<Item = usize>) {
        let mut zeros = Vec::new();
        for n in nodes {
            self.dec(n, &mut zeros);
        }
        let mut churn = Churn::default();
        self.release(zeros, &mut churn);
        self.churn(churn);
    }

    /// A new handle or weak reference to `n` was made: if `Gc::get_mut`
    /// detached it, it is back in generation 0 (at the end of the running
    /// collection, if one runs).
    fn reattach(&mut self, n: usize) {
        if self.nodes[n].generation == Gen::Detached {
            if self.collecting {
                self.reattach_later.push(n);
            } else {
                self.nodes[n].generation = Gen::Young(0);
            }
        }
    }

    /// `Gc::get_mut` gives access: the only handle, no weak reference.
    fn can_get_mut(&self, n: usize) -> bool {
        self.nodes[n].strong == 1 && self.weak_count(n) == 0
    }

    /// Whether the edges of `n` can be changed (its cell is not borrowed
    /// shared).
    fn editable(&self, n: usize) -> bool {
        !self.borrowed_shared.contains(&n)
    }

    /// Run a finalizer's effects (if it has not run yet).
    fn finalize(&mut self, n: usize, churn: &mut Churn) {
        if self.nodes[n].finalized {
            return;
        }
        self.nodes[n].finalized = true;
        match self.nodes[n].fin {
            Fin::Plain | Fin::Count | Fin::Panic => {}
            Fin::Resurrect(k) => {
                let edges = &self.nodes[n].edges;
                if !edges.is_empty() {
                    let t = edges[usize::from(k) % edges.len()];
                    self.rescue.push(t);
                    self.nodes[t].strong += 1;
                    self.reattach(t);
                }
            }
            Fin::Alloc(k) => {
                let size = junk_size(k);
                self.junk.push(MJunk {
                    size,
                    generation: Gen::Young(0),
                    saved: false,
                });
                churn.allocs += size;
            }
        }
    }

    /// Free, by counting, the nodes whose strong count reached zero and
    /// whatever that releases in turn.
    fn release(&mut self, mut zeros: Vec<usize>, churn: &mut Churn) {
        while let Some(n) = zeros.pop() {
            cover(|c| c.freed_by_counting += 1);
            self.nodes[n].freed = true;
            self.nodes[n].weak_epoch += 1;
            churn.frees += 1;
            self.finalize(n, churn);
            for t in std::mem::take(&mut self.nodes[n].edges) {
                self.dec(t, &mut zeros);
            }
        }
    }

    /// Put `new` in slot `s` (a new handle), releasing what was there.
    fn set_slot(&mut self, s: usize, new: Option<usize>) {
        if let Some(n) = new {
            self.nodes[n].strong += 1;
            self.reattach(n);
        }
        self.replace_slot(s, new);
    }

    /// Put `new` (whose count is already taken) in slot `s`, releasing what
    /// was there.
    fn replace_slot(&mut self, s: usize, new: Option<usize>) {
        let old = std::mem::replace(&mut self.slots[s], new);
        self.dec_all(old);
    }

    fn weak_valid(&self, w: (usize, u32)) -> bool {
        let n = &self.nodes[w.0];
        !n.freed && n.weak_epoch == w.1
    }

    fn apply(&mut self, op: &Op) -> Outcome {
        match *op {
            Op::New { slot: s, fin } => {
                // `Gc::new` links the node (its one count being the handle
                // under construction) into generation 0, which may start an
                // automatic collection; then the handle goes to the slot.
                self.nodes.push(MNode {
                    fin: effective(self.mode, fin),
                    edges: Vec::new(),
                    strong: 1,
                    freed: false,
                    finalized: false,
                    generation: Gen::Young(0),
                    weak_epoch: 0,
                    thawed: false,
                    was_saved: false,
                    released: false,
                });
                self.churn(Churn {
                    allocs: 1,
                    frees: 0,
                });
                let t0 = self.thresholds.0;
                if self.enabled && t0 != 0 && self.count0.is_some_and(|c| c > t0) {
                    self.collect_automatic();
                }
                self.replace_slot(slot(s), Some(self.nodes.len() - 1));
            }
            Op::AddEdge { from, to } => {
                if let (Some(a), Some(b)) = (pick(&self.slots, from), pick(&self.slots, to)) {
                    let (a, b) = (self.slots[a].unwrap(), self.slots[b].unwrap());
                    if self.editable(a) {
                        self.nodes[a].edges.push(b);
                        self.nodes[b].strong += 1;
                        self.reattach(b);
                    }
                }
            }
            Op::RemoveEdge { from, idx } => {
                if let Some(a) = pick(&self.slots, from).and_then(|a| self.slots[a]) {
                    let len = self.nodes[a].edges.len();
                    if len > 0 && self.editable(a) {
                        let t = self.nodes[a].edges.remove(usize::from(idx) % len);
                        self.dec_all([t]);
                    }
                }
            }
            Op::DropHandle { slot: s } => {
                if let Some(s) = pick(&self.slots, s) {
                    self.set_slot(s, None);
                }
            }
            Op::CloneHandle { from, to } => {
                if let Some(a) = pick(&self.slots, from).and_then(|a| self.slots[a]) {
                    self.set_slot(slot(to), Some(a));
                }
            }
            Op::Downgrade { slot: s, weak } => {
                if let Some(a) = pick(&self.slots, s).and_then(|a| self.slots[a]) {
                    self.reattach(a);
                    self.weaks[weak_slot(weak)] = Some((a, self.nodes[a].weak_epoch));
                }
            }
            Op::Upgrade { weak, slot: s } => {
                if let Some(w) = self.weaks[weak_slot(weak)] {
                    let ok = self.weak_valid(w);
                    if ok {
                        self.set_slot(slot(s), Some(w.0));
                    }
                    return Outcome::Upgraded(ok);
                }
            }
            Op::Collect => return Outcome::Collected(self.collect(2)),
            Op::CollectGeneration(g) => return Outcome::Collected(self.collect(generation(g))),
            Op::Freeze => {
                for n in &mut self.nodes {
                    if !n.freed && n.generation != Gen::Detached {
                        n.generation = Gen::Frozen;
                    }
                }
                for j in &mut self.junk {
                    j.generation = Gen::Frozen;
                }
                self.count0 = Some(0);
            }
            Op::Unfreeze => {
                for n in &mut self.nodes {
                    if !n.freed && n.generation == Gen::Frozen {
                        n.generation = Gen::Young(2);
                        n.thawed = true;
                    }
                }
                for j in &mut self.junk {
                    if j.generation == Gen::Frozen {
                        j.generation = Gen::Young(2);
                    }
                }
            }
            Op::ClearRescued => {
                let rescued = std::mem::take(&mut self.rescue);
                self.dec_all(rescued);
            }
            Op::SetThreshold(a, b, c) => self.thresholds = thresholds(a, b, c),
            Op::MoveEdge { from, to } => {
                if let (Some(f), Some(t)) = (pick(&self.slots, from), pick(&self.slots, to)) {
                    let a = self.slots[f].unwrap();
                    if f != t && self.editable(a) {
                        let b = self.slots[t].take().unwrap();
                        self.nodes[a].edges.push(b);
                    }
                }
            }
            Op::GetMut {
                slot: s,
                edit: kind,
                arg,
            } => {
                if let Some(s) = pick(&self.slots, s) {
                    let t = pick(&self.slots, arg).unwrap();
                    let (ok, stash) = match edit_kind(kind) {
                        Edit::Stash => (self.get_mut(s, Edit::Touch, arg), true),
                        Edit::Close => (self.get_mut(s, Edit::Push, arg), true),
                        other => (self.get_mut(s, other, arg), false),
                    };
                    if ok && stash && t != s && self.editable(self.slots[t].unwrap()) {
                        let b = self.slots[s].take().unwrap();
                        self.nodes[self.slots[t].unwrap()].edges.push(b);
                    }
                    return Outcome::GotMut(ok);
                }
            }
            Op::Borrow { .. } => {}
            Op::SaveAll(on) => self.saveall = on,
            Op::ClearGarbage => {
                for j in &mut self.junk {
                    j.saved = false;
                }
                let saved = std::mem::take(&mut self.saved);
                self.dec_all(saved);
            }
            Op::Link { from, to } => {
                if let (Some(a), Some(b)) = (self.slots[slot(from)], self.slots[slot(to)]) {
                    if self.editable(a) {
                        self.nodes[a].edges.push(b);
                        self.nodes[b].strong += 1;
                        self.reattach(b);
                    }
                }
            }
        }
        Outcome::None
    }

    /// `Op::GetMut` on slot `s` (occupied).
    fn get_mut(&mut self, s: usize, kind: Edit, arg: u8) -> bool {
        let n = self.slots[s].unwrap();
        match kind {
            Edit::Push => {
                let t = self.slots[pick(&self.slots, arg).unwrap()].unwrap();
                self.nodes[t].strong += 1;
                self.reattach(t);
                if self.can_get_mut(n) {
                    self.nodes[n].generation = Gen::Detached;
                    self.nodes[n].edges.push(t);
                    true
                } else {
                    self.nodes[t].strong -= 1;
                    false
                }
            }
            Edit::Remove => {
                if !self.can_get_mut(n) {
                    return false;
                }
                self.nodes[n].generation = Gen::Detached;
                let len = self.nodes[n].edges.len();
                if len > 0 {
                    let t = self.nodes[n].edges.remove(usize::from(arg) % len);
                    self.dec_all([t]);
                }
                true
            }
            Edit::Move => {
                let t = pick(&self.slots, arg).unwrap();
                if !self.can_get_mut(n) {
                    return false;
                }
                self.nodes[n].generation = Gen::Detached;
                if t != s {
                    let b = self.slots[t].take().unwrap();
                    self.nodes[n].edges.push(b);
                }
                true
            }
            Edit::Touch => {
                let ok = self.can_get_mut(n);
                if ok {
                    self.nodes[n].generation = Gen::Detached;
                }
                ok
            }
            Edit::Stash | Edit::Close => unreachable!("split by `apply`"),
        }
    }

    /// The start of `Op::Borrow`: the node borrowed, if it can be.
    fn borrow_begin(&mut self, slot: u8, mutable: bool) -> Option<usize> {
        let a = self.slots[pick(&self.slots, slot)?].unwrap();
        let free =
            !self.borrowed_mut.contains(&a) && (!mutable || !self.borrowed_shared.contains(&a));
        if !free {
            return None;
        }
        self.nodes[a].strong += 1;
        self.reattach(a);
        self.holders.push(a);
        if mutable {
            self.borrowed_mut.push(a);
        } else {
            self.borrowed_shared.push(a);
        }
        Some(a)
    }

    /// The end of `Op::Borrow`: the guard released, the holder dropped.
    fn borrow_end(&mut self, a: usize, mutable: bool) {
        if mutable {
            remove_one(&mut self.borrowed_mut, a);
        } else {
            remove_one(&mut self.borrowed_shared, a);
        }
        remove_one(&mut self.holders, a);
        self.dec_all([a]);
        // Coverage: what the holder was the last root of.
        let live = self.reachable_from_roots();
        let saved: BTreeSet<usize> = self.saved.iter().copied().collect();
        let mut stack = vec![a];
        let mut seen = BTreeSet::new();
        while let Some(n) = stack.pop() {
            if self.nodes[n].freed || live.contains(&n) || saved.contains(&n) || !seen.insert(n) {
                continue;
            }
            self.nodes[n].released = true;
            stack.extend(&self.nodes[n].edges);
        }
    }

    /// The members of `set` reachable from those referenced from outside
    /// it. The edges of a node whose cell is borrowed mutably are not seen
    /// (the collector cannot trace it): they count as outside references.
    fn reachable_within(&self, set: &BTreeSet<usize>) -> BTreeSet<usize> {
        let traced = |n: &usize| !self.borrowed_mut.contains(n);
        let mut internal: BTreeMap<usize, usize> = BTreeMap::new();
        for n in set.iter().filter(|n| traced(n)) {
            for &t in &self.nodes[*n].edges {
                if set.contains(&t) {
                    *internal.entry(t).or_default() += 1;
                }
            }
        }
        let mut stack: Vec<usize> = set
            .iter()
            .copied()
            .filter(|n| self.nodes[*n].strong > internal.get(n).copied().unwrap_or(0))
            .collect();
        let mut seen = BTreeSet::new();
        while let Some(n) = stack.pop() {
            if !seen.insert(n) {
                continue;
            }
            if traced(&n) {
                for &t in &self.nodes[n].edges {
                    if set.contains(&t) {
                        stack.push(t);
                    }
                }
            }
        }
        seen
    }

    /// CPython's trigger: collect the oldest generation whose count passes
    /// its threshold, generation 2 only under the long-lived rule.
    fn collect_automatic(&mut self) {
        let t = [self.thresholds.0, self.thresholds.1, self.thresholds.2];
        for g in (0..3).rev() {
            let count = if g == 0 {
                self.count0.unwrap_or(0)
            } else {
                self.counts[g]
            };
            if count <= t[g] {
                continue;
            }
            if g == 2 && self.long_lived_pending < self.long_lived_total / 4 {
                continue;
            }
            cover(|c| {
                c.predicted_automatic[g] += 1;
                c.predicted_automatic_t0_above_1 += usize::from(t[0] > 1);
            });
            self.collect(g);
            return;
        }
    }

    /// Objects (nodes and junk) in `generation`.
    fn size(&self, generation: Gen) -> usize {
        self.nodes
            .iter()
            .filter(|n| !n.freed && n.generation == generation)
            .count()
            + self
                .junk
                .iter()
                .filter(|j| j.generation == generation)
                .map(|j| j.size)
                .sum::<usize>()
    }

    /// What the debug output reports at the start of a collection.
    fn sizes(&self) -> ([usize; 3], usize) {
        (
            [0, 1, 2].map(|g| self.size(Gen::Young(g)) + self.foreign[g]),
            self.size(Gen::Frozen) + self.foreign_frozen,
        )
    }

    /// A collection of generation `g` (younger ones merged in), as PEP 442,
    /// CPython's `gc_collect_main` and gc-core's re-attachment prescribe.
    /// Returns the number found.
    fn collect(&mut self, g: usize) -> usize {
        let (sizes, frozen) = self.sizes();
        let in_scope = |generation: Gen| matches!(generation, Gen::Young(x) if x <= g);
        if g < 2 {
            self.counts[g + 1] += 1;
        }
        for c in &mut self.counts[..=g] {
            *c = 0;
        }
        self.count0 = Some(0);
        self.collecting = true;
        let start: BTreeSet<usize> = (0..self.nodes.len())
            .filter(|&n| !self.nodes[n].freed && in_scope(self.nodes[n].generation))
            .collect();
        let was: BTreeMap<usize, (Gen, bool)> = start
            .iter()
            .map(|&n| (n, (self.nodes[n].generation, self.nodes[n].finalized)))
            .collect();
        let live = self.reachable_from_roots();
        if !self.borrowed_mut.is_empty() {
            cover(|c| c.collections_while_borrowed += 1);
        }
        // Trial deletion, again with the detached objects that an edge a
        // member's trace reported re-attached, until no more are; each
        // round analyses every member again (the garbage found so far too).
        let mut members = start.clone();
        let mut unreachable: BTreeSet<usize> = BTreeSet::new();
        let mut round = 0;
        let reachable = loop {
            let mut reattached = BTreeSet::new();
            for &m in &members {
                for &t in &self.nodes[m].edges {
                    if self.nodes[t].generation == Gen::Detached {
                        if self.borrowed_mut.contains(&m) {
                            cover(|c| c.untraced_detached += 1);
                        } else {
                            reattached.insert(t);
                        }
                    }
                }
            }
            let reachable = self.reachable_within(&members);
            let lost: BTreeSet<usize> = members.difference(&reachable).copied().collect();
            debug_assert!(
                unreachable.is_subset(&lost),
                "more members, fewer outside refs"
            );
            if round > 0 {
                cover(|c| c.found_in_later_rounds += lost.len() - unreachable.len());
            }
            unreachable = lost;
            if reattached.is_empty() {
                break reachable;
            }
            cover(|c| c.reattached_by_trace += reattached.len());
            for &t in &reattached {
                self.nodes[t].generation = Gen::Young(0);
            }
            members.extend(reattached);
            round += 1;
        };
        let older = Gen::Young((g + 1).min(2));
        for &n in &reachable {
            self.nodes[n].generation = older;
        }
        // Junk: saved junk is referenced from `gc::garbage()`, the rest is
        // garbage.
        let mut junk_found = 0;
        let mut junk_kept = 0;
        let saveall = self.saveall;
        self.junk.retain_mut(|j| {
            if !in_scope(j.generation) {
                return true;
            }
            j.generation = older;
            if j.saved {
                junk_kept += j.size;
                return true;
            }
            junk_found += j.size;
            j.saved = saveall;
            saveall
        });
        match g {
            1 => self.long_lived_pending += reachable.len() + junk_kept,
            2 => {
                self.long_lived_pending = 0;
                self.long_lived_total =
                    reachable.len() + junk_kept + self.foreign.iter().sum::<usize>();
            }
            _ => {}
        }
        let found = unreachable.len() + junk_found;
        self.stats[g].0 += 1;
        self.stats[g].1 += found;
        cover(|c| {
            for n in &unreachable {
                let node = &self.nodes[*n];
                c.thawed_found += usize::from(node.thawed && g == 2);
                c.refound_resurrected += usize::from(was.get(n).is_some_and(|w| w.1));
                c.saved_refound += usize::from(node.was_saved);
                c.found_after_release += usize::from(node.released);
            }
            let gens: BTreeSet<usize> = unreachable
                .iter()
                .filter_map(|n| match was.get(n) {
                    Some((Gen::Young(x), _)) => Some(*x),
                    _ => None,
                })
                .collect();
            c.young_spanning += usize::from(g == 1 && gens.len() > 1);
            c.young_left_garbage += usize::from(
                g < 2
                    && reachable
                        .iter()
                        .any(|n| !live.contains(n) && start.contains(n) && !self.saved.contains(n)),
            );
        });
        // (1) weak references cleared
        for &n in &unreachable {
            self.nodes[n].weak_epoch += 1;
        }
        // (2) finalizers; junk they allocate starts from a zero count
        let mut churn = Churn::default();
        for &n in &unreachable {
            self.finalize(n, &mut churn);
        }
        self.count0 = Some(churn.allocs);
        // (3) resurrection
        let resurrected = self.reachable_within(&unreachable);
        cover(|c| {
            c.resurrections += resurrected.len();
            c.fruitful_collections += usize::from(found > 0);
        });
        for &n in &resurrected {
            self.nodes[n].generation = older;
        }
        let garbage: Vec<usize> = unreachable.difference(&resurrected).copied().collect();
        if saveall {
            // (4) `SAVEALL`: kept in `gc::garbage()`, aged with the survivors
            cover(|c| c.saved += garbage.len());
            for &n in &garbage {
                let node = &mut self.nodes[n];
                node.strong += 1;
                node.generation = older;
                node.was_saved = true;
                self.saved.push(n);
            }
        } else {
            // (4) teardown: values dropped (releasing what only they held),
            // then every garbage object leaves the count
            cover(|c| c.freed_by_collector += garbage.len());
            for &n in &garbage {
                self.nodes[n].freed = true;
            }
            let mut zeros = Vec::new();
            for &n in &garbage {
                for t in std::mem::take(&mut self.nodes[n].edges) {
                    if !self.nodes[t].freed {
                        self.dec(t, &mut zeros);
                    }
                }
            }
            // The walk frees each garbage object right after its value's
            // drop, whose cascade may free and allocate (finalizers of
            // objects only garbage referred to, e.g. a re-attached node):
            // one batch whose order the model does not fix.
            let mut churn = Churn {
                allocs: 0,
                frees: garbage.len() + junk_found,
            };
            self.release(zeros, &mut churn);
            self.churn(churn);
        }
        self.collecting = false;
        for n in std::mem::take(&mut self.reattach_later) {
            if !self.nodes[n].freed && self.nodes[n].generation == Gen::Detached {
                self.nodes[n].generation = Gen::Young(0);
            }
        }
        self.log.push(Record {
            generation: g,
            sizes,
            frozen,
            found,
        });
        found
    }

    /// Nodes reachable from the slots, the holders and the rescue list.
    fn reachable_from_roots(&self) -> BTreeSet<usize> {
        let mut stack: Vec<usize> = self.slots.iter().flatten().copied().collect();
        stack.extend(&self.rescue);
        stack.extend(&self.holders);
        let mut seen = BTreeSet::new();
        while let Some(n) = stack.pop() {
            if seen.insert(n) {
                stack.extend(&self.nodes[n].edges);
            }
        }
        seen
    }

    fn weak_count(&self, n: usize) -> usize {
        self.weaks
            .iter()
            .flatten()
            .filter(|w| w.0 == n && self.weak_valid(**w))
            .count()
    }

    /// Strong counts recomputed from the structure (a self-check).
    fn check_self(&self) -> Result<(), String> {
        let mut strong = vec![0; self.nodes.len()];
        for &n in self
            .slots
            .iter()
            .flatten()
            .chain(&self.rescue)
            .chain(&self.holders)
            .chain(&self.saved)
        {
            strong[n] += 1;
        }
        for node in self.nodes.iter().filter(|n| !n.freed) {
            for &t in &node.edges {
                strong[t] += 1;
            }
        }
        for (i, node) in self.nodes.iter().enumerate() {
            if node.freed {
                if strong[i] != 0 || !node.edges.is_empty() {
                    return Err(format!("oracle: freed node {i} still referenced"));
                }
            } else if strong[i] != node.strong || node.strong == 0 {
                return Err(format!(
                    "oracle: node {i} strong {} but structure says {}",
                    node.strong, strong[i]
                ));
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------

macro_rules! ensure {
    ($cond:expr, $($fmt:tt)*) => {
        if !$cond {
            return Err(format!($($fmt)*));
        }
    };
}

/// The heap as it was before the program (objects left by others).
#[derive(Clone, Copy, Debug)]
pub struct Baseline {
    gens: [usize; 3],
    frozen: usize,
    stats: [gc::GenerationStats; 3],
    census_nodes: usize,
    census_junk: usize,
}

fn census_counts() -> (usize, usize) {
    let c = gc::census();
    (
        c.get(std::any::type_name::<Node>()).count,
        c.get(std::any::type_name::<Junk>()).count,
    )
}

fn baseline() -> Baseline {
    let (census_nodes, census_junk) = census_counts();
    Baseline {
        gens: [0, 1, 2].map(|g| gc::objects(Some(g)).len()),
        frozen: gc::freeze_count(),
        stats: gc::stats(),
        census_nodes,
        census_junk,
    }
}

fn ids_sorted(v: impl IntoIterator<Item = usize>) -> Vec<usize> {
    let mut v: Vec<usize> = v.into_iter().collect();
    v.sort_unstable();
    v
}

fn check_book_sane(book: &Book) -> Result<(), String> {
    ensure!(book.errors.is_empty(), "{}", book.errors.join("; "));
    for (id, (&f, &d)) in book.finalized.iter().zip(&book.dropped).enumerate() {
        ensure!(f <= 1, "node {id} finalized {f} times");
        ensure!(d <= 1, "node {id} dropped {d} times");
    }
    Ok(())
}

/// The collections since the last check, as the debug output and the
/// callbacks report them, against the model's.
fn check_collections(m: &mut Model) -> Result<(), String> {
    let expected = std::mem::take(&mut m.log);
    let lines = take_stats_lines()?;
    let calls = take_calls();
    let reported: Vec<Record> = lines.iter().map(|l| l.0).collect();
    ensure!(
        reported == expected,
        "collections reported {reported:?}, oracle says {expected:?}"
    );
    for (r, u) in &lines {
        ensure!(*u == 0, "{u} uncollectable objects reported in {r:?}");
    }
    ensure!(
        calls.len() == 2 * expected.len(),
        "{} callback calls for {} collections",
        calls.len(),
        expected.len()
    );
    for (pair, e) in calls.chunks(2).zip(&expected) {
        let (start, stop) = (pair[0], pair[1]);
        let want = |collected| gc::CallbackInfo {
            generation: e.generation,
            collected,
            uncollectable: 0,
        };
        ensure!(
            !start.0 && start.1 == want(0) && stop.0 && stop.1 == want(e.found),
            "callbacks saw {pair:?} for {e:?}"
        );
    }
    Ok(())
}

/// Everything the model predicts, compared with the heap. Quiet (no handle
/// is made or dropped) unless `loud`, which adds `gc::objects` per
/// generation and `gc::garbage()`.
fn check_exact(
    real: &Real,
    m: &mut Model,
    base: &Baseline,
    held: &Held,
    loud: bool,
) -> Result<(), String> {
    m.check_self()?;
    check_collections(m)?;
    {
        let book = real.book.borrow();
        check_book_sane(&book)?;
        for (id, node) in m.nodes.iter().enumerate() {
            let fin = u32::from(node.finalized && node.fin != Fin::Plain);
            ensure!(
                book.finalized[id] == fin,
                "node {id}: finalized {} times, oracle says {fin}",
                book.finalized[id]
            );
            ensure!(
                book.dropped[id] == u32::from(node.freed),
                "node {id}: dropped {} times, oracle says freed={}",
                book.dropped[id],
                node.freed
            );
        }
    }
    for (s, (r, &e)) in real.slots.iter().zip(&m.slots).enumerate() {
        ensure!(
            r.as_ref().map(|g| g.id) == e,
            "slot {s}: holds {:?}, oracle says {e:?}",
            r.as_ref().map(|g| g.id)
        );
        if let (Some(g), Some(n)) = (r, e) {
            let node = &m.nodes[n];
            ensure!(gc::is_tracked(g), "node {n} not tracked");
            ensure!(
                gc::is_finalized(g) == node.finalized,
                "node {n}: is_finalized {}, oracle says {}",
                gc::is_finalized(g),
                node.finalized
            );
            ensure!(
                Gc::weak_count(g) == m.weak_count(n),
                "node {n}: weak_count {}, oracle says {}",
                Gc::weak_count(g),
                m.weak_count(n)
            );
        }
    }
    for (w, (r, &e)) in real.weaks.iter().zip(&m.weaks).enumerate() {
        ensure!(
            r.is_some() == e.is_some(),
            "weak slot {w} occupancy differs"
        );
        if let (Some((r, id)), Some(e)) = (r, e) {
            ensure!(
                *id == e.0,
                "weak slot {w}: to node {id}, oracle says {}",
                e.0
            );
            // (`strong_count` is 0 exactly when `upgrade` gives `None`.)
            let alive = r.strong_count() > 0;
            ensure!(
                alive == m.weak_valid(e),
                "weak slot {w} (node {}): alive {alive}, oracle says {}",
                e.0,
                m.weak_valid(e)
            );
        }
    }
    let rescued = ids_sorted(rescue_ids());
    ensure!(
        rescued == ids_sorted(m.rescue.iter().copied()),
        "rescue list {rescued:?}, oracle says {:?}",
        ids_sorted(m.rescue.iter().copied())
    );
    let graph = real.graph(held);
    let expected = m.reachable_from_roots();
    ensure!(
        graph.keys().copied().eq(expected.iter().copied()),
        "reachable nodes {:?}, oracle says {expected:?}",
        graph.keys().collect::<Vec<_>>()
    );
    for (&id, (strong, edges)) in &graph {
        ensure!(
            *edges == m.nodes[id].edges,
            "node {id}: edges {edges:?}, oracle says {:?}",
            m.nodes[id].edges
        );
        ensure!(
            *strong == m.nodes[id].strong,
            "node {id}: strong_count {strong}, oracle says {}",
            m.nodes[id].strong
        );
    }
    let count = gc::count();
    if let Some(c0) = m.count0 {
        cover(|c| c.count0_checked += 1);
        ensure!(
            count.0 == c0,
            "gc::count().0 is {}, oracle says {c0}",
            count.0
        );
    } else {
        cover(|c| c.count0_unknown += 1);
    }
    ensure!(
        (count.1, count.2) == (m.counts[1], m.counts[2]),
        "gc::count() is {count:?}, oracle says (_, {}, {})",
        m.counts[1],
        m.counts[2]
    );
    for (g, (now, before)) in gc::stats().iter().zip(&base.stats).enumerate() {
        let got = (
            now.collections - before.collections,
            now.collected - before.collected,
        );
        ensure!(
            got == m.stats[g],
            "stats[{g}] (collections, collected) {got:?}, oracle says {:?}",
            m.stats[g]
        );
        ensure!(
            now.uncollectable == before.uncollectable,
            "uncollectable objects in generation {g}"
        );
    }
    let frozen = gc::freeze_count() - base.frozen;
    ensure!(
        frozen == m.size(Gen::Frozen),
        "freeze_count {frozen}, oracle says {}",
        m.size(Gen::Frozen)
    );
    // Tracked nodes in the generations or frozen: all but the freed and
    // the detached ones.
    let (nodes, junk_tracked) = census_counts();
    let attached = m
        .nodes
        .iter()
        .filter(|n| !n.freed && n.generation != Gen::Detached)
        .count();
    ensure!(
        nodes - base.census_nodes == attached,
        "{} nodes in the generations, oracle says {attached} (detached: {:?})",
        nodes - base.census_nodes,
        (0..m.nodes.len())
            .filter(|&n| !m.nodes[n].freed && m.nodes[n].generation == Gen::Detached)
            .collect::<Vec<_>>()
    );
    let junk: usize = m.junk.iter().map(|j| j.size).sum();
    let live_junk = JUNK_LIVE.with(Cell::get);
    ensure!(
        live_junk == junk && junk_tracked - base.census_junk == junk,
        "{live_junk} junk objects alive ({} tracked), oracle says {junk}",
        junk_tracked - base.census_junk
    );
    ensure!(
        gc::is_enabled() == m.enabled,
        "gc::is_enabled() is {}, oracle says {}",
        gc::is_enabled(),
        m.enabled
    );
    ensure!(
        gc::threshold() == m.thresholds,
        "thresholds {:?}, oracle says {:?}",
        gc::threshold(),
        m.thresholds
    );
    ensure!(
        gc::debug() == debug_flags(m.saveall),
        "debug flags {:?}, oracle says SAVEALL={}",
        gc::debug(),
        m.saveall
    );
    if loud {
        for g in 0..3 {
            let got = gc::objects(Some(g)).len() - base.gens[g];
            ensure!(
                got == m.size(Gen::Young(g)),
                "generation {g} holds {got} objects, oracle says {}",
                m.size(Gen::Young(g))
            );
        }
        let garbage = gc::garbage();
        let saved = ids_sorted(
            garbage
                .iter()
                .filter_map(|o| o.downcast_ref::<Node>())
                .map(|n| n.id),
        );
        let saved_junk = garbage.iter().filter(|o| o.is::<Junk>()).count();
        drop(garbage);
        ensure!(
            saved == ids_sorted(m.saved.iter().copied()),
            "gc::garbage() holds nodes {saved:?}, oracle says {:?}",
            ids_sorted(m.saved.iter().copied())
        );
        let junk_saved: usize = m.junk.iter().filter(|j| j.saved).map(|j| j.size).sum();
        ensure!(
            saved_junk == junk_saved,
            "gc::garbage() holds {saved_junk} junk objects, oracle says {junk_saved}"
        );
    }
    Ok(())
}

/// What holds whatever automatic collections did.
fn check_auto(real: &Real, held: &Held) -> Result<(), String> {
    forget_reports();
    let book = real.book.borrow();
    check_book_sane(&book)?;
    let graph = real.graph(held);
    let mut refs: BTreeMap<usize, usize> = BTreeMap::new();
    for id in real
        .slots
        .iter()
        .flatten()
        .chain(held.holders.iter().copied())
        .map(|g| g.id)
        .chain(rescue_ids())
    {
        *refs.entry(id).or_default() += 1;
    }
    for (_, edges) in graph.values() {
        for &t in edges {
            *refs.entry(t).or_default() += 1;
        }
    }
    for (&id, (strong, _)) in &graph {
        ensure!(book.dropped[id] == 0, "reachable node {id} was dropped");
        ensure!(
            *strong >= refs[&id],
            "node {id}: strong_count {strong} below the {} references the test sees",
            refs[&id]
        );
    }
    for (w, r) in real.weaks.iter().enumerate() {
        if let Some((r, id)) = r {
            ensure!(
                r.strong_count() == 0 || book.dropped[*id] == 0,
                "weak slot {w} to dropped node {id} still upgrades"
            );
        }
    }
    Ok(())
}

/// After a full collection with nothing frozen, borrowed or saved: the
/// live nodes are exactly the reachable ones.
fn check_only_reachable_live(real: &Real) -> Result<(), String> {
    let book = real.book.borrow();
    let live: Vec<usize> = (0..book.dropped.len())
        .filter(|&id| book.dropped[id] == 0)
        .collect();
    let reachable: Vec<usize> = real.graph(&Held::default()).keys().copied().collect();
    ensure!(
        live == reachable,
        "after a full collection nodes {live:?} are alive but only {reachable:?} are reachable"
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// Running a program
// ---------------------------------------------------------------------------

/// Drop the rescue list and collect until nothing is found (bounded: every
/// round that finds something finalizes or frees an object for good).
fn collect_to_fixpoint(limit: usize) -> Result<(), String> {
    for _ in 0..limit {
        let rescued = rescue_take();
        let had = !rescued.is_empty();
        drop(rescued);
        let found = gc::collect();
        if found == 0 && !had && RESCUE.with(|l| l.borrow().is_empty()) {
            return Ok(());
        }
    }
    Err(format!(
        "no fixpoint after {limit} rounds of clearing the rescue list and collecting"
    ))
}

/// Collect what earlier programs on this thread left and set the heap up.
fn reset() {
    install_panic_filter();
    gc::set_debug(gc::DebugFlags::empty());
    gc::set_debug_output(Some(Box::new(std::io::sink())));
    gc::disable();
    gc::set_incremental(false);
    gc::unfreeze();
    gc::clear_garbage();
    // Leftovers of a failed program are bounded; give up quietly otherwise.
    let _ = collect_to_fixpoint(10_000);
}

/// The collection callback of a program, removed when the program ends
/// (even by a panic, so that the next program on the thread has only its
/// own).
struct Callback(gc::CallbackId);

impl Drop for Callback {
    fn drop(&mut self) {
        gc::remove_callback(self.0);
    }
}

/// Run `p` on this thread's heap; `Err` describes the first discrepancy.
///
/// `Auto` programs, which have no model to predict their collections, run
/// twice: as written, and as a *forced-dirty twin* that
/// makes a decrement to nonzero ([`poke`]) before every operation and every
/// allocation of a finalizer, so that no collection of the twin can skip
/// its analysis as provably empty. Both runs must pass their checks and
/// observe the same: every operation's outcome, and every collection's
/// generation, `gc::count()` at its start, what it found and what was
/// uncollectable. So a skip criterion that is too eager fails here as
/// soon as it changes what any collection finds. (Not `Incremental`
/// programs: there a heap with no event runs a due full collection at once,
/// as a skip, where one with events begins a phase, so the twins
/// legitimately see different collections; see gc-core's
/// `collector/incremental.rs`.)
pub fn run(p: &Program) -> Result<(), String> {
    if p.mode != Mode::Auto {
        return run_once(p, false);
    }
    let clean = run_twin(p, false)?;
    let dirty = run_twin(p, true).map_err(|e| format!("the forced-dirty twin: {e}"))?;
    if let Some(k) = (0..clean.len().max(dirty.len())).find(|&k| clean.get(k) != dirty.get(k)) {
        let show = |log: &[String]| log[k.saturating_sub(3)..(k + 1).min(log.len())].join("\n  ");
        return Err(format!(
            "the forced-dirty twin observed something else at event {k}:\n  {}\nthe program as written:\n  {}",
            show(&dirty),
            show(&clean)
        ));
    }
    Ok(())
}

/// One of [`run`]'s two runs of `p` (the forced-dirty twin if `dirty`):
/// what it observed.
fn run_twin(p: &Program, dirty: bool) -> Result<Vec<String>, String> {
    let twin = Twin;
    DIRTY.with(|c| c.set(dirty));
    let result = run_once(p, true);
    let log = TWIN_LOG.with(|l| std::mem::take(&mut *l.borrow_mut()));
    drop(twin);
    result.map(|()| log)
}

/// One run of `p`; `twin` when [`run`] runs it twice (then the run holds a
/// [`Dirtier`] and logs what it observes).
fn run_once(p: &Program, twin: bool) -> Result<(), String> {
    reset();
    let base = baseline();
    if twin {
        renew_dirtier();
    }
    let book = Rc::new(RefCell::new(Book::default()));
    let mut real = Real::new(p.mode, book.clone());
    gc::set_incremental(p.mode == Mode::Incremental);
    if matches!(p.mode, Mode::Triggers | Mode::Auto | Mode::Incremental) {
        let (t0, t1, t2) = if p.mode == Mode::Incremental {
            INCREMENTAL_THRESHOLDS
        } else {
            AUTO_THRESHOLDS
        };
        gc::set_threshold(t0, t1, t2);
        gc::enable();
    }
    forget_reports();
    gc::set_debug_output(Some(Box::new(Capture)));
    gc::set_debug(debug_flags(false));
    let callback = Callback(gc::add_callback(|phase, info| {
        let _ = CALLS.try_with(|c| c.borrow_mut().push((phase == Phase::Stop, *info)));
        twin_log(|| match phase {
            Phase::Start => format!(
                "collection of generation {} starts, count() {:?}",
                info.generation,
                gc::count()
            ),
            Phase::Stop => format!(
                "collection of generation {} found {}, {} uncollectable",
                info.generation, info.collected, info.uncollectable
            ),
        });
    }));
    let mut model = (!matches!(p.mode, Mode::Auto | Mode::Incremental))
        .then(|| Model::new(p.mode, gc::threshold(), &base));
    cover(|c| {
        c.programs += 1;
        c.ops += p.ops.len();
    });
    let phases_before = gc::incremental_collections();
    let found_before = gc::stats()[2].collected;
    let skipped_before: usize = gc::skipped_collections().iter().sum();
    let mut result = execute(p, &mut real, model.as_mut(), &base);
    if twin {
        let skipped = gc::skipped_collections().iter().sum::<usize>() - skipped_before;
        if DIRTY.with(Cell::get) {
            if skipped > 0 && result.is_ok() {
                result = Err(format!(
                    "the forced-dirty twin skipped {skipped} collections: poke() did not force an analysis"
                ));
            }
        } else {
            cover(|c| {
                c.twins += 1;
                c.twin_skipped += skipped;
            });
        }
    }
    if p.mode == Mode::Incremental {
        let phases = gc::incremental_collections() - phases_before;
        // (Explicit full collections are counted too; Incremental programs
        // mostly rely on automatic ones.)
        let found = gc::stats()[2].collected - found_before;
        cover(|c| {
            c.incremental_phases += phases;
            c.incremental_found += if phases > 0 { found } else { 0 };
        });
    }
    if matches!(p.mode, Mode::Triggers | Mode::Auto | Mode::Incremental) {
        let all = gc::stats().iter().map(|s| s.collections).sum::<usize>()
            - base.stats.iter().map(|s| s.collections).sum::<usize>();
        let explicit = 1 + p
            .ops
            .iter()
            .filter(|o| matches!(o, Op::Collect | Op::CollectGeneration(_)))
            .count();
        let auto = all.saturating_sub(explicit);
        cover(|c| c.automatic_collections += auto);
    }
    // Tear everything down even after a failure, so the next program starts
    // from a clean heap.
    drop(callback);
    gc::set_debug(gc::DebugFlags::empty());
    gc::disable();
    gc::set_incremental(false);
    gc::unfreeze();
    gc::clear_garbage();
    let Real { slots, weaks, .. } = real;
    drop(slots);
    drop(weaks);
    let dirtier = DIRTIER.with(|d| d.borrow_mut().take());
    drop(dirtier);
    let nodes = book.borrow().dropped.len();
    let teardown = collect_to_fixpoint(2 * nodes + 4);
    gc::set_threshold(700, 10, 10);
    gc::enable();
    gc::set_debug_output(None);
    forget_reports();
    result?;
    teardown?;
    let book = book.borrow();
    check_book_sane(&book)?;
    for id in 0..book.dropped.len() {
        ensure!(
            book.dropped[id] == 1,
            "node {id} never dropped after the final collections"
        );
    }
    for (id, fin) in book.fins.iter().enumerate() {
        if *fin != Fin::Plain {
            ensure!(
                book.finalized[id] == 1,
                "node {id} ({fin:?}) finalized {} times in its life",
                book.finalized[id]
            );
        }
    }
    ensure!(
        JUNK_LIVE.with(Cell::get) == 0,
        "junk left after the final collections"
    );
    let left = [0, 1, 2].map(|g| gc::objects(Some(g)).len());
    ensure!(
        left == base.gens && gc::freeze_count() == base.frozen,
        "objects left in the generations: {left:?} (frozen {}), before the program {:?} (frozen {})",
        gc::freeze_count(),
        base.gens,
        base.frozen
    );
    Ok(())
}

/// Whether `p` fails (an `Err` or a panic).
pub fn fails(p: &Program) -> bool {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(p)));
    !matches!(r, Ok(Ok(())))
}

/// Shrink a failing program further than proptest does: delete runs of
/// operations (halving the run length down to 1) and simplify arguments
/// while it still fails — with any failure. Returns `p` if it passes.
pub fn minimize(p: &Program) -> Program {
    let mut best = p.clone();
    if !fails(&best) {
        return best;
    }
    let mut chunk = best.ops.len().div_ceil(2).max(1);
    loop {
        let mut progress = false;
        let mut i = 0;
        while i < best.ops.len() {
            let mut cand = best.clone();
            cand.ops.drain(i..(i + chunk).min(best.ops.len()));
            if fails(&cand) {
                best = cand;
                progress = true;
            } else {
                i += chunk;
            }
        }
        if !progress {
            if chunk == 1 {
                break;
            }
            chunk = chunk.div_ceil(2);
        }
    }
    for mode in [Mode::Exact, Mode::Triggers] {
        if best.mode == mode {
            break;
        }
        let cand = Program {
            mode,
            ops: best.ops.clone(),
        };
        if fails(&cand) {
            best = cand;
            break;
        }
    }
    for i in 0..best.ops.len() {
        for simpler in simplifications(&best.ops[i]) {
            let mut cand = best.clone();
            cand.ops[i] = simpler;
            if fails(&cand) {
                best = cand;
                break;
            }
        }
    }
    best
}

/// Simpler variants of an operation (smaller arguments, plainer finalizer).
fn simplifications(op: &Op) -> Vec<Op> {
    let mut out = Vec::new();
    match *op {
        Op::New { slot, fin } => {
            for f in [Fin::Plain, Fin::Count] {
                if f != fin {
                    out.push(Op::New { slot, fin: f });
                }
            }
            if let Fin::Resurrect(k) | Fin::Alloc(k) = fin {
                if k != 0 {
                    let fin = if matches!(fin, Fin::Resurrect(_)) {
                        Fin::Resurrect(0)
                    } else {
                        Fin::Alloc(0)
                    };
                    out.push(Op::New { slot, fin });
                }
            }
            if slot != 0 {
                out.push(Op::New { slot: 0, fin });
            }
        }
        Op::AddEdge { from, to } => {
            out.push(Op::AddEdge { from: 0, to });
            out.push(Op::AddEdge { from, to: 0 });
        }
        Op::RemoveEdge { from, idx } => {
            out.push(Op::RemoveEdge { from: 0, idx });
            out.push(Op::RemoveEdge { from, idx: 0 });
        }
        Op::DropHandle { .. } => out.push(Op::DropHandle { slot: 0 }),
        Op::CloneHandle { from, to } => {
            out.push(Op::CloneHandle { from: 0, to });
            out.push(Op::CloneHandle { from, to: 0 });
        }
        Op::Downgrade { slot, weak } => {
            out.push(Op::Downgrade { slot: 0, weak });
            out.push(Op::Downgrade { slot, weak: 0 });
        }
        Op::Upgrade { weak, slot } => {
            out.push(Op::Upgrade { weak: 0, slot });
            out.push(Op::Upgrade { weak, slot: 0 });
        }
        Op::CollectGeneration(_) => out.push(Op::Collect),
        Op::Link { from, to } => {
            out.push(Op::Link { from: 0, to });
            out.push(Op::Link { from, to: 0 });
        }
        Op::MoveEdge { from, to } => {
            out.push(Op::AddEdge { from, to });
            out.push(Op::MoveEdge { from: 0, to });
            out.push(Op::MoveEdge { from, to: 0 });
        }
        Op::GetMut { slot, edit, arg } => {
            out.push(Op::GetMut {
                slot,
                edit: 3,
                arg: 0,
            });
            out.push(Op::GetMut { slot: 0, edit, arg });
            out.push(Op::GetMut { slot, edit, arg: 0 });
        }
        Op::Borrow { slot, len, mutable } => {
            out.push(Op::Borrow {
                slot,
                len: 0,
                mutable,
            });
            out.push(Op::Borrow {
                slot: 0,
                len,
                mutable,
            });
            out.push(Op::Borrow {
                slot,
                len,
                mutable: false,
            });
        }
        _ => {}
    }
    out.retain(|o| o != op);
    out
}

/// With `MODEL_TRACE` set, print what each step returned (to follow a
/// failing program).
fn trace(line: impl FnOnce() -> String) {
    if std::env::var_os("MODEL_TRACE").is_some() {
        eprintln!("{}", line());
    }
}

/// The checks after a step (and, in `Probe` programs, the probe
/// collection first). `index` numbers the program's steps.
fn after_step(
    p: &Program,
    index: usize,
    what: &str,
    real: &Real,
    model: Option<&mut Model>,
    base: &Baseline,
    held: &Held,
) -> Result<(), String> {
    let Some(m) = model else {
        return check_auto(real, held).map_err(|e| format!("after {what}: {e}"));
    };
    if p.mode == Mode::Probe {
        let g = PROBE_GENERATIONS[m.probes % PROBE_GENERATIONS.len()];
        m.probes += 1;
        let got = gc::collect_generation(g);
        let expected = m.collect(g);
        trace(|| format!("  probe collect_generation({g}): {got}"));
        cover(|c| {
            c.probes += 1;
            c.fruitful_probes += usize::from(got > 0);
            c.fruitful_young_probes += usize::from(g < 2 && got > 0);
        });
        ensure!(
            got == expected,
            "after {what}: the probe collect_generation({g}) returned {got}, oracle says {expected}"
        );
    }
    let loud = p.mode != Mode::Probe && index % 16 == 15;
    check_exact(real, m, base, held, loud).map_err(|e| format!("after {what}: {e}"))
}

/// Run `ops` (the program's operations from number `first` on), each
/// `Borrow` holding its guard across the operations of its range.
fn run_ops(
    p: &Program,
    ops: &[Op],
    first: usize,
    real: &mut Real,
    mut model: Option<&mut Model>,
    base: &Baseline,
    held: &mut Held,
) -> Result<(), String> {
    let mut i = 0;
    while i < ops.len() {
        let index = first + i;
        let op = &ops[i];
        let what = format!("op #{index} {op:?}");
        poke();
        let Op::Borrow { slot, len, mutable } = *op else {
            let got = real.apply(op, held);
            trace(|| format!("{what}: {got:?}"));
            twin_log(|| format!("{what}: {got:?}"));
            if let Some(m) = model.as_deref_mut() {
                let expected = m.apply(op);
                ensure!(
                    got == expected,
                    "{what}: returned {got:?}, oracle says {expected:?}"
                );
            }
            after_step(p, index, &what, real, model.as_deref_mut(), base, held)?;
            i += 1;
            continue;
        };
        let range = &ops[i + 1..(i + 1 + borrow_len(len)).min(ops.len())];
        let holder = real.borrow_target(slot, mutable);
        let got = Outcome::Borrowed(holder.as_ref().map(|g| g.id));
        trace(|| format!("{what}: {got:?}"));
        twin_log(|| format!("{what}: {got:?}"));
        if let Some(m) = model.as_deref_mut() {
            let expected = Outcome::Borrowed(m.borrow_begin(slot, mutable));
            ensure!(
                got == expected,
                "{what}: returned {got:?}, oracle says {expected:?}"
            );
        }
        match holder {
            Some(holder) => {
                let id = holder.id;
                if mutable {
                    let mut guard = holder.edges.borrow_mut();
                    let mut inner = held.reborrow();
                    inner.holders.push(&holder);
                    inner.guards.push((id, &mut *guard));
                    after_step(p, index, &what, real, model.as_deref_mut(), base, &inner)?;
                    run_ops(
                        p,
                        range,
                        index + 1,
                        real,
                        model.as_deref_mut(),
                        base,
                        &mut inner,
                    )?;
                } else {
                    let _guard = holder.edges.borrow();
                    let mut inner = held.reborrow();
                    inner.holders.push(&holder);
                    after_step(p, index, &what, real, model.as_deref_mut(), base, &inner)?;
                    run_ops(
                        p,
                        range,
                        index + 1,
                        real,
                        model.as_deref_mut(),
                        base,
                        &mut inner,
                    )?;
                }
                // The guard is gone; dropping the holder may free the node.
                poke();
                drop(holder);
                if let Some(m) = model.as_deref_mut() {
                    m.borrow_end(id, mutable);
                }
                let what = format!("the end of the borrow of op #{index}");
                trace(|| what.clone());
                after_step(p, index, &what, real, model.as_deref_mut(), base, held)?;
            }
            None => {
                after_step(p, index, &what, real, model.as_deref_mut(), base, held)?;
                run_ops(p, range, index + 1, real, model.as_deref_mut(), base, held)?;
            }
        }
        i += 1 + range.len();
    }
    Ok(())
}

fn execute(
    p: &Program,
    real: &mut Real,
    mut model: Option<&mut Model>,
    base: &Baseline,
) -> Result<(), String> {
    let mut held = Held::default();
    run_ops(p, &p.ops, 0, real, model.as_deref_mut(), base, &mut held)?;
    if let Some(m) = model.as_deref_mut() {
        check_exact(real, m, base, &held, true)
            .map_err(|e| format!("at the end of the program: {e}"))?;
    }
    // Full collections with nothing frozen or saved and no automatic
    // collections, then every root dropped and two rounds of collection.
    gc::disable();
    if let Some(m) = model.as_deref_mut() {
        m.enabled = false;
    }
    // One full collection must leave exactly the reachable nodes alive,
    // even garbage that hangs on a re-attached node behind garbage found in
    // an earlier round of the same collection.
    let first = [
        Op::Unfreeze,
        Op::SaveAll(false),
        Op::ClearGarbage,
        Op::Collect,
    ];
    let mut rest: Vec<Op> = (0..SLOTS as u8)
        .map(|slot| Op::DropHandle { slot })
        .collect();
    rest.extend([Op::Collect, Op::ClearRescued, Op::Collect, Op::ClearRescued]);
    for (k, op) in first.iter().chain(&rest).enumerate() {
        if k == first.len() {
            check_only_reachable_live(real)?;
        }
        let what = format!("final {op:?}");
        poke();
        let got = real.apply(op, &mut held);
        twin_log(|| format!("{what}: {got:?}"));
        match model.as_deref_mut() {
            Some(m) => {
                let expected = m.apply(op);
                ensure!(
                    got == expected,
                    "{what}: returned {got:?}, oracle says {expected:?}"
                );
                check_exact(real, m, base, &held, true)
                    .map_err(|e| format!("after {what}: {e}"))?;
            }
            None => check_auto(real, &held).map_err(|e| format!("after {what}: {e}"))?,
        }
    }
    Ok(())
}
