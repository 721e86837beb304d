//! Command-line arguments and the dispatch to each subcommand.

mod export;
mod opt;
mod run;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use tessera::Failure;

/// tessera: a deep-learning compiler.
#[derive(Parser, Debug)]
#[command(name = "tessera", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a pass pipeline over a .tir file and print the result.
    Opt(opt::OptArgs),
    /// Print a model's IR and a summary: functions, op counts, parameters;
    /// for ONNX also the operator coverage (without failing on unsupported ops).
    Inspect {
        /// The model: `.onnx` or `.tir`.
        file: PathBuf,
    },
    /// Run a model on `.npy` inputs and write `.npy` outputs.
    Run(run::RunArgs),
    /// Write a model back out as ONNX.
    Export(export::ExportArgs),
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Opt(args) => opt::run(args),
        Command::Run(args) => run::run(args),
        Command::Export(args) => export::run(args),
        Command::Inspect { file } => {
            print!("{}", tessera::inspect::inspect_file(&file)?);
            Ok(())
        }
    }
}
