//! What the test modules share; they depend on this module and on
//! nothing of each other. They import each helper from its module
//! (`use crate::common::proc::spawn;`).
//!
//! - [`proc`]: forked children with timeouts, `diag!`;
//! - [`shared`]: typed records in shared memory, T0, futex publishing;
//! - [`gaps`]: the times a spinning task was off the CPU;
//! - [`checks`]: [`Fails`](checks::Fails), which collects every failed check of a test;
//! - [`work`]: the workload CPU, pinning, waiting for T0, privileges;
//! - [`kernel`], [`splat`]: throttling knobs, `/proc/stat`, the kernel log;
//! - [`stats`], [`bw`]: the class's statistics and bandwidth files;
//! - [`cpus`]: CPU lists and hotplug, CPU clocks, the SMP tests' CPUs;
//! - [`spinners`], [`periodic_set`]: the workloads of the SMP tests;
//! - [`edf_sim`]: the EDF model the task-set tests compare against.

pub mod bw;
pub mod checks;
pub mod cpus;
pub mod edf_sim;
pub mod gaps;
pub mod kernel;
pub mod periodic_set;
pub mod proc;
pub mod shared;
pub mod spinners;
pub mod splat;
pub mod stats;
pub mod work;
