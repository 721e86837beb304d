//! Gradient rules of the data-movement ops: each moves the cotangent back
//! where the forward op took its elements from (positions it dropped get 0).

use super::super::shape as sh;
use crate::attr::{Attr, Attrs};
use crate::diag::Diag;
use crate::dim::Dim;
use crate::id::ValueId;
use crate::vjp::{Grads, VjpCx};

/// `broadcast_to`: the cotangent summed back to the operand's shape.
pub fn broadcast_to(cx: &mut VjpCx) -> Result<Grads, Diag> {
    super::linear(cx, |cx, g| {
        let dims = cx.dims(cx.operand(0))?;
        cx.unbroadcast(g, &dims)
    })
}

/// `reshape`: the cotangent reshaped to the operand's shape.
pub fn reshape(cx: &mut VjpCx) -> Result<Grads, Diag> {
    super::linear(cx, |cx, g| {
        let dims = cx.dims(cx.operand(0))?;
        cx.b.reshape(g, &dims)
    })
}

/// `transpose {perm}`: the cotangent transposed by the inverse permutation.
pub fn transpose(cx: &mut VjpCx) -> Result<Grads, Diag> {
    super::linear(cx, |cx, g| {
        let perm = cx.attrs().ints("perm").map_err(|e| cx.error(e))?;
        let mut inverse = vec![0i64; perm.len()];
        for (i, &p) in perm.iter().enumerate() {
            let slot = usize::try_from(p).ok().and_then(|p| inverse.get_mut(p)).ok_or_else(|| cx.error("bad perm"))?;
            *slot = i as i64;
        }
        cx.b.transpose(g, &inverse)
    })
}

/// `reverse {axes}`: the cotangent reversed along the same axes.
pub fn reverse(cx: &mut VjpCx) -> Result<Grads, Diag> {
    super::linear(cx, |cx, g| {
        let axes = cx.attrs().ints("axes").map_err(|e| cx.error(e))?;
        cx.b.op(&sh::REVERSE, &[g], Attrs::from([("axes", Attr::ints(&axes))]))
    })
}

/// `slice`: the cotangent placed back at the sliced positions (reversed
/// for negative steps, spread apart for steps above 1) and padded with
/// zeros. A symbolic axis must be sliced from a fixed start to its end.
pub fn slice(cx: &mut VjpCx) -> Result<Grads, Diag> {
    super::linear(cx, |cx, g| {
        let dims = cx.dims(cx.operand(0))?;
        let axes = sh::slice_axes(&cx.attrs(), dims.len()).map_err(|e| cx.error(e))?;
        let (mut low, mut high) = (vec![0i64; dims.len()], vec![0i64; dims.len()]);
        let mut g = g;
        for s in axes {
            let Some(n) = dims[s.axis].known() else {
                if s.step == 1 && s.start >= 0 && s.end >= sh::SLICE_TO_END {
                    low[s.axis] = s.start;
                    continue;
                }
                return Err(cx.error(format!(
                    "cannot differentiate a slice of the symbolic axis {} other than from a fixed start to its end",
                    s.axis
                )));
            };
            let (first, len) = sh::slice_range(n, s.start, s.end, s.step);
            if len == 0 {
                return cx.zeros_like(cx.operand(0));
            }
            let stride = s.step.unsigned_abs();
            let lowest = if s.step > 0 { first } else { first - (len as i128 - 1) * stride as i128 };
            if s.step < 0 {
                g = cx.b.op(&sh::REVERSE, &[g], Attrs::from([("axes", Attr::ints(&[s.axis as i64]))]))?;
            }
            g = cx.spread(g, s.axis, stride)?;
            low[s.axis] = lowest as i64;
            high[s.axis] = (n as i128 - lowest - len as i128 * stride as i128) as i64;
        }
        cx.pad_zeros(g, &low, &high)
    })
}

/// `pad`: in constant mode, the cotangent cropped back (and padded where
/// the forward op cropped), and the padding value gets the sum of the
/// cotangent over the padded positions; in reflect and edge modes, see
/// [`unpad`] (the padding value is unused and gets none).
pub fn pad(cx: &mut VjpCx) -> Result<Grads, Diag> {
    let a = cx.attrs();
    let mode = a.choice("mode", &["constant", "reflect", "edge"], "constant").map_err(|e| cx.error(e))?.to_string();
    let low = a.ints("low").map_err(|e| cx.error(e))?;
    let high = a.ints("high").map_err(|e| cx.error(e))?;
    let g = cx.cot(0)?;
    if mode != "constant" {
        return Ok(vec![if cx.wants(0) { Some(unpad(cx, g, &low, &high, &mode)?) } else { None }, None]);
    }
    let neg = |v: &[i64]| v.iter().map(|&p| -p).collect::<Vec<_>>();
    let gx = cx.pad_zeros(g, &neg(&low), &neg(&high))?;
    let gv = if cx.wants(1) {
        let all: Vec<i64> = (0..low.len() as i64).collect();
        let total = cx.b.reduce(&super::super::reduce::REDUCE_SUM, g, &all, false)?;
        let inner = cx.b.reduce(&super::super::reduce::REDUCE_SUM, gx, &all, false)?;
        Some(cx.sub(total, inner)?)
    } else {
        None
    };
    Ok(vec![cx.wants(0).then_some(gx), gv])
}

/// The adjoint of `pad` in reflect or edge mode: axis by axis, each
/// position's cotangent is added to the input element it copies (a
/// gather's adjoint with the positions as a constant). A padded (or
/// cropped) axis needs a static size.
fn unpad(cx: &mut VjpCx, g: ValueId, low: &[i64], high: &[i64], mode: &str) -> Result<ValueId, Diag> {
    let x = cx.operand(0);
    let dims = cx.dims(x)?;
    let mut g = g;
    for (axis, (&lo, &hi)) in low.iter().zip(high).enumerate() {
        if lo == 0 && hi == 0 {
            continue;
        }
        let n = dims[axis].known().ok_or_else(|| {
            cx.error(format!("differentiating a {mode} pad needs a static size on axis {axis}, got {}", dims[axis]))
        })? as usize;
        let mut now = cx.dims(g)?;
        let out = now[axis].known().ok_or_else(|| cx.error(format!("the padded axis {axis} has no static size")))? as usize;
        let sources: Vec<f64> = (0..out)
            .map(|j| sh::pad_source(n, lo, hi, mode, j).map(|p| p as f64).ok_or_else(|| cx.error("a padded position reads no element")))
            .collect::<Result<_, _>>()?;
        let ty = crate::types::TensorType::of(&[out as u64], crate::dtype::DType::I64);
        let dense = crate::attr::DenseAttr::from_f64s(ty, &sources).map_err(|e| cx.error(e))?;
        let idx = cx.b.constant(dense)?;
        now[axis] = Dim::Known(n as u64);
        g = cx.scatter_add_axis(g, idx, axis, &now)?;
    }
    if cx.dims(g)? == dims {
        Ok(g)
    } else {
        cx.b.reshape(g, &dims)
    }
}

/// `concat {axis}`: each operand gets its stretch of the cotangent. Every
/// operand but the last needs a static size along the axis.
pub fn concat(cx: &mut VjpCx) -> Result<Grads, Diag> {
    let g = cx.cot(0)?;
    let n = cx.num_operands();
    let rank = cx.dims(cx.operand(0))?.len();
    let axis = cx.attrs().axis("axis", rank).map_err(|e| cx.error(e))? as i64;
    let mut grads = vec![None; n];
    let mut offset = 0i64;
    for (i, grad) in grads.iter_mut().enumerate() {
        let size = cx.dims(cx.operand(i))?[axis as usize].clone();
        let end = match size {
            Dim::Known(k) => offset + k as i64,
            _ if i + 1 == n => sh::SLICE_TO_END,
            _ => return Err(cx.error(format!("cannot differentiate a concat of operand #{i} with the symbolic size {size}"))),
        };
        if cx.wants(i) {
            let piece = cx.b.slice(g, &[offset], &[end], &[axis], &[1])?;
            // A static stretch of a symbolic axis slices to `?`: restate its size.
            let dims = cx.dims(cx.operand(i))?;
            *grad = Some(if cx.dims(piece)? == dims { piece } else { cx.b.reshape(piece, &dims)? });
        }
        offset = end;
    }
    Ok(grads)
}
