//! What an op's gradient hook ([`crate::op::OpDef::vjp`]) receives: the
//! forward op's operands, results and attributes, the cotangents flowing
//! back into its results, which operands want a gradient, and a builder
//! placed where the backward ops go. The reverse-mode driver that calls the
//! hooks lives in `tessera-passes` (`autodiff`); the graph dialect's rules
//! live beside its ops (`dialect::graph::vjp`).
//!
//! Ops with regions (`tg.if`, `tg.loop`) also see their *captures*: the
//! values defined outside the op that its regions use and that want a
//! gradient. Their rule returns one gradient per operand, then one per
//! capture, and differentiates a region's body through the driver's
//! [`RegionDiff`].

use crate::attr::Attrs;
use crate::builder::Builder;
use crate::diag::Diag;
use crate::dim::Dim;
use crate::dtype::DType;
use crate::func::Func;
use crate::id::{OpId, RegionId, ValueId};
use crate::infer::{InferCx, NoSymbols, RegionSig};
use crate::loc::Loc;
use crate::op::Traits;
use std::collections::HashMap;
use crate::types::{TensorType, Type};

/// One gradient per operand of the forward op; `None` is a zero gradient
/// (or no gradient, for operands that did not want one).
pub type Grads = Vec<Option<ValueId>>;

/// A gradient rule shared by a family of ops declared as data (the unary
/// and binary elementwise ops).
pub type VjpRule = fn(&mut VjpCx) -> Result<Grads, Diag>;

/// What differentiating a region's body gave ([`RegionDiff::backward_region`]).
#[derive(Clone, Debug, Default)]
pub struct RegionGrads {
    /// The copied body's yielded values (the terminator's operands).
    pub yields: Vec<ValueId>,
    /// One gradient per block argument (`None`: zero, or not a float).
    pub args: Vec<Option<ValueId>>,
    /// One gradient per requested capture (`None`: zero).
    pub captures: Vec<Option<ValueId>>,
}

/// A region to differentiate ([`RegionDiff::backward_region`]).
#[derive(Copy, Clone, Debug)]
pub struct RegionSeed<'s> {
    /// The region whose body (its single block) is copied and swept.
    pub region: RegionId,
    /// The values replacing the body's arguments.
    pub args: &'s [ValueId],
    /// One cotangent per value the body yields (`None`: zero).
    pub cotangents: &'s [Option<ValueId>],
    /// Values defined outside the region that it uses and that want a gradient.
    pub captures: &'s [ValueId],
}

/// The reverse-mode driver's service to the rules of region ops.
pub trait RegionDiff {
    /// Appends to the builder's block a copy of the body of `seed.region`,
    /// its arguments replaced by `seed.args`, then the reverse pass of that
    /// copy seeded with `seed.cotangents`, differentiating the float
    /// arguments and the captures.
    fn backward_region(&self, b: &mut Builder, seed: RegionSeed) -> Result<RegionGrads, Diag>;
}

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
    regions: Vec<RegionId>,
    captures: Vec<ValueId>,
    region_diff: Option<&'a dyn RegionDiff>,
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
        VjpCx { b, operands, results, cotangents, wants, attrs, types, loc, regions: Vec::new(), captures: Vec::new(), region_diff: None }
    }

    /// The same context for an op with `regions`, whose rule must also
    /// differentiate `captures` through `diff`.
    pub fn with_regions(mut self, regions: Vec<RegionId>, captures: Vec<ValueId>, diff: &'a dyn RegionDiff) -> Self {
        self.regions = regions;
        self.captures = captures;
        self.region_diff = Some(diff);
        self
    }

    /// Region `i` of the forward op.
    pub fn region(&self, i: usize) -> Result<RegionId, Diag> {
        self.regions.get(i).copied().ok_or_else(|| self.error(format!("the op has no region #{i}")))
    }

    /// The values defined outside the op that its regions use and that want
    /// a gradient; the rule returns their gradients after the operands'.
    pub fn captures(&self) -> &[ValueId] {
        &self.captures
    }

    /// Copies `region`'s body to the builder's block with `args` for its
    /// arguments and builds its reverse pass (see [`RegionDiff`]).
    pub fn backward_region(&mut self, seed: RegionSeed) -> Result<RegionGrads, Diag> {
        let diff = self.region_diff.ok_or_else(|| self.error("differentiating a region needs the reverse-mode driver"))?;
        diff.backward_region(self.b, seed)
    }

    /// Operand `i` of the forward op.
    pub fn operand(&self, i: usize) -> ValueId {
        self.operands[i]
    }

    /// How many operands the forward op has.
    pub fn num_operands(&self) -> usize {
        self.operands.len()
    }

    /// How many results the forward op has.
    pub fn num_results(&self) -> usize {
        self.results.len()
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

/// Copies the body (the single block) of `region` to the builder's insertion
/// point, its arguments replaced by `args` and nested regions copied along;
/// returns the values its terminator yields. The region stays as it was.
pub fn inline_region(b: &mut Builder, region: RegionId, args: &[ValueId]) -> Result<Vec<ValueId>, Diag> {
    let block = *b.func.region(region).blocks.first().ok_or_else(|| Diag::error(Loc::Unknown, "a region without a body"))?;
    let params = b.func.block(block).args.clone();
    if params.len() != args.len() {
        return Err(Diag::error(Loc::Unknown, format!("a region taking {} argument(s) got {}", params.len(), args.len())));
    }
    let mut map: HashMap<ValueId, ValueId> = params.into_iter().zip(args.iter().copied()).collect();
    for op in b.func.block(block).ops.clone() {
        let data = b.func.op(op).clone();
        let operands = data.operands.iter().map(|v| *map.get(v).unwrap_or(v)).collect::<Vec<_>>();
        if data.def.traits().contains(Traits::TERMINATOR) {
            return Ok(operands);
        }
        let regions = data.regions.iter().map(|&r| copy_region(b.func, r, &mut map)).collect();
        let types = data.results.iter().map(|&v| b.func.ty(v).clone()).collect();
        b.set_loc(data.loc.clone());
        let new = b.create_typed(data.def, &operands, data.attrs.clone(), types, regions);
        remember_results(b.func, &data.results, new, &mut map);
    }
    Err(Diag::error(Loc::Unknown, "a region body without a terminator"))
}

/// A copy of `region` (all its blocks and nested regions) with the values
/// in `map` replaced; the copied values are added to `map`.
fn copy_region(func: &mut Func, region: RegionId, map: &mut HashMap<ValueId, ValueId>) -> RegionId {
    let copy = func.new_region();
    for block in func.region(region).blocks.clone() {
        let types: Vec<Type> = func.block(block).args.iter().map(|&a| func.ty(a).clone()).collect();
        let nb = func.new_block(copy, &types);
        for (a, na) in func.block(block).args.clone().into_iter().zip(func.block(nb).args.clone()) {
            map.insert(a, na);
        }
        for op in func.block(block).ops.clone() {
            let data = func.op(op).clone();
            let operands = data.operands.iter().map(|v| *map.get(v).unwrap_or(v)).collect();
            let regions = data.regions.iter().map(|&r| copy_region(func, r, map)).collect();
            let types = data.results.iter().map(|&v| func.ty(v).clone()).collect();
            let new = func.create_op(data.def, operands, data.attrs.clone(), types, regions, data.loc.clone());
            func.append_op(nb, new);
            remember_results(func, &data.results, new, map);
        }
    }
    copy
}

/// Maps the results of an op to those of its copy `new`, keeping their names.
fn remember_results(func: &mut Func, old: &[ValueId], new: OpId, map: &mut HashMap<ValueId, ValueId>) {
    for (&r, nr) in old.iter().zip(func.op(new).results.clone()) {
        func.value_mut(nr).name = func.value(r).name.clone();
        map.insert(r, nr);
    }
}
