//! Shape-family converters that pick, join, pad or repeat elements:
//! Concat, Split, Slice, Pad, Expand, Tile and Trilu.

use super::super::cx::NodeCx;
use super::known_ints::{const_input_ints, derive_ints, shape_input_dims};
use super::{grid, has_input, i64_scalar, norm_axes, norm_axis, reshape_to, slice_op, to_scalar};
use tessera_ir::dialect::graph::elementwise::{GE, LE, SELECT, SUB};
use tessera_ir::dialect::graph::index::GATHER;
use tessera_ir::dialect::graph::shape::{BROADCAST_TO, CONCAT, PAD};
use tessera_ir::{Attr, Attrs, DType, Dim, ValueId};

/// Concat along `axis` (default 1 before opset 4); known integer vectors are joined too.
pub(super) fn concat(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let inputs = cx.inputs()?;
    let first = *inputs.first().ok_or("Concat needs at least one input")?;
    let r = cx.rank(first)?;
    let axis = match cx.attr("axis") {
        Some(a) => a.i,
        None if cx.opset < 4 => 1,
        None => return Err("attribute 'axis' is required".into()),
    };
    let a = norm_axis(axis, r, "attribute 'axis'")?;
    if inputs.len() == 1 {
        return Ok(vec![first]);
    }
    let attrs = Attrs::from([("axis", Attr::Int(a as i64))]);
    let v = cx.op(&CONCAT, &inputs, attrs.clone())?;
    derive_ints(cx, &CONCAT, &inputs, &attrs, v);
    Ok(vec![v])
}

/// Split: part sizes from the `split` attribute (input #1 from opset 13, and
/// in opset 1), else equal parts (the last one smaller from opset 18).
pub(super) fn split(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let dims = cx.dims(x)?;
    let a = norm_axis(cx.attr_int("axis", 0), dims.len(), "attribute 'axis'")?;
    let parts = cx.node.output.len();
    let sizes = if cx.opset >= 13 || (cx.opset < 2 && has_input(cx, 1)) {
        if has_input(cx, 1) {
            Some(const_input_ints(cx, 1)?)
        } else {
            None
        }
    } else {
        cx.attr_ints("split")
    };
    let sizes = match sizes {
        Some(s) => s,
        None => {
            let d = dims[a].known().ok_or_else(|| {
                format!(
                    "cannot split the symbolic axis {a} of {} into equal parts",
                    dims[a]
                )
            })? as i64;
            let n = if cx.opset >= 18 {
                cx.attr_int("num_outputs", parts as i64)
            } else {
                parts as i64
            };
            if n <= 0 {
                return Err(format!("cannot split into {n} parts"));
            }
            if d % n == 0 {
                vec![d / n; n as usize]
            } else if cx.opset >= 18 {
                let chunk = (d + n - 1) / n;
                let mut s = vec![chunk; n as usize - 1];
                s.push(d - chunk * (n - 1));
                s
            } else {
                return Err(format!(
                    "axis {a} of size {d} does not split into {n} equal parts"
                ));
            }
        }
    };
    if sizes.len() != parts {
        return Err(format!(
            "{} split sizes {sizes:?} for {parts} outputs",
            sizes.len()
        ));
    }
    let mut out = Vec::with_capacity(parts);
    let mut start = 0i64;
    for s in sizes {
        if s < 0 {
            return Err(format!("split size {s} is negative"));
        }
        out.push(slice_op(cx, x, &[start], &[start + s], &[a], &[1])?);
        start += s;
    }
    Ok(out)
}

/// Slice: starts/ends/axes as attributes before opset 10, constant inputs
/// (with steps) after.
pub(super) fn slice(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let r = cx.rank(x)?;
    let (starts, ends, axes, steps) = if cx.opset < 10 {
        let starts = cx
            .attr_ints("starts")
            .ok_or("attribute 'starts' is required")?;
        let ends = cx.attr_ints("ends").ok_or("attribute 'ends' is required")?;
        (starts, ends, cx.attr_ints("axes"), None)
    } else {
        let opt = |cx: &mut NodeCx, i: usize| {
            if has_input(cx, i) {
                const_input_ints(cx, i).map(Some)
            } else {
                Ok(None)
            }
        };
        (
            const_input_ints(cx, 1)?,
            const_input_ints(cx, 2)?,
            opt(cx, 3)?,
            opt(cx, 4)?,
        )
    };
    let n = starts.len();
    let axes = match axes {
        Some(axes) => norm_axes(&axes, r, "axes")?,
        None => (0..n).collect(),
    };
    let steps = steps.unwrap_or_else(|| vec![1; n]);
    if ends.len() != n || axes.len() != n || steps.len() != n {
        return Err(format!(
            "starts, ends, axes and steps must have the same length, got {}, {}, {} and {}",
            n,
            ends.len(),
            axes.len(),
            steps.len()
        ));
    }
    if steps.contains(&0) {
        return Err("a step of 0 is not allowed".into());
    }
    if n == 0 {
        return Ok(vec![x]);
    }
    Ok(vec![slice_op(cx, x, &starts, &ends, &axes, &steps)?])
}

/// Pad: `paddings`/`pads` and `value` attributes before opset 11, inputs
/// (pads, constant_value, and axes from 18) after. Modes constant, reflect,
/// edge and wrap (as a gather).
pub(super) fn pad(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let ty = cx.ty(x)?;
    let r = ty.rank();
    let (pads, value, axes) = if cx.opset < 11 {
        let name = if cx.opset < 2 { "paddings" } else { "pads" };
        let pads = cx
            .attr_ints(name)
            .ok_or_else(|| format!("attribute '{name}' is required"))?;
        let value = cx.scalar(ty.dtype, f64::from(cx.attr_float("value", 0.0)))?;
        (pads, value, None)
    } else {
        let pads = const_input_ints(cx, 1)?;
        let value = match cx.opt_input(2)? {
            Some(v) => to_scalar(cx, v, "input #2 (constant_value)")?,
            None => cx.scalar(ty.dtype, 0.0)?,
        };
        let axes = if cx.opset >= 18 && has_input(cx, 3) {
            Some(const_input_ints(cx, 3)?)
        } else {
            None
        };
        (pads, value, axes)
    };
    let axes = match axes {
        Some(axes) => norm_axes(&axes, r, "input #3 (axes)")?,
        None => (0..r).collect(),
    };
    if pads.len() != 2 * axes.len() {
        return Err(format!(
            "pads {pads:?} must have two entries per padded axis ({} axes)",
            axes.len()
        ));
    }
    let (mut low, mut high) = (vec![0i64; r], vec![0i64; r]);
    for (k, &a) in axes.iter().enumerate() {
        low[a] = pads[k];
        high[a] = pads[axes.len() + k];
    }
    let mode = cx.attr_str("mode", "constant");
    match mode.as_str() {
        "constant" | "reflect" | "edge" => {
            if low.iter().chain(&high).all(|&p| p == 0) {
                return Ok(vec![x]);
            }
            let attrs = Attrs::from([
                ("low", Attr::ints(&low)),
                ("high", Attr::ints(&high)),
                ("mode", Attr::Str(mode)),
            ]);
            Ok(vec![cx.op(&PAD, &[x, value], attrs)?])
        }
        "wrap" => {
            let mut y = x;
            for a in 0..r {
                if low[a] == 0 && high[a] == 0 {
                    continue;
                }
                let d = ty.dims[a].known().filter(|&d| d > 0).ok_or_else(|| {
                    format!(
                        "wrap padding needs a static, non-empty axis {a}, got size {}",
                        ty.dims[a]
                    )
                })? as i64;
                let positions: Vec<i64> = (-low[a]..d + high[a]).map(|j| j.rem_euclid(d)).collect();
                let idx = cx.ints_constant(&positions)?;
                y = cx.op(
                    &GATHER,
                    &[y, idx],
                    Attrs::from([("axis", Attr::Int(a as i64))]),
                )?;
            }
            Ok(vec![y])
        }
        other => Err(format!(
            "attribute 'mode' = {other} is not supported (constant, reflect, edge, wrap are)"
        )),
    }
}

/// Expand: bidirectional broadcast of the input with a known (possibly
/// symbolic) shape.
pub(super) fn expand(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let dims = cx.dims(x)?;
    let shape = shape_input_dims(cx, 1, "shape")?;
    let rank = dims.len().max(shape.len());
    let pick = |s: &[Dim], i: usize| {
        if i + s.len() >= rank {
            s[i + s.len() - rank].clone()
        } else {
            Dim::Known(1)
        }
    };
    let mut out = Vec::with_capacity(rank);
    for i in 0..rank {
        let (a, b) = (pick(&dims, i), pick(&shape, i));
        out.push(match (&a, &b) {
            (_, Dim::Known(1)) => a,
            (Dim::Known(1), _) => b,
            _ if a == b => a,
            (Dim::Known(_), Dim::Sym(_) | Dim::Unknown) => a,
            (Dim::Unknown, _) => b,
            _ => {
                return Err(format!(
                    "cannot expand {} to the shape {shape:?}: axis {i} has sizes {a} and {b}",
                    cx.ty(x)?
                ))
            }
        });
    }
    if out == dims {
        return Ok(vec![x]);
    }
    Ok(vec![cx.op(
        &BROADCAST_TO,
        &[x],
        Attrs::from([("shape", Attr::shape(&out))]),
    )?])
}

/// Tile: repeats per axis (input #1; opset 1 tiles one `axis` input);
/// interleaving reshape, broadcast and merge.
pub(super) fn tile(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let dims = cx.dims(x)?;
    let repeats = if cx.opset < 6 {
        let tiles = const_input_ints(cx, 1)?;
        let axis = const_input_ints(cx, 2)?;
        let (&[t], &[a]) = (tiles.as_slice(), axis.as_slice()) else {
            return Err("inputs #1 (tiles) and #2 (axis) must hold one value each".into());
        };
        let mut reps = vec![1; dims.len()];
        reps[norm_axis(a, dims.len(), "input #2 (axis)")?] = t;
        reps
    } else {
        const_input_ints(cx, 1)?
    };
    if repeats.len() != dims.len() {
        return Err(format!(
            "input #1 (repeats) has {} entries for a rank-{} input",
            repeats.len(),
            dims.len()
        ));
    }
    if let Some(r) = repeats.iter().find(|&&r| r < 0) {
        return Err(format!("input #1 (repeats) has the negative entry {r}"));
    }
    if repeats.iter().all(|&r| r == 1) {
        return Ok(vec![x]);
    }
    let mut spread = Vec::new();
    let mut wide = Vec::new();
    let mut merged = Vec::new();
    for (d, &r) in dims.iter().zip(&repeats) {
        let r = Dim::Known(r as u64);
        spread.extend([Dim::Known(1), d.clone()]);
        wide.extend([r.clone(), d.clone()]);
        merged.push(r.mul(d));
    }
    let y = reshape_to(cx, x, &spread)?;
    let y = cx.op(
        &BROADCAST_TO,
        &[y],
        Attrs::from([("shape", Attr::shape(&wide))]),
    )?;
    Ok(vec![reshape_to(cx, y, &merged)?])
}

/// Trilu: keeps the elements with `col - row >= k` (upper) or `<= k`
/// (lower) of the last two axes, zeroes the rest; `k` may be a run-time value.
pub(super) fn trilu(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let ty = cx.ty(x)?;
    let r = ty.rank();
    if r < 2 {
        return Err(format!("the input must have rank 2 or more, got {ty}"));
    }
    let k = match cx.opt_input(1)? {
        Some(k) => {
            let k = to_scalar(cx, k, "input #1 (k)")?;
            let kty = cx.ty(k)?;
            if kty.dtype != DType::I64 {
                return Err(format!("input #1 (k) must be an i64 scalar, got {kty}"));
            }
            k
        }
        None => i64_scalar(cx, 0)?,
    };
    let (rows, cols) = grid(cx, &ty.dims[r - 2], &ty.dims[r - 1])?;
    let diff = cx.op(&SUB, &[cols, rows], Attrs::new())?;
    let keep = if cx.attr_int("upper", 1) != 0 {
        &GE
    } else {
        &LE
    };
    let mask = cx.op(keep, &[diff, k], Attrs::new())?;
    let zero = cx.scalar(ty.dtype, 0.0)?;
    Ok(vec![cx.op(&SELECT, &[mask, x, zero], Attrs::new())?])
}

#[cfg(test)]
mod tests {
    use super::super::known_ints::slice_positions;
    use super::super::testing::*;

    #[test]
    fn slice_attrs_before_10_inputs_after() {
        let old = graph(
            vec![node(
                "Slice",
                &["x"],
                &["y"],
                vec![
                    ints("starts", &[1]),
                    ints("ends", &[i64::MAX]),
                    ints("axes", &[1]),
                ],
            )],
            vec![value("x", FLOAT, &[-1, 10])],
            vec![],
            &["y"],
        );
        assert_eq!(result_types(&model_of(9, old)), "tensor<N x 9 x f32>");
        let new = graph(
            vec![node("Slice", &["x", "s", "e", "a", "st"], &["y"], vec![])],
            vec![value("x", FLOAT, &[4, 10])],
            vec![
                i64s("s", &[1], &[-1]),
                i64s("e", &[1], &[i64::MIN]),
                i64s("a", &[1], &[1]),
                i64s("st", &[1], &[-3]),
            ],
            &["y"],
        );
        assert_eq!(result_types(&model_of(13, new)), "tensor<4x4xf32>");
        assert_eq!(slice_positions(10, -1, i64::MIN, -3), vec![9, 6, 3, 0]);
        assert_eq!(slice_positions(5, 1, 2_147_483_647, 2), vec![1, 3]);
        assert_eq!(slice_positions(0, -1, i64::MIN, -1), Vec::<usize>::new());
    }

    #[test]
    fn split_by_version() {
        let split = |opset: i64, outs: &[&str], attrs, inputs: &[&str], inits| {
            let g = graph(
                vec![node("Split", inputs, outs, attrs)],
                vec![value("x", FLOAT, &[7, 2])],
                inits,
                outs,
            );
            result_types(&model_of(opset, g))
        };
        assert_eq!(
            split(
                18,
                &["a", "b", "c", "d"],
                vec![int("num_outputs", 4)],
                &["x"],
                vec![]
            ),
            "(tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>, tensor<1x2xf32>)"
        );
        assert_eq!(
            split(
                11,
                &["a", "b"],
                vec![ints("split", &[3, 4])],
                &["x"],
                vec![]
            ),
            "(tensor<3x2xf32>, tensor<4x2xf32>)"
        );
        assert_eq!(
            split(
                13,
                &["a", "b"],
                vec![],
                &["x", "s"],
                vec![i64s("s", &[2], &[5, 2])]
            ),
            "(tensor<5x2xf32>, tensor<2x2xf32>)"
        );
    }

    #[test]
    fn pad_unsqueeze_squeeze_expand_tile() {
        let g = graph(
            vec![
                node(
                    "Pad",
                    &["x", "pads"],
                    &["p"],
                    vec![string("mode", "reflect")],
                ),
                node("Unsqueeze", &["p", "ax"], &["u"], vec![]),
                node("Squeeze", &["u"], &["q"], vec![]),
                node("Expand", &["q", "shape"], &["e"], vec![]),
                node("Tile", &["e", "reps"], &["y"], vec![]),
            ],
            vec![value("x", FLOAT, &[3, 4])],
            vec![
                i64s("pads", &[4], &[1, 0, 1, 2]),
                i64s("ax", &[1], &[0]),
                i64s("shape", &[3], &[2, 1, 1]),
                i64s("reps", &[3], &[1, 2, 1]),
            ],
            &["y"],
        );
        assert_eq!(result_types(&model_of(18, g)), "tensor<2x10x6xf32>");
        let wrap = graph(
            vec![node(
                "Pad",
                &["x", "pads"],
                &["y"],
                vec![string("mode", "wrap")],
            )],
            vec![value("x", FLOAT, &[3])],
            vec![i64s("pads", &[2], &[2, 4])],
            &["y"],
        );
        let text = ir(&model_of(19, wrap));
        assert!(
            text.contains("tg.gather") && text.contains("tensor<9xf32>"),
            "{text}"
        );
    }

    /// Trilu with `k` a graph input keeps the lower triangle with `tg.le`.
    #[test]
    fn trilu_with_a_run_time_k() {
        let g = graph(
            vec![node("Trilu", &["x", "k"], &["y"], vec![int("upper", 0)])],
            vec![value("x", FLOAT, &[2, 3, 4]), value("k", INT64, &[])],
            vec![],
            &["y"],
        );
        assert!(ir(&model_of(14, g)).contains("tg.le"));
    }
}
