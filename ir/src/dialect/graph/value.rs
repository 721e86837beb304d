//! Where values come from: `tg.constant` and `tg.param`.

use crate::attr::Attr;
use crate::infer::InferCx;
use crate::op::{Arity, AttrKind, AttrSpec, OpDef, OpRef, OpSpec};
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
}

/// The `tg.param` op.
pub static PARAM: Param = Param;

/// Every op declared in this file.
pub static OPS: &[OpRef] = &[&CONSTANT, &PARAM];
