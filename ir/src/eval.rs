//! What an op's reference-semantics hook ([`crate::op::OpDef::eval`])
//! receives: its input tensors, its static description, and an environment
//! that resolves symbolic dims and runs regions, calls and parameters. The
//! interpreter that walks functions and provides the environment lives in
//! `tessera-passes`.

use crate::dim::Dim;
use crate::infer::InferCx;
use crate::tensor::Tensor;
use crate::types::Type;

/// What the interpreter provides to an op while it evaluates.
pub trait EvalEnv {
    /// The size of a dim in the running function (symbols are bound from
    /// the function's arguments); an error for `?`.
    fn dim(&self, d: &Dim) -> Result<usize, String>;
    /// Runs region `index` of the current op with the given block arguments
    /// and returns what its terminator yields.
    fn run_region(&mut self, index: usize, args: Vec<Tensor>) -> Result<Vec<Tensor>, String>;
    /// Calls the module's function `name`.
    fn call(&mut self, name: &str, args: Vec<Tensor>) -> Result<Vec<Tensor>, String>;
    /// The current value of the module's parameter `name`.
    fn param(&self, name: &str) -> Result<Tensor, String>;
}

/// Everything an evaluation hook may look at.
pub struct EvalCx<'a> {
    /// The op's static view: operand types, attributes (with the same
    /// accessors inference uses), region signatures, module symbols.
    pub op: InferCx<'a>,
    /// The input tensors, one per operand.
    pub inputs: &'a [Tensor],
    /// The op's declared result types (dims resolve through [`EvalEnv::dim`]).
    pub results: &'a [Type],
    /// The interpreter.
    pub env: &'a mut dyn EvalEnv,
}

impl EvalCx<'_> {
    /// Input `i`.
    pub fn input(&self, i: usize) -> Result<&Tensor, String> {
        self.inputs.get(i).ok_or_else(|| format!("missing input #{i}"))
    }

    /// The concrete shape of result `i`, with symbols resolved; `?` dims are an error.
    pub fn result_shape(&self, i: usize) -> Result<Vec<usize>, String> {
        let t = self.results.get(i).and_then(Type::as_tensor).ok_or_else(|| format!("result #{i} is not a tensor"))?;
        t.dims.iter().map(|d| self.env.dim(d)).collect()
    }

    /// Resolves dims (from a shape attribute) to sizes.
    pub fn sizes(&self, dims: &[Dim]) -> Result<Vec<usize>, String> {
        dims.iter().map(|d| self.env.dim(d)).collect()
    }
}
