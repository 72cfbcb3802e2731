//! What is wrong with a file, and where: every problem names the span the parser gave, so
//! it is printed as `FILE:LINE:COLUMN: message`.
use std::fmt;
use std::ops::Range;

/// The kinds of problems a file can have (the CLI gives each its error code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// Not TOML, an unknown key, a wrong type, a missing field.
    Syntax,
    /// A tenant named that the file does not declare.
    UnknownTenant,
    /// Two tenants with the same initial domain or name.
    DuplicateTenant,
    /// The same source → target declared twice (explicitly, or by two templates), or an
    /// arrow from a tenant to itself.
    DuplicateArrow,
    /// A mapping or scoping filter that does not compile, or a setting out of range.
    InvalidSetting,
}

/// One problem, at a byte range of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemKind,
    pub span: Range<usize>,
    pub message: String,
    /// The code of the error beneath, when another crate's (a mapping the engine refuses).
    pub code: Option<&'static str>,
}

impl Problem {
    pub fn new(kind: ProblemKind, span: Range<usize>, message: impl Into<String>) -> Problem {
        Problem { kind, span, message: message.into(), code: None }
    }

    /// The problem located in `text`, the content of file `file`.
    pub fn locate(&self, file: &str, text: &str) -> Located {
        let (line, column) = line_column(text, self.span.start);
        Located { file: file.to_owned(), line, column, kind: self.kind, message: self.message.clone(), code: self.code }
    }
}

/// A problem with its file, line and column (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub kind: ProblemKind,
    pub message: String,
    pub code: Option<&'static str>,
}

impl Located {
    /// `FILE:LINE:COLUMN`.
    pub fn place(&self) -> String {
        format!("{}:{}:{}", self.file, self.line, self.column)
    }
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place(), self.message)
    }
}

/// The 1-based line and column (in characters) of byte `offset` of `text`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_count_from_one() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        assert_eq!(line_column(text, 10), (2, 4));
        assert_eq!(line_column(text, 999), (3, 1));
    }
}
