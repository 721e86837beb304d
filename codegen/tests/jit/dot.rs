//! `tg.dot` through `k.matmul` and the generated GEMM, against the
//! reference evaluator: every size from 1 to 257 in each of M, N and K
//! (symbolic, so one compilation serves them), every transposition, batch
//! axes in and out of place (copied when not a run), several contracting
//! axes, empty dims, f32 and f64, on 1, 2 and 3 threads.

use crate::harness::{lower, verified, Compiled, Tol, F32_SUM};
use crate::parallel::with_threads;
use tessera_codegen::{emit_llvm_ir, IrStage};

/// f32 products of up to 257 terms, summed in blocks with FMAs, against
/// the reference's f64 sum.
const F32_DOT: Tol = Tol::Close { rtol: 1e-4, atol: 1e-4 };
/// The same in f64.
const F64_DOT: Tol = Tol::Close { rtol: 1e-12, atol: 1e-12 };

/// `@nn`, `@nt`, `@tn` and `@tt`: `A × B` with `A` stored `M x K` or
/// `K x M` and `B` stored `K x N` or `N x K`, in dtype `d`.
fn transpositions(d: &str) -> String {
    let mut src = String::new();
    for (name, a, b, lc, rc) in [
        ("nn", "M x K", "K x N", 1, 0),
        ("nt", "M x K", "N x K", 1, 1),
        ("tn", "K x M", "K x N", 0, 0),
        ("tt", "K x M", "N x K", 0, 1),
    ] {
        src += &format!(
            "func @{name}(%a: tensor<{a} x {d}>, %b: tensor<{b} x {d}>) -> tensor<M x N x {d}> {{
  %c = tg.dot %a, %b {{lhs_contract = [{lc}], rhs_contract = [{rc}]}}
  tg.return %c
}}
"
        );
    }
    src
}

/// The (M, N, K) cases: every pair of small sizes, and each large size in
/// each position.
fn sizes() -> Vec<[i64; 3]> {
    let small = [1, 3, 7, 17, 33];
    let mut out = Vec::new();
    for &m in &small {
        for &n in &small {
            out.push([m, n, small[(m as usize + n as usize) % small.len()]]);
        }
    }
    for big in [100, 257] {
        out.extend([[big, 17, 33], [33, big, 17], [17, 33, big]]);
    }
    out.extend([[257, 257, 257], [0, 5, 3], [5, 0, 3], [5, 3, 0], [0, 0, 0]]);
    out
}

#[test]
fn every_size_and_transposition_in_f32_and_f64() {
    for (dtype, tol) in [("f32", F32_DOT), ("f64", F64_DOT)] {
        let c = Compiled::new(&transpositions(dtype));
        for [m, n, k] in sizes() {
            for name in ["nn", "nt", "tn", "tt"] {
                c.check(name, &[("M", m), ("N", n), ("K", k)], tol);
            }
        }
    }
}

#[test]
fn batches_and_several_contracting_axes() {
    let src = "func @front(%a: tensor<B x M x 7 x f32>, %b: tensor<B x 7 x 33 x f32>) -> tensor<B x M x 33 x f32> {
  %c = tg.dot %a, %b {lhs_batch = [0], rhs_batch = [0], lhs_contract = [2], rhs_contract = [1]}
  tg.return %c
}
func @middle(%a: tensor<M x B x 17 x f64>, %b: tensor<17 x B x 5 x f64>) -> tensor<B x M x 5 x f64> {
  %c = tg.dot %a, %b {lhs_batch = [1], rhs_batch = [1], lhs_contract = [2], rhs_contract = [0]}
  tg.return %c
}
func @two_batches(%a: tensor<2 x 3 x M x 9 x f32>, %b: tensor<3 x 2 x 9 x 4 x f32>) -> tensor<2 x 3 x M x 4 x f32> {
  %c = tg.dot %a, %b {lhs_batch = [0, 1], rhs_batch = [1, 0], lhs_contract = [3], rhs_contract = [2]}
  tg.return %c
}
func @two_contracting(%a: tensor<M x 3 x 5 x f32>, %b: tensor<5 x 3 x 7 x f32>) -> tensor<M x 7 x f32> {
  %c = tg.dot %a, %b {lhs_contract = [2, 1], rhs_contract = [0, 1]}
  tg.return %c
}
func @vector(%a: tensor<K x f32>, %b: tensor<K x f32>) -> tensor<f32> {
  %c = tg.dot %a, %b {lhs_contract = [0], rhs_contract = [0]}
  tg.return %c
}";
    let c = Compiled::new(src);
    for (b, m) in [(1, 1), (3, 17), (2, 33), (0, 5), (4, 0)] {
        c.check("front", &[("B", b), ("M", m)], F32_DOT);
        c.check("middle", &[("B", b), ("M", m)], F64_DOT);
        c.check("two_batches", &[("M", m)], F32_DOT);
        c.check("two_contracting", &[("M", m)], F32_DOT);
    }
    for k in [0, 1, 7, 257] {
        c.check("vector", &[("K", k)], F32_DOT);
    }
}

#[test]
fn a_larger_dot() {
    let src = "func @mm(%a: tensor<64x96xf32>, %b: tensor<96x80xf32>) -> tensor<64x80xf32> {
  %d = tg.dot %a, %b {lhs_contract = [1], rhs_contract = [0]}
  tg.return %d
}";
    Compiled::new(src).check("mm", &[], F32_SUM);
}

#[test]
fn products_on_one_two_and_three_threads() {
    let c = Compiled::new(&transpositions("f32"));
    for threads in [1, 2, 3] {
        with_threads(threads, || {
            for [m, n, k] in [[257, 257, 257], [100, 33, 257], [1, 257, 100], [64, 256, 200]] {
                for name in ["nn", "tt"] {
                    c.check(name, &[("M", m), ("N", n), ("K", k)], F32_DOT);
                }
            }
        });
    }
}

#[test]
fn the_micro_kernel_is_vector_fmas_of_the_widest_registers() {
    let ir = emit_llvm_ir(&lower(&verified(&transpositions("f32"))), IrStage::Optimized).unwrap();
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let width = if info.contains(" avx512f") {
        "v16f32"
    } else if info.contains(" avx2") && info.contains(" fma") {
        "v8f32"
    } else {
        "v4f32"
    };
    assert!(ir.contains(&format!("@llvm.fmuladd.{width}")), "no {width} multiply-adds:\n{ir}");
    let translated = emit_llvm_ir(&lower(&verified(&transpositions("f32"))), IrStage::Translated).unwrap();
    let gemms = translated.matches("define internal i32 @tessera.gemm.f32(").count();
    assert_eq!(gemms, 1, "one GEMM per dtype serves every transposition");
}
