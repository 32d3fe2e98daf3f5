//! Hunting a leak the way Python users do with objgraph and tracemalloc.
//!
//! The program has a classic leak: every `Widget` subscribes a callback to a
//! long-lived event bus, and the callback holds a strong `Gc` to its owner.
//! Closing a widget drops the application's handle, but the bus still keeps
//! the widget alive. This is not a garbage cycle — the bus is reachable — so
//! no collector can free it; the tools below show *what* grows and *who*
//! holds it. Section 5 shows `DebugFlags::RESOURCES`: files that were
//! closed late, by the cycle collector.
//!
//! Run it with `cargo run --release --example leak_hunt`.

use std::cell::RefCell;

use gc_core::gc::{self, DotDirection, DotOptions};
use gc_core::{Finalize, Gc, Trace, Weak};

#[derive(Trace, Finalize)]
struct Widget {
    title: String,
    pixels: Vec<u32>,
    children: RefCell<Vec<Gc<Widget>>>,
}

/// A registered callback. `owner` is the bug: it should be a `Weak`.
#[derive(Trace, Finalize)]
struct Callback {
    event: &'static str,
    owner: Gc<Widget>,
    #[gc(skip)]
    action: fn(&Widget),
}

#[derive(Trace, Finalize)]
struct EventBus {
    callbacks: RefCell<Vec<Gc<Callback>>>,
}

/// The fixed callback.
#[derive(Trace, Finalize)]
struct WeakCallback {
    event: &'static str,
    owner: Weak<Widget>,
    #[gc(skip)]
    action: fn(&Widget),
}

fn redraw(w: &Widget) {
    let _ = (w.title.len(), w.pixels.len());
}

fn open_widget(bus: &EventBus, n: usize) -> Gc<Widget> {
    let w = Gc::new(Widget {
        title: format!("window {n}"),
        pixels: vec![0; 64],
        children: RefCell::new(Vec::new()),
    });
    let button = Gc::new(Widget {
        title: format!("button {n}"),
        pixels: vec![0; 16],
        children: RefCell::new(Vec::new()),
    });
    w.children.borrow_mut().push(button);
    bus.callbacks.borrow_mut().push(Gc::new(Callback {
        event: "resize",
        owner: w.clone(),
        action: redraw,
    }));
    w
}

/// Deliver an event to every subscriber.
fn fire(bus: &EventBus, event: &str) {
    for cb in bus.callbacks.borrow().iter().filter(|cb| cb.event == event) {
        (cb.action)(&cb.owner);
    }
}

fn short_name(type_name: &str) -> &str {
    type_name.rsplit("::").next().unwrap_or(type_name)
}

fn main() {
    let bus = Gc::new(EventBus {
        callbacks: RefCell::new(Vec::new()),
    });
    gc::track_allocations(true);

    // Warm up, then take a baseline census.
    for n in 0..10 {
        drop(open_widget(&bus, n));
    }
    gc::collect();
    let baseline = gc::census();

    // The suspect code path: open and close 100 widgets.
    for n in 10..110 {
        let w = open_widget(&bus, n);
        fire(&bus, "resize");
        drop(w); // "closed"
    }
    let found = gc::collect();
    println!("gc::collect() after closing 100 widgets found {found} unreachable objects");

    // 1. What grew? (objgraph.show_growth)
    println!("\n-- types that grew since the baseline --");
    for g in gc::census().diff(&baseline) {
        println!("{g}");
    }

    // 2. Where were they allocated? (tracemalloc statistics('lineno'))
    println!("\n-- top allocation sites of live objects --");
    for s in gc::allocation_sites().iter().take(3) {
        println!(
            "{}:{}: {} objects, {} bytes",
            s.location.file(),
            s.location.line(),
            s.count,
            s.bytes
        );
    }

    // 3. Who keeps a closed widget alive? (gc.get_referrers)
    let leaked = gc::objects(None)
        .into_iter()
        .find(|o| {
            o.downcast_ref::<Widget>()
                .is_some_and(|w| w.title == "window 50")
        })
        .expect("window 50 is still alive");
    println!("\n-- referrer chain of {leaked:?} --");
    let mut current = leaked.clone();
    for depth in 0..4 {
        let referrers = gc::referrers(&current);
        let Some(next) = referrers.first() else { break };
        println!(
            "{}{} is held by {} ({} referrer(s))",
            "  ".repeat(depth),
            short_name(current.type_name()),
            short_name(next.type_name()),
            referrers.len()
        );
        if let Some(cb) = next.downcast_ref::<Callback>() {
            println!(
                "{}  -> a `{}` callback owns the widget through `Callback::owner`",
                "  ".repeat(depth),
                cb.event
            );
        }
        current = next.clone();
    }

    // 4. The picture (objgraph.show_backrefs): render with `dot -Tsvg`.
    let mut dot = Vec::new();
    let opts = DotOptions {
        direction: DotDirection::Referrers,
        max_depth: 3,
        max_nodes: 12,
    };
    gc::write_dot(&leaked, opts, &mut dot).expect("writing to a Vec cannot fail");
    let path = std::env::temp_dir().join("leak_hunt.dot");
    std::fs::write(&path, &dot).expect("write the DOT file");
    println!(
        "\n-- back-references as DOT (also in {}) --",
        path.display()
    );
    print!("{}", String::from_utf8_lossy(&dot));
    drop(leaked);
    drop(current);

    // The fix: callbacks hold a `Weak` to their owner.
    bus.callbacks.borrow_mut().clear();
    gc::collect();
    let fixed_bus: Gc<RefCell<Vec<Gc<WeakCallback>>>> = Gc::new(RefCell::new(Vec::new()));
    let before = gc::census();
    for n in 0..100 {
        let w = Gc::new(Widget {
            title: format!("window {n}"),
            pixels: vec![0; 64],
            children: RefCell::new(Vec::new()),
        });
        fixed_bus.borrow_mut().push(Gc::new(WeakCallback {
            event: "resize",
            owner: Gc::downgrade(&w),
            action: redraw,
        }));
        drop(w);
    }
    gc::collect();
    println!("\n-- after the fix (callbacks hold Weak<Widget>) --");
    let growth = gc::census().diff(&before);
    if growth.is_empty() {
        println!("no tracked type grew");
    }
    for g in growth {
        println!("{g}");
    }
    let alive = fixed_bus
        .borrow()
        .iter()
        .filter(|cb| match cb.owner.upgrade() {
            Some(w) => {
                (cb.action)(&w);
                let _ = cb.event;
                true
            }
            None => false,
        })
        .count();
    println!("widgets still alive behind the callbacks: {alive}");
    gc::track_allocations(false);

    resources_closed_late();
}

/// A log window that owns an open file and is in a cycle with its parent.
#[derive(Trace, Finalize)]
struct LogPane {
    parent: RefCell<Option<Gc<LogPane>>>,
    children: RefCell<Vec<Gc<LogPane>>>,
    /// A resource: `#[gc(skip)]` fields that need dropping make
    /// `Trace::owns_resource` true, which `DebugFlags::RESOURCES` reports.
    #[gc(skip)]
    _file: std::fs::File,
}

/// 5. Which files were closed late? (Python's `ResourceWarning`)
///
/// A file inside a garbage cycle is closed only when a collection finds the
/// cycle, not when the program drops its last handle. `DebugFlags::RESOURCES`
/// writes a line for each such object the collector frees; the fix is to
/// break the cycle (a `Weak` parent) or to close the file explicitly.
fn resources_closed_late() {
    println!("\n-- files closed only by the cycle collector (DebugFlags::RESOURCES) --");
    let dir = std::env::temp_dir();
    let open = |name: &str| std::fs::File::create(dir.join(name)).expect("create a temp file");
    let root = Gc::new(LogPane {
        parent: RefCell::new(None),
        children: RefCell::new(Vec::new()),
        _file: open("leak_hunt_root.log"),
    });
    let child = Gc::new(LogPane {
        parent: RefCell::new(Some(root.clone())),
        children: RefCell::new(Vec::new()),
        _file: open("leak_hunt_child.log"),
    });
    root.children.borrow_mut().push(child);
    drop(root); // parent <-> child: both files stay open

    // The report goes to the debug sink; here a buffer, printed below.
    let sink = std::rc::Rc::new(RefCell::new(Vec::<u8>::new()));
    struct Shared(std::rc::Rc<RefCell<Vec<u8>>>);
    impl std::io::Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    gc::set_debug_output(Some(Box::new(Shared(sink.clone()))));
    gc::set_debug(gc::DebugFlags::RESOURCES);
    let found = gc::collect();
    gc::set_debug(gc::DebugFlags::empty());
    gc::set_debug_output(None);
    print!("{}", String::from_utf8_lossy(&sink.borrow()));
    println!("(gc::collect() found {found} objects; each line above is a file that stayed open until then)");
    for name in ["leak_hunt_root.log", "leak_hunt_child.log"] {
        let _ = std::fs::remove_file(dir.join(name));
    }
}
