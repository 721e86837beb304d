//! Helpers shared by the passes' unit tests.

pub use crate::differential::verified;
use crate::Evaluator;
use tessera_ir::tensor::Tensor;
use tessera_ir::verify::VerifiedModule;
use tessera_ir::{DType, Func, ValueId};

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

/// Runs `name` with the reference evaluator, panicking with the message on error.
pub fn run(m: &VerifiedModule, name: &str, inputs: Vec<Tensor>) -> Vec<Tensor> {
    Evaluator::new(m).run(name, inputs).unwrap_or_else(|d| panic!("{}", d.message))
}

/// An f32 tensor.
pub fn f32s(shape: &[usize], values: &[f64]) -> Tensor {
    Tensor::from_f64(DType::F32, shape.to_vec(), values.to_vec()).unwrap()
}
