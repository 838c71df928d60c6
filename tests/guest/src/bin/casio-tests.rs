//! `casio-tests [--list] [NAME...]`: the in-guest SCHED_CASIO test suite.
//!
//! Output: `ok N - name` / `not ok N - name: reason` per test (diagnostics
//! as `# ...` lines), then `P passed, F failed`, then `CASIO-TESTS-DONE`.
//! Exit status 0 iff no test failed.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = casio_guest_tests::harness::main(&casio_guest_tests::tests::casio_tests(), &args);
    std::process::exit(code);
}
