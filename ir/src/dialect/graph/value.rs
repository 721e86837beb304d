//! Where values come from: `tg.constant` and `tg.param`.

use crate::attr::Attr;
use crate::eval::EvalCx;
use crate::infer::InferCx;
use crate::op::{Arity, AttrKind, AttrSpec, OpDef, OpRef, OpSpec};
use crate::tensor::Tensor;
use crate::types::Type;

/// `%c = tg.constant {value = dense<[1.0, 2.0]> : tensor<2xf32>}`: a literal tensor.
pub struct Constant;

impl OpDef for Constant {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec = OpSpec::new("tg.constant", "a literal tensor given by the dense attribute `value`")
            .operands(Arity::Exactly(0))
            .attrs(&[AttrSpec::req("value", AttrKind::Dense)]);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        match cx.attr("value")? {
            Attr::Dense(d) => Ok(vec![Type::Tensor(d.ty().clone())]),
            a => Err(format!("attribute 'value' must be a dense constant, got {}", a.kind_name())),
        }
    }
    fn eval(&self, cx: &mut EvalCx) -> Result<Vec<Tensor>, String> {
        match cx.op.attr("value")? {
            Attr::Dense(d) => Ok(vec![Tensor::from(d)]),
            a => Err(format!("attribute 'value' must be a dense constant, got {}", a.kind_name())),
        }
    }
}

/// The `tg.constant` op.
pub static CONSTANT: Constant = Constant;

/// `%w = tg.param @fc1.weight`: reads the module parameter named by `sym`.
pub struct Param;

impl OpDef for Param {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec =
            OpSpec::new("tg.param", "the current value of the module parameter `sym` (a trainable weight)")
                .operands(Arity::Exactly(0))
                .attrs(&[AttrSpec::req("sym", AttrKind::Symbol)]);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let name = cx.symbol("sym")?;
        let ty = cx.symbols.param_type(name).ok_or_else(|| format!("no parameter named @{name} in the module"))?;
        Ok(vec![ty])
    }
    fn eval(&self, cx: &mut EvalCx) -> Result<Vec<Tensor>, String> {
        Ok(vec![cx.env.param(cx.op.symbol("sym")?)?])
    }
}

/// The `tg.param` op.
pub static PARAM: Param = Param;

/// Every op declared in this file.
pub static OPS: &[OpRef] = &[&CONSTANT, &PARAM];

#[cfg(test)]
mod tests {
    use super::super::testing::eval_op;
    use super::*;
    use crate::attr::{Attrs, DenseAttr};
    use crate::dtype::DType;
    use crate::types::TensorType;

    #[test]
    fn constant_gives_its_value() {
        let dense = DenseAttr::from_f64s(TensorType::of(&[2, 2], DType::F16), &[1.0, -2.5, 0.1, 65504.0]).unwrap();
        let out = eval_op(&CONSTANT, &[], &Attrs::from([("value", Attr::Dense(dense))])).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].shape(), out[0].dtype()), (&[2, 2][..], DType::F16));
        assert_eq!(out[0].to_f64s(), [1.0, -2.5, 0.0999755859375, 65504.0]);
        let dense = DenseAttr::from_f64s(TensorType::of(&[0], DType::I64), &[]).unwrap();
        let out = eval_op(&CONSTANT, &[], &Attrs::from([("value", Attr::Dense(dense))])).unwrap();
        assert_eq!((out[0].shape(), out[0].dtype()), (&[0][..], DType::I64));
    }
}
