//! `tg.conv` in f32 and f64, one group, no input dilation, static filter
//! and input sizes: one `k.matmul` of the filter by the images' patches
//! (im2col), so the convolution runs on the packed, register-blocked GEMM.
//!
//! The patches of image `n` are a temporary `[N, C, k_1..k_s, o_1..o_s]`
//! holding, at `(n, c, k, o)`, the input element tap `k` of output
//! position `o` reads: `x[n, c, o_i * stride_i - pad_low_i + k_i *
//! dilation_i]`, or 0 where that lies in the padding. It is filled by a
//! parallel nest over `(n, c, k)` and, inside, over the output positions
//! whose tap lands inside the input, computed from `k` (`window.rs`'s
//! bounds, so nothing is clamped or tested per element and the innermost
//! loop is a plain strided copy); with padding, the temporary is zeroed
//! first. Then `out[n, o_f, o] = sum_{c, k} w[o_f, c, k] * patches[n, c, k,
//! o]`: the filter's `(C, k)` axes and the patches' are the contracting
//! groups, the filter has no batch axis (it is shared by every image, and
//! packed once at compile time when it is a parameter), and the result is
//! the convolution's `[N, O, o_1..o_s]` exactly.
//!
//! The sum is the GEMM's (blocked, with FMAs), not the reference's order;
//! padded taps add `w * 0`, which differs from skipping them only for an
//! infinite or NaN weight.

use super::emit::Lowerer;
use super::linalg::strided_operand;
use super::window::ceil_div_positive;
use tessera_ir::attr::{Attr, Attrs, Scalar};
use tessera_ir::dialect::graph::window::{per_axis, window_axes, WindowAxis};
use tessera_ir::dialect::kernel::linalg::{MatmulAxes, MATMUL};
use tessera_ir::dialect::kernel::IndexOp;
use tessera_ir::{DType, Diag, Dim, OpId, TensorType, ValueId};

/// The convolution's windows when it can be lowered as a product: f32 or
/// f64, one group, no input dilation, and static, non-empty channel,
/// filter and input spatial sizes.
pub(super) fn as_product(l: &Lowerer<'_>, op: OpId) -> Result<Option<Vec<WindowAxis>>, Diag> {
    let (x, w) = (l.src.op(op).operands[0], l.src.op(op).operands[1]);
    let (xt, wt) = (l.tensor(x)?, l.tensor(w)?);
    if !matches!(xt.dtype, DType::F32 | DType::F64) || xt.rank() < 3 || wt.rank() != xt.rank() {
        return Ok(None);
    }
    let s = xt.rank() - 2;
    let (axes, lhs_dilation, groups) = l.with_cx(op, |cx| {
        Ok((window_axes(cx, s)?, per_axis(cx, "lhs_dilation", s, 1, Some(1))?, cx.int_or("groups", 1)?))
    })?;
    let static_nonempty = |d: &Dim| matches!(d, Dim::Known(n) if *n > 0);
    let ok = groups == 1
        && lhs_dilation.iter().all(|&d| d == 1)
        && xt.dims[1..].iter().all(static_nonempty)
        && wt.dims.iter().all(static_nonempty);
    Ok(ok.then_some(axes))
}

/// `tg.conv` as patches and one `k.matmul` (see the module doc), with the
/// windows [`as_product`] returned.
pub(super) fn conv(l: &mut Lowerer<'_>, op: OpId, dest: ValueId, axes: &[WindowAxis]) -> Result<(), Diag> {
    let (x, w) = (l.src.op(op).operands[0], l.src.op(op).operands[1]);
    let (xt, wt) = (l.tensor(x)?, l.tensor(w)?);
    let out = l.tensor(l.result(op)?)?;
    let s = xt.rank() - 2;
    // The patches: [N, C, k_1..k_s, o_1..o_s].
    let mut dims = vec![xt.dims[0].clone(), xt.dims[1].clone()];
    dims.extend(wt.dims[2..].iter().cloned());
    dims.extend(out.dims[2..].iter().cloned());
    let patches = l.alloc(&TensorType::new(dims.clone(), xt.dtype))?;
    if axes.iter().any(|a| a.pad_low > 0 || a.pad_high > 0) {
        let zero = l.scalar_const(Scalar::from_f64(xt.dtype, 0.0), xt.dtype)?;
        let all = l.extents(&dims)?;
        l.nest(&all, true, "z", Vec::new(), &mut |l, ivs, _| {
            l.store(zero, patches, ivs)?;
            Ok(Vec::new())
        })?;
    }
    let lead = l.extents(&dims[..2 + s])?;
    let inputs = l.extents(&xt.dims[2..])?;
    let outputs = l.extents(&out.dims[2..])?;
    l.nest(&lead, true, "i", Vec::new(), &mut |l, ivs, _| {
        let taps = &ivs[2..];
        let mut ranges = Vec::with_capacity(s);
        let mut offsets = Vec::with_capacity(s);
        for (i, a) in axes.iter().enumerate() {
            // Input position of output o: o * stride + (k * dilation - pad_low).
            let d = l.index_const(a.dilation)?;
            let kd = l.index_op(IndexOp::Mul, taps[i], d)?;
            let offset = l.add_const(kd, -a.pad_low)?;
            let zero = l.index_const(0)?;
            let before = l.index_op(IndexOp::Sub, zero, offset)?;
            let lo = ceil_div_positive(l, before, a.stride)?;
            let room = l.index_op(IndexOp::Sub, inputs[i], offset)?;
            let inside = ceil_div_positive(l, room, a.stride)?;
            let hi = l.index_op(IndexOp::Min, inside, outputs[i])?;
            ranges.push((lo, hi));
            offsets.push(offset);
        }
        let lead_ivs = ivs.to_vec();
        l.nest_ranges(&ranges, true, "o", Vec::new(), &mut |l, os, _| {
            let mut at = vec![lead_ivs[0], lead_ivs[1]];
            for (i, a) in axes.iter().enumerate() {
                let stride = l.index_const(a.stride)?;
                let scaled = l.index_op(IndexOp::Mul, os[i], stride)?;
                at.push(l.index_op(IndexOp::Add, scaled, offsets[i])?);
            }
            let v = l.element(x, &at)?;
            let mut to = lead_ivs.clone();
            to.extend_from_slice(os);
            l.store(v, patches, &to)?;
            Ok(Vec::new())
        })?;
        Ok(Vec::new())
    })?;
    let contract: Vec<usize> = (1..2 + s).collect();
    let filter = MatmulAxes { batch: Vec::new(), free: vec![0], contract: contract.clone() };
    let (w, filter) = strided_operand(l, w, filter, true)?;
    let ints = |axes: &[usize]| Attr::ints(&axes.iter().map(|&a| a as i64).collect::<Vec<_>>());
    let attrs = Attrs::new()
        .with("lhs_contract", ints(&filter.contract))
        .with("rhs_batch", ints(&[0]))
        .with("rhs_contract", ints(&contract));
    l.emit(&MATMUL, &[w, patches, dest], attrs, Vec::new())?;
    Ok(())
}
