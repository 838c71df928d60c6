//! Helpers shared by the CASIO test suites and benchmarks (`tests/guest`,
//! `bench/guest`, `bench/host`):
//!
//! - [`rng`]: a tiny deterministic PRNG (xorshift64*) and a seeded shuffle,
//!   so "random" orders and workloads are the same on every run;
//! - [`shm`] (feature `shm`, on by default): memory shared with forked
//!   children, as an untyped array of `AtomicU64` ([`Shm`]) or as typed
//!   records ([`shm::Shared`] of structs declared with [`shm_record!`]);
//! - [`sysctl`]: a guard that puts a `/proc/sys` file back as it was;
//! - [`throttle`]: the RT and CASIO throttling knobs and a guard that
//!   turns both off.

#![deny(missing_docs)]

pub mod rng;
#[cfg(feature = "shm")]
pub mod shm;
pub mod sysctl;
pub mod throttle;

pub use rng::Rng;
#[cfg(feature = "shm")]
pub use shm::{Shared, Shm, Slot};
