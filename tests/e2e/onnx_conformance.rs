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

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use tessera_frontend::onnx::import::{graph_inputs, import_model_specialized};
use tessera_frontend::onnx::{load_model, load_tensor, tensor_to_dense};
use tessera_ir::tensor::{allclose, Tensor};
use tessera_ir::DType;
use tessera_passes::Evaluator;

/// Tolerance by dtype: floats relative and absolute; integers and bools exact.
fn tolerance(dtype: DType) -> (f64, f64) {
    match dtype {
        DType::F16 | DType::BF16 => (1e-2, 1e-3),
        DType::F32 | DType::F64 => (1e-3, 1e-6),
        _ => (0.0, 0.0),
    }
}

/// Light models are deep; their tolerance allows for f32 accumulation order.
const LIGHT_TOLERANCE: (f64, f64) = (1e-3, 1e-4);

fn data_root() -> Option<PathBuf> {
    let root = std::env::var_os("TESSERA_ONNX_TESTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/onnx-tests"));
    root.join("DONE").exists().then_some(root)
}

fn manifest_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/onnx/node_manifest.txt")
}

fn read_inputs(dir: &Path, prefix: &str) -> Result<Vec<Tensor>, String> {
    let mut out = Vec::new();
    for i in 0.. {
        let path = dir.join(format!("{prefix}_{i}.pb"));
        if !path.exists() {
            break;
        }
        let proto = load_tensor(&path).map_err(|d| format!("{prefix} #{i}: {}", d.message))?;
        let dense = tensor_to_dense(&proto).map_err(|d| format!("{prefix} #{i}: {}", d.message))?;
        out.push(Tensor::from(&dense));
    }
    Ok(out)
}

/// Runs one case: import, evaluate, compare. `Err` holds a one-line reason.
fn run_case(dir: &Path, light: bool) -> Result<(), String> {
    let model = load_model(&dir.join("model.onnx")).map_err(|d| d.message)?;
    let data = dir.join("test_data_set_0");
    let inputs = read_inputs(&data, "input")?;
    let expected = read_inputs(&data, "output")?;
    let names: Vec<String> = graph_inputs(&model).map_err(|d| d.message)?.into_iter().map(|(n, _)| n).collect();
    let value_of = |name: &str| names.iter().position(|n| n == name).and_then(|i| inputs.get(i)).map(Tensor::to_dense);
    let imported = import_model_specialized(&model, &value_of).map_err(|d| {
        let first = &d.0[0];
        let node = match &first.loc {
            tessera_ir::Loc::Node { op_type, .. } => format!("{op_type}: "),
            _ => String::new(),
        };
        format!("import: {node}{}", first.message)
    })?;
    let args = imported.inputs.iter().filter_map(|n| names.iter().position(|m| m == n).and_then(|i| inputs.get(i)).cloned()).collect();
    let outputs = Evaluator::new(&imported.module).run("main", args).map_err(|d| format!("eval: {}", d.message))?;
    if outputs.len() != expected.len() {
        return Err(format!("{} output(s), expected {}", outputs.len(), expected.len()));
    }
    for (i, (actual, want)) in outputs.iter().zip(&expected).enumerate() {
        let (rtol, atol) = if light { LIGHT_TOLERANCE } else { tolerance(want.dtype()) };
        allclose(actual, want, rtol, atol).map_err(|e| format!("output #{i}: {e}"))?;
    }
    Ok(())
}

fn run_guarded(dir: &Path, light: bool) -> Result<(), String> {
    match catch_unwind(AssertUnwindSafe(|| run_case(dir, light))) {
        Ok(result) => result,
        Err(panic) => {
            let msg = panic.downcast_ref::<String>().cloned().or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()));
            Err(format!("PANIC: {}", msg.unwrap_or_default()))
        }
    }
}

/// Runs cases on every core; returns name → result in name order.
fn run_all(dirs: Vec<PathBuf>, light: bool) -> BTreeMap<String, Result<(), String>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let queue = std::sync::Mutex::new(dirs);
    let results = std::sync::Mutex::new(BTreeMap::new());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let Some(dir) = queue.lock().unwrap().pop() else { break };
                let name = dir.file_name().unwrap().to_string_lossy().into_owned();
                let result = run_guarded(&dir, light).map_err(|e| e.replace('\n', " "));
                results.lock().unwrap().insert(name, result);
            });
        }
    });
    results.into_inner().unwrap()
}

fn case_dirs(root: &Path) -> Vec<PathBuf> {
    let filter = std::env::var("TESSERA_NODE_FILTER").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .map(|it| it.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    dirs.retain(|d| d.join("model.onnx").exists() && d.file_name().is_some_and(|n| n.to_string_lossy().contains(&filter)));
    dirs.sort();
    dirs
}

/// The operator a node test exercises: its name up to the first case suffix.
fn op_family(case: &str, dir: &Path) -> String {
    load_model(&dir.join("model.onnx"))
        .ok()
        .and_then(|m| m.graph.and_then(|g| g.node.last().map(|n| n.op_type.clone())))
        .unwrap_or_else(|| case.to_string())
}

fn read_manifest() -> BTreeMap<String, bool> {
    let text = std::fs::read_to_string(manifest_path()).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, ' ');
            match (parts.next(), parts.next()) {
                (Some("pass"), Some(name)) => Some((name.to_string(), true)),
                (Some("fail"), Some(name)) => Some((name.to_string(), false)),
                _ => None,
            }
        })
        .collect()
}

#[test]
fn onnx_backend_node_tests() {
    let Some(root) = data_root() else {
        println!("skipped: ONNX node-test data not found (run `bash .ci/setup`)");
        return;
    };
    let dirs = case_dirs(&root);
    let by_name: BTreeMap<String, PathBuf> =
        dirs.iter().map(|d| (d.file_name().unwrap().to_string_lossy().into_owned(), d.clone())).collect();
    let results = run_all(dirs, false);
    let mut families: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (name, result) in &results {
        let entry = families.entry(op_family(name, &by_name[name])).or_default();
        if result.is_ok() { entry.0 += 1 } else { entry.1 += 1 }
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
    let manifest = read_manifest();
    if std::env::var_os("TESSERA_UPDATE_MANIFEST").is_some() {
        let mut text = String::from("# ONNX backend node tests on the reference evaluator: `pass NAME` or `fail NAME reason`.\n# Regenerate: TESSERA_UPDATE_MANIFEST=1 cargo test --test e2e onnx_backend_node_tests\n");
        for (name, result) in &results {
            match result {
                Ok(()) => text.push_str(&format!("pass {name}\n")),
                Err(reason) => text.push_str(&format!("fail {name} {}\n", reason.chars().take(160).collect::<String>())),
            }
        }
        std::fs::write(manifest_path(), text).expect("write the manifest");
        return;
    }
    let regressions: Vec<&String> =
        results.iter().filter(|(n, r)| r.is_err() && manifest.get(*n) == Some(&true)).map(|(n, _)| n).collect();
    let newly: Vec<&String> =
        results.iter().filter(|(n, r)| r.is_ok() && manifest.get(*n) != Some(&true)).map(|(n, _)| n).collect();
    if !newly.is_empty() {
        println!("newly passing (add to the manifest with TESSERA_UPDATE_MANIFEST=1): {newly:?}");
    }
    assert!(regressions.is_empty(), "cases in the manifest's pass list now fail: {regressions:#?}");
}

#[test]
fn onnx_light_models() {
    let Some(root) = data_root() else {
        println!("skipped: ONNX light-model data not found (run `bash .ci/setup`)");
        return;
    };
    let results = run_all(case_dirs(&root.join("light")), true);
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
