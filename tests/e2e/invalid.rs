//! Invalid fixtures produce exactly the diagnostics their annotations
//! state (every one of them, not only the first), rendered as snapshotted.

use crate::fixture;
use tessera_ir::{Diags, SourceMap};

fn diagnose(name: &str, text: &str) -> Diags {
    match tessera_ir::parse::parse_module(text, name) {
        Err(diags) => diags,
        Ok(module) => tessera_ir::verify::verify(&module).err().unwrap_or_default(),
    }
}

#[test]
fn invalid_fixtures_report_every_expected_error() {
    insta::glob!("../fixtures", "invalid/**/*.tir", |path| {
        let text = fixture::read(path);
        let name = fixture::display_name(path);
        let diags = diagnose(&name, &text);
        let expected = fixture::expected_errors(&text);
        assert!(!expected.is_empty(), "{name} states no expected-error");
        let mut unmatched: Vec<String> = Vec::new();
        let mut used = vec![false; diags.0.len()];
        for e in &expected {
            let hit = diags.0.iter().enumerate().position(|(i, d)| {
                !used[i] && d.loc.file_pos().is_some_and(|(_, line, _)| line == e.line) && d.message.contains(&e.text)
            });
            match hit {
                Some(i) => used[i] = true,
                None => unmatched.push(format!("line {}: {{{{{}}}}}", e.line, e.text)),
            }
        }
        let mut sources = SourceMap::default();
        sources.add(&name, &text);
        let rendered = diags.render(&sources);
        assert!(unmatched.is_empty(), "{name}: expected errors not reported: {unmatched:#?}\nreported:\n{rendered}");
        let extra: Vec<String> = diags.0.iter().zip(&used).filter(|(_, u)| !**u).map(|(d, _)| d.to_string()).collect();
        assert!(extra.is_empty(), "{name}: unexpected diagnostics:\n{}", extra.join("\n"));
        insta::assert_snapshot!(rendered);
    });
}
