//! Problems found in bank files, each pinned to a file, a line and a field.

use std::fmt;
use std::ops::Range;

/// One problem in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file, relative to the bank root (e.g. `system_design/sd-url-shortener.toml`).
    pub file: String,
    /// 1-based line; 0 when the problem concerns the whole file.
    pub line: usize,
    /// 1-based column; 0 when unknown.
    pub column: usize,
    /// The field path, e.g. `key_points[2].dimension`; empty when the problem is not a field's.
    pub field: String,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
            if self.column > 0 {
                write!(f, ":{}", self.column)?;
            }
        }
        if self.field.is_empty() {
            write!(f, ": {}", self.message)
        } else {
            write!(f, ": field `{}`: {}", self.field, self.message)
        }
    }
}

/// Maps byte offsets of one source text to lines and columns, and finds the TOML key path at a
/// position (for errors that come with a span but no field name).
pub(crate) struct SourceMap<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> SourceMap<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self { text, line_starts }
    }

    /// 1-based (line, column) of a byte offset.
    pub(crate) fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset).max(1);
        let start = self.line_starts[line - 1];
        let column = self.text[start..offset].chars().count() + 1;
        (line, column)
    }

    pub(crate) fn diagnostic(
        &self,
        file: &str,
        span: Option<Range<usize>>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Diagnostic {
        let (line, column) = span.map(|s| self.line_col(s.start)).unwrap_or((0, 0));
        Diagnostic {
            file: file.to_string(),
            line,
            column,
            field: field.into(),
            message: message.into(),
        }
    }

    /// The dotted key path of the value at `offset`: the nearest table header above it
    /// (`[[key_points]]` counted to an index) joined with the key on that line.
    pub(crate) fn field_at(&self, offset: usize) -> String {
        let (line, _) = self.line_col(offset);
        let lines: Vec<&str> = self.text.lines().collect();
        let key = lines
            .get(line.saturating_sub(1))
            .and_then(|l| {
                let l = l.trim_start();
                if l.starts_with('[') {
                    return None;
                }
                l.split_once('=')
                    .map(|(k, _)| k.trim().trim_matches('"').to_string())
            })
            .unwrap_or_default();
        let mut table = String::new();
        for (i, l) in lines.iter().enumerate().take(line).rev() {
            let l = l.trim();
            if let Some(name) = l.strip_prefix("[[").and_then(|r| r.strip_suffix("]]")) {
                let name = name.trim();
                let header = format!("[[{name}]]");
                let index = lines[..i].iter().filter(|x| x.trim() == header).count();
                table = format!("{name}[{index}]");
                break;
            }
            if let Some(name) = l.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
                table = name.trim().to_string();
                break;
            }
        }
        match (table.is_empty(), key.is_empty()) {
            (true, _) => key,
            (false, true) => table,
            (false, false) => format!("{table}.{key}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based() {
        let m = SourceMap::new("a = 1\nbb = 2\n");
        assert_eq!(m.line_col(0), (1, 1));
        assert_eq!(m.line_col(6), (2, 1));
        assert_eq!(m.line_col(11), (2, 6));
    }

    #[test]
    fn field_path_counts_array_tables() {
        let src = "id = \"x\"\n[[key_points]]\ntext = \"a\"\n[[key_points]]\ntext = \"b\"\ndimension = \"nope\"\n";
        let m = SourceMap::new(src);
        let off = src.find("nope").unwrap();
        assert_eq!(m.field_at(off), "key_points[1].dimension");
        assert_eq!(m.field_at(2), "id");
    }
}
