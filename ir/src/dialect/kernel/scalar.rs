//! Scalars: `k.constant`, `k.apply`, `k.cast`, `k.bitcast` and `k.index_cast`.
//!
//! The kernel dialect has no arithmetic of its own: `k.apply` applies a
//! graph-dialect elementwise op (`tg.add`, `tg.exp`, `tg.select`, ...) to
//! scalars, and `k.cast` and `k.bitcast` apply `tg.cast` and `tg.bitcast`.
//! Each scalar function, with its rounding, wrapping and NaN rules, is
//! therefore defined once, by its graph op, and the kernel interpreter
//! evaluates it with that op's own hook.
//! `k.index_cast` turns an index into a scalar the way `tg.cast` converts
//! an `i64`.

use super::scalar_operand;
use crate::attr::{Attr, Attrs};
use crate::dialect::lookup;
use crate::infer::{infer_standalone, InferCx, NoSymbols};
use crate::op::{Arity, AttrKind, AttrSpec, OpDef, OpRef, OpSpec, Traits};
use crate::types::{TensorType, Type};

/// `%c = k.constant {value = dense<2.0> : tensor<f32>} : f32`: a scalar
/// literal, given as a rank-0 dense constant of its dtype.
pub struct Constant;

impl OpDef for Constant {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec = OpSpec::new("k.constant", "the scalar held by the rank-0 dense literal `value`")
            .operands(Arity::Exactly(0))
            .attrs(&[AttrSpec::req("value", AttrKind::Dense)]);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        match cx.attr("value")? {
            Attr::Dense(d) if d.ty().rank() == 0 => Ok(vec![Type::Scalar(d.ty().dtype)]),
            Attr::Dense(d) => Err(format!("the value must be a rank-0 dense constant, got {}", d.ty())),
            a => Err(format!("attribute 'value' must be a dense constant, got {}", a.kind_name())),
        }
    }
}

/// The `k.constant` op.
pub static CONSTANT: Constant = Constant;

/// The graph op a `k.apply` with attributes `attrs` applies: an elementwise
/// op that takes no attributes.
pub fn applied_op(attrs: &Attrs) -> Result<OpRef, String> {
    let name = match attrs.get("fn") {
        Some(Attr::Str(s)) => s.as_str(),
        Some(a) => return Err(format!("attribute 'fn' must be a string, got {}", a.kind_name())),
        None => return Err("missing attribute 'fn'".into()),
    };
    let def = lookup(name).ok_or_else(|| format!("no op named '{name}'"))?;
    if !def.traits().contains(Traits::ELEMENTWISE) {
        return Err(format!("'{name}' is not an elementwise op"));
    }
    if !def.attrs().is_empty() {
        return Err(format!("'{name}' takes attributes, which k.apply cannot pass (k.cast applies tg.cast)"));
    }
    Ok(def)
}

/// `%s = k.apply %a, %b {fn = "tg.add"} : f32`: the graph elementwise op
/// `fn` applied to scalars, with that op's semantics and type rules (its
/// operands and result taken as rank-0 tensors).
pub struct Apply;

impl OpDef for Apply {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec = OpSpec::new("k.apply", "the graph elementwise op `fn` applied to scalar operands")
            .operands(Arity::AtLeast(1))
            .attrs(&[AttrSpec::req("fn", AttrKind::Str)]);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let def = applied_op(cx.attrs)?;
        let operands = (0..cx.operands.len())
            .map(|i| scalar_operand(cx, i).map(|d| Type::Tensor(TensorType::scalar(d))))
            .collect::<Result<Vec<_>, _>>()?;
        let results = infer_standalone(def, &operands, &Attrs::new(), &NoSymbols)
            .map_err(|e| format!("'{}': {e}", def.name()))?;
        results
            .into_iter()
            .map(|t| match t {
                Type::Tensor(t) if t.rank() == 0 => Ok(Type::Scalar(t.dtype)),
                other => Err(format!("'{}' gives {other} on scalars, not a scalar", def.name())),
            })
            .collect()
    }
}

/// The `k.apply` op.
pub static APPLY: Apply = Apply;

/// `%h = k.cast %x {to = f16} : f16`: `tg.cast` of one scalar (floats to
/// integers truncate toward zero; anything to `i1` tests `!= 0`).
pub struct Cast;

impl OpDef for Cast {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec = OpSpec::new("k.cast", "the scalar converted to dtype `to`, as tg.cast converts")
            .attrs(&[AttrSpec::req("to", AttrKind::DType)]);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        scalar_operand(cx, 0)?;
        Ok(vec![Type::Scalar(cx.dtype("to")?)])
    }
}

/// The `k.cast` op.
pub static CAST: Cast = Cast;

/// `%f = k.index_cast %i {to = f32} : f32`: an index as a scalar of dtype
/// `to`, converted as `tg.cast` converts an `i64` (integers wrap to their
/// width, floats round to nearest, `i1` tests `!= 0`).
pub struct IndexCast;

impl OpDef for IndexCast {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec =
            OpSpec::new("k.index_cast", "the index converted to dtype `to`, as tg.cast converts an i64")
                .attrs(&[AttrSpec::req("to", AttrKind::DType)]);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        match &cx.operands[0] {
            Type::Index => Ok(vec![Type::Scalar(cx.dtype("to")?)]),
            other => Err(format!("operand #0 must be an index, got {other}")),
        }
    }
}

/// The `k.index_cast` op.
pub static INDEX_CAST: IndexCast = IndexCast;

/// `%i = k.bitcast %x {to = i32} : i32`: `tg.bitcast` of one scalar (its
/// little-endian bytes read as dtype `to`, of the same size; an `i1` is one
/// byte, true when nonzero).
pub struct Bitcast;

impl OpDef for Bitcast {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec = OpSpec::new(
            "k.bitcast",
            "the scalar's bytes read as dtype `to` (of the same size), as tg.bitcast reads them",
        )
        .attrs(&[AttrSpec::req("to", AttrKind::DType)]);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let from = scalar_operand(cx, 0)?;
        let to = cx.dtype("to")?;
        if from.size_bytes() != to.size_bytes() {
            return Err(format!("cannot bitcast {from} to {to}: the sizes differ"));
        }
        Ok(vec![Type::Scalar(to)])
    }
}

/// The `k.bitcast` op.
pub static BITCAST: Bitcast = Bitcast;
