//! Training and inference forms of the ops that have both
//! (`tg.batch_stats`, `tg.dropout`; see `tessera_ir::dialect::graph::mode`).
//!
//! Training ([`training_mode`]), with ONNX's training-mode formulas:
//! - `tg.batch_stats %x, %rm, %rv {axes, momentum}` becomes the batch's
//!   mean and population (biased) variance over `axes`; when `%rm`/`%rv`
//!   are arguments (parameters turned into arguments), their new values
//!   `momentum * running + (1 - momentum) * batch` become extra results.
//!   (PyTorch updates the running variance with the unbiased variance
//!   instead; ONNX and its reference implementation use the biased one.)
//! - `tg.dropout %x {ratio = p}` becomes `x * (u >= p ? 1 / (1 - p) : 0)`
//!   with `u` uniform in `[0, 1)` from [`super::random::uniform`], keyed by
//!   the seed and the dropout's position, and drawn afresh for each value
//!   of a counter argument.
//!
//! Inference ([`inference_mode`]): each op is replaced by what it passes
//! through (the running statistics, `x`).

use super::random::uniform;
use crate::autodiff::return_op;
use std::collections::HashMap;
use tessera_ir::dialect::graph::{elementwise as ew, mode};
use tessera_ir::infer::SymbolTable;
use tessera_ir::op::same_op;
use tessera_ir::{Attrs, Builder, DType, Diag, Dim, Func, InsertPoint, Module, OpId, Type, ValueId};

/// A function switched to training mode.
#[derive(Clone, Debug)]
pub struct TrainingForm {
    /// The function: the original's arguments, then (when it has a
    /// dropout) a rank-0 f64 counter; the original's results, then the
    /// updated running statistics.
    pub func: Func,
    /// For each updated running statistic, in result order, the argument
    /// (by position) it is the new value of.
    pub updates: Vec<usize>,
    /// Whether `func` takes the trailing counter argument.
    pub counter: bool,
}

/// The ops of `func` with a training form: in its entry block, or an error
/// for one inside a region (a loop body cannot carry running statistics).
fn modal_ops(func: &Func) -> Result<Vec<OpId>, Diag> {
    let entry = func.entry();
    let mut found = Vec::new();
    for op in func.walk() {
        let data = func.op(op);
        if same_op(data.def, &mode::BATCH_STATS) || same_op(data.def, &mode::DROPOUT) {
            if data.block != Some(entry) {
                return Err(Diag::error(data.loc.clone(), format!("'{}' inside a region cannot train", data.def.name())));
            }
            found.push(op);
        }
    }
    Ok(found)
}

/// `func` in training mode, its dropouts drawing from `seed`.
pub fn training_mode(func: &Func, symbols: &dyn SymbolTable, seed: u64) -> Result<TrainingForm, Diag> {
    let mut f = func.clone();
    let entry = f.entry();
    let ret = return_op(&f)?;
    let ops = modal_ops(&f)?;
    let counter = ops.iter().any(|&op| same_op(f.op(op).def, &mode::DROPOUT));
    let counter_arg = counter.then(|| f.add_block_arg(entry, Type::tensor(Vec::new(), DType::F64)));
    let args = f.args().to_vec();
    let mut updates: Vec<(usize, ValueId)> = Vec::new();
    for (ordinal, &op) in ops.iter().enumerate() {
        let data = f.op(op).clone();
        let mut b = Builder::new(&mut f, symbols);
        b.set_insert_point(InsertPoint::Before(op));
        b.set_loc(data.loc.clone());
        let attrs = |name: &str| data.attrs.get(name).cloned();
        let replaced = match counter_arg.filter(|_| same_op(data.def, &mode::DROPOUT)) {
            Some(counter) => {
                let ratio = attrs("ratio").and_then(|a| a.as_float()).unwrap_or(0.5);
                let stream = seed.wrapping_add((ordinal as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
                vec![dropout(&mut b, data.operands[0], ratio, stream, counter)?]
            }
            None => {
                let axes = attrs("axes").and_then(|a| a.as_ints()).unwrap_or_default();
                let momentum = attrs("momentum").and_then(|a| a.as_float()).unwrap_or(0.9);
                let [x, running_mean, running_var] = data.operands[..] else {
                    return Err(Diag::error(data.loc.clone(), "tg.batch_stats takes three operands"));
                };
                let stats = batch_stats(&mut b, x, &axes)?;
                for (running, batch) in [(running_mean, stats[0]), (running_var, stats[1])] {
                    let Some(arg) = args.iter().position(|&a| a == running) else { continue };
                    if updates.iter().any(|&(a, _)| a == arg) {
                        return Err(Diag::error(data.loc.clone(), format!("argument #{arg} is the running statistic of two batch normalisations")));
                    }
                    updates.push((arg, running_average(&mut b, running, batch, momentum)?));
                }
                stats
            }
        };
        let map: HashMap<ValueId, ValueId> = data.results.iter().copied().zip(replaced).collect();
        f.erase_op(op);
        f.replace_uses(&map);
    }
    let returned = f.op(ret).operands.clone();
    f.op_mut(ret).operands.extend(updates.iter().map(|&(_, v)| v));
    f.results = returned.iter().chain(updates.iter().map(|(_, v)| v)).map(|&v| f.ty(v).clone()).collect();
    Ok(TrainingForm { func: f, updates: updates.into_iter().map(|(a, _)| a).collect(), counter })
}

/// The mean and population variance of `x` over `axes`, reshaped to the
/// running statistics' shape (`x`'s dims without `axes`).
fn batch_stats(b: &mut Builder, x: ValueId, axes: &[i64]) -> Result<Vec<ValueId>, Diag> {
    let dims = tensor_dims(b, x)?;
    let kept: Vec<Dim> = (0..dims.len() as i64).filter(|a| !axes.contains(a)).map(|a| dims[a as usize].clone()).collect();
    let mean = super::loss::mean_over(b, x, axes, true)?;
    let centered = b.binary(&ew::SUB, x, mean)?;
    let squared = b.binary(&ew::MUL, centered, centered)?;
    let var = super::loss::mean_over(b, squared, axes, true)?;
    Ok(vec![b.reshape(mean, &kept)?, b.reshape(var, &kept)?])
}

/// `momentum * running + (1 - momentum) * batch`.
fn running_average(b: &mut Builder, running: ValueId, batch: ValueId, momentum: f64) -> Result<ValueId, Diag> {
    let dtype = b.func.ty(running).as_tensor().map_or(DType::F32, |t| t.dtype);
    let keep = b.scalar(dtype, momentum)?;
    let take = b.scalar(dtype, 1.0 - momentum)?;
    let kept = b.binary(&ew::MUL, running, keep)?;
    let taken = b.binary(&ew::MUL, batch, take)?;
    b.binary(&ew::ADD, kept, taken)
}

/// `x * (u >= ratio ? 1 / (1 - ratio) : 0)` for uniform `u` of `x`'s shape.
fn dropout(b: &mut Builder, x: ValueId, ratio: f64, seed: u64, counter: ValueId) -> Result<ValueId, Diag> {
    let dims = tensor_dims(b, x)?;
    let dtype = b.func.ty(x).as_tensor().map_or(DType::F32, |t| t.dtype);
    let u = uniform(b, &dims, seed, counter)?;
    let p = b.scalar(DType::F32, ratio)?;
    let keep = b.binary(&ew::GE, u, p)?;
    let scale = b.scalar(dtype, 1.0 / (1.0 - ratio))?;
    let zero = b.scalar(dtype, 0.0)?;
    let factor = b.op(&ew::SELECT, &[keep, scale, zero], Attrs::new())?;
    b.binary(&ew::MUL, x, factor)
}

/// The dims of tensor `v`.
fn tensor_dims(b: &Builder, v: ValueId) -> Result<Vec<Dim>, Diag> {
    b.func.ty(v).as_tensor().map(|t| t.dims.clone()).ok_or_else(|| Diag::error(Default::default(), "expected a tensor"))
}

/// `module` with every function in inference mode: each `tg.batch_stats`
/// replaced by its running statistics, each `tg.dropout` by its input.
pub fn inference_mode(module: &mut Module) {
    for f in &mut module.funcs {
        let ops: Vec<OpId> =
            f.walk().into_iter().filter(|&op| same_op(f.op(op).def, &mode::BATCH_STATS) || same_op(f.op(op).def, &mode::DROPOUT)).collect();
        for op in ops {
            let data = f.op(op).clone();
            let through = if same_op(data.def, &mode::DROPOUT) { &data.operands[..1] } else { &data.operands[1..] };
            let map: HashMap<ValueId, ValueId> = data.results.iter().copied().zip(through.iter().copied()).collect();
            f.erase_op(op);
            f.replace_uses(&map);
        }
    }
}
