//! The kernel dialect (`k.`): every fixture under `ops/kernel/` parses,
//! verifies and prints as its snapshot shows (inferred types included),
//! every kernel op appears in one, the hand-written kernels run on the
//! kernel interpreter, and the ONNX node tests that lower run lowered on
//! it and match ONNX's expected outputs.

use crate::fixture;
use crate::onnx_cases::{compare, data_root, import_case, passing_cases, run_parallel, tolerance};
use crate::onnx_conformance::node_manifest;
use std::collections::BTreeMap;
use std::path::Path;
use tessera_ir::print::print_module;
use tessera_ir::tensor::{Data, Tensor};
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

    let path = fixture::root().join("ops/kernel/control.tir");
    let module = VerifiedModule::new(fixture::load_valid(&path)).unwrap();
    let k = KernelEvaluator::new(&module);
    let x = Tensor::from_f64(DType::F32, vec![3], vec![1.0, 2.0, 3.0]).unwrap();
    for (c, expected) in [(true, [1.0, 2.0, 3.0]), (false, [0.0; 3])] {
        let c = Tensor::new(DType::I1, Vec::new(), Data::Bool(vec![c])).unwrap();
        assert_eq!(k.run("choose", vec![c, x.clone()]).unwrap()[0].to_f64s(), expected);
    }
    let x = Tensor::from_f64(DType::F64, vec![5], vec![1.0, 2.0, -4.0, 8.0, 16.0]).unwrap();
    let sums = k.run("prefix_sum", vec![x]).unwrap();
    assert_eq!((sums[0].to_f64s(), sums[1].to_i64s()), (vec![-1.0], vec![3]));
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
    let case = import_case(dir)?;
    let pipeline = Pipeline::parse("lower-to-kernel").map_err(|d| d.message)?;
    let lowered = match PassManager::new(pipeline).verify_each(true).run(case.imported.module.into_inner()) {
        Ok(m) => m,
        Err(d) => {
            let first = d.0.get(1).map(|d| d.message.clone()).unwrap_or_default();
            let not_yet = first.ends_with("is not lowered to the kernel dialect yet")
                || first.contains("has a '?' dim")
                || first.contains("is not lowered yet");
            return if not_yet { Ok(Lowered::Skipped(first)) } else { Err(format!("lowering: {d}")) };
        }
    };
    let outputs = KernelEvaluator::new(&lowered).run("main", case.args).map_err(|d| format!("kernel: {}", d.message))?;
    compare(&outputs, &case.expected, tolerance)?;
    Ok(Lowered::Matched)
}

/// Every ONNX node test the reference evaluator passes (per the manifest)
/// and whose graph uses only lowered ops runs lowered on the kernel
/// interpreter and matches ONNX's expected outputs: a second runtime for
/// the manifest, ahead of code generation.
#[test]
fn onnx_node_tests_run_lowered() {
    let Some(root) = data_root() else {
        println!("skipped: ONNX node-test data not found (run `bash .ci/setup`)");
        return;
    };
    let results = run_parallel(passing_cases(&node_manifest(), &root), lower_case);
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
    // 1554 lowered once conv, pooling, the gathers and scatters, the
    // arg-reductions, running reductions, mirrored pads, bitcasts, sorts
    // and top-k did, 1587 with tg.loop, tg.if and tg.call; fewer means
    // lost coverage.
    assert!(matched >= 1587, "only {matched} node tests lowered");
}
