//! ONNX converters: the neural-network family — its table of converters,
//! the builders the rnn and attention families share (`transpose`, `slice`,
//! `concat`, `dot`, `wants_output`) and the steps its own files share.
//!
//! Convolutions ([`conv`]) become `tg.conv` (a transposed convolution is an
//! input-dilated one with a flipped, transposed kernel); pooling ([`pool`])
//! becomes `tg.reduce_window`, with average pooling a windowed sum divided
//! by a windowed count; both read their sliding [`window`] from the node's
//! attributes. The normalisations ([`norm`]: batch, instance, layer, group,
//! RMS, Lp, LRN, MVN) become reductions and elementwise arithmetic; Dropout
//! is the identity at inference.

mod conv;
mod norm;
mod pool;
#[cfg(test)]
mod testing;
mod window;

use super::cx::NodeCx;
use super::elementwise::{binary, scalar_like, unary};
use super::registry::Convert;
use super::shape::reshape_to as reshape;
use tessera_ir::dialect::graph::{elementwise, linalg, reduce, shape};
use tessera_ir::{Attr, Attrs, Dim, OpRef, TensorType, ValueId};

/// The converters of this family, by ONNX operator name.
pub(super) const CONVERTERS: &[(&str, Convert)] = &[
    ("Conv", conv::conv),
    ("ConvTranspose", conv::conv_transpose),
    ("CausalConvWithState", conv::causal_conv_with_state),
    ("MaxPool", pool::max_pool),
    ("AveragePool", pool::average_pool),
    ("LpPool", pool::lp_pool),
    ("GlobalAveragePool", pool::global_average_pool),
    ("GlobalMaxPool", pool::global_max_pool),
    ("GlobalLpPool", pool::global_lp_pool),
    ("BatchNormalization", norm::batch_normalization),
    ("InstanceNormalization", norm::instance_normalization),
    ("LayerNormalization", norm::layer_normalization),
    ("GroupNormalization", norm::group_normalization),
    ("RMSNormalization", norm::rms_normalization),
    ("LpNormalization", norm::lp_normalization),
    ("LRN", norm::lrn),
    ("MeanVarianceNormalization", norm::mean_variance_normalization),
    ("Dropout", norm::dropout),
];

// ---------------------------------------------------------------------------
// Builders shared with the rnn and attention families.

/// `tg.transpose` with result axis `i` taken from axis `perm[i]`.
pub(super) fn transpose(cx: &mut NodeCx, x: ValueId, perm: &[i64]) -> Result<ValueId, String> {
    cx.op(&shape::TRANSPOSE, &[x], Attrs::from([("perm", Attr::ints(perm))]))
}

/// `x[start..end]` along `axis` (step 1).
pub(super) fn slice(cx: &mut NodeCx, x: ValueId, axis: usize, start: i64, end: i64) -> Result<ValueId, String> {
    let attrs = Attrs::from([
        ("starts", Attr::ints(&[start])),
        ("ends", Attr::ints(&[end])),
        ("axes", Attr::ints(&[axis as i64])),
    ]);
    cx.op(&shape::SLICE, &[x], attrs)
}

/// `tg.concat` along `axis`; a single value is returned as is.
pub(super) fn concat(cx: &mut NodeCx, values: &[ValueId], axis: usize) -> Result<ValueId, String> {
    match values {
        [one] => Ok(*one),
        _ => cx.op(&shape::CONCAT, values, Attrs::from([("axis", Attr::Int(axis as i64))])),
    }
}

/// `tg.dot` contracting `lhs_contract` of `a` with `rhs_contract` of `b`, no batch axes.
pub(super) fn dot(
    cx: &mut NodeCx,
    a: ValueId,
    b: ValueId,
    lhs_contract: i64,
    rhs_contract: i64,
) -> Result<ValueId, String> {
    let attrs =
        Attrs::from([("lhs_contract", Attr::ints(&[lhs_contract])), ("rhs_contract", Attr::ints(&[rhs_contract]))]);
    cx.op(&linalg::DOT, &[a, b], attrs)
}

/// Whether output `i` of the node is requested (present and named).
pub(super) fn wants_output(cx: &NodeCx, i: usize) -> bool {
    cx.node.output.get(i).is_some_and(|n| !n.is_empty())
}

// ---------------------------------------------------------------------------
// Steps shared by the files of this family.

/// A reduction (`tg.reduce_sum`, ...) over `axes`.
fn reduce_over(cx: &mut NodeCx, def: OpRef, x: ValueId, axes: &[usize], keepdims: bool) -> Result<ValueId, String> {
    let axes: Vec<i64> = axes.iter().map(|&a| a as i64).collect();
    cx.op(def, &[x], Attrs::from([("axes", Attr::ints(&axes)), ("keepdims", Attr::Bool(keepdims))]))
}

/// The mean of `x` over `axes`, kept as size-1 axes. The element count is a
/// constant when those dims are static, else a sum over broadcast ones.
fn mean_over(cx: &mut NodeCx, x: ValueId, axes: &[usize]) -> Result<ValueId, String> {
    let sum = reduce_over(cx, &reduce::REDUCE_SUM, x, axes, true)?;
    let dims = cx.dims(x)?;
    let count = match axes.iter().map(|&a| dims[a].known()).collect::<Option<Vec<u64>>>() {
        Some(sizes) => scalar_like(cx, x, sizes.iter().product::<u64>() as f64)?,
        None => {
            let one = scalar_like(cx, x, 1.0)?;
            let ones_dims: Vec<Dim> =
                (0..dims.len()).map(|a| if axes.contains(&a) { dims[a].clone() } else { Dim::Known(1) }).collect();
            let ones = cx.op(&shape::BROADCAST_TO, &[one], Attrs::from([("shape", Attr::shape(&ones_dims))]))?;
            reduce_over(cx, &reduce::REDUCE_SUM, ones, axes, true)?
        }
    };
    binary(cx, &elementwise::DIV, sum, count)
}

/// A per-channel vector `[C]` viewed as `[1, C, 1, ...]` for an input of `rank`.
fn channel_view(cx: &mut NodeCx, v: ValueId, rank: usize) -> Result<ValueId, String> {
    let dims = cx.dims(v)?;
    if dims.len() != 1 {
        return Err(format!("expected a per-channel vector, got {}", cx.ty(v)?));
    }
    let mut view = vec![Dim::Known(1); rank.max(2)];
    view[1] = dims[0].clone();
    reshape(cx, v, &view)
}

/// Input 0 with its spatial dims (rank 3 or more: batch, channels, spatial...).
fn image_input(cx: &NodeCx) -> Result<(ValueId, TensorType, Vec<Dim>), String> {
    let x = cx.input(0)?;
    let ty = cx.ty(x)?;
    if ty.rank() < 3 {
        return Err(format!("input #0 {ty} must have rank 3 or more (batch, channels, spatial...)"));
    }
    let spatial = ty.dims[2..].to_vec();
    Ok((x, ty, spatial))
}

/// `|x|^p` (`x * x` for p = 2, `|x|` for p = 1).
fn abs_pow(cx: &mut NodeCx, x: ValueId, p: f64) -> Result<ValueId, String> {
    if p == 2.0 {
        return binary(cx, &elementwise::MUL, x, x);
    }
    let abs = unary(cx, &elementwise::ABS, x)?;
    if p == 1.0 {
        return Ok(abs);
    }
    let p = scalar_like(cx, x, p)?;
    binary(cx, &elementwise::POW, abs, p)
}

/// `s^(1/p)` (`sqrt` for p = 2, `s` for p = 1).
fn root(cx: &mut NodeCx, s: ValueId, p: f64) -> Result<ValueId, String> {
    if p == 1.0 {
        return Ok(s);
    }
    if p == 2.0 {
        return unary(cx, &elementwise::SQRT, s);
    }
    let inv = scalar_like(cx, s, 1.0 / p)?;
    binary(cx, &elementwise::POW, s, inv)
}
