//! Neural-network converters for the convolutions: Conv, ConvTranspose (an
//! input-dilated `tg.conv` with a flipped, transposed kernel) and
//! CausalConvWithState.

use super::super::cx::NodeCx;
use super::super::elementwise::{binary, cast_to, scalar_like, unary};
use super::super::shape::reshape_to as reshape;
use super::window::{explicit_pads, read_window, set_unless_all, spatial_ints};
use super::{channel_view, concat, image_input, slice, transpose};
use tessera_ir::dialect::graph::{elementwise, linalg, shape};
use tessera_ir::{Attr, Attrs, DType, Dim, TensorType, ValueId};

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
pub(super) fn conv(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
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
pub(super) fn causal_conv_with_state(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
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
pub(super) fn conv_transpose(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
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

#[cfg(test)]
mod tests {
    use super::super::testing::*;

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
}
