//! The machine-readable output format: one line per result,
//!
//! ```text
//! BENCH <name> key=value key="value with spaces" ...
//! ```
//!
//! Values never contain `"`, newlines or control characters (they are
//! replaced by `_`); a value with a space, `=` or nothing in it is quoted.

use std::fmt::Write as _;

/// Builder for one `BENCH` line.
#[derive(Clone, Debug)]
pub struct BenchLine {
    text: String,
}

fn clean(v: &str) -> String {
    v.chars()
        .map(|c| if c == '"' || c.is_control() { '_' } else { c })
        .collect()
}

impl BenchLine {
    /// A line for benchmark record `name` (no spaces).
    pub fn new(name: &str) -> Self {
        BenchLine {
            text: format!("BENCH {}", clean(name).replace(' ', "_")),
        }
    }

    /// Append `key=value` (value formatted with `Display`).
    pub fn kv<V: std::fmt::Display>(mut self, key: &str, value: V) -> Self {
        let v = clean(&value.to_string());
        if v.is_empty() || v.contains(' ') || v.contains('=') {
            let _ = write!(self.text, " {key}=\"{v}\"");
        } else {
            let _ = write!(self.text, " {key}={v}");
        }
        self
    }

    /// Append `key=value` with a float printed with `prec` decimals.
    pub fn f(self, key: &str, value: f64, prec: usize) -> Self {
        self.kv(key, format!("{value:.prec$}"))
    }

    /// The finished line (without newline).
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl std::fmt::Display for BenchLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format() {
        let l = BenchLine::new("switch")
            .kv("policy", "casio")
            .kv("n", 20000)
            .f("us", 12.3456, 3)
            .kv("cpu", "QEMU Virtual \"CPU\" 2.5+")
            .kv("empty", "")
            .kv("eq", "a=b");
        assert_eq!(
            l.as_str(),
            "BENCH switch policy=casio n=20000 us=12.346 cpu=\"QEMU Virtual _CPU_ 2.5+\" empty=\"\" eq=\"a=b\""
        );
        assert_eq!(l.to_string(), l.as_str());
    }
}
