//! Shared code of the benchmarks (`benches/`) and the report generator
//! (`src/bin/bench-report.rs`). This package is not published.

pub mod bench_support;
