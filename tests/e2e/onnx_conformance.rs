//! The ONNX backend node tests and the light model-zoo models, run through
//! import and the reference evaluator, against a manifest of the cases
//! known to pass. Inputs that determine shapes are specialised to the
//! case's values, as `tessera run` does.
//!
//! The data comes from `tests/onnx/generate_node_tests.py` (run by
//! `.ci/setup`) in `target/onnx-tests`, or `TESSERA_ONNX_TESTS`. Without it
//! the tests say they are skipped. `TESSERA_NODE_FILTER=text` runs only the
//! cases whose name contains `text`; `TESSERA_UPDATE_MANIFEST=1` rewrites
//! `tests/onnx/node_manifest.txt` from the results.

use crate::onnx_cases::{compare, data_root, import_case, run_parallel, tolerance, Manifest};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tessera_frontend::onnx::load_model;
use tessera_passes::Evaluator;

/// Light models are deep; their tolerance allows for f32 accumulation order.
const LIGHT_TOLERANCE: (f64, f64) = (1e-3, 1e-4);

/// The node manifest.
pub fn node_manifest() -> Manifest {
    Manifest {
        path: Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/onnx/node_manifest.txt"),
        header: concat!(
            "# ONNX backend node tests on the reference evaluator: `pass NAME` or `fail NAME reason`.\n",
            "# Regenerate: TESSERA_UPDATE_MANIFEST=1 cargo test --test e2e onnx_backend_node_tests\n",
        ),
    }
}

/// Runs one case: import, evaluate, compare. `Err` holds a one-line reason.
fn run_case(dir: &Path, light: bool) -> Result<(), String> {
    let case = import_case(dir)?;
    let outputs =
        Evaluator::new(&case.imported.module).run("main", case.args).map_err(|d| format!("eval: {}", d.message))?;
    compare(&outputs, &case.expected, |dtype| if light { LIGHT_TOLERANCE } else { tolerance(dtype) })
}

/// The case folders under `root` whose name contains `TESSERA_NODE_FILTER`, by name.
fn case_dirs(root: &Path) -> Vec<(String, PathBuf)> {
    let filter = std::env::var("TESSERA_NODE_FILTER").unwrap_or_default();
    let mut cases: Vec<(String, PathBuf)> = std::fs::read_dir(root)
        .map(|it| it.flatten().map(|e| (e.file_name().to_string_lossy().into_owned(), e.path())).collect())
        .unwrap_or_default();
    cases.retain(|(name, dir)| dir.join("model.onnx").exists() && name.contains(&filter));
    cases.sort();
    cases
}

/// The operator a node test exercises: the op type of its last node.
fn op_family(case: &str, dir: &Path) -> String {
    load_model(&dir.join("model.onnx"))
        .ok()
        .and_then(|m| m.graph.and_then(|g| g.node.last().map(|n| n.op_type.clone())))
        .unwrap_or_else(|| case.to_string())
}

#[test]
fn onnx_backend_node_tests() {
    let Some(root) = data_root() else {
        println!("skipped: ONNX node-test data not found (run `bash .ci/setup`)");
        return;
    };
    let cases = case_dirs(&root);
    let by_name: BTreeMap<String, PathBuf> = cases.iter().cloned().collect();
    let results = run_parallel(cases, |dir| run_case(dir, false));
    let mut families: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (name, result) in &results {
        let entry = families.entry(op_family(name, &by_name[name])).or_default();
        if result.is_ok() {
            entry.0 += 1
        } else {
            entry.1 += 1
        }
    }
    println!("per operator (passed/total):");
    for (op, (pass, fail)) in &families {
        println!("  {op:<28} {pass}/{}", pass + fail);
    }
    for (name, result) in &results {
        if let Err(reason) = result {
            println!("FAIL {name}: {reason}");
        }
    }
    let passed = results.values().filter(|r| r.is_ok()).count();
    println!("onnx node tests: {passed} passed, {} failed", results.len() - passed);
    node_manifest().settle(&results);
}

#[test]
fn onnx_light_models() {
    let Some(root) = data_root() else {
        println!("skipped: ONNX light-model data not found (run `bash .ci/setup`)");
        return;
    };
    let results = run_parallel(case_dirs(&root.join("light")), |dir| run_case(dir, true));
    for (name, result) in &results {
        match result {
            Ok(()) => println!("PASS {name}"),
            Err(reason) => println!("FAIL {name}: {reason}"),
        }
    }
    let passed = results.values().filter(|r| r.is_ok()).count();
    println!("onnx light models: {passed} passed, {} failed", results.len() - passed);
    assert_eq!(results.len(), 9, "expected the nine light models under {}", root.join("light").display());
    assert_eq!(passed, results.len(), "every light model must match its expected output");
}
