//! The graph dialect (`tg.`): value-semantics tensor primitives shared by
//! the ONNX importer, the `.tsr` language, autodiff and lowering.
//!
//! Ops are grouped by family, one file each; every op is a `static` that
//! implements [`crate::op::OpDef`]. ONNX operators that are compositions
//! (Gemm, Softmax, LayerNormalization, ...) are not here: they decompose
//! into these primitives on import.

mod build;
pub mod control;
pub mod elementwise;
pub mod index;
pub mod layout;
pub(crate) mod kernels;
pub mod linalg;
pub mod mode;
pub mod reduce;
pub mod shape;
pub mod sort;
#[cfg(test)]
mod testing;
pub mod value;
pub mod vjp;
pub mod window;

use crate::op::OpRef;

/// Every graph-dialect op.
pub fn ops() -> impl Iterator<Item = OpRef> {
    [
        elementwise::OPS,
        reduce::OPS,
        shape::OPS,
        index::OPS,
        linalg::OPS,
        window::OPS,
        sort::OPS,
        value::OPS,
        control::OPS,
        mode::OPS,
    ]
    .into_iter()
    .flatten()
    .copied()
}
