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
        let mut sources = SourceMap::default();
        sources.add(&name, &text);
        let rendered = diags.render(&sources);
        fixture::assert_expected_errors(&name, &text, &diags, &rendered);
        insta::assert_snapshot!(rendered);
    });
}
