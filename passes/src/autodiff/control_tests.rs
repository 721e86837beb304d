//! Finite-difference checks of the region ops' gradients (`tg.if`,
//! `tg.loop`, nested) and of calls, differentiated by inlining.

use super::tests::{check, check_with, ints, uniform, Rng};
use super::{GradOptions, GradSpec, Seed};
use crate::testing::verified;
use tessera_ir::tensor::{Data, Tensor};
use tessera_ir::DType;

fn flag(v: bool) -> Tensor {
    Tensor::new(DType::I1, Vec::new(), Data::Bool(vec![v])).unwrap()
}

fn trips(n: i64) -> Tensor {
    ints(&[], &[n])
}

#[test]
fn if_sends_each_branch_its_captures_gradients() {
    let src = "func @f(%c: tensor<i1>, %a: tensor<N x 3 x f64>, %b: tensor<3 x f64>) -> tensor<N x 3 x f64> {
  %r = tg.if %c {
    %s = tg.mul %a, %b
    %e = tg.exp %s
    tg.yield %e
  } {
    %t = tg.sub %a, %b
    tg.yield %t
  }
  %y = tg.mul %r, %a
  tg.return %y
}
";
    let mut rng = Rng(71);
    for c in [true, false] {
        check(src, vec![flag(c), uniform(&mut rng, &[2, 3], -1.0, 1.0), uniform(&mut rng, &[3], -1.0, 1.0)], &[1, 2]);
    }
}

#[test]
fn if_with_several_results_and_a_branch_that_ignores_a_capture() {
    let src = "func @f(%c: tensor<i1>, %a: tensor<2 x 3 x f64>, %b: tensor<3 x f64>) -> (tensor<2 x 3 x f64>, tensor<3 x f64>) {
  %r, %q = tg.if %c {
    %s = tg.tanh %a
    tg.yield %s, %b
  } {
    %t = tg.mul %b, %b
    tg.yield %a, %t
  }
  tg.return %r, %q
}
";
    let mut rng = Rng(72);
    for c in [true, false] {
        check(src, vec![flag(c), uniform(&mut rng, &[2, 3], -1.0, 1.0), uniform(&mut rng, &[3], -1.0, 1.0)], &[1, 2]);
    }
}

const LOOP: &str = "func @f(%n: tensor<i64>, %x: tensor<N x 3 x f64>, %w: tensor<3 x f64>) -> (tensor<N x 3 x f64>, tensor<? x N x 3 x f64>) {
  %go = tg.constant {value = dense<true> : tensor<i1>}
  %h, %trace = tg.loop %n, %go, %x {
  ^bb0(%i: tensor<i64>, %c: tensor<i1>, %acc: tensor<N x 3 x f64>):
    %m = tg.mul %acc, %w
    %t = tg.tanh %m
    %s = tg.add %t, %x
    tg.yield %c, %s, %m
  }
  tg.return %h, %trace
}
";

#[test]
fn loop_carries_cotangents_back_through_every_iteration() {
    let mut rng = Rng(73);
    for n in [3, 1, 0] {
        check(LOOP, vec![trips(n), uniform(&mut rng, &[2, 3], -1.0, 1.0), uniform(&mut rng, &[3], -1.0, 1.0)], &[1, 2]);
    }
}

#[test]
fn loop_stopped_by_its_condition_with_an_integer_counter() {
    let src = "func @f(%n: tensor<i64>, %limit: tensor<i64>, %x: tensor<4 x f64>, %s: tensor<f64>) -> (tensor<4 x f64>, tensor<i64>, tensor<? x f64>) {
  %go = tg.constant {value = dense<true> : tensor<i1>}
  %zero = tg.constant {value = dense<0> : tensor<i64>}
  %one = tg.constant {value = dense<1> : tensor<i64>}
  %v, %k, %sums = tg.loop %n, %go, %x, %zero {
  ^bb0(%i: tensor<i64>, %c: tensor<i1>, %acc: tensor<4 x f64>, %cnt: tensor<i64>):
    %r = tg.reverse %acc {axes = [0]}
    %p = tg.mul %r, %s
    %q = tg.sin %p
    %k1 = tg.add %cnt, %one
    %i1 = tg.add %i, %one
    %more = tg.lt %i1, %limit
    %sum = tg.reduce_sum %q {axes = [0]}
    tg.yield %more, %q, %k1, %sum
  }
  tg.return %v, %k, %sums
}
";
    let mut rng = Rng(74);
    for (n, limit) in [(10, 3), (2, 10)] {
        let inputs = vec![trips(n), trips(limit), uniform(&mut rng, &[4], -1.0, 1.0), uniform(&mut rng, &[], 0.5, 1.5)];
        check(src, inputs, &[2, 3]);
    }
}

#[test]
fn if_inside_a_loop() {
    let src = "func @f(%n: tensor<i64>, %x: tensor<3 x f64>, %w: tensor<3 x f64>) -> tensor<3 x f64> {
  %go = tg.constant {value = dense<true> : tensor<i1>}
  %two = tg.constant {value = dense<2> : tensor<i64>}
  %zero = tg.constant {value = dense<0> : tensor<i64>}
  %h = tg.loop %n, %go, %x {
  ^bb0(%i: tensor<i64>, %c: tensor<i1>, %acc: tensor<3 x f64>):
    %r = tg.rem %i, %two
    %even = tg.eq %r, %zero
    %next = tg.if %even {
      %m = tg.mul %acc, %w
      tg.yield %m
    } {
      %e = tg.sin %acc
      %a = tg.add %e, %w
      tg.yield %a
    }
    tg.yield %c, %next
  }
  tg.return %h
}
";
    let mut rng = Rng(75);
    check(src, vec![trips(4), uniform(&mut rng, &[3], -1.0, 1.0), uniform(&mut rng, &[3], -1.0, 1.0)], &[1, 2]);
}

#[test]
fn calls_are_inlined_then_differentiated() {
    let src = "func @g(%a: tensor<M x 3 x f64>, %b: tensor<3 x f64>) -> tensor<M x 3 x f64> {
  %p = tg.mul %a, %b
  %t = tg.tanh %p
  tg.return %t
}
func @f(%x: tensor<N x 3 x f64>, %w: tensor<3 x f64>) -> tensor<N x 3 x f64> {
  %y = tg.call @g %x, %w
  %z = tg.call @g %y, %w
  tg.return %z
}
";
    let module = verified(src).into_inner();
    let options = GradOptions { callees: module.funcs.clone(), ..GradOptions::default() };
    let mut rng = Rng(76);
    check_with(src, vec![uniform(&mut rng, &[2, 3], -1.0, 1.0), uniform(&mut rng, &[3], -1.0, 1.0)], &[0, 1], &options);
    let spec = GradSpec { wrt: vec![0], seed: Seed::Args, name: "g".into() };
    let err = super::grad(module.func("f").unwrap(), &module.symbols(), &spec).unwrap_err();
    assert!(err.message.contains("inlining its callee"), "{}", err.message);
}
