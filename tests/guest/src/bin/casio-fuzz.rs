//! `casio-fuzz [--seed N] [--calls N] [--secs N] [--stress TASKS] ...`:
//! random syscall, /proc, sysctl and hotplug churn against SCHED_CASIO,
//! then the invariants that must hold afterwards (see `fuzz/mod.rs`).
//!
//! Output: `# ...` diagnostics (the seed first), `ok N - check` /
//! `not ok N - check: why`, then `P passed, F failed`. Exit status 0 iff
//! every check passed.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = casio_guest_tests::fuzz::main(&args);
    for m in casio_guest_tests::common::cpus::bring_all_online() {
        println!("# {m}");
    }
    std::process::exit(code);
}
