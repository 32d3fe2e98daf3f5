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
/// user code, often running in the middle of a collection: a panic in it is
/// caught and the line dropped, so the collector always finishes. Callers
/// hold no pointer into the heap's lists or headers across this call: the
/// sink may drop, create and resurrect handles.
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
    // A sink the sink installed while it wrote (`gc::set_debug_output`).
    if let Some(next) = heap.debug_sink_next.take() {
        set_sink(heap, next);
    }
}

/// Install `sink` (`None`: stderr). The old sink is dropped outside the
/// borrow, under `catch_unwind`: its drop is user code. Called while the
/// sink is writing (from inside it), the new one waits until the write
/// returns.
pub(crate) fn set_sink(heap: &Heap, sink: Option<Box<dyn Write>>) {
    let old = match heap.debug_sink.try_borrow_mut() {
        Ok(mut current) => core::mem::replace(&mut *current, sink),
        Err(_) => {
            // Dropping a sink set earlier in the same write is user code too.
            let replaced = heap.debug_sink_next.replace(Some(sink));
            drop_sink(replaced.flatten());
            return;
        }
    };
    drop_sink(old);
}

fn drop_sink(sink: Option<Box<dyn Write>>) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(sink))) {
        crate::report::panic_in("drop", "the debug sink", payload);
    }
}
