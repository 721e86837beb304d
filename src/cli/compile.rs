//! `tessera compile`: a model to a C library (`libNAME.so`, `libNAME.a`,
//! `NAME.h`), and on request its intermediate forms.

use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};
use std::time::Instant;
use tessera::compile::{compile_library, lower};
use tessera::export_support::load_module;
use tessera::Failure;
use tessera_codegen::{library::runtime_library, LibraryOptions};
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
}

/// Runs `tessera compile`.
pub fn run(args: CompileArgs) -> Result<(), Failure> {
    let start = Instant::now();
    let (module, entry, inputs, outputs) = load_module(&args.model)?;
    let name = match &args.name {
        Some(n) => n.clone(),
        None => default_name(&args.model),
    };
    let options = LibraryOptions {
        name: name.clone(),
        entry: entry.clone(),
        inputs,
        outputs,
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
