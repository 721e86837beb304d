//! `tessera train`: builds the training step of a model as one IR function
//! (`tessera_passes::train`), compiles it once to machine code (or, with
//! `--engine reference`, runs it on the reference evaluator), then runs it
//! batch after batch on buffers kept between steps, writing the loss
//! curve, the trained parameters, the trained model and a checkpoint that
//! a later run resumes from.
//!
//! Files in the output directory: `loss.csv` (`step,loss`, one row per
//! step, losses printed to full precision; appended to when resuming),
//! `params.npz` (the trained parameters under their names),
//! `checkpoint.npz` (`param/<name>`, `state/<name>`: parameters and
//! optimiser state, whose `state/step` counts the steps done) and
//! `model.onnx` (the whole model with the trained parameters as its
//! initializers, when it exports to ONNX).

use crate::compile::Engine;
use crate::train_data::{class_labels, Dataset};
use crate::train_engine::{byte_size, tensor, zeroed, StepRunner};
use crate::train_model::{load_forward, Forward, Pick};
use crate::train_weights::{initial_weights, Trained};
use crate::Failure;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tessera_runtime::AlignedBuf;
use tessera_frontend::npy::read_npy;
use tessera_ir::tensor::Tensor;
use tessera_ir::verify::VerifiedModule;
use tessera_ir::{DType, TensorType, Type};
use tessera_passes::train::{build_train_step, Loss, Optimizer, TrainStep};

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
    /// The seed of dropout masks.
    pub seed: u64,
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
    /// What runs the step.
    pub engine: Engine,
}

/// What a run did.
pub struct TrainReport {
    /// The loss of each step run.
    pub losses: Vec<f64>,
    /// Mean wall time of one step (the batch's rows gathered, the step
    /// run, the loss written), in milliseconds.
    pub step_ms: f64,
    /// The median time of the step function alone, in milliseconds.
    pub median_ms: f64,
    /// What was not written, and why (`model.onnx` for a model that does
    /// not export).
    pub warnings: Vec<String>,
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
    let mut forward = load_forward(&opts.model, &pick, opts.batch as u64)?;
    let data = read_data(opts, &forward)?;
    let step = build_step(&forward, opts.loss, &opts.optimizer, opts.batch, opts.seed)?;
    let verified = VerifiedModule::new(step.module.clone()).map_err(|d| Failure(format!("error: the training step does not verify: {d}")))?;
    let runner = StepRunner::new(verified, opts.engine, &data.batch_shapes(opts.batch))?;
    let (mut weights, done) = initial_weights(opts.resume.as_deref(), &forward.module, &step, runner.args())?;
    let steps = match opts.length {
        Length::Steps(n) => n,
        Length::Epochs(e) => e * data.rows.div_ceil(opts.batch),
    };
    std::fs::create_dir_all(&opts.out).map_err(|e| Failure(format!("error: cannot create {}: {e}", opts.out.display())))?;
    let mut csv = open_csv(&opts.out.join("loss.csv"), opts.resume.is_some())?;
    if opts.progress {
        eprintln!("{}; {} parameter tensor(s), {} step(s) of {} samples", forward.note, step.params.len(), steps, opts.batch);
    }
    let kept = weights.len();
    let mut batch: Vec<AlignedBuf> = runner.args()[kept..].iter().map(|t| zeroed(byte_size(t))).collect::<Result<_, _>>()?;
    let mut next: Vec<AlignedBuf> = runner.results().iter().map(|t| zeroed(byte_size(t))).collect::<Result<_, _>>()?;
    let loss_type = runner.results().last().cloned().ok_or_else(|| Failure("error: the training step returns nothing".into()))?;
    let started = Instant::now();
    let mut losses = Vec::with_capacity(steps);
    let mut step_times = Vec::with_capacity(steps);
    for s in done..done + steps {
        data.fill(&data.batch_rows(s, opts.batch), &mut batch)?;
        let inputs: Vec<&[u8]> = weights.iter().chain(&batch).map(AlignedBuf::as_slice).collect();
        let mut outputs: Vec<&mut [u8]> = next.iter_mut().map(AlignedBuf::as_mut_slice).collect();
        step_times.push(runner.run(&inputs, &mut outputs).map_err(|m| Failure(format!("error: step {s}: {m}")))?);
        let loss = next.last().map(|l| scalar(&loss_type, l)).transpose()?.unwrap_or(f64::NAN);
        if !loss.is_finite() {
            return Err(Failure(format!("error: the loss is {loss} at step {s}; stopping (lower --lr, or check the data)")));
        }
        for (w, n) in weights.iter_mut().zip(&mut next) {
            std::mem::swap(w, n);
        }
        writeln!(csv, "{s},{}", show(loss, loss_type.dtype)).map_err(|e| Failure(format!("error: cannot write loss.csv: {e}")))?;
        losses.push(loss);
        if opts.progress {
            progress(s + 1 - done, steps, loss, opts.batch, started);
        }
    }
    if opts.progress {
        eprintln!();
    }
    csv.flush().map_err(|e| Failure(format!("error: cannot write loss.csv: {e}")))?;
    let trained = Trained { step: &step, types: &runner.args()[..kept], weights: &weights };
    trained.save(&opts.out)?;
    let warnings = trained.export(&mut forward, &opts.out.join("model.onnx")).err().map(|f| f.0).into_iter().collect();
    let step_ms = started.elapsed().as_secs_f64() * 1e3 / steps.max(1) as f64;
    step_times.sort();
    let median_ms = step_times.get(step_times.len() / 2).map_or(0.0, |d| d.as_secs_f64() * 1e3);
    Ok(TrainReport { losses, step_ms, median_ms, warnings })
}

/// The training step of `forward` with `loss` and `optimizer` on batches
/// of `batch` rows, its dropout masks drawn from `seed`.
pub(crate) fn build_step(forward: &Forward, loss: Loss, optimizer: &Optimizer, batch: usize, seed: u64) -> Result<TrainStep, Failure> {
    let pred = forward.func.results[0].as_tensor().cloned().ok_or_else(|| Failure("error: the model's output is not a tensor".into()))?;
    let target_ty = {
        let mut dims = pred.dims.clone();
        if loss.takes_indices() {
            dims.truncate(1);
            Type::tensor(dims, DType::I64)
        } else {
            // A symbolic batch dim stays symbolic: the target's rows are the batch's.
            if let Some(first @ tessera_ir::Dim::Known(_)) = dims.first_mut() {
                *first = tessera_ir::Dim::Known(batch as u64);
            }
            Type::tensor(dims, pred.dtype)
        }
    };
    build_train_step(&forward.module, &forward.func, loss, target_ty, optimizer, seed).map_err(|d| Failure(format!("error: {d}")))
}

/// The value of the one-element tensor of type `ty` held in `buffer`.
fn scalar(ty: &TensorType, buffer: &AlignedBuf) -> Result<f64, Failure> {
    let t = tensor(ty, buffer.as_slice()).map_err(|m| Failure(format!("error: {m}")))?;
    Ok(t.to_f64s().first().copied().unwrap_or(f64::NAN))
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
fn read_data(opts: &TrainOptions, forward: &Forward) -> Result<Dataset, Failure> {
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
