//! Walks along one axis: `tg.argmax`/`tg.argmin` and the running
//! `tg.cumsum`/`tg.cumprod`. Each is a parallel nest over the other axes
//! and, inside, a sequential loop along the axis carrying its state.
//!
//! An arg-reduction carries the best value so far (starting from the
//! identity of max or min, which no element beats) and its index as an
//! `i64`; element `k` replaces them when it beats the best (`>` or `<`,
//! NaN beating every number and nothing beating NaN, as in the reference),
//! or, with `select_last_index`, when the best does not beat it. A running
//! reduction carries the accumulator (f32 for f16 and bf16) and stores it
//! after (or, `exclusive`, before) combining each element, walking the
//! axis backwards with `reverse`.

use super::emit::{accumulator, Lowerer};
use super::reduce::{highest, lowest};
use tessera_ir::attr::{Attr, Attrs, Scalar};
use tessera_ir::dialect::graph::elementwise::{ADD, AND, GT, IS_NAN, LT, MUL, NOT, OR, SELECT};
use tessera_ir::dialect::kernel::scalar::INDEX_CAST;
use tessera_ir::dialect::kernel::IndexOp;
use tessera_ir::{DType, Diag, Dim, OpId, OpRef, ValueId};

/// `tg.argmax`.
pub(super) fn argmax(l: &mut Lowerer<'_>, op: OpId, dest: ValueId) -> Result<(), Diag> {
    arg_extreme(l, op, dest, true)
}

/// `tg.argmin`.
pub(super) fn argmin(l: &mut Lowerer<'_>, op: OpId, dest: ValueId) -> Result<(), Diag> {
    arg_extreme(l, op, dest, false)
}

/// Whether `a` beats `b` (both of `dtype`): `a > b` (`largest`) or `a <
/// b`, and for floats `!isnan(b) && (isnan(a) || a > b)`.
fn beats(l: &mut Lowerer<'_>, a: ValueId, b: ValueId, dtype: DType, largest: bool) -> Result<ValueId, Diag> {
    let cmp: OpRef = if largest { &GT } else { &LT };
    let better = l.apply(cmp, &[a, b])?;
    if !dtype.is_float() {
        return Ok(better);
    }
    let a_nan = l.apply(&IS_NAN, &[a])?;
    let b_nan = l.apply(&IS_NAN, &[b])?;
    let b_number = l.apply(&NOT, &[b_nan])?;
    let better = l.apply(&OR, &[a_nan, better])?;
    l.apply(&AND, &[b_number, better])
}

/// The index of the largest (`largest`) or smallest element along the axis.
fn arg_extreme(l: &mut Lowerer<'_>, op: OpId, dest: ValueId, largest: bool) -> Result<(), Diag> {
    let x = l.src.op(op).operands[0];
    let xt = l.tensor(x)?;
    let (axis, keepdims, last) = l.with_cx(op, |cx| {
        Ok((cx.axis("axis", xt.rank())?, cx.bool_or("keepdims", false)?, cx.bool_or("select_last_index", false)?))
    })?;
    let out = l.extents(&l.tensor(l.result(op)?)?.dims)?;
    let n = l.dim(&xt.dims[axis])?;
    let worst = if largest { lowest(xt.dtype) } else { highest(xt.dtype) };
    let worst = l.scalar_const(worst, xt.dtype)?;
    let first = l.scalar_const(Scalar::Int(DType::I64, 0), DType::I64)?;
    l.nest(&out, true, "i", Vec::new(), &mut |l, ivs, _| {
        let best = l.nest(&[n], false, "r", vec![worst, first], &mut |l, k, acc| {
            let mut at = ivs.to_vec();
            if keepdims {
                at[axis] = k[0];
            } else {
                at.insert(axis, k[0]);
            }
            let v = l.element(x, &at)?;
            let mut take = beats(l, v, acc[0], xt.dtype, largest)?;
            if last {
                let kept = beats(l, acc[0], v, xt.dtype, largest)?;
                let not_kept = l.apply(&NOT, &[kept])?;
                take = l.apply(&OR, &[take, not_kept])?;
            }
            let k64 = l.emit1(&INDEX_CAST, &[k[0]], Attrs::new().with("to", Attr::DType(DType::I64)))?;
            Ok(vec![l.apply(&SELECT, &[take, v, acc[0]])?, l.apply(&SELECT, &[take, k64, acc[1]])?])
        })?;
        l.store(best[1], dest, ivs)?;
        Ok(Vec::new())
    })?;
    Ok(())
}

/// `tg.cumsum`.
pub(super) fn cumsum(l: &mut Lowerer<'_>, op: OpId, dest: ValueId) -> Result<(), Diag> {
    running(l, op, dest, &ADD, 0.0)
}

/// `tg.cumprod`.
pub(super) fn cumprod(l: &mut Lowerer<'_>, op: OpId, dest: ValueId) -> Result<(), Diag> {
    running(l, op, dest, &MUL, 1.0)
}

/// A running reduction combining with the graph op `combine` from `identity`.
fn running(l: &mut Lowerer<'_>, op: OpId, dest: ValueId, combine: OpRef, identity: f64) -> Result<(), Diag> {
    let x = l.src.op(op).operands[0];
    let xt = l.tensor(x)?;
    let (axis, exclusive, reverse) = l.with_cx(op, |cx| {
        Ok((cx.axis("axis", xt.rank())?, cx.bool_or("exclusive", false)?, cx.bool_or("reverse", false)?))
    })?;
    let mut others = xt.dims.clone();
    others.remove(axis);
    let others = l.extents(&others)?;
    let n = l.dim(&xt.dims[axis])?;
    // An empty static axis has no last position (and no iteration reads one).
    let last = match xt.dims[axis].add_const(-1) {
        Dim::Unknown => l.index_const(-1)?,
        d => l.dim(&d)?,
    };
    let acc_dtype = accumulator(xt.dtype);
    let init = l.scalar_const(Scalar::from_f64(acc_dtype, identity), acc_dtype)?;
    l.nest(&others, true, "i", Vec::new(), &mut |l, ivs, _| {
        l.nest(&[n], false, "r", vec![init], &mut |l, k, acc| {
            let at_axis = if reverse { l.index_op(IndexOp::Sub, last, k[0])? } else { k[0] };
            let mut at = ivs.to_vec();
            at.insert(axis, at_axis);
            let v = l.element(x, &at)?;
            let v = l.convert(v, xt.dtype, acc_dtype)?;
            let next = l.apply(combine, &[acc[0], v])?;
            let shown = l.convert(if exclusive { acc[0] } else { next }, acc_dtype, xt.dtype)?;
            l.store(shown, dest, &at)?;
            Ok(vec![next])
        })?;
        Ok(Vec::new())
    })?;
    Ok(())
}
