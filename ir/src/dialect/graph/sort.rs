//! Ordering along an axis: `tg.sort` and `tg.topk`, each giving the values
//! and their `i64` positions in the operand.

use crate::dim::Dim;
use crate::dtype::{DType, DTypeClass};
use crate::infer::{normalize_axis, InferCx};
use crate::op::{Arity, AttrKind, AttrSpec, OpDef, OpRef, OpSpec};
use crate::types::{TensorType, Type};

/// The two results of a sort: values of `values`'s type and `i64` indices.
fn values_and_indices(values: TensorType) -> Vec<Type> {
    let indices = values.with_dtype(DType::I64);
    vec![Type::Tensor(values), Type::Tensor(indices)]
}

/// The optional attribute `axis` (default -1, the last axis) as an axis of
/// a rank-`rank` tensor.
fn axis_or_last(cx: &InferCx, rank: usize) -> Result<usize, String> {
    normalize_axis(cx.int_or("axis", -1)?, rank).map_err(|e| format!("attribute 'axis': {e}"))
}

/// `%v, %i = tg.sort %x {axis = -1, descending = false}`: stable sort along
/// `axis` (NaNs last); `%i` holds each value's position in `x`.
pub struct Sort;

impl OpDef for Sort {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec = OpSpec::new("tg.sort", "x stably sorted along `axis`, with the i64 source positions")
            .results(Arity::Exactly(2))
            .attrs(&[AttrSpec::opt("axis", AttrKind::Int), AttrSpec::opt("descending", AttrKind::Bool)]);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let x = cx.tensor_of(0, DTypeClass::Numeric)?;
        axis_or_last(cx, x.rank())?;
        cx.bool_or("descending", false)?;
        Ok(values_and_indices(x.clone()))
    }
}

/// The `tg.sort` op.
pub static SORT: Sort = Sort;

/// `%v, %i = tg.topk %x {k = 3, axis = -1, largest = true, sorted = true}`
/// (ONNX TopK): the `k` largest (or smallest) elements along `axis` and their
/// `i64` positions; ties keep the lower index first. With `sorted = false`
/// the order of the `k` elements is unspecified.
pub struct TopK;

impl OpDef for TopK {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec =
            OpSpec::new("tg.topk", "the k largest (or smallest) elements along `axis`, with their i64 positions")
                .results(Arity::Exactly(2))
                .attrs(&[
                    AttrSpec::req("k", AttrKind::Int),
                    AttrSpec::opt("axis", AttrKind::Int),
                    AttrSpec::opt("largest", AttrKind::Bool),
                    AttrSpec::opt("sorted", AttrKind::Bool),
                ]);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let x = cx.tensor_of(0, DTypeClass::Numeric)?;
        let axis = axis_or_last(cx, x.rank())?;
        cx.bool_or("largest", true)?;
        cx.bool_or("sorted", true)?;
        let k = cx.int("k")?;
        let k = u64::try_from(k).map_err(|_| format!("k must be >= 0, got {k}"))?;
        if let Some(n) = x.dims[axis].known() {
            if k > n {
                return Err(format!("k = {k} exceeds the size {n} of axis {axis} of {x}"));
            }
        }
        let mut values = x.clone();
        values.dims[axis] = Dim::Known(k);
        Ok(values_and_indices(values))
    }
}

/// The `tg.topk` op.
pub static TOPK: TopK = TopK;

/// Every op declared in this file.
pub static OPS: &[OpRef] = &[&SORT, &TOPK];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attr::{Attr, Attrs};
    use crate::infer::{infer_standalone, NoSymbols};

    fn infer(op: OpRef, x: Type, attrs: Attrs) -> Result<Vec<Type>, String> {
        infer_standalone(op, &[x], &attrs, &NoSymbols)
    }

    fn pair(dims: Vec<Dim>, dtype: DType) -> Vec<Type> {
        vec![Type::tensor(dims.clone(), dtype), Type::tensor(dims, DType::I64)]
    }

    #[test]
    fn sort_keeps_shape() {
        let n = Dim::sym("N");
        let x = Type::tensor(vec![n.clone(), Dim::Known(7)], DType::F32);
        assert_eq!(infer(&SORT, x.clone(), Attrs::new()), Ok(pair(vec![n.clone(), Dim::Known(7)], DType::F32)));
        let attrs = Attrs::from([("axis", Attr::Int(0)), ("descending", Attr::Bool(true))]);
        assert_eq!(infer(&SORT, x, attrs), Ok(pair(vec![n, Dim::Known(7)], DType::F32)));
        let s = Type::static_tensor(&[4], DType::I32);
        assert_eq!(infer(&SORT, s, Attrs::new()), Ok(pair(vec![Dim::Known(4)], DType::I32)));
        let scalar = Type::static_tensor(&[], DType::F32);
        assert_eq!(
            infer(&SORT, scalar, Attrs::new()),
            Err("attribute 'axis': axis -1 is out of range for rank 0".into())
        );
    }

    #[test]
    fn topk_sets_axis_to_k() {
        let x = Type::static_tensor(&[2, 10], DType::F32);
        let attrs = Attrs::from([("k", Attr::Int(3))]);
        assert_eq!(infer(&TOPK, x.clone(), attrs), Ok(pair(vec![Dim::Known(2), Dim::Known(3)], DType::F32)));
        let n = Dim::sym("N");
        let sym = Type::tensor(vec![n.clone(), Dim::sym("V")], DType::F16);
        let attrs = Attrs::from([("k", Attr::Int(5)), ("largest", Attr::Bool(false)), ("sorted", Attr::Bool(false))]);
        assert_eq!(infer(&TOPK, sym, attrs), Ok(pair(vec![n, Dim::Known(5)], DType::F16)));
        let attrs = Attrs::from([("k", Attr::Int(11))]);
        assert_eq!(
            infer(&TOPK, x.clone(), attrs),
            Err("k = 11 exceeds the size 10 of axis 1 of tensor<2x10xf32>".into())
        );
        let attrs = Attrs::from([("k", Attr::Int(-1)), ("axis", Attr::Int(0))]);
        assert_eq!(infer(&TOPK, x.clone(), attrs), Err("k must be >= 0, got -1".into()));
        assert_eq!(infer(&TOPK, x, Attrs::new()), Err("missing attribute 'k'".into()));
    }
}
