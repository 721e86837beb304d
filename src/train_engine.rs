//! How `tessera train` runs its step function: as generated code, lowered
//! and compiled once with the JIT (the default), or on the reference
//! evaluator (`--engine reference`). Either way a step reads and writes
//! byte buffers that the training loop keeps from step to step, so
//! generated code runs on them with no conversion.

use crate::compile::{lower, Engine};
use crate::Failure;
use std::time::{Duration, Instant};
use tessera_codegen::JitModule;
use tessera_ir::tensor::Tensor;
use tessera_ir::verify::VerifiedModule;
use tessera_ir::bindings::Bindings;
use tessera_ir::{DenseAttr, Dim, TensorType};
use tessera_passes::Evaluator;
use tessera_runtime::AlignedBuf;

/// The name of the step function `build_train_step` makes.
pub const STEP: &str = "train_step";

/// A training step ready to run.
pub struct StepRunner {
    how: How,
    /// The values of the step's symbolic dims (a batch dim `N`).
    symbols: Bindings,
    /// The step's argument types at those values, in order.
    args: Vec<TensorType>,
    /// The step's result types at those values, in order.
    results: Vec<TensorType>,
}

/// What executes the step.
enum How {
    /// Generated machine code.
    Jit(JitModule),
    /// The reference evaluator over the graph module.
    Reference(VerifiedModule),
}

impl StepRunner {
    /// Prepares `module`'s function `train_step` to run with `engine`,
    /// its last arguments (the batch) having the shapes `batch`; for the
    /// JIT, an op that does not lower is an error naming it.
    pub fn new(module: VerifiedModule, engine: Engine, batch: &[Vec<usize>]) -> Result<StepRunner, Failure> {
        let func = module.module().func(STEP).ok_or_else(|| Failure(format!("error: no function @{STEP}")))?;
        let types: Vec<TensorType> = func.arg_types().iter().filter_map(|t| t.as_tensor().cloned()).collect();
        let at = types.len().saturating_sub(batch.len());
        let shapes: Vec<Tensor> = types[at..].iter().zip(batch).map(|(t, shape)| Tensor::zeros(t.dtype, shape.clone())).collect();
        let symbols = Bindings::from_inputs(&types[at..], &shapes, |i| types[at + i].to_string())
            .map_err(|m| Failure(format!("error: the batch does not fit the training step: {m}")))?;
        let sized = |t: &tessera_ir::Type| {
            let t = t.as_tensor().ok_or_else(|| Failure(format!("error: the training step has a value of type {t}; it needs tensors")))?;
            let dims = t.dims.iter().map(|d| symbols.size(d).map(|n| Dim::Known(n as u64))).collect::<Result<Vec<_>, _>>();
            Ok(TensorType::new(dims.map_err(|m| Failure(format!("error: the training step: {m}")))?, t.dtype))
        };
        let args = func.arg_types().iter().map(sized).collect::<Result<Vec<_>, Failure>>()?;
        let results = func.results.iter().map(sized).collect::<Result<Vec<_>, Failure>>()?;
        let how = match engine {
            Engine::Reference => How::Reference(module),
            Engine::Jit => {
                let unsupported = |m: String| {
                    Failure(format!("{m}\nerror: the training step cannot run as generated code; `--engine reference` runs it on the reference evaluator"))
                };
                let kernels = lower(module).map_err(|f| unsupported(f.0))?;
                How::Jit(JitModule::compile(&kernels).map_err(|d| unsupported(d.to_string()))?)
            }
        };
        Ok(StepRunner { how, symbols, args, results })
    }

    /// The step's argument types: parameters, optimiser state, batch.
    pub fn args(&self) -> &[TensorType] {
        &self.args
    }

    /// The step's result types: parameters, optimiser state, loss.
    pub fn results(&self) -> &[TensorType] {
        &self.results
    }

    /// Runs one step from `inputs` (one buffer per argument) into
    /// `outputs` (one per result); returns how long the step itself took.
    pub fn run(&self, inputs: &[&[u8]], outputs: &mut [&mut [u8]]) -> Result<Duration, String> {
        match &self.how {
            How::Jit(jit) => jit.run_bytes(STEP, inputs, outputs, &self.symbols).map_err(|d| d.message),
            How::Reference(module) => {
                let args = inputs.iter().zip(&self.args).map(|(b, t)| tensor(t, b)).collect::<Result<Vec<_>, _>>()?;
                let start = Instant::now();
                let values = Evaluator::new(module).run(STEP, args).map_err(|d| d.message)?;
                let elapsed = start.elapsed();
                for (value, out) in values.iter().zip(outputs.iter_mut()) {
                    let dense = value.to_dense();
                    if dense.bytes().len() != out.len() {
                        return Err(format!("a result of type {} does not fit its {}-byte buffer", value.ty(), out.len()));
                    }
                    out.copy_from_slice(dense.bytes());
                }
                Ok(elapsed)
            }
        }
    }
}

/// The tensor of type `ty` whose bytes are `bytes`.
pub fn tensor(ty: &TensorType, bytes: &[u8]) -> Result<Tensor, String> {
    DenseAttr::from_bytes(ty.clone(), bytes.into()).map(|d| Tensor::from(&d))
}

/// The size in bytes of a tensor of static type `ty`.
pub fn byte_size(ty: &TensorType) -> usize {
    ty.static_dims().map_or(0, |d| d.iter().product::<u64>() as usize) * ty.dtype.size_bytes()
}

/// `len` zero bytes, aligned for generated code.
pub fn zeroed(len: usize) -> Result<AlignedBuf, Failure> {
    AlignedBuf::zeroed(len).map_err(|e| Failure(format!("error: cannot allocate {len} bytes: {}", e.message)))
}

/// A copy of `bytes`, aligned for generated code.
pub fn copied(bytes: &[u8]) -> Result<AlignedBuf, Failure> {
    let mut b = zeroed(bytes.len())?;
    b.as_mut_slice().copy_from_slice(bytes);
    Ok(b)
}
