//! ONNX converters: the index family — gathers and scatters onto the
//! `tg.gather*`/`tg.scatter*` primitives, OneHot as a comparison with an
//! iota, TopK onto `tg.topk`, and NonZero/Compress, whose output shapes
//! depend on values, for constant inputs only.

use super::cx::NodeCx;
use super::registry::Convert;
use super::shape::{const_input_ints, derive_ints, i64_scalar, iota_along, norm_axis, product, reshape_to};
use tessera_ir::dialect::graph::elementwise::{ADD, EQ, LT, SELECT};
use tessera_ir::dialect::graph::index::{GATHER, GATHER_ELEMENTS, GATHER_ND, SCATTER, SCATTER_ND};
use tessera_ir::dialect::graph::sort::TOPK;
use tessera_ir::tensor::Tensor;
use tessera_ir::{Attr, Attrs, Dim, ValueId};

/// The converters of this family, by ONNX operator name.
pub(super) const CONVERTERS: &[(&str, Convert)] = &[
    ("Gather", gather),
    ("GatherElements", gather_elements),
    ("GatherND", gather_nd),
    ("ScatterElements", scatter_elements),
    ("Scatter", scatter_elements),
    ("ScatterND", scatter_nd),
    ("OneHot", one_hot),
    ("TopK", top_k),
    ("NonZero", non_zero),
    ("Compress", compress),
];

/// Gather along `axis`; a known integer vector indexed by constants gives a
/// known result (`Shape → Gather` on a symbolic batch).
fn gather(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (data, idx) = (cx.input(0)?, cx.input(1)?);
    let r = cx.rank(data)?;
    let axis = norm_axis(cx.attr_int("axis", 0), r, "attribute 'axis'")?;
    let attrs = Attrs::from([("axis", Attr::Int(axis as i64))]);
    let v = cx.op(&GATHER, &[data, idx], attrs.clone())?;
    derive_ints(cx, &GATHER, &[data, idx], &attrs, v);
    Ok(vec![v])
}

/// GatherElements along `axis`.
fn gather_elements(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (data, idx) = (cx.input(0)?, cx.input(1)?);
    let axis = norm_axis(cx.attr_int("axis", 0), cx.rank(data)?, "attribute 'axis'")?;
    Ok(vec![cx.op(
        &GATHER_ELEMENTS,
        &[data, idx],
        Attrs::from([("axis", Attr::Int(axis as i64))]),
    )?])
}

/// GatherND with `batch_dims` (opset 12).
fn gather_nd(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (data, idx) = (cx.input(0)?, cx.input(1)?);
    let attrs = Attrs::from([("batch_dims", Attr::Int(cx.attr_int("batch_dims", 0)))]);
    Ok(vec![cx.op(&GATHER_ND, &[data, idx], attrs)?])
}

/// The `reduction` attribute (opset 16 for add/mul, 18 for max/min).
fn reduction(cx: &NodeCx) -> Attr {
    Attr::Str(cx.attr_str("reduction", "none"))
}

/// ScatterElements (and its deprecated alias Scatter) along `axis`.
fn scatter_elements(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (data, idx, updates) = (cx.input(0)?, cx.input(1)?, cx.input(2)?);
    let axis = norm_axis(cx.attr_int("axis", 0), cx.rank(data)?, "attribute 'axis'")?;
    let attrs = Attrs::from([
        ("axis", Attr::Int(axis as i64)),
        ("reduction", reduction(cx)),
    ]);
    Ok(vec![cx.op(&SCATTER, &[data, idx, updates], attrs)?])
}

/// ScatterND.
fn scatter_nd(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (data, idx, updates) = (cx.input(0)?, cx.input(1)?, cx.input(2)?);
    Ok(vec![cx.op(
        &SCATTER_ND,
        &[data, idx, updates],
        Attrs::from([("reduction", reduction(cx))]),
    )?])
}

/// OneHot: `values[1]` where the (wrapped) index equals the position along
/// the new `axis`, `values[0]` elsewhere; depth must be a constant.
fn one_hot(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (idx, values) = (cx.input(0)?, cx.input(2)?);
    let ity = cx.ty(idx)?;
    let depth = cx.const_tensor(1)?;
    if depth.len() != 1 {
        return Err(format!(
            "input #1 (depth) must hold one value, got {} values",
            depth.len()
        ));
    }
    let depth = depth.get_f64(0);
    if depth < 1.0 {
        return Err(format!("input #1 (depth) = {depth} must be at least 1"));
    }
    let rank = ity.rank() + 1;
    let axis = norm_axis(cx.attr_int("axis", -1), rank, "attribute 'axis'")?;
    // Compare in the indices' dtype, as the reference does.
    let positions = iota_along(cx, &Dim::Known(depth as u64), axis, rank, ity.dtype)?;
    let zero = cx.scalar(ity.dtype, 0.0)?;
    let depth_v = cx.scalar(ity.dtype, depth.trunc())?;
    let negative = cx.op(&LT, &[idx, zero], Attrs::new())?;
    let wrapped = cx.op(&ADD, &[idx, depth_v], Attrs::new())?;
    let idx = cx.op(&SELECT, &[negative, wrapped, idx], Attrs::new())?;
    let mut dims = ity.dims.clone();
    dims.insert(axis, Dim::Known(1));
    let idx = reshape_to(cx, idx, &dims)?;
    let hot = cx.op(&EQ, &[idx, positions], Attrs::new())?;
    let vty = cx.ty(values)?;
    if vty.num_elements().known() != Some(2) {
        return Err(format!(
            "input #2 (values) must hold [off_value, on_value], got {vty}"
        ));
    }
    let values = reshape_to(cx, values, &[Dim::Known(2)])?;
    let pick = |cx: &mut NodeCx, i: i64| -> Result<ValueId, String> {
        let at = i64_scalar(cx, i)?;
        cx.op(
            &GATHER,
            &[values, at],
            Attrs::from([("axis", Attr::Int(0))]),
        )
    };
    let (off, on) = (pick(cx, 0)?, pick(cx, 1)?);
    Ok(vec![cx.op(&SELECT, &[hot, on, off], Attrs::new())?])
}

/// TopK: `k` an attribute before opset 10, a constant input after;
/// `largest`/`sorted` from opset 11.
fn top_k(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let k = if cx.opset < 10 {
        cx.attr("k")
            .map(|a| a.i)
            .ok_or("attribute 'k' is required")?
    } else {
        match const_input_ints(cx, 1)?.as_slice() {
            [k] => *k,
            other => return Err(format!("input #1 (K) must hold one value, got {other:?}")),
        }
    };
    let axis = norm_axis(cx.attr_int("axis", -1), cx.rank(x)?, "attribute 'axis'")?;
    let attrs = Attrs::from([
        ("k", Attr::Int(k)),
        ("axis", Attr::Int(axis as i64)),
        ("largest", Attr::Bool(cx.attr_int("largest", 1) != 0)),
        ("sorted", Attr::Bool(cx.attr_int("sorted", 1) != 0)),
    ]);
    cx.ops(&TOPK, &[x], attrs)
}

/// NonZero of a constant: the `[rank, count]` i64 positions of the
/// non-zero elements, in row-major order.
fn non_zero(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let t = cx
        .const_tensor(0)
        .map_err(|_| "input #0 must be a constant (the output's shape depends on its values)")?;
    let shape = t.shape().to_vec();
    let flags = t.to_bools();
    let hits: Vec<usize> = (0..flags.len()).filter(|&i| flags[i]).collect();
    let mut out = vec![0i64; shape.len() * hits.len()];
    for (j, &flat) in hits.iter().enumerate() {
        let mut rest = flat;
        for axis in (0..shape.len()).rev() {
            out[axis * hits.len() + j] = (rest % shape[axis]) as i64;
            rest /= shape[axis];
        }
    }
    let t = Tensor::from_i64s(&out).reshaped(vec![shape.len(), hits.len()])?;
    Ok(vec![cx.constant(t)?])
}

/// Compress with a constant condition: a gather of the selected positions
/// along `axis`, or of the flattened input without one.
fn compress(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let cond = cx.const_tensor(1).map_err(|_| {
        "input #1 (condition) must be a constant (the output's shape depends on it)"
    })?;
    let dims = cx.dims(x)?;
    let (data, axis) = if cx.attr("axis").is_some() {
        (
            x,
            norm_axis(cx.attr_int("axis", 0), dims.len(), "attribute 'axis'")?,
        )
    } else {
        let flat = product(&dims);
        (reshape_to(cx, x, &[flat])?, 0)
    };
    let size = cx.dims(data)?[axis].clone();
    let picked: Vec<i64> = cond
        .to_bools()
        .iter()
        .enumerate()
        .filter(|(_, &c)| c)
        .map(|(i, _)| i as i64)
        .collect();
    if let (Some(&last), Some(n)) = (picked.last(), size.known()) {
        if last as u64 >= n {
            return Err(format!(
                "the condition selects position {last}, past the size {n} of axis {axis}"
            ));
        }
    }
    let idx = cx.ints_constant(&picked)?;
    Ok(vec![cx.op(
        &GATHER,
        &[data, idx],
        Attrs::from([("axis", Attr::Int(axis as i64))]),
    )?])
}

#[cfg(test)]
mod tests {
    use super::super::shape::testing::*;

    #[test]
    fn one_hot_inserts_the_depth_axis() {
        let g = graph(
            vec![node(
                "OneHot",
                &["i", "depth", "values"],
                &["y"],
                vec![int("axis", 1)],
            )],
            vec![value("i", INT64, &[-1, 3]), value("values", FLOAT, &[2])],
            vec![i64s("depth", &[], &[5])],
            &["y"],
        );
        assert_eq!(result_types(&model_of(11, g)), "tensor<N x 5 x 3 x f32>");
        let g = graph(
            vec![node("OneHot", &["i", "depth", "values"], &["y"], vec![])],
            vec![
                value("i", INT64, &[3]),
                value("values", FLOAT, &[2]),
                value("depth", INT64, &[]),
            ],
            vec![],
            &["y"],
        );
        assert!(error(&model_of(11, g)).contains("input #1 ('depth') must be a constant"));
    }

    #[test]
    fn top_k_from_attribute_or_input() {
        let g = graph(
            vec![node("TopK", &["x"], &["v", "i"], vec![int("k", 2)])],
            vec![value("x", FLOAT, &[3, 4])],
            vec![],
            &["v", "i"],
        );
        assert_eq!(
            result_types(&model_of(9, g)),
            "(tensor<3x2xf32>, tensor<3x2xi64>)"
        );
        let g = graph(
            vec![node(
                "TopK",
                &["x", "k"],
                &["v", "i"],
                vec![int("axis", 0), int("largest", 0)],
            )],
            vec![value("x", FLOAT, &[3, 4])],
            vec![i64s("k", &[1], &[1])],
            &["v", "i"],
        );
        let text = ir(&model_of(11, g));
        assert!(text.contains("largest = false"), "{text}");
        assert!(text.contains("tensor<1x4xf32>"), "{text}");
    }

    #[test]
    fn non_zero_and_compress_need_constants() {
        let g = graph(
            vec![node("NonZero", &["c"], &["y"], vec![])],
            vec![],
            vec![i64s("c", &[2, 2], &[1, 0, 0, 3])],
            &["y"],
        );
        let text = ir(&model_of(13, g));
        assert!(text.contains("tensor<2x2xi64>"), "{text}");
        let mut cond = i64s("c", &[3], &[1, 0, 1]);
        cond.data_type = BOOL;
        cond.int64_data.clear();
        cond.int32_data = vec![1, 0, 1];
        let g = graph(
            vec![node("Compress", &["x", "c"], &["y"], vec![int("axis", 1)])],
            vec![value("x", FLOAT, &[-1, 3])],
            vec![cond.clone()],
            &["y"],
        );
        assert_eq!(result_types(&model_of(11, g)), "tensor<N x 2 x f32>");
        let g = graph(
            vec![node("Compress", &["x", "c"], &["y"], vec![])],
            vec![value("x", FLOAT, &[2, 2])],
            vec![cond],
            &["y"],
        );
        assert_eq!(result_types(&model_of(11, g)), "tensor<2xf32>");
    }

    #[test]
    fn scatter_alias_and_gathers() {
        let g = graph(
            vec![
                node("Scatter", &["x", "i", "u"], &["s"], vec![int("axis", 1)]),
                node("GatherElements", &["s", "i"], &["y"], vec![int("axis", -1)]),
            ],
            vec![
                value("x", FLOAT, &[2, 5]),
                value("i", INT64, &[2, 2]),
                value("u", FLOAT, &[2, 2]),
            ],
            vec![],
            &["y"],
        );
        let text = ir(&model_of(9, g));
        assert!(
            text.contains("tg.scatter") && text.contains("reduction = \"none\""),
            "{text}"
        );
    }
}
