//! Sliding windows: the tap loops `tg.conv` and `tg.reduce_window` share,
//! and `tg.reduce_window` (pooling) itself.
//!
//! Padding is never read: at each output position `y`, tap `k` of a
//! window axis reads position `y * stride - pad_low + k * dilation` of the
//! input axis, and the tap loop runs only over the `k` whose position lies
//! inside it: from `ceil(max(pad_low - y * stride, 0) / dilation)` below
//! `min(window, ceil(max(n - y * stride + pad_low, 0) / dilation))`. So no
//! index is ever clamped, an empty input axis runs no tap, and a padded
//! tap contributes exactly what the reference's identity (0, -inf, +inf)
//! contributes. An axis whose one tap always lands inside the input
//! (window 1, no low padding, no high padding) gets no loop at all, and
//! one without padding a loop over all its taps, from constant bounds
//! (which LLVM unrolls).

use super::emit::{accumulator, Lowerer};
use super::reduce::{highest, lowest};
use tessera_ir::attr::Scalar;
use tessera_ir::dialect::graph::elementwise::{ADD, MAX, MIN};
use tessera_ir::dialect::graph::window::{window_axes, WindowAxis};
use tessera_ir::dialect::kernel::IndexOp;
use tessera_ir::{DType, Diag, Dim, OpId, OpRef, ValueId};

/// The taps of one window axis at one output position.
pub(super) struct Taps {
    /// The input position of tap 0 (`y * stride - pad_low`; may be negative).
    base: ValueId,
    /// The spacing of the taps.
    dilation: i64,
    /// The taps inside the input, `lo..hi`; `None` when the one tap 0 is.
    range: Option<(ValueId, ValueId)>,
}

/// `ceil(max(a, 0) / d)` for a positive constant `d`.
pub(super) fn ceil_div_positive(l: &mut Lowerer<'_>, a: ValueId, d: i64) -> Result<ValueId, Diag> {
    let zero = l.index_const(0)?;
    let a = l.index_op(IndexOp::Max, a, zero)?;
    if d == 1 {
        return Ok(a);
    }
    let up = l.add_const(a, d - 1)?;
    let d = l.index_const(d)?;
    l.index_op(IndexOp::Div, up, d)
}

/// The taps of a window of `window` taps sliding by `axis` over an input
/// axis of `extent` positions, at output position `y`.
pub(super) fn taps(
    l: &mut Lowerer<'_>,
    y: ValueId,
    extent: ValueId,
    window: &Dim,
    axis: &WindowAxis,
) -> Result<Taps, Diag> {
    let stride = l.index_const(axis.stride)?;
    let start = l.index_op(IndexOp::Mul, y, stride)?;
    let base = l.add_const(start, -axis.pad_low)?;
    if *window == Dim::Known(1) && axis.pad_low == 0 && axis.pad_high <= 0 {
        return Ok(Taps { base, dilation: axis.dilation, range: None });
    }
    if let (Dim::Known(w), true) = (window, axis.pad_low <= 0 && axis.pad_high <= 0) {
        // Without padding every tap of every window lies inside the input.
        let (lo, hi) = (l.index_const(0)?, l.index_const(*w as i64)?);
        return Ok(Taps { base, dilation: axis.dilation, range: Some((lo, hi)) });
    }
    let zero = l.index_const(0)?;
    let before = l.index_op(IndexOp::Sub, zero, base)?;
    let lo = ceil_div_positive(l, before, axis.dilation)?;
    let room = l.index_op(IndexOp::Sub, extent, base)?;
    let inside = ceil_div_positive(l, room, axis.dilation)?;
    let window = l.dim(window)?;
    let hi = l.index_op(IndexOp::Min, inside, window)?;
    Ok(Taps { base, dilation: axis.dilation, range: Some((lo, hi)) })
}

/// What runs at each tap: the indices of the leading loops, each axis's
/// tap index and input position, and the carried values.
pub(super) type TapBody<'b, 'a> =
    dyn FnMut(&mut Lowerer<'a>, &[ValueId], &[ValueId], &[ValueId], Vec<ValueId>) -> Result<Vec<ValueId>, Diag> + 'b;

/// A sequential nest over the `lead` ranges, then over the taps of every
/// window axis inside the input, carrying `inits`; returns the carried values.
pub(super) fn over_taps<'a>(
    l: &mut Lowerer<'a>,
    lead: &[(ValueId, ValueId)],
    taps: &[Taps],
    inits: Vec<ValueId>,
    body: &mut TapBody<'_, 'a>,
) -> Result<Vec<ValueId>, Diag> {
    let mut ranges = lead.to_vec();
    ranges.extend(taps.iter().filter_map(|t| t.range));
    l.nest_ranges(&ranges, false, "r", inits, &mut |l, ivs, acc| {
        let (lead_ivs, mut looped) = ivs.split_at(lead.len());
        let mut ks = Vec::with_capacity(taps.len());
        let mut positions = Vec::with_capacity(taps.len());
        for t in taps {
            let k = match t.range {
                Some(_) => {
                    let (&k, rest) = looped
                        .split_first()
                        .ok_or_else(|| Diag::error(l.func.loc.clone(), "lowering: a tap loop is missing"))?;
                    looped = rest;
                    k
                }
                None => l.index_const(0)?,
            };
            let d = l.index_const(t.dilation)?;
            let offset = l.index_op(IndexOp::Mul, k, d)?;
            positions.push(l.index_op(IndexOp::Add, t.base, offset)?);
            ks.push(k);
        }
        body(l, lead_ivs, &ks, &positions, acc)
    })
}

/// `tg.reduce_window`: a parallel nest over the result and, inside, the
/// taps inside the input, combined from the identity of `kind` through its
/// graph op (`tg.add`, `tg.max`, `tg.min`); f16 and bf16 accumulate in f32.
pub(super) fn reduce_window(l: &mut Lowerer<'_>, op: OpId, dest: ValueId) -> Result<(), Diag> {
    let x = l.src.op(op).operands[0];
    let xt = l.tensor(x)?;
    let (kind, window, axes) = l.with_cx(op, |cx| {
        let kind = cx.choice("kind", &["sum", "max", "min"], "sum")?.to_string();
        Ok((kind, cx.ints("window")?, window_axes(cx, xt.rank())?))
    })?;
    let (combine, identity): (OpRef, fn(DType) -> Scalar) = match kind.as_str() {
        "sum" => (&ADD, |d| Scalar::from_f64(d, 0.0)),
        "max" => (&MAX, lowest),
        _ => (&MIN, highest),
    };
    let acc_dtype = accumulator(xt.dtype);
    let init = l.scalar_const(identity(acc_dtype), acc_dtype)?;
    let out = l.extents(&l.tensor(l.result(op)?)?.dims)?;
    let extents = l.extents(&xt.dims)?;
    l.nest(&out, true, "i", Vec::new(), &mut |l, ivs, _| {
        let mut all = Vec::with_capacity(ivs.len());
        for (a, (&y, &w)) in ivs.iter().zip(&window).enumerate() {
            all.push(taps(l, y, extents[a], &Dim::Known(w as u64), &axes[a])?);
        }
        let acc = over_taps(l, &[], &all, vec![init], &mut |l, _, _, at, acc| {
            let v = l.element(x, at)?;
            let v = l.convert(v, xt.dtype, acc_dtype)?;
            Ok(vec![l.apply(combine, &[acc[0], v])?])
        })?;
        let result = l.convert(acc[0], acc_dtype, xt.dtype)?;
        l.store(result, dest, ivs)?;
        Ok(Vec::new())
    })?;
    Ok(())
}
