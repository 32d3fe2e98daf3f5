//! Leak-hunting tools (the layer above the handles): the census of live
//! objects, the reference graph (referrers, referents), its DOT export and
//! the allocation-site report — what Python users do with objgraph,
//! `gc.get_referrers` and tracemalloc.
//!
//! Invariants:
//! - Nothing here changes what the collector frees.
//! - Every object a tool walks while user code (`Trace::trace`, a DOT
//!   writer) runs is held by a strong handle.

pub(crate) mod census;
pub(crate) mod dot;
pub(crate) mod graph;
pub(crate) mod sites;
