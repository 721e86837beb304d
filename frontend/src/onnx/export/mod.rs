//! Graph dialect → ONNX. [`export_module`] writes one function of a
//! verified module as a `ModelProto`: parameters become initializers
//! (their names kept), the function's arguments graph inputs (symbolic
//! dims as `dim_param`), its results graph outputs, and every `tg.` op one
//! or more ONNX nodes through the emitter of its family (one module per
//! family, like the importer; [`registry`] maps op names to emitters).
//! `tg.if`/`tg.loop` regions become `If`/`Loop` subgraphs, `tg.call`s are
//! inlined, intermediates get value infos, and node names come from op
//! locations (an imported node's name, fused locations joined by `+`).
//!
//! Before emitting, [`compact`] recognises chains of primitives that are one
//! ONNX operator (Gemm, Softmax, LayerNormalization, Gelu, Conv with a bias,
//! pooling, MatMul, Flatten, ...) so an exported model reads like what a
//! framework exports; dead ops are dropped. An op with no ONNX equivalent
//! at the chosen opset is an error naming the op and the opset; all such
//! errors are reported together. [`write_model`] writes the file
//! atomically, with external data for large models.

mod compact;
mod control;
mod cx;
mod elementwise;
mod index;
mod linalg;
mod reduce;
mod registry;
mod shape;
mod sort;
mod value;
mod window;
mod write;

pub use write::{write_model, DEFAULT_EXTERNAL_THRESHOLD};

use crate::onnx::proto::{GraphProto, ModelProto, NodeProto, OperatorSetIdProto, ValueInfoProto};
use crate::onnx::tensor::dense_to_tensor;
use cx::{value_info, value_infos, Exporter, Graph, OpCx};
use std::collections::HashSet;
use tessera_ir::dialect::graph::value::PARAM;
use tessera_ir::op::same_op;
use tessera_ir::verify::VerifiedModule;
use tessera_ir::{BlockId, Diag, Diags, Loc, OpId, RegionId, Traits, ValueDef, ValueId};

/// The lowest default-domain opset the exporter writes.
pub const MIN_OPSET: i64 = 13;
/// The highest default-domain opset the exporter writes.
pub const MAX_OPSET: i64 = 21;
/// The opset written unless another is asked for.
pub const DEFAULT_OPSET: i64 = 17;

/// How to export.
#[derive(Clone, Debug)]
pub struct ExportOptions {
    /// The default-domain opset, in `MIN_OPSET..=MAX_OPSET`.
    pub opset: i64,
    /// Names of the graph inputs, in argument order; an argument without
    /// one takes its IR name, or `input_<i>`.
    pub input_names: Vec<String>,
    /// Names of the graph outputs, in result order; `output_<i>` where missing.
    pub output_names: Vec<String>,
    /// The encoded size in bytes above which [`write_model`] moves the
    /// initializers to a `<name>.data` file (0: always).
    pub external_data_threshold: u64,
}

impl Default for ExportOptions {
    fn default() -> ExportOptions {
        ExportOptions {
            opset: DEFAULT_OPSET,
            input_names: Vec::new(),
            output_names: Vec::new(),
            external_data_threshold: DEFAULT_EXTERNAL_THRESHOLD,
        }
    }
}

/// The IR version that goes with an opset (the oldest that defines it).
fn ir_version(opset: i64) -> i64 {
    match opset {
        ..=14 => 7,
        15..=18 => 8,
        19..=20 => 9,
        _ => 10,
    }
}

/// Exports function `entry` of `module` as an ONNX model.
pub fn export_module(module: &VerifiedModule, entry: &str, options: &ExportOptions) -> Result<ModelProto, Diags> {
    let module = module.module();
    let opset = options.opset;
    if !(MIN_OPSET..=MAX_OPSET).contains(&opset) {
        return Err(Diags::from(Diag::error(
            Loc::Unknown,
            format!("opset {opset} is not supported for export; choose one of {MIN_OPSET} to {MAX_OPSET}"),
        )));
    }
    let func = module.func(entry).ok_or_else(|| {
        Diags::from(Diag::error(Loc::Unknown, format!("the module has no function @{entry} to export")))
    })?;
    let mut ex = Exporter::new(module, opset);
    ex.graphs.push(Graph::default());
    let mut inputs = Vec::new();
    let mut arg_names = Vec::new();
    for (i, &a) in func.args().iter().enumerate() {
        let name = options
            .input_names
            .get(i)
            .cloned()
            .or_else(|| func.value(a).name.clone())
            .unwrap_or_else(|| format!("input_{i}"));
        if !ex.reserve(&name) {
            ex.diags
                .push(Diag::error(func.loc.clone(), format!("input name '{name}' is used twice (or by a parameter)")));
        }
        if let Some(t) = func.ty(a).as_tensor() {
            inputs.push(value_info(&name, t, true));
        }
        arg_names.push(name);
    }
    ex.open_frame(func, &arg_names, true);
    let entry_block = func.entry();
    let returned = terminator_operands(&ex, entry_block);
    let wanted: Vec<String> = (0..returned.len())
        .map(|i| options.output_names.get(i).cloned().unwrap_or_else(|| format!("output_{i}")))
        .collect();
    for name in &wanted {
        if !ex.reserve(name) {
            ex.diags.push(Diag::error(
                func.loc.clone(),
                format!("output name '{name}' is used twice (or by an input or a parameter)"),
            ));
        }
    }
    let identities = bind_outputs(&mut ex, entry_block, &returned, &wanted);
    emit_block(&mut ex, entry_block);
    for (v, name) in identities {
        let from = ex.name_of(v);
        identity(&mut ex, &from, &name, "output");
    }
    let outputs: Vec<ValueInfoProto> = returned
        .iter()
        .zip(&wanted)
        .filter_map(|(&v, name)| func.ty(v).as_tensor().map(|t| value_info(name, t, true)))
        .collect();
    let graph_state = ex.graphs.pop().unwrap_or_default();
    let read = node_inputs(&graph_state.nodes);
    let mut initializer = Vec::new();
    for p in &module.params {
        if !ex.params.contains(&p.name) {
            continue;
        }
        match &p.init {
            // A parameter no node reads (its reader was folded into
            // another node, or was dead) is left out.
            Some(init) if read.contains(p.name.as_str()) => initializer.push(dense_to_tensor(&p.name, init)),
            Some(_) => {}
            None => inputs.push(value_info(&p.name, &p.ty, true)),
        }
    }
    if !ex.diags.is_empty() {
        return Err(Diags(ex.diags));
    }
    let graph = GraphProto {
        value_info: value_infos(&graph_state, &outputs),
        node: graph_state.nodes,
        name: entry.to_string(),
        initializer,
        input: inputs,
        output: outputs,
        ..Default::default()
    };
    Ok(ModelProto {
        ir_version: ir_version(opset),
        producer_name: "tessera".to_string(),
        producer_version: env!("CARGO_PKG_VERSION").to_string(),
        graph: Some(graph),
        opset_import: vec![OperatorSetIdProto { domain: String::new(), version: opset }],
        ..Default::default()
    })
}

/// The operands of the terminator ending `block` of the current frame.
/// Every name a node of `nodes` reads, those of nodes in their subgraphs included.
fn node_inputs(nodes: &[NodeProto]) -> HashSet<&str> {
    let mut read = HashSet::new();
    let mut stack: Vec<&NodeProto> = nodes.iter().collect();
    while let Some(node) = stack.pop() {
        read.extend(node.input.iter().map(String::as_str));
        for a in &node.attribute {
            for g in a.g.iter().chain(&a.graphs) {
                stack.extend(&g.node);
                read.extend(g.output.iter().map(|o| o.name.as_str()));
            }
        }
    }
    read
}

fn terminator_operands(ex: &Exporter, block: BlockId) -> Vec<ValueId> {
    let func = ex.frame().func;
    func.block(block)
        .ops
        .last()
        .map(|&op| func.op(op))
        .filter(|d| d.def.traits().contains(Traits::TERMINATOR))
        .map(|d| d.operands.clone())
        .unwrap_or_default()
}

/// Names the values `block` hands out (`values`) `names` (already
/// reserved) where a node of the block computes the value; returns the
/// pairs that need an `Identity` instead (arguments, parameters, values
/// from elsewhere, repeated values).
fn bind_outputs(ex: &mut Exporter, block: BlockId, values: &[ValueId], names: &[String]) -> Vec<(ValueId, String)> {
    let func = ex.frame().func;
    let mut seen = HashSet::new();
    let mut identities = Vec::new();
    for (&v, name) in values.iter().zip(names) {
        let here = match func.value(v).def {
            ValueDef::Result(op, _) => func.op(op).block == Some(block) && !same_op(func.op(op).def, &PARAM),
            ValueDef::Arg(..) => false,
        };
        if here && !ex.frame().names.contains_key(&v) && seen.insert(v) {
            ex.bind(v, name);
        } else {
            identities.push((v, name.clone()));
        }
    }
    identities
}

/// Adds `to = Identity(from)` to the innermost graph.
fn identity(ex: &mut Exporter, from: &str, to: &str, base: &str) {
    let name = ex.node_name(&format!("{base}/Identity"));
    ex.push_node(NodeProto {
        input: vec![from.to_string()],
        output: vec![to.to_string()],
        name,
        op_type: "Identity".to_string(),
        ..Default::default()
    });
}

/// Emits the ops of `block` of the current frame (compacted, covered and
/// dead ops as the frame's plan says); returns the terminator's operands.
fn emit_block(ex: &mut Exporter, block: BlockId) {
    let func = ex.frame().func;
    let plan = ex.frame().plan.clone();
    for &op in &func.block(block).ops {
        let data = func.op(op);
        if data.def.traits().contains(Traits::TERMINATOR) || !plan.emits(op) {
            continue;
        }
        let ok = match plan.compact(op) {
            Some(c) => {
                let mut cx = OpCx::new(ex, op);
                c.emit(&mut cx);
                true
            }
            None => emit_op(ex, op),
        };
        if ok && !same_op(data.def, &PARAM) {
            for &r in &data.results {
                let name = ex.name_of(r);
                ex.produced(&name, func.ty(r));
            }
        }
    }
}

/// Emits one op through its family's emitter; false (and a diagnostic) on failure.
fn emit_op(ex: &mut Exporter, op: OpId) -> bool {
    let data = ex.frame().func.op(op);
    let name = data.def.name();
    let result = match registry::emitter(name) {
        Some(emit) => emit(&mut OpCx::new(ex, op)),
        None => Err(format!("it has no ONNX equivalent at opset {}", ex.opset)),
    };
    match result {
        Ok(()) => true,
        Err(message) => {
            ex.diags.push(Diag::error(data.loc.clone(), format!("cannot export '{name}': {message}")));
            false
        }
    }
}

/// Emits `region` of the current frame as a subgraph called `name`: its
/// block's arguments are the inputs, the values it yields the outputs.
fn emit_region(ex: &mut Exporter, region: RegionId, name: &str) -> Result<GraphProto, String> {
    let func = ex.frame().func;
    let block = match func.region(region).blocks.as_slice() {
        [b] => *b,
        blocks => return Err(format!("a region with {} blocks cannot become an ONNX subgraph", blocks.len())),
    };
    ex.graphs.push(Graph::default());
    let mut input = Vec::new();
    for &a in &func.block(block).args {
        let n = ex.name_of(a);
        if let Some(t) = func.ty(a).as_tensor() {
            input.push(value_info(&n, t, ex.frame().own_symbols));
        }
    }
    let yields = terminator_operands(ex, block);
    let hints: Vec<String> = (0..yields.len()).map(|i| ex.fresh(&format!("{name}_out_{i}"))).collect();
    let identities = bind_outputs(ex, block, &yields, &hints);
    emit_block(ex, block);
    for (v, to) in &identities {
        let from = ex.name_of(*v);
        identity(ex, &from, to, name);
    }
    let symbols = ex.frame().own_symbols;
    let output: Vec<ValueInfoProto> = yields
        .iter()
        .zip(&hints)
        .filter_map(|(&v, n)| func.ty(v).as_tensor().map(|t| value_info(n, t, symbols)))
        .collect();
    let graph = ex.graphs.pop().unwrap_or_default();
    Ok(GraphProto {
        value_info: value_infos(&graph, &output),
        node: graph.nodes,
        name: name.to_string(),
        input,
        output,
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_ir::dialect::graph::reduce::CUMPROD;
    use tessera_ir::dialect::graph::shape::SHAPE_OF;
    use tessera_ir::{Attr, Attrs, Builder, DType, DenseAttr, Dim, Func, Module, Param, TensorType, Type};

    /// A module whose `@f` takes `x: tensor<N x 4 x f32>` and applies `body`.
    fn module(body: impl FnOnce(&mut Builder, ValueId) -> Vec<ValueId>) -> VerifiedModule {
        let mut m = Module::new();
        let w = DenseAttr::from_f64s(TensorType::of(&[4], DType::F32), &[1.0, 2.0, 3.0, 4.0]).expect("weight");
        m.params.push(Param { name: "w".into(), ty: w.ty().clone(), init: Some(w), loc: Loc::Unknown });
        let x_ty = Type::tensor(vec![Dim::sym("N"), Dim::Known(4)], DType::F32);
        let mut f = Func::new("f", &[x_ty], Vec::new());
        let x = f.args()[0];
        let symbols = m.symbols();
        let mut b = Builder::new(&mut f, &symbols);
        let outs = body(&mut b, x);
        b.ret(&outs).expect("return");
        f.results = outs.iter().map(|&v| f.ty(v).clone()).collect();
        m.funcs.push(f);
        VerifiedModule::new(m).expect("verifies")
    }

    #[test]
    fn parameters_inputs_and_outputs() {
        let m = module(|b, x| {
            let w = b.param("w").expect("param");
            vec![b.binary(&tessera_ir::dialect::graph::elementwise::MUL, x, w).expect("mul"), x]
        });
        let options = ExportOptions { input_names: vec!["x".into()], ..ExportOptions::default() };
        let model = export_module(&m, "f", &options).expect("exports");
        let g = model.graph.expect("graph");
        assert_eq!(g.initializer.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["w"]);
        assert_eq!(g.output.iter().map(|o| o.name.as_str()).collect::<Vec<_>>(), ["output_0", "output_1"]);
        // The argument returned as it is passes through an Identity.
        let ops: Vec<&str> = g.node.iter().map(|n| n.op_type.as_str()).collect();
        assert_eq!(ops, ["Mul", "Identity"]);
        assert!(format!("{:?}", g.input[0]).contains("DimParam(\"N\")"));
        assert_eq!((model.ir_version, model.opset_import[0].version), (8, 17));
    }

    #[test]
    fn run_time_dims_come_from_the_arguments() {
        let m = module(|b, x| {
            let flat = b.reshape(x, &[Dim::sym("N").mul(&Dim::Known(4))]).expect("reshape");
            let w = b.param("w").expect("param");
            let wide = b.broadcast_to(w, &[Dim::sym("N"), Dim::Known(4)]).expect("broadcast");
            vec![flat, b.op(&SHAPE_OF, &[wide], Attrs::new()).expect("shape")]
        });
        let g = export_module(&m, "f", &ExportOptions::default()).expect("exports").graph.expect("graph");
        let ops: Vec<&str> = g.node.iter().map(|n| n.op_type.as_str()).collect();
        // [N * 4] is a Reshape to [-1]; N for the Expand is read from the argument's shape.
        assert_eq!(ops, ["Constant", "Reshape", "Shape", "Constant", "Concat", "Expand", "Shape"], "{:#?}", g.node);
        let shape = &g.node[2];
        assert_eq!(shape.input, ["input_0"]);
        assert!(shape.attribute.iter().any(|a| a.name == "end" && a.i == 1));
    }

    #[test]
    fn calls_are_inlined() {
        let mut m =
            module(|b, x| vec![b.unary(&tessera_ir::dialect::graph::elementwise::NEG, x).expect("neg")]).into_inner();
        let x_ty = Type::tensor(vec![Dim::sym("B"), Dim::Known(4)], DType::F32);
        let mut caller = Func::new("main", &[x_ty], Vec::new());
        let x = caller.args()[0];
        let symbols = m.symbols();
        let mut b = Builder::new(&mut caller, &symbols);
        let op = b
            .create(
                &tessera_ir::dialect::graph::control::CALL,
                &[x],
                Attrs::from([("sym", Attr::SymbolRef("f".into()))]),
                Vec::new(),
            )
            .expect("call");
        let y = b.func.op(op).results[0];
        b.ret(&[y]).expect("return");
        caller.results = vec![caller.ty(y).clone()];
        m.funcs.push(caller);
        let m = VerifiedModule::new(m).expect("verifies");
        let g = export_module(&m, "main", &ExportOptions::default()).expect("exports").graph.expect("graph");
        let ops: Vec<(&str, &str)> = g.node.iter().map(|n| (n.op_type.as_str(), n.output[0].as_str())).collect();
        assert_eq!(ops, [("Neg", "output_0")]);
    }

    #[test]
    fn ops_without_an_onnx_equivalent_are_named_with_the_opset() {
        let m = module(|b, x| vec![b.op(&CUMPROD, &[x], Attrs::from([("axis", Attr::Int(1))])).expect("cumprod")]);
        let err = export_module(&m, "f", &ExportOptions::default()).expect_err("no CumProd up to opset 21");
        assert!(
            err.0[0].message.contains("'tg.cumprod'") && err.0[0].message.contains("opset 17"),
            "{}",
            err.0[0].message
        );
        let err =
            export_module(&m, "f", &ExportOptions { opset: 12, ..ExportOptions::default() }).expect_err("opset 12");
        assert!(err.0[0].message.contains("opset 12 is not supported"), "{}", err.0[0].message);
        let err = export_module(&m, "g", &ExportOptions::default()).expect_err("no @g");
        assert!(err.0[0].message.contains("@g"), "{}", err.0[0].message);
    }
}
