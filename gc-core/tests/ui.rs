//! Compile-fail tests: misuses of `gc_core` that must not compile.
//!
//! Each file in `tests/ui/` is a small program that must be rejected by the
//! compiler, and its `.stderr` file next to it holds the expected diagnostics.
//! The diagnostics depend on the rustc version, so after a toolchain update
//! (or a deliberate change to an error message) regenerate them with
//!
//! ```text
//! TRYBUILD=overwrite cargo test -p gc-core --test ui
//! ```
//!
//! and read every changed `.stderr` file to check that each program still
//! fails for the reason its top-of-file comment names (and not, say, because
//! of a missing import).

#[test]
#[cfg_attr(miri, ignore = "runs the compiler")]
fn compile_fail_cases() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
