//! Small-object allocation through the pooled heap against the system
//! allocator behind std `Box` and `Rc` (issue 6): allocate and drop
//! 1,000,000 `u64`s one at a time, and build then drop a `Vec` of them.
//!
//! ```sh
//! cargo bench -p gc-bench --bench small_alloc
//! ```

use std::hint::black_box;
use std::rc::Rc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gc_core::Gc;

const N: u64 = 1_000_000;

fn small_alloc(c: &mut Criterion) {
    let mut g = c.benchmark_group("alloc_drop_one_at_a_time");
    g.throughput(Throughput::Elements(N));
    g.bench_function("Box", |b| {
        b.iter(|| (0..N).for_each(|i| drop(black_box(Box::new(i)))))
    });
    g.bench_function("Rc", |b| {
        b.iter(|| (0..N).for_each(|i| drop(black_box(Rc::new(i)))))
    });
    g.bench_function("Gc", |b| {
        b.iter(|| (0..N).for_each(|i| drop(black_box(Gc::new(i)))))
    });
    g.finish();

    let mut g = c.benchmark_group("build_then_drop");
    g.sample_size(20);
    g.throughput(Throughput::Elements(N));
    g.bench_function("Box", |b| {
        b.iter(|| drop(black_box((0..N).map(Box::new).collect::<Vec<_>>())))
    });
    g.bench_function("Rc", |b| {
        b.iter(|| drop(black_box((0..N).map(Rc::new).collect::<Vec<_>>())))
    });
    g.bench_function("Gc", |b| {
        b.iter(|| drop(black_box((0..N).map(Gc::new).collect::<Vec<_>>())))
    });
    g.finish();
}

criterion_group!(benches, small_alloc);
criterion_main!(benches);
