//! Ops that move or rearrange elements without computing on them:
//! `tg.broadcast_to`, `tg.reshape`, `tg.transpose`, `tg.slice`, `tg.pad`,
//! `tg.concat`, `tg.reverse`, plus `tg.iota` and `tg.shape_of`.

use super::kernels::broadcast_to;
use super::layout::{concat_data, flat_indices, identity_offsets, map_elements, permute, rearrange, take, AxisOffsets};
use crate::dim::Dim;
use crate::dtype::{DType, DTypeClass};
use crate::eval::EvalCx;
use crate::infer::{same_dtype, show_dims, InferCx};
use crate::op::{Arity, AttrKind, AttrSpec, OpDef, OpRef, OpSpec, Traits};
use crate::tensor::{strides, Tensor};
use crate::types::{TensorType, Type};
use super::vjp as rules;
use crate::diag::Diag;
use crate::vjp::{Grads, VjpCx};

/// The one size two dims that must agree stand for: the known one where the
/// other is `?`; `None` when both are named and differ.
pub fn unify_dims(a: &Dim, b: &Dim) -> Option<Dim> {
    match (a, b) {
        (Dim::Unknown, _) => Some(b.clone()),
        (_, Dim::Unknown) => Some(a.clone()),
        _ if a == b => Some(a.clone()),
        _ => None,
    }
}

/// An `end` at or above this means "to the end of the axis" in `tg.slice`.
pub const SLICE_TO_END: i64 = i64::MAX / 2;

/// `tg.broadcast_to %x {shape = [N, 4]}`: numpy broadcast of `x` to `shape`
/// (dims aligned from the right; each dim of `x` is 1 or the target's).
pub struct BroadcastTo;

impl OpDef for BroadcastTo {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec = OpSpec::new("tg.broadcast_to", "x broadcast (numpy rules) to `shape`")
            .attrs(&[AttrSpec::req("shape", AttrKind::Shape)]);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let x = cx.tensor(0)?;
        let target = cx.shape("shape")?;
        let Some(lead) = target.len().checked_sub(x.rank()) else {
            return Err(format!("cannot broadcast {x} to the lower-rank shape {}", show_dims(&target)));
        };
        let mut dims = target.clone();
        for (i, d) in x.dims.iter().enumerate() {
            let axis = lead + i;
            let t = &target[axis];
            dims[axis] = match (d, t) {
                (Dim::Known(1), _) => t.clone(),
                // A `?` target must equal a source dim that is not 1.
                (_, Dim::Unknown) => d.clone(),
                _ => unify_dims(d, t).ok_or_else(|| {
                    format!(
                        "cannot broadcast {x} to {}: dim {i} is {d}, neither 1 nor the target's {t}",
                        show_dims(&target)
                    )
                })?,
            };
        }
        Ok(vec![Type::Tensor(TensorType::new(dims, x.dtype))])
    }
    fn eval(&self, cx: &mut EvalCx) -> Result<Vec<Tensor>, String> {
        let x = cx.input(0)?;
        let target = cx.op.shape("shape")?;
        let lead = target.len().checked_sub(x.rank()).ok_or_else(|| {
            format!("cannot broadcast {:?} to the lower-rank shape {}", x.shape(), show_dims(&target))
        })?;
        let sizes = target
            .iter()
            .enumerate()
            .map(|(axis, t)| match (t, axis.checked_sub(lead)) {
                (Dim::Unknown, Some(i)) => Ok(x.shape()[i]),
                (Dim::Unknown, None) => Err(format!("target dim {axis} is '?' and has no source dim")),
                (t, _) => cx.env.dim(t),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(vec![broadcast_to(x, &sizes)?])
    }
    fn vjp(&self, cx: &mut VjpCx) -> Result<Grads, Diag> {
        rules::shape::broadcast_to(cx)
    }
}

/// The `tg.broadcast_to` op.
pub static BROADCAST_TO: BroadcastTo = BroadcastTo;

/// `tg.reshape %x {shape = [N, 12]}`: the same elements in row-major order
/// under a new shape. Element counts must be equal wherever both can be
/// computed (a `?` on either side defers the check to run time). No `-1`
/// entries: importers resolve them.
pub struct Reshape;

impl OpDef for Reshape {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec = OpSpec::new("tg.reshape", "x's elements, row-major, under the new `shape`")
            .attrs(&[AttrSpec::req("shape", AttrKind::Shape)]);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let x = cx.tensor(0)?;
        let shape = cx.shape("shape")?;
        let out = TensorType::new(shape, x.dtype);
        let mismatch = match (x.static_dims(), out.static_dims()) {
            // Static counts in u128 so that huge shapes cannot overflow.
            (Some(a), Some(b)) => static_count(&a) != static_count(&b),
            _ => {
                let (from, to) = (x.num_elements(), out.num_elements());
                !matches!(from, Dim::Unknown) && !matches!(to, Dim::Unknown) && from != to
            }
        };
        if mismatch {
            let (from, to) = (show_count(x), show_count(&out));
            return Err(format!("cannot reshape {x} ({from} elements) to {} ({to} elements)", show_dims(&out.dims)));
        }
        Ok(vec![Type::Tensor(out)])
    }
    fn eval(&self, cx: &mut EvalCx) -> Result<Vec<Tensor>, String> {
        let x = cx.input(0)?;
        let dims = cx.op.shape("shape")?;
        let sizes = dims
            .iter()
            .map(|d| if *d == Dim::Unknown { Ok(None) } else { cx.env.dim(d).map(Some) })
            .collect::<Result<Vec<Option<usize>>, String>>()?;
        let known = sizes.iter().flatten().try_fold(1usize, |acc, &n| acc.checked_mul(n));
        let unknown = sizes.iter().filter(|s| s.is_none()).count();
        let fill = match (known, unknown) {
            (Some(k), 0) if k == x.len() => 0,
            (Some(k), 1) if k > 0 && x.len() % k == 0 => x.len() / k,
            _ => {
                return Err(format!(
                    "cannot reshape {:?} ({} elements) to {}{}",
                    x.shape(),
                    x.len(),
                    show_dims(&dims),
                    if unknown > 0 { " (its '?' dims cannot be resolved)" } else { "" }
                ))
            }
        };
        let shape = sizes.into_iter().map(|s| s.unwrap_or(fill)).collect();
        Ok(vec![x.reshaped(shape)?])
    }
    fn vjp(&self, cx: &mut VjpCx) -> Result<Grads, Diag> {
        rules::shape::reshape(cx)
    }
}

fn static_count(dims: &[u64]) -> u128 {
    dims.iter().fold(1u128, |acc, &d| acc.saturating_mul(d as u128))
}

/// The element count of `t` for diagnostics.
fn show_count(t: &TensorType) -> String {
    match t.static_dims() {
        Some(d) => static_count(&d).to_string(),
        None => t.num_elements().to_string(),
    }
}

/// The `tg.reshape` op.
pub static RESHAPE: Reshape = Reshape;

/// `tg.transpose %x {perm = [1, 0]}`: result axis `i` is operand axis `perm[i]`.
pub struct Transpose;

impl OpDef for Transpose {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec = OpSpec::new("tg.transpose", "x with its axes permuted: result axis i is axis perm[i]")
            .attrs(&[AttrSpec::req("perm", AttrKind::Ints)]);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let x = cx.tensor(0)?;
        let perm = cx.ints("perm")?;
        let mut seen = vec![false; x.rank()];
        let mut dims = Vec::with_capacity(x.rank());
        for &p in &perm {
            let slot = usize::try_from(p).ok().filter(|&i| i < x.rank() && !seen[i]);
            let Some(i) = slot else {
                return Err(format!("perm {perm:?} is not a permutation of 0..{} (the rank of {x})", x.rank()));
            };
            seen[i] = true;
            dims.push(x.dims[i].clone());
        }
        if dims.len() != x.rank() {
            return Err(format!("perm {perm:?} is not a permutation of 0..{} (the rank of {x})", x.rank()));
        }
        Ok(vec![Type::Tensor(TensorType::new(dims, x.dtype))])
    }
    fn eval(&self, cx: &mut EvalCx) -> Result<Vec<Tensor>, String> {
        let x = cx.input(0)?;
        let perm = cx.op.ints("perm")?;
        let mut order: Vec<usize> = Vec::with_capacity(perm.len());
        for &p in &perm {
            match usize::try_from(p) {
                Ok(a) if a < x.rank() && !order.contains(&a) => order.push(a),
                _ => return Err(format!("perm {perm:?} is not a permutation of the axes of {:?}", x.shape())),
            }
        }
        if order.len() != x.rank() {
            return Err(format!("perm {perm:?} is not a permutation of the axes of {:?}", x.shape()));
        }
        let shape: Vec<usize> = order.iter().map(|&a| x.shape()[a]).collect();
        let data = map_elements!(x.data(), v => permute(v, x.shape(), &order)?.into_owned());
        Ok(vec![Tensor::new(x.dtype(), shape, data)?])
    }
    fn vjp(&self, cx: &mut VjpCx) -> Result<Grads, Diag> {
        rules::shape::transpose(cx)
    }
}

/// The `tg.transpose` op.
pub static TRANSPOSE: Transpose = Transpose;

/// The length of a static axis of size `dim` sliced by ONNX rules.
fn slice_len(dim: u64, start: i64, end: i64, step: i64) -> u64 {
    slice_range(dim, start, end, step).1
}

/// The first position and the length of a static axis of size `dim`
/// sliced by ONNX rules (`step` is not 0): negative starts and ends count
/// from the end, then both clamp to the axis (to `-1..dim-1` going backwards).
pub fn slice_range(dim: u64, start: i64, end: i64, step: i64) -> (i128, u64) {
    let (d, step) = (dim as i128, step as i128);
    let (mut start, mut end) = (start as i128, end as i128);
    if start < 0 {
        start += d;
    }
    if end < 0 {
        end += d;
    }
    // Clamp with max-then-min: on an empty axis the negative-step range is empty.
    let (start, end) = if step > 0 {
        (start.max(0).min(d), end.max(0).min(d))
    } else {
        (start.max(0).min(d - 1), end.max(-1).min(d - 1))
    };
    // ceil(span / stride) with a positive stride.
    let (span, stride) = if step > 0 { (end - start, step) } else { (start - end, -step) };
    (start, (span + stride - 1).div_euclid(stride).max(0) as u64)
}

/// One sliced axis: which, and its start, end and step as written.
pub struct SliceAxis {
    /// The axis (normalised to `0..rank`).
    pub axis: usize,
    /// The start as written (negative counts from the end).
    pub start: i64,
    /// The end as written (at least [`SLICE_TO_END`] means the end of the axis).
    pub end: i64,
    /// The step (never 0).
    pub step: i64,
}

/// Reads and checks `tg.slice`'s attributes for an operand of rank `rank`.
pub fn slice_axes(cx: &InferCx, rank: usize) -> Result<Vec<SliceAxis>, String> {
    let starts = cx.ints("starts")?;
    let ends = cx.ints("ends")?;
    let n = starts.len();
    let axes = match cx.attrs.get("axes") {
        Some(_) => cx.axes("axes", rank)?,
        None => {
            if n > rank {
                return Err(format!("{n} starts for an operand with only {rank} axes"));
            }
            (0..n).collect()
        }
    };
    let steps = cx.ints_or("steps", vec![1; n])?;
    if ends.len() != n || axes.len() != n || steps.len() != n {
        return Err(format!(
            "starts, ends, axes and steps must have one entry each per sliced axis, got {}, {}, {} and {}",
            n,
            ends.len(),
            axes.len(),
            steps.len()
        ));
    }
    if let Some(i) = steps.iter().position(|&s| s == 0) {
        return Err(format!("step #{i} is 0"));
    }
    Ok((0..n).map(|k| SliceAxis { axis: axes[k], start: starts[k], end: ends[k], step: steps[k] }).collect())
}

/// The length of an axis of size `dim` (any kind) sliced by ONNX rules.
fn slice_dim(dim: &Dim, start: i64, end: i64, step: i64) -> Dim {
    match dim {
        Dim::Known(d) => Dim::Known(slice_len(*d, start, end, step)),
        Dim::Sym(_) if step == 1 && start >= 0 && end >= SLICE_TO_END => dim.add_const(-start),
        _ => Dim::Unknown,
    }
}

/// `tg.slice %x {starts = [1], ends = [4], axes = [1], steps = [2]}`: ONNX
/// Slice. `axes` defaults to `0..len(starts)`, `steps` to all 1 (never 0);
/// negative starts and ends count from the end of the axis, then clamp; an
/// `end` of at least `i64::MAX / 2` means "to the end". On a symbolic axis
/// only `start = k >= 0`, to the end, step 1 keeps a named size (`dim - k`);
/// other slices of it are `?`.
pub struct Slice;

impl OpDef for Slice {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec =
            OpSpec::new("tg.slice", "the strided sub-range [starts, ends) of x along `axes` (ONNX Slice)").attrs(&[
                AttrSpec::req("starts", AttrKind::Ints),
                AttrSpec::req("ends", AttrKind::Ints),
                AttrSpec::opt("axes", AttrKind::Ints),
                AttrSpec::opt("steps", AttrKind::Ints),
            ]);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let x = cx.tensor(0)?;
        let mut dims = x.dims.clone();
        for s in slice_axes(cx, x.rank())? {
            dims[s.axis] = slice_dim(&x.dims[s.axis], s.start, s.end, s.step);
        }
        Ok(vec![Type::Tensor(TensorType::new(dims, x.dtype))])
    }
    fn eval(&self, cx: &mut EvalCx) -> Result<Vec<Tensor>, String> {
        let x = cx.input(0)?;
        let st = strides(x.shape());
        let mut axes: Vec<AxisOffsets> = x.shape().iter().zip(&st).map(|(&n, &s)| identity_offsets(n, s)).collect();
        for s in slice_axes(&cx.op, x.rank())? {
            let (first, len) = slice_range(x.shape()[s.axis] as u64, s.start, s.end, s.step);
            let stride = st[s.axis] as i128;
            axes[s.axis] = (0..len as i128).map(|i| Some(((first + i * s.step as i128) * stride) as usize)).collect();
        }
        Ok(vec![rearrange(x, &axes)?])
    }
    fn vjp(&self, cx: &mut VjpCx) -> Result<Grads, Diag> {
        rules::shape::slice(cx)
    }
}

/// The `tg.slice` op.
pub static SLICE: Slice = Slice;

/// `tg.pad %x, %value {low = [1, 0], high = [2, 0], mode = "constant"}`:
/// grows (or, with negative amounts, crops) each axis by `low` before and
/// `high` after. Negative amounts crop first; positive ones then add
/// elements: `value` (a rank-0 tensor of x's dtype) in `"constant"` mode,
/// mirror images of the cropped axis without its edge in `"reflect"` mode
/// (so each pad must be smaller than the cropped axis), copies of its edge
/// in `"edge"` mode.
pub struct Pad;

/// The size of an axis of size `n` padded by `lo` and `hi` in `mode`,
/// checking that the pads fit the mode.
fn padded_size(axis: usize, n: u64, lo: i64, hi: i64, mode: &str) -> Result<u64, String> {
    let kept = n as i128 + (lo.min(0) as i128) + (hi.min(0) as i128);
    if kept < 0 {
        return Err(format!("padding axis {axis} of size {n} by {lo} and {hi} leaves a negative size"));
    }
    if mode == "reflect" && (lo as i128 >= kept.max(1) || hi as i128 >= kept.max(1)) {
        return Err(format!("reflect padding of axis {axis} by {lo} and {hi} needs pads smaller than its size {kept}"));
    }
    if mode == "edge" && kept == 0 && (lo > 0 || hi > 0) {
        return Err(format!("edge padding of axis {axis} needs a non-empty axis"));
    }
    u64::try_from(kept + (lo.max(0) as i128) + (hi.max(0) as i128))
        .map_err(|_| format!("padding axis {axis} of size {n} by {lo} and {hi} gives too large a size"))
}

/// Where position `j` of an axis of size `n` padded by `lo` and `hi` in
/// `mode` reads the input (`None`: the padding value). The pads must have
/// passed [`padded_size`].
pub(crate) fn pad_source(n: usize, lo: i64, hi: i64, mode: &str, j: usize) -> Option<usize> {
    let crop_low = (-(lo as i128)).max(0);
    let kept = n as i128 - crop_low - (-(hi as i128)).max(0);
    let p = j as i128 - (lo as i128).max(0);
    let p = match mode {
        _ if (0..kept).contains(&p) => p,
        "reflect" if p < 0 => -p,
        "reflect" => 2 * (kept - 1) - p,
        "edge" => p.clamp(0, kept - 1),
        _ => return None,
    };
    Some((crop_low + p) as usize)
}

impl OpDef for Pad {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec =
            OpSpec::new("tg.pad", "x padded by `low`/`high` per axis with a constant, a reflection or the edge")
                .operands(Arity::Exactly(2))
                .attrs(&[
                    AttrSpec::req("low", AttrKind::Ints),
                    AttrSpec::req("high", AttrKind::Ints),
                    AttrSpec::opt("mode", AttrKind::Str),
                ]);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let x = cx.tensor(0)?;
        let value = cx.tensor(1)?;
        if value.rank() != 0 || value.dtype != x.dtype {
            return Err(format!("the padding value must be tensor<{}>, got {value}", x.dtype));
        }
        let (low, high) = (cx.ints("low")?, cx.ints("high")?);
        let mode = cx.choice("mode", &["constant", "reflect", "edge"], "constant")?;
        if low.len() != x.rank() || high.len() != x.rank() {
            return Err(format!(
                "low and high must have one entry per axis of {x}, got {} and {}",
                low.len(),
                high.len()
            ));
        }
        let mut dims = Vec::with_capacity(x.rank());
        for (axis, (d, (&lo, &hi))) in x.dims.iter().zip(low.iter().zip(&high)).enumerate() {
            dims.push(match d.known() {
                Some(n) => Dim::Known(padded_size(axis, n, lo, hi, mode)?),
                None => d.add_const(lo.saturating_add(hi)),
            });
        }
        Ok(vec![Type::Tensor(TensorType::new(dims, x.dtype))])
    }
    fn eval(&self, cx: &mut EvalCx) -> Result<Vec<Tensor>, String> {
        let (x, value) = (cx.input(0)?, cx.input(1)?);
        let (low, high) = (cx.op.ints("low")?, cx.op.ints("high")?);
        let mode = cx.op.choice("mode", &["constant", "reflect", "edge"], "constant")?;
        if low.len() != x.rank() || high.len() != x.rank() || value.len() != 1 {
            return Err(format!("low, high and the padding value do not fit an operand of shape {:?}", x.shape()));
        }
        let st = strides(x.shape());
        let mut axes: Vec<AxisOffsets> = Vec::with_capacity(x.rank());
        for (axis, &n) in x.shape().iter().enumerate() {
            let (lo, hi) = (low[axis], high[axis]);
            let size = padded_size(axis, n as u64, lo, hi, mode)?;
            let size = usize::try_from(size).map_err(|_| format!("axis {axis} would have {size} elements"))?;
            axes.push((0..size).map(|j| pad_source(n, lo, hi, mode, j).map(|p| p * st[axis])).collect());
        }
        // The padding value sits right after x's elements.
        let source = concat_data(&[x.data(), value.data()])?;
        let data = take(&source, flat_indices(&axes).map(|i| Some(i.unwrap_or(x.len()))))?;
        let shape = axes.iter().map(Vec::len).collect();
        Ok(vec![Tensor::new(x.dtype(), shape, data)?])
    }
    fn vjp(&self, cx: &mut VjpCx) -> Result<Grads, Diag> {
        rules::shape::pad(cx)
    }
}

/// The `tg.pad` op.
pub static PAD: Pad = Pad;

/// `tg.concat %a, %b {axis = 0}`: joins the operands along `axis`; they share
/// dtype, rank and every other dim.
pub struct Concat;

impl OpDef for Concat {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec = OpSpec::new("tg.concat", "the operands joined along `axis`")
            .operands(Arity::AtLeast(1))
            .attrs(&[AttrSpec::req("axis", AttrKind::Int)]);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let ts = cx.tensors()?;
        let dtype = same_dtype(&ts)?;
        let first = ts[0];
        let axis = cx.axis("axis", first.rank())?;
        let mut dims = first.dims.clone();
        for (i, t) in ts.iter().enumerate().skip(1) {
            if t.rank() != first.rank() {
                return Err(format!(
                    "operand #{i} ({t}) has rank {}, but operand #0 ({first}) has {}",
                    t.rank(),
                    first.rank()
                ));
            }
            for (a, d) in t.dims.iter().enumerate() {
                if a == axis {
                    dims[a] = match (dims[a].known(), d.known()) {
                        (Some(x), Some(y)) => Dim::Known(
                            x.checked_add(y)
                                .ok_or_else(|| format!("the sizes on axis {axis} add up to more than {}", u64::MAX))?,
                        ),
                        _ => dims[a].add(d),
                    };
                    continue;
                }
                dims[a] = unify_dims(&dims[a], d).ok_or_else(|| {
                    format!("operand #{i} ({t}) has size {d} on axis {a}, but the earlier operands have {}", dims[a])
                })?;
            }
        }
        Ok(vec![Type::Tensor(TensorType::new(dims, dtype))])
    }
    fn eval(&self, cx: &mut EvalCx) -> Result<Vec<Tensor>, String> {
        let first = cx.input(0)?;
        let axis = cx.op.axis("axis", first.rank())?;
        let mut shape = first.shape().to_vec();
        shape[axis] = 0;
        // Each operand's first element in the joined data and its chunk per outer index.
        let mut chunks = Vec::with_capacity(cx.inputs.len());
        let mut base = 0;
        for (i, t) in cx.inputs.iter().enumerate() {
            let fits = t.rank() == first.rank()
                && (0..t.rank()).all(|a| a == axis || t.shape()[a] == first.shape()[a])
                && t.dtype() == first.dtype();
            if !fits {
                return Err(format!(
                    "operand #{i} ({:?} {}) does not join operand #0 ({:?} {}) on axis {axis}",
                    t.shape(),
                    t.dtype(),
                    first.shape(),
                    first.dtype()
                ));
            }
            shape[axis] += t.shape()[axis];
            chunks.push((base, t.shape()[axis..].iter().product::<usize>()));
            base += t.len();
        }
        let outer: usize = first.shape()[..axis].iter().product();
        let parts: Vec<_> = cx.inputs.iter().map(Tensor::data).collect();
        let joined = concat_data(&parts)?;
        let chunks = &chunks;
        let indices = (0..outer)
            .flat_map(|o| chunks.iter().flat_map(move |&(base, len)| (0..len).map(move |j| Some(base + o * len + j))));
        Ok(vec![Tensor::new(first.dtype(), shape, take(&joined, indices)?)?])
    }
    fn vjp(&self, cx: &mut VjpCx) -> Result<Grads, Diag> {
        rules::shape::concat(cx)
    }
}

/// The `tg.concat` op.
pub static CONCAT: Concat = Concat;

/// `tg.reverse %x {axes = [0]}`: x with the order of elements along each of
/// `axes` reversed.
pub struct Reverse;

impl OpDef for Reverse {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec = OpSpec::new("tg.reverse", "x with the element order along `axes` reversed")
            .traits(Traits::PURE.union(Traits::SAME_TYPE))
            .attrs(&[AttrSpec::req("axes", AttrKind::Ints)]);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let x = cx.tensor(0)?;
        cx.axes("axes", x.rank())?;
        Ok(vec![Type::Tensor(x.clone())])
    }
    fn eval(&self, cx: &mut EvalCx) -> Result<Vec<Tensor>, String> {
        let x = cx.input(0)?;
        let reversed = cx.op.axes("axes", x.rank())?;
        let st = strides(x.shape());
        let axes: Vec<AxisOffsets> = (0..x.rank())
            .map(|a| {
                let n = x.shape()[a];
                if reversed.contains(&a) {
                    (0..n).map(|i| Some((n - 1 - i) * st[a])).collect()
                } else {
                    identity_offsets(n, st[a])
                }
            })
            .collect();
        Ok(vec![rearrange(x, &axes)?])
    }
    fn vjp(&self, cx: &mut VjpCx) -> Result<Grads, Diag> {
        rules::shape::reverse(cx)
    }
}

/// The `tg.reverse` op.
pub static REVERSE: Reverse = Reverse;

/// `tg.iota {shape = [2, 3], dtype = i64, axis = 1}`: a tensor whose every
/// element is its own index along `axis`.
pub struct Iota;

impl OpDef for Iota {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec = OpSpec::new("tg.iota", "a tensor of `shape` holding each element's index along `axis`")
            .operands(Arity::Exactly(0))
            .attrs(&[
                AttrSpec::req("shape", AttrKind::Shape),
                AttrSpec::req("dtype", AttrKind::DType),
                AttrSpec::req("axis", AttrKind::Int),
            ]);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let shape = cx.shape("shape")?;
        let dtype = cx.dtype("dtype")?;
        if !dtype.is_in(DTypeClass::Numeric) {
            return Err(format!("attribute 'dtype' must be {}, got {dtype}", DTypeClass::Numeric.describe()));
        }
        cx.axis("axis", shape.len())?;
        Ok(vec![Type::Tensor(TensorType::new(shape, dtype))])
    }
    fn eval(&self, cx: &mut EvalCx) -> Result<Vec<Tensor>, String> {
        let shape = cx.sizes(&cx.op.shape("shape")?)?;
        let dtype = cx.op.dtype("dtype")?;
        let axis = cx.op.axis("axis", shape.len())?;
        let inner: usize = shape[axis + 1..].iter().product();
        let count = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).ok_or("the shape is too large")?;
        let values: Vec<f64> = (0..count).map(|i| ((i / inner) % shape[axis]) as f64).collect();
        Ok(vec![Tensor::convert_f64(dtype, shape, &values)?])
    }
}

/// The `tg.iota` op.
pub static IOTA: Iota = Iota;

/// `tg.shape_of %x`: x's dims as a `tensor<R x i64>` (R = rank).
pub struct ShapeOf;

impl OpDef for ShapeOf {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec = OpSpec::new("tg.shape_of", "the dims of x as a rank-1 i64 tensor");
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let x = cx.tensor(0)?;
        Ok(vec![Type::static_tensor(&[x.rank() as u64], DType::I64)])
    }
    fn eval(&self, cx: &mut EvalCx) -> Result<Vec<Tensor>, String> {
        let dims: Vec<i64> = cx.input(0)?.shape().iter().map(|&d| d as i64).collect();
        Ok(vec![Tensor::from_i64s(&dims)])
    }
}

/// The `tg.shape_of` op.
pub static SHAPE_OF: ShapeOf = ShapeOf;

/// Every op declared in this file.
pub static OPS: &[OpRef] = &[&BROADCAST_TO, &RESHAPE, &TRANSPOSE, &SLICE, &PAD, &CONCAT, &REVERSE, &IOTA, &SHAPE_OF];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attr::{Attr, Attrs};
    use crate::infer::{infer_standalone, NoSymbols};

    fn infer(op: OpRef, operands: &[Type], attrs: Attrs) -> Result<Vec<Type>, String> {
        infer_standalone(op, operands, &attrs, &NoSymbols)
    }

    fn infer1(op: OpRef, x: &Type, attrs: Attrs) -> Result<Vec<Type>, String> {
        infer(op, std::slice::from_ref(x), attrs)
    }

    fn n() -> Dim {
        Dim::sym("N")
    }

    fn k(v: u64) -> Dim {
        Dim::Known(v)
    }

    fn f32s(dims: Vec<Dim>) -> Type {
        Type::tensor(dims, DType::F32)
    }

    #[test]
    fn broadcast_to_static_and_symbolic() {
        let x = Type::static_tensor(&[3, 1], DType::F32);
        let attrs = Attrs::from([("shape", Attr::ints(&[2, 3, 4]))]);
        assert_eq!(infer1(&BROADCAST_TO, &x, attrs), Ok(vec![Type::static_tensor(&[2, 3, 4], DType::F32)]));
        let x = Type::static_tensor(&[4], DType::F32);
        let attrs = Attrs::from([("shape", Attr::shape(&[n(), k(4)]))]);
        assert_eq!(infer1(&BROADCAST_TO, &x, attrs), Ok(vec![f32s(vec![n(), k(4)])]));
        // A `?` target takes the source's size when that is not 1.
        let x = f32s(vec![n(), k(1)]);
        let attrs = Attrs::from([("shape", Attr::shape(&[Dim::Unknown, k(5)]))]);
        assert_eq!(infer1(&BROADCAST_TO, &x, attrs), Ok(vec![f32s(vec![n(), k(5)])]));
    }

    #[test]
    fn broadcast_to_errors() {
        let x = Type::static_tensor(&[3], DType::F32);
        let attrs = Attrs::from([("shape", Attr::ints(&[2, 4]))]);
        assert_eq!(
            infer1(&BROADCAST_TO, &x, attrs),
            Err("cannot broadcast tensor<3xf32> to [2, 4]: dim 0 is 3, neither 1 nor the target's 4".into())
        );
        let attrs = Attrs::from([("shape", Attr::ints(&[]))]);
        assert_eq!(
            infer1(&BROADCAST_TO, &x, attrs),
            Err("cannot broadcast tensor<3xf32> to the lower-rank shape []".into())
        );
    }

    #[test]
    fn reshape_checks_element_counts() {
        let x = Type::static_tensor(&[2, 3, 4], DType::I32);
        let attrs = Attrs::from([("shape", Attr::ints(&[6, 4]))]);
        assert_eq!(infer1(&RESHAPE, &x, attrs), Ok(vec![Type::static_tensor(&[6, 4], DType::I32)]));
        let attrs = Attrs::from([("shape", Attr::ints(&[5, 5]))]);
        assert_eq!(
            infer1(&RESHAPE, &x, attrs),
            Err("cannot reshape tensor<2x3x4xi32> (24 elements) to [5, 5] (25 elements)".into())
        );
        let x = f32s(vec![n(), k(3), k(4)]);
        let flat = n().mul(&k(12));
        let attrs = Attrs::from([("shape", Attr::shape(std::slice::from_ref(&flat)))]);
        assert_eq!(infer1(&RESHAPE, &x, attrs), Ok(vec![f32s(vec![flat])]));
        let attrs = Attrs::from([("shape", Attr::shape(&[n(), k(11)]))]);
        assert_eq!(
            infer1(&RESHAPE, &x, attrs),
            Err("cannot reshape tensor<N x 3 x 4 x f32> (12*N elements) to [N, 11] (11*N elements)".into())
        );
        let attrs = Attrs::from([("shape", Attr::shape(&[Dim::Unknown, k(5)]))]);
        assert_eq!(infer1(&RESHAPE, &x, attrs), Ok(vec![f32s(vec![Dim::Unknown, k(5)])]));
    }

    #[test]
    fn transpose_permutes() {
        let x = f32s(vec![n(), k(3), k(4)]);
        let attrs = Attrs::from([("perm", Attr::ints(&[2, 0, 1]))]);
        assert_eq!(infer1(&TRANSPOSE, &x, attrs), Ok(vec![f32s(vec![k(4), n(), k(3)])]));
        for bad in [vec![0, 1], vec![0, 1, 1], vec![0, 1, 3], vec![0, 1, -1], vec![0, 1, 2, 3]] {
            let attrs = Attrs::from([("perm", Attr::ints(&bad))]);
            assert_eq!(
                infer1(&TRANSPOSE, &x, attrs),
                Err(format!("perm {bad:?} is not a permutation of 0..3 (the rank of tensor<N x 3 x 4 x f32>)"))
            );
        }
    }

    fn slice_attrs(starts: &[i64], ends: &[i64], axes: Option<&[i64]>, steps: Option<&[i64]>) -> Attrs {
        let mut a = Attrs::from([("starts", Attr::ints(starts)), ("ends", Attr::ints(ends))]);
        if let Some(axes) = axes {
            a.set("axes", Attr::ints(axes));
        }
        if let Some(steps) = steps {
            a.set("steps", Attr::ints(steps));
        }
        a
    }

    #[test]
    fn slice_static_follows_onnx() {
        assert_eq!(slice_len(10, 1, 4, 1), 3);
        assert_eq!(slice_len(10, 0, 10, 3), 4);
        assert_eq!(slice_len(10, -3, i64::MAX, 1), 3);
        assert_eq!(slice_len(10, i64::MIN, i64::MAX, 1), 10);
        assert_eq!(slice_len(10, -1, i64::MIN, -1), 10);
        assert_eq!(slice_len(10, 8, 2, -2), 3);
        assert_eq!(slice_len(10, 5, 2, 1), 0);
        assert_eq!(slice_len(10, 20, 30, 1), 0);
        assert_eq!(slice_len(0, -1, i64::MIN, -1), 0);
        let x = Type::static_tensor(&[5, 10], DType::F32);
        let attrs = slice_attrs(&[1, 8], &[4, 2], None, Some(&[1, -2]));
        assert_eq!(infer1(&SLICE, &x, attrs), Ok(vec![Type::static_tensor(&[3, 3], DType::F32)]));
        let attrs = slice_attrs(&[2], &[SLICE_TO_END], Some(&[-1]), None);
        assert_eq!(infer1(&SLICE, &x, attrs), Ok(vec![Type::static_tensor(&[5, 8], DType::F32)]));
    }

    #[test]
    fn slice_symbolic_dims() {
        let x = f32s(vec![n(), k(10)]);
        let attrs = slice_attrs(&[0], &[i64::MAX], None, None);
        assert_eq!(infer1(&SLICE, &x, attrs), Ok(vec![x.clone()]));
        let attrs = slice_attrs(&[2], &[i64::MAX], None, None);
        assert_eq!(infer1(&SLICE, &x, attrs), Ok(vec![f32s(vec![n().add_const(-2), k(10)])]));
        let attrs = slice_attrs(&[0], &[3], None, None);
        assert_eq!(infer1(&SLICE, &x, attrs), Ok(vec![f32s(vec![Dim::Unknown, k(10)])]));
        let attrs = slice_attrs(&[0], &[i64::MAX], None, Some(&[2]));
        assert_eq!(infer1(&SLICE, &x, attrs), Ok(vec![f32s(vec![Dim::Unknown, k(10)])]));
    }

    #[test]
    fn slice_errors() {
        let x = Type::static_tensor(&[5, 10], DType::F32);
        let attrs = slice_attrs(&[0], &[1], None, Some(&[0]));
        assert_eq!(infer1(&SLICE, &x, attrs), Err("step #0 is 0".into()));
        let attrs = slice_attrs(&[0, 0], &[1], None, None);
        assert_eq!(
            infer1(&SLICE, &x, attrs),
            Err("starts, ends, axes and steps must have one entry each per sliced axis, got 2, 1, 2 and 2".into())
        );
        let attrs = slice_attrs(&[0, 0, 0], &[1, 1, 1], None, None);
        assert_eq!(infer1(&SLICE, &x, attrs), Err("3 starts for an operand with only 2 axes".into()));
        let attrs = slice_attrs(&[0, 0], &[1, 1], Some(&[1, -1]), None);
        assert_eq!(infer1(&SLICE, &x, attrs), Err("attribute 'axes': axis -1 is repeated".into()));
    }

    fn pad_attrs(low: &[i64], high: &[i64], mode: &str) -> Attrs {
        Attrs::from([("low", Attr::ints(low)), ("high", Attr::ints(high)), ("mode", Attr::Str(mode.into()))])
    }

    #[test]
    fn pad_grows_and_crops() {
        let x = Type::static_tensor(&[2, 3], DType::F32);
        let z = Type::static_tensor(&[], DType::F32);
        let out = infer(&PAD, &[x.clone(), z.clone()], pad_attrs(&[1, 0], &[1, -1], "constant"));
        assert_eq!(out, Ok(vec![Type::static_tensor(&[4, 2], DType::F32)]));
        let out = infer(&PAD, &[x, z.clone()], pad_attrs(&[1, 2], &[1, 2], "reflect"));
        assert_eq!(out, Ok(vec![Type::static_tensor(&[4, 7], DType::F32)]));
        let s = f32s(vec![n(), k(3)]);
        let out = infer(&PAD, &[s, z], pad_attrs(&[2, 0], &[1, 0], "edge"));
        assert_eq!(out, Ok(vec![f32s(vec![n().add_const(3), k(3)])]));
    }

    #[test]
    fn pad_errors() {
        let x = Type::static_tensor(&[2, 3], DType::F32);
        let z = Type::static_tensor(&[], DType::F32);
        let out = infer(&PAD, &[x.clone(), z.clone()], pad_attrs(&[2, 0], &[0, 0], "reflect"));
        assert_eq!(out, Err("reflect padding of axis 0 by 2 and 0 needs pads smaller than its size 2".into()));
        let out = infer(&PAD, &[x.clone(), z.clone()], pad_attrs(&[0, -2], &[0, -2], "constant"));
        assert_eq!(out, Err("padding axis 1 of size 3 by -2 and -2 leaves a negative size".into()));
        let out = infer(&PAD, &[x.clone(), z.clone()], pad_attrs(&[0], &[0], "constant"));
        assert_eq!(out, Err("low and high must have one entry per axis of tensor<2x3xf32>, got 1 and 1".into()));
        let out = infer(&PAD, &[x.clone(), z.clone()], pad_attrs(&[0, 0], &[0, 0], "wrap"));
        assert_eq!(
            out,
            Err("attribute 'mode' must be one of \"constant\", \"reflect\", \"edge\", got \"wrap\"".into())
        );
        let zi = Type::static_tensor(&[], DType::I32);
        let out = infer(&PAD, &[x, zi], pad_attrs(&[0, 0], &[0, 0], "constant"));
        assert_eq!(out, Err("the padding value must be tensor<f32>, got tensor<i32>".into()));
    }

    #[test]
    fn concat_sums_axis() {
        let a = Type::static_tensor(&[2, 3], DType::F32);
        let b = Type::static_tensor(&[5, 3], DType::F32);
        let attrs = Attrs::from([("axis", Attr::Int(0))]);
        assert_eq!(
            infer(&CONCAT, &[a.clone(), b, a.clone()], attrs),
            Ok(vec![Type::static_tensor(&[9, 3], DType::F32)])
        );
        let x = f32s(vec![n(), k(3)]);
        let y = f32s(vec![Dim::sym("M"), Dim::Unknown]);
        let attrs = Attrs::from([("axis", Attr::Int(-2))]);
        assert_eq!(infer(&CONCAT, &[x, y], attrs), Ok(vec![f32s(vec![n().add(&Dim::sym("M")), k(3)])]));
        let attrs = Attrs::from([("axis", Attr::Int(1))]);
        assert_eq!(infer1(&CONCAT, &a, attrs.clone()), Ok(vec![a.clone()]));
        let c = Type::static_tensor(&[3, 3], DType::F32);
        assert_eq!(
            infer(&CONCAT, &[a.clone(), c], attrs.clone()),
            Err("operand #1 (tensor<3x3xf32>) has size 3 on axis 0, but the earlier operands have 2".into())
        );
        let d = Type::static_tensor(&[2, 3], DType::F16);
        assert_eq!(infer(&CONCAT, &[a, d], attrs), Err("operand #1 has dtype f16, but operand #0 has f32".into()));
    }

    #[test]
    fn reverse_iota_shape_of() {
        let x = f32s(vec![n(), k(3)]);
        assert_eq!(infer1(&REVERSE, &x, Attrs::from([("axes", Attr::ints(&[0, 1]))])), Ok(vec![x.clone()]));
        assert_eq!(
            infer1(&REVERSE, &x, Attrs::from([("axes", Attr::ints(&[2]))])),
            Err("attribute 'axes': axis 2 is out of range for rank 2".into())
        );
        let attrs = |shape: &[Dim], dtype| {
            Attrs::from([("shape", Attr::shape(shape)), ("dtype", Attr::DType(dtype)), ("axis", Attr::Int(1))])
        };
        assert_eq!(
            infer(&IOTA, &[], attrs(&[k(2), k(3)], DType::I64)),
            Ok(vec![Type::static_tensor(&[2, 3], DType::I64)])
        );
        assert_eq!(infer(&IOTA, &[], attrs(&[n(), k(3)], DType::F32)), Ok(vec![f32s(vec![n(), k(3)])]));
        assert_eq!(
            infer(&IOTA, &[], attrs(&[k(2)], DType::I64)),
            Err("attribute 'axis': axis 1 is out of range for rank 1".into())
        );
        assert_eq!(
            infer(&IOTA, &[], attrs(&[k(2), k(3)], DType::I1)),
            Err("attribute 'dtype' must be a numeric (non-bool) dtype, got i1".into())
        );
        assert_eq!(infer1(&SHAPE_OF, &x, Attrs::new()), Ok(vec![Type::static_tensor(&[2], DType::I64)]));
        assert_eq!(
            infer(&SHAPE_OF, &[Type::static_tensor(&[], DType::I1)], Attrs::new()),
            Ok(vec![Type::static_tensor(&[0], DType::I64)])
        );
        assert_eq!(
            infer(&SHAPE_OF, &[Type::Index], Attrs::new()),
            Err("operand #0 must be a tensor, got index".into())
        );
    }

    mod eval {
        use super::*;
        use crate::dialect::graph::testing::{arange, eval1, f32s, i64s};
        use crate::tensor::{Data, Tensor};

        fn values(t: &Tensor) -> Vec<f64> {
            t.to_f64s()
        }

        #[test]
        fn broadcast_to_repeats_size_one_axes() {
            let x = Tensor::new(DType::I32, vec![3, 1], Data::Int(vec![1, 2, 3])).unwrap();
            let out = eval1(&BROADCAST_TO, &[x], &Attrs::from([("shape", Attr::ints(&[2, 3, 2]))])).unwrap();
            assert_eq!((out.shape(), out.dtype()), (&[2, 3, 2][..], DType::I32));
            assert_eq!(out.to_i64s(), [1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3]);
            // A `?` target takes the source's size.
            let x = arange(&[2, 1]);
            let out = eval1(&BROADCAST_TO, &[x], &Attrs::from([("shape", Attr::shape(&[Dim::Unknown, k(3)]))]));
            assert_eq!(out.map(|t| values(&t)), Ok(vec![0.0, 0.0, 0.0, 1.0, 1.0, 1.0]));
        }

        #[test]
        fn reshape_resolves_unknown_dims_from_the_count() {
            let x = Tensor::new(DType::I1, vec![2, 6], Data::Bool((0..12).map(|i| i % 3 == 0).collect())).unwrap();
            let attrs = Attrs::from([("shape", Attr::shape(&[k(3), Dim::Unknown]))]);
            let out = eval1(&RESHAPE, std::slice::from_ref(&x), &attrs).unwrap();
            assert_eq!(out.shape(), [3, 4]);
            assert_eq!(out.data(), x.data());
            let err = eval1(&RESHAPE, &[x], &Attrs::from([("shape", Attr::shape(&[k(5), Dim::Unknown]))])).unwrap_err();
            assert_eq!(err, "cannot reshape [2, 6] (12 elements) to [5, ?] (its '?' dims cannot be resolved)");
            let empty = f32s(&[0, 4], &[]);
            let err =
                eval1(&RESHAPE, &[empty], &Attrs::from([("shape", Attr::shape(&[k(0), Dim::Unknown]))])).unwrap_err();
            assert_eq!(err, "cannot reshape [0, 4] (0 elements) to [0, ?] (its '?' dims cannot be resolved)");
        }

        #[test]
        fn transpose_matches_the_index_formula() {
            let x = arange(&[2, 3, 4]);
            let out = eval1(&TRANSPOSE, &[x], &Attrs::from([("perm", Attr::ints(&[2, 0, 1]))])).unwrap();
            assert_eq!(out.shape(), [4, 2, 3]);
            for (flat, v) in values(&out).into_iter().enumerate() {
                let (c, a, b) = (flat / 6, (flat / 3) % 2, flat % 3);
                assert_eq!(v, (a * 12 + b * 4 + c) as f64);
            }
            let empty = eval1(&TRANSPOSE, &[f32s(&[0, 3], &[])], &Attrs::from([("perm", Attr::ints(&[1, 0]))]));
            assert_eq!(empty.map(|t| t.shape().to_vec()), Ok(vec![3, 0]));
        }

        #[test]
        fn slice_follows_onnx_with_negative_steps_and_clamping() {
            let x = arange(&[10]);
            let run = |starts: &[i64], ends: &[i64], steps: &[i64]| {
                eval1(&SLICE, std::slice::from_ref(&x), &slice_attrs(starts, ends, None, Some(steps)))
                    .map(|t| values(&t))
            };
            assert_eq!(run(&[8], &[2], &[-2]), Ok(vec![8.0, 6.0, 4.0]));
            assert_eq!(run(&[-1], &[i64::MIN], &[-3]), Ok(vec![9.0, 6.0, 3.0, 0.0]));
            assert_eq!(run(&[100], &[-100], &[-4]), Ok(vec![9.0, 5.0, 1.0]));
            assert_eq!(run(&[-3], &[SLICE_TO_END], &[1]), Ok(vec![7.0, 8.0, 9.0]));
            assert_eq!(run(&[20], &[30], &[1]), Ok(vec![]));
            assert_eq!(run(&[2], &[2], &[-1]), Ok(vec![]));
            let m = arange(&[3, 4]);
            let out = eval1(&SLICE, &[m], &slice_attrs(&[3, 1], &[0, 3], Some(&[-1, 0]), Some(&[-2, 1]))).unwrap();
            assert_eq!(out.shape(), [2, 2]);
            assert_eq!(values(&out), [7.0, 5.0, 11.0, 9.0]);
            let empty = eval1(&SLICE, &[f32s(&[0, 3], &[])], &slice_attrs(&[-1], &[i64::MIN], None, Some(&[-1])));
            assert_eq!(empty.map(|t| t.shape().to_vec()), Ok(vec![0, 3]));
        }

        fn pad(x: Tensor, value: f64, low: &[i64], high: &[i64], mode: &str) -> Result<Tensor, String> {
            let v = Tensor::scalar(x.dtype(), value);
            eval1(&PAD, &[x, v], &pad_attrs(low, high, mode))
        }

        #[test]
        fn pad_constant_reflect_and_edge() {
            let x = arange(&[2, 2]);
            let out = pad(x, 9.0, &[1, 0], &[0, 1], "constant").unwrap();
            assert_eq!(out.shape(), [3, 3]);
            assert_eq!(values(&out), [9.0, 9.0, 9.0, 0.0, 1.0, 9.0, 2.0, 3.0, 9.0]);
            let row = f32s(&[3], &[1.0, 2.0, 3.0]);
            assert_eq!(
                pad(row.clone(), 0.0, &[2], &[2], "reflect").map(|t| values(&t)),
                Ok(vec![3.0, 2.0, 1.0, 2.0, 3.0, 2.0, 1.0])
            );
            assert_eq!(
                pad(row.clone(), 0.0, &[2], &[1], "edge").map(|t| values(&t)),
                Ok(vec![1.0, 1.0, 1.0, 2.0, 3.0, 3.0])
            );
            let grid = arange(&[2, 3]);
            let out = pad(grid, 0.0, &[1, 1], &[0, 1], "reflect").unwrap();
            assert_eq!(values(&out), [4.0, 3.0, 4.0, 5.0, 4.0, 1.0, 0.0, 1.0, 2.0, 1.0, 4.0, 3.0, 4.0, 5.0, 4.0]);
            let bools = Tensor::new(DType::I1, vec![2], Data::Bool(vec![true, false])).unwrap();
            assert_eq!(pad(bools, 1.0, &[1], &[0], "constant").map(|t| t.to_bools()), Ok(vec![true, true, false]));
        }

        #[test]
        fn pad_negative_amounts_crop_first() {
            let x = f32s(&[4], &[1.0, 2.0, 3.0, 4.0]);
            assert_eq!(
                pad(x.clone(), 7.0, &[-1], &[2], "constant").map(|t| values(&t)),
                Ok(vec![2.0, 3.0, 4.0, 7.0, 7.0])
            );
            // Reflect and edge pad the cropped axis [2, 3, 4].
            assert_eq!(
                pad(x.clone(), 0.0, &[-1], &[2], "reflect").map(|t| values(&t)),
                Ok(vec![2.0, 3.0, 4.0, 3.0, 2.0])
            );
            assert_eq!(pad(x.clone(), 0.0, &[1], &[-2], "edge").map(|t| values(&t)), Ok(vec![1.0, 1.0, 2.0]));
            assert_eq!(pad(x.clone(), 0.0, &[-2], &[-2], "constant").map(|t| values(&t)), Ok(vec![]));
            assert_eq!(
                pad(x, 0.0, &[-2], &[2], "reflect").unwrap_err(),
                "reflect padding of axis 0 by -2 and 2 needs pads smaller than its size 2"
            );
            let empty = f32s(&[0, 2], &[]);
            assert_eq!(pad(empty.clone(), 5.0, &[1, 0], &[0, 0], "constant").map(|t| values(&t)), Ok(vec![5.0, 5.0]));
            assert_eq!(
                pad(empty, 5.0, &[1, 0], &[0, 0], "edge").unwrap_err(),
                "edge padding of axis 0 needs a non-empty axis"
            );
        }

        #[test]
        fn concat_joins_chunks_per_outer_index() {
            let a = i64s(&[2, 1], &[1, 2]);
            let b = i64s(&[2, 2], &[3, 4, 5, 6]);
            let none = i64s(&[2, 0], &[]);
            let out = eval1(&CONCAT, &[a.clone(), none, b], &Attrs::from([("axis", Attr::Int(-1))])).unwrap();
            assert_eq!((out.shape(), out.to_i64s()), (&[2, 3][..], vec![1, 3, 4, 2, 5, 6]));
            let out = eval1(&CONCAT, &[a.clone(), a], &Attrs::from([("axis", Attr::Int(0))])).unwrap();
            assert_eq!((out.shape(), out.to_i64s()), (&[4, 1][..], vec![1, 2, 1, 2]));
        }

        #[test]
        fn reverse_iota_shape_of_values() {
            let out = eval1(&REVERSE, &[arange(&[2, 3])], &Attrs::from([("axes", Attr::ints(&[0, -1]))])).unwrap();
            assert_eq!(values(&out), [5.0, 4.0, 3.0, 2.0, 1.0, 0.0]);
            let out = eval1(&REVERSE, &[arange(&[2, 3])], &Attrs::from([("axes", Attr::ints(&[1]))])).unwrap();
            assert_eq!(values(&out), [2.0, 1.0, 0.0, 5.0, 4.0, 3.0]);
            let iota = |shape: &[u64], dtype, axis| {
                let attrs = Attrs::from([
                    ("shape", Attr::ints(&shape.iter().map(|&d| d as i64).collect::<Vec<_>>())),
                    ("dtype", Attr::DType(dtype)),
                    ("axis", Attr::Int(axis)),
                ]);
                eval1(&IOTA, &[], &attrs).unwrap()
            };
            let t = iota(&[2, 3], DType::I64, 1);
            assert_eq!((t.dtype(), t.to_i64s()), (DType::I64, vec![0, 1, 2, 0, 1, 2]));
            assert_eq!(iota(&[2, 3], DType::F16, 0).to_f64s(), [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]);
            assert_eq!(iota(&[0, 3], DType::U8, 0).len(), 0);
            let shape = eval1(&SHAPE_OF, &[f32s(&[2, 0, 5], &[])], &Attrs::new()).unwrap();
            assert_eq!((shape.dtype(), shape.to_i64s()), (DType::I64, vec![2, 0, 5]));
        }
    }
}
