//! The throttling knobs of the RT and CASIO classes, and a guard that
//! turns both off for a measurement.
//!
//! `kernel.sched_rt_runtime_us` = -1 lifts RT throttling and, with it,
//! SCHED_DEADLINE admission control; `kernel.sched_casio_runtime_us` = -1
//! lifts the CASIO cap, which both throttles CASIO time on each CPU and
//! bounds the admitted CASIO bandwidth.

/// The RT throttling knob.
pub const RT_RUNTIME_PATH: &str = "/proc/sys/kernel/sched_rt_runtime_us";
/// The CASIO cap knob.
pub const CASIO_RUNTIME_PATH: &str = "/proc/sys/kernel/sched_casio_runtime_us";
/// The knobs [`ThrottleOff`] turns off.
pub const THROTTLE_KNOBS: [&str; 2] = [RT_RUNTIME_PATH, CASIO_RUNTIME_PATH];

/// Read a runtime sysctl (µs, -1 = unlimited).
pub fn read_runtime(path: &str) -> Result<i64, String> {
    let s = std::fs::read_to_string(path).map_err(|e| format!("read {path}: {e}"))?;
    parse_runtime(path, &s)
}

fn parse_runtime(path: &str, s: &str) -> Result<i64, String> {
    s.trim()
        .parse()
        .map_err(|e| format!("parse {path} {:?}: {e}", s.trim()))
}

/// Write a runtime sysctl (µs, -1 = unlimited).
pub fn write_runtime(path: &str, v: i64) -> Result<(), String> {
    std::fs::write(path, format!("{v}\n")).map_err(|e| format!("write {v} to {path}: {e}"))
}

/// Turns RT throttling and the CASIO cap off while alive; restores the
/// previous values on drop. A knob the kernel lacks (a kernel without
/// CASIO) is an error.
#[derive(Debug)]
pub struct ThrottleOff {
    old: Vec<(&'static str, i64)>,
}

impl ThrottleOff {
    /// Write -1 to every knob, remembering the old values.
    pub fn new() -> Result<Self, String> {
        Self::only(&THROTTLE_KNOBS)
    }

    /// Write -1 to the given knobs only (e.g. [`RT_RUNTIME_PATH`] on a
    /// kernel without CASIO), remembering the old values. On an error the
    /// knobs already written are restored.
    pub fn only(knobs: &[&'static str]) -> Result<Self, String> {
        let mut guard = ThrottleOff { old: Vec::new() };
        for &path in knobs {
            let old = read_runtime(path)?;
            write_runtime(path, -1)?;
            guard.old.push((path, old));
        }
        Ok(guard)
    }

    /// The values before the guard was taken, as `knob=value` pairs.
    pub fn describe_old(&self) -> String {
        self.old
            .iter()
            .map(|(p, v)| format!("{}={v}", p.rsplit('/').next().unwrap_or(p)))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl Drop for ThrottleOff {
    fn drop(&mut self) {
        for &(path, old) in &self.old {
            if let Err(e) = write_runtime(path, old) {
                eprintln!("could not restore {path}: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_runtime_values() {
        assert_eq!(parse_runtime("k", "950000\n"), Ok(950_000));
        assert_eq!(parse_runtime("k", "-1\n"), Ok(-1));
        assert!(parse_runtime("k", "x").unwrap_err().contains("parse k"));
    }

    #[test]
    fn describes_old_values() {
        let g = ThrottleOff {
            old: vec![(RT_RUNTIME_PATH, 950_000), (CASIO_RUNTIME_PATH, -1)],
        };
        let d = g.describe_old();
        std::mem::forget(g);
        assert_eq!(d, "sched_rt_runtime_us=950000 sched_casio_runtime_us=-1");
    }
}
