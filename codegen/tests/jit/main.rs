//! Differential tests of the LLVM back end: graph functions lowered by
//! `lower-to-kernel`, compiled by the JIT and run on host tensors, against
//! the graph dialect's reference evaluator on the same inputs, within a
//! tolerance stated per test. One binary, since each test binary links
//! LLVM. Shapes are odd (1, 3, 7, 17, 33) or empty, symbols are bound to 1
//! and 5, broadcasting comes in every position.

mod bitcast;
mod elementwise;
mod dot;
mod errors;
mod gemm_timing;
mod gather;
mod harness;
mod ir;
mod parallel;
mod pads;
mod reduce;
mod scan;
mod shape_of;
mod shapes;
mod timing;
mod window;
