//! `tessera compile`: a model to a C library (`libNAME.so`, `libNAME.a`,
//! `NAME.h`) — with `--train`, also its training step — and on request its
//! intermediate forms.

use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};
use std::time::Instant;
use super::train::{optimizer, StepArgs};
use tessera::compile::{compile_library, lower};
use tessera::export_support::load_module;
use tessera::train_library::{training_library, TrainingSpec};
use tessera::Failure;
use tessera_codegen::library::{runtime_library, EntryOptions, TrainingOptions};
use tessera_codegen::LibraryOptions;
use tessera_ir::verify::VerifiedModule;
use tessera_ir::print::print_module;

/// An intermediate form `--emit` writes.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum EmitArg {
    /// The optimised LLVM IR, `NAME.ll`.
    Llvm,
    /// The assembly, `NAME.s`.
    Asm,
    /// The object file, `NAME.o`.
    Obj,
    /// The kernel-dialect IR the code is generated from, `NAME.kernel.tir`.
    Ir,
}

/// Arguments of `tessera compile`.
#[derive(Args, Debug)]
pub struct CompileArgs {
    /// The model: `.onnx`, `.tir` or `.tsr`.
    model: PathBuf,
    /// The folder to write the library into (created if missing).
    #[arg(short, long, value_name = "DIR")]
    output: PathBuf,
    /// The library's name, prefix of every exported symbol (default: the
    /// model file's name, made a C identifier).
    #[arg(long)]
    name: Option<String>,
    /// The CPU to generate code for: `x86-64-v3` (AVX2, FMA: any x86-64 CPU
    /// since 2015), `x86-64`, `x86-64-v4`, a CPU name (`skylake`), or
    /// `native` for this machine's.
    #[arg(long, default_value = "x86-64-v3")]
    target_cpu: String,
    /// Also write intermediate forms; repeat for several.
    #[arg(long, value_enum)]
    emit: Vec<EmitArg>,
    /// Also export the training step, NAME_train_step (built from --loss,
    /// --optimizer, --lr, --batch ... as `tessera train` builds it), with
    /// the parameters' initial values (NAME_param_*) and the optimiser
    /// state's sizes (NAME_state_*).
    #[arg(long)]
    train: bool,
    #[command(flatten)]
    step: StepArgs,
    /// With --train: the model output the loss reads (default: the only one).
    #[arg(long, value_name = "NAME", requires = "train")]
    loss_output: Option<String>,
    /// With --train: the value the loss reads instead (e.g. the logits before a Softmax).
    #[arg(long, value_name = "NAME", requires = "train")]
    logits_output: Option<String>,
}

/// Runs `tessera compile`.
pub fn run(args: CompileArgs) -> Result<(), Failure> {
    let start = Instant::now();
    let name = match &args.name {
        Some(n) => n.clone(),
        None => default_name(&args.model),
    };
    let (module, entries, training) = load(&args)?;
    let options = LibraryOptions {
        name: name.clone(),
        entries,
        training,
        target_cpu: args.target_cpu.clone(),
        source: args.model.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        assembly: args.emit.contains(&EmitArg::Asm),
    };
    if args.emit.contains(&EmitArg::Ir) {
        let kernels = lower(module.clone())?;
        write(&args.output.join(format!("{name}.kernel.tir")), print_module(kernels.module()).as_bytes())?;
    }
    let library = compile_library(module, &options)?;
    let runtime = runtime_library().map_err(|m| Failure(format!("error: {m}")))?;
    let written = library.write(&args.output, &runtime).map_err(|m| Failure(format!("error: {m}")))?;
    for emit in &args.emit {
        let (ext, bytes) = match emit {
            EmitArg::Llvm => ("ll", library.llvm_ir().as_bytes()),
            EmitArg::Asm => ("s", library.assembly().unwrap_or_default().as_bytes()),
            EmitArg::Obj => ("o", library.object()),
            EmitArg::Ir => continue,
        };
        write(&args.output.join(format!("{name}.{ext}")), bytes)?;
    }
    for path in &written {
        println!("wrote {}", path.display());
    }
    println!(
        "{} functions exported ({name}_run, ...) for {}; compiled in {:.2} s",
        library.exported_functions().len(),
        args.target_cpu,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The module to compile with its entry points: the model, and with
/// `--train` its training step.
fn load(args: &CompileArgs) -> Result<(VerifiedModule, Vec<EntryOptions>, Option<TrainingOptions>), Failure> {
    if !args.train {
        if let Some(flag) = args.step.first_given() {
            return Err(Failure(format!("error: {flag} describes the training step; add --train to export one")));
        }
        let (module, function, inputs, outputs) = load_module(&args.model)?;
        return Ok((module, vec![EntryOptions { prefix: String::new(), function, inputs, outputs }], None));
    }
    let spec = TrainingSpec {
        output: args.loss_output.as_deref(),
        logits: args.logits_output.as_deref(),
        loss: args.step.loss()?,
        optimizer: optimizer(&args.step)?,
        batch: args.step.batch(),
    };
    let library = training_library(&args.model, &spec)?;
    Ok((library.module, library.entries, Some(library.training)))
}

/// The model file's stem as a C identifier: other characters become `_`,
/// and a leading digit gets a `_` before it.
fn default_name(model: &Path) -> String {
    let stem = model.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let mut name: String = stem.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    name
}

/// Writes `bytes` to `path` (creating its folder) through a temporary file.
fn write(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let fail = |e: std::io::Error| Failure(format!("error: cannot write {}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let tmp = path.with_extension("tessera-tmp");
    std::fs::write(&tmp, bytes).map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)
}
