//! `tg.shape_of` of static, symbolic (bound to 1, 5 and 0) and
//! never-computed values.

use crate::harness::{check_each, Tol, N1_N5_N0};

#[test]
fn shapes_of_static_symbolic_and_fused_values() {
    let src = "func @f(%x: tensor<N x 3 x f32>, %s: tensor<f32>) -> (tensor<2xi64>, tensor<0xi64>, tensor<3xi64>) {
  %e = tg.exp %x
  %a = tg.shape_of %e
  %b = tg.shape_of %s
  %t = tg.broadcast_to %x {shape = [2, N, 3]}
  %c = tg.shape_of %t
  tg.return %a, %b, %c
}";
    check_each(src, "f", N1_N5_N0, Tol::Exact);
}
