//! Host-testable parts of the CASIO guest benchmarks: the deterministic
//! PRNG, UUniFast task-set generation, order statistics and the
//! machine-readable `BENCH` line format.  The guest-only process and
//! scheduling plumbing lives in `sys`, the benchmarks in the binary.

#![deny(missing_docs)]

pub mod line;
pub mod stats;
pub mod sys;
pub mod taskset;
