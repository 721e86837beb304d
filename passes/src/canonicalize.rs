//! Canonicalisation (`canonicalize`): algebraic identities and no-op
//! removal, as small patterns applied by the [`crate::rewrite`] driver.
//!
//! Each pattern states its law in the comment above it. A law like
//! `add(x, 0) -> x` holds for values but not always for types: when the
//! constant broadcasts `x` to a larger shape the op is not a no-op, so the
//! patterns check that broadcasting leaves `x`'s shape as it is, and the
//! driver refuses any replacement whose type differs from the replaced
//! value's. Floating-point laws are exact, signed zeros and NaNs included;
//! see the notes on each. Ops left unused are for `dce` to erase. One step
//! refines types instead: a loop's scan outputs get their length when its
//! trip count is a constant (`loops.rs`).

mod loops;

use crate::manager::Pass;
use crate::rewrite::{apply_patterns, Pattern, Rewrite, DEFAULT_MAX_SWEEPS};
use tessera_ir::dialect::graph::{elementwise, shape, value};
use tessera_ir::op::same_op;
use tessera_ir::{Attr, Attrs, DType, Diags, Func, Module, OpData, OpId, OpRef, Scalar, Traits, Type, ValueId};

/// The `canonicalize` pass.
pub struct Canonicalize;

/// The registered instance of [`Canonicalize`].
pub static CANONICALIZE: Canonicalize = Canonicalize;

impl Pass for Canonicalize {
    fn name(&self) -> &'static str {
        "canonicalize"
    }
    fn summary(&self) -> &'static str {
        "applies algebraic identities (x + 0, neg(neg(x)), reshape chains, ...) to a fixpoint"
    }
    fn run(&self, module: &mut Module) -> Result<bool, Diags> {
        let symbols = module.symbols();
        let mut changed = false;
        for func in &mut module.funcs {
            changed |= apply_patterns(func, &symbols, PATTERNS, DEFAULT_MAX_SWEEPS)?.total() > 0;
            if loops::refine_scan_lengths(func) {
                apply_patterns(func, &symbols, PATTERNS, DEFAULT_MAX_SWEEPS)?;
                changed = true;
            }
        }
        Ok(changed)
    }
}

/// Every canonicalisation pattern, in the order they are tried.
pub static PATTERNS: &[&dyn Pattern] = &[
    &ADD_ZERO_RHS,
    &ADD_ZERO_LHS,
    &SUB_ZERO,
    &MUL_ONE_RHS,
    &MUL_ONE_LHS,
    &DIV_ONE,
    &Involution,
    &IdempotentUnary,
    &IdempotentBinary,
    &SelectSame,
    &CastSame,
    &CastCast,
    &ReciprocalSqrt,
    &ReshapeSame,
    &ReshapeReshape,
    &TransposeIdentity,
    &TransposeTranspose,
    &BroadcastSame,
    &ConcatOne,
];

/// Whether `op` is of kind `def`.
fn is(data: &OpData, def: OpRef) -> bool {
    same_op(data.def, def)
}

/// The op defining `v`, when `v` is a result of an op of kind `def`.
fn defined_by(func: &Func, v: ValueId, def: OpRef) -> Option<&OpData> {
    let op = func.def_op(v)?;
    let data = func.op(op);
    is(data, def).then_some(data)
}

/// The value of every element of `v`, when `v` is a splat `tg.constant`.
fn splat(func: &Func, v: ValueId) -> Option<Scalar> {
    match defined_by(func, v, &value::CONSTANT)?.attrs.get("value")? {
        Attr::Dense(dense) => dense.splat_value(),
        _ => None,
    }
}

/// Whether broadcasting `x` against `other` leaves `x`'s shape unchanged:
/// `other` has no more axes, and each of its dims is 1 or provably `x`'s.
fn absorbs(func: &Func, x: ValueId, other: ValueId) -> bool {
    let (Some(x), Some(o)) = (func.ty(x).as_tensor(), func.ty(other).as_tensor()) else { return false };
    let Some(lead) = x.rank().checked_sub(o.rank()) else { return false };
    o.dims.iter().zip(&x.dims[lead..]).all(|(d, xd)| d.known() == Some(1) || d.same(xd))
}

/// Whether `a` and `b` are provably the same type: equal dtype and rank, and
/// every dim provably equal (a `?` is equal to nothing).
fn provably_same(a: &Type, b: &Type) -> bool {
    match (a.as_tensor(), b.as_tensor()) {
        (Some(a), Some(b)) => {
            a.dtype == b.dtype && a.rank() == b.rank() && a.dims.iter().zip(&b.dims).all(|(x, y)| x.same(y))
        }
        _ => a == b,
    }
}

/// Which constant makes a binary op the identity.
#[derive(Copy, Clone)]
enum Unit {
    /// 0 for integers; -0.0 for floats (the additive identity: `x + -0.0 == x`
    /// for every x, while `-0.0 + +0.0 == +0.0`).
    NegZero,
    /// 0 for integers; +0.0 for floats (`x - +0.0 == x + -0.0 == x`).
    PosZero,
    /// 1 for integers and floats.
    One,
}

impl Unit {
    fn matches(self, s: Scalar) -> bool {
        match (self, s) {
            (Unit::NegZero, Scalar::Float(_, v)) => v == 0.0 && v.is_sign_negative(),
            (Unit::PosZero, Scalar::Float(_, v)) => v == 0.0 && v.is_sign_positive(),
            (Unit::NegZero | Unit::PosZero, Scalar::Int(_, v)) => v == 0,
            (Unit::NegZero | Unit::PosZero, Scalar::UInt(_, v)) => v == 0,
            (Unit::One, Scalar::Float(_, v)) => v == 1.0,
            (Unit::One, Scalar::Int(_, v)) => v == 1,
            (Unit::One, Scalar::UInt(_, v)) => v == 1,
            (_, Scalar::Bool(_)) => false,
        }
    }
}

/// `op(x, unit) -> x` (or `op(unit, x) -> x` when `unit_first`), when the
/// unit does not broadcast `x` to a larger shape.
struct Identity {
    name: &'static str,
    op: OpRef,
    unit: Unit,
    unit_first: bool,
}

impl Pattern for Identity {
    fn name(&self) -> &'static str {
        self.name
    }
    fn match_op(&self, func: &Func, op: OpId) -> Option<Rewrite> {
        let data = func.op(op);
        if !is(data, self.op) {
            return None;
        }
        let [a, b] = data.operands[..] else { return None };
        let (x, unit) = if self.unit_first { (b, a) } else { (a, b) };
        (self.unit.matches(splat(func, unit)?) && absorbs(func, x, unit)).then_some(Rewrite::Replace(x))
    }
}

// add(x, 0) -> x; for floats only 0 = -0.0 (x + +0.0 turns x = -0.0 into +0.0).
static ADD_ZERO_RHS: Identity =
    Identity { name: "add-zero-rhs", op: &elementwise::ADD, unit: Unit::NegZero, unit_first: false };
// add(0, x) -> x; for floats only 0 = -0.0, as above.
static ADD_ZERO_LHS: Identity =
    Identity { name: "add-zero-lhs", op: &elementwise::ADD, unit: Unit::NegZero, unit_first: true };
// sub(x, 0) -> x; for floats only 0 = +0.0 (x - -0.0 turns x = -0.0 into +0.0).
static SUB_ZERO: Identity =
    Identity { name: "sub-zero", op: &elementwise::SUB, unit: Unit::PosZero, unit_first: false };
// mul(x, 1) -> x (exact for floats, NaN and signed zeros included).
static MUL_ONE_RHS: Identity =
    Identity { name: "mul-one-rhs", op: &elementwise::MUL, unit: Unit::One, unit_first: false };
// mul(1, x) -> x.
static MUL_ONE_LHS: Identity =
    Identity { name: "mul-one-lhs", op: &elementwise::MUL, unit: Unit::One, unit_first: true };
// div(x, 1) -> x (integer division by 1 truncates nothing).
static DIV_ONE: Identity = Identity { name: "div-one", op: &elementwise::DIV, unit: Unit::One, unit_first: false };

/// The operand of a unary op of the same kind as `data` feeding `data`.
fn same_unary_inside<'f>(func: &'f Func, data: &OpData) -> Option<&'f OpData> {
    let [x] = data.operands[..] else { return None };
    let inner = func.op(func.def_op(x)?);
    (same_op(inner.def, data.def) && inner.operands.len() == 1).then_some(inner)
}

// f(f(x)) -> x, for every unary op declared INVOLUTION (neg, not, bitnot): exact
// as long as the declarations are (the trait promises `op(op(x)) == x` for every x).
struct Involution;

impl Pattern for Involution {
    fn name(&self) -> &'static str {
        "involution"
    }
    fn match_op(&self, func: &Func, op: OpId) -> Option<Rewrite> {
        let data = func.op(op);
        if !data.def.traits().contains(Traits::INVOLUTION) {
            return None;
        }
        Some(Rewrite::Replace(same_unary_inside(func, data)?.operands[0]))
    }
}

// f(f(x)) -> f(x), for every unary op declared IDEMPOTENT (abs, floor, ceil, round, sign).
struct IdempotentUnary;

impl Pattern for IdempotentUnary {
    fn name(&self) -> &'static str {
        "idempotent-unary"
    }
    fn match_op(&self, func: &Func, op: OpId) -> Option<Rewrite> {
        let data = func.op(op);
        if !data.def.traits().contains(Traits::IDEMPOTENT) {
            return None;
        }
        same_unary_inside(func, data)?;
        Some(Rewrite::Replace(data.operands[0]))
    }
}

// f(x, x) -> x, for every binary op declared IDEMPOTENT (max, min, and, or, bitand, bitor).
struct IdempotentBinary;

impl Pattern for IdempotentBinary {
    fn name(&self) -> &'static str {
        "idempotent-binary"
    }
    fn match_op(&self, func: &Func, op: OpId) -> Option<Rewrite> {
        let data = func.op(op);
        let [a, b] = data.operands[..] else { return None };
        (data.def.traits().contains(Traits::IDEMPOTENT) && a == b).then_some(Rewrite::Replace(a))
    }
}

// select(c, x, x) -> x, when c does not broadcast x to a larger shape.
struct SelectSame;

impl Pattern for SelectSame {
    fn name(&self) -> &'static str {
        "select-same"
    }
    fn match_op(&self, func: &Func, op: OpId) -> Option<Rewrite> {
        let data = func.op(op);
        let [c, a, b] = data.operands[..] else { return None };
        (is(data, &elementwise::SELECT) && a == b && absorbs(func, a, c)).then_some(Rewrite::Replace(a))
    }
}

/// The `to` dtype of a `tg.cast`.
fn cast_target(data: &OpData) -> Option<DType> {
    match data.attrs.get("to")? {
        Attr::DType(d) => Some(*d),
        _ => None,
    }
}

/// The dtype of `v`, when it is a tensor.
fn dtype_of(func: &Func, v: ValueId) -> Option<DType> {
    func.ty(v).as_tensor().map(|t| t.dtype)
}

// cast(x : T, to = T) -> x.
struct CastSame;

impl Pattern for CastSame {
    fn name(&self) -> &'static str {
        "cast-same"
    }
    fn match_op(&self, func: &Func, op: OpId) -> Option<Rewrite> {
        let data = func.op(op);
        if !is(data, &elementwise::CAST) {
            return None;
        }
        let x = *data.operands.first()?;
        (cast_target(data)? == dtype_of(func, x)?).then_some(Rewrite::Replace(x))
    }
}

// cast(cast(x : A, to = B), to = C) -> cast(x, to = C), when every value of A
// is exact in B (then the inner cast changes no value, and casts convert by value).
struct CastCast;

impl Pattern for CastCast {
    fn name(&self) -> &'static str {
        "cast-cast"
    }
    fn match_op(&self, func: &Func, op: OpId) -> Option<Rewrite> {
        let data = func.op(op);
        if !is(data, &elementwise::CAST) {
            return None;
        }
        let inner = defined_by(func, *data.operands.first()?, &elementwise::CAST)?;
        let x = *inner.operands.first()?;
        if !widens_exactly(dtype_of(func, x)?, cast_target(inner)?) {
            return None;
        }
        Some(Rewrite::Rebuild { def: &elementwise::CAST, operands: vec![x], attrs: data.attrs.clone() })
    }
}

// reciprocal(sqrt(x)) -> rsqrt(x): `tg.rsqrt` is declared as 1 / sqrt(x), and
// generated code computes it as exactly that (a sqrt, then a division, in
// x's dtype). The reference evaluator rounds rsqrt once where the pair rounds
// twice, so its results for f16/f32 may move by an ulp. ONNX has no Rsqrt:
// an exported rsqrt comes back as Sqrt + Reciprocal, and this folds it back.
struct ReciprocalSqrt;

impl Pattern for ReciprocalSqrt {
    fn name(&self) -> &'static str {
        "reciprocal-sqrt"
    }
    fn match_op(&self, func: &Func, op: OpId) -> Option<Rewrite> {
        let data = func.op(op);
        if !is(data, &elementwise::RECIPROCAL) {
            return None;
        }
        let sqrt = defined_by(func, *data.operands.first()?, &elementwise::SQRT)?;
        Some(Rewrite::Rebuild { def: &elementwise::RSQRT, operands: vec![*sqrt.operands.first()?], attrs: Attrs::new() })
    }
}

/// The integers a dtype holds, as an inclusive range.
fn int_range(d: DType) -> Option<(i128, i128)> {
    Some(match d {
        DType::I1 => (0, 1),
        DType::I8 => (i8::MIN as i128, i8::MAX as i128),
        DType::I16 => (i16::MIN as i128, i16::MAX as i128),
        DType::I32 => (i32::MIN as i128, i32::MAX as i128),
        DType::I64 => (i64::MIN as i128, i64::MAX as i128),
        DType::U8 => (0, u8::MAX as i128),
        DType::U16 => (0, u16::MAX as i128),
        DType::U32 => (0, u32::MAX as i128),
        DType::U64 => (0, u64::MAX as i128),
        _ => return None,
    })
}

/// Significand bits of a float dtype, the implicit bit included.
fn significand_bits(d: DType) -> Option<u32> {
    match d {
        DType::F16 => Some(11),
        DType::BF16 => Some(8),
        DType::F32 => Some(24),
        DType::F64 => Some(53),
        _ => None,
    }
}

/// Whether every value of `from` is exactly representable in `to`: integer
/// ranges that nest, integers within a float's significand, and the float
/// widenings f16/bf16 → f32 → f64.
pub fn widens_exactly(from: DType, to: DType) -> bool {
    if from == to {
        return true;
    }
    match (int_range(from), int_range(to), significand_bits(to)) {
        (Some((lo, hi)), Some((tlo, thi)), _) => tlo <= lo && hi <= thi,
        (Some((lo, hi)), None, Some(bits)) => lo.abs().max(hi) <= 1i128 << bits,
        _ => matches!((from, to), (DType::F16 | DType::BF16, DType::F32 | DType::F64) | (DType::F32, DType::F64)),
    }
}

/// The single operand of `data` when it is an op of kind `def`.
fn operand_of(data: &OpData, def: OpRef) -> Option<ValueId> {
    match data.operands[..] {
        [x] if is(data, def) => Some(x),
        _ => None,
    }
}

// reshape(x) -> x, when the result type is provably x's type.
struct ReshapeSame;

impl Pattern for ReshapeSame {
    fn name(&self) -> &'static str {
        "reshape-same"
    }
    fn match_op(&self, func: &Func, op: OpId) -> Option<Rewrite> {
        let data = func.op(op);
        let x = operand_of(data, &shape::RESHAPE)?;
        provably_same(func.ty(x), func.ty(data.results[0])).then_some(Rewrite::Replace(x))
    }
}

// reshape(reshape(x), s) -> reshape(x, s) (both keep the row-major order).
struct ReshapeReshape;

impl Pattern for ReshapeReshape {
    fn name(&self) -> &'static str {
        "reshape-reshape"
    }
    fn match_op(&self, func: &Func, op: OpId) -> Option<Rewrite> {
        let data = func.op(op);
        let inner = defined_by(func, operand_of(data, &shape::RESHAPE)?, &shape::RESHAPE)?;
        let x = *inner.operands.first()?;
        Some(Rewrite::Rebuild { def: &shape::RESHAPE, operands: vec![x], attrs: data.attrs.clone() })
    }
}

/// The `perm` of a `tg.transpose`.
fn perm(data: &OpData) -> Option<Vec<i64>> {
    data.attrs.get("perm")?.as_ints()
}

// transpose(x, [0, 1, ..., n-1]) -> x.
struct TransposeIdentity;

impl Pattern for TransposeIdentity {
    fn name(&self) -> &'static str {
        "transpose-identity"
    }
    fn match_op(&self, func: &Func, op: OpId) -> Option<Rewrite> {
        let data = func.op(op);
        let x = operand_of(data, &shape::TRANSPOSE)?;
        perm(data)?.iter().enumerate().all(|(i, &p)| p == i as i64).then_some(Rewrite::Replace(x))
    }
}

// transpose(transpose(x, p), q) -> transpose(x, r) with r[i] = p[q[i]]:
// result axis i of the outer is axis q[i] of the inner, which is axis p[q[i]] of x.
struct TransposeTranspose;

impl Pattern for TransposeTranspose {
    fn name(&self) -> &'static str {
        "transpose-transpose"
    }
    fn match_op(&self, func: &Func, op: OpId) -> Option<Rewrite> {
        let data = func.op(op);
        let inner = defined_by(func, operand_of(data, &shape::TRANSPOSE)?, &shape::TRANSPOSE)?;
        let x = *inner.operands.first()?;
        let (p, q) = (perm(inner)?, perm(data)?);
        let r = compose_perms(&p, &q)?;
        Some(Rewrite::Rebuild {
            def: &shape::TRANSPOSE,
            operands: vec![x],
            attrs: Attrs::from([("perm", Attr::ints(&r))]),
        })
    }
}

/// The permutation of `transpose(transpose(x, p), q)`: `r[i] = p[q[i]]`;
/// `None` when the lengths differ or an index is out of range.
pub fn compose_perms(p: &[i64], q: &[i64]) -> Option<Vec<i64>> {
    if p.len() != q.len() {
        return None;
    }
    q.iter().map(|&i| usize::try_from(i).ok().and_then(|i| p.get(i)).copied()).collect()
}

// broadcast_to(x) -> x, when the result type is provably x's type.
struct BroadcastSame;

impl Pattern for BroadcastSame {
    fn name(&self) -> &'static str {
        "broadcast-same"
    }
    fn match_op(&self, func: &Func, op: OpId) -> Option<Rewrite> {
        let data = func.op(op);
        let x = operand_of(data, &shape::BROADCAST_TO)?;
        provably_same(func.ty(x), func.ty(data.results[0])).then_some(Rewrite::Replace(x))
    }
}

// concat(x) -> x (one operand, any axis).
struct ConcatOne;

impl Pattern for ConcatOne {
    fn name(&self) -> &'static str {
        "concat-one"
    }
    fn match_op(&self, func: &Func, op: OpId) -> Option<Rewrite> {
        operand_of(func.op(op), &shape::CONCAT).map(Rewrite::Replace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rewrite::RewriteStats;
    use crate::testing::{count_named, returned};
    use tessera_ir::dim::Dim;
    use tessera_ir::infer::NoSymbols;
    use tessera_ir::{Builder, DenseAttr, TensorType};

    fn canonicalize(func: &mut Func) -> RewriteStats {
        apply_patterns(func, &NoSymbols, PATTERNS, DEFAULT_MAX_SWEEPS).unwrap()
    }

    fn splat_f32(dims: &[u64], v: f64) -> DenseAttr {
        DenseAttr::splat(TensorType::of(dims, DType::F32), Scalar::Float(DType::F32, v)).unwrap()
    }

    fn ty(dims: &[u64]) -> Type {
        Type::static_tensor(dims, DType::F32)
    }

    #[test]
    fn additive_identity_respects_signed_zero() {
        let mut func = Func::new("f", &[ty(&[2, 3])], vec![]);
        let x = func.args()[0];
        let mut b = Builder::new(&mut func, &NoSymbols);
        let neg_zero = b.constant(splat_f32(&[3], -0.0)).unwrap();
        let pos_zero = b.constant(splat_f32(&[3], 0.0)).unwrap();
        let a1 = b.binary(&elementwise::ADD, x, neg_zero).unwrap();
        let a2 = b.binary(&elementwise::ADD, neg_zero, x).unwrap();
        let a3 = b.binary(&elementwise::ADD, x, pos_zero).unwrap();
        let s1 = b.binary(&elementwise::SUB, x, pos_zero).unwrap();
        let s2 = b.binary(&elementwise::SUB, x, neg_zero).unwrap();
        let s3 = b.binary(&elementwise::SUB, pos_zero, x).unwrap();
        b.ret(&[a1, a2, a3, s1, s2, s3]).unwrap();
        let stats = canonicalize(&mut func);
        assert_eq!((stats.count("add-zero-rhs"), stats.count("add-zero-lhs"), stats.count("sub-zero")), (1, 1, 1));
        assert_eq!(returned(&func), vec![x, x, a3, x, s2, s3]);
    }

    #[test]
    fn multiplicative_identity_and_broadcasting() {
        let mut func = Func::new("f", &[ty(&[3]), Type::static_tensor(&[3], DType::I32)], vec![]);
        let (x, n) = (func.args()[0], func.args()[1]);
        let mut b = Builder::new(&mut func, &NoSymbols);
        let one = b.constant(splat_f32(&[], 1.0)).unwrap();
        let wide_one = b.constant(splat_f32(&[2, 3], 1.0)).unwrap();
        let int_one = b
            .constant(DenseAttr::splat(TensorType::of(&[1], DType::I32), Scalar::Int(DType::I32, 1)).unwrap())
            .unwrap();
        let m1 = b.binary(&elementwise::MUL, x, one).unwrap();
        let m2 = b.binary(&elementwise::MUL, one, x).unwrap();
        let d = b.binary(&elementwise::DIV, x, one).unwrap();
        let d_left = b.binary(&elementwise::DIV, one, x).unwrap();
        // x * ones(2x3) broadcasts x: not a no-op.
        let wide = b.binary(&elementwise::MUL, x, wide_one).unwrap();
        let i = b.binary(&elementwise::DIV, n, int_one).unwrap();
        b.ret(&[m1, m2, d, d_left, wide, i]).unwrap();
        canonicalize(&mut func);
        assert_eq!(returned(&func), vec![x, x, x, d_left, wide, n]);
    }

    #[test]
    fn identity_with_unknown_dims_needs_proof() {
        let t = |dims| Type::tensor(dims, DType::F32);
        let mut func = Func::new("f", &[t(vec![Dim::Unknown]), t(vec![Dim::sym("N"), Dim::Known(3)])], vec![]);
        let (x, y) = (func.args()[0], func.args()[1]);
        let mut b = Builder::new(&mut func, &NoSymbols);
        let zero3 = b.constant(splat_f32(&[3], -0.0)).unwrap();
        let zero1 = b.constant(splat_f32(&[1], -0.0)).unwrap();
        // x : tensor<?xf32> might be of size 1 and broadcast to 3.
        let a1 = b.binary(&elementwise::ADD, x, zero3).unwrap();
        let a2 = b.binary(&elementwise::ADD, x, zero1).unwrap();
        let a3 = b.binary(&elementwise::ADD, y, zero3).unwrap();
        b.ret(&[a1, a2, a3]).unwrap();
        canonicalize(&mut func);
        assert_eq!(returned(&func), vec![a1, x, y]);
    }

    #[test]
    fn reciprocal_of_sqrt_is_rsqrt() {
        let mut func = Func::new("f", &[ty(&[4])], vec![]);
        let x = func.args()[0];
        let mut b = Builder::new(&mut func, &NoSymbols);
        let s = b.op(&elementwise::SQRT, &[x], Attrs::new()).unwrap();
        let r = b.op(&elementwise::RECIPROCAL, &[s], Attrs::new()).unwrap();
        let e = b.op(&elementwise::EXP, &[x], Attrs::new()).unwrap();
        let other = b.op(&elementwise::RECIPROCAL, &[e], Attrs::new()).unwrap();
        b.ret(&[r, other]).unwrap();
        assert_eq!(canonicalize(&mut func).count("reciprocal-sqrt"), 1);
        let rsqrt = func.def_op(returned(&func)[0]).map(|op| func.op(op).clone()).unwrap();
        assert!(is(&rsqrt, &elementwise::RSQRT) && rsqrt.operands == vec![x]);
        assert_eq!(returned(&func)[1], other);
    }

    #[test]
    fn unary_involutions_and_idempotents() {
        let mut func = Func::new("f", &[ty(&[4])], vec![]);
        let x = func.args()[0];
        let mut b = Builder::new(&mut func, &NoSymbols);
        let mut v = x;
        for _ in 0..3 {
            v = b.op(&elementwise::NEG, &[v], Attrs::new()).unwrap();
        }
        let odd = v;
        let even = b.op(&elementwise::NEG, &[v], Attrs::new()).unwrap();
        let a1 = b.op(&elementwise::ABS, &[x], Attrs::new()).unwrap();
        let a2 = b.unary(&elementwise::ABS, a1).unwrap();
        let a3 = b.unary(&elementwise::ABS, a2).unwrap();
        let e1 = b.op(&elementwise::EXP, &[x], Attrs::new()).unwrap();
        let e2 = b.unary(&elementwise::EXP, e1).unwrap();
        b.ret(&[odd, even, a3, e2]).unwrap();
        canonicalize(&mut func);
        let r = returned(&func);
        let odd_op = func.op(func.def_op(r[0]).unwrap());
        assert_eq!((odd_op.def.name(), odd_op.operands[0]), ("tg.neg", x));
        assert_eq!(r[1], x);
        assert_eq!(r[2], a1);
        assert_eq!(r[3], e2);
    }

    #[test]
    fn idempotent_binary_and_select() {
        let cond = |dims: &[u64]| Type::static_tensor(dims, DType::I1);
        let mut func = Func::new("f", &[ty(&[4]), cond(&[4]), cond(&[2, 4])], vec![]);
        let (x, c, wide_c) = (func.args()[0], func.args()[1], func.args()[2]);
        let mut b = Builder::new(&mut func, &NoSymbols);
        let mx = b.binary(&elementwise::MAX, x, x).unwrap();
        let mn = b.binary(&elementwise::MIN, x, mx).unwrap();
        let and = b.binary(&elementwise::AND, c, c).unwrap();
        let sub = b.binary(&elementwise::SUB, x, x).unwrap();
        let s1 = b.op(&elementwise::SELECT, &[c, x, x], Attrs::new()).unwrap();
        let s2 = b.op(&elementwise::SELECT, &[wide_c, x, x], Attrs::new()).unwrap();
        b.ret(&[mn, and, sub, s1, s2]).unwrap();
        canonicalize(&mut func);
        assert_eq!(returned(&func), vec![x, c, sub, x, s2]);
    }

    #[test]
    fn casts() {
        let h = Type::static_tensor(&[4], DType::F16);
        let mut func = Func::new("f", &[h, Type::static_tensor(&[4], DType::I32)], vec![]);
        let (x, n) = (func.args()[0], func.args()[1]);
        let mut b = Builder::new(&mut func, &NoSymbols);
        let same = b.cast(x, DType::F16).unwrap();
        let f32_ = b.cast(x, DType::F32).unwrap();
        let f64_ = b.cast(f32_, DType::F64).unwrap();
        let back = b.cast(f32_, DType::F16).unwrap();
        // i32 -> f32 loses precision: the chain must stay.
        let lossy = b.cast(n, DType::F32).unwrap();
        let lossy2 = b.cast(lossy, DType::F64).unwrap();
        let wide = b.cast(n, DType::I64).unwrap();
        let wide2 = b.cast(wide, DType::F64).unwrap();
        b.ret(&[same, f64_, back, lossy2, wide2]).unwrap();
        let stats = canonicalize(&mut func);
        assert_eq!(stats.count("cast-cast"), 3);
        let r = returned(&func);
        assert_eq!((r[0], r[2]), (x, x));
        let direct = func.op(func.def_op(r[1]).unwrap());
        assert_eq!((direct.operands[0], cast_target(direct)), (x, Some(DType::F64)));
        assert_eq!(r[3], lossy2);
        let direct = func.op(func.def_op(r[4]).unwrap());
        assert_eq!((direct.operands[0], cast_target(direct)), (n, Some(DType::F64)));
    }

    #[test]
    fn exact_widenings() {
        use DType::*;
        assert!(widens_exactly(F16, F32) && widens_exactly(BF16, F64) && widens_exactly(F32, F64));
        assert!(!widens_exactly(F16, BF16) && !widens_exactly(BF16, F16) && !widens_exactly(F64, F32));
        assert!(
            widens_exactly(I8, I16) && widens_exactly(U8, I16) && widens_exactly(U32, U64) && widens_exactly(I1, U8)
        );
        assert!(!widens_exactly(I8, U16) && !widens_exactly(U8, I8) && !widens_exactly(I64, I32));
        assert!(
            widens_exactly(I8, BF16)
                && widens_exactly(U8, BF16)
                && widens_exactly(I16, F32)
                && widens_exactly(I32, F64)
        );
        assert!(!widens_exactly(I16, F16) && !widens_exactly(I32, F32) && !widens_exactly(U64, F64));
        assert!(!widens_exactly(F32, I64) && !widens_exactly(I8, I1));
    }

    #[test]
    fn perm_composition() {
        // r[i] = p[q[i]]
        assert_eq!(compose_perms(&[1, 0, 2], &[0, 2, 1]), Some(vec![1, 2, 0]));
        assert_eq!(compose_perms(&[1, 2, 0], &[2, 0, 1]), Some(vec![0, 1, 2]));
        assert_eq!(compose_perms(&[1, 0], &[0, 1, 2]), None);
        assert_eq!(compose_perms(&[1, 0], &[0, 5]), None);
    }

    fn transpose(b: &mut Builder, x: ValueId, p: &[i64]) -> ValueId {
        b.op(&shape::TRANSPOSE, &[x], Attrs::from([("perm", Attr::ints(p))])).unwrap()
    }

    fn reshape(b: &mut Builder, x: ValueId, dims: &[u64]) -> ValueId {
        let dims: Vec<Dim> = dims.iter().map(|&d| Dim::Known(d)).collect();
        b.op(&shape::RESHAPE, &[x], Attrs::from([("shape", Attr::shape(&dims))])).unwrap()
    }

    #[test]
    fn transposes_compose() {
        let mut func = Func::new("f", &[ty(&[2, 3, 4])], vec![]);
        let x = func.args()[0];
        let mut b = Builder::new(&mut func, &NoSymbols);
        let t1 = transpose(&mut b, x, &[1, 0, 2]);
        let t2 = transpose(&mut b, t1, &[0, 2, 1]);
        let u1 = transpose(&mut b, x, &[1, 2, 0]);
        let u2 = transpose(&mut b, u1, &[2, 0, 1]);
        let same = transpose(&mut b, x, &[0, 1, 2]);
        b.ret(&[t2, u2, same]).unwrap();
        let stats = canonicalize(&mut func);
        assert_eq!(stats.count("transpose-transpose"), 2);
        let r = returned(&func);
        let composed = func.op(func.def_op(r[0]).unwrap());
        assert_eq!((composed.operands[0], perm(composed)), (x, Some(vec![1, 2, 0])));
        assert_eq!(func.ty(r[0]), &ty(&[3, 4, 2]));
        assert_eq!((r[1], r[2]), (x, x));
    }

    #[test]
    fn reshapes_broadcasts_and_concats() {
        let mut func = Func::new("f", &[ty(&[2, 6])], vec![]);
        let x = func.args()[0];
        let mut b = Builder::new(&mut func, &NoSymbols);
        let r1 = reshape(&mut b, x, &[3, 4]);
        let r2 = reshape(&mut b, r1, &[12]);
        let r3 = reshape(&mut b, r2, &[2, 6]);
        let shape_attr = |dims: &[u64]| {
            Attrs::from([("shape", Attr::shape(&dims.iter().map(|&d| Dim::Known(d)).collect::<Vec<_>>()))])
        };
        let bc = b.op(&shape::BROADCAST_TO, &[x], shape_attr(&[2, 6])).unwrap();
        let bc_wide = b.op(&shape::BROADCAST_TO, &[x], shape_attr(&[3, 2, 6])).unwrap();
        let cat = b.op(&shape::CONCAT, &[x], Attrs::from([("axis", Attr::Int(1))])).unwrap();
        let cat2 = b.op(&shape::CONCAT, &[x, x], Attrs::from([("axis", Attr::Int(1))])).unwrap();
        b.ret(&[r2, r3, bc, bc_wide, cat, cat2]).unwrap();
        canonicalize(&mut func);
        let r = returned(&func);
        let flat = func.op(func.def_op(r[0]).unwrap());
        assert_eq!(flat.operands[0], x);
        assert_eq!(&r[1..], &[x, x, bc_wide, x, cat2]);
        assert_eq!(count_named(&func, "tg.reshape"), 2, "the dead reshape(x, [3, 4]) is left for dce");
    }
}
