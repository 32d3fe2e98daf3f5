//! Allocation-site tracking: which line of code allocated the live objects —
//! tracemalloc's `statistics('lineno')`.
//!
//! Invariants:
//! - While tracking is on, every object allocated by `Gc::new` (and the
//!   `From`/`Default` impls that call it) is recorded under its header address
//!   and gets the `SITE` flag; the record leaves the table when the object is
//!   freed (`lifecycle::detach` sees the flag). Turning tracking off clears the
//!   table (flags may stay; they only cost a failed lookup when freed).
//! - When tracking is off, the only cost is one well-predicted branch in `Gc::new`.

use std::collections::HashMap;
use std::panic::Location;

use crate::header::{flags, Header};
use crate::heap::Heap;
use std::ptr::NonNull;

/// Where live objects were allocated, from
/// [`gc::allocation_sites`](crate::gc::allocation_sites).
///
/// ```
/// use gc_core::{gc, Gc};
/// gc::track_allocations(true);
/// let v: Vec<_> = (0..3).map(|i| Gc::new(i)).collect();
/// let top = &gc::allocation_sites()[0];
/// assert_eq!((top.count, top.location.line()), (3, line!() - 2));
/// gc::track_allocations(false);
/// # drop(v);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllocationSite {
    /// The `Gc::new` call.
    pub location: &'static Location<'static>,
    /// Live objects allocated there.
    pub count: usize,
    /// Heap bytes they occupy (headers included).
    pub bytes: usize,
}

/// The per-heap table.
#[derive(Default)]
pub(crate) struct Sites {
    live: HashMap<usize, (&'static Location<'static>, usize)>,
}

impl Sites {
    pub(crate) fn record(
        &mut self,
        h: NonNull<Header>,
        at: &'static Location<'static>,
        bytes: usize,
    ) {
        self.live.insert(h.addr().get(), (at, bytes));
        // SAFETY: the caller passes a live object.
        unsafe { h.as_ref() }.set(flags::SITE);
    }
}

/// The object `h` is being freed.
pub(crate) fn forget(heap: &Heap, h: NonNull<Header>) {
    heap.sites.borrow_mut().live.remove(&h.addr().get());
    // SAFETY: the caller passes a live object.
    unsafe { h.as_ref() }.clear(flags::SITE);
}

/// Turn tracking on or off; off forgets every record. (Objects keep their
/// `SITE` flag; freeing one then looks for a record that is not there.)
pub(crate) fn set_tracking(heap: &Heap, on: bool) {
    heap.track_sites.set(on);
    if !on {
        let live = std::mem::take(&mut heap.sites.borrow_mut().live);
        drop(live);
    }
}

/// Live objects grouped by allocation site, most objects first.
pub(crate) fn top(heap: &Heap) -> Vec<AllocationSite> {
    let mut by_site: HashMap<&'static Location<'static>, (usize, usize)> = HashMap::new();
    for &(at, bytes) in heap.sites.borrow().live.values() {
        let e = by_site.entry(at).or_default();
        e.0 += 1;
        e.1 += bytes;
    }
    let mut out: Vec<AllocationSite> = by_site
        .into_iter()
        .map(|(location, (count, bytes))| AllocationSite {
            location,
            count,
            bytes,
        })
        .collect();
    out.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(b.bytes.cmp(&a.bytes))
            .then_with(|| {
                (a.location.file(), a.location.line()).cmp(&(b.location.file(), b.location.line()))
            })
    });
    out
}
