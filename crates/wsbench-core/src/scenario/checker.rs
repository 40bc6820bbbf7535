//! Reading typed fields from the located tree, collecting every mistake on the way.
//!
//! Each accessor returns `None` after recording why, so that a section of the check goes
//! on with its other fields and a file with several mistakes gets them all reported.

use std::cell::{Cell, RefCell};
use std::ops::Range;
use std::path::Path;
use std::str::FromStr;

use super::error::ScenarioError;
use super::toml::{Kind, Table, Value};
use crate::duration::{HumanDuration, parse_duration};

/// Collects the mistakes of one scenario file.
pub(crate) struct Checker<'a> {
    pub file: &'a Path,
    pub source: &'a str,
    errors: RefCell<Vec<ScenarioError>>,
}

impl<'a> Checker<'a> {
    pub fn new(file: &'a Path, source: &'a str) -> Self {
        Checker {
            file,
            source,
            errors: RefCell::default(),
        }
    }

    /// Records a mistake at `span`.
    pub fn report(&self, span: Range<usize>, field: &str, message: impl Into<String>) {
        let e = ScenarioError::at(self.file, self.source, span, field, message);
        self.errors.borrow_mut().push(e);
    }

    /// Records a mistake found elsewhere (a command-line option).
    pub fn push(&self, e: ScenarioError) {
        self.errors.borrow_mut().push(e);
    }

    /// Records a mistake at `span` and gives up on the value.
    pub fn fail<T>(
        &self,
        span: Range<usize>,
        field: &str,
        message: impl Into<String>,
    ) -> Option<T> {
        self.report(span, field, message);
        None
    }

    /// Adds `suffix` to the messages of the mistakes recorded since there were `count`.
    pub fn amend_since(&self, count: usize, suffix: &str) {
        for e in self.errors.borrow_mut().iter_mut().skip(count) {
            e.message = format!("{} {suffix}", e.message);
        }
    }

    /// Mistakes recorded so far.
    pub fn count(&self) -> usize {
        self.errors.borrow().len()
    }

    /// Every mistake, in file order, each once (a sweep checks some fields at every point).
    pub fn into_errors(self) -> Vec<ScenarioError> {
        let mut errors = self.errors.into_inner();
        let mut seen = std::collections::HashSet::new();
        errors.retain(|e| seen.insert(e.clone()));
        errors.sort_by(|a, b| {
            (a.file.as_os_str() != "<command line>", a.line, a.column).cmp(&(
                b.file.as_os_str() != "<command line>",
                b.line,
                b.column,
            ))
        });
        errors
    }

    /// A string.
    pub fn string<'v>(&self, field: &str, v: &'v Value) -> Option<&'v str> {
        match &v.kind {
            Kind::Str(s) => Some(s),
            _ => self.fail(
                v.span.clone(),
                field,
                format!("must be a string in quotes, not {}", v.describe()),
            ),
        }
    }

    /// `true` or `false`.
    pub fn boolean(&self, field: &str, v: &Value) -> Option<bool> {
        match &v.kind {
            Kind::Bool(b) => Some(*b),
            _ => self.fail(
                v.span.clone(),
                field,
                format!("must be true or false, not {}", v.describe()),
            ),
        }
    }

    /// A string naming one of a set of values (an enum of the scenario's).
    pub fn choice<T: FromStr<Err = String>>(&self, field: &str, v: &Value) -> Option<T> {
        let s = self.string(field, v)?;
        s.parse()
            .map_err(|m| self.report(v.span.clone(), field, m))
            .ok()
    }

    /// A whole number.
    pub fn integer(&self, field: &str, v: &Value) -> Option<i64> {
        match v.kind {
            Kind::Int(i) => Some(i),
            _ => self.fail(
                v.span.clone(),
                field,
                format!("must be an integer, not {}", v.describe()),
            ),
        }
    }

    /// A whole number from `min` to `max`.
    pub fn int_in(&self, field: &str, v: &Value, min: i64, max: i64) -> Option<u64> {
        let n = self.integer(field, v)?;
        self.in_range(v.span.clone(), field, n, min, max)
    }

    /// `n` (read at `span`) if it lies from `min` to `max`.
    pub fn in_range(
        &self,
        span: Range<usize>,
        field: &str,
        n: i64,
        min: i64,
        max: i64,
    ) -> Option<u64> {
        if n < min {
            return self.fail(span, field, format!("must be at least {min}, not {n}"));
        }
        if n > max {
            return self.fail(span, field, format!("must be at most {max}, not {n}"));
        }
        Some(n as u64)
    }

    /// A finite number, whole or not.
    pub fn number(&self, field: &str, v: &Value) -> Option<f64> {
        match v.kind {
            Kind::Int(i) => Some(i as f64),
            Kind::Float(f) if f.is_finite() => Some(f),
            _ => self.fail(
                v.span.clone(),
                field,
                format!("must be a number, not {}", v.describe()),
            ),
        }
    }

    /// A share from 0 to 1.
    pub fn share(&self, field: &str, v: &Value) -> Option<f64> {
        let n = self.number(field, v)?;
        if !(0.0..=1.0).contains(&n) {
            return self.fail(
                v.span.clone(),
                field,
                format!("is a share of expected deliveries, from 0 to 1, not {n}"),
            );
        }
        Some(n)
    }

    /// A duration such as `"20s"`.
    pub fn duration(&self, field: &str, v: &Value) -> Option<HumanDuration> {
        match &v.kind {
            Kind::Str(s) => parse_duration(s)
                .map_err(|m| self.report(v.span.clone(), field, m))
                .ok(),
            Kind::Int(_) | Kind::Float(_) => self.fail(
                v.span.clone(),
                field,
                format!(
                    "must be a duration in quotes with its unit, like \"{}s\" or \"500ms\", not the number {}",
                    v.describe(),
                    v.describe()
                ),
            ),
            _ => self.fail(
                v.span.clone(),
                field,
                format!(
                    "must be a duration like \"20s\" or \"500ms\", not {}",
                    v.describe()
                ),
            ),
        }
    }

    /// A sub-table such as `[outage]`.
    pub fn table<'v>(&self, field: &str, v: &'v Value) -> Option<&'v Table> {
        match &v.kind {
            Kind::Table(t) => Some(t),
            _ => self.fail(
                v.span.clone(),
                field,
                format!("must be a table ([{field}]), not {}", v.describe()),
            ),
        }
    }
}

/// The fields of one table being read: what was used, so that the rest can be reported as
/// unknown.
pub(crate) struct Fields<'t> {
    table: &'t Table,
    /// `"outage."` for the `[outage]` table's fields, empty at the top.
    prefix: String,
    /// Where a missing field is reported: the table's header or value.
    span: Range<usize>,
    used: Vec<Cell<bool>>,
}

impl<'t> Fields<'t> {
    pub fn new(table: &'t Table, name: &str, span: Range<usize>) -> Self {
        Fields {
            table,
            prefix: if name.is_empty() {
                String::new()
            } else {
                format!("{name}.")
            },
            span,
            used: table.entries.iter().map(|_| Cell::new(false)).collect(),
        }
    }

    /// The value of `key`, if given.
    pub fn get(&self, key: &str) -> Option<&'t Value> {
        let i = self.table.entries.iter().position(|e| e.key == key)?;
        self.used[i].set(true);
        Some(&self.table.entries[i].value)
    }

    /// The value of `key`, which must be given.
    pub fn required(&self, check: &Checker<'_>, key: &str) -> Option<&'t Value> {
        let v = self.get(key);
        if v.is_none() {
            check.report(
                self.span.clone(),
                &self.name(key),
                format!("missing field `{key}`"),
            );
        }
        v
    }

    /// The field's full name in messages: `outage.at`.
    pub fn name(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// Every entry of the table, marking all used (a map such as `[target]`).
    pub fn all(&self) -> impl Iterator<Item = &'t super::toml::Entry> {
        self.used.iter().for_each(|u| u.set(true));
        self.table.entries.iter()
    }

    /// Reports every key not read, naming the closest known one.
    pub fn reject_unknown(&self, check: &Checker<'_>, known: &[&str]) {
        for (entry, used) in self.table.entries.iter().zip(&self.used) {
            if used.get() {
                continue;
            }
            let key = &entry.key;
            let hint = match known.iter().min_by_key(|k| edit_distance(k, key)) {
                Some(k) if edit_distance(k, key) <= 2 => format!(" (did you mean `{k}`?)"),
                _ => format!(" (expected one of {})", known.join(", ")),
            };
            check.report(
                entry.key_span.clone(),
                &self.name(key),
                format!("unknown field `{key}`{hint}"),
            );
        }
    }
}

/// Levenshtein distance, for "did you mean".
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (row[j + 1] + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::edit_distance;

    #[test]
    fn edit_distance_counts_single_character_changes() {
        assert_eq!(edit_distance("clients", "clinets"), 2);
        assert_eq!(edit_distance("rate", "rates"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
