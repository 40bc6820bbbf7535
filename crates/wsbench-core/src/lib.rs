//! Types every wsbench crate shares.
//!
//! The servers, the load generator and the CLI agree on these so that a figure means the
//! same thing wherever it is produced: live server counters, the overflow policy of a
//! client's outgoing queue, how a listening socket is opened, and the line protocol a
//! `wsbench serve` child speaks with its parent.

/// Names of an enum's values in files, for `FromStr` and its error message.
macro_rules! named {
    ($ty:ident, $what:literal, $($variant:ident => $name:literal),+ $(,)?) => {
        impl $ty {
            /// Its name in scenario files and results.
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $name),+ }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $ty {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($name => Ok($ty::$variant),)+
                    other => {
                        let names = [$($name),+];
                        let (last, rest) = names.split_last().expect("at least one name");
                        Err(format!(
                            "unknown {} '{other}' (expected {} or {last})",
                            $what,
                            rest.join(", ")
                        ))
                    }
                }
            }
        }
    };
}

pub mod adapter;
pub mod bounds;
pub mod client_library;
pub mod clock;
pub mod control;
pub mod counters;
pub mod counting;
pub mod cpus;
pub mod duration;
pub mod handicap;
pub mod histogram;
pub mod io_path;
pub mod net;
pub mod payload;
pub mod policy;
pub mod prerequisite;
pub mod probe;
pub mod redis_server;
pub mod result;
pub mod scenario;
pub mod shard;
pub mod stats;
pub mod system;
pub mod tls;
pub mod upgrade;
pub mod ws_frame;

pub use counters::{CountersSnapshot, ServerCounters};
pub use policy::OverflowPolicy;
