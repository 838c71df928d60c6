//! Durations with units: `"2ms"`, `"1.5s"`, `"100us"`, `"250000ns"`.

/// Why a duration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadDuration {
    /// Nothing was given.
    #[error("empty duration (expected e.g. 10ms)")]
    Empty,
    /// No number before the unit.
    #[error("invalid duration '{0}': expected a number followed by ns, us, ms or s")]
    NoNumber(String),
    /// A number other than 0 without a unit.
    #[error("duration '{0}' has no unit: write e.g. {1}ms (units: ns, us, ms, s)")]
    NoUnit(String, String),
    /// A unit that is not ns, us, ms or s.
    #[error("duration '{0}' has an unknown unit '{1}' (units: ns, us, ms, s)")]
    UnknownUnit(String, String),
    /// Two decimal points, or a point alone.
    #[error("invalid number in duration '{0}'")]
    BadNumber(String),
    /// More than 2^64 - 1 ns.
    #[error("duration '{0}' is too large")]
    TooLarge(String),
    /// A fraction of a nanosecond.
    #[error("duration '{0}' is finer than 1 ns")]
    TooFine(String),
}

/// Parse a duration with a unit suffix (`ns`, `us`/`µs`, `ms`, `s`) into
/// nanoseconds. Decimal fractions are allowed (`"1.5ms"`); a bare number
/// is refused (except `0`) because its unit would be a guess.
pub fn parse_duration(s: &str) -> Result<u64, BadDuration> {
    let t = s.trim();
    if t.is_empty() {
        return Err(BadDuration::Empty);
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let unit = unit.trim();
    if num.is_empty() {
        return Err(BadDuration::NoNumber(s.into()));
    }
    let mult: u64 = match unit {
        "ns" => 1,
        "us" | "µs" => 1_000,
        "ms" => 1_000_000,
        "s" | "sec" => 1_000_000_000,
        "" => {
            if num.chars().all(|c| c == '0' || c == '.') && num.contains('0') {
                return Ok(0);
            }
            return Err(BadDuration::NoUnit(s.into(), num.into()));
        }
        u => return Err(BadDuration::UnknownUnit(s.into(), u.into())),
    };
    let (int, frac) = match num.split_once('.') {
        Some((i, f)) => (i, f),
        None => (num, ""),
    };
    if frac.contains('.') || (int.is_empty() && frac.is_empty()) {
        return Err(BadDuration::BadNumber(s.into()));
    }
    let ip: u64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| BadDuration::TooLarge(s.into()))?
    };
    let mut total = ip
        .checked_mul(mult)
        .ok_or_else(|| BadDuration::TooLarge(s.into()))?;
    // Fractional part, digit by digit, exact down to 1 ns.
    let mut scale = mult;
    for d in frac.chars() {
        scale /= 10;
        let dv = d.to_digit(10).unwrap() as u64;
        if scale == 0 {
            if dv != 0 {
                return Err(BadDuration::TooFine(s.into()));
            }
            continue;
        }
        total = total
            .checked_add(dv * scale)
            .ok_or_else(|| BadDuration::TooLarge(s.into()))?;
    }
    Ok(total)
}

/// Format nanoseconds with the largest unit that keeps it short and exact
/// enough: `2ms`, `1.5s`, `100us`, `1234ns`.
pub fn format_ns(ns: u64) -> String {
    let units = [(1_000_000_000u64, "s"), (1_000_000, "ms"), (1_000, "us")];
    for (m, u) in units {
        if ns >= m {
            if ns.is_multiple_of(m) {
                return format!("{}{u}", ns / m);
            }
            // Up to 3 decimals if that is exact.
            if ns.is_multiple_of((m / 1000).max(1)) {
                let v = ns as f64 / m as f64;
                let s = format!("{v:.3}");
                let s = s.trim_end_matches('0').trim_end_matches('.');
                return format!("{s}{u}");
            }
        }
    }
    format!("{ns}ns")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(parse_duration("2ms"), Ok(2_000_000));
        assert_eq!(parse_duration("10 ms"), Ok(10_000_000));
        assert_eq!(parse_duration("100us"), Ok(100_000));
        assert_eq!(parse_duration("100µs"), Ok(100_000));
        assert_eq!(parse_duration("1024ns"), Ok(1024));
        assert_eq!(parse_duration("3s"), Ok(3_000_000_000));
        assert_eq!(parse_duration("1.5ms"), Ok(1_500_000));
        assert_eq!(parse_duration("0.25s"), Ok(250_000_000));
        assert_eq!(parse_duration(".5ms"), Ok(500_000));
        assert_eq!(parse_duration("4.194304s"), Ok(4_194_304_000));
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(parse_duration(" 7ms "), Ok(7_000_000));
    }

    #[test]
    fn rejects_bad() {
        for bad in [
            "", "ms", "10", "10xs", "-5ms", "1.2.3ms", "1.5ns", ".ms", "abc",
        ] {
            let e = parse_duration(bad).unwrap_err().to_string();
            assert!(!e.is_empty(), "{bad}");
        }
        assert!(parse_duration("10")
            .unwrap_err()
            .to_string()
            .contains("no unit"));
        assert!(parse_duration("10xs")
            .unwrap_err()
            .to_string()
            .contains("unknown unit"));
        assert!(parse_duration("99999999999999999999s")
            .unwrap_err()
            .to_string()
            .contains("too large"));
        assert!(parse_duration("18446744074s")
            .unwrap_err()
            .to_string()
            .contains("too large"));
    }

    #[test]
    fn formats() {
        assert_eq!(format_ns(2_000_000), "2ms");
        assert_eq!(format_ns(1_500_000_000), "1.5s");
        assert_eq!(format_ns(100_000), "100us");
        assert_eq!(format_ns(1024), "1.024us");
        assert_eq!(format_ns(999), "999ns");
        assert_eq!(format_ns(0), "0ns");
        for v in [1u64, 1024, 100_000, 2_500_000, 4_194_304_000] {
            assert_eq!(parse_duration(&format_ns(v)), Ok(v));
        }
    }
}
