//! Sliding windows (`tg.conv`, `tg.reduce_window`): every padding
//! (growing, cropping, windows wholly in the padding), stride, dilation,
//! input dilation and grouping, in 1 to 3 spatial dims, f32, f64, f16 and
//! integers, with a symbolic batch bound to 1, 5 and 0.

use crate::differential::{Case, Math, Tol, F32_SUM, N1_N5_N0, NONE};

/// f16 results: accumulated in f32 where the reference uses f64, both rounded once.
const F16: Tol = Tol::Close { rtol: 2e-3, atol: 2e-3 };

/// Convolutions of every geometry in f32; depthwise, 1-d and cropping ones
/// in f64 and integers (exact); f16; a fused bias-and-relu epilogue over a
/// transposed weight; a computed input (`@materialised`).
pub fn convolutions_of_every_geometry(math: Math) -> Vec<Case> {
    let src = "func @conv2d(%x: tensor<N x 3 x 7 x 7 x f32>, %w: tensor<5x3x3x3xf32>) -> tensor<N x 5 x 7 x 7 x f32> {
  %y = tg.conv %x, %w {pad_low = [1, 1], pad_high = [1, 1]}
  tg.return %y
}
func @strided(%x: tensor<N x 2 x 7 x 17 x f32>, %w: tensor<4x2x3x3xf32>) -> tensor<N x 4 x 3 x 5 x f32> {
  %y = tg.conv %x, %w {strides = [2, 3], dilations = [2, 1], pad_low = [2, 0], pad_high = [1, -1]}
  tg.return %y
}
func @grouped(%x: tensor<1x4x7x7xf32>, %w: tensor<6x2x3x3xf32>) -> tensor<1x6x5x5xf32> {
  %y = tg.conv %x, %w {groups = 2}
  tg.return %y
}
func @conv3d(%x: tensor<1x1x3x5x7xf32>, %w: tensor<2x1x2x3x1xf32>) -> tensor<1x2x2x3x7xf32> {
  %y = tg.conv %x, %w {strides = [1, 2, 1], pad_low = [0, 1, 0], pad_high = [0, 1, 0]}
  tg.return %y
}
func @transposed(%x: tensor<1x2x3x3xf32>, %w: tensor<1x2x3x3xf32>) -> tensor<1x1x7x2xf32> {
  %y = tg.conv %x, %w {lhs_dilation = [2, 2], pad_low = [2, 1], pad_high = [2, 0], strides = [1, 2]}
  tg.return %y
}
func @tiny(%x: tensor<1x1x1x1xf32>, %w: tensor<1x1x3x3xf32>) -> tensor<1x1x1x1xf32> {
  %y = tg.conv %x, %w {pad_low = [1, 1], pad_high = [1, 1]}
  tg.return %y
}
func @no_channels(%x: tensor<2x0x5x5xf32>, %w: tensor<3x0x3x3xf32>) -> tensor<2x3x3x3xf32> {
  %y = tg.conv %x, %w
  tg.return %y
}
func @depthwise(%x: tensor<N x 3 x 7 x 7 x f64>, %w: tensor<3x1x3x3xf64>) -> tensor<N x 3 x 7 x 7 x f64> {
  %y = tg.conv %x, %w {groups = 3, pad_low = [1, 1], pad_high = [1, 1]}
  tg.return %y
}
func @conv1d(%x: tensor<1x2x17xi32>, %w: tensor<4x2x3xi32>) -> tensor<1x4x6xi32> {
  %y = tg.conv %x, %w {strides = [3], pad_low = [2], pad_high = [1]}
  tg.return %y
}
func @crop(%x: tensor<1x1x7x7xi8>, %w: tensor<3x1x2x2xi8>) -> tensor<1x3x3x4xi8> {
  %y = tg.conv %x, %w {pad_low = [-1, 0], pad_high = [-2, 0], dilations = [1, 3]}
  tg.return %y
}
func @half(%x: tensor<1x3x7x7xf16>, %w: tensor<2x3x3x3xf16>) -> tensor<1x2x7x7xf16> {
  %y = tg.conv %x, %w {pad_low = [1, 1], pad_high = [1, 1]}
  tg.return %y
}
func @epilogue(%x: tensor<N x 2 x 5 x 5 x f32>, %wt: tensor<3x3x2x4xf32>, %b: tensor<4x1x1xf32>) -> tensor<N x 4 x 3 x 3 x f32> {
  %zero = tg.constant {value = dense<0.0> : tensor<f32>}
  %w = tg.transpose %wt {perm = [3, 2, 0, 1]}
  %c = tg.conv %x, %w
  %y = tg.add %c, %b
  %r = tg.max %y, %zero
  tg.return %r
}
func @materialised(%x: tensor<1x2x5x5xf64>, %wt: tensor<3x3x2x4xf64>) -> tensor<1x4x3x3xf64> {
  %e = tg.exp %x
  %w = tg.transpose %wt {perm = [3, 2, 0, 1]}
  %y = tg.conv %e, %w
  tg.return %y
}";
    let f64_sum = math.or_exact(Tol::Close { rtol: 1e-12, atol: 1e-12 });
    let checks: [(&str, _, Tol); 13] = [
        ("conv2d", N1_N5_N0, F32_SUM),
        ("strided", N1_N5_N0, F32_SUM),
        ("grouped", NONE, F32_SUM),
        ("conv3d", NONE, F32_SUM),
        ("transposed", NONE, F32_SUM),
        ("tiny", NONE, F32_SUM),
        ("no_channels", NONE, Tol::Exact),
        ("depthwise", N1_N5_N0, Tol::Exact),
        ("conv1d", NONE, Tol::Exact),
        ("crop", NONE, Tol::Exact),
        ("half", NONE, F16),
        ("epilogue", N1_N5_N0, F32_SUM),
        ("materialised", NONE, f64_sum),
    ];
    vec![checks.into_iter().fold(Case::new("window/conv", src), |case, (name, each, tol)| case.each(name, each, tol))]
}

/// Max, sum, min and average pooling: padded, strided, dilated, global,
/// windows wholly in the padding, along the first axis, in f16; average
/// pooling of a computed value as a sum and a division (`@average`).
pub fn pooling_of_every_kind_and_padding(_: Math) -> Vec<Case> {
    let src = "func @maxpool(%x: tensor<N x 3 x 7 x 7 x f32>) -> tensor<N x 3 x 4 x 4 x f32> {
  %y = tg.reduce_window %x {kind = \"max\", window = [1, 1, 3, 3], strides = [1, 1, 2, 2], pad_low = [0, 0, 1, 1], pad_high = [0, 0, 1, 1]}
  tg.return %y
}
func @sumpool(%x: tensor<N x 2 x 17 x f32>) -> tensor<N x 2 x 17 x f32> {
  %y = tg.reduce_window %x {kind = \"sum\", window = [1, 1, 3], pad_low = [0, 0, 1], pad_high = [0, 0, 1]}
  tg.return %y
}
func @avgpool(%x: tensor<N x 2 x 17 x f32>) -> tensor<N x 2 x 17 x f32> {
  %s = tg.reduce_window %x {kind = \"sum\", window = [1, 1, 3], pad_low = [0, 0, 1], pad_high = [0, 0, 1]}
  %n = tg.constant {value = dense<3.0> : tensor<f32>}
  %y = tg.div %s, %n
  tg.return %y
}
func @dilated(%x: tensor<3x7x17xi32>) -> tensor<3x6x8xi32> {
  %y = tg.reduce_window %x {kind = \"min\", window = [1, 2, 3], strides = [1, 1, 2], dilations = [1, 3, 2], pad_low = [0, 2, -1], pad_high = [0, 0, 3]}
  tg.return %y
}
func @global(%x: tensor<2x5x7x7xf64>) -> tensor<2x5x1x1xf64> {
  %y = tg.reduce_window %x {kind = \"sum\", window = [1, 1, 7, 7]}
  tg.return %y
}
func @in_padding(%x: tensor<1x3xf32>) -> tensor<1x5xf32> {
  %y = tg.reduce_window %x {kind = \"max\", window = [1, 2], pad_low = [0, 3]}
  tg.return %y
}
func @first_axis(%x: tensor<7x3xu8>) -> tensor<3x3xu8> {
  %y = tg.reduce_window %x {kind = \"max\", window = [3, 1], strides = [2, 1]}
  tg.return %y
}
func @half(%x: tensor<7x7xf16>) -> tensor<6x6xf16> {
  %y = tg.reduce_window %x {kind = \"sum\", window = [2, 2]}
  tg.return %y
}
func @average(%x: tensor<N x 3 x 7 x 7 x f32>) -> tensor<N x 3 x 3 x 3 x f32> {
  %r = tg.max %x, %x
  %s = tg.reduce_window %r {kind = \"sum\", window = [1, 1, 2, 2], strides = [1, 1, 2, 2]}
  %n = tg.constant {value = dense<4.0> : tensor<f32>}
  %a = tg.div %s, %n
  tg.return %a
}";
    let checks: [(&str, _, Tol); 9] = [
        ("maxpool", N1_N5_N0, Tol::Exact),
        ("sumpool", N1_N5_N0, F32_SUM),
        ("avgpool", N1_N5_N0, F32_SUM),
        ("dilated", NONE, Tol::Exact),
        ("global", NONE, Tol::Close { rtol: 1e-12, atol: 1e-12 }),
        ("in_padding", NONE, Tol::Exact),
        ("first_axis", NONE, Tol::Exact),
        ("half", NONE, F16),
        ("average", N1_N5_N0, F32_SUM),
    ];
    vec![checks.into_iter().fold(Case::new("window/pool", src), |case, (name, each, tol)| case.each(name, each, tol))]
}
