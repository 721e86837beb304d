//! The kernel dialect (`k.`): every fixture under `ops/kernel/` parses,
//! verifies and prints as its snapshot shows (inferred types included),
//! every kernel op appears in one, and the hand-written kernels run on the
//! kernel interpreter.

use crate::fixture;
use tessera_ir::print::print_module;
use tessera_ir::tensor::Tensor;
use tessera_ir::verify::VerifiedModule;
use tessera_ir::DType;
use tessera_passes::KernelEvaluator;

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
