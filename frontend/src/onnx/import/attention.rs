//! ONNX converters: the attention family. `Attention` (opsets 23–25)
//! becomes one `tg.dot` for `Q Kᵀ`, an optional soft cap, an additive mask
//! bias, one max-subtracted softmax and one `tg.dot` with `V`; grouped-query
//! heads are repeated by broadcasting, and every masking rule (boolean or
//! float mask, causal, sliding window, padded keys) is an iota comparison
//! folded into a single bias. `RotaryEmbedding` rotates pairs of features
//! with slices and elementwise arithmetic; `SwiGLU` is `a·σ(αa)·b`.
//! `LinearAttention`'s recurrence is a `tg.loop` over the time steps that
//! carries the `[B, H, d_k, d_v]` state and stacks each step's output.
//!
//! `shifted` (the max-subtracted softmax argument) is shared with the loss
//! family.

use super::cx::NodeCx;
use super::elementwise::{binary, cast_to, scalar_like, select, unary};
use super::known::Known;
use super::nn::{concat, slice, transpose, wants_output};
use super::reduce::reduce;
use super::registry::Convert;
use super::shape::reshape_to;
use crate::onnx::tensor::onnx_dtype;
use tessera_ir::dialect::graph::elementwise::{ADD, AND, DIV, EQ, EXP, GE, LE, LT, MUL, SIGMOID, SUB, TANH};
use tessera_ir::dialect::graph::reduce::{REDUCE_MAX, REDUCE_SUM};
use tessera_ir::dialect::graph::{control, index, linalg, shape};
use tessera_ir::{Attr, Attrs, Builder, DType, Dim, InsertPoint, TensorType, Type, ValueId};

/// The converters of this family, by ONNX operator name.
pub(super) const CONVERTERS: &[(&str, Convert)] = &[
    ("Attention", attention),
    ("LinearAttention", linear_attention),
    ("RotaryEmbedding", rotary_embedding),
    ("SwiGLU", swiglu),
];

// ---------------------------------------------------------------------------
// Helpers.

/// `x - max(x)` along `axis` (kept as a size-1 axis), the stable argument
/// of `exp` in a softmax.
pub(super) fn shifted(cx: &mut NodeCx, x: ValueId, axis: i64) -> Result<ValueId, String> {
    let max = reduce(cx, &REDUCE_MAX, x, &[axis], true)?;
    binary(cx, &SUB, x, max)
}

/// `softmax(x)` along `axis`: `e^(x - max) / Σ e^(x - max)`.
fn softmax(cx: &mut NodeCx, x: ValueId, axis: i64) -> Result<ValueId, String> {
    let z = shifted(cx, x, axis)?;
    let e = unary(cx, &EXP, z)?;
    let sum = reduce(cx, &REDUCE_SUM, e, &[axis], true)?;
    binary(cx, &DIV, e, sum)
}

/// Axis `axis` of `x` as a rank-0 i64 value: a constant when the dim is
/// static, else read from `tg.shape_of`.
fn dim_scalar(cx: &mut NodeCx, x: ValueId, axis: usize) -> Result<ValueId, String> {
    if let Some(n) = cx.dims(x)?[axis].known() {
        return cx.scalar(DType::I64, n as f64);
    }
    let dims = cx.op(&shape::SHAPE_OF, &[x], Attrs::new())?;
    let one = slice(cx, dims, 0, axis as i64, axis as i64 + 1)?;
    reshape_to(cx, one, &[])
}

/// A `[1, .., n, .., 1]` i64 iota of `rank` axes counting along `axis`.
fn positions(cx: &mut NodeCx, n: &Dim, axis: usize, rank: usize) -> Result<ValueId, String> {
    let mut dims = vec![Dim::Known(1); rank];
    dims[axis] = n.clone();
    let attrs = Attrs::from([
        ("shape", Attr::shape(&dims)),
        ("dtype", Attr::DType(DType::I64)),
        ("axis", Attr::Int(axis as i64)),
    ]);
    cx.op(&shape::IOTA, &[], attrs)
}

/// `a && b`, or `b` alone when `a` is absent.
fn and(cx: &mut NodeCx, a: Option<ValueId>, b: ValueId) -> Result<ValueId, String> {
    match a {
        Some(a) => binary(cx, &AND, a, b),
        None => Ok(b),
    }
}

/// `tg.dot` over the leading `batch` axes of both operands, contracting
/// `lhs_contract` with `rhs_contract`.
fn batched_dot(
    cx: &mut NodeCx,
    a: ValueId,
    b: ValueId,
    batch: usize,
    lhs_contract: i64,
    rhs_contract: i64,
) -> Result<ValueId, String> {
    let batch: Vec<i64> = (0..batch as i64).collect();
    let attrs = Attrs::from([
        ("lhs_batch", Attr::ints(&batch)),
        ("rhs_batch", Attr::ints(&batch)),
        ("lhs_contract", Attr::ints(&[lhs_contract])),
        ("rhs_contract", Attr::ints(&[rhs_contract])),
    ]);
    cx.op(&linalg::DOT, &[a, b], attrs)
}

// ---------------------------------------------------------------------------
// Attention.

/// A 3-D `[B, S, heads * D]` input viewed as `[B, S, heads, D]`; `what`
/// names it in errors.
fn heads_view(cx: &mut NodeCx, x: ValueId, heads: i64, what: &str) -> Result<ValueId, String> {
    let dims = cx.dims(x)?;
    let heads_dim = Dim::Known(heads as u64);
    let head = dims[2]
        .div_exact(&heads_dim)
        .ok_or_else(|| format!("{what}'s hidden size {} does not split into {heads} heads", dims[2]))?;
    reshape_to(cx, x, &[dims[0].clone(), dims[1].clone(), heads_dim, head])
}

/// A 3-D `[B, S, heads * D]` input as `[B, heads, S, D]`.
fn split_heads(cx: &mut NodeCx, x: ValueId, heads: i64, what: &str) -> Result<ValueId, String> {
    let view = heads_view(cx, x, heads, what)?;
    transpose(cx, view, &[0, 2, 1, 3])
}

/// `[B, H, S, D]` with every head repeated `times` in place (`h0 h0 h1 h1 ...`).
fn repeat_heads(cx: &mut NodeCx, x: ValueId, times: u64) -> Result<ValueId, String> {
    if times == 1 {
        return Ok(x);
    }
    let d = cx.dims(x)?;
    let grouped = reshape_to(cx, x, &[d[0].clone(), d[1].clone(), Dim::Known(1), d[2].clone(), d[3].clone()])?;
    let wide_dims = [d[0].clone(), d[1].clone(), Dim::Known(times), d[2].clone(), d[3].clone()];
    let wide = cx.op(&shape::BROADCAST_TO, &[grouped], Attrs::from([("shape", Attr::shape(&wide_dims))]))?;
    reshape_to(cx, wide, &[d[0].clone(), d[1].mul(&Dim::Known(times)), d[2].clone(), d[3].clone()])
}

/// `mask` with its last axis padded from its size up to `len` with `fill`
/// (attention masks may be shorter than the key sequence).
fn pad_mask(cx: &mut NodeCx, mask: ValueId, len: &Dim, fill: f64) -> Result<ValueId, String> {
    let dims = cx.dims(mask)?;
    let Some(last) = dims.last() else { return Ok(mask) };
    let (Some(have), Some(want)) = (last.known(), len.known()) else { return Ok(mask) };
    if have >= want {
        return Ok(mask);
    }
    let mut high = vec![0; dims.len()];
    high[dims.len() - 1] = (want - have) as i64;
    let value = scalar_like(cx, mask, fill)?;
    let attrs = Attrs::from([
        ("low", Attr::ints(&vec![0; dims.len()])),
        ("high", Attr::ints(&high)),
        ("mode", Attr::Str("constant".into())),
    ]);
    cx.op(&shape::PAD, &[mask, value], attrs)
}

/// Whether a known bias has a row (along its last axis) that is `-inf`
/// throughout; `true` when the bias is not known (a guard is needed).
fn may_mask_whole_row(cx: &NodeCx, bias: ValueId) -> bool {
    let Some(Known::Tensor(t)) = cx.known(bias) else { return true };
    let row = t.shape().last().copied().unwrap_or(1);
    if row == 0 {
        return false;
    }
    t.to_f64s().chunks(row).any(|r| r.iter().all(|&v| v == f64::NEG_INFINITY))
}

/// The masking rules of one Attention node. They give the additive bias
/// of its scores (broadcastable to `[B, H, Sq, Sk]`; `None` when nothing
/// is masked): a float `attn_mask` added as is; a boolean one, the causal frontier, the
/// sliding window and the padded keys of `nonpad_kv_seqlen` combined into
/// one `allowed` mask whose false positions contribute `-inf`. A query at
/// block index `i` sits at absolute position `p = i + offset`, the offset
/// being the past length (or `nonpad_kv_seqlen - Sq` per batch for an
/// external cache); causal allows keys `j <= p`, the window
/// `p - left <= j <= p + right`.
struct Masking {
    /// `attn_mask`: boolean (true attends) or float (added).
    mask: Option<ValueId>,
    /// `nonpad_kv_seqlen`: valid keys per batch (`[B]`).
    nonpad: Option<ValueId>,
    /// `past_key`, whose length offsets the queries.
    past_key: Option<ValueId>,
    /// `is_causal`.
    causal: bool,
    /// `left_window_size` (-1: unbounded).
    left: i64,
    /// `right_window_size` (-1: unbounded).
    right: i64,
}

impl Masking {
    /// The bias for `q_len` queries over `k_len` keys (see [`Masking`]).
    fn bias(&self, cx: &mut NodeCx, q_len: &Dim, k_len: &Dim, dtype: DType) -> Result<Option<ValueId>, String> {
        let mut allowed = None;
        let mut float_mask = None;
        if let Some(mask) = self.mask {
            if cx.ty(mask)?.dtype == DType::I1 {
                allowed = Some(pad_mask(cx, mask, k_len, 0.0)?);
            } else {
                let mask = cast_to(cx, mask, dtype)?;
                float_mask = Some(pad_mask(cx, mask, k_len, f64::NEG_INFINITY)?);
            }
        }
        // Per-batch valid key counts as [B, 1, 1, 1].
        let nonpad = match self.nonpad {
            Some(n) => {
                let dims = cx.dims(n)?;
                if dims.len() != 1 {
                    return Err(format!("input #6 (nonpad_kv_seqlen) must be [batch], got {}", cx.ty(n)?));
                }
                let n = cast_to(cx, n, DType::I64)?;
                Some(reshape_to(cx, n, &[dims[0].clone(), Dim::Known(1), Dim::Known(1), Dim::Known(1)])?)
            }
            None => None,
        };
        let windowed = self.left >= 0 || self.right >= 0;
        if !(self.causal || windowed || nonpad.is_some()) {
            return combine_bias(cx, allowed, float_mask, dtype);
        }
        let keys = positions(cx, k_len, 1, 2)?;
        if self.causal || windowed {
            let query = positions(cx, q_len, 0, 2)?;
            let at = match (self.past_key, nonpad) {
                (Some(past), _) => {
                    let past_len = dim_scalar(cx, past, 2)?;
                    binary(cx, &ADD, query, past_len)?
                }
                (None, Some(n)) => {
                    let sq = dim_scalar(cx, query, 0)?;
                    let offset = binary(cx, &SUB, n, sq)?;
                    binary(cx, &ADD, query, offset)?
                }
                (None, None) => query,
            };
            if self.causal {
                let ok = binary(cx, &LE, keys, at)?;
                allowed = Some(and(cx, allowed, ok)?);
            }
            if self.left >= 0 {
                let left = cx.scalar(DType::I64, self.left as f64)?;
                let first = binary(cx, &SUB, at, left)?;
                let ok = binary(cx, &GE, keys, first)?;
                allowed = Some(and(cx, allowed, ok)?);
            }
            if self.right >= 0 {
                let right = cx.scalar(DType::I64, self.right as f64)?;
                let last = binary(cx, &ADD, at, right)?;
                let ok = binary(cx, &LE, keys, last)?;
                allowed = Some(and(cx, allowed, ok)?);
            }
        }
        if let Some(n) = nonpad {
            let ok = binary(cx, &LT, keys, n)?;
            allowed = Some(and(cx, allowed, ok)?);
        }
        combine_bias(cx, allowed, float_mask, dtype)
    }
}

/// `-inf` where `allowed` is false and 0 where it is true, in `dtype`,
/// plus the float mask; either may be absent.
fn combine_bias(
    cx: &mut NodeCx,
    allowed: Option<ValueId>,
    float_mask: Option<ValueId>,
    dtype: DType,
) -> Result<Option<ValueId>, String> {
    let Some(allowed) = allowed else { return Ok(float_mask) };
    let zero = cx.scalar(dtype, 0.0)?;
    let neg_inf = cx.scalar(dtype, f64::NEG_INFINITY)?;
    let bias = select(cx, allowed, zero, neg_inf)?;
    match float_mask {
        Some(f) => binary(cx, &ADD, f, bias).map(Some),
        None => Ok(Some(bias)),
    }
}

/// Attention (opsets 23–25): scaled dot-product attention over 4-D
/// `[B, H, S, D]` or 3-D `[B, S, H·D]` inputs (with `q_num_heads` and
/// `kv_num_heads`), grouped-query heads, optional mask, causal and window
/// masking, past key/value concatenation, soft cap and the
/// `qk_matmul_output` modes 0–3. Fully masked query rows give 0.
fn attention(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (q, k, v) = (cx.input(0)?, cx.input(1)?, cx.input(2)?);
    let (past_key, past_value) = (cx.opt_input(4)?, cx.opt_input(5)?);
    let nonpad = cx.opt_input(6)?;
    if past_key.is_some() != past_value.is_some() {
        return Err("inputs #4 (past_key) and #5 (past_value) must be given together".into());
    }
    if nonpad.is_some() && past_key.is_some() {
        return Err("input #6 (nonpad_kv_seqlen) cannot be combined with past_key and past_value".into());
    }
    let rank = cx.rank(q)?;
    if cx.rank(k)? != rank || cx.rank(v)? != rank {
        return Err(format!("Q, K and V must have the same rank, got {}, {} and {}", cx.ty(q)?, cx.ty(k)?, cx.ty(v)?));
    }
    let (q, k, v) = match rank {
        4 => (q, k, v),
        3 => {
            let heads = |name: &str| match cx.attr(name).map(|a| a.i) {
                Some(h) if h > 0 => Ok(h),
                Some(h) => Err(format!("attribute '{name}' = {h} must be positive")),
                None => Err(format!("attribute '{name}' is required for 3-D inputs")),
            };
            let (q_heads, kv_heads) = (heads("q_num_heads")?, heads("kv_num_heads")?);
            (split_heads(cx, q, q_heads, "Q")?, split_heads(cx, k, kv_heads, "K")?, split_heads(cx, v, kv_heads, "V")?)
        }
        r => return Err(format!("Q must have rank 3 or 4, got rank {r}")),
    };
    let dtype = cx.ty(q)?.dtype;
    let present_key = match past_key {
        Some(past) => concat(cx, &[past, k], 2)?,
        None => k,
    };
    let present_value = match past_value {
        Some(past) => concat(cx, &[past, v], 2)?,
        None => v,
    };
    let (q_dims, k_dims) = (cx.dims(q)?, cx.dims(present_key)?);

    // Scores: (Q·√scale)(K·√scale)ᵀ over repeated key heads.
    let scale = match cx.attr("scale") {
        Some(a) => f64::from(a.f),
        None => {
            let head = q_dims[3]
                .known()
                .ok_or_else(|| format!("the default scale needs a static head size, got {} for Q", q_dims[3]))?;
            1.0 / (head as f64).sqrt()
        }
    };
    let root = cx.scalar(dtype, scale.sqrt())?;
    let q_scaled = binary(cx, &MUL, q, root)?;
    let k_scaled = binary(cx, &MUL, present_key, root)?;
    let times = match (q_dims[1].known(), k_dims[1].known()) {
        (Some(hq), Some(hk)) if hk > 0 && hq % hk == 0 => hq / hk,
        (Some(hq), Some(hk)) => return Err(format!("{hq} query heads do not group over {hk} key/value heads")),
        _ if q_dims[1].same(&k_dims[1]) => 1,
        _ => return Err(format!("the head counts of Q ({}) and K ({}) must be static or equal", q_dims[1], k_dims[1])),
    };
    let k_rep = repeat_heads(cx, k_scaled, times)?;
    let v_rep = repeat_heads(cx, present_value, times)?;
    let raw = batched_dot(cx, q_scaled, k_rep, 2, 3, 3)?;
    let softcap = f64::from(cx.attr_float("softcap", 0.0));
    let capped = if softcap > 0.0 {
        let cap = cx.scalar(dtype, softcap)?;
        let ratio = binary(cx, &DIV, raw, cap)?;
        let t = unary(cx, &TANH, ratio)?;
        binary(cx, &MUL, t, cap)?
    } else {
        raw
    };

    // Bias, softmax (in `softmax_precision` when given), fully-masked-row guard.
    let masking = Masking {
        mask: cx.opt_input(3)?,
        nonpad,
        past_key,
        causal: cx.attr_int("is_causal", 0) != 0,
        left: cx.attr_int("left_window_size", -1),
        right: cx.attr_int("right_window_size", -1),
    };
    let bias = masking.bias(cx, &q_dims[2], &k_dims[2], dtype)?;
    let biased = match bias {
        Some(b) => binary(cx, &ADD, capped, b)?,
        None => capped,
    };
    let precision = match cx.attr("softmax_precision") {
        Some(a) => onnx_dtype(a.i as i32, "attribute 'softmax_precision'").map_err(|d| d.message)?,
        None => dtype,
    };
    let logits = cast_to(cx, biased, precision)?;
    let mut probs = softmax(cx, logits, -1)?;
    if let Some(b) = bias.filter(|&b| may_mask_whole_row(cx, b)) {
        let row_max = reduce(cx, &REDUCE_MAX, b, &[-1], true)?;
        let neg_inf = scalar_like(cx, b, f64::NEG_INFINITY)?;
        let masked_row = binary(cx, &EQ, row_max, neg_inf)?;
        let zero = scalar_like(cx, probs, 0.0)?;
        probs = select(cx, masked_row, zero, probs)?;
    }
    let probs = cast_to(cx, probs, dtype)?;

    let y = batched_dot(cx, probs, v_rep, 2, 3, 2)?;
    let y = if rank == 3 {
        let t = transpose(cx, y, &[0, 2, 1, 3])?;
        let d = cx.dims(t)?;
        reshape_to(cx, t, &[d[0].clone(), d[1].clone(), d[2].mul(&d[3])])?
    } else {
        y
    };
    let qk = match cx.attr_int("qk_matmul_output_mode", 0) {
        _ if !wants_output(cx, 3) => raw,
        0 => raw,
        1 => capped,
        2 => biased,
        3 => probs,
        m => return Err(format!("attribute 'qk_matmul_output_mode' = {m} must be 0, 1, 2 or 3")),
    };
    Ok(vec![y, present_key, present_value, qk])
}

// ---------------------------------------------------------------------------
// LinearAttention.

/// The recurrence LinearAttention's `update_rule` selects, with its inputs.
struct Recurrence {
    /// `[B, T, Hq·dk]` queries in f32.
    query: ValueId,
    /// `[B, T, Hkv·dk]` keys in f32.
    key: ValueId,
    /// `[B, T, Hkv·dv]` values in f32.
    value: ValueId,
    /// Log-space decay in f32 (gated rules), with its size per head: `dk`
    /// (`[B, T, Hkv·dk]`, per key feature) or 1 (`[B, T, Hkv]`, per head).
    decay: Option<(ValueId, Dim)>,
    /// Update rate in f32 (delta rules), with its head count: `Hkv`
    /// (`[B, T, Hkv]`) or 1 (`[B, T, 1]`, shared).
    beta: Option<(ValueId, u64)>,
    /// Query heads (a multiple of `kv_heads`).
    q_heads: u64,
    /// Key/value heads.
    kv_heads: u64,
    /// Key size per head.
    dk: Dim,
    /// Value size per head.
    dv: Dim,
    /// The output scale.
    scale: f64,
}

impl Recurrence {
    /// Row `t` of a `[B, T, heads·d]` input as `[B, heads, d]`.
    fn at(&self, cx: &mut NodeCx, x: ValueId, t: ValueId, heads: u64, d: &Dim) -> Result<ValueId, String> {
        let row = cx.op(&index::GATHER, &[x, t], Attrs::from([("axis", Attr::Int(1))]))?;
        let batch = cx.dims(x)?[0].clone();
        reshape_to(cx, row, &[batch, Dim::Known(heads), d.clone()])
    }

    /// One time step `t` from `state`: the next state and the `[B, Hq, dv]` output.
    fn step(&self, cx: &mut NodeCx, t: ValueId, state: ValueId) -> Result<(ValueId, ValueId), String> {
        let batch = cx.dims(self.query)?[0].clone();
        let kv = Dim::Known(self.kv_heads);
        let q_t = self.at(cx, self.query, t, self.q_heads, &self.dk)?;
        let k_t = self.at(cx, self.key, t, self.kv_heads, &self.dk)?;
        let mut v_t = self.at(cx, self.value, t, self.kv_heads, &self.dv)?;
        let mut state = state;
        if let Some((decay, per)) = &self.decay {
            // S ← e^g · S, with g per key feature or per head.
            let (decay, per) = (*decay, per.clone());
            let g = self.at(cx, decay, t, self.kv_heads, &per)?;
            let g = reshape_to(cx, g, &[batch.clone(), kv.clone(), per, Dim::Known(1)])?;
            let factor = unary(cx, &EXP, g)?;
            state = binary(cx, &MUL, state, factor)?;
        }
        if let Some((beta, heads)) = self.beta {
            // v ← β (v - Sᵀk)
            let b_t = self.at(cx, beta, t, heads, &Dim::Known(1))?;
            let retrieved = batched_dot(cx, state, k_t, 2, 2, 2)?;
            let error = binary(cx, &SUB, v_t, retrieved)?;
            v_t = binary(cx, &MUL, b_t, error)?;
        }
        // S ← S + k ⊗ v
        let k_col = reshape_to(cx, k_t, &[batch.clone(), kv.clone(), self.dk.clone(), Dim::Known(1)])?;
        let v_row = reshape_to(cx, v_t, &[batch, kv, Dim::Known(1), self.dv.clone()])?;
        let outer = binary(cx, &MUL, k_col, v_row)?;
        let next = binary(cx, &ADD, state, outer)?;
        // o = scale · qᵀS, each key/value head shared by its query group.
        let shared = repeat_heads(cx, next, self.q_heads / self.kv_heads)?;
        let read = batched_dot(cx, q_t, shared, 2, 2, 2)?;
        let scale = cx.scalar(DType::F32, self.scale)?;
        Ok((next, binary(cx, &MUL, read, scale)?))
    }
}

/// LinearAttention (opset 27): the linear, gated, delta or gated-delta
/// recurrence over packed `[B, T, H·D]` inputs, as a `tg.loop` over `T`
/// carrying the f32 state (zeros or `past_state`) and stacking the outputs;
/// query heads share their group's key/value head. Outputs the
/// `[B, T, Hq·dv]` result and the final state. `chunk_size` is a tuning
/// hint with no effect on the result.
fn linear_attention(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (query, key, value) = (cx.input(0)?, cx.input(1)?, cx.input(2)?);
    let (past, decay, beta) = (cx.opt_input(3)?, cx.opt_input(4)?, cx.opt_input(5)?);
    let rule = cx.attr_str("update_rule", "gated_delta");
    let (gated, delta) = match rule.as_str() {
        "linear" => (false, false),
        "gated" => (true, false),
        "delta" => (false, true),
        "gated_delta" => (true, true),
        other => return Err(format!("attribute 'update_rule' = '{other}' must be linear, gated, delta or gated_delta")),
    };
    if gated != decay.is_some() {
        return Err(format!("update_rule '{rule}' {} input #4 (decay)", if gated { "requires" } else { "forbids" }));
    }
    if delta != beta.is_some() {
        return Err(format!("update_rule '{rule}' {} input #5 (beta)", if delta { "requires" } else { "forbids" }));
    }
    let (q_heads, kv_heads) = match (cx.attr("q_num_heads").map(|a| a.i), cx.attr("kv_num_heads").map(|a| a.i)) {
        (Some(q), Some(kv)) if q > 0 && kv > 0 && q % kv == 0 => (q as u64, kv as u64),
        (Some(q), Some(kv)) => {
            return Err(format!("attribute 'q_num_heads' = {q} must be a positive multiple of 'kv_num_heads' = {kv}"))
        }
        _ => return Err("attributes 'q_num_heads' and 'kv_num_heads' are required".into()),
    };
    for (i, x) in [Some(query), Some(key), Some(value), decay, beta].into_iter().enumerate() {
        if let Some(x) = x.filter(|&x| cx.rank(x).ok() != Some(3)) {
            return Err(format!("input #{i} must be [batch, time, heads * size], got {}", cx.ty(x)?));
        }
    }
    let q_dims = cx.dims(query)?;
    let per_head = |d: &Dim, n: u64, what: &str| {
        d.div_exact(&Dim::Known(n)).ok_or_else(|| format!("{what}'s size {d} does not split into {n} heads"))
    };
    let dk = per_head(&q_dims[2], q_heads, "query")?;
    let dv = per_head(&cx.dims(value)?[2], kv_heads, "value")?;
    let scale = match f64::from(cx.attr_float("scale", 0.0)) {
        s if s != 0.0 => s,
        _ => {
            let dk = dk.known().ok_or_else(|| format!("the default scale needs a static key size, got {dk}"))?;
            1.0 / (dk as f64).sqrt()
        }
    };
    let decay = match decay {
        Some(g) => {
            let size = cx.dims(g)?[2].clone();
            let per = if size.known() == Some(kv_heads) {
                Dim::Known(1)
            } else if size.same(&dk.mul(&Dim::Known(kv_heads))) {
                dk.clone()
            } else {
                let want = format!("{kv_heads} or {kv_heads} x {dk}");
                return Err(format!("input #4 (decay) must give {want} values per step, got {size}"));
            };
            Some((cast_to(cx, g, DType::F32)?, per))
        }
        None => None,
    };
    let beta = match beta {
        Some(b) => match cx.dims(b)?[2].known() {
            Some(n) if n == kv_heads || n == 1 => Some((cast_to(cx, b, DType::F32)?, n)),
            _ => return Err(format!("input #5 (beta) must give {kv_heads} or 1 value(s) per step, got {}", cx.ty(b)?)),
        },
        None => None,
    };
    let out_dtype = cx.ty(query)?.dtype;
    let rec = Recurrence {
        query: cast_to(cx, query, DType::F32)?,
        key: cast_to(cx, key, DType::F32)?,
        value: cast_to(cx, value, DType::F32)?,
        decay,
        beta,
        q_heads,
        kv_heads,
        dk: dk.clone(),
        dv: dv.clone(),
        scale,
    };
    let state_dims = vec![q_dims[0].clone(), Dim::Known(kv_heads), dk, dv.clone()];
    let (init, state_dtype) = match past {
        Some(p) => (cast_to(cx, p, DType::F32)?, cx.ty(p)?.dtype),
        None => {
            let zero = cx.scalar(DType::F32, 0.0)?;
            let zeros = cx.op(&shape::BROADCAST_TO, &[zero], Attrs::from([("shape", Attr::shape(&state_dims))]))?;
            (zeros, out_dtype)
        }
    };

    // The body: (t, cond, S) -> (true, S', o_t).
    let state_ty = Type::Tensor(TensorType::new(state_dims, DType::F32));
    let scalar = |dtype| Type::Tensor(TensorType::scalar(dtype));
    let region = cx.imp.func.new_region();
    let block = cx.imp.func.new_block(region, &[scalar(DType::I64), scalar(DType::I1), state_ty]);
    let args = cx.imp.func.block(block).args.clone();
    let outer = cx.imp.at;
    cx.imp.at = InsertPoint::End(block);
    let body = (|| {
        let (next, out) = rec.step(cx, args[0], args[2])?;
        let go_on = cx.scalar(DType::I1, 1.0)?;
        let (loc, at) = (cx.loc(), cx.imp.at);
        let mut b = Builder::new(&mut cx.imp.func, &cx.imp.symbols);
        b.set_insert_point(at);
        b.set_loc(loc);
        b.yield_values(&[go_on, next, out]).map_err(|d| d.message)
    })();
    cx.imp.at = outer;
    body?;
    let trips = dim_scalar(cx, query, 1)?;
    let go = cx.scalar(DType::I1, 1.0)?;
    let results = cx.ops_with_regions(&control::LOOP, &[trips, go, init], Attrs::new(), vec![region])?;
    let [state, steps] = results[..] else { return Err("tg.loop gave an unexpected number of results".into()) };

    // [T, B, Hq, dv] -> [B, T, Hq·dv]
    let (batch, time) = (q_dims[0].clone(), q_dims[1].clone());
    let steps = reshape_to(cx, steps, &[time.clone(), batch.clone(), Dim::Known(q_heads), dv.clone()])?;
    let steps = transpose(cx, steps, &[1, 0, 2, 3])?;
    let output = reshape_to(cx, steps, &[batch, time, dv.mul(&Dim::Known(q_heads))])?;
    Ok(vec![cast_to(cx, output, out_dtype)?, cast_to(cx, state, state_dtype)?])
}

// ---------------------------------------------------------------------------
// RotaryEmbedding and SwiGLU.

/// RotaryEmbedding (opset 23): rotates the first `rotary_embedding_dim`
/// features of each head (all by default) by the angles whose cosines and
/// sines the caches hold, looked up by `position_ids` when given (else the
/// caches are `[B, S, r/2]` already). Pairs are the two halves of the
/// rotated features, or neighbours when `interleaved`.
fn rotary_embedding(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (x, cos, sin) = (cx.input(0)?, cx.input(1)?, cx.input(2)?);
    let positions = cx.opt_input(3)?;
    let dims = cx.dims(x)?;
    // Work on [B, H, S, D] (4-D input) or [B, S, H, D] (3-D input, split);
    // the caches become [B, 1, S, r/2] or [B, S, 1, r/2] to match.
    let (x4, heads_axis) = match dims.len() {
        4 => (x, 1),
        3 => {
            let heads = cx.attr_int("num_heads", 0);
            if heads <= 0 {
                return Err("attribute 'num_heads' is required (and positive) for a 3-D input".into());
            }
            (heads_view(cx, x, heads, "X")?, 2)
        }
        r => return Err(format!("input #0 (X) must have rank 3 or 4, got rank {r}")),
    };
    let head_dim = cx.dims(x4)?[3].clone();
    let head = head_dim.known().ok_or_else(|| format!("the head size must be static, got {head_dim}"))? as i64;
    let rotary = match cx.attr_int("rotary_embedding_dim", 0) {
        0 => head,
        r if r > 0 && r <= head && r % 2 == 0 => r,
        r => return Err(format!("attribute 'rotary_embedding_dim' = {r} must be even and at most the head size {head}")),
    };
    let half = rotary / 2;
    let (cos, sin) = match positions {
        Some(p) => {
            let attrs = || Attrs::from([("axis", Attr::Int(0))]);
            (cx.op(&index::GATHER, &[cos, p], attrs())?, cx.op(&index::GATHER, &[sin, p], attrs())?)
        }
        None => (cos, sin),
    };
    let cache_dims = cx.dims(cos)?;
    if cache_dims.len() != 3 || cache_dims[2].known() != Some(half as u64) {
        return Err(format!("the cos/sin caches must give [batch, sequence, {half}] values, got {}", cx.ty(cos)?));
    }
    let interleaved = cx.attr_int("interleaved", 0) != 0;
    let mut view = cache_dims.clone();
    view.insert(heads_axis, Dim::Known(1));
    if interleaved {
        view.push(Dim::Known(1));
    }
    let (cos, sin) = (reshape_to(cx, cos, &view)?, reshape_to(cx, sin, &view)?);

    let rotated = if rotary < head { slice(cx, x4, 3, 0, rotary)? } else { x4 };
    let (x1, x2, pairs) = if interleaved {
        let d = cx.dims(rotated)?;
        let pairs = [d[0].clone(), d[1].clone(), d[2].clone(), Dim::Known(half as u64), Dim::Known(2)];
        let paired = reshape_to(cx, rotated, &pairs)?;
        (slice(cx, paired, 4, 0, 1)?, slice(cx, paired, 4, 1, 2)?, Some(d))
    } else {
        (slice(cx, rotated, 3, 0, half)?, slice(cx, rotated, 3, half, rotary)?, None)
    };
    let (c1, s2) = (binary(cx, &MUL, cos, x1)?, binary(cx, &MUL, sin, x2)?);
    let real = binary(cx, &SUB, c1, s2)?;
    let (s1, c2) = (binary(cx, &MUL, sin, x1)?, binary(cx, &MUL, cos, x2)?);
    let imag = binary(cx, &ADD, s1, c2)?;
    let mut parts = vec![match pairs {
        Some(d) => {
            let joined = concat(cx, &[real, imag], 4)?;
            reshape_to(cx, joined, &d)?
        }
        None => concat(cx, &[real, imag], 3)?,
    }];
    if rotary < head {
        parts.push(slice(cx, x4, 3, rotary, head)?);
    }
    let out = concat(cx, &parts, 3)?;
    Ok(vec![reshape_to(cx, out, &dims)?])
}

/// SwiGLU (opset 28): `a · sigmoid(alpha · a) · b` for same-shaped `a`, `b`.
fn swiglu(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    let (a, b) = (cx.input(0)?, cx.input(1)?);
    if cx.ty(a)? != cx.ty(b)? {
        return Err(format!("inputs A and B must have the same type (no broadcasting), got {} and {}", cx.ty(a)?, cx.ty(b)?));
    }
    let alpha = f64::from(cx.attr_float("alpha", 1.0));
    let gate_in = if alpha == 1.0 {
        a
    } else {
        let k = scalar_like(cx, a, alpha)?;
        binary(cx, &MUL, a, k)?
    };
    let gate = unary(cx, &SIGMOID, gate_in)?;
    let swish = binary(cx, &MUL, a, gate)?;
    Ok(vec![binary(cx, &MUL, swish, b)?])
}

#[cfg(test)]
mod tests {
    use crate::onnx::import::elementwise::testing::*;

    #[test]
    fn attention_3d_gqa_causal_uses_two_dots_and_no_guard() {
        let inputs = vec![value("q", FLOAT, &[-1, 4, 16]), value("k", FLOAT, &[-1, 6, 8]), value("v", FLOAT, &[-1, 6, 8])];
        let attrs = vec![int("q_num_heads", 2), int("kv_num_heads", 1), int("is_causal", 1)];
        let m = model(23, "Attention", inputs, vec![], &["q", "k", "v"], attrs);
        let text = ir(&m);
        assert_eq!(text.matches("tg.dot").count(), 2, "{text}");
        assert!(text.contains("tg.broadcast_to"), "the key/value head is repeated: {text}");
        // The causal bias is known and masks no whole row: no guard.
        assert_eq!(text.matches("tg.reduce_max").count(), 1, "{text}");
        assert_eq!(result_type(&m), "tensor<N x 4 x 16 x f32>");
    }

    #[test]
    fn attention_short_bool_mask_is_padded_and_guarded() {
        let inputs = vec![
            value("q", FLOAT, &[1, 2, 3, 4]),
            value("k", FLOAT, &[1, 2, 5, 4]),
            value("v", FLOAT, &[1, 2, 5, 4]),
            value("m", BOOL, &[3, 4]),
        ];
        let m = model(24, "Attention", inputs, vec![], &["q", "k", "v", "m"], vec![]);
        let text = ir(&m);
        assert!(text.contains("tg.pad") && text.contains("high = [0, 1]"), "{text}");
        assert!(text.contains("tg.eq"), "a fully masked row must give 0: {text}");
        assert_eq!(result_type(&m), "tensor<1x2x3x4xf32>");
    }

    #[test]
    fn attention_3d_needs_head_counts() {
        let inputs = vec![value("q", FLOAT, &[1, 4, 16]), value("k", FLOAT, &[1, 6, 16]), value("v", FLOAT, &[1, 6, 16])];
        let m = model(23, "Attention", inputs, vec![], &["q", "k", "v"], vec![]);
        assert!(error(&m).contains("attribute 'q_num_heads' is required"), "{}", error(&m));
    }

    #[test]
    fn rotary_embedding_3d_interleaved_keeps_the_shape() {
        let inputs = vec![
            value("x", FLOAT, &[-1, 3, 16]),
            value("cos", FLOAT, &[10, 2]),
            value("sin", FLOAT, &[10, 2]),
            value("pos", INT64, &[-1, 3]),
        ];
        let attrs = vec![int("num_heads", 2), int("interleaved", 1), int("rotary_embedding_dim", 4)];
        let m = model(23, "RotaryEmbedding", inputs, vec![], &["x", "cos", "sin", "pos"], attrs);
        let text = ir(&m);
        assert!(text.contains("tg.gather"), "{text}");
        assert_eq!(result_type(&m), "tensor<N x 3 x 16 x f32>");
    }

    #[test]
    fn linear_attention_is_a_loop_over_time() {
        let inputs = vec![
            value("q", FLOAT, &[-1, 5, 8]),
            value("k", FLOAT, &[-1, 5, 4]),
            value("v", FLOAT, &[-1, 5, 6]),
            value("g", FLOAT, &[-1, 5, 1]),
            value("b", FLOAT, &[-1, 5, 1]),
        ];
        let attrs = vec![int("q_num_heads", 2), int("kv_num_heads", 1)];
        let m = model(27, "LinearAttention", inputs, vec![], &["q", "k", "v", "", "g", "b"], attrs);
        let text = ir(&m);
        assert!(text.contains("tg.loop") && text.contains("tg.yield"), "{text}");
        assert_eq!(result_type(&m), "tensor<N x 5 x 12 x f32>");
        let m = model(27, "LinearAttention", vec![value("q", FLOAT, &[1, 5, 8])], vec![], &["q", "q", "q"], vec![
            int("q_num_heads", 2),
            int("kv_num_heads", 2),
        ]);
        assert!(error(&m).contains("requires input #4 (decay)"), "{}", error(&m));
    }

    #[test]
    fn swiglu_rejects_broadcasting() {
        let m = model(28, "SwiGLU", vec![value("a", FLOAT, &[2, 4]), value("b", FLOAT, &[4])], vec![], &["a", "b"], vec![]);
        assert!(error(&m).contains("same type"), "{}", error(&m));
        let inputs = vec![value("a", FLOAT, &[2, 4]), value("b", FLOAT, &[2, 4])];
        let m = model(28, "SwiGLU", inputs, vec![], &["a", "b"], vec![float("alpha", 1.5)]);
        assert!(ir(&m).contains("tg.sigmoid"));
    }
}
