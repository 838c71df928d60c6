//! Global EDF placement: wake-up placement, push and pull.

use casio_abi::{monotonic_ns, sleep_ns, sleep_until_ns, thread_cpu_ns};

use crate::common::checks::{ms, Fails};
use crate::common::cpus::{cpu_all, cpus_mask, getcpu, mask_cpus, set_aff, setup};
use crate::common::proc::{spawn, wait_for_all, Child};
use crate::common::shared::{shm_record, Shared, Slot};
use crate::common::spinners::{
    cap_off, job_deadline, job_deadlines, measure, set_legacy, spawn_spinners, spinner, wait_ready,
    wait_state, Board, Start, CMD_BLOCK, ST_BLOCKED, ST_SLEEPING, ST_SPINNING,
};
use crate::harness::TestResult;
use crate::{diag, MS, SEC};

crate::tests! {
    smp_wakeup_placement: "a CASIO task waking on a CPU busy with an earlier deadline goes to a free CPU" => t_wakeup_placement,
    smp_push: "queued CASIO tasks of an overloaded CPU are pushed to free CPUs" => t_push,
    smp_pull: "a CPU whose CASIO task blocks pulls an earlier deadline queued elsewhere" => t_pull,
}

// ---------------------------------------------------------------------------
// smp_wakeup_placement
// ---------------------------------------------------------------------------

const WAKERS: usize = 2;

shm_record! {
    /// What a waker reports.
    struct WakerSlots {
        /// 1 ready, 2 sleeping, 3 done.
        state: Slot,
        /// When it woke, and its CPU then + 1.
        woke: Slot,
        cpu_at_wake: Slot,
        /// The end of its burn, and the CPUs it burned on.
        burn_end: Slot,
        burn_mask: Slot,
        /// Its CPU before it slept + 1.
        cpu_before: Slot,
    }
}

shm_record! {
    /// The wakers of `smp_wakeup_placement` and when they wake.
    struct Wakers {
        t1: Slot,
        wakers: [WakerSlots; WAKERS],
    }
}
const WAKER_BURN: u64 = 50 * MS;

fn waker(w: &Wakers, k: usize) -> Result<(), String> {
    let me = &w.wakers[k];
    me.state.set(1);
    let t1 = loop {
        let t = w.t1.get();
        if t != 0 {
            break t;
        }
        sleep_ns(MS);
    };
    me.cpu_before.set(getcpu() as u64 + 1);
    me.cpu_at_wake.set(0);
    me.state.set(2);
    sleep_until_ns(t1);
    me.woke.set(monotonic_ns());
    me.cpu_at_wake.set(getcpu() as u64 + 1);
    let start = thread_cpu_ns();
    let mut mask = 0u64;
    while thread_cpu_ns() - start < WAKER_BURN {
        mask |= 1u64 << getcpu().min(63);
    }
    me.burn_mask.set(mask);
    me.burn_end.set(monotonic_ns());
    me.state.set(3);
    Ok(())
}

fn t_wakeup_placement() -> TestResult {
    let cx = setup()?;
    let c0 = cx.work[0];
    let b = Board::new(1)?;
    let s = Shared::<Wakers>::one()?;
    let s = s.rec();
    let mut spin = spawn_spinners(&b, &["spinner".to_string()], Start::Go)?;
    let mut wk: Vec<Child> = Vec::new();
    for k in 0..WAKERS {
        wk.push(spawn(&format!("waker {k}"), move || waker(s, k))?);
    }
    wait_ready(&b, &mut spin, "spinner ready")?;
    wait_for_all("wakers ready", &mut wk, 10 * SEC, || {
        s.wakers.iter().all(|w| w.state.get() >= 1)
    })?;
    // Everything on CPU c0 first: the spinner (D = 1 s) and the wakers
    // (D = 4 s, later), which pass through c0 and go to sleep until T1.
    set_aff(spin[0].pid(), &[c0], "spinner")?;
    for (k, w) in wk.iter().enumerate() {
        set_aff(w.pid(), &[c0], &format!("waker {k}"))?;
    }
    set_legacy(spin[0].pid(), 1, SEC, "spinner")?;
    for (k, w) in wk.iter().enumerate() {
        set_legacy(w.pid(), 10 + k as u32, 4 * SEC, &format!("waker {k}"))?;
    }
    let t1 = monotonic_ns() + 800 * MS;
    s.t1.set(t1);
    wait_for_all("wakers asleep until T1", &mut wk, 5 * SEC, || {
        s.wakers.iter().all(|w| w.state.get() == 2)
    })?;
    // While they sleep (their last CPU is c0) they may use every workload
    // CPU; then the spinner takes c0.
    for (k, w) in wk.iter().enumerate() {
        set_aff(w.pid(), &cx.work, &format!("waker {k}"))?;
    }
    b.go();
    wait_state(
        &b,
        &mut spin,
        &[0],
        ST_SPINNING,
        "spinner spinning",
        5 * SEC,
    )?;
    if monotonic_ns() + 100 * MS > t1 {
        return Err("set-up too slow: the spinner spun less than 100 ms before T1".into());
    }
    let spin_dl = job_deadline(spin[0].pid())?;
    let wk_dl = job_deadlines(&wk.iter().map(Child::pid).collect::<Vec<_>>())?;
    // The spinner holds c0 until T1 + 1.5 s.
    let stop_at = t1 + 1500 * MS;
    while monotonic_ns() < stop_at && !s.wakers.iter().all(|w| w.state.get() == 3) {
        sleep_ns(5 * MS);
    }
    sleep_until_ns(stop_at);
    b.stop();
    let mut f = Fails::default();
    for w in wk.iter_mut() {
        if let Err(e) = w.join(5 * SEC) {
            f.push(e);
        }
    }
    for (k, wdl) in wk_dl.iter().enumerate() {
        let w = &s.wakers[k];
        let (woke, cpu1, end, mask, before) = (
            w.woke.get(),
            w.cpu_at_wake.get(),
            w.burn_end.get(),
            w.burn_mask.get(),
            w.cpu_before.get(),
        );
        diag!(
            "waker {k} (deadline spinner+{:.0}ms): slept on CPU {}, first ran at T1{:+.1}ms on CPU {}, burned 50 ms by T1{:+.1}ms on CPUs {:?}",
            (*wdl as f64 - spin_dl as f64) / MS as f64,
            before as i64 - 1,
            (woke as f64 - t1 as f64) / MS as f64,
            cpu1 as i64 - 1,
            (end as f64 - t1 as f64) / MS as f64,
            mask_cpus(mask)
        );
        f.check(*wdl > spin_dl, || {
            format!("set-up: waker {k}'s deadline {wdl} is not after the spinner's {spin_dl}")
        });
        f.eq(
            &format!("waker {k}: CPU it slept on"),
            before,
            c0 as u64 + 1,
        );
        let rel = |t: u64| (t as f64 - t1 as f64) / MS as f64;
        if cpu1 == 0 {
            f.push(format!("waker {k} never ran after its wake-up time"));
        } else if cpu1 == c0 as u64 + 1 {
            f.push(format!(
                "waker {k} woke on CPU {c0}, its last CPU, busy with an earlier-deadline spinner, instead of a CPU with no CASIO task, and first ran at T1{:+.0}ms (the spinner left CPU {c0} at T1+1500ms)",
                rel(woke)
            ));
        } else {
            f.check(woke <= t1 + 500 * MS, || {
                format!(
                    "waker {k} first ran at T1{:+.0}ms (allowed +500ms)",
                    rel(woke)
                )
            });
            f.check(end != 0 && end < stop_at && mask & (1u64 << c0) == 0, || {
                format!(
                    "waker {k} burned its 50 ms by T1{:+.0}ms on CPUs {:?}, want before T1+1500ms and not on CPU {c0}",
                    rel(end),
                    mask_cpus(mask)
                )
            });
        }
    }
    f.finish()
}

// ---------------------------------------------------------------------------
// smp_push
// ---------------------------------------------------------------------------

fn t_push() -> TestResult {
    let cx = setup()?;
    let _cap = cap_off()?;
    let c0 = cx.work[0];
    let m = cx.m();
    // Task 0: A, pinned to c0, earliest deadline.  Tasks 1..=m: B_k,
    // queued on c0 behind A, then allowed on every workload CPU; the m-1
    // earliest of them fit on the other workload CPUs, the last must stay
    // queued.  Task m+1: K, pinned to c0, wakes (an enqueue on c0) after
    // the B's were allowed elsewhere.
    let nb = m;
    let kidx = nb + 1;
    let mut labels = vec!["A".to_string()];
    labels.extend((0..nb).map(|k| format!("B{k}")));
    let b = Board::new(kidx + 1)?;
    let mut kids = spawn_spinners(&b, &labels, Start::Go)?;
    {
        let bb = &b;
        kids.push(spawn("K", move || spinner(bb, kidx, Start::AtT0))?);
    }
    labels.push("K".into());
    wait_ready(&b, &mut kids, "tasks ready")?;
    let pids: Vec<i32> = kids.iter().map(|k| k.pid()).collect();
    for (i, &p) in pids.iter().enumerate() {
        set_aff(p, &[c0], &labels[i])?;
    }
    set_legacy(pids[0], 1, SEC, "A")?;
    for k in 0..nb {
        set_legacy(
            pids[1 + k],
            10 + k as u32,
            2500 * MS + k as u64 * 250 * MS,
            &labels[1 + k],
        )?;
    }
    set_legacy(pids[kidx], 20, 4100 * MS, "K")?;
    // K goes to sleep until T_K before A takes c0.
    let t_arm = monotonic_ns();
    let t_k = t_arm + 900 * MS;
    b.set_t0(t_k);
    wait_state(&b, &mut kids, &[kidx], ST_SLEEPING, "K asleep", 5 * SEC)?;
    b.go();
    wait_state(&b, &mut kids, &[0], ST_SPINNING, "A spinning", 5 * SEC)?;
    sleep_until_ns(t_arm + 300 * MS);
    let dls = job_deadlines(&pids)?;
    let cpu_before = cpu_all(&pids)?;
    sleep_ns(100 * MS);
    let cpu_pinned = cpu_all(&pids)?;
    // Allow the B's on every workload CPU (phase 1 from here).
    let t_w = monotonic_ns();
    for k in 0..nb {
        set_aff(pids[1 + k], &cx.work, &labels[1 + k])?;
    }
    b.set_phase(1);
    if monotonic_ns() + 50 * MS > t_k {
        return Err(
            "set-up too slow: K's wake-up came before the B's were allowed elsewhere".into(),
        );
    }
    sleep_until_ns(t_k);
    let cpu_kick = cpu_all(&pids)?;
    let t_kick = monotonic_ns();
    sleep_ns(200 * MS);
    let (d, win) = measure(&pids, SEC)?;
    let after_w = monotonic_ns();
    b.stop();
    let mut f = Fails::default();
    f.check(
        (1..=nb).all(|i| dls[i] > dls[0])
            && dls[kidx] > dls[nb]
            && (1..nb).all(|i| dls[i] < dls[i + 1]),
        || format!("set-up: deadlines not in the order A < B0 < .. < K: {dls:?}"),
    );
    for i in 1..=nb {
        diag!(
            "{}: ran {:.0} ms while pinned behind A (100 ms), {:.0} ms between the affinity change and K's wake-up ({:.0} ms), {:.0} ms of the next {:.0} ms (from 200 ms after K's wake-up); CPUs after the change {:?}",
            labels[i],
            ms(cpu_pinned[i] - cpu_before[i]),
            ms(cpu_kick[i] - cpu_pinned[i]),
            ms(t_kick - t_w),
            ms(d[i]),
            ms(win),
            mask_cpus(b.mask(i, 1))
        );
    }
    diag!(
        "A ran {:.0} ms, K {:.0} ms of the window ({:.1} s after the affinity change)",
        ms(d[0]),
        ms(d[kidx]),
        (after_w - t_w) as f64 / SEC as f64
    );
    for i in 1..=nb {
        f.check(cpu_pinned[i] - cpu_before[i] <= 20 * MS, || {
            format!(
                "{} ran {:.0} ms while pinned behind A's earlier deadline",
                labels[i],
                ms(cpu_pinned[i] - cpu_before[i])
            )
        });
    }
    // The m-1 earliest B's each got a CPU of their own.
    for i in 1..nb {
        f.check(d[i] * 2 >= win, || {
            format!(
                "{} ran {:.0} of {:.0} ms: it stayed queued behind A on CPU {c0} although {} CPU(s) had no CASIO task",
                labels[i],
                ms(d[i]),
                ms(win),
                m - 1
            )
        });
        f.check(b.mask(i, 1) & !cpus_mask(&cx.work) == 0, || {
            format!(
                "{} ran outside its affinity: CPUs {:?}",
                labels[i],
                mask_cpus(b.mask(i, 1))
            )
        });
    }
    // The latest B must not have displaced an earlier deadline.
    f.check(d[nb] * 10 <= win, || {
        format!(
            "{} (latest deadline, {} earlier tasks for {m} CPUs) ran {:.0} of {:.0} ms",
            labels[nb],
            nb,
            ms(d[nb]),
            ms(win)
        )
    });
    f.check(d[0] * 2 >= win, || {
        format!(
            "A (earliest, pinned) ran only {:.0} of {:.0} ms",
            ms(d[0]),
            ms(win)
        )
    });
    drop(kids);
    f.finish()
}

// ---------------------------------------------------------------------------
// smp_pull
// ---------------------------------------------------------------------------

fn t_pull() -> TestResult {
    let cx = setup()?;
    let _cap = cap_off()?;
    let m = cx.m();
    let c0 = cx.work[0];
    let c1 = cx.work[1];
    // Task 0: A on c0 (D 1 s).  Tasks 1..m: S_j pinned to work[j]
    // (D 1.5 s + 50 ms j).  Task m: Q, on c0 then allowed on every
    // workload CPU (D 3 s).  Task m+1: L pinned to c1 (D 4 s).
    let (qi, li) = (m, m + 1);
    let mut labels = vec!["A".to_string()];
    labels.extend((1..m).map(|j| format!("S{j}")));
    labels.push("Q".into());
    labels.push("L".into());
    let b = Board::new(labels.len())?;
    let mut kids = spawn_spinners(&b, &labels, Start::Go)?;
    wait_ready(&b, &mut kids, "tasks ready")?;
    let pids: Vec<i32> = kids.iter().map(|k| k.pid()).collect();
    set_aff(pids[0], &[c0], "A")?;
    for j in 1..m {
        set_aff(pids[j], &[cx.work[j]], &labels[j])?;
    }
    set_aff(pids[qi], &[c0], "Q")?;
    set_aff(pids[li], &[c1], "L")?;
    set_legacy(pids[0], 1, SEC, "A")?;
    for j in 1..m {
        set_legacy(
            pids[j],
            1 + j as u32,
            1500 * MS + j as u64 * 50 * MS,
            &labels[j],
        )?;
    }
    set_legacy(pids[qi], 30, 3 * SEC, "Q")?;
    set_legacy(pids[li], 40, 4 * SEC, "L")?;
    b.go();
    let running: Vec<usize> = (0..m).collect();
    wait_state(
        &b,
        &mut kids,
        &running,
        ST_SPINNING,
        "A and the S's spinning",
        5 * SEC,
    )?;
    sleep_ns(200 * MS);
    let dls = job_deadlines(&pids)?;
    // Q may use every workload CPU, but each runs an earlier deadline.
    set_aff(pids[qi], &cx.work, "Q")?;
    b.set_phase(1);
    sleep_ns(100 * MS);
    let (d_hold, hold) = measure(&pids, 400 * MS)?;
    // S1 blocks: its CPU c1 must take Q (earlier than L, the task queued
    // there) from c0.
    b.set_phase(2);
    b.task(1).cmd.set(CMD_BLOCK);
    wait_state(&b, &mut kids, &[1], ST_BLOCKED, "S1 blocked", 5 * SEC)?;
    let tb = b.task(1).time.get();
    sleep_until_ns(tb + 100 * MS);
    let (d, win) = measure(&pids, SEC)?;
    b.stop();
    let mut f = Fails::default();
    f.check(
        dls[0] < dls[1] && (1..m).all(|j| dls[j] < dls[qi]) && dls[qi] < dls[li],
        || format!("set-up: deadlines not in the order A < S < Q < L: {dls:?}"),
    );
    diag!(
        "before S1 blocked: Q ran {:.0} of {:.0} ms, L {:.0} ms; after (from +100 ms): Q {:.0} of {:.0} ms on CPUs {:?}, L {:.0} ms",
        ms(d_hold[qi]),
        ms(hold),
        ms(d_hold[li]),
        ms(d[qi]),
        ms(win),
        mask_cpus(b.mask(qi, 2)),
        ms(d[li])
    );
    f.check(d_hold[qi] * 10 <= hold, || {
        format!(
            "Q ran {:.0} of {:.0} ms while every CPU it may use ran an earlier deadline",
            ms(d_hold[qi]),
            ms(hold)
        )
    });
    f.check(d[qi] * 2 >= win, || {
        format!(
            "after S1 blocked on CPU {c1}, Q (queued on CPU {c0}, deadline earlier than L's on CPU {c1}) ran only {:.0} of {:.0} ms",
            ms(d[qi]),
            ms(win)
        )
    });
    f.check(b.mask(qi, 2) & !(1u64 << c1) == 0, || {
        format!(
            "Q ran on CPUs {:?} after S1 blocked; only CPU {c1} had a later deadline",
            mask_cpus(b.mask(qi, 2))
        )
    });
    f.check(d[li] * 4 <= win, || {
        format!(
            "L (pinned to CPU {c1}, deadline after Q's) ran {:.0} of {:.0} ms after S1 blocked",
            ms(d[li]),
            ms(win)
        )
    });
    drop(kids);
    f.finish()
}
