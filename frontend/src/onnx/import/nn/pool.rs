//! Neural-network converters for pooling: MaxPool (with its Indices
//! output), AveragePool and LpPool as `tg.reduce_window`, and the global
//! poolings as reductions.

use super::super::cx::NodeCx;
use super::super::elementwise::{binary, scalar_like};
use super::super::shape::reshape_to as reshape;
use super::window::{read_window, set_unless_all, Window};
use super::{abs_pow, image_input, mean_over, reduce_over, root, wants_output};
use crate::onnx::proto::attribute_proto::AttributeType;
use tessera_ir::dialect::graph::window::REDUCE_WINDOW;
use tessera_ir::dialect::graph::{elementwise, index, reduce, shape};
use tessera_ir::tensor::{Data, Tensor};
use tessera_ir::{Attr, Attrs, DType, Dim, TensorType, ValueId};

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

/// `tg.reduce_window` of `kind` over the spatial axes of `x` (batch and
/// channel axes untouched).
fn pool_window(cx: &mut NodeCx, x: ValueId, kind: &str, w: &Window) -> Result<ValueId, String> {
    let full = |v: &[i64], lead: i64| [lead, lead].iter().chain(v).copied().collect::<Vec<i64>>();
    let mut attrs = Attrs::from([("kind", Attr::Str(kind.to_string())), ("window", Attr::ints(&full(&w.kernel, 1)))]);
    set_unless_all(&mut attrs, "strides", &full(&w.strides, 1), 1);
    set_unless_all(&mut attrs, "dilations", &full(&w.dilations, 1), 1);
    set_unless_all(&mut attrs, "pad_low", &full(&w.pad_low, 0), 0);
    set_unless_all(&mut attrs, "pad_high", &full(&w.pad_high, 0), 0);
    cx.op(&REDUCE_WINDOW, &[x], attrs)
}

/// The window of a MaxPool / AveragePool / LpPool node with `ceil_mode`
/// applied, and the high padding ceil mode added per spatial axis.
fn pool_attrs(cx: &NodeCx, spatial: &[Dim]) -> Result<(Window, Vec<i64>), String> {
    let kernel = cx.attr_ints("kernel_shape").ok_or("attribute 'kernel_shape' is required")?;
    let mut w = read_window(cx, spatial, kernel)?;
    let extra = apply_ceil_mode(cx, &mut w, spatial)?;
    Ok((w, extra))
}

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
pub(super) fn max_pool(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
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
pub(super) fn average_pool(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
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

/// An int-or-float attribute read as a float (`p` of LpPool is a float before opset 2).
fn attr_number(cx: &NodeCx, name: &str, default: f64) -> f64 {
    match cx.attr(name) {
        Some(a) if a.r#type == AttributeType::Float as i32 => f64::from(a.f),
        Some(a) => a.i as f64,
        None => default,
    }
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
pub(super) fn lp_pool(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (x, _, spatial) = image_input(cx)?;
    let (w, _) = pool_attrs(cx, &spatial)?;
    let p = norm_order(cx)?;
    let powered = abs_pow(cx, x, p)?;
    let sum = pool_window(cx, powered, "sum", &w)?;
    Ok(vec![root(cx, sum, p)?])
}

/// GlobalAveragePool (opsets 1, 22): the mean over all spatial axes, kept as size 1.
pub(super) fn global_average_pool(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (x, xt, _) = image_input(cx)?;
    let axes: Vec<usize> = (2..xt.rank()).collect();
    Ok(vec![mean_over(cx, x, &axes)?])
}

/// GlobalMaxPool (opsets 1, 22): the max over all spatial axes, kept as size 1.
pub(super) fn global_max_pool(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (x, xt, _) = image_input(cx)?;
    let axes: Vec<usize> = (2..xt.rank()).collect();
    Ok(vec![reduce_over(cx, &reduce::REDUCE_MAX, x, &axes, true)?])
}

/// GlobalLpPool (opsets 1, 2, 22): the Lp norm over all spatial axes, kept as size 1.
pub(super) fn global_lp_pool(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (x, xt, _) = image_input(cx)?;
    let p = norm_order(cx)?;
    let axes: Vec<usize> = (2..xt.rank()).collect();
    let powered = abs_pow(cx, x, p)?;
    let sum = reduce_over(cx, &reduce::REDUCE_SUM, powered, &axes, true)?;
    Ok(vec![root(cx, sum, p)?])
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

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
}
