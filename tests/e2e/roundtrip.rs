//! `parse(print(m)) == m` for every valid fixture, and printing is a fixpoint.

use crate::fixture;
use tessera_ir::equiv::module_difference;
use tessera_ir::parse::parse_module;
use tessera_ir::print::{print_module, print_module_with, PrintOptions};

#[test]
fn every_valid_fixture_round_trips_exactly() {
    let files: Vec<_> = ["ops", "syntax", "passes"].iter().flat_map(|d| fixture::files(d)).collect();
    assert!(files.len() > 10, "fixtures not found under {}", fixture::root().display());
    for path in files {
        let module = fixture::load_valid(&path);
        let printed = print_module(&module);
        let reparsed = parse_module(&printed, "printed.tir").unwrap_or_else(|d| panic!("{}: {d}\n{printed}", path.display()));
        if let Some(diff) = module_difference(&module, &reparsed) {
            panic!("{} does not round-trip: {diff}\n{printed}", path.display());
        }
        assert_eq!(print_module(&reparsed), printed, "{}: printing is not a fixpoint", path.display());
        let with_locs = print_module_with(&module, &PrintOptions { locs: true, elide_resources_over: None });
        let relocated = parse_module(&with_locs, "other.tir").unwrap_or_else(|d| panic!("{d}\n{with_locs}"));
        let first_ops = |m: &tessera_ir::Module| {
            m.funcs.iter().flat_map(|f| f.walk().into_iter().map(move |op| f.op(op).loc.clone())).collect::<Vec<_>>()
        };
        assert_eq!(first_ops(&module), first_ops(&relocated), "{}: locations do not round-trip", path.display());
    }
}
