//! ONNX converters: the shape family — its table of converters and the
//! helpers other families import (axes, reshapes, scalars, slices, iotas).
//!
//! The family holds the constants, the shape queries and every operator
//! that moves elements without computing on them, by kind: [`constants`]
//! (Constant, ConstantOfShape, Shape, Size, Range, EyeLike), [`layout`]
//! (Reshape, Flatten, Squeeze, Unsqueeze, Transpose, DepthToSpace,
//! SpaceToDepth), [`slicing`] (Concat, Split, Slice, Pad, Expand, Tile,
//! Trilu) and [`resize`] (Resize, Upsample).
//!
//! Shape arithmetic is done at import time wherever it can be: `Shape` of a
//! tensor with a symbolic batch is `tg.shape_of` *and* a known vector of
//! [`SymExpr`](tessera_ir::SymExpr)s. [`derive_ints`] (in [`known_ints`])
//! carries such vectors through reshape, gather, concat, slice, cast,
//! add/sub/mul/div, equal and where — as the converters here build those
//! ops, and, for ops other families build, by replaying the ops behind a
//! shape input when one is needed ([`known_ints::known_input_ints`]). So
//! PyTorch's `Shape → Gather → Unsqueeze → Concat → Reshape` chains become a
//! `tg.reshape` to `[N, 12]`. When a shape input cannot be known, the graph
//! inputs its value depends on are noted, so that a caller may specialise on
//! them (`import_model_specialized`).

mod constants;
mod known_ints;
mod layout;
mod resize;
mod slicing;
#[cfg(test)]
pub(super) mod testing;

use super::cx::NodeCx;
use super::known::Known;
use super::registry::Convert;
use known_ints::learn;
use tessera_ir::dialect::graph::shape::{IOTA, RESHAPE, SLICE, SLICE_TO_END};
use tessera_ir::tensor::Tensor;
use tessera_ir::{Attr, Attrs, DType, Dim, ValueId};

pub(super) use known_ints::{const_input_ints, derive_ints, value_sources};

/// The converters of this family, by ONNX operator name.
pub(super) const CONVERTERS: &[(&str, Convert)] = &[
    ("Constant", constants::constant),
    ("ConstantOfShape", constants::constant_of_shape),
    ("Shape", constants::shape),
    ("Size", constants::size),
    ("Reshape", layout::reshape),
    ("Flatten", layout::flatten),
    ("Squeeze", layout::squeeze),
    ("Unsqueeze", layout::unsqueeze),
    ("Transpose", layout::transpose),
    ("Concat", slicing::concat),
    ("Split", slicing::split),
    ("Slice", slicing::slice),
    ("Pad", slicing::pad),
    ("Expand", slicing::expand),
    ("Tile", slicing::tile),
    ("Range", constants::range),
    ("EyeLike", constants::eye_like),
    ("Trilu", slicing::trilu),
    ("DepthToSpace", layout::depth_to_space),
    ("SpaceToDepth", layout::space_to_depth),
    ("Resize", resize::resize),
    ("Upsample", resize::upsample),
];

// ---------------------------------------------------------------------------
// Helpers shared with the other families and the files of this one.

/// `axis` (negative counts from the end) as an index into `rank` axes; the
/// error names the attribute or input `what`.
pub(super) fn norm_axis(axis: i64, rank: usize, what: &str) -> Result<usize, String> {
    let r = rank as i64;
    if axis < -r || axis >= r {
        return Err(format!("{what} = {axis} is out of range for rank {rank}"));
    }
    Ok(if axis < 0 {
        (axis + r) as usize
    } else {
        axis as usize
    })
}

/// Several axes normalised as [`norm_axis`] does; repeats are an error.
pub(super) fn norm_axes(axes: &[i64], rank: usize, what: &str) -> Result<Vec<usize>, String> {
    let mut out = Vec::with_capacity(axes.len());
    for &a in axes {
        let n = norm_axis(a, rank, what)?;
        if out.contains(&n) {
            return Err(format!("{what} {axes:?} repeats axis {a}"));
        }
        out.push(n);
    }
    Ok(out)
}

/// The dims as static sizes, when all are static.
pub(super) fn static_sizes(dims: &[Dim]) -> Option<Vec<usize>> {
    dims.iter().map(|d| d.known().map(|n| n as usize)).collect()
}

/// The product of `dims` (`?` when any is `?`).
pub(super) fn product(dims: &[Dim]) -> Dim {
    dims.iter().fold(Dim::Known(1), |acc, d| acc.mul(d))
}

/// A rank-0 i64 constant.
pub(super) fn i64_scalar(cx: &mut NodeCx, v: i64) -> Result<ValueId, String> {
    let t = Tensor::from_i64s(&[v]).reshaped(Vec::new())?;
    cx.constant(t)
}

/// `x` under the new `dims` (no op when they are x's already); knowledge
/// about `x` carries over.
pub(super) fn reshape_to(cx: &mut NodeCx, x: ValueId, dims: &[Dim]) -> Result<ValueId, String> {
    if cx.dims(x)? == dims {
        return Ok(x);
    }
    let attrs = Attrs::from([("shape", Attr::shape(dims))]);
    let y = cx.op(&RESHAPE, &[x], attrs.clone())?;
    if let Some(Known::Tensor(t)) = cx.known(x) {
        let reshaped = static_sizes(dims)
            .and_then(|s| t.reshaped(s).ok())
            .map(Known::Tensor);
        learn(cx, y, reshaped);
    }
    derive_ints(cx, &RESHAPE, &[x], &attrs, y);
    Ok(y)
}

/// `x` as a rank-0 tensor: x itself, or x reshaped when it holds one
/// element (ONNX often passes scalars as `[1]`); `what` names it in errors.
pub(super) fn to_scalar(cx: &mut NodeCx, x: ValueId, what: &str) -> Result<ValueId, String> {
    let dims = cx.dims(x)?;
    if dims.is_empty() {
        return Ok(x);
    }
    if dims.iter().all(|d| d.known() == Some(1)) {
        return reshape_to(cx, x, &[]);
    }
    Err(format!(
        "{what} must be a scalar (or hold one element), got {}",
        cx.ty(x)?
    ))
}

/// `tg.slice` of `x` along the given axes; a known integer vector is sliced too.
pub(super) fn slice_op(
    cx: &mut NodeCx,
    x: ValueId,
    starts: &[i64],
    ends: &[i64],
    axes: &[usize],
    steps: &[i64],
) -> Result<ValueId, String> {
    // Ends past any real size mean "to the end", which keeps symbolic sizes named.
    let ends: Vec<i64> = ends
        .iter()
        .zip(steps)
        .map(|(&e, &s)| {
            if s > 0 && e >= i64::from(i32::MAX) {
                SLICE_TO_END
            } else {
                e
            }
        })
        .collect();
    let axes_i: Vec<i64> = axes.iter().map(|&a| a as i64).collect();
    let attrs = Attrs::from([
        ("starts", Attr::ints(starts)),
        ("ends", Attr::ints(&ends)),
        ("axes", Attr::ints(&axes_i)),
        ("steps", Attr::ints(steps)),
    ]);
    let y = cx.op(&SLICE, &[x], attrs.clone())?;
    derive_ints(cx, &SLICE, &[x], &attrs, y);
    Ok(y)
}

/// The positions 0..n of `axis` in a tensor of `rank` axes, as a `[1, .., n, .., 1]`
/// iota of `dtype`.
pub(super) fn iota_along(
    cx: &mut NodeCx,
    n: &Dim,
    axis: usize,
    rank: usize,
    dtype: DType,
) -> Result<ValueId, String> {
    let mut shape = vec![Dim::Known(1); rank];
    shape[axis] = n.clone();
    let attrs = Attrs::from([
        ("shape", Attr::shape(&shape)),
        ("dtype", Attr::DType(dtype)),
        ("axis", Attr::Int(axis as i64)),
    ]);
    cx.op(&IOTA, &[], attrs)
}

/// A `(rows, cols)` pair of i64 iotas over a `[n, m]` grid.
fn grid(cx: &mut NodeCx, n: &Dim, m: &Dim) -> Result<(ValueId, ValueId), String> {
    let shape = Attr::shape(&[n.clone(), m.clone()]);
    let mut iota = |axis: i64| {
        let attrs = Attrs::from([
            ("shape", shape.clone()),
            ("dtype", Attr::DType(DType::I64)),
            ("axis", Attr::Int(axis)),
        ]);
        cx.op(&IOTA, &[], attrs)
    };
    Ok((iota(0)?, iota(1)?))
}

/// Whether input `i` is given (present and not the empty name).
pub(super) fn has_input(cx: &NodeCx, i: usize) -> bool {
    cx.node.input.get(i).is_some_and(|n| !n.is_empty())
}
