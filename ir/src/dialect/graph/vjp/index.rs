//! Gradient rules of gathers, scatters and sorts: a gather's cotangent is
//! scatter-added back into zeros of the data's shape; a scatter's splits
//! between the data and a gather for the updates, weighted by each
//! reduction's partials (see [`scatter_grads`]).
//! Index operands are integers and get no gradient.

use super::super::{elementwise as ew, index as ix};
use crate::attr::{Attr, Attrs};
use crate::diag::Diag;
use crate::dim::Dim;
use crate::id::ValueId;
use crate::vjp::{Grads, VjpCx};

/// `scatter` of `updates` into `data` along `axis` with `reduction`.
fn scatter(cx: &mut VjpCx, [data, idx, updates]: [ValueId; 3], axis: i64, reduction: &str) -> Result<ValueId, Diag> {
    let attrs = Attrs::from([("axis", Attr::Int(axis)), ("reduction", Attr::Str(reduction.into()))]);
    cx.b.op(&ix::SCATTER, &[data, idx, updates], attrs)
}

impl VjpCx<'_, '_> {
    /// The adjoint of `gather {axis}`: `g` (shaped `dims[:axis] + idx +
    /// dims[axis+1:]`) scatter-added into zeros of `dims` at the positions
    /// `idx` names along `axis`; the axis moves to the front for `scatter_nd`.
    pub fn scatter_add_axis(&mut self, g: ValueId, idx: ValueId, axis: usize, dims: &[Dim]) -> Result<ValueId, Diag> {
        let idx_dims = self.dims(idx)?;
        let (r, q, a) = (dims.len(), idx_dims.len(), axis);
        let to_front: Vec<i64> = (a..a + q).chain(0..a).chain(a + q..q + r - 1).map(|x| x as i64).collect();
        let gt = if a == 0 { g } else { self.b.transpose(g, &to_front)? };
        let mut front = vec![dims[a].clone()];
        front.extend(dims[..a].iter().cloned());
        front.extend(dims[a + 1..].iter().cloned());
        let zero = self.constant_like(g, 0.0)?;
        let zeros = self.b.broadcast_to(zero, &front)?;
        let mut tuples = idx_dims;
        tuples.push(Dim::Known(1));
        let idx_nd = self.b.reshape(idx, &tuples)?;
        let attrs = Attrs::from([("reduction", Attr::Str("add".into()))]);
        let summed = self.b.op(&ix::SCATTER_ND, &[zeros, idx_nd, gt], attrs)?;
        if a == 0 {
            return Ok(summed);
        }
        let back: Vec<i64> = (1..=a).chain([0]).chain(a + 1..r).map(|x| x as i64).collect();
        self.b.transpose(summed, &back)
    }
}

/// `gather {axis}`: the cotangent scatter-added into zeros of the data's shape.
pub fn gather(cx: &mut VjpCx) -> Result<Grads, Diag> {
    super::linear(cx, |cx, g| {
        let (data, idx) = (cx.operand(0), cx.operand(1));
        let dims = cx.dims(data)?;
        let a = cx.attrs().axis("axis", dims.len()).map_err(|e| cx.error(e))?;
        cx.scatter_add_axis(g, idx, a, &dims)
    })
}

/// `gather_elements {axis}`: the cotangent scatter-added into zeros.
pub fn gather_elements(cx: &mut VjpCx) -> Result<Grads, Diag> {
    super::linear(cx, |cx, g| {
        let (data, idx) = (cx.operand(0), cx.operand(1));
        let axis = cx.attrs().int("axis").map_err(|e| cx.error(e))?;
        let zeros = cx.zeros_like(data)?;
        scatter(cx, [zeros, idx, g], axis, "add")
    })
}

/// The index tuples of a `gather_nd` with `b` batch dims, each prefixed
/// with its batch coordinates, so that they address the data directly.
fn with_batch_coordinates(cx: &mut VjpCx, idx: ValueId, b: usize) -> Result<ValueId, Diag> {
    if b == 0 {
        return Ok(idx);
    }
    let mut dims = cx.dims(idx)?;
    let dtype = cx.dtype(idx)?;
    let q = dims.len();
    dims[q - 1] = Dim::Known(1);
    let mut parts = Vec::with_capacity(b + 1);
    for axis in 0..b {
        let attrs = Attrs::from([("shape", Attr::shape(&dims)), ("dtype", Attr::DType(dtype)), ("axis", Attr::Int(axis as i64))]);
        parts.push(cx.b.op(&super::super::shape::IOTA, &[], attrs)?);
    }
    parts.push(idx);
    cx.b.concat(&parts, q as i64 - 1)
}

/// `gather_nd {batch_dims}`: the cotangent scatter-added into zeros, the
/// batch coordinates prepended to the index tuples.
pub fn gather_nd(cx: &mut VjpCx) -> Result<Grads, Diag> {
    super::linear(cx, |cx, g| {
        let b = cx.attrs().int_or("batch_dims", 0).map_err(|e| cx.error(e))?;
        let b = usize::try_from(b).map_err(|_| cx.error(format!("batch_dims must be >= 0, got {b}")))?;
        let (data, idx) = (cx.operand(0), cx.operand(1));
        let tuples = with_batch_coordinates(cx, idx, b)?;
        let zeros = cx.zeros_like(data)?;
        let attrs = Attrs::from([("reduction", Attr::Str("add".into()))]);
        cx.b.op(&ix::SCATTER_ND, &[zeros, tuples, g], attrs)
    })
}

/// A scatter's addressing: `scatter {axis}` (elements) or `scatter_nd`,
/// with the gather that reads the same positions.
#[derive(Copy, Clone)]
enum Scatter {
    /// `tg.scatter` / `tg.gather_elements` along the axis.
    Elements(i64),
    /// `tg.scatter_nd` / `tg.gather_nd`.
    Nd,
}

impl Scatter {
    /// `data` with `updates` combined in at the indices by `reduction`.
    fn scatter(self, cx: &mut VjpCx, data: ValueId, updates: ValueId, reduction: &str) -> Result<ValueId, Diag> {
        let idx = cx.operand(1);
        match self {
            Scatter::Elements(axis) => scatter(cx, [data, idx, updates], axis, reduction),
            Scatter::Nd => cx.b.op(&ix::SCATTER_ND, &[data, idx, updates], Attrs::from([("reduction", Attr::Str(reduction.into()))])),
        }
    }

    /// The elements of a data-shaped `x` at the positions the updates go to.
    fn gather(self, cx: &mut VjpCx, x: ValueId) -> Result<ValueId, Diag> {
        let idx = cx.operand(1);
        match self {
            Scatter::Elements(axis) => cx.b.op(&ix::GATHER_ELEMENTS, &[x, idx], Attrs::from([("axis", Attr::Int(axis))])),
            Scatter::Nd => cx.b.op(&ix::GATHER_ND, &[x, idx], Attrs::new()),
        }
    }
}

/// The gradients of a scatter with `reduction`, as PyTorch's
/// `scatter_reduce` (with `include_self`) defines them:
/// - `none`: the data keeps the cotangent where nothing was written over
///   it; each update gathers the cotangent of its target;
/// - `add`: the data keeps the whole cotangent; the updates gather theirs;
/// - `mul`: each factor (a data element or an update) gets the cotangent
///   of its target times the product of the target's other factors — the
///   target's product divided by the factor when no factor is zero, the
///   product of the others when it is the only zero, 0 when another is;
/// - `max`/`min`: the cotangent of a target is shared evenly among the
///   factors equal to its result.
fn scatter_grads(cx: &mut VjpCx, how: Scatter) -> Result<Grads, Diag> {
    let reduction = cx.attrs().choice("reduction", &["none", "add", "mul", "max", "min"], "none").map_err(|e| cx.error(e))?.to_string();
    let g = cx.cot(0)?;
    let (data, updates, y) = (cx.operand(0), cx.operand(2), cx.result(0));
    let (dd, du) = match reduction.as_str() {
        "add" => (None, None),
        "none" => {
            let zeros = cx.zeros_like(updates)?;
            let kept = how.scatter(cx, g, zeros, "none")?;
            return finish(cx, how, Some(kept), g, None);
        }
        "mul" => {
            let (dd, du) = product_partials(cx, how, data, updates, y)?;
            (Some(dd), Some(du))
        }
        _ => {
            let md = cx.b.binary(&ew::EQ, data, y)?;
            let md = cx.b.cast(md, cx.dtype(data)?)?;
            let yu = how.gather(cx, y)?;
            let mu = cx.b.binary(&ew::EQ, updates, yu)?;
            let mu = cx.b.cast(mu, cx.dtype(data)?)?;
            let count = how.scatter(cx, md, mu, "add")?;
            let cu = how.gather(cx, count)?;
            (Some(cx.div(md, count)?), Some(cx.div(mu, cu)?))
        }
    };
    let gd = match dd {
        Some(d) => cx.mul(g, d)?,
        None => g,
    };
    finish(cx, how, Some(gd), g, du)
}

/// The gradients `[gd, None, gather(g) * du]`, each only when wanted.
fn finish(cx: &mut VjpCx, how: Scatter, gd: Option<ValueId>, g: ValueId, du: Option<ValueId>) -> Result<Grads, Diag> {
    let gu = if cx.wants(2) {
        let gg = how.gather(cx, g)?;
        Some(match du {
            Some(d) => cx.mul(gg, d)?,
            None => gg,
        })
    } else {
        None
    };
    Ok(vec![gd.filter(|_| cx.wants(0)), None, gu])
}

/// For a multiplying scatter: each factor's product of the other factors
/// of its target, for the data and for the updates (see [`scatter_grads`]).
fn product_partials(cx: &mut VjpCx, how: Scatter, data: ValueId, updates: ValueId, y: ValueId) -> Result<(ValueId, ValueId), Diag> {
    let dtype = cx.dtype(data)?;
    let zero = cx.constant_like(data, 0.0)?;
    let one = cx.constant_like(data, 1.0)?;
    let (zd, zu) = (cx.b.binary(&ew::EQ, data, zero)?, cx.b.binary(&ew::EQ, updates, zero)?);
    let nd = cx.b.op(&ew::SELECT, &[zd, one, data], Attrs::new())?;
    let nu = cx.b.op(&ew::SELECT, &[zu, one, updates], Attrs::new())?;
    let nonzero = how.scatter(cx, nd, nu, "mul")?;
    let (cd, cu) = (cx.b.cast(zd, dtype)?, cx.b.cast(zu, dtype)?);
    let count = how.scatter(cx, cd, cu, "add")?;
    let dd = cx.others_product([zd, nd, y, count, nonzero])?;
    let (yu, cu, nonzero_u) = (how.gather(cx, y)?, how.gather(cx, count)?, how.gather(cx, nonzero)?);
    let du = cx.others_product([zu, nu, yu, cu, nonzero_u])?;
    Ok((dd, du))
}

/// `scatter {axis, reduction}`.
pub fn scatter_elements(cx: &mut VjpCx) -> Result<Grads, Diag> {
    let axis = cx.attrs().int("axis").map_err(|e| cx.error(e))?;
    scatter_grads(cx, Scatter::Elements(axis))
}

/// `scatter_nd {reduction}`.
pub fn scatter_nd(cx: &mut VjpCx) -> Result<Grads, Diag> {
    scatter_grads(cx, Scatter::Nd)
}

/// `sort` and `topk`: the values' cotangent scatter-added back to the
/// positions the indices result names (along `axis`, default the last).
pub fn sorted(cx: &mut VjpCx) -> Result<Grads, Diag> {
    super::linear(cx, |cx, g| {
        let x = cx.operand(0);
        let rank = cx.dims(x)?.len();
        let axis = cx.attrs().int_or("axis", -1).map_err(|e| cx.error(e))?;
        let axis = crate::infer::normalize_axis(axis, rank).map_err(|e| cx.error(e))? as i64;
        let zeros = cx.zeros_like(x)?;
        let positions = cx.result(1);
        scatter(cx, [zeros, positions, g], axis, "add")
    })
}

