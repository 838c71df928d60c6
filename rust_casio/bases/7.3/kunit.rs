// SPDX-License-Identifier: GPL-2.0

//! KUnit tests of what the guest suites cannot see from user space: the
//! references CASIO takes on tasks. They run at boot, before init, when
//! the kernel has CONFIG_KUNIT.

#[kernel::macros::kunit_tests(sched_casio)]
mod tests {
    use core::ffi::{c_int, c_void};
    use core::ptr;
    use kernel::bindings;
    use kernel::str::CStrExt;

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

    /// A CASIO thread's body: jobs that end in `yield()` (the next one is
    /// released by the task's timer at the next period) and jobs that
    /// block and wake up (the CBS rule may re-arm the timer at the
    /// deadline), then exit, often with the timer still queued.
    ///
    /// # Safety
    ///
    /// Runs as a kthread's function.
    unsafe extern "C" fn casio_jobs(_data: *mut c_void) -> c_int {
        for i in 0..JOBS {
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

    /// The reference count of `p`.
    ///
    /// # Safety
    ///
    /// The caller holds a reference to `p`.
    unsafe fn usage(p: *mut bindings::task_struct) -> c_int {
        // SAFETY: `p` is alive; the count is an atomic int, read once.
        unsafe { ptr::read_volatile(ptr::addr_of!((*p).usage.refs.counter)) }
    }

    /// CASIO threads that ran jobs and exited leave no reference behind:
    /// each arming of a task's timer that takes a reference is matched
    /// by the expiry or the cancel that drops it. A leak keeps the task
    /// (and its stack) forever; an extra drop frees it early, which
    /// refcount_t reports.
    #[test]
    fn exited_tasks_keep_no_reference() {
        let attr = bindings::sched_attr {
            size: core::mem::size_of::<bindings::sched_attr>() as u32,
            sched_policy: bindings::SCHED_CASIO,
            sched_runtime: RUNTIME_NS,
            sched_deadline: PERIOD_NS,
            sched_period: PERIOD_NS,
            ..Default::default()
        };
        let mut tasks = [ptr::null_mut::<bindings::task_struct>(); THREADS];
        let mut set = [0; THREADS];
        for (i, t) in tasks.iter_mut().enumerate() {
            // SAFETY: the name is a C string whose one `%d` takes `i`.
            let p = unsafe {
                bindings::kthread_create_on_node(
                    Some(casio_jobs),
                    ptr::null_mut(),
                    bindings::NUMA_NO_NODE,
                    kernel::c_str!("casio-kunit/%d").as_char_ptr(),
                    i as c_int,
                )
            };
            // SAFETY: `IS_ERR()` only looks at the value.
            assert!(!unsafe { bindings::IS_ERR(p.cast()) });
            // SAFETY: `p` is a new thread, not yet woken, so alive; the
            // reference taken here is the test's until the end.
            unsafe {
                bindings::get_task_struct(p);
                set[i] = bindings::sched_setattr_nocheck(p, &attr);
                // Woken even if CASIO refused it, so that it exits.
                bindings::wake_up_process(p);
            }
            *t = p;
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
            // SAFETY: the test's reference, taken above.
            unsafe { bindings::put_task_struct(p) };
            assert_eq!(left, 1);
        }
    }
}
