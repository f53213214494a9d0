//! Scenario errors: where in which file, and what was expected.

use std::fmt;

use crate::types::suggest;

/// A problem with a scenario file, positioned at its line and column (1-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.column, self.message
            )
        }
    }
}

impl std::error::Error for ScenarioError {}

impl ScenarioError {
    /// An error about the file as a whole (it could not be read, say).
    pub fn whole_file(file: &str, message: impl Into<String>) -> Self {
        ScenarioError {
            file: file.to_string(),
            line: 0,
            column: 0,
            message: message.into(),
        }
    }

    /// Translates ron's error into one that says what was expected, in our words.
    pub fn from_ron(file: &str, err: &ron::error::SpannedError) -> Self {
        use ron::Error as E;
        // Unknown field or variant: list what would do, and guess the typo if one is near.
        let unknown = |what: &str, found: &str, expected: &[&str]| {
            let listed: Vec<String> = expected.iter().map(|n| format!("`{n}`")).collect();
            let hint = suggest(found, expected.iter().copied())
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            format!(
                "unknown {what} `{found}`; expected one of {}{hint}",
                listed.join(", ")
            )
        };
        let message = match &err.code {
            E::NoSuchStructField {
                expected, found, ..
            } => unknown("field", found, expected),
            E::NoSuchEnumVariant {
                expected, found, ..
            } => unknown("variant", found, expected),
            E::MissingStructField { field, .. } => {
                format!("missing field `{field}`")
            }
            E::DuplicateStructField { field, .. } => format!("field `{field}` is given twice"),
            E::Message(m) => m.clone(),
            other => {
                let text = other.to_string();
                let mut chars = text.chars();
                match chars.next() {
                    Some(c) => c.to_lowercase().collect::<String>() + chars.as_str(),
                    None => text,
                }
            }
        };
        // ron reports the span of the offending value; its start is where to look.
        ScenarioError {
            file: file.to_string(),
            line: err.span.start.line,
            column: err.span.start.col,
            message,
        }
    }
}
