//! Models as the CLI sees them: a verified module with named inputs and
//! outputs, loaded from ONNX (`.onnx`) or tessera's text IR (`.tir`), and
//! runnable on named `.npy`-style tensors.

use crate::Failure;
use std::path::Path;
use tessera_frontend::onnx::{import::import_model, load_model};
use tessera_ir::tensor::Tensor;
use tessera_ir::verify::VerifiedModule;
use tessera_ir::{Dim, Type};

/// A loaded model ready to run.
pub struct Model {
    /// The verified module; `entry` is the function that runs.
    pub module: VerifiedModule,
    /// The function called by [`Model::run`].
    pub entry: String,
    /// Input names, in argument order.
    pub inputs: Vec<String>,
    /// Output names, in result order.
    pub outputs: Vec<String>,
}

impl Model {
    /// Loads `.onnx` (imported) or `.tir` (its first function; inputs and
    /// outputs named after the argument names and `output_<i>`).
    pub fn load(path: &Path) -> Result<Model, Failure> {
        if path.extension().is_some_and(|e| e == "onnx") {
            let proto = load_model(path).map_err(|d| Failure(d.to_string()))?;
            let imported = import_model(&proto).map_err(|d| Failure(d.to_string()))?;
            return Ok(Model { module: imported.module, entry: "main".into(), inputs: imported.inputs, outputs: imported.outputs });
        }
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
        Ok(Model { module, entry, inputs, outputs })
    }

    /// The declared type of each input.
    pub fn input_types(&self) -> Vec<Type> {
        self.module.module().func(&self.entry).map(|f| f.arg_types()).unwrap_or_default()
    }

    /// Runs the model on inputs given by name, checking every name, dtype
    /// and shape first; returns the outputs with their names.
    pub fn run(&self, named: Vec<(String, Tensor)>) -> Result<Vec<(String, Tensor)>, Failure> {
        let mut ordered = Vec::with_capacity(self.inputs.len());
        for (name, _) in &named {
            if !self.inputs.contains(name) {
                return Err(Failure(format!("error: the model has no input '{name}'; its inputs are {}", self.input_list())));
            }
            if named.iter().filter(|(n, _)| n == name).count() > 1 {
                return Err(Failure(format!("error: input '{name}' is given twice")));
            }
        }
        let types = self.input_types();
        for (name, ty) in self.inputs.iter().zip(&types) {
            let Some((_, value)) = named.iter().find(|(n, _)| n == name) else {
                return Err(Failure(format!("error: input '{name}' ({ty}) is missing; the model needs {}", self.input_list())));
            };
            check_input(name, ty, value)?;
            ordered.push(value.clone());
        }
        let outputs = tessera_passes::Evaluator::new(&self.module)
            .run(&self.entry, ordered)
            .map_err(|d| Failure(d.to_string()))?;
        Ok(self.outputs.iter().cloned().zip(outputs).collect())
    }

    fn input_list(&self) -> String {
        let types = self.input_types();
        self.inputs.iter().zip(&types).map(|(n, t)| format!("'{n}' ({t})")).collect::<Vec<_>>().join(", ")
    }
}

/// Checks a value against an input's declared type, naming the input.
fn check_input(name: &str, ty: &Type, value: &Tensor) -> Result<(), Failure> {
    let Type::Tensor(t) = ty else { return Ok(()) };
    let mismatch = || Failure(format!("error: input '{name}' must be {ty}, got {}", value.ty()));
    if t.dtype != value.dtype() {
        return Err(Failure(format!("error: input '{name}' must have dtype {}, got {} ({} expected, {} given)", t.dtype, value.dtype(), ty, value.ty())));
    }
    if t.rank() != value.rank() {
        return Err(mismatch());
    }
    for (d, &n) in t.dims.iter().zip(value.shape()) {
        if let Dim::Known(k) = d {
            if *k as usize != n {
                return Err(mismatch());
            }
        }
    }
    Ok(())
}
