//! `casio-tool-tests [--list] [NAME...]`: in-guest tests of the `casioctl`
//! tool (tools/casioctl), run as a subprocess (`/bin/casioctl`, or the
//! path in `$CASIOCTL`); see [`casio_guest_tests::tests::casioctl`].
//!
//! Output: `ok N - name` / `not ok N - name: reason` per test (diagnostics
//! as `# ...` lines), then `P passed, F failed`, then
//! `CASIO-TOOL-TESTS-DONE`. Exit status 0 iff no test failed.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(casio_guest_tests::tests::casioctl::main(&args));
}
