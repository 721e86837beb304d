//! Contraction over buffers: `k.matmul`, the batched matrix product that
//! back ends turn into a packed, register-blocked GEMM rather than a loop
//! nest.
//!
//! ```text
//! k.matmul %a, %b, %c {lhs_batch = [0], rhs_batch = [0], lhs_contract = [2], rhs_contract = [1]}
//! ```
//!
//! The axes are named as `tg.dot` names them: `%a`'s axes are its batch
//! axes, its contracting axes and its free (`M`) axes; `%b`'s its batch,
//! contracting and free (`N`) axes; `%c` holds the batch dims, then `%a`'s
//! free dims, then `%b`'s, row-major (exactly `tg.dot`'s result). Every
//! group of axes must be a run of consecutive axes of its buffer, in
//! increasing order, so that each group is one strided dimension: `%a` is
//! then a strided `[batch, M, K]` view, `%b` a strided `[batch, K, N]` view
//! (any of these transposed), and no copy is needed. One operand may have
//! no batch axes while the other has some: it is then shared by every
//! batch (a convolution's filter against each image's patches), and `%c`'s
//! batch dims are the other operand's. The op writes `C[b, m,
//! n] = sum_k A[b, m, k] * B[b, k, n]`, or adds that sum to `C` with
//! `accumulate = true`. Operands are f32 or f64, all of one dtype; how the
//! sum is ordered (and fused) is the back end's choice.

use super::buffer;
use crate::infer::{normalize_axes, InferCx};
use crate::op::{Arity, AttrKind, AttrSpec, OpDef, OpSpec, Traits};
use crate::types::{TensorType, Type};
use crate::DType;

/// The axes of one `k.matmul` operand, each group a run of consecutive axes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatmulAxes {
    /// The batch axes.
    pub batch: Vec<usize>,
    /// The free axes (`M` for the lhs, `N` for the rhs), in order.
    pub free: Vec<usize>,
    /// The contracting axes.
    pub contract: Vec<usize>,
}

impl MatmulAxes {
    /// The groups of an operand of rank `rank` with the given batch and
    /// contracting axes; the free axes are the others, in order.
    pub fn new(rank: usize, batch: Vec<usize>, contract: Vec<usize>) -> MatmulAxes {
        let free = (0..rank).filter(|a| !batch.contains(a) && !contract.contains(a)).collect();
        MatmulAxes { batch, free, contract }
    }

    /// Whether every group is a run of consecutive axes in increasing order.
    pub fn is_strided(&self) -> bool {
        [&self.batch, &self.free, &self.contract].iter().all(|g| g.windows(2).all(|w| w[1] == w[0] + 1))
    }
}

/// Reads and checks `k.matmul`'s axis attributes against its operands:
/// the lhs's and the rhs's groups, in that order.
pub fn matmul_axes(cx: &InferCx) -> Result<(MatmulAxes, MatmulAxes), String> {
    let (a, b) = (buffer(cx, 0)?, buffer(cx, 1)?);
    let read = |name: &str, t: &TensorType, required: bool| -> Result<Vec<usize>, String> {
        let v = if required { cx.ints(name)? } else { cx.ints_or(name, Vec::new())? };
        normalize_axes(&v, t.rank()).map_err(|e| format!("attribute '{name}': {e}"))
    };
    let lhs = MatmulAxes::new(a.rank(), read("lhs_batch", a, false)?, read("lhs_contract", a, true)?);
    let rhs = MatmulAxes::new(b.rank(), read("rhs_batch", b, false)?, read("rhs_contract", b, true)?);
    for (side, g) in [("lhs", &lhs), ("rhs", &rhs)] {
        if let Some(x) = g.batch.iter().find(|x| g.contract.contains(x)) {
            return Err(format!("{side} axis {x} is both a batch and a contracting axis"));
        }
        if !g.is_strided() {
            return Err(format!(
                "{side}'s batch axes {:?}, free axes {:?} and contracting axes {:?} must each be consecutive and increasing",
                g.batch, g.free, g.contract
            ));
        }
    }
    let shared = lhs.batch.is_empty() || rhs.batch.is_empty();
    for (what, l, r) in [("batch", &lhs.batch, &rhs.batch), ("contracting", &lhs.contract, &rhs.contract)] {
        if what == "batch" && shared {
            continue;
        }
        if l.len() != r.len() {
            return Err(format!("lhs and rhs have {} and {} {what} axes", l.len(), r.len()));
        }
        for (&x, &y) in l.iter().zip(r) {
            if a.dims[x] != b.dims[y] {
                let (dx, dy) = (&a.dims[x], &b.dims[y]);
                return Err(format!("{what} axes differ: lhs axis {x} is {dx} but rhs axis {y} is {dy}"));
            }
        }
    }
    Ok((lhs, rhs))
}

/// `k.matmul %a, %b, %c {lhs_contract = [1], rhs_contract = [0]}`: writes
/// (or with `accumulate`, adds) the batched product of `%a` and `%b` into `%c`.
pub struct Matmul;

impl OpDef for Matmul {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec = OpSpec::new("k.matmul", "C (+)= batched A x B over buffers, each axis group one strided dim")
            .traits(Traits::NONE)
            .operands(Arity::Exactly(3))
            .results(Arity::Exactly(0))
            .attrs(&[
                AttrSpec::opt("lhs_batch", AttrKind::Ints),
                AttrSpec::opt("rhs_batch", AttrKind::Ints),
                AttrSpec::req("lhs_contract", AttrKind::Ints),
                AttrSpec::req("rhs_contract", AttrKind::Ints),
                AttrSpec::opt("accumulate", AttrKind::Bool),
            ]);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let (a, b, c) = (buffer(cx, 0)?, buffer(cx, 1)?, buffer(cx, 2)?);
        cx.bool_or("accumulate", false)?;
        if !matches!(a.dtype, DType::F32 | DType::F64) || a.dtype != b.dtype || a.dtype != c.dtype {
            return Err(format!("operands must all be f32 or all f64, got {}, {} and {}", a.dtype, b.dtype, c.dtype));
        }
        let (lhs, rhs) = matmul_axes(cx)?;
        let mut dims: Vec<_> = if lhs.batch.is_empty() {
            rhs.batch.iter().map(|&x| b.dims[x].clone()).collect()
        } else {
            lhs.batch.iter().map(|&x| a.dims[x].clone()).collect()
        };
        dims.extend(lhs.free.iter().map(|&x| a.dims[x].clone()));
        dims.extend(rhs.free.iter().map(|&x| b.dims[x].clone()));
        if c.dims != dims {
            let want = Type::Buffer(TensorType::new(dims, c.dtype));
            return Err(format!("the result buffer must be {want}, got {}", Type::Buffer(c.clone())));
        }
        Ok(Vec::new())
    }
}

/// The `k.matmul` op.
pub static MATMUL: Matmul = Matmul;
