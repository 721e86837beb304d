//! `plan-memory`: the temporaries of each kernel function become views
//! into one arena, allocated once per call and sized by liveness.
//!
//! After `lower-to-kernel`, every temporary is a `k.alloc` at the entry
//! of its function, all alive at once. This pass computes each one's live
//! range over the function's top-level ops (from the first that uses it,
//! inside any region, to the last), places them in one arena with reuse
//! ([`place`]: two temporaries alive together never share a byte; symbolic
//! sizes share a slot only when provably no larger), and rewrites the
//! function to one `k.alloc` of `u8` (the arena, whose size is a
//! polynomial over the symbolic dims: generated code's caller evaluates it
//! from the symbols' sizes, as for any allocation) and one `k.view` per
//! temporary at its offset, computed at the entry from the argument
//! buffers' extents. Inputs, outputs, constants and parameters (weights)
//! stay where they are.
//!
//! ```text
//! %t0 = k.alloc {shape = [N, 256], dtype = f32}      %arena = k.alloc {shape = [1024*N], dtype = u8}
//! %t1 = k.alloc {shape = [N, 256], dtype = f32}  =>  %t0 = k.view %arena, %c0 {shape = [N, 256], dtype = f32}
//! %t2 = k.alloc {shape = [N, 10], dtype = f32}       %t2 = k.view %arena, %c0 {shape = [N, 10], dtype = f32} ...
//! ```
//!
//! A function with fewer than two temporaries, or whose temporaries have
//! a symbol that is no argument's whole axis (so the offsets could not be
//! computed inside it), is left as it is.

pub mod place;
#[cfg(test)]
mod tests;

use crate::manager::Pass;
use place::{place, Item};
use std::collections::{HashMap, HashSet};
use tessera_ir::attr::{Attr, Attrs};
use tessera_ir::dialect::kernel::{self, index, memory, KernelOp};
use tessera_ir::infer::SymbolTable;
use tessera_ir::{
    Builder, DType, Diag, Diags, Dim, Func, InsertPoint, Module, OpId, SymExpr, Symbol, TensorType, Type, ValueId,
};

/// The `plan-memory` pass.
pub struct PlanMemory;

/// The registered instance of [`PlanMemory`].
pub static PLAN_MEMORY: PlanMemory = PlanMemory;

impl Pass for PlanMemory {
    fn name(&self) -> &'static str {
        "plan-memory"
    }
    fn summary(&self) -> &'static str {
        "places kernel temporaries in one arena by liveness, reusing memory (k.alloc + k.view)"
    }
    fn run(&self, module: &mut Module) -> Result<bool, Diags> {
        let symbols = module.symbols();
        let mut changed = false;
        let mut diags = Vec::new();
        for func in &mut module.funcs {
            match plan_func(func, &symbols) {
                Ok(c) => changed |= c,
                Err(d) => diags.push(d),
            }
        }
        if diags.is_empty() {
            Ok(changed)
        } else {
            Err(Diags(diags))
        }
    }
}

/// One temporary of a function: its `k.alloc`, its buffer type and live range.
struct Temporary {
    op: OpId,
    ty: TensorType,
    first: usize,
    last: usize,
}

/// Plans `func`'s temporaries; returns whether it changed.
fn plan_func(func: &mut Func, symbols: &dyn SymbolTable) -> Result<bool, Diag> {
    let temps = temporaries(func);
    if temps.len() < 2 {
        return Ok(false);
    }
    let Some(symbol_axes) = symbol_axes(func, &temps) else { return Ok(false) };
    let items: Vec<Item> =
        temps.iter().map(|t| Item { size: bytes(&t.ty), first: t.first, last: t.last }).collect();
    let plan = place(&items);

    let Some(&first) = func.block(func.entry()).ops.first() else { return Ok(false) };
    let mut b = Builder::new(func, symbols);
    b.set_insert_point(InsertPoint::Before(first));
    let mut polys = Polynomials { symbol_axes, symbols: HashMap::new(), constants: HashMap::new() };
    let arena_type = Attr::shape(&[Dim::from_expr(plan.size.clone())]);
    let arena_attrs = Attrs::new().with("shape", arena_type).with("dtype", Attr::DType(DType::U8));
    let arena = b.create(&memory::ALLOC, &[], arena_attrs, Vec::new())?;
    let arena = b.func.op(arena).results[0];
    b.func.value_mut(arena).name = Some("arena".into());
    let mut replaced = HashMap::new();
    for (t, offset) in temps.iter().zip(&plan.offsets) {
        let offset = polys.emit(&mut b, offset)?;
        let attrs = Attrs::new().with("shape", Attr::shape(&t.ty.dims)).with("dtype", Attr::DType(t.ty.dtype));
        let view = b.create(&memory::VIEW, &[arena, offset], attrs, Vec::new())?;
        let view = b.func.op(view).results[0];
        let old = b.func.op(t.op).results[0];
        b.func.value_mut(view).name = b.func.value(old).name.clone();
        replaced.insert(old, view);
    }
    func.replace_uses(&replaced);
    for t in &temps {
        func.erase_op(t.op);
    }
    Ok(true)
}

/// The top-level `k.alloc`s of `func` that something uses (an arena, one
/// whose buffer a `k.view` takes, aside), with their live ranges over the
/// entry block's ops.
fn temporaries(func: &Func) -> Vec<Temporary> {
    let ops = &func.block(func.entry()).ops;
    let mut range: HashMap<ValueId, (usize, usize)> = HashMap::new();
    let mut arenas = HashSet::new();
    for (i, &op) in ops.iter().enumerate() {
        let mut inner = vec![op];
        for &r in &func.op(op).regions {
            func.walk_region(r, &mut inner);
        }
        for o in inner {
            if kernel::kind(func.op(o).def) == Some(KernelOp::View) {
                arenas.insert(func.op(o).operands[0]);
            }
            for &v in &func.op(o).operands {
                range.entry(v).and_modify(|r| r.1 = i).or_insert((i, i));
            }
        }
    }
    ops.iter()
        .filter(|&&op| kernel::kind(func.op(op).def) == Some(KernelOp::Alloc))
        .filter_map(|&op| {
            let v = func.op(op).results[0];
            let (first, last) = *range.get(&v)?;
            match func.ty(v) {
                Type::Buffer(t) if !arenas.contains(&v) => Some(Temporary { op, ty: t.clone(), first, last }),
                _ => None,
            }
        })
        .collect()
}

/// The size in bytes of a buffer of type `t`, as a polynomial.
fn bytes(t: &TensorType) -> SymExpr {
    t.dims.iter().fold(SymExpr::constant(t.dtype.size_bytes() as i64), |acc, d| match d.expr() {
        Some(e) => acc.mul(&e),
        None => acc,
    })
}

/// For each symbol of the temporaries' dims, an argument buffer and an
/// axis whose extent it is; `None` when one has none.
fn symbol_axes(func: &Func, temps: &[Temporary]) -> Option<HashMap<Symbol, (ValueId, usize)>> {
    let mut axes = HashMap::new();
    for &arg in func.args() {
        if let Type::Buffer(t) = func.ty(arg) {
            for (axis, d) in t.dims.iter().enumerate() {
                if let Some(s) = d.as_symbol() {
                    axes.entry(s).or_insert((arg, axis));
                }
            }
        }
    }
    let needed = temps.iter().flat_map(|t| &t.ty.dims).filter_map(Dim::expr);
    let all_known = needed.collect::<Vec<_>>().iter().all(|e| e.symbols().all(|s| axes.contains_key(s)));
    all_known.then_some(axes)
}

/// Emits polynomials over the symbols as index values, sharing the
/// symbols' extents and the constants.
struct Polynomials {
    symbol_axes: HashMap<Symbol, (ValueId, usize)>,
    symbols: HashMap<Symbol, ValueId>,
    constants: HashMap<i64, ValueId>,
}

impl Polynomials {
    /// `e` as an index: the sum of its terms, each a constant times its symbols.
    fn emit(&mut self, b: &mut Builder, e: &SymExpr) -> Result<ValueId, Diag> {
        let terms: Vec<(Vec<Symbol>, i64)> = e.terms().map(|(m, c)| (m.to_vec(), c)).collect();
        let mut sum: Option<ValueId> = None;
        for (monomial, c) in terms {
            let mut t = if c == 1 && !monomial.is_empty() { None } else { Some(self.constant(b, c)?) };
            for s in &monomial {
                let x = self.symbol(b, s)?;
                t = Some(match t {
                    Some(t) => binary(b, &index::INDEX_MUL, t, x)?,
                    None => x,
                });
            }
            let t = t.map_or_else(|| self.constant(b, c), Ok)?;
            sum = Some(match sum {
                Some(s) => binary(b, &index::INDEX_ADD, s, t)?,
                None => t,
            });
        }
        sum.map_or_else(|| self.constant(b, 0), Ok)
    }

    /// The index constant `c`.
    fn constant(&mut self, b: &mut Builder, c: i64) -> Result<ValueId, Diag> {
        if let Some(&v) = self.constants.get(&c) {
            return Ok(v);
        }
        let op = b.create(&index::INDEX_CONSTANT, &[], Attrs::new().with("value", Attr::Int(c)), Vec::new())?;
        let v = b.func.op(op).results[0];
        self.constants.insert(c, v);
        Ok(v)
    }

    /// The size of symbol `s`, read from an argument's extent.
    fn symbol(&mut self, b: &mut Builder, s: &Symbol) -> Result<ValueId, Diag> {
        if let Some(&v) = self.symbols.get(s) {
            return Ok(v);
        }
        let &(arg, axis) = self
            .symbol_axes
            .get(s)
            .ok_or_else(|| Diag::error(b.func.loc.clone(), format!("symbol {s} is no argument's axis")))?;
        let op = b.create(&memory::DIM, &[arg], Attrs::new().with("axis", Attr::Int(axis as i64)), Vec::new())?;
        let v = b.func.op(op).results[0];
        self.symbols.insert(s.clone(), v);
        Ok(v)
    }
}

/// `def` applied to indices `x` and `y`.
fn binary(b: &mut Builder, def: tessera_ir::OpRef, x: ValueId, y: ValueId) -> Result<ValueId, Diag> {
    let op = b.create(def, &[x, y], Attrs::new(), Vec::new())?;
    Ok(b.func.op(op).results[0])
}
