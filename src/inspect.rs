//! `tessera inspect`: a module's IR (large constants elided) and a summary
//! of its functions, op counts and parameters.

use std::collections::BTreeMap;
use std::fmt::Write;
use tessera_ir::print::{print_module_with, PrintOptions};
use tessera_ir::Module;

/// Blobs above this many bytes are shown as a size and a hash.
const ELIDE_OVER: usize = 1024;

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
