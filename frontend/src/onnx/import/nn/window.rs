//! The sliding window of a convolution or pooling node: kernel, strides,
//! dilations and padding (explicit `pads` or `auto_pad`) read from its
//! attributes.

use super::super::cx::NodeCx;
use tessera_ir::{Attr, Attrs, Dim};

/// The per-spatial-axis window of a convolution or pooling node.
pub(super) struct Window {
    /// Window size per spatial axis.
    pub(super) kernel: Vec<i64>,
    /// Step per spatial axis (>= 1).
    pub(super) strides: Vec<i64>,
    /// Tap spacing per spatial axis (>= 1).
    pub(super) dilations: Vec<i64>,
    /// Padding before each spatial axis.
    pub(super) pad_low: Vec<i64>,
    /// Padding after each spatial axis.
    pub(super) pad_high: Vec<i64>,
}

impl Window {
    /// The extent of the dilated window along spatial axis `i`.
    pub(super) fn span(&self, i: usize) -> i64 {
        (self.kernel[i] - 1) * self.dilations[i] + 1
    }
}

/// Attribute `name` with one positive entry per spatial axis (`default` each when absent).
pub(super) fn spatial_ints(cx: &NodeCx, name: &str, n: usize, default: i64) -> Result<Vec<i64>, String> {
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
pub(super) fn explicit_pads(cx: &NodeCx, n: usize) -> Result<(Vec<i64>, Vec<i64>), String> {
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
pub(super) fn read_window(cx: &NodeCx, spatial: &[Dim], kernel: Vec<i64>) -> Result<Window, String> {
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
            for (i, dim) in spatial.iter().enumerate().take(n) {
                let total = match dim.known() {
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

/// Sets attribute `name` to `values` unless every entry is `default`.
pub(super) fn set_unless_all(attrs: &mut Attrs, name: &str, values: &[i64], default: i64) {
    if values.iter().any(|&v| v != default) {
        attrs.set(name, Attr::ints(values));
    }
}
