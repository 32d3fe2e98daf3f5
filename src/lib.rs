//! Shared helpers for the integration tests and examples of `gc-core`
//! (this package is not published; the benchmarks live in `bench/`).

use std::cell::Cell;
use std::rc::Rc;

/// A shared counter tests use to observe finalizer and drop calls.
#[derive(Clone, Default, Debug)]
pub struct Counter(Rc<Cell<usize>>);

impl Counter {
    /// A counter at zero.
    pub fn new() -> Counter {
        Counter::default()
    }

    /// Add one.
    pub fn bump(&self) {
        self.0.set(self.0.get() + 1);
    }

    /// The current value.
    pub fn get(&self) -> usize {
        self.0.get()
    }
}
