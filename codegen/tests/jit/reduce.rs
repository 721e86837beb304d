//! Reductions (sum, prod, max, min over any axes, with their identities on
//! empty axes) and dots of every layout, in floats and integers; f32 sums
//! round after every step where the reference accumulates in f64.

use crate::harness::{check, check_all, check_each, Compiled, Tol, F32_SUM, N1_N5, N1_N5_N0};
use tessera_ir::tensor::Tensor;
use tessera_ir::DType;

#[test]
fn reductions_of_every_kind_over_any_axes() {
    let mut src = String::new();
    let ops = ["reduce_sum", "reduce_prod", "reduce_max", "reduce_min"];
    for op in ops {
        src += &format!(
            "func @{op}(%x: tensor<3 x N x 7 x f64>, %i: tensor<5x0x3xi32>, %u: tensor<7x3xu8>) -> (tensor<3 x 7 x f64>, tensor<1 x N x 1 x f64>, tensor<f64>, tensor<3 x N x 7 x f64>, tensor<5x3xi32>, tensor<3xu8>) {{
  %a = tg.{op} %x {{axes = [1]}}
  %b = tg.{op} %x {{axes = [2, 0], keepdims = true}}
  %c = tg.{op} %x {{axes = [0, 1, 2]}}
  %d = tg.{op} %x {{axes = []}}
  %e = tg.{op} %i {{axes = [1]}}
  %f = tg.{op} %u {{axes = [-2]}}
  tg.return %a, %b, %c, %d, %e, %f
}}
func @{op}_f32(%x: tensor<33x17xf32>) -> tensor<17xf32> {{
  %a = tg.{op} %x {{axes = [0]}}
  tg.return %a
}}
func @{op}_f16(%h: tensor<N x 33 x f16>) -> tensor<N x f16> {{
  %a = tg.{op} %h {{axes = [1]}}
  tg.return %a
}}
"
        );
    }
    let c = Compiled::new(&src);
    for op in ops {
        // f64 sums run in the reference's order: exact. f32 ones round at
        // every step; f16 ones accumulate in f32 and round once (within an f16 ulp).
        let (f32_tol, f16_tol) = match op {
            "reduce_sum" => (F32_SUM, Tol::Close { rtol: 1e-3, atol: 1e-3 }),
            "reduce_prod" => (Tol::Close { rtol: 1e-5, atol: 0.0 }, Tol::Close { rtol: 1e-3, atol: 1e-3 }),
            _ => (Tol::Exact, Tol::Exact),
        };
        for bindings in N1_N5_N0 {
            c.check(op, bindings, Tol::Exact);
            c.check(&format!("{op}_f16"), bindings, f16_tol);
        }
        c.check(&format!("{op}_f32"), &[], f32_tol);
    }
}

#[test]
fn half_precision_sums_accumulate_in_f32() {
    // 1 + 2^-8 * 256 in bf16: adding 2^-8 to 1 rounds back to 1 every time,
    // so a bf16 accumulator would stay at 1; the reference (and f32) reach 2.
    let src = "func @f(%x: tensor<257xbf16>, %a: tensor<1x257xbf16>, %b: tensor<257x1xbf16>) -> (tensor<bf16>, tensor<1x1xbf16>, tensor<bf16>) {
  %s = tg.reduce_sum %x {axes = [0]}
  %d = tg.dot %a, %b {lhs_contract = [1], rhs_contract = [0]}
  %m = tg.reduce_max %x {axes = [0]}
  tg.return %s, %d, %m
}";
    let c = Compiled::new(src);
    let mut x = vec![0.00390625; 257];
    x[0] = 1.0;
    let t = |shape: Vec<usize>| Tensor::from_f64(DType::BF16, shape, x.clone()).unwrap();
    let ones = Tensor::from_f64(DType::BF16, vec![257, 1], vec![1.0; 257]).unwrap();
    let out = c.jit.run("f", &[t(vec![257]), t(vec![1, 257]), ones.clone()]).unwrap();
    assert_eq!((out[0].to_f64s(), out[1].to_f64s(), out[2].to_f64s()), (vec![2.0], vec![2.0], vec![1.0]));
    c.check_inputs("f", vec![t(vec![257]), t(vec![1, 257]), ones], Tol::Exact, "bf16 sums");
}

#[test]
fn reductions_fuse_their_producers() {
    let src = "func @f(%x: tensor<N x 17 x f32>, %y: tensor<N x 17 x f32>) -> tensor<N x f32> {
  %p = tg.mul %x, %y
  %e = tg.exp %p
  %s = tg.reduce_sum %e {axes = [1]}
  tg.return %s
}";
    check_each(src, "f", N1_N5, F32_SUM);
}

#[test]
fn dots_of_every_layout() {
    let src = "func @f(%a: tensor<7x17xf32>, %b: tensor<17x3xf32>, %bt: tensor<3x17xf32>, %p: tensor<2x N x 5xf32>, %q: tensor<2x5x4xf32>, %m: tensor<3x5x7xf32>, %n: tensor<5x7xf32>) -> (tensor<7x3xf32>, tensor<7x3xf32>, tensor<2x N x 4 x f32>, tensor<3xf32>, tensor<4x2 x N x f32>) {
  %0 = tg.dot %a, %b {lhs_contract = [1], rhs_contract = [0]}
  %1 = tg.dot %a, %bt {lhs_contract = [1], rhs_contract = [1]}
  %2 = tg.dot %p, %q {lhs_batch = [0], rhs_batch = [0], lhs_contract = [2], rhs_contract = [1]}
  %3 = tg.dot %m, %n {lhs_contract = [1, 2], rhs_contract = [0, 1]}
  %4 = tg.dot %q, %p {lhs_batch = [0], rhs_batch = [0], lhs_contract = [1], rhs_contract = [2]}
  %5 = tg.transpose %4 {perm = [1, 0, 2]}
  tg.return %0, %1, %2, %3, %5
}
func @g(%a: tensor<7x33xi8>, %b: tensor<33x1xi8>, %e: tensor<3x0xi64>, %z: tensor<0x2xi64>) -> (tensor<7x1xi8>, tensor<3x2xi64>) {
  %0 = tg.dot %a, %b {lhs_contract = [1], rhs_contract = [0]}
  %1 = tg.dot %e, %z {lhs_contract = [1], rhs_contract = [0]}
  tg.return %0, %1
}
func @h(%x: tensor<33x17xf16>, %y: tensor<17x3xf16>) -> tensor<33x3xf16> {
  %d = tg.dot %x, %y {lhs_contract = [1], rhs_contract = [0]}
  tg.return %d
}
func @epilogue(%x: tensor<N x 17 x f64>, %w: tensor<17x5xf64>, %b: tensor<5xf64>) -> tensor<N x 5 x f64> {
  %zero = tg.constant {value = dense<0.0> : tensor<f64>}
  %e = tg.exp %x
  %d = tg.dot %e, %w {lhs_contract = [1], rhs_contract = [0]}
  %y = tg.add %d, %b
  %r = tg.max %y, %zero
  tg.return %r
}";
    check_all(
        src,
        &[
            ("f", N1_N5, F32_SUM),
            ("g", &[&[]], Tol::Exact),
            ("h", &[&[]], Tol::Close { rtol: 1e-3, atol: 1e-3 }),
            ("epilogue", N1_N5_N0, Tol::Close { rtol: 1e-12, atol: 1e-12 }),
        ],
    );
}

#[test]
fn a_larger_dot() {
    let src = "func @mm(%a: tensor<64x96xf32>, %b: tensor<96x80xf32>) -> tensor<64x80xf32> {
  %d = tg.dot %a, %b {lhs_contract = [1], rhs_contract = [0]}
  tg.return %d
}";
    check(src, "mm", F32_SUM);
}
