//! Differential tests of control flow (`tg.loop`, `tg.if`, `tg.call`):
//! the programs of `tests/fixtures/lower/control.tir` lowered and run on
//! the kernel interpreter against the reference evaluator on the same
//! inputs. Loops with a known iteration count (scan outputs, a symbolic
//! carried state) and without (a run-time trip count, a condition the body
//! computes, no iteration at all), carried values handed on swapped, loops
//! and branches nested in each other, branches yielding arguments and
//! outer values, calls with symbolic callees and nested calls; recursion
//! and scan outputs of unknown length are refused.

use super::inline::inline_calls;
use crate::kernel_eval::KernelEvaluator;
use crate::{Evaluator, PassManager, Pipeline};
use tessera_ir::parse::parse_module;
use tessera_ir::print::print_func;
use tessera_ir::tensor::{allclose, Data, Tensor};
use tessera_ir::verify::VerifiedModule;
use tessera_ir::{DType, Diags, Func};

/// The programs, shared with the JIT's tests.
const CONTROL: &str = include_str!("../../../tests/fixtures/lower/control.tir");

/// Parses and verifies `src`.
fn verified(src: &str) -> VerifiedModule {
    let module = parse_module(src, "control.tir").unwrap_or_else(|d| panic!("{}", d.render(&Default::default())));
    VerifiedModule::new(module).unwrap_or_else(|d| panic!("{}", d.render(&Default::default())))
}

/// `m` lowered to the kernel dialect, verified after the pass.
fn lowered(m: &VerifiedModule) -> Result<VerifiedModule, Diags> {
    PassManager::new(Pipeline::parse("lower-to-kernel").unwrap()).verify_each(true).run(m.module().clone())
}

/// The graph and kernel modules of the programs.
fn modules() -> (VerifiedModule, VerifiedModule) {
    let m = verified(CONTROL);
    let k = lowered(&m).unwrap_or_else(|d| panic!("{}", d.render(&Default::default())));
    (m, k)
}

/// Runs `name` on `inputs` in the evaluator and, lowered, on the kernel
/// interpreter; asserts the outputs agree to `1e-5`. Returns the kernel function.
fn check(name: &str, inputs: &[Tensor]) -> Func {
    let (m, k) = modules();
    let func = k.module().func(name).unwrap().clone();
    let expected = Evaluator::new(&m).run(name, inputs.to_vec()).unwrap_or_else(|d| panic!("@{name}: {}", d.message));
    let actual = KernelEvaluator::new(&k)
        .run(name, inputs.to_vec())
        .unwrap_or_else(|d| panic!("@{name} lowered: {}\n{}", d.message, print_func(&func)));
    assert_eq!(actual.len(), expected.len(), "@{name}: output count");
    for (i, (a, e)) in actual.iter().zip(&expected).enumerate() {
        assert_eq!(a.shape(), e.shape(), "@{name} output #{i}: shape");
        allclose(a, e, 1e-5, 1e-5).unwrap_or_else(|msg| panic!("@{name} output #{i}: {msg}\n{}", print_func(&func)));
    }
    func
}

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

/// The ops of `func`, nested ones included, named `name`.
fn count(func: &Func, name: &str) -> usize {
    func.walk().into_iter().filter(|&op| func.op(op).def.name() == name).count()
}

#[test]
fn scans_with_a_known_count_are_counted_loops() {
    for n in [1, 3, 0] {
        let f = check("scan", &[ramp(DType::F32, &[n, 3]), ramp(DType::F32, &[4, n, 3])]);
        assert_eq!((count(&f, "k.while"), count(&f, "k.if")), (0, 0));
    }
}

#[test]
fn loops_with_a_run_time_count_or_condition_are_while_loops() {
    for (trips, go) in [(5, true), (100, true), (0, true), (-3, true), (5, false)] {
        let f = check("grow", &[int(trips), flag(go), ramp(DType::F64, &[3])]);
        assert_eq!(count(&f, "k.while"), 1);
    }
}

#[test]
fn carried_values_handed_on_swapped_are_read_before_written() {
    check("swap", &[ramp(DType::F32, &[2, 3]), ramp(DType::F32, &[2, 3])]);
}

#[test]
fn branches_write_the_results_whichever_runs() {
    for c in [true, false] {
        for n in [1, 5] {
            let f = check("pick", &[flag(c), ramp(DType::F32, &[n, 4]), ramp(DType::F32, &[4, 4])]);
            assert_eq!(count(&f, "k.if"), 1);
        }
    }
}

#[test]
fn loops_and_branches_nest() {
    for limit in [0, 3] {
        let f = check("nested", &[ramp(DType::F32, &[3]), int(limit)]);
        assert_eq!((count(&f, "k.if"), count(&f, "k.while")), (1, 1));
    }
}

#[test]
fn calls_are_inlined_with_the_callers_dims() {
    let f = check("caller", &[ramp(DType::F32, &[8, 3]), ramp(DType::F32, &[2, 3])]);
    assert_eq!(count(&f, "tg.call"), 0);
    check("twice", &[ramp(DType::F32, &[5, 3])]);
}

#[test]
fn call_chains_deeper_than_the_limit_are_refused_as_recursion() {
    // Text cannot spell recursion (a callee comes before its callers), so
    // the callee @helper is swapped for a copy of its caller.
    let src = "
func @helper(%x: tensor<3xf32>) -> tensor<3xf32> {
  tg.return %x
}
func @forever(%x: tensor<3xf32>) -> tensor<3xf32> {
  %y = tg.call @helper %x
  tg.return %y
}";
    let m = verified(src);
    let forever = m.module().func("forever").unwrap().clone();
    let mut helper = forever.clone();
    helper.name = "helper".into();
    let err = inline_calls(&forever, &[helper], &m.module().symbols()).expect_err("recursion inlined");
    assert!(err.to_string().contains("recursion is not compiled"), "{err}");
}

#[test]
fn scan_outputs_of_an_unknown_count_are_refused() {
    let src = "
func @range(%n: tensor<i64>, %x: tensor<f32>) -> tensor<? x f32> {
  %true = tg.constant {value = dense<true> : tensor<i1>}
  %last, %all = tg.loop %n, %true, %x : tensor<f32>, tensor<? x f32> {
  ^bb0(%i: tensor<i64>, %c: tensor<i1>, %s: tensor<f32>):
    %t = tg.add %s, %s
    tg.yield %c, %t, %s
  }
  tg.return %all
}";
    let err = lowered(&verified(src)).expect_err("a scan of unknown length lowers");
    assert!(err.to_string().contains("'?' dim"), "{err}");
}
