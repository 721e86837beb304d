//! ONNX converters: the shape family — constants, shape queries and every
//! operator that moves elements without computing on them (Reshape,
//! Transpose, Concat, Split, Slice, Pad, Expand, Tile, ...), plus Range,
//! EyeLike, Trilu and Resize/Upsample (in [`resize`]).
//!
//! Shape arithmetic is done at import time wherever it can be: `Shape` of a
//! tensor with a symbolic batch is `tg.shape_of` *and* a known vector of
//! [`SymExpr`]s. [`derive_ints`] carries such vectors through reshape,
//! gather, concat, slice, cast, add/sub/mul/div, equal and where — as the
//! converters here build those ops, and, for ops other families build, by
//! replaying the ops behind a shape input when one is needed
//! ([`known_input_ints`]). So PyTorch's `Shape → Gather → Unsqueeze → Concat
//! → Reshape` chains become a `tg.reshape` to `[N, 12]`. When a shape input
//! cannot be known, the graph inputs its value depends on are noted, so that
//! a caller may specialise on them (`import_model_specialized`).
//!
//! The helpers at the top are shared with the index and control families.

mod resize;

use super::cx::NodeCx;
use super::known::{Known, FOLD_LIMIT};
use super::registry::Convert;
use crate::onnx::tensor::dtype_from_onnx;
use tessera_ir::dialect::graph::elementwise::{ADD, CAST, DIV, EQ, GE, LE, MUL, SELECT, SUB};
use tessera_ir::dialect::graph::index::GATHER;
use tessera_ir::dialect::graph::reduce::REDUCE_PROD;
use tessera_ir::dialect::graph::shape::{
    BROADCAST_TO, CONCAT, IOTA, PAD, RESHAPE, SHAPE_OF, SLICE, SLICE_TO_END, TRANSPOSE,
};
use tessera_ir::op::same_op;
use tessera_ir::tensor::{Data, Tensor};
use tessera_ir::{Attr, Attrs, DType, Dim, OpRef, SymExpr, ValueId};

/// The converters of this family, by ONNX operator name.
pub(super) const CONVERTERS: &[(&str, Convert)] = &[
    ("Constant", constant),
    ("ConstantOfShape", constant_of_shape),
    ("Shape", shape),
    ("Size", size),
    ("Reshape", reshape),
    ("Flatten", flatten),
    ("Squeeze", squeeze),
    ("Unsqueeze", unsqueeze),
    ("Transpose", transpose),
    ("Concat", concat),
    ("Split", split),
    ("Slice", slice),
    ("Pad", pad),
    ("Expand", expand),
    ("Tile", tile),
    ("Range", range),
    ("EyeLike", eye_like),
    ("Trilu", trilu),
    ("DepthToSpace", depth_to_space),
    ("SpaceToDepth", space_to_depth),
    ("Resize", resize::resize),
    ("Upsample", resize::upsample),
];

// ---------------------------------------------------------------------------
// Helpers shared with the index and control families.

/// `axis` (negative counts from the end) as an index into `rank` axes; the
/// error names the attribute or input `what`.
pub(super) fn norm_axis(axis: i64, rank: usize, what: &str) -> Result<usize, String> {
    let r = rank as i64;
    if axis < -r || axis >= r {
        return Err(format!("{what} = {axis} is out of range for rank {rank}"));
    }
    Ok(if axis < 0 {
        (axis + r) as usize
    } else {
        axis as usize
    })
}

/// Several axes normalised as [`norm_axis`] does; repeats are an error.
pub(super) fn norm_axes(axes: &[i64], rank: usize, what: &str) -> Result<Vec<usize>, String> {
    let mut out = Vec::with_capacity(axes.len());
    for &a in axes {
        let n = norm_axis(a, rank, what)?;
        if out.contains(&n) {
            return Err(format!("{what} {axes:?} repeats axis {a}"));
        }
        out.push(n);
    }
    Ok(out)
}

/// The dims as static sizes, when all are static.
pub(super) fn static_sizes(dims: &[Dim]) -> Option<Vec<usize>> {
    dims.iter().map(|d| d.known().map(|n| n as usize)).collect()
}

/// The product of `dims` (`?` when any is `?`).
pub(super) fn product(dims: &[Dim]) -> Dim {
    dims.iter().fold(Dim::Known(1), |acc, d| acc.mul(d))
}

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

/// A rank-0 i64 constant.
pub(super) fn i64_scalar(cx: &mut NodeCx, v: i64) -> Result<ValueId, String> {
    let t = Tensor::from_i64s(&[v]).reshaped(Vec::new())?;
    cx.constant(t)
}

/// `x` under the new `dims` (no op when they are x's already); knowledge
/// about `x` carries over.
pub(super) fn reshape_to(cx: &mut NodeCx, x: ValueId, dims: &[Dim]) -> Result<ValueId, String> {
    if cx.dims(x)? == dims {
        return Ok(x);
    }
    let attrs = Attrs::from([("shape", Attr::shape(dims))]);
    let y = cx.op(&RESHAPE, &[x], attrs.clone())?;
    if let Some(Known::Tensor(t)) = cx.known(x) {
        let reshaped = static_sizes(dims)
            .and_then(|s| t.reshaped(s).ok())
            .map(Known::Tensor);
        learn(cx, y, reshaped);
    }
    derive_ints(cx, &RESHAPE, &[x], &attrs, y);
    Ok(y)
}

/// `x` as a rank-0 tensor: x itself, or x reshaped when it holds one
/// element (ONNX often passes scalars as `[1]`); `what` names it in errors.
pub(super) fn to_scalar(cx: &mut NodeCx, x: ValueId, what: &str) -> Result<ValueId, String> {
    let dims = cx.dims(x)?;
    if dims.is_empty() {
        return Ok(x);
    }
    if dims.iter().all(|d| d.known() == Some(1)) {
        return reshape_to(cx, x, &[]);
    }
    Err(format!(
        "{what} must be a scalar (or hold one element), got {}",
        cx.ty(x)?
    ))
}

/// The positions ONNX Slice picks from an axis of `n` elements.
pub(super) fn slice_positions(n: usize, start: i64, end: i64, step: i64) -> Vec<usize> {
    let (n, step) = (n as i128, step as i128);
    let (mut s, mut e) = (start as i128, end as i128);
    if s < 0 {
        s += n;
    }
    if e < 0 {
        e += n;
    }
    let mut out = Vec::new();
    if step > 0 {
        let (mut i, e) = (s.clamp(0, n), e.clamp(0, n));
        while i < e {
            out.push(i as usize);
            i += step;
        }
    } else if step < 0 && n > 0 {
        let (mut i, e) = (s.clamp(0, n - 1), e.clamp(-1, n - 1));
        while i > e {
            out.push(i as usize);
            i += step;
        }
    }
    out
}

/// `tg.slice` of `x` along the given axes; a known integer vector is sliced too.
pub(super) fn slice_op(
    cx: &mut NodeCx,
    x: ValueId,
    starts: &[i64],
    ends: &[i64],
    axes: &[usize],
    steps: &[i64],
) -> Result<ValueId, String> {
    // Ends past any real size mean "to the end", which keeps symbolic sizes named.
    let ends: Vec<i64> = ends
        .iter()
        .zip(steps)
        .map(|(&e, &s)| {
            if s > 0 && e >= i64::from(i32::MAX) {
                SLICE_TO_END
            } else {
                e
            }
        })
        .collect();
    let axes_i: Vec<i64> = axes.iter().map(|&a| a as i64).collect();
    let attrs = Attrs::from([
        ("starts", Attr::ints(starts)),
        ("ends", Attr::ints(&ends)),
        ("axes", Attr::ints(&axes_i)),
        ("steps", Attr::ints(steps)),
    ]);
    let y = cx.op(&SLICE, &[x], attrs.clone())?;
    derive_ints(cx, &SLICE, &[x], &attrs, y);
    Ok(y)
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
pub(super) fn derive_ints(
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
/// inputs whose *values* `v` depends on: those reached from `v` through the
/// ops that computed it, except through `tg.shape_of` (which reads only a
/// shape).
fn want_sources(cx: &NodeCx, v: ValueId) {
    let func = &cx.imp.func;
    let mut stack = vec![v];
    let mut seen = std::collections::HashSet::new();
    while let Some(v) = stack.pop() {
        if !seen.insert(v) || seen.len() > 256 {
            continue;
        }
        if let Some(name) = cx.imp.arg_names.get(&v) {
            cx.imp.wanted.borrow_mut().insert(name.clone());
        }
        if let Some(op) = func.def_op(v) {
            let data = func.op(op);
            if !same_op(data.def, &SHAPE_OF) {
                stack.extend(data.operands.iter().copied());
            }
        }
    }
}

/// Input `i` as constant integers, replaying shape arithmetic where needed;
/// when it is not constant, the graph inputs it depends on are noted for
/// specialisation and the error names the input.
pub(super) fn const_input_ints(cx: &mut NodeCx, i: usize) -> Result<Vec<i64>, String> {
    if let Some((values, _)) = known_input_ints(cx, i) {
        if let Some(c) = values.iter().map(SymExpr::as_constant).collect::<Option<Vec<_>>>() {
            return Ok(c);
        }
    }
    cx.const_ints(i)
}

/// The positions 0..n of `axis` in a tensor of `rank` axes, as a `[1, .., n, .., 1]`
/// iota of `dtype`.
pub(super) fn iota_along(
    cx: &mut NodeCx,
    n: &Dim,
    axis: usize,
    rank: usize,
    dtype: DType,
) -> Result<ValueId, String> {
    let mut shape = vec![Dim::Known(1); rank];
    shape[axis] = n.clone();
    let attrs = Attrs::from([
        ("shape", Attr::shape(&shape)),
        ("dtype", Attr::DType(dtype)),
        ("axis", Attr::Int(axis as i64)),
    ]);
    cx.op(&IOTA, &[], attrs)
}

/// A `(rows, cols)` pair of i64 iotas over a `[n, m]` grid.
fn grid(cx: &mut NodeCx, n: &Dim, m: &Dim) -> Result<(ValueId, ValueId), String> {
    let shape = Attr::shape(&[n.clone(), m.clone()]);
    let mut iota = |axis: i64| {
        let attrs = Attrs::from([
            ("shape", shape.clone()),
            ("dtype", Attr::DType(DType::I64)),
            ("axis", Attr::Int(axis)),
        ]);
        cx.op(&IOTA, &[], attrs)
    };
    Ok((iota(0)?, iota(1)?))
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

/// Whether input `i` is given (present and not the empty name).
pub(super) fn has_input(cx: &NodeCx, i: usize) -> bool {
    cx.node.input.get(i).is_some_and(|n| !n.is_empty())
}

// ---------------------------------------------------------------------------
// Constants and shape queries.

/// Constant: `value` (a tensor), `value_float(s)` or `value_int(s)`.
fn constant(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
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

/// The dims a known shape vector (input `i`) describes; `what` names it.
fn shape_input_dims(cx: &mut NodeCx, i: usize, what: &str) -> Result<Vec<Dim>, String> {
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

/// ConstantOfShape: a tensor of the given (possibly symbolic) shape filled
/// with `value` (default f32 0).
fn constant_of_shape(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
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
fn shape(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
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
fn size(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
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

// ---------------------------------------------------------------------------
// Reshaping.

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
fn reshape(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
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
fn flatten(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
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

/// Squeeze: `axes` as an attribute before opset 13, an input after; without
/// axes every static 1 goes.
fn squeeze(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
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
fn unsqueeze(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
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
fn transpose(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
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

/// Concat along `axis` (default 1 before opset 4); known integer vectors are joined too.
fn concat(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
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
fn split(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
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
fn slice(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
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
fn pad(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
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
fn expand(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
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
fn tile(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
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

/// Range: `iota * delta + start` over `max(ceil((limit - start) / delta), 0)`
/// elements. start and delta must be constants; limit a constant or, with a
/// delta of 1, a known symbolic size.
fn range(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
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
fn eye_like(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
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

/// Trilu: keeps the elements with `col - row >= k` (upper) or `<= k`
/// (lower) of the last two axes, zeroes the rest; `k` may be a run-time value.
fn trilu(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
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
fn depth_to_space(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
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
fn space_to_depth(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
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

/// Builders for multi-node test models, shared with the index and control tests.
#[cfg(test)]
pub(super) mod testing {
    pub use super::super::elementwise::testing::*;
    use crate::onnx::proto::attribute_proto::AttributeType;
    use crate::onnx::proto::{
        AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
        ValueInfoProto,
    };

    /// A node `op(inputs) -> outputs`.
    pub fn node(
        op: &str,
        inputs: &[&str],
        outputs: &[&str],
        attribute: Vec<AttributeProto>,
    ) -> NodeProto {
        NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: outputs.iter().map(|s| s.to_string()).collect(),
            name: format!("{op}_{}", outputs.first().copied().unwrap_or_default()),
            op_type: op.into(),
            attribute,
            ..Default::default()
        }
    }

    /// A floats attribute.
    pub fn floats_attr(name: &str, v: &[f32]) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            floats: v.to_vec(),
            r#type: AttributeType::Floats as i32,
            ..Default::default()
        }
    }

    /// A graph attribute.
    pub fn graph_attr(name: &str, g: GraphProto) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            g: Some(g),
            r#type: AttributeType::Graph as i32,
            ..Default::default()
        }
    }

    /// An untyped graph output (or subgraph input: the region gives the type).
    pub fn named(name: &str) -> ValueInfoProto {
        ValueInfoProto {
            name: name.into(),
            ..Default::default()
        }
    }

    /// A graph of `nodes` with the given inputs, initializers and outputs.
    pub fn graph(
        nodes: Vec<NodeProto>,
        inputs: Vec<ValueInfoProto>,
        inits: Vec<TensorProto>,
        outputs: &[&str],
    ) -> GraphProto {
        GraphProto {
            node: nodes,
            name: "g".into(),
            initializer: inits,
            input: inputs,
            output: outputs.iter().map(|o| named(o)).collect(),
            ..Default::default()
        }
    }

    /// A model around `g` importing `opset`.
    pub fn model_of(opset: i64, g: GraphProto) -> ModelProto {
        ModelProto {
            ir_version: 8,
            graph: Some(g),
            opset_import: vec![OperatorSetIdProto {
                domain: String::new(),
                version: opset,
            }],
            ..Default::default()
        }
    }

    /// The printed result types of `@main`.
    pub fn result_types(m: &ModelProto) -> String {
        let text = ir(m);
        let sig = text
            .lines()
            .find(|l| l.starts_with("func @main"))
            .unwrap_or_default()
            .to_string();
        sig.rsplit("-> ")
            .next()
            .unwrap_or_default()
            .trim_end_matches(" {")
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::slice_positions;
    use super::testing::*;

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

    #[test]
    fn range_eye_trilu_space_depth() {
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
        let g = graph(
            vec![node("Trilu", &["x", "k"], &["y"], vec![int("upper", 0)])],
            vec![value("x", FLOAT, &[2, 3, 4]), value("k", INT64, &[])],
            vec![],
            &["y"],
        );
        assert!(ir(&model_of(14, g)).contains("tg.le"));
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

    #[test]
    fn resize_sizes_scales_and_upsample() {
        let g = graph(
            vec![node(
                "Resize",
                &["x", "", "", "sizes"],
                &["y"],
                vec![string("mode", "linear")],
            )],
            vec![value("x", FLOAT, &[-1, 3, 4, 4])],
            vec![i64s("sizes", &[2], &[8, 2])],
            &["y"],
        );
        let mut g = g;
        g.node[0].attribute.push(ints("axes", &[2, 3]));
        let text = ir(&model_of(19, g));
        assert!(text.contains("-> tensor<N x 3 x 8 x 2 x f32>"), "{text}");
        let g = graph(
            vec![node(
                "Upsample",
                &["x"],
                &["y"],
                vec![floats_attr("scales", &[1.0, 1.0, 2.0, 3.0])],
            )],
            vec![value("x", INT32, &[1, 1, 2, 2])],
            vec![],
            &["y"],
        );
        assert_eq!(result_types(&model_of(7, g)), "tensor<1x1x4x6xi32>");
    }
}
