//! ONNX converters: the neural-network family. Convolutions become
//! `tg.conv` (a transposed convolution is an input-dilated one with a
//! flipped, transposed kernel); pooling becomes `tg.reduce_window`, with
//! average pooling a windowed sum divided by a windowed count; the
//! normalisations (batch, instance, layer, group, RMS, Lp, LRN, MVN) become
//! reductions and elementwise arithmetic; Dropout is the identity at
//! inference.

use super::cx::NodeCx;
use super::elementwise::{binary, cast_to, scalar_like, select, unary};
use super::registry::Convert;
use super::shape::reshape_to as reshape;
use crate::onnx::proto::attribute_proto::AttributeType;
use tessera_ir::dialect::graph::{elementwise, index, linalg, reduce, shape, window};
use tessera_ir::infer::normalize_axis;
use tessera_ir::tensor::{Data, Tensor};
use tessera_ir::{Attr, Attrs, DType, Dim, OpRef, TensorType, ValueId};

/// The converters of this family, by ONNX operator name.
pub(super) const CONVERTERS: &[(&str, Convert)] = &[
    ("Conv", conv),
    ("ConvTranspose", conv_transpose),
    ("CausalConvWithState", causal_conv_with_state),
    ("MaxPool", max_pool),
    ("AveragePool", average_pool),
    ("LpPool", lp_pool),
    ("GlobalAveragePool", global_average_pool),
    ("GlobalMaxPool", global_max_pool),
    ("GlobalLpPool", global_lp_pool),
    ("BatchNormalization", batch_normalization),
    ("InstanceNormalization", instance_normalization),
    ("LayerNormalization", layer_normalization),
    ("GroupNormalization", group_normalization),
    ("RMSNormalization", rms_normalization),
    ("LpNormalization", lp_normalization),
    ("LRN", lrn),
    ("MeanVarianceNormalization", mean_variance_normalization),
    ("Dropout", dropout),
];

// ---------------------------------------------------------------------------
// Builders (shared with the rnn and attention families) and the
// normalisations' common steps.

/// `tg.transpose` with result axis `i` taken from axis `perm[i]`.
pub(super) fn transpose(cx: &mut NodeCx, x: ValueId, perm: &[i64]) -> Result<ValueId, String> {
    cx.op(&shape::TRANSPOSE, &[x], Attrs::from([("perm", Attr::ints(perm))]))
}

/// `x[start..end]` along `axis` (step 1).
pub(super) fn slice(cx: &mut NodeCx, x: ValueId, axis: usize, start: i64, end: i64) -> Result<ValueId, String> {
    let attrs = Attrs::from([
        ("starts", Attr::ints(&[start])),
        ("ends", Attr::ints(&[end])),
        ("axes", Attr::ints(&[axis as i64])),
    ]);
    cx.op(&shape::SLICE, &[x], attrs)
}

/// `tg.concat` along `axis`; a single value is returned as is.
pub(super) fn concat(cx: &mut NodeCx, values: &[ValueId], axis: usize) -> Result<ValueId, String> {
    match values {
        [one] => Ok(*one),
        _ => cx.op(&shape::CONCAT, values, Attrs::from([("axis", Attr::Int(axis as i64))])),
    }
}

/// `tg.dot` contracting `lhs_contract` of `a` with `rhs_contract` of `b`, no batch axes.
pub(super) fn dot(
    cx: &mut NodeCx,
    a: ValueId,
    b: ValueId,
    lhs_contract: i64,
    rhs_contract: i64,
) -> Result<ValueId, String> {
    let attrs =
        Attrs::from([("lhs_contract", Attr::ints(&[lhs_contract])), ("rhs_contract", Attr::ints(&[rhs_contract]))]);
    cx.op(&linalg::DOT, &[a, b], attrs)
}

/// A reduction (`tg.reduce_sum`, ...) over `axes`.
fn reduce_over(cx: &mut NodeCx, def: OpRef, x: ValueId, axes: &[usize], keepdims: bool) -> Result<ValueId, String> {
    let axes: Vec<i64> = axes.iter().map(|&a| a as i64).collect();
    cx.op(def, &[x], Attrs::from([("axes", Attr::ints(&axes)), ("keepdims", Attr::Bool(keepdims))]))
}

/// The mean of `x` over `axes`, kept as size-1 axes. The element count is a
/// constant when those dims are static, else a sum over broadcast ones.
fn mean_over(cx: &mut NodeCx, x: ValueId, axes: &[usize]) -> Result<ValueId, String> {
    let sum = reduce_over(cx, &reduce::REDUCE_SUM, x, axes, true)?;
    let dims = cx.dims(x)?;
    let count = match axes.iter().map(|&a| dims[a].known()).collect::<Option<Vec<u64>>>() {
        Some(sizes) => scalar_like(cx, x, sizes.iter().product::<u64>() as f64)?,
        None => {
            let one = scalar_like(cx, x, 1.0)?;
            let ones_dims: Vec<Dim> =
                (0..dims.len()).map(|a| if axes.contains(&a) { dims[a].clone() } else { Dim::Known(1) }).collect();
            let ones = cx.op(&shape::BROADCAST_TO, &[one], Attrs::from([("shape", Attr::shape(&ones_dims))]))?;
            reduce_over(cx, &reduce::REDUCE_SUM, ones, axes, true)?
        }
    };
    binary(cx, &elementwise::DIV, sum, count)
}

/// `(x - mean) / sqrt(var + eps)` over `axes` (population variance), with
/// the mean and `1 / sqrt(var + eps)` (both with size-1 reduced axes).
fn standardize(cx: &mut NodeCx, x: ValueId, axes: &[usize], eps: f64) -> Result<(ValueId, ValueId, ValueId), String> {
    let mean = mean_over(cx, x, axes)?;
    let centered = binary(cx, &elementwise::SUB, x, mean)?;
    let squared = binary(cx, &elementwise::MUL, centered, centered)?;
    let var = mean_over(cx, squared, axes)?;
    let eps = scalar_like(cx, x, eps)?;
    let var_eps = binary(cx, &elementwise::ADD, var, eps)?;
    let inv_std = unary(cx, &elementwise::RSQRT, var_eps)?;
    let normalized = binary(cx, &elementwise::MUL, centered, inv_std)?;
    Ok((normalized, mean, inv_std))
}

/// A per-channel vector `[C]` viewed as `[1, C, 1, ...]` for an input of `rank`.
fn channel_view(cx: &mut NodeCx, v: ValueId, rank: usize) -> Result<ValueId, String> {
    let dims = cx.dims(v)?;
    if dims.len() != 1 {
        return Err(format!("expected a per-channel vector, got {}", cx.ty(v)?));
    }
    let mut view = vec![Dim::Known(1); rank.max(2)];
    view[1] = dims[0].clone();
    reshape(cx, v, &view)
}

/// The dtype a normalisation computes in: f32 for f16/bf16 inputs when
/// `stash_type` is 1 (FLOAT), else the input's own dtype.
fn stash_dtype(cx: &NodeCx, x_dtype: DType) -> DType {
    if cx.attr_int("stash_type", 1) == 1 && matches!(x_dtype, DType::F16 | DType::BF16) {
        DType::F32
    } else {
        x_dtype
    }
}

/// Whether output `i` of the node is requested (present and named).
pub(super) fn wants_output(cx: &NodeCx, i: usize) -> bool {
    cx.node.output.get(i).is_some_and(|n| !n.is_empty())
}

/// An int-or-float attribute read as a float (`p` of LpPool is a float before opset 2).
fn attr_number(cx: &NodeCx, name: &str, default: f64) -> f64 {
    match cx.attr(name) {
        Some(a) if a.r#type == AttributeType::Float as i32 => f64::from(a.f),
        Some(a) => a.i as f64,
        None => default,
    }
}

// ---------------------------------------------------------------------------
// Sliding windows (Conv and pooling).

/// The per-spatial-axis window of a convolution or pooling node.
struct Window {
    /// Window size per spatial axis.
    kernel: Vec<i64>,
    /// Step per spatial axis (>= 1).
    strides: Vec<i64>,
    /// Tap spacing per spatial axis (>= 1).
    dilations: Vec<i64>,
    /// Padding before each spatial axis.
    pad_low: Vec<i64>,
    /// Padding after each spatial axis.
    pad_high: Vec<i64>,
}

impl Window {
    /// The extent of the dilated window along spatial axis `i`.
    fn span(&self, i: usize) -> i64 {
        (self.kernel[i] - 1) * self.dilations[i] + 1
    }
}

/// Attribute `name` with one positive entry per spatial axis (`default` each when absent).
fn spatial_ints(cx: &NodeCx, name: &str, n: usize, default: i64) -> Result<Vec<i64>, String> {
    let values = cx.attr_ints(name).unwrap_or_else(|| vec![default; n]);
    if values.len() != n {
        return Err(format!("attribute '{name}' = {values:?} must have {n} entries (one per spatial axis)"));
    }
    if values.iter().any(|&v| v < 1) {
        return Err(format!("attribute '{name}' = {values:?} must hold positive integers"));
    }
    Ok(values)
}

/// The explicit `pads` attribute split into (begins, ends); zeros when absent.
fn explicit_pads(cx: &NodeCx, n: usize) -> Result<(Vec<i64>, Vec<i64>), String> {
    let pads = cx.attr_ints("pads").unwrap_or_else(|| vec![0; 2 * n]);
    if pads.len() != 2 * n {
        return Err(format!(
            "attribute 'pads' = {pads:?} must have {} entries (begin and end per spatial axis)",
            2 * n
        ));
    }
    if pads.iter().any(|&p| p < 0) {
        return Err(format!("attribute 'pads' = {pads:?} must not be negative"));
    }
    Ok((pads[..n].to_vec(), pads[n..].to_vec()))
}

/// Reads `strides`, `dilations` and the padding (`pads` or `auto_pad`) for
/// a window of `kernel` over the spatial dims `spatial`. SAME padding gives
/// `ceil(input / stride)` outputs; it needs a static input unless the stride is 1.
fn read_window(cx: &NodeCx, spatial: &[Dim], kernel: Vec<i64>) -> Result<Window, String> {
    let n = spatial.len();
    if kernel.len() != n {
        return Err(format!("the kernel shape {kernel:?} must have {n} entries (one per spatial axis)"));
    }
    if kernel.iter().any(|&k| k < 1) {
        return Err(format!("the kernel shape {kernel:?} must hold positive sizes"));
    }
    let strides = spatial_ints(cx, "strides", n, 1)?;
    let dilations = spatial_ints(cx, "dilations", n, 1)?;
    let mut w = Window { kernel, strides, dilations, pad_low: vec![0; n], pad_high: vec![0; n] };
    let auto_pad = cx.attr_str("auto_pad", "NOTSET");
    match auto_pad.as_str() {
        "NOTSET" | "" => (w.pad_low, w.pad_high) = explicit_pads(cx, n)?,
        "VALID" => {}
        "SAME_UPPER" | "SAME_LOWER" => {
            for i in 0..n {
                let total = match spatial[i].known() {
                    Some(len) => {
                        let len = len as i64;
                        let out = (len + w.strides[i] - 1) / w.strides[i];
                        ((out - 1) * w.strides[i] + w.span(i) - len).max(0)
                    }
                    None if w.strides[i] == 1 => w.span(i) - 1,
                    None => {
                        return Err(format!(
                            "attribute 'auto_pad' = {auto_pad} with stride {} needs a static size for spatial \
                             axis {i}, got {}",
                            w.strides[i], spatial[i]
                        ))
                    }
                };
                let small = total / 2;
                (w.pad_low[i], w.pad_high[i]) =
                    if auto_pad == "SAME_UPPER" { (small, total - small) } else { (total - small, small) };
            }
        }
        other => {
            return Err(format!("attribute 'auto_pad' = {other} is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID"))
        }
    }
    Ok(w)
}

/// Applies `ceil_mode`: grows the high padding so the last (partial)
/// window is kept, unless it would start inside the high padding. Returns
/// the extra padding per axis (zero without ceil mode).
fn apply_ceil_mode(cx: &NodeCx, w: &mut Window, spatial: &[Dim]) -> Result<Vec<i64>, String> {
    let n = spatial.len();
    if cx.attr_int("ceil_mode", 0) == 0 {
        return Ok(vec![0; n]);
    }
    let mut extra = vec![0; n];
    for i in 0..n {
        let len = spatial[i].known().ok_or_else(|| {
            format!("attribute 'ceil_mode' = 1 needs a static size for spatial axis {i}, got {}", spatial[i])
        })? as i64;
        let padded = len + w.pad_low[i] + w.pad_high[i];
        if padded < w.span(i) {
            continue;
        }
        let s = w.strides[i];
        let mut out = (padded - w.span(i) + s - 1) / s + 1;
        if (out - 1) * s >= len + w.pad_low[i] {
            out -= 1;
        }
        let needed = (out - 1) * s + w.span(i) - len - w.pad_low[i];
        if needed > w.pad_high[i] {
            extra[i] = needed - w.pad_high[i];
            w.pad_high[i] = needed;
        }
    }
    Ok(extra)
}

/// Sets attribute `name` to `values` unless every entry is `default`.
fn set_unless_all(attrs: &mut Attrs, name: &str, values: &[i64], default: i64) {
    if values.iter().any(|&v| v != default) {
        attrs.set(name, Attr::ints(values));
    }
}

/// `tg.reduce_window` of `kind` over the spatial axes of `x` (batch and
/// channel axes untouched).
fn pool_window(cx: &mut NodeCx, x: ValueId, kind: &str, w: &Window) -> Result<ValueId, String> {
    let full = |v: &[i64], lead: i64| [lead, lead].iter().chain(v).copied().collect::<Vec<i64>>();
    let mut attrs = Attrs::from([("kind", Attr::Str(kind.to_string())), ("window", Attr::ints(&full(&w.kernel, 1)))]);
    set_unless_all(&mut attrs, "strides", &full(&w.strides, 1), 1);
    set_unless_all(&mut attrs, "dilations", &full(&w.dilations, 1), 1);
    set_unless_all(&mut attrs, "pad_low", &full(&w.pad_low, 0), 0);
    set_unless_all(&mut attrs, "pad_high", &full(&w.pad_high, 0), 0);
    cx.op(&window::REDUCE_WINDOW, &[x], attrs)
}

/// Input 0 with its spatial dims (rank 3 or more: batch, channels, spatial...).
fn image_input(cx: &NodeCx) -> Result<(ValueId, TensorType, Vec<Dim>), String> {
    let x = cx.input(0)?;
    let ty = cx.ty(x)?;
    if ty.rank() < 3 {
        return Err(format!("input #0 {ty} must have rank 3 or more (batch, channels, spatial...)"));
    }
    let spatial = ty.dims[2..].to_vec();
    Ok((x, ty, spatial))
}

/// The window of a MaxPool / AveragePool / LpPool node with `ceil_mode`
/// applied, and the high padding ceil mode added per spatial axis.
fn pool_attrs(cx: &NodeCx, spatial: &[Dim]) -> Result<(Window, Vec<i64>), String> {
    let kernel = cx.attr_ints("kernel_shape").ok_or("attribute 'kernel_shape' is required")?;
    let mut w = read_window(cx, spatial, kernel)?;
    let extra = apply_ceil_mode(cx, &mut w, spatial)?;
    Ok((w, extra))
}

// ---------------------------------------------------------------------------
// Convolutions.

/// The weight's static spatial sizes (the kernel), checked against `kernel_shape`.
fn weight_kernel(cx: &NodeCx, w: &TensorType, n: usize) -> Result<Vec<i64>, String> {
    if w.rank() != n + 2 {
        return Err(format!("the weight {w} must have rank {} like the input", n + 2));
    }
    let from_weight: Option<Vec<i64>> = w.dims[2..].iter().map(|d| d.known().map(|k| k as i64)).collect();
    match (cx.attr_ints("kernel_shape"), from_weight) {
        (Some(k), Some(wk)) if k != wk => {
            Err(format!("attribute 'kernel_shape' = {k:?} does not match the weight {w}"))
        }
        (_, Some(wk)) => Ok(wk),
        (Some(k), None) => Ok(k),
        (None, None) => Err(format!("the weight {w} needs static spatial sizes (or a 'kernel_shape' attribute)")),
    }
}

/// Adds the optional per-channel bias (input #`input`, `[O]`) to a convolution result.
fn add_conv_bias(cx: &mut NodeCx, y: ValueId, rank: usize, input: usize) -> Result<ValueId, String> {
    match cx.opt_input(input)? {
        Some(b) => {
            let b = channel_view(cx, b, rank)?;
            binary(cx, &elementwise::ADD, y, b)
        }
        None => Ok(y),
    }
}

/// Conv (opsets 1, 11, 22): grouped, strided, dilated N-d cross-correlation
/// with explicit or automatic padding and an optional per-channel bias.
fn conv(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (x, xt, spatial) = image_input(cx)?;
    let w = cx.input(1)?;
    let kernel = weight_kernel(cx, &cx.ty(w)?, spatial.len())?;
    let win = read_window(cx, &spatial, kernel)?;
    let group = cx.attr_int("group", 1);
    if group < 1 {
        return Err(format!("attribute 'group' = {group} must be positive"));
    }
    let mut attrs = Attrs::new();
    set_unless_all(&mut attrs, "strides", &win.strides, 1);
    set_unless_all(&mut attrs, "dilations", &win.dilations, 1);
    set_unless_all(&mut attrs, "pad_low", &win.pad_low, 0);
    set_unless_all(&mut attrs, "pad_high", &win.pad_high, 0);
    if group != 1 {
        attrs.set("groups", Attr::Int(group));
    }
    let y = cx.op(&linalg::CONV, &[x, w], attrs)?;
    Ok(vec![add_conv_bias(cx, y, xt.rank(), 2)?])
}

/// CausalConvWithState (opset 27): a depthwise 1-d convolution over the
/// input prefixed by `past_state` (zeros when absent, `k - 1` steps), plus
/// the optional bias, with an optional SiLU; the new state is the last
/// `k - 1` steps of the prefixed input.
fn causal_conv_with_state(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (x, w) = (cx.input(0)?, cx.input(1)?);
    let (xt, wt) = (cx.ty(x)?, cx.ty(w)?);
    if xt.rank() != 3 || wt.rank() != 3 {
        return Err(format!("the input {xt} and weight {wt} must have rank 3 (batch, channels, length)"));
    }
    let k = wt.dims[2].known().ok_or_else(|| format!("the weight {wt} needs a static kernel size"))? as i64;
    let channels = xt.dims[1].known().ok_or_else(|| format!("the input {xt} needs a static channel count"))? as i64;
    let activation = cx.attr_str("activation", "none");
    if !matches!(activation.as_str(), "none" | "silu" | "swish") {
        return Err(format!("attribute 'activation' = {activation} is not one of none, silu, swish"));
    }
    let prefixed = match cx.opt_input(3)? {
        Some(past) => concat(cx, &[past, x], 2)?,
        None => {
            let zero = scalar_like(cx, x, 0.0)?;
            let attrs = Attrs::from([("low", Attr::ints(&[0, 0, k - 1])), ("high", Attr::ints(&[0, 0, 0]))]);
            cx.op(&shape::PAD, &[x, zero], attrs)?
        }
    };
    let mut y = cx.op(&linalg::CONV, &[prefixed, w], Attrs::from([("groups", Attr::Int(channels))]))?;
    y = add_conv_bias(cx, y, 3, 2)?;
    if activation != "none" {
        // SiLU in f32 for half-precision inputs.
        let compute = if matches!(xt.dtype, DType::F16 | DType::BF16) { DType::F32 } else { xt.dtype };
        let wide = cast_to(cx, y, compute)?;
        let gate = unary(cx, &elementwise::SIGMOID, wide)?;
        let silu = binary(cx, &elementwise::MUL, wide, gate)?;
        y = cast_to(cx, silu, xt.dtype)?;
    }
    // The last k - 1 steps (none for k = 1: a start past the end).
    let start = if k > 1 { -(k - 1) } else { shape::SLICE_TO_END };
    let state = slice(cx, prefixed, 2, start, shape::SLICE_TO_END)?;
    Ok(vec![y, state])
}

/// ConvTranspose (opsets 1, 11, 22): the gradient of Conv, as a `tg.conv`
/// of the input spread by `strides` (lhs_dilation) with the kernel flipped
/// spatially and its channel axes swapped per group. Pads come from
/// `pads`, `output_shape` or `auto_pad`; `output_padding` extends the high side.
fn conv_transpose(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (x, xt, spatial) = image_input(cx)?;
    let n = spatial.len();
    let w = cx.input(1)?;
    let wt = cx.ty(w)?;
    let kernel = weight_kernel(cx, &wt, n)?;
    let strides = spatial_ints(cx, "strides", n, 1)?;
    let dilations = spatial_ints(cx, "dilations", n, 1)?;
    let group = cx.attr_int("group", 1);
    if group < 1 {
        return Err(format!("attribute 'group' = {group} must be positive"));
    }
    let output_padding = cx.attr_ints("output_padding").unwrap_or_else(|| vec![0; n]);
    if output_padding.len() != n {
        return Err(format!("attribute 'output_padding' = {output_padding:?} must have {n} entries"));
    }
    let span: Vec<i64> = (0..n).map(|i| (kernel[i] - 1) * dilations[i] + 1).collect();
    let auto_pad = cx.attr_str("auto_pad", "NOTSET");
    let output_shape = cx.attr_ints("output_shape").map(|s| if s.len() == n + 2 { s[2..].to_vec() } else { s });
    let (pad_begin, pad_end) = match (&output_shape, auto_pad.as_str()) {
        (Some(_), _) | (None, "SAME_UPPER" | "SAME_LOWER") => {
            let target = match &output_shape {
                Some(s) if s.len() == n => s.clone(),
                Some(s) => return Err(format!("attribute 'output_shape' = {s:?} must have {n} entries")),
                None => Vec::new(),
            };
            let mut begin = vec![0; n];
            let mut end = vec![0; n];
            for i in 0..n {
                let len = spatial[i].known().ok_or_else(|| {
                    format!(
                        "an output shape or SAME padding needs a static size for spatial axis {i}, got {}",
                        spatial[i]
                    )
                })? as i64;
                let out = target.get(i).copied().unwrap_or(len * strides[i]);
                let total = strides[i] * (len - 1) + output_padding[i] + span[i] - out;
                let half = total.div_euclid(2);
                (begin[i], end[i]) = if auto_pad == "SAME_UPPER" { (half, total - half) } else { (total - half, half) };
            }
            (begin, end)
        }
        (None, "NOTSET" | "") => explicit_pads(cx, n)?,
        (None, "VALID") => (vec![0; n], vec![0; n]),
        (None, other) => {
            return Err(format!("attribute 'auto_pad' = {other} is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID"))
        }
    };
    // Weight [C, O/g, k...] -> [O, C/g, k...], flipped spatially.
    let (c, o_per_group) = (wt.dims[0].clone(), wt.dims[1].clone());
    let mut perm: Vec<i64> = (0..(n + 3) as i64).collect();
    let kernel_dims: Vec<Dim> = wt.dims[2..].to_vec();
    let swapped = if group == 1 {
        perm.truncate(n + 2);
        perm.swap(0, 1);
        transpose(cx, w, &perm)?
    } else {
        let c_per_group = match c.known() {
            Some(c) if c % group as u64 == 0 => Dim::Known(c / group as u64),
            _ => {
                return Err(format!("the weight {wt} must have a static channel count divisible by 'group' = {group}"))
            }
        };
        let mut grouped = vec![Dim::Known(group as u64), c_per_group.clone(), o_per_group.clone()];
        grouped.extend(kernel_dims.iter().cloned());
        let grouped = reshape(cx, w, &grouped)?;
        perm.swap(1, 2);
        let swapped = transpose(cx, grouped, &perm)?;
        let mut flat = vec![o_per_group.mul(&Dim::Known(group as u64)), c_per_group];
        flat.extend(kernel_dims.iter().cloned());
        reshape(cx, swapped, &flat)?
    };
    let spatial_axes: Vec<i64> = (2..(n + 2) as i64).collect();
    let flipped = cx.op(&shape::REVERSE, &[swapped], Attrs::from([("axes", Attr::ints(&spatial_axes))]))?;
    let pad_low: Vec<i64> = (0..n).map(|i| span[i] - 1 - pad_begin[i]).collect();
    let pad_high: Vec<i64> = (0..n).map(|i| span[i] - 1 - pad_end[i] + output_padding[i]).collect();
    let mut attrs = Attrs::new();
    set_unless_all(&mut attrs, "lhs_dilation", &strides, 1);
    set_unless_all(&mut attrs, "dilations", &dilations, 1);
    set_unless_all(&mut attrs, "pad_low", &pad_low, 0);
    set_unless_all(&mut attrs, "pad_high", &pad_high, 0);
    if group != 1 {
        attrs.set("groups", Attr::Int(group));
    }
    let y = cx.op(&linalg::CONV, &[x, flipped], attrs)?;
    Ok(vec![add_conv_bias(cx, y, xt.rank(), 2)?])
}

// ---------------------------------------------------------------------------
// Pooling.

/// The lowest value of `dtype` (the identity of max).
fn lowest(dtype: DType) -> f64 {
    match dtype {
        DType::I1 | DType::U8 | DType::U16 | DType::U32 | DType::U64 => 0.0,
        DType::I8 => f64::from(i8::MIN),
        DType::I16 => f64::from(i16::MIN),
        DType::I32 => f64::from(i32::MIN),
        DType::I64 => i64::MIN as f64,
        DType::F16 | DType::BF16 | DType::F32 | DType::F64 => f64::NEG_INFINITY,
    }
}

/// MaxPool (opsets 1, 8, 10, 11, 12, 22): a windowed max. `storage_order`
/// only matters for the optional Indices output (flat indices into the
/// input), which needs static spatial and channel sizes.
fn max_pool(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (x, xt, spatial) = image_input(cx)?;
    let (w, _) = pool_attrs(cx, &spatial)?;
    let y = pool_window(cx, x, "max", &w)?;
    if !wants_output(cx, 1) {
        return Ok(vec![y]);
    }
    let indices = max_pool_indices(cx, x, &xt, &w, cx.attr_int("storage_order", 0) != 0)?;
    Ok(vec![y, indices])
}

/// The Indices output of MaxPool: for each window, the flat index (into
/// the whole input, row-major or column-major per `column_major`) of its
/// first largest element. Built as a gather of every window's taps (a
/// constant tap table), an argmax over the taps, and a lookup of the tap.
fn max_pool_indices(
    cx: &mut NodeCx,
    x: ValueId,
    xt: &TensorType,
    w: &Window,
    column_major: bool,
) -> Result<ValueId, String> {
    let needs_static = || format!("the Indices output needs static channel and spatial sizes, got {xt}");
    let sizes: Vec<usize> =
        xt.dims[1..].iter().map(|d| d.known().map(|k| k as usize)).collect::<Option<_>>().ok_or_else(needs_static)?;
    let (channels, ins) = (sizes[0], &sizes[1..]);
    let n = ins.len();
    let outs: Vec<usize> = (0..n)
        .map(|i| ((ins[i] as i64 + w.pad_low[i] + w.pad_high[i] - w.span(i)) / w.strides[i] + 1).max(0) as usize)
        .collect();
    let (positions, taps, plane) =
        (outs.iter().product::<usize>(), w.kernel.iter().product::<i64>() as usize, ins.iter().product::<usize>());
    // table[p * taps + k]: where tap k of window p reads (`plane` = padding);
    // source[...]: the same element's flat spatial index in the output's storage order.
    let mut table = Vec::with_capacity(positions * taps);
    let mut source = Vec::with_capacity(positions * taps);
    for p in 0..positions {
        let out_pos = tessera_ir::tensor::unravel(p, &outs);
        for k in 0..taps {
            let tap = tessera_ir::tensor::unravel(k, &w.kernel.iter().map(|&k| k as usize).collect::<Vec<_>>());
            let coords: Vec<i64> = (0..n)
                .map(|i| out_pos[i] as i64 * w.strides[i] + tap[i] as i64 * w.dilations[i] - w.pad_low[i])
                .collect();
            if coords.iter().zip(ins).all(|(&c, &len)| c >= 0 && (c as usize) < len) {
                let (mut row, mut col, mut stride_col) = (0usize, 0usize, 1usize);
                for i in 0..n {
                    row = row * ins[i] + coords[i] as usize;
                    col += coords[i] as usize * stride_col;
                    stride_col *= ins[i];
                }
                table.push(row as i64);
                source.push(if column_major { col } else { row } as i64);
            } else {
                table.push(plane as i64);
                source.push(plane as i64);
            }
        }
    }
    let batch = xt.dims[0].clone();
    let flat = reshape(cx, x, &[batch.clone(), Dim::Known(channels as u64), Dim::Known(plane as u64)])?;
    let pad_value = scalar_like(cx, x, lowest(xt.dtype))?;
    let attrs = Attrs::from([("low", Attr::ints(&[0, 0, 0])), ("high", Attr::ints(&[0, 0, 1]))]);
    let padded = cx.op(&shape::PAD, &[flat, pad_value], attrs)?;
    let table = cx.constant(Tensor::new(DType::I64, vec![positions * taps], Data::Int(table))?)?;
    let gathered = cx.op(&index::GATHER, &[padded, table], Attrs::from([("axis", Attr::Int(2))]))?;
    let windows_dims =
        [batch.clone(), Dim::Known(channels as u64), Dim::Known(positions as u64), Dim::Known(taps as u64)];
    let windows = reshape(cx, gathered, &windows_dims)?;
    let best =
        cx.op(&reduce::ARGMAX, &[windows], Attrs::from([("axis", Attr::Int(3)), ("keepdims", Attr::Bool(false))]))?;
    let ncp = [batch.clone(), Dim::Known(channels as u64), Dim::Known(positions as u64)];
    let iota = |cx: &mut NodeCx, axis: i64| {
        let attrs =
            Attrs::from([("shape", Attr::shape(&ncp)), ("dtype", Attr::DType(DType::I64)), ("axis", Attr::Int(axis))]);
        cx.op(&shape::IOTA, &[], attrs)
    };
    let window_index = iota(cx, 2)?;
    let taps_c = cx.scalar(DType::I64, taps as f64)?;
    let first_tap = binary(cx, &elementwise::MUL, window_index, taps_c)?;
    let tap_index = binary(cx, &elementwise::ADD, first_tap, best)?;
    let source = cx.constant(Tensor::new(DType::I64, vec![positions * taps], Data::Int(source))?)?;
    let within = cx.op(&index::GATHER, &[source, tap_index], Attrs::from([("axis", Attr::Int(0))]))?;
    let image = iota(cx, 0)?;
    let channel = iota(cx, 1)?;
    let channels_c = cx.scalar(DType::I64, channels as f64)?;
    let plane_c = cx.scalar(DType::I64, plane as f64)?;
    let image_base = binary(cx, &elementwise::MUL, image, channels_c)?;
    let plane_index = binary(cx, &elementwise::ADD, image_base, channel)?;
    let base = binary(cx, &elementwise::MUL, plane_index, plane_c)?;
    let indices = binary(cx, &elementwise::ADD, base, within)?;
    let mut out_dims = vec![batch, Dim::Known(channels as u64)];
    out_dims.extend(outs.iter().map(|&o| Dim::Known(o as u64)));
    reshape(cx, indices, &out_dims)
}

/// Ones of shape `[1, 1, spatial...]` in `x`'s dtype (a broadcast scalar
/// when some spatial dim is symbolic).
fn spatial_ones(cx: &mut NodeCx, x: ValueId, spatial: &[Dim]) -> Result<ValueId, String> {
    let dtype = cx.ty(x)?.dtype;
    let mut dims = vec![Dim::Known(1), Dim::Known(1)];
    dims.extend(spatial.iter().cloned());
    match spatial.iter().map(|d| d.known().map(|k| k as usize)).collect::<Option<Vec<usize>>>() {
        Some(sizes) => {
            let mut shape = vec![1, 1];
            shape.extend(sizes);
            let count = shape.iter().product();
            cx.constant(Tensor::convert_f64(dtype, shape, &vec![1.0; count])?)
        }
        None => {
            let one = cx.scalar(dtype, 1.0)?;
            cx.op(&shape::BROADCAST_TO, &[one], Attrs::from([("shape", Attr::shape(&dims))]))
        }
    }
}

/// AveragePool (opsets 1, 7, 10, 11, 19, 22): a windowed sum divided by
/// the window size (`count_include_pad` = 1 and no ceil-mode overhang) or
/// by a windowed count of ones over the input (pads excluded) or over the
/// explicitly padded input (pads included, ceil-mode overhang excluded).
fn average_pool(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (x, _, spatial) = image_input(cx)?;
    let (w, extra) = pool_attrs(cx, &spatial)?;
    let sum = pool_window(cx, x, "sum", &w)?;
    let include_pad = cx.attr_int("count_include_pad", 0) != 0;
    let unpadded = w.pad_low.iter().chain(&w.pad_high).all(|&p| p == 0);
    let count = if unpadded || (include_pad && extra.iter().all(|&e| e == 0)) {
        scalar_like(cx, x, w.kernel.iter().product::<i64>() as f64)?
    } else if include_pad {
        // Ones over the input grown by the explicit pads; only the ceil-mode
        // overhang is left to the window's own (zero) padding.
        let grown: Vec<Dim> =
            spatial.iter().enumerate().map(|(i, d)| d.add_const(w.pad_low[i] + w.pad_high[i] - extra[i])).collect();
        let ones = spatial_ones(cx, x, &grown)?;
        let overhang = Window {
            kernel: w.kernel.clone(),
            strides: w.strides.clone(),
            dilations: w.dilations.clone(),
            pad_low: vec![0; spatial.len()],
            pad_high: extra,
        };
        pool_window(cx, ones, "sum", &overhang)?
    } else {
        let ones = spatial_ones(cx, x, &spatial)?;
        pool_window(cx, ones, "sum", &w)?
    };
    Ok(vec![binary(cx, &elementwise::DIV, sum, count)?])
}

/// `|x|^p` (`x * x` for p = 2, `|x|` for p = 1).
fn abs_pow(cx: &mut NodeCx, x: ValueId, p: f64) -> Result<ValueId, String> {
    if p == 2.0 {
        return binary(cx, &elementwise::MUL, x, x);
    }
    let abs = unary(cx, &elementwise::ABS, x)?;
    if p == 1.0 {
        return Ok(abs);
    }
    let p = scalar_like(cx, x, p)?;
    binary(cx, &elementwise::POW, abs, p)
}

/// `s^(1/p)` (`sqrt` for p = 2, `s` for p = 1).
fn root(cx: &mut NodeCx, s: ValueId, p: f64) -> Result<ValueId, String> {
    if p == 1.0 {
        return Ok(s);
    }
    if p == 2.0 {
        return unary(cx, &elementwise::SQRT, s);
    }
    let inv = scalar_like(cx, s, 1.0 / p)?;
    binary(cx, &elementwise::POW, s, inv)
}

/// The `p` attribute (float before opset 2, int after), checked positive.
fn norm_order(cx: &NodeCx) -> Result<f64, String> {
    let p = attr_number(cx, "p", 2.0);
    if p <= 0.0 || !p.is_finite() {
        return Err(format!("attribute 'p' = {p} must be positive"));
    }
    Ok(p)
}

/// LpPool (opsets 1, 2, 11, 18, 22): `(sum of |x|^p over the window)^(1/p)`
/// with zero padding.
fn lp_pool(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (x, _, spatial) = image_input(cx)?;
    let (w, _) = pool_attrs(cx, &spatial)?;
    let p = norm_order(cx)?;
    let powered = abs_pow(cx, x, p)?;
    let sum = pool_window(cx, powered, "sum", &w)?;
    Ok(vec![root(cx, sum, p)?])
}

/// GlobalAveragePool (opsets 1, 22): the mean over all spatial axes, kept as size 1.
fn global_average_pool(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (x, xt, _) = image_input(cx)?;
    let axes: Vec<usize> = (2..xt.rank()).collect();
    Ok(vec![mean_over(cx, x, &axes)?])
}

/// GlobalMaxPool (opsets 1, 22): the max over all spatial axes, kept as size 1.
fn global_max_pool(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (x, xt, _) = image_input(cx)?;
    let axes: Vec<usize> = (2..xt.rank()).collect();
    Ok(vec![reduce_over(cx, &reduce::REDUCE_MAX, x, &axes, true)?])
}

/// GlobalLpPool (opsets 1, 2, 22): the Lp norm over all spatial axes, kept as size 1.
fn global_lp_pool(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (x, xt, _) = image_input(cx)?;
    let p = norm_order(cx)?;
    let axes: Vec<usize> = (2..xt.rank()).collect();
    let powered = abs_pow(cx, x, p)?;
    let sum = reduce_over(cx, &reduce::REDUCE_SUM, powered, &axes, true)?;
    Ok(vec![root(cx, sum, p)?])
}

// ---------------------------------------------------------------------------
// Normalisations.

/// A per-channel BatchNormalization statistic or parameter viewed against
/// an input of `rank`: `[C]` as `[1, C, 1, ...]`; the per-activation form of
/// `spatial = 0` (opsets < 9, shape `[C, D1, ...]`) as `[1, C, D1, ...]`.
fn bn_view(cx: &mut NodeCx, v: ValueId, rank: usize) -> Result<ValueId, String> {
    let dims = cx.dims(v)?;
    if dims.len() <= 1 {
        return channel_view(cx, v, rank);
    }
    let mut view = vec![Dim::Known(1)];
    view.extend(dims);
    reshape(cx, v, &view)
}

/// BatchNormalization (opsets 1, 6, 7, 9, 14, 15). Inference:
/// `scale * (x - mean) / sqrt(var + epsilon) + bias`. With `training_mode`
/// = 1 (opset 14+), the batch's own mean and (population) variance
/// normalise, and the running statistics come out updated by `momentum`.
fn batch_normalization(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let rank = cx.rank(x)?;
    if rank < 2 {
        return Err(format!("input #0 {} must have rank 2 or more (batch, channels, ...)", cx.ty(x)?));
    }
    let [scale, bias, mean, var] = [cx.input(1)?, cx.input(2)?, cx.input(3)?, cx.input(4)?];
    let eps = f64::from(cx.attr_float("epsilon", 1e-5));
    let training = cx.opset >= 14 && cx.attr_int("training_mode", 0) != 0;
    let scale_v = bn_view(cx, scale, rank)?;
    let bias_v = bn_view(cx, bias, rank)?;
    if training {
        let axes: Vec<usize> = (0..rank).filter(|&a| a != 1).collect();
        let (normalized, batch_mean, inv_std) = standardize(cx, x, &axes, eps)?;
        let scaled = binary(cx, &elementwise::MUL, normalized, scale_v)?;
        let y = binary(cx, &elementwise::ADD, scaled, bias_v)?;
        // Population variance back from 1 / sqrt(var + eps).
        let inv_var = binary(cx, &elementwise::MUL, inv_std, inv_std)?;
        let var_eps = unary(cx, &elementwise::RECIPROCAL, inv_var)?;
        let eps_c = scalar_like(cx, x, eps)?;
        let batch_var = binary(cx, &elementwise::SUB, var_eps, eps_c)?;
        let momentum = f64::from(cx.attr_float("momentum", 0.9));
        let channels = cx.dims(mean)?;
        let mut running = vec![y];
        for (old, batch) in [(mean, batch_mean), (var, batch_var)] {
            let batch = reshape(cx, batch, &channels)?;
            let keep = scalar_like(cx, x, momentum)?;
            let take = scalar_like(cx, x, 1.0 - momentum)?;
            let kept = binary(cx, &elementwise::MUL, old, keep)?;
            let taken = binary(cx, &elementwise::MUL, batch, take)?;
            running.push(binary(cx, &elementwise::ADD, kept, taken)?);
        }
        return Ok(running);
    }
    if cx.opset < 14 && (1..5).any(|i| wants_output(cx, i)) {
        return Err("the training outputs (mean, var, saved mean, saved var) before opset 14 are not supported".into());
    }
    let eps_c = scalar_like(cx, var, eps)?;
    let var_eps = binary(cx, &elementwise::ADD, var, eps_c)?;
    let inv_std = unary(cx, &elementwise::RSQRT, var_eps)?;
    let factor = binary(cx, &elementwise::MUL, scale, inv_std)?;
    let factor_v = bn_view(cx, factor, rank)?;
    let mean_v = bn_view(cx, mean, rank)?;
    let centered = binary(cx, &elementwise::SUB, x, mean_v)?;
    let scaled = binary(cx, &elementwise::MUL, centered, factor_v)?;
    Ok(vec![binary(cx, &elementwise::ADD, scaled, bias_v)?])
}

/// InstanceNormalization (opsets 1, 6, 22): each (image, channel) plane
/// standardised over its spatial axes, then scaled and shifted per channel.
fn instance_normalization(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (x, xt, _) = image_input(cx)?;
    let (scale, bias) = (cx.input(1)?, cx.input(2)?);
    let eps = f64::from(cx.attr_float("epsilon", 1e-5));
    let axes: Vec<usize> = (2..xt.rank()).collect();
    let (normalized, _, _) = standardize(cx, x, &axes, eps)?;
    let scale_v = channel_view(cx, scale, xt.rank())?;
    let bias_v = channel_view(cx, bias, xt.rank())?;
    let scaled = binary(cx, &elementwise::MUL, normalized, scale_v)?;
    Ok(vec![binary(cx, &elementwise::ADD, scaled, bias_v)?])
}

/// The axes from attribute `axis` (default -1) to the last, for an input of `rank`.
fn trailing_axes(cx: &NodeCx, rank: usize) -> Result<Vec<usize>, String> {
    let axis = cx.attr_int("axis", -1);
    let axis = normalize_axis(axis, rank).map_err(|e| format!("attribute 'axis': {e}"))?;
    Ok((axis..rank).collect())
}

/// LayerNormalization (opset 17): standardised over the axes from `axis`
/// on (in f32 for f16/bf16 inputs when `stash_type` = 1), then scaled and
/// optionally shifted. Outputs Y, Mean and InvStdDev (the last two in the
/// computation dtype, with the normalised axes kept as size 1).
fn layer_normalization(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let xt = cx.ty(x)?;
    let axes = trailing_axes(cx, xt.rank())?;
    let eps = f64::from(cx.attr_float("epsilon", 1e-5));
    let compute = stash_dtype(cx, xt.dtype);
    let xc = cast_to(cx, x, compute)?;
    let (normalized, mean, inv_std) = standardize(cx, xc, &axes, eps)?;
    let normalized = cast_to(cx, normalized, xt.dtype)?;
    let scale = cx.input(1)?;
    let mut y = binary(cx, &elementwise::MUL, normalized, scale)?;
    if let Some(b) = cx.opt_input(2)? {
        y = binary(cx, &elementwise::ADD, y, b)?;
    }
    Ok(vec![y, mean, inv_std])
}

/// RMSNormalization (opset 23): `x / sqrt(mean(x^2) + epsilon) * scale`
/// over the axes from `axis` on (in f32 for f16/bf16 when `stash_type` = 1).
fn rms_normalization(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let xt = cx.ty(x)?;
    let axes = trailing_axes(cx, xt.rank())?;
    let eps = f64::from(cx.attr_float("epsilon", 1e-5));
    let compute = stash_dtype(cx, xt.dtype);
    let xc = cast_to(cx, x, compute)?;
    let squared = binary(cx, &elementwise::MUL, xc, xc)?;
    let mean_square = mean_over(cx, squared, &axes)?;
    let eps = scalar_like(cx, xc, eps)?;
    let shifted = binary(cx, &elementwise::ADD, mean_square, eps)?;
    let inv_rms = unary(cx, &elementwise::RSQRT, shifted)?;
    let normalized = binary(cx, &elementwise::MUL, xc, inv_rms)?;
    let normalized = cast_to(cx, normalized, xt.dtype)?;
    let scale = cx.input(1)?;
    Ok(vec![binary(cx, &elementwise::MUL, normalized, scale)?])
}

/// GroupNormalization (opsets 18, 21): channels split into `num_groups`
/// groups, each (image, group) standardised over its channels and spatial
/// axes, then scaled and shifted. Opset 18 takes one scale and bias per
/// group, opset 21 one per channel; the parameters' static length decides
/// when the two differ from what the opset says.
fn group_normalization(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (x, xt, spatial) = image_input(cx)?;
    let groups = cx.attr_int("num_groups", 0);
    if groups < 1 {
        return Err(format!("attribute 'num_groups' = {groups} must be positive (and is required)"));
    }
    let groups_u = groups as u64;
    let channels = xt.dims[1].known().ok_or_else(|| format!("input #0 {xt} needs a static channel count"))?;
    if channels % groups_u != 0 {
        return Err(format!("{channels} channels do not split into {groups} groups"));
    }
    let eps = f64::from(cx.attr_float("epsilon", 1e-5));
    let (scale, bias) = (cx.input(1)?, cx.input(2)?);
    let param_len = cx.dims(scale)?.first().and_then(Dim::known);
    let per_group = match param_len {
        Some(len) if len == groups_u && len != channels => true,
        Some(len) if len == channels && len != groups_u => false,
        _ => cx.opset < 21,
    };
    let compute = stash_dtype(cx, xt.dtype);
    let xc = cast_to(cx, x, compute)?;
    let mut grouped_dims = vec![xt.dims[0].clone(), Dim::Known(groups_u), Dim::Known(channels / groups_u)];
    grouped_dims.extend(spatial.iter().cloned());
    let grouped = reshape(cx, xc, &grouped_dims)?;
    let axes: Vec<usize> = (2..grouped_dims.len()).collect();
    let (normalized, _, _) = standardize(cx, grouped, &axes, eps)?;
    let normalized = cast_to(cx, normalized, xt.dtype)?;
    let y = if per_group {
        let scale_v = channel_view(cx, scale, grouped_dims.len())?;
        let bias_v = channel_view(cx, bias, grouped_dims.len())?;
        let scaled = binary(cx, &elementwise::MUL, normalized, scale_v)?;
        let shifted = binary(cx, &elementwise::ADD, scaled, bias_v)?;
        reshape(cx, shifted, &xt.dims)?
    } else {
        let back = reshape(cx, normalized, &xt.dims)?;
        let scale_v = channel_view(cx, scale, xt.rank())?;
        let bias_v = channel_view(cx, bias, xt.rank())?;
        let scaled = binary(cx, &elementwise::MUL, back, scale_v)?;
        binary(cx, &elementwise::ADD, scaled, bias_v)?
    };
    Ok(vec![y])
}

/// LpNormalization (opsets 1, 22): `x / ||x||_p` along `axis` (p = 1 or 2),
/// 0 where the norm is 0.
fn lp_normalization(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let rank = cx.rank(x)?;
    let axis = normalize_axis(cx.attr_int("axis", -1), rank).map_err(|e| format!("attribute 'axis': {e}"))?;
    let p = cx.attr_int("p", 2);
    if p != 1 && p != 2 {
        return Err(format!("attribute 'p' = {p} must be 1 or 2"));
    }
    let powered = abs_pow(cx, x, p as f64)?;
    let sum = reduce_over(cx, &reduce::REDUCE_SUM, powered, &[axis], true)?;
    let norm = root(cx, sum, p as f64)?;
    let quotient = binary(cx, &elementwise::DIV, x, norm)?;
    let zero = scalar_like(cx, x, 0.0)?;
    let is_zero = binary(cx, &elementwise::EQ, norm, zero)?;
    Ok(vec![select(cx, is_zero, zero, quotient)?])
}

/// LRN (opsets 1, 13): `x / (bias + alpha / size * (sum of x^2 over a
/// window of `size` channels))^beta`, the window running from
/// `floor((size - 1) / 2)` channels before to `ceil((size - 1) / 2)` after.
fn lrn(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (x, xt, _) = image_input(cx)?;
    let size = cx.attr_int("size", 0);
    if size < 1 {
        return Err(format!("attribute 'size' = {size} must be positive (and is required)"));
    }
    let alpha = f64::from(cx.attr_float("alpha", 1e-4));
    let beta = f64::from(cx.attr_float("beta", 0.75));
    let bias = f64::from(cx.attr_float("bias", 1.0));
    let rank = xt.rank();
    let mut window_sizes = vec![1; rank];
    window_sizes[1] = size;
    let (mut low, mut high) = (vec![0; rank], vec![0; rank]);
    low[1] = (size - 1) / 2;
    high[1] = size - 1 - low[1];
    let squared = binary(cx, &elementwise::MUL, x, x)?;
    let attrs = Attrs::from([
        ("kind", Attr::Str("sum".into())),
        ("window", Attr::ints(&window_sizes)),
        ("pad_low", Attr::ints(&low)),
        ("pad_high", Attr::ints(&high)),
    ]);
    let sum = cx.op(&window::REDUCE_WINDOW, &[squared], attrs)?;
    let coeff = scalar_like(cx, x, alpha / size as f64)?;
    let scaled = binary(cx, &elementwise::MUL, sum, coeff)?;
    let bias = scalar_like(cx, x, bias)?;
    let base = binary(cx, &elementwise::ADD, scaled, bias)?;
    let beta = scalar_like(cx, x, beta)?;
    let denom = binary(cx, &elementwise::POW, base, beta)?;
    Ok(vec![binary(cx, &elementwise::DIV, x, denom)?])
}

/// MeanVarianceNormalization (opsets 1, 9, 13): `(x - E[x]) / (sqrt(E[x^2] - E[x]^2) + 1e-9)`
/// over `axes` (default `[0, 2, 3]`), as in the operator's function body.
fn mean_variance_normalization(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let rank = cx.rank(x)?;
    let axes = cx.attr_ints("axes").unwrap_or_else(|| vec![0, 2, 3]);
    let mut norm = Vec::with_capacity(axes.len());
    for &a in &axes {
        norm.push(normalize_axis(a, rank).map_err(|e| format!("attribute 'axes' = {axes:?}: {e}"))?);
    }
    let mean = mean_over(cx, x, &norm)?;
    let squared = binary(cx, &elementwise::MUL, x, x)?;
    let mean_square = mean_over(cx, squared, &norm)?;
    let square_mean = binary(cx, &elementwise::MUL, mean, mean)?;
    let var = binary(cx, &elementwise::SUB, mean_square, square_mean)?;
    let std = unary(cx, &elementwise::SQRT, var)?;
    let eps = scalar_like(cx, x, 1e-9)?;
    let denom = binary(cx, &elementwise::ADD, std, eps)?;
    let centered = binary(cx, &elementwise::SUB, x, mean)?;
    Ok(vec![binary(cx, &elementwise::DIV, centered, denom)?])
}

/// Dropout (opsets 1, 6, 7, 10, 12, 13, 22) at inference: the identity,
/// with an all-true mask (bool from opset 10; the input's dtype before).
/// Training mode (input #2, opset 12+) is only accepted with a ratio of 0,
/// where it is the identity too.
fn dropout(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    if cx.opset >= 12 && cx.opt_input(2)?.is_some() {
        let training =
            cx.const_tensor(2).map_err(|e| format!("{e} (a random training-mode Dropout is not supported)"))?;
        if training.to_bools().first().copied().unwrap_or(false) {
            let ratio = match cx.opt_input(1)? {
                Some(_) => cx.const_tensor(1)?.to_f64s().first().copied().unwrap_or(0.5),
                None => 0.5,
            };
            if ratio != 0.0 {
                return Err(format!("training-mode Dropout with ratio {ratio} is random and not supported"));
            }
        }
    }
    if !wants_output(cx, 1) {
        return Ok(vec![x]);
    }
    let xt = cx.ty(x)?;
    let mask_dtype = if cx.opset >= 10 { DType::I1 } else { xt.dtype };
    let one = cx.scalar(mask_dtype, 1.0)?;
    let mask = cx.op(&shape::BROADCAST_TO, &[one], Attrs::from([("shape", Attr::shape(&xt.dims))]))?;
    Ok(vec![x, mask])
}

#[cfg(test)]
mod tests {
    use super::super::elementwise::testing::*;
    use crate::onnx::proto::ModelProto;

    /// A one-node model with graph inputs `(name, dims)` (all f32).
    fn f32_model(
        opset: i64,
        op: &str,
        inputs: &[(&str, &[i64])],
        attrs: Vec<crate::onnx::proto::AttributeProto>,
    ) -> ModelProto {
        let values = inputs.iter().map(|(n, d)| value(n, FLOAT, d)).collect();
        let names: Vec<&str> = inputs.iter().map(|(n, _)| *n).collect();
        model(opset, op, values, vec![], &names, attrs)
    }

    /// Requests the node outputs `names` (the first is the graph output `y`).
    fn with_outputs(mut m: ModelProto, names: &[&str]) -> ModelProto {
        if let Some(g) = m.graph.as_mut() {
            g.node[0].output = names.iter().map(|s| s.to_string()).collect();
            g.output = names
                .iter()
                .filter(|n| !n.is_empty())
                .map(|n| crate::onnx::proto::ValueInfoProto { name: n.to_string(), ..Default::default() })
                .collect();
        }
        m
    }

    #[test]
    fn conv_same_upper_pads_high_and_adds_the_bias() {
        let attrs = vec![string("auto_pad", "SAME_UPPER"), ints("strides", &[2, 2])];
        let m = f32_model(11, "Conv", &[("x", &[1, 3, 6, 6]), ("w", &[4, 3, 3, 3]), ("b", &[4])], attrs);
        let text = ir(&m);
        assert!(text.contains("tg.conv %x, %w {pad_high = [1, 1], strides = [2, 2]}"), "{text}");
        assert!(text.contains("tg.reshape %b {shape = [1, 4, 1, 1]}"), "{text}");
        assert_eq!(result_type(&m), "tensor<1x4x3x3xf32>");
        // Stride 1 keeps a symbolic size.
        let m = f32_model(
            11,
            "Conv",
            &[("x", &[-1, 3, -1, 5]), ("w", &[4, 3, 3, 3])],
            vec![string("auto_pad", "SAME_LOWER")],
        );
        assert_eq!(result_type(&m), "tensor<N x 4 x N x 5 x f32>");
        let m = f32_model(
            11,
            "Conv",
            &[("x", &[1, 3, -1, 5]), ("w", &[4, 3, 3, 3])],
            vec![string("auto_pad", "SAME_LOWER"), ints("strides", &[2, 2])],
        );
        assert!(
            error(&m).contains("auto_pad' = SAME_LOWER with stride 2 needs a static size for spatial axis 0"),
            "{}",
            error(&m)
        );
    }

    #[test]
    fn conv_transpose_is_an_input_dilated_conv_with_a_flipped_kernel() {
        let attrs = vec![int("group", 2), ints("strides", &[2]), ints("output_padding", &[1]), ints("pads", &[1, 0])];
        let m = f32_model(11, "ConvTranspose", &[("x", &[1, 4, 5]), ("w", &[4, 3, 3])], attrs);
        let text = ir(&m);
        assert!(text.contains("tg.reshape %w {shape = [2, 2, 3, 3]}"), "{text}");
        assert!(text.contains("tg.transpose") && text.contains("tg.reverse") && text.contains("axes = [2]"), "{text}");
        assert!(text.contains("groups = 2, lhs_dilation = [2], pad_high = [3], pad_low = [1]"), "{text}");
        // (5 - 1) * 2 + 3 - 1 - 0 + 1 = 11 positions, 3 * 2 channels.
        assert_eq!(result_type(&m), "tensor<1x6x11xf32>");
        let m = f32_model(
            11,
            "ConvTranspose",
            &[("x", &[1, 1, 3, 3]), ("w", &[1, 2, 3, 3])],
            vec![ints("strides", &[3, 2]), ints("output_shape", &[10, 8])],
        );
        assert_eq!(result_type(&m), "tensor<1x2x10x8xf32>");
    }

    #[test]
    fn pooling_windows_and_ceil_mode() {
        let attrs = vec![ints("kernel_shape", &[3, 3]), ints("strides", &[2, 2]), int("ceil_mode", 1)];
        let m = f32_model(12, "MaxPool", &[("x", &[1, 1, 4, 4])], attrs);
        let text = ir(&m);
        assert!(
            text.contains("kind = \"max\", pad_high = [0, 0, 1, 1], strides = [1, 1, 2, 2], window = [1, 1, 3, 3]"),
            "{text}"
        );
        assert_eq!(result_type(&m), "tensor<1x1x2x2xf32>");
        // Count excluding the pads: a windowed count of ones.
        let attrs = vec![ints("kernel_shape", &[3, 3]), ints("pads", &[1, 1, 1, 1])];
        let m = f32_model(19, "AveragePool", &[("x", &[1, 2, 5, 5])], attrs);
        let text = ir(&m);
        assert_eq!(text.matches("tg.reduce_window").count(), 2, "{text}");
        assert!(text.contains("tensor<1x1x5x5xf32>") && text.contains("tg.div"), "{text}");
        // Including them, no ceil overhang: the window size.
        let attrs = vec![ints("kernel_shape", &[3, 3]), ints("pads", &[1, 1, 1, 1]), int("count_include_pad", 1)];
        let text = ir(&f32_model(19, "AveragePool", &[("x", &[1, 2, 5, 5])], attrs));
        assert_eq!(text.matches("tg.reduce_window").count(), 1, "{text}");
        assert!(text.contains("dense<9.0>"), "{text}");
        let m = f32_model(
            12,
            "MaxPool",
            &[("x", &[1, 1, -1, 4])],
            vec![ints("kernel_shape", &[2, 2]), int("ceil_mode", 1)],
        );
        assert!(error(&m).contains("'ceil_mode' = 1 needs a static size for spatial axis 0"), "{}", error(&m));
    }

    #[test]
    fn max_pool_indices_gather_the_windows() {
        let attrs = vec![ints("kernel_shape", &[2, 2]), ints("strides", &[2, 2])];
        let m = with_outputs(f32_model(12, "MaxPool", &[("x", &[-1, 3, 4, 4])], attrs), &["y", "i"]);
        let text = ir(&m);
        assert!(text.contains("tg.argmax") && text.contains("tg.gather"), "{text}");
        assert!(text.contains("-> (tensor<N x 3 x 2 x 2 x f32>, tensor<N x 3 x 2 x 2 x i64>)"), "{text}");
    }

    #[test]
    fn batch_normalization_inference_and_training() {
        let inputs: &[(&str, &[i64])] = &[("x", &[2, 3, 4]), ("s", &[3]), ("b", &[3]), ("m", &[3]), ("v", &[3])];
        let text = ir(&f32_model(15, "BatchNormalization", inputs, vec![float("epsilon", 1e-3)]));
        assert!(text.contains("tg.rsqrt") && !text.contains("tg.reduce_sum"), "{text}");
        let m = with_outputs(
            f32_model(15, "BatchNormalization", inputs, vec![int("training_mode", 1)]),
            &["y", "rm", "rv"],
        );
        let text = ir(&m);
        assert!(text.contains("tg.reduce_sum") && text.contains("axes = [0, 2]"), "{text}");
        assert!(text.contains("-> (tensor<2x3x4xf32>, tensor<3xf32>, tensor<3xf32>)"), "{text}");
    }

    #[test]
    fn layer_normalization_stashes_half_precision_in_f32() {
        let inputs = vec![value("x", 10, &[2, 8]), value("s", 10, &[8])];
        let m =
            with_outputs(model(17, "LayerNormalization", inputs, vec![], &["x", "s"], vec![]), &["y", "mean", "inv"]);
        let text = ir(&m);
        assert!(text.contains("tg.cast %x {to = f32}") && text.contains("{to = f16}"), "{text}");
        assert!(text.contains("-> (tensor<2x8xf16>, tensor<2x1xf32>, tensor<2x1xf32>)"), "{text}");
    }

    #[test]
    fn group_normalization_scale_per_group_or_per_channel() {
        let grouped = f32_model(
            18,
            "GroupNormalization",
            &[("x", &[-1, 4, 3]), ("s", &[2]), ("b", &[2])],
            vec![int("num_groups", 2)],
        );
        let text = ir(&grouped);
        assert!(text.contains("{shape = [N, 2, 2, 3]}") && text.contains("{shape = [1, 2, 1, 1]}"), "{text}");
        let channels = f32_model(
            21,
            "GroupNormalization",
            &[("x", &[-1, 4, 3]), ("s", &[4]), ("b", &[4])],
            vec![int("num_groups", 2)],
        );
        assert!(ir(&channels).contains("{shape = [1, 4, 1]}"), "{}", ir(&channels));
        assert_eq!(result_type(&channels), "tensor<N x 4 x 3 x f32>");
    }

    #[test]
    fn dropout_is_the_identity_with_a_true_mask() {
        let m = with_outputs(f32_model(13, "Dropout", &[("x", &[2, 3])], vec![]), &["y", "mask"]);
        let text = ir(&m);
        assert!(text.contains("tg.broadcast_to") && text.contains("-> (tensor<2x3xf32>, tensor<2x3xi1>)"), "{text}");
        let inputs = vec![value("x", FLOAT, &[2, 3]), value("r", FLOAT, &[]), value("t", BOOL, &[])];
        let m = model(13, "Dropout", inputs, vec![], &["x", "r", "t"], vec![]);
        assert!(error(&m).contains("random training-mode Dropout is not supported"), "{}", error(&m));
    }
}
