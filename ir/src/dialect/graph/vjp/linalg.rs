//! Gradient rules of the contractions. `dot`: each operand's gradient is a
//! `dot` of the cotangent with the other operand, transposed back to the
//! operand's axis order. `conv`: the input's gradient is a transposed
//! convolution (the kernel flipped, input dilation = stride); the weight's
//! is a convolution of the input with the cotangent, batch and channels
//! swapped (stride and dilation swapped too). An input dilation
//! (`lhs_dilation`) is applied to the input explicitly.

use super::super::linalg as la;
use super::super::shape as sh;
use super::super::window::{per_axis, window_axes};
use crate::attr::{Attr, Attrs};
use crate::diag::Diag;
use crate::dim::Dim;
use crate::id::ValueId;
use crate::vjp::{Grads, VjpCx};

/// `x` transposed so that result axis `i` comes from axis `src[i]`; no op
/// for the identity.
fn permute(cx: &mut VjpCx, x: ValueId, src: &[usize]) -> Result<ValueId, Diag> {
    if src.iter().enumerate().all(|(i, &s)| i == s) {
        return Ok(x);
    }
    let perm: Vec<i64> = src.iter().map(|&s| s as i64).collect();
    cx.b.transpose(x, &perm)
}

/// `0..n` as i64 axes.
fn range(from: usize, to: usize) -> Vec<i64> {
    (from as i64..to as i64).collect()
}

/// The axes of a rank-`rank` operand used neither as batch nor as contracting axes.
fn free_axes(rank: usize, batch: &[usize], contract: &[usize]) -> Vec<usize> {
    (0..rank).filter(|x| !batch.contains(x) && !contract.contains(x)).collect()
}

/// Where each axis of one operand sits in `dot(cotangent, other)`'s result:
/// batch axes first, then the operand's free axes, then its contracting
/// axes in the order of the other operand's matching (ascending) axes.
fn operand_layout(rank: usize, batch: &[usize], free: &[usize], contract: &[usize], other_contract: &[usize]) -> Vec<usize> {
    let mut src = vec![0; rank];
    let mut pos = 0;
    for &x in batch.iter().chain(free) {
        src[x] = pos;
        pos += 1;
    }
    let mut sorted = other_contract.to_vec();
    sorted.sort_unstable();
    for r in sorted {
        if let Some(k) = other_contract.iter().position(|&c| c == r) {
            src[contract[k]] = pos;
            pos += 1;
        }
    }
    src
}

/// `dot {lhs_batch, rhs_batch, lhs_contract, rhs_contract}`.
pub fn dot(cx: &mut VjpCx) -> Result<Grads, Diag> {
    let (a, b) = (cx.operand(0), cx.operand(1));
    let (ra, rb_rank) = (cx.dims(a)?.len(), cx.dims(b)?.len());
    let read = |cx: &VjpCx, name: &str, rank: usize, required: bool| -> Result<Vec<usize>, Diag> {
        let at = cx.attrs();
        let raw = if required { at.ints(name) } else { at.ints_or(name, Vec::new()) }.map_err(|e| cx.error(e))?;
        crate::infer::normalize_axes(&raw, rank).map_err(|e| cx.error(e))
    };
    let (lb, rb) = (read(cx, "lhs_batch", ra, false)?, read(cx, "rhs_batch", rb_rank, false)?);
    let (lc, rc) = (read(cx, "lhs_contract", ra, true)?, read(cx, "rhs_contract", rb_rank, true)?);
    let (lf, rf) = (free_axes(ra, &lb, &lc), free_axes(rb_rank, &rb, &rc));
    let g = cx.cot(0)?;
    let nb = lb.len();
    let g_batch = range(0, nb);
    let g_lf = range(nb, nb + lf.len());
    let g_rf = range(nb + lf.len(), nb + lf.len() + rf.len());
    let as_i64 = |v: &[usize]| v.iter().map(|&x| x as i64).collect::<Vec<_>>();
    let mut grads = vec![None, None];
    if cx.wants(0) {
        let d = cx.b.dot(g, b, (&g_batch, &as_i64(&rb)), (&g_rf, &as_i64(&rf)))?;
        let src = operand_layout(ra, &lb, &lf, &lc, &rc);
        grads[0] = Some(permute(cx, d, &src)?);
    }
    if cx.wants(1) {
        let d = cx.b.dot(a, g, (&as_i64(&lb), &g_batch), (&as_i64(&lf), &g_lf))?;
        // dot(a, g) puts a's remaining (contracting) axes before g's (rhs free) ones.
        let mut src = vec![0; rb_rank];
        for (i, &x) in rb.iter().enumerate() {
            src[x] = i;
        }
        let mut pos = nb;
        let mut sorted = lc.clone();
        sorted.sort_unstable();
        for l in sorted {
            if let Some(k) = lc.iter().position(|&c| c == l) {
                src[rc[k]] = pos;
                pos += 1;
            }
        }
        for &x in &rf {
            src[x] = pos;
            pos += 1;
        }
        grads[1] = Some(permute(cx, d, &src)?);
    }
    Ok(grads)
}

/// A static size, or an error naming what needs it.
fn known(cx: &VjpCx, d: &Dim, what: &str) -> Result<i64, Diag> {
    d.known()
        .map(|k| k as i64)
        .ok_or_else(|| cx.error(format!("differentiating 'tg.conv' needs a static {what}, got {d}")))
}

/// `x` with `l - 1` zeros between neighbours along each spatial axis
/// (`l` from `lhs_dilation`), to the dilated sizes `n`.
fn dilate(cx: &mut VjpCx, x: ValueId, lhs_dilation: &[i64], n: &[i64]) -> Result<ValueId, Diag> {
    if lhs_dilation.iter().all(|&l| l == 1) {
        return Ok(x);
    }
    let mut v = x;
    for (i, &l) in lhs_dilation.iter().enumerate() {
        v = cx.spread(v, 2 + i, l as u64)?;
    }
    let s = n.len();
    cx.b.slice(v, &vec![0; s], n, &range(2, 2 + s), &vec![1; s])
}

/// `conv {strides, dilations, pad_low, pad_high, lhs_dilation, groups}`;
/// with input dilation, the input's gradient is that of the dilated input
/// at every `lhs_dilation`-th position, and the weight's uses the dilated input.
pub fn conv(cx: &mut VjpCx) -> Result<Grads, Diag> {
    let (x, w) = (cx.operand(0), cx.operand(1));
    let (xd, wd, yd) = (cx.dims(x)?, cx.dims(w)?, cx.dims(cx.result(0))?);
    let s = xd.len() - 2;
    let at = cx.attrs();
    let axes = window_axes(&at, s).map_err(|e| cx.error(e))?;
    let lhs_dilation = per_axis(&at, "lhs_dilation", s, 1, Some(1)).map_err(|e| cx.error(e))?;
    let groups = at.int_or("groups", 1).map_err(|e| cx.error(e))?;
    let (o, cg) = (known(cx, &wd[0], "output channel count")?, known(cx, &wd[1], "channel count")?);
    let og = o / groups;
    let mut n = Vec::with_capacity(s);
    let mut k = Vec::with_capacity(s);
    let mut out = Vec::with_capacity(s);
    for i in 0..s {
        // The input as the window sees it: dilated by lhs_dilation.
        let raw = known(cx, &xd[2 + i], "spatial size")?;
        n.push(if raw == 0 { 0 } else { (raw - 1) * lhs_dilation[i] + 1 });
        k.push(known(cx, &wd[2 + i], "kernel size")?);
        out.push(known(cx, &yd[2 + i], "output size")?);
    }
    let strides: Vec<i64> = axes.iter().map(|a| a.stride).collect();
    let dilations: Vec<i64> = axes.iter().map(|a| a.dilation).collect();
    let pad_low: Vec<i64> = axes.iter().map(|a| a.pad_low).collect();
    let pad_high: Vec<i64> = axes.iter().map(|a| a.pad_high).collect();
    let g = cx.cot(0)?;
    let spatial = |dims: &[i64]| dims.iter().map(|&d| Dim::Known(d as u64)).collect::<Vec<_>>();
    let tail: Vec<usize> = (3..3 + s).collect();
    let mut grads = vec![None, None];
    if cx.wants(0) {
        // The weight as [groups * Cg, O / groups, K...], kernel flipped.
        let mut split = vec![Dim::Known(groups as u64), Dim::Known(og as u64), Dim::Known(cg as u64)];
        split.extend(spatial(&k));
        let w4 = cx.b.reshape(w, &split)?;
        let swap: Vec<usize> = [0, 2, 1].into_iter().chain(tail.iter().copied()).collect();
        let wt = permute(cx, w4, &swap)?;
        let mut merged = vec![Dim::Known((groups * cg) as u64), Dim::Known(og as u64)];
        merged.extend(spatial(&k));
        let wt = cx.b.reshape(wt, &merged)?;
        let flip = range(2, 2 + s);
        let wf = cx.b.op(&sh::REVERSE, &[wt], Attrs::from([("axes", Attr::ints(&flip))]))?;
        let mut lo = Vec::with_capacity(s);
        let mut hi = Vec::with_capacity(s);
        for i in 0..s {
            let span = (k[i] - 1) * dilations[i] + 1;
            lo.push(span - 1 - pad_low[i]);
            hi.push(n[i] - 1 - (out[i] - 1) * strides[i] + pad_low[i]);
        }
        let attrs = Attrs::from([
            ("dilations", Attr::ints(&dilations)),
            ("pad_low", Attr::ints(&lo)),
            ("pad_high", Attr::ints(&hi)),
            ("lhs_dilation", Attr::ints(&strides)),
            ("groups", Attr::Int(groups)),
        ]);
        let gd = cx.b.op(&la::CONV, &[g, wf], attrs)?;
        grads[0] = Some(if lhs_dilation.iter().all(|&l| l == 1) {
            gd
        } else {
            cx.b.slice(gd, &vec![0; s], &n, &range(2, 2 + s), &lhs_dilation)?
        });
    }
    if cx.wants(1) {
        let x = dilate(cx, x, &lhs_dilation, &n)?;
        let batch = xd[0].clone();
        let gd = Dim::Known(groups as u64);
        // x as [Cg, groups * N, S...] and g as [O, N, S'...].
        let mut xs = vec![batch.clone(), gd.clone(), Dim::Known(cg as u64)];
        xs.extend(spatial(&n));
        let x4 = cx.b.reshape(x, &xs)?;
        let x_order: Vec<usize> = [2, 1, 0].into_iter().chain(tail.iter().copied()).collect();
        let xt = permute(cx, x4, &x_order)?;
        let mut x_merged = vec![Dim::Known(cg as u64), gd.mul(&batch)];
        x_merged.extend(spatial(&n));
        let xt = cx.b.reshape(xt, &x_merged)?;
        let mut gs = vec![batch.clone(), gd, Dim::Known(og as u64)];
        gs.extend(spatial(&out));
        let g4 = cx.b.reshape(g, &gs)?;
        let g_order: Vec<usize> = [1, 2, 0].into_iter().chain(tail.iter().copied()).collect();
        let gt = permute(cx, g4, &g_order)?;
        let mut g_merged = vec![Dim::Known(o as u64), batch];
        g_merged.extend(spatial(&out));
        let gt = cx.b.reshape(gt, &g_merged)?;
        let attrs = Attrs::from([
            ("strides", Attr::ints(&dilations)),
            ("dilations", Attr::ints(&strides)),
            ("pad_low", Attr::ints(&pad_low)),
            ("pad_high", Attr::ints(&pad_high)),
            ("groups", Attr::Int(groups)),
        ]);
        let full = cx.b.op(&la::CONV, &[xt, gt], attrs)?;
        let zeros = vec![0; s];
        let trimmed = cx.b.slice(full, &zeros, &k, &range(2, 2 + s), &vec![1; s])?;
        let back: Vec<usize> = [1, 0].into_iter().chain(2..2 + s).collect();
        grads[1] = Some(permute(cx, trimmed, &back)?);
    }
    Ok(grads)
}
