//! `tessera compile --train`: one graph module holding the model (`@main`)
//! and its training step (`@train_step`, as `tessera train` builds it), with
//! the entry points and training layout a C library exports them under:
//! `NAME_run`, `NAME_train_step(params..., state..., inputs..., target)
//! -> (params'..., state'..., loss)` and `NAME_forward(params..., inputs...)
//! -> outputs` (the model in inference mode, its parameters as arguments, to
//! run it with trained parameters; `@forward`).

use crate::train::build_step;
use crate::train_engine::STEP;
use crate::train_model::{load_forward, Pick};
use crate::Failure;
use std::path::Path;
use tessera_codegen::library::{EntryOptions, TrainingOptions};
use tessera_ir::verify::VerifiedModule;
use tessera_passes::autodiff::params_to_args;
use tessera_passes::train::{inference_mode, Loss, Optimizer};

/// The function and entry prefix of the inference entry that takes the
/// parameters as inputs.
pub const FORWARD: &str = "forward";

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
    /// The model's entry, the step's (prefix `train_step`), then the
    /// model's with its parameters as inputs (prefix `forward`).
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
    if module.func(FORWARD).is_some() || step.module.func(FORWARD).is_some() {
        return Err(Failure(format!("error: the model already has a function @{FORWARD}; it cannot also export {FORWARD}")));
    }
    let names: Vec<String> = step.params.iter().map(|(n, _)| n.clone()).collect();
    let forward_fn = parameterised_main(&forward.module, &names)?;
    module.funcs.extend(step.module.funcs.iter().cloned());
    module.funcs.push(forward_fn);
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
        EntryOptions {
            prefix: FORWARD.into(),
            function: FORWARD.into(),
            inputs: names.iter().chain(&forward.inputs).cloned().collect(),
            outputs: forward.outputs.clone(),
        },
    ];
    let training = TrainingOptions {
        entry: STEP.into(),
        params: step.params.len(),
        state: step.state.len(),
        summary: format!("{:?} loss, {:?}, batches of {}; {}", spec.loss, spec.optimizer, spec.batch, forward.note),
        forward: Some(FORWARD.into()),
    };
    Ok(TrainingLibrary { module, entries, training })
}

/// `@main` of `module` in inference mode as `@forward`, reading the
/// parameters `params` (the step's, in its order) as its first arguments,
/// before the model's inputs. Parameters `@main` reads that are not among
/// them stay embedded.
fn parameterised_main(module: &tessera_ir::Module, params: &[String]) -> Result<tessera_ir::Func, Failure> {
    let mut m = module.clone();
    inference_mode(&mut m);
    let main = m.func("main").ok_or_else(|| Failure("error: the model has no function @main".into()))?.clone();
    let n_in = main.args().len();
    // Only the step's parameters become arguments; the filter keeps the
    // module's declaration order, which is the step's too.
    let mut only = m.clone();
    only.params.retain(|p| params.contains(&p.name));
    let (mut f, names) = params_to_args(&only, &main).map_err(|d| Failure(format!("error: {d}")))?;
    if names != params {
        return Err(Failure(format!(
            "error: the model reads parameters {} but its training step updates {}; cannot export {FORWARD}",
            names.join(", "),
            params.join(", ")
        )));
    }
    // Parameters first: rotate the trailing parameter arguments to the front.
    f.rotate_args_left(n_in);
    f.name = FORWARD.into();
    Ok(f)
}
