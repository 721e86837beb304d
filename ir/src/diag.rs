//! Diagnostics: located errors and notes, collected rather than thrown, and
//! rendered with the source line and a caret.

use crate::loc::Loc;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// How bad a diagnostic is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Severity {
    /// The input is wrong; processing failed.
    Error,
    /// Suspicious but accepted.
    Warning,
    /// Extra context attached to another diagnostic.
    Note,
}

/// One located message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diag {
    /// How bad it is.
    pub severity: Severity,
    /// Where it points.
    pub loc: Loc,
    /// What is wrong, in one sentence without a trailing period.
    pub message: String,
    /// Further located context (`note: defined here`).
    pub notes: Vec<Diag>,
}

impl Diag {
    /// An error at `loc`.
    pub fn error(loc: Loc, message: impl Into<String>) -> Diag {
        Diag { severity: Severity::Error, loc, message: message.into(), notes: Vec::new() }
    }

    /// Adds a note at `loc`.
    pub fn with_note(mut self, loc: Loc, message: impl Into<String>) -> Diag {
        self.notes.push(Diag { severity: Severity::Note, loc, message: message.into(), notes: Vec::new() });
        self
    }

    /// Renders as `file:line:col: error: message`, then the source line and a
    /// caret when `sources` holds the file, then the notes.
    pub fn render(&self, sources: &SourceMap) -> String {
        let mut out = String::new();
        self.render_into(&mut out, sources);
        out
    }

    fn render_into(&self, out: &mut String, sources: &SourceMap) {
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        };
        match &self.loc {
            Loc::Unknown => {}
            Loc::Node { name, op_type } => out.push_str(&format!("node '{name}' ({op_type}): ")),
            loc => {
                if let Some((file, line, col)) = loc.file_pos() {
                    out.push_str(&format!("{file}:{line}:{col}: "));
                }
            }
        }
        out.push_str(&format!("{label}: {}\n", self.message));
        if let Some((file, line, col)) = self.loc.file_pos() {
            if let Some(text) = sources.line(file, line) {
                let gutter = line.to_string();
                let pad = " ".repeat(gutter.len());
                let caret_pad: String =
                    text.chars().take(col.saturating_sub(1) as usize).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
                out.push_str(&format!("{pad} |\n{gutter} | {text}\n{pad} | {caret_pad}^\n"));
            }
        }
        for note in &self.notes {
            note.render_into(out, sources);
        }
    }
}

impl fmt::Display for Diag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.render(&SourceMap::default()).trim_end())
    }
}

impl std::error::Error for Diag {}

/// Several diagnostics, in the order they were found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diags(pub Vec<Diag>);

impl Diags {
    /// Renders every diagnostic, one after another.
    pub fn render(&self, sources: &SourceMap) -> String {
        self.0.iter().map(|d| d.render(sources)).collect()
    }

    /// Number of errors (not warnings or notes).
    pub fn error_count(&self) -> usize {
        self.0.iter().filter(|d| d.severity == Severity::Error).count()
    }
}

impl fmt::Display for Diags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.render(&SourceMap::default()).trim_end())
    }
}

impl std::error::Error for Diags {}

impl From<Diag> for Diags {
    fn from(d: Diag) -> Diags {
        Diags(vec![d])
    }
}

/// The text of every source file read, so diagnostics can quote it.
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    files: HashMap<Arc<str>, Arc<str>>,
}

impl SourceMap {
    /// Remembers `text` as the contents of `name`; returns the shared name.
    pub fn add(&mut self, name: &str, text: &str) -> Arc<str> {
        let key: Arc<str> = Arc::from(name);
        self.files.insert(key.clone(), Arc::from(text));
        key
    }

    /// Line `line` (1-based) of `file`, without its newline.
    pub fn line(&self, file: &str, line: u32) -> Option<&str> {
        self.files.get(file)?.lines().nth(line.checked_sub(1)? as usize)
    }
}
