//! The reference graph as `Trace` impls report it: the edges of an object,
//! and every tracked object (`gc.get_referents` / `gc.get_referrers`).
//!
//! Invariants:
//! - `trace` (user code) only runs on objects the caller holds a handle to,
//!   and the walk over all tracked objects holds a handle to each, so a
//!   misbehaving `trace` cannot free what is being walked.

use core::ptr::NonNull;

use crate::header::{header_of, Header};
use crate::heap::Heap;
use crate::tracer::{TraceKind, Tracer};
use crate::GcAny;

/// The edges `trace` reports for the live object `h`.
///
/// # Safety
/// `h` must be a live object (the caller holds a handle to it).
pub(crate) unsafe fn edges_of(h: NonNull<Header>) -> Vec<NonNull<Header>> {
    // SAFETY: live (caller).
    let hdr = unsafe { h.as_ref() };
    hdr.assert_alive();
    let mut tracer = Tracer::new(TraceKind::Collect(Vec::new()));
    // SAFETY: live object with an intact value.
    let mut trace = || unsafe { (hdr.vtable().trace)(h, &mut tracer) };
    match crate::heap::current() {
        Some(heap) => heap.in_hook(trace),
        None => trace(),
    }
    match tracer.kind {
        TraceKind::Collect(v) => v,
        _ => unreachable!(),
    }
}

/// A handle to every tracked object in generations 0–2 and the permanent
/// generation, taken before any user code runs, so that walking them never
/// depends on a list that user code could change.
pub(crate) fn tracked_objects(heap: &Heap) -> Vec<GcAny> {
    let mut out = Vec::new();
    crate::collector::incremental::settle(heap);
    for list in heap.lists.gens.iter().chain([&heap.lists.permanent]) {
        for l in list.iter() {
            // SAFETY: list members are live tracked objects.
            out.push(unsafe { GcAny::new_ref(header_of(l)) });
        }
    }
    out
}

/// `gc::referents`: handles to what `of` holds an edge to.
pub(crate) fn referents(of: &GcAny) -> Vec<GcAny> {
    // SAFETY: `of` keeps its object alive.
    let edges = unsafe { edges_of(of.header_ptr()) };
    edges
        .into_iter()
        // SAFETY: reported edges of a live object point to live objects.
        .map(|h| unsafe { GcAny::new_ref(h) })
        .collect()
}

/// `gc::referrers`: handles to the tracked objects holding an edge to `to`.
pub(crate) fn referrers(heap: &Heap, to: &GcAny) -> Vec<GcAny> {
    let target = to.header_ptr();
    let mut all = tracked_objects(heap);
    // Each candidate is held by a handle while it is traced (user code).
    // SAFETY: (in the closure) `obj` keeps its object alive.
    all.retain(|obj| unsafe { edges_of(obj.header_ptr()) }.contains(&target));
    all
}
