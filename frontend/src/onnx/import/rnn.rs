//! ONNX converters: the recurrent family (RNN, GRU, LSTM), ONNX semantics.
//! The input projection of every time step is one `tg.dot` over the whole
//! sequence (biases folded in); each step then adds one recurrent `tg.dot`
//! per gate group (two for GRU without `linear_before_reset`) and applies
//! the activations on slices. A static sequence length (up to
//! [`UNROLL_LIMIT`] steps) is unrolled into per-step slices whose outputs
//! are concatenated; a longer or symbolic one becomes a `tg.loop` over the
//! steps. Directions are computed one after the other and concatenated on
//! the `num_directions` axis.

use super::cx::NodeCx;
use super::elementwise::{binary, cast_to, scalar_like, select, unary};
use super::nn::{concat, dot, slice, transpose};
use super::registry::Convert;
use super::shape::reshape_to as reshape;
use tessera_ir::dialect::graph::{control, elementwise, index, shape};
use tessera_ir::{Attr, Attrs, Builder, DType, Dim, InsertPoint, TensorType, Type, ValueId};

/// The converters of this family, by ONNX operator name.
pub(super) const CONVERTERS: &[(&str, Convert)] = &[("RNN", rnn), ("GRU", gru), ("LSTM", lstm)];

/// RNN (opsets 1, 7, 14, 22): `H = f(X W^T + H R^T + Wb + Rb)`.
fn rnn(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    recurrent(cx, Cell::Rnn)
}

/// GRU (opsets 1, 3, 7, 14, 22): update and reset gates, with the reset
/// applied before (`linear_before_reset` = 0) or after the recurrent product.
fn gru(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    recurrent(cx, Cell::Gru)
}

/// LSTM (opsets 1, 7, 14, 22): input, output, forget and cell gates, with
/// optional peepholes and coupled input/forget gates (`input_forget`).
fn lstm(cx: &mut NodeCx) -> Result<Vec<ValueId>, String> {
    recurrent(cx, Cell::Lstm)
}

/// Sequences up to this many steps are unrolled; longer or symbolic ones
/// become a `tg.loop` (so the graph stays proportional to the model, not
/// to the data).
const UNROLL_LIMIT: u64 = 128;

/// Which recurrence a node computes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cell {
    Rnn,
    Gru,
    Lstm,
}

impl Cell {
    /// Gates stacked in the weights (RNN 1; GRU z, r, h; LSTM i, o, f, c).
    fn gates(self) -> usize {
        match self {
            Cell::Rnn => 1,
            Cell::Gru => 3,
            Cell::Lstm => 4,
        }
    }

    /// The default activations of one direction.
    fn default_activations(self) -> &'static [&'static str] {
        match self {
            Cell::Rnn => &["Tanh"],
            Cell::Gru => &["Sigmoid", "Tanh"],
            Cell::Lstm => &["Sigmoid", "Tanh", "Tanh"],
        }
    }
}

/// An activation function with its parameters.
#[derive(Clone, Debug)]
struct Activation {
    /// The ONNX name, lower-cased.
    name: String,
    /// `activation_alpha` (or the function's default).
    alpha: f64,
    /// `activation_beta` (or the function's default).
    beta: f64,
}

/// Defaults of (alpha, beta) for an activation, `None` where it takes none.
fn activation_params(name: &str) -> Result<(Option<f64>, Option<f64>), String> {
    Ok(match name {
        "relu" | "tanh" | "sigmoid" | "softsign" | "softplus" => (None, None),
        "affine" => (Some(1.0), Some(0.0)),
        "leakyrelu" => (Some(0.01), None),
        "thresholdedrelu" | "elu" => (Some(1.0), None),
        "scaledtanh" => (Some(1.0), Some(1.0)),
        "hardsigmoid" => (Some(0.2), Some(0.5)),
        other => return Err(format!("activation '{other}' is not supported")),
    })
}

/// The activations of each direction, `activation_alpha`/`activation_beta`
/// consumed in order by the functions that take them.
fn read_activations(cx: &NodeCx, cell: Cell, directions: usize) -> Result<Vec<Vec<Activation>>, String> {
    let per = cell.default_activations().len();
    let names: Vec<String> = match cx.attr_strs("activations") {
        None => cell.default_activations().iter().map(|s| s.to_string()).collect(),
        Some(n) if n.len() == per || n.len() == per * directions => n,
        Some(n) => {
            return Err(format!(
                "attribute 'activations' = {n:?} must name {per} function(s) per direction ({directions} direction(s))"
            ))
        }
    };
    let alphas = cx.attr_floats("activation_alpha").unwrap_or_default();
    let betas = cx.attr_floats("activation_beta").unwrap_or_default();
    let (mut ai, mut bi) = (0, 0);
    let mut all = Vec::with_capacity(names.len());
    for name in &names {
        let name = name.to_ascii_lowercase();
        let (alpha, beta) = activation_params(&name)?;
        let take = |list: &[f32], i: &mut usize, default: Option<f64>| match default {
            Some(d) => {
                let v = list.get(*i).map_or(d, |&v| f64::from(v));
                *i += 1;
                v
            }
            None => 0.0,
        };
        let alpha = take(&alphas, &mut ai, alpha);
        let beta = take(&betas, &mut bi, beta);
        all.push(Activation { name, alpha, beta });
    }
    Ok((0..directions).map(|d| all[(d * per) % all.len()..][..per].to_vec()).collect())
}

/// Applies an activation elementwise.
fn activate(cx: &mut NodeCx, act: &Activation, x: ValueId) -> Result<ValueId, String> {
    let c = |cx: &mut NodeCx, v: f64| scalar_like(cx, x, v);
    match act.name.as_str() {
        "sigmoid" => unary(cx, &elementwise::SIGMOID, x),
        "tanh" => unary(cx, &elementwise::TANH, x),
        "relu" => {
            let zero = c(cx, 0.0)?;
            binary(cx, &elementwise::MAX, x, zero)
        }
        "affine" => {
            let (a, b) = (c(cx, act.alpha)?, c(cx, act.beta)?);
            let scaled = binary(cx, &elementwise::MUL, x, a)?;
            binary(cx, &elementwise::ADD, scaled, b)
        }
        "leakyrelu" | "elu" | "thresholdedrelu" => {
            let zero = c(cx, 0.0)?;
            let alpha = c(cx, act.alpha)?;
            let (test, other) = match act.name.as_str() {
                "leakyrelu" => (binary(cx, &elementwise::GE, x, zero)?, binary(cx, &elementwise::MUL, x, alpha)?),
                "elu" => {
                    let e = unary(cx, &elementwise::EXP, x)?;
                    let one = c(cx, 1.0)?;
                    let em1 = binary(cx, &elementwise::SUB, e, one)?;
                    (binary(cx, &elementwise::GE, x, zero)?, binary(cx, &elementwise::MUL, em1, alpha)?)
                }
                _ => (binary(cx, &elementwise::GT, x, alpha)?, zero),
            };
            select(cx, test, x, other)
        }
        "scaledtanh" => {
            let (a, b) = (c(cx, act.alpha)?, c(cx, act.beta)?);
            let inner = binary(cx, &elementwise::MUL, x, b)?;
            let t = unary(cx, &elementwise::TANH, inner)?;
            binary(cx, &elementwise::MUL, t, a)
        }
        "hardsigmoid" => {
            let (a, b) = (c(cx, act.alpha)?, c(cx, act.beta)?);
            let scaled = binary(cx, &elementwise::MUL, x, a)?;
            let shifted = binary(cx, &elementwise::ADD, scaled, b)?;
            let (zero, one) = (c(cx, 0.0)?, c(cx, 1.0)?);
            let low = binary(cx, &elementwise::MAX, shifted, zero)?;
            binary(cx, &elementwise::MIN, low, one)
        }
        "softsign" => {
            let abs = unary(cx, &elementwise::ABS, x)?;
            let one = c(cx, 1.0)?;
            let denom = binary(cx, &elementwise::ADD, abs, one)?;
            binary(cx, &elementwise::DIV, x, denom)
        }
        "softplus" => {
            let e = unary(cx, &elementwise::EXP, x)?;
            let one = c(cx, 1.0)?;
            let sum = binary(cx, &elementwise::ADD, e, one)?;
            unary(cx, &elementwise::LOG, sum)
        }
        other => Err(format!("activation '{other}' is not supported")),
    }
}

/// What every step of one node shares.
struct Setup {
    /// The recurrence.
    cell: Cell,
    /// The hidden size H.
    hidden: i64,
    /// The batch size B.
    batch: Dim,
    /// `clip`: pre-activations are clamped to `[-clip, clip]`.
    clip: Option<f64>,
    /// GRU `linear_before_reset`.
    linear_before_reset: bool,
    /// LSTM `input_forget`: the forget gate is `1 - input gate`.
    input_forget: bool,
    /// `sequence_lens` (`[B]`), when given and not all the full length.
    seq_lens: Option<ValueId>,
}

/// One direction's operands, prepared outside the time loop.
struct Direction {
    /// Input projections of every step, biases folded in: `[T, B, G*H]`.
    xw: ValueId,
    /// Recurrent weight `[G*H, H]` (GRU without `linear_before_reset`: the
    /// update and reset rows only, `[2H, H]`).
    r: ValueId,
    /// GRU without `linear_before_reset`: the candidate's recurrent weight `[H, H]`.
    r_candidate: Option<ValueId>,
    /// GRU with `linear_before_reset`: the candidate's recurrent bias `[H]`.
    rb_candidate: Option<ValueId>,
    /// LSTM peepholes (input, output, forget), each `[H]`.
    peepholes: Option<[ValueId; 3]>,
    /// Initial hidden (and, for LSTM, cell) state, `[B, H]` each.
    init: Vec<ValueId>,
    /// Whether the steps run from the last to the first.
    reverse: bool,
    /// f, g (and h) of this direction.
    acts: Vec<Activation>,
}

/// `min(max(x, -clip), clip)` when clipping, else `x`.
fn clip(cx: &mut NodeCx, s: &Setup, x: ValueId) -> Result<ValueId, String> {
    let Some(c) = s.clip else { return Ok(x) };
    let (low, high) = (scalar_like(cx, x, -c)?, scalar_like(cx, x, c)?);
    let raised = binary(cx, &elementwise::MAX, x, low)?;
    binary(cx, &elementwise::MIN, raised, high)
}

/// `act(clip(x))`.
fn gate(cx: &mut NodeCx, s: &Setup, act: &Activation, x: ValueId) -> Result<ValueId, String> {
    let clipped = clip(cx, s, x)?;
    activate(cx, act, clipped)
}

/// Columns `[k*H, (k+n)*H)` of a `[B, G*H]` gate tensor.
fn gates(cx: &mut NodeCx, s: &Setup, x: ValueId, k: i64, n: i64) -> Result<ValueId, String> {
    slice(cx, x, 1, k * s.hidden, (k + n) * s.hidden)
}

/// Gate `k`'s pre-activation plus its peephole `p` times the cell `state`.
fn peephole(cx: &mut NodeCx, s: &Setup, pre: ValueId, k: i64, p: ValueId, state: ValueId) -> Result<ValueId, String> {
    let g = gates(cx, s, pre, k, 1)?;
    let pc = binary(cx, &elementwise::MUL, p, state)?;
    binary(cx, &elementwise::ADD, g, pc)
}

/// One step: from the step's input projection `xt` (`[B, G*H]`) and the
/// state (`[h]` or `[h, c]`, `[B, H]` each) to the next state.
fn step(cx: &mut NodeCx, s: &Setup, d: &Direction, xt: ValueId, state: &[ValueId]) -> Result<Vec<ValueId>, String> {
    let h = state[0];
    let recurrent = dot(cx, h, d.r, 1, 1)?;
    match s.cell {
        Cell::Rnn => {
            let pre = binary(cx, &elementwise::ADD, xt, recurrent)?;
            Ok(vec![gate(cx, s, &d.acts[0], pre)?])
        }
        Cell::Gru => {
            let x_zr = gates(cx, s, xt, 0, 2)?;
            let x_h = gates(cx, s, xt, 2, 1)?;
            let h_zr = if s.linear_before_reset { gates(cx, s, recurrent, 0, 2)? } else { recurrent };
            let pre_zr = binary(cx, &elementwise::ADD, x_zr, h_zr)?;
            let zr = gate(cx, s, &d.acts[0], pre_zr)?;
            let z = gates(cx, s, zr, 0, 1)?;
            let r = gates(cx, s, zr, 1, 1)?;
            let reset = if s.linear_before_reset {
                let mut h_h = gates(cx, s, recurrent, 2, 1)?;
                if let Some(rb) = d.rb_candidate {
                    h_h = binary(cx, &elementwise::ADD, h_h, rb)?;
                }
                binary(cx, &elementwise::MUL, r, h_h)?
            } else {
                let rh = binary(cx, &elementwise::MUL, r, h)?;
                let r_candidate = d.r_candidate.ok_or("the candidate's recurrent weight is missing")?;
                dot(cx, rh, r_candidate, 1, 1)?
            };
            let pre_h = binary(cx, &elementwise::ADD, x_h, reset)?;
            let candidate = gate(cx, s, &d.acts[1], pre_h)?;
            // (1 - z) * candidate + z * h = candidate + z * (h - candidate)
            let diff = binary(cx, &elementwise::SUB, h, candidate)?;
            let kept = binary(cx, &elementwise::MUL, z, diff)?;
            Ok(vec![binary(cx, &elementwise::ADD, candidate, kept)?])
        }
        Cell::Lstm => {
            let c = state[1];
            let pre = binary(cx, &elementwise::ADD, xt, recurrent)?;
            let pre_c = gates(cx, s, pre, 3, 1)?;
            let candidate = gate(cx, s, &d.acts[1], pre_c)?;
            // (input gate, forget gate unless coupled, output gate unless it has a peephole)
            let (i, f, o) = match d.peepholes {
                None => {
                    let iof = gates(cx, s, pre, 0, 3)?;
                    let iof = gate(cx, s, &d.acts[0], iof)?;
                    let i = gates(cx, s, iof, 0, 1)?;
                    let f = if s.input_forget { None } else { Some(gates(cx, s, iof, 2, 1)?) };
                    (i, f, Some(gates(cx, s, iof, 1, 1)?))
                }
                Some([pi, _, pf]) => {
                    let pre_i = peephole(cx, s, pre, 0, pi, c)?;
                    let i = gate(cx, s, &d.acts[0], pre_i)?;
                    let f = if s.input_forget {
                        None
                    } else {
                        let pre_f = peephole(cx, s, pre, 2, pf, c)?;
                        Some(gate(cx, s, &d.acts[0], pre_f)?)
                    };
                    (i, f, None)
                }
            };
            let f = match f {
                Some(f) => f,
                None => {
                    let one = scalar_like(cx, i, 1.0)?;
                    binary(cx, &elementwise::SUB, one, i)?
                }
            };
            let kept = binary(cx, &elementwise::MUL, f, c)?;
            let added = binary(cx, &elementwise::MUL, i, candidate)?;
            let c_next = binary(cx, &elementwise::ADD, kept, added)?;
            let o = match (o, d.peepholes) {
                (Some(o), _) => o,
                // The output gate's peephole sees the new cell state.
                (None, Some([_, po, _])) => {
                    let pre_o = peephole(cx, s, pre, 1, po, c_next)?;
                    gate(cx, s, &d.acts[0], pre_o)?
                }
                (None, None) => return Err("the output gate has neither a value nor a peephole".into()),
            };
            let squashed = activate(cx, &d.acts[2], c_next)?;
            let h_next = binary(cx, &elementwise::MUL, o, squashed)?;
            Ok(vec![h_next, c_next])
        }
    }
}

/// With `sequence_lens`, keeps the old state (and outputs zeros) for the
/// batch entries whose sequence has ended before step `t` (a scalar index).
/// Returns the new state and the step's output.
fn finish_step(
    cx: &mut NodeCx,
    s: &Setup,
    t: ValueId,
    old: &[ValueId],
    new: Vec<ValueId>,
) -> Result<(Vec<ValueId>, ValueId), String> {
    let Some(lens) = s.seq_lens else {
        let y = new[0];
        return Ok((new, y));
    };
    let lens_dtype = cx.ty(lens)?.dtype;
    let t = cast_to(cx, t, lens_dtype)?;
    let live = binary(cx, &elementwise::LT, t, lens)?;
    let live = reshape(cx, live, &[s.batch.clone(), Dim::Known(1)])?;
    let mut state = Vec::with_capacity(new.len());
    for (&o, n) in old.iter().zip(new) {
        state.push(select(cx, live, n, o)?);
    }
    let zero = scalar_like(cx, state[0], 0.0)?;
    let y = select(cx, live, state[0], zero)?;
    Ok((state, y))
}

/// Runs one direction over a static number of steps, unrolled. Returns the
/// step outputs stacked as `[T, 1, B, H]` and the final state.
fn unrolled(cx: &mut NodeCx, s: &Setup, d: &Direction, steps: u64) -> Result<(ValueId, Vec<ValueId>), String> {
    let gh = s.hidden * s.cell.gates() as i64;
    let mut state = d.init.clone();
    let mut outputs = vec![None; steps as usize];
    for k in 0..steps {
        let t = if d.reverse { steps - 1 - k } else { k };
        let xt = slice(cx, d.xw, 0, t as i64, t as i64 + 1)?;
        let xt = reshape(cx, xt, &[s.batch.clone(), Dim::Known(gh as u64)])?;
        let next = step(cx, s, d, xt, &state)?;
        let (next, y) = match s.seq_lens {
            Some(lens) => {
                let t_value = cx.scalar(cx.ty(lens)?.dtype, t as f64)?;
                finish_step(cx, s, t_value, &state, next)?
            }
            None => {
                let y = next[0];
                (next, y)
            }
        };
        state = next;
        let y = reshape(cx, y, &[Dim::Known(1), Dim::Known(1), s.batch.clone(), Dim::Known(s.hidden as u64)])?;
        outputs[t as usize] = Some(y);
    }
    let outputs: Vec<ValueId> = outputs.into_iter().flatten().collect();
    Ok((concat(cx, &outputs, 0)?, state))
}

/// Runs one direction over `steps` (symbolic, or too many to unroll) with
/// a `tg.loop` whose body is one step and whose scan output is the step's
/// output. Returns the outputs stacked as `[T, 1, B, H]` and the final state.
fn looped(cx: &mut NodeCx, s: &Setup, d: &Direction, steps: &Dim) -> Result<(ValueId, Vec<ValueId>), String> {
    let shape_of = cx.op(&shape::SHAPE_OF, &[d.xw], Attrs::new())?;
    let first = slice(cx, shape_of, 0, 0, 1)?;
    let trips = reshape(cx, first, &[])?;
    let go = cx.scalar(DType::I1, 1.0)?;
    let scalar = |dtype| Type::Tensor(TensorType::scalar(dtype));
    let mut arg_types = vec![scalar(DType::I64), scalar(DType::I1)];
    for &v in &d.init {
        arg_types.push(Type::Tensor(cx.ty(v)?));
    }
    let region = cx.imp.func.new_region();
    let block = cx.imp.func.new_block(region, &arg_types);
    let args = cx.imp.func.block(block).args.clone();
    let saved = cx.imp.at;
    cx.imp.at = InsertPoint::End(block);
    let body = (|| -> Result<(), String> {
        let i = args[0];
        let t = if d.reverse {
            let one = cx.scalar(DType::I64, 1.0)?;
            let last = binary(cx, &elementwise::SUB, trips, one)?;
            binary(cx, &elementwise::SUB, last, i)?
        } else {
            i
        };
        // A scalar index drops the time axis: [B, G*H].
        let xt = cx.op(&index::GATHER, &[d.xw, t], Attrs::from([("axis", Attr::Int(0))]))?;
        let state = &args[2..];
        let next = step(cx, s, d, xt, state)?;
        let (next, y) = finish_step(cx, s, t, state, next)?;
        let mut yields = vec![args[1]];
        yields.extend(next);
        yields.push(y);
        let loc = cx.loc();
        let imp = &mut *cx.imp;
        let mut b = Builder::new(&mut imp.func, &imp.symbols);
        b.set_insert_point(InsertPoint::End(block));
        b.set_loc(loc);
        b.yield_values(&yields).map_err(|e| e.message)
    })();
    cx.imp.at = saved;
    body?;
    let mut operands = vec![trips, go];
    operands.extend(d.init.iter().copied());
    let results = cx.ops_with_regions(&control::LOOP, &operands, Attrs::new(), vec![region])?;
    let (state, scan) = results.split_at(d.init.len());
    let mut ys = scan.first().copied().ok_or("the loop has no scan output")?;
    if d.reverse {
        ys = cx.op(&shape::REVERSE, &[ys], Attrs::from([("axes", Attr::ints(&[0]))]))?;
    }
    let dims = [steps.clone(), Dim::Known(1), s.batch.clone(), Dim::Known(s.hidden as u64)];
    Ok((reshape(cx, ys, &dims)?, state.to_vec()))
}

/// Direction `d` of a `[D, ...]` weight, with the leading axis dropped.
fn direction_of(cx: &mut NodeCx, v: ValueId, d: usize) -> Result<ValueId, String> {
    let dims = cx.dims(v)?;
    let one = slice(cx, v, 0, d as i64, d as i64 + 1)?;
    reshape(cx, one, &dims[1..])
}

/// Converts an RNN, GRU or LSTM node.
fn recurrent(cx: &mut NodeCx, cell: Cell) -> Result<Vec<ValueId>, String> {
    let (mut x, w, r) = (cx.input(0)?, cx.input(1)?, cx.input(2)?);
    let b = cx.opt_input(3)?;
    let seq_lens = cx.opt_input(4)?;
    let mut h0 = cx.opt_input(5)?;
    let (mut c0, peep) = if cell == Cell::Lstm { (cx.opt_input(6)?, cx.opt_input(7)?) } else { (None, None) };
    let layout = cx.attr_int("layout", 0);
    if layout != 0 && layout != 1 {
        return Err(format!("attribute 'layout' = {layout} must be 0 or 1"));
    }
    if layout == 1 {
        x = transpose(cx, x, &[1, 0, 2])?;
        if let Some(v) = h0 {
            h0 = Some(transpose(cx, v, &[1, 0, 2])?);
        }
        if let Some(v) = c0 {
            c0 = Some(transpose(cx, v, &[1, 0, 2])?);
        }
    }
    let xt = cx.ty(x)?;
    if xt.rank() != 3 {
        return Err(format!("input #0 {xt} must have rank 3 (sequence, batch, input)"));
    }
    let direction = cx.attr_str("direction", "forward");
    let reverses: &[bool] = match direction.as_str() {
        "forward" => &[false],
        "reverse" => &[true],
        "bidirectional" => &[false, true],
        other => return Err(format!("attribute 'direction' = {other} is not forward, reverse or bidirectional")),
    };
    let rt = cx.ty(r)?;
    if rt.rank() != 3 {
        return Err(format!("input #2 (R) {rt} must have rank 3 (directions, gates * hidden, hidden)"));
    }
    if rt.dims[0].known().is_some_and(|n| n != reverses.len() as u64) {
        return Err(format!(
            "input #2 (R) {rt} does not have {} direction(s) for direction = {direction}",
            reverses.len()
        ));
    }
    let hidden = match (cx.attr("hidden_size").map(|a| a.i), rt.dims[2].known()) {
        (Some(h), Some(rh)) if h != rh as i64 => {
            return Err(format!("attribute 'hidden_size' = {h} does not match R {rt}"));
        }
        (_, Some(rh)) => rh as i64,
        (Some(h), None) if h > 0 => h,
        _ => return Err(format!("the hidden size must be static (R is {rt})")),
    };
    let seq_lens = match seq_lens {
        Some(lens) => match cx.const_ints(4) {
            Ok(values) if xt.dims[0].known().is_some_and(|t| values.iter().all(|&l| l == t as i64)) => None,
            _ => Some(lens),
        },
        None => None,
    };
    let setup = Setup {
        cell,
        hidden,
        batch: xt.dims[1].clone(),
        clip: cx.attr("clip").map(|a| f64::from(a.f)),
        linear_before_reset: cell == Cell::Gru && cx.attr_int("linear_before_reset", 0) != 0,
        input_forget: cell == Cell::Lstm && cx.attr_int("input_forget", 0) != 0,
        seq_lens,
    };
    let acts = read_activations(cx, cell, reverses.len())?;
    let gh = hidden * cell.gates() as i64;
    let state_dims = [setup.batch.clone(), Dim::Known(hidden as u64)];
    // The initial states given (per direction, sliced below); absent ones start at zero.
    let given_states = if cell == Cell::Lstm { vec![h0, c0] } else { vec![h0] };
    let mut zero_state = None;
    let mut ys = Vec::new();
    let mut finals: Vec<Vec<ValueId>> = Vec::new();
    for (di, &reverse) in reverses.iter().enumerate() {
        let w_d = direction_of(cx, w, di)?;
        let mut xw = dot(cx, x, w_d, 2, 1)?;
        let r_d = direction_of(cx, r, di)?;
        let mut rb_candidate = None;
        if let Some(b) = b {
            let b_d = direction_of(cx, b, di)?;
            let wb = slice(cx, b_d, 0, 0, gh)?;
            let rb = slice(cx, b_d, 0, gh, 2 * gh)?;
            let bias = if setup.linear_before_reset {
                // The candidate's recurrent bias stays inside the reset product.
                let wb_zr = slice(cx, wb, 0, 0, 2 * hidden)?;
                let rb_zr = slice(cx, rb, 0, 0, 2 * hidden)?;
                let zr = binary(cx, &elementwise::ADD, wb_zr, rb_zr)?;
                let wb_h = slice(cx, wb, 0, 2 * hidden, gh)?;
                rb_candidate = Some(slice(cx, rb, 0, 2 * hidden, gh)?);
                concat(cx, &[zr, wb_h], 0)?
            } else {
                binary(cx, &elementwise::ADD, wb, rb)?
            };
            xw = binary(cx, &elementwise::ADD, xw, bias)?;
        }
        let (r_main, r_candidate) = if cell == Cell::Gru && !setup.linear_before_reset {
            (slice(cx, r_d, 0, 0, 2 * hidden)?, Some(slice(cx, r_d, 0, 2 * hidden, gh)?))
        } else {
            (r_d, None)
        };
        let peepholes = match peep {
            Some(p) => {
                let p_d = direction_of(cx, p, di)?;
                let part = |cx: &mut NodeCx, k: i64| slice(cx, p_d, 0, k * hidden, (k + 1) * hidden);
                Some([part(cx, 0)?, part(cx, 1)?, part(cx, 2)?])
            }
            None => None,
        };
        let mut init = Vec::with_capacity(given_states.len());
        for given in &given_states {
            init.push(match *given {
                Some(v) => direction_of(cx, v, di)?,
                None => match zero_state {
                    Some(z) => z,
                    None => {
                        let zero = scalar_like(cx, x, 0.0)?;
                        let attrs = Attrs::from([("shape", Attr::shape(&state_dims))]);
                        *zero_state.insert(cx.op(&shape::BROADCAST_TO, &[zero], attrs)?)
                    }
                },
            });
        }
        let dir =
            Direction { xw, r: r_main, r_candidate, rb_candidate, peepholes, init, reverse, acts: acts[di].clone() };
        let (y, state) = match xt.dims[0].known() {
            Some(0) => return Err(format!("input #0 {xt} has an empty sequence")),
            Some(steps) if steps <= UNROLL_LIMIT => unrolled(cx, &setup, &dir, steps)?,
            _ => looped(cx, &setup, &dir, &xt.dims[0])?,
        };
        ys.push(y);
        finals.push(state);
    }
    let mut y = concat(cx, &ys, 1)?;
    if layout == 1 {
        y = transpose(cx, y, &[2, 0, 1, 3])?;
    }
    let mut outputs = vec![y];
    let per_state = finals.first().map_or(0, Vec::len);
    for k in 0..per_state {
        let mut parts = Vec::with_capacity(finals.len());
        for f in &finals {
            parts.push(reshape(cx, f[k], &[Dim::Known(1), setup.batch.clone(), Dim::Known(hidden as u64)])?);
        }
        let mut last = concat(cx, &parts, 0)?;
        if layout == 1 {
            last = transpose(cx, last, &[1, 0, 2])?;
        }
        outputs.push(last);
    }
    Ok(outputs)
}

#[cfg(test)]
mod tests {
    use super::super::elementwise::testing::*;
    use crate::onnx::proto::attribute_proto::AttributeType;
    use crate::onnx::proto::{AttributeProto, ModelProto, ValueInfoProto};

    /// A strings attribute.
    fn strings(name: &str, v: &[&str]) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            strings: v.iter().map(|s| s.as_bytes().to_vec()).collect(),
            r#type: AttributeType::Strings as i32,
            ..Default::default()
        }
    }

    /// A recurrent node over `x` (a negative dim is the symbol `N`) with
    /// weights for `directions` directions of `gates` gates of `hidden` units.
    fn recurrent(
        op: &str,
        x: &[i64],
        gates: i64,
        hidden: i64,
        directions: i64,
        attrs: Vec<AttributeProto>,
    ) -> ModelProto {
        let inputs = vec![
            value("x", FLOAT, x),
            value("w", FLOAT, &[directions, gates * hidden, x[2]]),
            value("r", FLOAT, &[directions, gates * hidden, hidden]),
        ];
        let mut m = model(22, op, inputs, vec![], &["x", "w", "r"], attrs);
        let outputs = if op == "LSTM" { vec!["y", "y_h", "y_c"] } else { vec!["y", "y_h"] };
        if let Some(g) = m.graph.as_mut() {
            g.node[0].output = outputs.iter().map(|s| s.to_string()).collect();
            g.output = outputs.iter().map(|n| ValueInfoProto { name: n.to_string(), ..Default::default() }).collect();
        }
        m
    }

    #[test]
    fn a_static_sequence_unrolls_with_one_recurrent_dot_per_step() {
        let m = recurrent("LSTM", &[3, 2, 4], 4, 5, 2, vec![string("direction", "bidirectional")]);
        let text = ir(&m);
        // One input projection per direction, one recurrent product per step and direction.
        assert_eq!(text.matches("tg.dot").count(), 2 + 2 * 3, "{text}");
        assert!(!text.contains("tg.loop"), "{text}");
        assert!(text.contains("-> (tensor<3x2x2x5xf32>, tensor<2x2x5xf32>, tensor<2x2x5xf32>)"), "{text}");
        // GRU without linear_before_reset: the candidate's product is separate.
        let text = ir(&recurrent("GRU", &[2, 1, 3], 3, 4, 1, vec![]));
        assert_eq!(text.matches("tg.dot").count(), 1 + 2 * 2, "{text}");
        let text = ir(&recurrent("GRU", &[2, 1, 3], 3, 4, 1, vec![int("linear_before_reset", 1)]));
        assert_eq!(text.matches("tg.dot").count(), 1 + 2, "{text}");
    }

    #[test]
    fn a_symbolic_sequence_becomes_a_loop() {
        let m = recurrent("GRU", &[-1, 2, 3], 3, 4, 2, vec![string("direction", "bidirectional"), int("layout", 0)]);
        let text = ir(&m);
        assert_eq!(text.matches("tg.loop").count(), 2, "{text}");
        assert!(text.contains("tg.reverse") && text.contains("tg.gather"), "{text}");
        assert!(text.contains("-> (tensor<N x 2 x 2 x 4 x f32>, tensor<2x2x4xf32>)"), "{text}");
        // layout = 1: batch first.
        let m = recurrent("RNN", &[2, -1, 3], 1, 4, 1, vec![int("layout", 1)]);
        assert!(ir(&m).contains("-> (tensor<2 x N x 1 x 4 x f32>, tensor<2x1x4xf32>)"), "{}", ir(&m));
    }

    #[test]
    fn bad_attributes_are_named() {
        let m = recurrent("RNN", &[2, 1, 3], 1, 4, 1, vec![strings("activations", &["Gelu"])]);
        assert!(error(&m).contains("activation 'gelu' is not supported"), "{}", error(&m));
        let m = recurrent("RNN", &[2, 1, 3], 1, 4, 1, vec![int("hidden_size", 5)]);
        assert!(error(&m).contains("attribute 'hidden_size' = 5 does not match"), "{}", error(&m));
        let m = recurrent("LSTM", &[2, 1, 3], 4, 4, 1, vec![string("direction", "bidirectional")]);
        assert!(error(&m).contains("does not have 2 direction(s)"), "{}", error(&m));
    }
}
