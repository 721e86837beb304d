//! `tessera run`: loads a model, reads `.npy` inputs by name, runs it, and
//! writes one `.npy` per output.

use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};
use tessera::compile::Engine;
use tessera::model::Model;
use tessera::Failure;
use tessera_frontend::npy::{read_npy, write_npy};
use tessera_ir::tensor::Tensor;

/// Which engine executes the model.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum EngineArg {
    /// Generated native code, compiled in memory (JIT).
    Jit,
    /// The reference evaluator (naive, obviously correct).
    Reference,
}

/// Arguments of `tessera run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// The model: `.onnx`, `.tir` or `.tsr`.
    model: PathBuf,
    /// An input as NAME=FILE.npy; repeat for each input.
    #[arg(long = "input", value_name = "NAME=FILE.npy")]
    inputs: Vec<String>,
    /// Where to write `<output name>.npy` files (created if missing).
    #[arg(long, value_name = "DIR")]
    output_dir: PathBuf,
    /// The execution engine.
    #[arg(long, value_enum, default_value_t = EngineArg::Jit)]
    engine: EngineArg,
}

/// Runs `tessera run`.
pub fn run(args: RunArgs) -> Result<(), Failure> {
    let model = Model::load(&args.model)?;
    let named = read_inputs(&args.inputs)?;
    let engine = match args.engine {
        EngineArg::Jit => Engine::Jit,
        EngineArg::Reference => Engine::Reference,
    };
    let outputs = model.run(named, engine)?;
    std::fs::create_dir_all(&args.output_dir)
        .map_err(|e| Failure(format!("error: cannot create {}: {e}", args.output_dir.display())))?;
    for (name, value) in outputs {
        let path = args.output_dir.join(format!("{}.npy", file_stem(&name)));
        let tmp = path.with_extension("npy.tmp");
        write_npy(&tmp, &value.to_dense()).map_err(|d| Failure(format!("error: output '{name}': {}", d.message)))?;
        std::fs::rename(&tmp, &path).map_err(|e| Failure(format!("error: cannot write {}: {e}", path.display())))?;
        println!("{name}: {} -> {}", value.ty(), path.display());
    }
    Ok(())
}

/// Reads `NAME=FILE.npy` arguments into named tensors.
pub fn read_inputs(specs: &[String]) -> Result<Vec<(String, Tensor)>, Failure> {
    let mut named = Vec::new();
    for spec in specs {
        let (name, file) = spec
            .split_once('=')
            .ok_or_else(|| Failure(format!("error: --input takes NAME=FILE.npy, got '{spec}'")))?;
        let dense = read_npy(Path::new(file)).map_err(|d| Failure(format!("error: input '{name}': {}", d.message)))?;
        named.push((name.to_string(), Tensor::from(&dense)));
    }
    Ok(named)
}

/// An output name made safe as a file name: characters outside
/// `[A-Za-z0-9._-]` become `_`.
pub fn file_stem(name: &str) -> String {
    let s: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' }).collect();
    if s.is_empty() || s == "." || s == ".." {
        format!("_{s}")
    } else {
        s
    }
}
