//! The tests, one file per feature. Each file registers its tests with
//! [`crate::tests!`] as its `TESTS`; the lists below put the files in run
//! order for `casio-tests` and `casio-smp-tests` ([`smp`]);
//! `casio-tool-tests` has its own list in [`casioctl`].

use crate::harness::Test;

pub mod admission;
pub mod budget;
pub mod casioctl;
pub mod cbs;
pub mod errors;
pub mod events;
pub mod kunit;
pub mod lifecycle;
pub mod params;
pub mod periodic;
pub mod pi;
pub mod policies;
pub mod preemption;
pub mod smp;
pub mod stats;
pub mod task_sets;
pub mod wakeup;

/// Regression tests of what `casio-fuzz` found (bodies in [`crate::regress`]).
mod regressions {
    crate::tests! {
        zombie_reserves_nothing: "sched_setattr(SCHED_CASIO) on an unreaped zombie leaves no bandwidth behind" => crate::regress::t_zombie_reserves_nothing,
    }
    crate::tests! {
        const SMP_TESTS;
        smp_same_prio_class_switch: "a queued task switched 300 times between CASIO and FIFO 99 next to RT tasks" => crate::regress::t_same_prio_class_switch,
        smp_budget_hotplug: "a budgeted CASIO task keeps running while its CPU goes offline and online" => crate::regress::t_budget_across_hotplug,
        smp_fair_share_casio_rt: "CASIO and FIFO hogs on one CPU leave SCHED_NORMAL its 5%" => crate::regress::t_fair_share_under_casio_and_rt,
        smp_refused_offline_keeps_rt: "a CPU whose offline was refused with EBUSY still throttles RT: SCHED_NORMAL keeps its 5%" => crate::regress::t_refused_offline_keeps_rt_bandwidth,
        smp_class_change_while_stranded: "a CASIO task waiting on a CPU taken offline moves at once, not released early, and runs once SCHED_NORMAL" => crate::regress::t_class_change_while_stranded,
        smp_fork_during_policy_change: "forks while another CPU flips the forker CASIO <-> FIFO: children keep their class, no bandwidth leaks" => crate::regress::t_fork_during_policy_change,
    }
}

/// The tests of `casio-tests`, in run order.
pub fn casio_tests() -> Vec<Test> {
    [
        params::TESTS,
        errors::TESTS,
        preemption::TESTS,
        policies::TESTS,
        periodic::TESTS,
        task_sets::TESTS,
        stats::TESTS,
        wakeup::TESTS,
        lifecycle::TESTS,
        admission::TESTS,
        budget::TESTS,
        pi::TESTS,
        events::TESTS,
        kunit::TESTS,
        regressions::TESTS,
        cbs::TESTS,
    ]
    .concat()
}

/// The tests of `casio-smp-tests` (at least [`crate::common::cpus::MIN_CPUS`]
/// CPUs), in run order.
pub fn smp_tests() -> Vec<Test> {
    [
        smp::cpus_file::TESTS,
        smp::placement::TESTS,
        smp::invariant::TESTS,
        smp::affinity::TESTS,
        smp::partitioned::TESTS,
        smp::hotplug::TESTS,
        smp::pinned_admission::TESTS,
        smp::stress::TESTS,
        regressions::SMP_TESTS,
    ]
    .concat()
}
