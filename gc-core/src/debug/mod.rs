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

use crate::heap::{self, Heap};

/// Write one line of diagnostics to the calling thread's debug sink.
pub(crate) fn output(line: &str) {
    match heap::current() {
        Some(h) => output_to(h, line),
        None => eprintln!("{line}"),
    }
}

/// Write one line to `heap`'s debug sink (stderr by default).
pub(crate) fn output_to(heap: &Heap, line: &str) {
    // A sink that calls back into the collector while writing finds the
    // cell borrowed; its line goes to stderr instead of panicking.
    match heap.debug_sink.try_borrow_mut() {
        Ok(mut sink) => match sink.as_mut() {
            Some(w) => {
                let _ = writeln!(w, "{line}");
            }
            None => eprintln!("{line}"),
        },
        Err(_) => eprintln!("{line}"),
    }
}
