//! In-guest test suite and demo for SCHED_CASIO.
//!
//! The library holds the pieces shared by the `casio-tests`, `casio-smp-tests` and
//! `casio-demo` binaries: process helpers (fork with timeouts, shared
//! memory, from `casio-testkit`), kernel-interface helpers (RT throttling,
//! `/proc/stat`, kernel log), pure helpers (seeded shuffle from
//! `casio-testkit`, CPU-slice recording, ASCII Gantt), the test harness and
//! the tests themselves.

pub mod budget;
pub mod cbs;
pub mod events;
pub mod fuzz;
pub mod harness;
pub mod kernel;
pub mod pi;
pub mod proc;
pub mod regress;
pub mod rt;
pub mod smp;
pub mod suite;
pub mod timeline;

/// One millisecond in ns.
pub const MS: u64 = 1_000_000;
/// One second in ns.
pub const SEC: u64 = 1_000_000_000;
