//! A guard that puts a `/proc/sys` file back as it found it.

/// Restores a sysctl's value on drop.
#[derive(Debug)]
pub struct Restore {
    path: String,
    old: String,
}

impl Restore {
    /// Remembers the current value of `path`.
    pub fn save(path: &str) -> Result<Self, String> {
        let old = std::fs::read_to_string(path).map_err(|e| format!("read {path}: {e}"))?;
        Ok(Restore {
            path: path.to_string(),
            old: old.trim().to_string(),
        })
    }

    /// Remembers the current value of `path`, then writes `value`.
    pub fn set(path: &str, value: &str) -> Result<Self, String> {
        let r = Restore::save(path)?;
        std::fs::write(path, value).map_err(|e| format!("write {value:?} to {path}: {e}"))?;
        Ok(r)
    }

    /// The value `path` had when the guard was taken.
    pub fn old(&self) -> &str {
        &self.old
    }
}

impl Drop for Restore {
    fn drop(&mut self) {
        if let Err(e) = std::fs::write(&self.path, &self.old) {
            eprintln!("could not restore {}: {e}", self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restores_on_drop() {
        let dir = std::env::temp_dir().join(format!("casio-testkit-sysctl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("knob");
        let p = f.to_str().unwrap();
        std::fs::write(p, "950000\n").unwrap();
        {
            let g = Restore::set(p, "-1").unwrap();
            assert_eq!(g.old(), "950000");
            assert_eq!(std::fs::read_to_string(p).unwrap(), "-1");
        }
        assert_eq!(std::fs::read_to_string(p).unwrap(), "950000");
        assert!(Restore::save(&format!("{p}.missing"))
            .unwrap_err()
            .contains("read"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
