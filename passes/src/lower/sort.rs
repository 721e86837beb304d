//! `tg.sort` and `tg.topk` by ranking: a parallel nest over the operand
//! and, for each element, a sequential loop over its lane counting the
//! elements ordered before it (a stable order: ahead in value, NaN
//! counting as the largest, or equal and at a lower index). That count is
//! the element's position in the sorted lane, where it and its index are
//! stored (for `tg.topk` only when below `k`). Distinct elements have
//! distinct ranks, so no two iterations write one position. The cost is
//! quadratic in the lane's length: a direct form for short lanes.

use super::emit::Lowerer;
use tessera_ir::attr::{Attr, Attrs, Scalar};
use tessera_ir::dialect::graph::elementwise::{ADD, AND, GT, IS_NAN, LT, NOT, OR};
use tessera_ir::dialect::kernel::index::TO_INDEX;
use tessera_ir::dialect::kernel::scalar::{CAST, INDEX_CAST};
use tessera_ir::dialect::kernel::IndexOp;
use tessera_ir::infer::normalize_axis;
use tessera_ir::{DType, Diag, OpId, ValueId};

/// `tg.sort`.
pub(super) fn sort(l: &mut Lowerer<'_>, op: OpId, dests: &[ValueId]) -> Result<(), Diag> {
    let rank = l.tensor(l.src.op(op).operands[0])?.rank();
    let (axis, descending) = l.with_cx(op, |cx| {
        let axis = normalize_axis(cx.int_or("axis", -1)?, rank).map_err(|e| format!("attribute 'axis': {e}"))?;
        Ok((axis, cx.bool_or("descending", false)?))
    })?;
    ranked(l, op, dests, axis, descending, None)
}

/// `tg.topk`.
pub(super) fn topk(l: &mut Lowerer<'_>, op: OpId, dests: &[ValueId]) -> Result<(), Diag> {
    let rank = l.tensor(l.src.op(op).operands[0])?.rank();
    let (axis, largest, k) = l.with_cx(op, |cx| {
        let axis = normalize_axis(cx.int_or("axis", -1)?, rank).map_err(|e| format!("attribute 'axis': {e}"))?;
        Ok((axis, cx.bool_or("largest", true)?, cx.int("k")?))
    })?;
    ranked(l, op, dests, axis, largest, Some(k))
}

/// Whether `a` comes before `b` (both of `dtype`) in ascending order, NaN
/// last: `a < b`, or for floats also `isnan(b) && !isnan(a)`; descending
/// swaps them.
fn before(l: &mut Lowerer<'_>, a: ValueId, b: ValueId, dtype: DType, descending: bool) -> Result<ValueId, Diag> {
    let (a, b) = if descending { (b, a) } else { (a, b) };
    let less = l.apply(&LT, &[a, b])?;
    if !dtype.is_float() {
        return Ok(less);
    }
    let a_nan = l.apply(&IS_NAN, &[a])?;
    let a_number = l.apply(&NOT, &[a_nan])?;
    let b_nan = l.apply(&IS_NAN, &[b])?;
    let nan_after = l.apply(&AND, &[b_nan, a_number])?;
    l.apply(&OR, &[less, nan_after])
}

/// Writes each element of the operand and its index along `axis` at its
/// rank in its lane, into `dests[0]` and `dests[1]`, keeping the first
/// `keep` ranks when given.
fn ranked(
    l: &mut Lowerer<'_>,
    op: OpId,
    dests: &[ValueId],
    axis: usize,
    descending: bool,
    keep: Option<i64>,
) -> Result<(), Diag> {
    let &[values, indices] = dests else { return Err(l.op_error(op, "has other than 2 results")) };
    let x = l.src.op(op).operands[0];
    let xt = l.tensor(x)?;
    let bounds = l.extents(&xt.dims)?;
    let n = bounds[axis];
    let zero = l.scalar_const(Scalar::Int(DType::I64, 0), DType::I64)?;
    let as_i64 = Attrs::new().with("to", Attr::DType(DType::I64));
    l.nest(&bounds, true, "i", Vec::new(), &mut |l, ivs, _| {
        let j = l.emit1(&INDEX_CAST, &[ivs[axis]], as_i64.clone())?;
        let xj = l.element(x, ivs)?;
        let count = l.nest(&[n], false, "r", vec![zero], &mut |l, r, acc| {
            let mut at = ivs.to_vec();
            at[axis] = r[0];
            let xi = l.element(x, &at)?;
            let i = l.emit1(&INDEX_CAST, &[r[0]], as_i64.clone())?;
            let ahead = before(l, xi, xj, xt.dtype, descending)?;
            let behind = before(l, xj, xi, xt.dtype, descending)?;
            let tied = l.apply(&NOT, &[behind])?;
            let lower = l.apply(&GT, &[j, i])?;
            let tied_lower = l.apply(&AND, &[tied, lower])?;
            let counts = l.apply(&OR, &[ahead, tied_lower])?;
            let one = l.emit1(&CAST, &[counts], as_i64.clone())?;
            Ok(vec![l.apply(&ADD, &[acc[0], one])?])
        })?;
        let mut at = ivs.to_vec();
        at[axis] = l.emit1(&TO_INDEX, &[count[0], n], Attrs::new().with("axis", Attr::Int(axis as i64)))?;
        let write = |l: &mut Lowerer<'_>| -> Result<(), Diag> {
            l.store(xj, values, &at)?;
            l.store(j, indices, &at)
        };
        match keep {
            None => write(l)?,
            Some(k) => {
                // One iteration when the rank is below k, else none.
                let k = l.index_const(k)?;
                let room = l.index_op(IndexOp::Sub, k, at[axis])?;
                let (zero, one) = (l.index_const(0)?, l.index_const(1)?);
                let room = l.index_op(IndexOp::Max, room, zero)?;
                let once = l.index_op(IndexOp::Min, room, one)?;
                l.nest(&[once], false, "kept", Vec::new(), &mut |l, _, _| {
                    write(l)?;
                    Ok(Vec::new())
                })?;
            }
        }
        Ok(Vec::new())
    })?;
    Ok(())
}
