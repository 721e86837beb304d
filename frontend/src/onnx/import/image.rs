//! ONNX converters: the image family. Resize and Upsample live with the
//! shape family (`shape/resize.rs`); these are the samplers and
//! rearrangements around them.
//!
//! The samplers (GridSample, RoiAlign, DeformConv) compute their sample
//! coordinates with elementwise ops, turn them into per-axis taps (an
//! index clamped, reflected or masked into range, and a weight) and read
//! every combination of taps with one `tg.gather_elements` on the
//! flattened image, followed by a weighted sum (or max). AffineGrid is a
//! `tg.dot` with a constant base grid; CenterCropPad one `tg.pad`; Col2Im
//! a `tg.scatter` (add) with constant indices; MaxUnpool a `tg.scatter` of
//! the values to their recorded flat positions.
//!
//! Inputs that determine shapes (AffineGrid's size, CenterCropPad's
//! shape, Col2Im's image and block shapes, MaxUnpool's output shape) must
//! be constants, and the spatial sizes of sampled images static.

use super::cx::NodeCx;
use super::elementwise::{binary, cast_to, scalar_like, select, unary};
use super::nn::concat;
use super::quant::clamp;
use super::reduce::reduce;
use super::registry::Convert;
use super::shape::{norm_axes, product, reshape_to, static_sizes};
use tessera_ir::dialect::graph::elementwise::{ADD, AND, DIV, EQ, FLOOR, GE, GT, LE, LT, MAX, MUL, OR, ROUND, SUB};
use tessera_ir::dialect::graph::index::{GATHER, GATHER_ELEMENTS, SCATTER};
use tessera_ir::dialect::graph::linalg::DOT;
use tessera_ir::dialect::graph::reduce::{REDUCE_MAX, REDUCE_SUM};
use tessera_ir::dialect::graph::shape::{BROADCAST_TO, PAD, SLICE, TRANSPOSE};
use tessera_ir::tensor::{round_float, Tensor};
use tessera_ir::{Attr, Attrs, DType, Dim, OpRef, ValueId};

/// The converters of this family, by ONNX operator name.
pub(super) const CONVERTERS: &[(&str, Convert)] = &[
    ("GridSample", grid_sample),
    ("AffineGrid", affine_grid),
    ("CenterCropPad", center_crop_pad),
    ("Col2Im", col2im),
    ("MaxUnpool", max_unpool),
    ("RoiAlign", roi_align),
    ("DeformConv", deform_conv),
];

// ---------------------------------------------------------------------------
// Small builders.

/// `x * a + b` for constants `a` and `b` (skipping the identity parts).
fn affine(cx: &mut NodeCx, x: ValueId, a: f64, b: f64) -> Result<ValueId, String> {
    let mut y = x;
    if a != 1.0 {
        let a = scalar_like(cx, x, a)?;
        y = binary(cx, &MUL, y, a)?;
    }
    if b != 0.0 {
        let b = scalar_like(cx, x, b)?;
        y = binary(cx, &ADD, y, b)?;
    }
    Ok(y)
}

/// `def(x, k)` for a comparison or arithmetic op `def` and a constant `k`.
fn with_const(cx: &mut NodeCx, def: OpRef, x: ValueId, k: f64) -> Result<ValueId, String> {
    let k = scalar_like(cx, x, k)?;
    binary(cx, def, x, k)
}

/// A tensor of `like`'s dims and dtype filled with `v`.
fn filled_like(cx: &mut NodeCx, like: ValueId, v: f64) -> Result<ValueId, String> {
    let dims = cx.dims(like)?;
    let v = scalar_like(cx, like, v)?;
    cx.op(&BROADCAST_TO, &[v], Attrs::from([("shape", Attr::shape(&dims))]))
}

/// `x[.., start..start + 1, ..]` along `axis`, with that axis dropped.
fn take_index(cx: &mut NodeCx, x: ValueId, axis: usize, start: i64) -> Result<ValueId, String> {
    let attrs = Attrs::from([
        ("starts", Attr::ints(&[start])),
        ("ends", Attr::ints(&[start + 1])),
        ("axes", Attr::ints(&[axis as i64])),
    ]);
    let y = cx.op(&SLICE, &[x], attrs)?;
    let mut dims = cx.dims(y)?;
    dims.remove(axis);
    reshape_to(cx, y, &dims)
}

/// `x[.., start..end, ..]` along `axis`.
fn slice_axis(cx: &mut NodeCx, x: ValueId, axis: usize, start: i64, end: i64) -> Result<ValueId, String> {
    let attrs = Attrs::from([
        ("starts", Attr::ints(&[start])),
        ("ends", Attr::ints(&[end])),
        ("axes", Attr::ints(&[axis as i64])),
    ]);
    cx.op(&SLICE, &[x], attrs)
}

/// A float constant of `dtype` and `shape` (values rounded to the dtype).
fn float_constant(cx: &mut NodeCx, dtype: DType, shape: Vec<usize>, values: &[f64]) -> Result<ValueId, String> {
    cx.constant(Tensor::from_f64(dtype, shape, values.iter().map(|&v| round_float(dtype, v)).collect())?)
}

/// A static dim of size `n`.
fn known(n: usize) -> Dim {
    Dim::Known(n as u64)
}

/// The static sizes of `dims`, or an error naming `what`.
fn static_dims(dims: &[Dim], what: &str) -> Result<Vec<usize>, String> {
    static_sizes(dims)
        .ok_or_else(|| format!("{what} must have static sizes, got {}", tessera_ir::infer::show_dims(dims)))
}

/// Input `i` as constant integers; the error says why it must be one.
fn shape_input(cx: &NodeCx, i: usize, what: &str) -> Result<Vec<i64>, String> {
    cx.const_ints(i).map_err(|_| {
        format!("input #{i} ({what}) must be a constant (tessera needs it at import time for the output's shape)")
    })
}

/// An ints attribute with one entry per spatial axis (`default` each when
/// absent); `n` entries, or `2 n` for pads.
fn spatial_attr(cx: &NodeCx, name: &str, n: usize, default: i64) -> Result<Vec<i64>, String> {
    let values = cx.attr_ints(name).unwrap_or_else(|| vec![default; n]);
    if values.len() != n {
        return Err(format!("attribute '{name}' = {values:?} must have {n} entries"));
    }
    Ok(values)
}

// ---------------------------------------------------------------------------
// Sampling at computed coordinates.

/// How a sampler reads outside the image.
#[derive(Copy, Clone, PartialEq)]
enum Padding {
    /// Out-of-range taps read 0.
    Zeros,
    /// Coordinates and taps are clamped to the edge.
    Border,
    /// Coordinates and taps are reflected at the borders.
    Reflection,
}

/// How a sampler interpolates between pixels.
#[derive(Copy, Clone, PartialEq)]
enum Interp {
    /// The nearest pixel (coordinates rounded half to even).
    Nearest,
    /// Linear along each axis (2 taps).
    Linear,
    /// Keys cubic convolution with `a = -0.75` along each axis (4 taps).
    Cubic,
}

/// One tap of a sampler along one axis: where it reads (i64, in range)
/// and its weight (zero for a masked-out tap), both `[B, S]`.
struct Tap {
    /// The index along the axis.
    index: ValueId,
    /// The weight, in the dtype of the sampled data.
    weight: ValueId,
}

/// `u` reflected into `[lo, hi]` by repeated mirroring at the borders
/// (values inside stay as they are).
fn reflect(cx: &mut NodeCx, u: ValueId, lo: f64, hi: f64) -> Result<ValueId, String> {
    let range = hi - lo;
    if range <= 0.0 {
        return filled_like(cx, u, lo);
    }
    let (lo_c, hi_c) = (scalar_like(cx, u, lo)?, scalar_like(cx, u, hi)?);
    let below = binary(cx, &LT, u, lo_c)?;
    let above = binary(cx, &GT, u, hi_c)?;
    let d_below = binary(cx, &SUB, lo_c, u)?;
    let d_above = binary(cx, &SUB, u, hi_c)?;
    let dx = select(cx, below, d_below, d_above)?;
    let range_c = scalar_like(cx, u, range)?;
    let n = binary(cx, &DIV, dx, range_c)?;
    let n = unary(cx, &FLOOR, n)?;
    let whole = binary(cx, &MUL, n, range_c)?;
    let rest = binary(cx, &SUB, dx, whole)?;
    let half = affine(cx, n, 0.5, 0.0)?;
    let half_floor = unary(cx, &FLOOR, half)?;
    let even = binary(cx, &EQ, half, half_floor)?;
    let from_lo = binary(cx, &ADD, lo_c, rest)?;
    let from_hi = binary(cx, &SUB, hi_c, rest)?;
    let low_side = select(cx, even, from_lo, from_hi)?;
    let high_side = select(cx, even, from_hi, from_lo)?;
    let inner = select(cx, above, high_side, u)?;
    select(cx, below, low_side, inner)
}

/// Whether `u` lies outside `[lo, hi]`.
fn outside(cx: &mut NodeCx, u: ValueId, lo: f64, hi: f64) -> Result<ValueId, String> {
    let below = with_const(cx, &LT, u, lo)?;
    let above = with_const(cx, &GT, u, hi)?;
    binary(cx, &OR, below, above)
}

/// Horner's rule: `((c[0] s + c[1]) s + c[2]) s + c[3]`.
fn cubic_poly(cx: &mut NodeCx, s: ValueId, c: [f64; 4]) -> Result<ValueId, String> {
    let mut y = affine(cx, s, c[0], c[1])?;
    for &k in &c[2..] {
        y = binary(cx, &MUL, y, s)?;
        y = affine(cx, y, 1.0, k)?;
    }
    Ok(y)
}

/// The taps of one axis of size `size` at the (float, `[B, S]`)
/// coordinates `u`, already moved into the borders `[lo, hi]` as the
/// padding mode says; `dtype` is the weights' dtype.
fn axis_taps(
    cx: &mut NodeCx,
    u: ValueId,
    size: usize,
    (interp, padding): (Interp, Padding),
    (lo, hi): (f64, f64),
    dtype: DType,
) -> Result<Vec<Tap>, String> {
    let mut raw: Vec<(ValueId, ValueId)> = Vec::new();
    match interp {
        Interp::Nearest => raw.push((u, filled_like(cx, u, 1.0)?)),
        Interp::Linear => {
            let x0 = unary(cx, &FLOOR, u)?;
            let t = binary(cx, &SUB, u, x0)?;
            let x1 = affine(cx, x0, 1.0, 1.0)?;
            raw.push((x0, affine(cx, t, -1.0, 1.0)?));
            raw.push((x1, t));
        }
        Interp::Cubic => {
            const A: f64 = -0.75;
            let x0 = unary(cx, &FLOOR, u)?;
            let t = binary(cx, &SUB, u, x0)?;
            let far = [A, -5.0 * A, 8.0 * A, -4.0 * A];
            let near = [A + 2.0, -(A + 3.0), 0.0, 1.0];
            // Distances from the four taps x0 - 1 .. x0 + 2 to u.
            for (offset, (a, b), coeffs) in
                [(-1.0, (1.0, 1.0), far), (0.0, (1.0, 0.0), near), (1.0, (-1.0, 1.0), near), (2.0, (-1.0, 2.0), far)]
            {
                let s = affine(cx, t, a, b)?;
                let w = cubic_poly(cx, s, coeffs)?;
                raw.push((affine(cx, x0, 1.0, offset)?, w));
            }
        }
    }
    let last = size as f64 - 1.0;
    let mut taps = Vec::with_capacity(raw.len());
    for (k, mut w) in raw {
        let k = match padding {
            Padding::Zeros => {
                let ok_lo = with_const(cx, &GE, k, 0.0)?;
                let ok_hi = with_const(cx, &LE, k, last)?;
                let ok = binary(cx, &AND, ok_lo, ok_hi)?;
                let ok = cast_to(cx, ok, cx.ty(w)?.dtype)?;
                w = binary(cx, &MUL, w, ok)?;
                k
            }
            Padding::Border => k,
            Padding::Reflection => reflect(cx, k, lo, hi)?,
        };
        let k = clamp(cx, k, 0.0, last)?;
        taps.push(Tap { index: cast_to(cx, k, DType::I64)?, weight: cast_to(cx, w, dtype)? });
    }
    Ok(taps)
}

/// Reads `data` (`[B, C, d1, .., dr]`, static spatial sizes) at every
/// combination of the taps of its `r` axes (each `[B, S]`): the result
/// `[B, C, S, T]` holds `weight * data[b, c, i1, .., ir]` for the `T`
/// combinations, for the caller to sum or take the max of.
fn gather_taps(cx: &mut NodeCx, data: ValueId, axes: &[Vec<Tap>]) -> Result<ValueId, String> {
    let dims = cx.dims(data)?;
    let r = axes.len();
    let sizes = static_dims(&dims[2..], "the sampled image's spatial dims")?;
    let first = axes.first().and_then(|t| t.first()).ok_or("a sampler needs at least one tap")?;
    let pos = cx.dims(first.index)?;
    let (b, c, s) = (dims[0].clone(), dims[1].clone(), pos[1].clone());
    let (mut flat, mut weight): (Option<ValueId>, Option<ValueId>) = (None, None);
    let mut count = 1;
    for (i, taps) in axes.iter().enumerate() {
        let stride: usize = sizes[i + 1..].iter().product();
        let column = [b.clone(), s.clone(), Dim::Known(1)];
        let mut view = vec![b.clone(), s.clone()];
        view.extend(vec![Dim::Known(1); r]);
        view[2 + i] = Dim::Known(taps.len() as u64);
        let (mut idx, mut w) = (Vec::new(), Vec::new());
        for t in taps {
            idx.push(reshape_to(cx, t.index, &column)?);
            w.push(reshape_to(cx, t.weight, &column)?);
        }
        let idx = concat(cx, &idx, 2)?;
        let idx = reshape_to(cx, idx, &view)?;
        let idx = if stride == 1 { idx } else { with_const(cx, &MUL, idx, stride as f64)? };
        let w = concat(cx, &w, 2)?;
        let w = reshape_to(cx, w, &view)?;
        flat = Some(match flat {
            None => idx,
            Some(f) => binary(cx, &ADD, f, idx)?,
        });
        weight = Some(match weight {
            None => w,
            Some(acc) => binary(cx, &MUL, acc, w)?,
        });
        count *= taps.len();
    }
    let (flat, weight) = (flat.ok_or("no sampler axes")?, weight.ok_or("no sampler axes")?);
    let n = s.mul(&known(count));
    let flat = reshape_to(cx, flat, &[b.clone(), Dim::Known(1), n.clone()])?;
    let flat = cx.op(&BROADCAST_TO, &[flat], Attrs::from([("shape", Attr::shape(&[b.clone(), c.clone(), n]))]))?;
    let pixels = Dim::Known(sizes.iter().product::<usize>() as u64);
    let data = reshape_to(cx, data, &[b.clone(), c.clone(), pixels])?;
    let picked = cx.op(&GATHER_ELEMENTS, &[data, flat], Attrs::from([("axis", Attr::Int(2))]))?;
    let t = known(count);
    let picked = reshape_to(cx, picked, &[b.clone(), c, s.clone(), t.clone()])?;
    let weight = reshape_to(cx, weight, &[b, Dim::Known(1), s, t])?;
    binary(cx, &MUL, picked, weight)
}

/// The sum over the taps of [`gather_taps`]: `[B, C, S]`.
fn sample_sum(cx: &mut NodeCx, data: ValueId, axes: &[Vec<Tap>]) -> Result<ValueId, String> {
    let products = gather_taps(cx, data, axes)?;
    reduce(cx, &REDUCE_SUM, products, &[3], false)
}

// ---------------------------------------------------------------------------
// GridSample and AffineGrid.

/// GridSample (opsets 16, 20, 22): `X` `[N, C, d1..dr]` sampled at the
/// normalised coordinates of `grid` `[N, o1..or, r]` (the last entry for
/// the first spatial axis), with nearest, (bi/tri)linear or cubic
/// interpolation and zeros, border or reflection padding. Before opset 20
/// the modes are called `bilinear` and `bicubic` (and only 4-D inputs
/// exist); both spellings are accepted. Coordinates are computed in f32
/// (f64 for an f64 grid); an integer input is interpolated in f32 and
/// converted back.
fn grid_sample(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (x, grid) = (cx.input(0)?, cx.input(1)?);
    let (xt, gt) = (cx.ty(x)?, cx.ty(grid)?);
    if xt.rank() < 3 {
        return Err(format!("input #0 {xt} must have rank 3 or more (batch, channels, spatial...)"));
    }
    let r = xt.rank() - 2;
    if gt.rank() != r + 2 || gt.dims[r + 1].known() != Some(r as u64) {
        return Err(format!("the grid {gt} must have shape [N, out_1, .., out_{r}, {r}] for the input {xt}"));
    }
    if !xt.dtype.is_in(tessera_ir::DTypeClass::Numeric) || !gt.dtype.is_float() {
        return Err(format!("the input {xt} must be numeric and the grid {gt} float"));
    }
    let interp = match cx.attr_str("mode", if cx.opset < 20 { "bilinear" } else { "linear" }).as_str() {
        "nearest" => Interp::Nearest,
        "linear" | "bilinear" => Interp::Linear,
        "cubic" | "bicubic" => Interp::Cubic,
        other => return Err(format!("attribute 'mode' = '{other}' is not one of nearest, linear, cubic")),
    };
    let padding = match cx.attr_str("padding_mode", "zeros").as_str() {
        "zeros" => Padding::Zeros,
        "border" => Padding::Border,
        "reflection" => Padding::Reflection,
        other => return Err(format!("attribute 'padding_mode' = '{other}' is not one of zeros, border, reflection")),
    };
    let align = cx.attr_int("align_corners", 0) != 0;
    let sizes = static_dims(&xt.dims[2..], "the spatial dims of input #0")?;
    let coord = if gt.dtype == DType::F64 { DType::F64 } else { DType::F32 };
    let data_dtype = if xt.dtype.is_float() { xt.dtype } else { DType::F32 };
    let data = cast_to(cx, x, data_dtype)?;
    let n = gt.dims[0].clone();
    let out = gt.dims[1..=r].to_vec();
    let s = product(&out);
    let g = cast_to(cx, grid, coord)?;
    let g = reshape_to(cx, g, &[n.clone(), s, known(r)])?;
    let mut axes = Vec::with_capacity(r);
    for (i, &size) in sizes.iter().enumerate() {
        let d = size as f64;
        let u = take_index(cx, g, 2, (r - 1 - i) as i64)?;
        // Normalised [-1, 1] to pixel coordinates: the corner pixels' centres
        // (align_corners) or their outer edges.
        let scale = if align { (d - 1.0) / 2.0 } else { d / 2.0 };
        let u = affine(cx, u, scale, (d - 1.0) / 2.0)?;
        let u = if interp == Interp::Nearest { unary(cx, &ROUND, u)? } else { u };
        let (lo, hi) = if align { (0.0, d - 1.0) } else { (-0.5, d - 0.5) };
        let u = match padding {
            Padding::Zeros => u,
            Padding::Border => {
                let out_of = outside(cx, u, lo, hi)?;
                let clamped = clamp(cx, u, 0.0, d - 1.0)?;
                select(cx, out_of, clamped, u)?
            }
            Padding::Reflection => reflect(cx, u, lo, hi)?,
        };
        axes.push(axis_taps(cx, u, size, (interp, padding), (lo, hi), data_dtype)?);
    }
    let y = sample_sum(cx, data, &axes)?;
    let mut dims = xt.dims[..2].to_vec();
    dims[0] = n;
    dims.extend(out);
    let y = reshape_to(cx, y, &dims)?;
    Ok(vec![cast_to(cx, y, xt.dtype)?])
}

/// AffineGrid (opset 20): the sampling grid `[N, d1..dr, r]` (r = 2 or 3)
/// of the affine maps `theta` `[N, r, r + 1]` applied to the normalised
/// coordinates of an image of the constant `size` `[N, C, d1..dr]`: one
/// `tg.dot` with a constant base grid of `(x, y, [z,] 1)` rows.
fn affine_grid(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let theta = cx.input(0)?;
    let tt = cx.ty(theta)?;
    let size = shape_input(cx, 1, "size")?;
    let r = size.len().saturating_sub(2);
    if !(r == 2 || r == 3) {
        return Err(format!("input #1 (size) = {size:?} must be [N, C, H, W] or [N, C, D, H, W]"));
    }
    let fits = tt.rank() == 3 && tt.dims[1].known() == Some(r as u64) && tt.dims[2].known() == Some(r as u64 + 1);
    if !fits || !tt.dtype.is_float() {
        return Err(format!("input #0 (theta) {tt} must be a float tensor [N, {r}, {}]", r + 1));
    }
    let spatial: Vec<usize> = size[2..]
        .iter()
        .map(|&d| usize::try_from(d).ok().filter(|&d| d > 0))
        .collect::<Option<_>>()
        .ok_or_else(|| format!("input #1 (size) = {size:?} must hold positive sizes"))?;
    let align = cx.attr_int("align_corners", 0) != 0;
    let coords = |i: usize, d: usize| -> f64 {
        if align {
            if d == 1 {
                -1.0
            } else {
                -1.0 + 2.0 * i as f64 / (d - 1) as f64
            }
        } else {
            -1.0 + (2 * i + 1) as f64 / d as f64
        }
    };
    let points: usize = spatial.iter().product();
    let mut base = Vec::with_capacity(points * (r + 1));
    for p in 0..points {
        // The point's index along each spatial axis, last axis first (x, y, z).
        let mut rest = p;
        let mut idx = vec![0; r];
        for a in (0..r).rev() {
            idx[a] = rest % spatial[a];
            rest /= spatial[a];
        }
        for a in (0..r).rev() {
            base.push(coords(idx[a], spatial[a]));
        }
        base.push(1.0);
    }
    let base = float_constant(cx, tt.dtype, vec![points, r + 1], &base)?;
    let attrs = Attrs::from([("lhs_contract", Attr::ints(&[2])), ("rhs_contract", Attr::ints(&[1]))]);
    let g = cx.op(&DOT, &[theta, base], attrs)?;
    let g = cx.op(&TRANSPOSE, &[g], Attrs::from([("perm", Attr::ints(&[0, 2, 1]))]))?;
    let mut dims = vec![tt.dims[0].clone()];
    dims.extend(spatial.iter().map(|&d| known(d)));
    dims.push(known(r));
    Ok(vec![reshape_to(cx, g, &dims)?])
}

// ---------------------------------------------------------------------------
// Rearrangements.

/// CenterCropPad (opset 18): each of `axes` (default all) cropped or
/// zero-padded, centred (the odd element goes to the end), to the
/// constant `shape`; one `tg.pad` (negative amounts crop).
fn center_crop_pad(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let xt = cx.ty(x)?;
    let shape = shape_input(cx, 1, "shape")?;
    let axes = match cx.attr_ints("axes") {
        Some(a) => norm_axes(&a, xt.rank(), "attribute 'axes'")?,
        None => (0..xt.rank()).collect(),
    };
    if axes.len() != shape.len() {
        return Err(format!("input #1 (shape) = {shape:?} must have one entry per axis in {axes:?}"));
    }
    let (mut low, mut high) = (vec![0; xt.rank()], vec![0; xt.rank()]);
    for (&a, &target) in axes.iter().zip(&shape) {
        let n = xt.dims[a].known().ok_or_else(|| format!("axis {a} of the input {xt} must have a static size"))? as i64;
        if target < 0 {
            return Err(format!("input #1 (shape) = {shape:?} must not be negative"));
        }
        let d = target - n;
        // Growing adds d / 2 in front; shrinking removes (-d) / 2 there.
        let front = if d >= 0 { d / 2 } else { -((-d) / 2) };
        (low[a], high[a]) = (front, d - front);
    }
    let zero = scalar_like(cx, x, 0.0)?;
    Ok(vec![cx.op(&PAD, &[x, zero], Attrs::from([("low", Attr::ints(&low)), ("high", Attr::ints(&high))]))?])
}

/// Col2Im (opset 18): the blocks in the columns of `input` `[N, C * K,
/// L]` (K = the block size, L = the number of block positions) summed
/// back into images `[N, C, image_shape...]`: a `tg.scatter` (add) of
/// every element to its constant position in the padded image, then a
/// crop of the padding. `image_shape` and `block_shape` must be constants.
fn col2im(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let xt = cx.ty(x)?;
    let image = shape_input(cx, 1, "image_shape")?;
    let block = shape_input(cx, 2, "block_shape")?;
    let r = image.len();
    if block.len() != r || r == 0 {
        return Err(format!("image_shape {image:?} and block_shape {block:?} must have the same, positive length"));
    }
    if image.iter().chain(&block).any(|&v| v < 1) {
        return Err(format!("image_shape {image:?} and block_shape {block:?} must hold positive sizes"));
    }
    let strides = spatial_attr(cx, "strides", r, 1)?;
    let dilations = spatial_attr(cx, "dilations", r, 1)?;
    let pads = spatial_attr(cx, "pads", 2 * r, 0)?;
    if strides.iter().chain(&dilations).any(|&v| v < 1) || pads.iter().any(|&p| p < 0) {
        return Err(format!(
            "strides {strides:?} and dilations {dilations:?} must be positive and pads {pads:?} not negative"
        ));
    }
    let padded: Vec<i64> = (0..r).map(|i| image[i] + pads[i] + pads[r + i]).collect();
    let positions: Vec<i64> =
        (0..r).map(|i| (padded[i] - (dilations[i] * (block[i] - 1) + 1)) / strides[i] + 1).collect();
    if positions.iter().any(|&p| p < 1) {
        return Err(format!(
            "blocks of {block:?} do not fit images of {image:?} with pads {pads:?} and dilations {dilations:?}"
        ));
    }
    let k: i64 = block.iter().product();
    let l: i64 = positions.iter().product();
    let [n, ck, len] = &xt.dims[..] else {
        return Err(format!("input #0 {xt} must have rank 3 ([N, C * block size, block positions])"));
    };
    let ck = ck.known().ok_or_else(|| format!("dim 1 of input #0 {xt} must be static"))? as i64;
    if ck % k != 0 || len.known().is_some_and(|v| v as i64 != l) {
        return Err(format!(
            "input #0 {xt} must be [N, C * {k}, {l}] for blocks of {block:?} over images of {image:?}"
        ));
    }
    let c = Dim::Known((ck / k) as u64);
    // For each (block offset, block position): the flat index in the padded image.
    let mut index = Vec::with_capacity((k * l) as usize);
    for off in 0..k {
        let mut rest = off;
        let mut o = vec![0; r];
        for i in (0..r).rev() {
            o[i] = rest % block[i];
            rest /= block[i];
        }
        for p in 0..l {
            let mut rest = p;
            let mut flat = 0;
            let mut stride = 1;
            for i in (0..r).rev() {
                let at = (rest % positions[i]) * strides[i] + o[i] * dilations[i];
                rest /= positions[i];
                flat += at * stride;
                stride *= padded[i];
            }
            index.push(flat);
        }
    }
    let total = (k * l) as u64;
    let index = cx.constant(Tensor::from_i64s(&index).reshaped(vec![1, 1, total as usize])?)?;
    let flat_dims = [n.clone(), c.clone(), Dim::Known(total)];
    let index = cx.op(&BROADCAST_TO, &[index], Attrs::from([("shape", Attr::shape(&flat_dims))]))?;
    let updates = reshape_to(cx, x, &flat_dims)?;
    let zero = scalar_like(cx, x, 0.0)?;
    let image_dims = [n.clone(), c.clone(), Dim::Known(padded.iter().product::<i64>() as u64)];
    let zeros = cx.op(&BROADCAST_TO, &[zero], Attrs::from([("shape", Attr::shape(&image_dims))]))?;
    let attrs = Attrs::from([("axis", Attr::Int(2)), ("reduction", Attr::Str("add".into()))]);
    let summed = cx.op(&SCATTER, &[zeros, index, updates], attrs)?;
    let mut dims = vec![n.clone(), c];
    dims.extend(padded.iter().map(|&d| Dim::Known(d as u64)));
    let summed = reshape_to(cx, summed, &dims)?;
    let low: Vec<i64> = [0, 0].into_iter().chain(pads[..r].iter().map(|p| -p)).collect();
    let high: Vec<i64> = [0, 0].into_iter().chain(pads[r..].iter().map(|p| -p)).collect();
    if low.iter().chain(&high).all(|&p| p == 0) {
        return Ok(vec![summed]);
    }
    let zero = scalar_like(cx, x, 0.0)?;
    Ok(vec![cx.op(&PAD, &[summed, zero], Attrs::from([("low", Attr::ints(&low)), ("high", Attr::ints(&high))]))?])
}

/// MaxUnpool (opsets 9, 11, 22): the values of `X` written at their flat
/// positions `I` (as MaxPool returns them) in a zero tensor of the
/// unpooled shape `(in - 1) * stride + kernel - pads`, zero-padded at the
/// end to the constant `output_shape` when given.
fn max_unpool(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (x, indices) = (cx.input(0)?, cx.input(1)?);
    let xt = cx.ty(x)?;
    if xt.rank() < 3 {
        return Err(format!("input #0 {xt} must have rank 3 or more (batch, channels, spatial...)"));
    }
    let r = xt.rank() - 2;
    let kernel = cx.attr_ints("kernel_shape").ok_or("attribute 'kernel_shape' is required")?;
    if kernel.len() != r {
        return Err(format!("attribute 'kernel_shape' = {kernel:?} must have {r} entries"));
    }
    let strides = spatial_attr(cx, "strides", r, 1)?;
    let pads = spatial_attr(cx, "pads", 2 * r, 0)?;
    let spatial = static_dims(&xt.dims[2..], "the spatial dims of input #0")?;
    let mut unpooled = xt.dims[..2].to_vec();
    for i in 0..r {
        let size = (spatial[i] as i64 - 1) * strides[i] + kernel[i] - pads[i] - pads[r + i];
        let size =
            u64::try_from(size).map_err(|_| format!("the unpooled size of spatial axis {i} is negative ({size})"))?;
        unpooled.push(Dim::Known(size));
    }
    let flat_in = [product(&xt.dims)];
    let values = reshape_to(cx, x, &flat_in)?;
    let indices = reshape_to(cx, indices, &flat_in)?;
    let zero = scalar_like(cx, x, 0.0)?;
    let zeros = cx.op(&BROADCAST_TO, &[zero], Attrs::from([("shape", Attr::shape(&[product(&unpooled)]))]))?;
    let scattered = cx.op(&SCATTER, &[zeros, indices, values], Attrs::from([("axis", Attr::Int(0))]))?;
    let y = reshape_to(cx, scattered, &unpooled)?;
    if cx.opt_input(2)?.is_none() {
        return Ok(vec![y]);
    }
    let target = shape_input(cx, 2, "output_shape")?;
    if target.len() != xt.rank() {
        return Err(format!("input #2 (output_shape) = {target:?} must have {} entries", xt.rank()));
    }
    let mut high = vec![0; xt.rank()];
    for (a, d) in unpooled.iter().enumerate().skip(2) {
        let have = d.known().unwrap_or(0) as i64;
        if target[a] < have {
            return Err(format!(
                "input #2 (output_shape) = {target:?} is smaller than the unpooled shape on axis {a} ({have})"
            ));
        }
        high[a] = target[a] - have;
    }
    if high.iter().all(|&h| h == 0) {
        return Ok(vec![y]);
    }
    let attrs = Attrs::from([("low", Attr::ints(&vec![0; xt.rank()])), ("high", Attr::ints(&high))]);
    Ok(vec![cx.op(&PAD, &[y, zero], attrs)?])
}

// ---------------------------------------------------------------------------
// RoiAlign and DeformConv.

/// The two bilinear taps RoiAlign reads along one axis of size `size` at
/// the coordinates `v` (`[R, S]`): samples beyond `[-1, size]` weigh 0;
/// others are clamped at 0, and from `size - 1` on read the last pixel
/// twice.
fn roi_axis_taps(cx: &mut NodeCx, v: ValueId, size: usize) -> Result<Vec<Tap>, String> {
    let dtype = cx.ty(v)?.dtype;
    let last = size as f64 - 1.0;
    let out_of = outside(cx, v, -1.0, size as f64)?;
    let zero = scalar_like(cx, v, 0.0)?;
    let one = scalar_like(cx, v, 1.0)?;
    let valid = select(cx, out_of, zero, one)?;
    let v = binary(cx, &MAX, v, zero)?;
    let low = unary(cx, &FLOOR, v)?;
    let at_end = with_const(cx, &GE, low, last)?;
    let last_c = scalar_like(cx, v, last)?;
    let low = select(cx, at_end, last_c, low)?;
    let next = affine(cx, low, 1.0, 1.0)?;
    let high = select(cx, at_end, last_c, next)?;
    let v = select(cx, at_end, low, v)?;
    let frac = binary(cx, &SUB, v, low)?;
    let rest = affine(cx, frac, -1.0, 1.0)?;
    let mut taps = Vec::with_capacity(2);
    for (k, w) in [(low, rest), (high, frac)] {
        let w = binary(cx, &MUL, w, valid)?;
        taps.push(Tap { index: cast_to(cx, k, DType::I64)?, weight: cast_to(cx, w, dtype)? });
    }
    Ok(taps)
}

/// RoiAlign (opsets 10, 16, 22): for each region of interest `rois[i] =
/// (x1, y1, x2, y2)` (scaled by `spatial_scale`) on image
/// `batch_indices[i]` of `X` `[N, C, H, W]`, an `output_height x
/// output_width` grid of bins, each the average (or max) of `sampling_ratio`²
/// bilinear samples. `coordinate_transformation_mode` (opset 16, default
/// `half_pixel`) shifts the regions by half a pixel; before opset 16 they
/// are not shifted (`output_half_pixel`). The adaptive sample count of
/// `sampling_ratio = 0` depends on the data and is not supported.
fn roi_align(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (x, rois, batch) = (cx.input(0)?, cx.input(1)?, cx.input(2)?);
    let xt = cx.ty(x)?;
    if xt.rank() != 4 || !xt.dtype.is_float() {
        return Err(format!("input #0 {xt} must be a float tensor [N, C, H, W]"));
    }
    let rt = cx.ty(rois)?;
    if rt.rank() != 2 || rt.dims[1].known() != Some(4) {
        return Err(format!("input #1 (rois) {rt} must have shape [num_rois, 4]"));
    }
    let (h, w) = {
        let s = static_dims(&xt.dims[2..], "the spatial dims of input #0")?;
        (s[0], s[1])
    };
    let (oh, ow) = (cx.attr_int("output_height", 1), cx.attr_int("output_width", 1));
    let ratio = cx.attr_int("sampling_ratio", 0);
    if oh < 1 || ow < 1 {
        return Err(format!("attributes 'output_height' = {oh} and 'output_width' = {ow} must be positive"));
    }
    if ratio < 1 {
        return Err(format!(
            "attribute 'sampling_ratio' = {ratio} asks for a data-dependent (adaptive) sample count; give a positive one"
        ));
    }
    let (oh, ow, ratio) = (oh as usize, ow as usize, ratio as usize);
    let max_mode = match cx.attr_str("mode", "avg").as_str() {
        "avg" => false,
        "max" => true,
        other => return Err(format!("attribute 'mode' = '{other}' is not one of avg, max")),
    };
    let half_pixel = cx.opset >= 16
        && match cx.attr_str("coordinate_transformation_mode", "half_pixel").as_str() {
            "half_pixel" => true,
            "output_half_pixel" => false,
            other => {
                return Err(format!(
                    "attribute 'coordinate_transformation_mode' = '{other}' is not one of half_pixel, output_half_pixel"
                ))
            }
        };
    let scale = f64::from(cx.attr_float("spatial_scale", 1.0));
    let rois = cast_to(cx, rois, xt.dtype)?;
    let shift = if half_pixel { -0.5 } else { 0.0 };
    let mut corner = Vec::with_capacity(4);
    for j in 0..4 {
        let v = slice_axis(cx, rois, 1, j, j + 1)?;
        corner.push(affine(cx, v, scale, shift)?);
    }
    let r_dim = rt.dims[0].clone();
    // Per axis (y, then x): sample coordinates start + bin * (p + (i + 0.5) / ratio).
    let mut coords = Vec::with_capacity(2);
    for (start, end, bins) in [(corner[1], corner[3], oh), (corner[0], corner[2], ow)] {
        let mut extent = binary(cx, &SUB, end, start)?;
        if !half_pixel {
            let one = scalar_like(cx, extent, 1.0)?;
            extent = binary(cx, &MAX, extent, one)?;
        }
        let bin = affine(cx, extent, 1.0 / bins as f64, 0.0)?;
        let steps: Vec<f64> =
            (0..bins * ratio).map(|k| (k / ratio) as f64 + ((k % ratio) as f64 + 0.5) / ratio as f64).collect();
        let steps = float_constant(cx, xt.dtype, vec![1, bins * ratio], &steps)?;
        let offsets = binary(cx, &MUL, bin, steps)?;
        coords.push(binary(cx, &ADD, start, offsets)?);
    }
    let (sy, sx) = (known(oh * ratio), known(ow * ratio));
    let grid = [r_dim.clone(), sy.clone(), sx.clone()];
    let flat = [r_dim.clone(), sy.mul(&sx)];
    let ys = reshape_to(cx, coords[0], &[r_dim.clone(), sy, Dim::Known(1)])?;
    let xs = reshape_to(cx, coords[1], &[r_dim.clone(), Dim::Known(1), sx])?;
    let mut axes = Vec::with_capacity(2);
    for (v, size) in [(ys, h), (xs, w)] {
        let v = cx.op(&BROADCAST_TO, &[v], Attrs::from([("shape", Attr::shape(&grid))]))?;
        let v = reshape_to(cx, v, &flat)?;
        axes.push(roi_axis_taps(cx, v, size)?);
    }
    let images = cx.op(&GATHER, &[x, batch], Attrs::from([("axis", Attr::Int(0))]))?;
    let products = gather_taps(cx, images, &axes)?;
    let (kind, combine) = if max_mode { (&REDUCE_MAX, &REDUCE_MAX) } else { (&REDUCE_SUM, &REDUCE_SUM) };
    let samples = reduce(cx, kind, products, &[3], false)?;
    let c = xt.dims[1].clone();
    let bins_dims = [r_dim.clone(), c.clone(), known(oh), known(ratio), known(ow), known(ratio)];
    let samples = reshape_to(cx, samples, &bins_dims)?;
    let y = reduce(cx, combine, samples, &[3, 5], false)?;
    if max_mode {
        return Ok(vec![y]);
    }
    Ok(vec![affine(cx, y, 1.0 / (ratio * ratio) as f64, 0.0)?])
}

/// DeformConv (opsets 19, 22): a grouped convolution whose kernel taps
/// read `X` at positions moved by `offset` `[N, offset_group * K * r,
/// out...]` (K = kernel size, r spatial axes; per tap the displacement
/// along each axis), bilinearly interpolated with zeros outside, scaled
/// by `mask` `[N, offset_group * K, out...]` when given, plus the bias `B`.
/// The sampled columns are contracted with the weight in one `tg.dot`.
fn deform_conv(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (x, w, offset) = (cx.input(0)?, cx.input(1)?, cx.input(2)?);
    let (bias, mask) = (cx.opt_input(3)?, cx.opt_input(4)?);
    let (xt, wt, ot) = (cx.ty(x)?, cx.ty(w)?, cx.ty(offset)?);
    if xt.rank() < 3 || wt.rank() != xt.rank() || ot.rank() != xt.rank() {
        return Err(format!("X {xt}, W {wt} and offset {ot} must share one rank of 3 or more"));
    }
    let r = xt.rank() - 2;
    let sizes = static_dims(&xt.dims[2..], "the spatial dims of X")?;
    let wd = static_dims(&wt.dims, "W")?;
    let out = static_dims(&ot.dims[2..], "the spatial dims of offset")?;
    let c = static_dims(&xt.dims[1..2], "the channels of X")?[0];
    let (o, cg) = (wd[0], wd[1]);
    let kernel: Vec<usize> = match cx.attr_ints("kernel_shape") {
        Some(k) if k.iter().map(|&v| v as usize).ne(wd[2..].iter().copied()) => {
            return Err(format!("attribute 'kernel_shape' = {k:?} does not match W {wt}"))
        }
        _ => wd[2..].to_vec(),
    };
    let group = cx.attr_int("group", 1);
    let offset_group = cx.attr_int("offset_group", 1);
    let (group, offset_group) = match (usize::try_from(group), usize::try_from(offset_group)) {
        (Ok(g), Ok(og)) if g > 0 && og > 0 => (g, og),
        _ => return Err(format!("attributes 'group' = {group} and 'offset_group' = {offset_group} must be positive")),
    };
    if cg * group != c || o % group != 0 || c % offset_group != 0 {
        return Err(format!("X {xt} and W {wt} do not fit group = {group} and offset_group = {offset_group}"));
    }
    let strides = spatial_attr(cx, "strides", r, 1)?;
    let dilations = spatial_attr(cx, "dilations", r, 1)?;
    let pads = spatial_attr(cx, "pads", 2 * r, 0)?;
    let k: usize = kernel.iter().product();
    let p: usize = out.iter().product();
    if ot.dims[1].known() != Some((offset_group * k * r) as u64) {
        return Err(format!(
            "offset {ot} must have {} channels (offset_group * kernel size * {r})",
            offset_group * k * r
        ));
    }
    let n = xt.dims[0].clone();
    let dtype = xt.dtype;
    // offset: [N, G, K, r, P]; mask: [N, G, K, P].
    let offset = reshape_to(cx, offset, &[n.clone(), known(offset_group), known(k), known(r), known(p)])?;
    let mask = mask.map(|m| reshape_to(cx, m, &[n.clone(), known(offset_group), known(k), known(p)])).transpose()?;
    let s = known(k * p);
    let per_group = c / offset_group;
    let mut columns = Vec::with_capacity(offset_group);
    for gi in 0..offset_group {
        let data = slice_axis(cx, x, 1, (gi * per_group) as i64, ((gi + 1) * per_group) as i64)?;
        let group_offset = take_index(cx, offset, 1, gi as i64)?;
        let mut axes = Vec::with_capacity(r);
        for i in 0..r {
            // The undisplaced position of each (kernel tap, output position).
            let base: Vec<f64> = (0..k * p)
                .map(|kp| {
                    let (tap, pos) = (kp / p, kp % p);
                    let tap_i = tap / kernel[i + 1..].iter().product::<usize>() % kernel[i];
                    let pos_i = pos / out[i + 1..].iter().product::<usize>() % out[i];
                    (pos_i as i64 * strides[i] - pads[i] + tap_i as i64 * dilations[i]) as f64
                })
                .collect();
            let base = float_constant(cx, dtype, vec![1, k * p], &base)?;
            let shift = take_index(cx, group_offset, 2, i as i64)?;
            let shift = reshape_to(cx, shift, &[n.clone(), s.clone()])?;
            let u = binary(cx, &ADD, shift, base)?;
            let size = sizes[i] as f64;
            axes.push(axis_taps(cx, u, sizes[i], (Interp::Linear, Padding::Zeros), (0.0, size - 1.0), dtype)?);
        }
        let sampled = sample_sum(cx, data, &axes)?;
        let mut sampled = reshape_to(cx, sampled, &[n.clone(), known(per_group), known(k), known(p)])?;
        if let Some(m) = mask {
            let m = slice_axis(cx, m, 1, gi as i64, gi as i64 + 1)?;
            sampled = binary(cx, &MUL, sampled, m)?;
        }
        columns.push(sampled);
    }
    let columns = concat(cx, &columns, 1)?;
    let columns = reshape_to(cx, columns, &[n.clone(), known(group), known(cg * k), known(p)])?;
    let weight = reshape_to(cx, w, &[known(group), known(o / group), known(cg * k)])?;
    let attrs = Attrs::from([
        ("lhs_batch", Attr::ints(&[1])),
        ("rhs_batch", Attr::ints(&[0])),
        ("lhs_contract", Attr::ints(&[2])),
        ("rhs_contract", Attr::ints(&[2])),
    ]);
    // [G, N, P, O / G] -> [N, G, O / G, P] -> [N, O, out...].
    let y = cx.op(&DOT, &[columns, weight], attrs)?;
    let y = cx.op(&TRANSPOSE, &[y], Attrs::from([("perm", Attr::ints(&[1, 0, 3, 2]))]))?;
    let mut dims = vec![n, known(o)];
    dims.extend(out.iter().map(|&d| known(d)));
    let mut y = reshape_to(cx, y, &dims)?;
    if let Some(b) = bias {
        let mut view = vec![Dim::Known(1); dims.len()];
        view[1] = known(o);
        let b = reshape_to(cx, b, &view)?;
        y = binary(cx, &ADD, y, b)?;
    }
    Ok(vec![y])
}

#[cfg(test)]
mod tests {
    use super::super::elementwise::testing::*;

    #[test]
    fn grid_sample_reads_all_taps_with_one_gather() {
        let inputs = || vec![value("x", FLOAT, &[-1, 3, 4, 5]), value("g", FLOAT, &[-1, 2, 6, 2])];
        let m = model(20, "GridSample", inputs(), vec![], &["x", "g"], vec![string("mode", "cubic")]);
        let text = ir(&m);
        assert_eq!(text.matches("tg.gather_elements").count(), 1, "{text}");
        assert_eq!(result_type(&m), "tensor<N x 3 x 2 x 6 x f32>");
        let m = model(16, "GridSample", inputs(), vec![], &["x", "g"], vec![string("padding_mode", "reflection")]);
        assert!(ir(&m).contains("tg.floor"));
        let err = error(&model(20, "GridSample", inputs(), vec![], &["x", "g"], vec![string("mode", "area")]));
        assert!(err.contains("attribute 'mode' = 'area'"), "{err}");
    }

    #[test]
    fn center_crop_pad_is_one_pad() {
        let m = model(
            18,
            "CenterCropPad",
            vec![value("x", FLOAT, &[20, 8, 3])],
            vec![i64s("s", &[2], &[10, 11])],
            &["x", "s"],
            vec![ints("axes", &[0, 1])],
        );
        let text = ir(&m);
        assert!(text.contains("low = [-5, 1, 0]") && text.contains("high = [-5, 2, 0]"), "{text}");
        assert_eq!(result_type(&m), "tensor<10x11x3xf32>");
        let err = error(&model(
            18,
            "CenterCropPad",
            vec![value("x", FLOAT, &[4]), value("s", INT64, &[1])],
            vec![],
            &["x", "s"],
            vec![],
        ));
        assert!(err.contains("input #1 (shape) must be a constant"), "{err}");
    }

    #[test]
    fn col2im_and_max_unpool_scatter() {
        let shapes = vec![i64s("image", &[2], &[5, 5]), i64s("block", &[2], &[2, 2])];
        let m = model(
            18,
            "Col2Im",
            vec![value("x", FLOAT, &[1, 8, 4])],
            shapes,
            &["x", "image", "block"],
            vec![ints("strides", &[2, 2])],
        );
        assert!(ir(&m).contains("reduction = \"add\""));
        assert_eq!(result_type(&m), "tensor<1x2x5x5xf32>");
        let inputs = vec![value("x", FLOAT, &[1, 2, 2, 2]), value("i", INT64, &[1, 2, 2, 2])];
        let m = model(
            11,
            "MaxUnpool",
            inputs,
            vec![],
            &["x", "i"],
            vec![ints("kernel_shape", &[2, 2]), ints("strides", &[2, 2])],
        );
        assert!(ir(&m).contains("tg.scatter"));
        assert_eq!(result_type(&m), "tensor<1x2x4x4xf32>");
    }

    #[test]
    fn roi_align_needs_a_fixed_sample_count() {
        let inputs = || vec![value("x", FLOAT, &[1, 2, 8, 8]), value("r", FLOAT, &[3, 4]), value("b", INT64, &[3])];
        let attrs = |ratio| vec![int("output_height", 2), int("output_width", 3), int("sampling_ratio", ratio)];
        let m = model(16, "RoiAlign", inputs(), vec![], &["x", "r", "b"], attrs(2));
        assert_eq!(result_type(&m), "tensor<3x2x2x3xf32>");
        let err = error(&model(16, "RoiAlign", inputs(), vec![], &["x", "r", "b"], attrs(0)));
        assert!(err.contains("attribute 'sampling_ratio' = 0"), "{err}");
    }

    #[test]
    fn affine_grid_and_deform_conv_shapes() {
        let m = model(
            20,
            "AffineGrid",
            vec![value("t", FLOAT, &[-1, 2, 3])],
            vec![i64s("size", &[4], &[2, 3, 5, 6])],
            &["t", "size"],
            vec![],
        );
        assert_eq!(result_type(&m), "tensor<N x 5 x 6 x 2 x f32>");
        let inputs =
            vec![value("x", FLOAT, &[1, 4, 5, 5]), value("w", FLOAT, &[6, 2, 3, 3]), value("o", FLOAT, &[1, 36, 3, 3])];
        let attrs = vec![int("group", 2), int("offset_group", 2)];
        let m = model(19, "DeformConv", inputs, vec![], &["x", "w", "o"], attrs);
        assert_eq!(result_type(&m), "tensor<1x6x3x3xf32>");
    }
}
