//! Where values come from: `tg.constant` and `tg.param`.

use crate::attr::Attr;
use crate::infer::InferCx;
use crate::op::{Arity, AttrKind, AttrSpec, OpDef, OpRef, Traits};
use crate::types::Type;

/// `%c = tg.constant {value = dense<[1.0, 2.0]> : tensor<2xf32>}`: a literal tensor.
pub struct Constant;

impl OpDef for Constant {
    fn name(&self) -> &'static str {
        "tg.constant"
    }
    fn summary(&self) -> &'static str {
        "a literal tensor given by the dense attribute `value`"
    }
    fn traits(&self) -> Traits {
        Traits::PURE
    }
    fn operands(&self) -> Arity {
        Arity::Exactly(0)
    }
    fn attrs(&self) -> &'static [AttrSpec] {
        const { &[AttrSpec::req("value", AttrKind::Dense)] }
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
    fn name(&self) -> &'static str {
        "tg.param"
    }
    fn summary(&self) -> &'static str {
        "the current value of the module parameter `sym` (a trainable weight)"
    }
    fn traits(&self) -> Traits {
        Traits::PURE
    }
    fn operands(&self) -> Arity {
        Arity::Exactly(0)
    }
    fn attrs(&self) -> &'static [AttrSpec] {
        const { &[AttrSpec::req("sym", AttrKind::Symbol)] }
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
