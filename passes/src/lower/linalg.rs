//! `tg.dot` as a plain loop nest: a parallel nest over the result (batch
//! axes, then lhs's free axes, then rhs's) and a sequential nest over the
//! contracting axes carrying the sum, with `tg.mul` and `tg.add` as the
//! scalar functions; f16 and bf16 accumulate in f32 and round once, at the
//! store. The register-blocked micro-kernel comes with codegen.

use super::emit::{accumulator, Lowerer};
use tessera_ir::attr::Scalar;
use tessera_ir::dialect::graph::elementwise::{ADD, MUL};
use tessera_ir::infer::normalize_axes;
use tessera_ir::{Diag, OpId, ValueId};

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
