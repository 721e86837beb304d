//! tessera-codegen: kernel-dialect functions to LLVM IR through inkwell,
//! optimised at O3 for the host CPU and run in-process (JIT).
//!
//! The input is a [`VerifiedModule`] whose functions are all kernel
//! functions (`tessera_ir::dialect::kernel`; `lower-to-kernel` in
//! `tessera-passes` produces them). [`JitModule::compile`] turns it into
//! machine code and [`JitModule::run`] calls a function on host
//! [`Tensor`](tessera_ir::tensor::Tensor)s; [`emit_llvm_ir`] prints the
//! LLVM IR, as translated or as optimised.
//!
//! # Calling convention
//!
//! Kernel function `@f` becomes the C function
//!
//! ```text
//! int32_t tessera_f(void *const *buffers, const int64_t *dims);
//! ```
//!
//! - `buffers[k]` points at the elements of argument `k` (the inputs, then
//!   the outputs, as `lower-to-kernel` orders them): row-major, each
//!   element in its dtype's little-endian encoding, `i1` as one byte 0 or
//!   1, `f16` and `bf16` as their 2-byte encodings. Buffers must not
//!   overlap; inputs are only read, outputs are written in full.
//! - `dims[j]` is the run-time size of the function's `j`-th symbolic dim:
//!   the distinct non-static dims of the argument types, then of the
//!   `k.alloc` results, in order of first appearance (so `N` and `2*N + 1`
//!   are separate entries, each computed by the caller). Generated code
//!   never evaluates a polynomial; static dims are constants in it.
//! - The result is 0, or status bits: 1 an integer division (or remainder,
//!   or `pow` of 0 to a negative power) by zero, 2 a temporary's allocation
//!   failed, 4 a loop step was not positive, 8 an index division by zero,
//!   16 an index read from a tensor (a gather's or scatter's) out of
//!   range, 32 the thread pool could not start (`abi.rs` lists every bit).
//!   Outputs are unspecified when it is not 0. Nothing aborts the process.
//!
//! Module parameters (`k.param`) are the external globals
//! `tessera.param.NAME`, which the JIT binds to a copy of each
//! parameter's value; literal buffers (`k.buffer_constant`) are private
//! constant globals. Temporaries (`k.alloc`) are `aligned_alloc(64, ...)`
//! calls freed when the function returns (memory planning comes later).
//!
//! # Code
//!
//! Each kernel op maps to LLVM directly (`translate.rs`): `k.for` becomes a
//! loop with phis for its index and carried values; a parallel loop is
//! marked with `llvm.loop.parallel_accesses` metadata and access groups on
//! its loads and stores (`metadata.rs`), so the vectoriser needs no alias
//! checks, and a top-level one with enough work (or an unknown trip count)
//! is outlined into a chunk function run on the runtime's thread pool
//! through `tessera_rt_parallel_for` (`parallel.rs`; the JIT binds it to
//! the `tessera-runtime` crate's function). `k.matmul` calls a GEMM
//! generated into the module per dtype: packed panels, an `MR × NR`
//! register-blocked FMA micro-kernel sized for the target's vector
//! registers (and smaller ones for few rows), cache blocking, tasks on the
//! thread pool, constant operands packed at compile time (`gemm/`). `k.apply` finds the scalar emitter
//! of its graph op in a table (`apply.rs`); casts follow the reference
//! evaluator bit for bit, with saturating float-to-integer conversion
//! (`cast.rs`). How each dtype is held in registers and memory, and how
//! `f16`/`bf16` are computed in `f32`, is in `emit.rs`. A kernel op or
//! graph op the back end cannot translate is an error naming it, located
//! at the op, never a panic.
//!
//! The module is optimised by LLVM's new pass manager (`default<O3>`,
//! loop and SLP vectorisation on) for the host's CPU and features,
//! detected at run time (`target.rs`), and compiled by MCJIT.
//!
//! # Testing
//!
//! `tests/jit/` (one binary, since each links LLVM) runs graph functions
//! through `lower-to-kernel` and the JIT and compares the outputs with the
//! graph dialect's reference evaluator.

mod abi;
mod apply;
mod cast;
mod emit;
mod gemm;
mod jit;
pub mod library;
mod metadata;
mod parallel;
mod target;
mod translate;

pub use jit::JitModule;
pub use library::{Library, LibraryOptions};

use inkwell::context::Context;
use tessera_ir::verify::VerifiedModule;
use tessera_ir::{Diag, Diags, Loc};

/// Which LLVM IR [`emit_llvm_ir`] prints.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum IrStage {
    /// As translated from the kernel dialect, before any optimisation and
    /// without target attributes (the same on every machine).
    Translated,
    /// After the O3 pipeline for this machine's CPU (what the JIT compiles).
    Optimized,
}

/// The LLVM IR of every function of `module` (all kernel functions), at
/// `stage`, as text.
pub fn emit_llvm_ir(module: &VerifiedModule, stage: IrStage) -> Result<String, Diags> {
    let cx = Context::create();
    let host = match stage {
        IrStage::Translated => None,
        IrStage::Optimized => Some(target::Host::detect().map_err(|m| Diag::error(Loc::Unknown, m))?),
    };
    let simd = host.as_ref().map_or(target::Simd::Sse2, target::Host::simd);
    let t = translate::translate(&cx, module.module(), simd)?;
    if let Some(host) = host {
        host.prepare(&t.module);
        host.optimize(&t.module).map_err(|m| Diag::error(Loc::Unknown, m))?;
    }
    Ok(t.module.print_to_string().to_string())
}
