//! Reporting of panics caught in user code the collector runs.

use core::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

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
    crate::debug::output(&line);
}

/// Drop a panic payload whose own `Drop` might panic, without unwinding.
pub(crate) fn discard(payload: Box<dyn Any + Send>) {
    if let Err(again) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        core::mem::forget(again);
    }
}
