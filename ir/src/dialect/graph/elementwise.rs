//! Elementwise ops: unary math, binary arithmetic and logic with numpy
//! broadcasting, comparisons, `select` and `cast`.

use crate::dtype::{DType, DTypeClass};
use crate::infer::{broadcast_dims, same_dtype, InferCx};
use crate::op::{Arity, AttrKind, AttrSpec, OpDef, OpRef, OpSpec, Traits};
use crate::types::{TensorType, Type};

/// The traits every elementwise op has.
const PURE_ELEMENTWISE: Traits = Traits::PURE.union(Traits::ELEMENTWISE);

/// A unary elementwise op: the result has the operand's shape.
pub struct Unary {
    spec: OpSpec,
    /// The dtypes the operand may have.
    class: DTypeClass,
    /// The result dtype when it is not the operand's (`tg.is_nan` gives `i1`).
    result: Option<DType>,
}

impl Unary {
    /// An op whose result has the operand's dtype.
    const fn new(name: &'static str, summary: &'static str, class: DTypeClass) -> Unary {
        let spec = OpSpec::new(name, summary).traits(PURE_ELEMENTWISE.union(Traits::SAME_TYPE));
        Unary { spec, class, result: None }
    }

    /// An op testing each element, with an `i1` result.
    const fn predicate(name: &'static str, summary: &'static str, class: DTypeClass) -> Unary {
        Unary { spec: OpSpec::new(name, summary).traits(PURE_ELEMENTWISE), class, result: Some(DType::I1) }
    }

    /// The same op with `traits` added.
    const fn with(mut self, traits: Traits) -> Unary {
        self.spec = self.spec.traits(self.spec.traits.union(traits));
        self
    }
}

impl OpDef for Unary {
    fn spec(&self) -> &OpSpec {
        &self.spec
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let x = cx.tensor_of(0, self.class)?;
        Ok(vec![Type::Tensor(x.with_dtype(self.result.unwrap_or(x.dtype)))])
    }
}

/// `-x`.
pub static NEG: Unary = Unary::new("tg.neg", "-x", DTypeClass::Signed).with(Traits::INVOLUTION);
/// `|x|`.
pub static ABS: Unary = Unary::new("tg.abs", "|x|", DTypeClass::Numeric).with(Traits::IDEMPOTENT);
/// `e^x`.
pub static EXP: Unary = Unary::new("tg.exp", "e^x", DTypeClass::Float);
/// Natural logarithm.
pub static LOG: Unary = Unary::new("tg.log", "ln(x)", DTypeClass::Float);
/// Square root.
pub static SQRT: Unary = Unary::new("tg.sqrt", "sqrt(x)", DTypeClass::Float);
/// `1 / sqrt(x)`.
pub static RSQRT: Unary = Unary::new("tg.rsqrt", "1 / sqrt(x)", DTypeClass::Float);
/// `1 / x`.
pub static RECIPROCAL: Unary = Unary::new("tg.reciprocal", "1 / x", DTypeClass::Float);
/// Hyperbolic tangent.
pub static TANH: Unary = Unary::new("tg.tanh", "tanh(x)", DTypeClass::Float);
/// Logistic sigmoid `1 / (1 + e^-x)`.
pub static SIGMOID: Unary = Unary::new("tg.sigmoid", "1 / (1 + e^-x)", DTypeClass::Float);
/// Gauss error function.
pub static ERF: Unary = Unary::new("tg.erf", "erf(x)", DTypeClass::Float);
/// Sine.
pub static SIN: Unary = Unary::new("tg.sin", "sin(x)", DTypeClass::Float);
/// Cosine.
pub static COS: Unary = Unary::new("tg.cos", "cos(x)", DTypeClass::Float);
/// Tangent.
pub static TAN: Unary = Unary::new("tg.tan", "tan(x)", DTypeClass::Float);
/// Arcsine.
pub static ASIN: Unary = Unary::new("tg.asin", "asin(x)", DTypeClass::Float);
/// Arccosine.
pub static ACOS: Unary = Unary::new("tg.acos", "acos(x)", DTypeClass::Float);
/// Arctangent.
pub static ATAN: Unary = Unary::new("tg.atan", "atan(x)", DTypeClass::Float);
/// Hyperbolic sine.
pub static SINH: Unary = Unary::new("tg.sinh", "sinh(x)", DTypeClass::Float);
/// Hyperbolic cosine.
pub static COSH: Unary = Unary::new("tg.cosh", "cosh(x)", DTypeClass::Float);
/// Inverse hyperbolic sine.
pub static ASINH: Unary = Unary::new("tg.asinh", "asinh(x)", DTypeClass::Float);
/// Inverse hyperbolic cosine.
pub static ACOSH: Unary = Unary::new("tg.acosh", "acosh(x)", DTypeClass::Float);
/// Inverse hyperbolic tangent.
pub static ATANH: Unary = Unary::new("tg.atanh", "atanh(x)", DTypeClass::Float);
/// Round toward negative infinity.
pub static FLOOR: Unary = Unary::new("tg.floor", "floor(x)", DTypeClass::Float).with(Traits::IDEMPOTENT);
/// Round toward positive infinity.
pub static CEIL: Unary = Unary::new("tg.ceil", "ceil(x)", DTypeClass::Float).with(Traits::IDEMPOTENT);
/// Round half to even (ONNX `Round`).
pub static ROUND: Unary = Unary::new("tg.round", "round half to even", DTypeClass::Float).with(Traits::IDEMPOTENT);
/// -1, 0 or 1 by the sign of x (0 for NaN is not guaranteed: NaN stays NaN).
pub static SIGN: Unary = Unary::new("tg.sign", "sign(x) in {-1, 0, 1}", DTypeClass::Numeric).with(Traits::IDEMPOTENT);
/// Logical not of `i1`.
pub static NOT: Unary = Unary::new("tg.not", "logical not", DTypeClass::Bool).with(Traits::INVOLUTION);
/// Bitwise complement of an integer.
pub static BITNOT: Unary = Unary::new("tg.bitnot", "bitwise not", DTypeClass::Int).with(Traits::INVOLUTION);
/// Whether x is NaN.
pub static IS_NAN: Unary = Unary::predicate("tg.is_nan", "x is NaN", DTypeClass::Float);
/// Whether x is +inf or -inf.
pub static IS_INF: Unary = Unary::predicate("tg.is_inf", "x is +inf or -inf", DTypeClass::Float);

/// A binary elementwise op with numpy broadcasting; both operands share a dtype.
pub struct Binary {
    spec: OpSpec,
    /// The dtypes the operands may have.
    class: DTypeClass,
    /// Whether the result is `i1` (comparisons) rather than the operand dtype.
    compare: bool,
}

impl Binary {
    /// An op whose result has the operands' dtype.
    const fn new(name: &'static str, summary: &'static str, class: DTypeClass) -> Binary {
        let spec = OpSpec::new(name, summary).traits(PURE_ELEMENTWISE).operands(Arity::Exactly(2));
        Binary { spec, class, compare: false }
    }

    /// The same op with `traits` added.
    const fn with(mut self, traits: Traits) -> Binary {
        self.spec = self.spec.traits(self.spec.traits.union(traits));
        self
    }

    /// The same op with an `i1` result.
    const fn comparison(mut self) -> Binary {
        self.compare = true;
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
        let dtype = if self.compare { DType::I1 } else { dtype };
        Ok(vec![Type::Tensor(TensorType::new(dims, dtype))])
    }
}

/// `a + b`.
pub static ADD: Binary = Binary::new("tg.add", "a + b", DTypeClass::Numeric).with(Traits::COMMUTATIVE);
/// `a - b`.
pub static SUB: Binary = Binary::new("tg.sub", "a - b", DTypeClass::Numeric);
/// `a * b`.
pub static MUL: Binary = Binary::new("tg.mul", "a * b", DTypeClass::Numeric).with(Traits::COMMUTATIVE);
/// `a / b` (integer division truncates toward zero).
pub static DIV: Binary = Binary::new("tg.div", "a / b, truncating for integers", DTypeClass::Numeric);
/// `a ^ b`.
pub static POW: Binary = Binary::new("tg.pow", "a ^ b", DTypeClass::Numeric);
/// The larger of a and b (NaN if either is NaN).
pub static MAX: Binary = Binary::new("tg.max", "max(a, b), NaN-propagating", DTypeClass::Numeric)
    .with(Traits::COMMUTATIVE.union(Traits::IDEMPOTENT));
/// The smaller of a and b (NaN if either is NaN).
pub static MIN: Binary = Binary::new("tg.min", "min(a, b), NaN-propagating", DTypeClass::Numeric)
    .with(Traits::COMMUTATIVE.union(Traits::IDEMPOTENT));
/// Remainder with the sign of the dividend (C `fmod`, ONNX `Mod` with fmod=1).
pub static REM: Binary = Binary::new("tg.rem", "a - b * trunc(a / b)", DTypeClass::Numeric);
/// Remainder with the sign of the divisor (Python `%`, ONNX `Mod` with fmod=0).
pub static MOD: Binary = Binary::new("tg.mod", "a - b * floor(a / b)", DTypeClass::Numeric);
/// Four-quadrant arctangent of a / b.
pub static ATAN2: Binary = Binary::new("tg.atan2", "atan2(a, b)", DTypeClass::Float);
/// Logical and.
pub static AND: Binary =
    Binary::new("tg.and", "logical and", DTypeClass::Bool).with(Traits::COMMUTATIVE.union(Traits::IDEMPOTENT));
/// Logical or.
pub static OR: Binary =
    Binary::new("tg.or", "logical or", DTypeClass::Bool).with(Traits::COMMUTATIVE.union(Traits::IDEMPOTENT));
/// Logical exclusive or.
pub static XOR: Binary = Binary::new("tg.xor", "logical xor", DTypeClass::Bool).with(Traits::COMMUTATIVE);
/// Bitwise and.
pub static BITAND: Binary =
    Binary::new("tg.bitand", "bitwise and", DTypeClass::Int).with(Traits::COMMUTATIVE.union(Traits::IDEMPOTENT));
/// Bitwise or.
pub static BITOR: Binary =
    Binary::new("tg.bitor", "bitwise or", DTypeClass::Int).with(Traits::COMMUTATIVE.union(Traits::IDEMPOTENT));
/// Bitwise exclusive or.
pub static BITXOR: Binary = Binary::new("tg.bitxor", "bitwise xor", DTypeClass::Int).with(Traits::COMMUTATIVE);
/// Shift left.
pub static SHL: Binary = Binary::new("tg.shl", "a << b", DTypeClass::Int);
/// Shift right (arithmetic for signed, logical for unsigned integers).
pub static SHR: Binary = Binary::new("tg.shr", "a >> b", DTypeClass::Int);
/// `a == b`.
pub static EQ: Binary = Binary::new("tg.eq", "a == b", DTypeClass::Any).with(Traits::COMMUTATIVE).comparison();
/// `a != b`.
pub static NE: Binary = Binary::new("tg.ne", "a != b", DTypeClass::Any).with(Traits::COMMUTATIVE).comparison();
/// `a < b`.
pub static LT: Binary = Binary::new("tg.lt", "a < b", DTypeClass::Numeric).comparison();
/// `a <= b`.
pub static LE: Binary = Binary::new("tg.le", "a <= b", DTypeClass::Numeric).comparison();
/// `a > b`.
pub static GT: Binary = Binary::new("tg.gt", "a > b", DTypeClass::Numeric).comparison();
/// `a >= b`.
pub static GE: Binary = Binary::new("tg.ge", "a >= b", DTypeClass::Numeric).comparison();

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
}

/// The `tg.cast` op.
pub static CAST: Cast = Cast;

/// Every op declared in this file.
pub static OPS: &[OpRef] = &[
    &NEG, &ABS, &EXP, &LOG, &SQRT, &RSQRT, &RECIPROCAL, &TANH, &SIGMOID, &ERF, &SIN, &COS, &TAN, &ASIN, &ACOS,
    &ATAN, &SINH, &COSH, &ASINH, &ACOSH, &ATANH, &FLOOR, &CEIL, &ROUND, &SIGN, &NOT, &BITNOT, &IS_NAN, &IS_INF,
    &ADD, &SUB, &MUL, &DIV, &POW, &MAX, &MIN, &REM, &MOD, &ATAN2, &AND, &OR, &XOR, &BITAND, &BITOR, &BITXOR,
    &SHL, &SHR, &EQ, &NE, &LT, &LE, &GT, &GE, &SELECT, &CAST,
];
