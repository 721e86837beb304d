//! Interpreter-level tests of the element-moving and contracting ops:
//! whole functions parsed from text, with symbolic batch dims, `?` result
//! dims resolved at run time, parameters, and index errors reported at the
//! op that failed.

use crate::testing::{f32s, run, verified};
use crate::Evaluator;
use tessera_ir::tensor::{Data, Tensor};
use tessera_ir::DType;

fn i64s(shape: &[usize], values: &[i64]) -> Tensor {
    Tensor::new(DType::I64, shape.to_vec(), Data::Int(values.to_vec())).unwrap()
}

const NET: &str = "
param @w = dense<[[[[1.0, 0.0], [0.0, -1.0]]], [[[0.5, 0.5], [0.5, 0.5]]]]> : tensor<2x1x2x2xf32>
param @fc = dense<[[1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0], [1.0, -1.0, 2.0, -2.0, 0.0, 0.0, 0.0, 0.5]]> : tensor<3x8xf32>
func @net(%x: tensor<N x 1 x 4 x 4 x f32>) -> tensor<N x 3 x f32> {
  %w = tg.param @w
  %0 = tg.conv %x, %w {pad_high = [1, 1]}
  %1 = tg.reduce_window %0 {kind = \"max\", window = [1, 1, 2, 2], strides = [1, 1, 2, 2]}
  %2 = tg.reshape %1 {shape = [N, 8]}
  %fc = tg.param @fc
  %3 = tg.dot %2, %fc {lhs_contract = [1], rhs_contract = [1]}
  tg.return %3
}
";

/// The same network written as plain loops over one 4x4 image.
fn net_by_hand(img: &[f64]) -> Vec<f64> {
    let at = |r: usize, c: usize| if r < 4 && c < 4 { img[r * 4 + c] } else { 0.0 };
    let conv = |f: usize, r: usize, c: usize| match f {
        0 => at(r, c) - at(r + 1, c + 1),
        _ => 0.5 * (at(r, c) + at(r, c + 1) + at(r + 1, c) + at(r + 1, c + 1)),
    };
    let mut features = Vec::new();
    for f in 0..2 {
        for pr in 0..2 {
            for pc in 0..2 {
                let window = [(0, 0), (0, 1), (1, 0), (1, 1)].map(|(dr, dc)| conv(f, 2 * pr + dr, 2 * pc + dc));
                features.push(window.into_iter().fold(f64::NEG_INFINITY, f64::max));
            }
        }
    }
    let fc = [
        [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0],
        [1.0, -1.0, 2.0, -2.0, 0.0, 0.0, 0.0, 0.5],
    ];
    fc.iter().map(|row| row.iter().zip(&features).map(|(w, x)| w * x).sum()).collect()
}

#[test]
fn a_tiny_cnn_matches_its_loops_for_any_batch() {
    let m = verified(NET);
    for batch in [1, 3] {
        let values: Vec<f64> = (0..batch * 16).map(|i| ((i * 5 + 2) % 9) as f64 - 4.0).collect();
        let out = run(&m, "net", vec![f32s(&[batch, 1, 4, 4], &values)]);
        assert_eq!(out[0].shape(), [batch, 3]);
        let want: Vec<f64> = values.chunks(16).flat_map(net_by_hand).collect();
        assert_eq!(out[0].to_f64s(), want);
    }
}

const SHAPES: &str = "
func @regroup(%x: tensor<N x 6 x f32>) -> tensor<? x 3 x f32> {
  %0 = tg.reshape %x {shape = [?, 3]}
  tg.return %0
}
func @mirror(%x: tensor<N x 3 x i32>) -> tensor<N x 3 x i32> {
  %z = tg.constant {value = dense<0> : tensor<i32>}
  %0 = tg.pad %x, %z {low = [0, 2], high = [0, 2], mode = \"reflect\"}
  %1 = tg.slice %0 {starts = [-3], ends = [1], axes = [1], steps = [-1]}
  %2 = tg.reverse %1 {axes = [1]}
  tg.return %2
}
func @tail(%x: tensor<N x 4 x f32>) -> (tensor<N - 1 x 4 x f32>, tensor<2xi64>) {
  %0 = tg.slice %x {starts = [1], ends = [9223372036854775807]}
  %1 = tg.shape_of %0
  tg.return %0, %1
}
func @join(%a: tensor<N x 2 x f32>, %b: tensor<M x 2 x f32>) -> tensor<2 x N + M x f32> {
  %0 = tg.concat %a, %b {axis = 0}
  %1 = tg.transpose %0 {perm = [1, 0]}
  tg.return %1
}
";

#[test]
fn shape_ops_resolve_symbols_and_unknown_dims() {
    let m = verified(SHAPES);
    let x = f32s(&[2, 6], &(0..12).map(f64::from).collect::<Vec<_>>());
    let out = run(&m, "regroup", vec![x]);
    assert_eq!(out[0].shape(), [4, 3]);
    let ints = Tensor::new(DType::I32, vec![2, 3], Data::Int(vec![1, 2, 3, 4, 5, 6])).unwrap();
    // Reflect-padding by 2 then taking positions 4, 3, 2 backwards and reversing gives x back.
    assert_eq!(run(&m, "mirror", vec![ints.clone()])[0], ints);
    let out = run(&m, "tail", vec![f32s(&[3, 4], &[0.0; 12])]);
    assert_eq!((out[0].shape(), out[1].to_i64s()), (&[2, 4][..], vec![2, 4]));
    let (a, b) = (f32s(&[1, 2], &[1.0, 2.0]), f32s(&[2, 2], &[3.0, 4.0, 5.0, 6.0]));
    assert_eq!(run(&m, "join", vec![a, b])[0], f32s(&[2, 3], &[1.0, 3.0, 5.0, 2.0, 4.0, 6.0]));
}

const INDEX: &str = "
func @top(%x: tensor<N x 5 x f32>) -> (tensor<N x 2 x f32>, tensor<N x 2 x i64>, tensor<N x 2 x f32>) {
  %v, %i = tg.topk %x {k = 2}
  %g = tg.gather_elements %x, %i {axis = 1}
  tg.return %v, %i, %g
}
func @embed(%table: tensor<3 x 2 x f32>, %tokens: tensor<N x i64>) -> tensor<N x 2 x f32> {
  %0 = tg.gather %table, %tokens {axis = 0}
  tg.return %0
}
func @histogram(%bins: tensor<4 x f32>, %at: tensor<N x 1 x i64>, %ones: tensor<N x f32>) -> tensor<4 x f32> {
  %0 = tg.scatter_nd %bins, %at, %ones {reduction = \"add\"}
  tg.return %0
}
";

#[test]
fn index_ops_compose_and_report_bad_indices_at_the_op() {
    let m = verified(INDEX);
    let x = f32s(&[2, 5], &[3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 6.0]);
    let out = run(&m, "top", vec![x]);
    assert_eq!(out[0], f32s(&[2, 2], &[5.0, 4.0, 9.0, 6.0]));
    assert_eq!(out[1].to_i64s(), [4, 2, 0, 2]);
    assert_eq!(out[2], out[0]);
    let table = f32s(&[3, 2], &[0.0, 0.5, 1.0, 1.5, 2.0, 2.5]);
    let out = run(&m, "embed", vec![table.clone(), i64s(&[3], &[2, -3, 1])]);
    assert_eq!(out[0], f32s(&[3, 2], &[2.0, 2.5, 0.0, 0.5, 1.0, 1.5]));
    let err = Evaluator::new(&m).run("embed", vec![table, i64s(&[1], &[3])]).unwrap_err();
    assert_eq!(err.message, "'tg.gather' op: index 3 is out of range for axis 0 of size 3");
    let out =
        run(&m, "histogram", vec![f32s(&[4], &[0.0; 4]), i64s(&[5, 1], &[1, 3, 1, -1, 0]), f32s(&[5], &[1.0; 5])]);
    assert_eq!(out[0], f32s(&[4], &[1.0, 2.0, 0.0, 2.0]));
}
