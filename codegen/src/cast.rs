//! `k.cast` and `k.index_cast`: converting a scalar between dtypes exactly
//! as `tg.cast` does in the reference evaluator (`Tensor::cast`), which
//! works in the wide domains (`f64`, `i64`, `u64`, `bool`) and narrows:
//!
//! - integers to integers wrap (sign- or zero-extended by the *source*
//!   dtype's signedness, then truncated);
//! - floats to signed integers go through `i64` with saturation, NaN giving
//!   0 (`llvm.fptosi.sat.i64`), then wrap to the width; to unsigned
//!   integers the same, through `i64` for negative values and saturating
//!   `u64` (`llvm.fptoui.sat.i64`) otherwise;
//! - integers to floats convert to `f64` and round from there, so an `i64`
//!   reaches `f32` by two roundings as in the evaluator (integers of 32 bits
//!   or fewer convert directly: they are exact in `f64`);
//! - floats to floats round once to nearest even (`f64` to the
//!   half-precision floats by "round to odd" through `f32`);
//! - anything to `i1` tests `!= 0` (NaN is true); `i1` converts as 0 or 1.

use crate::emit::{is_signed, Emit, Res};
use inkwell::values::{BasicValueEnum, FloatValue, IntValue};
use inkwell::{FloatPredicate, IntPredicate};
use tessera_ir::tensor::Domain;
use tessera_ir::DType;

/// Register value `v` of dtype `from` converted to dtype `to`.
pub(crate) fn cast<'ctx>(
    e: &Emit<'_, 'ctx>,
    v: BasicValueEnum<'ctx>,
    from: DType,
    to: DType,
) -> Res<BasicValueEnum<'ctx>> {
    if from == to {
        return Ok(v);
    }
    let b = e.b;
    Ok(match (Domain::of(from), Domain::of(to)) {
        (_, Domain::Bool) => match v {
            BasicValueEnum::FloatValue(f) => {
                b.build_float_compare(FloatPredicate::UNE, f, f.get_type().const_zero(), "")?.into()
            }
            _ => {
                let i = v.into_int_value();
                b.build_int_compare(IntPredicate::NE, i, i.get_type().const_zero(), "")?.into()
            }
        },
        (Domain::Float, Domain::Float) => float_to_float(e, v.into_float_value(), from, to)?.into(),
        (Domain::Float, _) => float_to_int(e, v.into_float_value(), to)?.into(),
        (_, Domain::Float) => int_to_float(e, v.into_int_value(), from, to)?.into(),
        _ => {
            let i = v.into_int_value();
            b.build_int_cast_sign_flag(i, e.int_type(to), is_signed(from), "")?.into()
        }
    })
}

/// A float of dtype `from` (in its register type) as a float of dtype `to`.
fn float_to_float<'ctx>(e: &Emit<'_, 'ctx>, v: FloatValue<'ctx>, from: DType, to: DType) -> Res<FloatValue<'ctx>> {
    match (from, to) {
        (_, DType::F64) => Ok(e.b.build_float_ext(v, e.cx.f64_type(), "")?),
        (DType::F64, DType::F32) => Ok(e.b.build_float_trunc(v, e.cx.f32_type(), "")?),
        (DType::F64, half) => {
            let odd = e.f64_to_f32_odd(v)?;
            e.round_to(odd, half)
        }
        (_, to) => e.round_to(v, to),
    }
}

/// A float (in its register type) as integer dtype `to`.
fn float_to_int<'ctx>(e: &Emit<'_, 'ctx>, v: FloatValue<'ctx>, to: DType) -> Res<IntValue<'ctx>> {
    let i64t = e.cx.i64_type();
    let types = [i64t.into(), v.get_type().into()];
    let signed = e.call_intrinsic("llvm.fptosi.sat", &types, &[v.into()])?.into_int_value();
    let wide = if is_signed(to) {
        signed
    } else {
        let unsigned = e.call_intrinsic("llvm.fptoui.sat", &types, &[v.into()])?.into_int_value();
        let negative = e.b.build_float_compare(FloatPredicate::OLT, v, v.get_type().const_zero(), "")?;
        e.b.build_select(negative, signed, unsigned, "")?.into_int_value()
    };
    Ok(e.b.build_int_truncate_or_bit_cast(wide, e.int_type(to), "")?)
}

/// An integer (or `i1`) of dtype `from` as float dtype `to`.
fn int_to_float<'ctx>(e: &Emit<'_, 'ctx>, v: IntValue<'ctx>, from: DType, to: DType) -> Res<FloatValue<'ctx>> {
    let convert = |ty| -> Res<FloatValue<'ctx>> {
        Ok(if is_signed(from) {
            e.b.build_signed_int_to_float(v, ty, "")?
        } else {
            e.b.build_unsigned_int_to_float(v, ty, "")?
        })
    };
    let bits = if from == DType::I1 { 1 } else { from.size_bytes() * 8 };
    match to {
        // Exact in f32 up to 24 bits, so one rounding to the half type.
        DType::F16 | DType::BF16 if bits <= 16 => e.round_to(convert(e.cx.f32_type())?, to),
        DType::F32 if bits <= 32 => convert(e.cx.f32_type()),
        DType::F64 => convert(e.cx.f64_type()),
        _ => float_to_float(e, convert(e.cx.f64_type())?, DType::F64, to),
    }
}
