//! Running the collection callbacks (`gc::add_callback`), CPython's
//! `invoke_gc_callback`.
//!
//! Invariants:
//! - A callback is taken out of the table while it runs, so that it may add
//!   and remove callbacks (itself included); nothing of the table is
//!   borrowed while user code runs, and every panic is caught.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::heap::hooks::{CallbackInfo, Phase};
use crate::heap::Heap;

/// Run every callback for `phase`. Callbacks may add or remove callbacks
/// (added ones run from the next collection on); a panic is reported and the
/// remaining callbacks still run.
pub(super) fn run_callbacks(heap: &Heap, phase: Phase, info: &CallbackInfo) {
    let ids = heap.hooks.callbacks.borrow().order();
    for id in ids {
        let taken = heap.hooks.callbacks.borrow_mut().take(id);
        let Some(mut cb) = taken else { continue };
        let result = catch_unwind(AssertUnwindSafe(|| cb(phase, info)));
        if let Err(payload) = result {
            crate::output::panic_in("callback", "gc callback", payload);
        }
        // Put it back unless it was removed while running; a removed one is
        // dropped here, outside the borrow and under `catch_unwind`: what it
        // captured is user code, which may drop handles or panic.
        let removed = heap.hooks.callbacks.borrow_mut().put_back(id, cb);
        crate::output::drop_reporting(removed, "gc callback");
    }
}

/// Thread exit: drop every callback (they run no more, as in CPython), so
/// that what they captured is released before the last collections.
/// Returns whether there were any.
pub(super) fn drop_callbacks(heap: &Heap) -> bool {
    let all = heap.hooks.callbacks.borrow_mut().take_all();
    let had = !all.is_empty();
    // One at a time: dropped as one `Vec`, a second panicking drop while the
    // first unwinds would abort the process.
    for (_, cb) in all {
        crate::output::drop_reporting(cb, "gc callback");
    }
    had
}
