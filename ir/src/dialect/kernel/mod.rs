//! The kernel dialect (`k.`): destination-passing loop nests over explicit
//! buffers, the level code generation starts from.
//!
//! A kernel function takes one `buffer<...>` argument per input and then one
//! per output (the lowering's calling convention), returns nothing, and
//! writes its results into the output buffers. Its body holds loop nests of
//! `k.for`, loads and stores, scalar arithmetic and index arithmetic:
//!
//! ```text
//! func @scale(%x: buffer<N x 4 x f32>, %out0: buffer<N x 4 x f32>) {
//!   %N = k.dim %x {axis = 0} : index
//!   %c0 = k.index_constant {value = 0} : index
//!   %c1 = k.index_constant {value = 1} : index
//!   %c4 = k.index_constant {value = 4} : index
//!   %two = k.constant {value = dense<2.0> : tensor<f32>} : f32
//!   k.for %c0, %N, %c1 {parallel = true} {
//!   ^bb0(%i0: index):
//!     k.for %c0, %c4, %c1 {parallel = true} {
//!     ^bb1(%i1: index):
//!       %0 = k.load %x, %i0, %i1 : f32
//!       %1 = k.apply %0, %two {fn = "tg.mul"} : f32
//!       k.store %1, %out0, %i0, %i1
//!       tg.yield
//!     }
//!     tg.yield
//!   }
//!   tg.return
//! }
//! ```
//!
//! (`tests/fixtures/ops/kernel/loops.tir` holds this function, checked by
//! the test suite.) Values have one of three kinds of type: `buffer<dims x dtype>` (memory,
//! row-major, dims static or symbolic), `index` (a signed 64-bit loop
//! counter or extent), or a scalar dtype (`f32`, `i1`, ...: one element).
//!
//! The ops, each declared beside its shape inference:
//! - memory ([`memory`]): `k.dim` (an extent), `k.alloc` (a temporary),
//!   `k.view` (a buffer inside a `u8` arena, at a byte offset: what memory
//!   planning turns temporaries into), `k.buffer_constant` (read-only literal data), `k.param` (a module
//!   parameter, read-only), `k.load`, `k.store`;
//! - scalars ([`scalar`]): `k.constant`, `k.apply` (a graph-dialect
//!   elementwise op applied to scalars, so each scalar function is defined
//!   once, by its graph op), `k.cast`, `k.bitcast` (`tg.cast` and
//!   `tg.bitcast` of a scalar), `k.index_cast` (an index as a scalar);
//! - indices ([`index`]): `k.index_constant`, `k.index_{add, sub, mul,
//!   div, rem, min, max}`, and `k.to_index` (an integer scalar read from
//!   memory as an index into an axis, negative counting from the end,
//!   out of range an error at run time);
//! - loops ([`loops`]): `k.for`, counting from a lower to an upper bound
//!   by a positive step, with optional carried scalars (reductions) and a
//!   `parallel` flag: its iterations are independent and may run in any
//!   order or at once (thread-pool chunks on the CPU, grid indices on a GPU);
//! - control ([`control`]): `k.if` (one of two regions on an `i1` scalar)
//!   and `k.while` (runs while a flag it carries holds), what the graph
//!   dialect's `tg.if` and `tg.loop` become;
//! - contraction ([`linalg`]): `k.matmul`, a batched matrix product over
//!   strided buffer views, which back ends make a blocked GEMM.
//!
//! Function bodies end with `tg.return` and loop bodies with `tg.yield`:
//! the structural terminators are shared by both dialects, so the verifier
//! checks kernel functions exactly like graph functions.
//!
//! Every back end translates each kernel op mechanically; [`KernelOp`]
//! names them as a closed enum so a translation written as an exhaustive
//! `match` stops compiling when an op is added here.

pub mod control;
pub mod index;
pub mod linalg;
pub mod loops;
pub mod memory;
pub mod scalar;

use crate::dtype::DType;
use crate::infer::InferCx;
use crate::op::{same_op, OpRef};
use crate::types::{TensorType, Type};
pub use index::IndexOp;

/// What a kernel op does, for back ends and interpreters that handle every
/// kernel op (the terminators `tg.return` and `tg.yield` aside).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum KernelOp {
    /// `k.dim`: the extent of one axis of a buffer.
    Dim,
    /// `k.alloc`: a new temporary buffer.
    Alloc,
    /// `k.view`: a buffer inside an arena, at a byte offset.
    View,
    /// `k.buffer_constant`: a read-only buffer holding literal data.
    BufferConstant,
    /// `k.param`: a module parameter as a read-only buffer.
    Param,
    /// `k.load`: one element of a buffer.
    Load,
    /// `k.store`: writes one element of a buffer.
    Store,
    /// `k.constant`: a scalar literal.
    Constant,
    /// `k.apply`: a graph elementwise op applied to scalars.
    Apply,
    /// `k.cast`: converts a scalar to another dtype.
    Cast,
    /// `k.bitcast`: reads a scalar's bytes as another dtype of the same size.
    Bitcast,
    /// `k.index_cast`: converts an index to a scalar.
    IndexCast,
    /// `k.index_constant`: an index literal.
    IndexConstant,
    /// `k.index_*`: arithmetic on indices.
    Index(IndexOp),
    /// `k.to_index`: an integer scalar as a checked index into an axis.
    ToIndex,
    /// `k.for`: a counted loop.
    For,
    /// `k.if`: one of two regions.
    If,
    /// `k.while`: a loop on a carried flag.
    While,
    /// `k.matmul`: a batched matrix product over buffers.
    Matmul,
}

/// Every kernel-dialect op with what it does.
static KINDS: &[(OpRef, KernelOp)] = &[
    (&memory::DIM, KernelOp::Dim),
    (&memory::ALLOC, KernelOp::Alloc),
    (&memory::VIEW, KernelOp::View),
    (&memory::BUFFER_CONSTANT, KernelOp::BufferConstant),
    (&memory::PARAM, KernelOp::Param),
    (&memory::LOAD, KernelOp::Load),
    (&memory::STORE, KernelOp::Store),
    (&scalar::CONSTANT, KernelOp::Constant),
    (&scalar::APPLY, KernelOp::Apply),
    (&scalar::CAST, KernelOp::Cast),
    (&scalar::BITCAST, KernelOp::Bitcast),
    (&scalar::INDEX_CAST, KernelOp::IndexCast),
    (&index::INDEX_CONSTANT, KernelOp::IndexConstant),
    (&index::INDEX_ADD, KernelOp::Index(IndexOp::Add)),
    (&index::INDEX_SUB, KernelOp::Index(IndexOp::Sub)),
    (&index::INDEX_MUL, KernelOp::Index(IndexOp::Mul)),
    (&index::INDEX_DIV, KernelOp::Index(IndexOp::Div)),
    (&index::INDEX_REM, KernelOp::Index(IndexOp::Rem)),
    (&index::INDEX_MIN, KernelOp::Index(IndexOp::Min)),
    (&index::INDEX_MAX, KernelOp::Index(IndexOp::Max)),
    (&index::TO_INDEX, KernelOp::ToIndex),
    (&loops::FOR, KernelOp::For),
    (&control::IF, KernelOp::If),
    (&control::WHILE, KernelOp::While),
    (&linalg::MATMUL, KernelOp::Matmul),
];

/// Every kernel-dialect op.
pub fn ops() -> impl Iterator<Item = OpRef> {
    KINDS.iter().map(|(op, _)| *op)
}

/// What `def` does, when it is a kernel-dialect op.
pub fn kind(def: OpRef) -> Option<KernelOp> {
    KINDS.iter().find(|(op, _)| same_op(*op, def)).map(|(_, k)| *k)
}

/// Operand `i` as a buffer.
fn buffer<'a>(cx: &InferCx<'a>, i: usize) -> Result<&'a TensorType, String> {
    match cx.operands.get(i) {
        Some(Type::Buffer(t)) => Ok(t),
        Some(other) => Err(format!("operand #{i} must be a buffer, got {other}")),
        None => Err(format!("missing operand #{i}")),
    }
}

/// Operand `i` as a scalar; returns its dtype.
fn scalar_operand(cx: &InferCx, i: usize) -> Result<DType, String> {
    match cx.operands.get(i) {
        Some(Type::Scalar(d)) => Ok(*d),
        Some(other) => Err(format!("operand #{i} must be a scalar, got {other}")),
        None => Err(format!("missing operand #{i}")),
    }
}

/// Checks that operands `from..` are all `index`.
fn indices_from(cx: &InferCx, from: usize) -> Result<(), String> {
    for (i, t) in cx.operands.iter().enumerate().skip(from) {
        if *t != Type::Index {
            return Err(format!("operand #{i} must be an index, got {t}"));
        }
    }
    Ok(())
}

/// `(index, f32)`, for diagnostics; `()` when empty.
fn list(types: &[Type]) -> String {
    let parts: Vec<String> = types.iter().map(Type::to_string).collect();
    format!("({})", parts.join(", "))
}
