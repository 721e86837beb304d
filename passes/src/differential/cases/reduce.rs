//! Reductions (sum, prod, max, min over any axes, with their identities on
//! empty axes) and dots of every layout, in floats and integers; f32 sums
//! round after every step where the reference accumulates in f64, and half
//! precision ones accumulate in f32.

use crate::differential::{Case, Math, Tol, F32_SUM, N1_N5, N1_N5_N0};
use tessera_ir::tensor::Tensor;
use tessera_ir::DType;

/// Per reduction, `@{op}` over f64 (any axes, keepdims, all or none) and
/// over empty and u8 axes, `@{op}_f32` over 33 rows, `@{op}_f16` over a batch.
pub fn reductions_match_in_order_and_identity(_: Math) -> Vec<Case> {
    let mut cases = Vec::new();
    for op in ["reduce_sum", "reduce_prod", "reduce_max", "reduce_min"] {
        let src = format!(
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
        // f64 sums run in the reference's order: exact. f32 ones round at
        // every step; f16 ones accumulate in f32 and round once (within an f16 ulp).
        let (f32_tol, f16_tol) = match op {
            "reduce_sum" => (F32_SUM, Tol::Close { rtol: 1e-3, atol: 1e-3 }),
            "reduce_prod" => (Tol::Close { rtol: 1e-5, atol: 0.0 }, Tol::Close { rtol: 1e-3, atol: 1e-3 }),
            _ => (Tol::Exact, Tol::Exact),
        };
        cases.push(
            Case::new(format!("reduce/{op}"), src)
                .each(op, N1_N5_N0, Tol::Exact)
                .once(format!("{op}_f32"), f32_tol)
                .each(format!("{op}_f16"), N1_N5_N0, f16_tol),
        );
    }
    cases
}

/// `@f`: 1 + 2^-8 * 256 in bf16, as a sum and a dot (and a max). Adding
/// 2^-8 to 1 rounds back to 1 every time, so a bf16 accumulator would stay
/// at 1; the reference (and f32) reach 2. `@g{n}`: f16 sums and dots over
/// 1, 7 and 33 rows.
pub fn half_precision_sums_accumulate_in_f32(_: Math) -> Vec<Case> {
    let mut src = "func @f(%x: tensor<257xbf16>, %a: tensor<1x257xbf16>, %b: tensor<257x1xbf16>) -> (tensor<bf16>, tensor<1x1xbf16>, tensor<bf16>) {
  %s = tg.reduce_sum %x {axes = [0]}
  %d = tg.dot %a, %b {lhs_contract = [1], rhs_contract = [0]}
  %m = tg.reduce_max %x {axes = [0]}
  tg.return %s, %d, %m
}
"
    .to_string();
    let rows = [1, 7, 33];
    for n in rows {
        src += &format!("func @g{n}(%x: tensor<{n}x17xf16>, %y: tensor<17x3xf16>) -> (tensor<17xf16>, tensor<{n}x3xf16>) {{\n  %s = tg.reduce_sum %x {{axes = [0]}}\n  %d = tg.dot %x, %y {{lhs_contract = [1], rhs_contract = [0]}}\n  tg.return %s, %d\n}}\n");
    }
    let mut x = vec![0.00390625; 257];
    x[0] = 1.0;
    let t = |shape: Vec<usize>| Tensor::from_f64(DType::BF16, shape, x.clone()).unwrap();
    let ones = Tensor::from_f64(DType::BF16, vec![257, 1], vec![1.0; 257]).unwrap();
    let inputs = vec![t(vec![257]), t(vec![1, 257]), ones];
    let outputs = Some(vec![vec![2.0], vec![2.0], vec![1.0]]);
    let case = Case::new("reduce/half_sums", src).given("f", "bf16 sums", inputs, outputs, Tol::Exact);
    vec![rows.iter().fold(case, |case, n| case.once(format!("g{n}"), Tol::Close { rtol: 1e-3, atol: 1e-3 }))]
}

/// `sum(exp(x * y))` along rows: one nest.
pub fn reductions_fuse_their_producers(_: Math) -> Vec<Case> {
    let src = "func @f(%x: tensor<N x 17 x f32>, %y: tensor<N x 17 x f32>) -> tensor<N x f32> {
  %p = tg.mul %x, %y
  %e = tg.exp %p
  %s = tg.reduce_sum %e {axes = [1]}
  tg.return %s
}";
    vec![Case::new("reduce/fused", src).each("f", N1_N5, F32_SUM)]
}

/// Dots of every layout (`@f`: transposed, batched, several contracting
/// axes; `@g` integers and empty contractions; `@h` f16; `@epilogue`
/// computed operand and fused bias and relu), and dots whose operands are
/// read in place through strides, copied, or computed once.
pub fn dots_of_every_layout(math: Math) -> Vec<Case> {
    let layouts = "func @f(%a: tensor<7x17xf32>, %b: tensor<17x3xf32>, %bt: tensor<3x17xf32>, %p: tensor<2x N x 5xf32>, %q: tensor<2x5x4xf32>, %m: tensor<3x5x7xf32>, %n: tensor<5x7xf32>) -> (tensor<7x3xf32>, tensor<7x3xf32>, tensor<2x N x 4 x f32>, tensor<3xf32>, tensor<4x2 x N x f32>) {
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
    // Single-axis groups are always strided views (`@strided`, `@transposed`);
    // contracting axes listed out of order are not, and that operand is
    // copied (both in `@strided`'s `%2`); exp(a) is read by every column of
    // `@computed`: computed once.
    let operands = "func @strided(%a: tensor<5x2x7xf32>, %b: tensor<2x7x3xf32>, %c: tensor<7x2x3xf32>, %m: tensor<4x3x5xf64>, %n: tensor<3x5x6xf64>) -> (tensor<2x5x3xf32>, tensor<2x5x3xf32>, tensor<4x6xf64>) {
  %0 = tg.dot %a, %b {lhs_batch = [1], rhs_batch = [0], lhs_contract = [2], rhs_contract = [1]}
  %1 = tg.dot %a, %c {lhs_batch = [1], rhs_batch = [1], lhs_contract = [2], rhs_contract = [0]}
  %2 = tg.dot %m, %n {lhs_contract = [2, 1], rhs_contract = [1, 0]}
  tg.return %0, %1, %2
}
func @transposed(%x: tensor<7x5xf64>, %y: tensor<3x5xf64>) -> (tensor<5xf64>, tensor<7x3xf64>) {
  %t = tg.transpose %x {perm = [1, 0]}
  %s = tg.reduce_sum %t {axes = [1]}
  %yt = tg.transpose %y {perm = [1, 0]}
  %d = tg.dot %x, %yt {lhs_contract = [1], rhs_contract = [0]}
  tg.return %s, %d
}
func @computed(%a: tensor<7x5xf64>, %b: tensor<5x3xf64>) -> tensor<7x3xf64> {
  %e = tg.exp %a
  %d = tg.dot %e, %b {lhs_contract = [1], rhs_contract = [0]}
  tg.return %d
}";
    let f64_dot = Tol::Close { rtol: 1e-12, atol: 1e-12 };
    vec![
        Case::new("reduce/dot_layouts", layouts)
            .each("f", N1_N5, F32_SUM)
            .once("g", Tol::Exact)
            .once("h", Tol::Close { rtol: 1e-3, atol: 1e-3 })
            .each("epilogue", N1_N5_N0, f64_dot),
        Case::new("reduce/dot_operands", operands)
            .once("strided", Tol::Close { rtol: 1e-5, atol: 1e-5 })
            .once("transposed", math.or_exact(f64_dot))
            .once("computed", f64_dot),
    ]
}
