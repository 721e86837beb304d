//! Exported models run in tract, in-process (through `tessera::tract_peer`),
//! and agree with tessera's reference evaluator: every corpus model, every
//! `models/*.tsr` example, the bundled CNN, and every node test the export
//! manifest lists as round-tripping. Each is exported, written to a file,
//! loaded by tract with the inputs' types as facts, optimised, planned and
//! run. tract's operator coverage is not complete: what it cannot load or
//! run is listed in `tests/onnx/tract_manifest.txt` with the reason (kept
//! like the other manifests), so a regression fails and tract's gaps are
//! listed, not hidden.
//!
//! Tolerances: node tests the per-dtype ones of the conformance suite,
//! corpus models their own (`meta.json`), `.tsr` models and the CNN
//! `rtol 1e-4, atol 1e-5`. `TESSERA_NODE_FILTER` selects node cases;
//! `TESSERA_UPDATE_MANIFEST=1` rewrites the manifest.

use crate::onnx_cases::{compare, data_root, import_case, passing_cases, run_parallel, tolerance, Case, Manifest};
use crate::binary::scratch;
use crate::onnx_export::{corpus, corpus_models, export, export_manifest, import_for, root, run};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tessera::bench::random_inputs;
use tessera::export_support::load_module;
use tessera::model::Model;
use tessera::tract_peer::TractPlan;
use tessera_frontend::onnx::export::{export_module, write_model, ExportOptions, MAX_OPSET, MIN_OPSET};
use tessera_frontend::onnx::import::default_opset;
use tessera_frontend::onnx::proto::ModelProto;
use tessera_ir::tensor::Tensor;
use tessera_ir::DType;
use tessera_passes::Evaluator;

/// Tolerance for the bundled models (`.tsr` examples and the CNN).
const MODEL_TOLERANCE: (f64, f64) = (1e-4, 1e-5);

/// The tract manifest.
fn tract_manifest() -> Manifest {
    Manifest {
        path: root().join("tests/onnx/tract_manifest.txt"),
        header: concat!(
            "# Exported models (`model/...`) and node tests (the export manifest's passes) run in tract",
            " and compared with tessera: `pass NAME` or `fail NAME reason`.\n",
            "# Every `tract disagrees` case was checked in ONNX Runtime (`TESSERA_EXPORT_CASES` and",
            " check_exported.py), which agrees with tessera on all of them: they are tract's gaps.\n",
            "# Regenerate: TESSERA_UPDATE_MANIFEST=1 cargo test --test e2e exported_models_run_in_tract\n",
        ),
    }
}

/// Writes `model` to `file`, runs it in tract on `inputs` (by name) and
/// compares tract's outputs with `expected` at `tol`.
fn check_in_tract(
    file: &Path,
    model: &ModelProto,
    inputs: &[(String, Tensor)],
    expected: &[Tensor],
    tol: impl Fn(DType) -> (f64, f64),
) -> Result<(), String> {
    write_model(file, model, u64::MAX).map_err(|d| format!("write: {}", d.message))?;
    let outputs = TractPlan::new(file, inputs)?.run()?;
    compare(&outputs, expected, tol).map_err(|e| format!("tract disagrees: {e}"))
}

/// One node test: imported (shape inputs specialised), evaluated, exported
/// at its opset (clamped to the exporter's range), and run in tract.
fn node_case(dir: &Path, out: &Path) -> Result<(), String> {
    let Case { model, imported, named, .. } = import_case(dir)?;
    let expected = run(&imported, &named)?;
    let opset = default_opset(&model).map_err(|d| d.message)?.clamp(MIN_OPSET, MAX_OPSET);
    let exported = export(&imported, opset)?;
    let fed: Vec<(String, Tensor)> = named.into_iter().filter(|(n, _)| imported.inputs.contains(n)).collect();
    let name = dir.file_name().ok_or("a case folder has no name")?;
    check_in_tract(&out.join(name).with_extension("onnx"), &exported, &fed, &expected, tolerance)
}

/// One corpus model, imported for its inputs (as `tessera run` does).
fn corpus_case(dir: &Path, out: &Path) -> Result<(), String> {
    let name = dir.file_name().ok_or("a corpus folder has no name")?.to_string_lossy();
    let m = corpus_models(dir.parent().ok_or("no corpus")?)
        .into_iter()
        .find(|m| m.name == name)
        .ok_or_else(|| format!("{name} is not in the corpus"))?;
    let imported = import_for(&m.dir.join("model.onnx"), &m.inputs)?;
    let expected = run(&imported, &m.inputs)?;
    let exported = export(&imported, 17)?;
    let fed: Vec<(String, Tensor)> = m.inputs.into_iter().filter(|(n, _)| imported.inputs.contains(n)).collect();
    check_in_tract(&out.join(format!("corpus-{name}.onnx")), &exported, &fed, &expected, |_| m.tolerance)
}

/// A bundled model (`models/*.tsr` or `models/tiny_cnn.onnx`) on the
/// seeded inputs `tessera bench` makes, with `N` = 2 and `S` = 5.
fn bundled_case(path: &Path, out: &Path) -> Result<(), String> {
    let (module, entry, input_names, output_names) = load_module(path).map_err(|f| f.0)?;
    let model = Model::load(path).map_err(|f| f.0)?;
    let named = random_inputs(&model, &[("N".into(), 2), ("S".into(), 5)]).map_err(|f| f.0)?;
    let args = named.iter().map(|(_, t)| t.clone()).collect();
    let expected = Evaluator::new(&module).run(&entry, args).map_err(|d| format!("eval: {}", d.message))?;
    let options = ExportOptions { input_names, output_names, ..ExportOptions::default() };
    let exported = export_module(&module, &entry, &options).map_err(|d| format!("export: {d}"))?;
    let stem = path.file_stem().ok_or("a model without a name")?.to_string_lossy();
    check_in_tract(&out.join(format!("model-{stem}.onnx")), &exported, &named, &expected, |_| MODEL_TOLERANCE)
}

/// The bundled models and the corpus models, as (manifest name, path) pairs.
fn model_cases() -> Vec<(String, PathBuf)> {
    let mut cases = Vec::new();
    // Relative paths (the tests run in the repository root), so that node
    // names derived from `.tsr` locations do not depend on the checkout.
    let mut bundled: Vec<String> = std::fs::read_dir(root().join("models"))
        .map(|it| it.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| n.ends_with(".tsr")).collect())
        .unwrap_or_default();
    bundled.sort();
    bundled.push("tiny_cnn.onnx".to_string());
    for name in bundled {
        cases.push((format!("model/{name}"), Path::new("models").join(&name)));
    }
    if let Some(c) = corpus() {
        for m in corpus_models(&c) {
            cases.push((format!("model/corpus/{}", m.name), m.dir));
        }
    }
    cases
}

#[test]
fn exported_models_run_in_tract() {
    let out = scratch("onnx-export", "tract");
    let models = model_cases();
    assert!(models.len() >= 4, "the bundled models are missing");
    let mut results: BTreeMap<String, Result<(), String>> = run_parallel(models, |path| {
        if path.join("model.onnx").exists() {
            corpus_case(path, &out)
        } else {
            bundled_case(path, &out)
        }
    });
    let filter = std::env::var("TESSERA_NODE_FILTER").unwrap_or_default();
    match data_root() {
        Some(data) => {
            let mut cases = passing_cases(&export_manifest(), &data);
            cases.retain(|(name, _)| name.contains(&filter));
            results.extend(run_parallel(cases, |dir| node_case(dir, &out)));
        }
        None => println!("node tests skipped: ONNX node-test data not found (run `bash .ci/setup`)"),
    }
    for (name, result) in &results {
        if let Err(reason) = result {
            println!("FAIL {name}: {reason}");
        }
    }
    let passed = results.values().filter(|r| r.is_ok()).count();
    println!("tract: {passed} agree with tessera, {} failed", results.len() - passed);
    tract_manifest().settle(&results);
}
