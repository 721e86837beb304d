//! The kernel dialect (`k.`): every fixture under `ops/kernel/` parses,
//! verifies and prints as its snapshot shows (inferred types included),
//! every kernel op appears in one, the hand-written kernels run on the
//! kernel interpreter, and the ONNX node tests that lower run lowered on
//! it and match ONNX's expected outputs.

use crate::fixture;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tessera_frontend::onnx::import::{graph_inputs, import_model_specialized};
use tessera_frontend::onnx::{load_model, load_tensor, tensor_to_dense};
use tessera_ir::print::print_module;
use tessera_ir::tensor::{allclose, Tensor};
use tessera_ir::verify::VerifiedModule;
use tessera_ir::DType;
use tessera_passes::{KernelEvaluator, PassManager, Pipeline};

#[test]
fn kernel_fixtures_infer_and_print() {
    insta::glob!("../fixtures", "ops/kernel/*.tir", |path| {
        insta::assert_snapshot!(print_module(&fixture::load_valid(path)));
    });
}

#[test]
fn every_kernel_op_has_a_fixture() {
    let text: String = fixture::files("ops/kernel").iter().map(|p| fixture::read(p)).collect();
    let missing: Vec<&str> = tessera_ir::dialect::kernel::ops()
        .map(|op| op.name())
        .filter(|name| !text.contains(&format!("{name} ")))
        .collect();
    assert!(missing.is_empty(), "kernel ops without a fixture: {missing:?}");
}

#[test]
fn kernel_fixtures_run() {
    let path = fixture::root().join("ops/kernel/loops.tir");
    let module = VerifiedModule::new(fixture::load_valid(&path)).unwrap();
    let k = KernelEvaluator::new(&module);
    let x = Tensor::from_f64(DType::F32, vec![2, 4], (0..8).map(f64::from).collect()).unwrap();
    let scaled = k.run("scale", vec![x]).unwrap();
    assert_eq!(scaled[0].to_f64s(), [0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0]);
    let x = Tensor::from_f64(DType::F64, vec![3, 5], (0..15).map(f64::from).collect()).unwrap();
    assert_eq!(k.run("row_sums", vec![x]).unwrap()[0].to_f64s(), [10.0, 35.0, 60.0]);
    assert_eq!(k.run("count_even", vec![]).unwrap()[0].to_i64s(), [5]);
}

/// The ONNX node-test data (`target/onnx-tests`, or `TESSERA_ONNX_TESTS`).
fn node_tests() -> Option<PathBuf> {
    let root = std::env::var_os("TESSERA_ONNX_TESTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/onnx-tests"));
    root.join("DONE").exists().then_some(root)
}

/// The tensors `{prefix}_0.pb`, `{prefix}_1.pb`, ... of a test data set.
fn read_tensors(dir: &Path, prefix: &str) -> Result<Vec<Tensor>, String> {
    let mut out = Vec::new();
    while dir.join(format!("{prefix}_{}.pb", out.len())).exists() {
        let path = dir.join(format!("{prefix}_{}.pb", out.len()));
        let proto = load_tensor(&path).map_err(|d| d.message)?;
        out.push(Tensor::from(&tensor_to_dense(&proto).map_err(|d| d.message)?));
    }
    Ok(out)
}

/// What became of one node test.
enum Lowered {
    /// Lowered, run on the kernel interpreter, and matched the expected outputs.
    Matched,
    /// Not lowerable yet: the first reason the lowering gave.
    Skipped(String),
}

/// Imports a node test, lowers it, runs it on the kernel interpreter and
/// compares with the expected outputs (with the conformance tolerances).
fn lower_case(dir: &Path) -> Result<Lowered, String> {
    let model = load_model(&dir.join("model.onnx")).map_err(|d| d.message)?;
    let data = dir.join("test_data_set_0");
    let (inputs, expected) = (read_tensors(&data, "input")?, read_tensors(&data, "output")?);
    let names: Vec<String> = graph_inputs(&model).map_err(|d| d.message)?.into_iter().map(|(n, _)| n).collect();
    let value_of = |name: &str| names.iter().position(|n| n == name).and_then(|i| inputs.get(i)).map(Tensor::to_dense);
    let imported = import_model_specialized(&model, &value_of).map_err(|d| d.0[0].message.clone())?;
    let args: Vec<Tensor> = imported
        .inputs
        .iter()
        .filter_map(|n| names.iter().position(|m| m == n).and_then(|i| inputs.get(i)).cloned())
        .collect();
    let pipeline = Pipeline::parse("lower-to-kernel").map_err(|d| d.message)?;
    let lowered = match PassManager::new(pipeline).verify_each(true).run(imported.module.into_inner()) {
        Ok(m) => m,
        Err(d) => {
            let first = d.0.get(1).map(|d| d.message.clone()).unwrap_or_default();
            let not_yet = first.ends_with("is not lowered to the kernel dialect yet")
                || first.contains("has a '?' dim")
                || first.contains("is not lowered yet");
            return if not_yet { Ok(Lowered::Skipped(first)) } else { Err(format!("lowering: {d}")) };
        }
    };
    let outputs = KernelEvaluator::new(&lowered).run("main", args).map_err(|d| format!("kernel: {}", d.message))?;
    if outputs.len() != expected.len() {
        return Err(format!("{} output(s), expected {}", outputs.len(), expected.len()));
    }
    for (i, (actual, want)) in outputs.iter().zip(&expected).enumerate() {
        let (rtol, atol) = match want.dtype() {
            DType::F16 | DType::BF16 => (1e-2, 1e-3),
            DType::F32 | DType::F64 => (1e-3, 1e-6),
            _ => (0.0, 0.0),
        };
        allclose(actual, want, rtol, atol).map_err(|e| format!("output #{i}: {e}"))?;
    }
    Ok(Lowered::Matched)
}

/// Every ONNX node test the reference evaluator passes (per the manifest)
/// and whose graph uses only lowered ops runs lowered on the kernel
/// interpreter and matches ONNX's expected outputs: a second runtime for
/// the manifest, ahead of code generation.
#[test]
fn onnx_node_tests_run_lowered() {
    let Some(root) = node_tests() else {
        println!("skipped: ONNX node-test data not found (run `bash .ci/setup`)");
        return;
    };
    let manifest = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/onnx/node_manifest.txt"))
        .unwrap_or_default();
    let cases: Vec<PathBuf> = manifest
        .lines()
        .filter_map(|l| l.strip_prefix("pass "))
        .map(|name| root.join(name))
        .filter(|d| d.join("model.onnx").exists())
        .collect();
    let queue = Mutex::new(cases);
    let results = Mutex::new(BTreeMap::new());
    std::thread::scope(|s| {
        for _ in 0..std::thread::available_parallelism().map_or(1, |n| n.get()) {
            s.spawn(|| loop {
                let Some(dir) = queue.lock().unwrap().pop() else { break };
                let name = dir.file_name().unwrap().to_string_lossy().into_owned();
                let result = catch_unwind(AssertUnwindSafe(|| lower_case(&dir))).unwrap_or_else(|p| {
                    let msg =
                        p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
                    Err(format!("PANIC: {}", msg.unwrap_or_default()))
                });
                results.lock().unwrap().insert(name, result);
            });
        }
    });
    let results = results.into_inner().unwrap();
    let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
    let mut failed = Vec::new();
    let mut matched = 0;
    for (name, result) in &results {
        match result {
            Ok(Lowered::Matched) => matched += 1,
            Ok(Lowered::Skipped(why)) => {
                *skipped.entry(why.split(" op:").next().unwrap_or(why).to_string()).or_default() += 1
            }
            Err(e) => failed.push(format!("{name}: {e}")),
        }
    }
    let mut reasons: Vec<(usize, String)> = skipped.into_iter().map(|(w, n)| (n, w)).collect();
    reasons.sort_by(|a, b| b.cmp(a));
    println!("not lowered yet (cases, first reason): {:?}", &reasons[..reasons.len().min(15)]);
    println!(
        "onnx node tests lowered: {matched} matched, {} not lowerable yet, {} failed",
        results.len() - matched - failed.len(),
        failed.len()
    );
    assert!(failed.is_empty(), "lowered node tests that do not match:\n{}", failed.join("\n"));
    // 1102 lowered when this test was written; fewer means lost coverage.
    assert!(matched >= 1100, "only {matched} node tests lowered");
}
