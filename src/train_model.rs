//! The forward function `tessera train` differentiates: a model loaded from
//! ONNX, `.tir` or `.tsr`, cut down to the output the loss reads, with its
//! batch dim set to the training batch.
//!
//! Which output feeds the loss: `--output NAME` (default: the only output).
//! For the cross-entropy losses, when that output is a softmax — the
//! pattern ONNX Softmax imports to, `exp(x - reduce_max(x)) /
//! reduce_sum(exp(...))` over axis 1, or `exp(x) / reduce_sum(exp(x))` —
//! the loss reads the softmax's input `x` (the logits) instead, as
//! PyTorch's `cross_entropy` takes logits. `--logits-output NAME` names the
//! value to read explicitly (an ONNX tensor name, or a `.tir` value name).

use crate::model::TextModel;
use crate::Failure;
use std::path::Path;
use tessera_frontend::onnx::import::import_model_for_training;
use tessera_frontend::onnx::load_model;
use tessera_frontend::onnx::proto::tensor_shape_proto::dimension::Value;
use tessera_frontend::onnx::proto::{type_proto, ModelProto, ValueInfoProto};
use tessera_ir::dialect::graph::{elementwise as ew, reduce};
use tessera_ir::func::sanitize_name;
use tessera_ir::op::OpDef;
use tessera_ir::{Dim, Func, Module, Traits, Type, ValueId};
use tessera_passes::dce::eliminate_dead_ops;
use tessera_passes::shape_infer::infer_func;
use tessera_passes::train::inference_mode;

/// A model ready to train.
pub struct Forward {
    /// The module in inference mode (its parameters are the trainable
    /// weights and the running statistics).
    pub module: Module,
    /// The forward function: the model's inputs to the value the loss
    /// reads, with its BatchNormalization and Dropout marked for training
    /// (`tg.batch_stats`, `tg.dropout`).
    pub func: Func,
    /// The input names, in argument order.
    pub inputs: Vec<String>,
    /// The output names of the model's entry function, in order.
    pub outputs: Vec<String>,
    /// How the loss's input was chosen, for the user.
    pub note: String,
}

/// What the loss reads.
pub struct Pick<'a> {
    /// The model output (by name); `None`: the only one.
    pub output: Option<&'a str>,
    /// A value to read instead of the output (by name).
    pub logits: Option<&'a str>,
    /// Whether to look through a final softmax (the cross-entropy losses).
    pub through_softmax: bool,
}

/// Loads `path` and prepares its forward function for batches of `batch` rows.
pub fn load_forward(path: &Path, pick: &Pick, batch: u64) -> Result<Forward, Failure> {
    let (module, inputs, outputs, batched) = if path.extension().is_some_and(|e| e == "onnx") {
        let mut proto = load_model(path).map_err(|d| Failure(d.to_string()))?;
        let imported = import_model_for_training(&proto).map_err(|d| Failure(d.to_string()))?;
        let batched = match fix_batch(&mut proto, batch) {
            true => Some(import_model_for_training(&proto).map_err(|d| Failure(d.to_string()))?.module.into_inner()),
            false => None,
        };
        (imported.module.into_inner(), imported.inputs, imported.outputs, batched)
    } else {
        let text = TextModel::load(path)?;
        let mut module = text.module.into_inner();
        let entry = text.entry;
        module.funcs.retain(|f| f.name == entry);
        module.funcs[0].name = "main".into();
        (module, text.input_names, text.output_names, None)
    };
    let source = batched.as_ref().unwrap_or(&module);
    let mut func = source.funcs.iter().find(|f| f.name == "main").cloned().ok_or_else(|| Failure("error: the model has no function".into()))?;
    let ret = *func.block(func.entry()).ops.last().ok_or_else(|| Failure("error: the model's function is empty".into()))?;
    let returned = func.op(ret).operands.clone();
    let index = match pick.output {
        Some(name) => outputs.iter().position(|o| o == name).ok_or_else(|| {
            Failure(format!("error: the model has no output '{name}'; its outputs are {}", outputs.join(", ")))
        })?,
        None if outputs.len() == 1 => 0,
        None => {
            return Err(Failure(format!(
                "error: the model has {} outputs ({}); choose the one the loss reads with --output NAME",
                outputs.len(),
                outputs.join(", ")
            )))
        }
    };
    let mut value = returned[index];
    let mut note = format!("the loss reads output '{}'", outputs[index]);
    if let Some(name) = pick.logits {
        value = find_value(&func, name)
            .ok_or_else(|| Failure(format!("error: --logits-output: the model has no value named '{name}'")))?;
        note = format!("the loss reads value '{name}' (--logits-output)");
    } else if pick.through_softmax {
        if let Some(logits) = softmax_input(&func, value) {
            value = logits;
            note = format!("output '{}' is a softmax: the loss reads its input (the logits)", outputs[index]);
        }
    }
    func.op_mut(ret).operands = vec![value];
    func.results = vec![func.ty(value).clone()];
    eliminate_dead_ops(&mut func);
    rebatch(&mut func, &module, batch)?;
    let mut module = module;
    inference_mode(&mut module);
    Ok(Forward { module, func, inputs, outputs, note })
}

/// Makes the symbolic leading dims (`dim_param`s) of `proto`'s graph
/// inputs `batch`, wherever those symbols appear in its inputs and
/// outputs, so that the import specialises every shape to the batch (a
/// reshape to `[N, 256]` included); returns whether anything changed.
fn fix_batch(proto: &mut ModelProto, batch: u64) -> bool {
    let Some(graph) = proto.graph.as_mut() else { return false };
    let initializers: Vec<String> = graph.initializer.iter().map(|t| t.name.clone()).collect();
    let mut symbols = Vec::new();
    for info in graph.input.iter_mut().filter(|i| !initializers.contains(&i.name)) {
        if let Some(Some(Value::DimParam(p))) = dims(info).into_iter().next() {
            symbols.push(p.clone());
        }
    }
    for info in graph.input.iter_mut().chain(graph.output.iter_mut()) {
        for value in dims(info) {
            if matches!(value, Some(Value::DimParam(p)) if symbols.contains(p)) {
                *value = Some(Value::DimValue(batch as i64));
            }
        }
    }
    !symbols.is_empty()
}

/// The dims of a tensor's declared shape (none for another type).
fn dims(info: &mut ValueInfoProto) -> Vec<&mut Option<Value>> {
    match info.r#type.as_mut().and_then(|t| t.value.as_mut()) {
        Some(type_proto::Value::TensorType(t)) => t.shape.as_mut().map_or_else(Vec::new, |s| s.dim.iter_mut().map(|d| &mut d.value).collect()),
        _ => Vec::new(),
    }
}

/// The value named `name` (as written, or sanitised as the importer names values).
fn find_value(func: &Func, name: &str) -> Option<ValueId> {
    let wanted = sanitize_name(name);
    let mut values: Vec<ValueId> = func.args().to_vec();
    for op in func.walk() {
        values.extend(func.op(op).results.iter().copied());
    }
    values.into_iter().find(|&v| func.value(v).name.as_deref().is_some_and(|n| n == name || n == wanted))
}

/// The op defining `v`, if it is of kind `def`.
fn defined_by(func: &Func, v: ValueId, def: &dyn OpDef) -> Option<Vec<ValueId>> {
    let op = func.def_op(v)?;
    let data = func.op(op);
    (data.def.name() == def.name()).then(|| data.operands.clone())
}

/// The softmax input `x` when `v` is `exp(x - reduce_max(x)) / reduce_sum(...)`
/// or `exp(x) / reduce_sum(exp(x))`.
fn softmax_input(func: &Func, v: ValueId) -> Option<ValueId> {
    let div = defined_by(func, v, &ew::DIV)?;
    let (e, s) = (div[0], div[1]);
    let summed = defined_by(func, s, &reduce::REDUCE_SUM)?;
    if summed[0] != e {
        return None;
    }
    let z = defined_by(func, e, &ew::EXP)?[0];
    match defined_by(func, z, &ew::SUB) {
        Some(sub) if defined_by(func, sub[1], &reduce::REDUCE_MAX).is_some_and(|m| m[0] == sub[0]) => Some(sub[0]),
        _ => Some(z),
    }
}

/// Gives every input with a static leading dim the leading dim `batch` and
/// re-infers the types (models exported with batch 1 train on batches).
fn rebatch(func: &mut Func, module: &Module, batch: u64) -> Result<(), Failure> {
    let mut changed = false;
    for a in func.args().to_vec() {
        if let Type::Tensor(t) = &mut func.value_mut(a).ty {
            if matches!(t.dims.first(), Some(Dim::Known(n)) if *n != batch) {
                t.dims[0] = Dim::Known(batch);
                changed = true;
            }
        }
    }
    if changed {
        infer_func(func, &module.symbols()).map_err(|d| {
            Failure(format!("error: the model does not take batches of {batch} rows (its inputs have a fixed batch size): {d}"))
        })?;
        let ret = func.block(func.entry()).ops.last().copied();
        if let Some(ret) = ret.filter(|&r| func.op(r).def.traits().contains(Traits::TERMINATOR)) {
            func.results = func.op(ret).operands.iter().map(|&v| func.ty(v).clone()).collect();
        }
    }
    Ok(())
}

