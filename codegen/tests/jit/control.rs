//! Control flow compiled: the programs of `tests/fixtures/lower/control.tir`
//! (`tg.loop` as a counted `k.for` and as a `k.while`, `tg.if` as a
//! `k.if`, nested in each other, `tg.call` inlined) lowered, JIT-compiled
//! and run against the reference evaluator on the inputs the kernel
//! interpreter's tests use (`passes/src/lower/control_tests.rs`).

use tessera_codegen::JitModule;
use tessera_ir::parse::parse_module;
use tessera_ir::tensor::{allclose, Data, Tensor};
use tessera_ir::verify::VerifiedModule;
use tessera_ir::DType;
use tessera_passes::{Evaluator, PassManager, Pipeline};

/// The programs, shared with the kernel interpreter's tests.
const CONTROL: &str = include_str!("../../../tests/fixtures/lower/control.tir");

/// The graph module of `src` and its lowered (with `pipeline`) and
/// JIT-compiled form, panicking with the diagnostics.
pub fn compiled(src: &str, pipeline: &str) -> (VerifiedModule, JitModule) {
    let render = |d: tessera_ir::Diags| d.render(&Default::default());
    let m = parse_module(src, "test.tir").unwrap_or_else(|d| panic!("{}", render(d)));
    let m = VerifiedModule::new(m).unwrap_or_else(|d| panic!("{}", render(d)));
    let pm = PassManager::new(Pipeline::parse(pipeline).unwrap()).verify_each(true);
    let k = pm.run(m.module().clone()).unwrap_or_else(|d| panic!("{}", render(d)));
    let jit = JitModule::compile(&k).unwrap_or_else(|d| panic!("{}", render(d)));
    (m, jit)
}

/// Runs `name` on `inputs` in the evaluator and the JIT; asserts the
/// outputs agree to `1e-5`.
pub fn check(m: &VerifiedModule, jit: &JitModule, name: &str, inputs: &[Tensor]) {
    let expected = Evaluator::new(m).run(name, inputs.to_vec()).unwrap_or_else(|d| panic!("@{name}: {}", d.message));
    let actual = jit.run(name, inputs).unwrap_or_else(|d| panic!("@{name} JIT: {}", d.message));
    assert_eq!(actual.len(), expected.len(), "@{name}: output count");
    for (i, (a, e)) in actual.iter().zip(&expected).enumerate() {
        assert_eq!(a.shape(), e.shape(), "@{name} output #{i}: shape");
        allclose(a, e, 1e-5, 1e-5).unwrap_or_else(|msg| panic!("@{name} output #{i}: {msg}"));
    }
}

/// A tensor of `shape` holding `0.5 * (i mod 7) - 1` at flat position `i`.
pub fn ramp(dtype: DType, shape: &[usize]) -> Tensor {
    let n = shape.iter().product::<usize>();
    Tensor::from_f64(dtype, shape.to_vec(), (0..n).map(|i| 0.5 * (i % 7) as f64 - 1.0).collect()).unwrap()
}

fn int(v: i64) -> Tensor {
    Tensor::new(DType::I64, Vec::new(), Data::Int(vec![v])).unwrap()
}

fn flag(v: bool) -> Tensor {
    Tensor::new(DType::I1, Vec::new(), Data::Bool(vec![v])).unwrap()
}

#[test]
fn loops_branches_and_calls_run_as_the_evaluator_runs_them() {
    let (m, jit) = compiled(CONTROL, "lower-to-kernel");
    for n in [1, 3, 0] {
        check(&m, &jit, "scan", &[ramp(DType::F32, &[n, 3]), ramp(DType::F32, &[4, n, 3])]);
    }
    for (trips, go) in [(5, true), (100, true), (0, true), (-3, true), (5, false)] {
        check(&m, &jit, "grow", &[int(trips), flag(go), ramp(DType::F64, &[3])]);
    }
    check(&m, &jit, "swap", &[ramp(DType::F32, &[2, 3]), ramp(DType::F32, &[2, 3])]);
    for c in [true, false] {
        for n in [1, 5] {
            check(&m, &jit, "pick", &[flag(c), ramp(DType::F32, &[n, 4]), ramp(DType::F32, &[4, 4])]);
        }
    }
    for limit in [0, 3] {
        check(&m, &jit, "nested", &[ramp(DType::F32, &[3]), int(limit)]);
    }
    check(&m, &jit, "caller", &[ramp(DType::F32, &[8, 3]), ramp(DType::F32, &[2, 3])]);
    check(&m, &jit, "twice", &[ramp(DType::F32, &[5, 3])]);
}

#[test]
fn parallel_loops_inside_a_loop_body_run_on_the_thread_pool() {
    // A body with enough work per iteration for its loops to be outlined.
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
    let (m, jit) = compiled(src, "lower-to-kernel");
    check(&m, &jit, "steps", &[ramp(DType::F32, &[256, 256])]);
}
