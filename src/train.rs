//! `tessera train`: builds the training step of a model as one IR function
//! (`tessera_passes::train`), then runs it on the reference evaluator
//! batch after batch, writing the loss curve, the trained parameters and a
//! checkpoint that a later run resumes from.
//!
//! Files in the output directory: `loss.csv` (`step,loss`, one row per
//! step, losses printed to full precision; appended to when resuming),
//! `params.npz` (the trained parameters under their names) and
//! `checkpoint.npz` (`param/<name>`, `state/<name>`: parameters and
//! optimiser state, whose `state/step` counts the steps done).

use crate::train_data::{class_labels, Dataset};
use crate::train_model::{load_forward, Pick};
use crate::Failure;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tessera_frontend::npy::read_npy;
use tessera_frontend::npz::{read_npz, write_npz};
use tessera_ir::tensor::Tensor;
use tessera_ir::verify::VerifiedModule;
use tessera_ir::{DType, Type};
use tessera_passes::train::{build_train_step, Loss, Optimizer, TrainStep};
use tessera_passes::Evaluator;

/// How long to train.
#[derive(Copy, Clone, Debug)]
pub enum Length {
    /// This many steps.
    Steps(usize),
    /// This many passes over the data (`ceil(rows / batch)` steps each).
    Epochs(usize),
}

/// Everything `tessera train` needs.
pub struct TrainOptions {
    /// The model file.
    pub model: PathBuf,
    /// The input arrays by model input name.
    pub inputs: Vec<(String, PathBuf)>,
    /// The target array.
    pub target: PathBuf,
    /// The loss.
    pub loss: Loss,
    /// The optimiser.
    pub optimizer: Optimizer,
    /// Samples per step.
    pub batch: usize,
    /// How long to train.
    pub length: Length,
    /// Shuffle with this seed (`None`: the data in order).
    pub shuffle: Option<u64>,
    /// The output directory.
    pub out: PathBuf,
    /// A checkpoint to resume from.
    pub resume: Option<PathBuf>,
    /// The model output the loss reads.
    pub output: Option<String>,
    /// A value to read instead (the logits before a softmax).
    pub logits_output: Option<String>,
    /// Whether to draw progress on stderr.
    pub progress: bool,
}

/// What a run did.
pub struct TrainReport {
    /// The loss of each step run.
    pub losses: Vec<f64>,
    /// Mean wall time of one step, in milliseconds.
    pub step_ms: f64,
}

/// The state a step reads and replaces.
struct Weights {
    params: Vec<Tensor>,
    state: Vec<Tensor>,
}

/// Runs `tessera train`.
pub fn train(opts: &TrainOptions) -> Result<TrainReport, Failure> {
    let pick = Pick {
        output: opts.output.as_deref(),
        logits: opts.logits_output.as_deref(),
        through_softmax: matches!(opts.loss, Loss::CrossEntropy | Loss::CrossEntropyProbs),
    };
    if opts.batch == 0 {
        return Err(Failure("error: --batch must be at least 1".into()));
    }
    let forward = load_forward(&opts.model, &pick, opts.batch as u64)?;
    let data = read_data(opts, &forward)?;
    let pred = forward.func.results[0].as_tensor().cloned().ok_or_else(|| Failure("error: the model's output is not a tensor".into()))?;
    let target_ty = {
        let mut dims = pred.dims.clone();
        if opts.loss.takes_indices() {
            dims.truncate(1);
            Type::tensor(dims, DType::I64)
        } else {
            dims[0] = tessera_ir::Dim::Known(opts.batch as u64);
            Type::tensor(dims, pred.dtype)
        }
    };
    let step = build_train_step(&forward.module, &forward.func, opts.loss, target_ty, &opts.optimizer).map_err(|d| Failure(format!("error: {d}")))?;
    let verified = VerifiedModule::new(step.module.clone()).map_err(|d| Failure(format!("error: the training step does not verify: {d}")))?;
    let eval = Evaluator::new(&verified);
    let (mut weights, done) = initial_weights(opts, &forward.module, &step)?;
    let steps = match opts.length {
        Length::Steps(n) => n,
        Length::Epochs(e) => e * data.rows.div_ceil(opts.batch),
    };
    std::fs::create_dir_all(&opts.out).map_err(|e| Failure(format!("error: cannot create {}: {e}", opts.out.display())))?;
    let mut csv = open_csv(&opts.out.join("loss.csv"), opts.resume.is_some())?;
    if opts.progress {
        eprintln!("{}; {} parameter tensor(s), {} step(s) of {} samples", forward.note, step.params.len(), steps, opts.batch);
    }
    let started = Instant::now();
    let mut losses = Vec::with_capacity(steps);
    for s in done..done + steps {
        let mut args = weights.params.clone();
        args.extend(weights.state.iter().cloned());
        args.extend(data.batch(&data.batch_rows(s, opts.batch))?);
        let mut out = eval.run("train_step", args).map_err(|d| Failure(format!("error: step {s}: {d}")))?;
        let loss = out.pop().map(|l| l.to_f64s()[0]).unwrap_or(f64::NAN);
        if !loss.is_finite() {
            return Err(Failure(format!("error: the loss is {loss} at step {s}; stopping (lower --lr, or check the data)")));
        }
        let n = weights.params.len();
        weights.state = out.split_off(n);
        weights.params = out;
        writeln!(csv, "{s},{}", show(loss, pred.dtype)).map_err(|e| Failure(format!("error: cannot write loss.csv: {e}")))?;
        losses.push(loss);
        if opts.progress {
            progress(s + 1 - done, steps, loss, opts.batch, started);
        }
    }
    if opts.progress {
        eprintln!();
    }
    csv.flush().map_err(|e| Failure(format!("error: cannot write loss.csv: {e}")))?;
    save(&opts.out, &step, &weights)?;
    let step_ms = started.elapsed().as_secs_f64() * 1e3 / steps.max(1) as f64;
    Ok(TrainReport { losses, step_ms })
}

/// A loss as the shortest decimal that reads back to the same value of its dtype.
fn show(loss: f64, dtype: DType) -> String {
    if dtype == DType::F64 {
        format!("{loss}")
    } else {
        format!("{}", loss as f32)
    }
}

/// One progress line: a bar, the step, the loss and the throughput.
fn progress(done: usize, total: usize, loss: f64, batch: usize, started: Instant) {
    let width = 30;
    let filled = (done * width).checked_div(total).unwrap_or(width);
    let rate = (done * batch) as f64 / started.elapsed().as_secs_f64().max(1e-9);
    eprint!("\r[{}{}] step {done}/{total}  loss {loss:.6}  {rate:.1} samples/s", "#".repeat(filled), "-".repeat(width - filled));
}

/// Reads the `--input` and `--target` arrays, checked against the model.
fn read_data(opts: &TrainOptions, forward: &crate::train_model::Forward) -> Result<Dataset, Failure> {
    let mut inputs = Vec::new();
    for name in &forward.inputs {
        let (_, path) = opts.inputs.iter().find(|(n, _)| n == name).ok_or_else(|| {
            Failure(format!("error: no --input for the model's input '{name}' (its inputs are {})", forward.inputs.join(", ")))
        })?;
        inputs.push(read_array(path, name)?);
    }
    if let Some((name, _)) = opts.inputs.iter().find(|(n, _)| !forward.inputs.contains(n)) {
        return Err(Failure(format!("error: the model has no input '{name}'; its inputs are {}", forward.inputs.join(", "))));
    }
    let raw = read_array(&opts.target, "target")?;
    let pred = forward.func.results[0].as_tensor().cloned().ok_or_else(|| Failure("error: the model's output is not a tensor".into()))?;
    let target = if opts.loss.takes_indices() {
        let classes = pred.dims.get(1).and_then(|d| d.known()).ok_or_else(|| {
            Failure(format!("error: the cross-entropy loss needs logits of shape [batch, classes], got {pred}"))
        })?;
        class_labels(&raw, classes)?
    } else {
        let want: Vec<u64> = pred.dims[1..].iter().filter_map(|d| d.known()).collect();
        let have: Vec<u64> = raw.shape().get(1..).unwrap_or(&[]).iter().map(|&d| d as u64).collect();
        if want != have || !raw.dtype().is_float() {
            return Err(Failure(format!(
                "error: the target's rows are {:?} {}, but the prediction's are {:?} {}",
                have,
                raw.dtype(),
                want,
                pred.dtype
            )));
        }
        raw.cast(pred.dtype)
    };
    let types = forward.func.arg_types();
    Dataset::new(inputs, target, &forward.inputs, &types, opts.shuffle)
}

fn read_array(path: &Path, what: &str) -> Result<Tensor, Failure> {
    read_npy(path).map(|d| Tensor::from(&d)).map_err(|d| Failure(format!("error: {what}: {}", d.message)))
}

/// The parameters and optimiser state to start from, and the steps already done.
fn initial_weights(opts: &TrainOptions, module: &tessera_ir::Module, step: &TrainStep) -> Result<(Weights, usize), Failure> {
    let Some(path) = &opts.resume else {
        let mut params = Vec::new();
        for (name, ty) in &step.params {
            let init = module.param(name).and_then(|p| p.init.as_ref()).ok_or_else(|| {
                Failure(format!("error: parameter '{name}' ({ty}) has no initial value"))
            })?;
            params.push(Tensor::from(init));
        }
        let state = step.state.iter().map(|(_, t)| zeros(t)).collect::<Result<_, _>>()?;
        return Ok((Weights { params, state }, 0));
    };
    let saved = read_npz(path).map_err(|d| Failure(format!("error: --resume: {}", d.message)))?;
    let find = |key: String, ty: &tessera_ir::TensorType| -> Result<Tensor, Failure> {
        let (_, dense) = saved.iter().find(|(k, _)| *k == key).ok_or_else(|| {
            Failure(format!("error: the checkpoint {} has no '{key}' (was it written with the same model and optimizer?)", path.display()))
        })?;
        if dense.ty() != ty {
            return Err(Failure(format!("error: checkpoint entry '{key}' is {}, but the training step needs {ty}", dense.ty())));
        }
        Ok(Tensor::from(dense))
    };
    let params = step.params.iter().map(|(n, t)| find(format!("param/{n}"), t)).collect::<Result<Vec<_>, _>>()?;
    let state = step.state.iter().map(|(n, t)| find(format!("state/{n}"), t)).collect::<Result<Vec<_>, _>>()?;
    let done = state.first().map(|s| s.to_f64s()[0] as usize).unwrap_or(0);
    Ok((Weights { params, state }, done))
}

fn zeros(t: &tessera_ir::TensorType) -> Result<Tensor, Failure> {
    let dims = t.static_dims().ok_or_else(|| Failure(format!("error: optimizer state of type {t} needs static dims")))?;
    Ok(Tensor::zeros(t.dtype, dims.iter().map(|&d| d as usize).collect()))
}

/// `loss.csv`, fresh with its header, or appended to when resuming.
fn open_csv(path: &Path, resume: bool) -> Result<std::io::BufWriter<std::fs::File>, Failure> {
    let append = resume && path.exists();
    let file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(path)
        .map_err(|e| Failure(format!("error: cannot write {}: {e}", path.display())))?;
    let mut w = std::io::BufWriter::new(file);
    if !append {
        writeln!(w, "step,loss").map_err(|e| Failure(format!("error: cannot write {}: {e}", path.display())))?;
    }
    Ok(w)
}

/// Writes `params.npz` and `checkpoint.npz`.
fn save(out: &Path, step: &TrainStep, w: &Weights) -> Result<(), Failure> {
    let params: Vec<(String, _)> = step.params.iter().zip(&w.params).map(|((n, _), t)| (n.clone(), t.to_dense())).collect();
    let mut checkpoint: Vec<(String, _)> = params.iter().map(|(n, d)| (format!("param/{n}"), d.clone())).collect();
    checkpoint.extend(step.state.iter().zip(&w.state).map(|((n, _), t)| (format!("state/{n}"), t.to_dense())));
    for (file, arrays) in [("params.npz", &params), ("checkpoint.npz", &checkpoint)] {
        let path = out.join(file);
        write_npz(&path, arrays).map_err(|d| Failure(format!("error: {}: {}", path.display(), d.message)))?;
    }
    Ok(())
}
