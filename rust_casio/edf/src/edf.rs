// SPDX-License-Identifier: GPL-2.0

//! EDF (earliest deadline first) core: the run-queue tree, task parameter
//! validation, job accounting, the per-CPU run-time cap, admission
//! control and the heap of CPUs by deadline for global EDF.
//!
//! Everything here is pure: no allocation, no locking, no panics on any path
//! (all arithmetic is explicitly saturating or wrapping). The kernel glue
//! provides the storage (an [`EdfNode`] embedded in each task, an
//! [`EdfQueue`] embedded in each run queue) and the locking.

pub mod account;
pub mod bw;
pub mod cap;
pub mod cpuheap;
pub mod job;
pub mod params;
pub mod queue;
pub mod tree;

pub use self::account::{Job, JobStats};
pub use self::bw::{Busy, Cap, Ledger, Share, BW_UNIT};
pub use self::cap::RuntimeCap;
pub use self::cpuheap::{CpuHeap, CpuSlot, CPU_NOT_IN_HEAP};
pub use self::job::{job_deadline, should_preempt};
pub use self::params::{
    CasioParams, ParamError, CASIO_MAX_PERIOD_NS, CASIO_MIN_PERIOD_NS, CASIO_MIN_RUNTIME_NS,
};
pub use self::queue::EdfQueue;
pub use self::tree::{EdfKey, EdfNode, EdfTree};
