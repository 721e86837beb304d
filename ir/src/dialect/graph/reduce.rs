//! Reductions along axes: `tg.reduce_{sum,prod,max,min}`, `tg.argmax`,
//! `tg.argmin` and the running sum `tg.cumsum`.

use crate::dim::Dim;
use crate::dtype::{DType, DTypeClass};
use crate::infer::InferCx;
use crate::op::{AttrKind, AttrSpec, OpDef, OpRef, OpSpec, Traits};
use crate::types::{TensorType, Type};

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

/// `tg.reduce_sum %x {axes = [1], keepdims = false}` and its siblings:
/// combines the elements along `axes` (distinct; negative counts from the
/// end; `[]` reduces nothing) with one associative operation. Reducing an
/// empty axis gives the operation's identity (0, 1, -inf, +inf).
pub struct Reduce {
    spec: OpSpec,
}

impl Reduce {
    /// The reduction `name`, taking `axes` and `keepdims`.
    const fn new(name: &'static str, summary: &'static str) -> Reduce {
        const ATTRS: &[AttrSpec] = &[AttrSpec::req("axes", AttrKind::Ints), AttrSpec::opt("keepdims", AttrKind::Bool)];
        Reduce { spec: OpSpec::new(name, summary).attrs(ATTRS) }
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
}

/// Sum over `axes`.
pub static REDUCE_SUM: Reduce = Reduce::new("tg.reduce_sum", "the sum of the elements along `axes`");
/// Product over `axes`.
pub static REDUCE_PROD: Reduce = Reduce::new("tg.reduce_prod", "the product of the elements along `axes`");
/// Maximum over `axes` (NaN-propagating).
pub static REDUCE_MAX: Reduce = Reduce::new("tg.reduce_max", "the largest element along `axes`, NaN-propagating");
/// Minimum over `axes` (NaN-propagating).
pub static REDUCE_MIN: Reduce = Reduce::new("tg.reduce_min", "the smallest element along `axes`, NaN-propagating");

/// `tg.argmax %x {axis = 1}` and `tg.argmin`: the `i64` index of the extreme
/// element along `axis` (ONNX ArgMax/ArgMin): the first one on ties, the
/// last with `select_last_index`; `keepdims` keeps the axis as size 1.
pub struct ArgReduce {
    spec: OpSpec,
}

impl ArgReduce {
    /// The index reduction `name`, taking `axis`, `keepdims` and `select_last_index`.
    const fn new(name: &'static str, summary: &'static str) -> ArgReduce {
        const ATTRS: &[AttrSpec] = &[
            AttrSpec::req("axis", AttrKind::Int),
            AttrSpec::opt("keepdims", AttrKind::Bool),
            AttrSpec::opt("select_last_index", AttrKind::Bool),
        ];
        ArgReduce { spec: OpSpec::new(name, summary).attrs(ATTRS) }
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
}

/// Index of the largest element along `axis`.
pub static ARGMAX: ArgReduce = ArgReduce::new("tg.argmax", "the i64 index of the largest element along `axis`");
/// Index of the smallest element along `axis`.
pub static ARGMIN: ArgReduce = ArgReduce::new("tg.argmin", "the i64 index of the smallest element along `axis`");

/// `tg.cumsum %x {axis = 0}`: running sum along `axis` (ONNX CumSum);
/// `exclusive` leaves out the element itself, `reverse` sums from the end.
pub struct CumSum;

impl OpDef for CumSum {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec = OpSpec::new("tg.cumsum", "the running sum along `axis`")
            .traits(Traits::PURE.union(Traits::SAME_TYPE))
            .attrs(&[
                AttrSpec::req("axis", AttrKind::Int),
                AttrSpec::opt("exclusive", AttrKind::Bool),
                AttrSpec::opt("reverse", AttrKind::Bool),
            ]);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let x = cx.tensor_of(0, DTypeClass::Numeric)?;
        cx.axis("axis", x.rank())?;
        cx.bool_or("exclusive", false)?;
        cx.bool_or("reverse", false)?;
        Ok(vec![Type::Tensor(x.clone())])
    }
}

/// The `tg.cumsum` op.
pub static CUMSUM: CumSum = CumSum;

/// Every op declared in this file.
pub static OPS: &[OpRef] = &[&REDUCE_SUM, &REDUCE_PROD, &REDUCE_MAX, &REDUCE_MIN, &ARGMAX, &ARGMIN, &CUMSUM];

#[cfg(test)]
mod tests {
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
}
