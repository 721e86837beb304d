//! Ordering along an axis: `tg.sort` and `tg.topk`, each giving the values
//! and their `i64` positions in the operand.

use super::kernels::Elem;
use super::layout::{split_at_axis, take};
use crate::dim::Dim;
use crate::dtype::{DType, DTypeClass};
use crate::eval::EvalCx;
use crate::infer::{normalize_axis, InferCx};
use crate::op::{Arity, AttrKind, AttrSpec, OpDef, OpRef, OpSpec};
use crate::tensor::{Data, Tensor};
use crate::types::{TensorType, Type};
use super::vjp as rules;
use crate::diag::Diag;
use crate::vjp::{Grads, VjpCx};

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

/// The first `keep` elements of every lane of `x` along `axis` once the
/// lane is stably sorted (ascending, or descending when `descending`;
/// NaN counts as larger than every number, as in numpy, so equal keys keep
/// their order and the lower index comes first): the sorted values and
/// their `i64` positions along the axis.
fn sorted_lanes(x: &Tensor, axis: usize, descending: bool, keep: usize) -> Result<Vec<Tensor>, String> {
    fn order<T: Elem>(
        v: &[T],
        (outer, n, inner): (usize, usize, usize),
        descending: bool,
        keep: usize,
    ) -> (Vec<usize>, Vec<i64>) {
        let mut source = vec![0; outer * keep * inner];
        let mut positions = vec![0; outer * keep * inner];
        let mut lane: Vec<usize> = Vec::with_capacity(n);
        for o in 0..outer {
            for i in 0..inner {
                let at = |j: usize| (o * n + j) * inner + i;
                lane.clear();
                lane.extend(0..n);
                if descending {
                    lane.sort_by(|&a, &b| v[at(b)].order(&v[at(a)]));
                } else {
                    lane.sort_by(|&a, &b| v[at(a)].order(&v[at(b)]));
                }
                for (r, &j) in lane[..keep].iter().enumerate() {
                    let out = (o * keep + r) * inner + i;
                    source[out] = at(j);
                    positions[out] = j as i64;
                }
            }
        }
        (source, positions)
    }
    let split = split_at_axis(x.shape(), axis);
    let n = split.1;
    if keep > n {
        return Err(format!("k = {keep} exceeds the size {n} of axis {axis} of {:?}", x.shape()));
    }
    let (source, positions) = match x.data() {
        Data::Float(v) => order(v, split, descending, keep),
        Data::Int(v) => order(v, split, descending, keep),
        Data::UInt(v) => order(v, split, descending, keep),
        Data::Bool(v) => order(v, split, descending, keep),
    };
    let mut shape = x.shape().to_vec();
    shape[axis] = keep;
    let values = Tensor::new(x.dtype(), shape.clone(), take(x.data(), source.into_iter().map(Some))?)?;
    Ok(vec![values, Tensor::new(DType::I64, shape, Data::Int(positions))?])
}

/// `%v, %i = tg.sort %x {axis = -1, descending = false}`: stable sort along
/// `axis`; `%i` holds each value's position in `x`. NaN sorts as larger than
/// every number (last ascending, first descending, as in numpy), and equal
/// values keep their order in either direction.
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
    fn eval(&self, cx: &mut EvalCx) -> Result<Vec<Tensor>, String> {
        let x = cx.input(0)?;
        let axis = axis_or_last(&cx.op, x.rank())?;
        sorted_lanes(x, axis, cx.op.bool_or("descending", false)?, x.shape()[axis])
    }
    fn vjp(&self, cx: &mut VjpCx) -> Result<Grads, Diag> {
        rules::index::sorted(cx)
    }
}

/// The `tg.sort` op.
pub static SORT: Sort = Sort;

/// `%v, %i = tg.topk %x {k = 3, axis = -1, largest = true, sorted = true}`
/// (ONNX TopK): the `k` largest (or smallest) elements along `axis` and their
/// `i64` positions; ties keep the lower index first, and NaN counts as
/// larger than every number (as in numpy). With `sorted = false` the order
/// of the `k` elements is unspecified (the reference semantics sort them).
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
    fn eval(&self, cx: &mut EvalCx) -> Result<Vec<Tensor>, String> {
        let x = cx.input(0)?;
        let axis = axis_or_last(&cx.op, x.rank())?;
        let k = cx.op.int("k")?;
        let k = usize::try_from(k).map_err(|_| format!("k must be >= 0, got {k}"))?;
        sorted_lanes(x, axis, cx.op.bool_or("largest", true)?, k)
    }
    fn vjp(&self, cx: &mut VjpCx) -> Result<Grads, Diag> {
        rules::index::sorted(cx)
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

    mod eval {
        use super::*;
        use crate::dialect::graph::testing::{eval_op, f32s, i64s};

        fn run(op: OpRef, x: Tensor, attrs: Attrs) -> (Vec<f64>, Vec<i64>) {
            let out = eval_op(op, &[x], &attrs).unwrap();
            (out[0].to_f64s(), out[1].to_i64s())
        }

        #[test]
        fn sort_is_stable_both_ways_with_nan_largest() {
            let nan = f64::NAN;
            let x = f32s(&[6], &[3.0, nan, 1.0, 3.0, -2.0, 1.0]);
            let (v, i) = run(&SORT, x.clone(), Attrs::new());
            assert_eq!(i, [4, 2, 5, 0, 3, 1]);
            assert_eq!(&v[..5], &[-2.0, 1.0, 1.0, 3.0, 3.0]);
            assert!(v[5].is_nan());
            let (v, i) = run(&SORT, x, Attrs::from([("descending", Attr::Bool(true))]));
            assert_eq!(i, [1, 0, 3, 2, 5, 4]);
            assert!(v[0].is_nan());
            // Along axis 0 of a matrix, each column separately.
            let m = i64s(&[2, 3], &[5, 1, 4, 2, 7, 4]);
            let (v, i) = run(&SORT, m, Attrs::from([("axis", Attr::Int(0))]));
            assert_eq!((v, i), (vec![2.0, 1.0, 4.0, 5.0, 7.0, 4.0], vec![1, 0, 0, 0, 1, 1]));
        }

        #[test]
        fn topk_keeps_lower_indices_first_on_ties() {
            let x = f32s(&[2, 4], &[1.0, 3.0, 3.0, 2.0, 0.0, 0.0, 5.0, 0.0]);
            let (v, i) = run(&TOPK, x.clone(), Attrs::from([("k", Attr::Int(2))]));
            assert_eq!((v, i), (vec![3.0, 3.0, 5.0, 0.0], vec![1, 2, 2, 0]));
            let attrs = Attrs::from([("k", Attr::Int(3)), ("largest", Attr::Bool(false))]);
            let (v, i) = run(&TOPK, x.clone(), attrs);
            assert_eq!((v, i), (vec![1.0, 2.0, 3.0, 0.0, 0.0, 0.0], vec![0, 3, 1, 0, 1, 3]));
            let (v, i) = run(&TOPK, x, Attrs::from([("k", Attr::Int(0))]));
            assert!(v.is_empty() && i.is_empty());
            let nan = f32s(&[3], &[1.0, f64::NAN, 2.0]);
            let (_, i) = run(&TOPK, nan.clone(), Attrs::from([("k", Attr::Int(1))]));
            assert_eq!(i, [1]);
            let (_, i) = run(&TOPK, nan, Attrs::from([("k", Attr::Int(2)), ("largest", Attr::Bool(false))]));
            assert_eq!(i, [0, 2]);
            let u = Tensor::new(DType::U64, vec![3], Data::UInt(vec![u64::MAX, 1, u64::MAX - 1])).unwrap();
            let out = eval_op(&TOPK, &[u], &Attrs::from([("k", Attr::Int(2))])).unwrap();
            assert_eq!(out[0].data(), &Data::UInt(vec![u64::MAX, u64::MAX - 1]));
        }
    }
}
