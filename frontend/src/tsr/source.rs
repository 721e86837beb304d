//! A source file's name and text, and the mapping from byte offsets (the
//! spans of the syntax tree) to the 1-based line and column of a [`Loc`].

use super::ast::Span;
use std::sync::Arc;
use tessera_ir::{Diag, Loc};

/// One `.tsr` file: its name (as locations show it), text and line starts.
#[derive(Clone, Debug)]
pub struct SourceFile {
    name: Arc<str>,
    text: Arc<str>,
    /// Byte offset of the start of each line; the first is 0.
    line_starts: Vec<usize>,
}

impl SourceFile {
    /// Indexes `text`, naming it `name`.
    pub fn new(name: &str, text: &str) -> SourceFile {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        SourceFile { name: Arc::from(name), text: Arc::from(text), line_starts }
    }

    /// The file's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file's text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The location of the first byte of `span`: line, and column in characters.
    pub fn loc(&self, span: Span) -> Loc {
        let offset = (span.start as usize).min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset).max(1);
        let start = self.line_starts[line - 1];
        let col = match self.text.get(start..offset) {
            Some(prefix) => prefix.chars().count(),
            None => offset - start,
        };
        Loc::file(&self.name, line as u32, col as u32 + 1)
    }

    /// An error at `span`.
    pub fn error(&self, span: Span, message: impl Into<String>) -> Diag {
        Diag::error(self.loc(span), message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_map_to_lines_and_character_columns() {
        let f = SourceFile::new("a.tsr", "ab\n\u{e9}x\n");
        let pos = |start| f.loc(Span { start, end: start }).file_pos().map(|(_, l, c)| (l, c));
        assert_eq!(pos(0), Some((1, 1)));
        assert_eq!(pos(1), Some((1, 2)));
        assert_eq!(pos(3), Some((2, 1)));
        // 'x' follows a two-byte character: byte 5, column 2.
        assert_eq!(pos(5), Some((2, 2)));
        assert_eq!(pos(99), Some((3, 1)));
    }
}
