//! Compile time for a small model and run time against the reference
//! evaluator, in the same process (printed; run with `--nocapture`). Only
//! correctness is asserted: timings on a shared machine are not a test.

use crate::harness::{compile, lower, Tol, F32_SUM};
use tessera_passes::differential::{assert_same, Rng};
use std::time::{Duration, Instant};
use tessera_ir::parse::parse_module;
use tessera_ir::tensor::Tensor;
use tessera_ir::verify::VerifiedModule;
use tessera_passes::Evaluator;

/// The fastest of `runs` calls of `f` (after one warm-up call), and its
/// last result. (`JitModule::run_timed` reports the kernel time of its own
/// call; the last call's is within noise of the fastest.)
fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut out = f();
    let mut fastest = Duration::MAX;
    for _ in 0..runs {
        let start = Instant::now();
        out = f();
        fastest = fastest.min(start.elapsed());
    }
    (fastest, out)
}

/// `src` parsed with every parameter given pseudo-random values, verified.
pub(crate) fn with_random_params(src: &str) -> VerifiedModule {
    let mut m = parse_module(src, "timing.tir").unwrap_or_else(|d| panic!("{}", d.render(&Default::default())));
    let mut rng = Rng(42);
    for p in &mut m.params {
        let t = rng.tensor(&p.ty, &[]);
        let scaled = Tensor::convert_f64(
            t.dtype(),
            t.shape().to_vec(),
            &t.to_f64s().iter().map(|v| v * 0.05).collect::<Vec<_>>(),
        );
        p.init = Some(scaled.unwrap().to_dense());
    }
    VerifiedModule::new(m).unwrap_or_else(|d| panic!("{}", d.render(&Default::default())))
}

/// Times function `name` of graph module `graph` on random inputs in the
/// evaluator and the JIT (compiled once), checks they agree, prints a row.
fn compare(label: &str, graph: &VerifiedModule, name: &str, bindings: &[(&str, i64)], tol: Tol) {
    let start = Instant::now();
    let lowered = lower(graph);
    let lowering = start.elapsed();
    let jit = compile(&lowered);
    let func = graph.module().func(name).unwrap();
    let inputs = Rng(3).inputs(func, bindings);
    let (reference, expected) = best(1, || Evaluator::new(graph).run(name, inputs.clone()).unwrap());
    let (generated, (actual, kernel)) = best(3, || jit.run_timed(name, &inputs).unwrap());
    assert_same(name, label, &actual, &expected, tol, &|| String::new());
    let ratio = |d: Duration| reference.as_secs_f64() / d.as_secs_f64();
    println!(
        "{label:<38} lower {:>7.1?}  compile {:>6.1?}  evaluator {:>8.2?}  JIT run {:>8.2?} ({:>5.1}x)  kernel {:>8.2?} ({:>6.1}x)",
        lowering,
        jit.compile_time(),
        reference,
        generated,
        ratio(generated),
        kernel,
        ratio(kernel)
    );
}

#[test]
fn timings_against_the_reference_evaluator() {
    let mlp = with_random_params(
        "param @w1 : tensor<784x128xf32>
param @b1 : tensor<128xf32>
param @w2 : tensor<128x10xf32>
param @b2 : tensor<10xf32>
func @mlp(%x: tensor<N x 784 x f32>) -> tensor<N x 10 x f32> {
  %zero = tg.constant {value = dense<0.0> : tensor<f32>}
  %w1 = tg.param @w1
  %b1 = tg.param @b1
  %w2 = tg.param @w2
  %b2 = tg.param @b2
  %0 = tg.dot %x, %w1 {lhs_contract = [1], rhs_contract = [0]}
  %1 = tg.add %0, %b1
  %2 = tg.max %1, %zero
  %3 = tg.dot %2, %w2 {lhs_contract = [1], rhs_contract = [0]}
  %4 = tg.add %3, %b2
  %m = tg.reduce_max %4 {axes = [1], keepdims = true}
  %5 = tg.sub %4, %m
  %6 = tg.exp %5
  %s = tg.reduce_sum %6 {axes = [1], keepdims = true}
  %7 = tg.div %6, %s
  tg.return %7
}",
    );
    compare("MLP 784-128-10 with softmax, N = 64", &mlp, "mlp", &[("N", 64)], F32_SUM);
    let dot = with_random_params(
        "func @mm(%a: tensor<256x256xf32>, %b: tensor<256x256xf32>) -> tensor<256x256xf32> {
  %d = tg.dot %a, %b {lhs_contract = [1], rhs_contract = [0]}
  tg.return %d
}",
    );
    compare("dot 256x256 by 256x256, f32", &dot, "mm", &[], Tol::Close { rtol: 1e-4, atol: 1e-4 });
    let chain = with_random_params(
        "func @chain(%x: tensor<1024x1024xf32>, %w: tensor<1024xf32>, %b: tensor<1024x1xf32>) -> tensor<1024x1024xf32> {
  %zero = tg.constant {value = dense<0.0> : tensor<f32>}
  %half = tg.constant {value = dense<0.5> : tensor<f32>}
  %0 = tg.mul %x, %w
  %1 = tg.add %0, %b
  %2 = tg.max %1, %zero
  %3 = tg.mul %2, %x
  %4 = tg.sub %3, %half
  tg.return %4
}
func @tanh_chain(%x: tensor<1024x1024xf32>, %w: tensor<1024xf32>) -> tensor<1024x1024xf32> {
  %0 = tg.mul %x, %w
  %1 = tg.tanh %0
  %2 = tg.add %1, %x
  tg.return %2
}",
    );
    compare("fused mul-add-relu-mul-sub, 1M f32", &chain, "chain", &[], Tol::Exact);
    compare("fused mul-tanh-add, 1M f32", &chain, "tanh_chain", &[], Tol::Close { rtol: 4e-7, atol: 5e-7 });
}
