//! Test support for the graph ops' evaluation hooks: a stand-in for the
//! interpreter, so single ops can be evaluated in this crate's unit tests,
//! and short constructors for their operands.

use crate::attr::Attrs;
use crate::dim::Dim;
use crate::dtype::DType;
use crate::eval::{EvalCx, EvalEnv};
use crate::infer::{infer_standalone, InferCx, NoSymbols, RegionSig};
use crate::op::OpRef;
use crate::tensor::{Data, Tensor};
use crate::types::Type;

/// An environment with static dims only and no regions, functions or parameters.
struct StaticEnv;

impl EvalEnv for StaticEnv {
    fn dim(&self, d: &Dim) -> Result<usize, String> {
        d.known().map(|n| n as usize).ok_or_else(|| format!("dim {d} is not static"))
    }
    fn run_region(&mut self, index: usize, _: Vec<Tensor>) -> Result<Vec<Tensor>, String> {
        Err(format!("no region #{index} outside a function"))
    }
    fn call(&mut self, name: &str, _: Vec<Tensor>) -> Result<Vec<Tensor>, String> {
        Err(format!("no function @{name} outside a module"))
    }
    fn param(&self, name: &str) -> Result<Tensor, String> {
        Err(format!("no parameter @{name} outside a module"))
    }
}

/// Evaluates `def` on `inputs`, whose static types are the operand types.
pub(crate) fn eval_op(def: OpRef, inputs: &[Tensor], attrs: &Attrs) -> Result<Vec<Tensor>, String> {
    let operands: Vec<Type> = inputs.iter().map(|t| Type::Tensor(t.ty())).collect();
    eval_typed(def, &operands, inputs, attrs)
}

/// Evaluates a one-result op on `inputs` (see [`eval_op`]).
pub(crate) fn eval1(def: OpRef, inputs: &[Tensor], attrs: &Attrs) -> Result<Tensor, String> {
    let mut out = eval_op(def, inputs, attrs)?;
    assert_eq!(out.len(), 1, "{} has one result", def.name());
    Ok(out.remove(0))
}

/// Evaluates `def` on `inputs` with the given operand types (which may
/// have `?` dims); result types come from inference, and each result
/// must fit its type.
pub(crate) fn eval_typed(
    def: OpRef,
    operands: &[Type],
    inputs: &[Tensor],
    attrs: &Attrs,
) -> Result<Vec<Tensor>, String> {
    let results = infer_standalone(def, operands, attrs, &NoSymbols)?;
    let regions = vec![RegionSig::default(); def.num_regions()];
    let mut env = StaticEnv;
    let mut cx = EvalCx {
        op: InferCx { operands, attrs, regions: &regions, symbols: &NoSymbols },
        inputs,
        results: &results,
        env: &mut env,
    };
    let outputs = def.eval(&mut cx)?;
    assert_eq!(outputs.len(), results.len(), "{} gave the wrong number of results", def.name());
    for (out, ty) in outputs.iter().zip(&results) {
        let t = ty.as_tensor().expect("graph ops give tensors");
        let fits = t.dtype == out.dtype()
            && t.rank() == out.rank()
            && t.dims.iter().zip(out.shape()).all(|(d, &n)| d.known().is_none_or(|k| k as usize == n));
        assert!(fits, "{} computed {:?} but inference says {ty}", def.name(), out);
    }
    Ok(outputs)
}

/// A tensor of any dtype from f64 values (converted like a cast).
pub(crate) fn t(dtype: DType, shape: &[usize], values: &[f64]) -> Tensor {
    Tensor::convert_f64(dtype, shape.to_vec(), values).expect("count matches the shape")
}

/// An f32 tensor.
pub(crate) fn f32s(shape: &[usize], values: &[f64]) -> Tensor {
    t(DType::F32, shape, values)
}

/// An i64 tensor (exact for every i64, unlike [`t`]).
pub(crate) fn i64s(shape: &[usize], values: &[i64]) -> Tensor {
    Tensor::new(DType::I64, shape.to_vec(), Data::Int(values.to_vec())).expect("count matches the shape")
}

/// An f32 tensor holding `0, 1, 2, ...`.
pub(crate) fn arange(shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    f32s(shape, &(0..n).map(|i| i as f64).collect::<Vec<_>>())
}
