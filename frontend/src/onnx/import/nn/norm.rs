//! Neural-network converters for the normalisations — batch, instance,
//! layer, group, RMS, Lp, LRN and MVN, as reductions and elementwise
//! arithmetic — and for Dropout, the identity at inference.

use super::super::cx::NodeCx;
use super::super::elementwise::{binary, cast_to, scalar_like, select, unary};
use super::super::shape::reshape_to as reshape;
use super::{abs_pow, channel_view, image_input, mean_over, reduce_over, root, wants_output};
use tessera_ir::dialect::graph::window::REDUCE_WINDOW;
use tessera_ir::dialect::graph::{elementwise, mode, reduce, shape};
use tessera_ir::infer::normalize_axis;
use tessera_ir::{Attr, Attrs, DType, Dim, ValueId};

/// The dtype a normalisation computes in: f32 for f16/bf16 inputs when
/// `stash_type` is 1 (FLOAT), else the input's own dtype.
fn stash_dtype(cx: &NodeCx, x_dtype: DType) -> DType {
    if cx.attr_int("stash_type", 1) == 1 && matches!(x_dtype, DType::F16 | DType::BF16) {
        DType::F32
    } else {
        x_dtype
    }
}

/// `(x - mean) / sqrt(var + eps)` over `axes` (population variance), with
/// the mean and `1 / sqrt(var + eps)` (both with size-1 reduced axes).
fn standardize(cx: &mut NodeCx, x: ValueId, axes: &[usize], eps: f64) -> Result<(ValueId, ValueId, ValueId), String> {
    let mean = mean_over(cx, x, axes)?;
    let centered = binary(cx, &elementwise::SUB, x, mean)?;
    let squared = binary(cx, &elementwise::MUL, centered, centered)?;
    let var = mean_over(cx, squared, axes)?;
    let eps = scalar_like(cx, x, eps)?;
    let var_eps = binary(cx, &elementwise::ADD, var, eps)?;
    let inv_std = unary(cx, &elementwise::RSQRT, var_eps)?;
    let normalized = binary(cx, &elementwise::MUL, centered, inv_std)?;
    Ok((normalized, mean, inv_std))
}

/// A per-channel BatchNormalization statistic or parameter viewed against
/// an input of `rank`: `[C]` as `[1, C, 1, ...]`; the per-activation form of
/// `spatial = 0` (opsets < 9, shape `[C, D1, ...]`) as `[1, C, D1, ...]`.
fn bn_view(cx: &mut NodeCx, v: ValueId, rank: usize) -> Result<ValueId, String> {
    let dims = cx.dims(v)?;
    if dims.len() <= 1 {
        return channel_view(cx, v, rank);
    }
    let mut view = vec![Dim::Known(1)];
    view.extend(dims);
    reshape(cx, v, &view)
}

/// The statistics BatchNormalization normalises `x` with, marked for
/// training: `tg.batch_stats` over every axis but the channels (but the
/// batch axis alone for per-activation statistics, `[C, D1, ...]`).
fn batch_stats(cx: &mut NodeCx, x: ValueId, mean: ValueId, var: ValueId) -> Result<(ValueId, ValueId), String> {
    let rank = cx.rank(x)?;
    let axes: Vec<i64> = match cx.rank(mean)? {
        0 | 1 => (0..rank as i64).filter(|&a| a != 1).collect(),
        _ => vec![0],
    };
    let momentum = f64::from(cx.attr_float("momentum", 0.9));
    let attrs = Attrs::from([("axes", Attr::ints(&axes)), ("momentum", Attr::Float(momentum))]);
    match cx.ops(&mode::BATCH_STATS, &[x, mean, var], attrs)?[..] {
        [m, v] => Ok((m, v)),
        _ => Err("tg.batch_stats must give two results".into()),
    }
}

/// BatchNormalization (opsets 1, 6, 7, 9, 14, 15). Inference:
/// `scale * (x - mean) / sqrt(var + epsilon) + bias`. With `training_mode`
/// = 1 (opset 14+), the batch's own mean and (population) variance
/// normalise, and the running statistics come out updated by `momentum`.
/// Imported for training ([`NodeCx::imp`]`.training`), an inference-mode
/// node takes its statistics from `tg.batch_stats`.
pub(super) fn batch_normalization(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let rank = cx.rank(x)?;
    if rank < 2 {
        return Err(format!("input #0 {} must have rank 2 or more (batch, channels, ...)", cx.ty(x)?));
    }
    let [scale, bias, mean, var] = [cx.input(1)?, cx.input(2)?, cx.input(3)?, cx.input(4)?];
    let eps = f64::from(cx.attr_float("epsilon", 1e-5));
    let training = cx.opset >= 14 && cx.attr_int("training_mode", 0) != 0;
    let scale_v = bn_view(cx, scale, rank)?;
    let bias_v = bn_view(cx, bias, rank)?;
    if training {
        let axes: Vec<usize> = (0..rank).filter(|&a| a != 1).collect();
        let (normalized, batch_mean, inv_std) = standardize(cx, x, &axes, eps)?;
        let scaled = binary(cx, &elementwise::MUL, normalized, scale_v)?;
        let y = binary(cx, &elementwise::ADD, scaled, bias_v)?;
        // Population variance back from 1 / sqrt(var + eps).
        let inv_var = binary(cx, &elementwise::MUL, inv_std, inv_std)?;
        let var_eps = unary(cx, &elementwise::RECIPROCAL, inv_var)?;
        let eps_c = scalar_like(cx, x, eps)?;
        let batch_var = binary(cx, &elementwise::SUB, var_eps, eps_c)?;
        let momentum = f64::from(cx.attr_float("momentum", 0.9));
        let channels = cx.dims(mean)?;
        let mut running = vec![y];
        for (old, batch) in [(mean, batch_mean), (var, batch_var)] {
            let batch = reshape(cx, batch, &channels)?;
            let keep = scalar_like(cx, x, momentum)?;
            let take = scalar_like(cx, x, 1.0 - momentum)?;
            let kept = binary(cx, &elementwise::MUL, old, keep)?;
            let taken = binary(cx, &elementwise::MUL, batch, take)?;
            running.push(binary(cx, &elementwise::ADD, kept, taken)?);
        }
        return Ok(running);
    }
    if cx.opset < 14 && (1..5).any(|i| wants_output(cx, i)) {
        return Err("the training outputs (mean, var, saved mean, saved var) before opset 14 are not supported".into());
    }
    let (mean, var) = if cx.imp.training { batch_stats(cx, x, mean, var)? } else { (mean, var) };
    let eps_c = scalar_like(cx, var, eps)?;
    let var_eps = binary(cx, &elementwise::ADD, var, eps_c)?;
    let inv_std = unary(cx, &elementwise::RSQRT, var_eps)?;
    let factor = binary(cx, &elementwise::MUL, scale, inv_std)?;
    let factor_v = bn_view(cx, factor, rank)?;
    let mean_v = bn_view(cx, mean, rank)?;
    let centered = binary(cx, &elementwise::SUB, x, mean_v)?;
    let scaled = binary(cx, &elementwise::MUL, centered, factor_v)?;
    Ok(vec![binary(cx, &elementwise::ADD, scaled, bias_v)?])
}

/// InstanceNormalization (opsets 1, 6, 22): each (image, channel) plane
/// standardised over its spatial axes, then scaled and shifted per channel.
pub(super) fn instance_normalization(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (x, xt, _) = image_input(cx)?;
    let (scale, bias) = (cx.input(1)?, cx.input(2)?);
    let eps = f64::from(cx.attr_float("epsilon", 1e-5));
    let axes: Vec<usize> = (2..xt.rank()).collect();
    let (normalized, _, _) = standardize(cx, x, &axes, eps)?;
    let scale_v = channel_view(cx, scale, xt.rank())?;
    let bias_v = channel_view(cx, bias, xt.rank())?;
    let scaled = binary(cx, &elementwise::MUL, normalized, scale_v)?;
    Ok(vec![binary(cx, &elementwise::ADD, scaled, bias_v)?])
}

/// The axes from attribute `axis` (default -1) to the last, for an input of `rank`.
fn trailing_axes(cx: &NodeCx, rank: usize) -> Result<Vec<usize>, String> {
    let axis = cx.attr_int("axis", -1);
    let axis = normalize_axis(axis, rank).map_err(|e| format!("attribute 'axis': {e}"))?;
    Ok((axis..rank).collect())
}

/// LayerNormalization (opset 17): standardised over the axes from `axis`
/// on (in f32 for f16/bf16 inputs when `stash_type` = 1), then scaled and
/// optionally shifted. Outputs Y, Mean and InvStdDev (the last two in the
/// computation dtype, with the normalised axes kept as size 1).
pub(super) fn layer_normalization(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let xt = cx.ty(x)?;
    let axes = trailing_axes(cx, xt.rank())?;
    let eps = f64::from(cx.attr_float("epsilon", 1e-5));
    let compute = stash_dtype(cx, xt.dtype);
    let xc = cast_to(cx, x, compute)?;
    let (normalized, mean, inv_std) = standardize(cx, xc, &axes, eps)?;
    let normalized = cast_to(cx, normalized, xt.dtype)?;
    let scale = cx.input(1)?;
    let mut y = binary(cx, &elementwise::MUL, normalized, scale)?;
    if let Some(b) = cx.opt_input(2)? {
        y = binary(cx, &elementwise::ADD, y, b)?;
    }
    Ok(vec![y, mean, inv_std])
}

/// RMSNormalization (opset 23): `x / sqrt(mean(x^2) + epsilon) * scale`
/// over the axes from `axis` on (in f32 for f16/bf16 when `stash_type` = 1).
pub(super) fn rms_normalization(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let xt = cx.ty(x)?;
    let axes = trailing_axes(cx, xt.rank())?;
    let eps = f64::from(cx.attr_float("epsilon", 1e-5));
    let compute = stash_dtype(cx, xt.dtype);
    let xc = cast_to(cx, x, compute)?;
    let squared = binary(cx, &elementwise::MUL, xc, xc)?;
    let mean_square = mean_over(cx, squared, &axes)?;
    let eps = scalar_like(cx, xc, eps)?;
    let shifted = binary(cx, &elementwise::ADD, mean_square, eps)?;
    let inv_rms = unary(cx, &elementwise::RSQRT, shifted)?;
    let normalized = binary(cx, &elementwise::MUL, xc, inv_rms)?;
    let normalized = cast_to(cx, normalized, xt.dtype)?;
    let scale = cx.input(1)?;
    Ok(vec![binary(cx, &elementwise::MUL, normalized, scale)?])
}

/// GroupNormalization (opsets 18, 21): channels split into `num_groups`
/// groups, each (image, group) standardised over its channels and spatial
/// axes, then scaled and shifted. Opset 18 takes one scale and bias per
/// group, opset 21 one per channel; the parameters' static length decides
/// when the two differ from what the opset says.
pub(super) fn group_normalization(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (x, xt, spatial) = image_input(cx)?;
    let groups = cx.attr_int("num_groups", 0);
    if groups < 1 {
        return Err(format!("attribute 'num_groups' = {groups} must be positive (and is required)"));
    }
    let groups_u = groups as u64;
    let channels = xt.dims[1].known().ok_or_else(|| format!("input #0 {xt} needs a static channel count"))?;
    if channels % groups_u != 0 {
        return Err(format!("{channels} channels do not split into {groups} groups"));
    }
    let eps = f64::from(cx.attr_float("epsilon", 1e-5));
    let (scale, bias) = (cx.input(1)?, cx.input(2)?);
    let param_len = cx.dims(scale)?.first().and_then(Dim::known);
    let per_group = match param_len {
        Some(len) if len == groups_u && len != channels => true,
        Some(len) if len == channels && len != groups_u => false,
        _ => cx.opset < 21,
    };
    let compute = stash_dtype(cx, xt.dtype);
    let xc = cast_to(cx, x, compute)?;
    let mut grouped_dims = vec![xt.dims[0].clone(), Dim::Known(groups_u), Dim::Known(channels / groups_u)];
    grouped_dims.extend(spatial.iter().cloned());
    let grouped = reshape(cx, xc, &grouped_dims)?;
    let axes: Vec<usize> = (2..grouped_dims.len()).collect();
    let (normalized, _, _) = standardize(cx, grouped, &axes, eps)?;
    let normalized = cast_to(cx, normalized, xt.dtype)?;
    let y = if per_group {
        let scale_v = channel_view(cx, scale, grouped_dims.len())?;
        let bias_v = channel_view(cx, bias, grouped_dims.len())?;
        let scaled = binary(cx, &elementwise::MUL, normalized, scale_v)?;
        let shifted = binary(cx, &elementwise::ADD, scaled, bias_v)?;
        reshape(cx, shifted, &xt.dims)?
    } else {
        let back = reshape(cx, normalized, &xt.dims)?;
        let scale_v = channel_view(cx, scale, xt.rank())?;
        let bias_v = channel_view(cx, bias, xt.rank())?;
        let scaled = binary(cx, &elementwise::MUL, back, scale_v)?;
        binary(cx, &elementwise::ADD, scaled, bias_v)?
    };
    Ok(vec![y])
}

/// LpNormalization (opsets 1, 22): `x / ||x||_p` along `axis` (p = 1 or 2),
/// 0 where the norm is 0.
pub(super) fn lp_normalization(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let rank = cx.rank(x)?;
    let axis = normalize_axis(cx.attr_int("axis", -1), rank).map_err(|e| format!("attribute 'axis': {e}"))?;
    let p = cx.attr_int("p", 2);
    if p != 1 && p != 2 {
        return Err(format!("attribute 'p' = {p} must be 1 or 2"));
    }
    let powered = abs_pow(cx, x, p as f64)?;
    let sum = reduce_over(cx, &reduce::REDUCE_SUM, powered, &[axis], true)?;
    let norm = root(cx, sum, p as f64)?;
    let quotient = binary(cx, &elementwise::DIV, x, norm)?;
    let zero = scalar_like(cx, x, 0.0)?;
    let is_zero = binary(cx, &elementwise::EQ, norm, zero)?;
    Ok(vec![select(cx, is_zero, zero, quotient)?])
}

/// LRN (opsets 1, 13): `x / (bias + alpha / size * (sum of x^2 over a
/// window of `size` channels))^beta`, the window running from
/// `floor((size - 1) / 2)` channels before to `ceil((size - 1) / 2)` after.
pub(super) fn lrn(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (x, xt, _) = image_input(cx)?;
    let size = cx.attr_int("size", 0);
    if size < 1 {
        return Err(format!("attribute 'size' = {size} must be positive (and is required)"));
    }
    let alpha = f64::from(cx.attr_float("alpha", 1e-4));
    let beta = f64::from(cx.attr_float("beta", 0.75));
    let bias = f64::from(cx.attr_float("bias", 1.0));
    let rank = xt.rank();
    let mut window_sizes = vec![1; rank];
    window_sizes[1] = size;
    let (mut low, mut high) = (vec![0; rank], vec![0; rank]);
    low[1] = (size - 1) / 2;
    high[1] = size - 1 - low[1];
    let squared = binary(cx, &elementwise::MUL, x, x)?;
    let attrs = Attrs::from([
        ("kind", Attr::Str("sum".into())),
        ("window", Attr::ints(&window_sizes)),
        ("pad_low", Attr::ints(&low)),
        ("pad_high", Attr::ints(&high)),
    ]);
    let sum = cx.op(&REDUCE_WINDOW, &[squared], attrs)?;
    let coeff = scalar_like(cx, x, alpha / size as f64)?;
    let scaled = binary(cx, &elementwise::MUL, sum, coeff)?;
    let bias = scalar_like(cx, x, bias)?;
    let base = binary(cx, &elementwise::ADD, scaled, bias)?;
    let beta = scalar_like(cx, x, beta)?;
    let denom = binary(cx, &elementwise::POW, base, beta)?;
    Ok(vec![binary(cx, &elementwise::DIV, x, denom)?])
}

/// MeanVarianceNormalization (opsets 1, 9, 13): `(x - E[x]) / (sqrt(E[x^2] - E[x]^2) + 1e-9)`
/// over `axes` (default `[0, 2, 3]`), as in the operator's function body.
pub(super) fn mean_variance_normalization(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    let rank = cx.rank(x)?;
    let axes = cx.attr_ints("axes").unwrap_or_else(|| vec![0, 2, 3]);
    let mut norm = Vec::with_capacity(axes.len());
    for &a in &axes {
        norm.push(normalize_axis(a, rank).map_err(|e| format!("attribute 'axes' = {axes:?}: {e}"))?);
    }
    let mean = mean_over(cx, x, &norm)?;
    let squared = binary(cx, &elementwise::MUL, x, x)?;
    let mean_square = mean_over(cx, squared, &norm)?;
    let square_mean = binary(cx, &elementwise::MUL, mean, mean)?;
    let var = binary(cx, &elementwise::SUB, mean_square, square_mean)?;
    let std = unary(cx, &elementwise::SQRT, var)?;
    let eps = scalar_like(cx, x, 1e-9)?;
    let denom = binary(cx, &elementwise::ADD, std, eps)?;
    let centered = binary(cx, &elementwise::SUB, x, mean)?;
    Ok(vec![binary(cx, &elementwise::DIV, centered, denom)?])
}

/// Dropout (opsets 1, 6, 7, 10, 12, 13, 22) at inference: the identity,
/// with an all-true mask (bool from opset 10; the input's dtype before).
/// Training mode (input #2, opset 12+) is only accepted with a ratio of 0,
/// where it is the identity too. Imported for training, a node with a
/// non-zero ratio becomes `tg.dropout` (without its mask output).
pub(super) fn dropout(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let x = cx.input(0)?;
    if cx.opset >= 12 && cx.opt_input(2)?.is_some() {
        let training =
            cx.const_tensor(2).map_err(|e| format!("{e} (a random training-mode Dropout is not supported)"))?;
        if training.to_bools().first().copied().unwrap_or(false) {
            let ratio = dropout_ratio(cx)?;
            if ratio != 0.0 {
                return Err(format!("training-mode Dropout with ratio {ratio} is random and not supported"));
            }
        }
    }
    if cx.imp.training {
        let ratio = dropout_ratio(cx)?;
        if ratio != 0.0 {
            if wants_output(cx, 1) {
                return Err("the mask output of a Dropout that trains is not supported".into());
            }
            return Ok(vec![cx.op(&mode::DROPOUT, &[x], Attrs::from([("ratio", Attr::Float(ratio))]))?]);
        }
    }
    if !wants_output(cx, 1) {
        return Ok(vec![x]);
    }
    let xt = cx.ty(x)?;
    let mask_dtype = if cx.opset >= 10 { DType::I1 } else { xt.dtype };
    let one = cx.scalar(mask_dtype, 1.0)?;
    let mask = cx.op(&shape::BROADCAST_TO, &[one], Attrs::from([("shape", Attr::shape(&xt.dims))]))?;
    Ok(vec![x, mask])
}

/// Dropout's ratio: input #1 (a constant) from opset 12, else attribute
/// `ratio`; 0.5 by default.
fn dropout_ratio(cx: &NodeCx) -> Result<f64, String> {
    if cx.opset < 12 {
        return Ok(f64::from(cx.attr_float("ratio", 0.5)));
    }
    match cx.opt_input(1)? {
        Some(_) => Ok(cx.const_tensor(1)?.to_f64s().first().copied().unwrap_or(0.5)),
        None => Ok(0.5),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

    #[test]
    fn batch_normalization_inference_and_training() {
        let inputs: &[(&str, &[i64])] = &[("x", &[2, 3, 4]), ("s", &[3]), ("b", &[3]), ("m", &[3]), ("v", &[3])];
        let text = ir(&f32_model(15, "BatchNormalization", inputs, vec![float("epsilon", 1e-3)]));
        assert!(text.contains("tg.rsqrt") && !text.contains("tg.reduce_sum"), "{text}");
        let m = with_outputs(
            f32_model(15, "BatchNormalization", inputs, vec![int("training_mode", 1)]),
            &["y", "rm", "rv"],
        );
        let text = ir(&m);
        assert!(text.contains("tg.reduce_sum") && text.contains("axes = [0, 2]"), "{text}");
        assert!(text.contains("-> (tensor<2x3x4xf32>, tensor<3xf32>, tensor<3xf32>)"), "{text}");
    }

    #[test]
    fn imported_for_training_batch_norm_and_dropout_are_marked() {
        let marked = |m: &crate::onnx::proto::ModelProto| match crate::onnx::import::import_model_for_training(m) {
            Ok(imported) => tessera_ir::print::print_module(imported.module.module()),
            Err(d) => panic!("{:?}", d.0.iter().map(|d| &d.message).collect::<Vec<_>>()),
        };
        let inputs: &[(&str, &[i64])] = &[("x", &[2, 3, 4]), ("s", &[3]), ("b", &[3]), ("m", &[3]), ("v", &[3])];
        let bn = f32_model(15, "BatchNormalization", inputs, vec![float("momentum", 0.8)]);
        let text = marked(&bn);
        assert!(text.contains("tg.batch_stats %x, %m, %v {axes = [0, 2], momentum = 0.8"), "{text}");
        assert!(!ir(&bn).contains("tg.batch_stats"), "{}", ir(&bn));
        let dropout = f32_model(10, "Dropout", &[("x", &[2, 3])], vec![float("ratio", 0.25)]);
        assert!(marked(&dropout).contains("tg.dropout %x {ratio = 0.25}"), "{}", marked(&dropout));
        assert!(!ir(&dropout).contains("tg.dropout"), "{}", ir(&dropout));
        let with_mask = with_outputs(f32_model(13, "Dropout", &[("x", &[2, 3])], vec![]), &["y", "mask"]);
        let e = crate::onnx::import::import_model_for_training(&with_mask).err().map(|d| d.0[0].message.clone());
        assert!(e.is_some_and(|e| e.contains("mask output")));
    }

    #[test]
    fn layer_normalization_stashes_half_precision_in_f32() {
        let inputs = vec![value("x", 10, &[2, 8]), value("s", 10, &[8])];
        let m =
            with_outputs(model(17, "LayerNormalization", inputs, vec![], &["x", "s"], vec![]), &["y", "mean", "inv"]);
        let text = ir(&m);
        assert!(text.contains("tg.cast %x {to = f32}") && text.contains("{to = f16}"), "{text}");
        assert!(text.contains("-> (tensor<2x8xf16>, tensor<2x1xf32>, tensor<2x1xf32>)"), "{text}");
    }

    #[test]
    fn group_normalization_scale_per_group_or_per_channel() {
        let grouped = f32_model(
            18,
            "GroupNormalization",
            &[("x", &[-1, 4, 3]), ("s", &[2]), ("b", &[2])],
            vec![int("num_groups", 2)],
        );
        let text = ir(&grouped);
        assert!(text.contains("{shape = [N, 2, 2, 3]}") && text.contains("{shape = [1, 2, 1, 1]}"), "{text}");
        let channels = f32_model(
            21,
            "GroupNormalization",
            &[("x", &[-1, 4, 3]), ("s", &[4]), ("b", &[4])],
            vec![int("num_groups", 2)],
        );
        assert!(ir(&channels).contains("{shape = [1, 4, 1]}"), "{}", ir(&channels));
        assert_eq!(result_type(&channels), "tensor<N x 4 x 3 x f32>");
    }

    #[test]
    fn dropout_is_the_identity_with_a_true_mask() {
        let m = with_outputs(f32_model(13, "Dropout", &[("x", &[2, 3])], vec![]), &["y", "mask"]);
        let text = ir(&m);
        assert!(text.contains("tg.broadcast_to") && text.contains("-> (tensor<2x3xf32>, tensor<2x3xi1>)"), "{text}");
        let inputs = vec![value("x", FLOAT, &[2, 3]), value("r", FLOAT, &[]), value("t", BOOL, &[])];
        let m = model(13, "Dropout", inputs, vec![], &["x", "r", "t"], vec![]);
        assert!(error(&m).contains("random training-mode Dropout is not supported"), "{}", error(&m));
    }
}
