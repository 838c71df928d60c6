//! `/proc/sched_casio_bw`: the admitted CASIO bandwidth.

use crate::{MS, SEC};

pub const CASIO_RUNTIME_SYSCTL: &str = "/proc/sys/kernel/sched_casio_runtime_us";

pub fn read_bw_file() -> Result<String, String> {
    std::fs::read_to_string("/proc/sched_casio_bw")
        .map_err(|e| format!("/proc/sched_casio_bw: {e}"))
}

/// `/proc/sched_casio_bw`: (total_bw, cap_bw or -1, bw_unit).
pub fn read_bw() -> Result<(u64, i64, u64), String> {
    let text = read_bw_file()?;
    let field = |k: &str| -> Result<i64, String> {
        text.lines()
            .find_map(|l| l.strip_prefix(k)?.strip_prefix(": ")?.trim().parse().ok())
            .ok_or_else(|| format!("/proc/sched_casio_bw: no {k} in {text:?}"))
    };
    Ok((
        field("total_bw")? as u64,
        field("cap_bw")?,
        field("bw_unit")? as u64,
    ))
}

/// `total_bw` once it is `want`, or after 1 s: a dead task gives its share
/// back when it last switches out, which may come just after its parent
/// reaped it (as for SCHED_DEADLINE).
pub fn bw_settles(want: u64) -> Result<u64, String> {
    let end = casio_abi::monotonic_ns() + SEC;
    loop {
        let bw = read_bw()?.0;
        if bw == want || casio_abi::monotonic_ns() > end {
            return Ok(bw);
        }
        casio_abi::sleep_ns(10 * MS);
    }
}

/// `pinned_bw` of `/proc/sched_casio_bw`: the share pinned to each
/// possible CPU.
pub fn read_pinned_bw() -> Result<Vec<u64>, String> {
    let text = read_bw_file()?;
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("pinned_bw:"))
        .ok_or_else(|| format!("/proc/sched_casio_bw: no pinned_bw in {text:?}"))?;
    line.split_whitespace()
        .map(|v| v.parse().map_err(|e| format!("pinned_bw {line:?}: {e}")))
        .collect()
}

/// C/T of `c` ms per 100 ms, as the kernel computes it.
pub fn share(c: u64, unit: u64) -> u64 {
    (c * MS * unit) / (100 * MS)
}
