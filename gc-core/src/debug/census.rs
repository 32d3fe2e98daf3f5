//! Census of live tracked objects by type, and the difference between two
//! censuses — objgraph's `show_growth` workflow.

use std::collections::BTreeMap;
use std::fmt;

use crate::header::header_of;
use crate::heap::Heap;

/// Live objects of one type in a [`Census`].
///
/// ```
/// let t = gc_core::gc::TypeCount::default();
/// assert_eq!((t.count, t.bytes), (0, 0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TypeCount {
    /// Number of objects.
    pub count: usize,
    /// Heap bytes they occupy (headers included).
    pub bytes: usize,
}

/// How much one type grew between two censuses (see [`Census::diff`]).
///
/// ```
/// use gc_core::gc::Growth;
/// let g = Growth { type_name: "T", count: 3, delta: 2, bytes_delta: 64 };
/// assert_eq!(g.delta, 2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Growth {
    /// The type.
    pub type_name: &'static str,
    /// Objects now.
    pub count: usize,
    /// Objects added since the earlier census.
    pub delta: usize,
    /// Bytes added since the earlier census (negative if objects got smaller).
    pub bytes_delta: isize,
}

/// A snapshot of the live tracked objects counted by type, from
/// [`gc::census`](crate::gc::census). Take one before and one after the code
/// you suspect, then [`diff`](Census::diff) them to see which types grew.
/// Untracked objects (types that cannot hold a `Gc`) are not counted.
///
/// ```
/// use gc_core::{gc, Gc};
/// let before = gc::census();
/// let leak: Vec<_> = (0..10).map(|_| Gc::new(vec![Gc::new(1_u8)])).collect();
/// let after = gc::census();
/// let growth = after.diff(&before);
/// assert_eq!(growth[0].delta, 10);
/// assert!(growth[0].type_name.contains("Vec"));
/// # drop(leak);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Census {
    by_type: BTreeMap<&'static str, TypeCount>,
}

impl Census {
    pub(crate) fn of(heap: &Heap) -> Census {
        let mut by_type: BTreeMap<&'static str, TypeCount> = BTreeMap::new();
        crate::collector::incremental::settle(heap);
        for list in heap.lists.gens.iter().chain([&heap.lists.permanent]) {
            for l in list.iter() {
                // SAFETY: list members are live tracked objects.
                let h = unsafe { header_of(l) };
                // SAFETY: as above.
                let vt = unsafe { h.as_ref() }.vtable();
                // SAFETY: live object of this vtable's type.
                let bytes = unsafe { vt.box_layout(h) }.layout.size();
                let e = by_type.entry((vt.type_name)()).or_default();
                e.count += 1;
                e.bytes += bytes;
            }
        }
        Census { by_type }
    }

    /// Objects of the type named `type_name` (as `std::any::type_name` spells it).
    ///
    /// ```
    /// use gc_core::{gc, Gc};
    /// let g = Gc::new(Some(Gc::new(1_u8)));
    /// assert_eq!(gc::census().get(std::any::type_name::<Option<Gc<u8>>>()).count, 1);
    /// # drop(g);
    /// ```
    pub fn get(&self, type_name: &str) -> TypeCount {
        self.by_type.get(type_name).copied().unwrap_or_default()
    }

    /// Every type with its count, sorted by type name.
    ///
    /// ```
    /// assert!(gc_core::gc::census().iter().all(|(_, c)| c.count > 0));
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, TypeCount)> + '_ {
        self.by_type.iter().map(|(k, v)| (*k, *v))
    }

    /// Total objects and bytes.
    ///
    /// ```
    /// let t = gc_core::gc::census().total();
    /// assert_eq!(t.count, 0);
    /// ```
    pub fn total(&self) -> TypeCount {
        self.by_type
            .values()
            .fold(TypeCount::default(), |a, c| TypeCount {
                count: a.count + c.count,
                bytes: a.bytes + c.bytes,
            })
    }

    /// The types with more objects now than in `earlier`, biggest growth
    /// first (ties by name).
    ///
    /// ```
    /// let c = gc_core::gc::census();
    /// assert!(c.diff(&c).is_empty());
    /// ```
    pub fn diff(&self, earlier: &Census) -> Vec<Growth> {
        let mut out: Vec<Growth> = self
            .by_type
            .iter()
            .filter_map(|(&name, now)| {
                let before = earlier.get(name);
                (now.count > before.count).then(|| Growth {
                    type_name: name,
                    count: now.count,
                    delta: now.count - before.count,
                    bytes_delta: now.bytes as isize - before.bytes as isize,
                })
            })
            .collect();
        out.sort_by(|a, b| b.delta.cmp(&a.delta).then(a.type_name.cmp(b.type_name)));
        out
    }
}

impl fmt::Display for Census {
    /// One line per type, most numerous first.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rows: Vec<_> = self.iter().collect();
        rows.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
        writeln!(f, "{:>10} {:>12}  type", "objects", "bytes")?;
        for (name, c) in rows {
            writeln!(f, "{:>10} {:>12}  {name}", c.count, c.bytes)?;
        }
        let t = self.total();
        write!(f, "{:>10} {:>12}  (total)", t.count, t.bytes)
    }
}

impl fmt::Display for Growth {
    /// `type_name  count  +delta`, as objgraph prints growth.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<50} {:>10} {:>+10}",
            self.type_name, self.count, self.delta
        )
    }
}
