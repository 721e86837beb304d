//! Ops whose meaning depends on whether the model trains:
//! `tg.batch_stats` (the statistics a batch normalisation divides by) and
//! `tg.dropout`. Their reference semantics are inference's — the running
//! statistics, the identity — so a marked model evaluates, differentiates
//! and exports as before; the training-step builder
//! (`tessera_passes::train`) rewrites each into its training form
//! (batch statistics with a running-average update; a seeded random mask).

use crate::diag::Diag;
use crate::dtype::DTypeClass;
use crate::eval::EvalCx;
use crate::infer::InferCx;
use crate::op::{Arity, AttrKind, AttrSpec, OpDef, OpRef, OpSpec};
use crate::tensor::Tensor;
use crate::types::Type;
use crate::vjp::{Grads, VjpCx};

/// Attribute `name` as a float in `[0, 1)`.
fn fraction(cx: &InferCx, name: &str) -> Result<f64, String> {
    let v = cx.attr(name)?.as_float().ok_or_else(|| format!("attribute '{name}' must be a float"))?;
    if (0.0..1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("attribute '{name}' = {v} must be in [0, 1)"))
    }
}

/// `%mean, %var = tg.batch_stats %x, %running_mean, %running_var {axes = [0, 2, 3], momentum = 0.9}`:
/// the mean and variance a batch normalisation of `x` uses. At inference
/// (its reference semantics) they are the running statistics; in training
/// they are the mean and population variance of `x` over `axes`, reshaped
/// to the running statistics' shape, and the running statistics become
/// `momentum * running + (1 - momentum) * batch` (ONNX's convention).
pub struct BatchStats;

impl OpDef for BatchStats {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec = OpSpec::new(
            "tg.batch_stats",
            "the statistics normalising x: the running mean and variance at inference, the batch's in training",
        )
        .operands(Arity::Exactly(3))
        .results(Arity::Exactly(2))
        .attrs(&[AttrSpec::req("axes", AttrKind::Ints), AttrSpec::req("momentum", AttrKind::Float)]);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let x = cx.tensor_of(0, DTypeClass::Float)?;
        let (mean, var) = (cx.tensor(1)?, cx.tensor(2)?);
        if mean != var || mean.dtype != x.dtype {
            return Err(format!("the running statistics {mean} and {var} must have one type, of x's dtype {}", x.dtype));
        }
        let axes = cx.axes("axes", x.rank())?;
        let kept: Vec<_> = (0..x.rank()).filter(|a| !axes.contains(a)).map(|a| x.dims[a].clone()).collect();
        let same = kept.len() == mean.rank() && kept.iter().zip(&mean.dims).all(|(k, m)| k.known().is_none() || m.known().is_none() || k == m);
        if !same {
            return Err(format!("x {x} reduced over {axes:?} does not match the running statistics {mean}"));
        }
        fraction(cx, "momentum")?;
        Ok(vec![Type::Tensor(mean.clone()), Type::Tensor(var.clone())])
    }
    fn eval(&self, cx: &mut EvalCx) -> Result<Vec<Tensor>, String> {
        Ok(vec![cx.input(1)?.clone(), cx.input(2)?.clone()])
    }
    fn vjp(&self, cx: &mut VjpCx) -> Result<Grads, Diag> {
        Ok(vec![None, cx.cotangent(0), cx.cotangent(1)])
    }
}

/// The `tg.batch_stats` op.
pub static BATCH_STATS: BatchStats = BatchStats;

/// `%y = tg.dropout %x {ratio = 0.5}`: the identity at inference (its
/// reference semantics); in training, each element is zeroed with
/// probability `ratio` and the others scaled by `1 / (1 - ratio)`.
pub struct Dropout;

impl OpDef for Dropout {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec = OpSpec::new("tg.dropout", "x at inference; in training, x with a random `ratio` of it zeroed, rescaled")
            .attrs(&[AttrSpec::req("ratio", AttrKind::Float)]);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let x = cx.tensor_of(0, DTypeClass::Float)?;
        fraction(cx, "ratio")?;
        Ok(vec![Type::Tensor(x.clone())])
    }
    fn eval(&self, cx: &mut EvalCx) -> Result<Vec<Tensor>, String> {
        Ok(vec![cx.input(0)?.clone()])
    }
    fn vjp(&self, cx: &mut VjpCx) -> Result<Grads, Diag> {
        Ok(vec![cx.cotangent(0)])
    }
}

/// The `tg.dropout` op.
pub static DROPOUT: Dropout = Dropout;

/// Every op declared in this file.
pub static OPS: &[OpRef] = &[&BATCH_STATS, &DROPOUT];

#[cfg(test)]
mod tests {
    use super::super::testing::eval_op;
    use super::*;
    use crate::attr::{Attr, Attrs};
    use crate::dtype::DType;
    use crate::infer::{infer_standalone, NoSymbols};
    use crate::types::TensorType;

    fn stats_attrs(axes: &[i64], momentum: f64) -> Attrs {
        Attrs::from([("axes", Attr::ints(axes)), ("momentum", Attr::Float(momentum))])
    }

    #[test]
    fn inference_semantics_are_the_running_statistics_and_the_identity() {
        let x = Tensor::convert_f64(DType::F32, vec![2, 2], &[1.0, 2.0, 3.0, 4.0]).unwrap();
        let (m, v) = (Tensor::convert_f64(DType::F32, vec![2], &[0.5, -1.0]).unwrap(), Tensor::convert_f64(DType::F32, vec![2], &[2.0, 3.0]).unwrap());
        let out = eval_op(&BATCH_STATS, &[x.clone(), m.clone(), v.clone()], &stats_attrs(&[0], 0.9)).unwrap();
        assert_eq!((out[0].to_f64s(), out[1].to_f64s()), (m.to_f64s(), v.to_f64s()));
        let out = eval_op(&DROPOUT, std::slice::from_ref(&x), &Attrs::from([("ratio", Attr::Float(0.5))])).unwrap();
        assert_eq!(out[0].to_f64s(), x.to_f64s());
    }

    #[test]
    fn statistics_must_match_the_reduced_input() {
        let ty = |d: &[u64]| Type::Tensor(TensorType::of(d, DType::F32));
        let infer = |x: &[u64], s: &[u64], attrs: &Attrs| infer_standalone(&BATCH_STATS, &[ty(x), ty(s), ty(s)], attrs, &NoSymbols);
        assert_eq!(infer(&[4, 3, 5], &[3], &stats_attrs(&[0, 2], 0.9)).unwrap(), vec![ty(&[3]), ty(&[3])]);
        let e = infer(&[4, 3, 5], &[5], &stats_attrs(&[0, 2], 0.9)).unwrap_err();
        assert!(e.contains("does not match"), "{e}");
        let e = infer(&[4, 3], &[3], &stats_attrs(&[0], 1.5)).unwrap_err();
        assert!(e.contains("must be in [0, 1)"), "{e}");
        let e = infer_standalone(&DROPOUT, &[ty(&[2])], &Attrs::from([("ratio", Attr::Float(1.0))]), &NoSymbols).unwrap_err();
        assert!(e.contains("must be in [0, 1)"), "{e}");
    }
}
