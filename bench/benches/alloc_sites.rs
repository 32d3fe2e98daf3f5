//! The cost of allocation-site tracking (`gc::track_allocations`): zero
//! when off — the only work is one branch on a flag of the heap `Gc::new`
//! already loads — and a hash insert/remove per object when on.
//!
//! ```sh
//! cargo bench -p gc-bench --bench alloc_sites
//! ```

use std::cell::RefCell;
use std::hint::black_box;
use std::rc::Rc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gc_core::{gc, Finalize, Gc, Trace};

#[derive(Trace, Finalize)]
struct Node {
    next: RefCell<Option<Gc<Node>>>,
    value: u64,
}

const N: u64 = 100_000;

fn alloc_drop(c: &mut Criterion) {
    let mut g = c.benchmark_group("alloc_sites");
    g.throughput(Throughput::Elements(N));
    g.bench_function("Rc (reference)", |b| {
        b.iter(|| {
            for i in 0..N {
                black_box(Rc::new(RefCell::new((None::<Rc<u64>>, i))));
            }
        })
    });
    for (name, on) in [
        ("gc-core, tracking off", false),
        ("gc-core, tracking on", true),
    ] {
        gc::track_allocations(on);
        g.bench_function(name, |b| {
            b.iter(|| {
                for i in 0..N {
                    black_box(Gc::new(Node {
                        next: RefCell::new(None),
                        value: i,
                    }));
                }
            })
        });
        gc::track_allocations(false);
    }
    g.finish();
}

criterion_group!(benches, alloc_drop);
criterion_main!(benches);
