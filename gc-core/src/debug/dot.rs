//! Graphviz DOT export of the reference graph around an object — objgraph's
//! `show_backrefs` / `show_refs` workflow.

use std::collections::{HashMap, VecDeque};
use std::io::{self, Write};
use std::ptr::NonNull;

use super::graph::{edges_of, tracked_objects};
use crate::header::Header;
use crate::heap::Heap;
use crate::GcAny;

/// Which edges [`gc::write_dot`](crate::gc::write_dot) follows from the root.
///
/// ```
/// use gc_core::gc::DotDirection;
/// assert_ne!(DotDirection::Referrers, DotDirection::Referents);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DotDirection {
    /// Who refers to the root, and who refers to those… (`show_backrefs`):
    /// the question "what keeps this alive?".
    Referrers,
    /// What the root refers to, and so on (`show_refs`).
    Referents,
}

/// Options of [`gc::write_dot`](crate::gc::write_dot).
///
/// ```
/// use gc_core::gc::{DotDirection, DotOptions};
/// let o = DotOptions { direction: DotDirection::Referrers, ..DotOptions::default() };
/// assert_eq!(o.max_depth, 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DotOptions {
    /// Edges to follow.
    pub direction: DotDirection,
    /// How many edges away from the root to go.
    pub max_depth: usize,
    /// Stop adding objects after this many.
    pub max_nodes: usize,
}

impl Default for DotOptions {
    /// Referrers, depth 3, at most 200 objects.
    fn default() -> DotOptions {
        DotOptions {
            direction: DotDirection::Referrers,
            max_depth: 3,
            max_nodes: 200,
        }
    }
}

/// All edges between tracked objects, reversed: target -> referrers. The
/// sources are held by `holders`, so every address stays valid while `trace`
/// (user code) runs.
fn reverse_edges(holders: &[GcAny]) -> HashMap<NonNull<Header>, Vec<NonNull<Header>>> {
    let mut rev: HashMap<NonNull<Header>, Vec<NonNull<Header>>> = HashMap::new();
    for src in holders {
        let src = src.header_ptr();
        // SAFETY: `holders` keeps `src` alive.
        for dst in unsafe { edges_of(src) } {
            rev.entry(dst).or_default().push(src);
        }
    }
    rev
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Breadth-first walk from `root`, writing DOT to `out`.
///
/// The whole graph is walked and formatted first, holding a handle to every
/// object it names, and only then written: `out` is user code, which may
/// drop the last handle to any object of the graph.
pub(crate) fn write(
    heap: &Heap,
    root: &GcAny,
    opts: DotOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let text = render(heap, root, opts);
    out.write_all(text.as_bytes())
}

/// The DOT text of [`write`](fn@write).
fn render(heap: &Heap, root: &GcAny, opts: DotOptions) -> String {
    let holders = match opts.direction {
        DotDirection::Referrers => tracked_objects(heap),
        DotDirection::Referents => Vec::new(),
    };
    let rev = match opts.direction {
        DotDirection::Referrers => Some(reverse_edges(&holders)),
        DotDirection::Referents => None,
    };
    // Every node, with a handle that keeps it allocated until the text is made.
    let mut ids: HashMap<NonNull<Header>, usize> = HashMap::new();
    let mut nodes: Vec<GcAny> = Vec::new();
    let mut queue = VecDeque::new();
    let mut edges: Vec<(usize, usize)> = Vec::new();
    let mut truncated = false;
    ids.insert(root.header_ptr(), 0);
    nodes.push(root.clone());
    queue.push_back((0, 0));
    while let Some((node_id, depth)) = queue.pop_front() {
        if depth == opts.max_depth {
            continue;
        }
        let node = nodes[node_id].header_ptr();
        let next: Vec<NonNull<Header>> = match &rev {
            Some(rev) => rev.get(&node).cloned().unwrap_or_default(),
            // An orphan (torn down, still referenced) has no value to trace:
            // it is drawn without edges.
            None if nodes[node_id].is_dead() => Vec::new(),
            // SAFETY: `nodes` holds a handle to `node`.
            None => unsafe { edges_of(node) },
        };
        for other in next {
            let id = match ids.get(&other) {
                Some(&id) => id,
                None if ids.len() < opts.max_nodes.max(1) => {
                    let id = ids.len();
                    ids.insert(other, id);
                    // SAFETY: `other` is an edge of, or a referrer held in
                    // `holders` of, an object we hold: it is live.
                    nodes.push(unsafe { GcAny::new_ref(other) });
                    queue.push_back((id, depth + 1));
                    id
                }
                None => {
                    truncated = true;
                    continue;
                }
            };
            edges.push(match opts.direction {
                DotDirection::Referrers => (id, node_id),
                DotDirection::Referents => (node_id, id),
            });
        }
    }
    let mut text = String::new();
    text.push_str("digraph gc {\n");
    text.push_str("  node [shape=box, fontname=\"monospace\", fontsize=10];\n");
    for (id, node) in nodes.iter().enumerate() {
        let style = if id == 0 {
            ", style=filled, fillcolor=\"#ffcc66\""
        } else {
            ""
        };
        text.push_str(&format!(
            "  n{id} [label=\"{}\\n{:#x}\"{style}];\n",
            escape(node.type_name()),
            node.addr()
        ));
    }
    for (a, b) in edges {
        text.push_str(&format!("  n{a} -> n{b};\n"));
    }
    if truncated {
        text.push_str("  truncated [shape=plaintext, label=\"(more objects not shown)\"];\n");
    }
    text.push_str("}\n");
    text
}
