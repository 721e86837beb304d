//! Control flow and memory planning: the programs of
//! `tests/fixtures/lower/control.tir` (`tg.loop` with a known count and as
//! a while loop, `tg.if`, nested in each other, `tg.call` inlined) on
//! inputs that take every path, a loop body with enough work for its loops
//! to go parallel, and functions lowered with `plan-memory` (temporaries
//! as views into one arena sized from the symbolic dims). What the
//! lowering makes of them (`k.for`, `k.while`, one arena) is checked in
//! `lower::control_tests` and `plan_memory::tests`.

use crate::differential::{Case, Math, Tol};
use tessera_ir::tensor::{Data, Tensor};
use tessera_ir::DType;

/// The programs, also lowered by `lower::control_tests`.
pub const CONTROL: &str = include_str!("../../../../tests/fixtures/lower/control.tir");

/// Loops, branches and calls keep f32 values within this of the reference.
const CLOSE: Tol = Tol::Close { rtol: 1e-5, atol: 1e-5 };

/// A tensor of `shape` holding `0.5 * (i mod 7) - 1` at flat position `i`.
fn ramp(dtype: DType, shape: &[usize]) -> Tensor {
    let n = shape.iter().product::<usize>();
    Tensor::from_f64(dtype, shape.to_vec(), (0..n).map(|i| 0.5 * (i % 7) as f64 - 1.0).collect()).unwrap()
}

/// A rank-0 `i64` tensor.
fn int(v: i64) -> Tensor {
    Tensor::new(DType::I64, Vec::new(), Data::Int(vec![v])).unwrap()
}

/// A rank-0 `i1` tensor.
fn flag(v: bool) -> Tensor {
    Tensor::new(DType::I1, Vec::new(), Data::Bool(vec![v])).unwrap()
}

/// Adds a check of `func` on `inputs`, described by `what`.
fn on(case: Case, func: &str, what: String, inputs: Vec<Tensor>) -> Case {
    case.given(func, what, inputs, None, CLOSE)
}

/// The functions of `control.tir` on inputs that take each path: scans of
/// 1, 3 and 0 rows; trip counts of 5, 100, 0 and -3 and a false condition;
/// carried values swapped; both branches; nesting; calls.
pub fn loops_branches_and_calls(_: Math) -> Vec<Case> {
    vec![control_checks(Case::new("control/control.tir", CONTROL), true)]
}

/// The checks of [`loops_branches_and_calls`] on `case`; with `all` false,
/// only the scan, swap and call ones.
fn control_checks(mut case: Case, all: bool) -> Case {
    let f32s = |shape: &[usize]| ramp(DType::F32, shape);
    let scans: &[usize] = if all { &[1, 3, 0] } else { &[3] };
    for &n in scans {
        case = on(case, "scan", format!("N = {n}"), vec![f32s(&[n, 3]), f32s(&[4, n, 3])]);
    }
    if all {
        for (trips, go) in [(5, true), (100, true), (0, true), (-3, true), (5, false)] {
            case = on(case, "grow", format!("{trips} trips, go = {go}"), vec![int(trips), flag(go), ramp(DType::F64, &[3])]);
        }
    }
    case = on(case, "swap", "two rows".into(), vec![f32s(&[2, 3]), f32s(&[2, 3])]);
    if all {
        for c in [true, false] {
            for n in [1, 5] {
                case = on(case, "pick", format!("cond = {c}, N = {n}"), vec![flag(c), f32s(&[n, 4]), f32s(&[4, 4])]);
            }
        }
        for limit in [0, 3] {
            case = on(case, "nested", format!("limit = {limit}"), vec![f32s(&[3]), int(limit)]);
        }
        case = on(case, "caller", "8 and 2 rows".into(), vec![f32s(&[8, 3]), f32s(&[2, 3])]);
    }
    on(case, "twice", "5 rows".into(), vec![f32s(&[5, 3])])
}

/// A loop whose body has enough work per iteration for the JIT to outline
/// its loops onto the thread pool.
pub fn loop_bodies_with_parallel_loops(_: Math) -> Vec<Case> {
    let src = "
func @steps(%x: tensor<256x256xf32>) -> tensor<256x256xf32> {
  %trips = tg.constant {value = dense<3> : tensor<i64>}
  %true = tg.constant {value = dense<true> : tensor<i1>}
  %half = tg.constant {value = dense<0.5> : tensor<f32>}
  %out = tg.loop %trips, %true, %x : tensor<256x256xf32> {
  ^bb0(%i: tensor<i64>, %c: tensor<i1>, %s: tensor<256x256xf32>):
    %t = tg.tanh %s
    %u = tg.mul %t, %half
    tg.yield %c, %u
  }
  tg.return %out
}";
    let x = ramp(DType::F32, &[256, 256]);
    vec![on(Case::new("control/parallel_body", src), "steps", "256x256".into(), vec![x])]
}

/// A two-layer perceptron over a symbolic batch (temporaries of several
/// sizes, most dead before the last ones are made) for batches of 1, 5, 0
/// and 33, and loops and calls, lowered with `plan-memory`.
pub fn planned_temporaries_in_one_arena(_: Math) -> Vec<Case> {
    let mut mlp = Case::new("control/planned_mlp", MLP).pipeline("lower-to-kernel,plan-memory");
    for n in [1, 5, 0, 33] {
        let f32s = |shape: &[usize]| ramp(DType::F32, shape);
        mlp = on(mlp, "mlp", format!("N = {n}"), vec![f32s(&[n, 16]), f32s(&[16, 32]), f32s(&[32, 8])]);
    }
    let control = Case::new("control/planned_control.tir", CONTROL).pipeline("lower-to-kernel,plan-memory");
    vec![mlp, control_checks(control, false)]
}

/// The perceptron of [`planned_temporaries_in_one_arena`], also planned by
/// `plan_memory::tests`.
pub const MLP: &str = "
func @mlp(%x: tensor<N x 16 x f32>, %w1: tensor<16x32xf32>, %w2: tensor<32x8xf32>) -> tensor<N x 8 x f32> {
  %h = tg.dot %x, %w1 {lhs_contract = [1], rhs_contract = [0]}
  %zero = tg.constant {value = dense<0.0> : tensor<f32>}
  %r = tg.max %h, %zero
  %y = tg.dot %r, %w2 {lhs_contract = [1], rhs_contract = [0]}
  %m = tg.reduce_max %y {axes = [1], keepdims = true}
  %d = tg.sub %y, %m
  %e = tg.exp %d
  %s = tg.reduce_sum %e {axes = [1], keepdims = true}
  %p = tg.div %e, %s
  tg.return %p
}";
