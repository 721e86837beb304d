//! Gradient rules of the reductions: a sum spreads the cotangent over the
//! reduced axes; max and min share it evenly among the elements equal to
//! the extremum (as PyTorch's `amax`/`amin`); a product divides by each
//! element (so it is undefined at zeros); a running sum runs backwards.

use super::super::{elementwise as ew, reduce as red};
use crate::attr::{Attr, Attrs};
use crate::diag::Diag;
use crate::dim::Dim;
use crate::id::ValueId;
use crate::vjp::{Grads, VjpCx};

/// Which reduction a rule differentiates.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Reduction {
    /// `reduce_sum`.
    Sum,
    /// `reduce_prod`.
    Prod,
    /// `reduce_max` and `reduce_min`.
    Extremum,
}

/// The reduced axes and the operand's dims with them kept as size 1.
fn kept_dims(cx: &VjpCx, x: ValueId) -> Result<(Vec<usize>, Vec<Dim>), Diag> {
    let dims = cx.dims(x)?;
    let axes = cx.attrs().axes("axes", dims.len()).map_err(|e| cx.error(e))?;
    let kept = dims.iter().enumerate().map(|(i, d)| if axes.contains(&i) { Dim::Known(1) } else { d.clone() }).collect();
    Ok((axes, kept))
}

/// The gradient of `reduce_* x {axes}`.
pub fn reduce(cx: &mut VjpCx, kind: Reduction) -> Result<Grads, Diag> {
    super::linear(cx, |cx, g| {
        let x = cx.operand(0);
        let dims = cx.dims(x)?;
        let (axes, kept) = kept_dims(cx, x)?;
        let gk = cx.b.reshape(g, &kept)?;
        let spread = cx.b.broadcast_to(gk, &dims)?;
        match kind {
            Reduction::Sum => Ok(spread),
            Reduction::Prod => {
                let yk = cx.b.reshape(cx.result(0), &kept)?;
                let gy = cx.mul(spread, yk)?;
                cx.div(gy, x)
            }
            Reduction::Extremum => {
                let yk = cx.b.reshape(cx.result(0), &kept)?;
                let hit = cx.b.binary(&ew::EQ, x, yk)?;
                let dtype = cx.dtype(x)?;
                let mask = cx.b.cast(hit, dtype)?;
                let axes: Vec<i64> = axes.iter().map(|&a| a as i64).collect();
                let count = cx.b.reduce(&red::REDUCE_SUM, mask, &axes, true)?;
                let share = cx.div(mask, count)?;
                cx.mul(spread, share)
            }
        }
    })
}

/// `cumsum x {axis, exclusive, reverse}`: the running sum of the cotangent
/// in the other direction, with the same exclusivity.
pub fn cumsum(cx: &mut VjpCx) -> Result<Grads, Diag> {
    super::linear(cx, |cx, g| {
        let a = cx.attrs();
        let axis = a.int("axis").map_err(|e| cx.error(e))?;
        let exclusive = a.bool_or("exclusive", false).map_err(|e| cx.error(e))?;
        let reverse = a.bool_or("reverse", false).map_err(|e| cx.error(e))?;
        let attrs = Attrs::from([
            ("axis", Attr::Int(axis)),
            ("exclusive", Attr::Bool(exclusive)),
            ("reverse", Attr::Bool(!reverse)),
        ]);
        cx.b.op(&red::CUMSUM, &[g], attrs)
    })
}
