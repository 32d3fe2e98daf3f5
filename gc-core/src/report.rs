//! Reporting of panics caught in user code the collector runs.

use core::any::Any;

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
    let msg = panic_message(&*payload);
    crate::debug::output(&format!(
        "gc: panic in {what} of `{type_name}` ignored: {msg}"
    ));
}
