//! Losses as graph IR, each a mean over the batch (PyTorch's default
//! `reduction="mean"`), built from a prediction and a target value.

use tessera_ir::dialect::graph::{elementwise as ew, index, reduce};
use tessera_ir::{Attr, Attrs, Builder, DType, Diag, Loc, ValueId};

/// A loss function.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Loss {
    /// Cross-entropy of logits `[N, C]` against class indices `[N]` (any integer dtype).
    CrossEntropy,
    /// Cross-entropy of logits `[N, C]` against class probabilities `[N, C]`.
    CrossEntropyProbs,
    /// Mean squared error over every element.
    Mse,
    /// Binary cross-entropy of probabilities against targets in `[0, 1]`
    /// (PyTorch's `BCELoss`: each log clamped at -100).
    Bce,
    /// Binary cross-entropy of logits (PyTorch's `BCEWithLogitsLoss`).
    BceWithLogits,
}

impl Loss {
    /// The loss named `name` on the command line.
    pub fn parse(name: &str) -> Result<Loss, String> {
        Ok(match name {
            "cross-entropy" => Loss::CrossEntropy,
            "cross-entropy-probs" => Loss::CrossEntropyProbs,
            "mse" => Loss::Mse,
            "bce" => Loss::Bce,
            "bce-with-logits" => Loss::BceWithLogits,
            _ => {
                return Err(format!(
                    "unknown loss '{name}' (known: cross-entropy, cross-entropy-probs, mse, bce, bce-with-logits)"
                ))
            }
        })
    }

    /// Whether the target holds class indices (an integer tensor of rank one less).
    pub fn takes_indices(self) -> bool {
        self == Loss::CrossEntropy
    }

    /// Builds the rank-0 loss of `pred` against `target`.
    pub fn build(self, b: &mut Builder, pred: ValueId, target: ValueId) -> Result<ValueId, Diag> {
        let dtype = b.func.ty(pred).as_tensor().map(|t| t.dtype).unwrap_or(DType::F32);
        match self {
            Loss::CrossEntropy => {
                let logp = log_softmax(b, pred)?;
                let dims = dims(b, target)?;
                let mut column = dims.clone();
                column.push(tessera_ir::Dim::Known(1));
                let idx = b.reshape(target, &column)?;
                let picked = b.op(&index::GATHER_ELEMENTS, &[logp, idx], Attrs::from([("axis", Attr::Int(1))]))?;
                let m = mean(b, picked)?;
                b.unary(&ew::NEG, m)
            }
            Loss::CrossEntropyProbs => {
                let logp = log_softmax(b, pred)?;
                let prod = b.binary(&ew::MUL, target, logp)?;
                let per_row = b.reduce(&reduce::REDUCE_SUM, prod, &[1], false)?;
                let m = mean(b, per_row)?;
                b.unary(&ew::NEG, m)
            }
            Loss::Mse => {
                let d = b.binary(&ew::SUB, pred, target)?;
                let sq = b.binary(&ew::MUL, d, d)?;
                mean(b, sq)
            }
            Loss::Bce => {
                let floor = b.scalar(dtype, -100.0)?;
                let one = b.scalar(dtype, 1.0)?;
                let lp = b.unary(&ew::LOG, pred)?;
                let lp = b.binary(&ew::MAX, lp, floor)?;
                let q = b.binary(&ew::SUB, one, pred)?;
                let lq = b.unary(&ew::LOG, q)?;
                let lq = b.binary(&ew::MAX, lq, floor)?;
                let nt = b.binary(&ew::SUB, one, target)?;
                let a = b.binary(&ew::MUL, target, lp)?;
                let c = b.binary(&ew::MUL, nt, lq)?;
                let s = b.binary(&ew::ADD, a, c)?;
                let m = mean(b, s)?;
                b.unary(&ew::NEG, m)
            }
            Loss::BceWithLogits => {
                // max(x, 0) - x t + log(1 + e^-|x|)
                let zero = b.scalar(dtype, 0.0)?;
                let one = b.scalar(dtype, 1.0)?;
                let relu = b.binary(&ew::MAX, pred, zero)?;
                let xt = b.binary(&ew::MUL, pred, target)?;
                let abs = b.unary(&ew::ABS, pred)?;
                let na = b.unary(&ew::NEG, abs)?;
                let e = b.unary(&ew::EXP, na)?;
                let p = b.binary(&ew::ADD, one, e)?;
                let l = b.unary(&ew::LOG, p)?;
                let d = b.binary(&ew::SUB, relu, xt)?;
                let s = b.binary(&ew::ADD, d, l)?;
                mean(b, s)
            }
        }
    }
}

/// The dims of `v`.
fn dims(b: &Builder, v: ValueId) -> Result<Vec<tessera_ir::Dim>, Diag> {
    b.func
        .ty(v)
        .as_tensor()
        .map(|t| t.dims.clone())
        .ok_or_else(|| Diag::error(Loc::Unknown, "a loss operand must be a tensor"))
}

/// `x - max(x) - log(sum(exp(x - max(x))))` along axis 1.
fn log_softmax(b: &mut Builder, x: ValueId) -> Result<ValueId, Diag> {
    let m = b.reduce(&reduce::REDUCE_MAX, x, &[1], true)?;
    let z = b.binary(&ew::SUB, x, m)?;
    let e = b.unary(&ew::EXP, z)?;
    let s = b.reduce(&reduce::REDUCE_SUM, e, &[1], true)?;
    let l = b.unary(&ew::LOG, s)?;
    b.binary(&ew::SUB, z, l)
}

/// The mean of every element of `x`.
fn mean(b: &mut Builder, x: ValueId) -> Result<ValueId, Diag> {
    let all: Vec<i64> = (0..dims(b, x)?.len() as i64).collect();
    mean_over(b, x, &all, false)
}

/// The mean of `x` over `axes` (the count comes from the shape, so a
/// symbolic batch works).
pub(super) fn mean_over(b: &mut Builder, x: ValueId, axes: &[i64], keepdims: bool) -> Result<ValueId, Diag> {
    let dims = dims(b, x)?;
    let dtype = b.func.ty(x).as_tensor().map(|t| t.dtype).unwrap_or(DType::F32);
    let sum = b.reduce(&reduce::REDUCE_SUM, x, axes, keepdims)?;
    let reduced: Vec<&tessera_ir::Dim> = axes.iter().filter_map(|&a| dims.get(a as usize)).collect();
    let count = match reduced.iter().map(|d| d.known()).product::<Option<u64>>() {
        Some(n) => b.scalar(dtype, n as f64)?,
        None => {
            let one = b.scalar(dtype, 1.0)?;
            let ones = b.broadcast_to(one, &dims)?;
            b.reduce(&reduce::REDUCE_SUM, ones, axes, keepdims)?
        }
    };
    b.binary(&ew::DIV, sum, count)
}
