//! The SMP tests of SCHED_CASIO (`casio-smp-tests`), one file per
//! feature: global EDF (wake-up placement, push, pull, the "M earliest deadlines run" invariant),
//! affinity, partitioned EDF, many tasks, CPU hotplug and a stress run.
//!
//! Every test needs at least 4 online CPUs (`QEMU_SMP=4`, the default of
//! `qemu/run.sh tests`) and first brings every possible CPU back online
//! (a test killed by its timeout may have left one offline).  The
//! controlling process runs on the last CPU (`ctl`, where the harness
//! runner sits too); the workloads of the EDF tests are restricted to the
//! other CPUs, W = 0..n-1, so M = n - 1 CASIO tasks can run at once and the
//! controller is never starved.  CPU hotplug uses CPUs 1 and 2 only (CPU 0
//! cannot go offline, the last CPU holds the controller and the runner);
//! a guard, the next test and the binary's exit put every CPU back online.
//!
//! A CASIO spinner that never yields keeps one job whose absolute deadline
//! (release + D, set when the policy is set) stays fixed, so the order of
//! the spinners' deadlines is known; the tests read it back from
//! `/proc/PID/sched_casio` instead of trusting their own clock.  Shares of
//! CPU time are read from the per-process CPU clocks
//! (`clock_gettime(CPUCLOCK_SCHED)` of another pid) and compared with
//! wall-clock windows, with wide margins: under QEMU TCG on a 2-core host
//! wake-ups can be tens of ms late.  Where a test needs precise EDF it
//! turns the CASIO cap off (a throttled CPU runs no CASIO task for 50 ms of
//! every second, which would look like a violation); the workload CPUs are
//! then fully busy, but the controller's CPU is not.

pub mod affinity;
pub mod cpus_file;
pub mod hotplug;
pub mod invariant;
pub mod partitioned;
pub mod pinned_admission;
pub mod placement;
pub mod stress;
