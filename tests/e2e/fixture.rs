//! Reading fixtures: their text, their `RUN` line, their expected errors.

use std::path::{Path, PathBuf};
use tessera_ir::{Module, SourceMap};

/// The repository's `tests/fixtures` folder.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Every `.tir` file under `tests/fixtures/<dir>`, recursively, sorted.
pub fn files(dir: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    collect(&root().join(dir), &mut out);
    out.sort();
    out
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "tir") {
            out.push(path);
        }
    }
}

/// The fixture's path relative to `tests/fixtures`, used in locations.
pub fn display_name(path: &Path) -> String {
    path.strip_prefix(root()).unwrap_or(path).display().to_string()
}

/// Reads a fixture.
pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Parses and verifies a valid fixture, panicking with rendered diagnostics.
pub fn load_valid(path: &Path) -> Module {
    let text = read(path);
    let name = display_name(path);
    let mut sources = SourceMap::default();
    sources.add(&name, &text);
    let module = tessera_ir::parse::parse_module(&text, &name).unwrap_or_else(|d| panic!("{}", d.render(&sources)));
    tessera_ir::verify::verify(&module).unwrap_or_else(|d| panic!("{}", d.render(&sources)));
    module
}

/// The pipeline named by a `// RUN: --pipeline=...` first line.
pub fn run_pipeline(text: &str) -> Option<String> {
    let first = text.lines().next()?;
    first.trim().strip_prefix("// RUN:")?.trim().strip_prefix("--pipeline=").map(str::to_string)
}

/// One `// expected-error@+N {{text}}` annotation: the 1-based line it
/// points at and the text the message must contain.
#[derive(Debug, Clone, PartialEq)]
pub struct Expected {
    pub line: u32,
    pub text: String,
}

/// All expected-error annotations of a fixture (`@+N`, `@-N`, or none for
/// the annotation's own line).
pub fn expected_errors(text: &str) -> Vec<Expected> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let Some(at) = line.find("// expected-error") else { continue };
        let rest = &line[at + "// expected-error".len()..];
        let (offset, rest) = match rest.strip_prefix('@') {
            Some(r) => {
                let end = r.find(|c: char| !(c == '+' || c == '-' || c.is_ascii_digit())).unwrap_or(r.len());
                (r[..end].parse::<i64>().unwrap_or_else(|_| panic!("bad offset on line {}", i + 1)), &r[end..])
            }
            None => (0, rest),
        };
        let open = rest.find("{{").unwrap_or_else(|| panic!("line {}: expected-error needs {{{{text}}}}", i + 1));
        let close = rest.rfind("}}").unwrap_or_else(|| panic!("line {}: unterminated {{{{", i + 1));
        out.push(Expected { line: (i as i64 + 1 + offset) as u32, text: rest[open + 2..close].to_string() });
    }
    out
}

/// Checks that `diags` holds exactly the errors `text` annotates (each on
/// its line, containing its text); panics naming what is missing or extra.
pub fn assert_expected_errors(name: &str, text: &str, diags: &tessera_ir::Diags, rendered: &str) {
    let expected = expected_errors(text);
    assert!(!expected.is_empty(), "{name} states no expected-error");
    let mut used = vec![false; diags.0.len()];
    let mut unmatched = Vec::new();
    for e in &expected {
        let hit = diags.0.iter().enumerate().position(|(i, d)| {
            !used[i] && d.loc.file_pos().is_some_and(|(_, line, _)| line == e.line) && d.message.contains(&e.text)
        });
        match hit {
            Some(i) => used[i] = true,
            None => unmatched.push(format!("line {}: {{{{{}}}}}", e.line, e.text)),
        }
    }
    assert!(unmatched.is_empty(), "{name}: expected errors not reported: {unmatched:#?}\nreported:\n{rendered}");
    let extra: Vec<String> = diags.0.iter().zip(&used).filter(|(_, u)| !**u).map(|(d, _)| d.to_string()).collect();
    assert!(extra.is_empty(), "{name}: unexpected diagnostics:\n{}", extra.join("\n"));
}
