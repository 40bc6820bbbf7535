//! Sharded load generation: one run's clients split over N processes (or hosts), each
//! writing a complete result that `wsbench merge` adds up.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The part `index` of `count` equal parts: the clients `i` with `i % count == index`.
///
/// Client ids stay global, so probes name their sender across shards, every shard owes a
/// probe to every client of the whole run, and a sender's schedule is the same wherever it
/// runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Shard {
    /// Which part, from 0.
    pub index: u64,
    /// How many parts.
    pub count: u64,
}

impl Shard {
    /// The whole run in one process.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Whether client `id` belongs to this shard.
    pub fn owns(&self, id: u64) -> bool {
        id % self.count == self.index
    }

    /// How many of `clients` clients this shard opens.
    pub fn clients_of(&self, clients: u64) -> u64 {
        clients / self.count + u64::from(self.index < clients % self.count)
    }

    /// Whether this is the whole run rather than a part.
    pub fn is_whole(&self) -> bool {
        self.count == 1
    }
}

impl Default for Shard {
    fn default() -> Self {
        Shard::WHOLE
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("'{s}' is not a shard: write I/N, e.g. 0/4 (I from 0 to N-1)");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (u64, u64) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_the_clients_exactly() {
        let shards: Vec<Shard> = (0..3).map(|i| format!("{i}/3").parse().unwrap()).collect();
        assert_eq!(
            shards.iter().map(|s| s.clients_of(10)).collect::<Vec<_>>(),
            [4, 3, 3]
        );
        for id in 0..10 {
            assert_eq!(shards.iter().filter(|s| s.owns(id)).count(), 1);
        }
        assert_eq!(shards[1].to_string(), "1/3");
        for bad in ["3/3", "1", "a/2", "0/0", "-1/2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        assert!(Shard::WHOLE.owns(7) && Shard::WHOLE.is_whole());
    }
}
