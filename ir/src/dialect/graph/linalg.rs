//! Contractions: `tg.dot` (StableHLO dot_general: batched matmul over
//! chosen axes) and `tg.conv` (N-d grouped, strided, dilated convolution).

use super::kernels::Elem;
use super::layout::{flat_indices, identity_offsets, permute, AxisOffsets};
use super::shape::unify_dims;
use super::window::{per_axis, window_axes, window_out, WindowAxis, WINDOW_LIMIT};
use crate::dim::Dim;
use crate::dtype::DTypeClass;
use crate::eval::EvalCx;
use crate::infer::{normalize_axes, same_dtype, InferCx};
use crate::op::{Arity, AttrKind, AttrSpec, OpDef, OpRef, OpSpec};
use crate::tensor::{strides, Data, Tensor};
use crate::types::{TensorType, Type};
use std::borrow::Cow;
use super::vjp as rules;
use crate::diag::Diag;
use crate::vjp::{Grads, VjpCx};

/// `tg.dot %a, %b {lhs_batch = [0], rhs_batch = [0], lhs_contract = [2], rhs_contract = [1]}`:
/// StableHLO dot_general. Paired batch axes run in lockstep, paired
/// contracting axes are multiplied and summed; the result's dims are the
/// batch dims, then lhs's remaining dims in order, then rhs's. Axes may be
/// negative (counted from the end); on each side all listed axes are distinct.
pub struct Dot;

/// Reads the axis lists `lhs_{what}` and `rhs_{what}`, which pair up
/// (`[]` each when absent and not `required`).
fn axis_pair(
    cx: &InferCx,
    what: &str,
    required: bool,
    lhs: &TensorType,
    rhs: &TensorType,
) -> Result<(Vec<usize>, Vec<usize>), String> {
    let (ln, rn) = (format!("lhs_{what}"), format!("rhs_{what}"));
    let read = |name: &str| if required { cx.ints(name) } else { cx.ints_or(name, Vec::new()) };
    let (l, r) = (read(&ln)?, read(&rn)?);
    if l.len() != r.len() {
        return Err(format!("'{ln}' and '{rn}' must have the same length, got {l:?} and {r:?}"));
    }
    let l = normalize_axes(&l, lhs.rank()).map_err(|e| format!("attribute '{ln}': {e}"))?;
    let r = normalize_axes(&r, rhs.rank()).map_err(|e| format!("attribute '{rn}': {e}"))?;
    Ok((l, r))
}

impl OpDef for Dot {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec = OpSpec::new("tg.dot", "generalised batched matrix product (StableHLO dot_general)")
            .operands(Arity::Exactly(2))
            .attrs(&[
                AttrSpec::opt("lhs_batch", AttrKind::Ints),
                AttrSpec::opt("rhs_batch", AttrKind::Ints),
                AttrSpec::req("lhs_contract", AttrKind::Ints),
                AttrSpec::req("rhs_contract", AttrKind::Ints),
            ]);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let (lhs, rhs) = (cx.tensor_of(0, DTypeClass::Numeric)?, cx.tensor_of(1, DTypeClass::Numeric)?);
        let dtype = same_dtype(&[lhs, rhs])?;
        let (lb, rb) = axis_pair(cx, "batch", false, lhs, rhs)?;
        let (lc, rc) = axis_pair(cx, "contract", true, lhs, rhs)?;
        for (side, batch, contract) in [("lhs", &lb, &lc), ("rhs", &rb, &rc)] {
            if let Some(a) = batch.iter().find(|a| contract.contains(a)) {
                return Err(format!("{side} axis {a} is both a batch and a contracting axis"));
            }
        }
        let mut dims = Vec::new();
        for (what, ls, rs) in [("batch", &lb, &rb), ("contracting", &lc, &rc)] {
            for (&l, &r) in ls.iter().zip(rs.iter()) {
                let (dl, dr) = (&lhs.dims[l], &rhs.dims[r]);
                let d = unify_dims(dl, dr).ok_or_else(|| {
                    format!("{what} axes differ: lhs axis {l} of {lhs} is {dl} but rhs axis {r} of {rhs} is {dr}")
                })?;
                if what == "batch" {
                    dims.push(d);
                }
            }
        }
        let free = |t: &TensorType, b: &[usize], c: &[usize]| -> Vec<Dim> {
            (0..t.rank()).filter(|a| !b.contains(a) && !c.contains(a)).map(|a| t.dims[a].clone()).collect()
        };
        dims.extend(free(lhs, &lb, &lc));
        dims.extend(free(rhs, &rb, &rc));
        Ok(vec![Type::Tensor(TensorType::new(dims, dtype))])
    }
    fn eval(&self, cx: &mut EvalCx) -> Result<Vec<Tensor>, String> {
        let (a, b) = (cx.input(0)?, cx.input(1)?);
        let (lt, rt) = (a.ty(), b.ty());
        let (lb, rb) = axis_pair(&cx.op, "batch", false, &lt, &rt)?;
        let (lc, rc) = axis_pair(&cx.op, "contract", true, &lt, &rt)?;
        for (&l, &r) in lb.iter().zip(&rb).chain(lc.iter().zip(&rc)) {
            if a.shape()[l] != b.shape()[r] {
                return Err(format!(
                    "lhs axis {l} of {:?} has size {} but the paired rhs axis {r} of {:?} has {}",
                    a.shape(),
                    a.shape()[l],
                    b.shape(),
                    b.shape()[r]
                ));
            }
        }
        let free = |t: &Tensor, used: &[&[usize]]| -> Vec<usize> {
            (0..t.rank()).filter(|x| used.iter().all(|u| !u.contains(x))).collect()
        };
        let (lf, rf) = (free(a, &[&lb, &lc]), free(b, &[&rb, &rc]));
        let sizes = |t: &Tensor, axes: &[usize]| -> Vec<usize> { axes.iter().map(|&x| t.shape()[x]).collect() };
        let product = |t: &Tensor, axes: &[usize]| -> usize { axes.iter().map(|&x| t.shape()[x]).product() };
        let mut shape = sizes(a, &lb);
        shape.extend(sizes(a, &lf));
        shape.extend(sizes(b, &rf));
        // lhs as [batch, M, K]; rhs as [batch, K, N], or as [batch, N, K] when that needs no transposition.
        let lhs_order = [lb.as_slice(), &lf, &lc].concat();
        let identity = |order: &[usize]| order.iter().enumerate().all(|(i, &x)| i == x);
        let (kn, nk) = ([rb.as_slice(), &rc, &rf].concat(), [rb.as_slice(), &rf, &rc].concat());
        let rhs_nk = identity(&nk) && !identity(&kn);
        let rhs_order = if rhs_nk { nk } else { kn };
        let dims =
            MatmulDims { batch: product(a, &lb), m: product(a, &lf), k: product(a, &lc), n: product(b, &rf), rhs_nk };
        fn run<T: Elem>(
            x: &[T],
            y: &[T],
            a: &Tensor,
            b: &Tensor,
            orders: [&[usize]; 2],
            dims: MatmulDims,
        ) -> Result<Vec<T>, String> {
            Ok(matmul(&permute(x, a.shape(), orders[0])?, &permute(y, b.shape(), orders[1])?, dims))
        }
        let orders = [lhs_order.as_slice(), &rhs_order];
        let data = match (a.data(), b.data()) {
            (Data::Float(x), Data::Float(y)) => Data::Float(run(x, y, a, b, orders, dims)?),
            (Data::Int(x), Data::Int(y)) => Data::Int(run(x, y, a, b, orders, dims)?),
            (Data::UInt(x), Data::UInt(y)) => Data::UInt(run(x, y, a, b, orders, dims)?),
            _ => return Err(format!("operands of dtypes {} and {} cannot be multiplied", a.dtype(), b.dtype())),
        };
        Ok(vec![Tensor::new(a.dtype(), shape, data)?])
    }
    fn vjp(&self, cx: &mut VjpCx) -> Result<Grads, Diag> {
        rules::linalg::dot(cx)
    }
}

/// The sizes of a batched matrix product: `batch` products of an `m x k`
/// lhs with a `k x n` rhs, the rhs stored `n x k` when `rhs_nk`.
#[derive(Copy, Clone, Debug)]
struct MatmulDims {
    batch: usize,
    m: usize,
    k: usize,
    n: usize,
    rhs_nk: bool,
}

/// `batch` row-major matrix products, accumulated in the domain of `T`.
/// With the rhs stored `k x n` the loop runs i-k-j (the inner loop updates
/// a contiguous output row); stored `n x k`, each output is a dot product
/// of two contiguous rows.
fn matmul<T: Elem>(a: &[T], b: &[T], d: MatmulDims) -> Vec<T> {
    let mut out = vec![T::ZERO; d.batch * d.m * d.n];
    if out.is_empty() {
        return out;
    }
    let (mk, kn, mn) = (d.m * d.k, d.k * d.n, d.m * d.n);
    for p in 0..d.batch {
        let (a, b) = (&a[p * mk..(p + 1) * mk], &b[p * kn..(p + 1) * kn]);
        for (i, row) in out[p * mn..(p + 1) * mn].chunks_exact_mut(d.n).enumerate() {
            let a_row = &a[i * d.k..(i + 1) * d.k];
            if d.rhs_nk {
                for (j, slot) in row.iter_mut().enumerate() {
                    *slot = dot_product(a_row, &b[j * d.k..(j + 1) * d.k]);
                }
            } else {
                for (kk, &x) in a_row.iter().enumerate() {
                    for (slot, &y) in row.iter_mut().zip(&b[kk * d.n..(kk + 1) * d.n]) {
                        *slot = slot.plus(x.times(y));
                    }
                }
            }
        }
    }
    out
}

/// `sum(a[i] * b[i])` over eight interleaved partial sums (so the loop
/// vectorises), then the tail.
fn dot_product<T: Elem>(a: &[T], b: &[T]) -> T {
    const LANES: usize = 8;
    let mut acc = [T::ZERO; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail = ca.remainder().iter().zip(cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..LANES {
            acc[l] = acc[l].plus(x[l].times(y[l]));
        }
    }
    let sum = acc.iter().fold(T::ZERO, |s, &v| s.plus(v));
    tail.fold(sum, |s, (&x, &y)| s.plus(x.times(y)))
}

/// The `tg.dot` op.
pub static DOT: Dot = Dot;

/// `tg.conv %input, %weight {strides = [2, 2], pad_low = [1, 1], pad_high = [1, 1]}`:
/// N-d convolution (cross-correlation, as in ONNX Conv) of an input laid out
/// `N, C, spatial...` with a weight laid out `O, C / groups, kernel...`. Per
/// spatial axis: `lhs_dilation` spreads the input (transposed convolution),
/// `pad_low`/`pad_high` pad it (negative crops), `dilations` spreads the
/// kernel, `strides` steps it (defaults 1, 0, 0, 1, 1). Input channels split
/// into `groups` groups, each seeing `O / groups` of the filters.
pub struct Conv;

impl OpDef for Conv {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec = OpSpec::new("tg.conv", "grouped N-d convolution of an NC... input with an OI... weight")
            .operands(Arity::Exactly(2))
            .attrs(&[
                AttrSpec::opt("strides", AttrKind::Ints),
                AttrSpec::opt("dilations", AttrKind::Ints),
                AttrSpec::opt("pad_low", AttrKind::Ints),
                AttrSpec::opt("pad_high", AttrKind::Ints),
                AttrSpec::opt("lhs_dilation", AttrKind::Ints),
                AttrSpec::opt("groups", AttrKind::Int),
            ]);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let (x, w) = (cx.tensor_of(0, DTypeClass::Numeric)?, cx.tensor_of(1, DTypeClass::Numeric)?);
        let dtype = same_dtype(&[x, w])?;
        if x.rank() < 3 {
            return Err(format!("the input {x} must have rank 3 or more (batch, channels, spatial...)"));
        }
        if w.rank() != x.rank() {
            return Err(format!("the weight {w} must have the rank of the input {x}"));
        }
        let s = x.rank() - 2;
        let mut axes = window_axes(cx, s)?;
        let lhs_dilation = per_axis(cx, "lhs_dilation", s, 1, Some(1))?;
        for (axis, l) in axes.iter_mut().zip(lhs_dilation) {
            axis.lhs_dilation = l;
        }
        let groups = cx.int_or("groups", 1)?;
        if groups < 1 {
            return Err(format!("attribute 'groups' must be >= 1, got {groups}"));
        }
        if groups > WINDOW_LIMIT {
            return Err(format!("attribute 'groups' holds {groups}, beyond the supported magnitude {WINDOW_LIMIT}"));
        }
        let (c, cw, o) = (&x.dims[1], &w.dims[1], &w.dims[0]);
        let (expected, differs) = match (c.known(), cw.known()) {
            // Static channel counts in u128 so that huge sizes cannot overflow.
            (Some(c), Some(cw)) => {
                let e = cw as u128 * groups as u128;
                (e.to_string(), c as u128 != e)
            }
            _ => {
                let e = cw.mul(&Dim::Known(groups as u64));
                let differs = !matches!(c, Dim::Unknown) && !matches!(e, Dim::Unknown) && *c != e;
                (e.to_string(), differs)
            }
        };
        if differs {
            return Err(format!(
                "the input {x} has {c} channels, but the weight {w} expects {cw} per group x {groups} group(s) = {expected}"
            ));
        }
        if let Some(o) = o.known() {
            if o % groups as u64 != 0 {
                return Err(format!("the weight's {o} output channels do not split into {groups} groups"));
            }
        }
        let mut dims = vec![x.dims[0].clone(), o.clone()];
        for (i, axis) in axes.into_iter().enumerate() {
            let d = window_out(&x.dims[2 + i], &w.dims[2 + i], axis).map_err(|e| format!("spatial axis {i}: {e}"))?;
            dims.push(d);
        }
        Ok(vec![Type::Tensor(TensorType::new(dims, dtype))])
    }
    fn eval(&self, cx: &mut EvalCx) -> Result<Vec<Tensor>, String> {
        let (x, w) = (cx.input(0)?, cx.input(1)?);
        if x.rank() < 3 || w.rank() != x.rank() {
            return Err(format!("the input {:?} and weight {:?} must have one rank, 3 or more", x.shape(), w.shape()));
        }
        let s = x.rank() - 2;
        let axes = window_axes(&cx.op, s)?;
        let lhs_dilation = per_axis(&cx.op, "lhs_dilation", s, 1, Some(1))?;
        let groups = cx.op.int_or("groups", 1)?;
        let groups =
            usize::try_from(groups).ok().filter(|&g| g >= 1).ok_or(format!("groups must be >= 1, got {groups}"))?;
        let (batch, channels, outputs, per_group) = (x.shape()[0], x.shape()[1], w.shape()[0], w.shape()[1]);
        if per_group.checked_mul(groups) != Some(channels) || outputs % groups != 0 {
            return Err(format!(
                "the input {:?} and weight {:?} do not split into {groups} group(s)",
                x.shape(),
                w.shape()
            ));
        }
        let xs = strides(x.shape());
        let mut input_axes = vec![identity_offsets(batch, xs[0]), identity_offsets(channels, xs[1])];
        let mut geom = ConvGeom { batch, channels, outputs, per_group, groups, ..ConvGeom::default() };
        for (i, (axis, &ld)) in axes.iter().zip(&lhs_dilation).enumerate() {
            let (n, k) = (x.shape()[2 + i], w.shape()[2 + i]);
            let padded = dilated_padded(n, ld, axis).map_err(|e| format!("spatial axis {i}: {e}"))?;
            let out = window_count(padded, k, axis).map_err(|e| format!("spatial axis {i}: {e}"))?;
            // Position q of the dilated, padded axis holds input element (q - pad_low) / ld, or a zero.
            let (lo, ld) = (axis.pad_low as i128, ld as i128);
            let stride = xs[2 + i];
            input_axes.push(
                (0..padded as i128)
                    .map(|q| {
                        let p = q - lo;
                        (p >= 0 && p % ld == 0 && p / ld < n as i128).then(|| (p / ld) as usize * stride)
                    })
                    .collect(),
            );
            geom.input.push(padded);
            geom.kernel.push(k);
            geom.output.push(out);
            geom.strides.push(axis.stride as usize);
            geom.dilations.push(axis.dilation as usize);
        }
        let unpadded = axes.iter().zip(&lhs_dilation).all(|(a, &ld)| a.pad_low == 0 && a.pad_high == 0 && ld == 1);
        fn run<T: Elem>(x: &[T], w: &[T], axes: &[AxisOffsets], unpadded: bool, geom: &ConvGeom) -> Vec<T> {
            let input = if unpadded {
                Cow::Borrowed(x)
            } else {
                Cow::Owned(flat_indices(axes).map(|i| i.and_then(|i| x.get(i).copied()).unwrap_or(T::ZERO)).collect())
            };
            conv_valid(&input, w, geom)
        }
        let data = match (x.data(), w.data()) {
            (Data::Float(a), Data::Float(b)) => Data::Float(run(a, b, &input_axes, unpadded, &geom)),
            (Data::Int(a), Data::Int(b)) => Data::Int(run(a, b, &input_axes, unpadded, &geom)),
            (Data::UInt(a), Data::UInt(b)) => Data::UInt(run(a, b, &input_axes, unpadded, &geom)),
            _ => return Err(format!("operands of dtypes {} and {} cannot be convolved", x.dtype(), w.dtype())),
        };
        let mut shape = vec![batch, outputs];
        shape.extend_from_slice(&geom.output);
        Ok(vec![Tensor::new(x.dtype(), shape, data)?])
    }
    fn vjp(&self, cx: &mut VjpCx) -> Result<Grads, Diag> {
        rules::linalg::conv(cx)
    }
}

/// The size of an axis of `n` elements after `lhs_dilation - 1` zeros go
/// between neighbours and `axis`'s padding goes around it (negative crops).
fn dilated_padded(n: usize, lhs_dilation: i64, axis: &WindowAxis) -> Result<usize, String> {
    let dilated = if n == 0 { 0 } else { (n as i128 - 1) * lhs_dilation as i128 + 1 };
    let padded = dilated + axis.pad_low as i128 + axis.pad_high as i128;
    usize::try_from(padded).map_err(|_| format!("padding leaves a negative size ({padded})"))
}

/// How many positions a window of `k` taps, dilated and strided by `axis`,
/// takes on an axis of `padded` elements.
fn window_count(padded: usize, k: usize, axis: &WindowAxis) -> Result<usize, String> {
    let span = (k as i128 - 1) * axis.dilation as i128 + 1;
    if k == 0 || span > padded as i128 {
        return Err(format!("the window ({span} wide after dilation) does not fit the padded input ({padded})"));
    }
    Ok(((padded as i128 - span) / axis.stride as i128 + 1) as usize)
}

/// The sizes of a convolution over an input that is already dilated and
/// padded: `batch` images of `channels` channels in `groups` groups of
/// `per_group`; `outputs` filters; per spatial axis the input, kernel and
/// output sizes, the stride and the kernel dilation.
#[derive(Default)]
struct ConvGeom {
    batch: usize,
    channels: usize,
    outputs: usize,
    per_group: usize,
    groups: usize,
    input: Vec<usize>,
    kernel: Vec<usize>,
    output: Vec<usize>,
    strides: Vec<usize>,
    dilations: Vec<usize>,
}

/// A convolution without padding, accumulated in the domain of `T`. Loops
/// run image and output channel, input channel, kernel tap, then output
/// rows, the innermost loop walking one contiguous row of the output (the
/// last spatial axis) with a fixed weight.
fn conv_valid<T: Elem>(x: &[T], w: &[T], g: &ConvGeom) -> Vec<T> {
    let in_plane: usize = g.input.iter().product();
    let out_plane: usize = g.output.iter().product();
    let taps_per_filter: usize = g.kernel.iter().product();
    let last = g.input.len() - 1;
    let ist = strides(&g.input);
    // Where each output row (every spatial axis but the last) starts reading at tap 0.
    let row_axes: Vec<AxisOffsets> =
        (0..last).map(|d| (0..g.output[d]).map(|o| Some(o * g.strides[d] * ist[d])).collect()).collect();
    let rows: Vec<usize> = flat_indices(&row_axes).flatten().collect();
    // How far each kernel tap reads from a window's first element.
    let tap_axes: Vec<AxisOffsets> =
        (0..=last).map(|d| (0..g.kernel[d]).map(|k| Some(k * g.dilations[d] * ist[d])).collect()).collect();
    let taps: Vec<usize> = flat_indices(&tap_axes).flatten().collect();
    let (width, step) = (g.output[last], g.strides[last]);
    let mut out = vec![T::ZERO; g.batch * g.outputs * out_plane];
    if out.is_empty() {
        return out;
    }
    let filters_per_group = g.outputs / g.groups;
    for (image_filter, plane) in out.chunks_exact_mut(out_plane).enumerate() {
        let (b, o) = (image_filter / g.outputs, image_filter % g.outputs);
        let first_channel = o / filters_per_group * g.per_group;
        for c in 0..g.per_group {
            let input = &x[(b * g.channels + first_channel + c) * in_plane..][..in_plane];
            let weights = &w[(o * g.per_group + c) * taps_per_filter..][..taps_per_filter];
            for (&tap, &weight) in taps.iter().zip(weights) {
                for (row, &start) in plane.chunks_exact_mut(width).zip(&rows) {
                    let source = &input[start + tap..];
                    if step == 1 {
                        for (y, &v) in row.iter_mut().zip(source) {
                            *y = y.plus(weight.times(v));
                        }
                    } else {
                        for (y, &v) in row.iter_mut().zip(source.iter().step_by(step)) {
                            *y = y.plus(weight.times(v));
                        }
                    }
                }
            }
        }
    }
    out
}

/// The `tg.conv` op.
pub static CONV: Conv = Conv;

/// Every op declared in this file.
pub static OPS: &[OpRef] = &[&DOT, &CONV];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attr::{Attr, Attrs};
    use crate::dtype::DType;
    use crate::infer::{infer_standalone, NoSymbols};

    fn infer(op: OpRef, operands: &[Type], attrs: Attrs) -> Result<Vec<Type>, String> {
        infer_standalone(op, operands, &attrs, &NoSymbols)
    }

    fn f32s(dims: &[Dim]) -> Type {
        Type::tensor(dims.to_vec(), DType::F32)
    }

    fn n() -> Dim {
        Dim::sym("N")
    }

    fn k(v: u64) -> Dim {
        Dim::Known(v)
    }

    fn dot_attrs(lb: &[i64], rb: &[i64], lc: &[i64], rc: &[i64]) -> Attrs {
        Attrs::from([
            ("lhs_batch", Attr::ints(lb)),
            ("rhs_batch", Attr::ints(rb)),
            ("lhs_contract", Attr::ints(lc)),
            ("rhs_contract", Attr::ints(rc)),
        ])
    }

    #[test]
    fn dot_matmul_and_batched() {
        let a = Type::static_tensor(&[3, 4], DType::F32);
        let b = Type::static_tensor(&[4, 5], DType::F32);
        let attrs = Attrs::from([("lhs_contract", Attr::ints(&[1])), ("rhs_contract", Attr::ints(&[0]))]);
        assert_eq!(infer(&DOT, &[a, b], attrs), Ok(vec![Type::static_tensor(&[3, 5], DType::F32)]));
        let a = f32s(&[Dim::sym("B"), k(3), k(4)]);
        let b = f32s(&[Dim::sym("B"), k(4), k(5)]);
        assert_eq!(
            infer(&DOT, &[a, b], dot_attrs(&[0], &[0], &[2], &[1])),
            Ok(vec![f32s(&[Dim::sym("B"), k(3), k(5)])])
        );
        // x @ w^T with a symbolic batch; batch axes need not lead.
        let x = f32s(&[n(), k(784)]);
        let w = Type::static_tensor(&[256, 784], DType::F32);
        let attrs = Attrs::from([("lhs_contract", Attr::ints(&[-1])), ("rhs_contract", Attr::ints(&[1]))]);
        assert_eq!(infer(&DOT, &[x, w], attrs), Ok(vec![f32s(&[n(), k(256)])]));
        let a = f32s(&[k(3), Dim::Unknown, k(7)]);
        let b = f32s(&[k(5), k(6), k(7)]);
        assert_eq!(infer(&DOT, &[a, b], dot_attrs(&[1], &[1], &[2], &[2])), Ok(vec![f32s(&[k(6), k(3), k(5)])]));
    }

    #[test]
    fn dot_errors() {
        let a = Type::static_tensor(&[3, 4], DType::F32);
        let b = Type::static_tensor(&[5, 6], DType::F32);
        let attrs = Attrs::from([("lhs_contract", Attr::ints(&[1])), ("rhs_contract", Attr::ints(&[0]))]);
        assert_eq!(
            infer(&DOT, &[a.clone(), b], attrs.clone()),
            Err("contracting axes differ: lhs axis 1 of tensor<3x4xf32> is 4 but rhs axis 0 of tensor<5x6xf32> is 5"
                .into())
        );
        let bi = Type::static_tensor(&[4, 5], DType::I32);
        assert_eq!(
            infer(&DOT, &[a.clone(), bi], attrs),
            Err("operand #1 has dtype i32, but operand #0 has f32".into())
        );
        let b = Type::static_tensor(&[4, 5], DType::F32);
        let attrs = Attrs::from([("lhs_contract", Attr::ints(&[1])), ("rhs_contract", Attr::ints(&[0, 1]))]);
        assert_eq!(
            infer(&DOT, &[a.clone(), b.clone()], attrs),
            Err("'lhs_contract' and 'rhs_contract' must have the same length, got [1] and [0, 1]".into())
        );
        assert_eq!(
            infer(&DOT, &[a.clone(), b.clone()], dot_attrs(&[1], &[0], &[1], &[0])),
            Err("lhs axis 1 is both a batch and a contracting axis".into())
        );
        assert_eq!(
            infer(&DOT, &[a.clone(), b.clone()], dot_attrs(&[0], &[], &[1], &[0])),
            Err("'lhs_batch' and 'rhs_batch' must have the same length, got [0] and []".into())
        );
        assert_eq!(
            infer(&DOT, &[a, b], dot_attrs(&[], &[], &[2], &[0])),
            Err("attribute 'lhs_contract': axis 2 is out of range for rank 2".into())
        );
    }

    fn conv_attrs(items: &[(&str, &[i64])]) -> Attrs {
        let mut a = Attrs::new();
        for (name, v) in items {
            a.set(name, Attr::ints(v));
        }
        a
    }

    #[test]
    fn conv_static_2d() {
        let x = Type::static_tensor(&[1, 3, 224, 224], DType::F32);
        let w = Type::static_tensor(&[64, 3, 7, 7], DType::F32);
        let attrs = conv_attrs(&[("strides", &[2, 2]), ("pad_low", &[3, 3]), ("pad_high", &[3, 3])]);
        assert_eq!(infer(&CONV, &[x, w], attrs), Ok(vec![Type::static_tensor(&[1, 64, 112, 112], DType::F32)]));
        // Depthwise, dilated.
        let x = Type::static_tensor(&[2, 8, 10, 10], DType::F32);
        let w = Type::static_tensor(&[8, 1, 3, 3], DType::F32);
        let mut attrs = conv_attrs(&[("dilations", &[2, 2])]);
        attrs.set("groups", Attr::Int(8));
        assert_eq!(infer(&CONV, &[x, w], attrs), Ok(vec![Type::static_tensor(&[2, 8, 6, 6], DType::F32)]));
        // 1-d transposed (lhs-dilated) convolution: (5 - 1) * 2 + 1 + 2 + 2 - 3 + 1 = 11.
        let x = Type::static_tensor(&[1, 4, 5], DType::F32);
        let w = Type::static_tensor(&[2, 4, 3], DType::F32);
        let attrs = conv_attrs(&[("lhs_dilation", &[2]), ("pad_low", &[2]), ("pad_high", &[2])]);
        assert_eq!(infer(&CONV, &[x, w], attrs), Ok(vec![Type::static_tensor(&[1, 2, 11], DType::F32)]));
    }

    #[test]
    fn conv_symbolic() {
        let x = f32s(&[n(), k(3), Dim::sym("H"), Dim::sym("W")]);
        let w = Type::static_tensor(&[16, 3, 3, 3], DType::F32);
        let same = conv_attrs(&[("pad_low", &[1, 1]), ("pad_high", &[1, 1])]);
        assert_eq!(
            infer(&CONV, &[x.clone(), w.clone()], same),
            Ok(vec![f32s(&[n(), k(16), Dim::sym("H"), Dim::sym("W")])])
        );
        let strided = conv_attrs(&[("strides", &[2, 1])]);
        assert_eq!(
            infer(&CONV, &[x, w], strided),
            Ok(vec![f32s(&[n(), k(16), Dim::Unknown, Dim::sym("W").add_const(-2)])])
        );
    }

    #[test]
    fn conv_errors() {
        let x = Type::static_tensor(&[1, 3, 8, 8], DType::F32);
        let w = Type::static_tensor(&[16, 4, 3, 3], DType::F32);
        assert_eq!(
            infer(&CONV, &[x.clone(), w], Attrs::new()),
            Err("the input tensor<1x3x8x8xf32> has 3 channels, but the weight tensor<16x4x3x3xf32> expects 4 per group \
                 x 1 group(s) = 4"
                .into())
        );
        let w = Type::static_tensor(&[16, 3, 9, 3], DType::F32);
        assert_eq!(
            infer(&CONV, &[x.clone(), w], Attrs::new()),
            Err("spatial axis 0: the window (9 wide after dilation) does not fit the padded input (8)".into())
        );
        let x6 = Type::static_tensor(&[1, 6, 8, 8], DType::F32);
        let w = Type::static_tensor(&[5, 2, 3, 3], DType::F32);
        let attrs = Attrs::from([("groups", Attr::Int(3))]);
        assert_eq!(
            infer(&CONV, &[x6, w], attrs),
            Err("the weight's 5 output channels do not split into 3 groups".into())
        );
        let w = Type::static_tensor(&[16, 3, 3, 3], DType::F32);
        let attrs = conv_attrs(&[("strides", &[1])]);
        assert_eq!(
            infer(&CONV, &[x.clone(), w.clone()], attrs),
            Err("attribute 'strides' must have 2 entries, got [1]".into())
        );
        let flat = Type::static_tensor(&[1, 3], DType::F32);
        assert_eq!(
            infer(&CONV, &[flat, w], Attrs::new()),
            Err("the input tensor<1x3xf32> must have rank 3 or more (batch, channels, spatial...)".into())
        );
    }

    mod eval {
        use super::*;
        use crate::dialect::graph::testing::{eval1, f32s};
        use crate::tensor::unravel;

        /// Small integers as f32, so sums are exact in any order.
        fn filled(shape: &[usize], seed: usize) -> Tensor {
            let n: usize = shape.iter().product();
            f32s(shape, &(0..n).map(|i| ((i * 7 + seed) % 11) as f64 - 5.0).collect::<Vec<_>>())
        }

        fn dot(a: &Tensor, b: &Tensor, lb: &[i64], rb: &[i64], lc: &[i64], rc: &[i64]) -> Tensor {
            eval1(&DOT, &[a.clone(), b.clone()], &dot_attrs(lb, rb, lc, rc)).unwrap()
        }

        #[test]
        fn dot_matmul_in_both_rhs_layouts() {
            let a = f32s(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
            let b = f32s(&[3, 2], &[7.0, 8.0, 9.0, 10.0, 11.0, 12.0]);
            assert_eq!(dot(&a, &b, &[], &[], &[1], &[0]), f32s(&[2, 2], &[58.0, 64.0, 139.0, 154.0]));
            // The same product with the rhs stored transposed (x @ w^T).
            let bt = f32s(&[2, 3], &[7.0, 9.0, 11.0, 8.0, 10.0, 12.0]);
            assert_eq!(dot(&a, &bt, &[], &[], &[1], &[1]), f32s(&[2, 2], &[58.0, 64.0, 139.0, 154.0]));
            // A long contraction takes the eight-lane path and its tail.
            let (x, y) = (filled(&[1, 19], 1), filled(&[3, 19], 2));
            let got = dot(&x, &y, &[], &[], &[1], &[1]).to_f64s();
            for (j, g) in got.iter().enumerate() {
                let want: f64 = (0..19).map(|k| x.get_f64(k) * y.get_f64(j * 19 + k)).sum();
                assert_eq!(*g, want);
            }
        }

        #[test]
        fn dot_batch_dims_anywhere_match_the_formula() {
            // lhs [M=3, B=2, K=4], rhs [N=5, B=2, K=4]: out[b, m, n] = sum_k lhs[m, b, k] * rhs[n, b, k].
            let (a, b) = (filled(&[3, 2, 4], 1), filled(&[5, 2, 4], 4));
            let out = dot(&a, &b, &[1], &[1], &[2], &[2]);
            assert_eq!(out.shape(), [2, 3, 5]);
            for (flat, v) in out.to_f64s().into_iter().enumerate() {
                let [bb, m, n] = unravel(flat, &[2, 3, 5])[..] else { unreachable!() };
                let want: f64 = (0..4).map(|k| a.get_f64((m * 2 + bb) * 4 + k) * b.get_f64((n * 2 + bb) * 4 + k)).sum();
                assert_eq!(v, want, "at {flat}");
            }
            // Two contracting axes, contracted in the rhs's order; the lhs needs a transposition.
            let (a, b) = (filled(&[4, 2, 3], 2), filled(&[3, 4, 2], 5));
            let out = dot(&a, &b, &[], &[], &[0, 2], &[1, 0]);
            assert_eq!(out.shape(), [2, 2]);
            for (flat, v) in out.to_f64s().into_iter().enumerate() {
                let (m, n) = (flat / 2, flat % 2);
                let mut want = 0.0;
                for p in 0..4 {
                    for q in 0..3 {
                        want += a.get_f64((p * 2 + m) * 3 + q) * b.get_f64((q * 4 + p) * 2 + n);
                    }
                }
                assert_eq!(v, want);
            }
        }

        #[test]
        fn dot_integers_wrap_and_empty_contractions_give_zeros() {
            let a = Tensor::new(DType::I32, vec![1, 2], Data::Int(vec![1 << 30, 1 << 30])).unwrap();
            let b = Tensor::new(DType::I32, vec![2, 1], Data::Int(vec![2, 2])).unwrap();
            assert_eq!(dot(&a, &b, &[], &[], &[1], &[0]).to_i64s(), [0]);
            let u = Tensor::new(DType::U8, vec![2], Data::UInt(vec![200, 3])).unwrap();
            assert_eq!(dot(&u, &u, &[], &[], &[0], &[0]).to_i64s(), [(200 * 200 + 9) % 256]);
            let (e, f) = (f32s(&[2, 0], &[]), f32s(&[0, 3], &[]));
            assert_eq!(dot(&e, &f, &[], &[], &[1], &[0]), f32s(&[2, 3], &[0.0; 6]));
            assert_eq!(dot(&f32s(&[0, 2], &[]), &filled(&[2, 3], 0), &[], &[], &[1], &[0]).shape(), [0, 3]);
        }

        /// The convolution formula itself, one output element at a time.
        fn naive_conv(x: &Tensor, w: &Tensor, attrs: &Attrs, out_shape: &[usize]) -> Vec<f64> {
            let s = x.rank() - 2;
            let get = |name: &str, default: i64| match attrs.get(name) {
                Some(a) => a.as_ints().unwrap(),
                None => vec![default; s],
            };
            let (strides, dil, lo, ld) =
                (get("strides", 1), get("dilations", 1), get("pad_low", 0), get("lhs_dilation", 1));
            let groups = attrs.get("groups").and_then(Attr::as_int).unwrap_or(1) as usize;
            let (cg, opg) = (w.shape()[1], w.shape()[0] / groups);
            let kernel = &w.shape()[2..];
            let taps: usize = kernel.iter().product();
            let mut out = Vec::new();
            for flat in 0..out_shape.iter().product() {
                let idx = unravel(flat, out_shape);
                let (b, o) = (idx[0], idx[1]);
                let mut sum = 0.0;
                for c in 0..cg {
                    let channel = o / opg * cg + c;
                    'tap: for t in 0..taps {
                        let k = unravel(t, kernel);
                        let mut xi = vec![b, channel];
                        for d in 0..s {
                            let p = (idx[2 + d] as i64) * strides[d] + (k[d] as i64) * dil[d] - lo[d];
                            if p < 0 || p % ld[d] != 0 || p / ld[d] >= x.shape()[2 + d] as i64 {
                                continue 'tap;
                            }
                            xi.push((p / ld[d]) as usize);
                        }
                        let mut wi = vec![o, c];
                        wi.extend(k);
                        let at = |t: &Tensor, i: &[usize]| {
                            t.get_f64(i.iter().zip(crate::tensor::strides(t.shape())).map(|(a, b)| a * b).sum())
                        };
                        sum += at(x, &xi) * at(w, &wi);
                    }
                }
                out.push(sum);
            }
            out
        }

        fn check_conv(x: Tensor, w: Tensor, attrs: Attrs, expected_shape: &[usize]) {
            let out = eval1(&CONV, &[x.clone(), w.clone()], &attrs).unwrap();
            assert_eq!(out.shape(), expected_shape);
            assert_eq!(out.to_f64s(), naive_conv(&x, &w, &attrs, expected_shape));
        }

        #[test]
        fn conv_grouped_dilated_strided_padded_matches_the_formula() {
            let mut attrs = conv_attrs(&[
                ("strides", &[2, 1]),
                ("dilations", &[1, 2]),
                ("pad_low", &[1, 0]),
                ("pad_high", &[2, 1]),
            ]);
            attrs.set("groups", Attr::Int(2));
            // Height: (7 + 3 - 3) / 2 + 1 = 4; width: (6 + 1 - 3) / 1 + 1 = 5.
            check_conv(filled(&[2, 4, 7, 6], 1), filled(&[6, 2, 3, 2], 3), attrs, &[2, 6, 4, 5]);
            let depthwise = Attrs::from([("groups", Attr::Int(3))]).with("strides", Attr::ints(&[3, 2]));
            check_conv(filled(&[1, 3, 8, 7], 2), filled(&[3, 1, 2, 2], 5), depthwise, &[1, 3, 3, 3]);
            let cropped = conv_attrs(&[("pad_low", &[-1, 1]), ("pad_high", &[0, -2])]);
            check_conv(filled(&[1, 2, 5, 5], 4), filled(&[2, 2, 2, 2], 6), cropped, &[1, 2, 3, 3]);
        }

        #[test]
        fn conv_transposed_1d_and_3d_match_the_formula() {
            let attrs = conv_attrs(&[("lhs_dilation", &[2]), ("pad_low", &[2]), ("pad_high", &[2]), ("strides", &[1])]);
            check_conv(filled(&[1, 4, 5], 1), filled(&[2, 4, 3], 2), attrs, &[1, 2, 11]);
            let attrs = conv_attrs(&[("lhs_dilation", &[3, 1, 2]), ("pad_low", &[0, 1, 1]), ("dilations", &[1, 1, 2])]);
            check_conv(filled(&[2, 2, 2, 3, 3], 3), filled(&[3, 2, 2, 2, 2], 4), attrs, &[2, 3, 3, 3, 4]);
        }

        #[test]
        fn conv_integers_and_empty_batches() {
            let x = Tensor::new(DType::I8, vec![1, 1, 3], Data::Int(vec![100, 100, 1])).unwrap();
            let w = Tensor::new(DType::I8, vec![1, 1, 2], Data::Int(vec![1, 1])).unwrap();
            let out = eval1(&CONV, &[x, w], &Attrs::new()).unwrap();
            assert_eq!((out.dtype(), out.to_i64s()), (DType::I8, vec![-56, 101]));
            let out = eval1(&CONV, &[f32s(&[0, 2, 4], &[]), filled(&[3, 2, 2], 0)], &Attrs::new()).unwrap();
            assert_eq!(out.shape(), [0, 3, 3]);
        }

        /// The cost of a ResNet-50 3x3 layer; run with
        /// `cargo test -p tessera-ir --release -- --ignored conv_timing --nocapture`.
        #[test]
        #[ignore = "a timing measurement, not a check"]
        fn conv_timing() {
            let x = filled(&[1, 64, 56, 56], 1);
            let w = filled(&[64, 64, 3, 3], 2);
            let attrs = conv_attrs(&[("pad_low", &[1, 1]), ("pad_high", &[1, 1])]);
            let start = std::time::Instant::now();
            let out = eval1(&CONV, &[x, w], &attrs).unwrap();
            println!("1x64x56x56 conv 64x64x3x3: {:?} for {:?}", start.elapsed(), out.shape());
            let (x, w) = (filled(&[1, 3, 224, 224], 1), filled(&[64, 3, 7, 7], 2));
            let attrs = conv_attrs(&[("strides", &[2, 2]), ("pad_low", &[3, 3]), ("pad_high", &[3, 3])]);
            let start = std::time::Instant::now();
            let out = eval1(&CONV, &[x, w], &attrs).unwrap();
            println!("1x3x224x224 conv 64x3x7x7 stride 2: {:?} for {:?}", start.elapsed(), out.shape());
            let (x, w) = (filled(&[1, 512, 7, 7], 1), filled(&[2048, 512, 1, 1], 2));
            let start = std::time::Instant::now();
            let out = eval1(&CONV, &[x, w], &Attrs::new()).unwrap();
            println!("1x512x7x7 conv 2048x512x1x1: {:?} for {:?}", start.elapsed(), out.shape());
            let (a, b) = (filled(&[1, 25088], 1), filled(&[4096, 25088], 2));
            let start = std::time::Instant::now();
            let out = dot(&a, &b, &[], &[], &[1], &[1]);
            println!("1x25088 @ (4096x25088)^T dot: {:?} for {:?}", start.elapsed(), out.shape());
            let (a, b) = (filled(&[256, 512], 1), filled(&[512, 256], 2));
            let start = std::time::Instant::now();
            let out = dot(&a, &b, &[], &[], &[1], &[0]);
            println!("256x512 @ 512x256 dot: {:?} for {:?}", start.elapsed(), out.shape());
        }
    }
}
