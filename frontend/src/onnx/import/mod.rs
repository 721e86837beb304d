//! ONNX → graph dialect. One converter per ONNX operator, grouped by family
//! in the submodules; each maps a node onto `tg.` primitives through
//! [`NodeCx`]. Composite operators (Gemm, Softmax, LayerNormalization, ...)
//! decompose here. Initializers of float dtype become trainable parameters
//! (`tg.param`, named as in ONNX); other initializers and `Constant` nodes
//! become constants. `If`/`Loop`/`Scan` bodies become regions; model-local
//! functions are inlined. Before converting anything, every node is checked
//! against the registry, and *all* unsupported operators are reported at once.

mod activation;
mod attention;
mod control;
mod cx;
mod elementwise;
mod image;
mod index;
mod known;
mod loss;
mod math;
mod nn;
mod quant;
mod reduce;
mod registry;
mod rnn;
mod sequence_ops;
mod shape;
mod signal;

pub use cx::{Importer, NodeCx};
pub use known::Known;
pub use registry::{converter, supported_operators, Convert};

use crate::onnx::proto::{type_proto, GraphProto, ModelProto, NodeProto, ValueInfoProto};
use crate::onnx::tensor::{onnx_dtype, tensor_to_dense};
use known::Known as KnownValue;
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, HashSet};
use tessera_ir::dialect::graph::value;
use tessera_ir::tensor::Tensor;
use tessera_ir::verify::VerifiedModule;
use tessera_ir::{Attr, Attrs, Builder, DenseAttr, Diag, Diags, Dim, Func, InsertPoint, Loc, Module, Param, RegionId, TensorType, Type, ValueId};

/// Float initializers with at most this many elements are also known at
/// import time (as their initial values), for inputs that decide shapes.
const SHAPE_LIKE_PARAM: usize = 16;

/// A model imported into a verified module, with its graph's input and
/// output names in order (the function's arguments and results).
pub struct Imported {
    /// The module: parameters and one function, `@main`.
    pub module: VerifiedModule,
    /// ONNX names of the graph inputs that are arguments of `@main`
    /// (initializers and specialised inputs excluded).
    pub inputs: Vec<String>,
    /// Graph inputs whose values were baked in as constants (see
    /// [`import_model_specialized`]).
    pub specialized: Vec<String>,
    /// ONNX names of the graph outputs.
    pub outputs: Vec<String>,
}

/// One operator's use in a model and whether tessera converts it.
#[derive(Clone, Debug, PartialEq)]
pub struct CoverageEntry {
    /// The operator's domain (`""` for the default domain).
    pub domain: String,
    /// The operator type.
    pub op_type: String,
    /// How many nodes use it (subgraphs included).
    pub count: usize,
    /// Whether a converter exists (or a model-local function defines it).
    pub supported: bool,
}

/// The default-domain opset version a model imports.
pub fn default_opset(model: &ModelProto) -> Result<i64, Diag> {
    model
        .opset_import
        .iter()
        .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        .map(|o| o.version)
        .ok_or_else(|| Diag::error(Loc::Unknown, "the model imports no version of the default ONNX opset"))
}

/// Every operator the model uses, with counts and support, sorted by name.
pub fn coverage(model: &ModelProto) -> Vec<CoverageEntry> {
    let local: HashSet<(&str, &str)> = model.functions.iter().map(|f| (f.domain.as_str(), f.name.as_str())).collect();
    let mut counts: HashMap<(String, String), usize> = HashMap::new();
    let mut visit = |node: &NodeProto| *counts.entry((node.domain.clone(), node.op_type.clone())).or_insert(0) += 1;
    if let Some(g) = &model.graph {
        walk_nodes(g, &mut visit);
    }
    for f in &model.functions {
        for node in &f.node {
            walk_node(node, &mut visit);
        }
    }
    let mut out: Vec<CoverageEntry> = counts
        .into_iter()
        .map(|((domain, op_type), count)| {
            let supported = local.contains(&(domain.as_str(), op_type.as_str())) || converter(&domain, &op_type).is_some();
            CoverageEntry { domain, op_type, count, supported }
        })
        .collect();
    out.sort_by(|a, b| (&a.domain, &a.op_type).cmp(&(&b.domain, &b.op_type)));
    out
}

fn walk_nodes(g: &GraphProto, visit: &mut dyn FnMut(&NodeProto)) {
    for node in &g.node {
        walk_node(node, visit);
    }
}

fn walk_node(node: &NodeProto, visit: &mut dyn FnMut(&NodeProto)) {
    visit(node);
    for a in &node.attribute {
        if let Some(g) = &a.g {
            walk_nodes(g, visit);
        }
        for g in &a.graphs {
            walk_nodes(g, visit);
        }
    }
}

/// Imports a model: checks every operator first (reporting all unsupported
/// ones together), then converts the graph and verifies the result.
/// Shape-determining inputs (axes, pads, a target shape, `k`, ...) must be
/// initializers or computable from constants.
pub fn import_model(model: &ModelProto) -> Result<Imported, Diags> {
    import_model_specialized(model, &|_| None)
}

/// Like [`import_model`], but when a converter needs a graph input as a
/// constant and `value_of` provides it, the input is specialised: its value
/// becomes a constant of the module and it is no longer an argument. This is
/// what a JIT does with the values it is about to run on (`tessera run`);
/// the result is only valid for those values.
pub fn import_model_specialized(model: &ModelProto, value_of: &dyn Fn(&str) -> Option<DenseAttr>) -> Result<Imported, Diags> {
    import_with(model, value_of, false)
}

/// Like [`import_model`], for training: BatchNormalization imports with its
/// statistics from `tg.batch_stats` and Dropout as `tg.dropout`, ops that
/// the training-step builder switches to their training forms (and that
/// mean inference everywhere else).
pub fn import_model_for_training(model: &ModelProto) -> Result<Imported, Diags> {
    import_with(model, &|_| None, true)
}

/// The import, with `training` telling converters to mark training-mode ops.
fn import_with(model: &ModelProto, value_of: &dyn Fn(&str) -> Option<DenseAttr>, training: bool) -> Result<Imported, Diags> {
    let graph = model.graph.as_ref().ok_or_else(|| Diags::from(Diag::error(Loc::Unknown, "the model has no graph")))?;
    let opset = default_opset(model)?;
    let local: HashSet<(&str, &str)> = model.functions.iter().map(|f| (f.domain.as_str(), f.name.as_str())).collect();
    let mut unsupported = Vec::new();
    let mut check = |node: &NodeProto| {
        if !local.contains(&(node.domain.as_str(), node.op_type.as_str())) && converter(&node.domain, &node.op_type).is_none() {
            let domain = if node.domain.is_empty() { String::new() } else { format!("{}.", node.domain) };
            unsupported.push(Diag::error(
                Loc::node(&node.name, &node.op_type),
                format!("unsupported operator {domain}{} (opset {opset})", node.op_type),
            ));
        }
    };
    walk_nodes(graph, &mut check);
    for f in &model.functions {
        for node in &f.node {
            walk_node(node, &mut check);
        }
    }
    if !unsupported.is_empty() {
        return Err(Diags(unsupported));
    }
    let mut fixed: Vec<(String, DenseAttr)> = Vec::new();
    loop {
        let result = import_graph(model, graph, opset, &fixed, training);
        let wanted = match &result {
            Ok((_, shaping)) => shaping,
            Err(failure) => &failure.1,
        };
        let new: Vec<(String, DenseAttr)> = wanted
            .iter()
            .filter(|n| !fixed.iter().any(|(f, _)| f == *n))
            .filter_map(|n| value_of(n).map(|v| (n.clone(), v)))
            .collect();
        if !new.is_empty() {
            fixed.extend(new);
            continue;
        }
        return match result {
            Ok(((module, inputs, outputs), _)) => {
                let module = VerifiedModule::new(module)?;
                let specialized = fixed.into_iter().map(|(n, _)| n).collect();
                Ok(Imported { module, inputs, outputs, specialized })
            }
            Err(failure) => Err(Diags::from(failure.0)),
        };
    }
}

/// Imports the main graph with the `fixed` inputs as constants. Returns
/// with it the graph inputs whose values would make shapes static
/// ([`cx::Importer::shaping`]); on failure, those converters wanted as
/// constants.
fn import_graph(
    model: &ModelProto,
    graph: &GraphProto,
    opset: i64,
    fixed: &[(String, DenseAttr)],
    training: bool,
) -> Result<(GraphParts, Names), Box<(Diag, Names)>> {
    let (mut wanted, mut shaping) = (BTreeSet::new(), BTreeSet::new());
    let result = import_graph_once(model, graph, opset, fixed, training, (&mut wanted, &mut shaping));
    match result {
        Ok(parts) => Ok((parts, shaping)),
        Err(d) => Err(Box::new((d, wanted))),
    }
}

/// The module with the graph's input and output names.
type GraphParts = (Module, Vec<String>, Vec<String>);

/// Graph inputs named for specialisation.
type Names = BTreeSet<String>;

fn import_graph_once(
    model: &ModelProto,
    graph: &GraphProto,
    opset: i64,
    fixed: &[(String, DenseAttr)],
    training: bool,
    (wanted, shaping): (&mut BTreeSet<String>, &mut BTreeSet<String>),
) -> Result<GraphParts, Diag> {
    let mut module = Module::new();
    let init_names: HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let mut constants = Vec::new();
    for init in &graph.initializer {
        let dense = tensor_to_dense(init)?;
        if dense.ty().dtype.is_float() {
            module.params.push(Param { name: init.name.clone(), ty: dense.ty().clone(), init: Some(dense), loc: Loc::node(&init.name, "initializer") });
        } else {
            constants.push((init.name.clone(), dense));
        }
    }
    let mut input_names = Vec::new();
    let mut arg_types = Vec::new();
    let is_fixed = |name: &str| fixed.iter().any(|(n, _)| n == name);
    for input in graph.input.iter().filter(|i| !init_names.contains(i.name.as_str()) && !is_fixed(&i.name)) {
        arg_types.push(value_info_type(input)?);
        input_names.push(input.name.clone());
    }
    let func = Func::new("main", &arg_types, Vec::new());
    let entry = func.entry();
    let mut imp = Importer {
        func,
        symbols: module.symbols(),
        scopes: vec![HashMap::new()],
        known: HashMap::new(),
        at: InsertPoint::End(entry),
        opset,
        training,
        arg_names: HashMap::new(),
        wanted: RefCell::new(BTreeSet::new()),
        shaping: RefCell::new(BTreeSet::new()),
    };
    let args = imp.func.args().to_vec();
    for (name, &v) in input_names.iter().zip(&args) {
        imp.bind(name, v);
        imp.arg_names.insert(v, name.clone());
    }
    for (name, dense) in fixed {
        let v = constant(&mut imp, dense.clone(), Loc::node(name, "specialized input"))?;
        imp.bind(name, v);
    }
    for p in &module.params {
        let v = build(&mut imp, &value::PARAM, Attrs::from([("sym", Attr::SymbolRef(p.name.clone()))]), Loc::node(&p.name, "initializer"))?;
        imp.bind(&p.name, v);
        // Tiny float initializers (Resize scales, a RoI) may decide shapes:
        // remember their initial values for converters that need constants.
        if let Some(init) = p.init.as_ref().filter(|i| i.len() <= SHAPE_LIKE_PARAM) {
            imp.known.insert(v, KnownValue::Tensor(Tensor::from(init)));
        }
    }
    for (name, dense) in constants {
        let v = constant(&mut imp, dense, Loc::node(&name, "initializer"))?;
        imp.bind(&name, v);
    }
    let converted = import_nodes(&mut imp, model, &graph.node);
    *wanted = imp.wanted.take();
    *shaping = imp.shaping.take();
    converted?;
    let mut outputs = Vec::new();
    let mut output_names = Vec::new();
    for out in &graph.output {
        let v = imp.lookup(&out.name).ok_or_else(|| Diag::error(Loc::Unknown, format!("graph output '{}' is never computed", out.name)))?;
        outputs.push(v);
        output_names.push(out.name.clone());
    }
    let mut b = Builder::new(&mut imp.func, &imp.symbols);
    b.set_insert_point(imp.at);
    b.ret(&outputs)?;
    imp.func.results = outputs.iter().map(|&v| imp.func.ty(v).clone()).collect();
    module.funcs.push(imp.func);
    Ok((module, input_names, output_names))
}

fn build(imp: &mut Importer, def: tessera_ir::OpRef, attrs: Attrs, loc: Loc) -> Result<ValueId, Diag> {
    let mut b = Builder::new(&mut imp.func, &imp.symbols);
    b.set_insert_point(imp.at);
    b.set_loc(loc);
    b.op(def, &[], attrs)
}

fn constant(imp: &mut Importer, dense: tessera_ir::DenseAttr, loc: Loc) -> Result<ValueId, Diag> {
    let known = Tensor::from(&dense);
    let v = build(imp, &value::CONSTANT, Attrs::from([("value", Attr::Dense(dense))]), loc)?;
    imp.known.insert(v, KnownValue::Tensor(known));
    Ok(v)
}

/// The graph inputs a caller supplies (initializers excluded), with their
/// declared types.
pub fn graph_inputs(model: &ModelProto) -> Result<Vec<(String, Type)>, Diag> {
    let graph = model.graph.as_ref().ok_or_else(|| Diag::error(Loc::Unknown, "the model has no graph"))?;
    let init_names: HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    graph
        .input
        .iter()
        .filter(|i| !init_names.contains(i.name.as_str()))
        .map(|i| Ok((i.name.clone(), value_info_type(i)?)))
        .collect()
}

/// The tensor type a graph input declares; unnamed unknown dims get a
/// fresh symbol derived from the input's name and axis.
fn value_info_type(info: &ValueInfoProto) -> Result<Type, Diag> {
    let loc = Loc::node(&info.name, "input");
    let Some(type_proto::Value::TensorType(t)) = info.r#type.as_ref().and_then(|t| t.value.as_ref()) else {
        return Err(Diag::error(loc, format!("graph input '{}' is not a tensor (sequences, maps and optionals are not supported)", info.name)));
    };
    let dtype = onnx_dtype(t.elem_type, &format!("graph input '{}'", info.name))?;
    let shape = t.shape.as_ref().ok_or_else(|| Diag::error(loc.clone(), format!("graph input '{}' has no shape (unknown rank)", info.name)))?;
    let dims = shape
        .dim
        .iter()
        .enumerate()
        .map(|(axis, d)| {
            use crate::onnx::proto::tensor_shape_proto::dimension::Value;
            match &d.value {
                Some(Value::DimValue(n)) if *n >= 0 => Dim::Known(*n as u64),
                Some(Value::DimParam(p)) if !p.is_empty() => Dim::sym(&symbol_name(p)),
                _ => Dim::sym(&symbol_name(&format!("{}_d{axis}", info.name))),
            }
        })
        .collect();
    Ok(Type::Tensor(TensorType::new(dims, dtype)))
}

/// A valid symbol name for an ONNX `dim_param`: `[A-Za-z_][A-Za-z0-9_]*`,
/// never a dtype name or `x`.
fn symbol_name(p: &str) -> String {
    let mut s: String = p.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) || tessera_ir::DType::from_name(&s).is_some() || s == "x" {
        s.insert_str(0, "s_");
    }
    s
}

fn import_nodes(imp: &mut Importer, model: &ModelProto, nodes: &[NodeProto]) -> Result<(), Diag> {
    for node in nodes {
        import_node(imp, model, node)?;
    }
    Ok(())
}

fn import_node(imp: &mut Importer, model: &ModelProto, node: &NodeProto) -> Result<(), Diag> {
    let loc = Loc::node(&node.name, &node.op_type);
    if let Some(f) = model.functions.iter().find(|f| f.domain == node.domain && f.name == node.op_type) {
        return inline_function(imp, model, node, f);
    }
    let convert = converter(&node.domain, &node.op_type)
        .ok_or_else(|| Diag::error(loc.clone(), format!("unsupported operator {}", node.op_type)))?;
    let opset = imp.opset;
    let subgraph = |imp: &mut Importer, g: &GraphProto, args: &[Type]| import_subgraph(imp, model, g, args).map_err(|d| d.message);
    let mut cx = NodeCx { node, opset, imp, subgraph: &subgraph };
    let outputs = convert(&mut cx).map_err(|m| {
        let suffix = format!(" (opset {opset})");
        let message = if m.ends_with(&suffix) { m } else { m + &suffix };
        Diag::error(loc.clone(), message)
    })?;
    for (i, name) in node.output.iter().enumerate() {
        if name.is_empty() {
            continue;
        }
        let v = outputs
            .get(i)
            .ok_or_else(|| Diag::error(loc.clone(), format!("output #{i} ('{name}') of {} is not supported", node.op_type)))?;
        imp.bind(name, *v);
    }
    Ok(())
}

/// Imports `graph` into a new region with arguments of `arg_types` bound to
/// its inputs; the region yields the graph's outputs.
fn import_subgraph(imp: &mut Importer, model: &ModelProto, graph: &GraphProto, arg_types: &[Type]) -> Result<RegionId, Diag> {
    if graph.input.len() != arg_types.len() {
        return Err(Diag::error(Loc::Unknown, format!("subgraph '{}' takes {} input(s), expected {}", graph.name, graph.input.len(), arg_types.len())));
    }
    let region = imp.func.new_region();
    let block = imp.func.new_block(region, arg_types);
    let saved = imp.at;
    imp.at = InsertPoint::End(block);
    imp.scopes.push(HashMap::new());
    let args = imp.func.block(block).args.clone();
    for (input, &v) in graph.input.iter().zip(&args) {
        imp.bind(&input.name, v);
    }
    let result = (|| {
        for init in &graph.initializer {
            let v = constant(imp, tensor_to_dense(init)?, Loc::node(&init.name, "initializer"))?;
            imp.bind(&init.name, v);
        }
        import_nodes(imp, model, &graph.node)?;
        let outs = graph
            .output
            .iter()
            .map(|o| imp.lookup(&o.name).ok_or_else(|| Diag::error(Loc::Unknown, format!("subgraph output '{}' is never computed", o.name))))
            .collect::<Result<Vec<_>, _>>()?;
        let mut b = Builder::new(&mut imp.func, &imp.symbols);
        b.set_insert_point(imp.at);
        b.yield_values(&outs)?;
        Ok(region)
    })();
    imp.scopes.pop();
    imp.at = saved;
    result
}

/// Inlines a call to a model-local function: its inputs bound to the
/// node's, its attribute references resolved, its outputs bound to the node's.
fn inline_function(imp: &mut Importer, model: &ModelProto, node: &NodeProto, f: &crate::onnx::proto::FunctionProto) -> Result<(), Diag> {
    let loc = Loc::node(&node.name, &node.op_type);
    let mut scope = HashMap::new();
    for (i, formal) in f.input.iter().enumerate() {
        if let Some(actual) = node.input.get(i).filter(|n| !n.is_empty()) {
            let v = imp.lookup(actual).ok_or_else(|| Diag::error(loc.clone(), format!("input '{actual}' is not defined")))?;
            scope.insert(formal.clone(), v);
        }
    }
    imp.scopes.push(scope);
    let result = (|| {
        for body_node in &f.node {
            let mut resolved = body_node.clone();
            resolved.attribute = body_node
                .attribute
                .iter()
                .filter_map(|a| {
                    if a.ref_attr_name.is_empty() {
                        return Some(a.clone());
                    }
                    let source = node.attribute.iter().find(|c| c.name == a.ref_attr_name).or_else(|| f.attribute_proto.iter().find(|d| d.name == a.ref_attr_name))?;
                    let mut value = source.clone();
                    value.name = a.name.clone();
                    Some(value)
                })
                .collect();
            import_node(imp, model, &resolved)?;
        }
        f.output
            .iter()
            .map(|o| imp.lookup(o).ok_or_else(|| Diag::error(loc.clone(), format!("function output '{o}' is never computed"))))
            .collect::<Result<Vec<_>, _>>()
    })();
    imp.scopes.pop();
    for (name, v) in node.output.iter().zip(result?) {
        if !name.is_empty() {
            imp.bind(name, v);
        }
    }
    Ok(())
}
