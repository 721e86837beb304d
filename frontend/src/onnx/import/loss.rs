//! ONNX converters: the loss family. NegativeLogLikelihoodLoss picks each
//! sample's target-class input with `tg.gather_elements` along the class
//! axis, zeroes the samples whose target is `ignore_index` with
//! `tg.select` (after pointing their index at class 0 so the gather stays
//! in range), weights them by the class weights gathered the same way, and
//! reduces (none, sum, or the weighted mean). SoftmaxCrossEntropyLoss is
//! the same on a max-subtracted log-softmax over the class axis, which it
//! also returns as its optional second output.

use super::attention::shifted;
use super::cx::NodeCx;
use super::elementwise::{binary, cast_to, scalar_like, select, unary};
use super::reduce::reduce;
use super::registry::Convert;
use super::shape::reshape_to;
use tessera_ir::dialect::graph::elementwise::{DIV, EXP, LOG, MUL, NE, NEG, SUB};
use tessera_ir::dialect::graph::reduce::{REDUCE_PROD, REDUCE_SUM};
use tessera_ir::dialect::graph::{index, shape};
use tessera_ir::{Attr, Attrs, DType, Dim, ValueId};

/// The converters of this family, by ONNX operator name.
pub(super) const CONVERTERS: &[(&str, Convert)] = &[
    ("NegativeLogLikelihoodLoss", negative_log_likelihood_loss),
    ("SoftmaxCrossEntropyLoss", softmax_cross_entropy_loss),
];

/// `log(softmax(x))` along `axis`: `(x - max) - log Σ e^(x - max)`.
fn log_softmax(cx: &mut NodeCx, x: ValueId, axis: i64) -> Result<ValueId, String> {
    let z = shifted(cx, x, axis)?;
    let e = unary(cx, &EXP, z)?;
    let sum = reduce(cx, &REDUCE_SUM, e, &[axis], true)?;
    let log_sum = unary(cx, &LOG, sum)?;
    binary(cx, &SUB, z, log_sum)
}

/// The number of elements of `x` as a rank-0 value of `dtype`: a constant
/// when x's shape is static, else the product of `tg.shape_of`.
fn element_count(cx: &mut NodeCx, x: ValueId, dtype: DType) -> Result<ValueId, String> {
    let dims = cx.dims(x)?;
    if let Some(sizes) = dims.iter().map(Dim::known).collect::<Option<Vec<u64>>>() {
        return cx.scalar(dtype, sizes.iter().product::<u64>() as f64);
    }
    let shape = cx.op(&shape::SHAPE_OF, &[x], Attrs::new())?;
    let count = reduce(cx, &REDUCE_PROD, shape, &[0], false)?;
    cast_to(cx, count, dtype)
}

/// The negative log-likelihood of `log_prob` (`[N, C, d1, ...]`) at the
/// classes `target` (`[N, d1, ...]`), with the node's `reduction`,
/// `ignore_index` and optional class `weight` (`[C]`).
fn nll(cx: &mut NodeCx, log_prob: ValueId, target: ValueId, weight: Option<ValueId>) -> Result<ValueId, String> {
    let reduction = cx.attr_str("reduction", "mean");
    if !matches!(reduction.as_str(), "none" | "sum" | "mean") {
        return Err(format!("attribute 'reduction' = '{reduction}' must be none, sum or mean"));
    }
    let (x_dims, t_dims) = (cx.dims(log_prob)?, cx.dims(target)?);
    if x_dims.len() < 2 || t_dims.len() + 1 != x_dims.len() {
        let (x, t) = (cx.ty(log_prob)?, cx.ty(target)?);
        return Err(format!("the input must be [N, C, d1, ...] and the target [N, d1, ...], got {x} and {t}"));
    }
    let target = cast_to(cx, target, DType::I64)?;
    let (valid, class) = match cx.attr("ignore_index").map(|a| a.i) {
        Some(ignored) => {
            let ignored = cx.scalar(DType::I64, ignored as f64)?;
            let valid = binary(cx, &NE, target, ignored)?;
            let zero = cx.scalar(DType::I64, 0.0)?;
            (Some(valid), select(cx, valid, target, zero)?)
        }
        None => (None, target),
    };
    let mut index_dims = t_dims.clone();
    index_dims.insert(1, Dim::Known(1));
    let index = reshape_to(cx, class, &index_dims)?;
    let picked = cx.op(&index::GATHER_ELEMENTS, &[log_prob, index], Attrs::from([("axis", Attr::Int(1))]))?;
    let picked = reshape_to(cx, picked, &t_dims)?;
    let mut loss = unary(cx, &NEG, picked)?;
    if let Some(valid) = valid {
        let zero = scalar_like(cx, loss, 0.0)?;
        loss = select(cx, valid, loss, zero)?;
    }
    // Per-sample weights (0 where ignored), when the mean needs them.
    let dtype = cx.ty(loss)?.dtype;
    let weights = match (weight, valid) {
        (Some(w), _) => {
            let w = cx.op(&index::GATHER, &[w, class], Attrs::from([("axis", Attr::Int(0))]))?;
            let w = match valid {
                Some(valid) => {
                    let zero = scalar_like(cx, w, 0.0)?;
                    select(cx, valid, w, zero)?
                }
                None => w,
            };
            loss = binary(cx, &MUL, loss, w)?;
            Some(w)
        }
        (None, Some(valid)) => Some(cast_to(cx, valid, dtype)?),
        (None, None) => None,
    };
    if reduction == "none" {
        return Ok(loss);
    }
    let all: Vec<i64> = (0..t_dims.len() as i64).collect();
    let total = reduce(cx, &REDUCE_SUM, loss, &all, false)?;
    if reduction == "sum" {
        return Ok(total);
    }
    let denominator = match weights {
        Some(w) => reduce(cx, &REDUCE_SUM, w, &all, false)?,
        None => element_count(cx, loss, dtype)?,
    };
    binary(cx, &DIV, total, denominator)
}

/// NegativeLogLikelihoodLoss (opsets 12, 13, 22; the same semantics):
/// `-input[n, target[n, d], d] · weight[target[n, d]]`, 0 where the target
/// is `ignore_index`, then reduced: `none`, `sum`, or `mean` (the sum over
/// the sum of the applied weights).
fn negative_log_likelihood_loss(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (x, target, weight) = (cx.input(0)?, cx.input(1)?, cx.opt_input(2)?);
    Ok(vec![nll(cx, x, target, weight)?])
}

/// SoftmaxCrossEntropyLoss (opsets 12, 13, 22; the same semantics):
/// NegativeLogLikelihoodLoss of `log_softmax(scores)` over the class axis 1;
/// the second output is that log-softmax.
fn softmax_cross_entropy_loss(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (scores, labels, weight) = (cx.input(0)?, cx.input(1)?, cx.opt_input(2)?);
    if cx.rank(scores)? < 2 {
        return Err(format!("the scores must be [N, C, d1, ...], got {}", cx.ty(scores)?));
    }
    let log_prob = log_softmax(cx, scores, 1)?;
    Ok(vec![nll(cx, log_prob, labels, weight)?, log_prob])
}

#[cfg(test)]
mod tests {
    use crate::onnx::import::elementwise::testing::*;

    #[test]
    fn nll_with_weight_and_ignore_index_is_a_weighted_mean() {
        let inputs = vec![value("x", FLOAT, &[-1, 5, 2]), value("t", INT64, &[-1, 2]), value("w", FLOAT, &[5])];
        let m = model(22, "NegativeLogLikelihoodLoss", inputs, vec![], &["x", "t", "w"], vec![int("ignore_index", -1)]);
        let text = ir(&m);
        assert!(text.contains("tg.gather_elements") && text.contains("tg.select") && text.contains("tg.ne"), "{text}");
        assert_eq!(text.matches("tg.reduce_sum").count(), 2, "loss sum and weight sum: {text}");
        assert_eq!(result_type(&m), "tensor<f32>");
    }

    #[test]
    fn nll_mean_over_a_symbolic_batch_counts_elements() {
        let inputs = vec![value("x", FLOAT, &[-1, 3]), value("t", INT64, &[-1])];
        let m = model(13, "NegativeLogLikelihoodLoss", inputs, vec![], &["x", "t"], vec![]);
        let text = ir(&m);
        assert!(text.contains("tg.shape_of") && text.contains("tg.reduce_prod"), "{text}");
        let inputs = vec![value("x", FLOAT, &[2, 3]), value("t", INT64, &[2])];
        let m = model(13, "NegativeLogLikelihoodLoss", inputs, vec![], &["x", "t"], vec![string("reduction", "max")]);
        assert!(error(&m).contains("attribute 'reduction' = 'max'"), "{}", error(&m));
    }

    #[test]
    fn softmax_cross_entropy_returns_the_log_softmax() {
        let inputs = vec![value("x", FLOAT, &[3, 5, 2]), value("t", INT64, &[3, 2])];
        let mut m = model(13, "SoftmaxCrossEntropyLoss", inputs, vec![], &["x", "t"], vec![string("reduction", "none")]);
        if let Some(g) = m.graph.as_mut() {
            g.node[0].output.push("log_prob".into());
            g.output.push(crate::onnx::proto::ValueInfoProto { name: "log_prob".into(), ..Default::default() });
        }
        let text = ir(&m);
        let sig = text.lines().find(|l| l.starts_with("func @main")).unwrap_or_default().to_string();
        assert!(sig.ends_with("-> (tensor<3x2xf32>, tensor<3x5x2xf32>) {"), "{sig}");
        assert!(text.contains("tg.log") && text.contains("tg.exp"), "{text}");
    }
}
