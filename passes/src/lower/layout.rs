//! Ops that place elements: `tg.broadcast_to`, `tg.transpose`,
//! `tg.reshape`, `tg.slice` and `tg.reverse` map each result index to one
//! operand index (so their readers compute them inline and no copy is made
//! unless they are materialised), and `tg.iota` computes its element from
//! its index; `tg.concat` and `tg.pad` write their destination with one
//! loop nest per part (reflect and edge padding with one nest over the
//! result), and `tg.shape_of` with one store per axis.

use super::emit::Lowerer;
use tessera_ir::attr::{Attr, Attrs};
use tessera_ir::dialect::graph::shape::{slice_axes, slice_range, SliceAxis, SLICE_TO_END};
use tessera_ir::dialect::kernel::scalar::INDEX_CAST;
use tessera_ir::dialect::kernel::IndexOp;
use tessera_ir::{Diag, Dim, OpId, ValueId};

/// `tg.broadcast_to`: numpy broadcasting, as for elementwise operands.
pub(super) fn broadcast_to(l: &mut Lowerer<'_>, op: OpId, idx: &[ValueId]) -> Result<ValueId, Diag> {
    let x = l.src.op(op).operands[0];
    let at = l.broadcast_index(&l.tensor(x)?.dims, idx)?;
    l.element(x, &at)
}

/// `tg.transpose`: result axis `i` is operand axis `perm[i]`.
pub(super) fn transpose(l: &mut Lowerer<'_>, op: OpId, idx: &[ValueId]) -> Result<ValueId, Diag> {
    let x = l.src.op(op).operands[0];
    let perm = l.with_cx(op, |cx| cx.ints("perm"))?;
    let mut at = vec![None; idx.len()];
    for (&p, &i) in perm.iter().zip(idx) {
        if let Some(slot) = usize::try_from(p).ok().and_then(|p| at.get_mut(p)) {
            *slot = Some(i);
        }
    }
    let at: Option<Vec<ValueId>> = at.into_iter().collect();
    let at = at.ok_or_else(|| l.op_error(op, format!("perm {perm:?} is not a permutation")))?;
    l.element(x, &at)
}

/// `tg.reverse`: position `i` of a reversed axis of size `n` reads `n - 1 - i`.
pub(super) fn reverse(l: &mut Lowerer<'_>, op: OpId, idx: &[ValueId]) -> Result<ValueId, Diag> {
    let x = l.src.op(op).operands[0];
    let dims = &l.tensor(x)?.dims;
    let axes = l.with_cx(op, |cx| cx.axes("axes", dims.len()))?;
    let mut at = idx.to_vec();
    for a in axes {
        // An empty static axis has no last position (and no iteration reads one).
        let last = match dims[a].add_const(-1) {
            Dim::Unknown => l.index_const(-1)?,
            d => l.dim(&d)?,
        };
        at[a] = l.index_op(IndexOp::Sub, last, idx[a])?;
    }
    l.element(x, &at)
}

/// `tg.iota`: each element is its index along `axis`, converted to the dtype.
pub(super) fn iota(l: &mut Lowerer<'_>, op: OpId, idx: &[ValueId]) -> Result<ValueId, Diag> {
    let (axis, dtype) = l.with_cx(op, |cx| Ok((cx.axis("axis", idx.len())?, cx.dtype("dtype")?)))?;
    l.emit1(&INDEX_CAST, &[idx[axis]], Attrs::new().with("to", Attr::DType(dtype)))
}

/// The row-major strides of `dims`, as dims.
fn strides(dims: &[Dim]) -> Vec<Dim> {
    let mut out = vec![Dim::Known(1); dims.len()];
    for i in (0..dims.len().saturating_sub(1)).rev() {
        out[i] = out[i + 1].mul(&dims[i + 1]);
    }
    out
}

/// The (axis, dim) pairs of the axes whose size is not statically 1.
fn non_unit(dims: &[Dim]) -> Vec<(usize, &Dim)> {
    dims.iter().enumerate().filter(|(_, d)| **d != Dim::Known(1)).collect()
}

/// `tg.reshape`: the same row-major position. When the two shapes differ
/// only in axes of size 1, indices pass straight through (size-1 axes read
/// 0); otherwise the result index is flattened and split again.
pub(super) fn reshape(l: &mut Lowerer<'_>, op: OpId, idx: &[ValueId]) -> Result<ValueId, Diag> {
    let x = l.src.op(op).operands[0];
    let (from, to) = (&l.tensor(x)?.dims, &l.tensor(l.result(op)?)?.dims);
    let (xs, rs) = (non_unit(from), non_unit(to));
    let zero = l.index_const(0)?;
    let mut at = vec![zero; from.len()];
    if xs.len() == rs.len() && xs.iter().zip(&rs).all(|((_, a), (_, b))| a == b) {
        for ((xa, _), (ra, _)) in xs.iter().zip(&rs) {
            at[*xa] = idx[*ra];
        }
        return l.element(x, &at);
    }
    let mut flat = zero;
    for (&i, s) in idx.iter().zip(&strides(to)) {
        let s = l.dim(s)?;
        let term = l.index_op(IndexOp::Mul, i, s)?;
        flat = l.index_op(IndexOp::Add, flat, term)?;
    }
    for (axis, (d, s)) in from.iter().zip(&strides(from)).enumerate() {
        let s = l.dim(s)?;
        let q = l.index_op(IndexOp::Div, flat, s)?;
        // The first axis needs no remainder: the flat index is below the element count.
        at[axis] = if axis == 0 {
            q
        } else {
            let d = l.dim(d)?;
            l.index_op(IndexOp::Rem, q, d)?
        };
    }
    l.element(x, &at)
}

/// `tg.slice`: position `i` of a sliced axis reads `start + i * step`.
pub(super) fn slice(l: &mut Lowerer<'_>, op: OpId, idx: &[ValueId]) -> Result<ValueId, Diag> {
    let x = l.src.op(op).operands[0];
    let xt = l.tensor(x)?;
    let sliced = l.with_cx(op, |cx| slice_axes(cx, xt.rank()))?;
    let mut at = idx.to_vec();
    for SliceAxis { axis, start, end, step } in sliced {
        let first = match &xt.dims[axis] {
            Dim::Known(n) => slice_range(*n, start, end, step).0 as i64,
            // The only slice of a symbolic axis with a named size (`dim - start`).
            _ if step == 1 && start >= 0 && end >= SLICE_TO_END => start,
            d => return Err(l.op_error(op, format!("cannot slice the symbolic axis {axis} of size {d} this way"))),
        };
        let step = l.index_const(step)?;
        let offset = l.index_op(IndexOp::Mul, at[axis], step)?;
        at[axis] = l.add_const(offset, first)?;
    }
    l.element(x, &at)
}

/// `tg.shape_of`: each axis's extent, stored as an `i64` at its position.
pub(super) fn shape_of(l: &mut Lowerer<'_>, op: OpId, dest: ValueId) -> Result<(), Diag> {
    let dims = &l.tensor(l.src.op(op).operands[0])?.dims;
    for (a, d) in dims.iter().enumerate() {
        let n = l.dim(d)?;
        let v = l.emit1(&INDEX_CAST, &[n], Attrs::new().with("to", Attr::DType(tessera_ir::DType::I64)))?;
        let at = l.index_const(a as i64)?;
        l.store(v, dest, &[at])?;
    }
    Ok(())
}

/// `tg.concat`: one nest per operand, writing it at its offset along the axis.
pub(super) fn concat(l: &mut Lowerer<'_>, op: OpId, dest: ValueId) -> Result<(), Diag> {
    let src = l.src;
    let operands = &src.op(op).operands;
    let rank = l.tensor(operands[0])?.rank();
    let axis = l.with_cx(op, |cx| cx.axis("axis", rank))?;
    let mut offset = Dim::Known(0);
    for &x in operands {
        let dims = &l.tensor(x)?.dims;
        let bounds = l.extents(dims)?;
        let off = l.dim(&offset)?;
        l.nest(&bounds, true, "i", Vec::new(), &mut |l, ivs, _| {
            let v = l.element(x, ivs)?;
            let mut at = ivs.to_vec();
            at[axis] = l.index_op(IndexOp::Add, ivs[axis], off)?;
            l.store(v, dest, &at)?;
            Ok(Vec::new())
        })?;
        offset = offset.add(&dims[axis]);
    }
    Ok(())
}

/// `tg.pad`: in constant mode, a nest filling the destination with the
/// padding value, then one copying the kept part of the operand (negative
/// pads crop it) to its place; in the other modes, [`mirrored_pad`].
pub(super) fn pad(l: &mut Lowerer<'_>, op: OpId, dest: ValueId) -> Result<(), Diag> {
    let src = l.src;
    let (x, value) = (src.op(op).operands[0], src.op(op).operands[1]);
    let (mode, low, high) = l.with_cx(op, |cx| {
        let mode = cx.choice("mode", &["constant", "reflect", "edge"], "constant")?.to_string();
        Ok((mode, cx.ints("low")?, cx.ints("high")?))
    })?;
    if mode != "constant" {
        return mirrored_pad(l, op, dest, mode == "reflect", &low, &high);
    }
    let v = l.element(value, &[])?;
    let bounds = l.extents(&l.tensor(l.result(op)?)?.dims)?;
    l.nest(&bounds, true, "i", Vec::new(), &mut |l, ivs, _| {
        l.store(v, dest, ivs)?;
        Ok(Vec::new())
    })?;
    let dims = &l.tensor(x)?.dims;
    let mut kept = Vec::with_capacity(dims.len());
    for (d, (&lo, &hi)) in dims.iter().zip(low.iter().zip(&high)) {
        kept.push(d.add_const(-(lo.min(0).saturating_neg().saturating_add(hi.min(0).saturating_neg()))));
    }
    let bounds = l.extents(&kept)?;
    l.nest(&bounds, true, "i", Vec::new(), &mut |l, ivs, _| {
        let mut from = Vec::with_capacity(ivs.len());
        let mut to = Vec::with_capacity(ivs.len());
        for (&i, (&lo, _)) in ivs.iter().zip(low.iter().zip(&high)) {
            from.push(l.add_const(i, lo.min(0).saturating_neg())?);
            to.push(l.add_const(i, lo.max(0))?);
        }
        let e = l.element(x, &from)?;
        l.store(e, dest, &to)?;
        Ok(Vec::new())
    })?;
    Ok(())
}

/// `tg.pad` in reflect or edge mode: one nest over the result, position
/// `p = i - low` of a padded axis (of `kept` elements once cropped)
/// reading `min(|p|, 2 * (kept - 1) - |p|)` (reflect; one reflection
/// suffices since the pads are below `kept`) or `p` clamped to `0..kept`
/// (edge), after the low crop.
fn mirrored_pad(
    l: &mut Lowerer<'_>,
    op: OpId,
    dest: ValueId,
    reflect: bool,
    low: &[i64],
    high: &[i64],
) -> Result<(), Diag> {
    let x = l.src.op(op).operands[0];
    let dims = &l.tensor(x)?.dims;
    let mut last = Vec::with_capacity(dims.len());
    for (d, (&lo, &hi)) in dims.iter().zip(low.iter().zip(high)) {
        let n = l.dim(d)?;
        last.push(l.add_const(n, lo.min(0) + hi.min(0) - 1)?);
    }
    let bounds = l.extents(&l.tensor(l.result(op)?)?.dims)?;
    l.nest(&bounds, true, "i", Vec::new(), &mut |l, ivs, _| {
        let mut at = Vec::with_capacity(ivs.len());
        for (a, &i) in ivs.iter().enumerate() {
            let (lo, hi) = (low[a], high[a]);
            let p = l.add_const(i, -lo.max(0))?;
            let p = if lo <= 0 && hi <= 0 {
                p
            } else if reflect {
                let zero = l.index_const(0)?;
                let minus = l.index_op(IndexOp::Sub, zero, p)?;
                let abs = l.index_op(IndexOp::Max, p, minus)?;
                let twice = l.index_op(IndexOp::Add, last[a], last[a])?;
                let mirrored = l.index_op(IndexOp::Sub, twice, abs)?;
                l.index_op(IndexOp::Min, abs, mirrored)?
            } else {
                let zero = l.index_const(0)?;
                let above = l.index_op(IndexOp::Max, p, zero)?;
                l.index_op(IndexOp::Min, above, last[a])?
            };
            at.push(l.add_const(p, lo.min(0).saturating_neg())?);
        }
        let e = l.element(x, &at)?;
        l.store(e, dest, ivs)?;
        Ok(Vec::new())
    })?;
    Ok(())
}
