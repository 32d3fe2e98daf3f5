//! Graphviz DOT export of the reference graph around an object — objgraph's
//! `show_backrefs` / `show_refs` workflow.

use std::collections::{HashMap, VecDeque};
use std::io::{self, Write};
use std::ptr::NonNull;

use crate::header::{header_of, Header};
use crate::heap::Heap;

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

/// All edges between tracked objects, reversed: target -> referrers.
fn reverse_edges(heap: &Heap) -> HashMap<NonNull<Header>, Vec<NonNull<Header>>> {
    let mut rev: HashMap<NonNull<Header>, Vec<NonNull<Header>>> = HashMap::new();
    for list in heap.gens.iter().chain([&heap.permanent]) {
        for l in list.iter() {
            // SAFETY: list members are live tracked objects.
            let src = unsafe { header_of(l) };
            for dst in crate::gc::edges_of(src) {
                rev.entry(dst).or_default().push(src);
            }
        }
    }
    rev
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Breadth-first walk from `root`, writing DOT to `out`.
pub(crate) fn write(
    heap: &Heap,
    root: NonNull<Header>,
    opts: DotOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let rev = match opts.direction {
        DotDirection::Referrers => Some(reverse_edges(heap)),
        DotDirection::Referents => None,
    };
    let mut ids: HashMap<NonNull<Header>, usize> = HashMap::new();
    let mut queue = VecDeque::new();
    let mut edges: Vec<(usize, usize)> = Vec::new();
    let mut truncated = false;
    ids.insert(root, 0);
    queue.push_back((root, 0));
    while let Some((node, depth)) = queue.pop_front() {
        if depth == opts.max_depth {
            continue;
        }
        let next: Vec<NonNull<Header>> = match &rev {
            Some(rev) => rev.get(&node).cloned().unwrap_or_default(),
            None => crate::gc::edges_of(node),
        };
        for other in next {
            let id = match ids.get(&other) {
                Some(&id) => id,
                None if ids.len() < opts.max_nodes.max(1) => {
                    let id = ids.len();
                    ids.insert(other, id);
                    queue.push_back((other, depth + 1));
                    id
                }
                None => {
                    truncated = true;
                    continue;
                }
            };
            let from_to = match opts.direction {
                DotDirection::Referrers => (id, ids[&node]),
                DotDirection::Referents => (ids[&node], id),
            };
            edges.push(from_to);
        }
    }
    let mut nodes: Vec<(NonNull<Header>, usize)> = ids.into_iter().collect();
    nodes.sort_by_key(|&(_, id)| id);
    writeln!(out, "digraph gc {{")?;
    writeln!(
        out,
        "  node [shape=box, fontname=\"monospace\", fontsize=10];"
    )?;
    for (h, id) in nodes {
        // SAFETY: every node was reached through live edges or is the root,
        // and nothing was freed since (no user code ran).
        let name = (unsafe { h.as_ref() }.vtable().type_name)();
        let style = if id == 0 {
            ", style=filled, fillcolor=\"#ffcc66\""
        } else {
            ""
        };
        writeln!(
            out,
            "  n{id} [label=\"{}\\n{:#x}\"{style}];",
            escape(name),
            h.addr().get()
        )?;
    }
    for (a, b) in edges {
        writeln!(out, "  n{a} -> n{b};")?;
    }
    if truncated {
        writeln!(
            out,
            "  truncated [shape=plaintext, label=\"(more objects not shown)\"];"
        )?;
    }
    writeln!(out, "}}")
}
