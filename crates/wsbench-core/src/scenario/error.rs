//! Scenario mistakes, each located at `FILE:LINE:COL: FIELD`, all reported together.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A scenario file that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, thiserror::Error)]
#[error("{}:{line}:{column}: {field}{}{message}", file.display(), if field.is_empty() { "" } else { ": " })]
pub struct ScenarioError {
    /// The file (or `<command line>` for an override).
    pub file: PathBuf,
    /// 1-based line of the offending value.
    pub line: usize,
    /// 1-based column of the offending value.
    pub column: usize,
    /// The field, empty when the file as a whole is at fault.
    pub field: String,
    /// What is wrong and what would be right.
    pub message: String,
}

impl ScenarioError {
    /// A mistake at byte `span.start` of `source`, the text of `file`.
    pub fn at(
        file: &Path,
        source: &str,
        span: Range<usize>,
        field: &str,
        message: impl Into<String>,
    ) -> ScenarioError {
        let (line, column) = line_col(source, span.start);
        ScenarioError {
            file: file.to_owned(),
            line,
            column,
            field: field.to_owned(),
            message: message.into(),
        }
    }

    /// A mistake in a command-line option that overrides the file.
    pub fn flag(flag: &str, message: impl Into<String>) -> ScenarioError {
        ScenarioError {
            file: PathBuf::from("<command line>"),
            line: 1,
            column: 1,
            field: flag.to_owned(),
            message: message.into(),
        }
    }
}

/// Every mistake found in a scenario (at least one), in the order they appear: one line
/// each when displayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioErrors(pub Vec<ScenarioError>);

impl ScenarioErrors {
    /// The first mistake.
    pub fn first(&self) -> &ScenarioError {
        &self.0[0]
    }
}

impl fmt::Display for ScenarioErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioErrors {}

impl From<ScenarioError> for ScenarioErrors {
    fn from(e: ScenarioError) -> Self {
        ScenarioErrors(vec![e])
    }
}

/// 1-based line and column of byte `offset` in `source` (columns count characters).
pub(crate) fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(source.len());
    while !source.is_char_boundary(end) {
        end -= 1;
    }
    let before = &source[..end];
    let line = before.matches('\n').count() + 1;
    let column = before.chars().rev().take_while(|&c| c != '\n').count() + 1;
    (line, column)
}
