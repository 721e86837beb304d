//! ONNX export: import → export → import gives the same outputs and the
//! same IR up to renaming (`crate::ir_normal_form`), for every node test the
//! node manifest lists as passing (outputs against
//! `tests/onnx/export_manifest.txt`, IR against
//! `tests/onnx/export_ir_manifest.txt`, kept like the node manifest), for
//! every corpus model (identical outputs and IR), and for the bundled CNN, which
//! must export to the operators PyTorch writes. Exported corpus models and
//! the CNN are also run by ONNX Runtime through `tests/onnx/check_exported.py`
//! (with `onnx.checker.check_model(full_check=True)`), when the venv has it.
//!
//! `TESSERA_NODE_FILTER=text` selects node cases; `TESSERA_UPDATE_MANIFEST=1`
//! rewrites the export manifests from the results; `TESSERA_EXPORT_CASES=DIR`
//! also writes every exported node case to `DIR` in the form
//! `check_exported.py` reads, to run them in ONNX Runtime.

use crate::binary::{scratch, stderr, stdout, tessera};
use crate::onnx_cases::{compare, data_root, import_case, passing_cases, run_parallel, tolerance, Case, Manifest};
use crate::onnx_conformance::node_manifest;
use prost::Message;
use crate::ir_normal_form::{compare_modules, Sameness};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use tessera_frontend::npy::{read_npy, write_npy};
use tessera_frontend::onnx::export::{export_module, write_model, ExportOptions, MAX_OPSET, MIN_OPSET};
use tessera_frontend::onnx::import::{default_opset, import_model, import_model_specialized, Imported};
use tessera_frontend::onnx::proto::ModelProto;
use tessera_frontend::onnx::load_model;
use tessera_ir::tensor::Tensor;
use tessera_ir::DType;
use tessera_passes::Evaluator;

/// The repository root.
pub(crate) fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The shared corpus folder, when present.
pub(crate) fn corpus() -> Option<PathBuf> {
    let dir = root().join("../shared/corpus");
    dir.join("MANIFEST.json").exists().then_some(dir)
}

/// Exports `imported`'s `@main` at `opset` under its graph's names.
pub(crate) fn export(imported: &Imported, opset: i64) -> Result<ModelProto, String> {
    let options = ExportOptions {
        opset,
        input_names: imported.inputs.clone(),
        output_names: imported.outputs.clone(),
        ..ExportOptions::default()
    };
    export_module(&imported.module, "main", &options).map_err(|d| {
        let first = &d.0[0];
        format!(
            "export: {}{}",
            first.message,
            if d.0.len() > 1 { format!(" (and {} more)", d.0.len() - 1) } else { String::new() }
        )
    })
}

/// The model as ONNX bytes and back, then imported.
fn reimport(model: &ModelProto) -> Result<Imported, String> {
    let decoded = ModelProto::decode(model.encode_to_vec().as_slice()).map_err(|e| format!("decode: {e}"))?;
    import_model(&decoded).map_err(|d| format!("re-import: {}", d.0[0].message))
}

/// Runs `@main` of `imported` on values given by input name.
pub(crate) fn run(imported: &Imported, named: &[(String, Tensor)]) -> Result<Vec<Tensor>, String> {
    let args = imported
        .inputs
        .iter()
        .map(|n| {
            named
                .iter()
                .find(|(m, _)| m == n)
                .map(|(_, t)| t.clone())
                .ok_or_else(|| format!("no value for input '{n}'"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Evaluator::new(&imported.module).run("main", args).map_err(|d| format!("eval: {}", d.message))
}

/// One node case: import (specialising shape inputs, as the conformance
/// test does), evaluate, export at the model's opset (clamped to the
/// exporter's range), re-import, evaluate, compare the outputs; then how
/// the re-imported IR compares with the first (see [`compare_modules`]).
fn round_trip_case(dir: &Path) -> Result<Result<Sameness, String>, String> {
    let Case { model, imported: first_import, named, .. } = import_case(dir)?;
    let first = run(&first_import, &named)?;
    let opset = default_opset(&model).map_err(|d| d.message)?.clamp(MIN_OPSET, MAX_OPSET);
    let exported = export(&first_import, opset)?;
    let back = reimport(&exported)?;
    let second = run(&back, &named)?;
    compare(&second, &first, tolerance)?;
    if let Some(out) = std::env::var_os("TESSERA_EXPORT_CASES") {
        let case = dir.file_name().map(|n| PathBuf::from(out).join(n)).ok_or("a case folder has no name")?;
        let fed: Vec<(String, Tensor)> = named.into_iter().filter(|(n, _)| first_import.inputs.contains(n)).collect();
        let outputs: Vec<(String, Tensor)> = first_import.outputs.iter().cloned().zip(first).collect();
        let tol = outputs.first().map_or((0.0, 0.0), |(_, t)| tolerance(t.dtype()));
        // numpy has no bf16: such cases cannot be written as .npy files.
        if fed.iter().chain(&outputs).all(|(_, t)| t.dtype() != DType::BF16) {
            write_ort_case(&case, &exported, &fed, &outputs, tol, false);
        }
    }
    Ok(compare_modules(&first_import.module, &back.module))
}

/// The export manifest.
pub(crate) fn export_manifest() -> Manifest {
    Manifest {
        path: root().join("tests/onnx/export_manifest.txt"),
        header: concat!(
            "# ONNX node tests (the node manifest's passes) through import -> export -> import:",
            " `pass NAME` or `fail NAME reason`.\n",
            "# Regenerate: TESSERA_UPDATE_MANIFEST=1 cargo test --test e2e node_tests_round_trip_through_export\n",
        ),
    }
}

/// The manifest of IR equality after the round trip, for the cases whose outputs round-trip.
fn export_ir_manifest() -> Manifest {
    Manifest {
        path: root().join("tests/onnx/export_ir_manifest.txt"),
        header: concat!(
            "# ONNX node tests whose outputs round-trip through export: is the re-imported IR the first",
            " up to renaming (tests/e2e/ir_normal_form.rs)? `pass NAME` or `fail NAME difference`.\n",
            "# Regenerate: TESSERA_UPDATE_MANIFEST=1 cargo test --test e2e node_tests_round_trip_through_export\n",
        ),
    }
}

#[test]
fn node_tests_round_trip_through_export() {
    let Some(data) = data_root() else {
        println!("skipped: ONNX node-test data not found (run `bash .ci/setup`)");
        return;
    };
    let filter = std::env::var("TESSERA_NODE_FILTER").unwrap_or_default();
    let mut cases = passing_cases(&node_manifest(), &data);
    cases.retain(|(name, _)| name.contains(&filter));
    let results = run_parallel(cases, round_trip_case);
    let mut outputs = BTreeMap::new();
    let mut ir = BTreeMap::new();
    for (name, result) in results {
        match result {
            Ok(same) => {
                if let Err(difference) = &same {
                    println!("IR DIFFERS {name}: {difference}");
                }
                ir.insert(name.clone(), same);
                outputs.insert(name, Ok(()));
            }
            Err(reason) => {
                println!("FAIL {name}: {reason}");
                outputs.insert(name, Err(reason));
            }
        }
    }
    let passed = outputs.values().filter(|r| r.is_ok()).count();
    let count = |s: Sameness| ir.values().filter(|r| r.as_ref() == Ok(&s)).count();
    let (exact, normalised) = (count(Sameness::Exact), count(Sameness::Normalised));
    println!("onnx export: {passed} round-tripped, {} failed", outputs.len() - passed);
    println!("onnx export IR: {exact} the same, {normalised} the same in the normal form, {} differ", ir.len() - exact - normalised);
    export_manifest().settle(&outputs);
    export_ir_manifest().settle(&ir.into_iter().map(|(n, r)| (n, r.map(|_| ()))).collect());
}

/// A corpus model: its folder, its inputs by name, and its tolerance.
pub(crate) struct CorpusModel {
    /// The folder's name.
    pub name: String,
    /// The folder.
    pub dir: PathBuf,
    /// The inputs by name.
    pub inputs: Vec<(String, Tensor)>,
    /// `(rtol, atol)` from `meta.json`.
    pub tolerance: (f64, f64),
}

/// Reads an `.npy` file as a tensor.
pub(crate) fn read_npy_tensor(path: &Path) -> Result<Tensor, String> {
    read_npy(path).map(|d| Tensor::from(&d)).map_err(|d| format!("{}: {}", path.display(), d.message))
}

/// Every corpus model under `root` with its inputs and tolerance, by folder name.
pub(crate) fn corpus_models(root: &Path) -> Vec<CorpusModel> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .map(|it| {
            it.flatten()
                .map(|e| e.path())
                .filter(|p| p.join("meta.json").exists() && p.join("model.onnx").exists())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs.into_iter()
        .map(|dir| {
            let text = std::fs::read_to_string(dir.join("meta.json")).expect("meta.json");
            let meta: serde_json::Value = serde_json::from_str(&text).expect("meta.json is JSON");
            let inputs = meta["inputs"]
                .as_array()
                .expect("meta.json lists inputs")
                .iter()
                .map(|i| {
                    let file = dir.join(i["file"].as_str().unwrap_or_default());
                    (i["name"].as_str().unwrap_or_default().to_string(), read_npy_tensor(&file).expect("input .npy"))
                })
                .collect();
            let tolerance = (
                meta["tolerance"]["rtol"].as_f64().unwrap_or(1e-4),
                meta["tolerance"]["atol"].as_f64().unwrap_or(1e-5),
            );
            CorpusModel { name: dir.file_name().unwrap().to_string_lossy().into_owned(), dir, inputs, tolerance }
        })
        .collect()
}

/// Imports a model specialised to `inputs` (as `tessera run` does).
pub(crate) fn import_for(path: &Path, inputs: &[(String, Tensor)]) -> Result<Imported, String> {
    let model = load_model(path).map_err(|d| d.message)?;
    let value_of = |name: &str| inputs.iter().find(|(n, _)| n == name).map(|(_, t)| t.to_dense());
    import_model_specialized(&model, &value_of).map_err(|d| d.to_string())
}

#[test]
fn corpus_models_round_trip_with_identical_outputs_and_ir() {
    let Some(root) = corpus() else {
        println!("skipped: ../shared/corpus not found");
        return;
    };
    let models = corpus_models(&root);
    assert!(models.len() >= 7, "expected the corpus models under {}", root.display());
    let mut failures = Vec::new();
    for m in &models {
        let result = (|| {
            let imported = import_for(&m.dir.join("model.onnx"), &m.inputs)?;
            let first = run(&imported, &m.inputs)?;
            let exported = export(&imported, 17)?;
            let back = reimport(&exported)?;
            let second = run(&back, &m.inputs)?;
            compare(&second, &first, |_| (0.0, 0.0))?;
            let same = compare_modules(&imported.module, &back.module)?;
            let ops: Vec<&str> = exported
                .graph
                .as_ref()
                .map(|g| g.node.iter().map(|n| n.op_type.as_str()).collect())
                .unwrap_or_default();
            Ok::<String, String>(format!("IR {same:?}; {}", ops.join(" ")))
        })();
        match result {
            Ok(ops) => println!("PASS {}: {ops}", m.name),
            Err(e) => {
                println!("FAIL {}: {e}", m.name);
                failures.push(format!("{}: {e}", m.name));
            }
        }
    }
    assert!(failures.is_empty(), "corpus models that do not round-trip:\n{}", failures.join("\n"));
}

#[test]
fn bundled_cnn_exports_the_operators_pytorch_writes() {
    let model = load_model(&root().join("models/tiny_cnn.onnx")).expect("the bundled CNN loads");
    let imported = import_model(&model).expect("the bundled CNN imports");
    let exported = export(&imported, 17).expect("the bundled CNN exports");
    let graph = exported.graph.as_ref().expect("a graph");
    let ops: Vec<&str> = graph.node.iter().map(|n| n.op_type.as_str()).collect();
    assert_eq!(
        ops,
        ["Conv", "Relu", "MaxPool", "Conv", "Relu", "MaxPool", "Flatten", "Gemm", "Relu", "Gemm", "Softmax"]
    );
    let names: Vec<&str> = graph.node.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names[..3], ["/conv1/Conv", "/relu1/Relu", "/pool1/MaxPool"]);
    let inits: Vec<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    assert!(inits.contains(&"conv1.weight") && inits.contains(&"fc2.bias"), "{inits:?}");
    let input = &graph.input[0];
    assert_eq!(input.name, "input");
    let shown = format!("{:?}", input.r#type);
    assert!(shown.contains("DimParam(\"N\")"), "the batch stays symbolic: {shown}");
    let gemm = &graph.node[7];
    assert!(gemm.attribute.iter().any(|a| a.name == "transB" && a.i == 1), "{gemm:?}");
}

#[test]
fn exported_files_load_back_with_external_data() {
    let dir = scratch("onnx-export", "external");
    let imported = import_model(&load_model(&root().join("models/tiny_cnn.onnx")).expect("load")).expect("import");
    let exported = export(&imported, 18).expect("export");
    let inline = dir.join("inline.onnx");
    write_model(&inline, &exported, u64::MAX).expect("write inline");
    let external = dir.join("external.onnx");
    write_model(&external, &exported, 0).expect("write external");
    assert!(dir.join("external.onnx.data").exists(), "the initializers go to external.onnx.data");
    let small = std::fs::metadata(&external).expect("written").len();
    let big = std::fs::metadata(&inline).expect("written").len();
    assert!(small * 4 < big, "the external model holds no weights ({small} vs {big} bytes)");
    let leftovers: Vec<String> = std::fs::read_dir(&dir)
        .expect("list")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind: {leftovers:?}");
    let input = read_npy_tensor(&root().join("models/tiny_cnn_input.npy")).expect("input");
    let named = vec![("input".to_string(), input)];
    let expected = run(&imported, &named).expect("run");
    for path in [&inline, &external] {
        let back = import_model(&load_model(path).expect("reload")).expect("re-import");
        let outputs = run(&back, &named).expect("run the reloaded model");
        compare(&outputs, &expected, |_| (0.0, 0.0)).expect("same outputs");
    }
}

#[test]
fn cli_exports_a_model() {
    let dir = scratch("onnx-export", "cli");
    let out = dir.join("tiny.onnx");
    let result = tessera(&["export", "models/tiny_cnn.onnx", "-o", out.to_str().expect("utf-8"), "--opset", "18"]);
    assert!(result.status.success(), "{}", stderr(&result));
    assert!(stdout(&result).contains("Conv x2"), "{}", stdout(&result));
    let model = load_model(&out).expect("the exported file loads");
    assert_eq!(model.opset_import[0].version, 18);
    let result = tessera(&["export", "models/tiny_cnn.onnx", "-o", out.to_str().expect("utf-8"), "--opset", "12"]);
    assert!(!result.status.success());
    assert!(stderr(&result).contains("opset 12 is not supported"), "{}", stderr(&result));
    let result = tessera(&["export", "models/mlp.tir", "-o", dir.join("mlp.onnx").to_str().expect("utf-8")]);
    assert!(result.status.success(), "{}", stderr(&result));
}

/// Writes a case folder for `check_exported.py`: the model, its inputs and
/// tessera's outputs as `.npy`, and `case.json` naming them.
pub(crate) fn write_ort_case(
    dir: &Path,
    model: &ModelProto,
    inputs: &[(String, Tensor)],
    outputs: &[(String, Tensor)],
    tol: (f64, f64),
    external: bool,
) {
    std::fs::create_dir_all(dir).expect("case folder");
    write_model(&dir.join("model.onnx"), model, if external { 0 } else { u64::MAX }).expect("write the model");
    let listed = |what: &str, values: &[(String, Tensor)]| -> Vec<serde_json::Value> {
        values
            .iter()
            .enumerate()
            .map(|(i, (name, t))| {
                let file = format!("{what}_{i}.npy");
                write_npy(&dir.join(&file), &t.to_dense()).expect("write .npy");
                serde_json::json!({ "name": name, "file": file })
            })
            .collect()
    };
    let case = serde_json::json!({
        "inputs": listed("input", inputs),
        "outputs": listed("output", outputs),
        "rtol": tol.0,
        "atol": tol.1,
    });
    std::fs::write(dir.join("case.json"), serde_json::to_string_pretty(&case).expect("json")).expect("write case.json");
}

#[test]
fn onnx_runtime_runs_exported_models() {
    let python = root().join(".venv/bin/python");
    let has_ort =
        Command::new(&python).args(["-c", "import onnxruntime, onnx"]).output().is_ok_and(|o| o.status.success());
    if !has_ort {
        println!("skipped: .venv has no onnxruntime (run `bash .ci/setup`)");
        return;
    }
    let dir = scratch("onnx-export", "ort");
    let mut cases = Vec::new();
    let cnn_input = read_npy_tensor(&root().join("models/tiny_cnn_input.npy")).expect("input");
    cases.push((
        "tiny_cnn".to_string(),
        root().join("models/tiny_cnn.onnx"),
        vec![("input".to_string(), cnn_input)],
        (1e-4, 1e-5),
    ));
    if let Some(c) = corpus() {
        for m in corpus_models(&c) {
            cases.push((m.name.clone(), m.dir.join("model.onnx"), m.inputs, m.tolerance));
        }
    }
    for (i, (name, path, inputs, tol)) in cases.iter().enumerate() {
        let imported = import_for(path, inputs).unwrap_or_else(|e| panic!("{name}: {e}"));
        let outputs = run(&imported, inputs).unwrap_or_else(|e| panic!("{name}: {e}"));
        let named: Vec<(String, Tensor)> = imported.outputs.iter().cloned().zip(outputs).collect();
        let opset = if i % 2 == 0 { 17 } else { 18 };
        let exported = export(&imported, opset).unwrap_or_else(|e| panic!("{name}: {e}"));
        let fed: Vec<(String, Tensor)> = inputs.iter().filter(|(n, _)| imported.inputs.contains(n)).cloned().collect();
        write_ort_case(&dir.join(name), &exported, &fed, &named, *tol, i == 0);
    }
    let out = Command::new(&python)
        .arg(root().join("tests/onnx/check_exported.py"))
        .arg(&dir)
        .output()
        .expect("the check script runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    println!("{text}");
    assert!(out.status.success(), "ONNX Runtime disagrees with tessera on an exported model:\n{text}");
    assert!(text.contains(&format!("{} passed, 0 failed", cases.len())), "{text}");
}
