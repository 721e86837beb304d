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
