//! Helpers shared by the passes' unit tests.

use tessera_ir::{Func, ValueId};

/// Number of ops in the body, nested ones included.
pub fn count_ops(func: &Func) -> usize {
    func.walk().len()
}

/// Number of ops of kind `name` in the body, nested ones included.
pub fn count_named(func: &Func, name: &str) -> usize {
    func.walk().into_iter().filter(|&op| func.op(op).def.name() == name).count()
}

/// The operands of the body's terminator.
pub fn returned(func: &Func) -> Vec<ValueId> {
    let entry = func.block(func.entry());
    entry.ops.last().map(|&op| func.op(op).operands.clone()).unwrap_or_default()
}
