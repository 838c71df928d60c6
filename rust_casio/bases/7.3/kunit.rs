// SPDX-License-Identifier: GPL-2.0

//! KUnit tests of what the guest suites cannot see from user space: the
//! references CASIO takes on tasks, and the state it keeps beside its
//! queues for other CPUs to read. They run at boot, before init, when
//! the kernel has CONFIG_KUNIT.

#[kernel::macros::kunit_tests(sched_casio)]
mod tests {
    use core::ffi::{c_int, c_void};
    use core::ptr;
    use kernel::bindings;
    use kernel::str::CStrExt;

    use crate::rq::TaskRqLock;
    use crate::task::Task;
    use crate::timer::check_timer_ref;

    /// Threads run at once, and the jobs each runs before it exits.
    const THREADS: usize = 4;
    const JOBS: usize = 40;
    /// Each job's budget and period, in ns, and the work it does, in us.
    const RUNTIME_NS: u64 = 2_000_000;
    const PERIOD_NS: u64 = 10_000_000;
    const WORK_US: usize = 500;
    /// How long an exited thread's last references may take to go: an
    /// RCU grace period and the last timer expiry, with TCG's jitter.
    const RELEASE_WAIT_MS: u32 = 10_000;
    const POLL_MS: u32 = 10;

    /// The threads of the published-state case: more than the guest's
    /// CPUs, at a total utilisation above one CPU, so that they are
    /// pushed and pulled. Each has a 1 ms budget and a period of
    /// `CHURN_PERIOD_MS + i % 4` ms.
    const CHURN_THREADS: usize = 8;
    const CHURN_JOBS: usize = 50;
    const CHURN_RUNTIME_NS: u64 = 1_000_000;
    const CHURN_PERIOD_MS: u64 = 4;
    /// How long the threads may take to run their jobs, under TCG.
    const CHURN_WAIT_MS: i64 = 60_000;

    /// A CASIO thread's body: `data` jobs that end in `yield()` (the next
    /// one is released by the task's timer at the next period) and jobs
    /// that block and wake up (the CBS rule may re-arm the timer at the
    /// deadline), then exit, often with the timer still queued.
    ///
    /// # Safety
    ///
    /// Runs as a kthread's function.
    unsafe extern "C" fn casio_jobs(data: *mut c_void) -> c_int {
        for i in 0..data as usize {
            // SAFETY: busy-waiting and yielding are allowed in a kthread.
            unsafe {
                bindings::__udelay(WORK_US);
                if i % 2 == 0 {
                    bindings::yield_();
                } else {
                    bindings::usleep_range_state(1000, 3000, bindings::TASK_UNINTERRUPTIBLE);
                }
            }
        }
        0
    }

    /// Starts a kthread that runs `jobs` jobs as a CASIO task of `runtime`
    /// every `period` ns. Returns it with a reference for the caller, and
    /// what `sched_setattr()` returned: it runs even if CASIO refused it,
    /// so that it exits.
    fn spawn(
        i: usize,
        jobs: usize,
        runtime: u64,
        period: u64,
    ) -> (*mut bindings::task_struct, c_int) {
        let attr = bindings::sched_attr {
            size: core::mem::size_of::<bindings::sched_attr>() as u32,
            sched_policy: bindings::SCHED_CASIO,
            sched_runtime: runtime,
            sched_deadline: period,
            sched_period: period,
            ..Default::default()
        };
        // SAFETY: the name is a C string whose one `%d` takes `i`; the
        // job count travels in the data pointer.
        let p = unsafe {
            bindings::kthread_create_on_node(
                Some(casio_jobs),
                jobs as *mut c_void,
                bindings::NUMA_NO_NODE,
                kernel::c_str!("casio-kunit/%d").as_char_ptr(),
                i as c_int,
            )
        };
        // SAFETY: `IS_ERR()` only looks at the value.
        assert!(!unsafe { bindings::IS_ERR(p.cast()) });
        // SAFETY: `p` is a new thread, not yet woken, so alive.
        unsafe {
            bindings::get_task_struct(p);
            let set = bindings::sched_setattr_nocheck(p, &attr);
            bindings::wake_up_process(p);
            (p, set)
        }
    }

    /// The reference count of `p`.
    ///
    /// # Safety
    ///
    /// The caller holds a reference to `p`.
    unsafe fn usage(p: *mut bindings::task_struct) -> c_int {
        // SAFETY: `p` is alive; the count is an atomic int, read once.
        unsafe { ptr::read_volatile(ptr::addr_of!((*p).usage.refs.counter)) }
    }

    /// Whether `p` has exited.
    ///
    /// # Safety
    ///
    /// The caller holds a reference to `p`.
    unsafe fn exited(p: *mut bindings::task_struct) -> bool {
        // SAFETY: `p` is alive; the word is read once.
        unsafe { ptr::read_volatile(ptr::addr_of!((*p).exit_state)) != 0 }
    }

    /// CASIO threads that ran jobs and exited leave no reference behind:
    /// each arming of a task's timer that takes a reference is matched
    /// by the expiry or the cancel that drops it. A leak keeps the task
    /// (and its stack) forever; an extra drop frees it early, which
    /// refcount_t reports.
    #[test]
    fn exited_tasks_keep_no_reference() {
        let mut tasks = [ptr::null_mut::<bindings::task_struct>(); THREADS];
        let mut set = [0; THREADS];
        for (i, t) in tasks.iter_mut().enumerate() {
            (*t, set[i]) = spawn(i, JOBS, RUNTIME_NS, PERIOD_NS);
        }
        assert_eq!(set, [0; THREADS]);
        for p in tasks {
            let mut waited = 0;
            // SAFETY: the test holds a reference to `p`.
            while unsafe { usage(p) } != 1 && waited < RELEASE_WAIT_MS {
                // SAFETY: the test runs in process context.
                unsafe { bindings::msleep(POLL_MS) };
                waited += POLL_MS;
            }
            // SAFETY: as above.
            let left = unsafe { usage(p) };
            // SAFETY: the test's reference, taken by `spawn()`.
            unsafe { bindings::put_task_struct(p) };
            assert_eq!(left, 1);
        }
    }

    /// Whenever a task's rq lock is taken while CASIO tasks come and go,
    /// migrate and are pushed and pulled, what `publish()` keeps agrees
    /// with the queues (the earliest deadlines other CPUs read without
    /// the lock, the root domain's CPU heap, free and overload masks),
    /// and a queued timer holds its task reference. A stale entry sends
    /// tasks to the wrong CPU or leaves them waiting behind later ones,
    /// which user space sees at most as a late job.
    #[test]
    fn published_state_matches_queues() {
        let mut tasks = [ptr::null_mut::<bindings::task_struct>(); CHURN_THREADS];
        let mut set = [0; CHURN_THREADS];
        for (i, t) in tasks.iter_mut().enumerate() {
            let period = (CHURN_PERIOD_MS + i as u64 % 4) * 1_000_000;
            (*t, set[i]) = spawn(i, CHURN_JOBS, CHURN_RUNTIME_NS, period);
        }
        // SAFETY: `ktime_get()` may be called from any context.
        let start = unsafe { bindings::ktime_get() };
        let (mut checks, mut failed, mut waited) = (0u32, None, 0);
        loop {
            let mut alive = 0;
            for &p in &tasks {
                // SAFETY: the test holds a reference to `p`.
                if unsafe { exited(p) } {
                    continue;
                }
                alive += 1;
                // SAFETY: as above; the test holds no scheduler lock.
                let mut lock = unsafe { TaskRqLock::lock(p) };
                let checked = lock.rq().check_published().and_then(|()| {
                    // SAFETY: `p` is valid and its rq lock is held while
                    // the handle lives; no other handle of it exists.
                    check_timer_ref(&unsafe { Task::from_raw(p) })
                });
                drop(lock);
                checks += 1;
                failed = failed.or(checked.err());
            }
            if alive == 0 || failed.is_some() || waited >= CHURN_WAIT_MS {
                break;
            }
            // SAFETY: the test runs in process context; `ktime_get()`
            // may be called from any context.
            waited = unsafe {
                bindings::msleep(1);
                (bindings::ktime_get() - start) / 1_000_000
            };
        }
        if let Some(e) = failed {
            kernel::pr_err!("published state: {}\n", e);
        }
        for p in tasks {
            // SAFETY: the test's reference, taken by `spawn()`.
            unsafe { bindings::put_task_struct(p) };
        }
        assert_eq!(set, [0; CHURN_THREADS]);
        assert!(failed.is_none());
        assert!(checks >= CHURN_THREADS as u32);
        assert!(waited < CHURN_WAIT_MS);
    }
}
