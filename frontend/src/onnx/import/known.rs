//! Values the importer knows at import time: constant tensors (folded
//! through each op's reference hook) and integer vectors whose entries are
//! symbolic dims (`Shape` of a tensor with a dynamic batch), so that
//! `Shape → Gather → Concat → Reshape` chains resolve to a static or
//! symbolic target shape.

use tessera_ir::eval::{EvalCx, EvalEnv};
use tessera_ir::infer::{InferCx, NoSymbols};
use tessera_ir::tensor::Tensor;
use tessera_ir::{Attrs, Dim, OpRef, SymExpr, Type};

/// Largest constant (in elements) the importer folds and remembers.
pub const FOLD_LIMIT: usize = 1 << 16;

/// What is known about a value at import time.
#[derive(Clone, Debug)]
pub enum Known {
    /// Its exact contents.
    Tensor(Tensor),
    /// An integer vector (or scalar, when `scalar`) of possibly symbolic sizes.
    Ints {
        /// The entries.
        values: Vec<SymExpr>,
        /// Whether the value is rank 0 (then `values` has one entry).
        scalar: bool,
    },
}

impl Known {
    /// The entries as polynomials, when the value is an integer scalar or vector.
    pub fn ints(&self) -> Option<(Vec<SymExpr>, bool)> {
        match self {
            Known::Ints { values, scalar } => Some((values.clone(), *scalar)),
            Known::Tensor(t) if !t.dtype().is_float() && t.rank() <= 1 => {
                Some((t.to_i64s().into_iter().map(SymExpr::constant).collect(), t.rank() == 0))
            }
            Known::Tensor(_) => None,
        }
    }

    /// A known integer vector, normalised to a tensor when no entry is symbolic.
    pub fn from_ints(values: Vec<SymExpr>, scalar: bool) -> Known {
        match values.iter().map(SymExpr::as_constant).collect::<Option<Vec<i64>>>() {
            Some(consts) => {
                let t = Tensor::from_i64s(&consts);
                Known::Tensor(if scalar { t.reshaped(Vec::new()).unwrap_or(t) } else { t })
            }
            None => Known::Ints { values, scalar },
        }
    }
}

/// Evaluates a pure, region-free op on known inputs; `None` when it cannot.
pub fn fold(def: OpRef, inputs: &[Tensor], attrs: &Attrs, results: &[Type]) -> Option<Vec<Tensor>> {
    if inputs.iter().map(Tensor::len).sum::<usize>() > FOLD_LIMIT || def.num_regions() > 0 {
        return None;
    }
    if results.iter().any(|t| t.as_tensor().is_none_or(|t| t.static_dims().is_none())) {
        return None;
    }
    let types: Vec<Type> = inputs.iter().map(|t| Type::Tensor(t.ty())).collect();
    let mut env = StaticEnv;
    let mut cx = EvalCx {
        op: InferCx { operands: &types, attrs, regions: &[], symbols: &NoSymbols },
        inputs,
        results,
        env: &mut env,
    };
    def.eval(&mut cx).ok()
}

/// An evaluation environment for folding: static dims only, no regions.
struct StaticEnv;

impl EvalEnv for StaticEnv {
    fn dim(&self, d: &Dim) -> Result<usize, String> {
        d.known().map(|n| n as usize).ok_or_else(|| format!("dim {d} is not static"))
    }
    fn run_region(&mut self, _: usize, _: Vec<Tensor>) -> Result<Vec<Tensor>, String> {
        Err("no regions while folding".into())
    }
    fn call(&mut self, _: &str, _: Vec<Tensor>) -> Result<Vec<Tensor>, String> {
        Err("no calls while folding".into())
    }
    fn param(&self, _: &str) -> Result<Tensor, String> {
        Err("no parameters while folding".into())
    }
}
