//! Reductions along axes: `tg.reduce_{sum,prod,max,min}`, `tg.argmax`,
//! `tg.argmin` and the running reductions `tg.cumsum` and `tg.cumprod`.

use super::kernels::{broadcast_index_map, Combine, Elem};
use super::layout::{map_elements, split_at_axis};
use crate::dim::Dim;
use crate::dtype::{DType, DTypeClass};
use crate::eval::EvalCx;
use crate::infer::InferCx;
use crate::op::{AttrKind, AttrSpec, OpDef, OpRef, OpSpec, Traits};
use crate::tensor::{Data, Tensor};
use crate::types::{TensorType, Type};
use super::vjp::reduce as rules;
use crate::diag::Diag;
use crate::vjp::{Grads, VjpCx};

/// The dims left after reducing `axes` (already normalised): dropped, or
/// kept as size 1 when `keepdims`.
fn reduced_dims(dims: &[Dim], axes: &[usize], keepdims: bool) -> Vec<Dim> {
    dims.iter()
        .enumerate()
        .filter_map(|(i, d)| match (axes.contains(&i), keepdims) {
            (false, _) => Some(d.clone()),
            (true, true) => Some(Dim::Known(1)),
            (true, false) => None,
        })
        .collect()
}

/// Folds each element of `v` (of `dtype`) into `out[to[i]]` with
/// `combine`, in row-major order, starting from its identity.
fn fold_into<T: Elem>(v: &[T], to: &[usize], combine: Combine, dtype: DType, len: usize) -> Vec<T> {
    let f = combine.op();
    let mut out = vec![combine.identity(dtype); len];
    for (&x, &o) in v.iter().zip(to) {
        out[o] = f(out[o], x);
    }
    out
}

/// `tg.reduce_sum %x {axes = [1], keepdims = false}` and its siblings:
/// combines the elements along `axes` (distinct; negative counts from the
/// end; `[]` reduces nothing) with one associative operation. Reducing an
/// empty axis gives the operation's identity (0, 1, and for max and min
/// -inf and +inf, or the integer dtype's minimum and maximum).
pub struct Reduce {
    spec: OpSpec,
    combine: Combine,
}

impl Reduce {
    /// The reduction `name`, taking `axes` and `keepdims`.
    const fn new(name: &'static str, summary: &'static str, combine: Combine) -> Reduce {
        const ATTRS: &[AttrSpec] = &[AttrSpec::req("axes", AttrKind::Ints), AttrSpec::opt("keepdims", AttrKind::Bool)];
        Reduce { spec: OpSpec::new(name, summary).attrs(ATTRS), combine }
    }
}

impl OpDef for Reduce {
    fn spec(&self) -> &OpSpec {
        &self.spec
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let x = cx.tensor_of(0, DTypeClass::Numeric)?;
        let axes = cx.axes("axes", x.rank())?;
        let keepdims = cx.bool_or("keepdims", false)?;
        Ok(vec![Type::Tensor(TensorType::new(reduced_dims(&x.dims, &axes, keepdims), x.dtype))])
    }
    fn eval(&self, cx: &mut EvalCx) -> Result<Vec<Tensor>, String> {
        let x = cx.input(0)?;
        let axes = cx.op.axes("axes", x.rank())?;
        let keepdims = cx.op.bool_or("keepdims", false)?;
        // The keepdims shape broadcasts back onto the input: its index map
        // sends every input element to the output element it folds into.
        let kept: Vec<usize> =
            x.shape().iter().enumerate().map(|(i, &n)| if axes.contains(&i) { 1 } else { n }).collect();
        let to = broadcast_index_map(&kept, x.shape())?;
        let len = kept.iter().product();
        let data = match x.data() {
            Data::Bool(_) => return Err("operand #0 must be numeric, got i1".into()),
            d => map_elements!(d, v => fold_into(v, &to, self.combine, x.dtype(), len)),
        };
        let shape = if keepdims {
            kept
        } else {
            x.shape().iter().enumerate().filter(|(i, _)| !axes.contains(i)).map(|(_, &n)| n).collect()
        };
        Ok(vec![Tensor::new(x.dtype(), shape, data)?])
    }
    fn vjp(&self, cx: &mut VjpCx) -> Result<Grads, Diag> {
        let kind = match self.combine {
            Combine::Sum => rules::Reduction::Sum,
            Combine::Prod => rules::Reduction::Prod,
            Combine::Max | Combine::Min => rules::Reduction::Extremum,
        };
        rules::reduce(cx, kind)
    }
}

/// Sum over `axes`.
pub static REDUCE_SUM: Reduce = Reduce::new("tg.reduce_sum", "the sum of the elements along `axes`", Combine::Sum);
/// Product over `axes`.
pub static REDUCE_PROD: Reduce =
    Reduce::new("tg.reduce_prod", "the product of the elements along `axes`", Combine::Prod);
/// Maximum over `axes` (NaN-propagating).
pub static REDUCE_MAX: Reduce =
    Reduce::new("tg.reduce_max", "the largest element along `axes`, NaN-propagating", Combine::Max);
/// Minimum over `axes` (NaN-propagating).
pub static REDUCE_MIN: Reduce =
    Reduce::new("tg.reduce_min", "the smallest element along `axes`, NaN-propagating", Combine::Min);

/// `tg.argmax %x {axis = 1}` and `tg.argmin`: the `i64` index of the extreme
/// element along `axis` (ONNX ArgMax/ArgMin): the first one on ties, the
/// last with `select_last_index`; `keepdims` keeps the axis as size 1.
pub struct ArgReduce {
    spec: OpSpec,
    /// Whether the largest (rather than the smallest) element is wanted.
    largest: bool,
}

impl ArgReduce {
    /// The index reduction `name`, taking `axis`, `keepdims` and `select_last_index`.
    const fn new(name: &'static str, summary: &'static str, largest: bool) -> ArgReduce {
        const ATTRS: &[AttrSpec] = &[
            AttrSpec::req("axis", AttrKind::Int),
            AttrSpec::opt("keepdims", AttrKind::Bool),
            AttrSpec::opt("select_last_index", AttrKind::Bool),
        ];
        ArgReduce { spec: OpSpec::new(name, summary).attrs(ATTRS), largest }
    }
}

impl OpDef for ArgReduce {
    fn spec(&self) -> &OpSpec {
        &self.spec
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let x = cx.tensor_of(0, DTypeClass::Numeric)?;
        let axis = cx.axis("axis", x.rank())?;
        let keepdims = cx.bool_or("keepdims", false)?;
        cx.bool_or("select_last_index", false)?;
        if x.dims[axis].known() == Some(0) {
            return Err(format!("axis {axis} of {x} is empty, so it has no extreme element"));
        }
        Ok(vec![Type::Tensor(TensorType::new(reduced_dims(&x.dims, &[axis], keepdims), DType::I64))])
    }
    fn eval(&self, cx: &mut EvalCx) -> Result<Vec<Tensor>, String> {
        let x = cx.input(0)?;
        let axis = cx.op.axis("axis", x.rank())?;
        let keepdims = cx.op.bool_or("keepdims", false)?;
        let last = cx.op.bool_or("select_last_index", false)?;
        let split = split_at_axis(x.shape(), axis);
        if split.1 == 0 {
            return Err(format!("axis {axis} of shape {:?} is empty, so it has no extreme element", x.shape()));
        }
        let indices = match x.data() {
            Data::Float(v) => arg_extreme(v, split, self.largest, last),
            Data::Int(v) => arg_extreme(v, split, self.largest, last),
            Data::UInt(v) => arg_extreme(v, split, self.largest, last),
            Data::Bool(_) => return Err("operand #0 must be numeric, got i1".into()),
        };
        let mut shape = x.shape().to_vec();
        if keepdims {
            shape[axis] = 1;
        } else {
            shape.remove(axis);
        }
        Ok(vec![Tensor::new(DType::I64, shape, Data::Int(indices))?])
    }
}

/// For each `(outer, inner)` position of `v` split as `(outer, len, inner)`
/// around an axis, the index along the axis of the largest (or smallest)
/// element: NaN counts as the most extreme value (as in numpy), ties go to
/// the first index, or to the last with `last`.
fn arg_extreme<T: Copy + PartialOrd>(
    v: &[T],
    (outer, len, inner): (usize, usize, usize),
    largest: bool,
    last: bool,
) -> Vec<i64> {
    // Whether `a` is strictly more extreme than `b`; only NaN is unordered with itself.
    let beats = |a: T, b: T| {
        let (a_nan, b_nan) = (a.partial_cmp(&a).is_none(), b.partial_cmp(&b).is_none());
        !b_nan && (a_nan || if largest { a > b } else { a < b })
    };
    let mut out = Vec::with_capacity(outer * inner);
    for o in 0..outer {
        for i in 0..inner {
            let at = |k: usize| v[(o * len + k) * inner + i];
            let mut best = 0;
            for k in 1..len {
                if beats(at(k), at(best)) || (last && !beats(at(best), at(k))) {
                    best = k;
                }
            }
            out.push(best as i64);
        }
    }
    out
}

/// Index of the largest element along `axis`.
pub static ARGMAX: ArgReduce = ArgReduce::new("tg.argmax", "the i64 index of the largest element along `axis`", true);
/// Index of the smallest element along `axis`.
pub static ARGMIN: ArgReduce = ArgReduce::new("tg.argmin", "the i64 index of the smallest element along `axis`", false);

/// A running reduction along `axis` (ONNX CumSum, CumProd): `exclusive`
/// leaves out the element itself, `reverse` runs from the end.
pub struct Cumulative {
    spec: OpSpec,
    /// `Sum` or `Prod`.
    combine: Combine,
}

impl Cumulative {
    /// The running reduction `name` with `combine`, taking `axis`, `exclusive` and `reverse`.
    const fn new(name: &'static str, summary: &'static str, combine: Combine) -> Cumulative {
        const ATTRS: &[AttrSpec] = &[
            AttrSpec::req("axis", AttrKind::Int),
            AttrSpec::opt("exclusive", AttrKind::Bool),
            AttrSpec::opt("reverse", AttrKind::Bool),
        ];
        Cumulative {
            spec: OpSpec::new(name, summary).traits(Traits::PURE.union(Traits::SAME_TYPE)).attrs(ATTRS),
            combine,
        }
    }
}

impl OpDef for Cumulative {
    fn spec(&self) -> &OpSpec {
        &self.spec
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let x = cx.tensor_of(0, DTypeClass::Numeric)?;
        cx.axis("axis", x.rank())?;
        cx.bool_or("exclusive", false)?;
        cx.bool_or("reverse", false)?;
        Ok(vec![Type::Tensor(x.clone())])
    }
    fn eval(&self, cx: &mut EvalCx) -> Result<Vec<Tensor>, String> {
        let x = cx.input(0)?;
        let split = split_at_axis(x.shape(), cx.op.axis("axis", x.rank())?);
        let flags = (cx.op.bool_or("exclusive", false)?, cx.op.bool_or("reverse", false)?);
        let data = match x.data() {
            Data::Bool(_) => return Err("operand #0 must be numeric, got i1".into()),
            d => map_elements!(d, v => running(v, split, flags, self.combine, x.dtype())),
        };
        Ok(vec![Tensor::new(x.dtype(), x.shape().to_vec(), data)?])
    }
    fn vjp(&self, cx: &mut VjpCx) -> Result<Grads, Diag> {
        match self.combine {
            Combine::Sum => rules::cumsum(cx),
            Combine::Prod => rules::cumprod(cx),
            _ => Err(cx.not_differentiable(self.name())),
        }
    }
}

/// `tg.cumsum %x {axis = 0}`: the running sum along `axis`.
pub static CUMSUM: Cumulative = Cumulative::new("tg.cumsum", "the running sum along `axis`", Combine::Sum);
/// `tg.cumprod %x {axis = 0}`: the running product along `axis`.
pub static CUMPROD: Cumulative = Cumulative::new("tg.cumprod", "the running product along `axis`", Combine::Prod);

/// The running reduction by `combine` of `v` (of `dtype`) along the axis it
/// is split around: each element becomes the combination of those before it
/// (after it with `reverse`), itself included unless `exclusive`.
fn running<T: Elem>(
    v: &[T],
    (outer, len, inner): (usize, usize, usize),
    (exclusive, reverse): (bool, bool),
    combine: Combine,
    dtype: DType,
) -> Vec<T> {
    let (f, identity) = (combine.op(), combine.identity(dtype));
    let mut out = v.to_vec();
    for o in 0..outer {
        for i in 0..inner {
            let mut acc = identity;
            for step in 0..len {
                let k = if reverse { len - 1 - step } else { step };
                let at = (o * len + k) * inner + i;
                let next = f(acc, v[at]);
                out[at] = if exclusive { acc } else { next };
                acc = next;
            }
        }
    }
    out
}

/// Every op declared in this file.
pub static OPS: &[OpRef] = &[&REDUCE_SUM, &REDUCE_PROD, &REDUCE_MAX, &REDUCE_MIN, &ARGMAX, &ARGMIN, &CUMSUM, &CUMPROD];

#[cfg(test)]
mod tests {
    use super::super::testing::{eval1, eval_typed, t};
    use super::*;
    use crate::attr::{Attr, Attrs};
    use crate::infer::{infer_standalone, NoSymbols};

    fn infer(op: OpRef, x: Type, attrs: Attrs) -> Result<Vec<Type>, String> {
        infer_standalone(op, &[x], &attrs, &NoSymbols)
    }

    fn n() -> Dim {
        Dim::sym("N")
    }

    #[test]
    fn reduce_drops_or_keeps_axes() {
        let x = Type::static_tensor(&[2, 3, 4], DType::F32);
        let drop = Attrs::from([("axes", Attr::ints(&[0, -1]))]);
        assert_eq!(infer(&REDUCE_SUM, x.clone(), drop), Ok(vec![Type::static_tensor(&[3], DType::F32)]));
        let keep = Attrs::from([("axes", Attr::ints(&[1])), ("keepdims", Attr::Bool(true))]);
        assert_eq!(infer(&REDUCE_MAX, x.clone(), keep), Ok(vec![Type::static_tensor(&[2, 1, 4], DType::F32)]));
        let none = Attrs::from([("axes", Attr::ints(&[]))]);
        assert_eq!(infer(&REDUCE_PROD, x.clone(), none), Ok(vec![x]));
    }

    #[test]
    fn reduce_keeps_symbolic_batch() {
        let x = Type::tensor(vec![n(), Dim::Known(4), Dim::Known(5)], DType::I32);
        let attrs = Attrs::from([("axes", Attr::ints(&[1]))]);
        assert_eq!(infer(&REDUCE_MIN, x, attrs), Ok(vec![Type::tensor(vec![n(), Dim::Known(5)], DType::I32)]));
    }

    #[test]
    fn reduce_rejects_bad_axes_and_bool() {
        let x = Type::static_tensor(&[2, 3], DType::F32);
        let out = Attrs::from([("axes", Attr::ints(&[2]))]);
        assert_eq!(
            infer(&REDUCE_SUM, x.clone(), out),
            Err("attribute 'axes': axis 2 is out of range for rank 2".into())
        );
        let repeated = Attrs::from([("axes", Attr::ints(&[1, -1]))]);
        assert_eq!(infer(&REDUCE_SUM, x, repeated), Err("attribute 'axes': axis -1 is repeated".into()));
        let b = Type::static_tensor(&[2], DType::I1);
        let err = infer(&REDUCE_SUM, b, Attrs::from([("axes", Attr::ints(&[0]))])).unwrap_err();
        assert!(err.contains("numeric"), "{err}");
        let missing = infer(&REDUCE_SUM, Type::static_tensor(&[2], DType::F32), Attrs::new());
        assert_eq!(missing, Err("missing attribute 'axes'".into()));
    }

    #[test]
    fn argmax_gives_i64() {
        let x = Type::tensor(vec![n(), Dim::Known(10)], DType::F32);
        let attrs = Attrs::from([("axis", Attr::Int(-1))]);
        assert_eq!(infer(&ARGMAX, x.clone(), attrs), Ok(vec![Type::tensor(vec![n()], DType::I64)]));
        let keep = Attrs::from([
            ("axis", Attr::Int(1)),
            ("keepdims", Attr::Bool(true)),
            ("select_last_index", Attr::Bool(true)),
        ]);
        assert_eq!(infer(&ARGMIN, x, keep), Ok(vec![Type::tensor(vec![n(), Dim::Known(1)], DType::I64)]));
        let s = Type::static_tensor(&[2, 3], DType::F32);
        let attrs = Attrs::from([("axis", Attr::Int(0))]);
        assert_eq!(infer(&ARGMAX, s, attrs), Ok(vec![Type::static_tensor(&[3], DType::I64)]));
    }

    #[test]
    fn argmax_rejects_empty_axis_and_bad_attrs() {
        let x = Type::static_tensor(&[2, 0], DType::F32);
        let attrs = Attrs::from([("axis", Attr::Int(1))]);
        assert_eq!(
            infer(&ARGMAX, x, attrs),
            Err("axis 1 of tensor<2x0xf32> is empty, so it has no extreme element".into())
        );
        let x = Type::static_tensor(&[2], DType::F32);
        let attrs = Attrs::from([("axis", Attr::Int(0)), ("keepdims", Attr::Int(1))]);
        assert_eq!(infer(&ARGMAX, x, attrs), Err("attribute 'keepdims' must be a bool, got int".into()));
    }

    #[test]
    fn cumsum_keeps_type() {
        let x = Type::tensor(vec![n(), Dim::Known(3)], DType::F64);
        let attrs =
            Attrs::from([("axis", Attr::Int(0)), ("exclusive", Attr::Bool(true)), ("reverse", Attr::Bool(true))]);
        assert_eq!(infer(&CUMSUM, x.clone(), attrs), Ok(vec![x]));
        let s = Type::static_tensor(&[4], DType::I64);
        assert_eq!(infer(&CUMSUM, s.clone(), Attrs::from([("axis", Attr::Int(-1))])), Ok(vec![s.clone()]));
        assert_eq!(
            infer(&CUMSUM, s, Attrs::from([("axis", Attr::Int(1))])),
            Err("attribute 'axis': axis 1 is out of range for rank 1".into())
        );
    }

    /// Evaluates a reduction over `axes`.
    fn reduce(op: OpRef, x: &Tensor, axes: &[i64], keepdims: bool) -> Tensor {
        let attrs = Attrs::from([("axes", Attr::ints(axes)), ("keepdims", Attr::Bool(keepdims))]);
        eval1(op, std::slice::from_ref(x), &attrs).unwrap()
    }

    #[test]
    fn reduce_sums_along_any_axes() {
        let x = t(DType::F32, &[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let s = reduce(&REDUCE_SUM, &x, &[0], false);
        assert_eq!((s.shape(), s.to_f64s()), (&[3][..], vec![5.0, 7.0, 9.0]));
        let s = reduce(&REDUCE_SUM, &x, &[-1], true);
        assert_eq!((s.shape(), s.to_f64s()), (&[2, 1][..], vec![6.0, 15.0]));
        let s = reduce(&REDUCE_SUM, &x, &[1, 0], false);
        assert_eq!((s.shape(), s.to_f64s()), (&[][..], vec![21.0]));
        let s = reduce(&REDUCE_PROD, &x, &[0, 1], true);
        assert_eq!((s.shape(), s.to_f64s()), (&[1, 1][..], vec![720.0]));
        assert_eq!(reduce(&REDUCE_MAX, &x, &[], false), x);
        let y = t(DType::I32, &[2, 2, 2], &[1.0, -2.0, 3.0, -4.0, 5.0, -6.0, 7.0, -8.0]);
        let m = reduce(&REDUCE_MAX, &y, &[0, 2], false);
        assert_eq!((m.shape(), m.to_i64s()), (&[2][..], vec![5, 7]));
        let m = reduce(&REDUCE_MIN, &y, &[1], true);
        assert_eq!((m.shape(), m.to_i64s()), (&[2, 1, 2][..], vec![1, -4, 5, -8]));
    }

    #[test]
    fn reductions_wrap_and_round_to_the_dtype() {
        let x = t(DType::I8, &[3], &[100.0, 100.0, 1.0]);
        assert_eq!(reduce(&REDUCE_SUM, &x, &[0], false).to_i64s(), [-55]);
        assert_eq!(reduce(&REDUCE_PROD, &x, &[0], false).to_i64s(), [16]);
        let u = t(DType::U8, &[2], &[200.0, 100.0]);
        assert_eq!(reduce(&REDUCE_SUM, &u, &[0], false).to_i64s(), [44]);
        // Summed in f64, rounded once: f16 holds 2050 exactly.
        let h = t(DType::F16, &[3], &[2048.0, 1.0, 1.0]);
        assert_eq!(reduce(&REDUCE_SUM, &h, &[0], false).to_f64s(), [2050.0]);
        let f = t(DType::F32, &[2], &[1.0, 1e-8]);
        assert_eq!(reduce(&REDUCE_SUM, &f, &[0], false).to_f64s(), [1.0]);
    }

    #[test]
    fn reductions_over_an_empty_axis_give_the_identity() {
        let x = t(DType::F32, &[2, 0], &[]);
        assert_eq!(reduce(&REDUCE_SUM, &x, &[1], false).to_f64s(), [0.0, 0.0]);
        assert_eq!(reduce(&REDUCE_PROD, &x, &[1], false).to_f64s(), [1.0, 1.0]);
        assert_eq!(reduce(&REDUCE_MAX, &x, &[1], true).to_f64s(), [f64::NEG_INFINITY; 2]);
        assert_eq!(reduce(&REDUCE_MIN, &x, &[1], false).to_f64s(), [f64::INFINITY; 2]);
        let none = reduce(&REDUCE_SUM, &x, &[0], false);
        assert_eq!((none.shape(), none.len()), (&[0][..], 0));
        let i = t(DType::I8, &[0], &[]);
        assert_eq!(reduce(&REDUCE_MAX, &i, &[0], false).to_i64s(), [-128]);
        assert_eq!(reduce(&REDUCE_MIN, &i, &[0], false).to_i64s(), [127]);
        let l = t(DType::I64, &[0], &[]);
        assert_eq!(reduce(&REDUCE_MAX, &l, &[0], false).to_i64s(), [i64::MIN]);
        assert_eq!(reduce(&REDUCE_MIN, &l, &[0], false).to_i64s(), [i64::MAX]);
        let u = t(DType::U16, &[0], &[]);
        assert_eq!(reduce(&REDUCE_MAX, &u, &[0], false).to_i64s(), [0]);
        assert_eq!(reduce(&REDUCE_MIN, &u, &[0], false).to_i64s(), [65535]);
    }

    #[test]
    fn reduce_max_and_min_propagate_nan() {
        let x = t(DType::F64, &[2, 2], &[1.0, f64::NAN, 3.0, 4.0]);
        let m = reduce(&REDUCE_MAX, &x, &[1], false).to_f64s();
        assert!(m[0].is_nan() && m[1] == 4.0, "{m:?}");
        let m = reduce(&REDUCE_MIN, &x, &[0], false).to_f64s();
        assert!(m[0] == 1.0 && m[1].is_nan(), "{m:?}");
    }

    /// Evaluates an index reduction.
    fn arg(op: OpRef, x: &Tensor, axis: i64, keepdims: bool, last: bool) -> Tensor {
        let attrs = Attrs::from([
            ("axis", Attr::Int(axis)),
            ("keepdims", Attr::Bool(keepdims)),
            ("select_last_index", Attr::Bool(last)),
        ]);
        eval1(op, std::slice::from_ref(x), &attrs).unwrap()
    }

    #[test]
    fn argmax_and_argmin_pick_first_or_last_ties() {
        let x = t(DType::F32, &[2, 4], &[1.0, 5.0, 5.0, 0.0, 2.0, 2.0, -1.0, -1.0]);
        let a = arg(&ARGMAX, &x, 1, false, false);
        assert_eq!((a.shape(), a.dtype(), a.to_i64s()), (&[2][..], DType::I64, vec![1, 0]));
        assert_eq!(arg(&ARGMAX, &x, -1, false, true).to_i64s(), [2, 1]);
        assert_eq!(arg(&ARGMIN, &x, 1, false, false).to_i64s(), [3, 2]);
        assert_eq!(arg(&ARGMIN, &x, 1, false, true).to_i64s(), [3, 3]);
        let k = arg(&ARGMAX, &x, 0, true, false);
        assert_eq!((k.shape(), k.to_i64s()), (&[1, 4][..], vec![1, 0, 0, 0]));
        let i = t(DType::U8, &[3], &[7.0, 9.0, 9.0]);
        assert_eq!(arg(&ARGMAX, &i, 0, false, true).to_i64s(), [2]);
        assert_eq!(arg(&ARGMIN, &t(DType::I16, &[3], &[7.0, -9.0, 9.0]), 0, true, false).to_i64s(), [1]);
    }

    #[test]
    fn argmax_treats_nan_as_extreme_like_numpy() {
        let x = t(DType::F64, &[4], &[1.0, f64::NAN, 3.0, f64::NAN]);
        assert_eq!(arg(&ARGMAX, &x, 0, false, false).to_i64s(), [1]);
        assert_eq!(arg(&ARGMIN, &x, 0, false, false).to_i64s(), [1]);
        assert_eq!(arg(&ARGMAX, &x, 0, false, true).to_i64s(), [3]);
    }

    #[test]
    fn argmax_of_an_empty_axis_is_an_error() {
        let x = t(DType::F32, &[2, 0], &[]);
        let operand = Type::tensor(vec![Dim::Known(2), Dim::Unknown], DType::F32);
        let attrs = Attrs::from([("axis", Attr::Int(1))]);
        let err = eval_typed(&ARGMAX, &[operand], std::slice::from_ref(&x), &attrs).unwrap_err();
        assert_eq!(err, "axis 1 of shape [2, 0] is empty, so it has no extreme element");
        // An empty tensor with a non-empty axis is fine: no element to index.
        let e = arg(&ARGMIN, &x, 0, false, false);
        assert_eq!((e.shape(), e.len()), (&[0][..], 0));
    }

    /// Evaluates `tg.cumsum`.
    fn cumsum(x: &Tensor, axis: i64, exclusive: bool, reverse: bool) -> Tensor {
        let attrs = Attrs::from([
            ("axis", Attr::Int(axis)),
            ("exclusive", Attr::Bool(exclusive)),
            ("reverse", Attr::Bool(reverse)),
        ]);
        eval1(&CUMSUM, std::slice::from_ref(x), &attrs).unwrap()
    }

    #[test]
    fn cumsum_in_all_four_modes() {
        let x = t(DType::F64, &[4], &[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(cumsum(&x, 0, false, false).to_f64s(), [1.0, 3.0, 6.0, 10.0]);
        assert_eq!(cumsum(&x, 0, true, false).to_f64s(), [0.0, 1.0, 3.0, 6.0]);
        assert_eq!(cumsum(&x, 0, false, true).to_f64s(), [10.0, 9.0, 7.0, 4.0]);
        assert_eq!(cumsum(&x, -1, true, true).to_f64s(), [9.0, 7.0, 4.0, 0.0]);
        let m = t(DType::I32, &[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(cumsum(&m, 0, false, false).to_i64s(), [1, 2, 3, 5, 7, 9]);
        assert_eq!(cumsum(&m, 1, false, false).to_i64s(), [1, 3, 6, 4, 9, 15]);
        assert_eq!(cumsum(&m, 1, true, true).to_i64s(), [5, 3, 0, 11, 6, 0]);
        let w = t(DType::I8, &[3], &[100.0, 100.0, 100.0]);
        assert_eq!(cumsum(&w, 0, false, false).to_i64s(), [100, -56, 44]);
        let u = t(DType::U8, &[2], &[200.0, 100.0]);
        assert_eq!(cumsum(&u, 0, false, false).to_i64s(), [200, 44]);
        let e = cumsum(&t(DType::F32, &[0, 3], &[]), 1, false, false);
        assert_eq!(e.shape(), [0, 3]);
    }
}
