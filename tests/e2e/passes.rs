//! Every pass fixture runs its `RUN` pipeline; the snapshot is the output.

use crate::fixture;
use tessera_ir::print::print_module;
use tessera_passes::{PassManager, Pipeline};

#[test]
fn pass_fixtures_transform_as_snapshotted() {
    insta::glob!("../fixtures", "passes/*.tir", |path| {
        let text = fixture::read(path);
        let pipeline = fixture::run_pipeline(&text).unwrap_or_else(|| panic!("{}: first line must be // RUN: --pipeline=...", path.display()));
        let pipeline = Pipeline::parse(&pipeline).unwrap_or_else(|d| panic!("{d}"));
        let module = fixture::load_valid(path);
        let out = PassManager::new(pipeline).verify_each(true).run(module).unwrap_or_else(|d| panic!("{d}"));
        insta::assert_snapshot!(print_module(out.module()));
    });
}
