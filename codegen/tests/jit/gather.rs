//! Gathers (along an axis, of elements, of index tuples) and scatters
//! (of elements and of tuples, with every reduction), in floats and
//! integers; index tensors come in as random integers reduced with
//! `tg.rem` by the addressed axis's size, so about half are negative. An
//! index out of range sets a status bit reported by `run`, never a crash,
//! even where the addressed axis is empty.

use crate::harness::{check_all, compile, lower, verified, Tol, N1_N5};
use tessera_ir::tensor::Tensor;
use tessera_ir::DType;

#[test]
fn gathers_along_any_axis_of_elements_and_tuples() {
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
    let none: &[&[(&str, i64)]] = &[&[]];
    check_all(
        src,
        &[
            ("inner", N1_N5, Tol::Exact),
            ("scalar_index", none, Tol::Exact),
            ("last", none, Tol::Exact),
            ("no_indices", none, Tol::Exact),
            ("symbolic_axis", N1_N5, Tol::Exact),
            ("fused", N1_N5, Tol::Exact),
            ("elements", N1_N5, Tol::Exact),
            ("elements0", none, Tol::Exact),
            ("elements3", none, Tol::Exact),
            ("nd", none, Tol::Exact),
            ("nd_batch", N1_N5, Tol::Exact),
            ("nd_full", none, Tol::Exact),
        ],
    );
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
        let none: &[&[(&str, i64)]] = &[&[]];
        check_all(
            &src,
            &[
                ("elements", N1_N5, Tol::Exact),
                ("nd_symbolic", N1_N5, Tol::Exact),
                ("rows", none, Tol::Exact),
                ("nd_full", none, Tol::Exact),
                // Combined in f32 at each step, where the reference combines in f64 and rounds once.
                ("nd", none, Tol::Close { rtol: 1e-6, atol: 0.0 }),
            ],
        );
    }
}

#[test]
fn indices_out_of_range_set_a_status_bit() {
    let src = "func @g(%x: tensor<N x 3 x f32>, %i: tensor<2xi64>) -> tensor<N x 2 x f32> {
  %y = tg.gather %x, %i {axis = 1}
  tg.return %y
}
func @s(%x: tensor<N x 3 x f32>, %i: tensor<1x1xi64>, %u: tensor<1x3xf32>) -> tensor<N x 3 x f32> {
  %y = tg.scatter_nd %x, %i, %u
  tg.return %y
}";
    let jit = compile(&lower(&verified(src)));
    let x = Tensor::from_f64(DType::F32, vec![2, 3], vec![1.0; 6]).unwrap();
    let at = |i: i64| Tensor::from_i64s(&[i]).reshaped(vec![1, 1]).unwrap();
    let u = Tensor::from_f64(DType::F32, vec![1, 3], vec![5.0; 3]).unwrap();
    let message = "an index read from a tensor is out of range for its axis";
    let err = jit.run("g", &[x.clone(), Tensor::from_i64s(&[1, -4])]).unwrap_err().message;
    assert_eq!(err, format!("@g: {message}"));
    assert!(jit.run("g", &[x.clone(), Tensor::from_i64s(&[2, -3])]).is_ok());
    let err = jit.run("s", &[x, at(2), u.clone()]).unwrap_err().message;
    assert_eq!(err, format!("@s: {message}"));
    // An empty axis has no position 0 to fall back to: nothing is read or written.
    let empty = Tensor::from_f64(DType::F32, vec![0, 3], Vec::new()).unwrap();
    let err = jit.run("s", &[empty, at(0), u]).unwrap_err().message;
    assert_eq!(err, format!("@s: {message}"));
}
