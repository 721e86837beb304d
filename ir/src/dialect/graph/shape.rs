//! Ops that move or rearrange elements without computing on them:
//! `tg.broadcast_to`, `tg.reshape`, `tg.transpose`, `tg.slice`, `tg.pad`,
//! `tg.concat`, `tg.reverse`, plus `tg.iota` and `tg.shape_of`.

use crate::dim::Dim;
use crate::dtype::{DType, DTypeClass};
use crate::infer::{same_dtype, show_dims, InferCx};
use crate::op::{Arity, AttrKind, AttrSpec, OpDef, OpRef, OpSpec, Traits};
use crate::types::{TensorType, Type};

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
}

/// The `tg.transpose` op.
pub static TRANSPOSE: Transpose = Transpose;

/// The length of a static axis of size `dim` sliced by ONNX rules.
fn slice_len(dim: u64, start: i64, end: i64, step: i64) -> u64 {
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
    (span + stride - 1).div_euclid(stride).max(0) as u64
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
        let starts = cx.ints("starts")?;
        let ends = cx.ints("ends")?;
        let n = starts.len();
        let axes = match cx.attrs.get("axes") {
            Some(_) => cx.axes("axes", x.rank())?,
            None => {
                if n > x.rank() {
                    return Err(format!("{n} starts for {x}, which has only {} axes", x.rank()));
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
        let mut dims = x.dims.clone();
        for (k, &axis) in axes.iter().enumerate() {
            dims[axis] = slice_dim(&x.dims[axis], starts[k], ends[k], steps[k]);
        }
        Ok(vec![Type::Tensor(TensorType::new(dims, x.dtype))])
    }
}

/// The `tg.slice` op.
pub static SLICE: Slice = Slice;

/// `tg.pad %x, %value {low = [1, 0], high = [2, 0], mode = "constant"}`:
/// grows (or, with negative amounts, crops) each axis by `low` before and
/// `high` after. New elements are `value` (a rank-0 tensor of x's dtype) in
/// `"constant"` mode, mirror images without the edge in `"reflect"` mode
/// (so each pad must be smaller than the axis), copies of the edge in `"edge"`.
pub struct Pad;

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
            let Some(n) = d.known() else {
                dims.push(d.add_const(lo.saturating_add(hi)));
                continue;
            };
            let too_far = |p: i64| p > 0 && u64::try_from(p).is_ok_and(|p| p >= n);
            if mode == "reflect" && (too_far(lo) || too_far(hi)) {
                return Err(format!(
                    "reflect padding of axis {axis} by {lo} and {hi} needs pads smaller than its size {n}"
                ));
            }
            if mode == "edge" && n == 0 && (lo > 0 || hi > 0) {
                return Err(format!("edge padding of axis {axis} needs a non-empty axis"));
            }
            let size = (n as i128) + (lo as i128) + (hi as i128);
            let size = u64::try_from(size)
                .map_err(|_| format!("padding axis {axis} of size {n} by {lo} and {hi} leaves a negative size"))?;
            dims.push(Dim::Known(size));
        }
        Ok(vec![Type::Tensor(TensorType::new(dims, x.dtype))])
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
        assert_eq!(infer1(&SLICE, &x, attrs), Err("3 starts for tensor<5x10xf32>, which has only 2 axes".into()));
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
}
