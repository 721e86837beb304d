//! Walks along one axis (`tg.argmax`, `tg.argmin`, `tg.cumsum`,
//! `tg.cumprod`, `tg.sort`, `tg.topk`): every axis, `keepdims`,
//! `select_last_index`, `exclusive`, `reverse`, `descending`, `largest`,
//! `k` from 0 to the axis, ties (small integers repeat), NaN, f32, f64, f16
//! and integers, a symbolic batch.

use crate::differential::{Case, Math, Tol, F32_SUM, N1_N5, N1_N5_N0};
use tessera_ir::tensor::Tensor;
use tessera_ir::DType;

/// argmax and argmin along every axis (with and without `keepdims` and
/// `select_last_index`) of f32, i8, u8 and f16; and on NaN and infinities
/// (NaN is the extreme either way).
pub fn arg_reductions_along_every_axis_with_ties(_: Math) -> Vec<Case> {
    let mut cases = Vec::new();
    for op in ["argmax", "argmin"] {
        let src = format!(
            "func @f(%x: tensor<N x 7 x 3 x f32>, %i: tensor<3 x 17 x i8>, %u: tensor<5xu8>, %h: tensor<2x3xf16>) -> (tensor<7 x 3 x i64>, tensor<N x 1 x 3 x i64>, tensor<N x 7 x i64>, tensor<3 x i64>, tensor<3x1xi64>, tensor<i64>, tensor<1xi64>, tensor<2xi64>) {{
  %a = tg.{op} %x {{axis = 0}}
  %b = tg.{op} %x {{axis = 1, keepdims = true}}
  %c = tg.{op} %x {{axis = -1, select_last_index = true}}
  %d = tg.{op} %i {{axis = 1}}
  %e = tg.{op} %i {{axis = 1, keepdims = true, select_last_index = true}}
  %f = tg.{op} %u {{axis = 0}}
  %g = tg.{op} %u {{axis = 0, keepdims = true, select_last_index = true}}
  %k = tg.{op} %h {{axis = 1}}
  tg.return %a, %b, %c, %d, %e, %f, %g, %k
}}"
        );
        cases.push(Case::new(format!("scan/{op}"), src).each("f", N1_N5, Tol::Exact));
    }
    let nan = "func @f(%x: tensor<2x4xf64>) -> (tensor<2xi64>, tensor<2xi64>, tensor<2xi64>, tensor<2xi64>) {
  %a = tg.argmax %x {axis = 1}
  %b = tg.argmin %x {axis = 1}
  %c = tg.argmax %x {axis = 1, select_last_index = true}
  %d = tg.argmin %x {axis = 1, select_last_index = true}
  tg.return %a, %b, %c, %d
}";
    let (nan_, inf) = (f64::NAN, f64::INFINITY);
    let x = Tensor::from_f64(DType::F64, vec![2, 4], vec![1.0, nan_, 3.0, nan_, -inf, 2.0, -inf, inf]).unwrap();
    let outputs = vec![vec![1.0, 3.0], vec![1.0, 0.0], vec![3.0, 3.0], vec![3.0, 2.0]];
    cases.push(Case::new("scan/arg_nan", nan).given("f", "NaN and infinities", vec![x], Some(outputs), Tol::Exact));
    cases
}

/// cumsum and cumprod, exclusive and reversed, along every axis of f64,
/// i32 and empty tensors (`@f`), and of 33 f32 rows and f16 (`@g`).
pub fn running_reductions_in_every_direction(_: Math) -> Vec<Case> {
    let mut cases = Vec::new();
    for op in ["cumsum", "cumprod"] {
        let src = format!(
            "func @f(%x: tensor<N x 7 x f64>, %i: tensor<3 x 17 x i32>, %e: tensor<0x3xi64>) -> (tensor<N x 7 x f64>, tensor<N x 7 x f64>, tensor<N x 7 x f64>, tensor<N x 7 x f64>, tensor<3x17xi32>, tensor<3x17xi32>, tensor<0x3xi64>) {{
  %a = tg.{op} %x {{axis = 1}}
  %b = tg.{op} %x {{axis = 1, exclusive = true}}
  %c = tg.{op} %x {{axis = 1, reverse = true}}
  %d = tg.{op} %x {{axis = 0, exclusive = true, reverse = true}}
  %f = tg.{op} %i {{axis = 0, reverse = true}}
  %g = tg.{op} %i {{axis = -1, exclusive = true}}
  %h = tg.{op} %e {{axis = 0}}
  tg.return %a, %b, %c, %d, %f, %g, %h
}}
func @g(%x: tensor<33x3xf32>, %h: tensor<7xf16>) -> (tensor<33x3xf32>, tensor<7xf16>) {{
  %a = tg.{op} %x {{axis = 0, reverse = true}}
  %b = tg.{op} %h {{axis = 0}}
  tg.return %a, %b
}}"
        );
        let tol = if op == "cumsum" { F32_SUM } else { Tol::Close { rtol: 1e-5, atol: 1e-30 } };
        cases.push(Case::new(format!("scan/{op}"), src).each("f", N1_N5_N0, Tol::Exact).once("g", tol));
    }
    cases
}

/// Sorts and top-k of f32, i8 and u8 in either direction along either axis,
/// with `k` from 0 to the axis, stable on ties; and NaN, last ascending and
/// first descending.
pub fn sorts_and_top_k_are_stable_in_either_direction(_: Math) -> Vec<Case> {
    let src = "func @f(%x: tensor<N x 7 x f32>, %i: tensor<3 x 17 x i8>, %u: tensor<5x3xu8>) -> (tensor<N x 7 x f32>, tensor<N x 7 x i64>, tensor<3 x 17 x i8>, tensor<3 x 17 x i64>, tensor<5x3xu8>, tensor<N x 3 x f32>, tensor<N x 3 x i64>, tensor<2x17xi64>, tensor<1x3xu8>, tensor<0x3xi64>) {
  %a, %ai = tg.sort %x
  %b, %bi = tg.sort %i {axis = 1, descending = true}
  %c, %ci = tg.sort %u {axis = 0}
  %d, %di = tg.topk %x {k = 3}
  %e, %ei = tg.topk %i {k = 2, axis = 0, largest = false}
  %g, %gi = tg.topk %u {k = 1, axis = -2}
  %h, %hi = tg.topk %u {k = 0, axis = 0}
  tg.return %a, %ai, %b, %bi, %c, %d, %di, %ei, %g, %hi
}";
    let nan = "func @f(%x: tensor<6xf64>) -> (tensor<6xi64>, tensor<6xi64>, tensor<2xi64>) {
  %a, %ai = tg.sort %x
  %b, %bi = tg.sort %x {descending = true}
  %c, %ci = tg.topk %x {k = 2, largest = false}
  tg.return %ai, %bi, %ci
}";
    let x = Tensor::from_f64(DType::F64, vec![6], vec![2.0, f64::NAN, -1.0, 2.0, f64::NAN, f64::NEG_INFINITY]).unwrap();
    let outputs = vec![vec![5.0, 2.0, 0.0, 3.0, 1.0, 4.0], vec![1.0, 4.0, 0.0, 3.0, 2.0, 5.0], vec![5.0, 2.0]];
    vec![
        Case::new("scan/sorts", src).each("f", N1_N5, Tol::Exact),
        Case::new("scan/sort_nan", nan).given("f", "NaN and infinities", vec![x], Some(outputs), Tol::Exact),
    ]
}
