//! The collection policy's state: CPython's generation counts and
//! thresholds, the long-lived rule's counters, and the trigger derived from
//! them that `Gc::new` compares against.
//!
//! Invariants:
//! - `trigger` is `thresholds[0]` while automatic collection is enabled,
//!   `thresholds[0] != 0` and no collection runs, and `usize::MAX`
//!   otherwise. Only the setters here change what it derives from, and each
//!   recomputes it, so it is never stale.

use core::cell::Cell;

use super::{DEFAULT_THRESHOLDS, GENERATIONS};

/// Counts, thresholds and switches of the automatic collector.
pub(crate) struct Policy {
    /// CPython's `get_count`: tracked allocations minus frees since the last
    /// gen-0 collection, then collections of gen 0 / gen 1 since the last
    /// collection of gen 1 / gen 2.
    pub(crate) counts: [Cell<usize>; GENERATIONS],
    thresholds: [Cell<usize>; GENERATIONS],
    enabled: Cell<bool>,
    /// A collection is running (its callbacks or finalizers may be on the
    /// stack).
    collecting: Cell<bool>,
    /// `counts[0]` above which an allocation starts an automatic collection.
    trigger: Cell<usize>,
    /// Objects in the oldest generation after the last full collection.
    pub(crate) long_lived_total: Cell<usize>,
    /// Objects moved into the oldest generation since then.
    pub(crate) long_lived_pending: Cell<usize>,
    /// `analysed_at[g]`: the candidate epoch (`heap::epoch`) when the last
    /// analysis of a generation `>= g` started (or was proved needless).
    analysed_at: [Cell<u64>; GENERATIONS],
    /// Collections of each generation proved empty and skipped.
    skipped: [Cell<usize>; GENERATIONS],
}

impl Policy {
    pub(crate) fn new() -> Policy {
        let p = Policy {
            counts: Default::default(),
            thresholds: DEFAULT_THRESHOLDS.map(Cell::new),
            enabled: Cell::new(true),
            collecting: Cell::new(false),
            trigger: Cell::new(usize::MAX),
            long_lived_total: Cell::new(0),
            long_lived_pending: Cell::new(0),
            // A new heap has no object, so nothing happened since "its last
            // analysis": epoch 0.
            analysed_at: Default::default(),
            skipped: Default::default(),
        };
        p.update_trigger();
        p
    }

    fn update_trigger(&self) {
        let t0 = self.thresholds[0].get();
        let on = self.enabled.get() && t0 != 0 && !self.collecting.get();
        self.trigger.set(if on { t0 } else { usize::MAX });
    }

    /// The thresholds `(t0, t1, t2)`.
    pub(crate) fn thresholds(&self) -> [usize; GENERATIONS] {
        [0, 1, 2].map(|g| self.thresholds[g].get())
    }

    /// Threshold of generation `g`.
    pub(crate) fn threshold(&self, g: usize) -> usize {
        self.thresholds[g].get()
    }

    pub(crate) fn set_thresholds(&self, t: [usize; GENERATIONS]) {
        for (cell, t) in self.thresholds.iter().zip(t) {
            cell.set(t);
        }
        self.update_trigger();
    }

    pub(crate) fn enabled(&self) -> bool {
        self.enabled.get()
    }

    pub(crate) fn set_enabled(&self, on: bool) {
        self.enabled.set(on);
        self.update_trigger();
    }

    /// Whether a collection is running.
    #[inline]
    pub(crate) fn collecting(&self) -> bool {
        self.collecting.get()
    }

    pub(crate) fn set_collecting(&self, on: bool) {
        self.collecting.set(on);
        self.update_trigger();
    }

    /// Count one tracked allocation; whether it passes the trigger.
    #[inline]
    pub(crate) fn count_allocation(&self) -> bool {
        let n = self.counts[0].get() + 1;
        self.counts[0].set(n);
        n > self.trigger.get()
    }

    /// A tracked object is being freed (or leaves the heap's accounting).
    #[inline]
    pub(crate) fn count_free(&self) {
        let c = self.counts[0].get();
        if c > 0 {
            self.counts[0].set(c - 1);
        }
    }

    /// Whether no event happened since the last analysis of a generation
    /// `>= g` started, at candidate epoch `epoch` (see `heap::epoch`: then a
    /// collection of `g` cannot find anything).
    #[inline]
    pub(crate) fn is_clean(&self, g: usize, epoch: u64) -> bool {
        self.analysed_at[g].get() == epoch
    }

    /// An analysis of generation `g` (so of `0..=g`) starts, or was proved
    /// needless, at `epoch`.
    pub(crate) fn analysed(&self, g: usize, epoch: u64) {
        for c in &self.analysed_at[..=g] {
            c.set(epoch);
        }
    }

    /// Count a skipped collection of `g`.
    pub(crate) fn count_skipped(&self, g: usize) {
        self.skipped[g].set(self.skipped[g].get() + 1);
    }

    /// Skipped collections per generation.
    pub(crate) fn skipped(&self) -> [usize; GENERATIONS] {
        [0, 1, 2].map(|g| self.skipped[g].get())
    }
}
