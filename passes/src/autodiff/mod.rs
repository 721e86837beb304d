//! Reverse-mode automatic differentiation (`grad`): from a function and the
//! arguments to differentiate, a new function that computes the original
//! outputs and the vector-Jacobian products for those arguments.
//!
//! The forward ops are kept as they are; the backward ops follow them in
//! the same block, built by each op's `vjp` hook in reverse order
//! ([`sweep`]), with the gradients of a value used several times summed by
//! `tg.add`. Only float values are differentiated: an op is visited when
//! one of its float operands (or a value its regions use) depends on a
//! differentiated argument and a cotangent reaches one of its results.
//! Calls are inlined first ([`grad_with`] takes the callees). By default
//! every forward value the backward ops read is saved (kept alive);
//! [`Recompute::Cheap`] recomputes cheap ones in the backward pass instead
//! ([`recompute`]). The result is ordinary graph IR: it prints, verifies
//! and evaluates like any other function.

mod params;
mod recompute;
mod sweep;
#[cfg(test)]
pub(crate) mod tests;
#[cfg(test)]
mod control_tests;
#[cfg(test)]
mod coverage_tests;
#[cfg(test)]
mod more_tests;

pub use params::params_to_args;

use crate::lower::inline::inline_calls;
use sweep::{active_values, is_float, Cotangents, Sweep};
use tessera_ir::builder::Builder;
use tessera_ir::infer::SymbolTable;
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

/// Which forward values the backward pass reads from the forward pass.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum Recompute {
    /// Every forward value a rule reads is kept alive until its backward use.
    #[default]
    Save,
    /// Values of cheap ops (elementwise, broadcasts, reshapes, transposes,
    /// constants) are computed again right before their backward uses, from
    /// the saved values of the other ops, so only those stay alive.
    Cheap,
}

/// How [`grad_with`] differentiates, beyond what [`GradSpec`] names.
#[derive(Clone, Debug, Default)]
pub struct GradOptions {
    /// The functions a `tg.call` may name; calls are inlined before differentiating.
    pub callees: Vec<Func>,
    /// The save-versus-recompute policy.
    pub recompute: Recompute,
}

/// Builds `name(args..., [seeds...]) -> (outputs..., gradients...)` from
/// `func`, which must be a single-block function ending in `tg.return`,
/// saving every forward value and calling no function.
pub fn grad(func: &Func, symbols: &dyn SymbolTable, spec: &GradSpec) -> Result<Func, Diag> {
    grad_with(func, symbols, spec, &GradOptions::default())
}

/// [`grad`] with the callees of `tg.call` (inlined first) and a policy.
pub fn grad_with(func: &Func, symbols: &dyn SymbolTable, spec: &GradSpec, options: &GradOptions) -> Result<Func, Diag> {
    let inlined = if options.callees.is_empty() {
        std::borrow::Cow::Borrowed(func)
    } else {
        inline_calls(func, &options.callees, symbols).map_err(|d| d.0.into_iter().next().unwrap_or_else(|| Diag::error(func.loc.clone(), "inlining failed")))?
    };
    let mut g = inlined.into_owned();
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
    let forward_ops = g.block(entry).ops.clone();
    let active = active_values(&g, &forward_ops, wrt.iter().copied());
    let mut seeds = Vec::new();
    if spec.seed == Seed::Args {
        for &o in &outputs {
            let ty = g.ty(o).clone();
            seeds.push(g.add_block_arg(entry, ty));
        }
    }
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
    Sweep.ops(&mut b, &forward_ops, &active, &mut cot)?;
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
    if options.recompute == Recompute::Cheap {
        recompute::cheap_values(&mut g, &forward_ops);
    }
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

/// Zeros of `v`'s type.
fn zeros(b: &mut Builder, v: ValueId) -> Result<ValueId, Diag> {
    let t = b.func.ty(v).as_tensor().cloned().ok_or_else(|| Diag::error(Loc::Unknown, "not a tensor"))?;
    let zero = b.scalar(t.dtype, 0.0)?;
    b.broadcast_to(zero, &t.dims)
}
