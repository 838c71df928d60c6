//! In-guest test suite and demo for SCHED_CASIO.
//!
//! The library holds the pieces shared by the `casio-tests`,
//! `casio-smp-tests`, `casio-fuzz` and `casio-demo` binaries:
//!
//! - [`common`]: helpers every test module uses (processes, shared memory,
//!   checks, kernel files, CPUs); test modules depend on it, not on each
//!   other;
//! - [`tests`]: the tests, one file per feature, registered with
//!   [`tests!`];
//! - [`harness`]: the runner (a forked process per test, `ok N - name`);
//! - [`timeline`]: CPU-slice recording and the demo's ASCII Gantt chart;
//! - [`fuzz`], [`regress`]: the fuzzer and the regression tests of what it
//!   found.

pub mod common;
pub mod fuzz;
pub mod harness;
pub mod regress;
pub mod tests;
pub mod timeline;

/// One millisecond in ns.
pub const MS: u64 = 1_000_000;
/// One second in ns.
pub const SEC: u64 = 1_000_000_000;
