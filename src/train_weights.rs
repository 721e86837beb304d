//! The values a training run carries from step to step — the parameters,
//! then the optimiser state — as the byte buffers the step function reads:
//! where they start (the model's initial values and zeros, or a
//! checkpoint) and what is written at the end (`params.npz`,
//! `checkpoint.npz`, and the model with its new weights as `model.onnx`).

use crate::train_engine::{byte_size, copied, tensor, zeroed};
use crate::train_model::Forward;
use crate::Failure;
use std::path::Path;
use tessera_runtime::AlignedBuf;
use tessera_frontend::npz::{read_npz, write_npz};
use tessera_frontend::onnx::export::{export_module, write_model, ExportOptions};
use tessera_ir::verify::VerifiedModule;
use tessera_ir::{DenseAttr, Module, TensorType};
use tessera_passes::train::TrainStep;

/// The parameters and optimiser state to start from (typed `types`, as
/// the step takes them), and the steps already done: the initial values of
/// `module`'s parameters and zeros, or the checkpoint `resume`.
pub fn initial_weights(
    resume: Option<&Path>,
    module: &Module,
    step: &TrainStep,
    types: &[TensorType],
) -> Result<(Vec<AlignedBuf>, usize), Failure> {
    let Some(path) = resume else {
        let mut weights = Vec::new();
        for (name, ty) in &step.params {
            let init = module
                .param(name)
                .and_then(|p| p.init.as_ref())
                .ok_or_else(|| Failure(format!("error: parameter '{name}' ({ty}) has no initial value")))?;
            weights.push(copied(init.bytes())?);
        }
        let state = types[step.params.len()..step.params.len() + step.state.len()].iter();
        for t in state {
            weights.push(zeroed(byte_size(t))?);
        }
        return Ok((weights, 0));
    };
    let saved = read_npz(path).map_err(|d| Failure(format!("error: --resume: {}", d.message)))?;
    let keys = step.params.iter().map(|(n, _)| format!("param/{n}")).chain(step.state.iter().map(|(n, _)| format!("state/{n}")));
    let mut weights = Vec::new();
    for (key, ty) in keys.zip(types) {
        let (_, dense) = saved.iter().find(|(k, _)| *k == key).ok_or_else(|| {
            Failure(format!("error: the checkpoint {} has no '{key}' (was it written with the same model and optimizer?)", path.display()))
        })?;
        if dense.ty() != ty {
            return Err(Failure(format!("error: checkpoint entry '{key}' is {}, but the training step needs {ty}", dense.ty())));
        }
        weights.push(copied(dense.bytes())?);
    }
    let step_count = types.get(step.params.len()).zip(weights.get(step.params.len()));
    let done = match step_count {
        Some((ty, b)) => tensor(ty, b.as_slice()).map_err(|m| Failure(format!("error: {m}")))?.to_f64s()[0] as usize,
        None => 0,
    };
    Ok((weights, done))
}

/// The result of a run: the step's layout with the final values.
pub struct Trained<'a> {
    /// The step (its parameter and state names).
    pub step: &'a TrainStep,
    /// The parameters' and state's types, in order.
    pub types: &'a [TensorType],
    /// The parameters' and state's values, in order.
    pub weights: &'a [AlignedBuf],
}

impl Trained<'_> {
    /// The values under their names: the parameters, then the state.
    fn named(&self) -> Result<Vec<(String, DenseAttr)>, Failure> {
        let names = self.step.params.iter().chain(&self.step.state).map(|(n, _)| n);
        names
            .zip(self.types)
            .zip(self.weights)
            .map(|((n, t), b)| DenseAttr::from_bytes(t.clone(), b.as_slice().into()).map(|d| (n.clone(), d)))
            .collect::<Result<_, _>>()
            .map_err(|m| Failure(format!("error: {m}")))
    }

    /// Writes `params.npz` (the parameters under their names) and
    /// `checkpoint.npz` (`param/<name>` and `state/<name>`) into `out`.
    pub fn save(&self, out: &Path) -> Result<(), Failure> {
        let mut named = self.named()?;
        let state = named.split_off(self.step.params.len());
        let mut checkpoint: Vec<(String, DenseAttr)> = named.iter().map(|(n, d)| (format!("param/{n}"), d.clone())).collect();
        checkpoint.extend(state.into_iter().map(|(n, d)| (format!("state/{n}"), d)));
        for (file, arrays) in [("params.npz", &named), ("checkpoint.npz", &checkpoint)] {
            let path = out.join(file);
            write_npz(&path, arrays).map_err(|d| Failure(format!("error: {}: {}", path.display(), d.message)))?;
        }
        Ok(())
    }

    /// Writes the model of `forward` — its whole entry function, not only
    /// the part the loss reads — with the trained parameters as its
    /// initializers, as ONNX at `path`.
    pub fn export(&self, forward: &mut Forward, path: &Path) -> Result<(), Failure> {
        for (name, value) in self.named()?.into_iter().take(self.step.params.len()) {
            if let Some(p) = forward.module.params.iter_mut().find(|p| p.name == name) {
                p.init = Some(value);
            }
        }
        let fail = |m: String| Failure(format!("{} not written: {m}", path.display()));
        let module = VerifiedModule::new(forward.module.clone()).map_err(|d| fail(d.to_string()))?;
        let options =
            ExportOptions { input_names: forward.inputs.clone(), output_names: forward.outputs.clone(), ..ExportOptions::default() };
        let model = export_module(&module, "main", &options).map_err(|d| fail(d.to_string()))?;
        write_model(path, &model, options.external_data_threshold).map_err(|d| fail(d.message))
    }
}
