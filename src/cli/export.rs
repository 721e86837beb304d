//! `tessera export`: loads a model and writes its graph-dialect form back
//! out as ONNX (compact operators, initializers for parameters, external
//! data for models over 2 GB or on request).

use clap::Args;
use std::collections::BTreeMap;
use std::path::PathBuf;
use tessera::export_support::load_module;
use tessera::Failure;
use tessera_frontend::onnx::export::{export_module, write_model, ExportOptions, DEFAULT_OPSET};

/// Arguments of `tessera export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The model: `.onnx` or `.tir`.
    model: PathBuf,
    /// The ONNX file to write.
    #[arg(short, long, value_name = "OUT.onnx")]
    output: PathBuf,
    /// The default-domain ONNX opset to write (13 to 21).
    #[arg(long, default_value_t = DEFAULT_OPSET)]
    opset: i64,
    /// Put the initializers in `<OUT>.data` beside the model whatever its size.
    #[arg(long)]
    external_data: bool,
}

/// Runs `tessera export`.
pub fn run(args: ExportArgs) -> Result<(), Failure> {
    let (module, entry, input_names, output_names) = load_module(&args.model)?;
    let mut options = ExportOptions { opset: args.opset, input_names, output_names, ..ExportOptions::default() };
    if args.external_data {
        options.external_data_threshold = 0;
    }
    let model = export_module(&module, &entry, &options).map_err(|d| Failure(d.to_string()))?;
    write_model(&args.output, &model, options.external_data_threshold)
        .map_err(|d| Failure(format!("error: {}", d.message)))?;
    let graph = model.graph.unwrap_or_default();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for node in &graph.node {
        *counts.entry(node.op_type.as_str()).or_insert(0) += 1;
    }
    let ops: Vec<String> = counts.iter().map(|(op, n)| format!("{op} x{n}")).collect();
    println!(
        "wrote {} (opset {}): {} node(s) [{}], {} initializer(s)",
        args.output.display(),
        args.opset,
        graph.node.len(),
        ops.join(", "),
        graph.initializer.len()
    );
    Ok(())
}
