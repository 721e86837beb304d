//! Indexed reads and writes: `tg.gather`, `tg.gather_elements`,
//! `tg.gather_nd`, `tg.scatter` and `tg.scatter_nd` (ONNX semantics;
//! negative indices count from the end of their axis).

use super::shape::unify_dims;
use crate::dim::Dim;
use crate::dtype::DType;
use crate::infer::{show_dims, InferCx};
use crate::op::{Arity, AttrKind, AttrSpec, OpDef, OpRef, OpSpec};
use crate::types::{TensorType, Type};

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
}
