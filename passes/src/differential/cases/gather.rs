//! Gathers (along an axis, of elements, of index tuples) and scatters (of
//! elements and of tuples, with every reduction), in floats and integers.
//! Index tensors come in as random integers reduced with `tg.rem` by the
//! addressed axis's size, so they are in range and negative about half the
//! time; duplicates make the scatters' order and reductions matter.

use crate::differential::{Case, Math, Tol, N1_N5};

/// A gather (`@g`) and a scatter (`@s`) whose indices come in unreduced,
/// for each runtime's test of indices out of range (which it reports in
/// its own way).
pub const OUT_OF_RANGE: &str = "func @g(%x: tensor<N x 3 x f32>, %i: tensor<2xi64>) -> tensor<N x 2 x f32> {
  %y = tg.gather %x, %i {axis = 1}
  tg.return %y
}
func @s(%x: tensor<N x 3 x f32>, %i: tensor<1x1xi64>, %u: tensor<1x3xf32>) -> tensor<N x 3 x f32> {
  %y = tg.scatter_nd %x, %i, %u
  tg.return %y
}";

/// Gathers along inner, last and symbolic axes, by a scalar index, by no
/// indices, fused with a transpose and a neg (`@fused`), of elements and
/// of index tuples (with a batch).
pub fn gathers_along_any_axis_of_elements_and_tuples(_: Math) -> Vec<Case> {
    let src = "func @inner(%x: tensor<N x 7 x 3 x f32>, %r: tensor<5xi32>) -> tensor<N x 5 x 3 x f32> {
  %n = tg.constant {value = dense<7> : tensor<i32>}
  %i = tg.rem %r, %n
  %y = tg.gather %x, %i {axis = 1}
  tg.return %y
}
func @scalar_index(%x: tensor<3x17xi8>, %r: tensor<i64>) -> tensor<3xi8> {
  %n = tg.constant {value = dense<17> : tensor<i64>}
  %i = tg.rem %r, %n
  %y = tg.gather %x, %i {axis = 1}
  tg.return %y
}
func @last(%x: tensor<4x3xf64>, %r: tensor<2x2xi32>) -> tensor<4x2x2xf64> {
  %n = tg.constant {value = dense<3> : tensor<i32>}
  %i = tg.rem %r, %n
  %y = tg.gather %x, %i {axis = -1}
  tg.return %y
}
func @no_indices(%x: tensor<5x3xf32>, %i: tensor<0xi64>) -> tensor<0x3xf32> {
  %y = tg.gather %x, %i {axis = 0}
  tg.return %y
}
func @symbolic_axis(%x: tensor<N x 3 x u8>) -> tensor<3x3xu8> {
  %i = tg.constant {value = dense<[0, -1, 0]> : tensor<3xi64>}
  %y = tg.gather %x, %i {axis = 0}
  tg.return %y
}
func @fused(%x: tensor<7x3xf32>, %r: tensor<N x 2 x i64>) -> tensor<N x 2 x 3 x f32> {
  %n = tg.constant {value = dense<7> : tensor<i64>}
  %i = tg.rem %r, %n
  %e = tg.transpose %x {perm = [0, 1]}
  %y = tg.gather %e, %i {axis = 0}
  %z = tg.neg %y
  tg.return %z
}
func @elements(%x: tensor<N x 7 x f32>, %r: tensor<N x 5 x i64>) -> tensor<N x 5 x f32> {
  %n = tg.constant {value = dense<7> : tensor<i64>}
  %i = tg.rem %r, %n
  %y = tg.gather_elements %x, %i {axis = 1}
  tg.return %y
}
func @elements0(%x: tensor<3x4xi32>, %r: tensor<2x4xi64>) -> tensor<2x4xi32> {
  %n = tg.constant {value = dense<3> : tensor<i64>}
  %i = tg.rem %r, %n
  %y = tg.gather_elements %x, %i {axis = 0}
  tg.return %y
}
func @elements3(%x: tensor<3x5x7xf64>, %r: tensor<2x5x3xi32>) -> tensor<2x5x3xf64> {
  %n = tg.constant {value = dense<5> : tensor<i32>}
  %i = tg.rem %r, %n
  %y = tg.gather_elements %x, %i {axis = 1}
  tg.return %y
}
func @nd(%x: tensor<5x7x3xf32>, %r: tensor<4x2xi64>) -> tensor<4x3xf32> {
  %n = tg.constant {value = dense<5> : tensor<i64>}
  %i = tg.rem %r, %n
  %y = tg.gather_nd %x, %i
  tg.return %y
}
func @nd_batch(%x: tensor<N x 7 x 3 x f32>, %r: tensor<N x 2 x 1 x i64>) -> tensor<N x 2 x 3 x f32> {
  %n = tg.constant {value = dense<7> : tensor<i64>}
  %i = tg.rem %r, %n
  %y = tg.gather_nd %x, %i {batch_dims = 1}
  tg.return %y
}
func @nd_full(%x: tensor<3x4xi32>, %r: tensor<5x2xi64>) -> tensor<5xi32> {
  %n = tg.constant {value = dense<3> : tensor<i64>}
  %i = tg.rem %r, %n
  %y = tg.gather_nd %x, %i
  tg.return %y
}";
    let case = ["inner", "symbolic_axis", "fused", "elements", "nd_batch"]
        .into_iter()
        .fold(Case::new("gather/gathers", src), |case, name| case.each(name, N1_N5, Tol::Exact));
    let case = ["scalar_index", "last", "no_indices", "elements0", "elements3", "nd", "nd_full"]
        .into_iter()
        .fold(case, |case, name| case.once(name, Tol::Exact));
    vec![case]
}

/// Per reduction (none, add, mul, max, min), scatters of elements along a
/// symbolic axis and of rows, and scatters of tuples (rows, elements, into
/// a symbolic axis), applied in order.
pub fn scatters_with_every_reduction_in_order(_: Math) -> Vec<Case> {
    let mut cases = Vec::new();
    for reduction in ["none", "add", "mul", "max", "min"] {
        let src = format!(
            "func @elements(%x: tensor<N x 7 x f64>, %r: tensor<N x 3 x i64>, %u: tensor<N x 3 x f64>) -> tensor<N x 7 x f64> {{
  %n = tg.constant {{value = dense<7> : tensor<i64>}}
  %i = tg.rem %r, %n
  %y = tg.scatter %x, %i, %u {{axis = 1, reduction = \"{reduction}\"}}
  tg.return %y
}}
func @rows(%x: tensor<5x3xi32>, %r: tensor<4x3xi64>, %u: tensor<4x3xi32>) -> tensor<5x3xi32> {{
  %n = tg.constant {{value = dense<5> : tensor<i64>}}
  %i = tg.rem %r, %n
  %y = tg.scatter %x, %i, %u {{axis = 0, reduction = \"{reduction}\"}}
  tg.return %y
}}
func @nd(%x: tensor<5x7xf32>, %r: tensor<4x1xi64>, %u: tensor<4x7xf32>) -> tensor<5x7xf32> {{
  %n = tg.constant {{value = dense<5> : tensor<i64>}}
  %i = tg.rem %r, %n
  %y = tg.scatter_nd %x, %i, %u {{reduction = \"{reduction}\"}}
  tg.return %y
}}
func @nd_full(%x: tensor<5x7xf64>, %r: tensor<6x2xi64>, %u: tensor<6xf64>) -> tensor<5x7xf64> {{
  %n = tg.constant {{value = dense<5> : tensor<i64>}}
  %i = tg.rem %r, %n
  %y = tg.scatter_nd %x, %i, %u {{reduction = \"{reduction}\"}}
  tg.return %y
}}
func @nd_symbolic(%x: tensor<3 x N x i32>, %r: tensor<2x1xi64>, %u: tensor<2 x N x i32>) -> tensor<3 x N x i32> {{
  %n = tg.constant {{value = dense<3> : tensor<i64>}}
  %i = tg.rem %r, %n
  %y = tg.scatter_nd %x, %i, %u {{reduction = \"{reduction}\"}}
  tg.return %y
}}"
        );
        cases.push(
            Case::new(format!("gather/scatter_{reduction}"), src)
                .each("elements", N1_N5, Tol::Exact)
                .each("nd_symbolic", N1_N5, Tol::Exact)
                .once("rows", Tol::Exact)
                .once("nd_full", Tol::Exact)
                // Combined in f32 at each step, where the reference combines in f64 and rounds once.
                .once("nd", Tol::Close { rtol: 1e-6, atol: 0.0 }),
        );
    }
    cases
}
