//! Functions: arenas of values, ops, blocks and regions, with the body's
//! order (which op sits in which block, in which position) kept apart from
//! the op data so moving or erasing an op renumbers nothing.

use crate::attr::Attrs;
use crate::id::{Arena, BlockId, OpId, RegionId, ValueId};
use crate::loc::Loc;
use crate::op::OpRef;
use crate::types::Type;
use std::collections::HashMap;

/// Where a value comes from.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ValueDef {
    /// Result `index` of an op.
    Result(OpId, u32),
    /// Argument `index` of a block.
    Arg(BlockId, u32),
}

/// An SSA value.
#[derive(Clone, Debug)]
pub struct ValueData {
    /// Its type.
    pub ty: Type,
    /// What defines it.
    pub def: ValueDef,
    /// A readable name for printing (`x`, `fc1_out`); purely cosmetic, see
    /// [`sanitize_name`] for what it may contain.
    pub name: Option<String>,
}

/// An operation.
#[derive(Clone, Debug)]
pub struct OpData {
    /// Its kind.
    pub def: OpRef,
    /// Its operands; each is defined before this op (verified).
    pub operands: Vec<ValueId>,
    /// Its results, one value each.
    pub results: Vec<ValueId>,
    /// Its attributes.
    pub attrs: Attrs,
    /// Regions it owns (the branches of `tg.if`, the body of `tg.loop`).
    pub regions: Vec<RegionId>,
    /// Where it came from.
    pub loc: Loc,
    /// The block it sits in; `None` once erased or before insertion.
    pub block: Option<BlockId>,
}

/// A basic block.
#[derive(Clone, Debug)]
pub struct BlockData {
    /// Its arguments.
    pub args: Vec<ValueId>,
    /// Its ops in execution order; the last is a terminator.
    pub ops: Vec<OpId>,
    /// The region it belongs to.
    pub region: RegionId,
}

/// A region: the blocks an op or a function body owns.
#[derive(Clone, Debug)]
pub struct RegionData {
    /// Its blocks; the first is the entry.
    pub blocks: Vec<BlockId>,
    /// The op owning it; `None` for a function body.
    pub owner: Option<OpId>,
}

/// A function: a signature and a body region whose entry block's arguments
/// are the function's arguments.
#[derive(Clone, Debug)]
pub struct Func {
    /// The symbol name, without `@`.
    pub name: String,
    /// Result types, matched by `tg.return`.
    pub results: Vec<Type>,
    /// Where it was defined.
    pub loc: Loc,
    body: RegionId,
    values: Arena<ValueId, ValueData>,
    ops: Arena<OpId, OpData>,
    blocks: Arena<BlockId, BlockData>,
    regions: Arena<RegionId, RegionData>,
}

impl Func {
    /// A function with the given argument types and an empty entry block.
    pub fn new(name: &str, args: &[Type], results: Vec<Type>) -> Func {
        let mut regions = Arena::new();
        let body = regions.push(RegionData { blocks: Vec::new(), owner: None });
        let mut f = Func {
            name: name.to_string(),
            results,
            loc: Loc::Unknown,
            body,
            values: Arena::new(),
            ops: Arena::new(),
            blocks: Arena::new(),
            regions,
        };
        f.new_block(body, args);
        f
    }

    /// The body region.
    pub fn body(&self) -> RegionId {
        self.body
    }

    /// The entry block of the body.
    pub fn entry(&self) -> BlockId {
        self.regions[self.body].blocks[0]
    }

    /// The function's arguments (the entry block's arguments).
    pub fn args(&self) -> &[ValueId] {
        &self.blocks[self.entry()].args
    }

    /// Types of the arguments.
    pub fn arg_types(&self) -> Vec<Type> {
        self.args().iter().map(|&v| self.values[v].ty.clone()).collect()
    }

    /// A value's data.
    pub fn value(&self, v: ValueId) -> &ValueData {
        &self.values[v]
    }

    /// A value's type.
    pub fn ty(&self, v: ValueId) -> &Type {
        &self.values[v].ty
    }

    /// Mutable access to a value (to retype or rename it).
    pub fn value_mut(&mut self, v: ValueId) -> &mut ValueData {
        &mut self.values[v]
    }

    /// An op's data.
    pub fn op(&self, op: OpId) -> &OpData {
        &self.ops[op]
    }

    /// Mutable access to an op.
    pub fn op_mut(&mut self, op: OpId) -> &mut OpData {
        &mut self.ops[op]
    }

    /// A block's data.
    pub fn block(&self, b: BlockId) -> &BlockData {
        &self.blocks[b]
    }

    /// A region's data.
    pub fn region(&self, r: RegionId) -> &RegionData {
        &self.regions[r]
    }

    /// The op defining `v`, if it is an op result.
    pub fn def_op(&self, v: ValueId) -> Option<OpId> {
        match self.values[v].def {
            ValueDef::Result(op, _) => Some(op),
            ValueDef::Arg(..) => None,
        }
    }

    /// A new region owned by `owner` (set when the op is created), with no blocks.
    pub fn new_region(&mut self) -> RegionId {
        self.regions.push(RegionData { blocks: Vec::new(), owner: None })
    }

    /// Appends a block with arguments of the given types to `region`.
    pub fn new_block(&mut self, region: RegionId, arg_types: &[Type]) -> BlockId {
        let block = self.blocks.push(BlockData { args: Vec::new(), ops: Vec::new(), region });
        for ty in arg_types {
            self.add_block_arg(block, ty.clone());
        }
        self.regions[region].blocks.push(block);
        block
    }

    /// Appends an argument to `block`.
    pub fn add_block_arg(&mut self, block: BlockId, ty: Type) -> ValueId {
        let index = self.blocks[block].args.len() as u32;
        let v = self.values.push(ValueData { ty, def: ValueDef::Arg(block, index), name: None });
        self.blocks[block].args.push(v);
        v
    }

    /// Moves the function's first `n` arguments after the others (the
    /// arguments rotate left by `n`), renumbering them.
    pub fn rotate_args_left(&mut self, n: usize) {
        let entry = self.entry();
        let n = n.min(self.blocks[entry].args.len());
        self.blocks[entry].args.rotate_left(n);
        for (index, v) in self.blocks[entry].args.clone().into_iter().enumerate() {
            self.values[v].def = ValueDef::Arg(entry, index as u32);
        }
    }

    /// Creates an op (not yet in any block) with results of the given types;
    /// takes ownership of `regions`.
    pub fn create_op(
        &mut self,
        def: OpRef,
        operands: Vec<ValueId>,
        attrs: Attrs,
        result_types: Vec<Type>,
        regions: Vec<RegionId>,
        loc: Loc,
    ) -> OpId {
        let op = self.ops.push(OpData {
            def,
            operands,
            results: Vec::new(),
            attrs,
            regions: regions.clone(),
            loc,
            block: None,
        });
        for r in regions {
            self.regions[r].owner = Some(op);
        }
        let results = result_types
            .into_iter()
            .enumerate()
            .map(|(i, ty)| self.values.push(ValueData { ty, def: ValueDef::Result(op, i as u32), name: None }))
            .collect();
        self.ops[op].results = results;
        op
    }

    /// Places a detached op at the end of `block`.
    pub fn append_op(&mut self, block: BlockId, op: OpId) {
        self.blocks[block].ops.push(op);
        self.ops[op].block = Some(block);
    }

    /// Places a detached op right before `anchor`.
    pub fn insert_op_before(&mut self, anchor: OpId, op: OpId) {
        let block = self.ops[anchor].block.expect("anchor op is in a block");
        let at = self.position(anchor);
        self.blocks[block].ops.insert(at, op);
        self.ops[op].block = Some(block);
    }

    /// The index of `op` within its block.
    pub fn position(&self, op: OpId) -> usize {
        let block = self.ops[op].block.expect("op is in a block");
        self.blocks[block].ops.iter().position(|&o| o == op).expect("block lists its ops")
    }

    /// Removes `op` (and with it everything in its regions) from the body.
    /// Its results must have no remaining uses.
    pub fn erase_op(&mut self, op: OpId) {
        if let Some(block) = self.ops[op].block.take() {
            self.blocks[block].ops.retain(|&o| o != op);
        }
    }

    /// Every op in the body in pre-order: each op before the ops in its regions.
    pub fn walk(&self) -> Vec<OpId> {
        let mut out = Vec::with_capacity(self.ops.len());
        self.walk_region(self.body, &mut out);
        out
    }

    /// Every op inside `region`, nested ones included, in pre-order.
    pub fn walk_region(&self, region: RegionId, out: &mut Vec<OpId>) {
        for &b in &self.regions[region].blocks {
            for &op in &self.blocks[b].ops {
                out.push(op);
                for &r in &self.ops[op].regions {
                    self.walk_region(r, out);
                }
            }
        }
    }

    /// How many times each value is used as an operand, indexed by value.
    pub fn use_counts(&self) -> HashMap<ValueId, usize> {
        let mut counts = HashMap::new();
        for op in self.walk() {
            for &v in &self.ops[op].operands {
                *counts.entry(v).or_insert(0) += 1;
            }
        }
        counts
    }

    /// Replaces every use of each key of `map` by its value (following chains).
    pub fn replace_uses(&mut self, map: &HashMap<ValueId, ValueId>) {
        if map.is_empty() {
            return;
        }
        let resolve = |mut v: ValueId| {
            while let Some(&next) = map.get(&v) {
                v = next;
            }
            v
        };
        for op in self.walk() {
            for operand in &mut self.ops[op].operands {
                *operand = resolve(*operand);
            }
        }
    }

    /// The op owning the region that contains `op`, if `op` is nested.
    pub fn parent_op(&self, op: OpId) -> Option<OpId> {
        let block = self.ops[op].block?;
        self.regions[self.blocks[block].region].owner
    }

    /// Number of ops ever created (erased ones included); ids are below this.
    pub fn op_capacity(&self) -> usize {
        self.ops.len()
    }
}

/// Turns an arbitrary name (an ONNX tensor name like `/fc1/Gemm_output_0`)
/// into a valid value name: characters outside `[A-Za-z0-9_.$-]` become `_`,
/// and a name that is empty or starts with a digit gets a leading `_`.
pub fn sanitize_name(name: &str) -> String {
    let mut s: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || "_.$-".contains(c) { c } else { '_' }).collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    s
}
