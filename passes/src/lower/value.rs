//! Where values come from: `tg.constant` becomes a scalar literal when all
//! its elements are equal and a read-only constant buffer otherwise;
//! `tg.param` becomes the parameter's read-only buffer. Both are made once
//! at the entry and read wherever needed, fused loop bodies included.

use super::emit::{Lowerer, Source};
use tessera_ir::attr::{Attr, Attrs};
use tessera_ir::dialect::kernel::memory::{BUFFER_CONSTANT, PARAM};
use tessera_ir::{Diag, OpId};

/// `tg.constant`.
pub(super) fn constant(l: &mut Lowerer<'_>, op: OpId) -> Result<Source, Diag> {
    let Some(Attr::Dense(d)) = l.src.op(op).attrs.get("value") else {
        return Err(l.op_error(op, "has no dense 'value'"));
    };
    match d.splat_value() {
        Some(s) => Ok(Source::Scalar(l.scalar_const(s, d.ty().dtype)?)),
        None => Ok(Source::Buffer(l.hoisted(&BUFFER_CONSTANT, Attrs::new().with("value", Attr::Dense(d.clone())))?)),
    }
}

/// `tg.param`.
pub(super) fn param(l: &mut Lowerer<'_>, op: OpId) -> Result<Source, Diag> {
    let sym = l.with_cx(op, |cx| cx.symbol("sym").map(str::to_string))?;
    Ok(Source::Buffer(l.hoisted(&PARAM, Attrs::new().with("sym", Attr::SymbolRef(sym)))?))
}
