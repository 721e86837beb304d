//! Gradient rules of the reductions: a sum spreads the cotangent over the
//! reduced axes; max and min share it evenly among the elements equal to
//! the extremum (as PyTorch's `amax`/`amin`); a product gives each element
//! the product of the others (zeros included); a running sum runs
//! backwards; a running product is differentiated exactly, zeros included.

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
                let axes: Vec<i64> = axes.iter().map(|&a| a as i64).collect();
                let yk = cx.b.reshape(cx.result(0), &kept)?;
                let others = product_of_others(cx, x, yk, &axes)?;
                cx.mul(spread, others)
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

/// For each element of `x`, the product of the other elements reduced
/// with it over `axes` (`yk`: the product, axes kept), without dividing
/// by zero: `y / x` where the lane has no zero, the product of the
/// nonzero elements at a lane's only zero, and 0 elsewhere (as PyTorch's
/// `prod` backward).
fn product_of_others(cx: &mut VjpCx, x: ValueId, yk: ValueId, axes: &[i64]) -> Result<ValueId, Diag> {
    let zero = cx.constant_like(x, 0.0)?;
    let one = cx.constant_like(x, 1.0)?;
    let is_zero = cx.b.binary(&ew::EQ, x, zero)?;
    let factor = cx.b.op(&ew::SELECT, &[is_zero, one, x], Attrs::new())?;
    let nonzero = cx.b.reduce(&red::REDUCE_PROD, factor, axes, true)?;
    let dtype = cx.dtype(x)?;
    let zeros = cx.b.cast(is_zero, dtype)?;
    let count = cx.b.reduce(&red::REDUCE_SUM, zeros, axes, true)?;
    cx.others_product([is_zero, factor, yk, count, nonzero])
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

/// `cumprod x {axis, exclusive, reverse}`, exactly (zeros included, no
/// division): with the axis split into a source axis `i` and a running axis
/// `j`, `dy_j/dx_i` is the running product of `x` with `x_i` replaced by 1,
/// where `j` follows `i` (or equals it, unless exclusive; in the other
/// direction when reversed) and 0 elsewhere. The gradient sums `g_j`
/// times that over `j`, at the cost of an `n x n` tensor per lane.
pub fn cumprod(cx: &mut VjpCx) -> Result<Grads, Diag> {
    super::linear(cx, |cx, g| {
        let x = cx.operand(0);
        let dims = cx.dims(x)?;
        let a = cx.attrs();
        let axis = a.axis("axis", dims.len()).map_err(|e| cx.error(e))?;
        let exclusive = a.bool_or("exclusive", false).map_err(|e| cx.error(e))?;
        let reverse = a.bool_or("reverse", false).map_err(|e| cx.error(e))?;
        let n = dims[axis].clone();
        // Index grids [n, n, 1...] lining up with the split axes (i, j).
        let mut grid = vec![n.clone(), n];
        grid.extend(std::iter::repeat_n(Dim::Known(1), dims.len() - 1 - axis));
        let iota = |cx: &mut VjpCx, along: i64| {
            let attrs = Attrs::from([("shape", Attr::shape(&grid)), ("dtype", Attr::DType(crate::dtype::DType::I64)), ("axis", Attr::Int(along))]);
            cx.b.op(&super::super::shape::IOTA, &[], attrs)
        };
        let (i, j) = (iota(cx, 0)?, iota(cx, 1)?);
        let mut split = dims.clone();
        split.insert(axis, Dim::Known(1));
        let xs = cx.b.reshape(x, &split)?;
        let gs = cx.b.reshape(g, &split)?;
        let same = cx.b.binary(&ew::EQ, i, j)?;
        let one = cx.constant_like(x, 1.0)?;
        let holes = cx.b.op(&ew::SELECT, &[same, one, xs], Attrs::new())?;
        let attrs = Attrs::from([
            ("axis", Attr::Int(axis as i64 + 1)),
            ("exclusive", Attr::Bool(exclusive)),
            ("reverse", Attr::Bool(reverse)),
        ]);
        let partial = cx.b.op(&red::CUMPROD, &[holes], attrs)?;
        let depends = match (reverse, exclusive) {
            (false, false) => &ew::GE,
            (false, true) => &ew::GT,
            (true, false) => &ew::LE,
            (true, true) => &ew::LT,
        };
        let mask = cx.b.binary(depends, j, i)?;
        let terms = cx.mul(partial, gs)?;
        let zero = cx.constant_like(x, 0.0)?;
        let kept = cx.b.op(&ew::SELECT, &[mask, terms, zero], Attrs::new())?;
        cx.b.reduce(&red::REDUCE_SUM, kept, &[axis as i64 + 1], false)
    })
}
