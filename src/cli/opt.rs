//! `tessera opt`: the one entry point for IR tests and debugging.

use clap::Args;
use std::path::PathBuf;
use tessera::Failure;
use tessera_ir::print::{print_module_with, PrintOptions};
use tessera_passes::{PassManager, Pipeline};

/// Arguments of `tessera opt`.
#[derive(Args, Debug)]
pub struct OptArgs {
    /// The .tir file to transform.
    file: PathBuf,
    /// Comma-separated passes, e.g. `canonicalize,cse,dce` (see `--list-passes`).
    #[arg(long, default_value = "")]
    pipeline: String,
    /// Write the result here instead of standard output.
    #[arg(short = 'o', long = "output")]
    output: Option<PathBuf>,
    /// Print the IR after every pass (to standard error).
    #[arg(long)]
    print_ir_after_all: bool,
    /// Run only the first N passes of the pipeline (to bisect a miscompile).
    #[arg(long, value_name = "N")]
    stop_after: Option<usize>,
    /// Verify the IR after every pass (default in debug builds).
    #[arg(long, overrides_with = "no_verify_each")]
    verify_each: bool,
    /// Do not verify between passes.
    #[arg(long)]
    no_verify_each: bool,
    /// Print each op's location.
    #[arg(long)]
    print_locs: bool,
    /// List the registered passes and exit.
    #[arg(long)]
    list_passes: bool,
}

/// Runs `tessera opt`.
pub fn run(args: OptArgs) -> Result<(), Failure> {
    if args.list_passes {
        for pass in tessera_passes::registered() {
            println!("{:<14} {}", pass.name(), pass.summary());
        }
        return Ok(());
    }
    let pipeline = Pipeline::parse(&args.pipeline).map_err(|d| Failure(d.to_string()))?;
    let loaded = tessera::load(&args.file)?;
    let verify_each = if args.no_verify_each { false } else { args.verify_each || cfg!(debug_assertions) };
    let mut after_all = Vec::new();
    let mut manager = PassManager::new(pipeline).verify_each(verify_each).stop_after(args.stop_after);
    if args.print_ir_after_all {
        manager = manager.print_ir_after_each(&mut after_all);
    }
    let result = manager.run(loaded.module.clone());
    drop(manager);
    eprint!("{}", String::from_utf8_lossy(&after_all));
    let verified = result.map_err(|d| loaded.render(&d))?;
    let text = print_module_with(verified.module(), &PrintOptions { locs: args.print_locs, elide_resources_over: None });
    match args.output {
        Some(path) => write_atomically(&path, &text),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

/// Writes through a temporary file and a rename, so a failure never leaves
/// a half-written output behind.
fn write_atomically(path: &std::path::Path, text: &str) -> Result<(), Failure> {
    let tmp = path.with_extension("tir.tmp");
    std::fs::write(&tmp, text)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| Failure(format!("error: cannot write {}: {e}", path.display())))
}
