//! The ops that move elements without computing any: `broadcast_to`,
//! `transpose`, `reshape`, `slice`, `reverse`, `concat`, `pad` in every
//! mode, and `shape_of`, over static, symbolic and empty shapes.

use crate::differential::{Case, Math, Tol, N1_N5, N1_N5_N0};

/// Every kind of broadcast: a new leading axis, a scalar, size-1 axes, a symbolic one.
pub fn broadcast_to_in_every_position(_: Math) -> Vec<Case> {
    let src = "func @f(%a: tensor<3x1xf32>, %b: tensor<f32>, %c: tensor<1x1x7xf32>, %d: tensor<N x 1 x f32>) -> (tensor<5x3x7xf32>, tensor<2x3xf32>, tensor<4x3x7xf32>, tensor<N x 7 x f32>) {
  %0 = tg.broadcast_to %a {shape = [5, 3, 7]}
  %1 = tg.broadcast_to %b {shape = [2, 3]}
  %2 = tg.broadcast_to %c {shape = [4, 3, 7]}
  %3 = tg.broadcast_to %d {shape = [N, 7]}
  tg.return %0, %1, %2, %3
}";
    vec![Case::new("layout/broadcast_to", src).each("f", N1_N5, Tol::Exact)]
}

/// The permutations of 3 axes.
const PERMS: [[usize; 3]; 6] = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];

/// `@t{k}` transposes `3 x N x 7` by `PERMS[k]`, returning the transpose
/// and its negation (which reads it in place).
pub fn transposes_of_every_permutation(_: Math) -> Vec<Case> {
    let mut src = String::new();
    for (k, p) in PERMS.iter().enumerate() {
        let dims = ["3", "N", "7"];
        let out = p.map(|i| dims[i]).join(" x ");
        src += &format!(
            "func @t{k}(%x: tensor<3 x N x 7 x f32>) -> (tensor<{out} x f32>, tensor<{out} x f32>) {{\n  %t = tg.transpose %x {{perm = {p:?}}}\n  %u = tg.transpose %x {{perm = {p:?}}}\n  %n = tg.neg %u\n  tg.return %t, %n\n}}\n"
        );
    }
    let case = Case::new("layout/transposes", src);
    vec![(0..PERMS.len()).fold(case, |case, k| case.each(format!("t{k}"), N1_N5, Tol::Exact))]
}

/// Reshapes that flatten, split and squeeze (one through a transpose), and
/// of an empty tensor.
pub fn reshapes_flatten_split_and_squeeze(_: Math) -> Vec<Case> {
    let src = "func @f(%x: tensor<3x4xf32>, %y: tensor<N x 6 x i32>, %z: tensor<N x 1 x 7 x f32>) -> (tensor<2x6xf32>, tensor<N x 2 x 3 x i32>, tensor<6 x N x i32>, tensor<1 x N x 7 x 1 x f32>, tensor<12xf32>) {
  %a = tg.reshape %x {shape = [2, 6]}
  %b = tg.reshape %y {shape = [N, 2, 3]}
  %c = tg.reshape %y {shape = [6, N]}
  %d = tg.reshape %z {shape = [1, N, 7, 1]}
  %t = tg.transpose %x {perm = [1, 0]}
  %e = tg.reshape %t {shape = [12]}
  tg.return %a, %b, %c, %d, %e
}
func @empty(%x: tensor<0x4xf32>) -> tensor<2x0x2xf32> {
  %a = tg.reshape %x {shape = [2, 0, 2]}
  tg.return %a
}";
    vec![Case::new("layout/reshapes", src).each("f", N1_N5, Tol::Exact).once("empty", Tol::Exact)]
}

/// Slices with negative, clamped, reversed and strided bounds, and empty results.
pub fn slices_with_negative_and_strided_bounds(_: Math) -> Vec<Case> {
    let src = "func @f(%x: tensor<17x7xf32>, %y: tensor<N x 5 x f32>) -> (tensor<5x7xf32>, tensor<17x3xf32>, tensor<4x2xf32>, tensor<N - 1 x 5 x f32>, tensor<0x7xf32>, tensor<17x7xf32>) {
  %a = tg.slice %x {starts = [2], ends = [7]}
  %b = tg.slice %x {starts = [-3], ends = [100], axes = [1]}
  %c = tg.slice %x {starts = [16, 6], ends = [3, -100], steps = [-4, -4]}
  %d = tg.slice %y {starts = [1], ends = [9223372036854775807]}
  %e = tg.slice %x {starts = [5], ends = [2]}
  %g = tg.slice %x {starts = [-100], ends = [100], axes = [0], steps = [1]}
  tg.return %a, %b, %c, %d, %e, %g
}";
    vec![Case::new("layout/slices", src).each("f", &[&[("N", 1)], &[("N", 5)], &[("N", 3)]], Tol::Exact)]
}

/// Reverses along one axis, two, none, and of an empty tensor.
pub fn reverses_along_any_axes(_: Math) -> Vec<Case> {
    let src = "func @f(%x: tensor<3 x N x 7 x i32>) -> (tensor<3 x N x 7 x i32>, tensor<3 x N x 7 x i32>, tensor<3 x N x 7 x i32>) {
  %a = tg.reverse %x {axes = [1]}
  %b = tg.reverse %x {axes = [0, -1]}
  %c = tg.reverse %x {axes = []}
  tg.return %a, %b, %c
}
func @empty(%x: tensor<0x3xf32>) -> tensor<0x3xf32> {
  %a = tg.reverse %x {axes = [0, 1]}
  tg.return %a
}";
    vec![Case::new("layout/reverses", src).each("f", N1_N5_N0, Tol::Exact).once("empty", Tol::Exact)]
}

/// Concatenations along every axis (one of an empty piece, one of a
/// computed piece along a symbolic axis).
pub fn concat_along_every_axis(_: Math) -> Vec<Case> {
    let src = "func @f(%a: tensor<3x N x 2 x f32>, %b: tensor<3 x N x 0 x f32>, %c: tensor<3 x N x 5 x f32>, %d: tensor<1 x N x 2 x f32>) -> (tensor<3 x N x 7 x f32>, tensor<4 x N x 2 x f32>, tensor<3 x 2*N x 2 x f32>) {
  %x = tg.concat %a, %b, %c {axis = 2}
  %y = tg.concat %a, %d {axis = 0}
  %na = tg.neg %a
  %z = tg.concat %a, %na {axis = -2}
  tg.return %x, %y, %z
}";
    vec![Case::new("layout/concat", src).each("f", N1_N5, Tol::Exact)]
}

/// Constant, reflect and edge pads that grow, crop, or both, of floats and
/// integers with a symbolic batch.
pub fn pads_grow_and_crop(_: Math) -> Vec<Case> {
    let constant = "func @f(%x: tensor<3x7xf32>, %v: tensor<f32>, %y: tensor<N x 4 x i32>) -> (tensor<6x8xf32>, tensor<1x9xf32>, tensor<N + 1 x 2 x i32>, tensor<3x7xf32>) {
  %a = tg.pad %x, %v {low = [1, 0], high = [2, 1]}
  %b = tg.pad %x, %v {low = [-1, 2], high = [-1, 0], mode = \"constant\"}
  %k = tg.constant {value = dense<-5> : tensor<i32>}
  %c = tg.pad %y, %k {low = [1, -2], high = [0, 0]}
  %d = tg.pad %x, %v {low = [0, 0], high = [0, 0]}
  tg.return %a, %b, %c, %d
}";
    let mut cases = vec![Case::new("layout/pad_constant", constant).each("f", N1_N5, Tol::Exact)];
    for mode in ["reflect", "edge"] {
        let src = format!(
            "func @f(%x: tensor<3x7xf32>, %v: tensor<f32>, %y: tensor<N x 4 x i32>, %k: tensor<i32>) -> (tensor<7x11xf32>, tensor<3x6xf32>, tensor<N x 5 x i32>, tensor<3x7xf32>) {{
  %a = tg.pad %x, %v {{low = [2, 1], high = [2, 3], mode = \"{mode}\"}}
  %b = tg.pad %x, %v {{low = [0, -2], high = [0, 1], mode = \"{mode}\"}}
  %c = tg.pad %y, %k {{low = [0, -1], high = [0, 2], mode = \"{mode}\"}}
  %d = tg.pad %x, %v {{low = [0, 0], high = [0, 0], mode = \"{mode}\"}}
  tg.return %a, %b, %c, %d
}}"
        );
        cases.push(Case::new(format!("layout/pad_{mode}"), src).each("f", N1_N5, Tol::Exact));
    }
    cases
}

/// `tg.shape_of` of a computed value with a symbolic dim, of a scalar, and
/// of a broadcast: no element is computed.
pub fn shapes_of_static_symbolic_and_fused_values(_: Math) -> Vec<Case> {
    let src = "func @f(%x: tensor<N x 3 x f32>, %s: tensor<f32>) -> (tensor<2xi64>, tensor<0xi64>, tensor<3xi64>) {
  %e = tg.exp %x
  %a = tg.shape_of %e
  %b = tg.shape_of %s
  %t = tg.broadcast_to %x {shape = [2, N, 3]}
  %c = tg.shape_of %t
  tg.return %a, %b, %c
}";
    vec![Case::new("layout/shape_of", src).each("f", N1_N5_N0, Tol::Exact)]
}
