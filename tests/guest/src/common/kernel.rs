//! Kernel interfaces other than the scheduling syscalls: RT and CASIO
//! throttling, `/proc/stat`, `/proc/loadavg` and the kernel log.

use casio_abi::Errno;

pub use casio_testkit::throttle::{
    read_runtime, write_runtime, ThrottleOff, CASIO_RUNTIME_PATH, RT_RUNTIME_PATH, THROTTLE_KNOBS,
};

/// The `procs_running` value of a `/proc/stat` text.
pub fn parse_procs_running(stat: &str) -> Option<u64> {
    stat.lines()
        .find_map(|l| l.strip_prefix("procs_running "))
        .and_then(|v| v.trim().parse().ok())
}

/// The running count (4th field, before '/') of a `/proc/loadavg` text.
pub fn parse_loadavg_running(s: &str) -> Option<u64> {
    s.split_whitespace()
        .nth(3)
        .and_then(|f| f.split('/').next())
        .and_then(|v| v.parse().ok())
}

/// Current `procs_running` from `/proc/stat`.
pub fn procs_running() -> Result<u64, String> {
    let s = std::fs::read_to_string("/proc/stat").map_err(|e| format!("read /proc/stat: {e}"))?;
    parse_procs_running(&s).ok_or_else(|| "no procs_running line in /proc/stat".to_string())
}

/// Current running count from `/proc/loadavg`.
pub fn loadavg_running() -> Result<u64, String> {
    let s =
        std::fs::read_to_string("/proc/loadavg").map_err(|e| format!("read /proc/loadavg: {e}"))?;
    parse_loadavg_running(&s).ok_or_else(|| format!("cannot parse /proc/loadavg {s:?}"))
}

/// The message text of one `/dev/kmsg` record
/// (`"prio,seq,ts,flags;message\n KEY=value..."`).
pub fn kmsg_message(record: &str) -> &str {
    let msg = match record.find(';') {
        Some(i) => &record[i + 1..],
        None => record,
    };
    msg.split('\n').next().unwrap_or("")
}

/// All kernel log messages currently in the ring buffer, read from
/// `/dev/kmsg` without blocking; falls back to `klogctl(READ_ALL)`.
pub fn kernel_log() -> Result<Vec<String>, String> {
    match read_dev_kmsg() {
        Ok(v) if !v.is_empty() => Ok(v),
        Ok(_) => read_klogctl(),
        Err(e1) => read_klogctl().map_err(|e2| format!("{e1}; {e2}")),
    }
}

fn read_dev_kmsg() -> Result<Vec<String>, String> {
    let path = c"/dev/kmsg";
    // SAFETY: NUL-terminated path; result checked.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_NONBLOCK) };
    if fd < 0 {
        return Err(format!("open /dev/kmsg: {}", Errno::last()));
    }
    let mut out = Vec::new();
    let mut buf = vec![0u8; 16384];
    loop {
        // SAFETY: reading into a live buffer from our fd.
        let r = unsafe { libc::read(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
        if r > 0 {
            let rec = String::from_utf8_lossy(&buf[..r as usize]);
            out.push(kmsg_message(&rec).to_string());
            continue;
        }
        if r == 0 {
            break;
        }
        match Errno::last() {
            // Record overwritten while reading: carry on with the next one.
            e if e.0 == libc::EPIPE || e == Errno::EINTR => continue,
            _ => break, // EAGAIN: end of buffer
        }
    }
    // SAFETY: closing our fd.
    unsafe { libc::close(fd) };
    Ok(out)
}

fn read_klogctl() -> Result<Vec<String>, String> {
    // SAFETY: SYSLOG_ACTION_SIZE_BUFFER takes no buffer.
    let size = unsafe { libc::klogctl(10, std::ptr::null_mut(), 0) };
    let size = if size > 0 { size as usize } else { 1 << 20 };
    let mut buf = vec![0u8; size];
    // SAFETY: SYSLOG_ACTION_READ_ALL writes at most `size` bytes.
    let r = unsafe { libc::klogctl(3, buf.as_mut_ptr() as *mut libc::c_char, size as i32) };
    if r < 0 {
        return Err(format!("klogctl(READ_ALL): {}", Errno::last()));
    }
    let text = String::from_utf8_lossy(&buf[..r as usize]);
    Ok(text
        .lines()
        .map(|l| {
            // Strip a "<6>" priority prefix and a "[   0.123] " timestamp.
            let l = match (l.starts_with('<'), l.find('>')) {
                (true, Some(i)) => &l[i + 1..],
                _ => l,
            };
            match (l.starts_with('['), l.find("] ")) {
                (true, Some(i)) => l[i + 2..].to_string(),
                _ => l.to_string(),
            }
        })
        .collect())
}

/// Where tracefs is mounted.
pub const TRACEFS: &str = "/sys/kernel/tracing";

/// Mounts tracefs on /sys/kernel/tracing unless it is there.
pub fn mount_tracefs() -> Result<(), String> {
    if std::path::Path::new(&format!("{TRACEFS}/events")).exists() {
        return Ok(());
    }
    let (src, dst, fs) = (c"nodev", c"/sys/kernel/tracing", c"tracefs");
    // SAFETY: NUL-terminated strings; no mount data.
    let r = unsafe { libc::mount(src.as_ptr(), dst.as_ptr(), fs.as_ptr(), 0, std::ptr::null()) };
    if r != 0 {
        return Err(format!("mount tracefs on {TRACEFS}: {}", Errno::last()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn procs_running_parse() {
        let s = "cpu  1 2 3\nintr 5\nctxt 99\nbtime 1\nprocesses 40\nprocs_running 3\nprocs_blocked 0\n";
        assert_eq!(parse_procs_running(s), Some(3));
        assert_eq!(parse_procs_running("cpu 1\n"), None);
        assert!(procs_running().unwrap() >= 1);
    }

    #[test]
    fn loadavg_parse() {
        assert_eq!(parse_loadavg_running("0.00 0.01 0.05 4/87 1234\n"), Some(4));
        assert_eq!(parse_loadavg_running("0.00"), None);
    }

    #[test]
    fn kmsg_parse() {
        let rec = "6,339,5140900,-;sched_casio: class order stop > dl > casio > rt > fair > idle\n SUBSYSTEM=x\n";
        assert_eq!(kmsg_message(rec), casio_abi::CLASS_ORDER_BOOT_LINE);
        assert_eq!(kmsg_message("no semicolon"), "no semicolon");
        assert_eq!(kmsg_message("1,2,3,-;a;b\n"), "a;b");
    }
}
