//! The `tessera` binary as a user runs it: `opt` and `inspect` on the
//! bundled model and on fixtures, good and bad.

use crate::binary::{stderr, stdout, tessera};
use std::path::Path;

#[test]
fn opt_runs_a_pipeline_on_the_bundled_model() {
    let out = tessera(&["opt", "models/mlp.tir", "--pipeline=canonicalize,cse,dce"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("func @mlp(%x: tensor<N x 64 x f32>) -> tensor<N x 10 x f32>"), "{text}");
    assert!(!text.contains("tg.neg"), "canonicalize should fold the double negation:\n{text}");
    let reparsed = tessera_ir::parse::parse_module(&text, "out.tir").expect("opt output parses");
    tessera_ir::verify::verify(&reparsed).expect("opt output verifies");
}

#[test]
fn opt_writes_the_output_file_and_prints_ir_after_each_pass() {
    let dir = std::env::temp_dir().join(format!("tessera-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let target = dir.join("out.tir");
    let target_str = target.to_str().unwrap();
    let out = tessera(&["opt", "models/mlp.tir", "--pipeline=cse,dce", "--print-ir-after-all", "-o", target_str]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
    let log = stderr(&out);
    assert!(log.contains("IR after cse") && log.contains("IR after dce"), "{log}");
    let written = std::fs::read_to_string(&target).unwrap();
    assert!(written.starts_with("param @"), "{written}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn opt_on_invalid_ir_prints_located_carets_and_fails() {
    let bad = Path::new("tests/fixtures/invalid/structure.tir");
    let out = tessera(&["opt", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("tests/fixtures/invalid/structure.tir:"), "{err}");
    assert!(err.contains("error:") && err.contains('^'), "{err}");
    assert!(err.matches("error:").count() >= 2, "every error, not only the first:\n{err}");
}

#[test]
fn opt_rejects_an_unknown_pass_by_name() {
    let out = tessera(&["opt", "models/mlp.tir", "--pipeline=cse,frobnicate"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("frobnicate") && err.contains("canonicalize"), "{err}");
}

#[test]
fn missing_and_binary_files_are_clear_errors() {
    let out = tessera(&["opt", "no/such/file.tir"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("cannot read no/such/file.tir"), "{}", stderr(&out));
    let dir = std::env::temp_dir().join(format!("tessera-bin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let junk = dir.join("junk.tir");
    std::fs::write(&junk, [0xff, 0xfe, 0x00, 0x12]).unwrap();
    let out = tessera(&["inspect", junk.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("not UTF-8"), "{}", stderr(&out));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn inspect_prints_ir_and_summary() {
    let out = tessera(&["inspect", "models/mlp.tir"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("functions: 1"), "{text}");
    assert!(text.contains("tg.dot"), "{text}");
    assert!(text.contains("parameters: 4 (2410 elements, 9.4 KiB)"), "{text}");
    assert!(text.contains("elided("), "large weights are elided:\n{text}");
}
