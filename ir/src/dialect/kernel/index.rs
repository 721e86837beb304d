//! Index arithmetic: `k.index_constant` and `k.index_{add, sub, mul, div,
//! rem, min, max}` on signed 64-bit indices, and `k.to_index`, which turns
//! an integer read from memory into a checked index.
//!
//! Overflow and division by zero have no result ([`IndexOp::apply`] gives
//! `None`): the interpreter reports them, and the lowering never produces
//! them for shapes that fit in memory.

use super::indices_from;
use crate::infer::InferCx;
use crate::op::{Arity, AttrKind, AttrSpec, OpDef, OpSpec, Traits};
use crate::types::Type;

/// `%c4 = k.index_constant {value = 4} : index`: an index literal.
pub struct IndexConstant;

impl OpDef for IndexConstant {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec = OpSpec::new("k.index_constant", "the index `value`")
            .operands(Arity::Exactly(0))
            .attrs(&[AttrSpec::req("value", AttrKind::Int)]);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        cx.int("value")?;
        Ok(vec![Type::Index])
    }
}

/// The `k.index_constant` op.
pub static INDEX_CONSTANT: IndexConstant = IndexConstant;

/// An arithmetic operation on two indices.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum IndexOp {
    /// `a + b`.
    Add,
    /// `a - b`.
    Sub,
    /// `a * b`.
    Mul,
    /// `a / b`, truncating toward zero (LLVM `sdiv`).
    Div,
    /// The remainder of [`IndexOp::Div`], with the dividend's sign (LLVM `srem`).
    Rem,
    /// The smaller of the two.
    Min,
    /// The larger of the two.
    Max,
}

impl IndexOp {
    /// The result, or `None` on overflow or division by zero.
    pub fn apply(self, a: i64, b: i64) -> Option<i64> {
        match self {
            IndexOp::Add => a.checked_add(b),
            IndexOp::Sub => a.checked_sub(b),
            IndexOp::Mul => a.checked_mul(b),
            IndexOp::Div => a.checked_div(b),
            IndexOp::Rem => a.checked_rem(b),
            IndexOp::Min => Some(a.min(b)),
            IndexOp::Max => Some(a.max(b)),
        }
    }
}

/// `%s = k.index_add %a, %b : index` and its siblings: one [`IndexOp`] on two indices.
pub struct IndexBinary {
    spec: OpSpec,
}

impl IndexBinary {
    /// The op `name`, with `traits` besides `PURE`.
    const fn new(name: &'static str, summary: &'static str, traits: Traits) -> IndexBinary {
        IndexBinary { spec: OpSpec::new(name, summary).traits(Traits::PURE.union(traits)).operands(Arity::Exactly(2)) }
    }
}

impl OpDef for IndexBinary {
    fn spec(&self) -> &OpSpec {
        &self.spec
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        indices_from(cx, 0)?;
        Ok(vec![Type::Index])
    }
}

/// `a + b` on indices.
pub static INDEX_ADD: IndexBinary = IndexBinary::new("k.index_add", "a + b on indices", Traits::COMMUTATIVE);
/// `a - b` on indices.
pub static INDEX_SUB: IndexBinary = IndexBinary::new("k.index_sub", "a - b on indices", Traits::NONE);
/// `a * b` on indices.
pub static INDEX_MUL: IndexBinary = IndexBinary::new("k.index_mul", "a * b on indices", Traits::COMMUTATIVE);
/// `a / b` on indices, truncating toward zero.
pub static INDEX_DIV: IndexBinary =
    IndexBinary::new("k.index_div", "a / b on indices, truncating toward zero", Traits::NONE);
/// The remainder of `a / b` on indices, with the sign of `a`.
pub static INDEX_REM: IndexBinary =
    IndexBinary::new("k.index_rem", "the remainder of a / b on indices, with a's sign", Traits::NONE);
/// The smaller of two indices.
pub static INDEX_MIN: IndexBinary =
    IndexBinary::new("k.index_min", "the smaller of two indices", Traits::COMMUTATIVE.union(Traits::IDEMPOTENT));
/// The larger of two indices.
pub static INDEX_MAX: IndexBinary =
    IndexBinary::new("k.index_max", "the larger of two indices", Traits::COMMUTATIVE.union(Traits::IDEMPOTENT));

/// `%j = k.to_index %v, %n {axis = 1} : index`: the integer scalar `v` as
/// an index into an axis of extent `n`, a negative `v` counting from the
/// end (`v + n`, as ONNX's gathers and scatters read their indices). A
/// result outside `0..n` is an error at run time: the interpreter stops,
/// generated code sets a status bit and gives 0. `axis` only names the
/// axis in that report.
pub struct ToIndex;

impl OpDef for ToIndex {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec = OpSpec::new(
            "k.to_index",
            "the integer scalar as an index into an axis of extent n, negative counting from the end; out of range is an error",
        )
        .traits(Traits::NONE)
        .operands(Arity::Exactly(2))
        .attrs(&[AttrSpec::opt("axis", AttrKind::Int)]);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        match &cx.operands[0] {
            Type::Scalar(d) if d.is_int() => {}
            other => return Err(format!("operand #0 must be an integer scalar, got {other}")),
        }
        indices_from(cx, 1)?;
        cx.int_or("axis", 0)?;
        Ok(vec![Type::Index])
    }
}

/// The `k.to_index` op.
pub static TO_INDEX: ToIndex = ToIndex;

#[cfg(test)]
mod tests {
    use super::IndexOp;

    #[test]
    fn index_arithmetic_refuses_overflow_and_zero_divisors() {
        assert_eq!(IndexOp::Div.apply(-7, 2), Some(-3));
        assert_eq!(IndexOp::Rem.apply(-7, 2), Some(-1));
        assert_eq!(IndexOp::Div.apply(1, 0), None);
        assert_eq!(IndexOp::Rem.apply(1, 0), None);
        assert_eq!(IndexOp::Add.apply(i64::MAX, 1), None);
        assert_eq!(IndexOp::Mul.apply(1 << 40, 1 << 40), None);
        assert_eq!((IndexOp::Min.apply(3, -2), IndexOp::Max.apply(3, -2)), (Some(-2), Some(3)));
        assert_eq!(IndexOp::Sub.apply(2, 5), Some(-3));
    }
}
