//! ONNX emitters: the elementwise family. Most unary and binary ops are
//! one ONNX operator each (numpy broadcasting is ONNX's too); `tg.rsqrt`
//! is `Reciprocal(Sqrt)`, `tg.ne` is `Not(Equal)`, `tg.mod` of floats and
//! `tg.atan2` are short compositions, bitwise ops need opset 18, and shifts
//! exist for unsigned integers only.

use super::cx::{attr_int, OpCx};
use super::registry::Emit;
use crate::onnx::tensor::dtype_to_onnx;
use std::f64::consts::{FRAC_PI_2, PI};

/// `y = op_type(x)`.
fn unary(cx: &mut OpCx, op_type: &str) -> Result<(), String> {
    let (x, y) = (cx.input(0), cx.out(0));
    cx.node(op_type, &[&x], &[&y], vec![]);
    Ok(())
}

/// `y = op_type(a, b)`.
fn binary(cx: &mut OpCx, op_type: &str) -> Result<(), String> {
    let (a, b, y) = (cx.input(0), cx.input(1), cx.out(0));
    cx.node(op_type, &[&a, &b], &[&y], vec![]);
    Ok(())
}

/// Defines `fn $name(cx)` emitting the one-to-one ONNX operator `$onnx`.
macro_rules! direct {
    ($kind:ident: $($name:ident => $onnx:literal),* $(,)?) => {
        $(
            #[doc = concat!("`", $onnx, "`.")]
            fn $name(cx: &mut OpCx) -> Result<(), String> {
                $kind(cx, $onnx)
            }
        )*
    };
}

direct!(unary:
    neg => "Neg", abs => "Abs", exp => "Exp", log => "Log", sqrt => "Sqrt", reciprocal => "Reciprocal",
    tanh => "Tanh", sigmoid => "Sigmoid", erf => "Erf", sin => "Sin", cos => "Cos", tan => "Tan",
    asin => "Asin", acos => "Acos", atan => "Atan", sinh => "Sinh", cosh => "Cosh", asinh => "Asinh",
    acosh => "Acosh", atanh => "Atanh", floor => "Floor", ceil => "Ceil", round => "Round", sign => "Sign",
    not => "Not", is_nan => "IsNaN", is_inf => "IsInf",
);

direct!(binary:
    add => "Add", sub => "Sub", mul => "Mul", div => "Div", pow => "Pow", max => "Max", min => "Min",
    and => "And", or => "Or", xor => "Xor", eq => "Equal", lt => "Less", le => "LessOrEqual",
    gt => "Greater", ge => "GreaterOrEqual",
);

/// `1 / sqrt(x)` as `Reciprocal(Sqrt(x))`.
fn rsqrt(cx: &mut OpCx) -> Result<(), String> {
    let (x, y) = (cx.input(0), cx.out(0));
    let s = cx.node1("Sqrt", &[&x], vec![]);
    cx.node("Reciprocal", &[&s], &[&y], vec![]);
    Ok(())
}

/// `a != b` as `Not(Equal(a, b))`.
fn ne(cx: &mut OpCx) -> Result<(), String> {
    let (a, b, y) = (cx.input(0), cx.input(1), cx.out(0));
    let e = cx.node1("Equal", &[&a, &b], vec![]);
    cx.node("Not", &[&e], &[&y], vec![]);
    Ok(())
}

/// The C remainder (sign of the dividend): `Mod` with `fmod = 1`.
fn rem(cx: &mut OpCx) -> Result<(), String> {
    let (a, b, y) = (cx.input(0), cx.input(1), cx.out(0));
    cx.node("Mod", &[&a, &b], &[&y], vec![attr_int("fmod", 1)]);
    Ok(())
}

/// The Python remainder (sign of the divisor): `Mod` with `fmod = 0` for
/// integers; for floats (where ONNX requires `fmod = 1`) the C remainder
/// `r` moved by `b` when it is non-zero and its sign differs from `b`'s.
fn modulo(cx: &mut OpCx) -> Result<(), String> {
    let dtype = cx.input_ty(0)?.dtype;
    let (a, b, y) = (cx.input(0), cx.input(1), cx.out(0));
    if !dtype.is_float() {
        cx.node("Mod", &[&a, &b], &[&y], vec![attr_int("fmod", 0)]);
        return Ok(());
    }
    let r = cx.node1("Mod", &[&a, &b], vec![attr_int("fmod", 1)]);
    let zero = cx.scalar(dtype, 0.0)?;
    let r_neg = cx.node1("Less", &[&r, &zero], vec![]);
    let b_neg = cx.node1("Less", &[&b, &zero], vec![]);
    let differ = cx.node1("Xor", &[&r_neg, &b_neg], vec![]);
    let is_zero = cx.node1("Equal", &[&r, &zero], vec![]);
    let nonzero = cx.node1("Not", &[&is_zero], vec![]);
    let fix = cx.node1("And", &[&differ, &nonzero], vec![]);
    let moved = cx.node1("Add", &[&r, &b], vec![]);
    cx.node("Where", &[&fix, &moved, &r], &[&y], vec![]);
    Ok(())
}

/// `atan2(a, b)`: `atan(a / b)`, plus or minus pi when `b < 0` (by the sign
/// of `a`), and `±pi/2` (or 0) when `b = 0`.
fn atan2(cx: &mut OpCx) -> Result<(), String> {
    let dtype = cx.input_ty(0)?.dtype;
    let (a, b, y) = (cx.input(0), cx.input(1), cx.out(0));
    let zero = cx.scalar(dtype, 0.0)?;
    let q = cx.node1("Div", &[&a, &b], vec![]);
    let base = cx.node1("Atan", &[&q], vec![]);
    let a_neg = cx.node1("Less", &[&a, &zero], vec![]);
    let pi = cx.scalar(dtype, PI)?;
    let minus_pi = cx.scalar(dtype, -PI)?;
    let turn = cx.node1("Where", &[&a_neg, &minus_pi, &pi], vec![]);
    let turned = cx.node1("Add", &[&base, &turn], vec![]);
    let b_neg = cx.node1("Less", &[&b, &zero], vec![]);
    let general = cx.node1("Where", &[&b_neg, &turned, &base], vec![]);
    let a_pos = cx.node1("Greater", &[&a, &zero], vec![]);
    let half = cx.scalar(dtype, FRAC_PI_2)?;
    let minus_half = cx.scalar(dtype, -FRAC_PI_2)?;
    let below = cx.node1("Where", &[&a_neg, &minus_half, &zero], vec![]);
    let axis = cx.node1("Where", &[&a_pos, &half, &below], vec![]);
    let b_zero = cx.node1("Equal", &[&b, &zero], vec![]);
    cx.node("Where", &[&b_zero, &axis, &general], &[&y], vec![]);
    Ok(())
}

/// A bitwise operator, which ONNX has from opset 18.
fn bitwise(cx: &mut OpCx, op_type: &str, unary_op: bool) -> Result<(), String> {
    cx.require_opset(18, op_type)?;
    if unary_op {
        unary(cx, op_type)
    } else {
        binary(cx, op_type)
    }
}

fn bitnot(cx: &mut OpCx) -> Result<(), String> {
    bitwise(cx, "BitwiseNot", true)
}

fn bitand(cx: &mut OpCx) -> Result<(), String> {
    bitwise(cx, "BitwiseAnd", false)
}

fn bitor(cx: &mut OpCx) -> Result<(), String> {
    bitwise(cx, "BitwiseOr", false)
}

fn bitxor(cx: &mut OpCx) -> Result<(), String> {
    bitwise(cx, "BitwiseXor", false)
}

/// `BitShift` in `direction`; ONNX defines it for unsigned integers only.
fn shift(cx: &mut OpCx, direction: &str) -> Result<(), String> {
    let dtype = cx.input_ty(0)?.dtype;
    if dtype.is_signed_int() {
        return Err(format!("ONNX BitShift takes unsigned integers only, not {dtype}"));
    }
    let (a, b, y) = (cx.input(0), cx.input(1), cx.out(0));
    cx.node("BitShift", &[&a, &b], &[&y], vec![super::cx::attr_str("direction", direction)]);
    Ok(())
}

fn shl(cx: &mut OpCx) -> Result<(), String> {
    shift(cx, "LEFT")
}

fn shr(cx: &mut OpCx) -> Result<(), String> {
    shift(cx, "RIGHT")
}

/// `cond ? a : b` as `Where`.
fn select(cx: &mut OpCx) -> Result<(), String> {
    let (c, a, b, y) = (cx.input(0), cx.input(1), cx.input(2), cx.out(0));
    cx.node("Where", &[&c, &a, &b], &[&y], vec![]);
    Ok(())
}

/// `Cast` to the `to` dtype.
fn cast(cx: &mut OpCx) -> Result<(), String> {
    let to = cx.attrs().dtype("to")?;
    let (x, y) = (cx.input(0), cx.out(0));
    cx.node("Cast", &[&x], &[&y], vec![attr_int("to", dtype_to_onnx(to) as i64)]);
    Ok(())
}

/// The emitters of this family, by op name.
pub(super) const EMITTERS: &[(&str, Emit)] = &[
    ("tg.neg", neg),
    ("tg.abs", abs),
    ("tg.exp", exp),
    ("tg.log", log),
    ("tg.sqrt", sqrt),
    ("tg.rsqrt", rsqrt),
    ("tg.reciprocal", reciprocal),
    ("tg.tanh", tanh),
    ("tg.sigmoid", sigmoid),
    ("tg.erf", erf),
    ("tg.sin", sin),
    ("tg.cos", cos),
    ("tg.tan", tan),
    ("tg.asin", asin),
    ("tg.acos", acos),
    ("tg.atan", atan),
    ("tg.sinh", sinh),
    ("tg.cosh", cosh),
    ("tg.asinh", asinh),
    ("tg.acosh", acosh),
    ("tg.atanh", atanh),
    ("tg.floor", floor),
    ("tg.ceil", ceil),
    ("tg.round", round),
    ("tg.sign", sign),
    ("tg.not", not),
    ("tg.bitnot", bitnot),
    ("tg.is_nan", is_nan),
    ("tg.is_inf", is_inf),
    ("tg.add", add),
    ("tg.sub", sub),
    ("tg.mul", mul),
    ("tg.div", div),
    ("tg.pow", pow),
    ("tg.max", max),
    ("tg.min", min),
    ("tg.rem", rem),
    ("tg.mod", modulo),
    ("tg.atan2", atan2),
    ("tg.and", and),
    ("tg.or", or),
    ("tg.xor", xor),
    ("tg.bitand", bitand),
    ("tg.bitor", bitor),
    ("tg.bitxor", bitxor),
    ("tg.shl", shl),
    ("tg.shr", shr),
    ("tg.eq", eq),
    ("tg.ne", ne),
    ("tg.lt", lt),
    ("tg.le", le),
    ("tg.gt", gt),
    ("tg.ge", ge),
    ("tg.select", select),
    ("tg.cast", cast),
];
