//! `tessera train`: the command line of training (see `tessera::train`).

use clap::Args;
use std::path::PathBuf;
use super::run::EngineArg;
use tessera::compile::Engine;
use tessera::train::{train, Length, TrainOptions};
use tessera::Failure;
use tessera_passes::train::{Loss, Optimizer};

/// Arguments of `tessera train`.
#[derive(Args, Debug)]
pub struct TrainArgs {
    /// The model: `.onnx`, `.tir` or `.tsr`; its parameters are trained.
    model: PathBuf,
    /// An input as NAME=X.npy (rows are samples); repeat for each input.
    #[arg(long = "input", value_name = "NAME=X.npy", required = true)]
    inputs: Vec<String>,
    /// The targets (rows are samples): class indices for cross-entropy.
    #[arg(long, value_name = "Y.npy")]
    target: PathBuf,
    #[command(flatten)]
    step: StepArgs,
    /// Number of steps.
    #[arg(long, conflicts_with = "epochs", required_unless_present = "epochs")]
    steps: Option<usize>,
    /// Number of passes over the data.
    #[arg(long)]
    epochs: Option<usize>,
    /// Seed of the shuffling and of dropout masks.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Visit the rows in a fresh seeded order each epoch (default: in order, wrapping around).
    #[arg(long)]
    shuffle: bool,
    /// Output directory: loss.csv, params.npz, checkpoint.npz, model.onnx.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Resume from a checkpoint.npz written by an earlier run.
    #[arg(long, value_name = "CHECKPOINT.npz")]
    resume: Option<PathBuf>,
    /// The model output the loss reads (default: the only one).
    #[arg(long, value_name = "NAME")]
    output: Option<String>,
    /// The value the loss reads instead of the output (e.g. the logits before a Softmax).
    #[arg(long, value_name = "NAME")]
    logits_output: Option<String>,
    /// What runs the step: generated code (compiled once) or the reference evaluator.
    #[arg(long, value_enum, default_value_t = EngineArg::Jit)]
    engine: EngineArg,
    /// No progress bar on stderr.
    #[arg(long)]
    quiet: bool,
}

/// The loss, the optimizer and its hyper-parameters, and the batch size:
/// what a training step is built from (`tessera train`, `tessera compile --train`).
#[derive(Args, Debug)]
pub struct StepArgs {
    /// cross-entropy (logits vs class indices), cross-entropy-probs, mse, bce, bce-with-logits [default: cross-entropy].
    #[arg(long)]
    loss: Option<String>,
    /// sgd, adam, adamw or rmsprop [default: sgd].
    #[arg(long)]
    optimizer: Option<String>,
    /// Learning rate (default: PyTorch's for the optimizer).
    #[arg(long)]
    lr: Option<f64>,
    /// Samples per step [default: 32].
    #[arg(long)]
    batch: Option<usize>,
    /// SGD, RMSProp: momentum factor.
    #[arg(long)]
    momentum: Option<f64>,
    /// SGD: dampening of the momentum.
    #[arg(long)]
    dampening: Option<f64>,
    /// SGD: Nesterov momentum.
    #[arg(long)]
    nesterov: bool,
    /// L2 penalty (SGD, Adam, RMSProp) or decoupled decay (AdamW).
    #[arg(long)]
    weight_decay: Option<f64>,
    /// Adam, AdamW: the moments' decay rates as B1,B2.
    #[arg(long, value_name = "B1,B2")]
    betas: Option<String>,
    /// Adam, AdamW, RMSProp: added to the denominator.
    #[arg(long)]
    eps: Option<f64>,
    /// Adam, AdamW: use AMSGrad.
    #[arg(long)]
    amsgrad: bool,
    /// RMSProp: smoothing constant.
    #[arg(long)]
    alpha: Option<f64>,
    /// RMSProp: centered variant.
    #[arg(long)]
    centered: bool,
}

impl StepArgs {
    /// The loss.
    pub fn loss(&self) -> Result<Loss, Failure> {
        Loss::parse(self.loss.as_deref().unwrap_or("cross-entropy")).map_err(|e| Failure(format!("error: --loss: {e}")))
    }

    /// Samples per step.
    pub fn batch(&self) -> usize {
        self.batch.unwrap_or(32)
    }

    /// The first of these flags given on the command line, if any.
    pub fn first_given(&self) -> Option<&'static str> {
        self.flags().into_iter().chain([("--loss", self.loss.is_some()), ("--optimizer", self.optimizer.is_some())]).find_map(
            |(flag, on)| on.then_some(flag),
        )
    }

    /// Every optimizer flag, with whether it was given.
    fn flags(&self) -> Vec<(&'static str, bool)> {
        vec![
            ("--lr", self.lr.is_some()),
            ("--batch", self.batch.is_some()),
            ("--weight-decay", self.weight_decay.is_some()),
            ("--momentum", self.momentum.is_some()),
            ("--dampening", self.dampening.is_some()),
            ("--nesterov", self.nesterov),
            ("--betas", self.betas.is_some()),
            ("--eps", self.eps.is_some()),
            ("--amsgrad", self.amsgrad),
            ("--alpha", self.alpha.is_some()),
            ("--centered", self.centered),
        ]
    }
}

/// Runs `tessera train`.
pub fn run(args: TrainArgs) -> Result<(), Failure> {
    let loss = args.step.loss()?;
    let optimizer = optimizer(&args.step)?;
    let mut inputs = Vec::new();
    for spec in &args.inputs {
        let (name, file) = spec.split_once('=').ok_or_else(|| Failure(format!("error: --input takes NAME=X.npy, got '{spec}'")))?;
        inputs.push((name.to_string(), PathBuf::from(file)));
    }
    let length = match (args.steps, args.epochs) {
        (Some(n), _) => Length::Steps(n),
        (None, Some(e)) => Length::Epochs(e),
        (None, None) => return Err(Failure("error: give --steps N or --epochs N".into())),
    };
    let opts = TrainOptions {
        model: args.model,
        inputs,
        target: args.target,
        loss,
        optimizer,
        batch: args.step.batch(),
        length,
        shuffle: args.shuffle.then_some(args.seed),
        seed: args.seed,
        out: args.out.clone(),
        resume: args.resume,
        output: args.output,
        logits_output: args.logits_output,
        progress: !args.quiet,
        engine: match args.engine {
            EngineArg::Jit => Engine::Jit,
            EngineArg::Reference => Engine::Reference,
        },
    };
    let report = train(&opts)?;
    if let (Some(first), Some(last)) = (report.losses.first(), report.losses.last()) {
        println!(
            "trained {} step(s): loss {first:.6} -> {last:.6}, {:.3} ms/step, {:.3} ms median in the step ({}); wrote {}",
            report.losses.len(),
            report.step_ms,
            report.median_ms,
            match args.engine {
                EngineArg::Jit => "generated code",
                EngineArg::Reference => "reference evaluator",
            },
            args.out.display()
        );
    }
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    Ok(())
}

/// The optimizer the flags describe; a flag the optimizer does not take is an error.
pub fn optimizer(a: &StepArgs) -> Result<Optimizer, Failure> {
    let name = a.optimizer.as_deref().unwrap_or("sgd");
    let given = a.flags().into_iter().skip(3);
    let takes: &[&str] = match name {
        "sgd" => &["--momentum", "--dampening", "--nesterov"],
        "adam" | "adamw" => &["--betas", "--eps", "--amsgrad"],
        "rmsprop" => &["--momentum", "--eps", "--alpha", "--centered"],
        other => return Err(Failure(format!("error: unknown optimizer '{other}' (known: sgd, adam, adamw, rmsprop)"))),
    };
    if let Some((flag, _)) = given.into_iter().find(|(f, on)| *on && !takes.contains(f)) {
        return Err(Failure(format!(
            "error: the {name} optimizer has no option {flag} (it takes {}, --lr and --weight-decay)",
            takes.join(", ")
        )));
    }
    let wd = a.weight_decay.unwrap_or(0.0);
    Ok(match name {
        "sgd" => {
            let momentum = a.momentum.unwrap_or(0.0);
            let dampening = a.dampening.unwrap_or(0.0);
            if a.nesterov && (momentum <= 0.0 || dampening != 0.0) {
                return Err(Failure("error: --nesterov needs --momentum above 0 and no dampening".into()));
            }
            Optimizer::Sgd { lr: a.lr.unwrap_or(1e-3), momentum, dampening, nesterov: a.nesterov, weight_decay: wd }
        }
        "adam" | "adamw" => {
            let betas = match &a.betas {
                Some(s) => {
                    let parts: Vec<Result<f64, _>> = s.split(',').map(|p| p.trim().parse::<f64>()).collect();
                    match parts.as_slice() {
                        [Ok(b1), Ok(b2)] => (*b1, *b2),
                        _ => return Err(Failure(format!("error: --betas takes B1,B2, got '{s}'"))),
                    }
                }
                None => (0.9, 0.999),
            };
            let decoupled = name == "adamw";
            let weight_decay = a.weight_decay.unwrap_or(if decoupled { 1e-2 } else { 0.0 });
            Optimizer::Adam { lr: a.lr.unwrap_or(1e-3), betas, eps: a.eps.unwrap_or(1e-8), weight_decay, amsgrad: a.amsgrad, decoupled }
        }
        _ => Optimizer::RmsProp {
            lr: a.lr.unwrap_or(1e-2),
            alpha: a.alpha.unwrap_or(0.99),
            eps: a.eps.unwrap_or(1e-8),
            weight_decay: wd,
            momentum: a.momentum.unwrap_or(0.0),
            centered: a.centered,
        },
    })
}
