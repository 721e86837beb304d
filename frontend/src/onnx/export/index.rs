//! ONNX emitters: the indexing family, one operator each: `Gather`,
//! `GatherElements`, `GatherND`, `ScatterElements` and `ScatterND` (a
//! `reduction` other than "none" needs opset 16, "max"/"min" opset 18).

use super::cx::{attr_int, attr_str, OpCx};
use super::registry::Emit;

/// `op_type(data, indices)` with an integer attribute `name` (default `default`).
fn gather_like(cx: &mut OpCx, op_type: &str, name: &str, default: i64) -> Result<(), String> {
    let value = cx.attrs().int_or(name, default)?;
    let (data, indices, y) = (cx.input(0), cx.input(1), cx.out(0));
    cx.node(op_type, &[&data, &indices], &[&y], vec![attr_int(name, value)]);
    Ok(())
}

fn gather(cx: &mut OpCx) -> Result<(), String> {
    gather_like(cx, "Gather", "axis", 0)
}

fn gather_elements(cx: &mut OpCx) -> Result<(), String> {
    gather_like(cx, "GatherElements", "axis", 0)
}

fn gather_nd(cx: &mut OpCx) -> Result<(), String> {
    gather_like(cx, "GatherND", "batch_dims", 0)
}

/// `op_type(data, indices, updates)` with its `reduction`, plus `attrs`.
fn scatter_like(
    cx: &mut OpCx,
    op_type: &str,
    mut attrs: Vec<crate::onnx::proto::AttributeProto>,
) -> Result<(), String> {
    let reduction = cx.attrs().choice("reduction", &["none", "add", "mul", "max", "min"], "none")?.to_string();
    match reduction.as_str() {
        "none" => {}
        "add" | "mul" => cx.require_opset(16, &format!("{op_type} with reduction \"{reduction}\""))?,
        _ => cx.require_opset(18, &format!("{op_type} with reduction \"{reduction}\""))?,
    }
    if reduction != "none" {
        attrs.push(attr_str("reduction", &reduction));
    }
    let (data, indices, updates, y) = (cx.input(0), cx.input(1), cx.input(2), cx.out(0));
    cx.node(op_type, &[&data, &indices, &updates], &[&y], attrs);
    Ok(())
}

fn scatter(cx: &mut OpCx) -> Result<(), String> {
    let axis = cx.attrs().int("axis")?;
    scatter_like(cx, "ScatterElements", vec![attr_int("axis", axis)])
}

fn scatter_nd(cx: &mut OpCx) -> Result<(), String> {
    scatter_like(cx, "ScatterND", vec![])
}

/// The emitters of this family, by op name.
pub(super) const EMITTERS: &[(&str, Emit)] = &[
    ("tg.gather", gather),
    ("tg.gather_elements", gather_elements),
    ("tg.gather_nd", gather_nd),
    ("tg.scatter", scatter),
    ("tg.scatter_nd", scatter_nd),
];
