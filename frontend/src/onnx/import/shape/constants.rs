//! Shape-family converters that make tensors from attributes and shapes
//! alone: Constant, ConstantOfShape, Shape, Size, Range and EyeLike.

use super::super::cx::NodeCx;
use super::super::known::{Known, FOLD_LIMIT};
use super::known_ints::{known_input_ints, learn, shape_input_dims};
use super::{grid, i64_scalar, product, slice_op, static_sizes, to_scalar};
use crate::onnx::tensor::dtype_from_onnx;
use tessera_ir::dialect::graph::elementwise::{ADD, CAST, EQ, MUL};
use tessera_ir::dialect::graph::reduce::REDUCE_PROD;
use tessera_ir::dialect::graph::shape::{BROADCAST_TO, IOTA, SHAPE_OF};
use tessera_ir::tensor::{Data, Tensor};
use tessera_ir::{Attr, Attrs, DType, Dim, SymExpr, ValueId};

/// Constant: `value` (a tensor), `value_float(s)` or `value_int(s)`.
pub(super) fn constant(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let t = if let Some(dense) = cx.attr_tensor("value")? {
        Tensor::from(&dense)
    } else if let Some(a) = cx.attr("value_float") {
        Tensor::scalar(DType::F32, f64::from(a.f))
    } else if let Some(fs) = cx.attr_floats("value_floats") {
        let values = fs.iter().map(|&f| f64::from(f)).collect();
        Tensor::from_f64(DType::F32, vec![fs.len()], values)?
    } else if let Some(a) = cx.attr("value_int") {
        Tensor::from_i64s(&[a.i]).reshaped(Vec::new())?
    } else if let Some(is) = cx.attr_ints("value_ints") {
        Tensor::from_i64s(&is)
    } else {
        let other = ["sparse_value", "value_string", "value_strings"]
            .into_iter()
            .find(|n| cx.attr(n).is_some());
        return Err(match other {
            Some(name) => format!(
                "attribute '{name}' is not supported (tessera has no sparse or string tensors)"
            ),
            None => {
                "one of the attributes 'value', 'value_float(s)', 'value_int(s)' is required".into()
            }
        });
    };
    Ok(vec![cx.constant(t)?])
}

/// ConstantOfShape: a tensor of the given (possibly symbolic) shape filled
/// with `value` (default f32 0).
pub(super) fn constant_of_shape(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let dims = shape_input_dims(cx, 0, "shape")?;
    let fill = match cx.attr_tensor("value")? {
        Some(dense) => {
            let t = Tensor::from(&dense);
            if t.len() != 1 {
                return Err(format!(
                    "attribute 'value' must hold one element, got {}",
                    t.len()
                ));
            }
            t.reshaped(Vec::new())?
        }
        None => Tensor::scalar(DType::F32, 0.0),
    };
    if let Some(sizes) = static_sizes(&dims).filter(|s| s.iter().product::<usize>() <= FOLD_LIMIT) {
        let n = sizes.iter().product::<usize>();
        let data = match fill.data() {
            Data::Float(v) => Data::Float(vec![v[0]; n]),
            Data::Int(v) => Data::Int(vec![v[0]; n]),
            Data::UInt(v) => Data::UInt(vec![v[0]; n]),
            Data::Bool(v) => Data::Bool(vec![v[0]; n]),
        };
        let t = Tensor::new(fill.dtype(), sizes, data)?;
        return Ok(vec![cx.constant(t)?]);
    }
    let scalar = cx.constant(fill)?;
    Ok(vec![cx.op(
        &BROADCAST_TO,
        &[scalar],
        Attrs::from([("shape", Attr::shape(&dims))]),
    )?])
}

/// Shape (with `start`/`end` from opset 15): a constant when the dims are
/// static, otherwise `tg.shape_of` known as a vector of symbolic sizes.
pub(super) fn shape(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let dims = cx.dims(x)?;
    let r = dims.len() as i64;
    let clamp = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
    let (start, end) = if cx.opset >= 15 {
        (clamp(cx.attr_int("start", 0)), clamp(cx.attr_int("end", r)))
    } else {
        (0, r as usize)
    };
    let picked = &dims[start..end.max(start)];
    if let Some(sizes) = static_sizes(picked) {
        let values: Vec<i64> = sizes.iter().map(|&s| s as i64).collect();
        return Ok(vec![cx.ints_constant(&values)?]);
    }
    let mut v = cx.op(&SHAPE_OF, &[x], Attrs::new())?;
    if (start, end) != (0, r as usize) {
        v = slice_op(cx, v, &[start as i64], &[end.max(start) as i64], &[0], &[1])?;
    }
    let exprs = picked.iter().map(Dim::expr).collect::<Option<Vec<_>>>();
    learn(cx, v, exprs.map(|e| Known::from_ints(e, false)));
    Ok(vec![v])
}

/// Size: the element count as an i64 scalar.
pub(super) fn size(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let count = product(&cx.dims(x)?);
    if let Some(n) = count.known() {
        return Ok(vec![i64_scalar(cx, n as i64)?]);
    }
    let s = cx.op(&SHAPE_OF, &[x], Attrs::new())?;
    let attrs = Attrs::from([("axes", Attr::ints(&[0])), ("keepdims", Attr::Bool(false))]);
    let v = cx.op(&REDUCE_PROD, &[s], attrs)?;
    learn(cx, v, count.expr().map(|e| Known::from_ints(vec![e], true)));
    Ok(vec![v])
}

/// Range: `iota * delta + start` over `max(ceil((limit - start) / delta), 0)`
/// elements. start and delta must be constants; limit a constant or, with a
/// delta of 1, a known symbolic size.
pub(super) fn range(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (start, delta) = (cx.input(0)?, cx.input(2)?);
    let dtype = cx.ty(start)?.dtype;
    let scalar_of = |cx: &NodeCx, i: usize, what: &str| -> Result<Tensor, String> {
        let t = cx
            .const_tensor(i)
            .map_err(|_| format!("input #{i} ({what}) must be a constant"))?;
        if t.len() != 1 {
            return Err(format!("input #{i} ({what}) must be a scalar"));
        }
        Ok(t)
    };
    let s = scalar_of(cx, 0, "start")?;
    let d = scalar_of(cx, 2, "delta")?;
    let n = if let Ok(l) = scalar_of(cx, 1, "limit") {
        if dtype.is_float() {
            let (s, l, d) = (s.get_f64(0), l.get_f64(0), d.get_f64(0));
            if d == 0.0 {
                return Err("input #2 (delta) is 0".into());
            }
            Dim::Known(((l - s) / d).ceil().max(0.0) as u64)
        } else {
            let (s, l, d) = (
                i128::from(s.to_i64s()[0]),
                i128::from(l.to_i64s()[0]),
                i128::from(d.to_i64s()[0]),
            );
            if d == 0 {
                return Err("input #2 (delta) is 0".into());
            }
            let span = l - s;
            // ceil(span / d) for either sign of d.
            let q = span / d + i128::from(span % d != 0 && (span > 0) == (d > 0));
            Dim::Known(q.max(0) as u64)
        }
    } else {
        let symbolic = known_input_ints(cx, 1).filter(|(values, _)| values.len() == 1);
        match (symbolic, d.to_i64s()[0]) {
            (Some((values, _)), 1) if !dtype.is_float() => {
                Dim::from_expr(values[0].add(&SymExpr::constant(-s.to_i64s()[0])))
            }
            _ => {
                return Err(
                    "input #1 (limit) must be a constant, or a known size with a delta of 1".into(),
                )
            }
        }
    };
    let attrs = Attrs::from([
        ("shape", Attr::shape(&[n])),
        ("dtype", Attr::DType(dtype)),
        ("axis", Attr::Int(0)),
    ]);
    let mut y = cx.op(&IOTA, &[], attrs)?;
    if d.get_f64(0) != 1.0 {
        let delta = to_scalar(cx, delta, "input #2 (delta)")?;
        y = cx.op(&MUL, &[y, delta], Attrs::new())?;
    }
    if s.get_f64(0) != 0.0 {
        let start = to_scalar(cx, start, "input #0 (start)")?;
        y = cx.op(&ADD, &[y, start], Attrs::new())?;
    }
    Ok(vec![y])
}

/// The dtype an ONNX dtype attribute names, or `default` when absent.
fn dtype_attr(cx: &NodeCx, name: &str, default: DType) -> Result<DType, String> {
    match cx.attr(name) {
        None => Ok(default),
        Some(a) => dtype_from_onnx(a.i as i32).ok_or_else(|| {
            format!(
                "attribute '{name}' = {} names a dtype tessera does not support",
                a.i
            )
        }),
    }
}

/// EyeLike: ones where `col - row == k` in a matrix shaped like the input.
pub(super) fn eye_like(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let ty = cx.ty(x)?;
    if ty.rank() != 2 {
        return Err(format!("the input must be a matrix, got {ty}"));
    }
    let dtype = dtype_attr(cx, "dtype", ty.dtype)?;
    let (rows, cols) = grid(cx, &ty.dims[0], &ty.dims[1])?;
    let k = i64_scalar(cx, cx.attr_int("k", 0))?;
    let shifted = cx.op(&ADD, &[rows, k], Attrs::new())?;
    let mask = cx.op(&EQ, &[shifted, cols], Attrs::new())?;
    if dtype == DType::I1 {
        return Ok(vec![mask]);
    }
    Ok(vec![cx.op(
        &CAST,
        &[mask],
        Attrs::from([("to", Attr::DType(dtype))]),
    )?])
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

    #[test]
    fn shape_of_a_dynamic_tensor_is_shape_of_and_static_ones_fold() {
        let g = graph(
            vec![node("Shape", &["x"], &["y"], vec![int("start", 1)])],
            vec![value("x", FLOAT, &[-1, 3, 4])],
            vec![],
            &["y"],
        );
        let text = ir(&model_of(15, g));
        assert!(
            !text.contains("tg.shape_of"),
            "a static slice of the shape is a constant: {text}"
        );
        let g = graph(
            vec![node("Shape", &["x"], &["y"], vec![])],
            vec![value("x", FLOAT, &[-1, 3])],
            vec![],
            &["y"],
        );
        assert!(ir(&model_of(15, g)).contains("tg.shape_of %x"));
    }

    /// Range with a negative delta; EyeLike keeps a symbolic row count.
    #[test]
    fn range_and_eye_like() {
        let g = graph(
            vec![node("Range", &["s", "l", "d"], &["y"], vec![])],
            vec![],
            vec![
                i64s("s", &[], &[10]),
                i64s("l", &[], &[6]),
                i64s("d", &[], &[-3]),
            ],
            &["y"],
        );
        assert_eq!(result_types(&model_of(11, g)), "tensor<2xi64>");
        let g = graph(
            vec![node(
                "EyeLike",
                &["x"],
                &["y"],
                vec![int("k", 1), int("dtype", 7)],
            )],
            vec![value("x", FLOAT, &[-1, 4])],
            vec![],
            &["y"],
        );
        assert_eq!(result_types(&model_of(9, g)), "tensor<N x 4 x i64>");
    }
}
