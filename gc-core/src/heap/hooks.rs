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

/// Identifies a callback registered with [`add_callback`](crate::gc::add_callback).
///
/// Ids are never reused on a thread (a 64-bit counter), so a stale id
/// names no other callback: removing it again returns `false`.
///
/// ```
/// let id = gc_core::gc::add_callback(|_, _| {});
/// let copy = id;
/// assert_eq!(id, copy);
/// assert!(gc_core::gc::remove_callback(id));
/// assert!(!gc_core::gc::remove_callback(id));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct CallbackId(u64);

/// A registered callback.
pub(crate) type Callback = Box<dyn FnMut(Phase, &CallbackInfo)>;

/// The registered callbacks, in the order they were added — CPython's
/// `gc.callbacks` is a list too. Ids increase in that order, so the list is
/// sorted by id and looked up by binary search. (A generational slot table
/// such as `slotmap` would add two crates to every build for a list that
/// holds a handful of entries.)
///
/// Invariants: `list` is sorted by strictly increasing id; `last` is the
/// largest id handed out, so the next one is new (0 is
/// [`CallbackId::default`], the id `add_callback` returns when the heap is
/// gone, never a registered one).
#[derive(Default)]
pub(crate) struct Callbacks {
    /// Each callback; its closure is `None` while it runs.
    list: Vec<(CallbackId, Option<Callback>)>,
    /// The last id handed out.
    last: u64,
}

impl Callbacks {
    /// Register `f` after the others.
    pub(crate) fn add(&mut self, f: Callback) -> CallbackId {
        self.last += 1;
        let id = CallbackId(self.last);
        self.list.push((id, Some(f)));
        id
    }

    fn index(&self, id: CallbackId) -> Option<usize> {
        self.list.binary_search_by_key(&id, |&(i, _)| i).ok()
    }

    /// Unregister `id`; its closure (`None` while it runs) is returned so
    /// that the caller drops it outside the borrow.
    pub(crate) fn remove(&mut self, id: CallbackId) -> Option<Option<Callback>> {
        let at = self.index(id)?;
        Some(self.list.remove(at).1)
    }

    /// Unregister every callback, returning them (to be dropped outside the
    /// borrow). Ids handed out later still differ from the old ones.
    pub(crate) fn take_all(&mut self) -> Vec<(CallbackId, Option<Callback>)> {
        core::mem::take(&mut self.list)
    }

    /// No callback is registered.
    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The ids in the order the callbacks run.
    pub(crate) fn order(&self) -> Vec<CallbackId> {
        self.list.iter().map(|&(id, _)| id).collect()
    }

    /// Take the closure of `id` out to run it (`None` if removed or running).
    pub(crate) fn take(&mut self, id: CallbackId) -> Option<Callback> {
        let at = self.index(id)?;
        self.list[at].1.take()
    }

    /// Put a closure taken with [`take`](Callbacks::take) back; if `id` was
    /// removed meanwhile, the closure is handed back to be dropped.
    pub(crate) fn put_back(&mut self, id: CallbackId, f: Callback) -> Option<Callback> {
        match self.index(id) {
            Some(at) => {
                self.list[at].1 = Some(f);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_never_reused_and_order_is_registration_order() {
        let mut c = Callbacks::default();
        let a = c.add(Box::new(|_, _| {}));
        let b = c.add(Box::new(|_, _| {}));
        let d = c.add(Box::new(|_, _| {}));
        assert_ne!(a, CallbackId::default());
        assert_eq!(c.order(), vec![a, b, d]);
        assert!(c.remove(b).is_some());
        assert!(c.remove(b).is_none(), "a removed id names nothing");
        assert_eq!(c.order(), vec![a, d]);
        // Taken out while running: still registered, put back in place.
        let f = c.take(a).expect("registered");
        assert!(c.take(a).is_none(), "running: nothing to take");
        assert!(c.put_back(a, f).is_none());
        // Removed while running: handed back to be dropped.
        let f = c.take(d).unwrap();
        assert!(c.remove(d).is_some());
        assert!(c.put_back(d, f).is_some());
        assert_eq!(c.take_all().len(), 1);
        assert!(c.is_empty());
        let e = c.add(Box::new(|_, _| {}));
        assert!(e > d, "ids keep increasing after take_all");
        assert!(c.remove(a).is_none());
    }
}
