//! Products with a constant operand, which the GEMM takes packed at
//! compile time: parameters as `A` (more rows than the GEMM reads in
//! place) and as `B`, stored either way round, over more than one `K`
//! block, against the reference evaluator; and a convolution by a
//! parameter, a product of the packed filter (shared by every image) and
//! each image's patches.

use crate::harness::{lower, Compiled, Tol};
use crate::timing::with_random_params;
use tessera_codegen::JitModule;

/// Sums of 600 products, in blocks, against the reference's f64 sum.
const LONG_DOT: Tol = Tol::Close { rtol: 1e-4, atol: 1e-4 };

#[test]
fn products_with_a_parameter_on_either_side() {
    let graph = with_random_params(
        "param @wa : tensor<13x600xf32>
param @wb : tensor<600x45xf32>
param @wt : tensor<45x600xf32>
param @wd : tensor<600x37xf64>
func @a(%x: tensor<600 x N x f32>) -> tensor<13 x N x f32> {
  %w = tg.param @wa
  %c = tg.dot %w, %x {lhs_contract = [1], rhs_contract = [0]}
  tg.return %c
}
func @b(%x: tensor<M x 600 x f32>) -> tensor<M x 45 x f32> {
  %w = tg.param @wb
  %c = tg.dot %x, %w {lhs_contract = [1], rhs_contract = [0]}
  tg.return %c
}
func @bt(%x: tensor<M x 600 x f32>) -> tensor<M x 45 x f32> {
  %w = tg.param @wt
  %c = tg.dot %x, %w {lhs_contract = [1], rhs_contract = [1]}
  tg.return %c
}
func @f64(%x: tensor<M x 600 x f64>) -> tensor<M x 37 x f64> {
  %w = tg.param @wd
  %c = tg.dot %x, %w {lhs_contract = [1], rhs_contract = [0]}
  tg.return %c
}",
    );
    let c = Compiled { jit: JitModule::compile(&lower(&graph)).unwrap(), graph };
    for size in [0, 1, 2, 3, 5, 8, 9, 13, 30] {
        c.check("a", &[("N", size)], LONG_DOT);
        for name in ["b", "bt", "f64"] {
            c.check(name, &[("M", size)], LONG_DOT);
        }
    }
}

#[test]
fn a_convolution_by_a_parameter_over_a_batch() {
    let graph = with_random_params(
        "param @w : tensor<13x3x3x3xf32>
func @conv(%x: tensor<N x 3 x 9 x 11 x f32>) -> tensor<N x 13 x 5 x 11 x f32> {
  %w = tg.param @w
  %y = tg.conv %x, %w {strides = [2, 1], pad_low = [1, 1], pad_high = [1, 1]}
  tg.return %y
}",
    );
    let c = Compiled { jit: JitModule::compile(&lower(&graph)).unwrap(), graph };
    for n in [0, 1, 3] {
        c.check("conv", &[("N", n)], LONG_DOT);
    }
}
