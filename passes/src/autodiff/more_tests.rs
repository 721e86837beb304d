//! Finite-difference checks of the rules for the ops' less common modes:
//! running products (with zeros), reflect and edge padding, input-dilated
//! convolutions, batched `gather_nd`, and scatters that multiply or keep
//! the extremum.

use super::tests::{check, ints, uniform, Rng};
use tessera_ir::tensor::Tensor;
use tessera_ir::DType;

/// `x` with the elements at `at` set to zero.
fn with_zeros(x: Tensor, at: &[usize]) -> Tensor {
    let mut v = x.to_f64s();
    for &i in at {
        v[i] = 0.0;
    }
    Tensor::from_f64(DType::F64, x.shape().to_vec(), v).unwrap()
}

#[test]
fn cumprod_in_every_direction_with_zeros() {
    let mut rng = Rng(81);
    for (ex, rev) in [("false", "false"), ("true", "false"), ("false", "true"), ("true", "true")] {
        let src = format!(
            "func @f(%x: tensor<N x 4 x 2 x f64>) -> tensor<N x 4 x 2 x f64> {{\n  %y = tg.cumprod %x {{axis = 1, exclusive = {ex}, reverse = {rev}}}\n  tg.return %y\n}}\n"
        );
        // One zero in a lane, two in another, none in the rest.
        let x = with_zeros(uniform(&mut rng, &[2, 4, 2], -1.5, 1.5), &[2, 9, 13]);
        check(&src, vec![x], &[0]);
    }
    let src = "func @f(%x: tensor<M x f64>) -> tensor<M x f64> {\n  %y = tg.cumprod %x {axis = 0}\n  tg.return %y\n}\n";
    check(src, vec![with_zeros(uniform(&mut rng, &[5], -1.5, 1.5), &[0])], &[0]);
}

#[test]
fn pad_reflect_and_edge() {
    let mut rng = Rng(82);
    for mode in ["reflect", "edge"] {
        let src = format!(
            "func @f(%x: tensor<N x 4 x 5 x f64>, %v: tensor<f64>) -> tensor<N x ? x ? x f64> {{\n  %y = tg.pad %x, %v {{low = [0, 2, -1], high = [0, 3, 2], mode = \"{mode}\"}}\n  tg.return %y\n}}\n"
        );
        let src = if mode == "reflect" { src.replace("high = [0, 3, 2]", "high = [0, 3, 1]") } else { src };
        check(&src, vec![uniform(&mut rng, &[2, 4, 5], -1.0, 1.0), uniform(&mut rng, &[], -1.0, 1.0)], &[0, 1]);
    }
}

#[test]
fn conv_with_input_dilation() {
    let mut rng = Rng(83);
    let src = "func @f(%x: tensor<N x 4 x 4 x 3 x f64>, %w: tensor<2 x 2 x 3 x 2 x f64>) -> tensor<N x 2 x ? x ? x f64> {
  %y = tg.conv %x, %w {strides = [1, 2], dilations = [2, 1], pad_low = [2, 1], pad_high = [1, 0], lhs_dilation = [2, 3], groups = 2}
  tg.return %y
}
";
    check(src, vec![uniform(&mut rng, &[2, 4, 4, 3], -1.0, 1.0), uniform(&mut rng, &[2, 2, 3, 2], -1.0, 1.0)], &[0, 1]);
}

#[test]
fn gather_nd_with_batch_dims() {
    let mut rng = Rng(84);
    let src = "func @f(%x: tensor<N x 3 x 4 x 2 x f64>, %i: tensor<N x 3 x 5 x 1 x i64>) -> tensor<N x 3 x 5 x 2 x f64> {
  %y = tg.gather_nd %x, %i {batch_dims = 2}
  tg.return %y
}
";
    let idx: Vec<i64> = (0..30).map(|k| [0, 3, -1, 1, 2, 3][k % 6]).collect();
    check(src, vec![uniform(&mut rng, &[2, 3, 4, 2], -1.0, 1.0), ints(&[2, 3, 5, 1], &idx)], &[0]);
    let src = "func @f(%x: tensor<2 x 3 x 4 x f64>, %i: tensor<2 x 2 x 2 x i64>) -> tensor<2 x 2 x f64> {
  %y = tg.gather_nd %x, %i {batch_dims = 1}
  tg.return %y
}
";
    check(src, vec![uniform(&mut rng, &[2, 3, 4], -1.0, 1.0), ints(&[2, 2, 2], &[0, 1, 2, 3, 1, 1, 1, 1])], &[0]);
}

#[test]
fn scatters_that_multiply_or_keep_the_extremum() {
    let mut rng = Rng(85);
    for reduction in ["mul", "max", "min"] {
        let src = format!(
            "func @f(%x: tensor<3 x 4 x f64>, %i: tensor<2 x 4 x i64>, %u: tensor<2 x 4 x f64>) -> tensor<3 x 4 x f64> {{\n  %y = tg.scatter %x, %i, %u {{axis = 0, reduction = \"{reduction}\"}}\n  tg.return %y\n}}\n"
        );
        // Column 0 and 3 get two updates at one target, the others one each.
        let x = uniform(&mut rng, &[3, 4], -1.0, 1.0);
        let u = uniform(&mut rng, &[2, 4], -1.0, 1.0);
        let (x, u) = if reduction == "mul" { (with_zeros(x, &[4, 7]), with_zeros(u, &[7, 1])) } else { (x, u) };
        check(&src, vec![x, ints(&[2, 4], &[0, 2, 1, 2, 0, 0, 2, 2]), u], &[0, 2]);
        let src = format!(
            "func @f(%x: tensor<3 x 4 x f64>, %i: tensor<3 x 1 x i64>, %u: tensor<3 x 4 x f64>) -> tensor<3 x 4 x f64> {{\n  %y = tg.scatter_nd %x, %i, %u {{reduction = \"{reduction}\"}}\n  tg.return %y\n}}\n"
        );
        let x = uniform(&mut rng, &[3, 4], -1.0, 1.0);
        let u = uniform(&mut rng, &[3, 4], -1.0, 1.0);
        let (x, u) = if reduction == "mul" { (with_zeros(x, &[9]), with_zeros(u, &[1, 5])) } else { (x, u) };
        check(&src, vec![x, ints(&[3, 1], &[2, 0, 2]), u], &[0, 2]);
    }
}
