//! `tessera inspect`: a module's IR (large constants elided) and a summary
//! of its functions, op counts and parameters.

use crate::Failure;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;
use tessera_frontend::onnx::import::{coverage, default_opset, import_model};
use tessera_frontend::onnx::load_model;
use tessera_ir::verify::VerifiedModule;
use tessera_ir::print::{print_module_with, PrintOptions};
use tessera_ir::Module;

/// Blobs above this many bytes are shown as a size and a hash.
const ELIDE_OVER: usize = 1024;

/// The report for a `.tir`, `.tsr` or `.onnx` file. For ONNX, the operator
/// coverage comes first and an import failure (unsupported operators) is
/// part of the report rather than an error.
pub fn inspect_file(path: &Path) -> Result<String, Failure> {
    if path.extension().is_none_or(|e| e != "onnx") {
        let loaded = crate::model::load_ir(path)?;
        let verified = VerifiedModule::new(loaded.module.clone()).map_err(|d| loaded.render(&d))?;
        return Ok(report(verified.module()));
    }
    let proto = load_model(path).map_err(|d| Failure(d.to_string()))?;
    let mut out = String::new();
    let opset = default_opset(&proto).map(|v| v.to_string()).unwrap_or_else(|_| "none".into());
    writeln!(out, "model: {} (producer {} {}, IR version {}, opset {opset})", path.display(), proto.producer_name, proto.producer_version, proto.ir_version).unwrap();
    let entries = coverage(&proto);
    let unsupported = entries.iter().filter(|e| !e.supported).count();
    writeln!(out, "operators: {} kinds, {} unsupported", entries.len(), unsupported).unwrap();
    for e in &entries {
        let domain = if e.domain.is_empty() { String::new() } else { format!("{}.", e.domain) };
        let mark = if e.supported { "ok" } else { "UNSUPPORTED" };
        writeln!(out, "  {domain}{:<28} {:>5}  {mark}", e.op_type, e.count).unwrap();
    }
    out.push('\n');
    match import_model(&proto) {
        Ok(imported) => out.push_str(&report(imported.module.module())),
        Err(diags) => writeln!(out, "import failed:\n{diags}").unwrap(),
    }
    Ok(out)
}

/// The IR followed by the summary.
pub fn report(module: &Module) -> String {
    let options = PrintOptions { locs: false, elide_resources_over: Some(ELIDE_OVER) };
    let mut out = print_module_with(module, &options);
    out.push('\n');
    out.push_str(&summary(module));
    out
}

/// Functions, op counts by name, and parameter totals.
pub fn summary(module: &Module) -> String {
    let mut out = String::new();
    writeln!(out, "functions: {}", module.funcs.len()).unwrap();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &module.funcs {
        let ops = f.walk();
        writeln!(out, "  @{}: {} argument(s), {} result(s), {} op(s)", f.name, f.args().len(), f.results.len(), ops.len())
            .unwrap();
        for op in ops {
            *counts.entry(f.op(op).def.name()).or_insert(0) += 1;
        }
    }
    writeln!(out, "op counts:").unwrap();
    let width = counts.keys().map(|k| k.len()).max().unwrap_or(0);
    for (name, n) in &counts {
        writeln!(out, "  {name:<width$}  {n}").unwrap();
    }
    let (elements, bytes) = module.param_footprint();
    writeln!(out, "parameters: {} ({elements} elements, {})", module.params.len(), human_bytes(bytes)).unwrap();
    out
}

fn human_bytes(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} bytes"),
    }
}
