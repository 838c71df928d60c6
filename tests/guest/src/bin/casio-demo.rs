//! `casio-demo`: three periodic SCHED_CASIO tasks (relative deadline =
//! period = 300, 600, 900 ms) and one SCHED_NORMAL hog share CPU 0.  Each
//! task records when it was running; the demo prints an ASCII Gantt chart
//! (10 ms per column over 1.5 s) and whether the first jobs finished in
//! deadline (EDF) order.
//!
//! Then it runs a task set with `casioctl taskset`, checks the kernel's
//! record of it (`/proc/casio_event`) with `casioctl trace --check-edf`,
//! draws it with `casioctl plot` and prints the SVG between
//! `CASIO-SVG-BEGIN` and `CASIO-SVG-END`, which `qemu/run.sh demo` saves
//! next to the console log.
//!
//! Exit status: 0 if the finish order matched EDF order and the kernel's
//! record has no EDF inversion, 1 if not, 2 if the demo could not run
//! (e.g. SCHED_CASIO unavailable).

use casio_abi::{
    monotonic_ns, online_cpus, set_affinity_cpu, set_casio, setscheduler, sleep_until_ns,
    thread_cpu_ns, SCHED_NORMAL,
};
use casio_guest_tests::common::proc::{join_all, spawn, wait_for_all, Child};
use casio_guest_tests::common::shared::{shm_record, Release, Shared, Slot};
use casio_guest_tests::timeline::{finish_order_line, gantt_axis, gantt_row, Slice, SliceRecorder};
use casio_guest_tests::{MS, SEC};
use casio_testkit::sysctl::Restore;

/// A periodic CASIO task: name, relative deadline = period, CPU per job.
struct TaskSpec {
    name: &'static str,
    period: u64,
    cost: u64,
}

const TASKS: [TaskSpec; 3] = [
    TaskSpec {
        name: "A",
        period: 300 * MS,
        cost: 60 * MS,
    },
    TaskSpec {
        name: "B",
        period: 600 * MS,
        cost: 120 * MS,
    },
    TaskSpec {
        name: "C",
        period: 900 * MS,
        cost: 180 * MS,
    },
];

const HORIZON: u64 = 1500 * MS;
const BUCKET: u64 = 10 * MS;
const GAP: u64 = MS;
const MAX_JOBS: usize = 8;
const MAX_SLICES: usize = 2048;
shm_record! {
    /// What a task of the demo (or the hog) records.
    struct DemoTask {
        /// Slices stored in `slices`, jobs stored in `finish`.
        nslices: Slot,
        jobs: Slot,
        /// The finish time of each job.
        finish: [Slot; MAX_JOBS],
        /// (start, end) of each CPU slice.
        slices: [[Slot; 2]; MAX_SLICES],
    }
}

impl DemoTask {
    fn store_slices(&self, slices: &[Slice]) {
        let n = slices.len().min(MAX_SLICES);
        for (slot, s) in self.slices.iter().zip(slices) {
            slot[0].set(s.start);
            slot[1].set(s.end);
        }
        self.nslices.set(n as u64);
    }

    fn load_slices(&self) -> Vec<Slice> {
        let n = (self.nslices.get() as usize).min(MAX_SLICES);
        self.slices[..n]
            .iter()
            .map(|[start, end]| Slice {
                start: start.get(),
                end: end.get(),
            })
            .collect()
    }
}

fn wait_t0(rel: &Release) -> Result<u64, String> {
    rel.t0
        .wait_nonzero(15 * SEC, 2 * MS)
        .ok_or_else(|| "release time never published".to_string())
}

/// Burn `cost` ns of CPU time, feeding every CLOCK_MONOTONIC reading to
/// the recorder; returns the finish time.
fn burn_recording(rec: &mut SliceRecorder, cost: u64) -> u64 {
    let c0 = thread_cpu_ns();
    loop {
        let now = monotonic_ns();
        rec.observe(now);
        if thread_cpu_ns().wrapping_sub(c0) >= cost {
            rec.close();
            return now;
        }
    }
}

fn casio_task(rel: &Release, me: &DemoTask, i: usize) -> Result<(), String> {
    let spec = &TASKS[i];
    set_affinity_cpu(0, 0).map_err(|e| format!("sched_setaffinity(CPU 0): {e}"))?;
    set_casio(0, i as u32 + 1, spec.period).map_err(|e| {
        format!(
            "sched_setscheduler(SCHED_CASIO, D={}ms): {e}",
            spec.period / MS
        )
    })?;
    rel.ready.add(1);
    let t0 = wait_t0(rel)?;
    let mut rec = SliceRecorder::new(GAP);
    for k in 0..MAX_JOBS {
        let release = t0 + k as u64 * spec.period;
        if release >= t0 + HORIZON {
            break;
        }
        sleep_until_ns(release);
        let fin = burn_recording(&mut rec, spec.cost);
        me.finish[k].set(fin);
        me.jobs.set(k as u64 + 1);
    }
    me.store_slices(&rec.slices);
    Ok(())
}

fn hog_task(rel: &Release, me: &DemoTask) -> Result<(), String> {
    set_affinity_cpu(0, 0).map_err(|e| format!("sched_setaffinity(CPU 0): {e}"))?;
    setscheduler(0, SCHED_NORMAL, 0).map_err(|e| format!("SCHED_NORMAL: {e}"))?;
    rel.ready.add(1);
    let t0 = wait_t0(rel)?;
    sleep_until_ns(t0);
    let mut rec = SliceRecorder::new(GAP);
    let end = t0 + HORIZON + 50 * MS;
    loop {
        let now = monotonic_ns();
        rec.observe(now);
        if now >= end {
            break;
        }
    }
    rec.close();
    me.store_slices(&rec.slices);
    Ok(())
}

fn run() -> Result<bool, String> {
    let ncpu = online_cpus();
    if ncpu >= 2 {
        let _ = set_affinity_cpu(0, ncpu - 1);
    }
    let release = Shared::<Release>::one()?;
    let rel = release.rec();
    // The tasks, then the hog.
    let recs = Shared::<DemoTask>::new(TASKS.len() + 1)?;
    println!(
        "demo: SCHED_CASIO (EDF) on CPU 0: {} periodic CASIO tasks + 1 SCHED_NORMAL hog",
        TASKS.len()
    );
    for t in &TASKS {
        println!(
            "demo:   task {}: deadline = period = {} ms, {} ms CPU per job",
            t.name,
            t.period / MS,
            t.cost / MS
        );
    }
    let mut kids: Vec<Child> = Vec::new();
    for (i, t) in TASKS.iter().enumerate() {
        let me = &recs[i];
        kids.push(spawn(&format!("task {}", t.name), move || {
            casio_task(rel, me, i)
        })?);
    }
    let hog = TASKS.len();
    kids.push(spawn("hog", || hog_task(rel, &recs[hog]))?);
    let n = kids.len() as u64;
    wait_for_all("tasks ready", &mut kids, 10 * SEC, || rel.ready.get() >= n)?;
    // Release every task at T0.  T0 lies past every task's first absolute
    // deadline (set time + D, D <= 900 ms), so waking at T0 starts a fresh
    // job with deadline T0 + D for all of them: a common release.
    let t0 = monotonic_ns() + 950 * MS;
    rel.t0.set(t0);
    join_all(&mut kids, 20 * SEC)?;

    let ncols = (HORIZON / BUCKET) as usize;
    println!();
    println!(
        "demo: timeline, 1 column = {} ms, T0 = common release",
        BUCKET / MS
    );
    println!("{:<10}{}", "time(ms)", gantt_axis(BUCKET, ncols, 10));
    let mut labels: Vec<String> = TASKS
        .iter()
        .map(|t| format!("{}({}ms)", t.name, t.period / MS))
        .collect();
    labels.push("hog(CFS)".to_string());
    for (i, label) in labels.iter().enumerate() {
        let slices = recs[i].load_slices();
        println!("{:<10}{}", label, gantt_row(&slices, t0, BUCKET, ncols));
    }
    println!("legend: # ran >= half of the column, + ran less, . not running");
    println!();

    let mut met = 0;
    let mut total = 0;
    let mut firsts: Vec<(&str, u64, u64)> = Vec::new();
    for (i, t) in TASKS.iter().enumerate() {
        let me = &recs[i];
        let jobs = (me.jobs.get() as usize).min(MAX_JOBS);
        for k in 0..jobs {
            let release = t0 + k as u64 * t.period;
            let fin = me.finish[k].get();
            let dl = release + t.period;
            total += 1;
            if fin <= dl {
                met += 1;
            }
            println!(
                "demo: job {}{}: release T0+{:>5}ms  finish T0+{:>7.1}ms  deadline T0+{:>5}ms  {}",
                t.name,
                k,
                (release - t0) / MS,
                (fin as f64 - t0 as f64) / MS as f64,
                (dl - t0) / MS,
                if fin <= dl { "met" } else { "MISSED" }
            );
        }
        let first = if jobs > 0 {
            me.finish[0].get()
        } else {
            u64::MAX
        };
        firsts.push((t.name, t.period / MS, first));
    }
    let winner = firsts.iter().min_by_key(|x| x.2).unwrap();
    println!(
        "demo: first finished: {}({}ms) at T0+{:.1}ms",
        winner.0,
        winner.1,
        (winner.2 as f64 - t0 as f64) / MS as f64
    );
    println!("demo: deadlines met: {met}/{total} jobs");
    let (line, ok) = finish_order_line(&firsts);
    println!("{line}");
    Ok(ok)
}

/// The task set of the casioctl part: U = 0.7 on CPU 0 for 2 s.
const CASIOCTL_SET: &str = r#"duration = "2s"
[[task]]
name = "A"
runtime = "20ms"
deadline = "100ms"
period = "100ms"
[[task]]
name = "B"
runtime = "40ms"
deadline = "200ms"
period = "200ms"
[[task]]
name = "C"
runtime = "60ms"
deadline = "300ms"
period = "300ms"
[[task]]
name = "D"
runtime = "50ms"
deadline = "500ms"
period = "500ms"
"#;

fn casioctl(args: &[&str]) -> Result<String, String> {
    let o = std::process::Command::new("casioctl")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run casioctl {args:?}: {e}"))?;
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    if !o.status.success() {
        return Err(format!(
            "casioctl {args:?} failed ({}): {}{}",
            o.status,
            out,
            String::from_utf8_lossy(&o.stderr)
        ));
    }
    Ok(out)
}

/// Runs the task set with casioctl, checks and draws the kernel's record.
fn run_casioctl() -> Result<bool, String> {
    let set = "/tmp/casio-demo.toml";
    std::fs::write(set, CASIOCTL_SET).map_err(|e| format!("write {set}: {e}"))?;
    println!();
    println!("demo: casioctl taskset {set} (U = 0.7 on CPU 0, 2 s)");
    // The kernel's event log is off by default; on for the task set only.
    let log = Restore::set("/proc/sys/kernel/sched_casio_event_log", "1")?;
    let since = monotonic_ns().to_string();
    let run = casioctl(&["taskset", set, "--cpu", "0"]);
    drop(log);
    print!("{}", run?);
    let check = casioctl(&["trace", "--check-edf", "--since", &since]);
    let edf_ok = match &check {
        Ok(out) => {
            print!("demo: {out}");
            true
        }
        Err(e) => {
            println!("demo: {e}");
            false
        }
    };
    let trace = casioctl(&["trace", "--json", "--since", &since])?;
    let dump = "/tmp/casio-demo-trace.json";
    std::fs::write(dump, trace).map_err(|e| format!("write {dump}: {e}"))?;
    let svg = "/tmp/casio-demo.svg";
    casioctl(&["plot", dump, "-o", svg])?;
    let text = std::fs::read_to_string(svg).map_err(|e| format!("read {svg}: {e}"))?;
    println!(
        "demo: Gantt chart of the kernel's record ({} bytes of SVG):",
        text.len()
    );
    println!("CASIO-SVG-BEGIN");
    print!("{text}");
    if !text.ends_with('\n') {
        println!();
    }
    println!("CASIO-SVG-END");
    Ok(edf_ok)
}

fn main() {
    let code = match run().and_then(|ok| Ok(run_casioctl()? && ok)) {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(e) => {
            println!("demo: error: {e}");
            2
        }
    };
    println!("CASIO-DEMO-DONE");
    std::process::exit(code);
}
