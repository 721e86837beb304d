//! ONNX converters: the signal family. The generators (HannWindow,
//! HammingWindow, BlackmanWindow, MelWeightMatrix) take only sizes and
//! constants, so they are evaluated at import time into a `tg.constant`.
//! DFT and STFT become one `tg.dot` of the signal against a constant
//! matrix of cosines and sines built at import time for the static length:
//! the complex dimension is the trailing axis of size 2 (1 for a real
//! signal), and it is contracted together with the transformed axis, so
//! forward, inverse, one-sided and inverse one-sided (irfft) transforms
//! differ only in the matrix. STFT gathers its frames with a constant
//! index tensor and multiplies them by the window first.
//!
//! Every input that determines a shape (window sizes, DFT lengths, frame
//! steps, the DFT axis) must be a constant.

use super::cx::NodeCx;
use super::elementwise::binary;
use super::registry::Convert;
use super::shape::{norm_axis, reshape_to};
use crate::onnx::tensor::{dtype_from_onnx, onnx_dtype_name};
use std::f64::consts::PI;
use tessera_ir::dialect::graph::elementwise::MUL;
use tessera_ir::dialect::graph::index::GATHER;
use tessera_ir::dialect::graph::linalg::DOT;
use tessera_ir::dialect::graph::shape::TRANSPOSE;
use tessera_ir::tensor::{round_float, Tensor};
use tessera_ir::{Attr, Attrs, DType, Dim, ValueId};

/// The converters of this family, by ONNX operator name.
pub(super) const CONVERTERS: &[(&str, Convert)] = &[
    ("HannWindow", hann_window),
    ("HammingWindow", hamming_window),
    ("BlackmanWindow", blackman_window),
    ("MelWeightMatrix", mel_weight_matrix),
    ("DFT", dft),
    ("STFT", stft),
];

// ---------------------------------------------------------------------------
// Constant inputs and outputs.

/// Input `i` as one constant integer; `what` names it in the error.
fn const_int(cx: &NodeCx, i: usize, what: &str) -> Result<i64, String> {
    let values = cx.const_ints(i).map_err(|_| {
        format!("input #{i} ({what}) must be a constant integer (tessera needs its value at import time)")
    })?;
    match values[..] {
        [v] => Ok(v),
        _ => Err(format!("input #{i} ({what}) must hold one integer, got {values:?}")),
    }
}

/// Input `i` as one constant number (int or float); `what` names it.
fn const_number(cx: &NodeCx, i: usize, what: &str) -> Result<f64, String> {
    let t = cx.const_tensor(i).map_err(|_| format!("input #{i} ({what}) must be a constant"))?;
    match t.len() {
        1 => Ok(t.get_f64(0)),
        n => Err(format!("input #{i} ({what}) must hold one number, got {n}")),
    }
}

/// The dtype the `output_datatype` attribute names (f32 when absent).
fn output_datatype(cx: &NodeCx) -> Result<DType, String> {
    let code = cx.attr_int("output_datatype", 1);
    i32::try_from(code).ok().and_then(dtype_from_onnx).filter(|&d| d != DType::I1).ok_or_else(|| {
        format!("attribute 'output_datatype' = {} is not a numeric type tessera supports", onnx_dtype_name(code as i32))
    })
}

/// A constant of `dtype` and `shape` from f64 values (rounded to a float
/// dtype, truncated toward zero for an integer one).
fn constant_of(cx: &mut NodeCx, dtype: DType, shape: Vec<usize>, values: &[f64]) -> Result<ValueId, String> {
    let t = if dtype.is_float() {
        Tensor::from_f64(dtype, shape, values.iter().map(|&v| round_float(dtype, v)).collect())?
    } else {
        Tensor::convert_f64(dtype, shape, values)?
    };
    cx.constant(t)
}

// ---------------------------------------------------------------------------
// Windows.

/// A generalised cosine window `a0 - a1 cos(2πn/N) + a2 cos(4πn/N)` of the
/// constant length in input #0, with `N` the length (periodic, the
/// default) or the length - 1 (symmetric), in `output_datatype`.
fn cosine_window(cx: &mut NodeCx, (a0, a1, a2): (f64, f64, f64)) -> Result<Vec<ValueId>, String> {
    let size = const_int(cx, 0, "size")?;
    let size = usize::try_from(size).map_err(|_| format!("input #0 (size) = {size} must not be negative"))?;
    let dtype = output_datatype(cx)?;
    let denom = if cx.attr_int("periodic", 1) != 0 { size as f64 } else { size as f64 - 1.0 };
    let values: Vec<f64> = (0..size)
        .map(|n| {
            let t = 2.0 * PI * n as f64 / denom;
            a0 - a1 * t.cos() + a2 * (2.0 * t).cos()
        })
        .collect();
    Ok(vec![constant_of(cx, dtype, vec![size], &values)?])
}

/// HannWindow (opset 17): `sin²(πn/N) = 0.5 - 0.5 cos(2πn/N)`.
fn hann_window(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    cosine_window(cx, (0.5, 0.5, 0.0))
}

/// HammingWindow (opset 17): `25/46 - 21/46 cos(2πn/N)`.
fn hamming_window(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let alpha = 25.0 / 46.0;
    cosine_window(cx, (alpha, 1.0 - alpha, 0.0))
}

/// BlackmanWindow (opset 17): `0.42 - 0.5 cos(2πn/N) + 0.08 cos(4πn/N)`.
fn blackman_window(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    cosine_window(cx, (0.42, 0.5, 0.08))
}

/// MelWeightMatrix (opset 17): the `[dft_length / 2 + 1, num_mel_bins]`
/// matrix of triangular filters, evenly spaced on the mel scale
/// `2595 log10(1 + f / 700)` between the edge frequencies, each peaking
/// at 1; every input must be a constant. Computed in f64.
fn mel_weight_matrix(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let bins = const_int(cx, 0, "num_mel_bins")?;
    let dft_length = const_int(cx, 1, "dft_length")?;
    let sample_rate = const_int(cx, 2, "sample_rate")?;
    let (lower, upper) = (const_number(cx, 3, "lower_edge_hertz")?, const_number(cx, 4, "upper_edge_hertz")?);
    let dtype = output_datatype(cx)?;
    if bins < 1 || dft_length < 1 || sample_rate < 1 {
        return Err(format!(
            "num_mel_bins ({bins}), dft_length ({dft_length}) and sample_rate ({sample_rate}) must be positive"
        ));
    }
    let (bins, spectrum) = (bins as usize, (dft_length / 2 + 1) as usize);
    let mel = |f: f64| 2595.0 * (f / 700.0).ln_1p() / 10f64.ln();
    let (low, high) = (mel(lower), mel(upper));
    let step = (high - low) / (bins + 2) as f64;
    let edges: Vec<i64> = (0..bins + 2)
        .map(|i| {
            let hz = 700.0 * ((i as f64 * step + low) / 2595.0 * 10f64.ln()).exp_m1();
            ((dft_length + 1) as f64 * hz / sample_rate as f64).floor() as i64
        })
        .collect();
    let mut out = vec![0.0; spectrum * bins];
    let mut set = |j: i64, i: usize, v: f64| -> Result<(), String> {
        let row = usize::try_from(j).ok().filter(|&j| j < spectrum).ok_or_else(|| {
            format!("the edge frequencies put mel bin {i} at spectrum bin {j}, outside 0..{spectrum}")
        })?;
        out[row * bins + i] = v;
        Ok(())
    };
    for i in 0..bins {
        let (left, center, right) = (edges[i], edges[i + 1], edges[i + 2]);
        if center == left {
            set(center, i, 1.0)?;
        } else {
            for j in left..=center {
                set(j, i, (j - left) as f64 / (center - left) as f64)?;
            }
        }
        for j in center..right {
            set(j, i, (right - j) as f64 / (right - center) as f64)?;
        }
    }
    Ok(vec![constant_of(cx, dtype, vec![spectrum, bins], &out)?])
}

// ---------------------------------------------------------------------------
// Fourier transforms.

/// Which transform [`dft_along`] computes.
#[derive(Copy, Clone)]
struct Transform {
    /// Inverse (`e^{+2πikn/L} / L`) rather than forward (`e^{-2πikn/L}`).
    inverse: bool,
    /// Forward: only the first `L / 2 + 1` outputs. Inverse: the input is
    /// one-sided and the output real (irfft).
    onesided: bool,
    /// The transform length `L`.
    length: usize,
}

/// The constant `[n_in, c, K, o]` matrix that maps `n_in` input samples
/// with `c` components (1: real, 2: real and imaginary) to `K` outputs
/// with `o` components. Inputs past what the transform reads count as 0
/// (truncation); missing ones are zero padding.
fn dft_matrix(t: Transform, n_in: usize, c: usize) -> (Vec<usize>, Vec<f64>) {
    let l = t.length;
    let (used, k_out, o) = match (t.inverse, t.onesided) {
        (false, false) => (l, l, 2),
        (false, true) => (l, l / 2 + 1, 2),
        (true, false) => (l, l, 2),
        (true, true) => (l / 2 + 1, l, 1),
    };
    let mut w = vec![0.0; n_in * c * k_out * o];
    let at = |n: usize, ci: usize, k: usize, oi: usize| ((n * c + ci) * k_out + k) * o + oi;
    for n in 0..n_in.min(used) {
        for k in 0..k_out {
            // (n * k) mod L keeps the angle small, so cos and sin stay exact.
            let theta = 2.0 * PI * ((n * k) % l) as f64 / l as f64;
            let (cos, sin) = (theta.cos(), theta.sin());
            match (t.inverse, t.onesided) {
                (false, _) => {
                    // (xr + i xi)(cos - i sin)
                    w[at(n, 0, k, 0)] = cos;
                    w[at(n, 0, k, 1)] = -sin;
                    if c == 2 {
                        w[at(n, 1, k, 0)] = sin;
                        w[at(n, 1, k, 1)] = cos;
                    }
                }
                (true, false) => {
                    // (xr + i xi)(cos + i sin) / L
                    let s = 1.0 / l as f64;
                    w[at(n, 0, k, 0)] = cos * s;
                    w[at(n, 0, k, 1)] = sin * s;
                    if c == 2 {
                        w[at(n, 1, k, 0)] = -sin * s;
                        w[at(n, 1, k, 1)] = cos * s;
                    }
                }
                (true, true) => {
                    // Bin n stands for itself and its mirror L - n, except
                    // the DC bin and (for even L) the Nyquist bin.
                    let s = if n == 0 || 2 * n == l { 1.0 } else { 2.0 } / l as f64;
                    w[at(n, 0, k, 0)] = cos * s;
                    if c == 2 {
                        w[at(n, 1, k, 0)] = -sin * s;
                    }
                }
            }
        }
    }
    (vec![n_in, c, k_out, o], w)
}

/// The transform of `x` (trailing axis: 1 or 2 components) along `axis`
/// (not the trailing one) as a `tg.dot` with the constant matrix of
/// [`dft_matrix`]; the result has the transformed axis in place and a
/// trailing axis of 2 components (1 for an inverse one-sided transform).
fn dft_along(cx: &mut NodeCx, x: ValueId, axis: usize, t: Transform) -> Result<ValueId, String> {
    let xt = cx.ty(x)?;
    let r = xt.rank();
    let c = match xt.dims[r - 1].known() {
        Some(c @ (1 | 2)) => c as usize,
        _ => return Err(format!("the input {xt} must end in an axis of size 1 (real) or 2 (complex)")),
    };
    let n_in = xt.dims[axis]
        .known()
        .ok_or_else(|| format!("the transformed axis {axis} of the input {xt} must have a static size"))?
        as usize;
    if t.length == 0 {
        return Err("the transform length must be positive".into());
    }
    let (shape, values) = dft_matrix(t, n_in, c);
    let w = constant_of(cx, xt.dtype, shape, &values)?;
    let attrs = Attrs::from([
        ("lhs_contract", Attr::ints(&[axis as i64, r as i64 - 1])),
        ("rhs_contract", Attr::ints(&[0, 1])),
    ]);
    let y = cx.op(&DOT, &[x, w], attrs)?;
    // The dot puts the transformed axis second to last; move it back.
    if axis == r - 2 {
        return Ok(y);
    }
    let perm: Vec<i64> = (0..r)
        .map(|i| match i {
            _ if i < axis => i as i64,
            _ if i == axis => r as i64 - 2,
            _ if i == r - 1 => i as i64,
            _ => i as i64 - 1,
        })
        .collect();
    cx.op(&TRANSPOSE, &[y], Attrs::from([("perm", Attr::ints(&perm))]))
}

/// DFT (opsets 17, 20): the discrete Fourier transform of `input` (its
/// trailing axis holds 1 or 2 components) along `axis` (an attribute,
/// default 1, before opset 20; a constant input #2, default -2, from
/// then on), of length `dft_length` (a constant input #1; default the
/// axis size, or `2 (n - 1)` for an inverse one-sided transform).
fn dft(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let r = cx.rank(x)?;
    if r < 2 {
        return Err(format!("the input {} must have rank 2 or more", cx.ty(x)?));
    }
    let axis = if cx.opset >= 20 {
        match cx.opt_input(2)? {
            Some(_) => const_int(cx, 2, "axis")?,
            None => -2,
        }
    } else {
        cx.attr_int("axis", 1)
    };
    let axis = norm_axis(axis, r, "the DFT axis")?;
    if axis == r - 1 {
        return Err(format!("the DFT axis {axis} is the trailing (real/imaginary) axis; it must be one before it"));
    }
    let inverse = cx.attr_int("inverse", 0) != 0;
    let onesided = cx.attr_int("onesided", 0) != 0;
    let length = match cx.opt_input(1)? {
        Some(_) => const_int(cx, 1, "dft_length")?,
        None => {
            let xt = cx.ty(x)?;
            let n =
                xt.dims[axis].known().ok_or_else(|| format!("the DFT axis {axis} of {xt} must have a static size"))?
                    as i64;
            if inverse && onesided {
                2 * (n - 1)
            } else {
                n
            }
        }
    };
    let length = usize::try_from(length)
        .ok()
        .filter(|&l| l > 0)
        .ok_or_else(|| format!("the DFT length {length} must be positive"))?;
    Ok(vec![dft_along(cx, x, axis, Transform { inverse, onesided, length })?])
}

/// STFT (opset 17): the signal `[batch, length, 1 or 2]` cut into frames
/// of `frame_length` samples every `frame_step` (both constant), each
/// multiplied by `window` (all ones when absent) and transformed; the
/// result is `[batch, frames, bins, 2]` with `frame_length / 2 + 1` bins
/// when `onesided` (the default).
fn stft(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let xt = cx.ty(x)?;
    if xt.rank() != 3 {
        return Err(format!("the signal {xt} must have rank 3 ([batch, length, 1 or 2])"));
    }
    let signal = xt.dims[1].known().ok_or_else(|| format!("the signal {xt} must have a static length"))? as i64;
    let step = const_int(cx, 1, "frame_step")?;
    let window = cx.opt_input(2)?;
    let window_len = match window {
        Some(w) => {
            let wd = cx.dims(w)?;
            match wd[..] {
                [Dim::Known(n)] => Some(n as i64),
                _ => return Err(format!("input #2 (window) {} must be a vector of static length", cx.ty(w)?)),
            }
        }
        None => None,
    };
    let frame = match (cx.opt_input(3)?, window_len) {
        (Some(_), w) => {
            let f = const_int(cx, 3, "frame_length")?;
            match w {
                Some(w) if w != f => {
                    return Err(format!("input #3 (frame_length) = {f} differs from the window's length {w}"))
                }
                _ => f,
            }
        }
        (None, Some(w)) => w,
        (None, None) => signal,
    };
    if step < 1 || frame < 1 || frame > signal {
        return Err(format!(
            "frame_step ({step}) must be positive and frame_length ({frame}) between 1 and the signal length {signal}"
        ));
    }
    let frames = (signal - frame) / step + 1;
    let index: Vec<i64> = (0..frames).flat_map(|f| (0..frame).map(move |t| f * step + t)).collect();
    let index = cx.constant(Tensor::from_i64s(&index).reshaped(vec![frames as usize, frame as usize])?)?;
    let mut framed = cx.op(&GATHER, &[x, index], Attrs::from([("axis", Attr::Int(1))]))?;
    if let Some(w) = window {
        let w = reshape_to(cx, w, &[Dim::Known(1), Dim::Known(1), Dim::Known(frame as u64), Dim::Known(1)])?;
        framed = binary(cx, &MUL, framed, w)?;
    }
    let onesided = cx.attr_int("onesided", 1) != 0;
    Ok(vec![dft_along(cx, framed, 2, Transform { inverse: false, onesided, length: frame as usize })?])
}

#[cfg(test)]
mod tests {
    use super::super::elementwise::testing::*;
    use super::{dft_matrix, Transform};

    /// Applies the `[n, c, k, o]` matrix of [`dft_matrix`] to `x` (`[n, c]`, row-major).
    fn apply(t: Transform, x: &[f64], c: usize) -> Vec<f64> {
        let n = x.len() / c;
        let (shape, w) = dft_matrix(t, n, c);
        let (k, o) = (shape[2], shape[3]);
        (0..k * o).map(|ko| (0..n * c).map(|nc| x[nc] * w[nc * k * o + ko]).sum()).collect()
    }

    #[test]
    fn the_matrices_compute_dft_inverse_and_irfft() {
        let x = [1.0, 2.0, 3.0, 4.0];
        let spectrum = apply(Transform { inverse: false, onesided: false, length: 4 }, &x, 1);
        let want = [10.0, 0.0, -2.0, 2.0, -2.0, 0.0, -2.0, -2.0];
        assert!(spectrum.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-12), "{spectrum:?}");
        let back = apply(Transform { inverse: true, onesided: false, length: 4 }, &spectrum, 2);
        let want = [1.0, 0.0, 2.0, 0.0, 3.0, 0.0, 4.0, 0.0];
        assert!(back.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-12), "{back:?}");
        for length in [4, 5] {
            let x: Vec<f64> = (0..length).map(|i| (i * i) as f64 - 1.5).collect();
            let half = apply(Transform { inverse: false, onesided: true, length }, &x, 1);
            assert_eq!(half.len(), 2 * (length / 2 + 1));
            let real = apply(Transform { inverse: true, onesided: true, length }, &half, 2);
            assert!(real.iter().zip(&x).all(|(a, b)| (a - b).abs() < 1e-9), "{real:?} vs {x:?}");
        }
    }

    #[test]
    fn windows_are_constants_of_a_constant_size() {
        let m = model(17, "HannWindow", vec![], vec![i64s("n", &[], &[4])], &["n"], vec![int("periodic", 0)]);
        let text = ir(&m);
        assert!(text.contains("tg.constant") && !text.contains("tg.cos"), "{text}");
        assert_eq!(result_type(&m), "tensor<4xf32>");
        let m =
            model(17, "BlackmanWindow", vec![], vec![i64s("n", &[], &[3])], &["n"], vec![int("output_datatype", 11)]);
        assert_eq!(result_type(&m), "tensor<3xf64>");
        let err = error(&model(17, "HammingWindow", vec![value("n", INT64, &[])], vec![], &["n"], vec![]));
        assert!(err.contains("input #0 (size) must be a constant integer"), "{err}");
    }

    #[test]
    fn dft_axis_moved_from_attribute_to_input_at_opset_20() {
        let x = || vec![value("x", FLOAT, &[2, 8, 3, 1])];
        let m = model(19, "DFT", x(), vec![], &["x"], vec![int("onesided", 1)]);
        let text = ir(&m);
        assert!(text.contains("tg.dot") && text.contains("tg.transpose"), "{text}");
        assert_eq!(result_type(&m), "tensor<2x5x3x2xf32>");
        let m = model(20, "DFT", x(), vec![], &["x"], vec![]);
        assert!(!ir(&m).contains("tg.transpose"));
        assert_eq!(result_type(&m), "tensor<2x8x3x2xf32>");
        let m =
            model(20, "DFT", x(), vec![i64s("len", &[], &[6]), i64s("axis", &[], &[1])], &["x", "len", "axis"], vec![]);
        assert_eq!(result_type(&m), "tensor<2x6x3x2xf32>");
    }

    #[test]
    fn stft_frames_the_signal_with_a_constant_gather() {
        let inputs = vec![value("x", FLOAT, &[1, 32, 1]), value("w", FLOAT, &[8])];
        let m = model(17, "STFT", inputs, vec![i64s("step", &[], &[4])], &["x", "step", "w"], vec![]);
        let text = ir(&m);
        assert!(text.contains("tg.gather %x") && text.contains("tg.dot"), "{text}");
        assert_eq!(result_type(&m), "tensor<1x7x5x2xf32>");
    }
}
