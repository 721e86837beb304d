//! Memory planning compiled: functions lowered with `plan-memory` (their
//! temporaries views into one arena the generated code allocates once per
//! call, sized from the symbolic dims) run as the reference evaluator
//! runs them, for several batch sizes, control flow included.

use crate::control::{check, compiled, ramp};
use tessera_ir::DType;

#[test]
fn planned_temporaries_in_one_arena_compute_the_same() {
    let src = "
func @mlp(%x: tensor<N x 16 x f32>, %w1: tensor<16x32xf32>, %w2: tensor<32x8xf32>) -> (tensor<N x 8 x f32>, tensor<N x 32 x f32>) {
  %h = tg.dot %x, %w1 {lhs_contract = [1], rhs_contract = [0]}
  %zero = tg.constant {value = dense<0.0> : tensor<f32>}
  %r = tg.max %h, %zero
  %y = tg.dot %r, %w2 {lhs_contract = [1], rhs_contract = [0]}
  %m = tg.reduce_max %y {axes = [1], keepdims = true}
  %d = tg.sub %y, %m
  %e = tg.exp %d
  %s = tg.reduce_sum %e {axes = [1], keepdims = true}
  %p = tg.div %e, %s
  %t = tg.tanh %h
  %u = tg.mul %t, %r
  tg.return %p, %u
}";
    let (m, jit) = compiled(src, "lower-to-kernel,plan-memory");
    for n in [1, 5, 0, 33] {
        check(&m, &jit, "mlp", &[ramp(DType::F32, &[n, 16]), ramp(DType::F32, &[16, 32]), ramp(DType::F32, &[32, 8])]);
    }
    let (m, jit) = compiled(include_str!("../../../tests/fixtures/lower/control.tir"), "lower-to-kernel,plan-memory");
    check(&m, &jit, "scan", &[ramp(DType::F32, &[3, 3]), ramp(DType::F32, &[4, 3, 3])]);
    check(&m, &jit, "swap", &[ramp(DType::F32, &[2, 3]), ramp(DType::F32, &[2, 3])]);
    check(&m, &jit, "twice", &[ramp(DType::F32, &[5, 3])]);
}
