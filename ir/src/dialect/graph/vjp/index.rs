//! Gradient rules of gathers, scatters and sorts: a gather's cotangent is
//! scatter-added back into zeros of the data's shape; a scatter's splits
//! into the data's untouched positions and a gather for the updates.
//! Index operands are integers and get no gradient.

use super::super::index as ix;
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

/// `gather {axis}`: the cotangent scatter-added into zeros of the data's
/// shape, with the gathered axis moved to the front for `scatter_nd`.
pub fn gather(cx: &mut VjpCx) -> Result<Grads, Diag> {
    super::linear(cx, |cx, g| {
        let (data, idx) = (cx.operand(0), cx.operand(1));
        let dims = cx.dims(data)?;
        let idx_dims = cx.dims(idx)?;
        let (r, q) = (dims.len(), idx_dims.len());
        let a = cx.attrs().axis("axis", r).map_err(|e| cx.error(e))?;
        // g is data[:a] + idx + data[a+1:]; bring idx's axes to the front.
        let to_front: Vec<i64> = (a..a + q).chain(0..a).chain(a + q..q + r - 1).map(|x| x as i64).collect();
        let gt = if a == 0 { g } else { cx.b.transpose(g, &to_front)? };
        let mut front = vec![dims[a].clone()];
        front.extend(dims[..a].iter().cloned());
        front.extend(dims[a + 1..].iter().cloned());
        let zero = cx.constant_like(g, 0.0)?;
        let zeros = cx.b.broadcast_to(zero, &front)?;
        let mut tuples = idx_dims;
        tuples.push(Dim::Known(1));
        let idx_nd = cx.b.reshape(idx, &tuples)?;
        let attrs = Attrs::from([("reduction", Attr::Str("add".into()))]);
        let summed = cx.b.op(&ix::SCATTER_ND, &[zeros, idx_nd, gt], attrs)?;
        if a == 0 {
            return Ok(summed);
        }
        let back: Vec<i64> = (1..=a).chain([0]).chain(a + 1..r).map(|x| x as i64).collect();
        cx.b.transpose(summed, &back)
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

/// `gather_nd` (without batch dims): the cotangent scatter-added into zeros.
pub fn gather_nd(cx: &mut VjpCx) -> Result<Grads, Diag> {
    super::linear(cx, |cx, g| {
        if cx.attrs().int_or("batch_dims", 0).map_err(|e| cx.error(e))? != 0 {
            return Err(cx.error("'tg.gather_nd' with batch_dims is not differentiable yet"));
        }
        let (data, idx) = (cx.operand(0), cx.operand(1));
        let zeros = cx.zeros_like(data)?;
        let attrs = Attrs::from([("reduction", Attr::Str("add".into()))]);
        cx.b.op(&ix::SCATTER_ND, &[zeros, idx, g], attrs)
    })
}

/// The reduction of a scatter, checked to be differentiable (`none` or `add`).
fn linear_reduction(cx: &VjpCx, op: &str) -> Result<String, Diag> {
    let r = cx.attrs().choice("reduction", &["none", "add", "mul", "max", "min"], "none").map_err(|e| cx.error(e))?;
    if r != "none" && r != "add" {
        return Err(cx.error(format!("'{op}' with reduction \"{r}\" is not differentiable yet")));
    }
    Ok(r.to_string())
}

/// `scatter {axis, reduction}` with `none` or `add`: the data keeps the
/// cotangent where nothing was written over it (everywhere for `add`); the
/// updates gather theirs.
pub fn scatter_elements(cx: &mut VjpCx) -> Result<Grads, Diag> {
    let reduction = linear_reduction(cx, "tg.scatter")?;
    let axis = cx.attrs().int("axis").map_err(|e| cx.error(e))?;
    let g = cx.cot(0)?;
    let (idx, updates) = (cx.operand(1), cx.operand(2));
    let gd = match (cx.wants(0), reduction.as_str()) {
        (false, _) => None,
        (true, "add") => Some(g),
        (true, _) => {
            let zeros = cx.zeros_like(updates)?;
            Some(scatter(cx, [g, idx, zeros], axis, "none")?)
        }
    };
    let gu = if cx.wants(2) {
        Some(cx.b.op(&ix::GATHER_ELEMENTS, &[g, idx], Attrs::from([("axis", Attr::Int(axis))]))?)
    } else {
        None
    };
    Ok(vec![gd, None, gu])
}

/// `scatter_nd {reduction}` with `none` or `add`, like [`scatter_elements`].
pub fn scatter_nd(cx: &mut VjpCx) -> Result<Grads, Diag> {
    let reduction = linear_reduction(cx, "tg.scatter_nd")?;
    let g = cx.cot(0)?;
    let (idx, updates) = (cx.operand(1), cx.operand(2));
    let gd = match (cx.wants(0), reduction.as_str()) {
        (false, _) => None,
        (true, "add") => Some(g),
        (true, _) => {
            let zeros = cx.zeros_like(updates)?;
            Some(cx.b.op(&ix::SCATTER_ND, &[g, idx, zeros], Attrs::new())?)
        }
    };
    let gu = if cx.wants(2) { Some(cx.b.op(&ix::GATHER_ND, &[g, idx], Attrs::new())?) } else { None };
    Ok(vec![gd, None, gu])
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

