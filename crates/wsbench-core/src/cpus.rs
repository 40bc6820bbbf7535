//! CPU sets: which cores a process may run on, written as Linux writes them (`0-1,4`).
//!
//! Pinning the servers and the load generator to separate cores keeps one from stealing the
//! other's time, which on shared cores shows up as latency (docs/method.md, "Processes").

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A non-empty set of CPU numbers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CpuSet(Vec<usize>);

/// Highest CPU number a set may name (glibc's `cpu_set_t` holds 1024).
const MAX_CPU: usize = 1023;

impl CpuSet {
    /// The CPUs, ascending.
    pub fn cpus(&self) -> &[usize] {
        &self.0
    }

    /// Whether the two sets share a CPU.
    pub fn overlaps(&self, other: &CpuSet) -> bool {
        self.0.iter().any(|c| other.0.contains(c))
    }

    /// The CPUs this process may run on now.
    pub fn of_this_process() -> Option<CpuSet> {
        Self::of_pid(0)
    }

    /// The CPUs process `pid` (0: this one) may run on.
    pub fn of_pid(pid: u32) -> Option<CpuSet> {
        // SAFETY: an all-zero cpu_set_t is valid; sched_getaffinity writes at most its size.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        let size = std::mem::size_of::<libc::cpu_set_t>();
        // SAFETY: `set` is a valid, writable cpu_set_t of `size` bytes.
        if unsafe { libc::sched_getaffinity(pid as libc::pid_t, size, &mut set) } != 0 {
            return None;
        }
        // SAFETY: CPU_ISSET reads the set within its bounds.
        let cpus: Vec<usize> = (0..=MAX_CPU)
            .filter(|&c| unsafe { libc::CPU_ISSET(c, &set) })
            .collect();
        (!cpus.is_empty()).then_some(CpuSet(cpus))
    }

    /// Restricts the calling thread (and the threads and processes it starts from now on)
    /// to this set.
    pub fn apply_to_this_thread(&self) -> std::io::Result<()> {
        // SAFETY: an all-zero cpu_set_t is valid.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        for &c in &self.0 {
            // SAFETY: `c` is at most MAX_CPU, within the set's bounds.
            unsafe { libc::CPU_SET(c, &mut set) };
        }
        let size = std::mem::size_of::<libc::cpu_set_t>();
        // SAFETY: `set` is a valid cpu_set_t of `size` bytes; pid 0 is the calling thread.
        if unsafe { libc::sched_setaffinity(0, size, &set) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }
}

impl FromStr for CpuSet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("'{s}' is not a CPU list such as \"0-1\" or \"2,4-7\"");
        let mut cpus = Vec::new();
        for part in s.split(',').map(str::trim) {
            let (from, to) = match part.split_once('-') {
                Some((a, b)) => (a.trim(), b.trim()),
                None => (part, part),
            };
            let (from, to): (usize, usize) = (
                from.parse().map_err(|_| bad())?,
                to.parse().map_err(|_| bad())?,
            );
            if from > to || to > MAX_CPU {
                return Err(bad());
            }
            cpus.extend(from..=to);
        }
        cpus.sort_unstable();
        cpus.dedup();
        if cpus.is_empty() {
            return Err(bad());
        }
        Ok(CpuSet(cpus))
    }
}

impl fmt::Display for CpuSet {
    /// Ranges joined by commas: `0-3,8`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut i = 0;
        let mut first = true;
        while i < self.0.len() {
            let start = self.0[i];
            while i + 1 < self.0.len() && self.0[i + 1] == self.0[i] + 1 {
                i += 1;
            }
            let end = self.0[i];
            if !first {
                f.write_str(",")?;
            }
            first = false;
            if start == end {
                write!(f, "{start}")?;
            } else {
                write!(f, "{start}-{end}")?;
            }
            i += 1;
        }
        Ok(())
    }
}

impl Serialize for CpuSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for CpuSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for CpuSet {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "CpuSet".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "CPU numbers as Linux lists them, e.g. \"0-1,4\"",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse_and_print_as_linux_writes_them() {
        let set: CpuSet = "4, 0-2,2".parse().unwrap();
        assert_eq!(set.cpus(), [0, 1, 2, 4]);
        assert_eq!(set.to_string(), "0-2,4");
        assert!(set.overlaps(&"4-5".parse().unwrap()));
        assert!(!set.overlaps(&"3".parse().unwrap()));
        for bad in ["", "a", "3-1", "1-", "5000"] {
            assert!(bad.parse::<CpuSet>().is_err(), "{bad}");
        }
        assert!(CpuSet::of_this_process().is_some_and(|s| !s.cpus().is_empty()));
    }
}
