//! Elementwise ops: each result element is the graph op's scalar function
//! (`k.apply`, or `k.cast` and `k.bitcast` for `tg.cast` and `tg.bitcast`)
//! of its operands' elements at the numpy-broadcast positions, where an
//! axis of static size 1 reads index 0.

use super::emit::Lowerer;
use tessera_ir::attr::Attrs;
use tessera_ir::dialect::kernel::scalar::{BITCAST, CAST};
use tessera_ir::{Diag, Func, OpId, ValueId};

/// The operands' elements at `idx`, read through broadcasting.
fn operand_elements(l: &mut Lowerer<'_>, op: OpId, idx: &[ValueId]) -> Result<Vec<ValueId>, Diag> {
    let src = l.src;
    let mut out = Vec::new();
    for &x in &src.op(op).operands {
        let at = l.broadcast_index(&l.tensor(x)?.dims, idx)?;
        out.push(l.element(x, &at)?);
    }
    Ok(out)
}

/// Any elementwise op without attributes: `k.apply` of the op itself.
pub(super) fn apply(l: &mut Lowerer<'_>, op: OpId, idx: &[ValueId]) -> Result<ValueId, Diag> {
    let args = operand_elements(l, op, idx)?;
    l.apply(l.src.op(op).def, &args)
}

/// `tg.cast`: `k.cast` with the same `to`.
pub(super) fn cast(l: &mut Lowerer<'_>, op: OpId, idx: &[ValueId]) -> Result<ValueId, Diag> {
    let args = operand_elements(l, op, idx)?;
    let to = l.with_cx(op, |cx| cx.dtype("to"))?;
    l.emit1(&CAST, &args, Attrs::new().with("to", tessera_ir::Attr::DType(to)))
}

/// `tg.bitcast`: `k.bitcast` with the same `to`.
pub(super) fn bitcast(l: &mut Lowerer<'_>, op: OpId, idx: &[ValueId]) -> Result<ValueId, Diag> {
    let args = operand_elements(l, op, idx)?;
    let to = l.with_cx(op, |cx| cx.dtype("to"))?;
    l.emit1(&BITCAST, &args, Attrs::new().with("to", tessera_ir::Attr::DType(to)))
}

/// Whether operand `k` has the result's shape, so each of its elements is
/// read once rather than repeated along broadcast axes.
pub(super) fn unbroadcast(src: &Func, op: OpId, k: usize) -> bool {
    let data = src.op(op);
    let dims = |v: ValueId| src.ty(v).as_tensor().map(|t| t.dims.clone());
    match (data.operands.get(k), data.results.first()) {
        (Some(&x), Some(&r)) => dims(x).is_some() && dims(x) == dims(r),
        _ => false,
    }
}
