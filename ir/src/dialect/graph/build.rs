//! Typed shortcuts on [`Builder`] for the graph ops importers and passes
//! create most often.

use super::{control, elementwise, value};
use crate::attr::{Attr, Attrs, DenseAttr};
use crate::builder::Builder;
use crate::diag::Diag;
use crate::dtype::DType;
use crate::id::ValueId;
use crate::op::OpRef;

impl Builder<'_> {
    /// A one-operand op without attributes (`tg.exp`, `tg.neg`, ...).
    pub fn unary(&mut self, def: OpRef, x: ValueId) -> Result<ValueId, Diag> {
        self.op(def, &[x], Attrs::new())
    }

    /// A two-operand op without attributes (`tg.add`, `tg.lt`, ...).
    pub fn binary(&mut self, def: OpRef, a: ValueId, b: ValueId) -> Result<ValueId, Diag> {
        self.op(def, &[a, b], Attrs::new())
    }

    /// `tg.constant` holding `value`.
    pub fn constant(&mut self, value: DenseAttr) -> Result<ValueId, Diag> {
        self.op(&value::CONSTANT, &[], Attrs::from([("value", Attr::Dense(value))]))
    }

    /// A rank-0 `tg.constant` of the given dtype.
    pub fn scalar(&mut self, dtype: DType, v: f64) -> Result<ValueId, Diag> {
        let dense = DenseAttr::from_f64s(crate::types::TensorType::scalar(dtype), &[v]).map_err(|e| Diag::error(Default::default(), e))?;
        self.constant(dense)
    }

    /// `tg.param @name`.
    pub fn param(&mut self, name: &str) -> Result<ValueId, Diag> {
        self.op(&value::PARAM, &[], Attrs::from([("sym", Attr::SymbolRef(name.to_string()))]))
    }

    /// `tg.cast` to `dtype`.
    pub fn cast(&mut self, x: ValueId, dtype: DType) -> Result<ValueId, Diag> {
        self.op(&elementwise::CAST, &[x], Attrs::from([("to", Attr::DType(dtype))]))
    }

    /// `tg.return` of `values`.
    pub fn ret(&mut self, values: &[ValueId]) -> Result<(), Diag> {
        self.create(&control::RETURN, values, Attrs::new(), Vec::new()).map(|_| ())
    }

    /// `tg.yield` of `values`.
    pub fn yield_values(&mut self, values: &[ValueId]) -> Result<(), Diag> {
        self.create(&control::YIELD, values, Attrs::new(), Vec::new()).map(|_| ())
    }
}

/// Shortcuts for the shape, reduction and contraction ops an importer emits most.
impl Builder<'_> {
    /// `tg.reshape` to `dims` (no `-1` entries: resolve them first).
    pub fn reshape(&mut self, x: ValueId, dims: &[crate::dim::Dim]) -> Result<ValueId, Diag> {
        self.op(&super::shape::RESHAPE, &[x], Attrs::from([("shape", Attr::shape(dims))]))
    }

    /// `tg.broadcast_to` the shape `dims` (numpy rules).
    pub fn broadcast_to(&mut self, x: ValueId, dims: &[crate::dim::Dim]) -> Result<ValueId, Diag> {
        self.op(&super::shape::BROADCAST_TO, &[x], Attrs::from([("shape", Attr::shape(dims))]))
    }

    /// `tg.transpose` with result axis `i` taken from axis `perm[i]`.
    pub fn transpose(&mut self, x: ValueId, perm: &[i64]) -> Result<ValueId, Diag> {
        self.op(&super::shape::TRANSPOSE, &[x], Attrs::from([("perm", Attr::ints(perm))]))
    }

    /// `tg.slice` (ONNX Slice) with every attribute spelled out.
    pub fn slice(
        &mut self,
        x: ValueId,
        starts: &[i64],
        ends: &[i64],
        axes: &[i64],
        steps: &[i64],
    ) -> Result<ValueId, Diag> {
        let attrs = Attrs::from([
            ("starts", Attr::ints(starts)),
            ("ends", Attr::ints(ends)),
            ("axes", Attr::ints(axes)),
            ("steps", Attr::ints(steps)),
        ]);
        self.op(&super::shape::SLICE, &[x], attrs)
    }

    /// `tg.concat` of `values` along `axis`.
    pub fn concat(&mut self, values: &[ValueId], axis: i64) -> Result<ValueId, Diag> {
        self.op(&super::shape::CONCAT, values, Attrs::from([("axis", Attr::Int(axis))]))
    }

    /// A reduction (`tg.reduce_sum`, `tg.reduce_max`, ...) over `axes`.
    pub fn reduce(&mut self, def: OpRef, x: ValueId, axes: &[i64], keepdims: bool) -> Result<ValueId, Diag> {
        self.op(def, &[x], Attrs::from([("axes", Attr::ints(axes)), ("keepdims", Attr::Bool(keepdims))]))
    }

    /// `tg.dot` (dot_general); empty batch lists are left out of the attributes.
    pub fn dot(
        &mut self,
        a: ValueId,
        b: ValueId,
        (lhs_batch, rhs_batch): (&[i64], &[i64]),
        (lhs_contract, rhs_contract): (&[i64], &[i64]),
    ) -> Result<ValueId, Diag> {
        let mut attrs =
            Attrs::from([("lhs_contract", Attr::ints(lhs_contract)), ("rhs_contract", Attr::ints(rhs_contract))]);
        if !lhs_batch.is_empty() || !rhs_batch.is_empty() {
            attrs.set("lhs_batch", Attr::ints(lhs_batch));
            attrs.set("rhs_batch", Attr::ints(rhs_batch));
        }
        self.op(&super::linalg::DOT, &[a, b], attrs)
    }
}

#[cfg(test)]
mod tests {
    use crate::dim::Dim;
    use crate::dtype::DType;
    use crate::func::Func;
    use crate::infer::NoSymbols;
    use crate::types::Type;
    use crate::Builder;

    #[test]
    fn shape_shortcuts_infer_types() {
        let n = Dim::sym("N");
        let x_ty = Type::tensor(vec![n.clone(), Dim::Known(3), Dim::Known(4)], DType::F32);
        let w_ty = Type::static_tensor(&[5, 12], DType::F32);
        let mut func = Func::new("f", &[x_ty, w_ty], Vec::new());
        let (x, w) = (func.args()[0], func.args()[1]);
        let mut b = Builder::new(&mut func, &NoSymbols);
        let t = b.transpose(x, &[0, 2, 1]).unwrap();
        let flat = b.reshape(t, &[n.clone(), Dim::Known(12)]).unwrap();
        let y = b.dot(flat, w, (&[], &[]), (&[1], &[1])).unwrap();
        let s = b.reduce(&super::super::reduce::REDUCE_SUM, y, &[1], true).unwrap();
        let wide = b.broadcast_to(s, &[n.clone(), Dim::Known(5)]).unwrap();
        let both = b.concat(&[y, wide], 1).unwrap();
        let head = b.slice(both, &[0], &[2], &[1], &[1]).unwrap();
        let ty = |v| b.func.ty(v).to_string();
        assert_eq!(ty(t), "tensor<N x 4 x 3 x f32>");
        assert_eq!(ty(y), "tensor<N x 5 x f32>");
        assert_eq!(ty(s), "tensor<N x 1 x f32>");
        assert_eq!(ty(both), "tensor<N x 10 x f32>");
        assert_eq!(ty(head), "tensor<N x 2 x f32>");
        let err = b.reshape(x, &[Dim::Known(5)]).unwrap_err();
        assert!(err.message.starts_with("'tg.reshape' op: cannot reshape"), "{}", err.message);
    }
}
