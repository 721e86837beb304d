//! Known-integer propagation for the shape family: shape arithmetic done at
//! import time on (possibly symbolic) integer vectors, replayed through the
//! ops behind a shape input, and the graph inputs noted for specialisation
//! when such an input cannot be known.

use super::super::cx::NodeCx;
use super::super::known::Known;
use tessera_ir::dialect::graph::elementwise::{ADD, CAST, DIV, EQ, MUL, SELECT, SUB};
use tessera_ir::dialect::graph::index::GATHER;
use tessera_ir::dialect::graph::shape::{slice_range, CONCAT, RESHAPE, SHAPE_OF, SLICE};
use tessera_ir::op::same_op;
use tessera_ir::tensor::{Data, Tensor};
use tessera_ir::{Attr, Attrs, DType, Dim, OpRef, SymExpr, ValueId};

/// Records `k` for `v` unless something is known already (a folded
/// constant is at least as precise).
pub(super) fn learn(cx: &mut NodeCx, v: ValueId, k: Option<Known>) {
    if let Some(k) = k {
        if cx.known(v).is_none() {
            cx.set_known(v, k);
        }
    }
}

/// What is known about `v` as a (possibly symbolic) integer vector or scalar.
pub(super) fn known_ints_of(cx: &NodeCx, v: ValueId) -> Option<(Vec<SymExpr>, bool)> {
    cx.known(v)?.ints()
}

/// The positions ONNX Slice picks from an axis of `n` elements.
pub(super) fn slice_positions(n: usize, start: i64, end: i64, step: i64) -> Vec<usize> {
    if step == 0 {
        return Vec::new();
    }
    let (first, len) = slice_range(n as u64, start, end, step);
    (0..len as i128).map(|k| (first + k * step as i128) as usize).collect()
}

/// The integer vector (or scalar, with `true`) the known value `v` holds,
/// one entry per element.
fn ints_of(cx: &NodeCx, v: ValueId) -> Option<Vec<SymExpr>> {
    known_ints_of(cx, v).map(|(values, _)| values)
}

/// `a / b` for integers (truncating, as ONNX Div does) when the quotient
/// of symbolic values is exact.
fn div_ints(a: &SymExpr, b: &SymExpr) -> Option<SymExpr> {
    match (a.as_constant(), b.as_constant()) {
        (Some(x), Some(y)) => x.checked_div(y).map(SymExpr::constant),
        (_, Some(k)) => a.div_exact(k),
        _ => a.div_monomial(b),
    }
}

/// Entry `i` of a vector broadcast (numpy rules) to a longer one.
fn at<T>(v: &[T], i: usize) -> &T {
    &v[if v.len() == 1 { 0 } else { i }]
}

/// The common length of vectors that broadcast together (each of that
/// length or 1).
fn broadcast_len(lens: &[usize]) -> Option<usize> {
    let n = lens.iter().copied().max()?;
    lens.iter().all(|&l| l == n || l == 1).then_some(n)
}

/// Whether `a == b` is decidable for sizes: equal polynomials are, and so
/// is a plain symbol (a size, never negative) against a negative constant.
fn equal_ints(a: &SymExpr, b: &SymExpr) -> Option<bool> {
    let plain = |e: &SymExpr| e.symbols().count() == 1 && e.symbols().all(|s| *e == SymExpr::symbol(s.clone()));
    match (a.as_constant(), b.as_constant()) {
        _ if a == b => Some(true),
        (Some(x), Some(y)) => Some(x == y),
        (Some(c), None) if c < 0 && plain(b) => Some(false),
        (None, Some(c)) if c < 0 && plain(a) => Some(false),
        _ => None,
    }
}

/// Shape arithmetic at import time: when `def` (reshape, cast, gather,
/// concat, slice, add, sub, mul, div, eq or select) was applied to known
/// integer vectors whose entries may be symbolic (`Shape` of a tensor with a
/// dynamic batch), records the (symbolic) vector `result` holds. Constant
/// folding covers the all-constant case; this covers symbolic entries, so
/// `Shape → Gather → Unsqueeze → Concat → Reshape` (and PyTorch's
/// `Where(Equal(shape, -1), ...)` before Expand) resolves.
pub(in crate::onnx::import) fn derive_ints(
    cx: &mut NodeCx,
    def: OpRef,
    operands: &[ValueId],
    attrs: &Attrs,
    result: ValueId,
) {
    if cx.known(result).is_some() {
        return;
    }
    let Ok(ty) = cx.ty(result) else { return };
    if ty.rank() > 1 || ty.dtype.is_float() {
        return;
    }
    let ints = |i: usize| operands.get(i).and_then(|&v| ints_of(cx, v));
    if ty.dtype == DType::I1 {
        let flags = if same_op(def, &EQ) {
            ints(0).zip(ints(1)).and_then(|(a, b)| {
                let n = broadcast_len(&[a.len(), b.len()])?;
                (0..n).map(|i| equal_ints(at(&a, i), at(&b, i))).collect::<Option<Vec<bool>>>()
            })
        } else {
            None
        };
        let shape = if ty.rank() == 0 { Vec::new() } else { flags.as_ref().map_or(vec![0], |f| vec![f.len()]) };
        if let Some(t) = flags.and_then(|f| Tensor::new(DType::I1, shape, Data::Bool(f)).ok()) {
            cx.set_known(result, Known::Tensor(t));
        }
        return;
    }
    let attr_ints = |name: &str| attrs.get(name).and_then(Attr::as_ints);
    let values = if same_op(def, &RESHAPE) || same_op(def, &CAST) {
        ints(0)
    } else if same_op(def, &GATHER) {
        let (data, idx) = (ints(0), ints(1));
        data.zip(idx)
            .filter(|_| attrs.get("axis").and_then(Attr::as_int) == Some(0))
            .and_then(|(data, idx)| {
                let n = data.len() as i64;
                idx.iter()
                    .map(|i| {
                        let i = i.as_constant()?;
                        let i = if i < 0 { i + n } else { i };
                        (0..n).contains(&i).then(|| data[i as usize].clone())
                    })
                    .collect()
            })
    } else if same_op(def, &CONCAT) {
        (0..operands.len())
            .map(ints)
            .collect::<Option<Vec<_>>>()
            .map(|parts| parts.concat())
    } else if same_op(def, &SLICE) {
        let (starts, ends, steps) = (attr_ints("starts"), attr_ints("ends"), attr_ints("steps"));
        let axes = attr_ints("axes").unwrap_or_else(|| vec![0]);
        ints(0)
            .zip(starts.zip(ends))
            .and_then(|(values, (starts, ends))| {
                let k = axes.iter().position(|&a| a == 0 || a == -1)?;
                let step = steps.map_or(Some(1), |s| s.get(k).copied())?;
                let picked = slice_positions(values.len(), *starts.get(k)?, *ends.get(k)?, step);
                Some(picked.into_iter().map(|i| values[i].clone()).collect())
            })
    } else if same_op(def, &SELECT) {
        let cond = match operands.first().and_then(|&c| cx.known(c)) {
            Some(Known::Tensor(t)) if t.rank() <= 1 => Some(t.to_bools()),
            _ => None,
        };
        cond.zip(ints(1).zip(ints(2))).and_then(|(c, (a, b))| {
            let n = broadcast_len(&[c.len(), a.len(), b.len()])?;
            Some((0..n).map(|i| if *at(&c, i) { at(&a, i).clone() } else { at(&b, i).clone() }).collect())
        })
    } else {
        let arith: Option<fn(&SymExpr, &SymExpr) -> Option<SymExpr>> = if same_op(def, &ADD) {
            Some(|a, b| Some(a.add(b)))
        } else if same_op(def, &SUB) {
            Some(|a, b| Some(a.add(&b.scale(-1))))
        } else if same_op(def, &MUL) {
            Some(|a, b| Some(a.mul(b)))
        } else if same_op(def, &DIV) {
            Some(div_ints)
        } else {
            None
        };
        arith.zip(ints(0).zip(ints(1))).and_then(|(f, (a, b))| {
            let n = broadcast_len(&[a.len(), b.len()])?;
            (0..n).map(|i| f(at(&a, i), at(&b, i))).collect()
        })
    };
    let fits = |v: &Vec<SymExpr>| match ty.dims.first() {
        None => v.len() == 1,
        Some(d) => d.known().is_none_or(|n| n as usize == v.len()),
    };
    if let Some(values) = values.filter(fits) {
        cx.set_known(result, Known::from_ints(values, ty.rank() == 0));
    }
}

/// How many ops back [`resolve_ints`] looks.
const RESOLVE_DEPTH: usize = 24;

/// Recovers what is known about `v` by replaying the ops that computed it
/// through [`derive_ints`] (up to `depth` ops back): shape arithmetic built
/// by converters that do not record it themselves (the elementwise family's
/// Add, Mul, Cast, Where on shape vectors).
fn resolve_ints(cx: &mut NodeCx, v: ValueId, depth: usize) {
    if depth == 0 || cx.known(v).is_some() {
        return;
    }
    let Some(op) = cx.imp.func.def_op(v) else { return };
    let data = cx.imp.func.op(op);
    if data.results.len() != 1 {
        return;
    }
    let (def, operands, attrs) = (data.def, data.operands.clone(), data.attrs.clone());
    for &o in &operands {
        resolve_ints(cx, o, depth - 1);
    }
    derive_ints(cx, def, &operands, &attrs, v);
}

/// Input `i` as a known (possibly symbolic) integer vector, replaying the
/// shape arithmetic that computed it where needed.
pub(super) fn known_input_ints(cx: &mut NodeCx, i: usize) -> Option<(Vec<SymExpr>, bool)> {
    let v = cx.input(i).ok()?;
    resolve_ints(cx, v, RESOLVE_DEPTH);
    let known = cx.known_ints(i);
    if known.is_none() {
        want_sources(cx, v);
    }
    known
}

/// Notes for specialisation (see `import_model_specialized`) the graph
/// inputs whose values `v` depends on ([`value_sources`]).
fn want_sources(cx: &NodeCx, v: ValueId) {
    let sources = value_sources(cx, v);
    cx.imp.wanted.borrow_mut().extend(sources);
}

/// The graph inputs whose *values* `v` depends on: those reached from `v`
/// through the ops that computed it, except through `tg.shape_of` (which
/// reads only a shape).
pub(in crate::onnx::import) fn value_sources(cx: &NodeCx, v: ValueId) -> Vec<String> {
    let func = &cx.imp.func;
    let mut stack = vec![v];
    let mut seen = std::collections::HashSet::new();
    let mut sources = Vec::new();
    while let Some(v) = stack.pop() {
        if !seen.insert(v) || seen.len() > 256 {
            continue;
        }
        if let Some(name) = cx.imp.arg_names.get(&v) {
            sources.push(name.clone());
        }
        if let Some(op) = func.def_op(v) {
            let data = func.op(op);
            if !same_op(data.def, &SHAPE_OF) {
                stack.extend(data.operands.iter().copied());
            }
        }
    }
    sources
}

/// Input `i` as constant integers, replaying shape arithmetic where needed;
/// when it is not constant, the graph inputs it depends on are noted for
/// specialisation and the error names the input.
pub(in crate::onnx::import) fn const_input_ints(cx: &mut NodeCx, i: usize) -> Result<Vec<i64>, String> {
    if let Some((values, _)) = known_input_ints(cx, i) {
        if let Some(c) = values.iter().map(SymExpr::as_constant).collect::<Option<Vec<_>>>() {
            return Ok(c);
        }
    }
    cx.const_ints(i)
}

/// The dims a known shape vector (input `i`) describes; `what` names it.
pub(super) fn shape_input_dims(cx: &mut NodeCx, i: usize, what: &str) -> Result<Vec<Dim>, String> {
    let (values, _) = known_input_ints(cx, i)
        .ok_or_else(|| format!("input #{i} ({what}) must be known at import time (a constant or computed from tensor shapes)"))?;
    values
        .iter()
        .map(|e| match e.as_constant() {
            Some(c) if c < 0 => Err(format!("input #{i} ({what}) has the negative entry {c}")),
            _ => Ok(Dim::from_expr(e.clone())),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

    /// PyTorch's `x.view(x.size(0), -1)` on a dynamic batch: Shape → Gather
    /// → Unsqueeze → Concat → Reshape resolves to a symbolic target.
    #[test]
    fn view_batch_minus_one_on_a_symbolic_batch() {
        for opset in [11, 13] {
            let axes = if opset >= 13 {
                vec![]
            } else {
                vec![ints("axes", &[0])]
            };
            let unsq_inputs: &[&str] = if opset >= 13 { &["n", "zero1"] } else { &["n"] };
            let g = graph(
                vec![
                    node("Shape", &["x"], &["s"], vec![]),
                    node("Gather", &["s", "zero"], &["n"], vec![int("axis", 0)]),
                    node("Unsqueeze", unsq_inputs, &["n1"], axes),
                    node(
                        "Concat",
                        &["n1", "minus1"],
                        &["target"],
                        vec![int("axis", 0)],
                    ),
                    node("Reshape", &["x", "target"], &["y"], vec![]),
                ],
                vec![value("x", FLOAT, &[-1, 3, 4])],
                vec![
                    i64s("zero", &[], &[0]),
                    i64s("zero1", &[1], &[0]),
                    i64s("minus1", &[1], &[-1]),
                ],
                &["y"],
            );
            let m = model_of(opset, g);
            assert_eq!(result_types(&m), "tensor<N x 12 x f32>", "opset {opset}");
            assert!(
                ir(&m).contains("tg.reshape %x {shape = [N, 12]}"),
                "{}",
                ir(&m)
            );
        }
    }

    /// A transformer head split: `[N, S, 64] → [N, S, 8, 8]` with N and S
    /// taken from the shape, then the head axis moved forward.
    #[test]
    fn head_split_keeps_both_symbols() {
        let mut x = value("x", FLOAT, &[-1, 0, 64]);
        if let Some(crate::onnx::proto::type_proto::Value::TensorType(t)) =
            x.r#type.as_mut().and_then(|t| t.value.as_mut())
        {
            if let Some(shape) = t.shape.as_mut() {
                shape.dim[1].value = Some(
                    crate::onnx::proto::tensor_shape_proto::dimension::Value::DimParam("S".into()),
                );
            }
        }
        let g = graph(
            vec![
                node("Shape", &["x"], &["s"], vec![]),
                node("Slice", &["s", "start", "end"], &["ns"], vec![]),
                node(
                    "Concat",
                    &["ns", "heads"],
                    &["target"],
                    vec![int("axis", 0)],
                ),
                node("Reshape", &["x", "target"], &["r"], vec![]),
                node(
                    "Transpose",
                    &["r"],
                    &["y"],
                    vec![ints("perm", &[0, 2, 1, 3])],
                ),
            ],
            vec![x],
            vec![
                i64s("start", &[1], &[0]),
                i64s("end", &[1], &[2]),
                i64s("heads", &[2], &[8, 8]),
            ],
            &["y"],
        );
        assert_eq!(
            result_types(&model_of(13, g)),
            "tensor<N x 8 x S x 8 x f32>"
        );
    }

    /// Shape arithmetic built by other families (Cast, Mul, Equal, Where)
    /// is replayed when a shape input needs it: `x.view(2 * N, 6)` and
    /// PyTorch's `expand(N, -1, -1)` export.
    #[test]
    fn shape_arithmetic_through_elementwise_ops() {
        let g = graph(
            vec![
                node("Shape", &["x"], &["s"], vec![]),
                node("Gather", &["s", "zero"], &["n"], vec![]),
                node("Cast", &["n"], &["nc"], vec![int("to", INT64 as i64)]),
                node("Mul", &["nc", "two"], &["n2"], vec![]),
                node("Unsqueeze", &["n2", "zero1"], &["n2u"], vec![]),
                node("Concat", &["n2u", "six"], &["t"], vec![int("axis", 0)]),
                node("Reshape", &["x", "t"], &["r"], vec![]),
                node("Unsqueeze", &["n", "zero1"], &["nu"], vec![]),
                node("Concat", &["nu", "minus1x2"], &["shp"], vec![int("axis", 0)]),
                node("Equal", &["shp", "minus1"], &["eq"], vec![]),
                node("Where", &["eq", "ones", "shp"], &["w"], vec![]),
                node("Expand", &["y", "w"], &["e"], vec![]),
            ],
            vec![value("x", FLOAT, &[-1, 3, 4]), value("y", FLOAT, &[1, 3, 4])],
            vec![
                i64s("zero", &[], &[0]),
                i64s("zero1", &[1], &[0]),
                i64s("two", &[], &[2]),
                i64s("six", &[1], &[6]),
                i64s("minus1", &[1], &[-1]),
                i64s("minus1x2", &[2], &[-1, -1]),
                i64s("ones", &[3], &[1, 1, 1]),
            ],
            &["r", "e"],
        );
        assert_eq!(result_types(&model_of(13, g)), "(tensor<2*N x 6 x f32>, tensor<N x 3 x 4 x f32>)");
    }
}
