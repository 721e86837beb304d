//! The LLVM IR itself: a golden snapshot of one small fused kernel (the
//! shared cases' `relu_affine`) as translated (the same on every machine),
//! and what the optimiser makes of such kernels on this one (vectorised
//! loops).

use crate::harness::{lower, verified};
use tessera_codegen::{emit_llvm_ir, IrStage};
use tessera_passes::differential::cases::fusion::relu_affine;

#[test]
fn translated_ir_of_a_fused_kernel() {
    let ir = emit_llvm_ir(&lower(&verified(&relu_affine("relu_affine", "f32"))), IrStage::Translated).unwrap();
    insta::assert_snapshot!("relu_affine", ir);
}

#[test]
fn parallel_loops_vectorise() {
    let contiguous = "func @axpy(%x: tensor<N x f32>, %y: tensor<N x f32>, %a: tensor<f32>) -> tensor<N x f32> {
  %0 = tg.mul %x, %a
  %1 = tg.add %0, %y
  tg.return %1
}";
    for src in [&relu_affine("relu_affine", "f32"), contiguous] {
        let ir = emit_llvm_ir(&lower(&verified(src)), IrStage::Optimized).unwrap();
        assert!(ir.contains("\"llvm.loop.isvectorized\""), "not vectorised:\n{ir}");
        assert!(ir.contains("x float>"), "no float vectors:\n{ir}");
    }
    let ir = emit_llvm_ir(&lower(&verified(contiguous)), IrStage::Optimized).unwrap();
    assert!(ir.contains("load <"), "no wide loads:\n{ir}");
    assert!(!ir.contains("vector.memcheck"), "the parallel loop needed no alias checks:\n{ir}");
}
