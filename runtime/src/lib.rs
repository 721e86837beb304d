//! tessera-runtime: what generated code links against.
//!
//! Code that tessera generates — JIT-compiled in process or packaged as a C
//! library — calls into this crate for the few things that are not worth
//! generating: aligned memory, a thread pool, argument checking with
//! readable errors, and (with the `cuda` feature) CUDA devices and kernel
//! launches. It depends on no compiler crate, LLVM or MLIR, so a generated
//! library carries only this.
//!
//! | module | owns |
//! | --- | --- |
//! | [`error`] | [`Status`] codes (stable numbers) and [`RuntimeError`] |
//! | [`dtype`] | [`DType`]: element types with ONNX's numeric codes |
//! | [`buffer`] | [`AlignedBuf`] (64-byte aligned), raw alloc/free, checked sizes |
//! | [`pool`] | the thread pool and [`parallel_for`] with its chunking policy |
//! | [`context`] | [`Context`]: a caller's last error and workspace |
//! | [`check`] | [`check_args`]: tensors against a signature with symbolic dims |
//! | [`ffi`] | the C ABI, `tessera_rt_*`, declared in `include/tessera_rt.h` |
//! | [`model`] | compiled models' descriptors and `tessera_rt_model_*`: check, run |
//! | `cuda` | (feature `cuda`) devices, PTX modules, kernel launches via cudarc |
//!
//! Rust callers use the modules directly; C callers and generated code use
//! [`ffi`], whose functions never unwind, check every pointer, and report
//! failures as a status code plus a message in the caller's context.

pub mod buffer;
pub mod check;
pub mod context;
#[cfg(feature = "cuda")]
pub mod cuda;
pub mod dtype;
pub mod error;
pub mod ffi;
pub mod model;
pub mod pool;

pub use buffer::AlignedBuf;
pub use check::{check_args, Dim, DimKind, Role, Signature, TensorArg, TensorSpec};
pub use context::Context;
pub use dtype::DType;
pub use error::{RuntimeError, Status};
pub use pool::parallel_for;
