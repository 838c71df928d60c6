//! `casioctl`: command-line tool for the SCHED_CASIO (EDF) scheduling
//! class. See `casioctl --help`.
//!
//! Exit codes: 0 success, 1 runtime failure, 2 usage error.

mod duration;
mod event;
mod record;
mod runner;
mod sched;
mod svg;
mod taskset;

use std::io::Write;

use casio_abi::{SCHED_FLAG_CASIO_BUDGET, SCHED_FLAG_DL_OVERRUN};
use duration::parse_duration;

/// What went wrong; [`Fail::exit_code`] says whose fault it was.
#[derive(Debug, thiserror::Error)]
enum Fail {
    /// A bad command line.
    #[error("{0}")]
    Usage(String),
    /// A duration on the command line that is not one.
    #[error("{opt}: {source}")]
    Duration {
        opt: String,
        source: duration::BadDuration,
    },
    /// C, D, T on the command line that the kernel would refuse.
    #[error(transparent)]
    Params(#[from] sched::BadParams),
    /// A `--policy` that is not one.
    #[error(transparent)]
    Policy(#[from] sched::BadPolicy),
    /// A task-set file that cannot be read or is not a task set.
    #[error(transparent)]
    TaskSet(#[from] taskset::LoadError),
    /// The kernel refused a policy, or a task is not there.
    #[error(transparent)]
    Sched(#[from] sched::SchedError),
    /// A task set could not be run.
    #[error(transparent)]
    Run(#[from] runner::RunError),
    /// CMD of `run` could not be executed.
    #[error("cannot execute '{cmd}': {source}")]
    Exec { cmd: String, source: std::io::Error },
    /// An input file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// An output file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    /// An event dump with a line that is not an event.
    #[error("{path}: {source}")]
    Events {
        path: String,
        source: event::ParseError,
    },
    /// Any other failure of the system or of what it was asked.
    #[error("{0}")]
    Runtime(String),
}

impl Fail {
    /// 2 for a bad command line (usage), 1 for a failure.
    fn exit_code(&self) -> i32 {
        match self {
            Fail::Usage(_)
            | Fail::Duration { .. }
            | Fail::Params(_)
            | Fail::Policy(_)
            | Fail::TaskSet(_) => 2,
            Fail::Sched(e) if e.is_usage() => 2,
            _ => 1,
        }
    }
}

type Res<T> = Result<T, Fail>;

fn usage<T>(s: impl Into<String>) -> Res<T> {
    Err(Fail::Usage(s.into()))
}

fn rt<T>(s: impl Into<String>) -> Res<T> {
    Err(Fail::Runtime(s.into()))
}

/// Flush stdout/stderr (before fork, exec, exit).
pub fn flush_stdio() {
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
}

const MAIN_HELP: &str = "\
casioctl - control the SCHED_CASIO (EDF, policy 8) scheduling class

usage: casioctl COMMAND [OPTIONS]

commands:
  run      run a command under SCHED_CASIO (like chrt)
  get      print the scheduling policy and parameters of a process
  set      change the policy of a process
  stats    print SCHED_CASIO parameters and kernel statistics
  taskset  run a periodic task set and report response times and misses
  plot     draw an SVG Gantt chart of a task-set record or event trace
  trace    dump /proc/casio_event

'casioctl COMMAND --help' describes each command. Durations take a unit:
ns, us, ms or s (e.g. 10ms, 1.5ms, 250us). Exit status: 0 ok, 1 failure,
2 usage error.
";

const RUN_HELP: &str = "\
usage: casioctl run [--runtime C] --deadline D [--period T] [--id N]
                    [--budget] [--sigxcpu] [--reset-on-fork] [--] CMD [ARGS...]

Sets SCHED_CASIO on itself with sched_setattr(runtime C, deadline D,
period T), then executes CMD. C defaults to D, T defaults to D. The
kernel requires 1024ns <= C <= D <= T and 100us <= T <= 4.194304s.
Admission control reserves C/T of the CPUs; without --runtime, --period,
--budget and --sigxcpu the task declares only a deadline, is set with the
2011 sched_setscheduler() block instead, and reserves nothing.
--id N sets the casio_id (through sched_setscheduler, which carries it).
--budget: a job that uses up C is throttled until its next release.
--sigxcpu: CMD gets SIGXCPU when a job uses up C.
--reset-on-fork: children of CMD start as SCHED_NORMAL.

example: casioctl run --runtime 2ms --deadline 10ms -- ./control-loop
";

const GET_HELP: &str = "\
usage: casioctl get PID

Prints the policy and parameters of PID (sched_getattr) as key: value
lines: pid, policy, flags, and runtime/deadline/period (CASIO, DEADLINE),
priority (FIFO, RR) or nice (others). PID 0 is casioctl itself.
";

const SET_HELP: &str = "\
usage: casioctl set PID --deadline D [--runtime C] [--period T] [--id N]
                        [--budget] [--sigxcpu] [--reset-on-fork]
       casioctl set PID --policy other[:NICE]|batch[:NICE]|idle|fifo:PRIO|rr:PRIO
                        [--reset-on-fork]

Changes the scheduling policy of PID: to SCHED_CASIO with --deadline (C and
T default to D; with only --deadline it reserves nothing, as for run), or
to another policy with --policy. Prints the result.
";

const STATS_HELP: &str = "\
usage: casioctl stats [PID]

Prints the policy and parameters of PID and the contents of
/proc/PID/sched_casio (jobs_released, jobs_completed, deadline_misses,
max_lateness_ns, total_exec_ns, max_job_exec_ns) when the kernel exports it.
Without PID: /proc/sched_casio (system totals) and the same for every
SCHED_CASIO process. A PID that is not under SCHED_CASIO is an error.
";

const TASKSET_HELP: &str = "\
usage: casioctl taskset FILE [--duration 5s] [--cpu 0] [--policy casio|fifo-rm]
                             [--json OUT] [--svg OUT] [--fail-on-miss]

Runs a periodic task set: one process per task, all pinned to --cpu, set to
SCHED_CASIO (C, D, T from FILE) or, with --policy fifo-rm, to SCHED_FIFO with
rate-monotonic priorities. All first releases are at a common T0 (plus each
task's offset); each job burns C of CPU time (CLOCK_THREAD_CPUTIME_ID), then
sleeps until the next release. Jobs are released during --duration (default:
the file's duration, else 5s). Prints per task jobs, misses and response
times, then 'taskset: N tasks, U=..., jobs J, misses M'. --json writes the
full record (jobs, execution slices), --svg a Gantt chart. --fail-on-miss:
exit 1 when a deadline was missed. Needs root (or CAP_SYS_NICE).

FILE formats, by extension:
  .toml   duration = \"3s\"
          [[task]]
          name = \"a\"  runtime = \"20ms\"  deadline = \"100ms\"  period = \"100ms\"
          (optional per task: id = N, offset = \"5ms\"; period defaults to deadline)
  .json   {\"duration\": \"3s\", \"task\": [{\"name\": \"a\", \"runtime\": \"20ms\", ...}]}
  other   casio_system format: first line the run time in seconds, then per
          line: id min_exec max_exec min_interarrival max_interarrival
          deadline min_offset max_offset (ms, whitespace separated; '#'
          comments). C = max exec, T = min inter-arrival, offset = min offset.
";

const PLOT_HELP: &str = "\
usage: casioctl plot IN -o OUT.svg [--width PIXELS] [--from MS] [--to MS]

Draws an SVG Gantt chart: one row per task, execution slices as bars,
releases as up-ticks, deadlines as down-ticks, jobs that missed in red.
IN is a 'casioctl taskset --json' record, a 'casioctl trace --json' dump, a
raw /proc/casio_event dump, or ftrace text with sched_casio_* events. --from/--to zoom into a window of the time axis.
";

const TRACE_HELP: &str = "\
usage: casioctl trace [--json | --csv | --check-edf] [--since NS] [--file DUMP]

Reads /proc/casio_event (or a saved DUMP) and prints the events: readable
text by default, a JSON array with --json, CSV with --csv. --since keeps
the events at or after NS (CLOCK_MONOTONIC ns). The kernel logs events only
while /proc/sys/kernel/sched_casio_event_log is 1. A DUMP may also be ftrace
text with sched_casio_* events (the tracefs 'trace' file, or 'trace-cmd
report' of 'trace-cmd record -C mono -e sched_casio'): record with the
mono trace clock so that times and deadlines share CLOCK_MONOTONIC.

--check-edf checks instead that at every switch to a CASIO task the kernel
picked the earliest deadline queued on that CPU, prints a summary and
every inversion, and exits 1 if there is one or if no switch could be
checked.
";

/// One command-line token: an option as written (`--deadline`, `-d`; a
/// `--opt=value` keeps its value for [`value`]) or a plain argument.
enum Tok {
    Opt(String),
    Val(String),
}

fn next(p: &mut lexopt::Parser) -> Res<Option<Tok>> {
    Ok(match p.next().map_err(|e| Fail::Usage(e.to_string()))? {
        None => None,
        Some(lexopt::Arg::Short(c)) => Some(Tok::Opt(format!("-{c}"))),
        Some(lexopt::Arg::Long(l)) => Some(Tok::Opt(format!("--{l}"))),
        Some(lexopt::Arg::Value(v)) => Some(Tok::Val(utf8(v)?)),
    })
}

fn utf8(v: std::ffi::OsString) -> Res<String> {
    v.into_string()
        .map_err(|v| Fail::Usage(format!("argument {v:?} is not valid UTF-8")))
}

/// The value of option `opt`: the next argument, whatever it looks like.
fn value(p: &mut lexopt::Parser, opt: &str) -> Res<String> {
    match p.value() {
        Ok(v) => utf8(v),
        Err(_) => usage(format!("option {opt} needs a value")),
    }
}

/// The arguments after the current one, unparsed (a command's own).
fn rest(p: &mut lexopt::Parser) -> Res<Vec<String>> {
    let raw = p.raw_args().map_err(|e| Fail::Usage(e.to_string()))?;
    raw.map(utf8).collect()
}

/// Keep `v` as the one positional argument a command takes; a second
/// one is the usage error `err`.
fn only_one<T>(slot: &mut Option<T>, v: T, err: &str) -> Res<()> {
    if slot.is_some() {
        return usage(err);
    }
    *slot = Some(v);
    Ok(())
}

fn dur_opt(p: &mut lexopt::Parser, opt: &str) -> Res<u64> {
    let v = value(p, opt)?;
    parse_duration(&v).map_err(|source| Fail::Duration {
        opt: opt.into(),
        source,
    })
}

fn parse_pid(s: &str) -> Res<i32> {
    match s.parse::<i32>() {
        Ok(p) if p >= 0 => Ok(p),
        _ => usage(format!(
            "invalid pid '{s}': expected a non-negative integer"
        )),
    }
}

/// CASIO parameters from the command line.
#[derive(Default)]
struct CasioOpts {
    runtime: Option<u64>,
    deadline: Option<u64>,
    period: Option<u64>,
    id: Option<u32>,
    reset_on_fork: bool,
    /// `SCHED_FLAG_CASIO_BUDGET` / `SCHED_FLAG_DL_OVERRUN` bits.
    flags: u64,
}

impl CasioOpts {
    /// Try to consume a CASIO option; Ok(false) if `opt` is not one.
    fn take(&mut self, opt: &str, p: &mut lexopt::Parser) -> Res<bool> {
        match opt {
            "--runtime" | "-r" => self.runtime = Some(dur_opt(p, opt)?),
            "--deadline" | "-d" => self.deadline = Some(dur_opt(p, opt)?),
            "--period" | "-p" => self.period = Some(dur_opt(p, opt)?),
            "--id" => {
                let v = value(p, opt)?;
                self.id = Some(
                    v.parse()
                        .map_err(|_| Fail::Usage(format!("--id: invalid id '{v}'")))?,
                );
            }
            "--reset-on-fork" | "-R" => self.reset_on_fork = true,
            "--budget" => self.flags |= SCHED_FLAG_CASIO_BUDGET,
            "--sigxcpu" => self.flags |= SCHED_FLAG_DL_OVERRUN,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// (C if given, D, T) with T's default, checked against the kernel
    /// rule with C = D when not given.
    fn params(&self) -> Res<(Option<u64>, u64, u64)> {
        let d = match self.deadline {
            Some(d) => d,
            None => return usage("missing --deadline"),
        };
        let t = self.period.unwrap_or(d);
        sched::check_casio(self.runtime.unwrap_or(d), d, t)?;
        Ok((self.runtime, d, t))
    }
}

fn cmd_run(mut p: lexopt::Parser) -> Res<()> {
    let mut o = CasioOpts::default();
    let mut cmd = Vec::new();
    while let Some(t) = next(&mut p)? {
        match t {
            Tok::Opt(x) if x == "--help" || x == "-h" => {
                print!("{RUN_HELP}");
                return Ok(());
            }
            Tok::Opt(x) => {
                if !o.take(&x, &mut p)? {
                    return usage(format!("run: unknown option {x} (see casioctl run --help)"));
                }
            }
            // The command, after `--` or at the first plain argument: the
            // rest is its own.
            Tok::Val(v) => {
                cmd.push(v);
                cmd.extend(rest(&mut p)?);
                break;
            }
        }
    }
    if cmd.is_empty() {
        return usage("run: no command given (casioctl run --deadline D -- CMD ARGS...)");
    }
    let (c, d, t) = o.params()?;
    sched::set_casio(0, c, d, t, o.id, o.reset_on_fork, o.flags)?;
    flush_stdio();
    use std::os::unix::process::CommandExt;
    let e = std::process::Command::new(&cmd[0]).args(&cmd[1..]).exec();
    Err(Fail::Exec {
        cmd: cmd[0].clone(),
        source: e,
    })
}

fn cmd_get(mut p: lexopt::Parser) -> Res<()> {
    let mut pid = None;
    while let Some(t) = next(&mut p)? {
        let s = match t {
            Tok::Opt(x) if x == "--help" || x == "-h" => {
                print!("{GET_HELP}");
                return Ok(());
            }
            Tok::Opt(x) if x == "-0" => x,
            Tok::Opt(x) => return usage(format!("get: unknown option {x}")),
            Tok::Val(v) => v,
        };
        only_one(&mut pid, parse_pid(&s)?, "get: only one PID")?;
    }
    let Some(pid) = pid else {
        return usage("get: missing PID (casioctl get PID)");
    };
    let s = sched::describe(pid)?;
    print!("{s}");
    Ok(())
}

fn cmd_set(mut p: lexopt::Parser) -> Res<()> {
    let mut pid = None;
    let mut o = CasioOpts::default();
    let mut policy = None;
    while let Some(t) = next(&mut p)? {
        let x = match t {
            Tok::Opt(x) if x == "--help" || x == "-h" => {
                print!("{SET_HELP}");
                return Ok(());
            }
            Tok::Opt(x) if o.take(&x, &mut p)? => continue,
            Tok::Opt(x) if x == "--policy" => {
                let v = value(&mut p, "--policy")?;
                if !v.eq_ignore_ascii_case("casio") {
                    policy = Some(sched::parse_policy(&v)?);
                }
                continue;
            }
            Tok::Opt(x) => {
                return usage(format!("set: unknown option {x} (see casioctl set --help)"))
            }
            Tok::Val(v) => v,
        };
        only_one(&mut pid, parse_pid(&x)?, "set: only one PID")?;
    }
    let Some(pid) = pid else {
        return usage("set: missing PID");
    };
    match policy {
        Some(p) => {
            if o.deadline.is_some() || o.runtime.is_some() || o.period.is_some() {
                return usage(
                    "set: --policy cannot be combined with --deadline/--runtime/--period",
                );
            }
            sched::set_other(pid, p, o.reset_on_fork)?;
        }
        None => {
            if o.deadline.is_none() {
                return usage("set: give --deadline (SCHED_CASIO) or --policy");
            }
            let (c, d, t) = o.params()?;
            sched::set_casio(pid, c, d, t, o.id, o.reset_on_fork, o.flags)?;
        }
    }
    print!("{}", sched::describe(pid)?);
    Ok(())
}

fn cmd_stats(mut p: lexopt::Parser) -> Res<()> {
    let mut pid = None;
    while let Some(t) = next(&mut p)? {
        match t {
            Tok::Opt(x) if x == "--help" || x == "-h" => {
                print!("{STATS_HELP}");
                return Ok(());
            }
            Tok::Opt(x) => return usage(format!("stats: unknown option {x}")),
            Tok::Val(s) => only_one(&mut pid, parse_pid(&s)?, "stats: only one PID")?,
        }
    }
    match pid {
        Some(p) => {
            print!("{}", sched::stats(p)?);
        }
        None => {
            match std::fs::read_to_string(sched::PROC_SCHED_CASIO) {
                Ok(t) => print!("system totals ({}):\n{t}\n", sched::PROC_SCHED_CASIO),
                Err(_) => println!(
                    "system totals: this kernel exports no CASIO statistics ({} does not exist)\n",
                    sched::PROC_SCHED_CASIO
                ),
            }
            let pids = sched::casio_pids();
            if pids.is_empty() {
                println!("no SCHED_CASIO processes");
            }
            for (i, p) in pids.iter().enumerate() {
                if i > 0 {
                    println!();
                }
                match sched::stats(*p) {
                    Ok(s) => print!("{s}"),
                    Err(e) => println!("pid: {p}\nerror: {e}"),
                }
            }
        }
    }
    Ok(())
}

fn write_file(path: &str, data: &str) -> Res<()> {
    std::fs::write(path, data).map_err(|source| Fail::Write {
        path: path.into(),
        source,
    })
}

fn cmd_taskset(mut p: lexopt::Parser) -> Res<()> {
    let mut file = None;
    let mut duration = None;
    let mut cpu = 0usize;
    let mut json = None;
    let mut svg_out = None;
    let mut fail_on_miss = false;
    let mut policy = runner::Policy::Casio;
    while let Some(t) = next(&mut p)? {
        let x = match t {
            Tok::Opt(x) => x,
            Tok::Val(s) => {
                only_one(&mut file, s, "taskset: only one FILE")?;
                continue;
            }
        };
        match x.as_str() {
            "--help" | "-h" => {
                print!("{TASKSET_HELP}");
                return Ok(());
            }
            "--duration" => duration = Some(dur_opt(&mut p, "--duration")?),
            "--cpu" => {
                let v = value(&mut p, "--cpu")?;
                cpu = v
                    .parse()
                    .map_err(|_| Fail::Usage(format!("--cpu: invalid CPU number '{v}'")))?;
            }
            "--json" => json = Some(value(&mut p, "--json")?),
            "--svg" => svg_out = Some(value(&mut p, "--svg")?),
            "--fail-on-miss" => fail_on_miss = true,
            "--policy" => {
                policy = match value(&mut p, "--policy")?.as_str() {
                    "casio" | "edf" => runner::Policy::Casio,
                    "fifo-rm" | "rm" => runner::Policy::FifoRm,
                    v => {
                        return usage(format!(
                            "--policy: unknown policy '{v}' (expected casio or fifo-rm)"
                        ))
                    }
                }
            }
            s => {
                return usage(format!(
                    "taskset: unknown option {s} (see casioctl taskset --help)"
                ))
            }
        }
    }
    let Some(file) = file else {
        return usage("taskset: missing FILE (see casioctl taskset --help)");
    };
    let ts = taskset::load(&file)?;
    let duration_ns = duration.or(ts.duration).unwrap_or(5_000_000_000);
    if duration_ns == 0 {
        return usage("--duration must be > 0");
    }
    if policy == runner::Policy::Casio {
        let eq: Vec<&str> = ts
            .tasks
            .iter()
            .filter(|t| t.deadline == t.period)
            .map(|t| t.name.as_str())
            .collect();
        if !eq.is_empty() {
            eprintln!(
                "casioctl: note: {} ha{} D == T: the kernel starts a new job only on a wake-up at/after the \
                 current deadline, so wake-up jitter can leave a job with its previous deadline; D < T avoids that",
                eq.join(", "),
                if eq.len() == 1 { "s" } else { "ve" }
            );
        }
    }
    eprintln!(
        "casioctl: running {} tasks (U={:.2}) for {} under {} on CPU {}",
        ts.tasks.len(),
        ts.utilization(),
        duration::format_ns(duration_ns),
        policy.name(),
        cpu
    );
    let rec = runner::run(
        &ts,
        &runner::RunOpts {
            duration_ns,
            cpu,
            policy,
        },
    )?;
    print!("{}", rec.report());
    if let Some(p) = &json {
        let s = serde_json::to_string_pretty(&rec)
            .map_err(|e| Fail::Runtime(format!("JSON encoding failed: {e}")))?;
        write_file(p, &(s + "\n"))?;
    }
    if let Some(p) = &svg_out {
        write_file(p, &svg::render(&rec.to_gantt(), 1600))?;
    }
    let errors: Vec<String> = rec
        .tasks
        .iter()
        .filter_map(|t| t.error.as_ref().map(|e| format!("task '{}': {e}", t.name)))
        .collect();
    let setup_failed = rec
        .tasks
        .iter()
        .any(|t| t.jobs.is_empty() && t.error.is_some());
    if setup_failed {
        return rt(errors.join("; "));
    }
    for e in &errors {
        eprintln!("casioctl: warning: {e}");
    }
    let (_, misses) = rec.totals();
    if fail_on_miss && misses > 0 {
        return rt(format!("{misses} deadline miss(es)"));
    }
    Ok(())
}

/// What a plot input file holds.
fn load_gantt(path: &str) -> Res<svg::Gantt> {
    let text = std::fs::read_to_string(path).map_err(|source| Fail::Read {
        path: path.into(),
        source,
    })?;
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        let rec: record::Record = serde_json::from_str(&text)
            .map_err(|e| Fail::Runtime(format!("{path}: not a casioctl taskset record: {e}")))?;
        if rec.format != record::FORMAT {
            return rt(format!(
                "{path}: format is '{}', expected '{}'",
                rec.format,
                record::FORMAT
            ));
        }
        Ok(rec.to_gantt())
    } else if trimmed.starts_with('[') {
        let evs: Vec<event::Event> = serde_json::from_str(&text)
            .map_err(|e| Fail::Runtime(format!("{path}: not a casioctl trace --json dump: {e}")))?;
        Ok(record::events_to_gantt(&evs))
    } else {
        let evs = event::parse(&text).map_err(|source| Fail::Events {
            path: path.into(),
            source,
        })?;
        Ok(record::events_to_gantt(&evs))
    }
}

fn cmd_plot(mut p: lexopt::Parser) -> Res<()> {
    let mut input = None;
    let mut out = None;
    let mut width = 1600u32;
    let mut from = None;
    let mut to = None;
    while let Some(t) = next(&mut p)? {
        let x = match t {
            Tok::Opt(x) => x,
            Tok::Val(s) => {
                only_one(&mut input, s, "plot: only one input file")?;
                continue;
            }
        };
        match x.as_str() {
            "--help" | "-h" => {
                print!("{PLOT_HELP}");
                return Ok(());
            }
            "-o" | "--output" => out = Some(value(&mut p, "-o")?),
            "--width" => {
                let v = value(&mut p, "--width")?;
                width = match v.parse() {
                    Ok(w) if (300..=100_000).contains(&w) => w,
                    _ => return usage(format!("--width: expected 300..100000 pixels, got '{v}'")),
                };
            }
            "--from" | "--to" => {
                let v = value(&mut p, &x)?;
                let ms: f64 = v
                    .parse()
                    .ok()
                    .filter(|f: &f64| f.is_finite())
                    .ok_or_else(|| Fail::Usage(format!("{x}: expected milliseconds, got '{v}'")))?;
                let ns = (ms * 1e6) as i64;
                if x == "--from" {
                    from = Some(ns)
                } else {
                    to = Some(ns)
                }
            }
            s => return usage(format!("plot: unknown option {s}")),
        }
    }
    let Some(input) = input else {
        return usage("plot: missing input file (casioctl plot IN.json -o OUT.svg)");
    };
    let Some(out) = out else {
        return usage("plot: missing -o OUT.svg");
    };
    let mut g = load_gantt(&input)?;
    if let Some(f) = from {
        g.t_start = f;
    }
    if let Some(t) = to {
        g.t_end = t;
    }
    if g.t_end <= g.t_start {
        return usage("plot: the time window is empty (--from must be before --to)");
    }
    write_file(&out, &svg::render(&g, width))?;
    eprintln!("casioctl: wrote {out} ({} rows)", g.rows.len());
    Ok(())
}

fn cmd_trace(mut p: lexopt::Parser) -> Res<()> {
    let mut mode = "text";
    let mut file = None;
    let mut since = 0u64;
    while let Some(t) = next(&mut p)? {
        let x = match t {
            Tok::Opt(x) => x,
            Tok::Val(s) => return usage(format!("trace: unexpected argument {s}")),
        };
        match x.as_str() {
            "--help" | "-h" => {
                print!("{TRACE_HELP}");
                return Ok(());
            }
            "--json" => mode = "json",
            "--csv" => mode = "csv",
            "--check-edf" => mode = "check-edf",
            "--file" => file = Some(value(&mut p, "--file")?),
            "--since" => {
                let v = value(&mut p, "--since")?;
                since = v
                    .parse()
                    .map_err(|_| Fail::Usage(format!("--since: invalid time '{v}' (ns)")))?;
            }
            s => return usage(format!("trace: unexpected argument {s}")),
        }
    }
    let path = file
        .clone()
        .unwrap_or_else(|| event::PROC_CASIO_EVENT.to_string());
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && file.is_none() => {
            return rt(format!(
                "this kernel exports no CASIO event trace ({} does not exist)",
                event::PROC_CASIO_EVENT
            ))
        }
        Err(source) => return Err(Fail::Read { path, source }),
    };
    let mut evs = event::parse(&text).map_err(|source| Fail::Events {
        path: path.clone(),
        source,
    })?;
    evs.retain(|e| e.ts_ns >= since);
    if evs.is_empty() && file.is_none() {
        let knob = "/proc/sys/kernel/sched_casio_event_log";
        if std::fs::read_to_string(knob)
            .map(|v| v.trim() == "0")
            .unwrap_or(false)
        {
            eprintln!("casioctl: no events: the kernel's event log is off (echo 1 > {knob})");
        }
    }
    if mode == "check-edf" {
        let r = event::edf_check(&evs);
        println!(
            "edf: {} switches checked, {} to tasks not seen queued, {} lost-event markers, {} inversions",
            r.checked,
            r.unknown,
            r.lost,
            r.violations.len()
        );
        for v in &r.violations {
            println!("inversion: {v}");
        }
        if !r.violations.is_empty() {
            return rt(format!("{} EDF inversions in {path}", r.violations.len()));
        }
        if r.checked == 0 {
            return rt(format!(
                "no switch to a CASIO task could be checked in {path}"
            ));
        }
        return Ok(());
    }
    let out = match mode {
        "json" => serde_json::to_string_pretty(&evs).unwrap_or_default() + "\n",
        "csv" => event::to_csv(&evs),
        _ => event::to_text(&evs),
    };
    print!("{out}");
    Ok(())
}

fn real_main(argv: Vec<std::ffi::OsString>) -> Res<()> {
    let mut p = lexopt::Parser::from_args(argv);
    let Some(t) = next(&mut p)? else {
        eprint!("{MAIN_HELP}");
        return usage("missing command");
    };
    let cmd = match t {
        Tok::Opt(x) | Tok::Val(x) => x,
    };
    match cmd.as_str() {
        "--help" | "-h" | "help" => {
            print!("{MAIN_HELP}");
            Ok(())
        }
        "--version" | "-V" => {
            println!("casioctl {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        "run" => cmd_run(p),
        "get" => cmd_get(p),
        "set" => cmd_set(p),
        "stats" => cmd_stats(p),
        "taskset" => cmd_taskset(p),
        "plot" => cmd_plot(p),
        "trace" => cmd_trace(p),
        c => usage(format!("unknown command '{c}' (see casioctl --help)")),
    }
}

fn main() {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let code = match real_main(argv) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("casioctl: {e}");
            e.exit_code()
        }
    };
    flush_stdio();
    std::process::exit(code);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The usage error (exit 2) `casioctl ARGS` ends with.
    fn usage_of(args: &[&str]) -> String {
        match real_main(args.iter().map(Into::into).collect()) {
            Err(e) if e.exit_code() == 2 => e.to_string(),
            r => panic!("casioctl {args:?}: expected a usage error, got {r:?}"),
        }
    }

    #[test]
    fn command_line_errors() {
        assert_eq!(usage_of(&[]), "missing command");
        assert!(usage_of(&["bogus"]).contains("unknown command 'bogus'"));
        assert!(usage_of(&["--bogus"]).contains("unknown command '--bogus'"));
        assert!(usage_of(&["run", "--deadline", "10ms"]).contains("no command"));
        assert!(usage_of(&["run", "--", "true"]).contains("missing --deadline"));
        assert!(usage_of(&["run", "--deadline"]).contains("option --deadline needs a value"));
        assert!(usage_of(&["run", "--deadline", "10", "true"]).contains("no unit"));
        assert!(usage_of(&["run", "--bogus", "true"]).contains("run: unknown option --bogus"));
        assert!(usage_of(&["run", "--deadline=10ms", "--budget=1", "true"]).contains("--budget"));
        assert!(usage_of(&["run", "-r", "20ms", "-d10ms", "true"]).contains("C <= D"));
        assert!(usage_of(&["get"]).contains("missing PID"));
        assert!(usage_of(&["get", "abc"]).contains("invalid pid 'abc'"));
        assert!(usage_of(&["get", "-5"]).contains("get: unknown option -5"));
        assert!(usage_of(&["get", "1", "2"]).contains("only one PID"));
        assert!(usage_of(&["set", "1", "--policy", "fifo:0"]).contains("out of range"));
        assert!(usage_of(&["set", "1"]).contains("give --deadline"));
        assert!(
            usage_of(&["set", "1", "--policy", "rr:5", "--deadline", "10ms"])
                .contains("cannot be combined")
        );
        assert!(usage_of(&["stats", "-x"]).contains("stats: unknown option -x"));
        assert!(usage_of(&["taskset"]).contains("missing FILE"));
        assert!(usage_of(&["taskset", "a", "b"]).contains("only one FILE"));
        assert!(usage_of(&["taskset", "a", "--policy", "x"]).contains("unknown policy 'x'"));
        assert!(usage_of(&["taskset", "a", "--cpu", "x"]).contains("invalid CPU number"));
        assert!(usage_of(&["plot", "in.json"]).contains("missing -o"));
        assert!(
            usage_of(&["plot", "in.json", "-o", "x.svg", "--width", "5"]).contains("300..100000")
        );
        assert!(usage_of(&["trace", "extra"]).contains("unexpected argument extra"));
        assert!(usage_of(&["trace", "--since", "x"]).contains("invalid time"));
    }

    #[test]
    fn run_takes_the_rest_as_the_command() {
        // A refused deadline stops before exec: the options were parsed,
        // and `--x` after the command is the command's.
        assert!(usage_of(&["run", "--deadline", "5s", "prog", "--x"]).contains("at most"));
        assert!(usage_of(&["run", "--deadline", "5s", "--", "-prog"]).contains("at most"));
    }
}
