//! Why an interpreter (the reference evaluator, the kernel interpreter)
//! stopped, and the located diagnostic that says so.

use tessera_ir::{Diag, Func, OpId};

/// Where running a function failed: at an op, or in the function as a whole.
pub(crate) enum Failure {
    /// At this op, with this message.
    Op(OpId, String),
    /// In the function (its arguments, results or structure).
    Func(String),
}

impl Failure {
    /// The failure as a diagnostic at the op's or the function's location.
    pub(crate) fn into_diag(self, func: &Func) -> Diag {
        match self {
            Failure::Op(op, msg) => {
                let data = func.op(op);
                Diag::error(data.loc.clone(), format!("'{}' op: {msg}", data.def.name()))
            }
            Failure::Func(msg) => Diag::error(func.loc.clone(), format!("@{}: {msg}", func.name)),
        }
    }
}
