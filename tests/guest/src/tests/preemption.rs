//! EDF order on one CPU, preemption across classes and the class order.

use casio_abi::{
    burn_cpu, monotonic_ns, policy_name, set_casio, setattr, setscheduler, sleep_until_ns,
    SchedAttr, CLASS_ORDER_BOOT_LINE, SCHED_FIFO, SCHED_NORMAL,
};
use casio_testkit::rng::shuffled;

use crate::common::checks::{ms, rel_ms, sys, Fails};
use crate::common::gaps::{gap_covering, GapLog};
use crate::common::kernel;
use crate::common::kernel::ThrottleOff;
use crate::common::proc::{join_all, spawn, wait_for, wait_for_all, Child};
use crate::common::shared::{shm_record, wait_t0, Shared, Slot};
use crate::common::work::{pin_harness, pin_work, JOIN_NS};
use crate::harness::TestResult;
use crate::{diag, MS, SEC};

crate::tests! {
    edf_order: "5 CASIO tasks on CPU 0 finish in deadline order (2 creation orders)" => t_edf_order,
    preempt_fifo: "waking CASIO task preempts a SCHED_FIFO 99 spinner" => t_preempt_fifo,
    preempt_cfs: "waking CASIO task preempts a SCHED_NORMAL hog" => t_preempt_cfs,
    dl_preempts_casio: "waking SCHED_DEADLINE task preempts a CASIO spinner" => t_dl_preempts_casio,
    class_order: "kernel log has the class-order boot line" => t_class_order,
}

// ---------------------------------------------------------------------------
// c. EDF order
// ---------------------------------------------------------------------------

const EDF_N: usize = 5;
const EDF_BURN: u64 = 30 * MS;

fn edf_deadline(k: usize) -> u64 {
    1000 * MS + 200 * MS * k as u64
}

shm_record! {
    /// What the tasks of [`edf_run`] share with the controller.
    struct EdfRun {
        t0: Slot,
        /// Tasks that set their policy.
        ready: Slot,
        /// Tasks that finished.
        finished: Slot,
        /// A task saw T0 too late.
        late: Slot,
        /// When task k set its policy.
        set_at: [Slot; EDF_N],
        /// At position p: 1 + the task that finished p-th.
        order: [Slot; 10],
        /// When task k finished.
        finish_at: [Slot; EDF_N],
    }
}

/// Run the EDF experiment with tasks created in `order`; returns the
/// failure reason, if any.
fn edf_run(order: &[usize]) -> TestResult {
    let shm = Shared::<EdfRun>::one()?;
    let run = shm.rec();
    let mut kids: Vec<Child> = Vec::new();
    for &k in order {
        kids.push(spawn(&format!("edf task {k}"), move || {
            pin_work()?;
            sys("set_casio", set_casio(0, k as u32, edf_deadline(k)))?;
            run.set_at[k].set(monotonic_ns());
            run.ready.add(1);
            let t0 = wait_t0(&run.t0)?;
            if monotonic_ns() + 5 * MS > t0 {
                run.late.set(1);
            }
            sleep_until_ns(t0);
            let fin = burn_cpu(EDF_BURN);
            let pos = run.finished.add(1) as usize;
            if pos < 10 {
                run.order[pos].set(k as u64 + 1);
            }
            run.finish_at[k].set(fin);
            Ok(())
        })?);
    }
    wait_for_all("edf tasks ready", &mut kids, 10 * SEC, || {
        run.ready.get() >= EDF_N as u64
    })?;
    let t0 = monotonic_ns() + 200 * MS;
    run.t0.set(t0);
    join_all(&mut kids, JOIN_NS)?;
    if run.late.get() != 0 {
        return Err("setup too slow: a task saw T0 too late".into());
    }
    let finish: Vec<usize> = (0..EDF_N)
        .map(|p| run.order[p].get() as usize)
        .map(|v| v.wrapping_sub(1))
        .collect();
    // Each task slept from setting the policy to T0 with all its runtime
    // left, so its wake-up releases a new job (the CBS rule): the
    // absolute deadlines are T0 + D, in the order of D.
    let expected: Vec<usize> = (0..EDF_N).collect();
    let times: Vec<String> = (0..EDF_N)
        .map(|k| {
            format!(
                "task{k}(D={}ms) done at T0+{:.1}ms",
                edf_deadline(k) / MS,
                rel_ms(run.finish_at[k].get(), t0)
            )
        })
        .collect();
    diag!("creation order {order:?}: {}", times.join(", "));
    if finish != expected {
        return Err(format!(
            "creation order {order:?}: finish order {finish:?} != deadline order {expected:?}"
        ));
    }
    Ok(())
}

fn t_edf_order() -> TestResult {
    pin_harness();
    let first = shuffled(EDF_N, 0xCA510);
    let mut second = first.clone();
    second.reverse();
    let mut f = Fails::default();
    for order in [first, second] {
        if let Err(e) = edf_run(&order) {
            f.push(e);
        }
    }
    f.finish()
}

// ---------------------------------------------------------------------------
// d. CASIO preempts FIFO 99 and CFS
// ---------------------------------------------------------------------------

shm_record! {
    /// What a waking task and the spinner it should preempt share with
    /// the controller.
    struct PreemptRun {
        t0: Slot,
        /// The waking task and the spinner set their policies.
        waker_ready: Slot,
        spinner_ready: Slot,
        /// When the waking task finished and woke.
        finish: Slot,
        wake: Slot,
        /// The spinner's time off the CPU.
        gaps: GapLog,
    }
}

/// A waker that sleeps until T0 + `wake_off` and then burns `burn` of
/// CPU, next to a spinner that spins from T0 for `spin_len` logging the
/// gaps in its clock reads, both on the work CPU.
struct Preemption<'a> {
    /// Labels: the waker, the waker in the diagnostic, the spinner, the
    /// spinner in the "spun only until" error.
    waker: &'a str,
    waker_word: &'a str,
    spinner: &'a str,
    spinner_word: &'a str,
    /// Set the waker's and the spinner's policy (run in each).
    set_waker: &'a dyn Fn() -> TestResult,
    set_spinner: &'a dyn Fn() -> TestResult,
    wake_off: u64,
    burn: u64,
    spin_len: u64,
}

/// What a [`Preemption`] run saw.
struct Preempted {
    t0: u64,
    /// When the waker finished.
    fin: u64,
    /// When the spinner's spin ended, its largest gap and all its gaps.
    spin_end: u64,
    max_gap: u64,
    gaps: Vec<(u64, u64)>,
}

impl Preemption<'_> {
    fn run(&self) -> Result<Preempted, String> {
        pin_harness();
        let shm = Shared::<PreemptRun>::one()?;
        let run = shm.rec();
        let mut waker = spawn(self.waker, || {
            pin_work()?;
            (self.set_waker)()?;
            run.waker_ready.set(1);
            let t0 = wait_t0(&run.t0)?;
            sleep_until_ns(t0 + self.wake_off);
            run.wake.set(monotonic_ns());
            let fin = burn_cpu(self.burn);
            run.finish.set(fin);
            Ok(())
        })?;
        wait_for(
            &format!("{} ready", self.waker),
            &mut [&mut waker],
            10 * SEC,
            || run.waker_ready.get() != 0,
        )?;
        let mut spinner = spawn(self.spinner, || {
            pin_work()?;
            (self.set_spinner)()?;
            run.spinner_ready.set(1);
            let t0 = wait_t0(&run.t0)?;
            sleep_until_ns(t0);
            run.gaps.spin(t0 + self.spin_len, None, MS);
            Ok(())
        })?;
        wait_for(
            &format!("{} ready", self.spinner_word),
            &mut [&mut spinner, &mut waker],
            10 * SEC,
            || run.spinner_ready.get() != 0,
        )?;
        let t0 = monotonic_ns() + 200 * MS;
        run.t0.set(t0);
        let r1 = spinner.join(JOIN_NS);
        let r2 = waker.join(JOIN_NS);
        r1?;
        r2?;

        let fin = run.finish.get();
        let wake = run.wake.get();
        let (spin_start, spin_end) = run.gaps.span();
        let (max_gap, max_at) = run.gaps.max_gap();
        let gaps = run.gaps.gaps();
        diag!(
            "{} spun T0+{:.1}..T0+{:.1}ms, {} gaps >1ms, max {:.1}ms at T0+{:.1}ms; {} woke T0+{:.1}ms, finished T0+{:.1}ms",
            self.spinner,
            rel_ms(spin_start, t0),
            rel_ms(spin_end, t0),
            gaps.len(),
            ms(max_gap),
            rel_ms(max_at, t0),
            self.waker_word,
            rel_ms(wake, t0),
            rel_ms(fin, t0)
        );
        if spin_end < t0 + self.spin_len - 100 * MS {
            return Err(format!(
                "{} spun only until T0+{:.1}ms",
                self.spinner_word,
                rel_ms(spin_end, t0)
            ));
        }
        Ok(Preempted {
            t0,
            fin,
            spin_end,
            max_gap,
            gaps,
        })
    }
}

impl Preempted {
    /// The waker (`who`) finished more than 500 ms before the spinner's
    /// spin ended: it preempted the spinner.
    fn check_finished_first(&self, f: &mut Fails, who: &str, spinner: &str) {
        f.check(self.fin + 500 * MS < self.spin_end, || {
            format!(
                "{who} finished at T0+{:.1}ms, not before {spinner}'s end (T0+{:.1}ms) - 500ms",
                rel_ms(self.fin, self.t0),
                rel_ms(self.spin_end, self.t0)
            )
        });
    }
}

fn preempt_run(hog_policy: i32, hog_prio: i32) -> TestResult {
    let hog_name = policy_name(hog_policy);
    let _rt = ThrottleOff::new()?;
    let p = Preemption {
        waker: "casio task",
        waker_word: "casio",
        spinner: &format!("{hog_name} hog"),
        spinner_word: "hog",
        set_waker: &|| sys("set_casio D=100ms", set_casio(0, 1, 100 * MS)),
        set_spinner: &|| {
            sys(
                &format!("setscheduler {hog_name} {hog_prio}"),
                setscheduler(0, hog_policy, hog_prio),
            )
        },
        wake_off: 500 * MS,
        burn: 50 * MS,
        spin_len: 2 * SEC,
    }
    .run()?;
    let (t0, fin) = (p.t0, p.fin);
    let mut f = Fails::default();
    p.check_finished_first(&mut f, "CASIO task", &format!("the {hog_name} hog"));
    f.check(p.max_gap >= 40 * MS, || {
        format!(
            "{hog_name} hog never stalled >= 40ms (largest gap {:.1}ms)",
            ms(p.max_gap)
        )
    });
    f.check(gap_covering(&p.gaps, fin, 40 * MS).is_some(), || {
        format!(
            "no >= 40ms stall of the {hog_name} hog around the CASIO finish time T0+{:.1}ms",
            rel_ms(fin, t0)
        )
    });
    f.finish()
}

fn t_preempt_fifo() -> TestResult {
    preempt_run(SCHED_FIFO, 99)
}

fn t_preempt_cfs() -> TestResult {
    preempt_run(SCHED_NORMAL, 0)
}

// ---------------------------------------------------------------------------
// e. DEADLINE preempts CASIO
// ---------------------------------------------------------------------------

fn t_dl_preempts_casio() -> TestResult {
    // Disabling RT throttling also disables SCHED_DEADLINE admission
    // control, which otherwise refuses DEADLINE tasks pinned to one CPU.
    let _rt = ThrottleOff::new()?;
    let p = Preemption {
        waker: "deadline task",
        waker_word: "deadline task",
        spinner: "casio spinner",
        spinner_word: "casio spinner",
        set_waker: &|| {
            sys(
                "setattr SCHED_DEADLINE 30/100/100ms",
                setattr(0, &SchedAttr::deadline(30 * MS, 100 * MS, 100 * MS), 0),
            )
        },
        set_spinner: &|| sys("set_casio D=2s", set_casio(0, 1, 2 * SEC)),
        wake_off: 300 * MS,
        burn: 10 * MS,
        spin_len: 1500 * MS,
    }
    .run()?;
    let (t0, fin) = (p.t0, p.fin);
    let mut f = Fails::default();
    p.check_finished_first(&mut f, "DEADLINE task", "the CASIO spinner");
    f.check(gap_covering(&p.gaps, fin, 8 * MS).is_some(), || {
        format!(
            "no >= 8ms stall of the CASIO spinner around the DEADLINE finish time T0+{:.1}ms (largest gap {:.1}ms)",
            rel_ms(fin, t0),
            ms(p.max_gap)
        )
    });
    f.finish()
}

// ---------------------------------------------------------------------------
// f. class order boot line
// ---------------------------------------------------------------------------

fn t_class_order() -> TestResult {
    let log = kernel::kernel_log()?;
    if log.iter().any(|l| l.contains(CLASS_ORDER_BOOT_LINE)) {
        return Ok(());
    }
    let related: Vec<&String> = log
        .iter()
        .filter(|l| l.contains("casio") || l.contains("CASIO"))
        .take(5)
        .collect();
    for l in &related {
        diag!("kernel log: {l}");
    }
    Err(format!(
        "{:?} not found in {} kernel log lines",
        CLASS_ORDER_BOOT_LINE,
        log.len()
    ))
}
