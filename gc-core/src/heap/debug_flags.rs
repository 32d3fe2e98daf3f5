//! `DebugFlags`, Python's `gc.DEBUG_*` constants as a bit set.

use core::fmt;
use core::ops::{BitAnd, BitOr, BitOrAssign, Not};

/// What the collector reports or keeps, set with
/// [`gc::set_debug`](crate::gc::set_debug) (Python's `gc.set_debug`).
///
/// ```
/// use gc_core::gc::{self, DebugFlags};
///
/// let flags = DebugFlags::STATS | DebugFlags::COLLECTABLE;
/// assert!(flags.contains(DebugFlags::STATS));
/// assert!(!flags.contains(DebugFlags::SAVEALL));
/// assert!(DebugFlags::LEAK.contains(DebugFlags::SAVEALL));
/// assert_eq!(gc::debug(), DebugFlags::empty());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DebugFlags(u32);

impl DebugFlags {
    /// One line per collection: generation, objects per generation,
    /// unreachable and uncollectable counts, elapsed time.
    pub const STATS: DebugFlags = DebugFlags(1);
    /// A line for every unreachable object found (its type and address).
    pub const COLLECTABLE: DebugFlags = DebugFlags(2);
    /// A line for every object that could not be freed, and for every panic
    /// caught in a finalizer or callback.
    pub const UNCOLLECTABLE: DebugFlags = DebugFlags(4);
    /// Keep unreachable objects in [`gc::garbage`](crate::gc::garbage) instead
    /// of freeing them (they are still finalized and their weak references
    /// cleared, as in CPython).
    pub const SAVEALL: DebugFlags = DebugFlags(32);
    /// A line for every object the cycle collector frees that owned a
    /// resource (see [`Trace::owns_resource`](crate::Trace::owns_resource):
    /// by default, a `#[gc(skip)]` field that needs dropping, such as a
    /// `File`): it was released late, only because a collection found its
    /// cycle, not when its last handle went — what Python's
    /// `ResourceWarning` tells about unclosed files. Not part of `LEAK`.
    ///
    /// ```
    /// use gc_core::gc::DebugFlags;
    /// assert!(!DebugFlags::LEAK.contains(DebugFlags::RESOURCES));
    /// ```
    pub const RESOURCES: DebugFlags = DebugFlags(64);
    /// `COLLECTABLE | UNCOLLECTABLE | SAVEALL`, Python's `DEBUG_LEAK`.
    pub const LEAK: DebugFlags = DebugFlags(2 | 4 | 32);

    /// No flags.
    ///
    /// ```
    /// assert!(gc_core::gc::DebugFlags::empty().is_empty());
    /// ```
    pub const fn empty() -> DebugFlags {
        DebugFlags(0)
    }

    /// Whether every flag of `other` is set.
    ///
    /// ```
    /// use gc_core::gc::DebugFlags;
    /// assert!(DebugFlags::LEAK.contains(DebugFlags::COLLECTABLE | DebugFlags::SAVEALL));
    /// ```
    pub const fn contains(self, other: DebugFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any flag of `other` is set.
    ///
    /// ```
    /// use gc_core::gc::DebugFlags;
    /// assert!(DebugFlags::LEAK.intersects(DebugFlags::STATS | DebugFlags::SAVEALL));
    /// ```
    pub const fn intersects(self, other: DebugFlags) -> bool {
        self.0 & other.0 != 0
    }

    /// Whether no flag is set.
    ///
    /// ```
    /// assert!(!gc_core::gc::DebugFlags::STATS.is_empty());
    /// ```
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The raw bits (the values of Python's constants).
    ///
    /// ```
    /// assert_eq!(gc_core::gc::DebugFlags::LEAK.bits(), 38);
    /// ```
    pub const fn bits(self) -> u32 {
        self.0
    }
}

impl BitOr for DebugFlags {
    type Output = DebugFlags;
    fn bitor(self, rhs: DebugFlags) -> DebugFlags {
        DebugFlags(self.0 | rhs.0)
    }
}

impl BitOrAssign for DebugFlags {
    fn bitor_assign(&mut self, rhs: DebugFlags) {
        self.0 |= rhs.0;
    }
}

impl BitAnd for DebugFlags {
    type Output = DebugFlags;
    fn bitand(self, rhs: DebugFlags) -> DebugFlags {
        DebugFlags(self.0 & rhs.0)
    }
}

impl Not for DebugFlags {
    type Output = DebugFlags;
    /// The known flags not in `self`.
    fn not(self) -> DebugFlags {
        DebugFlags(!self.0 & (DebugFlags::STATS.0 | DebugFlags::LEAK.0 | DebugFlags::RESOURCES.0))
    }
}

impl fmt::Debug for DebugFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (DebugFlags::STATS, "STATS"),
            (DebugFlags::COLLECTABLE, "COLLECTABLE"),
            (DebugFlags::UNCOLLECTABLE, "UNCOLLECTABLE"),
            (DebugFlags::SAVEALL, "SAVEALL"),
            (DebugFlags::RESOURCES, "RESOURCES"),
        ];
        let set: Vec<&str> = names
            .iter()
            .filter(|(flag, _)| self.contains(*flag))
            .map(|(_, n)| *n)
            .collect();
        if set.is_empty() {
            write!(f, "DebugFlags(empty)")
        } else {
            write!(f, "DebugFlags({})", set.join(" | "))
        }
    }
}
