//! The reverse sweep: which values depend on the differentiated ones, the
//! cotangents accumulated so far, and running each op's gradient rule in
//! reverse order over a block. Region ops (`tg.if`, `tg.loop`) reach back
//! here through [`Sweep`], their [`RegionDiff`]: a region's body is copied
//! into the backward code and swept like any block.

use std::collections::{HashMap, HashSet};
use tessera_ir::builder::Builder;
use tessera_ir::dialect::graph::elementwise::ADD;
use tessera_ir::vjp::{inline_region, RegionDiff, RegionGrads, RegionSeed, VjpCx};
use tessera_ir::{DTypeClass, Diag, Func, OpId, Type, ValueId};

/// Whether `ty` is a float tensor.
pub fn is_float(ty: &Type) -> bool {
    ty.as_tensor().is_some_and(|t| t.dtype.is_in(DTypeClass::Float))
}

/// The values used inside `op`'s regions that are defined outside it.
fn used_from_outside(func: &Func, op: OpId) -> Vec<ValueId> {
    let mut nested = Vec::new();
    for &r in &func.op(op).regions {
        func.walk_region(r, &mut nested);
    }
    let mut inside: HashSet<ValueId> = HashSet::new();
    for &n in &nested {
        inside.extend(func.op(n).results.iter().copied());
        if let Some(block) = func.op(n).block {
            inside.extend(func.block(block).args.iter().copied());
        }
    }
    let mut seen = HashSet::new();
    nested
        .iter()
        .flat_map(|&n| func.op(n).operands.iter().copied())
        .filter(|v| !inside.contains(v) && seen.insert(*v))
        .collect()
}

/// `seeds` and the float values of `ops` that depend on them (an op with
/// regions counts the values its regions use as its own operands).
pub fn active_values(func: &Func, ops: &[OpId], seeds: impl IntoIterator<Item = ValueId>) -> HashSet<ValueId> {
    let mut active: HashSet<ValueId> = seeds.into_iter().collect();
    for &op in ops {
        let data = func.op(op);
        let hit = data.operands.iter().chain(&used_from_outside(func, op)).any(|v| active.contains(v));
        if hit {
            active.extend(data.results.iter().copied().filter(|&r| is_float(func.ty(r))));
        }
    }
    active
}

/// The cotangent accumulated so far for each value.
#[derive(Default)]
pub struct Cotangents(HashMap<ValueId, ValueId>);

impl Cotangents {
    /// The cotangent of `v`, if any reached it.
    pub fn get(&self, v: ValueId) -> Option<ValueId> {
        self.0.get(&v).copied()
    }

    /// Adds `g` to the cotangent of `v`.
    pub fn accumulate(&mut self, b: &mut Builder, v: ValueId, g: ValueId) -> Result<(), Diag> {
        let sum = match self.0.get(&v) {
            Some(&prev) => b.binary(&ADD, prev, g)?,
            None => g,
        };
        self.0.insert(v, sum);
        Ok(())
    }
}

/// The reverse-mode driver as the rules of region ops see it.
pub struct Sweep;

impl Sweep {
    /// Runs the gradient rules of `ops` (a block's ops, terminator excluded)
    /// in reverse order, accumulating into `cot`.
    pub fn ops(&self, b: &mut Builder, ops: &[OpId], active: &HashSet<ValueId>, cot: &mut Cotangents) -> Result<(), Diag> {
        for &op in ops.iter().rev() {
            self.op(b, op, active, cot)?;
        }
        Ok(())
    }

    /// Runs the gradient rule of one forward op, if a cotangent reaches it
    /// and an operand (or a value its regions use) wants one, and
    /// accumulates the gradients.
    fn op(&self, b: &mut Builder, op: OpId, active: &HashSet<ValueId>, cot: &mut Cotangents) -> Result<(), Diag> {
        let data = b.func.op(op).clone();
        let cotangents: Vec<Option<ValueId>> = data.results.iter().map(|&r| cot.get(r)).collect();
        if cotangents.iter().all(Option::is_none) {
            return Ok(());
        }
        let wanted = |v: &ValueId, f: &Func| active.contains(v) && is_float(f.ty(*v));
        let wants: Vec<bool> = data.operands.iter().map(|v| wanted(v, b.func)).collect();
        let captures: Vec<ValueId> = used_from_outside(b.func, op).into_iter().filter(|v| wanted(v, b.func)).collect();
        if !wants.contains(&true) && captures.is_empty() {
            return Ok(());
        }
        let name = data.def.name();
        b.set_loc(data.loc.clone());
        let grads = {
            let cx = VjpCx::new(b, data.operands.clone(), data.results.clone(), cotangents, wants.clone(), data.attrs.clone(), data.loc.clone());
            let mut cx = if data.regions.is_empty() { cx } else { cx.with_regions(data.regions.clone(), captures.clone(), self) };
            data.def.vjp(&mut cx).map_err(|d| Diag { message: format!("cannot differentiate '{name}': {}", d.message), ..d })?
        };
        let targets: Vec<ValueId> = data.operands.iter().chain(&captures).copied().collect();
        if grads.len() != targets.len() {
            return Err(Diag::error(
                data.loc,
                format!("the gradient rule of '{name}' gave {} gradient(s) for {} operand(s) and capture(s)", grads.len(), targets.len()),
            ));
        }
        for (i, (&v, gv)) in targets.iter().zip(grads).enumerate() {
            let Some(gv) = gv.filter(|_| i >= wants.len() || wants[i]) else { continue };
            if b.func.ty(gv) != b.func.ty(v) {
                return Err(Diag::error(
                    data.loc,
                    format!("the gradient rule of '{name}' gave value #{i} a gradient of type {}, expected {}", b.func.ty(gv), b.func.ty(v)),
                ));
            }
            cot.accumulate(b, v, gv)?;
        }
        Ok(())
    }
}

impl RegionDiff for Sweep {
    fn backward_region(&self, b: &mut Builder, seed: RegionSeed) -> Result<RegionGrads, Diag> {
        let RegionSeed { region, args, cotangents, captures } = seed;
        let at = match b.insert_point() {
            tessera_ir::InsertPoint::End(block) => block,
            tessera_ir::InsertPoint::Before(_) => return Err(Diag::error(b.func.loc.clone(), "a region is swept at the end of a block")),
        };
        // The copied body ends in the block's last op: sweep only what the copy added.
        let start = b.func.block(at).ops.len();
        let yields = inline_region(b, region, args)?;
        let copied = {
            let ops = &b.func.block(at).ops;
            ops[start..].to_vec()
        };
        let seeds = args.iter().chain(captures).copied().filter(|&v| is_float(b.func.ty(v)));
        let active = active_values(b.func, &copied, seeds);
        let mut cot = Cotangents::default();
        for (&y, g) in yields.iter().zip(cotangents) {
            let Some(g) = *g else { continue };
            if !active.contains(&y) {
                continue;
            }
            let g = conform(b, g, y)?;
            cot.accumulate(b, y, g)?;
        }
        self.ops(b, &copied, &active, &mut cot)?;
        Ok(RegionGrads {
            yields,
            args: args.iter().map(|&a| cot.get(a).filter(|_| is_float(b.func.ty(a)))).collect(),
            captures: captures.iter().map(|&c| cot.get(c)).collect(),
        })
    }
}

/// `g` restated with `like`'s type when their dims differ only in what
/// is known (a branch's yield can be more precise than the op's result).
fn conform(b: &mut Builder, g: ValueId, like: ValueId) -> Result<ValueId, Diag> {
    if b.func.ty(g) == b.func.ty(like) {
        return Ok(g);
    }
    let dims = b.func.ty(like).as_tensor().map(|t| t.dims.clone()).unwrap_or_default();
    b.reshape(g, &dims)
}
