//! Every op fixture parses, verifies, and prints as its snapshot shows
//! (which is where inferred result types become visible).

use crate::fixture;
use tessera_ir::print::print_module;

#[test]
fn op_fixtures_infer_and_print() {
    insta::glob!("../fixtures", "ops/*.tir", |path| {
        insta::assert_snapshot!(print_module(&fixture::load_valid(path)));
    });
}

#[test]
fn syntax_fixtures_infer_and_print() {
    insta::glob!("../fixtures", "syntax/*.tir", |path| {
        insta::assert_snapshot!(print_module(&fixture::load_valid(path)));
    });
}

#[test]
fn every_graph_op_has_a_fixture() {
    let mut text = String::new();
    for path in fixture::files("ops").into_iter().chain(fixture::files("syntax")) {
        text.push_str(&fixture::read(&path));
    }
    let missing: Vec<&str> = tessera_ir::dialect::all_ops()
        .map(|op| op.name())
        .filter(|name| !text.contains(&format!("{name} ")) && !text.contains(&format!("{name}\n")))
        .collect();
    assert!(missing.is_empty(), "ops without a fixture: {missing:?}");
}
