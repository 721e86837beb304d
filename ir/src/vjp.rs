//! What an op's gradient hook ([`crate::op::OpDef::vjp`]) receives: the
//! forward op's operands, results and attributes, the cotangents flowing
//! back into its results, which operands want a gradient, and a builder
//! placed where the backward ops go. The reverse-mode driver that calls the
//! hooks lives in `tessera-passes` (`autodiff`); the graph dialect's rules
//! live beside its ops (`dialect::graph::vjp`).

use crate::attr::Attrs;
use crate::builder::Builder;
use crate::diag::Diag;
use crate::dim::Dim;
use crate::dtype::DType;
use crate::id::ValueId;
use crate::infer::{InferCx, NoSymbols, RegionSig};
use crate::loc::Loc;
use crate::types::{TensorType, Type};

/// One gradient per operand of the forward op; `None` is a zero gradient
/// (or no gradient, for operands that did not want one).
pub type Grads = Vec<Option<ValueId>>;

/// A gradient rule shared by a family of ops declared as data (the unary
/// and binary elementwise ops).
pub type VjpRule = fn(&mut VjpCx) -> Result<Grads, Diag>;

/// Everything a gradient hook may look at, and where it builds.
pub struct VjpCx<'a, 'f> {
    /// Creates the backward ops; they may use the forward values freely.
    pub b: &'a mut Builder<'f>,
    operands: Vec<ValueId>,
    results: Vec<ValueId>,
    cotangents: Vec<Option<ValueId>>,
    wants: Vec<bool>,
    attrs: Attrs,
    types: Vec<Type>,
    loc: Loc,
}

impl<'a, 'f> VjpCx<'a, 'f> {
    /// The context for one forward op: its operands and results (values of
    /// the function `b` builds in), one cotangent per result (`None`: zero)
    /// and one flag per operand saying whether its gradient is wanted.
    pub fn new(
        b: &'a mut Builder<'f>,
        operands: Vec<ValueId>,
        results: Vec<ValueId>,
        cotangents: Vec<Option<ValueId>>,
        wants: Vec<bool>,
        attrs: Attrs,
        loc: Loc,
    ) -> VjpCx<'a, 'f> {
        let types = operands.iter().map(|&v| b.func.ty(v).clone()).collect();
        VjpCx { b, operands, results, cotangents, wants, attrs, types, loc }
    }

    /// Operand `i` of the forward op.
    pub fn operand(&self, i: usize) -> ValueId {
        self.operands[i]
    }

    /// How many operands the forward op has.
    pub fn num_operands(&self) -> usize {
        self.operands.len()
    }

    /// Result `i` of the forward op.
    pub fn result(&self, i: usize) -> ValueId {
        self.results[i]
    }

    /// The cotangent of result `i`, if any flows back into it.
    pub fn cotangent(&self, i: usize) -> Option<ValueId> {
        self.cotangents.get(i).copied().flatten()
    }

    /// Whether operand `i` wants a gradient.
    pub fn wants(&self, i: usize) -> bool {
        self.wants.get(i).copied().unwrap_or(false)
    }

    /// The forward op's attributes, read through inference's accessors.
    pub fn attrs(&self) -> InferCx<'_> {
        const NO_REGIONS: &[RegionSig] = &[];
        InferCx { operands: &self.types, attrs: &self.attrs, regions: NO_REGIONS, symbols: &NoSymbols }
    }

    /// The tensor type of `v`.
    pub fn tensor(&self, v: ValueId) -> Result<TensorType, Diag> {
        match self.b.func.ty(v) {
            Type::Tensor(t) => Ok(t.clone()),
            other => Err(self.error(format!("gradients flow through tensors only, got {other}"))),
        }
    }

    /// The dims of `v`.
    pub fn dims(&self, v: ValueId) -> Result<Vec<Dim>, Diag> {
        Ok(self.tensor(v)?.dims)
    }

    /// The dtype of `v`.
    pub fn dtype(&self, v: ValueId) -> Result<DType, Diag> {
        Ok(self.tensor(v)?.dtype)
    }

    /// An error at the forward op's location.
    pub fn error(&self, msg: impl Into<String>) -> Diag {
        Diag::error(self.loc.clone(), msg)
    }

    /// The error for an op without a gradient rule.
    pub fn not_differentiable(&self, op: &str) -> Diag {
        self.error(format!("'{op}' is not differentiable"))
    }
}
