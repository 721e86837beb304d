//! Interpreter-level tests of the reference evaluator: whole functions
//! parsed from text, with control flow (`tg.if`, `tg.loop`, `tg.call`),
//! parameters, constants, broadcasting and errors reported at the op.

use crate::testing::{f32s, run, verified};
use crate::Evaluator;
use tessera_ir::tensor::{Data, Tensor};
use tessera_ir::DType;

fn i64_scalar(v: i64) -> Tensor {
    Tensor::new(DType::I64, Vec::new(), Data::Int(vec![v])).unwrap()
}

fn bool_scalar(v: bool) -> Tensor {
    Tensor::new(DType::I1, Vec::new(), Data::Bool(vec![v])).unwrap()
}

const IF: &str = "
func @choose(%c: tensor<i1>, %a: tensor<N x 3 x f32>, %b: tensor<N x 3 x f32>) -> tensor<N x 3 x f32> {
  %r = tg.if %c {
    %s = tg.add %a, %b
    tg.yield %s
  } {
    tg.yield %b
  }
  tg.return %r
}
func @join(%c: tensor<i1>, %a: tensor<2x3xf32>, %b: tensor<2x5xf32>) -> tensor<2x?xf32> {
  %r = tg.if %c {
    tg.yield %a
  } {
    tg.yield %b
  }
  tg.return %r
}
";

#[test]
fn if_runs_the_branch_the_condition_picks() {
    let m = verified(IF);
    let a = f32s(&[1, 3], &[1.0, 2.0, 3.0]);
    let b = f32s(&[1, 3], &[10.0, 20.0, 30.0]);
    let then = run(&m, "choose", vec![bool_scalar(true), a.clone(), b.clone()]);
    assert_eq!(then[0].to_f64s(), [11.0, 22.0, 33.0]);
    let els = run(&m, "choose", vec![bool_scalar(false), a, b.clone()]);
    assert_eq!(els, vec![b]);
    let wide = run(&m, "join", vec![bool_scalar(false), f32s(&[2, 3], &[0.0; 6]), f32s(&[2, 5], &[1.0; 10])]);
    assert_eq!(wide[0].shape(), [2, 5]);
    let narrow = run(&m, "join", vec![bool_scalar(true), f32s(&[2, 3], &[0.0; 6]), f32s(&[2, 5], &[1.0; 10])]);
    assert_eq!(narrow[0].shape(), [2, 3]);
}

const LOOP: &str = "
func @accumulate(%n: tensor<i64>, %x: tensor<4xf32>) -> (tensor<4xf32>, tensor<?x4xf32>) {
  %true = tg.constant {value = dense<true> : tensor<i1>}
  %init = tg.constant {value = dense<0.0> : tensor<4xf32>}
  %sum, %trace = tg.loop %n, %true, %init {
  ^bb0(%i: tensor<i64>, %cond: tensor<i1>, %acc: tensor<4xf32>):
    %next = tg.add %acc, %x
    tg.yield %cond, %next, %next
  }
  tg.return %sum, %trace
}
func @count(%n: tensor<i64>, %go: tensor<i1>, %limit: tensor<i64>) -> (tensor<i64>, tensor<?xi64>, tensor<?xi1>) {
  %zero = tg.constant {value = dense<0> : tensor<i64>}
  %one = tg.constant {value = dense<1> : tensor<i64>}
  %steps, %seen, %conds = tg.loop %n, %go, %zero {
  ^bb0(%i: tensor<i64>, %c: tensor<i1>, %k: tensor<i64>):
    %k1 = tg.add %k, %one
    %i1 = tg.add %i, %one
    %more = tg.lt %i1, %limit
    tg.yield %more, %k1, %i, %c
  }
  tg.return %steps, %seen, %conds
}
";

#[test]
fn loop_carries_values_and_stacks_scan_outputs() {
    let m = verified(LOOP);
    let x = f32s(&[4], &[1.0, 2.0, 3.0, 4.0]);
    let out = run(&m, "accumulate", vec![i64_scalar(3), x.clone()]);
    assert_eq!(out[0].to_f64s(), [3.0, 6.0, 9.0, 12.0]);
    assert_eq!(out[1].shape(), [3, 4]);
    assert_eq!(out[1].to_f64s(), [1.0, 2.0, 3.0, 4.0, 2.0, 4.0, 6.0, 8.0, 3.0, 6.0, 9.0, 12.0]);
}

#[test]
fn loop_with_no_iteration_returns_the_initial_values_and_empty_scans() {
    let m = verified(LOOP);
    let x = f32s(&[4], &[1.0, 2.0, 3.0, 4.0]);
    for n in [0, -5] {
        let out = run(&m, "accumulate", vec![i64_scalar(n), x.clone()]);
        assert_eq!(out[0].to_f64s(), [0.0; 4]);
        assert_eq!((out[1].shape(), out[1].dtype()), (&[0, 4][..], DType::F32));
    }
    let out = run(&m, "count", vec![i64_scalar(10), bool_scalar(false), i64_scalar(3)]);
    assert_eq!(out[0].to_i64s(), [0]);
    assert_eq!(out[1].shape(), [0]);
    assert_eq!((out[2].shape(), out[2].dtype()), (&[0][..], DType::I1));
}

#[test]
fn loop_stops_on_the_condition_or_the_trip_count() {
    let m = verified(LOOP);
    // The body's condition `i + 1 < 3` turns false in iteration 2.
    let out = run(&m, "count", vec![i64_scalar(10), bool_scalar(true), i64_scalar(3)]);
    assert_eq!(out[0].to_i64s(), [3]);
    assert_eq!(out[1].to_i64s(), [0, 1, 2]);
    assert_eq!(out[2].to_bools(), [true, true, true]);
    // The trip count stops it first.
    let out = run(&m, "count", vec![i64_scalar(2), bool_scalar(true), i64_scalar(100)]);
    assert_eq!((out[0].to_i64s(), out[1].to_i64s()), (vec![2], vec![0, 1]));
    // The condition seen by the body is the one the previous iteration yielded.
    let out = run(&m, "count", vec![i64_scalar(5), bool_scalar(true), i64_scalar(1)]);
    assert_eq!((out[0].to_i64s(), out[2].to_bools()), (vec![1], vec![true]));
}

#[test]
fn loop_errors_name_the_op_inside_the_body() {
    let m = verified(
        "
func @f(%n: tensor<i64>, %d: tensor<i32>) -> tensor<i32> {
  %true = tg.constant {value = dense<true> : tensor<i1>}
  %init = tg.constant {value = dense<7> : tensor<i32>}
  %r = tg.loop %n, %true, %init {
  ^bb0(%i: tensor<i64>, %c: tensor<i1>, %v: tensor<i32>):
    %q = tg.div %v, %d
    tg.yield %c, %q
  }
  tg.return %r
}
",
    );
    let ok = run(&m, "f", vec![i64_scalar(2), Tensor::scalar(DType::I32, 2.0)]);
    assert_eq!(ok[0].to_i64s(), [1]);
    let err = Evaluator::new(&m).run("f", vec![i64_scalar(2), Tensor::scalar(DType::I32, 0.0)]).unwrap_err();
    assert_eq!(err.message, "'tg.loop' op: in region #0: 'tg.div' op: integer division by zero");
}

#[test]
fn call_binds_symbolic_dims_and_nests() {
    let m = verified(
        "
func @double(%a: tensor<N x 3 x f32>) -> tensor<N x 3 x f32> {
  %s = tg.add %a, %a
  tg.return %s
}
func @quadruple(%a: tensor<M x 3 x f32>) -> tensor<M x 3 x f32> {
  %d = tg.call @double %a
  %q = tg.call @double %d
  tg.return %q
}
func @caller(%a: tensor<2x3xf32>, %b: tensor<B x 3 x f32>) -> (tensor<2x3xf32>, tensor<B x 3 x f32>) {
  %r = tg.call @double %a
  %q = tg.call @quadruple %b
  tg.return %r, %q
}
",
    );
    let a = f32s(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let b = f32s(&[1, 3], &[0.5, -1.0, 2.0]);
    let out = run(&m, "caller", vec![a, b]);
    assert_eq!(out[0].to_f64s(), [2.0, 4.0, 6.0, 8.0, 10.0, 12.0]);
    assert_eq!((out[1].shape(), out[1].to_f64s()), (&[1, 3][..], vec![2.0, -4.0, 8.0]));
}

#[test]
fn params_and_constants_feed_broadcasting_ops() {
    let m = verified(
        "
param @w = dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
func @f(%x: tensor<N x 1 x 2 x f32>) -> tensor<N x 2 x 2 x f32> {
  %w = tg.param @w
  %b = tg.constant {value = dense<[100.0, 200.0]> : tensor<2xf32>}
  %s = tg.mul %x, %w
  %t = tg.add %s, %b
  tg.return %t
}
",
    );
    let x = f32s(&[2, 1, 2], &[1.0, 1.0, 0.0, -1.0]);
    let out = run(&m, "f", vec![x.clone()]);
    assert_eq!(out[0].shape(), [2, 2, 2]);
    assert_eq!(out[0].to_f64s(), [101.0, 202.0, 103.0, 204.0, 100.0, 198.0, 100.0, 196.0]);
    let mut eval = Evaluator::new(&m);
    eval.set_param("w", f32s(&[2, 2], &[0.0, 0.0, 0.0, 1.0])).unwrap();
    let out = eval.run("f", vec![x]).unwrap();
    assert_eq!(out[0].to_f64s(), [100.0, 200.0, 100.0, 201.0, 100.0, 200.0, 100.0, 199.0]);
}

#[test]
fn op_errors_are_diagnostics_not_panics() {
    let m = verified(
        "
func @f(%a: tensor<3xi8>, %b: tensor<3xi8>) -> tensor<3xi8> {
  %q = tg.rem %a, %b
  tg.return %q
}
",
    );
    let a = Tensor::convert_f64(DType::I8, vec![3], &[1.0, 2.0, 3.0]).unwrap();
    let b = Tensor::convert_f64(DType::I8, vec![3], &[1.0, 0.0, 3.0]).unwrap();
    let err = Evaluator::new(&m).run("f", vec![a, b]).unwrap_err();
    assert_eq!(err.message, "'tg.rem' op: integer division by zero");
}
