//! ONNX converters: the quantization family. Everything becomes float and
//! integer arithmetic on `tg.` primitives: quantizing is a division by the
//! scale, `tg.round` (half to even), the zero point added, a clamp to the
//! target type's range and a `tg.cast`; dequantizing widens, subtracts the
//! zero point and multiplies by the scale. Per-axis parameters are reshaped
//! to broadcast along their axis; blocked ones are repeated along it with a
//! constant-index `tg.gather`. The integer products (MatMulInteger,
//! ConvInteger, QLinearMatMul, QLinearConv) subtract the zero points in
//! i32 and hand the rest to the MatMul and Conv converters, so their
//! broadcasting, padding and attribute checks are the same as the float ops'.
//!
//! Not supported: the float8, float4 and 2-/4-bit integer types (tessera
//! has no such dtypes).

use super::cx::NodeCx;
use super::elementwise::{binary, cast_to, unary};
use super::registry::{converter, Convert};
use super::shape::{norm_axis, reshape_to, to_scalar};
use crate::onnx::proto::{AttributeProto, NodeProto};
use crate::onnx::tensor::{dtype_from_onnx, onnx_dtype_name};
use std::collections::HashMap;
use tessera_ir::dialect::graph::elementwise::{ADD, DIV, EQ, MAX, MIN, MUL, ROUND, SELECT, SUB};
use tessera_ir::dialect::graph::index::GATHER;
use tessera_ir::dialect::graph::reduce::{REDUCE_MAX, REDUCE_MIN};
use tessera_ir::{Attr, Attrs, DType, Dim, ValueId};

/// The converters of this family, by ONNX operator name.
pub(super) const CONVERTERS: &[(&str, Convert)] = &[
    ("QuantizeLinear", quantize_linear),
    ("DequantizeLinear", dequantize_linear),
    ("DynamicQuantizeLinear", dynamic_quantize_linear),
    ("MatMulInteger", matmul_integer),
    ("ConvInteger", conv_integer),
    ("QLinearMatMul", qlinear_matmul),
    ("QLinearConv", qlinear_conv),
];

// ---------------------------------------------------------------------------
// Shared pieces.

/// The range `[lowest, highest]` of a quantized integer dtype.
fn quant_range(dtype: DType) -> Result<(f64, f64), String> {
    Ok(match dtype {
        DType::I8 => (-128.0, 127.0),
        DType::U8 => (0.0, 255.0),
        DType::I16 => (-32768.0, 32767.0),
        DType::U16 => (0.0, 65535.0),
        DType::I32 => (f64::from(i32::MIN), f64::from(i32::MAX)),
        other => return Err(format!("{other} is not a quantized integer type (int8, uint8, int16, uint16, int32)")),
    })
}

/// The dtype an ONNX dtype attribute `name` names, `None` when absent or 0.
fn dtype_attr(cx: &NodeCx, name: &str) -> Result<Option<DType>, String> {
    match cx.attr_int(name, 0) {
        0 => Ok(None),
        code => {
            let code =
                i32::try_from(code).map_err(|_| format!("attribute '{name}' = {code} is not an ONNX element type"))?;
            dtype_from_onnx(code).map(Some).ok_or_else(|| {
                format!("attribute '{name}' = {} names a type tessera does not support", onnx_dtype_name(code))
            })
        }
    }
}

/// The float dtype arithmetic on a dtype is done in: f64 stays f64, every
/// other dtype widens to f32 (which holds every 16-bit integer exactly).
fn wide_float(dtype: DType) -> DType {
    if dtype == DType::F64 {
        DType::F64
    } else {
        DType::F32
    }
}

/// `x` clamped to `[lo, hi]` (constants of x's dtype).
pub(super) fn clamp(cx: &mut NodeCx, x: ValueId, lo: f64, hi: f64) -> Result<ValueId, String> {
    let dtype = cx.ty(x)?.dtype;
    let (lo, hi) = (cx.scalar(dtype, lo)?, cx.scalar(dtype, hi)?);
    let x = binary(cx, &MAX, x, lo)?;
    binary(cx, &MIN, x, hi)
}

/// A float value rounded half to even, saturated to `dtype`'s range and
/// converted to it.
fn saturate_to(cx: &mut NodeCx, x: ValueId, dtype: DType) -> Result<ValueId, String> {
    let (lo, hi) = quant_range(dtype)?;
    let x = unary(cx, &ROUND, x)?;
    let x = clamp(cx, x, lo, hi)?;
    cast_to(cx, x, dtype)
}

/// A scale or zero point of a (De)QuantizeLinear node made to broadcast
/// against an input of `dims`: a scalar (or one-element vector) as a
/// scalar; a vector along `axis` (per-axis quantization); or, with a
/// `block_size`, a tensor of x's rank with `ceil(D / block_size)` entries
/// along `axis`, repeated `block_size` times there (blocked quantization,
/// which needs a static size along `axis`).
fn param_view(
    cx: &mut NodeCx,
    p: ValueId,
    dims: &[Dim],
    axis: i64,
    block_size: i64,
    what: &str,
) -> Result<ValueId, String> {
    let pdims = cx.dims(p)?;
    if pdims.iter().all(|d| d.known() == Some(1)) {
        return to_scalar(cx, p, what);
    }
    let axis = norm_axis(axis, dims.len(), "attribute 'axis'")?;
    if block_size <= 0 {
        if pdims.len() != 1 {
            return Err(format!(
                "{what} {} must be a scalar or a vector along axis {axis} without a 'block_size' attribute",
                cx.ty(p)?
            ));
        }
        if let (Some(n), Some(d)) = (pdims[0].known(), dims[axis].known()) {
            if n != d {
                return Err(format!("{what} has {n} entries, but axis {axis} of the input has size {d}"));
            }
        }
        let mut view = vec![Dim::Known(1); dims.len()];
        view[axis] = pdims[0].clone();
        return reshape_to(cx, p, &view);
    }
    if pdims.len() != dims.len() {
        return Err(format!("{what} {} must have the input's rank {} for blocked quantization", cx.ty(p)?, dims.len()));
    }
    let size = dims[axis]
        .known()
        .ok_or_else(|| format!("blocked quantization needs a static size along axis {axis}, got {}", dims[axis]))?
        as i64;
    let blocks = (size + block_size - 1) / block_size;
    if pdims[axis].known().is_some_and(|n| n as i64 != blocks) {
        return Err(format!(
            "{what} has {} entries along axis {axis}, but {size} elements in blocks of {block_size} need {blocks}",
            pdims[axis]
        ));
    }
    let index: Vec<i64> = (0..size).map(|i| i / block_size).collect();
    let index = cx.ints_constant(&index)?;
    cx.op(&GATHER, &[p, index], Attrs::from([("axis", Attr::Int(axis as i64))]))
}

/// A zero point or scale of an integer product made to broadcast against
/// the operand it belongs to: a one-element tensor becomes a scalar; a
/// vector on the left operand (`per_row`) holds one entry per row and
/// becomes a column `[M, 1]`; anything else broadcasts as it is.
fn product_param(cx: &mut NodeCx, p: ValueId, per_row: bool, what: &str) -> Result<ValueId, String> {
    let dims = cx.dims(p)?;
    if dims.iter().all(|d| d.known() == Some(1)) {
        return to_scalar(cx, p, what);
    }
    if per_row && dims.len() == 1 {
        return reshape_to(cx, p, &[dims[0].clone(), Dim::Known(1)]);
    }
    Ok(p)
}

/// `x - zero_point` in i32 (just `x` widened when there is no zero point);
/// `view` shapes the zero point to broadcast against `x`.
fn centered(
    cx: &mut NodeCx,
    x: ValueId,
    zero_point: Option<ValueId>,
    view: impl FnOnce(&mut NodeCx, ValueId) -> Result<ValueId, String>,
) -> Result<ValueId, String> {
    let x = cast_to(cx, x, DType::I32)?;
    match zero_point {
        Some(z) => {
            let z = view(cx, z)?;
            let z = cast_to(cx, z, DType::I32)?;
            binary(cx, &SUB, x, z)
        }
        None => Ok(x),
    }
}

/// Runs the converter of `op_type` as if this node were one, with
/// `inputs` (absent ones `None`) and `attribute`. The node keeps its name
/// and type, so errors and locations still point at it.
fn delegate(
    cx: &mut NodeCx,
    op_type: &str,
    inputs: &[Option<ValueId>],
    attribute: Vec<AttributeProto>,
) -> Result<Vec<ValueId>, String> {
    let convert = converter("", op_type).ok_or_else(|| format!("tessera has no {op_type} converter to build on"))?;
    let names: Vec<String> = inputs
        .iter()
        .enumerate()
        .map(|(i, v)| if v.is_some() { format!("{op_type}.input{i}") } else { String::new() })
        .collect();
    let scope: HashMap<String, ValueId> =
        names.iter().zip(inputs).filter_map(|(n, v)| v.map(|v| (n.clone(), v))).collect();
    let node = NodeProto {
        input: names,
        output: cx.node.output.clone(),
        name: cx.node.name.clone(),
        op_type: cx.node.op_type.clone(),
        attribute,
        ..Default::default()
    };
    cx.imp.scopes.push(scope);
    let result = convert(&mut NodeCx { node: &node, opset: cx.opset, imp: &mut *cx.imp, subgraph: cx.subgraph });
    cx.imp.scopes.pop();
    result
}

/// The node's attributes named in `names`.
fn attributes(cx: &NodeCx, names: &[&str]) -> Vec<AttributeProto> {
    cx.node.attribute.iter().filter(|a| names.contains(&a.name.as_str())).cloned().collect()
}

/// The attributes Conv shares with ConvInteger and QLinearConv.
const CONV_ATTRIBUTES: &[&str] = &["auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"];

/// The zero point of a convolution weight `[O, C, k...]` as a scalar or
/// a per-output-channel `[O, 1, 1, ...]`.
fn weight_zero_view(cx: &mut NodeCx, z: ValueId, rank: usize, what: &str) -> Result<ValueId, String> {
    let dims = cx.dims(z)?;
    if dims.iter().all(|d| d.known() == Some(1)) {
        return to_scalar(cx, z, what);
    }
    if dims.len() != 1 {
        return Err(format!("{what} {} must be a scalar or a vector with one entry per output channel", cx.ty(z)?));
    }
    let mut view = vec![Dim::Known(1); rank];
    view[0] = dims[0].clone();
    reshape_to(cx, z, &view)
}

/// A per-output-channel scale `[O]` of a convolution result `[N, O, ...]`
/// viewed as `[1, O, 1, ...]` (a scalar stays a scalar).
fn channel_scale_view(cx: &mut NodeCx, s: ValueId, rank: usize, what: &str) -> Result<ValueId, String> {
    let dims = cx.dims(s)?;
    if dims.iter().all(|d| d.known() == Some(1)) {
        return to_scalar(cx, s, what);
    }
    if dims.len() != 1 {
        return Err(format!("{what} {} must be a scalar or a vector with one entry per output channel", cx.ty(s)?));
    }
    let mut view = vec![Dim::Known(1); rank];
    view[1] = dims[0].clone();
    reshape_to(cx, s, &view)
}

/// Requantizes an i32 accumulator: `acc * (x_scale * w_scale / y_scale) +
/// y_zero_point`, rounded, saturated to `out` and converted. The
/// multiplier is computed in the scales' dtype, the rest in f32.
fn requantize(
    cx: &mut NodeCx,
    acc: ValueId,
    (x_scale, w_scale, y_scale): (ValueId, ValueId, ValueId),
    y_zero_point: Option<ValueId>,
    out: DType,
) -> Result<ValueId, String> {
    let m = binary(cx, &MUL, x_scale, w_scale)?;
    let m = binary(cx, &DIV, m, y_scale)?;
    let wide = wide_float(cx.ty(m)?.dtype);
    let m = cast_to(cx, m, wide)?;
    let acc = cast_to(cx, acc, wide)?;
    let mut r = binary(cx, &MUL, acc, m)?;
    if let Some(z) = y_zero_point {
        let z = cast_to(cx, z, wide)?;
        r = binary(cx, &ADD, r, z)?;
    }
    saturate_to(cx, r, out)
}

// ---------------------------------------------------------------------------
// Converters.

/// QuantizeLinear (opsets 10, 13, 19, 21, 23, 24, 25): `saturate(round(x /
/// y_scale) + y_zero_point)`. The division runs in the scale's dtype (or
/// `precision`, opset 23); the target type is the zero point's, else
/// `output_dtype` (opset 21), else uint8. Per-tensor, per-axis (opset 13)
/// and blocked (`block_size`, opset 21) scales.
fn quantize_linear(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (x, scale, zero_point) = (cx.input(0)?, cx.input(1)?, cx.opt_input(2)?);
    let dims = cx.dims(x)?;
    let out_attr = dtype_attr(cx, "output_dtype")?;
    let out = match zero_point {
        Some(z) => {
            let zt = cx.ty(z)?.dtype;
            match out_attr {
                Some(o) if o != zt => {
                    return Err(format!("attribute 'output_dtype' ({o}) differs from the zero point's type {zt}"))
                }
                _ => zt,
            }
        }
        None => out_attr.unwrap_or(DType::U8),
    };
    if out == DType::I32 {
        return Err("the target type int32 is not a quantized type (int8, uint8, int16, uint16)".into());
    }
    let (lo, hi) = quant_range(out)?;
    let precision = dtype_attr(cx, "precision")?.filter(|d| d.is_float());
    let compute = precision.unwrap_or(cx.ty(scale)?.dtype);
    if !compute.is_float() {
        return Err(format!("the scale must be a float, got {compute}"));
    }
    let (axis, block) = (cx.attr_int("axis", 1), cx.attr_int("block_size", 0));
    let scale = param_view(cx, scale, &dims, axis, block, "input #1 (y_scale)")?;
    let xs = cast_to(cx, x, compute)?;
    let s = cast_to(cx, scale, compute)?;
    let q = binary(cx, &DIV, xs, s)?;
    let q = unary(cx, &ROUND, q)?;
    let wide = wide_float(compute);
    let mut q = cast_to(cx, q, wide)?;
    if let Some(z) = zero_point {
        let z = param_view(cx, z, &dims, axis, block, "input #2 (y_zero_point)")?;
        let z = cast_to(cx, z, wide)?;
        q = binary(cx, &ADD, q, z)?;
    }
    let q = clamp(cx, q, lo, hi)?;
    Ok(vec![cast_to(cx, q, out)?])
}

/// DequantizeLinear (opsets 10, 13, 19, 21, 23, 24, 25):
/// `(x - x_zero_point) * x_scale`, computed in f32 and converted to
/// `output_dtype` (opset 23) or the scale's dtype. Per-tensor, per-axis and
/// blocked scales.
fn dequantize_linear(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (x, scale, zero_point) = (cx.input(0)?, cx.input(1)?, cx.opt_input(2)?);
    let xt = cx.ty(x)?;
    quant_range(xt.dtype).map_err(|e| format!("input #0: {e}"))?;
    let scale_dtype = cx.ty(scale)?.dtype;
    if !scale_dtype.is_float() {
        return Err(format!("the scale must be a float, got {scale_dtype}"));
    }
    let out = dtype_attr(cx, "output_dtype")?.unwrap_or(scale_dtype);
    let wide = wide_float(scale_dtype);
    let (axis, block) = (cx.attr_int("axis", 1), cx.attr_int("block_size", 0));
    let mut y = cast_to(cx, x, wide)?;
    if let Some(z) = zero_point {
        let z = param_view(cx, z, &xt.dims, axis, block, "input #2 (x_zero_point)")?;
        let z = cast_to(cx, z, wide)?;
        y = binary(cx, &SUB, y, z)?;
    }
    let s = param_view(cx, scale, &xt.dims, axis, block, "input #1 (x_scale)")?;
    let s = cast_to(cx, s, wide)?;
    let y = binary(cx, &MUL, y, s)?;
    Ok(vec![cast_to(cx, y, out)?])
}

/// DynamicQuantizeLinear (opset 11): uint8 quantization with a scale and
/// zero point chosen from the data's range (widened to include 0):
/// `scale = (max - min) / 255` (1 / 255 for all-zero data), `zero_point =
/// round(clamp(-min / scale, 0, 255))`. Outputs y, y_scale, y_zero_point.
fn dynamic_quantize_linear(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let xt = cx.ty(x)?;
    if !xt.dtype.is_float() {
        return Err(format!("input #0 must be a float tensor, got {xt}"));
    }
    let axes: Vec<i64> = (0..xt.rank() as i64).collect();
    let over_all = Attrs::from([("axes", Attr::ints(&axes)), ("keepdims", Attr::Bool(false))]);
    let zero = cx.scalar(xt.dtype, 0.0)?;
    let max = cx.op(&REDUCE_MAX, &[x], over_all.clone())?;
    let max = binary(cx, &MAX, max, zero)?;
    let min = cx.op(&REDUCE_MIN, &[x], over_all)?;
    let min = binary(cx, &MIN, min, zero)?;
    let range = binary(cx, &SUB, max, min)?;
    let flat = binary(cx, &EQ, max, min)?;
    let one = cx.scalar(xt.dtype, 1.0)?;
    let range = cx.op(&SELECT, &[flat, one, range], Attrs::new())?;
    let qmax = cx.scalar(xt.dtype, 255.0)?;
    let scale = binary(cx, &DIV, range, qmax)?;
    let shifted = binary(cx, &DIV, min, scale)?;
    let zp = binary(cx, &SUB, zero, shifted)?;
    let zp = clamp(cx, zp, 0.0, 255.0)?;
    let zp = unary(cx, &ROUND, zp)?;
    let q = binary(cx, &DIV, x, scale)?;
    let q = unary(cx, &ROUND, q)?;
    let q = binary(cx, &ADD, q, zp)?;
    let q = clamp(cx, q, 0.0, 255.0)?;
    let y = cast_to(cx, q, DType::U8)?;
    let zp = cast_to(cx, zp, DType::U8)?;
    Ok(vec![y, scale, zp])
}

/// MatMulInteger (opset 10): `(A - a_zero_point) @ (B - b_zero_point)` in
/// i32 with numpy matmul semantics; a vector zero point is per row of A
/// or per column of B.
fn matmul_integer(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (a, b) = (cx.input(0)?, cx.input(1)?);
    let (za, zb) = (cx.opt_input(2)?, cx.opt_input(3)?);
    let a = centered(cx, a, za, |cx, z| product_param(cx, z, true, "input #2 (a_zero_point)"))?;
    let b = centered(cx, b, zb, |cx, z| product_param(cx, z, false, "input #3 (b_zero_point)"))?;
    delegate(cx, "MatMul", &[Some(a), Some(b)], Vec::new())
}

/// ConvInteger (opset 10): Conv of `x - x_zero_point` and `w -
/// w_zero_point` (per tensor, or per output channel for the weight) in i32.
fn conv_integer(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (x, w) = (cx.input(0)?, cx.input(1)?);
    let (zx, zw) = (cx.opt_input(2)?, cx.opt_input(3)?);
    let rank = cx.rank(w)?;
    let x = centered(cx, x, zx, |cx, z| to_scalar(cx, z, "input #2 (x_zero_point)"))?;
    let w = centered(cx, w, zw, |cx, z| weight_zero_view(cx, z, rank, "input #3 (w_zero_point)"))?;
    let attrs = attributes(cx, CONV_ATTRIBUTES);
    delegate(cx, "Conv", &[Some(x), Some(w)], attrs)
}

/// QLinearMatMul (opsets 10, 21): the integer product of the centred
/// operands requantized with `a_scale * b_scale / y_scale` and
/// `y_zero_point`; scales and zero points per tensor, per row of `a` or
/// per column of `b`. The result has the zero point's type.
fn qlinear_matmul(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (a, a_scale, a_zero) = (cx.input(0)?, cx.input(1)?, cx.opt_input(2)?);
    let (b, b_scale, b_zero) = (cx.input(3)?, cx.input(4)?, cx.opt_input(5)?);
    let (y_scale, y_zero) = (cx.input(6)?, cx.opt_input(7)?);
    let out = match y_zero {
        Some(z) => cx.ty(z)?.dtype,
        None => cx.ty(a)?.dtype,
    };
    let a = centered(cx, a, a_zero, |cx, z| product_param(cx, z, true, "input #2 (a_zero_point)"))?;
    let b = centered(cx, b, b_zero, |cx, z| product_param(cx, z, false, "input #5 (b_zero_point)"))?;
    let acc = delegate(cx, "MatMul", &[Some(a), Some(b)], Vec::new())?;
    let acc = *acc.first().ok_or("MatMul gave no result")?;
    let a_scale = product_param(cx, a_scale, true, "input #1 (a_scale)")?;
    let b_scale = product_param(cx, b_scale, false, "input #4 (b_scale)")?;
    let y_scale = to_scalar(cx, y_scale, "input #6 (y_scale)")?;
    let y_zero = y_zero.map(|z| to_scalar(cx, z, "input #7 (y_zero_point)")).transpose()?;
    Ok(vec![requantize(cx, acc, (a_scale, b_scale, y_scale), y_zero, out)?])
}

/// QLinearConv (opset 10): ConvInteger with an optional i32 bias (input
/// #8), requantized with `x_scale * w_scale / y_scale` (the weight's scale
/// per tensor or per output channel) and `y_zero_point`.
fn qlinear_conv(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (x, x_scale, x_zero) = (cx.input(0)?, cx.input(1)?, cx.opt_input(2)?);
    let (w, w_scale, w_zero) = (cx.input(3)?, cx.input(4)?, cx.opt_input(5)?);
    let (y_scale, y_zero, bias) = (cx.input(6)?, cx.opt_input(7)?, cx.opt_input(8)?);
    let out = match y_zero {
        Some(z) => cx.ty(z)?.dtype,
        None => cx.ty(x)?.dtype,
    };
    let rank = cx.rank(w)?;
    let x = centered(cx, x, x_zero, |cx, z| to_scalar(cx, z, "input #2 (x_zero_point)"))?;
    let w = centered(cx, w, w_zero, |cx, z| weight_zero_view(cx, z, rank, "input #5 (w_zero_point)"))?;
    let bias = bias.map(|b| cast_to(cx, b, DType::I32)).transpose()?;
    let attrs = attributes(cx, CONV_ATTRIBUTES);
    let acc = delegate(cx, "Conv", &[Some(x), Some(w), bias], attrs)?;
    let acc = *acc.first().ok_or("Conv gave no result")?;
    let x_scale = to_scalar(cx, x_scale, "input #1 (x_scale)")?;
    let w_scale = channel_scale_view(cx, w_scale, rank, "input #4 (w_scale)")?;
    let y_scale = to_scalar(cx, y_scale, "input #6 (y_scale)")?;
    let y_zero = y_zero.map(|z| to_scalar(cx, z, "input #7 (y_zero_point)")).transpose()?;
    Ok(vec![requantize(cx, acc, (x_scale, w_scale, y_scale), y_zero, out)?])
}

#[cfg(test)]
mod tests {
    use super::super::elementwise::testing::*;

    /// ONNX element-type codes beyond the shared ones.
    const UINT8: i32 = 2;
    const INT8: i32 = 3;

    #[test]
    fn quantize_per_axis_rounds_saturates_and_takes_the_zero_points_type() {
        let inputs = vec![value("x", FLOAT, &[2, 3]), value("s", FLOAT, &[3]), value("z", INT8, &[3])];
        let m = model(13, "QuantizeLinear", inputs, vec![], &["x", "s", "z"], vec![]);
        let text = ir(&m);
        assert!(text.contains("tg.reshape %s {shape = [1, 3]}"), "{text}");
        assert!(text.contains("tg.round") && text.contains("tg.max") && text.contains("tg.min"), "{text}");
        assert_eq!(result_type(&m), "tensor<2x3xi8>");
        let m = model(
            13,
            "QuantizeLinear",
            vec![value("x", FLOAT, &[4]), value("s", FLOAT, &[])],
            vec![],
            &["x", "s"],
            vec![],
        );
        assert_eq!(result_type(&m), "tensor<4xu8>");
    }

    #[test]
    fn blocked_scales_repeat_along_the_axis() {
        let inputs = vec![value("x", UINT8, &[2, 5]), value("s", FLOAT, &[2, 3])];
        let m = model(21, "DequantizeLinear", inputs, vec![], &["x", "s"], vec![int("axis", 1), int("block_size", 2)]);
        let text = ir(&m);
        assert!(text.contains("tg.gather %s"), "{text}");
        assert_eq!(result_type(&m), "tensor<2x5xf32>");
        let inputs = vec![value("x", UINT8, &[2, 5]), value("s", FLOAT, &[2, 2])];
        let err = error(&model(
            21,
            "DequantizeLinear",
            inputs,
            vec![],
            &["x", "s"],
            vec![int("axis", 1), int("block_size", 2)],
        ));
        assert!(err.contains("need 3"), "{err}");
    }

    #[test]
    fn types_tessera_lacks_are_named() {
        let inputs = vec![value("x", FLOAT, &[4]), value("s", FLOAT, &[])];
        let err = error(&model(21, "QuantizeLinear", inputs, vec![], &["x", "s"], vec![int("output_dtype", 22)]));
        assert!(err.contains("attribute 'output_dtype' = INT4"), "{err}");
    }

    #[test]
    fn integer_products_centre_in_i32_and_reuse_matmul_and_conv() {
        let inputs = vec![value("a", UINT8, &[4, 3]), value("b", UINT8, &[3, 2]), value("za", UINT8, &[4])];
        let m = model(10, "MatMulInteger", inputs, vec![], &["a", "b", "za"], vec![]);
        let text = ir(&m);
        assert!(text.contains("tg.reshape %za {shape = [4, 1]}") && text.contains("tg.dot"), "{text}");
        assert_eq!(result_type(&m), "tensor<4x2xi32>");
        let inputs = vec![
            value("x", UINT8, &[1, 1, 5, 5]),
            value("xs", FLOAT, &[]),
            value("xz", UINT8, &[]),
            value("w", INT8, &[2, 1, 3, 3]),
            value("ws", FLOAT, &[2]),
            value("wz", INT8, &[2]),
            value("ys", FLOAT, &[]),
            value("yz", UINT8, &[]),
        ];
        let names = ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz"];
        let m = model(10, "QLinearConv", inputs, vec![], &names, vec![ints("pads", &[1, 1, 1, 1])]);
        let text = ir(&m);
        assert!(text.contains("tg.reshape %wz {shape = [2, 1, 1, 1]}"), "{text}");
        assert!(text.contains("tg.reshape %ws {shape = [1, 2, 1, 1]}") && text.contains("tg.conv"), "{text}");
        assert_eq!(result_type(&m), "tensor<1x2x5x5xu8>");
    }
}
