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
//! node when no slot holds one does nothing.
//!
//! [`run`] executes a program on the calling thread's heap, in one of three
//! [`Mode`]s. In [`Mode::Exact`] automatic collection is off and every step
//! is compared with [`Model`], a plain graph with explicit strong counts:
//! which nodes are finalized and dropped (per node, through a [`Book`] the
//! nodes write to), strong and weak counts, `Weak::upgrade`, the value of
//! `gc::collect*`, `gc::count()`, `gc::stats()`, the size of every generation
//! and the frozen set, the rescue list, and the edges of everything
//! reachable. [`Mode::Triggers`] is the same with automatic collection on and
//! small thresholds: allocating finalizers act as counting ones, so tracked
//! objects are only allocated by `New`, and the model predicts every
//! automatic collection (thresholds, `count()`, the long-lived rule). In
//! [`Mode::Auto`] collections may start at any tracked allocation, including
//! inside finalizers that allocate in the middle of a cascade of frees, so
//! only what holds regardless is checked: nothing reachable is dropped,
//! nothing is finalized or dropped twice, and after a final full collection
//! the live nodes are exactly the reachable ones. Every program ends by
//! dropping every root and collecting until nothing is left: then every node
//! must have been dropped exactly once and every finalizer must have run
//! exactly once.

#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::rc::Rc;

use gc_core::{gc, Finalize, Gc, Trace, Weak};

/// Number of handle slots.
pub const SLOTS: usize = 12;
/// Number of weak slots.
pub const WEAK_SLOTS: usize = 6;
/// Thresholds set at the start of `Triggers` and `Auto` programs.
pub const AUTO_THRESHOLDS: (usize, usize, usize) = (1, 1, 1);

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
    /// `gc::set_threshold(t0 % 8, t1 % 4, t2 % 4)` (`t0 == 0` disables
    /// automatic collection).
    SetThreshold(u8, u8, u8),
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
        usize::from(t0) % 8,
        usize::from(t1) % 4,
        usize::from(t2) % 4,
    )
}

fn junk_size(n: u8) -> usize {
    1 + usize::from(n) % 3
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

/// Decode fuzzer bytes: the first byte selects the mode (`% 3`: exact,
/// triggers, auto), then
/// each operation is a tag byte followed by its arguments (missing bytes
/// read as 0). Every byte string is a program.
pub fn decode(data: &[u8]) -> Program {
    let mut it = data.iter().copied();
    let mode = match it.next().unwrap_or(0) % 3 {
        0 => Mode::Exact,
        1 => Mode::Triggers,
        _ => Mode::Auto,
    };
    let mut ops = Vec::new();
    while let Some(tag) = it.next() {
        if ops.len() == MAX_DECODED_OPS {
            break;
        }
        let mut arg = || it.next().unwrap_or(0);
        let op = match tag % 16 {
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
            _ => Op::SetThreshold(arg(), arg(), arg()),
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
/// degenerate.
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
    /// Nodes finalized and resurrected by the collector.
    pub resurrections: usize,
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
    drop(junk());
    let first = junk();
    let mut last = first.clone();
    for _ in 1..n {
        let j = junk();
        *last.next.borrow_mut() = Some(j.clone());
        last = j;
    }
    *last.next.borrow_mut() = Some(first);
}

fn rescue_take() -> Vec<Gc<Node>> {
    RESCUE.with(|l| std::mem::take(&mut *l.borrow_mut()))
}

fn rescue_handles() -> Vec<Gc<Node>> {
    RESCUE.with(|l| l.borrow().clone())
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

// ---------------------------------------------------------------------------
// The system under test
// ---------------------------------------------------------------------------

/// What an operation returned, for comparison with the model.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    None,
    Collected(usize),
    Upgraded(bool),
}

/// The roots the test holds.
pub struct Real {
    mode: Mode,
    slots: Vec<Option<Gc<Node>>>,
    weaks: Vec<Option<Weak<Node>>>,
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

    fn apply(&mut self, op: &Op) -> Outcome {
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
                    a.edges.borrow_mut().push(b.clone());
                }
            }
            Op::RemoveEdge { from, idx } => {
                if let Some(a) = pick(&self.slots, from) {
                    let a = self.slots[a].as_ref().unwrap();
                    let removed = {
                        let mut edges = a.edges.borrow_mut();
                        let len = edges.len();
                        (len > 0).then(|| edges.remove(usize::from(idx) % len))
                    };
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
                    self.weaks[weak_slot(weak)] = Some(Gc::downgrade(a));
                }
            }
            Op::Upgrade { weak, slot: s } => {
                if let Some(w) = &self.weaks[weak_slot(weak)] {
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
            Op::Freeze => gc::freeze(),
            Op::Unfreeze => gc::unfreeze(),
            Op::ClearRescued => drop(rescue_take()),
            Op::SetThreshold(a, b, c) => {
                let (t0, t1, t2) = thresholds(a, b, c);
                gc::set_threshold(t0, t1, t2);
            }
        }
        Outcome::None
    }

    /// Every node reachable from the slots and the rescue list: a handle to
    /// it and the ids of its edges.
    fn graph(&self) -> BTreeMap<usize, (Gc<Node>, Vec<usize>)> {
        let mut stack: Vec<Gc<Node>> = self.slots.iter().flatten().cloned().collect();
        stack.extend(rescue_handles());
        let mut out = BTreeMap::new();
        while let Some(n) = stack.pop() {
            if out.contains_key(&n.id) {
                continue;
            }
            let edges = n.edges.borrow().clone();
            let ids = edges.iter().map(|e| e.id).collect();
            stack.extend(edges);
            out.insert(n.id, (n, ids));
        }
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
}

#[derive(Clone, Debug)]
struct MNode {
    fin: Fin,
    edges: Vec<usize>,
    /// Slot handles + edges from live nodes + rescue entries.
    strong: usize,
    freed: bool,
    finalized: bool,
    generation: Gen,
    /// Bumped whenever the node's weak references are cleared.
    weak_epoch: u32,
}

/// The plain graph model of the heap (exact mode).
#[derive(Clone, Debug)]
pub struct Model {
    nodes: Vec<MNode>,
    slots: Vec<Option<usize>>,
    /// Target and the target's weak epoch when the weak was made.
    weaks: Vec<Option<(usize, u32)>>,
    rescue: Vec<usize>,
    /// Garbage cycles left by allocating finalizers: size and place.
    junk: Vec<(usize, Gen)>,
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
    /// Objects in the generations that are not the program's.
    foreign: usize,
}

/// Allocations and frees of tracked objects in a step whose internal order
/// the model does not fix.
#[derive(Default, Clone, Copy)]
struct Churn {
    allocs: usize,
    frees: usize,
}

impl Model {
    fn new(mode: Mode, thresholds: (usize, usize, usize), foreign: usize) -> Model {
        Model {
            mode,
            enabled: mode == Mode::Triggers,
            // `reset` ended with a full collection that kept only these
            long_lived_total: foreign,
            long_lived_pending: 0,
            foreign,
            nodes: Vec::new(),
            slots: vec![None; SLOTS],
            weaks: vec![None; WEAK_SLOTS],
            rescue: Vec::new(),
            junk: Vec::new(),
            count0: Some(0),
            counts: [0; 3],
            stats: [(0, 0); 3],
            thresholds,
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
                }
            }
            Fin::Alloc(k) => {
                let size = junk_size(k);
                self.junk.push((size, Gen::Young(0)));
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

    /// Put `new` in slot `s`, releasing what was there.
    fn set_slot(&mut self, s: usize, new: Option<usize>) {
        if let Some(n) = new {
            self.nodes[n].strong += 1;
        }
        self.replace_slot(s, new);
    }

    /// Put `new` (whose count is already taken) in slot `s`, releasing what
    /// was there.
    fn replace_slot(&mut self, s: usize, new: Option<usize>) {
        let old = std::mem::replace(&mut self.slots[s], new);
        let mut zeros = Vec::new();
        if let Some(o) = old {
            self.dec(o, &mut zeros);
        }
        let mut churn = Churn::default();
        self.release(zeros, &mut churn);
        self.churn(churn);
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
                    self.nodes[a].edges.push(b);
                    self.nodes[b].strong += 1;
                }
            }
            Op::RemoveEdge { from, idx } => {
                if let Some(a) = pick(&self.slots, from).and_then(|a| self.slots[a]) {
                    let len = self.nodes[a].edges.len();
                    if len > 0 {
                        let t = self.nodes[a].edges.remove(usize::from(idx) % len);
                        let mut zeros = Vec::new();
                        self.dec(t, &mut zeros);
                        let mut churn = Churn::default();
                        self.release(zeros, &mut churn);
                        self.churn(churn);
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
                    if !n.freed {
                        n.generation = Gen::Frozen;
                    }
                }
                for j in &mut self.junk {
                    j.1 = Gen::Frozen;
                }
                self.count0 = Some(0);
            }
            Op::Unfreeze => {
                for n in &mut self.nodes {
                    if !n.freed && n.generation == Gen::Frozen {
                        n.generation = Gen::Young(2);
                    }
                }
                for j in &mut self.junk {
                    if j.1 == Gen::Frozen {
                        j.1 = Gen::Young(2);
                    }
                }
            }
            Op::ClearRescued => {
                let mut zeros = Vec::new();
                for t in std::mem::take(&mut self.rescue) {
                    self.dec(t, &mut zeros);
                }
                let mut churn = Churn::default();
                self.release(zeros, &mut churn);
                self.churn(churn);
            }
            Op::SetThreshold(a, b, c) => self.thresholds = thresholds(a, b, c),
        }
        Outcome::None
    }

    /// The members of `set` reachable from those referenced from outside it.
    fn reachable_within(&self, set: &BTreeSet<usize>) -> BTreeSet<usize> {
        let mut internal: BTreeMap<usize, usize> = BTreeMap::new();
        for &n in set {
            for &t in &self.nodes[n].edges {
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
            for &t in &self.nodes[n].edges {
                if set.contains(&t) {
                    stack.push(t);
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
            cover(|c| c.predicted_automatic[g] += 1);
            self.collect(g);
            return;
        }
    }

    /// A collection of generation `g` (younger ones merged in), as PEP 442
    /// and CPython's `gc_collect_main` prescribe. Returns the number found.
    fn collect(&mut self, g: usize) -> usize {
        let in_scope = |generation: Gen| matches!(generation, Gen::Young(x) if x <= g);
        if g < 2 {
            self.counts[g + 1] += 1;
        }
        for c in &mut self.counts[..=g] {
            *c = 0;
        }
        self.count0 = Some(0);
        let work: BTreeSet<usize> = (0..self.nodes.len())
            .filter(|&n| !self.nodes[n].freed && in_scope(self.nodes[n].generation))
            .collect();
        let reachable = self.reachable_within(&work);
        match g {
            1 => self.long_lived_pending += reachable.len(),
            2 => {
                self.long_lived_pending = 0;
                self.long_lived_total = reachable.len() + self.foreign;
            }
            _ => {}
        }
        let older = Gen::Young((g + 1).min(2));
        for &n in &reachable {
            self.nodes[n].generation = older;
        }
        let unreachable: BTreeSet<usize> = work.difference(&reachable).copied().collect();
        let (dead_junk, live_junk): (Vec<_>, Vec<_>) =
            self.junk.iter().partition(|j| in_scope(j.1));
        self.junk = live_junk;
        let junk_found: usize = dead_junk.iter().map(|j| j.0).sum();
        let found = unreachable.len() + junk_found;
        self.stats[g].0 += 1;
        self.stats[g].1 += found;
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
            c.freed_by_collector += unreachable.len() - resurrected.len();
            c.fruitful_collections += usize::from(found > 0);
        });
        for &n in &resurrected {
            self.nodes[n].generation = older;
        }
        // (4) teardown: values dropped (releasing what only they held), then
        // every garbage object leaves the count
        let garbage: Vec<usize> = unreachable.difference(&resurrected).copied().collect();
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
        let mut churn = Churn::default();
        self.release(zeros, &mut churn);
        self.churn(churn);
        self.churn(Churn {
            allocs: 0,
            frees: garbage.len() + junk_found,
        });
        found
    }

    /// Nodes reachable from the slots and the rescue list.
    fn reachable_from_roots(&self) -> BTreeSet<usize> {
        let mut stack: Vec<usize> = self.slots.iter().flatten().copied().collect();
        stack.extend(&self.rescue);
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
        for &n in self.slots.iter().flatten() {
            strong[n] += 1;
        }
        for &n in &self.rescue {
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
struct Baseline {
    gens: [usize; 3],
    frozen: usize,
    stats: [gc::GenerationStats; 3],
}

fn baseline() -> Baseline {
    Baseline {
        gens: [0, 1, 2].map(|g| gc::objects(Some(g)).len()),
        frozen: gc::freeze_count(),
        stats: gc::stats(),
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

/// Everything the model predicts, compared with the heap.
fn check_exact(real: &Real, m: &Model, base: &Baseline) -> Result<(), String> {
    m.check_self()?;
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
        if let (Some(r), Some(e)) = (r, e) {
            let up = r.upgrade();
            ensure!(
                up.as_ref().map(|g| g.id) == m.weak_valid(e).then_some(e.0),
                "weak slot {w} (node {}): upgrade gives {:?}, oracle says valid={}",
                e.0,
                up.as_ref().map(|g| g.id),
                m.weak_valid(e)
            );
        }
    }
    let rescued = ids_sorted(rescue_handles().iter().map(|g| g.id));
    ensure!(
        rescued == ids_sorted(m.rescue.iter().copied()),
        "rescue list {rescued:?}, oracle says {:?}",
        ids_sorted(m.rescue.iter().copied())
    );
    let graph = real.graph();
    let expected = m.reachable_from_roots();
    ensure!(
        graph.keys().copied().eq(expected.iter().copied()),
        "reachable nodes {:?}, oracle says {expected:?}",
        graph.keys().collect::<Vec<_>>()
    );
    for (&id, (g, edges)) in &graph {
        ensure!(
            *edges == m.nodes[id].edges,
            "node {id}: edges {edges:?}, oracle says {:?}",
            m.nodes[id].edges
        );
        // minus the handle `graph` holds
        let strong = Gc::strong_count(g) - 1;
        ensure!(
            strong == m.nodes[id].strong,
            "node {id}: strong_count {strong}, oracle says {}",
            m.nodes[id].strong
        );
    }
    drop(graph);
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
    let size = |generation: Gen| {
        m.nodes
            .iter()
            .filter(|n| !n.freed && n.generation == generation)
            .count()
            + m.junk
                .iter()
                .filter(|j| j.1 == generation)
                .map(|j| j.0)
                .sum::<usize>()
    };
    for g in 0..3 {
        let got = gc::objects(Some(g)).len() - base.gens[g];
        ensure!(
            got == size(Gen::Young(g)),
            "generation {g} holds {got} objects, oracle says {}",
            size(Gen::Young(g))
        );
    }
    let frozen = gc::freeze_count() - base.frozen;
    ensure!(
        frozen == size(Gen::Frozen),
        "freeze_count {frozen}, oracle says {}",
        size(Gen::Frozen)
    );
    let junk: usize = m.junk.iter().map(|j| j.0).sum();
    let live_junk = JUNK_LIVE.with(Cell::get);
    ensure!(
        live_junk == junk,
        "{live_junk} junk objects alive, oracle says {junk}"
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
    Ok(())
}

/// What holds whatever automatic collections did.
fn check_auto(real: &Real) -> Result<(), String> {
    let book = real.book.borrow();
    check_book_sane(&book)?;
    let graph = real.graph();
    let mut refs: BTreeMap<usize, usize> = BTreeMap::new();
    for id in real
        .slots
        .iter()
        .flatten()
        .map(|g| g.id)
        .chain(rescue_handles().iter().map(|g| g.id))
    {
        *refs.entry(id).or_default() += 1;
    }
    for (_, edges) in graph.values() {
        for &t in edges {
            *refs.entry(t).or_default() += 1;
        }
    }
    for (&id, (g, _)) in &graph {
        ensure!(book.dropped[id] == 0, "reachable node {id} was dropped");
        let strong = Gc::strong_count(g) - 1;
        ensure!(
            strong >= refs[&id],
            "node {id}: strong_count {strong} below the {} references the test sees",
            refs[&id]
        );
    }
    for (w, r) in real.weaks.iter().enumerate() {
        if let Some(g) = r.as_ref().and_then(Weak::upgrade) {
            ensure!(
                book.dropped[g.id] == 0,
                "weak slot {w} upgraded to dropped node {}",
                g.id
            );
        }
    }
    Ok(())
}

/// After a full collection with nothing frozen: the live nodes are exactly
/// the reachable ones.
fn check_only_reachable_live(real: &Real) -> Result<(), String> {
    let book = real.book.borrow();
    let live: Vec<usize> = (0..book.dropped.len())
        .filter(|&id| book.dropped[id] == 0)
        .collect();
    let reachable: Vec<usize> = real.graph().keys().copied().collect();
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
    gc::unfreeze();
    // Leftovers of a failed program are bounded; give up quietly otherwise.
    let _ = collect_to_fixpoint(10_000);
}

/// Run `p` on this thread's heap; `Err` describes the first discrepancy.
pub fn run(p: &Program) -> Result<(), String> {
    reset();
    let base = baseline();
    let book = Rc::new(RefCell::new(Book::default()));
    let mut real = Real::new(p.mode, book.clone());
    if p.mode != Mode::Exact {
        let (t0, t1, t2) = AUTO_THRESHOLDS;
        gc::set_threshold(t0, t1, t2);
        gc::enable();
    }
    let mut model =
        (p.mode != Mode::Auto).then(|| Model::new(p.mode, gc::threshold(), base.gens.iter().sum()));
    cover(|c| {
        c.programs += 1;
        c.ops += p.ops.len();
    });
    let result = execute(p, &mut real, model.as_mut(), &base);
    if p.mode != Mode::Exact {
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
    gc::disable();
    gc::unfreeze();
    let Real { slots, weaks, .. } = real;
    drop(slots);
    drop(weaks);
    let nodes = book.borrow().dropped.len();
    let teardown = collect_to_fixpoint(2 * nodes + 4);
    gc::set_threshold(700, 10, 10);
    gc::enable();
    gc::set_debug_output(None);
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
        _ => {}
    }
    out.retain(|o| o != op);
    out
}

fn execute(
    p: &Program,
    real: &mut Real,
    mut model: Option<&mut Model>,
    base: &Baseline,
) -> Result<(), String> {
    // A full collection with nothing frozen and no automatic collections,
    // then every root dropped and two rounds of collection.
    let mut finale = vec![Op::Unfreeze, Op::Collect];
    let full = p.ops.len() + finale.len();
    finale.extend((0..SLOTS as u8).map(|slot| Op::DropHandle { slot }));
    finale.extend([Op::Collect, Op::ClearRescued, Op::Collect, Op::ClearRescued]);
    for (i, op) in p.ops.iter().chain(&finale).enumerate() {
        let what = if i < p.ops.len() {
            format!("op #{i} {op:?}")
        } else {
            format!("final {op:?}")
        };
        if i == p.ops.len() {
            gc::disable();
            if let Some(m) = model.as_deref_mut() {
                m.enabled = false;
            }
        }
        if i == full {
            check_only_reachable_live(real)?;
        }
        let got = real.apply(op);
        match model.as_deref_mut() {
            Some(m) => {
                let expected = m.apply(op);
                ensure!(
                    got == expected,
                    "{what}: returned {got:?}, oracle says {expected:?}"
                );
                check_exact(real, m, base).map_err(|e| format!("after {what}: {e}"))?;
            }
            None => check_auto(real).map_err(|e| format!("after {what}: {e}"))?,
        }
    }
    Ok(())
}
