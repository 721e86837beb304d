//! The exporter's state and [`OpCx`], the view one op emitter works
//! through: ONNX names for IR values (unique across the model and its
//! subgraphs), node names derived from op locations, the graphs under
//! construction (the main graph and the `If`/`Loop` bodies being built),
//! the frames of the functions being emitted (the entry function and every
//! callee a `tg.call` inlines), helper constants, and run-time dims.

use super::compact::Plan;
use crate::onnx::proto::attribute_proto::AttributeType;
use crate::onnx::proto::tensor_shape_proto::{dimension, Dimension};
use crate::onnx::proto::{
    type_proto, AttributeProto, GraphProto, NodeProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
};
use crate::onnx::tensor::{dense_to_tensor, dtype_to_onnx};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use tessera_ir::dialect::graph::value::CONSTANT;
use tessera_ir::infer::{InferCx, NoSymbols};
use tessera_ir::op::same_op;
use tessera_ir::{
    DType, DenseAttr, Diag, Dim, Func, Loc, Module, OpData, OpId, SymExpr, Symbol, TensorType, Type, ValueId,
};

/// An INT attribute.
pub fn attr_int(name: &str, value: i64) -> AttributeProto {
    AttributeProto { name: name.to_string(), i: value, r#type: AttributeType::Int as i32, ..Default::default() }
}

/// An INTS attribute.
pub fn attr_ints(name: &str, values: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.to_string(),
        ints: values.to_vec(),
        r#type: AttributeType::Ints as i32,
        ..Default::default()
    }
}

/// A FLOAT attribute.
pub fn attr_float(name: &str, value: f32) -> AttributeProto {
    AttributeProto { name: name.to_string(), f: value, r#type: AttributeType::Float as i32, ..Default::default() }
}

/// A STRING attribute.
pub fn attr_str(name: &str, value: &str) -> AttributeProto {
    AttributeProto {
        name: name.to_string(),
        s: value.as_bytes().to_vec(),
        r#type: AttributeType::String as i32,
        ..Default::default()
    }
}

/// A TENSOR attribute.
pub fn attr_tensor(name: &str, value: TensorProto) -> AttributeProto {
    AttributeProto {
        name: name.to_string(),
        t: Some(value),
        r#type: AttributeType::Tensor as i32,
        ..Default::default()
    }
}

/// A GRAPH attribute.
pub fn attr_graph(name: &str, value: GraphProto) -> AttributeProto {
    AttributeProto { name: name.to_string(), g: Some(value), r#type: AttributeType::Graph as i32, ..Default::default() }
}

/// The ONNX type of an IR tensor type: static dims as values, plain
/// symbols as `dim_param` (when `symbols` allows), anything else (a
/// polynomial such as `4*N`, `?`) as an unnamed dim.
pub fn type_proto(ty: &TensorType, symbols: bool) -> TypeProto {
    let dim = ty
        .dims
        .iter()
        .map(|d| {
            let value = match d {
                Dim::Known(n) => Some(dimension::Value::DimValue(*n as i64)),
                Dim::Sym(_) if symbols => d.as_symbol().map(|s| dimension::Value::DimParam(s.as_str().to_string())),
                _ => None,
            };
            Dimension { value, denotation: String::new() }
        })
        .collect();
    TypeProto {
        value: Some(type_proto::Value::TensorType(type_proto::Tensor {
            elem_type: dtype_to_onnx(ty.dtype) as i32,
            shape: Some(TensorShapeProto { dim }),
        })),
        denotation: String::new(),
    }
}

/// A value info naming `name` with type `ty`.
pub fn value_info(name: &str, ty: &TensorType, symbols: bool) -> ValueInfoProto {
    ValueInfoProto { name: name.to_string(), r#type: Some(type_proto(ty, symbols)), ..Default::default() }
}

/// A polynomial as its terms (the symbols multiplied, the coefficient),
/// when each symbol occurs at most once per term; found by evaluating at
/// the corners of the unit cube and checked by rebuilding the polynomial.
pub fn terms(e: &SymExpr) -> Option<Vec<(Vec<Symbol>, i64)>> {
    let mut syms: Vec<Symbol> = e.symbols().cloned().collect();
    syms.sort();
    syms.dedup();
    if syms.len() > 8 {
        return None;
    }
    let value_at = |mask: usize| {
        e.substitute(&|s| syms.iter().position(|t| t == s).map(|i| ((mask >> i) & 1) as i64)).as_constant()
    };
    let mut out = Vec::new();
    for mask in 0..1usize << syms.len() {
        // Möbius inversion over the subsets of `mask`.
        let mut coeff = 0i64;
        let mut sub = mask;
        loop {
            let sign = if (mask.count_ones() - sub.count_ones()) % 2 == 0 { 1 } else { -1 };
            coeff = coeff.checked_add(sign * value_at(sub)?)?;
            if sub == 0 {
                break;
            }
            sub = (sub - 1) & mask;
        }
        if coeff != 0 {
            let monomial: Vec<Symbol> =
                (0..syms.len()).filter(|i| mask >> i & 1 == 1).map(|i| syms[i].clone()).collect();
            out.push((monomial, coeff));
        }
    }
    let rebuilt = out.iter().fold(SymExpr::constant(0), |acc, (m, c)| {
        let term = m.iter().fold(SymExpr::constant(*c), |t, s| t.mul(&SymExpr::symbol(s.clone())));
        acc.add(&term)
    });
    (rebuilt == *e).then_some(out)
}

/// The node name a location gives: a model node's name, a file position,
/// or the names of fused locations joined by `+`; `None` when unknown.
pub fn loc_name(loc: &Loc) -> Option<String> {
    match loc {
        Loc::Unknown => None,
        Loc::Node { name, op_type } => Some(if name.is_empty() { op_type.clone() } else { name.clone() }),
        Loc::File { file, line, col } => Some(format!("{file}:{line}:{col}")),
        Loc::Fused(locs) => {
            let mut parts: Vec<String> = Vec::new();
            for l in locs {
                if let Some(n) = loc_name(l) {
                    if !parts.contains(&n) {
                        parts.push(n);
                    }
                }
            }
            (!parts.is_empty()).then(|| parts.join("+"))
        }
    }
}

/// One entry of a shape tensor built at run time.
#[derive(Clone, Debug, PartialEq)]
pub enum ShapePart {
    /// A literal entry (ONNX's `0` and `-1` included).
    Const(i64),
    /// A size computed from the arguments' shapes.
    Dim(Dim),
}

/// One graph under construction: the main graph or a subgraph.
#[derive(Default)]
pub struct Graph {
    /// Its nodes, in order.
    pub nodes: Vec<NodeProto>,
    /// IR values computed in this graph, with their types, for value infos.
    pub produced: Vec<(String, TensorType, bool)>,
    /// Cached `i64` vector constants of this graph.
    ints: HashMap<Vec<i64>, String>,
    /// Cached run-time symbol values (`[1]` tensors), by frame id and symbol.
    symbols: HashMap<(usize, Symbol), String>,
}

/// A function being emitted: the entry function, or a callee inlined at a `tg.call`.
pub struct Frame<'m> {
    /// The function.
    pub func: &'m Func,
    /// The ONNX name of each IR value emitted so far.
    pub names: HashMap<ValueId, String>,
    /// Which ops are compacted, covered or dead.
    pub plan: Rc<Plan>,
    /// Whether the function's symbols are the model's (false in inlined
    /// callees, whose symbols are bound at the call).
    pub own_symbols: bool,
    /// A number no other frame of the export has.
    pub id: usize,
}

/// Everything the export of one module accumulates.
pub struct Exporter<'m> {
    /// The module being exported.
    pub module: &'m Module,
    /// The default-domain opset of the export.
    pub opset: i64,
    /// Every value name used so far (names are unique across subgraphs).
    used: HashSet<String>,
    /// How often each node name base was used.
    node_names: HashMap<String, usize>,
    /// The graphs under construction, innermost last.
    pub graphs: Vec<Graph>,
    /// The functions under emission, innermost last.
    pub frames: Vec<Frame<'m>>,
    /// Compaction plans by function name.
    plans: HashMap<String, Rc<Plan>>,
    /// The parameters the emitted graphs read.
    pub params: HashSet<String>,
    /// How many frames were opened so far.
    frames_opened: usize,
    /// Errors found so far.
    pub diags: Vec<Diag>,
}

impl<'m> Exporter<'m> {
    /// An exporter of `module` at `opset`; parameter names are reserved.
    pub fn new(module: &'m Module, opset: i64) -> Exporter<'m> {
        let used = module.params.iter().map(|p| p.name.clone()).collect();
        Exporter {
            module,
            opset,
            used,
            node_names: HashMap::new(),
            graphs: Vec::new(),
            frames: Vec::new(),
            plans: HashMap::new(),
            params: HashSet::new(),
            frames_opened: 0,
            diags: Vec::new(),
        }
    }

    /// The compaction plan of `func` (computed once).
    pub fn plan(&mut self, func: &Func) -> Rc<Plan> {
        let opset = self.opset;
        self.plans.entry(func.name.clone()).or_insert_with(|| Rc::new(Plan::new(func, opset))).clone()
    }

    /// Reserves `name` as given; false when it is already taken.
    pub fn reserve(&mut self, name: &str) -> bool {
        self.used.insert(name.to_string())
    }

    /// A fresh value name built from `hint`.
    pub fn fresh(&mut self, hint: &str) -> String {
        let base = if hint.is_empty() { "t" } else { hint };
        if self.used.insert(base.to_string()) {
            return base.to_string();
        }
        let name = (1..).map(|k| format!("{base}_{k}")).find(|n| !self.used.contains(n)).unwrap_or_default();
        self.used.insert(name.clone());
        name
    }

    /// A unique node name built from `base`.
    pub fn node_name(&mut self, base: &str) -> String {
        let count = self.node_names.entry(base.to_string()).or_insert(0);
        *count += 1;
        if *count == 1 {
            base.to_string()
        } else {
            format!("{base}_{}", *count - 1)
        }
    }

    /// Starts emitting `func` with its arguments named `args`; `own_symbols`
    /// as in [`Frame`].
    pub fn open_frame(&mut self, func: &'m Func, args: &[String], own_symbols: bool) {
        let plan = self.plan(func);
        self.frames_opened += 1;
        let names = func.args().iter().copied().zip(args.iter().cloned()).collect();
        self.frames.push(Frame { func, names, plan, own_symbols, id: self.frames_opened });
    }

    /// The current frame.
    pub fn frame(&self) -> &Frame<'m> {
        self.frames.last().expect("a frame is being emitted")
    }

    /// The ONNX name of IR value `v` of the current frame, assigned on first use.
    pub fn name_of(&mut self, v: ValueId) -> String {
        if let Some(n) = self.frame().names.get(&v) {
            return n.clone();
        }
        let hint = self.frame().func.value(v).name.clone().unwrap_or_default();
        let name = self.fresh(&hint);
        self.bind(v, &name);
        name
    }

    /// Names IR value `v` of the current frame `name`.
    pub fn bind(&mut self, v: ValueId, name: &str) {
        if let Some(f) = self.frames.last_mut() {
            f.names.insert(v, name.to_string());
        }
    }

    /// Appends a node to the innermost graph.
    pub fn push_node(&mut self, node: NodeProto) {
        if let Some(g) = self.graphs.last_mut() {
            g.nodes.push(node);
        }
    }

    /// Records that `name` (IR type `ty`) is computed in the innermost graph.
    pub fn produced(&mut self, name: &str, ty: &Type) {
        let symbols = self.frames.last().is_some_and(|f| f.own_symbols);
        if let (Some(g), Some(t)) = (self.graphs.last_mut(), ty.as_tensor()) {
            g.produced.push((name.to_string(), t.clone(), symbols));
        }
    }
}

/// What an emitter sees of one op: its operands and results as ONNX names,
/// its attributes, and ways to add nodes, constants and run-time shapes.
pub struct OpCx<'a, 'm> {
    /// The exporter.
    pub ex: &'a mut Exporter<'m>,
    /// The function the op belongs to.
    pub func: &'m Func,
    /// The op.
    pub id: OpId,
    /// The op's data.
    pub op: &'m OpData,
    /// Operand types (tensors), for the attribute reader.
    operand_types: Vec<Type>,
    /// The base of the names of the nodes this op becomes.
    base: String,
}

impl<'a, 'm> OpCx<'a, 'm> {
    /// A view of op `id` of the current frame's function.
    pub fn new(ex: &'a mut Exporter<'m>, id: OpId) -> OpCx<'a, 'm> {
        let func = ex.frame().func;
        let op = func.op(id);
        let operand_types = op.operands.iter().map(|&v| func.ty(v).clone()).collect();
        let short = op.def.name().trim_start_matches("tg.");
        let base = loc_name(&op.loc).unwrap_or_else(|| short.to_string());
        OpCx { ex, func, id, op, operand_types, base }
    }

    /// Names the nodes this op becomes after `loc` instead of the op's own location.
    pub fn set_loc(&mut self, loc: &Loc) {
        if let Some(base) = loc_name(loc) {
            self.base = base;
        }
    }

    /// The default-domain opset of the export.
    pub fn opset(&self) -> i64 {
        self.ex.opset
    }

    /// An error unless the export's opset is at least `min`, naming the op
    /// and the reason (`what` needs opset `min`).
    pub fn require_opset(&self, min: i64, what: &str) -> Result<(), String> {
        if self.ex.opset < min {
            return Err(format!(
                "{what} needs opset {min} or later; it has no ONNX equivalent at opset {}",
                self.ex.opset
            ));
        }
        Ok(())
    }

    /// The op's attributes, read through the IR's checked accessors.
    pub fn attrs(&self) -> InferCx<'_> {
        InferCx { operands: &self.operand_types, attrs: &self.op.attrs, regions: &[], symbols: &NoSymbols }
    }

    /// The ONNX name of operand `i`.
    pub fn input(&mut self, i: usize) -> String {
        let v = self.op.operands[i];
        self.ex.name_of(v)
    }

    /// The type of operand `i`.
    pub fn input_ty(&self, i: usize) -> Result<TensorType, String> {
        self.operand_types
            .get(i)
            .and_then(Type::as_tensor)
            .cloned()
            .ok_or_else(|| format!("operand #{i} is not a tensor"))
    }

    /// The ONNX name of result `i`.
    pub fn out(&mut self, i: usize) -> String {
        let v = self.op.results[i];
        self.ex.name_of(v)
    }

    /// The type of the op's first result.
    pub fn out_type(&self) -> Result<TensorType, String> {
        let r = self.op.results.first().ok_or("the op has no result")?;
        self.func.ty(*r).as_tensor().cloned().ok_or_else(|| "the result is not a tensor".to_string())
    }

    /// A fresh name for an intermediate value.
    pub fn temp(&mut self) -> String {
        let hint = format!("{}_tmp", self.op.def.name().trim_start_matches("tg."));
        self.ex.fresh(&hint)
    }

    /// Adds a node of `op_type` reading `inputs` (`""` for an omitted
    /// optional input) and writing `outputs`.
    pub fn node(&mut self, op_type: &str, inputs: &[&str], outputs: &[&str], attrs: Vec<AttributeProto>) {
        // A helper constant of another op is named after that op.
        let helper = op_type == "Constant" && !same_op(self.op.def, &CONSTANT);
        let base = if helper { format!("{}/Constant", self.base) } else { self.base.clone() };
        let name = self.ex.node_name(&base);
        self.ex.push_node(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: outputs.iter().map(|s| s.to_string()).collect(),
            name,
            op_type: op_type.to_string(),
            attribute: attrs,
            ..Default::default()
        });
    }

    /// Adds a one-output node writing a fresh intermediate; returns its name.
    pub fn node1(&mut self, op_type: &str, inputs: &[&str], attrs: Vec<AttributeProto>) -> String {
        let out = self.temp();
        self.node(op_type, inputs, &[&out], attrs);
        out
    }

    /// A `Constant` node holding `dense`, writing `out`.
    pub fn constant_to(&mut self, dense: &DenseAttr, out: &str) {
        self.node("Constant", &[], &[out], vec![attr_tensor("value", dense_to_tensor("", dense))]);
    }

    /// A `Constant` node holding `dense`; returns its output.
    pub fn constant(&mut self, dense: &DenseAttr) -> String {
        let out = self.ex.fresh("const");
        self.constant_to(dense, &out);
        out
    }

    /// A rank-0 constant of `dtype` holding `v`.
    pub fn scalar(&mut self, dtype: DType, v: f64) -> Result<String, String> {
        let dense = DenseAttr::from_f64s(TensorType::scalar(dtype), &[v])?;
        Ok(self.constant(&dense))
    }

    /// A 1-D `i64` constant (shared within a graph).
    pub fn ints(&mut self, values: &[i64]) -> String {
        if let Some(name) = self.ex.graphs.iter().rev().find_map(|g| g.ints.get(values)) {
            return name.clone();
        }
        let mut bytes = Vec::with_capacity(values.len() * 8);
        for v in values {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        let ty = TensorType::of(&[values.len() as u64], DType::I64);
        let name = match DenseAttr::from_bytes(ty, bytes.into()) {
            Ok(dense) => self.constant(&dense),
            Err(_) => return String::new(),
        };
        if let Some(g) = self.ex.graphs.last_mut() {
            g.ints.insert(values.to_vec(), name.clone());
        }
        name
    }

    /// A `[1]` `i64` tensor holding the run-time value of `symbol`, read
    /// from the shape of an argument of the current frame's function.
    fn symbol_value(&mut self, symbol: &Symbol) -> Result<String, String> {
        let key = (self.ex.frame().id, symbol.clone());
        if let Some(name) = self.ex.graphs.iter().rev().find_map(|g| g.symbols.get(&key)) {
            return Ok(name.clone());
        }
        let func = self.ex.frame().func;
        let wanted = Dim::Sym(SymExpr::symbol(symbol.clone()));
        let source = func.args().iter().find_map(|&a| {
            let t = func.ty(a).as_tensor()?;
            t.dims.iter().position(|d| *d == wanted).map(|axis| (a, axis))
        });
        let (arg, axis) = source.ok_or_else(|| {
            format!("the size {symbol} is needed at run time, but no argument of @{} has it as a dim", func.name)
        })?;
        let arg_name = self.ex.name_of(arg);
        let axis = axis as i64;
        let value = if self.opset() >= 15 {
            let out = self.temp();
            self.node("Shape", &[&arg_name], &[&out], vec![attr_int("start", axis), attr_int("end", axis + 1)]);
            out
        } else {
            let shape = self.node1("Shape", &[&arg_name], vec![]);
            let index = self.ints(&[axis]);
            self.node1("Gather", &[&shape, &index], vec![attr_int("axis", 0)])
        };
        if let Some(g) = self.ex.graphs.last_mut() {
            g.symbols.insert(key, value.clone());
        }
        Ok(value)
    }

    /// A `[1]` `i64` tensor holding the run-time size `dim`.
    pub fn dim_value(&mut self, dim: &Dim) -> Result<String, String> {
        match dim {
            Dim::Known(n) => Ok(self.ints(&[*n as i64])),
            Dim::Unknown => Err("a dim of unknown size (?) is needed at run time".to_string()),
            Dim::Sym(e) => {
                let parts = terms(e).ok_or_else(|| format!("the size {dim} cannot be computed at run time"))?;
                let mut sum: Option<String> = None;
                for (monomial, coeff) in parts {
                    let mut product: Option<String> = None;
                    for s in &monomial {
                        let v = self.symbol_value(s)?;
                        product = Some(match product {
                            None => v,
                            Some(p) => self.node1("Mul", &[&p, &v], vec![]),
                        });
                    }
                    let term = match product {
                        None => self.ints(&[coeff]),
                        Some(p) if coeff == 1 => p,
                        Some(p) => {
                            let c = self.ints(&[coeff]);
                            self.node1("Mul", &[&p, &c], vec![])
                        }
                    };
                    sum = Some(match sum {
                        None => term,
                        Some(s) => self.node1("Add", &[&s, &term], vec![]),
                    });
                }
                Ok(sum.unwrap_or_else(|| self.ints(&[0])))
            }
        }
    }

    /// A 1-D `i64` tensor holding the run-time shape `dims` (a constant when static).
    pub fn shape_value(&mut self, dims: &[Dim]) -> Result<String, String> {
        let parts: Vec<ShapePart> = dims
            .iter()
            .map(|d| match d.known() {
                Some(n) => ShapePart::Const(n as i64),
                None => ShapePart::Dim(d.clone()),
            })
            .collect();
        self.shape_parts(&parts)
    }

    /// A 1-D `i64` tensor of `parts` (a constant when every part is one).
    pub fn shape_parts(&mut self, parts: &[ShapePart]) -> Result<String, String> {
        let mut pieces = Vec::new();
        let mut run: Vec<i64> = Vec::new();
        for p in parts {
            match p {
                ShapePart::Const(n) => run.push(*n),
                ShapePart::Dim(d) => {
                    if !run.is_empty() {
                        pieces.push(self.ints(&run));
                        run.clear();
                    }
                    pieces.push(self.dim_value(d)?);
                }
            }
        }
        if !run.is_empty() || pieces.is_empty() {
            pieces.push(self.ints(&run));
        }
        if let [one] = pieces.as_slice() {
            return Ok(one.clone());
        }
        let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
        Ok(self.node1("Concat", &refs, vec![attr_int("axis", 0)]))
    }

    /// A rank-0 `i64` tensor holding the run-time size `dim`.
    pub fn dim_scalar(&mut self, dim: &Dim) -> Result<String, String> {
        if let Some(n) = dim.known() {
            return self.scalar(DType::I64, n as f64);
        }
        let v = self.dim_value(dim)?;
        let empty = self.ints(&[]);
        Ok(self.node1("Reshape", &[&v, &empty], vec![]))
    }

    /// Emits region `index` of the op as a subgraph whose inputs are the
    /// region's block arguments.
    pub fn subgraph(&mut self, index: usize, name: &str) -> Result<GraphProto, String> {
        let region = *self.op.regions.get(index).ok_or_else(|| format!("the op has no region #{index}"))?;
        super::emit_region(self.ex, region, name)
    }
}

/// The value infos of a finished graph: every IR value it computes that
/// is not one of `outputs`.
pub fn value_infos(graph: &Graph, outputs: &[ValueInfoProto]) -> Vec<ValueInfoProto> {
    let out_names: HashSet<&str> = outputs.iter().map(|o| o.name.as_str()).collect();
    graph
        .produced
        .iter()
        .filter(|(n, _, _)| !out_names.contains(n.as_str()))
        .map(|(n, t, symbols)| value_info(n, t, *symbols))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polynomial_terms_are_recovered() {
        let n = Dim::sym("N");
        let m = Dim::sym("M");
        let e = n.mul(&m).mul(&Dim::Known(3)).add(&n.mul(&Dim::Known(4))).add_const(-1);
        let Dim::Sym(expr) = e else { panic!("symbolic") };
        let mut t = terms(&expr).expect("multilinear");
        t.sort();
        let names = |v: &[Symbol]| v.iter().map(|s| s.as_str().to_string()).collect::<Vec<_>>();
        let shown: Vec<(Vec<String>, i64)> = t.iter().map(|(m, c)| (names(m), *c)).collect();
        assert!(shown.contains(&(vec![], -1)), "{shown:?}");
        assert!(shown.contains(&(vec!["N".to_string()], 4)), "{shown:?}");
        assert!(shown.contains(&(vec!["M".to_string(), "N".to_string()], 3)), "{shown:?}");
        let Dim::Sym(square) = n.mul(&n) else { panic!("symbolic") };
        assert!(terms(&square).is_none());
    }

    #[test]
    fn location_names() {
        assert_eq!(loc_name(&Loc::node("/fc1/Gemm", "Gemm")).as_deref(), Some("/fc1/Gemm"));
        let fused = Loc::Fused(vec![Loc::node("/a", "Exp"), Loc::node("/b", "Div"), Loc::node("/a", "Exp")]);
        assert_eq!(loc_name(&fused).as_deref(), Some("/a+/b"));
        assert_eq!(loc_name(&Loc::Unknown), None);
    }
}
