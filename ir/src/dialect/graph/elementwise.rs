//! Elementwise ops: unary math, binary arithmetic and logic with numpy
//! broadcasting, comparisons, `select`, `cast` and `bitcast`.

use super::kernels::{bits, compare, map_binary, map_unary, BinaryFns, Broadcast, Elem, UnaryFns};
use super::layout::{concat_data, take};
use crate::attr::DenseAttr;
use crate::dtype::{DType, DTypeClass};
use crate::eval::EvalCx;
use crate::infer::{broadcast_dims, same_dtype, InferCx};
use crate::op::{Arity, AttrKind, AttrSpec, OpDef, OpRef, OpSpec, Traits};
use crate::tensor::{Data, Tensor};
use crate::types::{TensorType, Type};
use std::cmp::Ordering;
use super::vjp::elementwise as rules;
use crate::diag::Diag;
use crate::vjp::{Grads, VjpCx, VjpRule};

/// The traits every elementwise op has.
const PURE_ELEMENTWISE: Traits = Traits::PURE.union(Traits::ELEMENTWISE);

/// What a unary op computes per element.
#[derive(Copy, Clone)]
enum UnaryKernel {
    /// A function per domain; the result has the operand's dtype.
    Map(UnaryFns),
    /// A test of each float; the result is `i1`.
    Test(fn(f64) -> bool),
}

/// A unary elementwise op: the result has the operand's shape.
pub struct Unary {
    spec: OpSpec,
    /// The dtypes the operand may have.
    class: DTypeClass,
    /// The scalar semantics.
    kernel: UnaryKernel,
    /// The gradient rule; `None`: not differentiable.
    grad: Option<VjpRule>,
}

impl Unary {
    /// An op whose result has the operand's dtype.
    const fn new(name: &'static str, summary: &'static str, class: DTypeClass, fns: UnaryFns) -> Unary {
        let spec = OpSpec::new(name, summary).traits(PURE_ELEMENTWISE.union(Traits::SAME_TYPE));
        Unary { spec, class, kernel: UnaryKernel::Map(fns), grad: None }
    }

    /// An op testing each float, with an `i1` result.
    const fn predicate(name: &'static str, summary: &'static str, test: fn(f64) -> bool) -> Unary {
        let spec = OpSpec::new(name, summary).traits(PURE_ELEMENTWISE);
        Unary { spec, class: DTypeClass::Float, kernel: UnaryKernel::Test(test), grad: None }
    }

    /// The same op with `traits` added.
    const fn with(mut self, traits: Traits) -> Unary {
        self.spec = self.spec.traits(self.spec.traits.union(traits));
        self
    }

    /// The same op differentiated by `rule`.
    const fn grad(mut self, rule: VjpRule) -> Unary {
        self.grad = Some(rule);
        self
    }
}

impl OpDef for Unary {
    fn spec(&self) -> &OpSpec {
        &self.spec
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let x = cx.tensor_of(0, self.class)?;
        let dtype = match self.kernel {
            UnaryKernel::Map(_) => x.dtype,
            UnaryKernel::Test(_) => DType::I1,
        };
        Ok(vec![Type::Tensor(x.with_dtype(dtype))])
    }
    fn eval(&self, cx: &mut EvalCx) -> Result<Vec<Tensor>, String> {
        let x = cx.input(0)?;
        let out = match (self.kernel, x.data()) {
            (UnaryKernel::Map(fns), _) => map_unary(x, &fns)?,
            (UnaryKernel::Test(test), Data::Float(v)) => {
                Tensor::new(DType::I1, x.shape().to_vec(), Data::Bool(v.iter().map(|&a| test(a)).collect()))?
            }
            (UnaryKernel::Test(_), _) => return Err(format!("operand #0 must be a float, got {}", x.dtype())),
        };
        Ok(vec![out])
    }
    fn vjp(&self, cx: &mut VjpCx) -> Result<Grads, Diag> {
        match self.grad {
            Some(rule) => rule(cx),
            None => Err(cx.not_differentiable(self.name())),
        }
    }
}

/// The logistic function, computed so that no intermediate overflows:
/// `1 / (1 + e^-x)` for `x >= 0`, `e^x / (1 + e^x)` below.
fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// -1, 0 or 1 by the sign of `x` (either zero gives 0); NaN stays NaN.
fn sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else if x == 0.0 {
        0.0
    } else {
        x
    }
}

/// `-x`.
pub static NEG: Unary =
    Unary::new("tg.neg", "-x", DTypeClass::Signed, UnaryFns::numeric(|x| -x, i64::wrapping_neg, |x| x))
        .with(Traits::INVOLUTION)
    .grad(rules::neg);
/// `|x|`.
pub static ABS: Unary =
    Unary::new("tg.abs", "|x|", DTypeClass::Numeric, UnaryFns::numeric(f64::abs, i64::wrapping_abs, |x| x))
        .with(Traits::IDEMPOTENT)
    .grad(rules::abs);
/// `e^x`.
pub static EXP: Unary = Unary::new("tg.exp", "e^x", DTypeClass::Float, UnaryFns::float(f64::exp))
    .grad(rules::exp);
/// Natural logarithm.
pub static LOG: Unary = Unary::new("tg.log", "ln(x)", DTypeClass::Float, UnaryFns::float(f64::ln))
    .grad(rules::log);
/// Square root.
pub static SQRT: Unary = Unary::new("tg.sqrt", "sqrt(x)", DTypeClass::Float, UnaryFns::float(f64::sqrt))
    .grad(rules::sqrt);
/// `1 / sqrt(x)`.
pub static RSQRT: Unary = Unary::new("tg.rsqrt", "1 / sqrt(x)", DTypeClass::Float, UnaryFns::float(|x| 1.0 / x.sqrt()))
    .grad(rules::rsqrt);
/// `1 / x`.
pub static RECIPROCAL: Unary = Unary::new("tg.reciprocal", "1 / x", DTypeClass::Float, UnaryFns::float(f64::recip))
    .grad(rules::reciprocal);
/// Hyperbolic tangent.
pub static TANH: Unary = Unary::new("tg.tanh", "tanh(x)", DTypeClass::Float, UnaryFns::float(f64::tanh))
    .grad(rules::tanh);
/// Logistic sigmoid `1 / (1 + e^-x)`.
pub static SIGMOID: Unary = Unary::new("tg.sigmoid", "1 / (1 + e^-x)", DTypeClass::Float, UnaryFns::float(sigmoid))
    .grad(rules::sigmoid);
/// Gauss error function.
pub static ERF: Unary = Unary::new("tg.erf", "erf(x)", DTypeClass::Float, UnaryFns::float(libm::erf))
    .grad(rules::erf);
/// Sine.
pub static SIN: Unary = Unary::new("tg.sin", "sin(x)", DTypeClass::Float, UnaryFns::float(f64::sin))
    .grad(rules::sin);
/// Cosine.
pub static COS: Unary = Unary::new("tg.cos", "cos(x)", DTypeClass::Float, UnaryFns::float(f64::cos))
    .grad(rules::cos);
/// Tangent.
pub static TAN: Unary = Unary::new("tg.tan", "tan(x)", DTypeClass::Float, UnaryFns::float(f64::tan))
    .grad(rules::tan);
/// Arcsine.
pub static ASIN: Unary = Unary::new("tg.asin", "asin(x)", DTypeClass::Float, UnaryFns::float(f64::asin))
    .grad(rules::asin);
/// Arccosine.
pub static ACOS: Unary = Unary::new("tg.acos", "acos(x)", DTypeClass::Float, UnaryFns::float(f64::acos))
    .grad(rules::acos);
/// Arctangent.
pub static ATAN: Unary = Unary::new("tg.atan", "atan(x)", DTypeClass::Float, UnaryFns::float(f64::atan))
    .grad(rules::atan);
/// Hyperbolic sine.
pub static SINH: Unary = Unary::new("tg.sinh", "sinh(x)", DTypeClass::Float, UnaryFns::float(f64::sinh))
    .grad(rules::sinh);
/// Hyperbolic cosine.
pub static COSH: Unary = Unary::new("tg.cosh", "cosh(x)", DTypeClass::Float, UnaryFns::float(f64::cosh))
    .grad(rules::cosh);
/// Inverse hyperbolic sine.
pub static ASINH: Unary = Unary::new("tg.asinh", "asinh(x)", DTypeClass::Float, UnaryFns::float(f64::asinh))
    .grad(rules::asinh);
/// Inverse hyperbolic cosine.
pub static ACOSH: Unary = Unary::new("tg.acosh", "acosh(x)", DTypeClass::Float, UnaryFns::float(f64::acosh))
    .grad(rules::acosh);
/// Inverse hyperbolic tangent.
pub static ATANH: Unary = Unary::new("tg.atanh", "atanh(x)", DTypeClass::Float, UnaryFns::float(f64::atanh))
    .grad(rules::atanh);
/// Round toward negative infinity.
pub static FLOOR: Unary =
    Unary::new("tg.floor", "floor(x)", DTypeClass::Float, UnaryFns::float(f64::floor)).with(Traits::IDEMPOTENT)
    .grad(rules::zero);
/// Round toward positive infinity.
pub static CEIL: Unary =
    Unary::new("tg.ceil", "ceil(x)", DTypeClass::Float, UnaryFns::float(f64::ceil)).with(Traits::IDEMPOTENT)
    .grad(rules::zero);
/// Round half to even (ONNX `Round`).
pub static ROUND: Unary =
    Unary::new("tg.round", "round half to even", DTypeClass::Float, UnaryFns::float(f64::round_ties_even))
        .with(Traits::IDEMPOTENT)
    .grad(rules::zero);
/// -1, 0 or 1 by the sign of x (0 for NaN is not guaranteed: NaN stays NaN).
pub static SIGN: Unary = Unary::new(
    "tg.sign",
    "sign(x) in {-1, 0, 1}",
    DTypeClass::Numeric,
    UnaryFns::numeric(sign, i64::signum, |x| x.min(1)),
)
.with(Traits::IDEMPOTENT)
    .grad(rules::zero);
/// Logical not of `i1`.
pub static NOT: Unary =
    Unary::new("tg.not", "logical not", DTypeClass::Bool, UnaryFns::boolean(|x| !x)).with(Traits::INVOLUTION);
/// Bitwise complement of an integer.
pub static BITNOT: Unary =
    Unary::new("tg.bitnot", "bitwise not", DTypeClass::Int, UnaryFns::ints(|x| !x, |x| !x)).with(Traits::INVOLUTION);
/// Whether x is NaN.
pub static IS_NAN: Unary = Unary::predicate("tg.is_nan", "x is NaN", f64::is_nan);
/// Whether x is +inf or -inf.
pub static IS_INF: Unary = Unary::predicate("tg.is_inf", "x is +inf or -inf", f64::is_infinite);

/// What a binary op computes per pair of elements.
#[derive(Copy, Clone)]
enum BinaryKernel {
    /// A function per domain; the result has the operands' dtype.
    Map(BinaryFns),
    /// A test of `a.partial_cmp(b)`; the result is `i1`.
    Compare(fn(Option<Ordering>) -> bool),
}

/// A binary elementwise op with numpy broadcasting; both operands share a dtype.
pub struct Binary {
    spec: OpSpec,
    /// The dtypes the operands may have.
    class: DTypeClass,
    /// The scalar semantics.
    kernel: BinaryKernel,
    /// The gradient rule; `None`: not differentiable.
    grad: Option<VjpRule>,
}

impl Binary {
    /// An op whose result has the operands' dtype.
    const fn new(name: &'static str, summary: &'static str, class: DTypeClass, fns: BinaryFns) -> Binary {
        let spec = OpSpec::new(name, summary).traits(PURE_ELEMENTWISE).operands(Arity::Exactly(2));
        Binary { spec, class, kernel: BinaryKernel::Map(fns), grad: None }
    }

    /// A comparison: an `i1` result from a test of the operands' ordering.
    const fn comparison(
        name: &'static str,
        summary: &'static str,
        class: DTypeClass,
        test: fn(Option<Ordering>) -> bool,
    ) -> Binary {
        let spec = OpSpec::new(name, summary).traits(PURE_ELEMENTWISE).operands(Arity::Exactly(2));
        Binary { spec, class, kernel: BinaryKernel::Compare(test), grad: None }
    }

    /// The same op with `traits` added.
    const fn with(mut self, traits: Traits) -> Binary {
        self.spec = self.spec.traits(self.spec.traits.union(traits));
        self
    }

    /// The same op differentiated by `rule`.
    const fn grad(mut self, rule: VjpRule) -> Binary {
        self.grad = Some(rule);
        self
    }
}

impl OpDef for Binary {
    fn spec(&self) -> &OpSpec {
        &self.spec
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let (a, b) = (cx.tensor_of(0, self.class)?, cx.tensor_of(1, self.class)?);
        let dtype = same_dtype(&[a, b])?;
        let dims = broadcast_dims(&[&a.dims, &b.dims])?;
        let dtype = match self.kernel {
            BinaryKernel::Map(_) => dtype,
            BinaryKernel::Compare(_) => DType::I1,
        };
        Ok(vec![Type::Tensor(TensorType::new(dims, dtype))])
    }
    fn eval(&self, cx: &mut EvalCx) -> Result<Vec<Tensor>, String> {
        let (a, b) = (cx.input(0)?, cx.input(1)?);
        let out = match self.kernel {
            BinaryKernel::Map(fns) => map_binary(a, b, &fns)?,
            BinaryKernel::Compare(test) => compare(a, b, test)?,
        };
        Ok(vec![out])
    }
    fn vjp(&self, cx: &mut VjpCx) -> Result<Grads, Diag> {
        match self.grad {
            Some(rule) => rule(cx),
            None => Err(cx.not_differentiable(self.name())),
        }
    }
}

/// The error of an integer division or remainder by zero.
fn divide_by_zero() -> String {
    "integer division by zero".to_string()
}

/// `a ^ b` for signed integers, wrapping. A negative exponent gives the
/// truncated `1 / a^-b`: ±1 for `a = ±1`, 0 for `|a| > 1`, and an error for 0.
fn pow_int(a: i64, b: i64, _: DType) -> Result<i64, String> {
    match (a, u64::try_from(b)) {
        (_, Ok(e)) => Ok(wrapping_pow(a as u64, e) as i64),
        (0, Err(_)) => Err("integer 0 raised to a negative power (division by zero)".to_string()),
        (1, Err(_)) => Ok(1),
        (-1, Err(_)) => Ok(if b % 2 == 0 { 1 } else { -1 }),
        (_, Err(_)) => Ok(0),
    }
}

/// `base ^ exp` modulo 2^64, by repeated squaring; two's complement makes
/// this right for signed bases too.
fn wrapping_pow(mut base: u64, mut exp: u64) -> u64 {
    let mut acc: u64 = 1;
    while exp > 0 {
        if exp & 1 == 1 {
            acc = acc.wrapping_mul(base);
        }
        base = base.wrapping_mul(base);
        exp >>= 1;
    }
    acc
}

/// The remainder with the divisor's sign (Python `%`, numpy `mod`); a zero
/// remainder takes the divisor's sign too.
fn mod_float(a: f64, b: f64) -> f64 {
    let r = a % b;
    if r == 0.0 {
        0.0f64.copysign(b)
    } else if (r < 0.0) != (b < 0.0) {
        r + b
    } else {
        r
    }
}

/// The remainder with the divisor's sign for signed integers.
fn mod_int(a: i64, b: i64, _: DType) -> Result<i64, String> {
    if b == 0 {
        return Err(divide_by_zero());
    }
    let r = a.wrapping_rem(b);
    Ok(if r != 0 && (r < 0) != (b < 0) { r + b } else { r })
}

/// `a << b`, 0 once `b` is negative or reaches the dtype's width (ONNX BitShift).
fn shl_int(a: i64, b: i64, dtype: DType) -> Result<i64, String> {
    Ok(match u32::try_from(b) {
        Ok(s) if s < bits(dtype) => ((a as u64) << s) as i64,
        _ => 0,
    })
}

/// `a >> b` for signed integers: arithmetic; a shift by a negative amount or
/// by the width or more leaves only the sign (-1 or 0), as ONNX's reference does.
fn shr_int(a: i64, b: i64, dtype: DType) -> Result<i64, String> {
    Ok(match u32::try_from(b) {
        Ok(s) if s < bits(dtype) => a >> s,
        _ => a >> 63,
    })
}

/// `a << b` for unsigned integers, 0 from the dtype's width on.
fn shl_uint(a: u64, b: u64, dtype: DType) -> Result<u64, String> {
    Ok(if b < u64::from(bits(dtype)) { a << b } else { 0 })
}

/// `a >> b` for unsigned integers (logical), 0 from the dtype's width on.
fn shr_uint(a: u64, b: u64, dtype: DType) -> Result<u64, String> {
    Ok(if b < u64::from(bits(dtype)) { a >> b } else { 0 })
}

/// `a + b`.
pub static ADD: Binary = Binary::new(
    "tg.add",
    "a + b",
    DTypeClass::Numeric,
    BinaryFns::numeric(|a, b| a + b, |a, b, _| Ok(a.wrapping_add(b)), |a, b, _| Ok(a.wrapping_add(b))),
)
.with(Traits::COMMUTATIVE)
    .grad(rules::add);
/// `a - b`.
pub static SUB: Binary = Binary::new(
    "tg.sub",
    "a - b",
    DTypeClass::Numeric,
    BinaryFns::numeric(|a, b| a - b, |a, b, _| Ok(a.wrapping_sub(b)), |a, b, _| Ok(a.wrapping_sub(b))),
)
    .grad(rules::sub);
/// `a * b`.
pub static MUL: Binary = Binary::new(
    "tg.mul",
    "a * b",
    DTypeClass::Numeric,
    BinaryFns::numeric(|a, b| a * b, |a, b, _| Ok(a.wrapping_mul(b)), |a, b, _| Ok(a.wrapping_mul(b))),
)
.with(Traits::COMMUTATIVE)
    .grad(rules::mul);
/// `a / b`: IEEE for floats; integer division truncates toward zero, and
/// dividing by zero is an error.
pub static DIV: Binary = Binary::new(
    "tg.div",
    "a / b, truncating for integers",
    DTypeClass::Numeric,
    BinaryFns::numeric(
        |a, b| a / b,
        |a, b, _| if b == 0 { Err(divide_by_zero()) } else { Ok(a.wrapping_div(b)) },
        |a, b, _| a.checked_div(b).ok_or_else(divide_by_zero),
    ),
)
    .grad(rules::div);
/// `a ^ b`; for integers wrapping, with a negative exponent truncating
/// `1 / a^-b` (0 unless `|a| = 1`; an error for `a = 0`).
pub static POW: Binary = Binary::new(
    "tg.pow",
    "a ^ b",
    DTypeClass::Numeric,
    BinaryFns::numeric(f64::powf, pow_int, |a, b, _| Ok(wrapping_pow(a, b))),
)
    .grad(rules::pow);
/// The larger of a and b (NaN if either is NaN).
pub static MAX: Binary = Binary::new(
    "tg.max",
    "max(a, b), NaN-propagating",
    DTypeClass::Numeric,
    BinaryFns::numeric(Elem::maximum, |a, b, _| Ok(a.max(b)), |a, b, _| Ok(a.max(b))),
)
.with(Traits::COMMUTATIVE.union(Traits::IDEMPOTENT))
    .grad(rules::max);
/// The smaller of a and b (NaN if either is NaN).
pub static MIN: Binary = Binary::new(
    "tg.min",
    "min(a, b), NaN-propagating",
    DTypeClass::Numeric,
    BinaryFns::numeric(Elem::minimum, |a, b, _| Ok(a.min(b)), |a, b, _| Ok(a.min(b))),
)
.with(Traits::COMMUTATIVE.union(Traits::IDEMPOTENT))
    .grad(rules::min);
/// Remainder with the sign of the dividend (C `fmod`, ONNX `Mod` with
/// fmod=1); an integer remainder by zero is an error.
pub static REM: Binary = Binary::new(
    "tg.rem",
    "a - b * trunc(a / b)",
    DTypeClass::Numeric,
    BinaryFns::numeric(
        |a, b| a % b,
        |a, b, _| if b == 0 { Err(divide_by_zero()) } else { Ok(a.wrapping_rem(b)) },
        |a, b, _| a.checked_rem(b).ok_or_else(divide_by_zero),
    ),
)
    .grad(rules::rem);
/// Remainder with the sign of the divisor (Python `%`, ONNX `Mod` with
/// fmod=0); an integer remainder by zero is an error.
pub static MOD: Binary = Binary::new(
    "tg.mod",
    "a - b * floor(a / b)",
    DTypeClass::Numeric,
    BinaryFns::numeric(mod_float, mod_int, |a, b, _| a.checked_rem(b).ok_or_else(divide_by_zero)),
)
    .grad(rules::modulo);
/// Four-quadrant arctangent of a / b.
pub static ATAN2: Binary = Binary::new("tg.atan2", "atan2(a, b)", DTypeClass::Float, BinaryFns::float(f64::atan2))
    .grad(rules::atan2);
/// Logical and.
pub static AND: Binary = Binary::new("tg.and", "logical and", DTypeClass::Bool, BinaryFns::boolean(|a, b| a & b))
    .with(Traits::COMMUTATIVE.union(Traits::IDEMPOTENT));
/// Logical or.
pub static OR: Binary = Binary::new("tg.or", "logical or", DTypeClass::Bool, BinaryFns::boolean(|a, b| a | b))
    .with(Traits::COMMUTATIVE.union(Traits::IDEMPOTENT));
/// Logical exclusive or.
pub static XOR: Binary =
    Binary::new("tg.xor", "logical xor", DTypeClass::Bool, BinaryFns::boolean(|a, b| a ^ b)).with(Traits::COMMUTATIVE);
/// Bitwise and.
pub static BITAND: Binary =
    Binary::new("tg.bitand", "bitwise and", DTypeClass::Int, BinaryFns::ints(|a, b, _| Ok(a & b), |a, b, _| Ok(a & b)))
        .with(Traits::COMMUTATIVE.union(Traits::IDEMPOTENT));
/// Bitwise or.
pub static BITOR: Binary =
    Binary::new("tg.bitor", "bitwise or", DTypeClass::Int, BinaryFns::ints(|a, b, _| Ok(a | b), |a, b, _| Ok(a | b)))
        .with(Traits::COMMUTATIVE.union(Traits::IDEMPOTENT));
/// Bitwise exclusive or.
pub static BITXOR: Binary =
    Binary::new("tg.bitxor", "bitwise xor", DTypeClass::Int, BinaryFns::ints(|a, b, _| Ok(a ^ b), |a, b, _| Ok(a ^ b)))
        .with(Traits::COMMUTATIVE);
/// Shift left; shifting by the dtype's width or more (or by a negative
/// amount) gives 0, as ONNX BitShift does.
pub static SHL: Binary = Binary::new("tg.shl", "a << b", DTypeClass::Int, BinaryFns::ints(shl_int, shl_uint));
/// Shift right: arithmetic for signed, logical for unsigned integers;
/// shifting by the width or more leaves 0 (unsigned) or the sign (signed).
pub static SHR: Binary = Binary::new("tg.shr", "a >> b", DTypeClass::Int, BinaryFns::ints(shr_int, shr_uint));
/// `a == b` (NaN equals nothing).
pub static EQ: Binary =
    Binary::comparison("tg.eq", "a == b", DTypeClass::Any, |o| o == Some(Ordering::Equal)).with(Traits::COMMUTATIVE);
/// `a != b` (NaN differs from everything).
pub static NE: Binary =
    Binary::comparison("tg.ne", "a != b", DTypeClass::Any, |o| o != Some(Ordering::Equal)).with(Traits::COMMUTATIVE);
/// `a < b`.
pub static LT: Binary = Binary::comparison("tg.lt", "a < b", DTypeClass::Numeric, |o| o == Some(Ordering::Less));
/// `a <= b`.
pub static LE: Binary =
    Binary::comparison("tg.le", "a <= b", DTypeClass::Numeric, |o| matches!(o, Some(Ordering::Less | Ordering::Equal)));
/// `a > b`.
pub static GT: Binary = Binary::comparison("tg.gt", "a > b", DTypeClass::Numeric, |o| o == Some(Ordering::Greater));
/// `a >= b`.
pub static GE: Binary = Binary::comparison("tg.ge", "a >= b", DTypeClass::Numeric, |o| {
    matches!(o, Some(Ordering::Greater | Ordering::Equal))
});

/// `tg.select %cond, %a, %b`: `cond ? a : b` elementwise, all three broadcast.
pub struct Select;

impl OpDef for Select {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec = OpSpec::new("tg.select", "cond ? a : b, elementwise with broadcasting")
            .traits(PURE_ELEMENTWISE)
            .operands(Arity::Exactly(3));
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let c = cx.tensor_of(0, DTypeClass::Bool)?;
        let (a, b) = (cx.tensor(1)?, cx.tensor(2)?);
        if a.dtype != b.dtype {
            return Err(format!("the branches have dtypes {} and {}; they must match", a.dtype, b.dtype));
        }
        let dims = broadcast_dims(&[&c.dims, &a.dims, &b.dims])?;
        Ok(vec![Type::Tensor(TensorType::new(dims, a.dtype))])
    }
    fn eval(&self, cx: &mut EvalCx) -> Result<Vec<Tensor>, String> {
        let (c, a, b) = (cx.input(0)?, cx.input(1)?, cx.input(2)?);
        let bc = Broadcast::of(&[c, a, b])?;
        let cond = c.to_bools();
        // b's elements sit right after a's: each position picks from one or the other.
        let joined = concat_data(&[a.data(), b.data()])
            .map_err(|_| format!("the branches have dtypes {} and {}; they must match", a.dtype(), b.dtype()))?;
        let picks = (0..bc.len())
            .map(|i| Some(if cond[bc.source(0, i)] { bc.source(1, i) } else { a.len() + bc.source(2, i) }));
        Ok(vec![Tensor::new(a.dtype(), bc.shape().to_vec(), take(&joined, picks)?)?])
    }
    fn vjp(&self, cx: &mut VjpCx) -> Result<Grads, Diag> {
        rules::select(cx)
    }
}

/// The `tg.select` op.
pub static SELECT: Select = Select;

/// `tg.cast %x {to = f16}`: converts each element (floats to ints truncate
/// toward zero; anything to `i1` tests `!= 0`).
pub struct Cast;

impl OpDef for Cast {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec = OpSpec::new("tg.cast", "converts each element to dtype `to`")
            .traits(PURE_ELEMENTWISE)
            .attrs(&[AttrSpec::req("to", AttrKind::DType)]);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let x = cx.tensor(0)?;
        Ok(vec![Type::Tensor(x.with_dtype(cx.dtype("to")?))])
    }
    fn eval(&self, cx: &mut EvalCx) -> Result<Vec<Tensor>, String> {
        Ok(vec![cx.input(0)?.cast(cx.op.dtype("to")?)])
    }
    fn vjp(&self, cx: &mut VjpCx) -> Result<Grads, Diag> {
        rules::cast(cx)
    }
}

/// The `tg.cast` op.
pub static CAST: Cast = Cast;

/// `tg.bitcast %x {to = i32}`: each element's bytes (little-endian)
/// reinterpreted as dtype `to`, which must have the operand's element size;
/// the shape is kept. An `i1` result is true for any nonzero byte. (The
/// reference evaluator holds floats as f64, so NaN payloads and signalling
/// NaNs are not kept bit for bit.)
pub struct Bitcast;

/// Checks that a bitcast from `from` to `to` keeps the element size.
fn same_element_size(from: DType, to: DType) -> Result<(), String> {
    if from.size_bytes() != to.size_bytes() {
        return Err(format!(
            "cannot bitcast {from} ({} byte(s)) to {to} ({} byte(s)): the element sizes differ",
            from.size_bytes(),
            to.size_bytes()
        ));
    }
    Ok(())
}

impl OpDef for Bitcast {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec = OpSpec::new("tg.bitcast", "each element's bits reinterpreted as dtype `to` (same size)")
            .traits(PURE_ELEMENTWISE)
            .attrs(&[AttrSpec::req("to", AttrKind::DType)]);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let x = cx.tensor(0)?;
        let to = cx.dtype("to")?;
        same_element_size(x.dtype, to)?;
        Ok(vec![Type::Tensor(x.with_dtype(to))])
    }
    fn eval(&self, cx: &mut EvalCx) -> Result<Vec<Tensor>, String> {
        let x = cx.input(0)?;
        let to = cx.op.dtype("to")?;
        same_element_size(x.dtype(), to)?;
        let bytes = x.to_dense();
        let reread = DenseAttr::from_bytes(x.ty().with_dtype(to), bytes.shared_bytes().clone())?;
        Ok(vec![Tensor::from(&reread)])
    }
}

/// The `tg.bitcast` op.
pub static BITCAST: Bitcast = Bitcast;

/// Every op declared in this file.
pub static OPS: &[OpRef] = &[
    &NEG, &ABS, &EXP, &LOG, &SQRT, &RSQRT, &RECIPROCAL, &TANH, &SIGMOID, &ERF, &SIN, &COS, &TAN, &ASIN, &ACOS,
    &ATAN, &SINH, &COSH, &ASINH, &ACOSH, &ATANH, &FLOOR, &CEIL, &ROUND, &SIGN, &NOT, &BITNOT, &IS_NAN, &IS_INF,
    &ADD, &SUB, &MUL, &DIV, &POW, &MAX, &MIN, &REM, &MOD, &ATAN2, &AND, &OR, &XOR, &BITAND, &BITOR, &BITXOR,
    &SHL, &SHR, &EQ, &NE, &LT, &LE, &GT, &GE, &SELECT, &CAST, &BITCAST,
];

#[cfg(test)]
mod tests {
    use super::super::testing::{eval1, t};
    use super::*;
    use crate::attr::{Attr, Attrs};

    /// Evaluates a one-result op without attributes.
    fn run<const N: usize>(op: OpRef, inputs: [Tensor; N]) -> Result<Tensor, String> {
        eval1(op, &inputs, &Attrs::new())
    }

    /// The f64 values of a one-result op without attributes.
    fn values<const N: usize>(op: OpRef, inputs: [Tensor; N]) -> Vec<f64> {
        run(op, inputs).unwrap().to_f64s()
    }

    /// Asserts `actual` matches `expected` to a relative `tol` (NaN matching NaN).
    fn assert_close(actual: &[f64], expected: &[f64], tol: f64) {
        assert_eq!(actual.len(), expected.len(), "{actual:?} vs {expected:?}");
        for (a, e) in actual.iter().zip(expected) {
            let ok = (a.is_nan() && e.is_nan()) || a == e || (a - e).abs() <= tol * e.abs();
            assert!(ok, "{actual:?} differs from {expected:?}");
        }
    }

    fn f64s(shape: &[usize], v: &[f64]) -> Tensor {
        t(DType::F64, shape, v)
    }

    #[test]
    fn unary_math_on_floats() {
        let x = f64s(&[4], &[0.25, 1.0, 4.0, -1.0]);
        assert_close(&values(&SQRT, [x.clone()]), &[0.5, 1.0, 2.0, f64::NAN], 0.0);
        assert_close(&values(&RSQRT, [x.clone()]), &[2.0, 1.0, 0.5, f64::NAN], 0.0);
        assert_close(&values(&RECIPROCAL, [x.clone()]), &[4.0, 1.0, 0.25, -1.0], 0.0);
        assert_close(&values(&LOG, [f64s(&[3], &[1.0, 0.0, -1.0])]), &[0.0, f64::NEG_INFINITY, f64::NAN], 0.0);
        assert_close(&values(&EXP, [f64s(&[2], &[0.0, 1.0])]), &[1.0, std::f64::consts::E], 1e-16);
        assert_close(&values(&NEG, [x.clone()]), &[-0.25, -1.0, -4.0, 1.0], 0.0);
        assert_close(&values(&ABS, [x]), &[0.25, 1.0, 4.0, 1.0], 0.0);
        let h = f64s(&[3], &[0.0, 0.5, -0.5]);
        assert_close(&values(&TANH, [h.clone()]), &[0.0, 0.46211715726000974, -0.46211715726000974], 1e-15);
        assert_close(&values(&ATANH, [h.clone()]), &[0.0, 0.5493061443340549, -0.5493061443340549], 1e-15);
        assert_close(
            &values(&ASIN, [h.clone()]),
            &[0.0, std::f64::consts::FRAC_PI_6, -std::f64::consts::FRAC_PI_6],
            1e-15,
        );
        assert_close(
            &values(&ACOS, [h.clone()]),
            &[std::f64::consts::FRAC_PI_2, std::f64::consts::FRAC_PI_3, 2.0943951023931957],
            1e-15,
        );
        assert_close(&values(&COSH, [h.clone()]), &[1.0, 1.1276259652063807, 1.1276259652063807], 1e-15);
        assert_close(&values(&SINH, [h.clone()]), &[0.0, 0.5210953054937474, -0.5210953054937474], 1e-15);
        assert_close(&values(&ASINH, [h]), &[0.0, 0.48121182505960347, -0.48121182505960347], 1e-15);
        assert_close(&values(&ACOSH, [f64s(&[2], &[1.0, 0.5])]), &[0.0, f64::NAN], 0.0);
        let q = f64s(&[2], &[0.0, std::f64::consts::FRAC_PI_4]);
        assert_close(&values(&SIN, [q.clone()]), &[0.0, std::f64::consts::FRAC_1_SQRT_2], 1e-15);
        assert_close(&values(&COS, [q.clone()]), &[1.0, std::f64::consts::FRAC_1_SQRT_2], 1e-15);
        assert_close(&values(&TAN, [q.clone()]), &[0.0, 1.0], 1e-15);
        assert_close(
            &values(&ATAN, [f64s(&[2], &[1.0, f64::INFINITY])]),
            &[std::f64::consts::FRAC_PI_4, std::f64::consts::FRAC_PI_2],
            0.0,
        );
    }

    #[test]
    fn rounding_ops() {
        let x = f64s(&[9], &[0.5, 1.5, 2.5, -0.5, -2.5, 2.4, 2.6, -2.6, f64::NAN]);
        assert_close(&values(&ROUND, [x.clone()]), &[0.0, 2.0, 2.0, -0.0, -2.0, 2.0, 3.0, -3.0, f64::NAN], 0.0);
        assert_close(&values(&FLOOR, [x.clone()]), &[0.0, 1.0, 2.0, -1.0, -3.0, 2.0, 2.0, -3.0, f64::NAN], 0.0);
        assert_close(&values(&CEIL, [x]), &[1.0, 2.0, 3.0, -0.0, -2.0, 3.0, 3.0, -2.0, f64::NAN], 0.0);
    }

    #[test]
    fn sign_keeps_nan_and_zero() {
        let x = f64s(&[6], &[-2.5, 0.0, -0.0, 3.0, f64::NAN, f64::NEG_INFINITY]);
        assert_close(&values(&SIGN, [x]), &[-1.0, 0.0, 0.0, 1.0, f64::NAN, -1.0], 0.0);
        assert_eq!(run(&SIGN, [t(DType::I32, &[3], &[-5.0, 0.0, 7.0])]).unwrap().to_i64s(), [-1, 0, 1]);
        assert_eq!(run(&SIGN, [t(DType::U8, &[2], &[0.0, 200.0])]).unwrap().to_i64s(), [0, 1]);
    }

    #[test]
    fn sigmoid_is_stable_at_both_ends() {
        let x = f64s(&[6], &[0.0, 2.0, -30.0, -700.0, -1000.0, 1000.0]);
        let e30 = (-30f64).exp();
        let expected = [0.5, 0.8807970779778823, e30 / (1.0 + e30), 9.85967654375977e-305, 0.0, 1.0];
        assert_close(&values(&SIGMOID, [x]), &expected, 1e-14);
        let f = t(DType::F32, &[2], &[-100.0, -200.0]);
        let out = values(&SIGMOID, [f]);
        assert!(out.iter().all(|v| v.is_finite() && *v >= 0.0), "{out:?}");
        assert_eq!(out[0], ((-100f64).exp() as f32) as f64);
    }

    #[test]
    fn erf_is_accurate() {
        // Reference values: Python's math.erf (correctly rounded to within an ulp).
        let x = f64s(&[9], &[0.0, 1e-10, 0.5, 1.0, -2.0, 3.5, 6.0, f64::INFINITY, f64::NAN]);
        let expected = [
            0.0,
            1.1283791670955126e-10,
            0.5204998778130465,
            0.8427007929497149,
            -0.9953222650189527,
            0.9999992569016276,
            1.0,
            1.0,
            f64::NAN,
        ];
        assert_close(&values(&ERF, [x]), &expected, 1e-15);
    }

    #[test]
    fn results_round_to_the_dtype() {
        // f16 has 11 significant bits: 2048 + 1 ties to even (2048), 2048 + 3 to 2052.
        let a = t(DType::F16, &[2], &[2048.0, 2048.0]);
        let b = t(DType::F16, &[2], &[1.0, 3.0]);
        assert_eq!(values(&ADD, [a, b]), [2048.0, 2052.0]);
        let third = run(&DIV, [t(DType::F16, &[], &[1.0]), t(DType::F16, &[], &[3.0])]).unwrap();
        assert_eq!(third.to_f64s(), [0.333251953125]);
        let bf = run(&MUL, [t(DType::BF16, &[], &[1.0 + 1.0 / 128.0]), t(DType::BF16, &[], &[1.0 + 1.0 / 128.0])]);
        assert_eq!(bf.unwrap().to_f64s(), [1.015625]);
        let e = values(&EXP, [t(DType::F32, &[], &[1.0])]);
        assert_eq!(e, [std::f64::consts::E as f32 as f64]);
        let big = values(&MUL, [t(DType::F16, &[], &[300.0]), t(DType::F16, &[], &[300.0])]);
        assert_eq!(big, [f64::INFINITY]);
    }

    #[test]
    fn integers_wrap() {
        let i8s = |v: &[f64]| t(DType::I8, &[v.len()], v);
        assert_eq!(run(&ADD, [i8s(&[100.0, -100.0]), i8s(&[100.0, -100.0])]).unwrap().to_i64s(), [-56, 56]);
        assert_eq!(run(&NEG, [i8s(&[-128.0, 5.0])]).unwrap().to_i64s(), [-128, -5]);
        assert_eq!(run(&ABS, [i8s(&[-128.0, -5.0])]).unwrap().to_i64s(), [-128, 5]);
        assert_eq!(run(&SUB, [t(DType::U8, &[], &[3.0]), t(DType::U8, &[], &[5.0])]).unwrap().to_i64s(), [254]);
        assert_eq!(
            run(&MUL, [t(DType::I32, &[], &[65536.0]), t(DType::I32, &[], &[65537.0])]).unwrap().to_i64s(),
            [65536]
        );
        let max = Tensor::new(DType::I64, vec![], Data::Int(vec![i64::MAX])).unwrap();
        let one = Tensor::new(DType::I64, vec![], Data::Int(vec![1])).unwrap();
        assert_eq!(run(&ADD, [max, one]).unwrap().to_i64s(), [i64::MIN]);
        let u = Tensor::new(DType::U64, vec![], Data::UInt(vec![u64::MAX])).unwrap();
        let u1 = Tensor::new(DType::U64, vec![], Data::UInt(vec![1])).unwrap();
        assert_eq!(run(&ADD, [u, u1]).unwrap().data(), &Data::UInt(vec![0]));
    }

    #[test]
    fn binary_ops_broadcast_in_every_position() {
        let col = f64s(&[2, 1], &[10.0, 20.0]);
        let row = f64s(&[3], &[1.0, 2.0, 3.0]);
        let s = run(&SUB, [col.clone(), row.clone()]).unwrap();
        assert_eq!((s.shape(), s.to_f64s()), (&[2, 3][..], vec![9.0, 8.0, 7.0, 19.0, 18.0, 17.0]));
        let s = run(&SUB, [row.clone(), col.clone()]).unwrap();
        assert_eq!((s.shape(), s.to_f64s()), (&[2, 3][..], vec![-9.0, -8.0, -7.0, -19.0, -18.0, -17.0]));
        let scalar = f64s(&[], &[100.0]);
        let m = f64s(&[2, 2], &[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(values(&SUB, [scalar.clone(), m.clone()]), [99.0, 98.0, 97.0, 96.0]);
        assert_eq!(values(&SUB, [m.clone(), scalar]), [-99.0, -98.0, -97.0, -96.0]);
        let r = run(&ADD, [f64s(&[1, 2, 1], &[1.0, 2.0]), f64s(&[2, 1, 3], &[0.0, 10.0, 20.0, 30.0, 40.0, 50.0])]);
        let r = r.unwrap();
        assert_eq!(r.shape(), [2, 2, 3]);
        assert_eq!(r.to_f64s(), [1.0, 11.0, 21.0, 2.0, 12.0, 22.0, 31.0, 41.0, 51.0, 32.0, 42.0, 52.0]);
        assert_eq!(values(&MUL, [m.clone(), m]), [1.0, 4.0, 9.0, 16.0]);
    }

    #[test]
    fn empty_tensors_stay_empty() {
        let e = run(&ADD, [f64s(&[0, 3], &[]), f64s(&[3], &[1.0, 2.0, 3.0])]).unwrap();
        assert_eq!((e.shape(), e.len()), (&[0, 3][..], 0));
        let e = run(&ADD, [f64s(&[1], &[1.0]), f64s(&[0], &[])]).unwrap();
        assert_eq!(e.shape(), [0]);
        assert_eq!(run(&EXP, [f64s(&[2, 0], &[])]).unwrap().shape(), [2, 0]);
        let c = run(&LT, [t(DType::I32, &[0], &[]), t(DType::I32, &[], &[1.0])]).unwrap();
        assert_eq!((c.shape(), c.dtype()), (&[0][..], DType::I1));
        let sel = run(&SELECT, [t(DType::I1, &[0, 2], &[]), f64s(&[2], &[1.0, 2.0]), f64s(&[], &[0.0])]).unwrap();
        assert_eq!(sel.shape(), [0, 2]);
    }

    #[test]
    fn division_truncates_integers_and_rejects_zero() {
        let f = values(&DIV, [f64s(&[4], &[1.0, -1.0, 0.0, 7.0]), f64s(&[4], &[0.0, 0.0, 0.0, 2.0])]);
        assert_close(&f, &[f64::INFINITY, f64::NEG_INFINITY, f64::NAN, 3.5], 0.0);
        let a = t(DType::I32, &[4], &[7.0, -7.0, 7.0, -7.0]);
        let b = t(DType::I32, &[4], &[2.0, 2.0, -2.0, -2.0]);
        assert_eq!(run(&DIV, [a, b]).unwrap().to_i64s(), [3, -3, -3, 3]);
        let min = run(&DIV, [t(DType::I8, &[], &[-128.0]), t(DType::I8, &[], &[-1.0])]).unwrap();
        assert_eq!(min.to_i64s(), [-128]);
        let zero = run(&DIV, [t(DType::I32, &[2], &[1.0, 2.0]), t(DType::I32, &[2], &[1.0, 0.0])]);
        assert_eq!(zero, Err("integer division by zero".into()));
        assert_eq!(run(&DIV, [t(DType::U8, &[], &[7.0]), t(DType::U8, &[], &[2.0])]).unwrap().to_i64s(), [3]);
        assert!(run(&DIV, [t(DType::U8, &[], &[7.0]), t(DType::U8, &[], &[0.0])]).is_err());
    }

    #[test]
    fn rem_follows_the_dividend_and_mod_the_divisor() {
        let a = t(DType::I32, &[4], &[-7.0, 7.0, -7.0, 7.0]);
        let b = t(DType::I32, &[4], &[2.0, 2.0, -2.0, -2.0]);
        assert_eq!(run(&REM, [a.clone(), b.clone()]).unwrap().to_i64s(), [-1, 1, -1, 1]);
        assert_eq!(run(&MOD, [a.clone(), b.clone()]).unwrap().to_i64s(), [1, 1, -1, -1]);
        let six = t(DType::I32, &[4], &[6.0, -6.0, 6.0, -6.0]);
        assert_eq!(run(&MOD, [six, b]).unwrap().to_i64s(), [0, 0, 0, 0]);
        let zero = t(DType::I32, &[], &[0.0]);
        assert_eq!(run(&REM, [a.clone(), zero.clone()]), Err("integer division by zero".into()));
        assert_eq!(run(&MOD, [a, zero]), Err("integer division by zero".into()));
        let min = t(DType::I64, &[], &[i64::MIN as f64]);
        let neg1 = t(DType::I64, &[], &[-1.0]);
        assert_eq!(run(&REM, [min.clone(), neg1.clone()]).unwrap().to_i64s(), [0]);
        assert_eq!(run(&MOD, [min, neg1]).unwrap().to_i64s(), [0]);
        let x = f64s(&[5], &[-7.5, 7.5, -7.5, 5.0, -1.0]);
        let y = f64s(&[5], &[2.0, -2.0, -2.0, 0.0, f64::INFINITY]);
        assert_close(&values(&REM, [x.clone(), y.clone()]), &[-1.5, 1.5, -1.5, f64::NAN, -1.0], 0.0);
        assert_close(&values(&MOD, [x, y]), &[0.5, -0.5, -1.5, f64::NAN, f64::INFINITY], 0.0);
        let m = values(&MOD, [f64s(&[1], &[4.0]), f64s(&[1], &[-2.0])]);
        assert!(m[0] == 0.0 && m[0].is_sign_negative(), "{m:?}");
        assert_eq!(run(&MOD, [t(DType::U8, &[], &[7.0]), t(DType::U8, &[], &[3.0])]).unwrap().to_i64s(), [1]);
    }

    #[test]
    fn pow_on_floats_and_integers() {
        assert_close(
            &values(&POW, [f64s(&[3], &[2.0, 4.0, -8.0]), f64s(&[3], &[0.5, -1.0, 1.0 / 3.0])]),
            &[std::f64::consts::SQRT_2, 0.25, f64::NAN],
            1e-16,
        );
        let a = t(DType::I8, &[6], &[3.0, 3.0, 2.0, -2.0, 0.0, 5.0]);
        let b = t(DType::I8, &[6], &[4.0, 5.0, 10.0, 3.0, 0.0, 1.0]);
        assert_eq!(run(&POW, [a, b]).unwrap().to_i64s(), [81, -13, 0, -8, 1, 5]);
        let a = t(DType::I32, &[4], &[2.0, 1.0, -1.0, -1.0]);
        let b = t(DType::I32, &[4], &[-1.0, -5.0, -3.0, -4.0]);
        assert_eq!(run(&POW, [a, b]).unwrap().to_i64s(), [0, 1, -1, 1]);
        let err = run(&POW, [t(DType::I32, &[], &[0.0]), t(DType::I32, &[], &[-1.0])]).unwrap_err();
        assert!(err.contains("division by zero"), "{err}");
        assert_eq!(
            run(&POW, [t(DType::U8, &[2], &[2.0, 3.0]), t(DType::U8, &[2], &[9.0, 2.0])]).unwrap().to_i64s(),
            [0, 9]
        );
    }

    #[test]
    fn max_and_min_propagate_nan() {
        let a = f64s(&[4], &[1.0, f64::NAN, 3.0, -0.5]);
        let b = f64s(&[4], &[2.0, 2.0, f64::NAN, -1.0]);
        assert_close(&values(&MAX, [a.clone(), b.clone()]), &[2.0, f64::NAN, f64::NAN, -0.5], 0.0);
        assert_close(&values(&MIN, [a, b]), &[1.0, f64::NAN, f64::NAN, -1.0], 0.0);
        let i = run(&MAX, [t(DType::I16, &[3], &[-5.0, 4.0, 0.0]), t(DType::I16, &[], &[1.0])]).unwrap();
        assert_eq!(i.to_i64s(), [1, 4, 1]);
        let u = run(&MIN, [t(DType::U32, &[2], &[5.0, 0.0]), t(DType::U32, &[2], &[3.0, 9.0])]).unwrap();
        assert_eq!(u.to_i64s(), [3, 0]);
    }

    #[test]
    fn atan2_quadrants() {
        let y = f64s(&[4], &[1.0, 1.0, -1.0, 0.0]);
        let x = f64s(&[4], &[1.0, -1.0, -1.0, -1.0]);
        let pi = std::f64::consts::PI;
        assert_close(&values(&ATAN2, [y, x]), &[pi / 4.0, 3.0 * pi / 4.0, -3.0 * pi / 4.0, pi], 1e-15);
    }

    #[test]
    fn logic_and_bitwise_ops() {
        let p = t(DType::I1, &[2, 1], &[1.0, 0.0]);
        let q = t(DType::I1, &[2], &[1.0, 0.0]);
        assert_eq!(run(&AND, [p.clone(), q.clone()]).unwrap().to_bools(), [true, false, false, false]);
        assert_eq!(run(&OR, [p.clone(), q.clone()]).unwrap().to_bools(), [true, true, true, false]);
        assert_eq!(run(&XOR, [p.clone(), q]).unwrap().to_bools(), [false, true, true, false]);
        assert_eq!(run(&NOT, [p]).unwrap().to_bools(), [false, true]);
        let a = t(DType::I8, &[3], &[12.0, -1.0, 0.0]);
        let b = t(DType::I8, &[3], &[10.0, 85.0, -128.0]);
        assert_eq!(run(&BITAND, [a.clone(), b.clone()]).unwrap().to_i64s(), [8, 85, 0]);
        assert_eq!(run(&BITOR, [a.clone(), b.clone()]).unwrap().to_i64s(), [14, -1, -128]);
        assert_eq!(run(&BITXOR, [a.clone(), b]).unwrap().to_i64s(), [6, -86, -128]);
        assert_eq!(run(&BITNOT, [a]).unwrap().to_i64s(), [-13, 0, -1]);
        assert_eq!(run(&BITNOT, [t(DType::U8, &[2], &[0.0, 15.0])]).unwrap().to_i64s(), [255, 240]);
        assert_eq!(run(&BITNOT, [t(DType::U16, &[], &[1.0])]).unwrap().to_i64s(), [65534]);
    }

    #[test]
    fn shifts_saturate_at_the_width() {
        let u = |v: &[f64]| t(DType::U8, &[v.len()], v);
        assert_eq!(
            run(&SHL, [u(&[1.0, 1.0, 1.0, 3.0]), u(&[7.0, 8.0, 200.0, 7.0])]).unwrap().to_i64s(),
            [128, 0, 0, 128]
        );
        assert_eq!(run(&SHR, [u(&[128.0, 128.0, 255.0]), u(&[7.0, 8.0, 4.0])]).unwrap().to_i64s(), [1, 0, 15]);
        let i = |v: &[f64]| t(DType::I8, &[v.len()], v);
        let shr = run(&SHR, [i(&[-8.0, -8.0, 8.0, -8.0, 8.0]), i(&[1.0, 10.0, 10.0, -1.0, 8.0])]).unwrap();
        assert_eq!(shr.to_i64s(), [-4, -1, 0, -1, 0]);
        let shl = run(&SHL, [i(&[1.0, 1.0, -1.0, 5.0]), i(&[7.0, 8.0, 3.0, -1.0])]).unwrap();
        assert_eq!(shl.to_i64s(), [-128, 0, -8, 0]);
        let one = Tensor::new(DType::U64, vec![2], Data::UInt(vec![1, 1])).unwrap();
        let by = Tensor::new(DType::U64, vec![2], Data::UInt(vec![63, 64])).unwrap();
        assert_eq!(run(&SHL, [one, by]).unwrap().data(), &Data::UInt(vec![1 << 63, 0]));
        let one = Tensor::new(DType::I64, vec![], Data::Int(vec![1])).unwrap();
        let by = Tensor::new(DType::I64, vec![], Data::Int(vec![63])).unwrap();
        assert_eq!(run(&SHL, [one, by]).unwrap().to_i64s(), [i64::MIN]);
    }

    #[test]
    fn comparisons_give_i1_and_treat_nan_as_unordered() {
        let a = f64s(&[3], &[1.0, f64::NAN, 3.0]);
        let b = f64s(&[3], &[1.0, f64::NAN, 2.0]);
        let cmp = |op: OpRef| {
            let out = run(op, [a.clone(), b.clone()]).unwrap();
            assert_eq!(out.dtype(), DType::I1);
            out.to_bools()
        };
        assert_eq!(cmp(&EQ), [true, false, false]);
        assert_eq!(cmp(&NE), [false, true, true]);
        assert_eq!(cmp(&LT), [false, false, false]);
        assert_eq!(cmp(&LE), [true, false, false]);
        assert_eq!(cmp(&GT), [false, false, true]);
        assert_eq!(cmp(&GE), [true, false, true]);
        let u = run(&LT, [t(DType::U8, &[2, 1], &[1.0, 200.0]), t(DType::U8, &[2], &[100.0, 255.0])]).unwrap();
        assert_eq!((u.shape(), u.to_bools()), (&[2, 2][..], vec![true, true, false, true]));
        let bools = run(&EQ, [t(DType::I1, &[2], &[1.0, 0.0]), t(DType::I1, &[], &[0.0])]).unwrap();
        assert_eq!(bools.to_bools(), [false, true]);
        let i = run(&GE, [t(DType::I64, &[2], &[-3.0, 5.0]), t(DType::I64, &[2], &[-3.0, 6.0])]).unwrap();
        assert_eq!(i.to_bools(), [true, false]);
    }

    #[test]
    fn select_broadcasts_all_three() {
        let cond = t(DType::I1, &[2, 1], &[1.0, 0.0]);
        let a = t(DType::I64, &[3], &[1.0, 2.0, 3.0]);
        let b = t(DType::I64, &[], &[-1.0]);
        let s = run(&SELECT, [cond.clone(), a.clone(), b.clone()]).unwrap();
        assert_eq!((s.shape(), s.dtype(), s.to_i64s()), (&[2, 3][..], DType::I64, vec![1, 2, 3, -1, -1, -1]));
        let s = run(&SELECT, [t(DType::I1, &[3], &[0.0, 1.0, 0.0]), b, a]).unwrap();
        assert_eq!(s.to_i64s(), [1, -1, 3]);
        let s = run(&SELECT, [t(DType::I1, &[], &[1.0]), f64s(&[2, 1], &[5.0, 6.0]), f64s(&[1, 2], &[7.0, 8.0])]);
        assert_eq!(s.unwrap().to_f64s(), [5.0, 5.0, 6.0, 6.0]);
        let s = run(&SELECT, [cond, t(DType::I1, &[], &[1.0]), t(DType::I1, &[], &[0.0])]).unwrap();
        assert_eq!(s.to_bools(), [true, false]);
    }

    #[test]
    fn predicates_test_floats() {
        let x = t(DType::F32, &[4], &[1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY]);
        assert_eq!(run(&IS_NAN, [x.clone()]).unwrap().to_bools(), [false, true, false, false]);
        let inf = run(&IS_INF, [x]).unwrap();
        assert_eq!((inf.dtype(), inf.to_bools()), (DType::I1, vec![false, false, true, true]));
    }

    #[test]
    fn cast_converts_each_element() {
        let cast = |x: Tensor, to: DType| eval1(&CAST, &[x], &Attrs::from([("to", Attr::DType(to))])).unwrap();
        let x = t(DType::F32, &[4], &[-1.7, 2.9, 0.0, 300.0]);
        assert_eq!(cast(x.clone(), DType::I32).to_i64s(), [-1, 2, 0, 300]);
        assert_eq!(cast(x.clone(), DType::I1).to_bools(), [true, true, false, true]);
        assert_eq!(cast(t(DType::I32, &[2], &[300.0, -1.0]), DType::U8).to_i64s(), [44, 255]);
        assert_eq!(cast(t(DType::U8, &[1], &[200.0]), DType::I8).to_i64s(), [-56]);
        assert_eq!(cast(t(DType::I1, &[2], &[1.0, 0.0]), DType::F16).to_f64s(), [1.0, 0.0]);
        assert_eq!(cast(f64s(&[2], &[1.0 / 3.0, 65520.0]), DType::F16).to_f64s(), [0.333251953125, f64::INFINITY]);
        assert_eq!(cast(f64s(&[1], &[1.0 / 3.0]), DType::BF16).to_f64s(), [0.333984375]);
        let c = cast(x, DType::F64);
        assert_eq!((c.dtype(), c.shape()), (DType::F64, &[4][..]));
    }

    #[test]
    fn bitcast_reinterprets_the_bytes() {
        let bitcast = |x: Tensor, to: DType| eval1(&BITCAST, &[x], &Attrs::from([("to", Attr::DType(to))]));
        let x = t(DType::F32, &[2, 2], &[1.0, -2.0, 0.0, -0.0]);
        let i = bitcast(x.clone(), DType::I32).unwrap();
        assert_eq!((i.shape(), i.to_i64s()), (&[2, 2][..], vec![0x3f80_0000, -0x4000_0000, 0, i32::MIN as i64]));
        assert_eq!(bitcast(i, DType::F32).unwrap(), x);
        assert_eq!(bitcast(t(DType::I8, &[3], &[-1.0, 127.0, -128.0]), DType::U8).unwrap().to_i64s(), [255, 127, 128]);
        assert_eq!(bitcast(t(DType::U16, &[1], &[0x3c00 as f64]), DType::F16).unwrap().to_f64s(), [1.0]);
        assert_eq!(bitcast(t(DType::BF16, &[], &[1.0]), DType::I16).unwrap().to_i64s(), [0x3f80]);
        assert_eq!(bitcast(t(DType::I1, &[2], &[1.0, 0.0]), DType::U8).unwrap().to_i64s(), [1, 0]);
        assert_eq!(bitcast(t(DType::U8, &[2], &[2.0, 0.0]), DType::I1).unwrap().to_bools(), [true, false]);
        let d = bitcast(t(DType::I64, &[1], &[0x4000_0000_0000_0000u64 as f64]), DType::F64).unwrap();
        assert_eq!(d.to_f64s(), [2.0]);
        let err = bitcast(x, DType::F16).unwrap_err();
        assert!(err.contains("element sizes differ"), "{err}");
    }
}
