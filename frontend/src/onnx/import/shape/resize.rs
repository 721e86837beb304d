//! Resize and Upsample as separable interpolation: each resized axis is a
//! few `tg.gather`s at import-time positions, weighted by import-time
//! coefficients and summed (one gather for nearest). Needs static sizes on
//! the resized axes. Follows the ONNX reference: every coordinate
//! transformation mode, nearest modes, linear and cubic (with antialias and
//! `exclude_outside`), `tf_crop_and_resize` extrapolation, `axes` and
//! `keep_aspect_ratio_policy`. Resize-10 and Upsample use asymmetric
//! coordinates with ONNX Runtime's nearest rule (floor when enlarging, ceil
//! when shrinking).

use super::super::cx::NodeCx;
use super::known_ints::known_input_ints;
use super::{has_input, norm_axes};
use tessera_ir::dialect::graph::elementwise::{ADD, MUL, SELECT};
use tessera_ir::dialect::graph::index::GATHER;
use tessera_ir::tensor::{Data, Tensor};
use tessera_ir::{Attr, Attrs, DType, Dim, ValueId};

/// How output values are computed from the source coordinate.
#[derive(Clone, Copy, PartialEq)]
enum Interp {
    Nearest,
    Linear,
    Cubic,
}

/// The interpolation settings of one node.
struct Plan {
    interp: Interp,
    /// The coordinate transformation mode.
    coord: String,
    /// The nearest rounding mode; `simple` is ONNX Runtime's legacy rule.
    nearest: String,
    cubic_a: f64,
    exclude_outside: bool,
    antialias: bool,
    extrapolation: f64,
}

/// One axis to resize.
struct AxisResize {
    axis: usize,
    input: usize,
    output: usize,
    scale: f64,
    /// The region of interest `(start, end)` for `tf_crop_and_resize`.
    roi: Option<(f64, f64)>,
}

/// For each output position along one axis: the taps (clamped input
/// position, coefficient), and whether it is extrapolated.
struct Taps {
    taps: Vec<Vec<(usize, f64)>>,
    extrapolated: Vec<bool>,
}

impl Plan {
    /// The coefficients for the taps around a source coordinate whose
    /// fractional part is `ratio` (in `(0, 1]`).
    fn coeffs(&self, ratio: f64, scale: f64) -> Vec<f64> {
        let a = self.cubic_a;
        match self.interp {
            Interp::Nearest => {
                let up = match self.nearest.as_str() {
                    _ if ratio == 1.0 => true,
                    "round_prefer_ceil" => ratio >= 0.5,
                    "floor" => false,
                    "ceil" => true,
                    "simple" => scale < 1.0,
                    _ => ratio > 0.5,
                };
                if up {
                    vec![0.0, 1.0]
                } else {
                    vec![1.0, 0.0]
                }
            }
            Interp::Linear if self.antialias => {
                let scale = scale.min(1.0);
                let start = (-1.0 / scale).floor() as i64 + 1;
                let footprint = 2 - 2 * start;
                let c: Vec<f64> = (start..start + footprint)
                    .map(|i| (1.0 - ((i as f64 - ratio) * scale).abs()).clamp(0.0, 1.0))
                    .collect();
                normalized(c)
            }
            Interp::Linear => vec![1.0 - ratio, ratio],
            Interp::Cubic if self.antialias => {
                let scale = scale.min(1.0);
                let coeff = |x: f64| {
                    let x = x.abs();
                    let (x2, x3) = (x * x, x * x * x);
                    if x <= 1.0 {
                        (a + 2.0) * x3 - (a + 3.0) * x2 + 1.0
                    } else if x < 2.0 {
                        a * x3 - 5.0 * a * x2 + 8.0 * a * x - 4.0 * a
                    } else {
                        0.0
                    }
                };
                let start = (-2.0 / scale).floor() as i64 + 1;
                let end = 2 - start;
                normalized(
                    (start..end)
                        .map(|i| coeff(scale * (i as f64 - ratio)))
                        .collect(),
                )
            }
            Interp::Cubic => {
                let (r1, q) = (ratio + 1.0, 1.0 - ratio);
                vec![
                    ((a * r1 - 5.0 * a) * r1 + 8.0 * a) * r1 - 4.0 * a,
                    ((a + 2.0) * ratio - (a + 3.0)) * ratio * ratio + 1.0,
                    ((a + 2.0) * q - (a + 3.0)) * q * q + 1.0,
                    ((a * (q + 1.0) - 5.0 * a) * (q + 1.0) + 8.0 * a) * (q + 1.0) - 4.0 * a,
                ]
            }
        }
    }

    /// The source coordinate of output position `y`, and whether it lies
    /// outside the input (`tf_crop_and_resize` only).
    fn source(&self, ax: &AxisResize, y: f64) -> Result<(f64, bool), String> {
        let (input, out_f, out_i) = (
            ax.input as f64,
            ax.scale * ax.input as f64,
            ax.output as f64,
        );
        let x = match self.coord.as_str() {
            "align_corners" if out_f == 1.0 => 0.0,
            "align_corners" => y * (input - 1.0) / (out_f - 1.0),
            "asymmetric" => y / ax.scale,
            "tf_crop_and_resize" => {
                let (lo, hi) = ax.roi.ok_or(
                    "coordinate_transformation_mode tf_crop_and_resize needs input #1 (roi)",
                )?;
                let x = if out_f == 1.0 {
                    (hi - lo) * (input - 1.0) / 2.0
                } else {
                    y * (hi - lo) * (input - 1.0) / (out_f - 1.0)
                } + lo * (input - 1.0);
                return Ok((x, x < 0.0 || x > input - 1.0));
            }
            "pytorch_half_pixel" if out_f == 1.0 => -0.5,
            "pytorch_half_pixel" | "half_pixel" => (y + 0.5) / ax.scale - 0.5,
            "half_pixel_symmetric" => {
                let offset = input / 2.0 * (1.0 - out_i / out_f);
                offset + (y + 0.5) / ax.scale - 0.5
            }
            other => {
                return Err(format!(
                    "attribute 'coordinate_transformation_mode' = {other} is not supported"
                ))
            }
        };
        Ok((x, false))
    }

    /// The taps of every output position along one axis (the ONNX
    /// reference's neighbour choice: edge-clamped, nearest first, ties to
    /// the left).
    fn taps(&self, ax: &AxisResize) -> Result<Taps, String> {
        let mut taps = Vec::with_capacity(ax.output);
        let mut extrapolated = Vec::with_capacity(ax.output);
        for y in 0..ax.output {
            let (x, outside) = self.source(ax, y as f64)?;
            let floor = x.floor();
            let ratio = if x == floor { 1.0 } else { x - floor };
            let mut c = self.coeffs(ratio, ax.scale);
            let n = c.len() as i64;
            let pad = (n + 1) / 2;
            let padded = x + pad as f64;
            let p = padded.floor();
            let frac = padded - p;
            let offset = if n % 2 == 0 {
                if frac == 0.0 {
                    -(n / 2)
                } else {
                    -(n / 2) + 1
                }
            } else {
                let base = -((n - 1) / 2);
                if frac <= 0.5 {
                    base
                } else {
                    base + 1
                }
            };
            let start = p as i64 + offset - pad;
            let last = ax.input as i64 - 1;
            if self.exclude_outside {
                for (k, ck) in c.iter_mut().enumerate() {
                    let i = start + k as i64;
                    if i < 0 || i > last {
                        *ck = 0.0;
                    }
                }
                c = normalized(c);
            }
            taps.push(
                c.into_iter()
                    .enumerate()
                    .map(|(k, ck)| ((start + k as i64).clamp(0, last) as usize, ck))
                    .collect(),
            );
            extrapolated.push(outside);
        }
        Ok(Taps { taps, extrapolated })
    }
}

/// `c` divided by its sum (left alone when the sum is 0).
fn normalized(c: Vec<f64>) -> Vec<f64> {
    let sum: f64 = c.iter().sum();
    if sum == 0.0 {
        return c;
    }
    c.into_iter().map(|v| v / sum).collect()
}

/// A constant of `dtype` shaped `[1, .., n, .., 1]` (n at `axis` of `rank`).
fn along(
    cx: &mut NodeCx,
    dtype: DType,
    axis: usize,
    rank: usize,
    data: Data,
) -> Result<ValueId, String> {
    let mut shape = vec![1; rank];
    shape[axis] = data.len();
    cx.constant(Tensor::new(dtype, shape, data)?)
}

/// Resizes `x` along one axis.
fn resize_axis(
    cx: &mut NodeCx,
    x: ValueId,
    plan: &Plan,
    ax: &AxisResize,
) -> Result<ValueId, String> {
    let ty = cx.ty(x)?;
    let gather_at = |cx: &mut NodeCx, positions: Vec<i64>| -> Result<ValueId, String> {
        let idx = cx.ints_constant(&positions)?;
        cx.op(
            &GATHER,
            &[x, idx],
            Attrs::from([("axis", Attr::Int(ax.axis as i64))]),
        )
    };
    let Taps { taps, extrapolated } = plan.taps(ax)?;
    let mut y = if plan.interp == Interp::Nearest || ax.input == 1 || ax.output == 0 {
        // One tap per output: the one with the largest coefficient.
        let pick = |t: &Vec<(usize, f64)>| {
            t.iter()
                .fold(
                    (0usize, f64::MIN),
                    |best, &(i, c)| if c > best.1 { (i, c) } else { best },
                )
                .0
        };
        gather_at(cx, taps.iter().map(|t| pick(t) as i64).collect())?
    } else {
        if !ty.dtype.is_float() {
            return Err(format!(
                "linear and cubic modes need a float input, got {ty}"
            ));
        }
        let mut acc = None;
        for k in 0..taps[0].len() {
            let g = gather_at(cx, taps.iter().map(|t| t[k].0 as i64).collect())?;
            let coef = along(
                cx,
                ty.dtype,
                ax.axis,
                ty.rank(),
                Data::Float(taps.iter().map(|t| t[k].1).collect()),
            )?;
            let term = cx.op(&MUL, &[g, coef], Attrs::new())?;
            acc = Some(match acc {
                None => term,
                Some(a) => cx.op(&ADD, &[a, term], Attrs::new())?,
            });
        }
        acc.ok_or("the interpolation has no taps")?
    };
    if extrapolated.contains(&true) {
        let mask = along(cx, DType::I1, ax.axis, ty.rank(), Data::Bool(extrapolated))?;
        let value = cx.scalar(ty.dtype, plan.extrapolation)?;
        y = cx.op(&SELECT, &[mask, value, y], Attrs::new())?;
    }
    Ok(y)
}

/// The static size of the axis being resized.
fn static_axis(dims: &[Dim], axis: usize) -> Result<usize, String> {
    dims[axis].known().map(|n| n as usize).ok_or_else(|| {
        format!(
            "resizing needs a static size on axis {axis}, got {}",
            dims[axis]
        )
    })
}

/// Input `i` as floats when given and non-empty.
fn opt_floats(cx: &NodeCx, i: usize) -> Result<Option<Vec<f64>>, String> {
    if !has_input(cx, i) {
        return Ok(None);
    }
    let t = cx.const_tensor(i)?;
    Ok((!t.is_empty()).then(|| t.to_f64s()))
}

/// Resizes every axis in `axes` whose scale or size asks for it.
fn apply(
    cx: &mut NodeCx,
    x: ValueId,
    plan: &Plan,
    axes: Vec<AxisResize>,
) -> Result<ValueId, String> {
    let mut y = x;
    for ax in axes {
        let identity = (ax.scale - 1.0).abs() <= 1e-9 && ax.output == ax.input;
        let roi_identity = ax
            .roi
            .is_none_or(|(lo, hi)| lo.abs() <= 1e-9 && (hi - 1.0).abs() <= 1e-9);
        if identity && roi_identity {
            continue;
        }
        y = resize_axis(cx, y, plan, &ax)?;
    }
    Ok(y)
}

/// Legacy resizing (Resize-10, Upsample): output `floor(scale * size)`,
/// asymmetric coordinates.
fn legacy(cx: &mut NodeCx, x: ValueId, scales: &[f64], mode: &str) -> Result<ValueId, String> {
    let dims = cx.dims(x)?;
    if scales.len() != dims.len() {
        return Err(format!(
            "{} scales for a rank-{} input",
            scales.len(),
            dims.len()
        ));
    }
    let interp = match mode {
        "nearest" => Interp::Nearest,
        "linear" | "bilinear" => Interp::Linear,
        other => {
            return Err(format!(
                "attribute 'mode' = {other} is not supported (nearest, linear are)"
            ))
        }
    };
    let plan = Plan {
        interp,
        coord: "asymmetric".into(),
        nearest: "simple".into(),
        cubic_a: -0.75,
        exclude_outside: false,
        antialias: false,
        extrapolation: 0.0,
    };
    let mut axes = Vec::new();
    for (axis, &scale) in scales.iter().enumerate() {
        if scale == 1.0 {
            continue;
        }
        let input = static_axis(&dims, axis)?;
        axes.push(AxisResize {
            axis,
            input,
            output: (scale * input as f64) as usize,
            scale,
            roi: None,
        });
    }
    apply(cx, x, &plan, axes)
}

/// Upsample: scales from `height_scale`/`width_scale` (opset 1), the
/// `scales` attribute (7) or input #1 (9).
pub(super) fn upsample(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let scales = if cx.opset >= 9 {
        cx.const_tensor(1)?.to_f64s()
    } else if cx.opset >= 7 {
        cx.attr_floats("scales")
            .ok_or("attribute 'scales' is required")?
            .into_iter()
            .map(f64::from)
            .collect()
    } else {
        let r = cx.rank(x)?;
        let mut s = vec![1.0; r];
        if r >= 2 {
            s[r - 2] = f64::from(cx.attr_float("height_scale", 1.0));
            s[r - 1] = f64::from(cx.attr_float("width_scale", 1.0));
        }
        s
    };
    let mode = cx.attr_str("mode", "nearest");
    Ok(vec![legacy(cx, x, &scales, &mode)?])
}

/// Resize: opset 10 like Upsample; from opset 11 roi/scales/sizes inputs
/// and the full set of modes; `axes`, `antialias` and
/// `keep_aspect_ratio_policy` from opset 18.
pub(super) fn resize(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let mode = cx.attr_str("mode", "nearest");
    if cx.opset < 11 {
        let scales = cx.const_tensor(1)?.to_f64s();
        return Ok(vec![legacy(cx, x, &scales, &mode)?]);
    }
    let dims = cx.dims(x)?;
    let r = dims.len();
    let interp = match mode.as_str() {
        "nearest" => Interp::Nearest,
        "linear" => Interp::Linear,
        "cubic" => Interp::Cubic,
        other => {
            return Err(format!(
                "attribute 'mode' = {other} is not supported (nearest, linear, cubic are)"
            ))
        }
    };
    let antialias = cx.opset >= 18 && cx.attr_int("antialias", 0) != 0;
    if antialias && interp == Interp::Nearest {
        return Err("attribute 'antialias' is not supported with mode nearest".into());
    }
    let plan = Plan {
        interp,
        coord: cx.attr_str("coordinate_transformation_mode", "half_pixel"),
        nearest: cx.attr_str("nearest_mode", "round_prefer_floor"),
        cubic_a: f64::from(cx.attr_float("cubic_coeff_a", -0.75)),
        exclude_outside: cx.attr_int("exclude_outside", 0) != 0,
        antialias,
        extrapolation: f64::from(cx.attr_float("extrapolation_value", 0.0)),
    };
    let axes = match cx.attr_ints("axes").filter(|_| cx.opset >= 18) {
        Some(a) => norm_axes(&a, r, "attribute 'axes'")?,
        None => (0..r).collect(),
    };
    let n = axes.len();
    let roi = opt_floats(cx, 1)?;
    if let Some(roi) = &roi {
        if roi.len() != 2 * n {
            return Err(format!(
                "input #1 (roi) has {} entries, expected {}",
                roi.len(),
                2 * n
            ));
        }
    }
    let roi_of = |k: usize| roi.as_ref().map(|roi| (roi[k], roi[n + k]));
    let scales = opt_floats(cx, 2)?;
    let sizes = if has_input(cx, 3) {
        let (values, _) = known_input_ints(cx, 3)
            .ok_or("input #3 (sizes) must be known at import time (a constant or computed from tensor shapes)")?;
        Some(values).filter(|s| !s.is_empty())
    } else {
        None
    };
    let tf_crop = plan.coord == "tf_crop_and_resize";
    let mut plan_axes = Vec::with_capacity(n);
    match (scales, sizes) {
        (Some(scales), None) => {
            if scales.len() != n {
                return Err(format!("input #2 (scales) has {} entries for {n} axes", scales.len()));
            }
            for (k, (&axis, &scale)) in axes.iter().zip(&scales).enumerate() {
                if scale == 1.0 && !tf_crop {
                    continue;
                }
                if scale <= 0.0 {
                    return Err(format!("input #2 (scales) has the non-positive entry {scale}"));
                }
                let input = static_axis(&dims, axis)?;
                let output = (scale * input as f64) as usize;
                plan_axes.push(AxisResize { axis, input, output, scale, roi: roi_of(k) });
            }
        }
        (None, Some(sizes)) => {
            if sizes.len() != n {
                return Err(format!("input #3 (sizes) has {} entries for {n} axes", sizes.len()));
            }
            let policy =
                if cx.opset >= 18 { cx.attr_str("keep_aspect_ratio_policy", "stretch") } else { "stretch".into() };
            // (k, axis, input size, output size) of each axis that may change.
            let mut resized = Vec::with_capacity(n);
            for (k, (&axis, size)) in axes.iter().zip(&sizes).enumerate() {
                // An entry equal to the input's own (possibly symbolic) size leaves the axis alone.
                if policy == "stretch" && !tf_crop && Dim::from_expr(size.clone()) == dims[axis] {
                    continue;
                }
                let input = static_axis(&dims, axis)?;
                let output = size
                    .as_constant()
                    .and_then(|s| usize::try_from(s).ok())
                    .ok_or_else(|| format!("input #3 (sizes) entry #{k} = {size} must be a non-negative constant"))?;
                resized.push((k, axis, input, output));
            }
            let ratios: Vec<f64> = resized.iter().map(|&(_, _, i, o)| o as f64 / i as f64).collect();
            let common = match policy.as_str() {
                "stretch" => None,
                "not_larger" => ratios.iter().copied().reduce(f64::min),
                "not_smaller" => ratios.iter().copied().reduce(f64::max),
                other => return Err(format!("attribute 'keep_aspect_ratio_policy' = {other} is not supported")),
            };
            for (j, &(k, axis, input, output)) in resized.iter().enumerate() {
                let (scale, output) = match common {
                    Some(s) => (s, (s * input as f64 + 0.5) as usize),
                    None => (ratios[j], output),
                };
                plan_axes.push(AxisResize { axis, input, output, scale, roi: roi_of(k) });
            }
        }
        (Some(_), Some(_)) => {
            return Err("only one of input #2 (scales) and input #3 (sizes) may be given".into())
        }
        (None, None) => {
            return Err("one of input #2 (scales) and input #3 (sizes) is required".into())
        }
    }
    Ok(vec![apply(cx, x, &plan, plan_axes)?])
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

    #[test]
    fn resize_sizes_scales_and_upsample() {
        let g = graph(
            vec![node(
                "Resize",
                &["x", "", "", "sizes"],
                &["y"],
                vec![string("mode", "linear")],
            )],
            vec![value("x", FLOAT, &[-1, 3, 4, 4])],
            vec![i64s("sizes", &[2], &[8, 2])],
            &["y"],
        );
        let mut g = g;
        g.node[0].attribute.push(ints("axes", &[2, 3]));
        let text = ir(&model_of(19, g));
        assert!(text.contains("-> tensor<N x 3 x 8 x 2 x f32>"), "{text}");
        let g = graph(
            vec![node(
                "Upsample",
                &["x"],
                &["y"],
                vec![floats_attr("scales", &[1.0, 1.0, 2.0, 3.0])],
            )],
            vec![value("x", INT32, &[1, 1, 2, 2])],
            vec![],
            &["y"],
        );
        assert_eq!(result_types(&model_of(7, g)), "tensor<1x1x4x6xi32>");
    }
}
