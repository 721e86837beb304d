//! `tg.conv` as a direct loop nest, where it is not a product of the
//! filter by the input's patches (`conv_gemm.rs`): a parallel nest over the result
//! (image, filter, output positions) and, inside, a sequential nest over
//! the filter's input channels and the kernel taps that land inside the
//! input (`window.rs`: padding is skipped, never read), carrying the sum
//! of `input * weight` through `tg.mul` and `tg.add`, in the reference's
//! order (channel, then taps row-major). Filter `o` reads the channels of
//! its group, `o / (O / groups) * C_per_group + c`. With `lhs_dilation`
//! the input axis is spread to `(n - 1) * lhs_dilation + 1` positions and
//! a tap landing between two elements adds nothing. f16 and bf16
//! accumulate in f32 and round once, at the store. (A padded tap adds
//! nothing rather than `weight * 0`, which differs only for an infinite
//! or NaN weight.)

use super::conv_gemm;
use super::emit::{accumulator, Lowerer};
use super::window::{over_taps, taps, Taps};
use tessera_ir::attr::{Attr, Attrs, Scalar};
use tessera_ir::dialect::graph::elementwise::{ADD, MUL, OR, SELECT};
use tessera_ir::dialect::graph::window::{per_axis, window_axes};
use tessera_ir::dialect::kernel::scalar::INDEX_CAST;
use tessera_ir::dialect::kernel::IndexOp;
use tessera_ir::{DType, Diag, OpId, ValueId};

/// `tg.conv`: as a product when it can be (`conv_gemm.rs`), else the
/// direct nest.
pub(super) fn conv(l: &mut Lowerer<'_>, op: OpId, dest: ValueId) -> Result<(), Diag> {
    if let Some(axes) = conv_gemm::as_product(l, op)? {
        return conv_gemm::conv(l, op, dest, &axes);
    }
    let (x, w) = (l.src.op(op).operands[0], l.src.op(op).operands[1]);
    let (xt, wt) = (l.tensor(x)?, l.tensor(w)?);
    let s = xt.rank().checked_sub(2).ok_or_else(|| l.op_error(op, "the input has rank below 3"))?;
    let (axes, lhs_dilation, groups) = l.with_cx(op, |cx| {
        Ok((window_axes(cx, s)?, per_axis(cx, "lhs_dilation", s, 1, Some(1))?, cx.int_or("groups", 1)?))
    })?;
    let out = l.extents(&l.tensor(l.result(op)?)?.dims)?;
    let per_group = l.dim(&wt.dims[1])?;
    let filters_per_group = match groups {
        1 => None,
        g => {
            let filters = l.dim(&wt.dims[0])?;
            let g = l.index_const(g)?;
            Some(l.index_op(IndexOp::Div, filters, g)?)
        }
    };
    // The extent of each spatial axis once spread by lhs_dilation.
    let mut extents = Vec::with_capacity(s);
    for (d, &ld) in xt.dims[2..].iter().zip(&lhs_dilation) {
        let n = l.dim(d)?;
        extents.push(if ld == 1 {
            n
        } else {
            let last = l.add_const(n, -1)?;
            let ld = l.index_const(ld)?;
            let spread = l.index_op(IndexOp::Mul, last, ld)?;
            l.add_const(spread, 1)?
        });
    }
    let acc_dtype = accumulator(xt.dtype);
    let zero = l.scalar_const(Scalar::from_f64(acc_dtype, 0.0), acc_dtype)?;
    l.nest(&out, true, "i", Vec::new(), &mut |l, ivs, _| {
        let (image, filter) = (ivs[0], ivs[1]);
        let first_channel = match filters_per_group {
            None => l.index_const(0)?,
            Some(fpg) => {
                let group = l.index_op(IndexOp::Div, filter, fpg)?;
                l.index_op(IndexOp::Mul, group, per_group)?
            }
        };
        let mut all: Vec<Taps> = Vec::with_capacity(s);
        for i in 0..s {
            all.push(taps(l, ivs[2 + i], extents[i], &wt.dims[2 + i], &axes[i])?);
        }
        let channels = [(l.index_const(0)?, per_group)];
        let sum = over_taps(l, &channels, &all, vec![zero], &mut |l, lead, ks, at, acc| {
            let c = lead[0];
            let mut xi = vec![image, l.index_op(IndexOp::Add, first_channel, c)?];
            let mut hole = None;
            for (&p, &ld) in at.iter().zip(&lhs_dilation) {
                if ld == 1 {
                    xi.push(p);
                    continue;
                }
                let ld = l.index_const(ld)?;
                xi.push(l.index_op(IndexOp::Div, p, ld)?);
                let rem = l.index_op(IndexOp::Rem, p, ld)?;
                let off_grid = l.emit1(&INDEX_CAST, &[rem], Attrs::new().with("to", Attr::DType(DType::I1)))?;
                hole = Some(match hole {
                    None => off_grid,
                    Some(h) => l.apply(&OR, &[h, off_grid])?,
                });
            }
            let mut wi = vec![filter, c];
            wi.extend_from_slice(ks);
            let a = l.element(x, &xi)?;
            let a = l.convert(a, xt.dtype, acc_dtype)?;
            let b = l.element(w, &wi)?;
            let b = l.convert(b, xt.dtype, acc_dtype)?;
            let p = l.apply(&MUL, &[a, b])?;
            let next = l.apply(&ADD, &[acc[0], p])?;
            Ok(vec![match hole {
                None => next,
                Some(h) => l.apply(&SELECT, &[h, acc[0], next])?,
            }])
        })?;
        let result = l.convert(sum[0], acc_dtype, xt.dtype)?;
        l.store(result, dest, ivs)?;
        Ok(Vec::new())
    })?;
    Ok(())
}
