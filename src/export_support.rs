//! Loading a model for `tessera export`: the verified module, the function
//! to export, and the names its inputs and outputs should carry.

use crate::model::TextModel;
use crate::Failure;
use std::path::Path;
use tessera_frontend::onnx::import::import_model;
use tessera_frontend::onnx::load_model;
use tessera_ir::verify::VerifiedModule;

/// Loads `.onnx` (imported as is: its `@main`, with the graph's input and
/// output names) or `.tir`/`.tsr` (in inference mode, see
/// [`TextModel::load_for_inference`]). Returns the module, the entry
/// function's name, and the input and output names.
pub fn load_module(path: &Path) -> Result<(VerifiedModule, String, Vec<String>, Vec<String>), Failure> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("onnx") => {
            let proto = load_model(path).map_err(|d| Failure(d.to_string()))?;
            let imported = import_model(&proto).map_err(|d| Failure(d.to_string()))?;
            Ok((imported.module, "main".to_string(), imported.inputs, imported.outputs))
        }
        Some("tir" | "tsr") => {
            let text = TextModel::load_for_inference(path)?;
            Ok((text.module, text.entry, text.input_names, text.output_names))
        }
        _ => Err(Failure(format!("error: {}: tessera export reads .onnx, .tir and .tsr models", path.display()))),
    }
}
