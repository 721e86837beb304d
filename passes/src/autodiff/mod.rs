//! Reverse-mode automatic differentiation (`grad`): from a function and the
//! arguments to differentiate, a new function that computes the original
//! outputs and the vector-Jacobian products for those arguments.
//!
//! The forward ops are kept as they are (every forward value is saved for
//! the backward pass); the backward ops follow them in the same block,
//! built by each op's `vjp` hook in reverse order, with the gradients of a
//! value used several times summed by `tg.add`. Only float values are
//! differentiated: an op is visited when one of its float operands depends
//! on a differentiated argument and a cotangent reaches one of its results.
//! The result is ordinary graph IR: it prints, verifies and evaluates like
//! any other function.

mod copy;
mod params;
#[cfg(test)]
pub(crate) mod tests;

pub use copy::copy_body;
pub use params::params_to_args;

use std::collections::{HashMap, HashSet};
use tessera_ir::builder::Builder;
use tessera_ir::dialect::graph::elementwise::ADD;
use tessera_ir::infer::SymbolTable;
use tessera_ir::vjp::VjpCx;
use tessera_ir::{DTypeClass, Diag, Func, Loc, Traits, Type, ValueId};

/// Where the cotangents of the outputs come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seed {
    /// One extra trailing argument per output, of the output's type.
    Args,
    /// Output `i` (a rank-0 float, such as a loss) is seeded with 1; the
    /// other outputs get no cotangent.
    Scalar(usize),
}

/// What to differentiate and how to name the result.
#[derive(Clone, Debug)]
pub struct GradSpec {
    /// The arguments (by position) whose gradients are returned, in this order.
    pub wrt: Vec<usize>,
    /// How the outputs are seeded.
    pub seed: Seed,
    /// The new function's name.
    pub name: String,
}

/// Builds `name(args..., [seeds...]) -> (outputs..., gradients...)` from
/// `func`, which must be a single-block function ending in `tg.return`.
pub fn grad(func: &Func, symbols: &dyn SymbolTable, spec: &GradSpec) -> Result<Func, Diag> {
    let mut g = func.clone();
    g.name = spec.name.clone();
    let entry = g.entry();
    let ret = return_op(&g)?;
    let outputs = g.op(ret).operands.clone();
    g.erase_op(ret);
    let args = g.args().to_vec();
    let mut wrt = Vec::with_capacity(spec.wrt.len());
    for &i in &spec.wrt {
        let v = *args.get(i).ok_or_else(|| {
            Diag::error(func.loc.clone(), format!("@{} has no argument #{i} to differentiate", func.name))
        })?;
        if !is_float(g.ty(v)) {
            return Err(Diag::error(
                func.loc.clone(),
                format!("argument #{i} of @{} has type {}; only float tensors are differentiated", func.name, g.ty(v)),
            ));
        }
        wrt.push(v);
    }
    let active = active_values(&g, &wrt);
    let mut seeds = Vec::new();
    if spec.seed == Seed::Args {
        for &o in &outputs {
            let ty = g.ty(o).clone();
            seeds.push(g.add_block_arg(entry, ty));
        }
    }
    let forward_ops = g.block(entry).ops.clone();
    let mut b = Builder::new(&mut g, symbols);
    let mut cot = Cotangents::default();
    match spec.seed {
        Seed::Args => {
            for (&o, &s) in outputs.iter().zip(&seeds) {
                if active.contains(&o) {
                    cot.accumulate(&mut b, o, s)?;
                }
            }
        }
        Seed::Scalar(i) => {
            let &o = outputs
                .get(i)
                .ok_or_else(|| Diag::error(func.loc.clone(), format!("@{} has no output #{i} to seed", func.name)))?;
            let t = b.func.ty(o).as_tensor().filter(|t| t.rank() == 0 && t.dtype.is_in(DTypeClass::Float)).cloned();
            let t = t.ok_or_else(|| {
                Diag::error(func.loc.clone(), format!("output #{i} of @{} must be a rank-0 float to seed, got {}", func.name, b.func.ty(o)))
            })?;
            if active.contains(&o) {
                let one = b.scalar(t.dtype, 1.0)?;
                cot.accumulate(&mut b, o, one)?;
            }
        }
    }
    for &op in forward_ops.iter().rev() {
        backward_op(&mut b, op, &active, &mut cot)?;
    }
    let mut results = outputs.clone();
    for &v in &wrt {
        let gv = match cot.get(v) {
            Some(gv) => gv,
            None => zeros(&mut b, v)?,
        };
        results.push(gv);
    }
    b.set_loc(Loc::Unknown);
    b.ret(&results)?;
    let types: Vec<Type> = results.iter().map(|&v| g.ty(v).clone()).collect();
    g.results = types;
    Ok(g)
}

/// The `tg.return` ending `func`'s entry block, or an error naming `func`.
pub fn return_op(func: &Func) -> Result<tessera_ir::OpId, Diag> {
    func.block(func.entry())
        .ops
        .last()
        .copied()
        .filter(|&op| func.op(op).def.traits().contains(Traits::TERMINATOR))
        .ok_or_else(|| Diag::error(func.loc.clone(), format!("@{} has no tg.return", func.name)))
}

/// Whether `ty` is a float tensor.
fn is_float(ty: &Type) -> bool {
    ty.as_tensor().is_some_and(|t| t.dtype.is_in(DTypeClass::Float))
}

/// The float values that depend on `wrt`, in the entry block (an op with
/// regions counts its nested operands as its own).
fn active_values(func: &Func, wrt: &[ValueId]) -> HashSet<ValueId> {
    let mut active: HashSet<ValueId> = wrt.iter().copied().collect();
    for &op in &func.block(func.entry()).ops {
        let data = func.op(op);
        let mut used = data.operands.clone();
        let mut nested = Vec::new();
        for &r in &data.regions {
            func.walk_region(r, &mut nested);
        }
        for n in nested {
            used.extend(func.op(n).operands.iter().copied());
        }
        if used.iter().any(|v| active.contains(v)) {
            active.extend(data.results.iter().copied().filter(|&r| is_float(func.ty(r))));
        }
    }
    active
}

/// The cotangent accumulated so far for each value.
#[derive(Default)]
struct Cotangents(HashMap<ValueId, ValueId>);

impl Cotangents {
    fn get(&self, v: ValueId) -> Option<ValueId> {
        self.0.get(&v).copied()
    }

    /// Adds `g` to the cotangent of `v`.
    fn accumulate(&mut self, b: &mut Builder, v: ValueId, g: ValueId) -> Result<(), Diag> {
        let sum = match self.0.get(&v) {
            Some(&prev) => b.binary(&ADD, prev, g)?,
            None => g,
        };
        self.0.insert(v, sum);
        Ok(())
    }
}

/// Zeros of `v`'s type.
fn zeros(b: &mut Builder, v: ValueId) -> Result<ValueId, Diag> {
    let t = b.func.ty(v).as_tensor().cloned().ok_or_else(|| Diag::error(Loc::Unknown, "not a tensor"))?;
    let zero = b.scalar(t.dtype, 0.0)?;
    b.broadcast_to(zero, &t.dims)
}

/// Runs the gradient rule of one forward op, if a cotangent reaches it and
/// an operand wants one, and accumulates the operands' gradients.
fn backward_op(b: &mut Builder, op: tessera_ir::OpId, active: &HashSet<ValueId>, cot: &mut Cotangents) -> Result<(), Diag> {
    let data = b.func.op(op).clone();
    let cotangents: Vec<Option<ValueId>> = data.results.iter().map(|&r| cot.get(r)).collect();
    if cotangents.iter().all(Option::is_none) {
        return Ok(());
    }
    let wants: Vec<bool> = data.operands.iter().map(|v| active.contains(v) && is_float(b.func.ty(*v))).collect();
    if !wants.contains(&true) {
        return Ok(());
    }
    let name = data.def.name();
    b.set_loc(data.loc.clone());
    let grads = {
        let mut cx = VjpCx::new(b, data.operands.clone(), data.results.clone(), cotangents, wants.clone(), data.attrs.clone(), data.loc.clone());
        data.def.vjp(&mut cx).map_err(|d| Diag { message: format!("cannot differentiate '{name}': {}", d.message), ..d })?
    };
    if grads.len() != data.operands.len() {
        return Err(Diag::error(data.loc, format!("the gradient rule of '{name}' gave {} gradient(s) for {} operand(s)", grads.len(), data.operands.len())));
    }
    for (i, (&v, gv)) in data.operands.iter().zip(grads).enumerate() {
        let Some(gv) = gv.filter(|_| wants[i]) else { continue };
        if b.func.ty(gv) != b.func.ty(v) {
            return Err(Diag::error(
                data.loc,
                format!("the gradient rule of '{name}' gave operand #{i} a gradient of type {}, expected {}", b.func.ty(gv), b.func.ty(v)),
            ));
        }
        cot.accumulate(b, v, gv)?;
    }
    Ok(())
}
