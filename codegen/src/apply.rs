//! `k.apply`: one scalar emitter per graph elementwise op, found in a table
//! keyed by the op's declaration ([`EMITTERS`]). Each emitter reproduces its
//! op's reference semantics (`tessera_ir::dialect::graph::elementwise`):
//!
//! - floats: IEEE arithmetic; `max`/`min` propagate NaN
//!   (`llvm.maximum`/`llvm.minimum`); `round` ties to even
//!   (`llvm.roundeven`); transcendental functions are LLVM intrinsics where
//!   LLVM has one (lowered to libm calls) and direct libm calls otherwise
//!   (`erf`, `asinh`, `acosh`, `atanh`); `sigmoid` is computed without
//!   overflow at either end. `f16` and `bf16` are computed in `f32` and
//!   rounded by the caller ([`apply`]).
//! - integers wrap; division, remainder and `mod` by zero set the status
//!   bit the JIT wrapper reports, never undefined behaviour; shifts by the
//!   width or more give 0 (or the sign for a signed right shift); `pow`
//!   wraps, and a negative exponent truncates `1 / a^-b`.
//! - comparisons give `i1`, NaN comparing unordered (true only for `ne`).
//!
//! An op without a row is a clear error naming it. `tg.bitcast`, which
//! takes an attribute, has its own emitter ([`bitcast`]) for `k.bitcast`.

use crate::abi::DIVIDE_BY_ZERO;
use crate::emit::{is_signed, CgError, Emit, Res};
use inkwell::values::{BasicValueEnum, FloatValue, IntValue};
use inkwell::{FloatPredicate, IntPredicate};
use tessera_ir::dialect::graph::elementwise as ew;
use tessera_ir::op::same_op;
use tessera_ir::tensor::Domain;
use tessera_ir::{DType, OpRef};

/// Emits one op's scalar function: operand dtypes, then the operands in
/// their register types.
type Emitter = for<'a, 'ctx> fn(&Emit<'a, 'ctx>, &[DType], &[BasicValueEnum<'ctx>]) -> Res<BasicValueEnum<'ctx>>;

/// How one graph op's scalar function is emitted.
#[derive(Copy, Clone)]
enum How {
    /// A float-only LLVM intrinsic (`llvm.exp`), overloaded on the float
    /// type and applied to every operand.
    Intrinsic(&'static str),
    /// A float-only function of the C math library: its `f32` and its `f64` name.
    Libm(&'static str, &'static str),
    /// A comparison by its float predicate and its signed and unsigned
    /// integer predicates (`i1` compares as unsigned).
    Compare(FloatPredicate, IntPredicate, IntPredicate),
    /// A function of its own.
    Custom(Emitter),
}

/// Every graph op `k.apply` can apply, with how.
static EMITTERS: &[(OpRef, How)] = &[
    (&ew::NEG, How::Custom(neg)),
    (&ew::ABS, How::Custom(abs)),
    (&ew::EXP, How::Intrinsic("llvm.exp")),
    (&ew::LOG, How::Intrinsic("llvm.log")),
    (&ew::SQRT, How::Intrinsic("llvm.sqrt")),
    (&ew::RSQRT, How::Custom(rsqrt)),
    (&ew::RECIPROCAL, How::Custom(reciprocal)),
    (&ew::TANH, How::Intrinsic("llvm.tanh")),
    (&ew::SIGMOID, How::Custom(sigmoid)),
    (&ew::ERF, How::Libm("erff", "erf")),
    (&ew::SIN, How::Intrinsic("llvm.sin")),
    (&ew::COS, How::Intrinsic("llvm.cos")),
    (&ew::TAN, How::Intrinsic("llvm.tan")),
    (&ew::ASIN, How::Intrinsic("llvm.asin")),
    (&ew::ACOS, How::Intrinsic("llvm.acos")),
    (&ew::ATAN, How::Intrinsic("llvm.atan")),
    (&ew::SINH, How::Intrinsic("llvm.sinh")),
    (&ew::COSH, How::Intrinsic("llvm.cosh")),
    (&ew::ASINH, How::Libm("asinhf", "asinh")),
    (&ew::ACOSH, How::Libm("acoshf", "acosh")),
    (&ew::ATANH, How::Libm("atanhf", "atanh")),
    (&ew::FLOOR, How::Intrinsic("llvm.floor")),
    (&ew::CEIL, How::Intrinsic("llvm.ceil")),
    (&ew::ROUND, How::Intrinsic("llvm.roundeven")),
    (&ew::SIGN, How::Custom(sign)),
    (&ew::NOT, How::Custom(not)),
    (&ew::BITNOT, How::Custom(not)),
    (&ew::IS_NAN, How::Custom(is_nan)),
    (&ew::IS_INF, How::Custom(is_inf)),
    (&ew::ADD, How::Custom(add)),
    (&ew::SUB, How::Custom(sub)),
    (&ew::MUL, How::Custom(mul)),
    (&ew::DIV, How::Custom(div)),
    (&ew::POW, How::Custom(pow)),
    (&ew::MAX, How::Custom(max)),
    (&ew::MIN, How::Custom(min)),
    (&ew::REM, How::Custom(rem)),
    (&ew::MOD, How::Custom(modulo)),
    (&ew::ATAN2, How::Intrinsic("llvm.atan2")),
    (&ew::AND, How::Custom(and)),
    (&ew::OR, How::Custom(or)),
    (&ew::XOR, How::Custom(xor)),
    (&ew::BITAND, How::Custom(and)),
    (&ew::BITOR, How::Custom(or)),
    (&ew::BITXOR, How::Custom(xor)),
    (&ew::SHL, How::Custom(shl)),
    (&ew::SHR, How::Custom(shr)),
    (&ew::EQ, How::Compare(FloatPredicate::OEQ, IntPredicate::EQ, IntPredicate::EQ)),
    (&ew::NE, How::Compare(FloatPredicate::UNE, IntPredicate::NE, IntPredicate::NE)),
    (&ew::LT, How::Compare(FloatPredicate::OLT, IntPredicate::SLT, IntPredicate::ULT)),
    (&ew::LE, How::Compare(FloatPredicate::OLE, IntPredicate::SLE, IntPredicate::ULE)),
    (&ew::GT, How::Compare(FloatPredicate::OGT, IntPredicate::SGT, IntPredicate::UGT)),
    (&ew::GE, How::Compare(FloatPredicate::OGE, IntPredicate::SGE, IntPredicate::UGE)),
    (&ew::SELECT, How::Custom(select)),
];

/// The scalar function of graph op `def` applied to `args` (of dtypes
/// `dtypes`), giving a value of dtype `result`: rounded to it when it is a
/// half-precision float.
pub(crate) fn apply<'ctx>(
    e: &Emit<'_, 'ctx>,
    def: OpRef,
    dtypes: &[DType],
    args: &[BasicValueEnum<'ctx>],
    result: DType,
) -> Res<BasicValueEnum<'ctx>> {
    let how = EMITTERS
        .iter()
        .find(|(op, _)| same_op(*op, def))
        .map(|(_, how)| *how)
        .ok_or_else(|| CgError(format!("'{}' has no scalar emitter in the LLVM back end", def.name())))?;
    let unsupported = || CgError(format!("'{}' has no scalar emitter for {}", def.name(), show(dtypes)));
    if dtypes.len() != args.len() || args.is_empty() {
        return Err(CgError(format!(
            "'{}' applied to {} operand(s) of {} dtype(s)",
            def.name(),
            args.len(),
            dtypes.len()
        )));
    }
    let v = match how {
        How::Intrinsic(name) => {
            let ty = floats_of(e, dtypes).ok_or_else(unsupported)?;
            e.call_intrinsic(name, &[ty.into()], args)?
        }
        How::Libm(f32_name, f64_name) => {
            let ty = floats_of(e, dtypes).ok_or_else(unsupported)?;
            e.call_libm(if dtypes[0] == DType::F64 { f64_name } else { f32_name }, ty, args)?
        }
        How::Compare(fp, sp, up) => {
            let [a, b] = two(args)?;
            match Domain::of(dtypes[0]) {
                Domain::Float => e.b.build_float_compare(fp, a.into_float_value(), b.into_float_value(), "")?.into(),
                Domain::Int => e.b.build_int_compare(sp, a.into_int_value(), b.into_int_value(), "")?.into(),
                Domain::UInt | Domain::Bool => {
                    e.b.build_int_compare(up, a.into_int_value(), b.into_int_value(), "")?.into()
                }
            }
        }
        How::Custom(f) => f(e, dtypes, args).map_err(|err| CgError(format!("'{}': {}", def.name(), err.0)))?,
    };
    match (result, v) {
        (DType::F16 | DType::BF16, BasicValueEnum::FloatValue(f)) => Ok(e.round_to(f, result)?.into()),
        _ => Ok(v),
    }
}

/// `(f32, i8)`, for diagnostics.
/// `k.bitcast` (`tg.bitcast` of one scalar): register value `v` of dtype
/// `from` as the integer holding its bytes in memory, then those bytes as
/// dtype `to` (of the same size) in its register type.
pub(crate) fn bitcast<'ctx>(
    e: &Emit<'_, 'ctx>,
    v: BasicValueEnum<'ctx>,
    from: DType,
    to: DType,
) -> Res<BasicValueEnum<'ctx>> {
    let (b, cx) = (e.b, e.cx);
    // The integer type of the dtype's size (an `i1` is one byte).
    let width = e.int_type(if from == DType::I1 { DType::U8 } else { from });
    let bits: IntValue = match from {
        DType::I1 => b.build_int_z_extend(v.into_int_value(), width, "")?,
        DType::F16 => {
            let half = b.build_float_trunc(v.into_float_value(), cx.f16_type(), "")?;
            b.build_bit_cast(half, width, "")?.into_int_value()
        }
        DType::BF16 => {
            let word = b.build_bit_cast(v, cx.i32_type(), "")?.into_int_value();
            let high = b.build_right_shift(word, cx.i32_type().const_int(16, false), false, "")?;
            b.build_int_truncate(high, width, "")?
        }
        d if d.is_float() => b.build_bit_cast(v, width, "")?.into_int_value(),
        _ => v.into_int_value(),
    };
    Ok(match to {
        DType::I1 => b.build_int_compare(IntPredicate::NE, bits, width.const_zero(), "")?.into(),
        DType::F16 => {
            let half = b.build_bit_cast(bits, cx.f16_type(), "")?.into_float_value();
            b.build_float_ext(half, cx.f32_type(), "")?.into()
        }
        DType::BF16 => {
            let word = b.build_int_z_extend(bits, cx.i32_type(), "")?;
            let word = b.build_left_shift(word, cx.i32_type().const_int(16, false), "")?;
            b.build_bit_cast(word, cx.f32_type(), "")?
        }
        d if d.is_float() => b.build_bit_cast(bits, e.reg_type(d), "")?,
        _ => bits.into(),
    })
}

fn show(dtypes: &[DType]) -> String {
    let names: Vec<&str> = dtypes.iter().map(|d| d.name()).collect();
    format!("({})", names.join(", "))
}

/// The float type every operand is computed in, when all are floats of one dtype.
fn floats_of<'ctx>(e: &Emit<'_, 'ctx>, dtypes: &[DType]) -> Option<inkwell::types::FloatType<'ctx>> {
    (dtypes[0].is_float() && dtypes.iter().all(|d| *d == dtypes[0])).then(|| e.float_type(dtypes[0]))
}

/// The error of a custom emitter given dtypes it does not take ([`apply`]
/// prefixes the op's name).
fn no_dtype<T>(dtypes: &[DType]) -> Res<T> {
    Err(CgError(format!("no scalar emitter for {}", show(dtypes))))
}

/// The two operands of a binary op.
fn two<'ctx>(args: &[BasicValueEnum<'ctx>]) -> Res<[BasicValueEnum<'ctx>; 2]> {
    <[BasicValueEnum; 2]>::try_from(args).map_err(|_| CgError(format!("expected 2 operands, got {}", args.len())))
}

/// A float literal of `v`'s type.
fn fconst<'ctx>(v: FloatValue<'ctx>, x: f64) -> FloatValue<'ctx> {
    v.get_type().const_float(x)
}

/// An integer literal of `v`'s type (sign-extended).
fn iconst<'ctx>(v: IntValue<'ctx>, x: i64) -> IntValue<'ctx> {
    v.get_type().const_int(x as u64, true)
}

fn neg<'ctx>(e: &Emit<'_, 'ctx>, d: &[DType], a: &[BasicValueEnum<'ctx>]) -> Res<BasicValueEnum<'ctx>> {
    match Domain::of(d[0]) {
        Domain::Float => Ok(e.b.build_float_neg(a[0].into_float_value(), "")?.into()),
        Domain::Int | Domain::UInt => Ok(e.b.build_int_neg(a[0].into_int_value(), "")?.into()),
        Domain::Bool => no_dtype(d),
    }
}

fn abs<'ctx>(e: &Emit<'_, 'ctx>, d: &[DType], a: &[BasicValueEnum<'ctx>]) -> Res<BasicValueEnum<'ctx>> {
    match Domain::of(d[0]) {
        Domain::Float => e.call_intrinsic("llvm.fabs", &[a[0].get_type()], a),
        Domain::Int => {
            let poison_on_min = e.cx.bool_type().const_zero();
            e.call_intrinsic("llvm.abs", &[a[0].get_type()], &[a[0], poison_on_min.into()])
        }
        Domain::UInt => Ok(a[0]),
        Domain::Bool => no_dtype(d),
    }
}

/// `1 / sqrt(x)`.
fn rsqrt<'ctx>(e: &Emit<'_, 'ctx>, d: &[DType], a: &[BasicValueEnum<'ctx>]) -> Res<BasicValueEnum<'ctx>> {
    if !d[0].is_float() {
        return no_dtype(d);
    }
    let s = e.call_intrinsic("llvm.sqrt", &[a[0].get_type()], a)?.into_float_value();
    Ok(e.b.build_float_div(fconst(s, 1.0), s, "")?.into())
}

/// `1 / x`.
fn reciprocal<'ctx>(e: &Emit<'_, 'ctx>, d: &[DType], a: &[BasicValueEnum<'ctx>]) -> Res<BasicValueEnum<'ctx>> {
    if !d[0].is_float() {
        return no_dtype(d);
    }
    let x = a[0].into_float_value();
    Ok(e.b.build_float_div(fconst(x, 1.0), x, "")?.into())
}

/// `1 / (1 + e^-x)` for `x >= 0`, `e^x / (1 + e^x)` below: with
/// `t = e^-|x|` both are `t`-based and nothing overflows.
fn sigmoid<'ctx>(e: &Emit<'_, 'ctx>, d: &[DType], a: &[BasicValueEnum<'ctx>]) -> Res<BasicValueEnum<'ctx>> {
    if !d[0].is_float() {
        return no_dtype(d);
    }
    let x = a[0].into_float_value();
    let ty = [x.get_type().into()];
    let ax = e.call_intrinsic("llvm.fabs", &ty, &[x.into()])?.into_float_value();
    let nax = e.b.build_float_neg(ax, "")?;
    let t = e.call_intrinsic("llvm.exp", &ty, &[nax.into()])?.into_float_value();
    let denom = e.b.build_float_add(fconst(x, 1.0), t, "")?;
    let pos = e.b.build_float_div(fconst(x, 1.0), denom, "")?;
    let negv = e.b.build_float_div(t, denom, "")?;
    let nonneg = e.b.build_float_compare(FloatPredicate::OGE, x, fconst(x, 0.0), "")?;
    Ok(e.b.build_select(nonneg, pos, negv, "")?)
}

/// -1, 0 or 1 by the sign; a float NaN stays NaN, an unsigned integer is 0 or 1.
fn sign<'ctx>(e: &Emit<'_, 'ctx>, d: &[DType], a: &[BasicValueEnum<'ctx>]) -> Res<BasicValueEnum<'ctx>> {
    match Domain::of(d[0]) {
        Domain::Float => {
            let x = a[0].into_float_value();
            let pos = e.b.build_float_compare(FloatPredicate::OGT, x, fconst(x, 0.0), "")?;
            let negative = e.b.build_float_compare(FloatPredicate::OLT, x, fconst(x, 0.0), "")?;
            let zero = e.b.build_float_compare(FloatPredicate::OEQ, x, fconst(x, 0.0), "")?;
            let z = e.b.build_select(zero, fconst(x, 0.0), x, "")?.into_float_value();
            let n = e.b.build_select(negative, fconst(x, -1.0), z, "")?.into_float_value();
            Ok(e.b.build_select(pos, fconst(x, 1.0), n, "")?)
        }
        Domain::Int => {
            let x = a[0].into_int_value();
            let pos = e.b.build_int_compare(IntPredicate::SGT, x, iconst(x, 0), "")?;
            let negative = e.b.build_int_compare(IntPredicate::SLT, x, iconst(x, 0), "")?;
            let n = e.b.build_select(negative, iconst(x, -1), iconst(x, 0), "")?.into_int_value();
            Ok(e.b.build_select(pos, iconst(x, 1), n, "")?)
        }
        Domain::UInt => {
            let x = a[0].into_int_value();
            let nonzero = e.b.build_int_compare(IntPredicate::NE, x, iconst(x, 0), "")?;
            Ok(e.b.build_int_z_extend(nonzero, x.get_type(), "")?.into())
        }
        Domain::Bool => no_dtype(d),
    }
}

/// Logical not of `i1`, bitwise complement of an integer.
fn not<'ctx>(e: &Emit<'_, 'ctx>, d: &[DType], a: &[BasicValueEnum<'ctx>]) -> Res<BasicValueEnum<'ctx>> {
    if d[0].is_float() {
        return no_dtype(d);
    }
    Ok(e.b.build_not(a[0].into_int_value(), "")?.into())
}

fn is_nan<'ctx>(e: &Emit<'_, 'ctx>, d: &[DType], a: &[BasicValueEnum<'ctx>]) -> Res<BasicValueEnum<'ctx>> {
    if !d[0].is_float() {
        return no_dtype(d);
    }
    let x = a[0].into_float_value();
    Ok(e.b.build_float_compare(FloatPredicate::UNO, x, x, "")?.into())
}

fn is_inf<'ctx>(e: &Emit<'_, 'ctx>, d: &[DType], a: &[BasicValueEnum<'ctx>]) -> Res<BasicValueEnum<'ctx>> {
    if !d[0].is_float() {
        return no_dtype(d);
    }
    let x = e.call_intrinsic("llvm.fabs", &[a[0].get_type()], a)?.into_float_value();
    Ok(e.b.build_float_compare(FloatPredicate::OEQ, x, fconst(x, f64::INFINITY), "")?.into())
}

/// A binary op that is one instruction per domain: `float`, else `int`
/// (integers of both signs wrap alike).
macro_rules! arithmetic {
    ($name:ident, $float:ident, $int:ident) => {
        fn $name<'ctx>(e: &Emit<'_, 'ctx>, d: &[DType], a: &[BasicValueEnum<'ctx>]) -> Res<BasicValueEnum<'ctx>> {
            let [x, y] = two(a)?;
            match Domain::of(d[0]) {
                Domain::Float => Ok(e.b.$float(x.into_float_value(), y.into_float_value(), "")?.into()),
                Domain::Int | Domain::UInt => Ok(e.b.$int(x.into_int_value(), y.into_int_value(), "")?.into()),
                Domain::Bool => no_dtype(d),
            }
        }
    };
}

arithmetic!(add, build_float_add, build_int_add);
arithmetic!(sub, build_float_sub, build_int_sub);
arithmetic!(mul, build_float_mul, build_int_mul);

/// IEEE division for floats; truncating division for integers, guarded.
fn div<'ctx>(e: &Emit<'_, 'ctx>, d: &[DType], a: &[BasicValueEnum<'ctx>]) -> Res<BasicValueEnum<'ctx>> {
    let [x, y] = two(a)?;
    match Domain::of(d[0]) {
        Domain::Float => Ok(e.b.build_float_div(x.into_float_value(), y.into_float_value(), "")?.into()),
        Domain::Int | Domain::UInt => {
            Ok(e.int_divide(x.into_int_value(), y.into_int_value(), is_signed(d[0]), false, DIVIDE_BY_ZERO)?.into())
        }
        Domain::Bool => no_dtype(d),
    }
}

/// The remainder with the dividend's sign (C `fmod`), guarded for integers.
fn rem<'ctx>(e: &Emit<'_, 'ctx>, d: &[DType], a: &[BasicValueEnum<'ctx>]) -> Res<BasicValueEnum<'ctx>> {
    let [x, y] = two(a)?;
    match Domain::of(d[0]) {
        Domain::Float => Ok(e.b.build_float_rem(x.into_float_value(), y.into_float_value(), "")?.into()),
        Domain::Int | Domain::UInt => {
            Ok(e.int_divide(x.into_int_value(), y.into_int_value(), is_signed(d[0]), true, DIVIDE_BY_ZERO)?.into())
        }
        Domain::Bool => no_dtype(d),
    }
}

/// The remainder with the divisor's sign (Python `%`): the C remainder,
/// moved by the divisor when the signs differ; a zero float remainder takes
/// the divisor's sign.
fn modulo<'ctx>(e: &Emit<'_, 'ctx>, d: &[DType], a: &[BasicValueEnum<'ctx>]) -> Res<BasicValueEnum<'ctx>> {
    let [x, y] = two(a)?;
    match Domain::of(d[0]) {
        Domain::Float => {
            let (x, y) = (x.into_float_value(), y.into_float_value());
            let r = e.b.build_float_rem(x, y, "")?;
            let zero = fconst(r, 0.0);
            let r_neg = e.b.build_float_compare(FloatPredicate::OLT, r, zero, "")?;
            let y_neg = e.b.build_float_compare(FloatPredicate::OLT, y, zero, "")?;
            let differ = e.b.build_xor(r_neg, y_neg, "")?;
            let moved = e.b.build_float_add(r, y, "")?;
            let signed_zero = e.call_intrinsic("llvm.copysign", &[r.get_type().into()], &[zero.into(), y.into()])?;
            let is_zero = e.b.build_float_compare(FloatPredicate::OEQ, r, zero, "")?;
            let nonzero = e.b.build_select(differ, moved, r, "")?;
            Ok(e.b.build_select(is_zero, signed_zero, nonzero, "")?)
        }
        Domain::Int => {
            let (x, y) = (x.into_int_value(), y.into_int_value());
            let r = e.int_divide(x, y, true, true, DIVIDE_BY_ZERO)?;
            let zero = iconst(r, 0);
            let nonzero = e.b.build_int_compare(IntPredicate::NE, r, zero, "")?;
            let r_neg = e.b.build_int_compare(IntPredicate::SLT, r, zero, "")?;
            let y_neg = e.b.build_int_compare(IntPredicate::SLT, y, zero, "")?;
            let differ = e.b.build_xor(r_neg, y_neg, "")?;
            let fix = e.b.build_and(nonzero, differ, "")?;
            let moved = e.b.build_int_add(r, y, "")?;
            Ok(e.b.build_select(fix, moved, r, "")?)
        }
        Domain::UInt => Ok(e.int_divide(x.into_int_value(), y.into_int_value(), false, true, DIVIDE_BY_ZERO)?.into()),
        Domain::Bool => no_dtype(d),
    }
}

/// `x ^ y`: `llvm.pow` for floats; for integers wrapping repeated squaring
/// over the exponent's bits (unrolled, branch-free), and for a negative
/// signed exponent the truncated `1 / x^-y`: 1 for `x = 1`, ±1 for `x = -1`,
/// 0 otherwise, and a division by zero for `x = 0`.
fn pow<'ctx>(e: &Emit<'_, 'ctx>, d: &[DType], a: &[BasicValueEnum<'ctx>]) -> Res<BasicValueEnum<'ctx>> {
    let [x, y] = two(a)?;
    match Domain::of(d[0]) {
        Domain::Float => e.call_intrinsic("llvm.pow", &[x.get_type()], &[x, y]),
        Domain::Int | Domain::UInt => {
            let (x, y) = (x.into_int_value(), y.into_int_value());
            let width = x.get_type().get_bit_width();
            let mut acc = iconst(x, 1);
            let mut base = x;
            for k in 0..width {
                let bit = e.b.build_right_shift(y, iconst(y, i64::from(k)), false, "")?;
                let bit = e.b.build_int_truncate(bit, e.cx.bool_type(), "")?;
                let product = e.b.build_int_mul(acc, base, "")?;
                acc = e.b.build_select(bit, product, acc, "")?.into_int_value();
                if k + 1 < width {
                    base = e.b.build_int_mul(base, base, "")?;
                }
            }
            if !is_signed(d[0]) {
                return Ok(acc.into());
            }
            let negative = e.b.build_int_compare(IntPredicate::SLT, y, iconst(y, 0), "")?;
            let is = |v: i64| e.b.build_int_compare(IntPredicate::EQ, x, iconst(x, v), "");
            let (one, minus_one, zero) = (is(1)?, is(-1)?, is(0)?);
            let odd = e.b.build_int_truncate(y, e.cx.bool_type(), "")?;
            let of_minus_one = e.b.build_select(odd, iconst(x, -1), iconst(x, 1), "")?.into_int_value();
            let inverse = e.b.build_select(minus_one, of_minus_one, iconst(x, 0), "")?.into_int_value();
            let inverse = e.b.build_select(one, iconst(x, 1), inverse, "")?.into_int_value();
            let by_zero = e.b.build_and(negative, zero, "")?;
            e.flag(by_zero, DIVIDE_BY_ZERO)?;
            Ok(e.b.build_select(negative, inverse, acc, "")?)
        }
        Domain::Bool => no_dtype(d),
    }
}

/// The larger (`max`) or smaller operand: NaN-propagating for floats.
macro_rules! extremum {
    ($name:ident, $float:literal, $signed:literal, $unsigned:literal) => {
        fn $name<'ctx>(e: &Emit<'_, 'ctx>, d: &[DType], a: &[BasicValueEnum<'ctx>]) -> Res<BasicValueEnum<'ctx>> {
            let name = match Domain::of(d[0]) {
                Domain::Float => $float,
                Domain::Int => $signed,
                Domain::UInt => $unsigned,
                Domain::Bool => return no_dtype(d),
            };
            e.call_intrinsic(name, &[a[0].get_type()], a)
        }
    };
}

extremum!(max, "llvm.maximum", "llvm.smax", "llvm.umax");
extremum!(min, "llvm.minimum", "llvm.smin", "llvm.umin");

/// A bitwise op on integers, which is the logical op on `i1`.
macro_rules! bitwise {
    ($name:ident, $build:ident) => {
        fn $name<'ctx>(e: &Emit<'_, 'ctx>, d: &[DType], a: &[BasicValueEnum<'ctx>]) -> Res<BasicValueEnum<'ctx>> {
            if d[0].is_float() {
                return no_dtype(d);
            }
            let [x, y] = two(a)?;
            Ok(e.b.$build(x.into_int_value(), y.into_int_value(), "")?.into())
        }
    };
}

bitwise!(and, build_and);
bitwise!(or, build_or);
bitwise!(xor, build_xor);

/// Whether shift amount `y` (read as unsigned: a negative amount is huge)
/// is below the width of its type.
fn in_width<'ctx>(e: &Emit<'_, 'ctx>, y: IntValue<'ctx>) -> Res<IntValue<'ctx>> {
    let width = i64::from(y.get_type().get_bit_width());
    Ok(e.b.build_int_compare(IntPredicate::ULT, y, iconst(y, width), "")?)
}

/// `x << y`, 0 from the width on.
fn shl<'ctx>(e: &Emit<'_, 'ctx>, d: &[DType], a: &[BasicValueEnum<'ctx>]) -> Res<BasicValueEnum<'ctx>> {
    if !d[0].is_int() {
        return no_dtype(d);
    }
    let [x, y] = two(a)?;
    let (x, y) = (x.into_int_value(), y.into_int_value());
    let ok = in_width(e, y)?;
    let safe = e.b.build_select(ok, y, iconst(y, 0), "")?.into_int_value();
    let shifted = e.b.build_left_shift(x, safe, "")?;
    Ok(e.b.build_select(ok, shifted, iconst(x, 0), "")?)
}

/// `x >> y`: arithmetic for signed integers (the sign from the width on),
/// logical for unsigned ones (0 from the width on).
fn shr<'ctx>(e: &Emit<'_, 'ctx>, d: &[DType], a: &[BasicValueEnum<'ctx>]) -> Res<BasicValueEnum<'ctx>> {
    if !d[0].is_int() {
        return no_dtype(d);
    }
    let [x, y] = two(a)?;
    let (x, y) = (x.into_int_value(), y.into_int_value());
    let ok = in_width(e, y)?;
    let signed = is_signed(d[0]);
    let width = i64::from(x.get_type().get_bit_width());
    let saturated = if signed { iconst(y, width - 1) } else { iconst(y, 0) };
    let safe = e.b.build_select(ok, y, saturated, "")?.into_int_value();
    let shifted = e.b.build_right_shift(x, safe, signed, "")?;
    if signed {
        Ok(shifted.into())
    } else {
        Ok(e.b.build_select(ok, shifted, iconst(x, 0), "")?)
    }
}

/// `cond ? a : b`.
fn select<'ctx>(e: &Emit<'_, 'ctx>, _: &[DType], a: &[BasicValueEnum<'ctx>]) -> Res<BasicValueEnum<'ctx>> {
    let [c, x, y] = <[BasicValueEnum; 3]>::try_from(a)
        .map_err(|_| CgError(format!("tg.select takes 3 operands, got {}", a.len())))?;
    Ok(e.b.build_select(c.into_int_value(), x, y, "")?)
}
