//! Parallel loops on the runtime's thread pool: top-level parallel loops
//! with enough work become chunks (`tessera_rt_parallel_for` in the IR),
//! small ones stay inline, results agree with the reference on 1, 2 and 3
//! threads, and status bits set inside chunks reach the caller.

use crate::harness::{lower, verified, Compiled, Tol};
use std::sync::{Mutex, MutexGuard, PoisonError};
use tessera_codegen::{emit_llvm_ir, IrStage};
use tessera_ir::tensor::Tensor;
use tessera_ir::DType;

/// Serialises the tests that set the process-wide thread count.
static THREADS: Mutex<()> = Mutex::new(());

/// Runs `f` with the runtime's pool at `n` threads, then back to the default.
pub fn with_threads<R>(n: usize, f: impl FnOnce() -> R) -> R {
    let _held: MutexGuard<()> = THREADS.lock().unwrap_or_else(PoisonError::into_inner);
    tessera_runtime::pool::set_num_threads(n).unwrap();
    let r = f();
    tessera_runtime::pool::set_num_threads(0).unwrap();
    r
}

const AFFINE: &str = "func @affine(%x: tensor<N x 300 x f32>, %w: tensor<300xf32>) -> tensor<N x 300 x f32> {
  %zero = tg.constant {value = dense<0.0> : tensor<f32>}
  %0 = tg.mul %x, %w
  %1 = tg.tanh %0
  %2 = tg.max %1, %zero
  tg.return %2
}
func @small(%x: tensor<4x5xf32>) -> tensor<4x5xf32> {
  %0 = tg.neg %x
  tg.return %0
}
func @rows(%x: tensor<N x 64 x f64>) -> tensor<N x f64> {
  %e = tg.exp %x
  %s = tg.reduce_sum %e {axes = [1]}
  tg.return %s
}";

#[test]
fn large_loops_run_as_chunks_and_small_ones_inline() {
    let ir = emit_llvm_ir(&lower(&verified(AFFINE)), IrStage::Translated).unwrap();
    assert!(ir.contains("call i32 @tessera_rt_parallel_for(i64 %n, ptr @tessera_affine.par"), "{ir}");
    assert!(ir.contains("define internal void @tessera_rows.par"), "{ir}");
    assert!(!ir.contains("@tessera_small.par"), "a 20-element loop stays inline:\n{ir}");
}

#[test]
fn chunked_loops_agree_on_one_two_and_three_threads() {
    let c = Compiled::new(AFFINE);
    for threads in [1, 2, 3] {
        with_threads(threads, || {
            for n in [0, 1, 7, 1000] {
                c.check("affine", &[("N", n)], Tol::Close { rtol: 4e-7, atol: 5e-7 });
                c.check("rows", &[("N", n)], Tol::Close { rtol: 1e-13, atol: 0.0 });
            }
            c.check("small", &[], Tol::Exact);
        });
    }
}

#[test]
fn status_bits_from_chunks_reach_the_caller() {
    let src = "func @div(%x: tensor<N x 256 x i32>, %y: tensor<N x 256 x i32>) -> tensor<N x 256 x i32> {
  %0 = tg.div %x, %y
  tg.return %0
}";
    let c = Compiled::new(src);
    let n = 2000;
    let x = Tensor::convert_f64(DType::I32, vec![n, 256], &(0..n * 256).map(|i| i as f64).collect::<Vec<_>>()).unwrap();
    let mut ys = vec![3.0; n * 256];
    for threads in [1, 2, 3] {
        with_threads(threads, || {
            let ok = c.jit.run("div", &[x.clone(), Tensor::convert_f64(DType::I32, vec![n, 256], &ys).unwrap()]);
            assert!(ok.is_ok(), "{threads} threads: {:?}", ok.err().map(|d| d.message));
            // A zero divisor in the last row, which the last chunk runs.
            ys[n * 256 - 5] = 0.0;
            let y = Tensor::convert_f64(DType::I32, vec![n, 256], &ys).unwrap();
            let err = c.jit.run("div", &[x.clone(), y]).unwrap_err();
            assert!(err.message.contains("integer division by zero"), "{threads} threads: {}", err.message);
            ys[n * 256 - 5] = 3.0;
        });
    }
}
