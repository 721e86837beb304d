//! `tg.dot`. In f32 and f64 it becomes one `k.matmul` (which code
//! generation makes a packed, blocked GEMM): each operand is read in place
//! when its batch, free and contracting axes are each a run of consecutive
//! axes (any transposition of a matrix is), else from a copy laid out as
//! `[batch, free, contract]` (lhs) or `[batch, contract, free]` (rhs); an
//! operand computed inline (a fused transpose, a splat constant) is copied
//! too. Other dtypes get a plain loop nest: a parallel nest over the result
//! (batch axes, then lhs's free axes, then rhs's) and a sequential nest over
//! the contracting axes carrying the sum, with `tg.mul` and `tg.add` as the
//! scalar functions; f16 and bf16 accumulate in f32 and round once, at the
//! store.

use super::emit::{accumulator, Lowerer, Source};
use tessera_ir::attr::{Attr, Attrs, Scalar};
use tessera_ir::dialect::graph::elementwise::{ADD, MUL};
use tessera_ir::dialect::kernel::linalg::{MatmulAxes, MATMUL};
use tessera_ir::dialect::graph::shape::TRANSPOSE;
use tessera_ir::infer::normalize_axes;
use tessera_ir::op::same_op;
use tessera_ir::{DType, Diag, OpId, TensorType, ValueId};

/// Where each axis of one operand of a dot reads its index from.
enum Axis {
    /// Result axis `i` (a batch or free axis).
    Result(usize),
    /// Contracting loop `k`.
    Contract(usize),
}

/// The index sources of the axes of an operand of rank `rank` with batch
/// axes `batch`, contracting axes `contract`, and free axes starting at
/// result axis `free_at`.
fn axis_sources(rank: usize, batch: &[usize], contract: &[usize], free_at: usize) -> Vec<Axis> {
    let mut free = free_at;
    (0..rank)
        .map(|a| {
            if let Some(p) = batch.iter().position(|&b| b == a) {
                Axis::Result(p)
            } else if let Some(c) = contract.iter().position(|&b| b == a) {
                Axis::Contract(c)
            } else {
                free += 1;
                Axis::Result(free - 1)
            }
        })
        .collect()
}

/// The indices of one operand given the result and contracting indices.
fn gather(sources: &[Axis], ivs: &[ValueId], kivs: &[ValueId]) -> Vec<ValueId> {
    sources
        .iter()
        .map(|s| match s {
            Axis::Result(i) => ivs[*i],
            Axis::Contract(k) => kivs[*k],
        })
        .collect()
}

/// A buffer holding graph value `v` (an operand of a dot whose axes are
/// `axes`) with each axis group a run, and its groups there: `v`'s own
/// buffer when it has one and its groups already are runs, else a copy
/// with the groups in the order `[batch, free, contract]` (`lhs`) or
/// `[batch, contract, free]`.
pub(super) fn strided_operand(
    l: &mut Lowerer<'_>,
    v: ValueId,
    axes: MatmulAxes,
    lhs: bool,
) -> Result<(ValueId, MatmulAxes), Diag> {
    if let Some((buf, mapped)) = in_place(l, v, &axes)? {
        if mapped.is_strided() {
            return Ok((buf, mapped));
        }
    }
    let t = l.tensor(v)?;
    let groups = if lhs { [&axes.batch, &axes.free, &axes.contract] } else { [&axes.batch, &axes.contract, &axes.free] };
    let order: Vec<usize> = groups.iter().flat_map(|g| g.iter().copied()).collect();
    let dims: Vec<_> = order.iter().map(|&x| t.dims[x].clone()).collect();
    let copy = l.alloc(&TensorType::new(dims.clone(), t.dtype))?;
    let bounds = l.extents(&dims)?;
    l.nest(&bounds, true, "i", Vec::new(), &mut |l, ivs, _| {
        let mut at = ivs.to_vec();
        for (&x, &i) in order.iter().zip(ivs) {
            at[x] = i;
        }
        let e = l.element(v, &at)?;
        l.store(e, copy, ivs)?;
        Ok(Vec::new())
    })?;
    let nb = axes.batch.len();
    let (first, second) = if lhs { (axes.free.len(), axes.contract.len()) } else { (axes.contract.len(), axes.free.len()) };
    let (g1, g2): (Vec<usize>, Vec<usize>) = ((nb..nb + first).collect(), (nb + first..nb + first + second).collect());
    let (free, contract) = if lhs { (g1, g2) } else { (g2, g1) };
    Ok((copy, MatmulAxes { batch: (0..nb).collect(), free, contract }))
}

/// The buffer graph value `v`'s elements are read from, with the axis
/// groups `axes` of `v` as axes of that buffer: `v`'s own buffer, or, when
/// `v` is a transpose computed inline, the buffer its operand is read from
/// (recursively), the axes permuted; `None` when `v` has no buffer to read.
fn in_place(l: &Lowerer<'_>, v: ValueId, axes: &MatmulAxes) -> Result<Option<(ValueId, MatmulAxes)>, Diag> {
    match l.sources.get(&v).copied() {
        Some(Source::Buffer(buf)) => return Ok(Some((buf, axes.clone()))),
        Some(Source::Scalar(_)) => return Ok(None),
        None => {}
    }
    let Some(op) = l.src.def_op(v).filter(|_| l.inline.contains(&v)) else { return Ok(None) };
    if !same_op(l.src.op(op).def, &TRANSPOSE) {
        return Ok(None);
    }
    let perm = l.with_cx(op, |cx| cx.ints("perm"))?;
    let map = |g: &[usize]| g.iter().map(|&x| perm.get(x).and_then(|&p| usize::try_from(p).ok())).collect();
    let mapped = (map(&axes.batch), map(&axes.free), map(&axes.contract));
    let (Some(batch), Some(free), Some(contract)) = mapped else {
        return Err(l.op_error(op, format!("perm {perm:?} is not a permutation")));
    };
    in_place(l, l.src.op(op).operands[0], &MatmulAxes { batch, free, contract })
}

/// `tg.dot` on floats as one `k.matmul` writing `dest`.
fn matmul(l: &mut Lowerer<'_>, op: OpId, dest: ValueId, lhs: MatmulAxes, rhs: MatmulAxes) -> Result<(), Diag> {
    let (a, b) = (l.src.op(op).operands[0], l.src.op(op).operands[1]);
    let (a, lhs) = strided_operand(l, a, lhs, true)?;
    let (b, rhs) = strided_operand(l, b, rhs, false)?;
    let ints = |axes: &[usize]| Attr::ints(&axes.iter().map(|&x| x as i64).collect::<Vec<_>>());
    let mut attrs = Attrs::new().with("lhs_contract", ints(&lhs.contract)).with("rhs_contract", ints(&rhs.contract));
    if !lhs.batch.is_empty() {
        attrs = attrs.with("lhs_batch", ints(&lhs.batch)).with("rhs_batch", ints(&rhs.batch));
    }
    l.emit(&MATMUL, &[a, b, dest], attrs, Vec::new())?;
    Ok(())
}

/// `tg.dot`.
pub(super) fn dot(l: &mut Lowerer<'_>, op: OpId, dest: ValueId) -> Result<(), Diag> {
    let (a, b) = (l.src.op(op).operands[0], l.src.op(op).operands[1]);
    let (at, bt) = (l.tensor(a)?, l.tensor(b)?);
    let (lb, rb, lc, rc) = l.with_cx(op, |cx| {
        let axes = |name: &str, rank: usize| -> Result<Vec<usize>, String> {
            normalize_axes(&cx.ints_or(name, Vec::new())?, rank).map_err(|e| format!("attribute '{name}': {e}"))
        };
        Ok((
            axes("lhs_batch", at.rank())?,
            axes("rhs_batch", bt.rank())?,
            axes("lhs_contract", at.rank())?,
            axes("rhs_contract", bt.rank())?,
        ))
    })?;
    if matches!(at.dtype, DType::F32 | DType::F64) {
        let (lhs, rhs) = (MatmulAxes::new(at.rank(), lb, lc), MatmulAxes::new(bt.rank(), rb, rc));
        return matmul(l, op, dest, lhs, rhs);
    }
    let lhs = axis_sources(at.rank(), &lb, &lc, lb.len());
    let lhs_free = at.rank() - lb.len() - lc.len();
    let rhs = axis_sources(bt.rank(), &rb, &rc, lb.len() + lhs_free);
    let out = l.extents(&l.tensor(l.result(op)?)?.dims)?;
    let contract: Vec<_> = lc.iter().map(|&x| at.dims[x].clone()).collect();
    let contract = l.extents(&contract)?;
    let acc_dtype = accumulator(at.dtype);
    let zero = l.scalar_const(Scalar::from_f64(acc_dtype, 0.0), acc_dtype)?;
    l.nest(&out, true, "i", Vec::new(), &mut |l, ivs, _| {
        let sum = l.nest(&contract, false, "r", vec![zero], &mut |l, kivs, acc| {
            let x = l.element(a, &gather(&lhs, ivs, kivs))?;
            let x = l.convert(x, at.dtype, acc_dtype)?;
            let y = l.element(b, &gather(&rhs, ivs, kivs))?;
            let y = l.convert(y, at.dtype, acc_dtype)?;
            let p = l.apply(&MUL, &[x, y])?;
            Ok(vec![l.apply(&ADD, &[acc[0], p])?])
        })?;
        let result = l.convert(sum[0], acc_dtype, at.dtype)?;
        l.store(result, dest, ivs)?;
        Ok(Vec::new())
    })?;
    Ok(())
}
