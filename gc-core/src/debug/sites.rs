//! Allocation-site report: which line of code allocated the live objects —
//! tracemalloc's `statistics('lineno')`. The table it reads is kept by the
//! heap (`heap::sites`).

use std::collections::HashMap;
use std::panic::Location;

use crate::heap::Heap;

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

/// Live objects grouped by allocation site, most objects first.
pub(crate) fn top(heap: &Heap) -> Vec<AllocationSite> {
    let mut by_site: HashMap<&'static Location<'static>, (usize, usize)> = HashMap::new();
    for &(at, bytes) in heap.tables.sites.borrow().records() {
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
