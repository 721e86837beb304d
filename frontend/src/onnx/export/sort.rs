//! ONNX emitters: the sorting family. Both ops are `TopK`, whose ties keep
//! the lower index first: `tg.topk` directly, `tg.sort` as a `TopK` of the
//! whole axis (its size read from the shape when symbolic).

use super::cx::{attr_int, OpCx};
use super::registry::Emit;
use tessera_ir::infer::normalize_axis;

/// `TopK` of `k` (a `[1]` tensor) along `axis`, writing both results.
fn top_k(cx: &mut OpCx, k: &str, axis: i64, largest: bool, sorted: bool) {
    let (x, values, indices) = (cx.input(0), cx.out(0), cx.out(1));
    let attrs = vec![attr_int("axis", axis), attr_int("largest", largest as i64), attr_int("sorted", sorted as i64)];
    cx.node("TopK", &[&x, k], &[&values, &indices], attrs);
}

fn sort(cx: &mut OpCx) -> Result<(), String> {
    let xt = cx.input_ty(0)?;
    let axis = cx.attrs().int_or("axis", -1)?;
    let descending = cx.attrs().bool_or("descending", false)?;
    let a = normalize_axis(axis, xt.rank())?;
    let k = cx.dim_value(&xt.dims[a])?;
    top_k(cx, &k, a as i64, descending, true);
    Ok(())
}

fn topk(cx: &mut OpCx) -> Result<(), String> {
    let a = cx.attrs();
    let (k, axis) = (a.int("k")?, a.int_or("axis", -1)?);
    let (largest, sorted) = (a.bool_or("largest", true)?, a.bool_or("sorted", true)?);
    let k = cx.ints(&[k]);
    top_k(cx, &k, axis, largest, sorted);
    Ok(())
}

/// The emitters of this family, by op name.
pub(super) const EMITTERS: &[(&str, Emit)] = &[("tg.sort", sort), ("tg.topk", topk)];
