//! Models as the CLI sees them: loaded from ONNX (`.onnx`), tessera's
//! text IR (`.tir`) or its model language (`.tsr`), with named inputs and
//! outputs, and runnable on named tensors.
//!
//! An ONNX model is imported when it runs, with the input values at hand:
//! inputs that determine shapes (axes, pads, a target shape, `k`) are then
//! specialised to their values, as a JIT does.

use crate::compile::{execute, Engine};
use crate::{Failure, Loaded};
use std::path::Path;
use tessera_frontend::onnx::import::{graph_inputs, import_model, import_model_specialized};
use tessera_frontend::onnx::load_model;
use tessera_frontend::onnx::proto::ModelProto;
use tessera_frontend::tsr::{compile_tsr, source_map};
use tessera_ir::tensor::Tensor;
use tessera_ir::verify::VerifiedModule;
use tessera_ir::dialect::graph::mode;
use tessera_ir::op::same_op;
use tessera_ir::{Dim, Func, Module, Type};
use tessera_passes::dce::eliminate_dead_ops;
use tessera_passes::train::inference_mode;

/// A loaded model.
pub struct Model {
    source: Source,
    /// Input names with their declared types, in order.
    pub inputs: Vec<(String, Type)>,
}

enum Source {
    Onnx(Box<ModelProto>),
    Text { module: VerifiedModule, entry: String },
}

impl Model {
    /// Loads `.onnx`, or `.tir` / `.tsr` (its first function, for `.tsr` its
    /// first `model`; inputs named after the argument names, outputs
    /// `output_<i>`). ONNX models are imported once here so that
    /// unsupported operators are reported before any input is read.
    pub fn load(path: &Path) -> Result<Model, Failure> {
        if path.extension().is_some_and(|e| e == "onnx") {
            let proto = load_model(path).map_err(|d| Failure(d.to_string()))?;
            if let Err(diags) = import_model(&proto) {
                if diags.0.iter().any(|d| d.message.starts_with("unsupported operator")) {
                    return Err(Failure(diags.to_string()));
                }
            }
            let inputs = graph_inputs(&proto).map_err(|d| Failure(d.to_string()))?;
            return Ok(Model { source: Source::Onnx(Box::new(proto)), inputs });
        }
        let text = TextModel::load_for_inference(path)?;
        let inputs = text.input_names.into_iter().zip(text.input_types).collect();
        Ok(Model { source: Source::Text { module: text.module, entry: text.entry }, inputs })
    }

    /// Runs the model with `engine` on inputs given by name, checking every
    /// name, dtype and shape first; returns the outputs with their names.
    pub fn run(&self, named: Vec<(String, Tensor)>, engine: Engine) -> Result<Vec<(String, Tensor)>, Failure> {
        let bound = self.bind(named)?;
        let outputs = execute(&bound.module, &bound.entry, bound.args, engine)?;
        Ok(bound.outputs.into_iter().zip(outputs).collect())
    }

    /// The model ready to execute on inputs given by name (checked as for
    /// [`Model::run`]): an ONNX model is imported with them at hand.
    pub fn bind(&self, named: Vec<(String, Tensor)>) -> Result<Bound, Failure> {
        self.check(&named)?;
        let value = |name: &str| named.iter().find(|(n, _)| n == name).map(|(_, t)| t.clone());
        match &self.source {
            Source::Text { module, entry } => {
                let args = self.inputs.iter().filter_map(|(n, _)| value(n)).collect();
                let results = module.module().func(entry).map_or(0, |f| f.results.len());
                let outputs = (0..results).map(|i| format!("output_{i}")).collect();
                Ok(Bound { module: module.clone(), entry: entry.clone(), args, outputs })
            }
            Source::Onnx(proto) => {
                let imported = import_model_specialized(proto, &|name| value(name).map(|t| t.to_dense()))
                    .map_err(|d| Failure(d.to_string()))?;
                let args = imported.inputs.iter().filter_map(|n| value(n)).collect();
                Ok(Bound { module: imported.module, entry: "main".into(), args, outputs: imported.outputs })
            }
        }
    }

    /// Every input given exactly once, known by name, of the declared dtype and shape.
    fn check(&self, named: &[(String, Tensor)]) -> Result<(), Failure> {
        let list = || self.inputs.iter().map(|(n, t)| format!("'{n}' ({t})")).collect::<Vec<_>>().join(", ");
        for (name, _) in named {
            if !self.inputs.iter().any(|(n, _)| n == name) {
                return Err(Failure(format!("error: the model has no input '{name}'; its inputs are {}", list())));
            }
            if named.iter().filter(|(n, _)| n == name).count() > 1 {
                return Err(Failure(format!("error: input '{name}' is given twice")));
            }
        }
        for (name, ty) in &self.inputs {
            let Some((_, value)) = named.iter().find(|(n, _)| n == name) else {
                return Err(Failure(format!("error: input '{name}' ({ty}) is missing; the model needs {}", list())));
            };
            check_input(name, ty, value)?;
        }
        Ok(())
    }
}

/// A model bound to its inputs: what executes.
pub struct Bound {
    /// The module (for ONNX, imported with the inputs' values at hand).
    pub module: VerifiedModule,
    /// The function that runs.
    pub entry: String,
    /// Its arguments, in order.
    pub args: Vec<Tensor>,
    /// The names of its results, in order.
    pub outputs: Vec<String>,
}

/// A `.tir` or `.tsr` model: a verified module and the function that runs.
pub struct TextModel {
    /// The verified module.
    pub module: VerifiedModule,
    /// The entry function: the first function (for `.tsr`, the first `model`).
    pub entry: String,
    /// Input names (the argument names, or `input_<i>`).
    pub input_names: Vec<String>,
    /// Input types.
    pub input_types: Vec<Type>,
    /// Output names, `output_<i>`.
    pub output_names: Vec<String>,
}

impl TextModel {
    /// Loads and verifies a `.tir` or `.tsr` file as written: with its
    /// training-mode markers (`tg.batch_stats`, `tg.dropout`; `.tsr`'s
    /// `batch_norm` and `dropout`), for `tessera train` to switch to
    /// their training forms.
    pub fn load(path: &Path) -> Result<TextModel, Failure> {
        TextModel::load_with(path, false)
    }

    /// Loads and verifies a `.tir` or `.tsr` file in inference mode, as
    /// running, compiling and exporting see a model (and as ONNX imports
    /// for inference): each training-mode marker replaced by its inference
    /// form, and the ops only a marker used removed.
    pub fn load_for_inference(path: &Path) -> Result<TextModel, Failure> {
        TextModel::load_with(path, true)
    }

    fn load_with(path: &Path, inference: bool) -> Result<TextModel, Failure> {
        let mut loaded = load_ir(path)?;
        if inference {
            inference_form(&mut loaded.module);
        }
        let module = VerifiedModule::new(loaded.module.clone()).map_err(|d| loaded.render(&d))?;
        let func = module
            .module()
            .funcs
            .first()
            .ok_or_else(|| Failure(format!("error: {} defines no function", path.display())))?;
        let input_names = func
            .args()
            .iter()
            .enumerate()
            .map(|(i, &a)| func.value(a).name.clone().unwrap_or_else(|| format!("input_{i}")))
            .collect();
        let input_types = func.arg_types();
        let output_names = (0..func.results.len()).map(|i| format!("output_{i}")).collect();
        let entry = func.name.clone();
        Ok(TextModel { module, entry, input_names, input_types, output_names })
    }
}

/// Replaces `module`'s training-mode markers by their inference forms and
/// removes the ops that only they used (a module without markers is left
/// as it is).
fn inference_form(module: &mut Module) {
    let marked = |f: &Func| {
        f.walk().into_iter().any(|op| same_op(f.op(op).def, &mode::BATCH_STATS) || same_op(f.op(op).def, &mode::DROPOUT))
    };
    if !module.funcs.iter().any(marked) {
        return;
    }
    inference_mode(module);
    for f in &mut module.funcs {
        eliminate_dead_ops(f);
    }
}

/// Reads a file as IR: `.tsr` is compiled (each `model` becomes a
/// function), anything else is parsed as `.tir`.
pub fn load_ir(path: &Path) -> Result<Loaded, Failure> {
    if path.extension().is_none_or(|e| e != "tsr") {
        return crate::load(path);
    }
    let text = std::fs::read_to_string(path).map_err(|e| Failure(format!("error: cannot read {}: {e}", path.display())))?;
    let name = path.display().to_string();
    let sources = source_map(&name, &text);
    match compile_tsr(&text, &name) {
        Ok(module) => Ok(Loaded { module, sources }),
        Err(diags) => Err(Failure(diags.render(&sources))),
    }
}

/// Checks a value against an input's declared type, naming the input.
fn check_input(name: &str, ty: &Type, value: &Tensor) -> Result<(), Failure> {
    let Type::Tensor(t) = ty else { return Ok(()) };
    if t.dtype != value.dtype() {
        return Err(Failure(format!(
            "error: input '{name}' must have dtype {} ({ty}), got {} ({})",
            t.dtype,
            value.dtype(),
            value.ty()
        )));
    }
    let fits = t.rank() == value.rank()
        && t.dims.iter().zip(value.shape()).all(|(d, &n)| !matches!(d, Dim::Known(k) if *k as usize != n));
    if !fits {
        return Err(Failure(format!("error: input '{name}' must be {ty}, got {}", value.ty())));
    }
    Ok(())
}
