//! Leak-hunting tools: debug flags and their output, the `SAVEALL` garbage
//! list, the census of live objects, the DOT export and allocation sites.
//!
//! Invariants:
//! - Nothing here changes what the collector frees, except `SAVEALL`, which
//!   keeps garbage alive in [`garbage`](crate::gc::garbage) (strong handles).
//! - Output goes to the heap's debug sink (stderr unless the user set one);
//!   writing never panics the collector: I/O errors are ignored.

pub(crate) mod census;
pub(crate) mod dot;
pub(crate) mod flags;
pub(crate) mod sites;

use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::heap::{self, Heap};

/// Write one line of diagnostics to the calling thread's debug sink.
pub(crate) fn output(line: &str) {
    match heap::current() {
        Some(h) => output_to(h, line),
        None => eprintln!("{line}"),
    }
}

/// Write one line to `heap`'s debug sink (stderr by default). The sink is
/// user code running in the middle of a collection: a panic in it is caught
/// and the line dropped, so the collector always finishes.
pub(crate) fn output_to(heap: &Heap, line: &str) {
    let written = catch_unwind(AssertUnwindSafe(|| {
        // A sink that writes debug output itself finds the cell borrowed; that
        // line goes to stderr.
        match heap.debug_sink.try_borrow_mut() {
            Ok(mut sink) => match sink.as_mut() {
                Some(w) => {
                    let _ = writeln!(w, "{line}");
                }
                None => eprintln!("{line}"),
            },
            Err(_) => eprintln!("{line}"),
        }
    }));
    if let Err(payload) = written {
        crate::report::discard(payload);
    }
}
