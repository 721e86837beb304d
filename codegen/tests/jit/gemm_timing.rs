//! The GEMM's speed (printed; run with `cargo test -p tessera-codegen
//! gemm_timing -- --nocapture --test-threads 1`): GFLOP/s of
//! f32 matrix products, square 256, 512 and 1024 and the MLP layer
//! 64x784 by 784x256, on 1 and 2 threads, against the machine's peak and
//! against the naive loop nest (the same product written as a fused
//! multiply and sum, which lowers to the loop nest `tg.dot` used to get),
//! in the same process. Only correctness is asserted.
//!
//! Peak = cores × FMA units × f32 lanes × 2 flops × GHz, with the clock
//! measured (a chain of dependent additions, one per cycle; a virtual
//! machine's `/proc/cpuinfo` shows the nominal clock, not the boost the
//! cores run at), 2 FMA units per core (AMD Zen 4/5 and Intel server
//! cores) and 16 lanes with AVX-512, 8 with AVX2.

use crate::harness::{compile, lower, verified, Tol};
use std::time::Duration;
use tessera_passes::differential::{assert_same, Rng};
use tessera_passes::Evaluator;

/// FMA units per core assumed by the peak.
const FMA_UNITS: f64 = 2.0;

/// The clock in GHz while busy, measured: a chain of dependent integer
/// additions runs at one per cycle.
#[cfg(target_arch = "x86_64")]
fn measured_ghz() -> f64 {
    let iterations: u64 = 50_000_000;
    let best = (0..3)
        .map(|_| {
            let start = std::time::Instant::now();
            let (mut x, mut n) = (0u64, iterations);
            // SAFETY: register arithmetic only.
            unsafe {
                std::arch::asm!(
                    "2:",
                    "add {x}, 1", "add {x}, 1", "add {x}, 1", "add {x}, 1",
                    "add {x}, 1", "add {x}, 1", "add {x}, 1", "add {x}, 1",
                    "dec {n}",
                    "jnz 2b",
                    x = inout(reg) x,
                    n = inout(reg) n,
                    options(nomem, nostack),
                );
            }
            assert_eq!((x, n), (8 * iterations, 0));
            start.elapsed()
        })
        .min()
        .unwrap_or_default();
    8.0 * iterations as f64 / best.as_secs_f64() / 1e9
}

/// The machine's f32 peak in GFLOP/s per core, and how it was computed.
fn peak_per_core() -> (f64, String) {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let lanes = if info.contains(" avx512f") { 16.0 } else { 8.0 };
    let ghz = measured_ghz();
    let peak = FMA_UNITS * lanes * 2.0 * ghz;
    (peak, format!("{FMA_UNITS} FMA units x {lanes} f32 lanes x 2 flops x {ghz:.2} GHz (measured) = {peak:.1} GFLOP/s per core"))
}

/// The fastest kernel time of `runs` calls of `name` on `inputs`.
fn fastest(jit: &tessera_codegen::JitModule, name: &str, inputs: &[tessera_ir::tensor::Tensor], runs: usize) -> Duration {
    (0..runs).map(|_| jit.run_timed(name, inputs).unwrap().1).min().unwrap_or_default()
}

/// `C = A × B` for `A` m×k and `B` k×n, as `tg.dot` (`@gemm`) and as a
/// multiply and sum (`@naive`).
fn product(m: usize, k: usize, n: usize) -> String {
    format!(
        "func @gemm(%a: tensor<{m}x{k}xf32>, %b: tensor<{k}x{n}xf32>) -> tensor<{m}x{n}xf32> {{
  %d = tg.dot %a, %b {{lhs_contract = [1], rhs_contract = [0]}}
  tg.return %d
}}
func @naive(%a: tensor<{m}x{k}xf32>, %b: tensor<{k}x{n}xf32>) -> tensor<{m}x{n}xf32> {{
  %a3 = tg.reshape %a {{shape = [{m}, {k}, 1]}}
  %p = tg.mul %a3, %b
  %s = tg.reduce_sum %p {{axes = [1]}}
  tg.return %s
}}"
    )
}

#[test]
fn gemm_gflops_against_peak_and_the_naive_loops() {
    let (peak, how) = peak_per_core();
    println!("peak: {how}");
    for (m, k, n) in [(256, 256, 256), (512, 512, 512), (1024, 1024, 1024), (64, 784, 256)] {
        let graph = verified(&product(m, k, n));
        let jit = compile(&lower(&graph));
        let inputs = Rng(7).inputs(graph.module().func("gemm").unwrap(), &[]);
        let flops = 2.0 * (m * k * n) as f64;
        let gflops = |d: Duration| flops / d.as_secs_f64() / 1e9;
        let runs = if m * k * n > 100_000_000 { 5 } else { 20 };
        let mut row = format!("{m}x{k} by {k}x{n}:");
        for threads in [1, 2] {
            tessera_runtime::pool::set_num_threads(threads).unwrap();
            let t = fastest(&jit, "gemm", &inputs, runs);
            let g = gflops(t);
            row += &format!("  {threads}T {:>8.2?} {g:>6.1} GFLOP/s ({:>3.0}% of peak)", t, 100.0 * g / (peak * threads as f64));
        }
        if m * k * n <= 512 * 512 * 512 {
            let t = fastest(&jit, "naive", &inputs, 1);
            row += &format!("  naive 2T {:>8.2?} {:>5.2} GFLOP/s", t, gflops(t));
        }
        tessera_runtime::pool::set_num_threads(0).unwrap();
        println!("{row}");
        // Against the reference where it is quick; else against the naive
        // loops, whose f32 sums round at every step (hence the wider tolerance).
        let (expected, tol) = if m * k * n <= 256 * 256 * 256 {
            (Evaluator::new(&graph).run("gemm", inputs.clone()).unwrap(), Tol::Close { rtol: 1e-4, atol: 1e-4 })
        } else {
            (jit.run("naive", &inputs).unwrap(), Tol::Close { rtol: 1e-3, atol: 1e-3 })
        };
        let actual = jit.run("gemm", &inputs).unwrap();
        assert_same("gemm", "timing", &actual, &expected, tol, &|| String::new());
    }
}
