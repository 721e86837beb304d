//! Indexed reads and writes: `tg.gather`, `tg.gather_elements` and
//! `tg.gather_nd` compute each result element by reading an index from
//! the index tensor and the data element it addresses (so, like the other
//! remaps, their readers compute them inline); `tg.scatter` and
//! `tg.scatter_nd` copy the data into their destination, then apply the
//! updates in the reference's order with a sequential nest.
//!
//! Each index read from a tensor becomes a `k.to_index` into its axis:
//! negative indices count from the end, and one out of range stops the
//! kernel interpreter and sets a status bit in generated code (which then
//! reads or writes position 0 instead). When an addressed axis may be
//! empty at run time, where position 0 does not exist either, the access
//! sits in a loop that runs once when every such axis is non-empty and not
//! at all otherwise.

use super::emit::{Lowerer, NestBody};
use tessera_ir::attr::{Attr, Attrs, Scalar};
use tessera_ir::dialect::graph::elementwise::{ADD, MAX, MIN, MUL};
use tessera_ir::dialect::kernel::index::TO_INDEX;
use tessera_ir::dialect::kernel::IndexOp;
use tessera_ir::{Diag, Dim, Func, OpId, OpRef, ValueId};

/// Index scalar `v` as a checked index into axis `axis` of `dims`.
fn resolve(l: &mut Lowerer<'_>, v: ValueId, dims: &[Dim], axis: usize) -> Result<ValueId, Diag> {
    let n = l.dim(&dims[axis])?;
    l.emit1(&TO_INDEX, &[v, n], Attrs::new().with("axis", Attr::Int(axis as i64)))
}

/// Runs `body` (given no indices) where `axes` of `dims` are all non-empty
/// at run time: in place when their sizes are static, else in a loop run
/// once or not at all. Returns what it carries out (`inits` when it did
/// not run).
fn unless_empty<'a>(
    l: &mut Lowerer<'a>,
    dims: &[Dim],
    axes: &[usize],
    inits: Vec<ValueId>,
    body: &mut NestBody<'_, 'a>,
) -> Result<Vec<ValueId>, Diag> {
    let unknown: Vec<&Dim> = axes.iter().map(|&a| &dims[a]).filter(|d| d.known().is_none_or(|n| n == 0)).collect();
    if unknown.is_empty() {
        return body(l, &[], inits);
    }
    let mut count = l.index_const(1)?;
    for d in unknown {
        let n = l.dim(d)?;
        count = l.index_op(IndexOp::Min, count, n)?;
    }
    l.nest(&[count], false, "once", inits, &mut |l, _, acc| body(l, &[], acc))
}

/// The element of `data` at `at`, whose `axes` were read from an index tensor.
fn guarded_element(l: &mut Lowerer<'_>, data: ValueId, at: &[ValueId], axes: &[usize]) -> Result<ValueId, Diag> {
    let t = l.tensor(data)?;
    let zero = l.scalar_const(Scalar::from_f64(t.dtype, 0.0), t.dtype)?;
    let v = unless_empty(l, &t.dims, axes, vec![zero], &mut |l, _, _| Ok(vec![l.element(data, at)?]))?;
    Ok(v[0])
}

/// Refuses index tensors larger than the data off `axis` (the reference
/// refuses them at run time; the lowering must prove they fit).
fn fits_off_axis(l: &Lowerer<'_>, op: OpId, data: &[Dim], indices: &[Dim], axis: usize) -> Result<(), Diag> {
    for (d, (a, b)) in data.iter().zip(indices).enumerate() {
        let fits = match (a.known(), b.known()) {
            (Some(n), Some(m)) => m <= n,
            _ => a == b,
        };
        if d != axis && !fits {
            return Err(l.op_error(op, format!("cannot prove the indices' axis {d} ({b}) fits the data's ({a})")));
        }
    }
    Ok(())
}

/// `tg.gather`: result position `(o, j, i)` (`j` indexing `indices`)
/// reads data at `(o, indices[j], i)`.
pub(super) fn gather(l: &mut Lowerer<'_>, op: OpId, idx: &[ValueId]) -> Result<ValueId, Diag> {
    let (data, indices) = (l.src.op(op).operands[0], l.src.op(op).operands[1]);
    let (dims, q) = (&l.tensor(data)?.dims, l.tensor(indices)?.rank());
    let axis = l.with_cx(op, |cx| cx.axis("axis", dims.len()))?;
    let v = l.element(indices, &idx[axis..axis + q])?;
    let mut at = idx[..axis].to_vec();
    at.push(resolve(l, v, dims, axis)?);
    at.extend_from_slice(&idx[axis + q..]);
    guarded_element(l, data, &at, &[axis])
}

/// `tg.gather_elements`: position `i` reads data at `i` with its `axis`
/// coordinate replaced by `indices[i]`.
pub(super) fn gather_elements(l: &mut Lowerer<'_>, op: OpId, idx: &[ValueId]) -> Result<ValueId, Diag> {
    let (data, indices) = (l.src.op(op).operands[0], l.src.op(op).operands[1]);
    let dims = &l.tensor(data)?.dims;
    let axis = l.with_cx(op, |cx| cx.axis("axis", dims.len()))?;
    fits_off_axis(l, op, dims, &l.tensor(indices)?.dims, axis)?;
    let v = l.element(indices, idx)?;
    let mut at = idx.to_vec();
    at[axis] = resolve(l, v, dims, axis)?;
    guarded_element(l, data, &at, &[axis])
}

/// The data axes the `k` entries of an index tuple address from `batch`
/// on, each resolved from `indices` at `tuple` followed by the entry's position.
fn tuple_indices(
    l: &mut Lowerer<'_>,
    indices: ValueId,
    tuple: &[ValueId],
    dims: &[Dim],
    batch: usize,
) -> Result<(Vec<ValueId>, Vec<usize>), Diag> {
    let k = match l.tensor(indices)?.dims.last() {
        Some(Dim::Known(k)) => *k as usize,
        d => return Err(Diag::error(l.src.loc.clone(), format!("an index tuple has length {d:?}, not a static one"))),
    };
    let mut at = Vec::with_capacity(k);
    for j in 0..k {
        let mut pos = tuple.to_vec();
        pos.push(l.index_const(j as i64)?);
        let v = l.element(indices, &pos)?;
        at.push(resolve(l, v, dims, batch + j)?);
    }
    Ok((at, (batch..batch + k).collect()))
}

/// `tg.gather_nd`: result position `(b, j, s)` reads data at `(b,
/// indices[b, j, :], s)`.
pub(super) fn gather_nd(l: &mut Lowerer<'_>, op: OpId, idx: &[ValueId]) -> Result<ValueId, Diag> {
    let (data, indices) = (l.src.op(op).operands[0], l.src.op(op).operands[1]);
    let (dims, q) = (&l.tensor(data)?.dims, l.tensor(indices)?.rank());
    let batch = l.with_cx(op, |cx| cx.int_or("batch_dims", 0))? as usize;
    let (tuple, axes) = tuple_indices(l, indices, &idx[..q - 1], dims, batch)?;
    let mut at = idx[..batch].to_vec();
    at.extend(tuple);
    at.extend_from_slice(&idx[q - 1..]);
    guarded_element(l, data, &at, &axes)
}

/// Whether operand `k` is the index tensor (read once per result element by `tg.gather_elements`).
pub(super) fn indices_once(_: &Func, _: OpId, k: usize) -> bool {
    k == 1
}

/// The graph op a scatter's `reduction` combines with (`None`: replace).
fn reduction(l: &Lowerer<'_>, op: OpId) -> Result<Option<OpRef>, Diag> {
    let r =
        l.with_cx(op, |cx| Ok(cx.choice("reduction", &["none", "add", "mul", "max", "min"], "none")?.to_string()))?;
    Ok(match r.as_str() {
        "add" => Some(&ADD),
        "mul" => Some(&MUL),
        "max" => Some(&MAX),
        "min" => Some(&MIN),
        _ => None,
    })
}

/// Copies graph value `data` into `dest` with a parallel nest.
fn copy(l: &mut Lowerer<'_>, data: ValueId, dest: ValueId) -> Result<(), Diag> {
    let bounds = l.extents(&l.tensor(data)?.dims)?;
    l.nest(&bounds, true, "i", Vec::new(), &mut |l, ivs, _| {
        let v = l.element(data, ivs)?;
        l.store(v, dest, ivs)?;
        Ok(Vec::new())
    })?;
    Ok(())
}

/// Writes update `u` at `at` of `dest` (whose `axes` came from indices),
/// combined with the element there by `combine`.
fn update(
    l: &mut Lowerer<'_>,
    dims: &[Dim],
    dest: ValueId,
    at: &[ValueId],
    axes: &[usize],
    u: ValueId,
    combine: Option<OpRef>,
) -> Result<(), Diag> {
    unless_empty(l, dims, axes, Vec::new(), &mut |l, _, _| {
        let v = match combine {
            None => u,
            Some(f) => {
                let old = l.load(dest, at)?;
                l.apply(f, &[old, u])?
            }
        };
        l.store(v, dest, at)?;
        Ok(Vec::new())
    })?;
    Ok(())
}

/// `tg.scatter`: the data, then each update `i` (in row-major order)
/// written at `i` with its `axis` coordinate replaced by `indices[i]`.
pub(super) fn scatter(l: &mut Lowerer<'_>, op: OpId, dest: ValueId) -> Result<(), Diag> {
    let [data, indices, updates] = l.src.op(op).operands[..] else { return Err(l.op_error(op, "takes 3 operands")) };
    let dims = &l.tensor(data)?.dims;
    let axis = l.with_cx(op, |cx| cx.axis("axis", dims.len()))?;
    let index_dims = &l.tensor(indices)?.dims;
    fits_off_axis(l, op, dims, index_dims, axis)?;
    let combine = reduction(l, op)?;
    copy(l, data, dest)?;
    let bounds = l.extents(index_dims)?;
    l.nest(&bounds, false, "j", Vec::new(), &mut |l, ivs, _| {
        let v = l.element(indices, ivs)?;
        let mut at = ivs.to_vec();
        at[axis] = resolve(l, v, dims, axis)?;
        let u = l.element(updates, ivs)?;
        update(l, dims, dest, &at, &[axis], u, combine)?;
        Ok(Vec::new())
    })?;
    Ok(())
}

/// `tg.scatter_nd`: the data, then each update at `(j, s)` (in row-major
/// order) written at `(indices[j, :], s)`.
pub(super) fn scatter_nd(l: &mut Lowerer<'_>, op: OpId, dest: ValueId) -> Result<(), Diag> {
    let [data, indices, updates] = l.src.op(op).operands[..] else { return Err(l.op_error(op, "takes 3 operands")) };
    let dims = &l.tensor(data)?.dims;
    let q = l.tensor(indices)?.rank();
    let combine = reduction(l, op)?;
    copy(l, data, dest)?;
    let bounds = l.extents(&l.tensor(updates)?.dims)?;
    l.nest(&bounds, false, "j", Vec::new(), &mut |l, ivs, _| {
        let (mut at, axes) = tuple_indices(l, indices, &ivs[..q - 1], dims, 0)?;
        at.extend_from_slice(&ivs[q - 1..]);
        let u = l.element(updates, ivs)?;
        update(l, dims, dest, &at, &axes, u, combine)?;
        Ok(Vec::new())
    })?;
    Ok(())
}
