//! Diagnostics output: lines written to the heap's debug sink (stderr
//! unless the user set one with `gc::set_debug_output`), and the reports of
//! panics caught in user code the collector runs.
//!
//! Invariants:
//! - Writing never panics the caller: the sink is user code, run under
//!   `catch_unwind`, and I/O errors are ignored.
//! - No caller holds a pointer into the heap's lists or headers across a
//!   write: the sink may drop, create and resurrect handles.

use core::any::Any;
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
        match heap.hooks.sink.try_borrow_mut() {
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
        discard(payload);
    }
    // A sink the sink installed while it wrote (`gc::set_debug_output`).
    if let Some(next) = heap.hooks.sink_next.take() {
        set_sink(heap, next);
    }
}

/// Install `sink` (`None`: stderr). The old sink is dropped outside the
/// borrow, under `catch_unwind`: its drop is user code. Called while the
/// sink is writing (from inside it), the new one waits until the write
/// returns.
pub(crate) fn set_sink(heap: &Heap, sink: Option<Box<dyn Write>>) {
    let old = match heap.hooks.sink.try_borrow_mut() {
        Ok(mut current) => core::mem::replace(&mut *current, sink),
        Err(_) => {
            // Dropping a sink set earlier in the same write is user code too.
            let replaced = heap.hooks.sink_next.replace(Some(sink));
            drop_sink(replaced.flatten());
            return;
        }
    };
    drop_sink(old);
}

fn drop_sink(sink: Option<Box<dyn Write>>) {
    drop_reporting(sink, "the debug sink");
}

/// Drop `value`, whose drop is user code (it may hold handles, callbacks or
/// a sink), reporting a panic as a drop of `what` instead of unwinding.
pub(crate) fn drop_reporting<T>(value: T, what: &str) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(value))) {
        panic_in("drop", what, payload);
    }
}

/// The message of a panic payload, if it has one.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "<non-string panic payload>"
    }
}

/// Report a panic caught in a finalizer or callback.
pub(crate) fn panic_in(what: &str, type_name: &str, payload: Box<dyn Any + Send>) {
    let line = format!(
        "gc: panic in {what} of `{type_name}` ignored: {}",
        panic_message(&*payload)
    );
    discard(payload);
    output(&line);
}

pub(crate) use crate::heap::discard;
