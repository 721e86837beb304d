//! Reductions `tg.reduce_{sum,prod,max,min}`: a parallel nest over the
//! result and, inside, a sequential nest over the reduced axes (in
//! ascending order, so elements combine in the reference's row-major
//! order) carrying the accumulator, which starts at the operation's
//! identity and combines through the graph op (`tg.add`, `tg.mul`,
//! `tg.max`, `tg.min`) that defines its scalar semantics. f16 and bf16
//! accumulate in f32 and round once, at the store.

use super::emit::{accumulator, Lowerer};
use tessera_ir::attr::Scalar;
use tessera_ir::dialect::graph::elementwise::{ADD, MAX, MIN, MUL};
use tessera_ir::{DType, Diag, OpId, OpRef, ValueId};

/// The lowest value of `dtype` (-inf for floats): the identity of `max`.
pub(super) fn lowest(dtype: DType) -> Scalar {
    let bits = dtype.size_bytes() as u32 * 8;
    match dtype {
        d if d.is_float() => Scalar::Float(d, f64::NEG_INFINITY),
        d if d.is_signed_int() => Scalar::Int(d, i64::MIN >> (64 - bits)),
        d => Scalar::from_f64(d, 0.0),
    }
}

/// The highest value of `dtype` (+inf for floats): the identity of `min`.
pub(super) fn highest(dtype: DType) -> Scalar {
    let bits = dtype.size_bytes() as u32 * 8;
    match dtype {
        d if d.is_float() => Scalar::Float(d, f64::INFINITY),
        d if d.is_signed_int() => Scalar::Int(d, i64::MAX >> (64 - bits)),
        DType::I1 => Scalar::Bool(true),
        d => Scalar::UInt(d, u64::MAX >> (64 - bits)),
    }
}

/// `tg.reduce_sum`.
pub(super) fn sum(l: &mut Lowerer<'_>, op: OpId, dest: ValueId) -> Result<(), Diag> {
    reduce(l, op, dest, &ADD, |d| Scalar::from_f64(d, 0.0))
}

/// `tg.reduce_prod`.
pub(super) fn prod(l: &mut Lowerer<'_>, op: OpId, dest: ValueId) -> Result<(), Diag> {
    reduce(l, op, dest, &MUL, |d| Scalar::from_f64(d, 1.0))
}

/// `tg.reduce_max`.
pub(super) fn max(l: &mut Lowerer<'_>, op: OpId, dest: ValueId) -> Result<(), Diag> {
    reduce(l, op, dest, &MAX, lowest)
}

/// `tg.reduce_min`.
pub(super) fn min(l: &mut Lowerer<'_>, op: OpId, dest: ValueId) -> Result<(), Diag> {
    reduce(l, op, dest, &MIN, highest)
}

/// A reduction combining with the graph op `combine` from `identity`.
fn reduce(
    l: &mut Lowerer<'_>,
    op: OpId,
    dest: ValueId,
    combine: OpRef,
    identity: fn(DType) -> Scalar,
) -> Result<(), Diag> {
    let x = l.src.op(op).operands[0];
    let xt = l.tensor(x)?;
    let (mut axes, keepdims) = l.with_cx(op, |cx| Ok((cx.axes("axes", xt.rank())?, cx.bool_or("keepdims", false)?)))?;
    axes.sort_unstable();
    let out = l.extents(&l.tensor(l.result(op)?)?.dims)?;
    let reduced: Vec<_> = axes.iter().map(|&a| xt.dims[a].clone()).collect();
    let reduced = l.extents(&reduced)?;
    let acc_dtype = accumulator(xt.dtype);
    let init = l.scalar_const(identity(acc_dtype), acc_dtype)?;
    l.nest(&out, true, "i", Vec::new(), &mut |l, ivs, _| {
        let acc = l.nest(&reduced, false, "r", vec![init], &mut |l, rivs, acc| {
            let mut at = Vec::with_capacity(xt.rank());
            let mut kept = 0;
            for a in 0..xt.rank() {
                match axes.iter().position(|&b| b == a) {
                    Some(p) => at.push(rivs[p]),
                    None => {
                        at.push(ivs[if keepdims { a } else { kept }]);
                        kept += 1;
                    }
                }
            }
            let v = l.element(x, &at)?;
            let v = l.convert(v, xt.dtype, acc_dtype)?;
            Ok(vec![l.apply(combine, &[acc[0], v])?])
        })?;
        let result = l.convert(acc[0], acc_dtype, xt.dtype)?;
        l.store(result, dest, ivs)?;
        Ok(Vec::new())
    })?;
    Ok(())
}
