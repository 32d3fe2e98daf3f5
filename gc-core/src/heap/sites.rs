//! The allocation-site table behind `gc::track_allocations`: which line
//! allocated each live object (the report is `debug::sites`).
//!
//! Invariants:
//! - While tracking is on, every object `Gc::new` (and the `From`/`Default`
//!   impls that call it) allocates is recorded under its header address and
//!   gets the `SITE` flag; the record leaves the table when the object's
//!   memory is returned or promised to be (`lifecycle::unregister`, and the
//!   collector's teardown). Turning tracking off clears the table (flags may
//!   stay; they only cost a failed lookup when the object goes).
//! - When tracking is off, the only cost is one well-predicted branch in
//!   `Gc::new`.

use core::ptr::NonNull;
use std::collections::HashMap;
use std::panic::Location;

use super::Heap;
use crate::header::{flags, Header};

/// The per-heap table: header address → (allocation site, bytes).
#[derive(Default)]
pub(crate) struct Sites {
    live: HashMap<usize, (&'static Location<'static>, usize)>,
}

impl Sites {
    /// The records, in no order.
    pub(crate) fn records(&self) -> impl Iterator<Item = &(&'static Location<'static>, usize)> {
        self.live.values()
    }
}

impl Heap {
    /// Whether allocation sites are being recorded.
    #[inline]
    pub(crate) fn tracks_sites(&self) -> bool {
        self.tables.track_sites.get()
    }

    /// Record that `h`, of `bytes` bytes, was allocated `at`.
    ///
    /// # Safety
    /// `h` must be a live object.
    pub(crate) unsafe fn record_site(
        &self,
        h: NonNull<Header>,
        at: &'static Location<'static>,
        bytes: usize,
    ) {
        self.tables
            .sites
            .borrow_mut()
            .live
            .insert(h.addr().get(), (at, bytes));
        // SAFETY: live (caller).
        unsafe { h.as_ref() }.set(flags::SITE);
    }

    /// The object `h` is going: forget its record.
    ///
    /// # Safety
    /// `h` must be an allocated object (its header readable).
    pub(crate) unsafe fn forget_site(&self, h: NonNull<Header>) {
        self.tables.sites.borrow_mut().live.remove(&h.addr().get());
        // SAFETY: allocated (caller).
        unsafe { h.as_ref() }.clear(flags::SITE);
    }

    /// Turn tracking on or off; off forgets every record.
    pub(crate) fn set_site_tracking(&self, on: bool) {
        self.tables.track_sites.set(on);
        if !on {
            let live = std::mem::take(&mut self.tables.sites.borrow_mut().live);
            drop(live);
        }
    }
}
