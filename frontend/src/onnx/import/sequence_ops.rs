//! ONNX converters: per-sequence rearrangements of a batch. ReverseSequence
//! (opset 10+) becomes one `tg.gather_elements` along the time axis and
//! TensorScatter (opset 24, a KV-cache update) one `tg.scatter` along the
//! sequence axis; in both the index tensor is computed in the graph from an
//! iota over the sequence positions and the per-batch lengths or write
//! offsets, so those may be run-time values.

use super::cx::NodeCx;
use super::elementwise::{binary, cast_to, select};
use super::registry::Convert;
use super::shape::{i64_scalar, iota_along, norm_axis, reshape_to};
use tessera_ir::dialect::graph::elementwise::{ADD, LT, MOD, SUB};
use tessera_ir::dialect::graph::index::{GATHER, GATHER_ELEMENTS, SCATTER};
use tessera_ir::dialect::graph::shape::{BROADCAST_TO, SHAPE_OF};
use tessera_ir::{Attr, Attrs, DType, Dim, ValueId};

/// The converters of this family, by ONNX operator name.
pub(super) const CONVERTERS: &[(&str, Convert)] =
    &[("ReverseSequence", reverse_sequence), ("TensorScatter", tensor_scatter)];

/// Input `i`, a rank-1 vector with one i64 entry per batch element, reshaped
/// to broadcast along `batch_axis` of a rank-`rank` tensor; `what` names it.
fn per_batch(cx: &mut NodeCx, i: usize, batch_axis: usize, rank: usize, what: &str) -> Result<ValueId, String> {
    let v = cx.input(i)?;
    let dims = cx.dims(v)?;
    let [n] = dims.as_slice() else {
        return Err(format!("{what} must have rank 1 (one entry per batch element), got {}", cx.ty(v)?));
    };
    let mut shape = vec![Dim::Known(1); rank];
    shape[batch_axis] = n.clone();
    let v = cast_to(cx, v, DType::I64)?;
    reshape_to(cx, v, &shape)
}

/// Size `axis` of `x` as a rank-0 i64 value: a constant when static,
/// `tg.shape_of` picked at `axis` otherwise.
fn dim_scalar(cx: &mut NodeCx, x: ValueId, axis: usize) -> Result<ValueId, String> {
    if let Some(n) = cx.dims(x)?.get(axis).and_then(Dim::known) {
        return i64_scalar(cx, n as i64);
    }
    let shape = cx.op(&SHAPE_OF, &[x], Attrs::new())?;
    let at = i64_scalar(cx, axis as i64)?;
    cx.op(&GATHER, &[shape, at], Attrs::from([("axis", Attr::Int(0))]))
}

/// `v` broadcast to `x`'s dims.
fn broadcast_like(cx: &mut NodeCx, v: ValueId, x: ValueId) -> Result<ValueId, String> {
    let dims = cx.dims(x)?;
    cx.op(&BROADCAST_TO, &[v], Attrs::from([("shape", Attr::shape(&dims))]))
}

/// The attribute `name` (0 or 1 in ONNX), checked.
fn axis_0_or_1(cx: &NodeCx, name: &str, default: i64) -> Result<usize, String> {
    match cx.attr_int(name, default) {
        0 => Ok(0),
        1 => Ok(1),
        a => Err(format!("attribute '{name}' = {a} must be 0 or 1")),
    }
}

/// ReverseSequence: along `time_axis`, the first `sequence_lens[b]`
/// elements of batch entry `b` (on `batch_axis`) are reversed and the rest
/// kept: `y = gather_elements(x, t < len ? len - 1 - t : t)` with `t` the
/// position on the time axis.
fn reverse_sequence(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let rank = cx.rank(x)?;
    if rank < 2 {
        return Err(format!("input #0 must have rank 2 or more, got {}", cx.ty(x)?));
    }
    let batch = axis_0_or_1(cx, "batch_axis", 1)?;
    let time = axis_0_or_1(cx, "time_axis", 0)?;
    if batch == time {
        return Err(format!("attributes 'batch_axis' and 'time_axis' are both {batch}; they must differ"));
    }
    let lens = per_batch(cx, 1, batch, rank, "input #1 (sequence_lens)")?;
    let time_len = cx.dims(x)?[time].clone();
    let t = iota_along(cx, &time_len, time, rank, DType::I64)?;
    let inside = binary(cx, &LT, t, lens)?;
    let one = i64_scalar(cx, 1)?;
    let last = binary(cx, &SUB, lens, one)?;
    let mirrored = binary(cx, &SUB, last, t)?;
    let from = select(cx, inside, mirrored, t)?;
    let from = broadcast_like(cx, from, x)?;
    Ok(vec![cx.op(&GATHER_ELEMENTS, &[x, from], Attrs::from([("axis", Attr::Int(time as i64))]))?])
}

/// TensorScatter: `update` (the cache's shape but for the sequence `axis`)
/// written into `past_cache` along `axis` from offset `write_indices[b]`
/// (0 when absent) of each batch entry `b`; mode `circular` wraps the
/// positions modulo the cache length, `linear` requires them in range.
fn tensor_scatter(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (past, update) = (cx.input(0)?, cx.input(1)?);
    let rank = cx.rank(past)?;
    if cx.rank(update)? != rank {
        return Err(format!("input #1 (update) {} must have the rank of the cache {}", cx.ty(update)?, cx.ty(past)?));
    }
    let axis = norm_axis(cx.attr_int("axis", -2), rank, "attribute 'axis'")?;
    if axis == 0 {
        return Err("attribute 'axis' must not be the batch axis 0".into());
    }
    let circular = match cx.attr_str("mode", "linear").as_str() {
        "linear" => false,
        "circular" => true,
        m => return Err(format!("attribute 'mode' = '{m}' must be linear or circular")),
    };
    let update_len = cx.dims(update)?[axis].clone();
    let mut to = iota_along(cx, &update_len, axis, rank, DType::I64)?;
    if cx.opt_input(2)?.is_some() {
        let offsets = per_batch(cx, 2, 0, rank, "input #2 (write_indices)")?;
        to = binary(cx, &ADD, to, offsets)?;
    }
    if circular {
        let cache_len = dim_scalar(cx, past, axis)?;
        to = binary(cx, &MOD, to, cache_len)?;
    }
    let to = broadcast_like(cx, to, update)?;
    Ok(vec![cx.op(&SCATTER, &[past, to, update], Attrs::from([("axis", Attr::Int(axis as i64))]))?])
}

#[cfg(test)]
mod tests {
    use super::super::elementwise::testing::*;

    #[test]
    fn reverse_sequence_gathers_along_the_time_axis() {
        let inputs = vec![value("x", FLOAT, &[4, -1, 3]), value("lens", INT64, &[-1])];
        let m = model(
            10,
            "ReverseSequence",
            inputs,
            vec![],
            &["x", "lens"],
            vec![int("batch_axis", 1), int("time_axis", 0)],
        );
        let text = ir(&m);
        assert!(text.contains("tg.reshape %lens {shape = [1, N, 1]}"), "{text}");
        assert!(text.contains("tg.gather_elements %x") && text.contains("{axis = 0}"), "{text}");
        assert_eq!(result_type(&m), "tensor<4 x N x 3 x f32>");
        let inputs = vec![value("x", FLOAT, &[4, 2]), value("lens", INT64, &[2])];
        let err = error(&model(10, "ReverseSequence", inputs, vec![], &["x", "lens"], vec![int("time_axis", 1)]));
        assert!(err.contains("'batch_axis' and 'time_axis' are both 1"), "{err}");
    }

    #[test]
    fn tensor_scatter_offsets_positions_per_batch() {
        let inputs =
            vec![value("past", FLOAT, &[2, 3, 8, 4]), value("u", FLOAT, &[2, 3, 2, 4]), value("w", INT64, &[2])];
        let m = model(24, "TensorScatter", inputs, vec![], &["past", "u", "w"], vec![string("mode", "circular")]);
        let text = ir(&m);
        assert!(text.contains("tg.reshape %w {shape = [2, 1, 1, 1]}") && text.contains("tg.mod"), "{text}");
        assert!(text.contains("tg.scatter %past") && text.contains("{axis = 2}"), "{text}");
        assert_eq!(result_type(&m), "tensor<2x3x8x4xf32>");
        let inputs = vec![value("past", FLOAT, &[2, 8, 4]), value("u", FLOAT, &[2, 1, 4])];
        let m = model(24, "TensorScatter", inputs, vec![], &["past", "u"], vec![int("axis", 1)]);
        let text = ir(&m);
        assert!(!text.contains("tg.add") && !text.contains("tg.mod"), "{text}");
        let inputs = vec![value("past", FLOAT, &[2, 8]), value("u", FLOAT, &[2, 1])];
        let err = error(&model(24, "TensorScatter", inputs, vec![], &["past", "u"], vec![int("axis", 0)]));
        assert!(err.contains("must not be the batch axis"), "{err}");
    }
}
