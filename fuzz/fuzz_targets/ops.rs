//! Random programs of graph operations against gc-core, checked by the same
//! reachability oracle as the model-based tests (`gc-core/tests/model.rs`).
//! The input bytes are decoded by `model::decode` (see its docs for the
//! format). A failure panics with the program as Rust source, ready to paste
//! into a regression test in `gc-core/tests/model.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../gc-core/tests/model/mod.rs"]
mod model;

fuzz_target!(|data: &[u8]| {
    let p = model::decode(data);
    if let Err(e) = model::run(&p) {
        panic!("{e}\nprogram:\n{}", p.to_rust());
    }
});
