//! The class's KUnit tests (7.3's `kunit.rs`), which the kernel runs at
//! boot: their results, read from debugfs.

use crate::common::checks::Fails;
use crate::common::kernel::kernel_base;
use crate::diag;
use crate::harness::TestResult;

crate::tests! {
    kunit: "the class's KUnit suite (7.3 DEBUG kernels) ran at boot and passed" => t_kunit,
}

const KUNIT: &str = "/sys/kernel/debug/kunit";
const SUITE: &str = "sched_casio";

/// The test cases of a KUnit suite's results (KTAP): (passed, failed
/// names); the suite's own closing line is not a case, and a skipped
/// case is neither.
fn cases(ktap: &str) -> (usize, Vec<String>) {
    let (mut ok, mut failed) = (0, Vec::new());
    for l in ktap.lines().map(str::trim) {
        let (pass, rest) = match l.strip_prefix("not ok ") {
            Some(r) => (false, r),
            None => match l.strip_prefix("ok ") {
                Some(r) => (true, r),
                None => continue,
            },
        };
        let name = rest.split_whitespace().nth(1).unwrap_or("");
        if name == SUITE || rest.contains("# SKIP") {
            continue;
        }
        if pass {
            ok += 1;
        } else {
            failed.push(name.to_string());
        }
    }
    (ok, failed)
}

fn t_kunit() -> TestResult {
    // The project's 7.3 DEBUG config has KUnit (config/debug-7.3.config);
    // lockdep marks a DEBUG kernel. Other kernels have no CASIO suite.
    let debug = std::path::Path::new("/proc/lockdep").exists();
    if kernel_base() < (7, 3) || !debug {
        diag!(
            "kunit: no CASIO KUnit suite on this kernel (base {:?}, DEBUG {debug})",
            kernel_base()
        );
        return Ok(());
    }
    let path = format!("{KUNIT}/{SUITE}/results");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("read {path}: {e} (is CONFIG_KUNIT set?)"))?;
    let (ok, failed) = cases(&text);
    diag!("kunit: {SUITE}: {ok} passed, {} failed", failed.len());
    let mut f = Fails::default();
    f.check(ok > 0, || format!("{path}: no passed case in {text:?}"));
    f.check(failed.is_empty(), || {
        format!("{path}: failed: {failed:?}\n{text}")
    });
    f.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ktap_cases() {
        let pass = "KTAP version 1\n# Subtest: sched_casio\n1..1\n    ok 1 exited_tasks_keep_no_reference\nok 1 sched_casio\n";
        assert_eq!(cases(pass), (1, vec![]));
        let fail = "    not ok 1 exited_tasks_keep_no_reference\n    ok 2 b # SKIP x\nnot ok 1 sched_casio\n";
        assert_eq!(
            cases(fail),
            (0, vec!["exited_tasks_keep_no_reference".to_string()])
        );
        assert_eq!(cases(""), (0, vec![]));
    }
}
