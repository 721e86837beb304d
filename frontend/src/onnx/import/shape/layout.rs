//! Shape-family converters that rearrange a tensor's axes: Reshape,
//! Flatten, Squeeze, Unsqueeze, Transpose, DepthToSpace and SpaceToDepth.

use super::super::cx::NodeCx;
use super::known_ints::{const_input_ints, known_input_ints};
use super::{has_input, norm_axes, norm_axis, product, reshape_to};
use tessera_ir::dialect::graph::shape::TRANSPOSE;
use tessera_ir::{Attr, Attrs, Dim, SymExpr, ValueId};

/// The dims ONNX Reshape produces from `input` and the `target` entries
/// (0 copies the input's dim unless `allowzero`, one -1 is inferred).
fn reshape_dims(input: &[Dim], target: &[SymExpr], allowzero: bool) -> Result<Vec<Dim>, String> {
    let mut out = Vec::with_capacity(target.len());
    let mut inferred = None;
    for (i, e) in target.iter().enumerate() {
        match e.as_constant() {
            Some(-1) => {
                if inferred.is_some() {
                    return Err(format!("the target shape {target:?} has more than one -1"));
                }
                inferred = Some(i);
                out.push(Dim::Known(1));
            }
            Some(0) if !allowzero => out.push(input.get(i).cloned().ok_or_else(|| {
                format!("entry #{i} of the target shape is 0 (copy the input's dim), but the input has rank {}", input.len())
            })?),
            Some(c) if c < 0 => return Err(format!("the target shape {target:?} has the invalid entry {c}")),
            _ => out.push(Dim::from_expr(e.clone())),
        }
    }
    if let Some(i) = inferred {
        let (total, rest) = (product(input), product(&out));
        out[i] = match (total.known(), rest.known()) {
            (Some(t), Some(r)) if r == 0 || t % r != 0 => return Err(format!(
                "cannot infer the -1 in {target:?}: {t} elements do not divide into parts of {r}"
            )),
            _ => total.div_exact(&rest).unwrap_or(Dim::Unknown),
        };
    }
    Ok(out)
}

/// Reshape: target shape as an attribute before opset 5, then a known
/// (possibly symbolic) input; `allowzero` from opset 14.
pub(super) fn reshape(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let target: Vec<SymExpr> = if cx.opset < 5 {
        let shape = cx
            .attr_ints("shape")
            .ok_or("attribute 'shape' is required")?;
        shape.into_iter().map(SymExpr::constant).collect()
    } else {
        known_input_ints(cx, 1)
            .ok_or("input #1 (shape) must be known at import time (a constant or computed from tensor shapes)")?
            .0
    };
    let allowzero = cx.opset >= 14 && cx.attr_int("allowzero", 0) != 0;
    let dims = reshape_dims(&cx.dims(x)?, &target, allowzero)?;
    Ok(vec![reshape_to(cx, x, &dims)?])
}

/// Flatten: `[prod(dims[..axis]), prod(dims[axis..])]`.
pub(super) fn flatten(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let dims = cx.dims(x)?;
    let axis = cx.attr_int("axis", 1);
    let a = if axis == dims.len() as i64 {
        dims.len()
    } else {
        norm_axis(axis, dims.len(), "attribute 'axis'")?
    };
    let out = [product(&dims[..a]), product(&dims[a..])];
    Ok(vec![reshape_to(cx, x, &out)?])
}

/// An input given as a constant integer list (an attribute before `since`,
/// input `index` from then on); `None` when absent.
fn ints_attr_or_input(
    cx: &mut NodeCx,
    attr: &str,
    index: usize,
    since: i64,
) -> Result<Option<Vec<i64>>, String> {
    if cx.opset < since {
        Ok(cx.attr_ints(attr))
    } else if has_input(cx, index) {
        const_input_ints(cx, index).map(Some)
    } else {
        Ok(None)
    }
}

/// Squeeze: `axes` as an attribute before opset 13, an input after; without
/// axes every static 1 goes.
pub(super) fn squeeze(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let dims = cx.dims(x)?;
    let axes = match ints_attr_or_input(cx, "axes", 1, 13)? {
        Some(axes) => norm_axes(&axes, dims.len(), "axes")?,
        None => (0..dims.len())
            .filter(|&a| dims[a].known() == Some(1))
            .collect(),
    };
    for &a in &axes {
        if matches!(dims[a], Dim::Known(n) if n != 1) {
            return Err(format!(
                "cannot squeeze axis {a} of {}: its size is not 1",
                cx.ty(x)?
            ));
        }
    }
    let out: Vec<Dim> = dims
        .iter()
        .enumerate()
        .filter(|(a, _)| !axes.contains(a))
        .map(|(_, d)| d.clone())
        .collect();
    Ok(vec![reshape_to(cx, x, &out)?])
}

/// Unsqueeze: `axes` (of the output) as an attribute before opset 13, an input after.
pub(super) fn unsqueeze(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let dims = cx.dims(x)?;
    let axes = ints_attr_or_input(cx, "axes", 1, 13)?
        .ok_or(if cx.opset < 13 { "attribute 'axes' is required" } else { "input #1 (axes) is required" })?;
    let rank = dims.len() + axes.len();
    let axes = norm_axes(&axes, rank, "axes")?;
    let mut rest = dims.into_iter();
    let out: Vec<Dim> = (0..rank)
        .map(|a| {
            if axes.contains(&a) {
                Some(Dim::Known(1))
            } else {
                rest.next()
            }
        })
        .collect::<Option<_>>()
        .ok_or_else(|| format!("axes {axes:?} do not fit an output of rank {rank}"))?;
    Ok(vec![reshape_to(cx, x, &out)?])
}

/// Transpose: `perm` defaults to reversing the axes.
pub(super) fn transpose(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let r = cx.rank(x)?;
    let perm = cx
        .attr_ints("perm")
        .unwrap_or_else(|| (0..r as i64).rev().collect());
    if perm.iter().enumerate().all(|(i, &p)| p == i as i64) && perm.len() == r {
        return Ok(vec![x]);
    }
    Ok(vec![cx.op(
        &TRANSPOSE,
        &[x],
        Attrs::from([("perm", Attr::ints(&perm))]),
    )?])
}

/// The `[N, C, H, W]` dims of a DepthToSpace/SpaceToDepth input and its block size.
fn nchw(cx: &NodeCx, x: ValueId) -> Result<([Dim; 4], u64), String> {
    let ty = cx.ty(x)?;
    let dims: [Dim; 4] = ty
        .dims
        .clone()
        .try_into()
        .map_err(|_| format!("the input must have rank 4, got {ty}"))?;
    let b = cx
        .attr("blocksize")
        .map(|a| a.i)
        .ok_or("attribute 'blocksize' is required")?;
    let b = u64::try_from(b)
        .ok()
        .filter(|&b| b > 0)
        .ok_or_else(|| format!("attribute 'blocksize' = {b} must be positive"))?;
    Ok((dims, b))
}

/// DepthToSpace: reshape, transpose and merge (DCR or CRD order).
pub(super) fn depth_to_space(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let ([n, c, h, w], b) = nchw(cx, x)?;
    let bd = Dim::Known(b);
    let c2 = c
        .div_exact(&Dim::Known(b * b))
        .ok_or_else(|| format!("the channels ({c}) must divide by blocksize² = {}", b * b))?;
    let mode = cx.attr_str("mode", "DCR");
    let (split, perm): (Vec<Dim>, [i64; 6]) = match mode.as_str() {
        "DCR" => (
            vec![
                n.clone(),
                bd.clone(),
                bd.clone(),
                c2.clone(),
                h.clone(),
                w.clone(),
            ],
            [0, 3, 4, 1, 5, 2],
        ),
        "CRD" => (
            vec![
                n.clone(),
                c2.clone(),
                bd.clone(),
                bd.clone(),
                h.clone(),
                w.clone(),
            ],
            [0, 1, 4, 2, 5, 3],
        ),
        other => {
            return Err(format!(
                "attribute 'mode' = {other} is not supported (DCR, CRD are)"
            ))
        }
    };
    let y = reshape_to(cx, x, &split)?;
    let y = cx.op(&TRANSPOSE, &[y], Attrs::from([("perm", Attr::ints(&perm))]))?;
    Ok(vec![reshape_to(cx, y, &[n, c2, h.mul(&bd), w.mul(&bd)])?])
}

/// SpaceToDepth: split H and W into blocks and move the blocks to the
/// channels (DCR or CRD order).
pub(super) fn space_to_depth(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let ([n, c, h, w], b) = nchw(cx, x)?;
    let bd = Dim::Known(b);
    let h2 = h
        .div_exact(&bd)
        .ok_or_else(|| format!("the height ({h}) must divide by the block size {b}"))?;
    let w2 = w
        .div_exact(&bd)
        .ok_or_else(|| format!("the width ({w}) must divide by the block size {b}"))?;
    let perm: [i64; 6] = match cx.attr_str("mode", "DCR").as_str() {
        "DCR" => [0, 3, 5, 1, 2, 4],
        "CRD" => [0, 1, 3, 5, 2, 4],
        other => {
            return Err(format!(
                "attribute 'mode' = {other} is not supported (DCR, CRD are)"
            ))
        }
    };
    let y = reshape_to(
        cx,
        x,
        &[
            n.clone(),
            c.clone(),
            h2.clone(),
            bd.clone(),
            w2.clone(),
            bd.clone(),
        ],
    )?;
    let y = cx.op(&TRANSPOSE, &[y], Attrs::from([("perm", Attr::ints(&perm))]))?;
    Ok(vec![reshape_to(
        cx,
        y,
        &[n, c.mul(&Dim::Known(b * b)), h2, w2],
    )?])
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

    #[test]
    fn reshape_rules() {
        let one = |shape: &[i64], allowzero: i64, opset: i64| {
            let g = graph(
                vec![node(
                    "Reshape",
                    &["x", "shape"],
                    &["y"],
                    vec![int("allowzero", allowzero)],
                )],
                vec![value("x", FLOAT, &[2, 3, 4])],
                vec![i64s("shape", &[shape.len() as i64], shape)],
                &["y"],
            );
            model_of(opset, g)
        };
        assert_eq!(result_types(&one(&[0, -1], 0, 14)), "tensor<2x12xf32>");
        assert_eq!(result_types(&one(&[4, 0, 2], 0, 14)), "tensor<4x3x2xf32>");
        assert!(error(&one(&[-1, -1], 0, 14)).contains("more than one -1"));
        assert!(error(&one(&[5, -1], 0, 14)).contains("cannot infer the -1"));
        let g = graph(
            vec![node("Reshape", &["x", "s"], &["y"], vec![])],
            vec![value("x", FLOAT, &[2, 3]), value("s", INT64, &[2])],
            vec![],
            &["y"],
        );
        assert!(error(&model_of(13, g)).contains("input #1 (shape) must be known at import time"));
    }

    /// DepthToSpace (CRD) then SpaceToDepth returns to the input shape.
    #[test]
    fn depth_to_space_and_back() {
        let g = graph(
            vec![
                node(
                    "DepthToSpace",
                    &["x"],
                    &["d"],
                    vec![int("blocksize", 2), string("mode", "CRD")],
                ),
                node("SpaceToDepth", &["d"], &["y"], vec![int("blocksize", 2)]),
            ],
            vec![value("x", FLOAT, &[-1, 8, 3, 5])],
            vec![],
            &["y"],
        );
        assert_eq!(
            result_types(&model_of(13, g)),
            "tensor<N x 8 x 3 x 5 x f32>"
        );
    }
}
