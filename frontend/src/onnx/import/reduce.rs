//! ONNX converters: the reduce family. `Reduce*` map onto `tg.reduce_sum`,
//! `_prod`, `_max` and `_min`, composed with elementwise ops for L1, L2,
//! LogSum, LogSumExp, SumSquare and Mean. The axes are an attribute up to
//! opset 12 (ReduceSum) or 17 (the others) and an optional input after, when
//! `noop_with_empty_axes` also appears; absent or empty axes reduce every
//! axis, unless that flag is set, when nothing is reduced (the elementwise
//! part still applies). `keepdims` defaults to 1. ArgMax/ArgMin map onto
//! `tg.argmax`/`tg.argmin`, CumSum (axis as an input) onto `tg.cumsum`.

use super::cx::NodeCx;
use super::elementwise::{binary, cast_to, scalar_like, select, unary};
use super::registry::Convert;
use tessera_ir::dialect::graph::elementwise::{ABS, ADD, DIV, EXP, IS_INF, LOG, MUL, SQRT, SUB};
use tessera_ir::dialect::graph::index::GATHER;
use tessera_ir::dialect::graph::reduce::{ARGMAX, ARGMIN, CUMPROD, CUMSUM, REDUCE_MAX, REDUCE_MIN, REDUCE_PROD, REDUCE_SUM};
use tessera_ir::dialect::graph::shape::{RESHAPE, SHAPE_OF};
use tessera_ir::infer::normalize_axes;
use tessera_ir::{Attr, Attrs, DType, Dim, OpRef, ValueId};

/// `def(x)` over `axes` (which may be negative; `[]` reduces nothing). The
/// op gets them normalised, so that every reduction the importer builds
/// (Softmax's, Attention's, ReduceSum's...) spells its axes one way.
pub(super) fn reduce(cx: &mut NodeCx, def: OpRef, x: ValueId, axes: &[i64], keepdims: bool) -> Result<ValueId, String> {
    let axes: Vec<i64> = normalize_axes(axes, cx.rank(x)?).map_err(|e| format!("axes: {e}"))?.into_iter().map(|a| a as i64).collect();
    cx.op(def, &[x], Attrs::from([("axes", Attr::ints(&axes)), ("keepdims", Attr::Bool(keepdims))]))
}

/// The axes a `Reduce*` node reduces, normalised: from the `axes` attribute
/// before opset `input_since`, from the optional input #1 from then on.
fn reduce_axes(cx: &NodeCx, x: ValueId, input_since: i64) -> Result<Vec<i64>, String> {
    let rank = cx.rank(x)?;
    let (axes, noop) = if cx.opset < input_since {
        (cx.attr_ints("axes").unwrap_or_default(), false)
    } else {
        let axes = if cx.opt_input(1)?.is_some() { cx.const_ints(1)? } else { Vec::new() };
        (axes, cx.attr_int("noop_with_empty_axes", 0) != 0)
    };
    if axes.is_empty() {
        return Ok(if noop { Vec::new() } else { (0..rank as i64).collect() });
    }
    let axes = normalize_axes(&axes, rank).map_err(|e| format!("axes: {e}"))?;
    Ok(axes.into_iter().map(|a| a as i64).collect())
}

/// What one `Reduce*` node reduces: its input, axes and `keepdims`.
struct Reduction {
    x: ValueId,
    axes: Vec<i64>,
    keepdims: bool,
}

/// Reads a `Reduce*` node whose axes became an input at opset `input_since`.
fn reduction(cx: &NodeCx, input_since: i64) -> Result<Reduction, String> {
    let x = cx.input(0)?;
    let axes = reduce_axes(cx, x, input_since)?;
    Ok(Reduction { x, axes, keepdims: cx.attr_int("keepdims", 1) != 0 })
}

/// Opset from which ReduceSum takes its axes as an input.
const SUM_AXES_INPUT: i64 = 13;
/// Opset from which the other `Reduce*` take their axes as an input.
const AXES_INPUT: i64 = 18;

fn reduce_sum(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let r = reduction(cx, SUM_AXES_INPUT)?;
    Ok(vec![reduce(cx, &REDUCE_SUM, r.x, &r.axes, r.keepdims)?])
}

fn reduce_prod(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let r = reduction(cx, AXES_INPUT)?;
    Ok(vec![reduce(cx, &REDUCE_PROD, r.x, &r.axes, r.keepdims)?])
}

/// ReduceMax / ReduceMin; a bool input (opset 20) goes through `u8`.
fn extreme(cx: &mut NodeCx, def: OpRef) -> Result<Vec<ValueId>, String> {
    let r = reduction(cx, AXES_INPUT)?;
    let dtype = cx.ty(r.x)?.dtype;
    if dtype == DType::I1 {
        let bytes = cast_to(cx, r.x, DType::U8)?;
        let y = reduce(cx, def, bytes, &r.axes, r.keepdims)?;
        return Ok(vec![cast_to(cx, y, DType::I1)?]);
    }
    Ok(vec![reduce(cx, def, r.x, &r.axes, r.keepdims)?])
}

fn reduce_max(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    extreme(cx, &REDUCE_MAX)
}

fn reduce_min(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    extreme(cx, &REDUCE_MIN)
}

/// The number of elements of `x` along `axes`, as a rank-0 tensor of `x`'s
/// dtype: a constant when those dims are static, computed from
/// `tg.shape_of` otherwise.
fn count(cx: &mut NodeCx, x: ValueId, axes: &[i64]) -> Result<ValueId, String> {
    let dims = cx.dims(x)?;
    let picked: Vec<Dim> = axes.iter().map(|&a| dims[a as usize].clone()).collect();
    if let Some(n) = picked.iter().map(Dim::known).product::<Option<u64>>() {
        return scalar_like(cx, x, n as f64);
    }
    let shape = cx.op(&SHAPE_OF, &[x], Attrs::new())?;
    let idx = cx.ints_constant(axes)?;
    let sizes = cx.op(&GATHER, &[shape, idx], Attrs::from([("axis", Attr::Int(0))]))?;
    let n = reduce(cx, &REDUCE_PROD, sizes, &[0], false)?;
    let dtype = cx.ty(x)?.dtype;
    cast_to(cx, n, dtype)
}

fn reduce_mean(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let r = reduction(cx, AXES_INPUT)?;
    let total = reduce(cx, &REDUCE_SUM, r.x, &r.axes, r.keepdims)?;
    let n = count(cx, r.x, &r.axes)?;
    Ok(vec![binary(cx, &DIV, total, n)?])
}

fn reduce_l1(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let r = reduction(cx, AXES_INPUT)?;
    let a = unary(cx, &ABS, r.x)?;
    Ok(vec![reduce(cx, &REDUCE_SUM, a, &r.axes, r.keepdims)?])
}

fn sum_square(cx: &mut NodeCx, r: &Reduction) -> Result<ValueId, String> {
    let sq = binary(cx, &MUL, r.x, r.x)?;
    reduce(cx, &REDUCE_SUM, sq, &r.axes, r.keepdims)
}

fn reduce_sum_square(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let r = reduction(cx, AXES_INPUT)?;
    Ok(vec![sum_square(cx, &r)?])
}

/// `def(x)` for a float-only unary op; integers go through f64 and back.
fn float_unary(cx: &mut NodeCx, def: OpRef, x: ValueId) -> Result<ValueId, String> {
    let dtype = cx.ty(x)?.dtype;
    if dtype.is_float() {
        return unary(cx, def, x);
    }
    let wide = cast_to(cx, x, DType::F64)?;
    let y = unary(cx, def, wide)?;
    cast_to(cx, y, dtype)
}

fn reduce_l2(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let r = reduction(cx, AXES_INPUT)?;
    let s = sum_square(cx, &r)?;
    Ok(vec![float_unary(cx, &SQRT, s)?])
}

fn reduce_log_sum(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let r = reduction(cx, AXES_INPUT)?;
    let s = reduce(cx, &REDUCE_SUM, r.x, &r.axes, r.keepdims)?;
    Ok(vec![float_unary(cx, &LOG, s)?])
}

/// `ln(sum(e^(x - m))) + m` with `m` the maximum (0 where it is infinite,
/// so that an all-infinite or empty slice gives inf or -inf, not NaN).
fn reduce_log_sum_exp(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let r = reduction(cx, AXES_INPUT)?;
    let dtype = cx.ty(r.x)?.dtype;
    if !dtype.is_float() {
        return Err(format!("input #0 has dtype {dtype}; ReduceLogSumExp needs a float input"));
    }
    let m = reduce(cx, &REDUCE_MAX, r.x, &r.axes, true)?;
    let inf = unary(cx, &IS_INF, m)?;
    let zero = scalar_like(cx, m, 0.0)?;
    let m = select(cx, inf, zero, m)?;
    let shifted = binary(cx, &SUB, r.x, m)?;
    let e = unary(cx, &EXP, shifted)?;
    let s = reduce(cx, &REDUCE_SUM, e, &r.axes, r.keepdims)?;
    let l = unary(cx, &LOG, s)?;
    let m = if r.keepdims {
        m
    } else {
        let dims = cx.dims(l)?;
        cx.op(&RESHAPE, &[m], Attrs::from([("shape", Attr::shape(&dims))]))?
    };
    Ok(vec![binary(cx, &ADD, l, m)?])
}

/// ArgMax / ArgMin: `axis` (default 0), `keepdims` (default 1),
/// `select_last_index` (opset 12, default 0; written on the op only when
/// set, as the other converters that build an argmax leave it off).
fn arg_reduce(cx: &mut NodeCx, def: OpRef) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let mut attrs = Attrs::from([("axis", Attr::Int(cx.attr_int("axis", 0))), ("keepdims", Attr::Bool(cx.attr_int("keepdims", 1) != 0))]);
    if cx.attr_int("select_last_index", 0) != 0 {
        attrs.set("select_last_index", Attr::Bool(true));
    }
    Ok(vec![cx.op(def, &[x], attrs)?])
}

fn arg_max(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    arg_reduce(cx, &ARGMAX)
}

fn arg_min(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    arg_reduce(cx, &ARGMIN)
}

/// CumSum: the axis is input #1, a constant scalar (or one-element tensor).
fn cum_sum(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    cumulative(cx, &CUMSUM)
}

/// CumProd: as CumSum, with products.
fn cum_prod(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    cumulative(cx, &CUMPROD)
}

fn cumulative(cx: &mut NodeCx, def: OpRef) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let axis = match cx.const_ints(1)?.as_slice() {
        [a] => *a,
        other => return Err(format!("input #1 (axis) must hold one integer, got {other:?}")),
    };
    let attrs = Attrs::from([
        ("axis", Attr::Int(axis)),
        ("exclusive", Attr::Bool(cx.attr_int("exclusive", 0) != 0)),
        ("reverse", Attr::Bool(cx.attr_int("reverse", 0) != 0)),
    ]);
    Ok(vec![cx.op(def, &[x], attrs)?])
}

/// The converters of this family, by ONNX operator name.
pub(super) const CONVERTERS: &[(&str, Convert)] = &[
    ("ReduceSum", reduce_sum),
    ("ReduceMean", reduce_mean),
    ("ReduceMax", reduce_max),
    ("ReduceMin", reduce_min),
    ("ReduceProd", reduce_prod),
    ("ReduceL1", reduce_l1),
    ("ReduceL2", reduce_l2),
    ("ReduceLogSum", reduce_log_sum),
    ("ReduceLogSumExp", reduce_log_sum_exp),
    ("ReduceSumSquare", reduce_sum_square),
    ("ArgMax", arg_max),
    ("ArgMin", arg_min),
    ("CumSum", cum_sum),
    ("CumProd", cum_prod),
];

#[cfg(test)]
mod tests {
    use super::super::elementwise::testing::*;

    #[test]
    fn axes_move_from_attribute_to_input() {
        let x = || vec![value("x", FLOAT, &[2, 3, 4])];
        let m = model(11, "ReduceSum", x(), vec![], &["x"], vec![ints("axes", &[-1])]);
        assert!(ir(&m).contains("tg.reduce_sum %x {axes = [2], keepdims = true}"));
        assert_eq!(result_type(&m), "tensor<2x3x1xf32>");
        let m = model(13, "ReduceSum", x(), vec![i64s("a", &[2], &[0, 2])], &["x", "a"], vec![int("keepdims", 0)]);
        assert_eq!(result_type(&m), "tensor<3xf32>");
        // ReduceMax moved at 18: at 13 the axes are still an attribute.
        let m = model(13, "ReduceMax", x(), vec![], &["x"], vec![ints("axes", &[1])]);
        assert_eq!(result_type(&m), "tensor<2x1x4xf32>");
        let m = model(18, "ReduceMax", x(), vec![i64s("a", &[1], &[1])], &["x", "a"], vec![]);
        assert_eq!(result_type(&m), "tensor<2x1x4xf32>");
    }

    #[test]
    fn empty_axes_reduce_everything_unless_noop() {
        let x = || vec![value("x", FLOAT, &[2, 3])];
        let m = model(18, "ReduceL2", x(), vec![], &["x"], vec![int("keepdims", 0)]);
        assert_eq!(result_type(&m), "tensor<f32>");
        let m = model(
            18,
            "ReduceSumSquare",
            x(),
            vec![i64s("a", &[0], &[])],
            &["x", "a"],
            vec![int("noop_with_empty_axes", 1)],
        );
        let text = ir(&m);
        assert!(text.contains("tg.mul %x, %x") && text.contains("axes = []"), "{text}");
        assert_eq!(result_type(&m), "tensor<2x3xf32>");
    }

    #[test]
    fn axes_given_at_run_time_are_an_error() {
        let m = model(
            18,
            "ReduceMean",
            vec![value("x", FLOAT, &[2]), value("a", INT64, &[1])],
            vec![],
            &["x", "a"],
            vec![],
        );
        assert!(error(&m).contains("input #1 ('a') must be a constant integer tensor"));
    }

    #[test]
    fn mean_over_a_symbolic_axis_counts_at_run_time() {
        let m = model(13, "ReduceMean", vec![value("x", FLOAT, &[-1, 4])], vec![], &["x"], vec![ints("axes", &[0, 1])]);
        let text = ir(&m);
        assert!(text.contains("tg.shape_of") && text.contains("tg.reduce_prod"), "{text}");
        assert_eq!(result_type(&m), "tensor<1x1xf32>");
        let m = model(13, "ReduceMean", vec![value("x", FLOAT, &[-1, 4])], vec![], &["x"], vec![ints("axes", &[1])]);
        assert!(ir(&m).contains("dense<4.0>"));
    }

    #[test]
    fn bool_max_and_log_sum_exp() {
        let m =
            model(20, "ReduceMax", vec![value("x", BOOL, &[2, 3])], vec![i64s("a", &[1], &[1])], &["x", "a"], vec![]);
        let text = ir(&m);
        assert!(text.contains("{to = u8}") && text.contains("{to = i1}"), "{text}");
        let m = model(
            18,
            "ReduceLogSumExp",
            vec![value("x", FLOAT, &[2, 3])],
            vec![i64s("a", &[1], &[1])],
            &["x", "a"],
            vec![int("keepdims", 0)],
        );
        let text = ir(&m);
        assert!(text.contains("tg.is_inf") && text.contains("tg.reshape"), "{text}");
        assert_eq!(result_type(&m), "tensor<2xf32>");
    }

    #[test]
    fn argmax_and_cumsum_attributes() {
        let m = model(
            13,
            "ArgMax",
            vec![value("x", FLOAT, &[2, 3])],
            vec![],
            &["x"],
            vec![int("axis", 1), int("keepdims", 0)],
        );
        assert_eq!(result_type(&m), "tensor<2xi64>");
        let m = model(
            14,
            "CumSum",
            vec![value("x", FLOAT, &[2, 3])],
            vec![i64s("a", &[], &[-1])],
            &["x", "a"],
            vec![int("reverse", 1)],
        );
        assert!(ir(&m).contains("tg.cumsum %x {axis = -1, exclusive = false, reverse = true}"));
    }
}
