//! The builder: creates ops at an insertion point, inferring result types
//! through each op's hook, so importers and passes never spell out types.

use crate::attr::{Attr, Attrs};
use crate::diag::Diag;
use crate::func::Func;
use crate::id::{BlockId, OpId, RegionId, ValueId};
use crate::infer::{InferCx, RegionSig, SymbolTable};
use crate::loc::Loc;
use crate::op::{AttrKind, OpRef};
use crate::types::Type;

/// Where the builder puts the next op.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum InsertPoint {
    /// At the end of a block.
    End(BlockId),
    /// Right before an op.
    Before(OpId),
}

/// Creates ops in one function.
pub struct Builder<'a> {
    /// The function being built.
    pub func: &'a mut Func,
    symbols: &'a dyn SymbolTable,
    at: InsertPoint,
    loc: Loc,
}

impl<'a> Builder<'a> {
    /// A builder appending to the function's entry block.
    pub fn new(func: &'a mut Func, symbols: &'a dyn SymbolTable) -> Builder<'a> {
        let at = InsertPoint::End(func.entry());
        Builder { func, symbols, at, loc: Loc::Unknown }
    }

    /// Moves the insertion point.
    pub fn set_insert_point(&mut self, at: InsertPoint) {
        self.at = at;
    }

    /// The current insertion point.
    pub fn insert_point(&self) -> InsertPoint {
        self.at
    }

    /// The location given to ops created from now on.
    pub fn set_loc(&mut self, loc: Loc) {
        self.loc = loc;
    }

    /// The module's symbols, as the builder sees them.
    pub fn symbols(&self) -> &'a dyn SymbolTable {
        self.symbols
    }

    /// Creates an op, inferring its result types, and inserts it.
    pub fn create(
        &mut self,
        def: OpRef,
        operands: &[ValueId],
        attrs: Attrs,
        regions: Vec<RegionId>,
    ) -> Result<OpId, Diag> {
        let types = infer_types(self.func, self.symbols, def, operands, &attrs, &regions)
            .map_err(|msg| op_error(def, self.loc.clone(), &msg))?;
        Ok(self.create_typed(def, operands, attrs, types, regions))
    }

    /// Creates an op with the given result types (unchecked; the verifier
    /// checks them later) and inserts it.
    pub fn create_typed(
        &mut self,
        def: OpRef,
        operands: &[ValueId],
        attrs: Attrs,
        result_types: Vec<Type>,
        regions: Vec<RegionId>,
    ) -> OpId {
        let op = self.func.create_op(def, operands.to_vec(), attrs, result_types, regions, self.loc.clone());
        match self.at {
            InsertPoint::End(block) => self.func.append_op(block, op),
            InsertPoint::Before(anchor) => self.func.insert_op_before(anchor, op),
        }
        op
    }

    /// Creates a single-result op and returns its result.
    pub fn op(&mut self, def: OpRef, operands: &[ValueId], attrs: Attrs) -> Result<ValueId, Diag> {
        let op = self.create(def, operands, attrs, Vec::new())?;
        Ok(self.func.op(op).results[0])
    }

    /// A new region holding one block with arguments of the given types;
    /// returns both. Build its body with [`Builder::set_insert_point`].
    pub fn new_region(&mut self, arg_types: &[Type]) -> (RegionId, BlockId) {
        let region = self.func.new_region();
        let block = self.func.new_block(region, arg_types);
        (region, block)
    }
}

/// The message of a failed inference, prefixed with the op's name.
pub fn op_error(def: OpRef, loc: Loc, msg: &str) -> Diag {
    Diag::error(loc, format!("'{}' op: {msg}", def.name()))
}

/// Runs `def`'s inference hook on operands and regions that live in `func`.
pub fn infer_types(
    func: &Func,
    symbols: &dyn SymbolTable,
    def: OpRef,
    operands: &[ValueId],
    attrs: &Attrs,
    regions: &[RegionId],
) -> Result<Vec<Type>, String> {
    if !def.operands().allows(operands.len()) {
        return Err(format!("expects {} operand(s), got {}", def.operands(), operands.len()));
    }
    if regions.len() != def.num_regions() {
        return Err(format!("expects {} region(s), got {}", def.num_regions(), regions.len()));
    }
    check_attrs(def, attrs)?;
    let types: Vec<Type> = operands.iter().map(|&v| func.ty(v).clone()).collect();
    let sigs: Vec<RegionSig> = regions.iter().map(|&r| region_sig(func, r)).collect();
    let cx = InferCx { operands: &types, attrs, regions: &sigs, symbols };
    let results = def.infer(&cx)?;
    if !def.results().allows(results.len()) {
        return Err(format!("inference produced {} result(s), expected {}", results.len(), def.results()));
    }
    Ok(results)
}

/// The argument types of a region's entry block and the operand types of
/// the terminator ending it (empty when the region has no terminator yet).
pub fn region_sig(func: &Func, region: RegionId) -> RegionSig {
    let Some(&entry) = func.region(region).blocks.first() else { return RegionSig::default() };
    let block = func.block(entry);
    let args = block.args.iter().map(|&v| func.ty(v).clone()).collect();
    let yields = block
        .ops
        .last()
        .filter(|&&op| func.op(op).def.traits().contains(crate::op::Traits::TERMINATOR))
        .map(|&op| func.op(op).operands.iter().map(|&v| func.ty(v).clone()).collect())
        .unwrap_or_default();
    RegionSig { args, yields }
}

/// Checks attributes against the op's specs: required ones present, each of
/// the right kind, and none the op does not know.
pub fn check_attrs(def: OpRef, attrs: &Attrs) -> Result<(), String> {
    let specs = def.attrs();
    for spec in specs {
        match attrs.get(spec.name) {
            None if spec.required => return Err(format!("missing required attribute '{}'", spec.name)),
            Some(a) if !kind_matches(spec.kind, a) => {
                return Err(format!("attribute '{}' must be {}, got {}", spec.name, spec.kind.describe(), a.kind_name()))
            }
            _ => {}
        }
    }
    for (name, _) in attrs.iter() {
        if !specs.iter().any(|s| s.name == name) {
            let known: Vec<&str> = specs.iter().map(|s| s.name).collect();
            let hint = if known.is_empty() { "it takes none".to_string() } else { format!("it takes {}", known.join(", ")) };
            return Err(format!("unknown attribute '{name}' ({hint})"));
        }
    }
    Ok(())
}

fn kind_matches(kind: AttrKind, a: &Attr) -> bool {
    match kind {
        AttrKind::Bool => matches!(a, Attr::Bool(_)),
        AttrKind::Int => matches!(a, Attr::Int(_)),
        AttrKind::Float => matches!(a, Attr::Float(_) | Attr::Int(_)),
        AttrKind::Str => matches!(a, Attr::Str(_)),
        AttrKind::Symbol => matches!(a, Attr::SymbolRef(_)),
        AttrKind::DType => matches!(a, Attr::DType(_)),
        AttrKind::Ints => a.as_ints().is_some(),
        AttrKind::Shape => a.as_shape().is_some(),
        AttrKind::Dense => matches!(a, Attr::Dense(_)),
    }
}
