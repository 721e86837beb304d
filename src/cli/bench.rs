//! `tessera bench`: latency and compile time of a model's generated code,
//! with tract's on the same inputs and the ratio.

use super::run::read_inputs;
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;
use tessera::bench::{bench, BenchOptions, BenchReport, Stats};
use tessera::Failure;

/// Arguments of `tessera bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// The model: `.onnx`, `.tir` or `.tsr`.
    model: PathBuf,
    /// An input as NAME=FILE.npy (default: every input generated from a fixed seed).
    #[arg(long = "input", value_name = "NAME=FILE.npy")]
    inputs: Vec<String>,
    /// A symbolic dim's value for generated inputs, NAME=VALUE (default 1).
    #[arg(long = "dim", value_name = "NAME=VALUE")]
    dims: Vec<String>,
    /// Threads for tessera's generated code (default: TESSERA_NUM_THREADS, else one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Untimed runs before measuring.
    #[arg(long, default_value_t = 10)]
    warmup: usize,
    /// Timed runs.
    #[arg(long, default_value_t = 100)]
    runs: usize,
    /// Do not run the model in tract.
    #[arg(long)]
    no_tract: bool,
    /// Print one JSON object instead of the table (for scripts).
    #[arg(long)]
    json: bool,
}

/// Runs `tessera bench`.
pub fn run(args: BenchArgs) -> Result<(), Failure> {
    if let Some(n) = args.threads {
        tessera_runtime::pool::set_num_threads(n).map_err(|e| Failure(format!("error: --threads {n}: {e}")))?;
    }
    let dims = args
        .dims
        .iter()
        .map(|spec| {
            let parsed = spec.split_once('=').and_then(|(n, v)| Some((n.to_string(), v.parse::<usize>().ok()?)));
            parsed.ok_or_else(|| Failure(format!("error: --dim takes NAME=VALUE with a non-negative integer, got '{spec}'")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let options = BenchOptions { warmup: args.warmup, runs: args.runs.max(1), dims, tract: !args.no_tract };
    let report = bench(&args.model, read_inputs(&args.inputs)?, &options)?;
    let threads = tessera_runtime::pool::num_threads();
    if args.json {
        println!("{}", json(&report, threads));
    } else {
        print!("{}", table(&args.model.display().to_string(), &report, threads));
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// `median (p10 – p90)` in milliseconds.
fn spread(s: &Stats) -> String {
    format!("{:.4} ms ({:.4} – {:.4})", ms(s.median), ms(s.p10), ms(s.p90))
}

/// The human-readable report.
fn table(model: &str, r: &BenchReport, threads: usize) -> String {
    let shapes: Vec<String> = r.inputs.iter().map(|(n, s)| format!("{n} {s:?}")).collect();
    let mut out = format!(
        "model    {model}\ninputs   {}\nthreads  {threads}\ncompile  {:.1} ms (lowering {:.1} ms, LLVM {:.1} ms)\ntessera  {}\n",
        shapes.join(", "),
        ms(r.lower + r.codegen),
        ms(r.lower),
        ms(r.codegen),
        spread(&r.latency)
    );
    match &r.tract {
        None => {}
        Some(Ok(t)) => out.push_str(&format!(
            "tract    {} (prepare {:.1} ms, max |diff| {:.2e})\nratio    tessera / tract = {:.2}\n",
            spread(&t.latency),
            ms(t.prepare),
            t.max_abs_diff,
            ms(r.latency.median) / ms(t.latency.median)
        )),
        Some(Err(e)) => out.push_str(&format!("tract    not run: {e}\n")),
    }
    out
}

/// The report as one JSON object.
fn json(r: &BenchReport, threads: usize) -> String {
    let tract = match &r.tract {
        Some(Ok(t)) => format!(
            "{{\"median_ms\": {}, \"p10_ms\": {}, \"p90_ms\": {}, \"prepare_ms\": {}, \"max_abs_diff\": {}}}",
            ms(t.latency.median),
            ms(t.latency.p10),
            ms(t.latency.p90),
            ms(t.prepare),
            t.max_abs_diff
        ),
        Some(Err(e)) => format!("{{\"error\": {e:?}}}"),
        None => "null".into(),
    };
    format!(
        "{{\"threads\": {threads}, \"compile_ms\": {}, \"lower_ms\": {}, \"codegen_ms\": {}, \"median_ms\": {}, \"p10_ms\": {}, \"p90_ms\": {}, \"tract\": {tract}}}",
        ms(r.lower + r.codegen),
        ms(r.lower),
        ms(r.codegen),
        ms(r.latency.median),
        ms(r.latency.p10),
        ms(r.latency.p90)
    )
}
