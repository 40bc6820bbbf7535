//! Durations written the human way (`"20s"`, `"500ms"`) in scenario files and results.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest duration a scenario may give any phase: a day. Longer phases are a typo, and
/// bounding them keeps every sum of phases far from overflowing.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

/// A duration written the human way (`"20s"`, `"500ms"`) in files and results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct HumanDuration(pub Duration);

impl schemars::JsonSchema for HumanDuration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "HumanDuration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A duration such as \"20s\" or \"500ms\"",
        })
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

/// Parses `"20s"`, `"1m 30s"`, `"500ms"`; the error says how to write one.
pub fn parse_duration(text: &str) -> Result<HumanDuration, String> {
    let d = humantime::parse_duration(text).map_err(|e| {
        format!("'{text}' is not a duration ({e}); write it like \"20s\" or \"500ms\"")
    })?;
    if d > MAX_DURATION {
        return Err(format!(
            "'{text}' is longer than a day ({}), which no phase of a run may be",
            HumanDuration(MAX_DURATION)
        ));
    }
    Ok(HumanDuration(d))
}
