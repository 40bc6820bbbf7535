//! Event arguments relayed without interpreting them.

use std::fmt;

use serde::de::{SeqAccess, Visitor};
use serde::ser::SerializeTuple;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// All arguments of one event, kept as they came: numbers, strings, objects and binary
/// attachments alike.
///
/// It (de)serializes as a tuple, which socketioxide takes to mean "every argument" rather
/// than "the first one", so an event with several arguments is relayed with all of them.
/// `rmpv::Value` is used because, unlike `serde_json::Value`, it has a binary variant, so an
/// attachment stays an attachment.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EventArgs(pub Vec<rmpv::Value>);

impl Serialize for EventArgs {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut tuple = serializer.serialize_tuple(self.0.len())?;
        for arg in &self.0 {
            tuple.serialize_element(arg)?;
        }
        tuple.end()
    }
}

impl<'de> Deserialize<'de> for EventArgs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ArgsVisitor;
        impl<'de> Visitor<'de> for ArgsVisitor {
            type Value = EventArgs;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("the arguments of an event")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<EventArgs, A::Error> {
                let mut args = Vec::with_capacity(seq.size_hint().unwrap_or(1));
                while let Some(arg) = seq.next_element()? {
                    args.push(arg);
                }
                Ok(EventArgs(args))
            }
        }
        deserializer.deserialize_tuple(usize::MAX, ArgsVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_serialize_as_the_argument_list() {
        let args = EventArgs(vec![rmpv::Value::from(1), rmpv::Value::from("a")]);
        assert_eq!(serde_json::to_string(&args).unwrap(), r#"[1,"a"]"#);
        let back: EventArgs = serde_json::from_str(r#"[1,"a"]"#).unwrap();
        assert_eq!(back, args);
    }
}
