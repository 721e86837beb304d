//! `tessera compile --train`: one graph module holding the model (`@main`)
//! and its training step (`@train_step`, as `tessera train` builds it), with
//! the entry points and training layout a C library exports them under:
//! `NAME_run` and `NAME_train_step(params..., state..., inputs..., target)
//! -> (params'..., state'..., loss)`.

use crate::train::build_step;
use crate::train_engine::STEP;
use crate::train_model::{load_forward, Pick};
use crate::Failure;
use std::path::Path;
use tessera_codegen::library::{EntryOptions, TrainingOptions};
use tessera_ir::verify::VerifiedModule;
use tessera_passes::train::{Loss, Optimizer};

/// How to train, for the library.
pub struct TrainingSpec<'a> {
    /// The model output the loss reads (`None`: the only one).
    pub output: Option<&'a str>,
    /// A value to read instead (the logits before a softmax).
    pub logits: Option<&'a str>,
    /// The loss.
    pub loss: Loss,
    /// The optimiser.
    pub optimizer: Optimizer,
    /// Samples per step.
    pub batch: usize,
}

/// A model with its training step, ready for `compile_library`.
pub struct TrainingLibrary {
    /// The model as `@main` and the step as `@train_step`.
    pub module: VerifiedModule,
    /// The model's entry, then the step's (prefix `train_step`).
    pub entries: Vec<EntryOptions>,
    /// The step's layout.
    pub training: TrainingOptions,
}

/// The model at `path` and its training step as `spec` describes it
/// (dropout masks drawn with seed 0).
pub fn training_library(path: &Path, spec: &TrainingSpec) -> Result<TrainingLibrary, Failure> {
    if spec.batch == 0 {
        return Err(Failure("error: --batch must be at least 1".into()));
    }
    let pick = Pick {
        output: spec.output,
        logits: spec.logits,
        through_softmax: matches!(spec.loss, Loss::CrossEntropy | Loss::CrossEntropyProbs),
    };
    let forward = load_forward(path, &pick, spec.batch as u64)?;
    let step = build_step(&forward, spec.loss, &spec.optimizer, spec.batch, 0)?;
    let mut module = forward.module.clone();
    if module.func(STEP).is_some() {
        return Err(Failure(format!("error: the model already has a function @{STEP}; it cannot also export a training step")));
    }
    module.funcs.extend(step.module.funcs.iter().cloned());
    let module = VerifiedModule::new(module).map_err(|d| Failure(format!("error: the model with its training step does not verify: {d}")))?;
    let kept: Vec<String> = step.params.iter().chain(&step.state).map(|(n, _)| n.clone()).collect();
    let mut inputs = kept.clone();
    inputs.extend(forward.inputs.iter().cloned());
    inputs.push("target".into());
    let mut outputs = kept;
    outputs.push("loss".into());
    let entries = vec![
        EntryOptions { prefix: String::new(), function: "main".into(), inputs: forward.inputs.clone(), outputs: forward.outputs.clone() },
        EntryOptions { prefix: STEP.into(), function: STEP.into(), inputs, outputs },
    ];
    let training = TrainingOptions {
        entry: STEP.into(),
        params: step.params.len(),
        state: step.state.len(),
        summary: format!("{:?} loss, {:?}, batches of {}; {}", spec.loss, spec.optimizer, spec.batch, forward.note),
    };
    Ok(TrainingLibrary { module, entries, training })
}
