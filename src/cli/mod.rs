//! Command-line arguments and the dispatch to each subcommand.

mod bench;
mod compile;
mod export;
mod opt;
mod run;
mod train;

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
    /// Compile a model to a C library: libNAME.so, libNAME.a and NAME.h
    /// (with --train, also its training step).
    Compile(Box<compile::CompileArgs>),
    /// Measure a model's compile time and latency, beside tract's.
    Bench(bench::BenchArgs),
    /// Write a model back out as ONNX.
    Export(export::ExportArgs),
    /// Train a model's parameters (autodiff + optimizer) on `.npy` data.
    Train(Box<train::TrainArgs>),
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Opt(args) => opt::run(args),
        Command::Run(args) => run::run(args),
        Command::Train(args) => train::run(*args),
        Command::Compile(args) => compile::run(*args),
        Command::Bench(args) => bench::run(args),
        Command::Export(args) => export::run(args),
        Command::Inspect { file } => {
            print!("{}", tessera::inspect::inspect_file(&file)?);
            Ok(())
        }
    }
}
