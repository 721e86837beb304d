//! ONNX converters: the activation family. Each activation decomposes into
//! elementwise `tg.` ops (`tg.sigmoid`, `tg.tanh` and `tg.erf` are
//! primitives; Gelu, Mish, HardSwish, Softplus, ... are compositions).
//! Softmax, LogSoftmax and Hardmax reduce along an axis: from opset 13 a
//! single `axis` (default -1); before, the input is viewed as 2-D around
//! `axis` (default 1), so they act on all trailing axes together.
//! Softmax and LogSoftmax subtract the maximum first for stability.

use super::cx::NodeCx;
use super::elementwise::{binary, cast_to, offset, scalar_like, scale, select, unary};
use super::reduce::reduce;
use super::registry::Convert;
use tessera_ir::dialect::graph::elementwise::{
    ABS, ADD, DIV, EQ, ERF, EXP, GT, LOG, LT, MAX, MIN, MUL, SIGMOID, SUB, TANH,
};
use tessera_ir::dialect::graph::reduce::{ARGMAX, REDUCE_MAX, REDUCE_SUM};
use tessera_ir::dialect::graph::shape::{IOTA, RESHAPE};
use tessera_ir::infer::normalize_axis;
use tessera_ir::{Attr, Attrs, DType, Dim, ValueId};

fn relu(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let zero = scalar_like(cx, x, 0.0)?;
    Ok(vec![binary(cx, &MAX, x, zero)?])
}

/// `x > 0 ? x : negative(x)`.
fn piecewise(
    cx: &mut NodeCx,
    x: ValueId,
    negative: impl FnOnce(&mut NodeCx) -> Result<ValueId, String>,
) -> Result<ValueId, String> {
    let zero = scalar_like(cx, x, 0.0)?;
    let positive = binary(cx, &GT, x, zero)?;
    let neg = negative(cx)?;
    select(cx, positive, x, neg)
}

fn leaky_relu(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let alpha = f64::from(cx.attr_float("alpha", 0.01));
    Ok(vec![piecewise(cx, x, |cx| scale(cx, x, alpha))?])
}

/// PRelu: `slope` broadcasts to `x` (unidirectionally).
fn prelu(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (x, slope) = (cx.input(0)?, cx.input(1)?);
    Ok(vec![piecewise(cx, x, |cx| binary(cx, &MUL, x, slope))?])
}

/// `alpha * (e^x - 1)`.
fn expm1_scaled(cx: &mut NodeCx, x: ValueId, alpha: f64) -> Result<ValueId, String> {
    let e = unary(cx, &EXP, x)?;
    let e = offset(cx, e, -1.0)?;
    scale(cx, e, alpha)
}

fn elu(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let alpha = f64::from(cx.attr_float("alpha", 1.0));
    Ok(vec![piecewise(cx, x, |cx| expm1_scaled(cx, x, alpha))?])
}

fn selu(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let alpha = f64::from(cx.attr_float("alpha", 1.673_263_2));
    let gamma = f64::from(cx.attr_float("gamma", 1.050_701));
    let y = piecewise(cx, x, |cx| expm1_scaled(cx, x, alpha))?;
    Ok(vec![scale(cx, y, gamma)?])
}

/// Celu: `max(0, x) + min(0, alpha * (e^(x / alpha) - 1))`.
fn celu(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let alpha = f64::from(cx.attr_float("alpha", 1.0));
    if alpha == 0.0 {
        return Err("attribute 'alpha' must not be 0".into());
    }
    let zero = scalar_like(cx, x, 0.0)?;
    let pos = binary(cx, &MAX, x, zero)?;
    let xa = scale(cx, x, 1.0 / alpha)?;
    let e = expm1_scaled(cx, xa, alpha)?;
    let neg = binary(cx, &MIN, e, zero)?;
    Ok(vec![binary(cx, &ADD, pos, neg)?])
}

fn sigmoid(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    Ok(vec![unary(cx, &SIGMOID, x)?])
}

fn tanh(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    Ok(vec![unary(cx, &TANH, x)?])
}

/// `max(0, min(1, alpha * x + beta))`.
fn hard_sigmoid_of(cx: &mut NodeCx, x: ValueId, alpha: f64, beta: f64) -> Result<ValueId, String> {
    let y = scale(cx, x, alpha)?;
    let y = offset(cx, y, beta)?;
    let one = scalar_like(cx, x, 1.0)?;
    let zero = scalar_like(cx, x, 0.0)?;
    let y = binary(cx, &MIN, y, one)?;
    binary(cx, &MAX, y, zero)
}

fn hard_sigmoid(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let (alpha, beta) = (f64::from(cx.attr_float("alpha", 0.2)), f64::from(cx.attr_float("beta", 0.5)));
    Ok(vec![hard_sigmoid_of(cx, x, alpha, beta)?])
}

fn hard_swish(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let gate = hard_sigmoid_of(cx, x, 1.0 / 6.0, 0.5)?;
    Ok(vec![binary(cx, &MUL, x, gate)?])
}

/// `ln(1 + e^x)` as `max(x, 0) + ln(1 + e^-|x|)`, which cannot overflow.
fn softplus_of(cx: &mut NodeCx, x: ValueId) -> Result<ValueId, String> {
    let zero = scalar_like(cx, x, 0.0)?;
    let pos = binary(cx, &MAX, x, zero)?;
    let a = unary(cx, &ABS, x)?;
    let na = scale(cx, a, -1.0)?;
    let e = unary(cx, &EXP, na)?;
    let e = offset(cx, e, 1.0)?;
    let l = unary(cx, &LOG, e)?;
    binary(cx, &ADD, pos, l)
}

fn softplus(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    Ok(vec![softplus_of(cx, x)?])
}

/// `x / (1 + |x|)`.
fn softsign(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let a = unary(cx, &ABS, x)?;
    let d = offset(cx, a, 1.0)?;
    Ok(vec![binary(cx, &DIV, x, d)?])
}

/// Gelu (opset 20): `0.5 x (1 + erf(x / sqrt 2))`, or with
/// `approximate = "tanh"`, `0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))`.
fn gelu(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let inner = match cx.attr_str("approximate", "none").as_str() {
        "none" => {
            let s = scale(cx, x, std::f64::consts::FRAC_1_SQRT_2)?;
            unary(cx, &ERF, s)?
        }
        "tanh" => {
            let x2 = binary(cx, &MUL, x, x)?;
            let x3 = binary(cx, &MUL, x2, x)?;
            let c = scale(cx, x3, 0.044_715)?;
            let s = binary(cx, &ADD, x, c)?;
            let s = scale(cx, s, (2.0 / std::f64::consts::PI).sqrt())?;
            unary(cx, &TANH, s)?
        }
        a => return Err(format!("attribute 'approximate' = '{a}' must be 'none' or 'tanh'")),
    };
    let gate = offset(cx, inner, 1.0)?;
    let half = scale(cx, x, 0.5)?;
    Ok(vec![binary(cx, &MUL, half, gate)?])
}

/// `x tanh(softplus(x))`.
fn mish(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let sp = softplus_of(cx, x)?;
    let t = unary(cx, &TANH, sp)?;
    Ok(vec![binary(cx, &MUL, x, t)?])
}

/// `x > alpha ? x : 0`.
fn thresholded_relu(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let alpha = f64::from(cx.attr_float("alpha", 1.0));
    let a = scalar_like(cx, x, alpha)?;
    let keep = binary(cx, &GT, x, a)?;
    let zero = scalar_like(cx, x, 0.0)?;
    Ok(vec![select(cx, keep, x, zero)?])
}

/// `x < -lambd ? x + bias : x > lambd ? x - bias : 0`.
fn shrink(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let (lambd, bias) = (f64::from(cx.attr_float("lambd", 0.5)), f64::from(cx.attr_float("bias", 0.0)));
    let lo = scalar_like(cx, x, -lambd)?;
    let hi = scalar_like(cx, x, lambd)?;
    let below = binary(cx, &LT, x, lo)?;
    let above = binary(cx, &GT, x, hi)?;
    let b = scalar_like(cx, x, bias)?;
    let up = binary(cx, &ADD, x, b)?;
    let down = binary(cx, &SUB, x, b)?;
    let zero = scalar_like(cx, x, 0.0)?;
    let inner = select(cx, above, down, zero)?;
    Ok(vec![select(cx, below, up, inner)?])
}

/// Swish (opset 24): `x sigmoid(alpha x)`.
fn swish(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let alpha = f64::from(cx.attr_float("alpha", 1.0));
    let ax = scale(cx, x, alpha)?;
    let s = unary(cx, &SIGMOID, ax)?;
    Ok(vec![binary(cx, &MUL, x, s)?])
}

/// The axes Softmax, LogSoftmax and Hardmax act on: `axis` alone from
/// opset 13, `axis..rank` (the 2-D view) before.
fn softmax_axes(cx: &NodeCx, rank: usize) -> Result<Vec<i64>, String> {
    let legacy = cx.opset < 13;
    let axis = cx.attr_int("axis", if legacy { 1 } else { -1 });
    if rank == 0 {
        return Err("the input has rank 0: there is no axis to normalise over".into());
    }
    let axis = normalize_axis(axis, rank).map_err(|e| format!("attribute 'axis': {e}"))?;
    Ok(if legacy { (axis..rank).map(|a| a as i64).collect() } else { vec![axis as i64] })
}

/// `x - max(x)` over `axes`, the maximum kept as size-1 axes.
fn shifted(cx: &mut NodeCx, x: ValueId, axes: &[i64]) -> Result<ValueId, String> {
    let m = reduce(cx, &REDUCE_MAX, x, axes, true)?;
    binary(cx, &SUB, x, m)
}

fn softmax(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let axes = softmax_axes(cx, cx.rank(x)?)?;
    let s = shifted(cx, x, &axes)?;
    let e = unary(cx, &EXP, s)?;
    let total = reduce(cx, &REDUCE_SUM, e, &axes, true)?;
    Ok(vec![binary(cx, &DIV, e, total)?])
}

/// `(x - max) - ln(sum(e^(x - max)))`.
fn log_softmax(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let axes = softmax_axes(cx, cx.rank(x)?)?;
    let s = shifted(cx, x, &axes)?;
    let e = unary(cx, &EXP, s)?;
    let total = reduce(cx, &REDUCE_SUM, e, &axes, true)?;
    let l = unary(cx, &LOG, total)?;
    Ok(vec![binary(cx, &SUB, s, l)?])
}

/// Hardmax: 1 at the first maximum along the axis (or, before opset 13,
/// across the flattened trailing axes), 0 elsewhere.
fn hardmax(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let ty = cx.ty(x)?;
    let axes = softmax_axes(cx, ty.rank())?;
    let axis = axes.first().map_or(0, |&a| a as usize);
    // View the trailing axes as one when there are several (opset < 13).
    let flat = if axes.len() > 1 {
        let trailing = ty.dims[axis..].iter().fold(Dim::Known(1), |acc, d| acc.mul(d));
        let mut dims = ty.dims[..axis].to_vec();
        dims.push(trailing);
        cx.op(&RESHAPE, &[x], Attrs::from([("shape", Attr::shape(&dims))]))?
    } else {
        x
    };
    let flat_dims = cx.dims(flat)?;
    let arg =
        cx.op(&ARGMAX, &[flat], Attrs::from([("axis", Attr::Int(axis as i64)), ("keepdims", Attr::Bool(true))]))?;
    let index = cx.op(
        &IOTA,
        &[],
        Attrs::from([
            ("shape", Attr::shape(&flat_dims)),
            ("dtype", Attr::DType(DType::I64)),
            ("axis", Attr::Int(axis as i64)),
        ]),
    )?;
    let hit = binary(cx, &EQ, index, arg)?;
    let y = cast_to(cx, hit, ty.dtype)?;
    if axes.len() > 1 {
        return Ok(vec![cx.op(&RESHAPE, &[y], Attrs::from([("shape", Attr::shape(&ty.dims))]))?]);
    }
    Ok(vec![y])
}

/// The converters of this family, by ONNX operator name.
pub(super) const CONVERTERS: &[(&str, Convert)] = &[
    ("Relu", relu),
    ("LeakyRelu", leaky_relu),
    ("PRelu", prelu),
    ("Elu", elu),
    ("Selu", selu),
    ("Celu", celu),
    ("Sigmoid", sigmoid),
    ("HardSigmoid", hard_sigmoid),
    ("HardSwish", hard_swish),
    ("Tanh", tanh),
    ("Softplus", softplus),
    ("Softsign", softsign),
    ("Gelu", gelu),
    ("Mish", mish),
    ("ThresholdedRelu", thresholded_relu),
    ("Shrink", shrink),
    ("Swish", swish),
    ("Softmax", softmax),
    ("LogSoftmax", log_softmax),
    ("Hardmax", hardmax),
];

#[cfg(test)]
mod tests {
    use super::super::elementwise::testing::*;

    #[test]
    fn softmax_axis_semantics_change_at_opset_13() {
        let x = || vec![value("x", FLOAT, &[-1, 3, 4])];
        let old = ir(&model(11, "Softmax", x(), vec![], &["x"], vec![]));
        assert!(old.contains("tg.reduce_max %x {axes = [1, 2], keepdims = true}"), "{old}");
        let new = ir(&model(13, "Softmax", x(), vec![], &["x"], vec![]));
        assert!(new.contains("tg.reduce_max %x {axes = [2], keepdims = true}"), "{new}");
        let m = model(13, "LogSoftmax", x(), vec![], &["x"], vec![int("axis", 0)]);
        let text = ir(&m);
        assert!(text.contains("{axes = [0], keepdims = true}") && text.contains("tg.log"), "{text}");
        assert_eq!(result_type(&m), "tensor<N x 3 x 4 x f32>");
    }

    #[test]
    fn hardmax_before_13_flattens_the_trailing_axes() {
        let m = model(11, "Hardmax", vec![value("x", FLOAT, &[2, 3, 4])], vec![], &["x"], vec![]);
        let text = ir(&m);
        assert!(text.contains("tg.reshape %x {shape = [2, 12]}"), "{text}");
        assert!(text.contains("tg.argmax") && text.contains("tg.iota"), "{text}");
        assert_eq!(result_type(&m), "tensor<2x3x4xf32>");
        let m = model(13, "Hardmax", vec![value("x", FLOAT, &[2, 3, 4])], vec![], &["x"], vec![]);
        assert!(!ir(&m).contains("tg.reshape"));
    }

    #[test]
    fn gelu_tanh_and_unknown_approximation() {
        let x = || vec![value("x", FLOAT, &[4])];
        let text = ir(&model(20, "Gelu", x(), vec![], &["x"], vec![string("approximate", "tanh")]));
        assert!(text.contains("tg.tanh") && !text.contains("tg.erf"), "{text}");
        assert!(ir(&model(20, "Gelu", x(), vec![], &["x"], vec![])).contains("tg.erf"));
        let err = error(&model(20, "Gelu", x(), vec![], &["x"], vec![string("approximate", "fast")]));
        assert!(err.contains("attribute 'approximate' = 'fast'"), "{err}");
    }

    #[test]
    fn prelu_broadcasts_the_slope() {
        let m = model(
            16,
            "PRelu",
            vec![value("x", FLOAT, &[2, 3, 4]), value("s", FLOAT, &[3, 1])],
            vec![],
            &["x", "s"],
            vec![],
        );
        let text = ir(&m);
        assert!(text.contains("tg.mul %x, %s") && text.contains("tg.select"), "{text}");
        assert_eq!(result_type(&m), "tensor<2x3x4xf32>");
    }
}
