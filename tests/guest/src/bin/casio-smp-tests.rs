//! `casio-smp-tests [--list] [NAME...]`: the in-guest SMP tests of
//! SCHED_CASIO (global EDF, affinity, CPU hotplug); they need at least 4
//! online CPUs.
//!
//! Output: `ok N - name` / `not ok N - name: reason` per test (diagnostics
//! as `# ...` lines), then `P passed, F failed`, then `CASIO-TESTS-DONE`.
//! Exit status 0 iff no test failed.  Every CPU is brought back online at
//! the end, even after a test that was killed by its timeout.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = casio_guest_tests::harness::main(&casio_guest_tests::tests::smp_tests(), &args);
    for m in casio_guest_tests::common::cpus::bring_all_online() {
        println!("# {m}");
    }
    std::process::exit(code);
}
