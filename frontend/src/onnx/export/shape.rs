//! ONNX emitters: the shape family. `tg.broadcast_to` is `Expand`,
//! `tg.reshape` is `Reshape` (symbolic dims as `0` "copy" or one `-1`,
//! else computed from the arguments' shapes), `tg.transpose` is
//! `Transpose`, `tg.slice` and `tg.reverse` are `Slice` (a negative step
//! for the reversal), `tg.pad` is `Pad` (negative amounts crop, in ONNX as
//! in the IR), `tg.concat` is `Concat`, `tg.shape_of` is `Shape`, and
//! `tg.iota` is a constant or `Range` broadcast to its shape.

use super::cx::{attr_int, attr_ints, attr_str, OpCx, ShapePart};
use super::registry::Emit;
use tessera_ir::dialect::graph::shape::SLICE_TO_END;
use tessera_ir::{DType, DenseAttr, Dim, TensorType};

/// `Expand`; axes where `x` already has the target's (non-1) size take 1
/// in the shape, so symbolic sizes of `x` need no run-time computation.
fn broadcast_to(cx: &mut OpCx) -> Result<(), String> {
    let xt = cx.input_ty(0)?;
    let target = cx.attrs().shape("shape")?;
    let lead = target.len().saturating_sub(xt.rank());
    let parts: Vec<ShapePart> = target
        .iter()
        .enumerate()
        .map(|(i, d)| match (d.known(), i.checked_sub(lead).map(|j| &xt.dims[j])) {
            (Some(n), _) => ShapePart::Const(n as i64),
            (None, Some(xd)) if *xd != Dim::Known(1) => ShapePart::Const(1),
            (None, _) => ShapePart::Dim(d.clone()),
        })
        .collect();
    let shape = cx.shape_parts(&parts)?;
    let (x, y) = (cx.input(0), cx.out(0));
    cx.node("Expand", &[&x, &shape], &[&y], vec![]);
    Ok(())
}

/// The shape input of a `Reshape` from `x` to `target`, and whether it
/// needs `allowzero = 1` (a literal 0-sized axis).
pub(super) fn reshape_shape(cx: &mut OpCx, x: &[Dim], target: &[Dim]) -> Result<(String, bool), String> {
    let zero_sized = target.contains(&Dim::Known(0));
    if zero_sized {
        cx.require_opset(14, "a reshape to a shape with a 0-sized axis")?;
    }
    let mut parts: Vec<ShapePart> = target
        .iter()
        .enumerate()
        .map(|(i, d)| match d.known() {
            Some(n) => ShapePart::Const(n as i64),
            None if !zero_sized && x.get(i).is_some_and(|xd| xd.same(d)) => ShapePart::Const(0),
            None => ShapePart::Dim(d.clone()),
        })
        .collect();
    let runtime: Vec<usize> = (0..parts.len()).filter(|&i| matches!(parts[i], ShapePart::Dim(_))).collect();
    if let [only] = runtime.as_slice() {
        if !zero_sized {
            parts[*only] = ShapePart::Const(-1);
        }
    }
    Ok((cx.shape_parts(&parts)?, zero_sized))
}

fn reshape(cx: &mut OpCx) -> Result<(), String> {
    let xt = cx.input_ty(0)?;
    let target = cx.attrs().shape("shape")?;
    let (shape, allowzero) = reshape_shape(cx, &xt.dims, &target)?;
    let (x, y) = (cx.input(0), cx.out(0));
    let attrs = if allowzero { vec![attr_int("allowzero", 1)] } else { vec![] };
    cx.node("Reshape", &[&x, &shape], &[&y], attrs);
    Ok(())
}

fn transpose(cx: &mut OpCx) -> Result<(), String> {
    let perm = cx.attrs().ints("perm")?;
    let (x, y) = (cx.input(0), cx.out(0));
    cx.node("Transpose", &[&x], &[&y], vec![attr_ints("perm", &perm)]);
    Ok(())
}

/// `Slice(x, starts, ends, axes, steps)` writing `y`.
fn slice_node(cx: &mut OpCx, x: &str, y: &str, starts: &[i64], ends: &[i64], axes: &[i64], steps: &[i64]) {
    let (s, e, a, t) = (cx.ints(starts), cx.ints(ends), cx.ints(axes), cx.ints(steps));
    cx.node("Slice", &[x, &s, &e, &a, &t], &[y], vec![]);
}

fn slice(cx: &mut OpCx) -> Result<(), String> {
    let a = cx.attrs();
    let starts = a.ints("starts")?;
    let n = starts.len() as i64;
    let ends: Vec<i64> = a.ints("ends")?.into_iter().map(|e| if e >= SLICE_TO_END { i64::MAX } else { e }).collect();
    let axes = a.ints_or("axes", (0..n).collect())?;
    let steps = a.ints_or("steps", vec![1; starts.len()])?;
    let (x, y) = (cx.input(0), cx.out(0));
    slice_node(cx, &x, &y, &starts, &ends, &axes, &steps);
    Ok(())
}

/// `tg.reverse`: a `Slice` from the last element backwards past the first.
fn reverse(cx: &mut OpCx) -> Result<(), String> {
    let rank = cx.input_ty(0)?.rank();
    let axes: Vec<i64> = cx.attrs().axes("axes", rank)?.into_iter().map(|a| a as i64).collect();
    let (x, y) = (cx.input(0), cx.out(0));
    if axes.is_empty() {
        cx.node("Identity", &[&x], &[&y], vec![]);
        return Ok(());
    }
    let k = axes.len();
    slice_node(cx, &x, &y, &vec![-1; k], &vec![i64::MIN; k], &axes, &vec![-1; k]);
    Ok(())
}

/// `Pad` with `low ++ high` as pads, negative amounts included (ONNX's Pad
/// crops by them, as `tg.pad` does, so the re-import is the same op).
fn pad(cx: &mut OpCx) -> Result<(), String> {
    let a = cx.attrs();
    let (low, high) = (a.ints("low")?, a.ints("high")?);
    let mode = a.choice("mode", &["constant", "reflect", "edge"], "constant")?.to_string();
    let (x, value, y) = (cx.input(0), cx.input(1), cx.out(0));
    let pads: Vec<i64> = low.iter().chain(&high).copied().collect();
    if pads.iter().all(|&p| p == 0) {
        cx.node("Identity", &[&x], &[&y], vec![]);
        return Ok(());
    }
    let pads = cx.ints(&pads);
    cx.node("Pad", &[&x, &pads, &value], &[&y], vec![attr_str("mode", &mode)]);
    Ok(())
}

fn concat(cx: &mut OpCx) -> Result<(), String> {
    let axis = cx.attrs().int("axis")?;
    let inputs: Vec<String> = (0..cx.op.operands.len()).map(|i| cx.input(i)).collect();
    let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let y = cx.out(0);
    cx.node("Concat", &refs, &[&y], vec![attr_int("axis", axis)]);
    Ok(())
}

/// The largest iota written as a literal constant.
const IOTA_LITERAL_LIMIT: u64 = 4096;

/// A literal when the shape is static and small; else `Range(0, n)` along
/// the axis, cast, viewed with size-1 axes around it, and expanded.
fn iota(cx: &mut OpCx) -> Result<(), String> {
    let a = cx.attrs();
    let shape = a.shape("shape")?;
    let dtype = a.dtype("dtype")?;
    let axis = a.axis("axis", shape.len())?;
    let y = cx.out(0);
    if let Some(sizes) = shape.iter().map(Dim::known).collect::<Option<Vec<u64>>>() {
        let count: u64 = sizes.iter().product();
        if count <= IOTA_LITERAL_LIMIT {
            let inner: u64 = sizes[axis + 1..].iter().product();
            let values: Vec<f64> = (0..count).map(|i| ((i / inner.max(1)) % sizes[axis].max(1)) as f64).collect();
            let dense = DenseAttr::from_f64s(TensorType::of(&sizes, dtype), &values)?;
            cx.constant_to(&dense, &y);
            return Ok(());
        }
    }
    let n = cx.dim_scalar(&shape[axis])?;
    let (zero, one) = (cx.scalar(DType::I64, 0.0)?, cx.scalar(DType::I64, 1.0)?);
    let mut line = cx.node1("Range", &[&zero, &n, &one], vec![]);
    if dtype != DType::I64 {
        line = cx.node1("Cast", &[&line], vec![attr_int("to", crate::onnx::tensor::dtype_to_onnx(dtype) as i64)]);
    }
    let view: Vec<i64> = (0..shape.len()).map(|i| if i == axis { -1 } else { 1 }).collect();
    let view = cx.ints(&view);
    let viewed = cx.node1("Reshape", &[&line, &view], vec![]);
    let full = cx.shape_value(&shape)?;
    cx.node("Expand", &[&viewed, &full], &[&y], vec![]);
    Ok(())
}

fn shape_of(cx: &mut OpCx) -> Result<(), String> {
    let (x, y) = (cx.input(0), cx.out(0));
    cx.node("Shape", &[&x], &[&y], vec![]);
    Ok(())
}

/// The emitters of this family, by op name.
pub(super) const EMITTERS: &[(&str, Emit)] = &[
    ("tg.broadcast_to", broadcast_to),
    ("tg.reshape", reshape),
    ("tg.transpose", transpose),
    ("tg.slice", slice),
    ("tg.pad", pad),
    ("tg.concat", concat),
    ("tg.reverse", reverse),
    ("tg.iota", iota),
    ("tg.shape_of", shape_of),
];
