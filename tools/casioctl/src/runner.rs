//! Running a periodic task set: one forked child per task, pinned to one
//! CPU, synchronous release at T0, per-job records and execution slices in
//! shared memory (no allocation in the children's hot loop).

use std::ptr;

use casio_abi::{monotonic_ns, sleep_until_ns, thread_cpu_ns, RmTies, SCHED_FIFO};
use casio_testkit::Shm;
use nix::sys::mman::{mlockall, MlockAllFlags};
use nix::sys::prctl::set_pdeathsig;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{alarm, fork, ForkResult, Pid};

use crate::record::{JobRecord, Record, SliceRecord, TaskRecord, FORMAT};
use crate::sched::BadParams;
use crate::taskset::TaskSet;

/// Scheduling policy for the set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// SCHED_CASIO with C, D, T.
    Casio,
    /// SCHED_FIFO, rate-monotonic priorities.
    FifoRm,
}

impl Policy {
    /// Name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Policy::Casio => "casio",
            Policy::FifoRm => "fifo-rm",
        }
    }
}

/// Options of a run.
#[derive(Clone, Debug)]
pub struct RunOpts {
    /// Jobs are released during this long after T0.
    pub duration_ns: u64,
    /// CPU for all tasks.
    pub cpu: usize,
    /// Policy.
    pub policy: Policy,
}

/// A gap between two CLOCK_MONOTONIC samples of the burn loop longer than
/// this splits an execution slice.
pub const SLICE_GAP_NS: u64 = 500_000;

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct TaskHdr {
    ready_ns: u64,
    njobs: u64,
    nslices: u64,
    jobs_dropped: u64,
    slices_dropped: u64,
    /// 0 ok; else stage * 1000 + errno.
    error: u64,
    done: u64,
    abandoned: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct JobShm {
    release: u64,
    start: u64,
    finish: u64,
    exec: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct SliceShm {
    job: u64,
    start: u64,
    end: u64,
}

const STAGE_AFFINITY: u64 = 1;
const STAGE_POLICY: u64 = 2;

/// Where one task's records live in the shared mapping.
#[derive(Clone, Copy, Debug)]
struct Area {
    hdr: usize,
    jobs: usize,
    cap_jobs: usize,
    slices: usize,
    cap_slices: usize,
}

/// A pointer to the `T` at byte `off` of the shared mapping.
///
/// # Safety
/// `off` must be in bounds and aligned for T.
unsafe fn shm_at<T>(shm: &Shm, off: usize) -> *mut T {
    debug_assert!(off + std::mem::size_of::<T>() <= shm.len() * 8);
    shm.as_ptr().cast::<u8>().add(off).cast()
}

fn set_errno_stage(h: *mut TaskHdr, stage: u64, e: i32) {
    // SAFETY: h points into the shared mapping.
    unsafe { ptr::write_volatile(&mut (*h).error, stage * 1000 + e as u64) };
}

/// Describe a child's error code.
fn child_error(code: u64, policy: Policy) -> String {
    let stage = code / 1000;
    let e = casio_abi::Errno((code % 1000) as i32);
    match stage {
        STAGE_AFFINITY => format!("cannot pin to the CPU: {e}"),
        STAGE_POLICY => match policy {
            Policy::Casio => crate::sched::explain(e, 0, true).to_string(),
            Policy::FifoRm => crate::sched::explain(e, 0, false).to_string(),
        },
        _ => format!("error {code}"),
    }
}

struct ChildCtx {
    hdr: *mut TaskHdr,
    jobs: *mut JobShm,
    cap_jobs: usize,
    slices: *mut SliceShm,
    cap_slices: usize,
    runtime: u64,
    period: u64,
    first_release: u64,
    end: u64,
    hard_stop: u64,
}

impl ChildCtx {
    /// Append a slice (or extend the last one when the buffer is full).
    ///
    /// # Safety
    /// Pointers are valid for the capacities.
    unsafe fn push_slice(&self, job: u64, start: u64, end: u64) {
        let h = &mut *self.hdr;
        let n = h.nslices as usize;
        if n < self.cap_slices {
            *self.slices.add(n) = SliceShm { job, start, end };
            h.nslices += 1;
        } else {
            h.slices_dropped += 1;
            if n > 0 {
                (*self.slices.add(n - 1)).end = end;
            }
        }
    }

    /// The periodic loop. Returns when every job released before `end`
    /// has been run, or at `hard_stop`.
    ///
    /// # Safety
    /// Pointers are valid for the capacities.
    unsafe fn run(&self) {
        let h = &mut *self.hdr;
        let mut k: u64 = 0;
        loop {
            let release = self.first_release + k * self.period;
            if release >= self.end {
                break;
            }
            let mut now = monotonic_ns();
            if now >= self.hard_stop {
                h.abandoned = 1;
                // Record the remaining released jobs as never run.
                let mut r = release;
                while r < self.end {
                    let n = h.njobs as usize;
                    if n < self.cap_jobs {
                        *self.jobs.add(n) = JobShm {
                            release: r,
                            ..Default::default()
                        };
                        h.njobs += 1;
                    } else {
                        h.jobs_dropped += 1;
                    }
                    r += self.period;
                }
                break;
            }
            if now < release {
                sleep_until_ns(release);
                now = monotonic_ns();
            }
            let n = h.njobs as usize;
            let record = n < self.cap_jobs;
            let job = n as u64;
            let start = now;
            let cpu0 = thread_cpu_ns();
            let mut last = start;
            let mut slice_start = start;
            let mut used;
            loop {
                let t = monotonic_ns();
                if t - last > SLICE_GAP_NS {
                    if record {
                        self.push_slice(job, slice_start, last);
                    }
                    slice_start = t;
                }
                last = t;
                used = thread_cpu_ns() - cpu0;
                if used >= self.runtime || t >= self.hard_stop {
                    break;
                }
                std::hint::spin_loop();
            }
            if record {
                self.push_slice(job, slice_start, last);
                let finished = used >= self.runtime;
                *self.jobs.add(n) = JobShm {
                    release,
                    start,
                    finish: if finished { last } else { 0 },
                    exec: used,
                };
                h.njobs += 1;
            } else {
                h.jobs_dropped += 1;
            }
            k += 1;
        }
    }
}

/// Why a task set could not be run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// `--cpu` names no online CPU.
    #[error("CPU {cpu} does not exist ({online} online CPUs: 0-{last})", last = .online - 1)]
    NoSuchCpu {
        /// The CPU asked for.
        cpu: usize,
        /// Online CPUs.
        online: usize,
    },
    /// A task's C, D, T that the kernel would refuse.
    #[error("task '{task}': {source}")]
    BadTask {
        /// The task's name.
        task: String,
        /// What is wrong with it.
        source: BadParams,
    },
    /// No shared memory for the records.
    #[error("{0}")]
    Shm(String),
    /// fork() failed.
    #[error("fork failed: {0}")]
    Fork(std::io::Error),
}

/// Run the set and collect the record. Progress notes go to stderr.
pub fn run(ts: &TaskSet, opts: &RunOpts) -> Result<Record, RunError> {
    let n = ts.tasks.len();
    let ncpu = casio_abi::online_cpus();
    if opts.cpu >= ncpu {
        return Err(RunError::NoSuchCpu {
            cpu: opts.cpu,
            online: ncpu,
        });
    }
    if opts.policy == Policy::Casio {
        for t in &ts.tasks {
            crate::sched::check_casio(t.runtime, t.deadline, t.period).map_err(|source| {
                RunError::BadTask {
                    task: t.name.clone(),
                    source,
                }
            })?;
        }
    }
    // Rate-monotonic, from 98 down; equal periods share a priority.
    let periods: Vec<u64> = ts.tasks.iter().map(|t| t.period).collect();
    let prios: Vec<i32> = casio_abi::rm_priorities(&periods, 98, RmTies::Share)
        .into_iter()
        .map(|p| p as i32)
        .collect();

    // Lay out the shared mapping.
    let mut areas = Vec::with_capacity(n);
    let mut off = 0usize;
    let align = |o: usize| (o + 63) & !63;
    for t in &ts.tasks {
        let cap_jobs = (opts.duration_ns / t.period) as usize + 4;
        let cap_slices = (cap_jobs * 64).clamp(4096, 1 << 20);
        let hdr = off;
        off = align(off + std::mem::size_of::<TaskHdr>());
        let jobs = off;
        off = align(off + cap_jobs * std::mem::size_of::<JobShm>());
        let slices = off;
        off = align(off + cap_slices * std::mem::size_of::<SliceShm>());
        areas.push(Area {
            hdr,
            jobs,
            cap_jobs,
            slices,
            cap_slices,
        });
    }
    let shm = Shm::new(off.max(4096).div_ceil(8)).map_err(RunError::Shm)?;

    // The controller stays off the workload CPU when it can.
    if ncpu >= 2 {
        let others: Vec<usize> = (0..ncpu).filter(|&c| c != opts.cpu).collect();
        let _ = casio_abi::set_affinity_cpus(0, &others);
    }

    let max_d = ts.tasks.iter().map(|t| t.deadline).max().unwrap_or(0);
    let max_t = ts.tasks.iter().map(|t| t.period).max().unwrap_or(0);
    // T0 lies beyond the first (set-up time) deadline of every child, so
    // that each child's first job starts fresh at its release.
    let lead = 300_000_000u64.max(max_d + 200_000_000) + 20_000_000 * n as u64;
    let t0 = monotonic_ns() + lead;
    let end = t0 + opts.duration_ns;
    let grace = 1_000_000_000u64.max(2 * max_t);
    let hard_stop = end + grace;
    let alarm_s = ((hard_stop - monotonic_ns()) / 1_000_000_000 + 10) as u32;

    crate::flush_stdio();
    let mut pids = Vec::with_capacity(n);
    for (i, t) in ts.tasks.iter().enumerate() {
        let a = areas[i];
        // SAFETY: the offsets were laid out above within the mapping.
        let ctx = unsafe {
            ChildCtx {
                hdr: shm_at::<TaskHdr>(&shm, a.hdr),
                jobs: shm_at::<JobShm>(&shm, a.jobs),
                cap_jobs: a.cap_jobs,
                slices: shm_at::<SliceShm>(&shm, a.slices),
                cap_slices: a.cap_slices,
                runtime: t.runtime,
                period: t.period,
                first_release: t0 + t.offset,
                end,
                hard_stop,
            }
        };
        // SAFETY: single-threaded program; the child only uses raw
        // syscalls and the shared mapping, then _exit()s.
        match unsafe { fork() } {
            Err(e) => {
                kill_and_reap(&pids);
                return Err(RunError::Fork(e.into()));
            }
            Ok(ForkResult::Child) => {
                // Dies with casioctl, and at the latest at the alarm.
                let _ = set_pdeathsig(Signal::SIGKILL);
                alarm::set(alarm_s);
                // SAFETY: the freshly forked child; see above.
                unsafe {
                    child_main(&ctx, opts, t, prios[i]);
                    libc::_exit(0);
                }
            }
            Ok(ForkResult::Parent { child }) => pids.push(child),
        }
    }

    // Wait for the children, with a last-resort kill.
    let kill_at = hard_stop + 5_000_000_000;
    let mut left: Vec<Pid> = pids.clone();
    let mut statuses: Vec<Option<WaitStatus>> = vec![None; n];
    while !left.is_empty() {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => {}
            Ok(st) => {
                if let Some(p) = st.pid() {
                    if let Some(i) = pids.iter().position(|&q| q == p) {
                        statuses[i] = Some(st);
                    }
                    left.retain(|&q| q != p);
                }
                continue;
            }
            Err(_) => break,
        }
        if monotonic_ns() > kill_at {
            kill_and_reap(&left);
            break;
        }
        casio_abi::sleep_ns(20_000_000);
    }

    // Collect.
    let rel = |t: u64| t as i64 - t0 as i64;
    let mut tasks = Vec::with_capacity(n);
    for (i, t) in ts.tasks.iter().enumerate() {
        let a = areas[i];
        // SAFETY: every child has exited; the mapping is ours to read.
        let h: TaskHdr = unsafe { ptr::read_volatile(shm_at::<TaskHdr>(&shm, a.hdr)) };
        let nj = (h.njobs as usize).min(a.cap_jobs);
        let ns = (h.nslices as usize).min(a.cap_slices);
        let mut jobs = Vec::with_capacity(nj);
        for j in 0..nj {
            // SAFETY: j < cap_jobs.
            let s: JobShm = unsafe { ptr::read(shm_at::<JobShm>(&shm, a.jobs).add(j)) };
            let dl = s.release + t.deadline;
            let finish = (s.finish != 0).then(|| rel(s.finish));
            jobs.push(JobRecord {
                release_ns: rel(s.release),
                abs_deadline_ns: rel(dl),
                start_ns: (s.start != 0).then(|| rel(s.start)),
                finish_ns: finish,
                response_ns: (s.finish != 0).then(|| s.finish as i64 - s.release as i64),
                lateness_ns: (s.finish != 0).then(|| s.finish as i64 - dl as i64),
                miss: s.finish == 0 || s.finish > dl,
                exec_ns: s.exec,
            });
        }
        let mut slices = Vec::with_capacity(ns);
        for j in 0..ns {
            // SAFETY: j < cap_slices.
            let s: SliceShm = unsafe { ptr::read(shm_at::<SliceShm>(&shm, a.slices).add(j)) };
            slices.push(SliceRecord {
                job: s.job as u32,
                start_ns: rel(s.start),
                end_ns: rel(s.end),
            });
        }
        let mut error = None;
        if h.error != 0 {
            error = Some(child_error(h.error, opts.policy));
        } else if h.done == 0 {
            error = Some(match statuses[i] {
                Some(WaitStatus::Signaled(_, sig, _)) => {
                    format!("the task was killed by signal {} ({sig})", sig as i32)
                }
                _ => "the task did not finish".to_string(),
            });
        } else if h.abandoned != 0 {
            error = Some(format!(
                "overloaded: gave up {} ms after the end of the run",
                grace / 1_000_000
            ));
        } else if h.ready_ns > t0 {
            error = Some(format!(
                "set up {} ms after T0 (first release late)",
                (h.ready_ns - t0) / 1_000_000
            ));
        }
        tasks.push(TaskRecord {
            name: t.name.clone(),
            id: t.id,
            pid: pids[i].as_raw(),
            runtime_ns: t.runtime,
            deadline_ns: t.deadline,
            period_ns: t.period,
            offset_ns: t.offset,
            fifo_priority: (opts.policy == Policy::FifoRm).then_some(prios[i]),
            jobs,
            slices,
            jobs_dropped: h.jobs_dropped,
            slices_dropped: h.slices_dropped,
            error,
        });
    }
    Ok(Record {
        format: FORMAT.into(),
        version: 1,
        policy: opts.policy.name().into(),
        cpu: opts.cpu,
        t0_monotonic_ns: t0,
        duration_ns: opts.duration_ns,
        utilization: ts.utilization(),
        tasks,
    })
}

/// SIGKILL our children `pids`, then reap them.
fn kill_and_reap(pids: &[Pid]) {
    for &p in pids {
        let _ = kill(p, Signal::SIGKILL);
    }
    for &p in pids {
        let _ = waitpid(p, None);
    }
}

/// The child's body.
///
/// # Safety
/// Called in a freshly forked child; `ctx` points into the shared mapping.
unsafe fn child_main(ctx: &ChildCtx, opts: &RunOpts, t: &crate::taskset::TaskSpec, prio: i32) {
    let h = ctx.hdr;
    if let Err(e) = casio_abi::set_affinity_cpu(0, opts.cpu) {
        set_errno_stage(h, STAGE_AFFINITY, e.0);
        return;
    }
    let _ = mlockall(MlockAllFlags::MCL_CURRENT | MlockAllFlags::MCL_FUTURE);
    // Pre-fault this task's records.
    ptr::write_bytes(ctx.jobs, 0, ctx.cap_jobs);
    ptr::write_bytes(ctx.slices, 0, ctx.cap_slices);
    let r = match opts.policy {
        Policy::Casio => {
            // The casio_id travels only with sched_setscheduler; runtime
            // and period need sched_setattr.
            let _ = casio_abi::set_casio(0, t.id, t.deadline);
            casio_abi::setattr(
                0,
                &casio_abi::SchedAttr::casio(t.runtime, t.deadline, t.period),
                0,
            )
        }
        Policy::FifoRm => casio_abi::setscheduler(0, SCHED_FIFO, prio),
    };
    if let Err(e) = r {
        set_errno_stage(h, STAGE_POLICY, e.0);
        return;
    }
    ptr::write_volatile(&mut (*h).ready_ns, monotonic_ns());
    ctx.run();
    ptr::write_volatile(&mut (*h).done, 1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taskset::TaskSpec;

    /// Runs a tiny set under SCHED_NORMAL semantics if CASIO is missing:
    /// the children then fail at the policy stage, which must be reported
    /// per task rather than crash the run.
    #[test]
    fn run_reports_policy_errors_or_runs() {
        let ms = 1_000_000;
        let ts = TaskSet {
            duration: None,
            tasks: vec![TaskSpec {
                name: "a".into(),
                id: 1,
                runtime: ms,
                deadline: 20 * ms,
                period: 20 * ms,
                offset: 0,
            }],
        };
        let r = run(
            &ts,
            &RunOpts {
                duration_ns: 100 * ms,
                cpu: 0,
                policy: Policy::Casio,
            },
        )
        .unwrap();
        assert_eq!(r.tasks.len(), 1);
        let t = &r.tasks[0];
        if let Some(e) = &t.error {
            // Host kernel: no CASIO, or not privileged.
            assert!(e.contains("SCHED_CASIO") || e.contains("permission"), "{e}");
            assert!(t.jobs.is_empty());
        } else {
            assert_eq!(t.jobs.len(), 5);
            assert!(t.jobs.iter().all(|j| j.exec_ns >= ms));
            assert!(!t.slices.is_empty());
        }
    }
}
