//! ONNX converters: the elementwise family. Arithmetic, logic, bitwise and
//! comparison operators map onto one `tg.` binary op each (numpy
//! broadcasting is the op's own); the variadic ones (Max, Min, Sum, Mean)
//! fold pairwise; unary math maps onto `tg.` unary ops; Cast, CastLike,
//! BitCast, Clip, IsInf, Pow and Mod adapt attributes and dtypes.
//!
//! The small building helpers at the top (`unary`, `binary`, `scalar_like`,
//! `cast_to`) are shared with the activation, reduce and math families.

use super::cx::NodeCx;
use super::registry::Convert;
use crate::onnx::tensor::{dtype_from_onnx, onnx_dtype_name};
use tessera_ir::dialect::graph::elementwise::{
    ABS, ACOS, ACOSH, ADD, AND, ASIN, ASINH, ATAN, ATANH, BITAND, BITCAST, BITNOT, BITOR, BITXOR, CAST, CEIL, COS,
    COSH, DIV, EQ, ERF, EXP, FLOOR, GE, GT, IS_INF, IS_NAN, LE, LOG, LT, MAX, MIN, MOD, MUL, NEG, NOT, OR, POW,
    RECIPROCAL, REM, ROUND, SELECT, SHL, SHR, SIGN, SIN, SINH, SQRT, SUB, TAN, XOR,
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

/// The largest element-type code ONNX defines (FLOAT6E3M2).
const MAX_ONNX_DTYPE: i32 = 28;

/// Cast: `to` names an ONNX element type (a code, or its name before
/// opset 6); `saturate` and `round_mode` only matter for the float8/float4
/// types tessera does not have.
fn cast(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let dtype = to_dtype(cx)?;
    Ok(vec![cast_to(cx, x, dtype)?])
}

/// BitCast (opset 26): `tg.bitcast` to the element type `to`, which must
/// have the input's element size (checked by the op).
fn bit_cast(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let dtype = to_dtype(cx)?;
    if cx.ty(x)?.dtype == dtype {
        return Ok(vec![x]);
    }
    Ok(vec![cx.op(&BITCAST, &[x], Attrs::from([("to", Attr::DType(dtype))]))?])
}

/// The element type the attribute `to` names (Cast, BitCast): an ONNX
/// type code, or a type name (Cast before opset 6).
fn to_dtype(cx: &NodeCx) -> Result<DType, String> {
    let to = cx.attr("to").ok_or("attribute 'to' is required")?;
    let code = if to.s.is_empty() {
        to.i
    } else {
        let name = String::from_utf8_lossy(&to.s).to_ascii_uppercase();
        let code = (0..=MAX_ONNX_DTYPE).find(|&c| onnx_dtype_name(c) == name);
        i64::from(code.ok_or_else(|| format!("attribute 'to' = '{name}' is not an ONNX element type"))?)
    };
    let code = i32::try_from(code).map_err(|_| format!("attribute 'to' = {code} is not an ONNX element type"))?;
    dtype_from_onnx(code).ok_or_else(|| {
        format!("attribute 'to' = {} is an element type tessera does not support", onnx_dtype_name(code))
    })
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
    ("BitCast", bit_cast),
    ("CastLike", cast_like),
    ("Clip", clip),
    ("Identity", identity),
];

/// Hand-built one-node models for the converter tests of this family and
/// of the activation, reduce and math families.
#[cfg(test)]
pub(super) mod testing {
    use crate::onnx::import::import_model;
    use crate::onnx::proto::attribute_proto::AttributeType;
    use crate::onnx::proto::tensor_shape_proto::{dimension, Dimension};
    use crate::onnx::proto::{
        type_proto, AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
        TensorShapeProto, TypeProto, ValueInfoProto,
    };

    /// ONNX element type FLOAT.
    pub const FLOAT: i32 = 1;
    /// ONNX element type INT32.
    pub const INT32: i32 = 6;
    /// ONNX element type INT64.
    pub const INT64: i32 = 7;
    /// ONNX element type BOOL.
    pub const BOOL: i32 = 9;

    /// An int attribute.
    pub fn int(name: &str, i: i64) -> AttributeProto {
        AttributeProto { name: name.into(), i, r#type: AttributeType::Int as i32, ..Default::default() }
    }

    /// A float attribute.
    pub fn float(name: &str, f: f32) -> AttributeProto {
        AttributeProto { name: name.into(), f, r#type: AttributeType::Float as i32, ..Default::default() }
    }

    /// A string attribute.
    pub fn string(name: &str, s: &str) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            s: s.as_bytes().to_vec(),
            r#type: AttributeType::String as i32,
            ..Default::default()
        }
    }

    /// An ints attribute.
    pub fn ints(name: &str, v: &[i64]) -> AttributeProto {
        AttributeProto { name: name.into(), ints: v.to_vec(), r#type: AttributeType::Ints as i32, ..Default::default() }
    }

    /// A graph input or output: a negative dim is the symbol `N`.
    pub fn value(name: &str, elem_type: i32, dims: &[i64]) -> ValueInfoProto {
        let dim = dims
            .iter()
            .map(|&d| Dimension {
                value: Some(if d < 0 { dimension::Value::DimParam("N".into()) } else { dimension::Value::DimValue(d) }),
                denotation: String::new(),
            })
            .collect();
        let t = type_proto::Tensor { elem_type, shape: Some(TensorShapeProto { dim }) };
        ValueInfoProto {
            name: name.into(),
            r#type: Some(TypeProto { value: Some(type_proto::Value::TensorType(t)), denotation: String::new() }),
            ..Default::default()
        }
    }

    /// An int64 initializer.
    pub fn i64s(name: &str, dims: &[i64], values: &[i64]) -> TensorProto {
        TensorProto {
            name: name.into(),
            dims: dims.to_vec(),
            data_type: INT64,
            int64_data: values.to_vec(),
            ..Default::default()
        }
    }

    /// A model with one `op` node from the graph inputs `inputs` (plus the
    /// initializers, named in `node_inputs` as they are used) to output `y`.
    pub fn model(
        opset: i64,
        op: &str,
        inputs: Vec<ValueInfoProto>,
        initializers: Vec<TensorProto>,
        node_inputs: &[&str],
        attribute: Vec<AttributeProto>,
    ) -> ModelProto {
        let node = NodeProto {
            input: node_inputs.iter().map(|s| s.to_string()).collect(),
            output: vec!["y".into()],
            name: "n".into(),
            op_type: op.into(),
            attribute,
            ..Default::default()
        };
        let graph = GraphProto {
            node: vec![node],
            name: "g".into(),
            initializer: initializers,
            input: inputs,
            output: vec![ValueInfoProto { name: "y".into(), ..Default::default() }],
            ..Default::default()
        };
        ModelProto {
            ir_version: 8,
            graph: Some(graph),
            opset_import: vec![OperatorSetIdProto { domain: String::new(), version: opset }],
            ..Default::default()
        }
    }

    /// The imported module, printed.
    pub fn ir(m: &ModelProto) -> String {
        match import_model(m) {
            Ok(imported) => tessera_ir::print::print_module(imported.module.module()),
            Err(d) => panic!("import failed: {:?}", d.0.iter().map(|d| &d.message).collect::<Vec<_>>()),
        }
    }

    /// The first import error's message.
    pub fn error(m: &ModelProto) -> String {
        match import_model(m) {
            Ok(_) => panic!("import succeeded"),
            Err(d) => d.0[0].message.clone(),
        }
    }

    /// The printed type of the function's result.
    pub fn result_type(m: &ModelProto) -> String {
        let text = ir(m);
        let sig = text.lines().find(|l| l.starts_with("func @main")).unwrap_or_default();
        sig.rsplit("-> ").next().unwrap_or_default().trim_end_matches(" {").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;

    #[test]
    fn pow_casts_the_exponent_or_raises_an_int_base_in_float() {
        let m = model(15, "Pow", vec![value("x", FLOAT, &[3]), value("e", INT64, &[3])], vec![], &["x", "e"], vec![]);
        let text = ir(&m);
        assert!(text.contains("tg.cast %e {to = f32}"), "{text}");
        assert_eq!(result_type(&m), "tensor<3xf32>");
        let m = model(15, "Pow", vec![value("x", INT32, &[3]), value("e", FLOAT, &[3])], vec![], &["x", "e"], vec![]);
        let text = ir(&m);
        assert!(text.contains("tg.cast %x {to = f32}") && text.contains("{to = i32}"), "{text}");
        assert_eq!(result_type(&m), "tensor<3xi32>");
    }

    #[test]
    fn clip_bounds_are_attributes_before_11_and_inputs_after() {
        let x = || vec![value("x", FLOAT, &[-1, 4])];
        let m = model(6, "Clip", x(), vec![], &["x"], vec![float("min", -1.0), float("max", 1.0)]);
        let text = ir(&m);
        assert!(text.contains("tg.max") && text.contains("tg.min"), "{text}");
        let m = model(
            13,
            "Clip",
            vec![value("x", FLOAT, &[-1, 4]), value("hi", FLOAT, &[])],
            vec![],
            &["x", "", "hi"],
            vec![],
        );
        let text = ir(&m);
        assert!(!text.contains("tg.max") && text.contains("tg.min %x, %hi"), "{text}");
        assert_eq!(result_type(&m), "tensor<N x 4 x f32>");
    }

    #[test]
    fn mod_and_bitshift_follow_their_attributes() {
        let ab = || vec![value("a", INT32, &[2]), value("b", INT32, &[2])];
        assert!(ir(&model(13, "Mod", ab(), vec![], &["a", "b"], vec![])).contains("tg.mod %a, %b"));
        assert!(ir(&model(13, "Mod", ab(), vec![], &["a", "b"], vec![int("fmod", 1)])).contains("tg.rem %a, %b"));
        assert!(ir(&model(13, "BitShift", ab(), vec![], &["a", "b"], vec![string("direction", "RIGHT")]))
            .contains("tg.shr"));
        let err = error(&model(13, "BitShift", ab(), vec![], &["a", "b"], vec![string("direction", "UP")]));
        assert!(err.contains("attribute 'direction' = 'UP' must be LEFT or RIGHT"), "{err}");
    }

    #[test]
    fn variadic_ops_broadcast_and_mean_divides() {
        let xs = vec![value("a", FLOAT, &[3, 1]), value("b", FLOAT, &[4]), value("c", FLOAT, &[])];
        let m = model(13, "Mean", xs, vec![], &["a", "b", "c"], vec![]);
        let text = ir(&m);
        assert!(text.contains("dense<3.0>") && text.contains("tg.div"), "{text}");
        assert_eq!(result_type(&m), "tensor<3x4xf32>");
        let m = model(13, "Max", vec![value("a", FLOAT, &[2])], vec![], &["a"], vec![]);
        assert!(ir(&m).contains("tg.return %a"));
    }

    #[test]
    fn is_inf_detects_one_sign() {
        let m = model(20, "IsInf", vec![value("x", FLOAT, &[2])], vec![], &["x"], vec![int("detect_positive", 0)]);
        let text = ir(&m);
        assert!(text.contains("tg.is_inf") && text.contains("tg.lt") && text.contains("tg.and"), "{text}");
        assert_eq!(result_type(&m), "tensor<2xi1>");
    }

    #[test]
    fn cast_names_unsupported_targets() {
        let x = || vec![value("x", FLOAT, &[2])];
        assert_eq!(result_type(&model(21, "Cast", x(), vec![], &["x"], vec![int("to", 10)])), "tensor<2xf16>");
        let err = error(&model(21, "Cast", x(), vec![], &["x"], vec![int("to", 17)]));
        assert!(err.contains("attribute 'to' = FLOAT8E4M3FN"), "{err}");
        // Cast-1 names the type.
        assert_eq!(result_type(&model(1, "Cast", x(), vec![], &["x"], vec![string("to", "INT32")])), "tensor<2xi32>");
        let like = vec![value("x", FLOAT, &[2]), value("l", BOOL, &[1])];
        assert_eq!(result_type(&model(21, "CastLike", like, vec![], &["x", "l"], vec![])), "tensor<2xi1>");
    }

    #[test]
    fn bit_cast_keeps_the_element_size() {
        let x = || vec![value("x", FLOAT, &[-1, 2])];
        let m = model(26, "BitCast", x(), vec![], &["x"], vec![int("to", 6)]);
        assert!(ir(&m).contains("tg.bitcast %x {to = i32}"), "{}", ir(&m));
        assert_eq!(result_type(&m), "tensor<N x 2 x i32>");
        assert!(ir(&model(26, "BitCast", x(), vec![], &["x"], vec![int("to", 1)])).contains("tg.return %x"));
        let err = error(&model(26, "BitCast", x(), vec![], &["x"], vec![int("to", 7)]));
        assert!(err.contains("cannot bitcast f32 (4 byte(s)) to i64 (8 byte(s))"), "{err}");
    }
}
