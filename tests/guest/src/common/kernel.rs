//! Kernel interfaces other than the scheduling syscalls: RT and CASIO
//! throttling, `/proc/stat`, `/proc/loadavg` and the kernel log.

use casio_abi::Errno;

pub use casio_testkit::throttle::{
    read_runtime, write_runtime, ThrottleOff, CASIO_RUNTIME_PATH, RT_RUNTIME_PATH, THROTTLE_KNOBS,
};

/// The (major, minor) of a kernel release string such as "6.12.118".
pub fn parse_release(release: &str) -> Option<(u32, u32)> {
    let mut it = release.split(|c: char| !c.is_ascii_digit());
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

/// The (major, minor) of the running kernel, the base its CASIO series
/// was made for.
pub fn kernel_base() -> (u32, u32) {
    static BASE: std::sync::OnceLock<(u32, u32)> = std::sync::OnceLock::new();
    *BASE.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .ok()
            .and_then(|r| parse_release(r.trim()))
            .unwrap_or((0, 0))
    })
}

/// Whether the kernel knows SCHED_EXT (policy 7), as 6.12 and later do
/// even without sched_ext built in.
pub fn has_sched_ext_policy() -> bool {
    kernel_base() >= (6, 12)
}

/// Whether `sched_getattr()` reports a fair task's EEVDF slice as its
/// `sched_runtime` (6.12 and later), rather than 0.
pub fn fair_runtime_is_slice() -> bool {
    kernel_base() >= (6, 12)
}

/// The CPU time per second that the fair server, a deadline entity above
/// CASIO, guarantees the fair class on each CPU (6.12 and later: 50 ms of
/// every 1 s by default), or 0 where there is none.
pub fn fair_server_ns_per_s() -> u64 {
    if kernel_base() >= (6, 12) {
        50_000_000
    } else {
        0
    }
}

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

/// `/dev/kmsg`, opened for reads that do not block.
fn open_kmsg() -> Result<i32, String> {
    let path = c"/dev/kmsg";
    // SAFETY: NUL-terminated path; result checked.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_NONBLOCK) };
    if fd < 0 {
        return Err(format!("open /dev/kmsg: {}", Errno::last()));
    }
    Ok(fd)
}

/// How many kernel log records were overwritten before the oldest one
/// still in the ring buffer: the sequence number of that record.
pub fn kernel_log_lost() -> Result<u64, String> {
    let fd = open_kmsg()?;
    let mut buf = vec![0u8; 16384];
    // SAFETY: reading into a live buffer from our fd.
    let r = unsafe { libc::read(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
    let err = Errno::last();
    // SAFETY: closing our fd.
    unsafe { libc::close(fd) };
    if r <= 0 {
        // EPIPE: the oldest record went while we read it.
        return if err.0 == libc::EPIPE {
            Ok(1)
        } else {
            Err(format!("read /dev/kmsg: {err}"))
        };
    }
    kmsg_seq(&String::from_utf8_lossy(&buf[..r as usize]))
        .ok_or_else(|| "no sequence number in a /dev/kmsg record".into())
}

/// The sequence number of a `/dev/kmsg` record.
pub fn kmsg_seq(record: &str) -> Option<u64> {
    record.split(',').nth(1)?.parse().ok()
}

fn read_dev_kmsg() -> Result<Vec<String>, String> {
    let fd = open_kmsg()?;
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
    fn release_parse() {
        assert_eq!(parse_release("6.12.118"), Some((6, 12)));
        assert_eq!(parse_release("6.1.192-casio"), Some((6, 1)));
        assert_eq!(parse_release("7.3"), Some((7, 3)));
        assert_eq!(parse_release("x"), None);
    }

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
        assert_eq!(kmsg_seq("6,1234,567,-;x"), Some(1234));
        assert_eq!(kmsg_seq("no commas"), None);
    }
}
