//! Differential tests of the window ops' lowering (`tg.conv`,
//! `tg.reduce_window`), as in `tests.rs`: every padding (growing, cropping,
//! windows wholly in the padding), stride, dilation, input dilation and
//! grouping, in 1 to 3 spatial dims, f32, f64, f16 and integers, with a
//! symbolic batch bound to 1, 5 and 0.

use super::tests::{check, check_each};
use crate::differential::{Tol, F32_SUM, N1_N5_N0};
use crate::testing::count_named;

/// f16 results: accumulated in f32 where the reference uses f64, both rounded once.
const F16: Tol = Tol::Close { rtol: 2e-3, atol: 2e-3 };

#[test]
fn convolutions_of_every_geometry() {
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
}";
    for name in ["conv2d", "strided"] {
        check_each(src, name, N1_N5_N0, F32_SUM);
    }
    for name in ["grouped", "conv3d", "transposed", "tiny", "no_channels"] {
        check(src, name, &[], F32_SUM);
    }
}

#[test]
fn convolutions_in_f64_and_integers_match_exactly() {
    let src =
        "func @depthwise(%x: tensor<N x 3 x 7 x 7 x f64>, %w: tensor<3x1x3x3xf64>) -> tensor<N x 3 x 7 x 7 x f64> {
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
}";
    check_each(src, "depthwise", N1_N5_N0, Tol::Exact);
    check(src, "conv1d", &[], Tol::Exact);
    check(src, "crop", &[], Tol::Exact);
    let half = check(src, "half", &[], F16);
    assert_eq!(count_named(&half, "k.cast"), 3, "each operand widened, the sum narrowed");
}

#[test]
fn convolutions_materialise_computed_operands_and_fuse_remaps() {
    // exp(x) is read once per tap: computed once; the transposed weight is read in place.
    let src = "func @f(%x: tensor<1x2x5x5xf64>, %wt: tensor<3x3x2x4xf64>) -> tensor<1x4x3x3xf64> {
  %e = tg.exp %x
  %w = tg.transpose %wt {perm = [3, 2, 0, 1]}
  %y = tg.conv %e, %w
  tg.return %y
}";
    let f = check(src, "f", &[], Tol::Exact);
    assert_eq!(count_named(&f, "k.alloc"), 1);
}

#[test]
fn pooling_of_every_kind_and_padding() {
    let src = "func @maxpool(%x: tensor<N x 3 x 7 x 7 x f32>) -> tensor<N x 3 x 4 x 4 x f32> {
  %y = tg.reduce_window %x {kind = \"max\", window = [1, 1, 3, 3], strides = [1, 1, 2, 2], pad_low = [0, 0, 1, 1], pad_high = [0, 0, 1, 1]}
  tg.return %y
}
func @sumpool(%x: tensor<N x 2 x 17 x f32>) -> tensor<N x 2 x 17 x f32> {
  %y = tg.reduce_window %x {kind = \"sum\", window = [1, 1, 3], pad_low = [0, 0, 1], pad_high = [0, 0, 1]}
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
}";
    check_each(src, "maxpool", N1_N5_N0, Tol::Exact);
    check_each(src, "sumpool", N1_N5_N0, F32_SUM);
    check(src, "dilated", &[], Tol::Exact);
    check(src, "global", &[], Tol::Close { rtol: 1e-12, atol: 1e-12 });
    check(src, "in_padding", &[], Tol::Exact);
    check(src, "first_axis", &[], Tol::Exact);
    check(src, "half", &[], F16);
}

#[test]
fn average_pooling_is_a_sum_and_a_division() {
    let src = "func @f(%x: tensor<N x 3 x 7 x 7 x f32>) -> tensor<N x 3 x 3 x 3 x f32> {
  %r = tg.max %x, %x
  %s = tg.reduce_window %r {kind = \"sum\", window = [1, 1, 2, 2], strides = [1, 1, 2, 2]}
  %n = tg.constant {value = dense<4.0> : tensor<f32>}
  %a = tg.div %s, %n
  tg.return %a
}";
    let f = check_each(src, "f", N1_N5_N0, F32_SUM);
    assert_eq!(count_named(&f, "k.alloc"), 2, "the pooled operand and the sums are materialised");
}
