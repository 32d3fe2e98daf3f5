//! A first tour of gc-core: build structures with reference cycles, drop the
//! handles, and watch the cycle collector find and free them.
//!
//! Run it with `cargo run --release --example cycles`. Each section prints
//! what happened in that section only; the collector's own statistics
//! (`gc::stats()`) are cumulative since the thread started, so section 3
//! prints them as differences from a snapshot taken at its start.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gc_core::gc::{self, GenerationStats, Phase};
use gc_core::{Finalize, Gc, Trace, Weak};

/// A person in a social graph: friendships point both ways, so every
/// friendship is a reference cycle.
#[derive(Trace)]
struct Person {
    name: String,
    friends: RefCell<Vec<Gc<Person>>>,
}

impl Finalize for Person {
    fn finalize(&self) {
        println!("  finalize: {} is being freed", self.name);
    }
}

/// A tree whose children point back to their parent with a strong `Gc`:
/// with `Rc` this would leak, here the collector frees it.
#[derive(Trace, Finalize)]
struct TreeNode {
    depth: u32,
    parent: RefCell<Option<Gc<TreeNode>>>,
    children: RefCell<Vec<Gc<TreeNode>>>,
}

fn befriend(a: &Gc<Person>, b: &Gc<Person>) {
    a.friends.borrow_mut().push(b.clone());
    b.friends.borrow_mut().push(a.clone());
}

fn build_tree(parent: &Gc<TreeNode>, depth: u32, fanout: usize) {
    if depth == 0 {
        return;
    }
    for _ in 0..fanout {
        let child = Gc::new(TreeNode {
            depth: parent.depth + 1,
            parent: RefCell::new(Some(parent.clone())),
            children: RefCell::new(Vec::new()),
        });
        build_tree(&child, depth - 1, fanout);
        parent.children.borrow_mut().push(child);
    }
}

/// What `gc::stats()` gained since `before` (it is cumulative since the
/// thread started).
fn print_stats_since(before: &[GenerationStats; 3]) {
    println!(
        "gc::stats() for this section (per generation: collections of it; objects \
         found unreachable, and those that could not be freed):"
    );
    for (g, (now, then)) in gc::stats().iter().zip(before).enumerate() {
        println!(
            "  generation {g}: {} collections, {} collected, {} uncollectable",
            now.collections - then.collections,
            now.collected - then.collected,
            now.uncollectable - then.uncollectable
        );
    }
}

fn main() {
    println!("== 1. A friendship triangle ==");
    let alice = Gc::new(Person {
        name: "Alice".into(),
        friends: RefCell::new(vec![]),
    });
    let bob = Gc::new(Person {
        name: "Bob".into(),
        friends: RefCell::new(vec![]),
    });
    let carol = Gc::new(Person {
        name: "Carol".into(),
        friends: RefCell::new(vec![]),
    });
    befriend(&alice, &bob);
    befriend(&bob, &carol);
    befriend(&carol, &alice);
    let watch_alice: Weak<Person> = Gc::downgrade(&alice);
    println!(
        "Alice has {} strong references (1 handle + 2 friends)",
        Gc::strong_count(&alice)
    );
    drop((alice, bob, carol));
    println!(
        "handles dropped; Alice still alive through the cycle: {}",
        watch_alice.upgrade().is_some()
    );
    let found = gc::collect();
    println!("gc::collect() found {found} unreachable objects");
    println!(
        "Alice after the collection: {}",
        match watch_alice.upgrade() {
            Some(_) => "alive",
            None => "freed",
        }
    );

    println!("\n== 2. A tree with parent back-pointers ==");
    let root = Gc::new(TreeNode {
        depth: 0,
        parent: RefCell::new(None),
        children: RefCell::new(Vec::new()),
    });
    build_tree(&root, 6, 4); // 4 + 16 + ... + 4096 = 5460 children
    let nodes = gc::objects(None).len();
    println!("built a tree: {nodes} tracked objects live (gc::objects(None).len())");
    drop(root);
    println!(
        "root handle dropped: {} tracked objects still live",
        gc::objects(None).len()
    );
    println!("gc::collect() found {} unreachable objects", gc::collect());

    println!("\n== 3. Automatic collection while allocating ==");
    let stats_before = gc::stats();
    let collections = Rc::new(Cell::new(0));
    let freed = Rc::new(Cell::new(0));
    let (c, f) = (collections.clone(), freed.clone());
    let id = gc::add_callback(move |phase, info| {
        if phase == Phase::Stop {
            c.set(c.get() + 1);
            f.set(f.get() + info.collected);
        }
    });
    for i in 0..100_000 {
        // Each iteration builds and abandons a two-node cycle.
        let a = Gc::new(TreeNode {
            depth: i,
            parent: RefCell::new(None),
            children: RefCell::new(Vec::new()),
        });
        let b = Gc::new(TreeNode {
            depth: i,
            parent: RefCell::new(Some(a.clone())),
            children: RefCell::new(Vec::new()),
        });
        a.children.borrow_mut().push(b);
    }
    gc::remove_callback(id);
    println!(
        "100000 abandoned two-node cycles (200000 objects): {} automatic collections \
         (counted by a callback) freed {} of them",
        collections.get(),
        freed.get()
    );
    let (t0, t1, t2) = gc::threshold();
    println!(
        "threshold() = {:?}: collect generation 0 when its count passes {t0}, generation 1 \
         after {t1} generation-0 collections, generation 2 after {t2} generation-1 ones",
        (t0, t1, t2)
    );
    let (c0, c1, c2) = gc::count();
    println!(
        "count() = {:?}: {c0} tracked objects allocated (minus freed) since the last \
         generation-0 collection, {c1} generation-0 collections since the last generation-1 \
         one, {c2} generation-1 collection(s) since the last full one",
        (c0, c1, c2)
    );
    print_stats_since(&stats_before);
    println!(
        "leftover cycles (made since the last automatic collection, or still in use when one \
         ran and moved to an older generation) freed by a final collect(): {}",
        gc::collect()
    );
}
