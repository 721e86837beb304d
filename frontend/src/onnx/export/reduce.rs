//! ONNX emitters: the reduction family. `tg.reduce_*` become `Reduce*`
//! (ReduceSum takes its axes as an input from opset 13, the others from
//! opset 18, as an attribute before); reducing no axes is an `Identity`.
//! `tg.argmax`/`tg.argmin` are `ArgMax`/`ArgMin`, `tg.cumsum` is `CumSum`;
//! `tg.cumprod` has no ONNX equivalent up to opset 21.

use super::cx::{attr_int, attr_ints, OpCx};
use super::registry::Emit;

/// `Reduce<kind>` over the op's axes; `axes_input_from` is the first opset
/// taking the axes as an input.
fn reduction(cx: &mut OpCx, op_type: &str, axes_input_from: i64) -> Result<(), String> {
    let rank = cx.input_ty(0)?.rank();
    let axes: Vec<i64> = cx.attrs().axes("axes", rank)?.into_iter().map(|a| a as i64).collect();
    let keepdims = cx.attrs().bool_or("keepdims", false)?;
    let (x, y) = (cx.input(0), cx.out(0));
    if axes.is_empty() {
        cx.node("Identity", &[&x], &[&y], vec![]);
        return Ok(());
    }
    let keep = attr_int("keepdims", keepdims as i64);
    if cx.opset() >= axes_input_from {
        let axes = cx.ints(&axes);
        cx.node(op_type, &[&x, &axes], &[&y], vec![keep]);
    } else {
        cx.node(op_type, &[&x], &[&y], vec![attr_ints("axes", &axes), keep]);
    }
    Ok(())
}

fn reduce_sum(cx: &mut OpCx) -> Result<(), String> {
    reduction(cx, "ReduceSum", 13)
}

fn reduce_prod(cx: &mut OpCx) -> Result<(), String> {
    reduction(cx, "ReduceProd", 18)
}

fn reduce_max(cx: &mut OpCx) -> Result<(), String> {
    reduction(cx, "ReduceMax", 18)
}

fn reduce_min(cx: &mut OpCx) -> Result<(), String> {
    reduction(cx, "ReduceMin", 18)
}

/// `ArgMax`/`ArgMin` with `axis`, `keepdims` and `select_last_index`.
fn arg_reduction(cx: &mut OpCx, op_type: &str) -> Result<(), String> {
    let a = cx.attrs();
    let axis = a.int("axis")?;
    let keepdims = a.bool_or("keepdims", false)?;
    let last = a.bool_or("select_last_index", false)?;
    let (x, y) = (cx.input(0), cx.out(0));
    let attrs =
        vec![attr_int("axis", axis), attr_int("keepdims", keepdims as i64), attr_int("select_last_index", last as i64)];
    cx.node(op_type, &[&x], &[&y], attrs);
    Ok(())
}

fn argmax(cx: &mut OpCx) -> Result<(), String> {
    arg_reduction(cx, "ArgMax")
}

fn argmin(cx: &mut OpCx) -> Result<(), String> {
    arg_reduction(cx, "ArgMin")
}

/// `CumSum` with the axis as an input.
fn cumsum(cx: &mut OpCx) -> Result<(), String> {
    let a = cx.attrs();
    let axis = a.int("axis")?;
    let (exclusive, reverse) = (a.bool_or("exclusive", false)?, a.bool_or("reverse", false)?);
    let (x, y) = (cx.input(0), cx.out(0));
    let axis = cx.scalar(tessera_ir::DType::I64, axis as f64)?;
    cx.node(
        "CumSum",
        &[&x, &axis],
        &[&y],
        vec![attr_int("exclusive", exclusive as i64), attr_int("reverse", reverse as i64)],
    );
    Ok(())
}

/// The emitters of this family, by op name.
pub(super) const EMITTERS: &[(&str, Emit)] = &[
    ("tg.reduce_sum", reduce_sum),
    ("tg.reduce_prod", reduce_prod),
    ("tg.reduce_max", reduce_max),
    ("tg.reduce_min", reduce_min),
    ("tg.argmax", argmax),
    ("tg.argmin", argmin),
    ("tg.cumsum", cumsum),
];
