//! Differential tests of the gathers' and scatters' lowering, as in
//! `tests.rs`. Index tensors come in as random integers reduced with
//! `tg.rem` by the addressed axis's size, so they are in range and
//! negative about half the time; duplicates make the scatters' order and
//! reductions matter. Indices out of range are errors naming the op.

use super::tests::{check, check_each};
use crate::differential::{lower, verified, Tol, N1_N5};
use crate::kernel_eval::KernelEvaluator;
use crate::testing::count_named;
use crate::Evaluator;
use tessera_ir::tensor::Tensor;
use tessera_ir::DType;

#[test]
fn gathers_along_any_axis() {
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
}";
    for name in ["inner", "symbolic_axis"] {
        check_each(src, name, N1_N5, Tol::Exact);
    }
    for name in ["scalar_index", "last", "no_indices"] {
        check(src, name, &[], Tol::Exact);
    }
    let fused = check_each(src, "fused", N1_N5, Tol::Exact);
    assert_eq!(count_named(&fused, "k.alloc"), 1, "the indices are materialised, the transpose and gather fused");
}

#[test]
fn gathers_of_elements_and_tuples() {
    let src = "func @elements(%x: tensor<N x 7 x f32>, %r: tensor<N x 5 x i64>) -> tensor<N x 5 x f32> {
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
    check_each(src, "nd_batch", N1_N5, Tol::Exact);
    for name in ["elements0", "elements3", "nd", "nd_full"] {
        check(src, name, &[], Tol::Exact);
    }
    let f = check_each(src, "elements", N1_N5, Tol::Exact);
    assert_eq!(count_named(&f, "k.alloc"), 0, "gather_elements reads each index once: the rem is fused");
}

#[test]
fn scatters_with_every_reduction_in_order() {
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
        for name in ["elements", "nd_symbolic"] {
            check_each(&src, name, N1_N5, Tol::Exact);
        }
        for name in ["rows", "nd_full"] {
            check(&src, name, &[], Tol::Exact);
        }
        // Combined in f32 at each step, where the reference combines in f64 and rounds once.
        check(&src, "nd", &[], Tol::Close { rtol: 1e-6, atol: 0.0 });
    }
}

#[test]
fn indices_out_of_range_are_errors_at_the_op() {
    let src = "func @g(%x: tensor<N x 3 x f32>, %i: tensor<2xi64>) -> tensor<N x 2 x f32> {
  %y = tg.gather %x, %i {axis = 1}
  tg.return %y
}
func @s(%x: tensor<N x 3 x f32>, %i: tensor<1x1xi64>, %u: tensor<1x3xf32>) -> tensor<N x 3 x f32> {
  %y = tg.scatter_nd %x, %i, %u
  tg.return %y
}";
    let m = verified(src);
    let lowered = lower(&m);
    let x = Tensor::from_f64(DType::F32, vec![2, 3], vec![1.0; 6]).unwrap();
    let run = |name: &str, inputs: Vec<Tensor>| {
        let expected = Evaluator::new(&m).run(name, inputs.clone()).unwrap_err().message;
        let actual = KernelEvaluator::new(&lowered).run(name, inputs).unwrap_err().message;
        (expected, actual)
    };
    let (expected, actual) = run("g", vec![x.clone(), Tensor::from_i64s(&[1, -4])]);
    assert!(expected.contains("index -4 is out of range for axis 1 of size 3"), "{expected}");
    assert_eq!(actual, "'k.to_index' op: index -4 is out of range for axis 1 of size 3");
    let u = Tensor::from_f64(DType::F32, vec![1, 3], vec![5.0; 3]).unwrap();
    let at = |i: i64| Tensor::from_i64s(&[i]).reshaped(vec![1, 1]).unwrap();
    let (expected, actual) = run("s", vec![x, at(2), u.clone()]);
    assert!(expected.contains("index 2 is out of range for axis 0 of size 2"), "{expected}");
    assert_eq!(actual, "'k.to_index' op: index 2 is out of range for axis 0 of size 2");
    // An empty axis has no position to read: the index is reported, nothing is read.
    let empty = Tensor::from_f64(DType::F32, vec![0, 3], Vec::new()).unwrap();
    let (_, actual) = run("s", vec![empty, at(0), u]);
    assert_eq!(actual, "'k.to_index' op: index 0 is out of range for axis 0 of size 0");
}
