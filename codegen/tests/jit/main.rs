//! Differential tests of the LLVM back end: graph functions lowered by
//! `lower-to-kernel`, compiled by the JIT and run on host tensors, against
//! the graph dialect's reference evaluator on the same inputs, within a
//! tolerance stated per test: the cases shared with the kernel
//! interpreter's tests (`cases`), and what only the JIT has (status bits,
//! threads, the GEMM, LLVM IR, timings). One binary, since each test
//! binary links LLVM.

mod cases;
mod constants;
mod elementwise;
mod dot;
mod errors;
mod gemm_timing;
mod gather;
mod harness;
mod ir;
mod parallel;
mod timing;
