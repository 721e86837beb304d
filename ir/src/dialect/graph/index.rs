//! Indexed reads and writes: `tg.gather`, `tg.gather_elements`,
//! `tg.gather_nd`, `tg.scatter` and `tg.scatter_nd` (ONNX semantics;
//! negative indices count from the end of their axis).

use super::kernels::{Combine, Elem};
use super::layout::{flat_indices, identity_offsets, split_at_axis, take, AxisOffsets};
use super::shape::unify_dims;
use crate::dim::Dim;
use crate::dtype::DType;
use crate::eval::EvalCx;
use crate::infer::{show_dims, InferCx};
use crate::op::{Arity, AttrKind, AttrSpec, OpDef, OpRef, OpSpec};
use crate::tensor::{strides, Data, Tensor};
use crate::types::{TensorType, Type};
use super::vjp as rules;
use crate::diag::Diag;
use crate::vjp::{Grads, VjpCx};

/// The reductions `tg.scatter` and `tg.scatter_nd` combine duplicates with.
const REDUCTIONS: &[&str] = &["none", "add", "mul", "max", "min"];

/// The operands every op here starts with: the data tensor (#0) and the
/// index tensor (#1, `i32` or `i64`) addressing it.
fn data_and_indices<'a>(cx: &InferCx<'a>) -> Result<(&'a TensorType, &'a TensorType), String> {
    let data = cx.tensor(0)?;
    let idx = cx.tensor(1)?;
    if !matches!(idx.dtype, DType::I32 | DType::I64) {
        return Err(format!("operand #1 holds indices and must be i32 or i64, got {}", idx.dtype));
    }
    Ok((data, idx))
}

/// Checks that the indices have the rank of the data (one index per element).
fn expect_rank_of_data(idx: &TensorType, data: &TensorType) -> Result<(), String> {
    if idx.rank() != data.rank() {
        return Err(format!("the indices {idx} must have the rank of the data {data}"));
    }
    Ok(())
}

/// Checks that the updates have the dtype of the data they are written into.
fn expect_dtype_of_data(updates: &TensorType, data: &TensorType) -> Result<(), String> {
    if updates.dtype != data.dtype {
        return Err(format!("the updates {updates} must have the dtype of the data {data}"));
    }
    Ok(())
}

/// The static size of the last axis of `indices` (the length of each index tuple).
fn tuple_len(indices: &TensorType) -> Result<usize, String> {
    match indices.dims.last() {
        None => Err(format!("the indices {indices} must have rank 1 or more")),
        Some(Dim::Known(k)) => usize::try_from(*k).map_err(|_| format!("the indices {indices} are too large")),
        Some(d) => Err(format!("the last dim of the indices {indices} must be static, got {d}")),
    }
}

/// Checks that `actual` has the dims `expected` (a `?` on either side matches).
fn expect_dims(what: &str, actual: &TensorType, expected: &[Dim]) -> Result<(), String> {
    let fits =
        actual.rank() == expected.len() && actual.dims.iter().zip(expected).all(|(a, e)| unify_dims(a, e).is_some());
    if fits {
        Ok(())
    } else {
        Err(format!("{what} must have shape {}, got {actual}", show_dims(expected)))
    }
}

/// Index `i` into an axis of size `n`, negative counting from the end.
fn resolve_index(i: i64, n: usize, axis: usize) -> Result<usize, String> {
    let j = if i < 0 { i.checked_add(n as i64) } else { Some(i) };
    j.and_then(|j| usize::try_from(j).ok())
        .filter(|&j| j < n)
        .ok_or_else(|| format!("index {i} is out of range for axis {axis} of size {n}"))
}

/// For ops whose indices have the rank of the data and replace the
/// coordinate on `axis` (gather_elements, scatter): the flat data index
/// each index element addresses.
fn element_targets(data: &Tensor, indices: &Tensor, axis: usize) -> Result<Vec<usize>, String> {
    let fits =
        indices.rank() == data.rank() && (0..data.rank()).all(|d| d == axis || indices.shape()[d] <= data.shape()[d]);
    if !fits {
        return Err(format!(
            "the indices {:?} must have the rank of the data {:?} and no larger size off axis {axis}",
            indices.shape(),
            data.shape()
        ));
    }
    let st = strides(data.shape());
    let axes: Vec<AxisOffsets> = (0..data.rank())
        .map(
            |d| if d == axis { vec![Some(0); indices.shape()[d]] } else { identity_offsets(indices.shape()[d], st[d]) },
        )
        .collect();
    let n = data.shape()[axis];
    flat_indices(&axes)
        .zip(indices.to_i64s())
        .map(|(base, i)| Ok(base.unwrap_or(0) + resolve_index(i, n, axis)? * st[axis]))
        .collect()
}

/// For ops whose indices hold tuples on their last axis (gather_nd,
/// scatter_nd): the flat data index of the first element of the slice each
/// tuple addresses. The first `batch` axes of data and indices run in
/// lockstep; the tuples address the data axes after them.
fn tuple_targets(data: &Tensor, indices: &Tensor, batch: usize) -> Result<Vec<usize>, String> {
    let (r, q) = (data.rank(), indices.rank());
    let k = indices.shape().last().copied().ok_or("the indices must have rank 1 or more")?;
    if batch >= q || batch + k > r || data.shape()[..batch] != indices.shape()[..batch] {
        return Err(format!(
            "index tuples of length {k} in {:?} do not fit the data {:?} with {batch} batch dim(s)",
            indices.shape(),
            data.shape()
        ));
    }
    let st = strides(data.shape());
    let batch_stride: usize = data.shape()[batch..].iter().product();
    let per_batch: usize = indices.shape()[batch..q - 1].iter().product();
    let groups: usize = indices.shape()[..q - 1].iter().product();
    let raw = indices.to_i64s();
    (0..groups)
        .map(|g| {
            let mut offset = g / per_batch * batch_stride;
            for (j, &i) in raw[g * k..(g + 1) * k].iter().enumerate() {
                let axis = batch + j;
                offset += resolve_index(i, data.shape()[axis], axis)? * st[axis];
            }
            Ok(offset)
        })
        .collect()
}

/// How `tg.scatter` and `tg.scatter_nd` combine an update with the element
/// it lands on, from the op's `reduction` attribute (`None`: the update
/// replaces it; the last one wins).
fn scatter_reduction(cx: &InferCx) -> Result<Option<Combine>, String> {
    Ok(match cx.choice("reduction", REDUCTIONS, "none")? {
        "add" => Some(Combine::Sum),
        "mul" => Some(Combine::Prod),
        "max" => Some(Combine::Max),
        "min" => Some(Combine::Min),
        _ => None,
    })
}

/// A copy of `data` where, for each pair `(to, from)` in order, element
/// `to` is combined by `reduction` with element `from` of `updates`.
fn scatter_data(
    data: &Data,
    updates: &Data,
    pairs: &[(usize, usize)],
    reduction: Option<Combine>,
) -> Result<Data, String> {
    fn apply<T: Elem>(
        data: &[T],
        updates: &[T],
        pairs: &[(usize, usize)],
        reduction: Option<Combine>,
    ) -> Result<Vec<T>, String> {
        let combine = reduction.map(Combine::op);
        let mut out = data.to_vec();
        for &(to, from) in pairs {
            match (out.get_mut(to), updates.get(from)) {
                (Some(slot), Some(&u)) => *slot = combine.map_or(u, |f| f(*slot, u)),
                _ => return Err("an update or its target is out of range".into()),
            }
        }
        Ok(out)
    }
    Ok(match (data, updates) {
        (Data::Float(d), Data::Float(u)) => Data::Float(apply(d, u, pairs, reduction)?),
        (Data::Int(d), Data::Int(u)) => Data::Int(apply(d, u, pairs, reduction)?),
        (Data::UInt(d), Data::UInt(u)) => Data::UInt(apply(d, u, pairs, reduction)?),
        (Data::Bool(d), Data::Bool(u)) => Data::Bool(apply(d, u, pairs, reduction)?),
        _ => return Err("the updates must have the dtype of the data".into()),
    })
}

/// `tg.gather %data, %indices {axis = 0}` (ONNX Gather): picks slices of
/// `data` along `axis`; the result is `data.shape[:axis] + indices.shape +
/// data.shape[axis+1:]`.
pub struct Gather;

impl OpDef for Gather {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec = OpSpec::new("tg.gather", "the slices of data along `axis` at the given indices")
            .operands(Arity::Exactly(2))
            .attrs(&[AttrSpec::req("axis", AttrKind::Int)]);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let (data, idx) = data_and_indices(cx)?;
        let axis = cx.axis("axis", data.rank())?;
        let mut dims = data.dims[..axis].to_vec();
        dims.extend(idx.dims.iter().cloned());
        dims.extend(data.dims[axis + 1..].iter().cloned());
        Ok(vec![Type::Tensor(TensorType::new(dims, data.dtype))])
    }
    fn eval(&self, cx: &mut EvalCx) -> Result<Vec<Tensor>, String> {
        let (data, idx) = (cx.input(0)?, cx.input(1)?);
        let axis = cx.op.axis("axis", data.rank())?;
        let (outer, n, inner) = split_at_axis(data.shape(), axis);
        let rows = idx.to_i64s().into_iter().map(|i| resolve_index(i, n, axis)).collect::<Result<Vec<_>, _>>()?;
        let rows = &rows;
        let indices = (0..outer)
            .flat_map(|o| rows.iter().flat_map(move |&p| (0..inner).map(move |i| Some((o * n + p) * inner + i))));
        let mut shape = data.shape()[..axis].to_vec();
        shape.extend_from_slice(idx.shape());
        shape.extend_from_slice(&data.shape()[axis + 1..]);
        Ok(vec![Tensor::new(data.dtype(), shape, take(data.data(), indices)?)?])
    }
    fn vjp(&self, cx: &mut VjpCx) -> Result<Grads, Diag> {
        rules::index::gather(cx)
    }
}

/// The `tg.gather` op.
pub static GATHER: Gather = Gather;

/// `tg.gather_elements %data, %indices {axis = 1}` (ONNX GatherElements):
/// `out[i][j] = data[i][indices[i][j]]` for `axis = 1`; the result has the
/// shape of `indices` (of the same rank as `data`) and the dtype of `data`.
pub struct GatherElements;

impl OpDef for GatherElements {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec = OpSpec::new(
            "tg.gather_elements",
            "elements of data picked along `axis` by an index tensor of the same rank",
        )
        .operands(Arity::Exactly(2))
        .attrs(&[AttrSpec::req("axis", AttrKind::Int)]);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let (data, idx) = data_and_indices(cx)?;
        cx.axis("axis", data.rank())?;
        expect_rank_of_data(idx, data)?;
        Ok(vec![Type::Tensor(idx.with_dtype(data.dtype))])
    }
    fn eval(&self, cx: &mut EvalCx) -> Result<Vec<Tensor>, String> {
        let (data, idx) = (cx.input(0)?, cx.input(1)?);
        let axis = cx.op.axis("axis", data.rank())?;
        let targets = element_targets(data, idx, axis)?;
        let picked = take(data.data(), targets.into_iter().map(Some))?;
        Ok(vec![Tensor::new(data.dtype(), idx.shape().to_vec(), picked)?])
    }
    fn vjp(&self, cx: &mut VjpCx) -> Result<Grads, Diag> {
        rules::index::gather_elements(cx)
    }
}

/// The `tg.gather_elements` op.
pub static GATHER_ELEMENTS: GatherElements = GatherElements;

/// `tg.gather_nd %data, %indices {batch_dims = 0}` (ONNX GatherND): each
/// length-k tuple on the last axis of `indices` selects a slice of `data`
/// after the first `batch_dims` axes; the result is `indices.shape[:-1] +
/// data.shape[batch_dims + k:]`.
pub struct GatherNd;

impl OpDef for GatherNd {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec =
            OpSpec::new("tg.gather_nd", "the slices of data addressed by the index tuples on the last axis of indices")
                .operands(Arity::Exactly(2))
                .attrs(&[AttrSpec::opt("batch_dims", AttrKind::Int)]);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let (data, idx) = data_and_indices(cx)?;
        let k = tuple_len(idx)?;
        let b = cx.int_or("batch_dims", 0)?;
        let (r, q) = (data.rank(), idx.rank());
        let b = usize::try_from(b)
            .ok()
            .filter(|&b| b < r.min(q))
            .ok_or_else(|| format!("batch_dims {b} must be in 0..{} for data {data} and indices {idx}", r.min(q)))?;
        if k < 1 || k > r - b {
            return Err(format!(
                "index tuples of length {k} (the last dim of {idx}) must have length 1 to {} for data {data} with {b} batch dim(s)",
                r - b
            ));
        }
        let mut dims = Vec::with_capacity(q - 1 + r - b - k);
        for (i, (d, e)) in data.dims[..b].iter().zip(&idx.dims[..b]).enumerate() {
            let d = unify_dims(d, e)
                .ok_or_else(|| format!("batch dim {i} is {d} in the data {data} but {e} in the indices {idx}"))?;
            dims.push(d);
        }
        dims.extend(idx.dims[b..q - 1].iter().cloned());
        dims.extend(data.dims[b + k..].iter().cloned());
        Ok(vec![Type::Tensor(TensorType::new(dims, data.dtype))])
    }
    fn eval(&self, cx: &mut EvalCx) -> Result<Vec<Tensor>, String> {
        let (data, idx) = (cx.input(0)?, cx.input(1)?);
        let b = cx.op.int_or("batch_dims", 0)?;
        let b = usize::try_from(b).map_err(|_| format!("batch_dims must be >= 0, got {b}"))?;
        let starts = tuple_targets(data, idx, b)?;
        let k = idx.shape()[idx.rank() - 1];
        let slice: usize = data.shape()[b + k..].iter().product();
        let indices = starts.iter().flat_map(|&s| (s..s + slice).map(Some));
        let mut shape = idx.shape()[..idx.rank() - 1].to_vec();
        shape.extend_from_slice(&data.shape()[b + k..]);
        Ok(vec![Tensor::new(data.dtype(), shape, take(data.data(), indices)?)?])
    }
    fn vjp(&self, cx: &mut VjpCx) -> Result<Grads, Diag> {
        rules::index::gather_nd(cx)
    }
}

/// The `tg.gather_nd` op.
pub static GATHER_ND: GatherNd = GatherNd;

/// `tg.scatter %data, %indices, %updates {axis = 0, reduction = "add"}`
/// (ONNX ScatterElements): a copy of `data` where `data[.., indices[i, j],
/// ..]` (the index replacing position `axis`) is set to, or combined by
/// `reduction` with, `updates[i, j]`. `indices` and `updates` share one
/// shape of data's rank.
pub struct Scatter;

impl OpDef for Scatter {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec = OpSpec::new(
            "tg.scatter",
            "data with the elements addressed along `axis` replaced or combined with updates",
        )
        .operands(Arity::Exactly(3))
        .attrs(&[AttrSpec::req("axis", AttrKind::Int), AttrSpec::opt("reduction", AttrKind::Str)]);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let (data, idx) = data_and_indices(cx)?;
        let updates = cx.tensor(2)?;
        cx.axis("axis", data.rank())?;
        cx.choice("reduction", REDUCTIONS, "none")?;
        expect_dtype_of_data(updates, data)?;
        expect_rank_of_data(idx, data)?;
        expect_dims("the updates (like the indices)", updates, &idx.dims)?;
        Ok(vec![Type::Tensor(data.clone())])
    }
    fn eval(&self, cx: &mut EvalCx) -> Result<Vec<Tensor>, String> {
        let (data, idx, updates) = (cx.input(0)?, cx.input(1)?, cx.input(2)?);
        let axis = cx.op.axis("axis", data.rank())?;
        let reduction = scatter_reduction(&cx.op)?;
        if updates.shape() != idx.shape() {
            return Err(format!(
                "the updates {:?} must have the shape of the indices {:?}",
                updates.shape(),
                idx.shape()
            ));
        }
        let pairs: Vec<(usize, usize)> = element_targets(data, idx, axis)?.into_iter().zip(0..).collect();
        let out = scatter_data(data.data(), updates.data(), &pairs, reduction)?;
        Ok(vec![Tensor::new(data.dtype(), data.shape().to_vec(), out)?])
    }
    fn vjp(&self, cx: &mut VjpCx) -> Result<Grads, Diag> {
        rules::index::scatter_elements(cx)
    }
}

/// The `tg.scatter` op.
pub static SCATTER: Scatter = Scatter;

/// `tg.scatter_nd %data, %indices, %updates {reduction = "none"}` (ONNX
/// ScatterND): each length-k tuple on the last axis of `indices` addresses a
/// slice of `data`, replaced or combined with the matching slice of
/// `updates`, whose shape is `indices.shape[:-1] + data.shape[k:]`.
pub struct ScatterNd;

impl OpDef for ScatterNd {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec = OpSpec::new(
            "tg.scatter_nd",
            "data with the slices addressed by index tuples replaced or combined with updates",
        )
        .operands(Arity::Exactly(3))
        .attrs(&[AttrSpec::opt("reduction", AttrKind::Str)]);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let (data, idx) = data_and_indices(cx)?;
        let updates = cx.tensor(2)?;
        cx.choice("reduction", REDUCTIONS, "none")?;
        let k = tuple_len(idx)?;
        expect_dtype_of_data(updates, data)?;
        if k > data.rank() {
            return Err(format!(
                "index tuples of length {k} (the last dim of {idx}) are longer than the rank of the data {data}"
            ));
        }
        let mut expected = idx.dims[..idx.rank() - 1].to_vec();
        expected.extend(data.dims[k..].iter().cloned());
        expect_dims("the updates", updates, &expected)?;
        Ok(vec![Type::Tensor(data.clone())])
    }
    fn eval(&self, cx: &mut EvalCx) -> Result<Vec<Tensor>, String> {
        let (data, idx, updates) = (cx.input(0)?, cx.input(1)?, cx.input(2)?);
        let reduction = scatter_reduction(&cx.op)?;
        let starts = tuple_targets(data, idx, 0)?;
        let k = idx.shape()[idx.rank() - 1];
        let mut expected = idx.shape()[..idx.rank() - 1].to_vec();
        expected.extend_from_slice(&data.shape()[k..]);
        if updates.shape() != expected {
            return Err(format!("the updates {:?} must have shape {expected:?}", updates.shape()));
        }
        let slice: usize = data.shape()[k..].iter().product();
        let pairs: Vec<(usize, usize)> =
            starts.iter().enumerate().flat_map(|(g, &s)| (0..slice).map(move |i| (s + i, g * slice + i))).collect();
        let out = scatter_data(data.data(), updates.data(), &pairs, reduction)?;
        Ok(vec![Tensor::new(data.dtype(), data.shape().to_vec(), out)?])
    }
    fn vjp(&self, cx: &mut VjpCx) -> Result<Grads, Diag> {
        rules::index::scatter_nd(cx)
    }
}

/// The `tg.scatter_nd` op.
pub static SCATTER_ND: ScatterNd = ScatterNd;

/// Every op declared in this file.
pub static OPS: &[OpRef] = &[&GATHER, &GATHER_ELEMENTS, &GATHER_ND, &SCATTER, &SCATTER_ND];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attr::{Attr, Attrs};
    use crate::infer::{infer_standalone, NoSymbols};

    fn infer(op: OpRef, operands: &[Type], attrs: Attrs) -> Result<Vec<Type>, String> {
        infer_standalone(op, operands, &attrs, &NoSymbols)
    }

    fn n() -> Dim {
        Dim::sym("N")
    }

    fn k(v: u64) -> Dim {
        Dim::Known(v)
    }

    fn axis(a: i64) -> Attrs {
        Attrs::from([("axis", Attr::Int(a))])
    }

    #[test]
    fn gather_inserts_index_shape() {
        let data = Type::static_tensor(&[5, 4, 3], DType::F32);
        let idx = Type::static_tensor(&[2, 7], DType::I64);
        assert_eq!(
            infer(&GATHER, &[data.clone(), idx.clone()], axis(1)),
            Ok(vec![Type::static_tensor(&[5, 2, 7, 3], DType::F32)])
        );
        let emb = Type::static_tensor(&[1000, 64], DType::F32);
        let tokens = Type::tensor(vec![n(), Dim::sym("S")], DType::I32);
        assert_eq!(
            infer(&GATHER, &[emb, tokens], axis(0)),
            Ok(vec![Type::tensor(vec![n(), Dim::sym("S"), k(64)], DType::F32)])
        );
        let scalar_idx = Type::static_tensor(&[], DType::I64);
        assert_eq!(
            infer(&GATHER, &[data.clone(), scalar_idx], axis(-1)),
            Ok(vec![Type::static_tensor(&[5, 4], DType::F32)])
        );
        let fidx = Type::static_tensor(&[2], DType::F32);
        assert_eq!(
            infer(&GATHER, &[data.clone(), fidx], axis(0)),
            Err("operand #1 holds indices and must be i32 or i64, got f32".into())
        );
        assert_eq!(
            infer(&GATHER, &[data, idx], axis(3)),
            Err("attribute 'axis': axis 3 is out of range for rank 3".into())
        );
    }

    #[test]
    fn gather_elements_takes_index_shape() {
        let data = Type::tensor(vec![n(), k(5)], DType::F16);
        let idx = Type::tensor(vec![n(), k(2)], DType::I64);
        assert_eq!(
            infer(&GATHER_ELEMENTS, &[data.clone(), idx], axis(1)),
            Ok(vec![Type::tensor(vec![n(), k(2)], DType::F16)])
        );
        let bad = Type::static_tensor(&[2], DType::I64);
        assert_eq!(
            infer(&GATHER_ELEMENTS, &[data, bad], axis(0)),
            Err("the indices tensor<2xi64> must have the rank of the data tensor<N x 5 x f16>".into())
        );
    }

    #[test]
    fn gather_nd_follows_onnx() {
        let data = Type::static_tensor(&[2, 3, 4], DType::F32);
        let idx = Type::static_tensor(&[5, 2], DType::I64);
        assert_eq!(
            infer(&GATHER_ND, &[data.clone(), idx], Attrs::new()),
            Ok(vec![Type::static_tensor(&[5, 4], DType::F32)])
        );
        let data = Type::tensor(vec![n(), k(3), k(4)], DType::F32);
        let idx = Type::tensor(vec![n(), k(6), k(1)], DType::I64);
        let attrs = Attrs::from([("batch_dims", Attr::Int(1))]);
        assert_eq!(
            infer(&GATHER_ND, &[data.clone(), idx], attrs.clone()),
            Ok(vec![Type::tensor(vec![n(), k(6), k(4)], DType::F32)])
        );
        let long = Type::tensor(vec![n(), k(3)], DType::I64);
        assert_eq!(
            infer(&GATHER_ND, &[data.clone(), long], attrs.clone()),
            Err("index tuples of length 3 (the last dim of tensor<N x 3 x i64>) must have length 1 to 2 \
                 for data tensor<N x 3 x 4 x f32> with 1 batch dim(s)"
                .into())
        );
        let dynamic = Type::tensor(vec![n(), Dim::Unknown], DType::I64);
        assert_eq!(
            infer(&GATHER_ND, &[data.clone(), dynamic], Attrs::new()),
            Err("the last dim of the indices tensor<N x ? x i64> must be static, got ?".into())
        );
        let other_batch = Type::static_tensor(&[2, 1], DType::I64);
        assert_eq!(
            infer(&GATHER_ND, &[data, other_batch], attrs),
            Err("batch dim 0 is N in the data tensor<N x 3 x 4 x f32> but 2 in the indices tensor<2x1xi64>".into())
        );
    }

    #[test]
    fn scatter_checks_updates() {
        let data = Type::tensor(vec![n(), k(5)], DType::F32);
        let idx = Type::tensor(vec![n(), k(2)], DType::I64);
        let upd = Type::tensor(vec![n(), k(2)], DType::F32);
        let attrs = Attrs::from([("axis", Attr::Int(1)), ("reduction", Attr::Str("add".into()))]);
        assert_eq!(infer(&SCATTER, &[data.clone(), idx.clone(), upd], attrs.clone()), Ok(vec![data.clone()]));
        let s = Type::static_tensor(&[3, 3], DType::I32);
        let si = Type::static_tensor(&[1, 3], DType::I32);
        assert_eq!(infer(&SCATTER, &[s.clone(), si.clone(), si.clone()], axis(0)), Ok(vec![s]));
        let bad = Type::tensor(vec![n(), k(3)], DType::F32);
        assert_eq!(
            infer(&SCATTER, &[data.clone(), idx.clone(), bad], attrs),
            Err("the updates (like the indices) must have shape [N, 2], got tensor<N x 3 x f32>".into())
        );
        let upd = Type::tensor(vec![n(), k(2)], DType::F32);
        let wrong = Attrs::from([("axis", Attr::Int(1)), ("reduction", Attr::Str("sum".into()))]);
        assert_eq!(
            infer(&SCATTER, &[data, idx, upd], wrong),
            Err("attribute 'reduction' must be one of \"none\", \"add\", \"mul\", \"max\", \"min\", got \"sum\"".into())
        );
    }

    #[test]
    fn scatter_nd_checks_updates() {
        let data = Type::static_tensor(&[4, 4, 4], DType::F32);
        let idx = Type::static_tensor(&[2, 1], DType::I64);
        let upd = Type::static_tensor(&[2, 4, 4], DType::F32);
        assert_eq!(infer(&SCATTER_ND, &[data.clone(), idx.clone(), upd], Attrs::new()), Ok(vec![data.clone()]));
        let sdata = Type::tensor(vec![n(), k(8)], DType::F32);
        let sidx = Type::tensor(vec![Dim::sym("M"), k(1)], DType::I64);
        let supd = Type::tensor(vec![Dim::sym("M"), k(8)], DType::F32);
        let attrs = Attrs::from([("reduction", Attr::Str("max".into()))]);
        assert_eq!(infer(&SCATTER_ND, &[sdata.clone(), sidx, supd], attrs), Ok(vec![sdata]));
        let bad = Type::static_tensor(&[2, 4], DType::F32);
        assert_eq!(
            infer(&SCATTER_ND, &[data.clone(), idx, bad], Attrs::new()),
            Err("the updates must have shape [2, 4, 4], got tensor<2x4xf32>".into())
        );
        let long = Type::static_tensor(&[2, 4], DType::I64);
        let upd = Type::static_tensor(&[2], DType::F32);
        assert_eq!(
            infer(&SCATTER_ND, &[data, long, upd], Attrs::new()),
            Err("index tuples of length 4 (the last dim of tensor<2x4xi64>) are longer than the rank of the data \
                 tensor<4x4x4xf32>"
                .into())
        );
    }

    mod eval {
        use super::*;
        use crate::dialect::graph::testing::{arange, eval1, f32s, i64s};
        use crate::tensor::{Data, Tensor};

        fn reduction(axis: Option<i64>, r: &str) -> Attrs {
            let a = Attrs::from([("reduction", Attr::Str(r.into()))]);
            match axis {
                Some(x) => a.with("axis", Attr::Int(x)),
                None => a,
            }
        }

        #[test]
        fn gather_takes_slices_with_negative_indices() {
            let data = f32s(&[3, 3], &[1.0, 1.2, 1.9, 2.3, 3.4, 3.9, 4.5, 5.7, 5.9]);
            let out = eval1(&GATHER, &[data.clone(), i64s(&[1, 2], &[0, -1])], &axis(1)).unwrap();
            assert_eq!(out.shape(), [3, 1, 2]);
            assert_eq!(out, f32s(&[3, 1, 2], &[1.0, 1.9, 2.3, 3.9, 4.5, 5.9]));
            let row = eval1(&GATHER, &[data.clone(), i64s(&[], &[-2])], &axis(0)).unwrap();
            assert_eq!(row, f32s(&[3], &[2.3, 3.4, 3.9]));
            let none = eval1(&GATHER, &[data.clone(), i64s(&[0], &[])], &axis(0)).unwrap();
            assert_eq!(none.shape(), [0, 3]);
            let err = eval1(&GATHER, &[data, i64s(&[2], &[0, 3])], &axis(0)).unwrap_err();
            assert_eq!(err, "index 3 is out of range for axis 0 of size 3");
            let bools = Tensor::new(DType::I1, vec![3], Data::Bool(vec![true, false, false])).unwrap();
            let idx = Tensor::new(DType::I32, vec![2], Data::Int(vec![2, -3])).unwrap();
            assert_eq!(eval1(&GATHER, &[bools, idx], &axis(0)).map(|t| t.to_bools()), Ok(vec![false, true]));
        }

        #[test]
        fn gather_elements_replaces_the_axis_coordinate() {
            let data = i64s(&[2, 2], &[1, 2, 3, 4]);
            let out = eval1(&GATHER_ELEMENTS, &[data, i64s(&[2, 2], &[0, 0, 1, 0])], &axis(1)).unwrap();
            assert_eq!(out.to_i64s(), [1, 1, 4, 3]);
            let data = i64s(&[3, 3], &[1, 2, 3, 4, 5, 6, 7, 8, 9]);
            let out = eval1(&GATHER_ELEMENTS, &[data.clone(), i64s(&[2, 3], &[1, 2, 0, 2, 0, -3])], &axis(0)).unwrap();
            assert_eq!((out.shape(), out.to_i64s()), (&[2, 3][..], vec![4, 8, 3, 7, 2, 3]));
            let err = eval1(&GATHER_ELEMENTS, &[data, i64s(&[1, 1], &[-4])], &axis(0)).unwrap_err();
            assert_eq!(err, "index -4 is out of range for axis 0 of size 3");
        }

        #[test]
        fn gather_nd_with_and_without_batch_dims() {
            let run = |data: Tensor, idx: Tensor, b: i64| {
                eval1(&GATHER_ND, &[data, idx], &Attrs::from([("batch_dims", Attr::Int(b))]))
                    .map(|t| (t.shape().to_vec(), t.to_i64s()))
            };
            let square = i64s(&[2, 2], &[0, 1, 2, 3]);
            assert_eq!(run(square.clone(), i64s(&[2, 2], &[0, 0, 1, 1]), 0), Ok((vec![2], vec![0, 3])));
            assert_eq!(run(square, i64s(&[2, 1], &[1, 0]), 0), Ok((vec![2, 2], vec![2, 3, 0, 1])));
            let cube = i64s(&[2, 2, 2], &[0, 1, 2, 3, 4, 5, 6, 7]);
            assert_eq!(run(cube.clone(), i64s(&[2, 2], &[0, 1, 1, 0]), 0), Ok((vec![2, 2], vec![2, 3, 4, 5])));
            assert_eq!(run(cube.clone(), i64s(&[2, 1, 2], &[0, 1, 1, 0]), 0), Ok((vec![2, 1, 2], vec![2, 3, 4, 5])));
            // Batch 0 takes row 1 of its matrix, batch 1 takes row 0 of its own.
            assert_eq!(run(cube.clone(), i64s(&[2, 1], &[1, 0]), 1), Ok((vec![2, 2], vec![2, 3, 4, 5])));
            assert_eq!(
                run(cube.clone(), i64s(&[2, 2, 2], &[1, 1, 0, -1, 0, 0, 1, 0]), 1),
                Ok((vec![2, 2], vec![3, 1, 4, 6]))
            );
            assert_eq!(run(cube.clone(), i64s(&[2, 0, 1], &[]), 1), Ok((vec![2, 0, 2], vec![])));
            assert_eq!(
                run(cube, i64s(&[1, 2], &[0, 2]), 0),
                Err("index 2 is out of range for axis 1 of size 2".into())
            );
        }

        #[test]
        fn scatter_writes_and_reduces_elements() {
            let data = f32s(&[3, 3], &[0.0; 9]);
            let idx = i64s(&[2, 3], &[1, 0, 2, 0, 2, 1]);
            let upd = f32s(&[2, 3], &[1.0, 1.1, 1.2, 2.0, 2.1, 2.2]);
            let out = eval1(&SCATTER, &[data, idx, upd], &axis(0)).unwrap();
            assert_eq!(out, f32s(&[3, 3], &[2.0, 1.1, 0.0, 1.0, 0.0, 2.2, 0.0, 2.1, 1.2]));
            let row = f32s(&[1, 5], &[1.0, 2.0, 3.0, 4.0, 5.0]);
            let run = |r: &str, idx: &[i64], upd: &[f64]| {
                let inputs = [row.clone(), i64s(&[1, 2], idx), f32s(&[1, 2], upd)];
                eval1(&SCATTER, &inputs, &reduction(Some(1), r)).map(|t| t.to_f64s())
            };
            let f = |v: f64| v as f32 as f64;
            assert_eq!(run("add", &[1, 1], &[1.1, 2.1]), Ok(vec![1.0, f(f(2.0 + f(1.1)) + f(2.1)), 3.0, 4.0, 5.0]));
            assert_eq!(run("mul", &[1, -4], &[3.0, 5.0]), Ok(vec![1.0, 30.0, 3.0, 4.0, 5.0]));
            assert_eq!(run("max", &[0, 4], &[0.5, 9.0]), Ok(vec![1.0, 2.0, 3.0, 4.0, 9.0]));
            assert_eq!(run("min", &[0, 0], &[0.5, -1.0]), Ok(vec![-1.0, 2.0, 3.0, 4.0, 5.0]));
            assert_eq!(run("none", &[2, 2], &[7.0, 8.0]), Ok(vec![1.0, 2.0, 8.0, 4.0, 5.0]));
            assert_eq!(run("add", &[5, 0], &[0.0, 0.0]), Err("index 5 is out of range for axis 1 of size 5".into()));
            let nan = run("max", &[3, 3], &[f64::NAN, 0.0]).unwrap();
            assert!(nan[3].is_nan());
        }

        #[test]
        fn scatter_nd_writes_and_reduces_slices() {
            let data = i64s(&[8], &[1, 2, 3, 4, 5, 6, 7, 8]);
            let out = eval1(
                &SCATTER_ND,
                &[data.clone(), i64s(&[4, 1], &[4, 3, 1, 7]), i64s(&[4], &[9, 10, 11, 12])],
                &Attrs::new(),
            );
            assert_eq!(out.map(|t| t.to_i64s()), Ok(vec![1, 11, 3, 10, 9, 6, 7, 12]));
            let run = |r: &str| {
                let inputs = [data.clone(), i64s(&[2, 1], &[1, -7]), i64s(&[2], &[10, 20])];
                eval1(&SCATTER_ND, &inputs, &reduction(None, r)).map(|t| t.to_i64s()[1])
            };
            assert_eq!((run("add"), run("mul"), run("max"), run("min")), (Ok(32), Ok(400), Ok(20), Ok(2)));
            let grid = arange(&[2, 2, 2]);
            let upd = f32s(&[1, 2, 2], &[-1.0, -2.0, -3.0, -4.0]);
            let out = eval1(&SCATTER_ND, &[grid.clone(), i64s(&[1, 1], &[1]), upd], &reduction(None, "add")).unwrap();
            assert_eq!(out.to_f64s(), [0.0, 1.0, 2.0, 3.0, 3.0, 3.0, 3.0, 3.0]);
            let row = f32s(&[1, 2], &[5.0, 6.0]);
            let out = eval1(&SCATTER_ND, &[grid.clone(), i64s(&[1, 2], &[0, 1]), row], &Attrs::new()).unwrap();
            assert_eq!(out.to_f64s(), [0.0, 1.0, 5.0, 6.0, 4.0, 5.0, 6.0, 7.0]);
            let err = eval1(&SCATTER_ND, &[grid, i64s(&[1, 1], &[2]), f32s(&[1, 2, 2], &[0.0; 4])], &Attrs::new());
            assert_eq!(err.unwrap_err(), "index 2 is out of range for axis 0 of size 2");
        }
    }
}
