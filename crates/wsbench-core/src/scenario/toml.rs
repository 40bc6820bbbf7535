//! The scenario file as a tree of located values.
//!
//! toml's recoverable parser gives every syntax error at once and a span for every key and
//! value; the checker then reads fields from this tree, so that a wrong type, an unknown key
//! and a bad value are all reported together, each at its place.

use std::ops::Range;

use toml::de::{DeTable, DeValue};

/// A value and where it is in the file.
#[derive(Debug, Clone)]
pub(crate) struct Value {
    /// Byte range of the value.
    pub span: Range<usize>,
    /// What it is.
    pub kind: Kind,
}

/// A TOML value, as much of it as a scenario uses.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Datetime,
    Array(Vec<Value>),
    Table(Table),
}

/// A table: its entries in file order, each with the span of its key.
#[derive(Debug, Clone, Default)]
pub(crate) struct Table {
    pub entries: Vec<Entry>,
}

/// One `key = value` of a table.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub key: String,
    pub key_span: Range<usize>,
    pub value: Value,
}

/// Parses `source`; returns the tree (as much as could be read) and every syntax error as
/// (span, message).
pub(crate) fn parse(source: &str) -> (Table, Vec<(Range<usize>, String)>) {
    let (root, errors) = DeTable::parse_recoverable(source);
    let errors = errors
        .into_iter()
        .map(|e| {
            let span = e.span().unwrap_or(0..0);
            (span, e.message().trim().replace('\n', " "))
        })
        .collect();
    (table(root.get_ref()), errors)
}

fn table(t: &DeTable<'_>) -> Table {
    let mut entries: Vec<Entry> = t
        .iter()
        .map(|(k, v)| Entry {
            key: k.get_ref().to_string(),
            key_span: k.span(),
            value: Value {
                span: v.span(),
                kind: kind(v.get_ref()),
            },
        })
        .collect();
    // The map is ordered by key; errors read best in the file's order.
    entries.sort_by_key(|e| e.key_span.start);
    Table { entries }
}

fn kind(v: &DeValue<'_>) -> Kind {
    match v {
        DeValue::String(s) => Kind::Str(s.to_string()),
        DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
            Ok(n) => Kind::Int(n),
            // Beyond i64: no field takes such a number; keep it as a float to say so.
            Err(_) => Kind::Float(i.as_str().parse().unwrap_or(f64::INFINITY)),
        },
        DeValue::Float(f) => Kind::Float(f.as_str().parse().unwrap_or(f64::NAN)),
        DeValue::Boolean(b) => Kind::Bool(*b),
        DeValue::Datetime(_) => Kind::Datetime,
        DeValue::Array(items) => Kind::Array(
            items
                .iter()
                .map(|item| Value {
                    span: item.span(),
                    kind: kind(item.get_ref()),
                })
                .collect(),
        ),
        DeValue::Table(t) => Kind::Table(table(t)),
    }
}

impl Value {
    /// The value as an error message names it: `the string "many"`, `1.5`, `a list`.
    pub fn describe(&self) -> String {
        match &self.kind {
            Kind::Str(s) => format!("the string \"{s}\""),
            Kind::Int(i) => i.to_string(),
            Kind::Float(f) => f.to_string(),
            Kind::Bool(b) => b.to_string(),
            Kind::Datetime => "a date".to_owned(),
            Kind::Array(_) => "a list".to_owned(),
            Kind::Table(_) => "a table".to_owned(),
        }
    }
}
