//! The types of the heap's hooks into user code: collection callbacks
//! (`gc::add_callback`) and the statistics they and `gc::stats` report.
//! Running them is the collector's business (`collector::callbacks`).
//!
//! Invariants:
//! - `Callbacks::order` lists every registered id once, in the order added;
//!   a callback's slot is `None` exactly while it runs.

use core::fmt;

/// Statistics of one generation, as `gc.get_stats()` reports them.
///
/// ```
/// let s = gc_core::gc::stats();
/// assert_eq!(s.len(), 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GenerationStats {
    /// Collections of this generation (a full collection counts for gen 2 only).
    pub collections: usize,
    /// Unreachable objects found by those collections, in total.
    pub collected: usize,
    /// Unreachable objects whose memory could not be freed because a `Drop`
    /// impl kept a handle to them during teardown (they are freed when that
    /// handle goes), in total.
    pub uncollectable: usize,
}

/// Phase of a collection passed to callbacks.
///
/// ```
/// use gc_core::gc::Phase;
/// assert_ne!(Phase::Start, Phase::Stop);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Before the collection; `collected` and `uncollectable` are 0.
    Start,
    /// After the collection.
    Stop,
}

/// What a callback learns about a collection.
///
/// ```
/// use gc_core::gc::CallbackInfo;
/// let i = CallbackInfo { generation: 2, collected: 0, uncollectable: 0 };
/// assert_eq!(i.generation, 2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallbackInfo {
    /// The generation being collected.
    pub generation: usize,
    /// Unreachable objects found (0 at `Start`).
    pub collected: usize,
    /// Objects that could not be freed (0 at `Start`).
    pub uncollectable: usize,
}

slotmap::new_key_type! {
    /// Identifies a callback registered with [`add_callback`](crate::gc::add_callback).
    ///
    /// ```
    /// let id = gc_core::gc::add_callback(|_, _| {});
    /// let copy = id;
    /// assert_eq!(id, copy);
    /// assert!(gc_core::gc::remove_callback(id));
    /// ```
    pub struct CallbackId;
}

/// A registered callback.
pub(crate) type Callback = Box<dyn FnMut(Phase, &CallbackInfo)>;

/// The registered callbacks, in the order they were added.
#[derive(Default)]
pub(crate) struct Callbacks {
    /// `None` while the callback is running.
    map: slotmap::SlotMap<CallbackId, Option<Callback>>,
    order: Vec<CallbackId>,
}

impl Callbacks {
    /// Register `f` after the others.
    pub(crate) fn add(&mut self, f: Callback) -> CallbackId {
        let id = self.map.insert(Some(f));
        self.order.push(id);
        id
    }

    /// Unregister `id`; its closure (`None` while it runs) is returned so
    /// that the caller drops it outside the borrow.
    pub(crate) fn remove(&mut self, id: CallbackId) -> Option<Option<Callback>> {
        let removed = self.map.remove(id)?;
        self.order.retain(|&i| i != id);
        Some(removed)
    }

    /// The ids in the order the callbacks run.
    pub(crate) fn order(&self) -> &[CallbackId] {
        &self.order
    }

    /// Take the closure of `id` out to run it (`None` if removed or running).
    pub(crate) fn take(&mut self, id: CallbackId) -> Option<Callback> {
        self.map.get_mut(id).and_then(Option::take)
    }

    /// Put a closure taken with [`take`](Callbacks::take) back; if `id` was
    /// removed meanwhile, the closure is handed back to be dropped.
    pub(crate) fn put_back(&mut self, id: CallbackId, f: Callback) -> Option<Callback> {
        match self.map.get_mut(id) {
            Some(slot) => {
                *slot = Some(f);
                None
            }
            None => Some(f),
        }
    }
}

impl fmt::Display for GenerationStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "collections={} collected={} uncollectable={}",
            self.collections, self.collected, self.uncollectable
        )
    }
}
