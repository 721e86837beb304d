//! ONNX converters: control flow. If becomes `tg.if` with its branches as
//! regions (or, on a condition known at import time, the taken branch
//! inline); Loop becomes `tg.loop`, whose body takes (iteration, condition,
//! carried...) and yields (condition, carried..., scan elements...) exactly
//! as ONNX's does.
//!
//! Scan (opset 9+; opset 8 per batch element) also becomes a `tg.loop`
//! rather than an unrolled body: the trip count is the sequence length
//! (static or symbolic), the body is the Scan body with two leading
//! arguments added and one `Gather` per scan input (at the iteration
//! number, along its scan axis) prepended; reversed scan inputs are
//! reversed once outside the loop, and the stacked scan outputs are
//! reversed and moved to their `scan_output_axes` afterwards. This keeps one
//! copy of the body whatever the sequence length, and works for symbolic
//! lengths too.
//!
//! A carried value whose type changes across iterations (a growing
//! sequence) gets `?` dims: the body is imported with the initial types
//! first, then again with the dims that differ made unknown.
//!
//! A Loop body that cannot be imported as a region (it needs the iteration
//! number as a constant, e.g. for Slice bounds) is unrolled instead when the
//! trip count and the conditions are known at import time.

use super::cx::NodeCx;
use super::known::Known;
use super::registry::Convert;
use super::shape::{i64_scalar, norm_axis, reshape_to, to_scalar, value_sources};
use crate::onnx::proto::{
    attribute_proto::AttributeType, AttributeProto, GraphProto, NodeProto, ValueInfoProto,
};
use tessera_ir::dialect::graph::control::{IF, LOOP};
use tessera_ir::dialect::graph::index::GATHER;
use tessera_ir::dialect::graph::shape::{CONCAT, REVERSE, SHAPE_OF, TRANSPOSE};
use tessera_ir::{Attr, Attrs, DType, Dim, InsertPoint, RegionId, TensorType, Type, ValueId};

/// The converters of this family, by ONNX operator name.
pub(super) const CONVERTERS: &[(&str, Convert)] = &[("If", if_), ("Loop", loop_), ("Scan", scan)];

/// The graph attribute `name`, borrowed from the node (not from `cx`).
fn graph_attr<'a>(cx: &NodeCx<'a>, name: &str) -> Result<&'a GraphProto, String> {
    let node: &'a NodeProto = cx.node;
    node.attribute
        .iter()
        .find(|a| a.name == name)
        .and_then(|a| a.g.as_ref())
        .ok_or_else(|| format!("attribute '{name}' is required"))
}

/// If: both branches become regions without arguments. A condition known
/// at import time imports only the branch taken, inline (exporters guard
/// rank- or shape-specific code this way, and the other branch need not
/// even be valid for these shapes).
fn if_(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let cond = cx.input(0)?;
    let cond = to_scalar(cx, cond, "input #0 (cond)")?;
    let (then_g, else_g) = (
        graph_attr(cx, "then_branch")?,
        graph_attr(cx, "else_branch")?,
    );
    if let Some(Known::Tensor(t)) = cx.known(cond) {
        let taken = if t.to_bools() == [true] {
            then_g
        } else {
            else_g
        };
        return inline(cx, taken);
    }
    let then_r = cx.region(then_g, &[])?;
    let else_r = cx.region(else_g, &[])?;
    cx.ops_with_regions(&IF, &[cond], Attrs::new(), vec![then_r, else_r])
}

/// Imports a graph without inputs in place: as a region first, whose ops
/// then move to the insertion point; returns what it yields. (The emptied
/// region is left unattached.)
fn inline(cx: &mut NodeCx, graph: &GraphProto) -> Result<Vec<ValueId>, String> {
    let region = cx.region(graph, &[])?;
    let outs = yielded(cx, region);
    let at = cx.imp.at;
    let func = &mut cx.imp.func;
    let Some(&block) = func.region(region).blocks.first() else {
        return Ok(outs);
    };
    let ops = func.block(block).ops.clone();
    let body = ops.split_last().map_or(&[][..], |(_, body)| body);
    for &op in body {
        func.erase_op(op);
        match at {
            InsertPoint::End(b) => func.append_op(b, op),
            InsertPoint::Before(anchor) => func.insert_op_before(anchor, op),
        }
    }
    Ok(outs)
}

/// A rank-0 tensor type.
fn scalar_type(dtype: DType) -> Type {
    Type::Tensor(TensorType::scalar(dtype))
}

/// The values the entry block of `region` yields.
fn yielded(cx: &NodeCx, region: RegionId) -> Vec<ValueId> {
    let func = &cx.imp.func;
    let Some(&block) = func.region(region).blocks.first() else {
        return Vec::new();
    };
    func.block(block)
        .ops
        .last()
        .map(|&op| func.op(op).operands.clone())
        .unwrap_or_default()
}

/// The common type of a carried value's argument and what the body yields
/// for it: dims that differ become `?`.
fn widen(arg: &Type, next: &Type, i: usize) -> Result<Type, String> {
    match (arg, next) {
        (Type::Tensor(a), Type::Tensor(n)) if a.dtype == n.dtype && a.rank() == n.rank() => {
            let dims = a
                .dims
                .iter()
                .zip(&n.dims)
                .map(|(x, y)| if x == y { x.clone() } else { Dim::Unknown })
                .collect();
            Ok(Type::Tensor(TensorType::new(dims, a.dtype)))
        }
        _ => Err(format!(
            "carried value #{i} starts as {arg} but the body yields {next} (dtype or rank changes)"
        )),
    }
}

/// Imports a loop body taking (iteration, condition, carried...) whose
/// carried arguments start with `carried`'s types, widening them until what
/// the body yields fits; returns the region and whether the yielded
/// condition is always true.
fn loop_body(
    cx: &mut NodeCx,
    graph: &GraphProto,
    carried: &[ValueId],
) -> Result<(RegionId, bool), String> {
    let mut args = vec![scalar_type(DType::I64), scalar_type(DType::I1)];
    for &v in carried {
        args.push(cx.imp.func.ty(v).clone());
    }
    for _ in 0..3 {
        let region = cx.region(graph, &args)?;
        let outs = yielded(cx, region);
        if outs.len() < carried.len() + 1 {
            return Err(format!(
                "the body yields {} value(s), expected the condition and {} carried value(s)",
                outs.len(),
                carried.len()
            ));
        }
        let mut changed = false;
        for (i, &next) in outs[1..=carried.len()].iter().enumerate() {
            let next_ty = cx.imp.func.ty(next).clone();
            if !next_ty.refines(&args[2 + i]) {
                args[2 + i] = widen(&args[2 + i], &next_ty, i)?;
                changed = true;
            }
        }
        if !changed {
            let cond_arg = cx
                .imp
                .func
                .region(region)
                .blocks
                .first()
                .and_then(|&b| cx.imp.func.block(b).args.get(1).copied());
            let always = match cx.known(outs[0]) {
                Some(Known::Tensor(t)) => t.to_bools() == [true],
                _ => Some(outs[0]) == cond_arg,
            };
            return Ok((region, always));
        }
    }
    Err("the carried values' types do not settle".into())
}

/// The body with a `Squeeze` appended to its condition output, so that a
/// `[1]`-shaped condition becomes the scalar `tg.loop` expects.
fn scalar_condition(graph: &GraphProto, node_name: &str) -> Result<GraphProto, String> {
    let mut g = graph.clone();
    let out = g
        .output
        .first_mut()
        .ok_or("the body has no outputs (the condition is required)")?;
    let scalar = format!("{}::tessera_scalar_cond", out.name);
    g.node.push(NodeProto {
        input: vec![out.name.clone()],
        output: vec![scalar.clone()],
        name: format!("{node_name}/cond"),
        op_type: "Squeeze".into(),
        ..Default::default()
    });
    out.name = scalar;
    Ok(g)
}

/// Whether `v` is known to be true.
fn known_true(cx: &NodeCx, v: ValueId) -> bool {
    matches!(cx.known(v), Some(Known::Tensor(t)) if t.to_bools() == [true])
}

/// Loop: absent trip count is `i64::MAX`, absent condition true. When the
/// trip count is a constant and the condition provably stays true, the
/// scan outputs get that static length; when the trip count is computed
/// from graph inputs, those are noted for specialisation
/// ([`super::cx::Importer::shaping`]).
fn loop_(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let trips = match cx.opt_input(0)? {
        Some(m) => to_scalar(cx, m, "input #0 (M)")?,
        None => i64_scalar(cx, i64::MAX)?,
    };
    let (cond, cond_given) = match cx.opt_input(1)? {
        Some(c) => (to_scalar(cx, c, "input #1 (cond)")?, true),
        None => (cx.scalar(DType::I1, 1.0)?, false),
    };
    let carried = (2..cx.node.input.len())
        .map(|i| cx.input(i))
        .collect::<Result<Vec<_>, _>>()?;
    let body = scalar_condition(graph_attr(cx, "body")?, &cx.node.name)?;
    let (region, always) = match loop_body(cx, &body, &carried) {
        Ok(imported) => imported,
        Err(e) => {
            return unroll(cx, &body, cond, &carried)
                .map_err(|why| format!("{e}; nor can the loop be unrolled: {why}"))
        }
    };
    let count = match cx.known(trips) {
        Some(Known::Tensor(t)) if cx.opt_input(0)?.is_some() => t.to_i64s().first().copied(),
        _ => None,
    };
    // A trip count and condition known at import time (a specialised
    // input's arithmetic) enter the loop as constants, so that later passes
    // see them (canonicalize then gives the scan outputs their length).
    let trips = match count {
        Some(n) => i64_scalar(cx, n)?,
        None => trips,
    };
    let cond = if cond_given && known_true(cx, cond) { cx.scalar(DType::I1, 1.0)? } else { cond };
    let mut operands = vec![trips, cond];
    operands.extend(&carried);
    let mut results = cx.ops_with_regions(&LOOP, &operands, Attrs::new(), vec![region])?;
    match count.filter(|&n| n >= 0 && always && (!cond_given || known_true(cx, cond))) {
        Some(n) => {
            for r in &mut results[carried.len()..] {
                let mut dims = cx.dims(*r)?;
                dims[0] = Dim::Known(n as u64);
                *r = reshape_to(cx, *r, &dims)?;
            }
        }
        None if results.len() > carried.len() && always => {
            // The scan outputs' length is the trip count: ask for the graph
            // inputs it is computed from (Range's expansion: start, limit,
            // delta) to be specialised, so that the length is static.
            let mut sources = value_sources(cx, trips);
            if cond_given {
                sources.extend(value_sources(cx, cond));
            }
            cx.imp.shaping.borrow_mut().extend(sources);
        }
        None => {}
    }
    Ok(results)
}

/// Loops that would run more iterations than this are not unrolled.
const MAX_UNROLL: i64 = 256;

/// Whether `v` is a known boolean, and which.
fn known_bool(cx: &NodeCx, v: ValueId) -> Option<bool> {
    match cx.known(v) {
        Some(Known::Tensor(t)) => t.to_bools().first().copied(),
        _ => None,
    }
}

/// Loop whose body cannot be a region (it needs the iteration number as a
/// constant, e.g. as Slice bounds): the body imported inline once per
/// iteration, with the iteration number a constant; the scan outputs are
/// the iterations' values stacked. Needs the trip count (when given) and
/// every iteration's condition known at import time, and at most
/// [`MAX_UNROLL`] iterations; a trip count or condition that is a graph
/// input is noted so that the caller may specialise on it.
fn unroll(
    cx: &mut NodeCx,
    body: &GraphProto,
    cond: ValueId,
    carried: &[ValueId],
) -> Result<Vec<ValueId>, String> {
    // Asking for the trip count and the first condition as constants notes
    // the graph inputs among them for specialisation.
    let trips = match cx.opt_input(0)? {
        None => i64::MAX,
        Some(_) => match cx.const_ints(0)?.as_slice() {
            &[n] => n,
            other => return Err(format!("the trip count {other:?} must hold one value")),
        },
    };
    if cx.opt_input(1)?.is_some() {
        cx.const_tensor(1)?;
    }
    let names: Vec<&str> = body.input.iter().map(|i| i.name.as_str()).collect();
    if names.len() != carried.len() + 2 {
        return Err(format!(
            "the body takes {} input(s), expected {}",
            names.len(),
            carried.len() + 2
        ));
    }
    let inline_body = GraphProto {
        input: Vec::new(),
        ..body.clone()
    };
    let (mut cond, mut state, mut scans) = (cond, carried.to_vec(), Vec::new());
    let mut i = 0;
    while i < trips {
        match known_bool(cx, cond) {
            Some(true) => {}
            Some(false) => break,
            None => {
                return Err(format!(
                    "the condition before iteration {i} is not known at import time"
                ))
            }
        }
        if i == MAX_UNROLL {
            return Err(format!("it runs more than {MAX_UNROLL} iterations"));
        }
        let args = [i64_scalar(cx, i)?, cond]
            .into_iter()
            .chain(state.iter().copied());
        cx.imp
            .scopes
            .push(names.iter().map(|n| n.to_string()).zip(args).collect());
        let outs = inline(cx, &inline_body);
        cx.imp.scopes.pop();
        let outs = outs?;
        if outs.len() < carried.len() + 1 {
            return Err(format!(
                "the body yields {} value(s), expected at least {}",
                outs.len(),
                carried.len() + 1
            ));
        }
        cond = outs[0];
        state = outs[1..=carried.len()].to_vec();
        scans.push(outs[carried.len() + 1..].to_vec());
        i += 1;
    }
    let scan_count = body.output.len().saturating_sub(carried.len() + 1);
    if scan_count > 0 && scans.is_empty() {
        return Err("it runs no iteration, so its scan outputs' shapes are unknown".into());
    }
    for k in 0..scan_count {
        let parts = scans
            .iter()
            .map(|row| {
                let mut dims = cx.dims(row[k])?;
                dims.insert(0, Dim::Known(1));
                reshape_to(cx, row[k], &dims)
            })
            .collect::<Result<Vec<_>, String>>()?;
        state.push(match parts.as_slice() {
            [one] => *one,
            _ => cx.op(&CONCAT, &parts, Attrs::from([("axis", Attr::Int(0))]))?,
        });
    }
    Ok(state)
}

/// A graph input or output known by name only (types come from the region).
fn named(name: &str) -> ValueInfoProto {
    ValueInfoProto {
        name: name.to_string(),
        ..Default::default()
    }
}

/// An int attribute.
fn int_attr(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        i,
        r#type: AttributeType::Int as i32,
        ..Default::default()
    }
}

/// Per-input or per-output attribute list `name` (default all 0) of `n` entries.
fn per_item(cx: &NodeCx, name: &str, n: usize) -> Result<Vec<i64>, String> {
    let v = cx.attr_ints(name).unwrap_or_else(|| vec![0; n]);
    if v.len() != n {
        return Err(format!(
            "attribute '{name}' has {} entries, expected {n}",
            v.len()
        ));
    }
    Ok(v)
}

/// The per-input and per-output settings of one Scan.
struct ScanSpec<'a> {
    body: &'a GraphProto,
    in_axes: Vec<i64>,
    in_dirs: Vec<i64>,
    out_axes: Vec<i64>,
    out_dirs: Vec<i64>,
}

/// Scan (opset 9+) as a `tg.loop` over the sequence (see the module docs);
/// opset 8 (a leading batch axis on every input and output) as one such
/// loop per batch element, stacked.
fn scan(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let body = graph_attr(cx, "body")?;
    let first = usize::from(cx.opset < 9);
    let inputs = (first..cx.node.input.len()).map(|i| cx.input(i)).collect::<Result<Vec<_>, _>>()?;
    let m = usize::try_from(cx.attr_int("num_scan_inputs", -1))
        .ok()
        .filter(|&m| m >= 1 && m <= inputs.len())
        .ok_or("attribute 'num_scan_inputs' must be between 1 and the number of inputs")?;
    let n = inputs.len() - m;
    let k = body.output.len().checked_sub(n).ok_or("the body yields fewer values than there are states")?;
    if body.input.len() != n + m {
        return Err(format!("the body takes {} input(s), expected {n} states and {m} scan elements", body.input.len()));
    }
    let tag = cx.node.output.first().cloned().unwrap_or_default();
    if cx.opset >= 9 {
        let spec = ScanSpec {
            body,
            in_axes: per_item(cx, "scan_input_axes", m)?,
            in_dirs: per_item(cx, "scan_input_directions", m)?,
            out_axes: per_item(cx, "scan_output_axes", k)?,
            out_dirs: per_item(cx, "scan_output_directions", k)?,
        };
        return scan_loop(cx, &spec, &inputs[..n], &inputs[n..], &tag);
    }
    let spec =
        ScanSpec { body, in_axes: vec![0; m], in_dirs: per_item(cx, "directions", m)?, out_axes: vec![0; k], out_dirs: vec![0; k] };
    let batch = cx.dims(inputs[0])?.first().and_then(Dim::known).ok_or("Scan-8 needs a static batch size (axis 0)")?;
    if cx.opt_input(0)?.is_some() {
        let full = cx.dims(inputs[n])?.get(1).and_then(Dim::known);
        let lens = cx.const_ints(0)?;
        if full.is_none_or(|l| lens.iter().any(|&s| s != l as i64)) {
            return Err("input #0 (sequence_lens) must be constant and equal to the full sequence length".into());
        }
    }
    let mut per_batch = Vec::with_capacity(batch as usize);
    for b in 0..batch as i64 {
        let mut row = Vec::with_capacity(inputs.len());
        for &x in &inputs {
            let picked = i64_scalar(cx, b)?;
            row.push(cx.op(&GATHER, &[x, picked], Attrs::from([("axis", Attr::Int(0))]))?);
        }
        per_batch.push(scan_loop(cx, &spec, &row[..n], &row[n..], &format!("{tag}::b{b}"))?);
    }
    let outputs = per_batch.first().map_or(0, Vec::len);
    (0..outputs)
        .map(|j| {
            let parts = per_batch
                .iter()
                .map(|row| {
                    let mut dims = cx.dims(row[j])?;
                    dims.insert(0, Dim::Known(1));
                    reshape_to(cx, row[j], &dims)
                })
                .collect::<Result<Vec<_>, String>>()?;
            match parts.as_slice() {
                [one] => Ok(*one),
                _ => cx.op(&CONCAT, &parts, Attrs::from([("axis", Attr::Int(0))])),
            }
        })
        .collect()
}

/// One Scan over `states` and `scans` (opset 9 semantics) as a `tg.loop`;
/// `tag` makes the names bound for it unique.
fn scan_loop(cx: &mut NodeCx, spec: &ScanSpec, states: &[ValueId], scans: &[ValueId], tag: &str) -> Result<Vec<ValueId>, String> {
    let (n, body) = (states.len(), spec.body);
    let (iter, cond) = (format!("{tag}::tessera_scan_iter"), format!("{tag}::tessera_scan_cond"));
    let mut g = body.clone();
    g.input = [named(&iter), named(&cond)].into_iter().chain(body.input[..n].iter().cloned()).collect();
    g.output = std::iter::once(named(&cond)).chain(body.output.iter().cloned()).collect();
    let mut gathers = Vec::with_capacity(scans.len());
    let mut length = None;
    for (j, &x) in scans.iter().enumerate() {
        let axis = norm_axis(spec.in_axes[j], cx.rank(x)?, "attribute 'scan_input_axes'")?;
        let len = cx.dims(x)?[axis].clone();
        match &length {
            None => length = Some((len, x, axis)),
            Some((l, _, _)) if *l != len && !matches!(l, Dim::Unknown) && !matches!(len, Dim::Unknown) => {
                return Err(format!("scan input #{j} has {len} elements along its scan axis, the first one {l}"))
            }
            Some(_) => {}
        }
        let x = if spec.in_dirs[j] != 0 {
            cx.op(&REVERSE, &[x], Attrs::from([("axes", Attr::ints(&[axis as i64]))]))?
        } else {
            x
        };
        let outer = format!("{tag}::tessera_scan_input{j}");
        cx.imp.bind(&outer, x);
        gathers.push(NodeProto {
            input: vec![outer, iter.clone()],
            output: vec![body.input[n + j].name.clone()],
            name: format!("{}/scan_input{j}", cx.node.name),
            op_type: "Gather".into(),
            attribute: vec![int_attr("axis", axis as i64)],
            ..Default::default()
        });
    }
    gathers.extend(body.node.iter().cloned());
    g.node = gathers;
    let (len, first, axis) = length.ok_or("Scan needs at least one scan input")?;
    let trips = match len.known() {
        Some(l) => i64_scalar(cx, l as i64)?,
        None => {
            let shape = cx.op(&SHAPE_OF, &[first], Attrs::new())?;
            let at = i64_scalar(cx, axis as i64)?;
            cx.op(&GATHER, &[shape, at], Attrs::from([("axis", Attr::Int(0))]))?
        }
    };
    let always = cx.scalar(DType::I1, 1.0)?;
    let (region, _) = loop_body(cx, &g, states)?;
    let mut operands = vec![trips, always];
    operands.extend(states);
    let mut results = cx.ops_with_regions(&LOOP, &operands, Attrs::new(), vec![region])?;
    for (j, r) in results[n..].iter_mut().enumerate() {
        let mut dims = cx.dims(*r)?;
        dims[0] = len.clone();
        *r = reshape_to(cx, *r, &dims)?;
        if spec.out_dirs[j] != 0 {
            *r = cx.op(&REVERSE, &[*r], Attrs::from([("axes", Attr::ints(&[0]))]))?;
        }
        let rank = dims.len();
        let b = norm_axis(spec.out_axes[j], rank, "attribute 'scan_output_axes'")?;
        if b != 0 {
            // Result axis i is stacked axis i + 1 before b, the stacking axis at b.
            let perm: Vec<i64> = (0..rank as i64)
                .map(|i| match i.cmp(&(b as i64)) {
                    std::cmp::Ordering::Less => i + 1,
                    std::cmp::Ordering::Equal => 0,
                    std::cmp::Ordering::Greater => i,
                })
                .collect();
            *r = cx.op(&TRANSPOSE, &[*r], Attrs::from([("perm", Attr::ints(&perm))]))?;
        }
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::super::shape::testing::*;

    /// A Loop body: `y_out = y_in + 1` carried, `y_out` also scanned.
    fn counting_body() -> crate::onnx::proto::GraphProto {
        graph(
            vec![
                node("Identity", &["c_in"], &["c_out"], vec![]),
                node("Add", &["y_in", "one"], &["y_out"], vec![]),
                node("Identity", &["y_out"], &["scan"], vec![]),
            ],
            vec![named("i"), named("c_in"), named("y_in")],
            vec![],
            &["c_out", "y_out", "scan"],
        )
    }

    #[test]
    fn loop_with_constant_trip_count_has_static_scan_length() {
        let mut one = i64s("one", &[1], &[0]);
        one.data_type = FLOAT;
        one.int64_data.clear();
        one.float_data = vec![1.0];
        let g = graph(
            vec![node(
                "Loop",
                &["m", "", "y"],
                &["y_final", "ys"],
                vec![graph_attr("body", counting_body())],
            )],
            vec![value("y", FLOAT, &[1])],
            vec![i64s("m", &[], &[5]), one],
            &["y_final", "ys"],
        );
        let m = model_of(13, g);
        let text = ir(&m);
        assert!(text.contains("tg.loop"), "{text}");
        assert_eq!(result_types(&m), "(tensor<1xf32>, tensor<5x1xf32>)");
    }

    #[test]
    fn loop_slicing_at_the_iteration_number_is_unrolled() {
        let body = graph(
            vec![
                node("Identity", &["c_in"], &["c_out"], vec![]),
                node("Add", &["i", "one"], &["end"], vec![]),
                node("Unsqueeze", &["i"], &["start1"], vec![ints("axes", &[0])]),
                node("Unsqueeze", &["end"], &["end1"], vec![ints("axes", &[0])]),
                node("Slice", &["xs", "start1", "end1"], &["piece"], vec![]),
                node("Add", &["y_in", "piece"], &["y_out"], vec![]),
                node("Identity", &["y_out"], &["scan"], vec![]),
            ],
            vec![named("i"), named("c_in"), named("y_in")],
            vec![],
            &["c_out", "y_out", "scan"],
        );
        let loop_node = || {
            node(
                "Loop",
                &["m", "", "y"],
                &["y_final", "ys"],
                vec![graph_attr("body", body.clone())],
            )
        };
        let g = graph(
            vec![loop_node()],
            vec![value("y", FLOAT, &[1]), value("xs", FLOAT, &[5])],
            vec![i64s("m", &[], &[3]), i64s("one", &[], &[1])],
            &["y_final", "ys"],
        );
        let m = model_of(11, g);
        let text = ir(&m);
        assert!(
            !text.contains("tg.loop") && text.matches("tg.slice").count() == 3,
            "{text}"
        );
        assert!(text.contains("tg.concat"), "{text}");
        assert_eq!(result_types(&m), "(tensor<1xf32>, tensor<3x1xf32>)");
        let g = graph(
            vec![loop_node()],
            vec![
                value("m", INT64, &[]),
                value("y", FLOAT, &[1]),
                value("xs", FLOAT, &[5]),
            ],
            vec![i64s("one", &[], &[1])],
            &["y_final", "ys"],
        );
        let err = error(&model_of(11, g));
        assert!(
            err.contains(
                "nor can the loop be unrolled: input #0 ('m') must be a constant integer tensor"
            ),
            "{err}"
        );
    }

    #[test]
    fn loop_widens_a_growing_carried_value() {
        let body = graph(
            vec![
                node("Identity", &["c_in"], &["c_out"], vec![]),
                node(
                    "Concat",
                    &["acc_in", "acc_in"],
                    &["acc_out"],
                    vec![int("axis", 0)],
                ),
            ],
            vec![named("i"), named("c_in"), named("acc_in")],
            vec![],
            &["c_out", "acc_out"],
        );
        let g = graph(
            vec![node(
                "Loop",
                &["m", "c", "x"],
                &["y"],
                vec![graph_attr("body", body)],
            )],
            vec![
                value("m", INT64, &[]),
                value("c", BOOL, &[]),
                value("x", FLOAT, &[2, 3]),
            ],
            vec![],
            &["y"],
        );
        assert_eq!(result_types(&model_of(11, g)), "tensor<?x3xf32>");
    }

    #[test]
    fn if_on_a_known_condition_is_inlined() {
        let branch = |v: &str| {
            graph(
                vec![node("Identity", &[v], &["out"], vec![])],
                vec![],
                vec![],
                &["out"],
            )
        };
        let mut t = i64s("cond", &[], &[1]);
        t.data_type = BOOL;
        t.int64_data.clear();
        t.int32_data = vec![1];
        let attrs = || {
            vec![
                graph_attr("then_branch", branch("a")),
                graph_attr("else_branch", branch("b")),
            ]
        };
        let g = graph(
            vec![node("If", &["cond"], &["y"], attrs())],
            vec![value("a", FLOAT, &[2]), value("b", FLOAT, &[3])],
            vec![t],
            &["y"],
        );
        let m = model_of(13, g);
        assert!(!ir(&m).contains("tg.if"), "{}", ir(&m));
        assert_eq!(result_types(&m), "tensor<2xf32>");
        let g = graph(
            vec![node("If", &["c"], &["y"], attrs())],
            vec![
                value("c", BOOL, &[1]),
                value("a", FLOAT, &[2]),
                value("b", FLOAT, &[3]),
            ],
            vec![],
            &["y"],
        );
        let m = model_of(13, g);
        assert!(ir(&m).contains("tg.if"));
        assert_eq!(result_types(&m), "tensor<?xf32>");
    }

    #[test]
    fn scan_runs_a_loop_over_the_sequence() {
        let body = graph(
            vec![
                node("Add", &["s_in", "x"], &["s_out"], vec![]),
                node("Identity", &["s_out"], &["y"], vec![]),
            ],
            vec![named("s_in"), named("x")],
            vec![],
            &["s_out", "y"],
        );
        let g = graph(
            vec![node(
                "Scan",
                &["init", "xs"],
                &["final", "ys"],
                vec![
                    graph_attr("body", body),
                    int("num_scan_inputs", 1),
                    ints("scan_input_axes", &[1]),
                    ints("scan_input_directions", &[1]),
                    ints("scan_output_axes", &[1]),
                ],
            )],
            vec![value("init", FLOAT, &[2]), value("xs", FLOAT, &[2, -1])],
            vec![],
            &["final", "ys"],
        );
        let m = model_of(11, g);
        let text = ir(&m);
        assert!(
            text.contains("tg.loop") && text.contains("tg.reverse") && text.contains("tg.shape_of"),
            "{text}"
        );
        assert_eq!(result_types(&m), "(tensor<2xf32>, tensor<2 x N x f32>)");
    }

    #[test]
    fn scan_8_runs_one_loop_per_batch_element() {
        let body = graph(
            vec![node("Add", &["s_in", "x"], &["s_out"], vec![]), node("Identity", &["s_out"], &["y"], vec![])],
            vec![named("s_in"), named("x")],
            vec![],
            &["s_out", "y"],
        );
        let g = graph(
            vec![node("Scan", &["", "init", "xs"], &["final", "ys"], vec![graph_attr("body", body), int("num_scan_inputs", 1)])],
            vec![value("init", FLOAT, &[2, 3]), value("xs", FLOAT, &[2, 5, 3])],
            vec![],
            &["final", "ys"],
        );
        let m = model_of(8, g);
        assert_eq!(ir(&m).matches("tg.loop").count(), 2);
        assert_eq!(result_types(&m), "(tensor<2x3xf32>, tensor<2x5x3xf32>)");
    }
}
