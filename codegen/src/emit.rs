//! The instruction-level toolkit the translator and the scalar emitters
//! share: how each dtype lives in registers and in memory, loads and
//! stores with their conversions, rounding to the half-precision floats,
//! literals, intrinsic and libm calls, the status flags, and integer
//! division without undefined behaviour.
//!
//! **Representation.** Integers of every width are LLVM integers of that
//! width (signedness lives in the dtype, not the type); `i1` is an LLVM
//! `i1` in registers and one byte (0 or 1) in memory. `f32` and `f64` are
//! `float` and `double`. `f16` and `bf16` are computed in `float`: a
//! register holds an `f32` value that is exactly representable in the
//! half-precision dtype (every op's result is rounded to it), memory holds
//! the 2-byte encoding. `f16` converts with LLVM's `half` type (the F16C
//! instructions on x86-64); `bf16` with integer operations on the bits
//! (round to nearest even, NaN kept quiet), which needs no library call on
//! any target. Rounding in `f32` and then to a half-precision dtype equals
//! rounding the exact result once for `+ - * /` and `sqrt` (f32 has more
//! than twice their precision plus two bits).

use inkwell::attributes::{Attribute, AttributeLoc};
use inkwell::builder::{Builder, BuilderError};
use inkwell::context::Context;
use inkwell::intrinsics::Intrinsic;
use inkwell::module::Module;
use inkwell::types::{BasicTypeEnum, FloatType, IntType};
use inkwell::values::{
    BasicMetadataValueEnum, BasicValue, BasicValueEnum, FloatValue, InstructionValue, IntValue, PointerValue,
};
use inkwell::{FloatPredicate, IntPredicate};
use tessera_ir::tensor::Domain;
use tessera_ir::{DType, Scalar};

/// Why a translation step failed: a message that the translator locates at
/// the op being translated.
#[derive(Debug)]
pub(crate) struct CgError(pub(crate) String);

impl From<BuilderError> for CgError {
    fn from(e: BuilderError) -> CgError {
        CgError(format!("LLVM builder: {e}"))
    }
}

impl From<String> for CgError {
    fn from(s: String) -> CgError {
        CgError(s)
    }
}

/// The result of a translation step.
pub(crate) type Res<T> = Result<T, CgError>;

/// Builds instructions at the builder's position in one function.
pub(crate) struct Emit<'a, 'ctx> {
    /// The LLVM context.
    pub(crate) cx: &'ctx Context,
    /// The module being built (intrinsic and libm declarations go here).
    pub(crate) module: &'a Module<'ctx>,
    /// The builder, positioned where the next instruction goes.
    pub(crate) b: &'a Builder<'ctx>,
    /// The function's status word (an `i32` stack slot): the `abi` bits of
    /// every failure seen so far, returned at the end.
    pub(crate) status: PointerValue<'ctx>,
}

impl<'ctx> Emit<'_, 'ctx> {
    /// The LLVM integer type of an integer or `i1` dtype (registers).
    pub(crate) fn int_type(&self, d: DType) -> IntType<'ctx> {
        match d.size_bytes() {
            _ if d == DType::I1 => self.cx.bool_type(),
            1 => self.cx.i8_type(),
            2 => self.cx.i16_type(),
            4 => self.cx.i32_type(),
            _ => self.cx.i64_type(),
        }
    }

    /// The LLVM float type a float dtype is computed in: `double` for
    /// `f64`, `float` for the others.
    pub(crate) fn float_type(&self, d: DType) -> FloatType<'ctx> {
        if d == DType::F64 {
            self.cx.f64_type()
        } else {
            self.cx.f32_type()
        }
    }

    /// The register type of dtype `d`.
    pub(crate) fn reg_type(&self, d: DType) -> BasicTypeEnum<'ctx> {
        if d.is_float() {
            self.float_type(d).into()
        } else {
            self.int_type(d).into()
        }
    }

    /// The type of one element of dtype `d` in memory.
    pub(crate) fn mem_type(&self, d: DType) -> BasicTypeEnum<'ctx> {
        match d {
            DType::I1 => self.cx.i8_type().into(),
            DType::F16 => self.cx.f16_type().into(),
            DType::BF16 => self.cx.i16_type().into(),
            d => self.reg_type(d),
        }
    }

    /// Loads the element of dtype `d` at `ptr` into a register; returns the
    /// value and the load instruction (for metadata).
    pub(crate) fn load(
        &self,
        ptr: PointerValue<'ctx>,
        d: DType,
    ) -> Res<(BasicValueEnum<'ctx>, InstructionValue<'ctx>)> {
        let raw = self.b.build_load(self.mem_type(d), ptr, "")?;
        let inst = raw.as_instruction_value().ok_or_else(|| CgError("a load built no instruction".into()))?;
        let value: BasicValueEnum = match d {
            DType::I1 => {
                let zero = self.cx.i8_type().const_zero();
                self.b.build_int_compare(IntPredicate::NE, raw.into_int_value(), zero, "")?.into()
            }
            DType::F16 => self.b.build_float_ext(raw.into_float_value(), self.cx.f32_type(), "")?.into(),
            DType::BF16 => {
                let wide = self.b.build_int_z_extend(raw.into_int_value(), self.cx.i32_type(), "")?;
                let bits = self.b.build_left_shift(wide, self.cx.i32_type().const_int(16, false), "")?;
                self.b.build_bit_cast(bits, self.cx.f32_type(), "")?
            }
            _ => raw,
        };
        Ok((value, inst))
    }

    /// Stores register value `v` of dtype `d` at `ptr`; returns the store.
    pub(crate) fn store(
        &self,
        ptr: PointerValue<'ctx>,
        d: DType,
        v: BasicValueEnum<'ctx>,
    ) -> Res<InstructionValue<'ctx>> {
        let raw: BasicValueEnum = match d {
            DType::I1 => self.b.build_int_z_extend(v.into_int_value(), self.cx.i8_type(), "")?.into(),
            DType::F16 => self.b.build_float_trunc(v.into_float_value(), self.cx.f16_type(), "")?.into(),
            DType::BF16 => {
                let bits = self.b.build_bit_cast(v, self.cx.i32_type(), "")?.into_int_value();
                let high = self.b.build_right_shift(bits, self.cx.i32_type().const_int(16, false), false, "")?;
                self.b.build_int_truncate(high, self.cx.i16_type(), "")?.into()
            }
            _ => v,
        };
        Ok(self.b.build_store(ptr, raw)?)
    }

    /// `f32` value `v` rounded to the precision of `d` (to nearest, ties
    /// to even); `f32` and `f64` values pass through.
    pub(crate) fn round_to(&self, v: FloatValue<'ctx>, d: DType) -> Res<FloatValue<'ctx>> {
        match d {
            DType::F16 => {
                let h = self.b.build_float_trunc(v, self.cx.f16_type(), "")?;
                Ok(self.b.build_float_ext(h, self.cx.f32_type(), "")?)
            }
            DType::BF16 => self.round_to_bf16(v),
            _ => Ok(v),
        }
    }

    /// `f32` value `v` rounded to bf16 precision, still as an `f32`: add
    /// half an ulp of bf16 (less one, plus the kept lowest bit, for ties to
    /// even) and clear the 16 low bits; a NaN keeps its sign and turns quiet.
    fn round_to_bf16(&self, v: FloatValue<'ctx>) -> Res<FloatValue<'ctx>> {
        let i32t = self.cx.i32_type();
        let c = |x: u64| i32t.const_int(x, false);
        let bits = self.b.build_bit_cast(v, i32t, "")?.into_int_value();
        let shifted = self.b.build_right_shift(bits, c(16), false, "")?;
        let lsb = self.b.build_and(shifted, c(1), "")?;
        let bias = self.b.build_int_add(lsb, c(0x7fff), "")?;
        let sum = self.b.build_int_add(bits, bias, "")?;
        let rounded = self.b.build_and(sum, c(0xffff_0000), "")?;
        let quiet = self.b.build_or(bits, c(0x0040_0000), "")?;
        let nan_bits = self.b.build_and(quiet, c(0xffff_0000), "")?;
        let is_nan = self.b.build_float_compare(FloatPredicate::UNO, v, v, "")?;
        let out = self.b.build_select(is_nan, nan_bits, rounded, "")?;
        Ok(self.b.build_bit_cast(out, self.cx.f32_type(), "")?.into_float_value())
    }

    /// `f64` value `v` rounded to `f32` by "round to odd": toward zero, then
    /// the lowest bit set when inexact. Rounding that again to a narrower
    /// float gives the correctly rounded result, where rounding to nearest
    /// twice could not (`f64 -> f16` and `f64 -> bf16` casts go this way).
    pub(crate) fn f64_to_f32_odd(&self, v: FloatValue<'ctx>) -> Res<FloatValue<'ctx>> {
        let (f32t, i32t) = (self.cx.f32_type(), self.cx.i32_type());
        let near = self.b.build_float_trunc(v, f32t, "")?;
        let back = self.b.build_float_ext(near, self.cx.f64_type(), "")?;
        let abs_back = self.call_intrinsic("llvm.fabs", &[back.get_type().into()], &[back.into()])?.into_float_value();
        let abs_v = self.call_intrinsic("llvm.fabs", &[v.get_type().into()], &[v.into()])?.into_float_value();
        let away = self.b.build_float_compare(FloatPredicate::OGT, abs_back, abs_v, "")?;
        let bits = self.b.build_bit_cast(near, i32t, "")?.into_int_value();
        let lower = self.b.build_int_sub(bits, i32t.const_int(1, false), "")?;
        let toward_zero = self.b.build_select(away, lower, bits, "")?.into_int_value();
        let inexact = self.b.build_float_compare(FloatPredicate::UNE, back, v, "")?;
        let odd = self.b.build_or(toward_zero, i32t.const_int(1, false), "")?;
        let out = self.b.build_select(inexact, odd, toward_zero, "")?;
        Ok(self.b.build_bit_cast(out, f32t, "")?.into_float_value())
    }

    /// The literal `s` in its register type.
    pub(crate) fn constant(&self, s: Scalar) -> BasicValueEnum<'ctx> {
        match s {
            Scalar::Bool(b) => self.cx.bool_type().const_int(u64::from(b), false).into(),
            Scalar::Int(d, v) => self.int_type(d).const_int(v as u64, true).into(),
            Scalar::UInt(d, v) => self.int_type(d).const_int(v, false).into(),
            Scalar::Float(d, v) => self.float_type(d).const_float(v).into(),
        }
    }

    /// A call of LLVM intrinsic `name`, overloaded on `types`.
    pub(crate) fn call_intrinsic(
        &self,
        name: &str,
        types: &[BasicTypeEnum<'ctx>],
        args: &[BasicValueEnum<'ctx>],
    ) -> Res<BasicValueEnum<'ctx>> {
        let intrinsic = Intrinsic::find(name).ok_or_else(|| CgError(format!("LLVM has no intrinsic {name}")))?;
        let f = intrinsic
            .get_declaration(self.module, types)
            .ok_or_else(|| CgError(format!("LLVM intrinsic {name} does not take {types:?}")))?;
        let args: Vec<BasicMetadataValueEnum> = args.iter().map(|&a| a.into()).collect();
        let call = self.b.build_call(f, &args, "")?;
        call.try_as_basic_value().basic().ok_or_else(|| CgError(format!("{name} returns nothing")))
    }

    /// A call of the C math library's function `name` on floats of type
    /// `ty`, declared as touching no memory (errno is never read), so loops
    /// calling it still vectorise and calls may move.
    pub(crate) fn call_libm(
        &self,
        name: &str,
        ty: FloatType<'ctx>,
        args: &[BasicValueEnum<'ctx>],
    ) -> Res<BasicValueEnum<'ctx>> {
        let f = match self.module.get_function(name) {
            Some(f) => f,
            None => {
                let params: Vec<_> = args.iter().map(|_| ty.into()).collect();
                let f = self.module.add_function(name, ty.fn_type(&params, false), None);
                for attr in
                    [self.enum_attr("nounwind", 0), self.enum_attr("willreturn", 0), self.enum_attr("memory", 0)]
                {
                    f.add_attribute(AttributeLoc::Function, attr);
                }
                f
            }
        };
        let args: Vec<BasicMetadataValueEnum> = args.iter().map(|&a| a.into()).collect();
        let call = self.b.build_call(f, &args, "")?;
        call.try_as_basic_value().basic().ok_or_else(|| CgError(format!("{name} returns nothing")))
    }

    /// The enum attribute `name` with value `v` (`memory` 0 is `memory(none)`).
    pub(crate) fn enum_attr(&self, name: &str, v: u64) -> Attribute {
        self.cx.create_enum_attribute(Attribute::get_named_enum_kind_id(name), v)
    }

    /// Sets status bit `bit` when `cond` (an `i1`) holds.
    pub(crate) fn flag(&self, cond: IntValue<'ctx>, bit: u32) -> Res<()> {
        if cond.get_zero_extended_constant() == Some(0) {
            return Ok(());
        }
        let i32t = self.cx.i32_type();
        let old = self.b.build_load(i32t, self.status, "")?.into_int_value();
        let set = self.b.build_select(cond, i32t.const_int(u64::from(bit), false), i32t.const_zero(), "")?;
        let new = self.b.build_or(old, set.into_int_value(), "")?;
        self.b.build_store(self.status, new)?;
        Ok(())
    }

    /// `a / b` (or the remainder `a % b` with `rem`) on integers, signed or
    /// not, without undefined behaviour: a zero divisor sets status bit
    /// `bit` and divides by 1 instead (the result is discarded by the
    /// caller, who sees the status); a signed `MIN / -1` wraps to `MIN`
    /// (remainder 0), as two's complement wrapping division does.
    pub(crate) fn int_divide(
        &self,
        a: IntValue<'ctx>,
        b: IntValue<'ctx>,
        signed: bool,
        rem: bool,
        bit: u32,
    ) -> Res<IntValue<'ctx>> {
        let t = a.get_type();
        let safe_constant = match b.get_sign_extended_constant() {
            Some(c) => c != 0 && (c != -1 || !signed),
            None => false,
        };
        if safe_constant {
            return Ok(match (signed, rem) {
                (true, true) => self.b.build_int_signed_rem(a, b, "")?,
                (true, false) => self.b.build_int_signed_div(a, b, "")?,
                (false, true) => self.b.build_int_unsigned_rem(a, b, "")?,
                (false, false) => self.b.build_int_unsigned_div(a, b, "")?,
            });
        }
        let zero = self.b.build_int_compare(IntPredicate::EQ, b, t.const_zero(), "")?;
        self.flag(zero, bit)?;
        if !signed {
            let safe = self.b.build_select(zero, t.const_int(1, false), b, "")?.into_int_value();
            return Ok(if rem {
                self.b.build_int_unsigned_rem(a, safe, "")?
            } else {
                self.b.build_int_unsigned_div(a, safe, "")?
            });
        }
        let minus_one = self.b.build_int_compare(IntPredicate::EQ, b, t.const_all_ones(), "")?;
        let bad = self.b.build_or(zero, minus_one, "")?;
        let safe = self.b.build_select(bad, t.const_int(1, false), b, "")?.into_int_value();
        if rem {
            // a % 1 == 0, which is also MIN % -1.
            return Ok(self.b.build_int_signed_rem(a, safe, "")?);
        }
        let q = self.b.build_int_signed_div(a, safe, "")?;
        let negated = self.b.build_int_sub(t.const_zero(), a, "")?;
        Ok(self.b.build_select(minus_one, negated, q, "")?.into_int_value())
    }
}

/// Whether `d`'s integers are signed (`i1` counts as unsigned: 0 or 1).
pub(crate) fn is_signed(d: DType) -> bool {
    Domain::of(d) == Domain::Int
}
