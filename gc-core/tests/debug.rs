//! Leak-hunting tools: debug flags and output, SAVEALL, objects, referrers,
//! referents, census, DOT export, allocation sites.

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

use gc_core::gc::{self, DebugFlags, DotDirection, DotOptions};
use gc_core::{Finalize, Gc, GcAny, Trace};

/// A debug sink the test can read.
#[derive(Clone, Default)]
struct Capture(Rc<RefCell<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    fn install() -> Capture {
        let c = Capture::default();
        gc::set_debug_output(Some(Box::new(c.clone())));
        c
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.borrow()).into_owned()
    }
}

#[derive(Trace, Finalize)]
struct Node {
    label: &'static str,
    edges: RefCell<Vec<Gc<Node>>>,
}

fn node(label: &'static str) -> Gc<Node> {
    Gc::new(Node {
        label,
        edges: RefCell::new(Vec::new()),
    })
}

fn link(a: &Gc<Node>, b: &Gc<Node>) {
    a.edges.borrow_mut().push(b.clone());
}

fn any<T: Trace>(g: &Gc<T>) -> GcAny {
    Gc::into_any(g.clone())
}

fn cycle_of_two() {
    let a = node("a");
    let b = node("b");
    link(&a, &b);
    link(&b, &a);
}

#[test]
fn stats_flag_prints_one_line_per_collection() {
    gc::collect();
    let out = Capture::install();
    gc::set_debug(DebugFlags::STATS);
    let keep = node("keep");
    cycle_of_two();
    assert_eq!(gc::collect_generation(0), 2);
    gc::set_debug(DebugFlags::empty());
    gc::collect();
    let text = out.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{text}");
    let line = lines[0];
    assert!(line.starts_with("gc: done: generation 0"), "{line}");
    assert!(
        line.contains("objects per generation 3 0 0 (frozen 0)"),
        "{line}"
    );
    assert!(line.contains("2 unreachable, 0 uncollectable"), "{line}");
    assert!(line.contains("s elapsed"), "{line}");
    drop(keep);
    gc::set_debug_output(None);
}

#[test]
fn collectable_flag_names_each_unreachable_object() {
    gc::collect();
    let out = Capture::install();
    gc::set_debug(DebugFlags::COLLECTABLE);
    cycle_of_two();
    assert_eq!(gc::collect(), 2);
    gc::set_debug(DebugFlags::empty());
    let text = out.text();
    let hits = text
        .lines()
        .filter(|l| l.starts_with("gc: collectable <debug::Node @ 0x"))
        .count();
    assert_eq!(hits, 2, "{text}");
    gc::set_debug_output(None);
}

#[test]
fn uncollectable_flag_reports_orphans_and_panics() {
    gc::collect();
    thread_local!(static KEEP: RefCell<Option<Gc<Esc>>> = const { RefCell::new(None) });
    struct Stash(RefCell<Option<Gc<Esc>>>);
    impl Drop for Stash {
        fn drop(&mut self) {
            let g = self.0.borrow_mut().take();
            KEEP.with(|k| *k.borrow_mut() = g);
        }
    }
    impl Finalize for Stash {}
    // SAFETY: traces its one Gc.
    unsafe impl Trace for Stash {
        fn trace(&self, t: &mut gc_core::Tracer) {
            self.0.trace(t)
        }
    }
    #[derive(Trace)]
    struct Esc {
        stash: Stash,
    }
    impl Finalize for Esc {
        fn finalize(&self) {
            panic!("finalizer failed on purpose");
        }
    }
    let out = Capture::install();
    gc::set_debug(DebugFlags::UNCOLLECTABLE);
    let a = Gc::new(Esc {
        stash: Stash(RefCell::new(None)),
    });
    *a.stash.0.borrow_mut() = Some(a.clone());
    drop(a);
    assert_eq!(gc::collect(), 1);
    gc::set_debug(DebugFlags::empty());
    let text = out.text();
    assert!(
        text.contains(
            "gc: uncollectable <debug::uncollectable_flag_reports_orphans_and_panics::Esc @ 0x"
        ),
        "{text}"
    );
    assert!(text.contains("panic in finalizer"), "{text}");
    assert!(text.contains("finalizer failed on purpose"), "{text}");
    KEEP.with(|k| k.borrow_mut().take());
    gc::set_debug_output(None);
}

#[test]
fn saveall_keeps_garbage_until_cleared() {
    gc::collect();
    let a = node("a");
    let b = node("b");
    link(&a, &b);
    link(&b, &a);
    let wa = Gc::downgrade(&a);
    drop((a, b));
    gc::set_debug(DebugFlags::SAVEALL);
    assert_eq!(gc::collect(), 2);
    // Weak references are cleared even though the objects are kept.
    assert!(wa.upgrade().is_none());
    let saved = gc::garbage();
    assert_eq!(saved.len(), 2);
    let mut labels: Vec<&str> = saved
        .iter()
        .map(|g| g.downcast_ref::<Node>().unwrap().label)
        .collect();
    labels.sort();
    assert_eq!(labels, ["a", "b"]);
    drop(saved);
    // Saved objects survive later collections.
    assert_eq!(gc::collect(), 0);
    assert_eq!(gc::garbage().len(), 2);
    // `clear_garbage` is `gc.garbage.clear()`: it only drops the handles.
    let before = gc::stats()[2].collected;
    gc::clear_garbage();
    assert!(gc::garbage().is_empty());
    assert_eq!(gc::stats()[2].collected, before, "nothing freed yet");
    assert_eq!(gc::objects(None).len(), 2, "still cyclic garbage");
    assert_eq!(gc::debug(), DebugFlags::SAVEALL, "flags untouched");
    // With SAVEALL still on, the next collection saves them again.
    assert_eq!(gc::collect(), 2);
    assert_eq!(gc::garbage().len(), 2);
    gc::clear_garbage();
    gc::set_debug(DebugFlags::empty());
    // Without it, the next collection frees and counts them.
    assert_eq!(gc::collect(), 2);
    assert_eq!(gc::stats()[2].collected, before + 4);
    assert!(gc::objects(None).is_empty());
}

#[test]
fn referrers_and_referents_walk_trace_edges() {
    gc::collect();
    let hub = node("hub");
    let x = node("x");
    let y = node("y");
    link(&hub, &x);
    link(&hub, &y);
    link(&x, &y);
    let r = gc::referents(&any(&hub));
    assert_eq!(r, vec![any(&x), any(&y)]);
    let mut by = gc::referrers(&any(&y));
    by.sort_by_key(GcAny::addr);
    let mut expected = vec![any(&hub), any(&x)];
    expected.sort_by_key(GcAny::addr);
    assert_eq!(by, expected);
    assert!(gc::referrers(&any(&hub)).is_empty());
    // Frozen objects are referrers too.
    gc::freeze();
    assert_eq!(gc::referrers(&any(&x)), vec![any(&hub)]);
    gc::unfreeze();
    // objects() lists every tracked object once.
    let all = gc::objects(None);
    assert_eq!(all.len(), 3);
    assert!(all.contains(&any(&x)));
}

#[test]
fn census_diff_finds_the_type_that_grew() {
    gc::collect();
    // A link a shared reference can change makes the type tracked (an
    // immutable self-referential type would be untracked, and the census
    // only counts tracked objects).
    #[derive(Trace, Finalize)]
    struct Leaky {
        _next: std::cell::RefCell<Option<Gc<Leaky>>>,
    }
    let keep = node("keep");
    let before = gc::census();
    let leak: Vec<_> = (0..25)
        .map(|_| {
            Gc::new(Leaky {
                _next: std::cell::RefCell::new(None),
            })
        })
        .collect();
    let extra: Vec<_> = (0..3).map(|_| node("extra")).collect();
    let after = gc::census();
    let growth = after.diff(&before);
    assert_eq!(growth.len(), 2, "{growth:?}");
    assert!(growth[0].type_name.ends_with("Leaky"));
    assert_eq!((growth[0].count, growth[0].delta), (25, 25));
    assert!(growth[0].bytes_delta >= 25 * 40);
    assert!(growth[1].type_name.ends_with("debug::Node"));
    assert_eq!((growth[1].count, growth[1].delta), (4, 3));
    assert_eq!(after.total().count, 29);
    assert!(after.to_string().contains("(total)"));
    drop((leak, extra, keep));
    assert!(gc::census().diff(&before).is_empty());
}

fn dot_of(root: &GcAny, direction: DotDirection, depth: usize) -> String {
    let mut out = Vec::new();
    let opts = DotOptions {
        direction,
        max_depth: depth,
        max_nodes: 100,
    };
    gc::write_dot(root, opts, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn dot_export_shows_backrefs_and_refs() {
    gc::collect();
    let root = node("root");
    let mid = node("mid");
    let leaf = node("leaf");
    link(&root, &mid);
    link(&mid, &leaf);
    let back = dot_of(&any(&leaf), DotDirection::Referrers, 5);
    // leaf = n0, mid = n1, root = n2; edges point from referrer to referent.
    assert!(back.contains("n1 -> n0;"), "{back}");
    assert!(back.contains("n2 -> n1;"), "{back}");
    assert_eq!(back.matches(" -> ").count(), 2, "{back}");
    assert!(back.contains("debug::Node"), "{back}");
    let shallow = dot_of(&any(&leaf), DotDirection::Referrers, 1);
    assert_eq!(shallow.matches(" -> ").count(), 1, "{shallow}");
    let fwd = dot_of(&any(&root), DotDirection::Referents, 5);
    assert!(
        fwd.contains("n0 -> n1;") && fwd.contains("n1 -> n2;"),
        "{fwd}"
    );
    check_with_graphviz(&back);
    check_with_graphviz(&fwd);
}

/// Parse the output with Graphviz's `dot` when it is installed.
fn check_with_graphviz(dot: &str) {
    if cfg!(miri) {
        return;
    }
    let child = std::process::Command::new("dot")
        .arg("-Tsvg")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(_) => {
            eprintln!("skipping the Graphviz check: `dot` is not installed");
            return;
        }
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(dot.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "dot rejected the output: {}\n{dot}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("<svg"));
}

#[test]
fn allocation_sites_name_the_allocating_lines() {
    gc::track_allocations(true);
    let line_a = line!() + 1;
    let many: Vec<_> = (0..7).map(|_| Gc::new(String::from("x"))).collect();
    let line_b = line!() + 1;
    let few: Vec<_> = (0..2).map(|_| node("n")).collect();
    let sites = gc::allocation_sites();
    assert_eq!(sites.len(), 2, "{sites:?}");
    assert_eq!((sites[0].count, sites[0].location.line()), (7, line_a));
    assert!(sites[0].location.file().ends_with("debug.rs"));
    assert_eq!(sites[1].count, 2);
    // `node` allocates: the site is inside it (Gc::new's caller).
    assert_ne!(sites[1].location.line(), line_b);
    drop(many);
    let sites = gc::allocation_sites();
    assert_eq!(sites.len(), 1);
    assert_eq!(sites[0].count, 2);
    gc::track_allocations(false);
    assert!(gc::allocation_sites().is_empty());
    drop(few); // freeing objects with stale records is fine
    let _untracked_now = Gc::new(1);
    assert!(gc::allocation_sites().is_empty());
}

/// A foreign resource: records when it is closed (dropped).
struct Handle(Rc<RefCell<Vec<&'static str>>>, &'static str);

impl Drop for Handle {
    fn drop(&mut self) {
        self.0.borrow_mut().push(self.1);
    }
}

#[derive(Trace, Finalize)]
struct Owner {
    next: RefCell<Option<Gc<Owner>>>,
    #[gc(skip)]
    _handle: Handle,
}

#[derive(Trace, Finalize)]
struct Wrapper {
    owner: Option<Gc<Owner>>,
    inline: Plain,
}

#[derive(Trace, Finalize)]
struct Plain {
    name: String,
}

#[derive(Trace, Finalize)]
struct HoldsOwnerInline {
    me: RefCell<Option<Gc<HoldsOwnerInline>>>,
    part: Owner,
}

#[test]
fn resources_flag_reports_resources_freed_only_by_the_collector() {
    gc::collect();
    assert!(
        Owner::owns_resource(),
        "a skipped field that needs dropping"
    );
    assert!(!Wrapper::owns_resource(), "a Gc edge is another object");
    assert!(!Plain::owns_resource());
    assert!(
        HoldsOwnerInline::owns_resource(),
        "an inline field that owns one"
    );
    let closed = Rc::new(RefCell::new(Vec::new()));
    let owner = |name| {
        Gc::new(Owner {
            next: RefCell::new(None),
            _handle: Handle(closed.clone(), name),
        })
    };
    let out = Capture::install();
    gc::set_debug(DebugFlags::RESOURCES);
    // Freed by its count: closed on time, not reported.
    drop(owner("on-time"));
    // In a cycle: closed only by the collection, and reported.
    let a = owner("late-a");
    let b = owner("late-b");
    *a.next.borrow_mut() = Some(b.clone());
    *b.next.borrow_mut() = Some(a.clone());
    drop((a, b));
    let inline = Gc::new(HoldsOwnerInline {
        me: RefCell::new(None),
        part: Owner {
            next: RefCell::new(None),
            _handle: Handle(closed.clone(), "late-inline"),
        },
    });
    *inline.me.borrow_mut() = Some(inline.clone());
    drop(inline);
    // A cycle without resources is not reported.
    cycle_of_two();
    assert_eq!(closed.borrow().as_slice(), ["on-time"]);
    assert_eq!(gc::collect(), 5);
    gc::set_debug(DebugFlags::empty());
    gc::set_debug_output(None);
    let text = out.text();
    assert_eq!(text.matches("gc: resource").count(), 3, "{text}");
    assert_eq!(text.matches("debug::Owner @").count(), 2, "{text}");
    assert_eq!(
        text.matches("debug::HoldsOwnerInline @").count(),
        1,
        "{text}"
    );
    assert!(!text.contains("debug::Node"), "{text}");
    assert!(text.contains("released by the cycle collector"), "{text}");
    let mut late = closed.borrow()[1..].to_vec();
    late.sort();
    assert_eq!(late, ["late-a", "late-b", "late-inline"]);
}
