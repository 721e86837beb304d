//! The importer's state (the function being built, ONNX names in scope,
//! known values) and [`NodeCx`], the view one op converter works through.

use super::known::{fold, Known};
use crate::onnx::proto::{AttributeProto, GraphProto, NodeProto};
use crate::onnx::tensor::tensor_to_dense;
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use tessera_ir::dialect::graph::value;
use tessera_ir::module::Symbols;
use tessera_ir::tensor::Tensor;
use tessera_ir::{Attr, Attrs, Builder, DType, DenseAttr, Dim, Func, InsertPoint, Loc, OpRef, RegionId, SymExpr, TensorType, Type, ValueId};

/// Builds one function from an ONNX graph (and its subgraphs, as regions).
pub struct Importer {
    /// The function under construction.
    pub func: Func,
    /// The module's parameters, for `tg.param` inference.
    pub symbols: Symbols,
    /// ONNX value names visible at each nesting level (graph, subgraph, ...).
    pub scopes: Vec<HashMap<String, ValueId>>,
    /// Values known at import time.
    pub known: HashMap<ValueId, Known>,
    /// Where new ops go.
    pub at: InsertPoint,
    /// The default-domain opset version.
    pub opset: i64,
    /// Whether ops with a training mode are marked for it
    /// ([`super::import_model_for_training`]).
    pub training: bool,
    /// ONNX names of the graph inputs, by argument value.
    pub arg_names: HashMap<ValueId, String>,
    /// Graph inputs a converter needed as constants (shape-determining
    /// inputs such as axes, pads or a target shape): the caller may
    /// specialise on their values and import again.
    pub wanted: RefCell<BTreeSet<String>>,
    /// Graph inputs whose values would make a result's shape static (a
    /// Loop's trip count): the caller specialises on their values when it
    /// has them and imports again, even after an import that succeeded.
    pub shaping: RefCell<BTreeSet<String>>,
}

impl Importer {
    /// Records that `v` had to be a constant, when it is a graph input.
    fn note_wanted(&self, v: ValueId) {
        if let Some(name) = self.arg_names.get(&v) {
            self.wanted.borrow_mut().insert(name.clone());
        }
    }

    /// The value an ONNX name refers to, searching inner scopes first.
    pub fn lookup(&self, name: &str) -> Option<ValueId> {
        self.scopes.iter().rev().find_map(|s| s.get(name).copied())
    }

    /// Binds an ONNX name in the innermost scope.
    pub fn bind(&mut self, name: &str, v: ValueId) {
        if let Some(scope) = self.scopes.last_mut() {
            scope.insert(name.to_string(), v);
        }
        if self.func.value(v).name.is_none() {
            self.func.value_mut(v).name = Some(tessera_ir::func::sanitize_name(name));
        }
    }
}

/// Imports a subgraph into a region whose entry block takes the given types.
pub type SubgraphImporter<'a> = dyn Fn(&mut Importer, &GraphProto, &[Type]) -> Result<RegionId, String> + 'a;

/// A converter's view of one ONNX node: its inputs, attributes and a
/// builder that records known values as it goes.
pub struct NodeCx<'a> {
    /// The node being converted.
    pub node: &'a NodeProto,
    /// The default-domain opset version the model imports.
    pub opset: i64,
    /// The importer's state.
    pub imp: &'a mut Importer,
    /// Imports a subgraph into a region (provided by the driver).
    pub subgraph: &'a SubgraphImporter<'a>,
}

impl NodeCx<'_> {
    /// The node's location: its name and op type.
    pub fn loc(&self) -> Loc {
        Loc::node(&self.node.name, &self.node.op_type)
    }

    /// Number of inputs given (trailing omitted ones not counted).
    pub fn num_inputs(&self) -> usize {
        self.node.input.iter().rposition(|n| !n.is_empty()).map_or(0, |i| i + 1)
    }

    /// Input `i`, which must be present.
    pub fn input(&self, i: usize) -> Result<ValueId, String> {
        match self.node.input.get(i).map(String::as_str) {
            None | Some("") => Err(format!("input #{i} is required")),
            Some(name) => self.imp.lookup(name).ok_or_else(|| format!("input #{i} '{name}' is not defined before this node")),
        }
    }

    /// Input `i` when present (absent or named "" otherwise).
    pub fn opt_input(&self, i: usize) -> Result<Option<ValueId>, String> {
        match self.node.input.get(i).map(String::as_str) {
            None | Some("") => Ok(None),
            Some(_) => self.input(i).map(Some),
        }
    }

    /// Every present input, in order.
    pub fn inputs(&self) -> Result<Vec<ValueId>, String> {
        (0..self.num_inputs()).map(|i| self.input(i)).collect()
    }

    /// The tensor type of a value.
    pub fn ty(&self, v: ValueId) -> Result<TensorType, String> {
        self.imp.func.ty(v).as_tensor().cloned().ok_or_else(|| format!("value {v:?} is not a tensor"))
    }

    /// The rank of a value.
    pub fn rank(&self, v: ValueId) -> Result<usize, String> {
        Ok(self.ty(v)?.rank())
    }

    /// What is known about a value at import time.
    pub fn known(&self, v: ValueId) -> Option<&Known> {
        self.imp.known.get(&v)
    }

    /// Records what is known about a value.
    pub fn set_known(&mut self, v: ValueId, k: Known) {
        self.imp.known.insert(v, k);
    }

    /// Input `i` as known integers (possibly symbolic), with whether it is a scalar.
    pub fn known_ints(&self, i: usize) -> Option<(Vec<SymExpr>, bool)> {
        let v = self.input(i).ok()?;
        let ints = self.known(v).and_then(Known::ints);
        if ints.is_none() {
            self.imp.note_wanted(v);
        }
        ints
    }

    /// Input `i` as constant integers; an error naming the input otherwise.
    pub fn const_ints(&self, i: usize) -> Result<Vec<i64>, String> {
        let v = self.input(i)?;
        match self.known(v) {
            Some(Known::Tensor(t)) if !t.dtype().is_float() => Ok(t.to_i64s()),
            _ => {
                self.imp.note_wanted(v);
                Err(format!("input #{i} ('{}') must be a constant integer tensor", self.node.input[i]))
            }
        }
    }

    /// Input `i` as a constant tensor; an error naming the input otherwise.
    pub fn const_tensor(&self, i: usize) -> Result<Tensor, String> {
        let v = self.input(i)?;
        match self.known(v) {
            Some(Known::Tensor(t)) => Ok(t.clone()),
            _ => {
                self.imp.note_wanted(v);
                Err(format!("input #{i} ('{}') must be a constant", self.node.input[i]))
            }
        }
    }

    /// The attribute called `name`.
    pub fn attr(&self, name: &str) -> Option<&AttributeProto> {
        self.node.attribute.iter().find(|a| a.name == name)
    }

    /// An int attribute, or `default`.
    pub fn attr_int(&self, name: &str, default: i64) -> i64 {
        self.attr(name).map_or(default, |a| a.i)
    }

    /// A float attribute, or `default`.
    pub fn attr_float(&self, name: &str, default: f32) -> f32 {
        self.attr(name).map_or(default, |a| a.f)
    }

    /// An ints attribute, if present.
    pub fn attr_ints(&self, name: &str) -> Option<Vec<i64>> {
        self.attr(name).map(|a| a.ints.clone())
    }

    /// A floats attribute, if present.
    pub fn attr_floats(&self, name: &str) -> Option<Vec<f32>> {
        self.attr(name).map(|a| a.floats.clone())
    }

    /// A string attribute, or `default`.
    pub fn attr_str(&self, name: &str, default: &str) -> String {
        self.attr(name).map_or_else(|| default.to_string(), |a| String::from_utf8_lossy(&a.s).into_owned())
    }

    /// A strings attribute, if present.
    pub fn attr_strs(&self, name: &str) -> Option<Vec<String>> {
        self.attr(name).map(|a| a.strings.iter().map(|s| String::from_utf8_lossy(s).into_owned()).collect())
    }

    /// A tensor attribute as a dense constant, if present.
    pub fn attr_tensor(&self, name: &str) -> Result<Option<DenseAttr>, String> {
        match self.attr(name).and_then(|a| a.t.as_ref()) {
            Some(t) => tensor_to_dense(t).map(Some).map_err(|d| d.message),
            None => Ok(None),
        }
    }

    /// A graph attribute, if present.
    pub fn attr_graph(&self, name: &str) -> Option<&GraphProto> {
        self.attr(name).and_then(|a| a.g.as_ref())
    }

    /// Creates an op and returns its results; folds it when every operand is
    /// a known tensor, so later converters see the result as a constant.
    pub fn ops(&mut self, def: OpRef, operands: &[ValueId], attrs: Attrs) -> Result<Vec<ValueId>, String> {
        self.ops_with_regions(def, operands, attrs, Vec::new())
    }

    /// Like [`NodeCx::ops`], for ops with regions.
    pub fn ops_with_regions(
        &mut self,
        def: OpRef,
        operands: &[ValueId],
        attrs: Attrs,
        regions: Vec<RegionId>,
    ) -> Result<Vec<ValueId>, String> {
        let loc = self.loc();
        let mut b = Builder::new(&mut self.imp.func, &self.imp.symbols);
        b.set_insert_point(self.imp.at);
        b.set_loc(loc);
        let op = b.create(def, operands, attrs.clone(), regions).map_err(|d| d.message)?;
        let results = self.imp.func.op(op).results.clone();
        let inputs: Option<Vec<Tensor>> = operands
            .iter()
            .map(|v| match self.imp.known.get(v) {
                Some(Known::Tensor(t)) => Some(t.clone()),
                _ => None,
            })
            .collect();
        if let Some(inputs) = inputs {
            let types: Vec<Type> = results.iter().map(|&r| self.imp.func.ty(r).clone()).collect();
            if let Some(values) = fold(def, &inputs, &attrs, &types) {
                for (&r, t) in results.iter().zip(values) {
                    self.imp.known.insert(r, Known::Tensor(t));
                }
            }
        }
        Ok(results)
    }

    /// Creates a single-result op (folding as [`NodeCx::ops`] does).
    pub fn op(&mut self, def: OpRef, operands: &[ValueId], attrs: Attrs) -> Result<ValueId, String> {
        let results = self.ops(def, operands, attrs)?;
        results.first().copied().ok_or_else(|| format!("'{}' has no result", def.name()))
    }

    /// A `tg.constant` holding `t`, remembered as known.
    pub fn constant(&mut self, t: Tensor) -> Result<ValueId, String> {
        let dense = t.to_dense();
        let v = self.op(&value::CONSTANT, &[], Attrs::from([("value", Attr::Dense(dense))]))?;
        self.imp.known.insert(v, Known::Tensor(t));
        Ok(v)
    }

    /// A rank-0 constant of `dtype`.
    pub fn scalar(&mut self, dtype: DType, v: f64) -> Result<ValueId, String> {
        self.constant(Tensor::scalar(dtype, v))
    }

    /// A 1-D i64 constant.
    pub fn ints_constant(&mut self, values: &[i64]) -> Result<ValueId, String> {
        self.constant(Tensor::from_i64s(values))
    }

    /// Imports a subgraph attribute as a region whose entry block takes
    /// arguments of `arg_types` (bound to the subgraph's inputs) and yields
    /// the subgraph's outputs.
    pub fn region(&mut self, graph: &GraphProto, arg_types: &[Type]) -> Result<RegionId, String> {
        let saved = self.imp.at;
        let result = (self.subgraph)(self.imp, graph, arg_types);
        self.imp.at = saved;
        result
    }

    /// The dims of a value's type (for shape arithmetic).
    pub fn dims(&self, v: ValueId) -> Result<Vec<Dim>, String> {
        Ok(self.ty(v)?.dims)
    }
}
