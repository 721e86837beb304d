//! ONNX converters: the elementwise family. Arithmetic, logic, bitwise and
//! comparison operators map onto one `tg.` binary op each (numpy
//! broadcasting is the op's own); the variadic ones (Max, Min, Sum, Mean)
//! fold pairwise; unary math maps onto `tg.` unary ops; Cast, CastLike,
//! Clip, IsInf, Pow and Mod adapt attributes and dtypes.
//!
//! The small building helpers at the top (`unary`, `binary`, `scalar_like`,
//! `cast_to`) are shared with the activation, reduce and math families.

use super::cx::NodeCx;
use super::registry::Convert;
use crate::onnx::tensor::{dtype_from_onnx, onnx_dtype_name};
use tessera_ir::dialect::graph::elementwise::{
    ABS, ACOS, ACOSH, ADD, AND, ASIN, ASINH, ATAN, ATANH, BITAND, BITNOT, BITOR, BITXOR, CAST, CEIL, COS, COSH, DIV,
    EQ, ERF, EXP, FLOOR, GE, GT, IS_INF, IS_NAN, LE, LOG, LT, MAX, MIN, MOD, MUL, NEG, NOT, OR, POW, RECIPROCAL, REM,
    ROUND, SELECT, SHL, SHR, SIGN, SIN, SINH, SQRT, SUB, TAN, XOR,
};
use tessera_ir::{Attr, Attrs, DType, OpRef, ValueId};

/// `def(x)` for a unary `tg.` op.
pub(super) fn unary(cx: &mut NodeCx, def: OpRef, x: ValueId) -> Result<ValueId, String> {
    cx.op(def, &[x], Attrs::new())
}

/// `def(a, b)` for a binary (or, for `tg.select`, ternary) `tg.` op.
pub(super) fn binary(cx: &mut NodeCx, def: OpRef, a: ValueId, b: ValueId) -> Result<ValueId, String> {
    cx.op(def, &[a, b], Attrs::new())
}

/// `cond ? a : b`, broadcasting all three.
pub(super) fn select(cx: &mut NodeCx, cond: ValueId, a: ValueId, b: ValueId) -> Result<ValueId, String> {
    cx.op(&SELECT, &[cond, a, b], Attrs::new())
}

/// A rank-0 constant `v` with the dtype of `x`.
pub(super) fn scalar_like(cx: &mut NodeCx, x: ValueId, v: f64) -> Result<ValueId, String> {
    let dtype = cx.ty(x)?.dtype;
    cx.scalar(dtype, v)
}

/// `x` converted to `dtype` (itself when it already has that dtype).
pub(super) fn cast_to(cx: &mut NodeCx, x: ValueId, dtype: DType) -> Result<ValueId, String> {
    if cx.ty(x)?.dtype == dtype {
        return Ok(x);
    }
    cx.op(&CAST, &[x], Attrs::from([("to", Attr::DType(dtype))]))
}

/// `x * k` for a float constant `k` (no op when `k` is 1).
pub(super) fn scale(cx: &mut NodeCx, x: ValueId, k: f64) -> Result<ValueId, String> {
    if k == 1.0 {
        return Ok(x);
    }
    let k = scalar_like(cx, x, k)?;
    binary(cx, &MUL, x, k)
}

/// `x + k` for a float constant `k` (no op when `k` is 0).
pub(super) fn offset(cx: &mut NodeCx, x: ValueId, k: f64) -> Result<ValueId, String> {
    if k == 0.0 {
        return Ok(x);
    }
    let k = scalar_like(cx, x, k)?;
    binary(cx, &ADD, x, k)
}

/// Converters that map an ONNX operator with `n` inputs onto one `tg.` op.
macro_rules! direct {
    ($($name:ident => $def:expr, $n:expr;)*) => {
        $(
            fn $name(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
                direct(cx, $def, $n)
            }
        )*
    };
}

/// Applies `def` to the node's `n` inputs.
fn direct(cx: &mut NodeCx, def: OpRef, n: usize) -> Result<Vec<ValueId>, String> {
    let inputs = (0..n).map(|i| cx.input(i)).collect::<Result<Vec<_>, _>>()?;
    if cx.num_inputs() > n {
        return Err(format!("expected {n} input(s), got {}", cx.num_inputs()));
    }
    Ok(vec![cx.op(def, &inputs, Attrs::new())?])
}

direct! {
    add => &ADD, 2;
    sub => &SUB, 2;
    mul => &MUL, 2;
    div => &DIV, 2;
    and => &AND, 2;
    or => &OR, 2;
    xor => &XOR, 2;
    not => &NOT, 1;
    bitwise_and => &BITAND, 2;
    bitwise_or => &BITOR, 2;
    bitwise_xor => &BITXOR, 2;
    bitwise_not => &BITNOT, 1;
    equal => &EQ, 2;
    less => &LT, 2;
    less_or_equal => &LE, 2;
    greater => &GT, 2;
    greater_or_equal => &GE, 2;
    where_ => &SELECT, 3;
    abs => &ABS, 1;
    neg => &NEG, 1;
    exp => &EXP, 1;
    log => &LOG, 1;
    sqrt => &SQRT, 1;
    reciprocal => &RECIPROCAL, 1;
    floor => &FLOOR, 1;
    ceil => &CEIL, 1;
    round => &ROUND, 1;
    sign => &SIGN, 1;
    erf => &ERF, 1;
    sin => &SIN, 1;
    cos => &COS, 1;
    tan => &TAN, 1;
    asin => &ASIN, 1;
    acos => &ACOS, 1;
    atan => &ATAN, 1;
    sinh => &SINH, 1;
    cosh => &COSH, 1;
    asinh => &ASINH, 1;
    acosh => &ACOSH, 1;
    atanh => &ATANH, 1;
    is_nan => &IS_NAN, 1;
}

/// Folds the node's inputs (one or more, broadcasting) with `def`.
fn variadic(cx: &mut NodeCx, def: OpRef) -> Result<ValueId, String> {
    let inputs = cx.inputs()?;
    let (&first, rest) = inputs.split_first().ok_or("expected at least one input")?;
    rest.iter().try_fold(first, |acc, &x| binary(cx, def, acc, x))
}

fn max(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    Ok(vec![variadic(cx, &MAX)?])
}

fn min(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    Ok(vec![variadic(cx, &MIN)?])
}

fn sum(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    Ok(vec![variadic(cx, &ADD)?])
}

fn mean(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let total = variadic(cx, &ADD)?;
    let n = scalar_like(cx, total, cx.num_inputs() as f64)?;
    Ok(vec![binary(cx, &DIV, total, n)?])
}

/// Pow: the exponent may have another dtype than the base (opset 12+); the
/// result has the base's. An integer base with a float exponent is raised
/// in the exponent's dtype and converted back, as numpy does.
fn pow(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (base, exponent) = (cx.input(0)?, cx.input(1)?);
    let (bt, et) = (cx.ty(base)?.dtype, cx.ty(exponent)?.dtype);
    if !bt.is_float() && et.is_float() {
        let wide = cast_to(cx, base, et)?;
        let r = binary(cx, &POW, wide, exponent)?;
        return Ok(vec![cast_to(cx, r, bt)?]);
    }
    let exponent = cast_to(cx, exponent, bt)?;
    Ok(vec![binary(cx, &POW, base, exponent)?])
}

/// Mod: `fmod = 1` keeps the dividend's sign (`tg.rem`), `fmod = 0` the
/// divisor's (`tg.mod`, integers only in ONNX).
fn mod_(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (a, b) = (cx.input(0)?, cx.input(1)?);
    let def = match cx.attr_int("fmod", 0) {
        0 => &MOD,
        1 => &REM,
        f => return Err(format!("attribute 'fmod' = {f} must be 0 or 1")),
    };
    Ok(vec![binary(cx, def, a, b)?])
}

fn bit_shift(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (x, y) = (cx.input(0)?, cx.input(1)?);
    let def = match cx.attr_str("direction", "").as_str() {
        "LEFT" => &SHL,
        "RIGHT" => &SHR,
        d => return Err(format!("attribute 'direction' = '{d}' must be LEFT or RIGHT")),
    };
    Ok(vec![binary(cx, def, x, y)?])
}

/// IsInf: `detect_positive` / `detect_negative` (both 1 by default) choose
/// which infinities count.
fn is_inf(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let (pos, neg) = (cx.attr_int("detect_positive", 1) != 0, cx.attr_int("detect_negative", 1) != 0);
    let inf = unary(cx, &IS_INF, x)?;
    let sign = match (pos, neg) {
        (true, true) => return Ok(vec![inf]),
        (true, false) => {
            let zero = scalar_like(cx, x, 0.0)?;
            binary(cx, &GT, x, zero)?
        }
        (false, true) => {
            let zero = scalar_like(cx, x, 0.0)?;
            binary(cx, &LT, x, zero)?
        }
        (false, false) => cx.scalar(DType::I1, 0.0)?,
    };
    Ok(vec![binary(cx, &AND, inf, sign)?])
}

/// Cast: `to` names an ONNX element type; `saturate` and `round_mode` only
/// matter for the float8/float4 types tessera does not have.
fn cast(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let code = cx.attr("to").map(|a| a.i).ok_or("attribute 'to' is required")?;
    let code = i32::try_from(code).map_err(|_| format!("attribute 'to' = {code} is not an ONNX element type"))?;
    let dtype = dtype_from_onnx(code)
        .ok_or_else(|| format!("attribute 'to' = {} is an element type tessera does not support", onnx_dtype_name(code)))?;
    Ok(vec![cast_to(cx, x, dtype)?])
}

fn cast_like(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (x, like) = (cx.input(0)?, cx.input(1)?);
    let dtype = cx.ty(like)?.dtype;
    Ok(vec![cast_to(cx, x, dtype)?])
}

/// Clip: bounds are the float attributes `min`/`max` before opset 11 and
/// optional scalar inputs from then on; either bound may be absent.
/// `min(max(x, lo), hi)`, so `hi` wins when `lo > hi`, as ONNX specifies.
fn clip(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let mut y = cx.input(0)?;
    let (lo, hi) = if cx.opset < 11 {
        let bound = |cx: &mut NodeCx, name: &str| -> Result<Option<ValueId>, String> {
            match cx.attr(name).map(|a| a.f) {
                Some(v) => scalar_like(cx, y, f64::from(v)).map(Some),
                None => Ok(None),
            }
        };
        (bound(cx, "min")?, bound(cx, "max")?)
    } else {
        (cx.opt_input(1)?, cx.opt_input(2)?)
    };
    if let Some(lo) = lo {
        y = binary(cx, &MAX, y, lo)?;
    }
    if let Some(hi) = hi {
        y = binary(cx, &MIN, y, hi)?;
    }
    Ok(vec![y])
}

fn identity(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    Ok(vec![cx.input(0)?])
}

/// The converters of this family, by ONNX operator name.
pub(super) const CONVERTERS: &[(&str, Convert)] = &[
    ("Add", add),
    ("Sub", sub),
    ("Mul", mul),
    ("Div", div),
    ("Pow", pow),
    ("Mod", mod_),
    ("Max", max),
    ("Min", min),
    ("Sum", sum),
    ("Mean", mean),
    ("BitShift", bit_shift),
    ("And", and),
    ("Or", or),
    ("Xor", xor),
    ("Not", not),
    ("BitwiseAnd", bitwise_and),
    ("BitwiseOr", bitwise_or),
    ("BitwiseXor", bitwise_xor),
    ("BitwiseNot", bitwise_not),
    ("Equal", equal),
    ("Less", less),
    ("LessOrEqual", less_or_equal),
    ("Greater", greater),
    ("GreaterOrEqual", greater_or_equal),
    ("Where", where_),
    ("Abs", abs),
    ("Neg", neg),
    ("Exp", exp),
    ("Log", log),
    ("Sqrt", sqrt),
    ("Reciprocal", reciprocal),
    ("Floor", floor),
    ("Ceil", ceil),
    ("Round", round),
    ("Sign", sign),
    ("Erf", erf),
    ("Sin", sin),
    ("Cos", cos),
    ("Tan", tan),
    ("Asin", asin),
    ("Acos", acos),
    ("Atan", atan),
    ("Sinh", sinh),
    ("Cosh", cosh),
    ("Asinh", asinh),
    ("Acosh", acosh),
    ("Atanh", atanh),
    ("IsNaN", is_nan),
    ("IsInf", is_inf),
    ("Cast", cast),
    ("CastLike", cast_like),
    ("Clip", clip),
    ("Identity", identity),
];
