//! Command-line arguments and the dispatch to each subcommand.

mod opt;

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
    /// Print a module's IR and a summary: functions, op counts, parameters.
    Inspect {
        /// The .tir file to inspect.
        file: PathBuf,
    },
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Opt(args) => opt::run(args),
        Command::Inspect { file } => {
            let loaded = tessera::load(&file)?;
            let verified = tessera_ir::verify::VerifiedModule::new(loaded.module.clone()).map_err(|d| loaded.render(&d))?;
            print!("{}", tessera::inspect::report(verified.module()));
            Ok(())
        }
    }
}
