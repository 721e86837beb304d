//! Loading a model for `tessera export`: the verified module, the function
//! to export, and the names its inputs and outputs should carry.

use crate::Failure;
use std::path::Path;
use tessera_frontend::onnx::import::import_model;
use tessera_frontend::onnx::load_model;
use tessera_ir::verify::VerifiedModule;

/// Loads `.onnx` (imported as is: its `@main`, with the graph's input and
/// output names) or `.tir` (its first function; inputs named after the
/// argument names, outputs `output_<i>`). Returns the module, the entry
/// function's name, and the input and output names.
pub fn load_module(path: &Path) -> Result<(VerifiedModule, String, Vec<String>, Vec<String>), Failure> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("onnx") => {
            let proto = load_model(path).map_err(|d| Failure(d.to_string()))?;
            let imported = import_model(&proto).map_err(|d| Failure(d.to_string()))?;
            Ok((imported.module, "main".to_string(), imported.inputs, imported.outputs))
        }
        Some("tir") => {
            let loaded = crate::load(path)?;
            let module = VerifiedModule::new(loaded.module.clone()).map_err(|d| loaded.render(&d))?;
            let func = module
                .module()
                .funcs
                .first()
                .ok_or_else(|| Failure(format!("error: {} defines no function", path.display())))?;
            let inputs = func
                .args()
                .iter()
                .enumerate()
                .map(|(i, &a)| func.value(a).name.clone().unwrap_or_else(|| format!("input_{i}")))
                .collect();
            let outputs = (0..func.results.len()).map(|i| format!("output_{i}")).collect();
            let entry = func.name.clone();
            Ok((module, entry, inputs, outputs))
        }
        _ => Err(Failure(format!("error: {}: tessera export reads .onnx and .tir models", path.display()))),
    }
}
