//! Compact ONNX: chains of graph primitives that are one ONNX operator.
//!
//! The importer decomposes composite operators (Gemm, Softmax,
//! LayerNormalization, ...) into primitives; exporting those primitives
//! one by one would give a model nobody recognises. Each function below
//! matches one such chain ending at a root op and returns the single
//! [`Compact`] node that computes the root's result; the law it relies on
//! is written above it. Matching never mutates: [`Plan::new`] tries the
//! patterns on every op of every block from the last to the first (so a
//! longer chain is found before a piece of it), accepts a match only when
//! none of the chain's intermediate values is used outside it, and then
//! works out which ops are still needed (constants a chain absorbed, and
//! anything else unused, are dropped).

use super::cx::{attr_float, attr_int, OpCx};
use super::linalg::conv_attrs;
use super::window::Pool;
use crate::onnx::proto::AttributeProto;
use crate::onnx::tensor::dtype_to_onnx;
use std::collections::{HashMap, HashSet};
use tessera_ir::dialect::graph::{elementwise as ew, linalg, reduce, shape, value, window};
use tessera_ir::infer::{broadcast_dims, normalize_axes, InferCx, NoSymbols};
use tessera_ir::op::same_op;
use tessera_ir::{Attr, DType, Dim, Func, Loc, OpData, OpId, OpRef, TensorType, Traits, Type, ValueDef, ValueId};

/// One ONNX node standing for a chain of ops.
#[derive(Clone, Debug)]
pub struct Compact {
    /// The ONNX operator.
    pub op_type: &'static str,
    /// Its inputs (`None`: an omitted optional input).
    pub inputs: Vec<Option<ValueId>>,
    /// Its attributes.
    pub attrs: Vec<AttributeProto>,
    /// Every op of the chain, the root included; none but the root is emitted.
    pub covered: Vec<OpId>,
}

impl Compact {
    fn new(
        op_type: &'static str,
        inputs: Vec<Option<ValueId>>,
        attrs: Vec<AttributeProto>,
        covered: Vec<OpId>,
    ) -> Compact {
        Compact { op_type, inputs, attrs, covered }
    }

    /// Emits the node for the root op `cx` views, named after the chain's locations.
    pub fn emit(&self, cx: &mut OpCx) {
        let mut ops = self.covered.clone();
        ops.sort_by_key(|&o| cx.func.position(o));
        cx.set_loc(&Loc::Fused(ops.iter().map(|&o| cx.func.op(o).loc.clone()).collect()));
        let inputs: Vec<String> = self.inputs.iter().map(|v| v.map(|v| cx.ex.name_of(v)).unwrap_or_default()).collect();
        let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let y = cx.out(0);
        cx.node(self.op_type, &refs, &[&y], self.attrs.clone());
    }
}

/// What the export of one function does with each op.
#[derive(Debug, Default)]
pub struct Plan {
    /// The compact node of each chain's root.
    compact: HashMap<OpId, Compact>,
    /// Ops inside a chain (roots included).
    covered: HashSet<OpId>,
    /// Ops whose results something emitted reads (terminators of live regions included).
    live: HashSet<OpId>,
}

/// A recogniser: the compact node for the chain ending at the root, if any.
type Pattern = fn(&Matcher, OpId) -> Option<Compact>;

/// The recognisers, tried in this order on each op.
const PATTERNS: &[Pattern] =
    &[layer_norm, gelu, softmax, log_softmax, gemm, conv_bias, average_pool, max_pool, matmul, relu, sigmoid, flatten];

impl Plan {
    /// Finds the chains of `func` and the ops still needed, for export at `opset`.
    pub fn new(func: &Func, opset: i64) -> Plan {
        let m = Matcher::new(func, opset);
        let mut plan = Plan::default();
        let order = func.walk();
        let mut blocks = Vec::new();
        for &op in &order {
            if let Some(b) = func.op(op).block {
                if !blocks.contains(&b) {
                    blocks.push(b);
                }
            }
        }
        for b in blocks {
            for &root in func.block(b).ops.iter().rev() {
                if plan.covered.contains(&root) {
                    continue;
                }
                let found = PATTERNS.iter().find_map(|p| {
                    p(&m, root)
                        .filter(|c| c.covered.iter().all(|o| !plan.covered.contains(o)) && m.sealed(&c.covered, root))
                });
                if let Some(c) = found {
                    plan.covered.extend(c.covered.iter().copied());
                    plan.compact.insert(root, c);
                }
            }
        }
        plan.find_live(func, &m, &order);
        plan
    }

    /// Marks, to a fixpoint, the ops whose results an emitted op reads.
    fn find_live(&mut self, func: &Func, m: &Matcher, order: &[OpId]) {
        // A chain's root reads the chain's inputs, which it may not have as operands.
        let mut readers: HashMap<ValueId, Vec<OpId>> = HashMap::new();
        for (&root, c) in &self.compact {
            for v in c.inputs.iter().flatten() {
                readers.entry(*v).or_default().push(root);
            }
        }
        loop {
            let mut changed = false;
            for &op in order.iter().rev() {
                if self.live.contains(&op) {
                    continue;
                }
                let data = func.op(op);
                let live = if data.def.traits().contains(Traits::TERMINATOR) {
                    func.parent_op(op).is_none_or(|p| self.live.contains(&p))
                } else if self.covered.contains(&op) && !self.compact.contains_key(&op) {
                    false
                } else {
                    data.results.iter().any(|r| {
                        let users = m.users(*r).iter().chain(readers.get(r).into_iter().flatten());
                        users.into_iter().any(|&u| self.live.contains(&u) && self.reads(func, u, *r))
                    })
                };
                if live {
                    self.live.insert(op);
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
    }

    /// Whether emitting `user` reads `v`.
    fn reads(&self, func: &Func, user: OpId, v: ValueId) -> bool {
        match self.compact.get(&user) {
            Some(c) => c.inputs.contains(&Some(v)),
            None => !self.covered.contains(&user) && func.op(user).operands.contains(&v),
        }
    }

    /// Whether `op` is emitted (on its own or as a chain's root).
    pub fn emits(&self, op: OpId) -> bool {
        self.live.contains(&op) && (!self.covered.contains(&op) || self.compact.contains_key(&op))
    }

    /// The compact node `op` is the root of.
    pub fn compact(&self, op: OpId) -> Option<&Compact> {
        self.compact.get(&op)
    }
}

/// Read-only queries over one function for the recognisers.
struct Matcher<'f> {
    func: &'f Func,
    opset: i64,
    users: HashMap<ValueId, Vec<OpId>>,
}

impl<'f> Matcher<'f> {
    fn new(func: &'f Func, opset: i64) -> Matcher<'f> {
        let mut users: HashMap<ValueId, Vec<OpId>> = HashMap::new();
        for op in func.walk() {
            for &v in &func.op(op).operands {
                users.entry(v).or_default().push(op);
            }
        }
        Matcher { func, opset, users }
    }

    /// The ops reading `v`.
    fn users(&self, v: ValueId) -> &[OpId] {
        self.users.get(&v).map_or(&[], Vec::as_slice)
    }

    /// Whether every intermediate value of a chain is read only inside it
    /// (the root's result may go anywhere) and the chain lies in one block.
    fn sealed(&self, covered: &[OpId], root: OpId) -> bool {
        let block = self.func.op(root).block;
        covered.iter().all(|&op| {
            let data = self.func.op(op);
            data.block == block
                && (op == root || data.results.iter().all(|r| self.users(*r).iter().all(|u| covered.contains(u))))
        })
    }

    fn op(&self, id: OpId) -> &'f OpData {
        self.func.op(id)
    }

    fn is(&self, id: OpId, def: OpRef) -> bool {
        same_op(self.op(id).def, def)
    }

    /// The single-result op of kind `def` computing `v`.
    fn producer(&self, v: ValueId, def: OpRef) -> Option<OpId> {
        match self.func.value(v).def {
            ValueDef::Result(op, 0) if self.is(op, def) && self.op(op).results.len() == 1 => Some(op),
            _ => None,
        }
    }

    /// The tensor type of `v`.
    fn ty(&self, v: ValueId) -> Option<&'f TensorType> {
        self.func.ty(v).as_tensor()
    }

    /// The value every element of constant `v` holds.
    fn splat(&self, v: ValueId) -> Option<f64> {
        let op = self.producer(v, &value::CONSTANT)?;
        match self.op(op).attrs.get("value") {
            Some(Attr::Dense(d)) => d.splat_value().map(|s| s.to_f64()),
            _ => None,
        }
    }

    /// Whether `v` is a constant of `want` (to f32 rounding).
    fn splat_is(&self, v: ValueId, want: f64) -> bool {
        self.splat(v).is_some_and(|s| (s - want).abs() <= 1e-6 * want.abs().max(1e-30))
    }

    /// `f(a, b)` for the operands of binary op `id` of kind `def`, tried
    /// in both orders when `def` is commutative.
    fn binary<R>(&self, id: OpId, def: OpRef, f: impl Fn(ValueId, ValueId) -> Option<R>) -> Option<R> {
        if !self.is(id, def) {
            return None;
        }
        let ops = &self.op(id).operands;
        let (a, b) = (ops[0], ops[1]);
        f(a, b).or_else(|| if def.traits().contains(Traits::COMMUTATIVE) { f(b, a) } else { None })
    }

    /// [`Matcher::binary`] on the op computing `v`.
    fn binary_of<R>(&self, v: ValueId, def: OpRef, f: impl Fn(ValueId, ValueId) -> Option<R>) -> Option<R> {
        self.binary(self.producer(v, def)?, def, f)
    }

    /// The one operand of the op of kind `def` computing `v`, with the op.
    fn unary_of(&self, v: ValueId, def: OpRef) -> Option<(ValueId, OpId)> {
        let op = self.producer(v, def)?;
        Some((self.op(op).operands[0], op))
    }

    /// The (first) result of op `id`.
    fn result(&self, id: OpId) -> Option<ValueId> {
        self.op(id).results.first().copied()
    }

    /// An integer-array attribute.
    fn ints(&self, id: OpId, name: &str) -> Option<Vec<i64>> {
        self.op(id).attrs.get(name).and_then(Attr::as_ints)
    }

    /// A bool attribute, `default` when absent.
    fn flag(&self, id: OpId, name: &str, default: bool) -> Option<bool> {
        match self.op(id).attrs.get(name) {
            None => Some(default),
            Some(Attr::Bool(b)) => Some(*b),
            Some(_) => None,
        }
    }

    /// `(x, axes)` when `v` is a reduction of kind `def` keeping dims.
    fn reduction_of(&self, v: ValueId, def: OpRef) -> Option<(ValueId, Vec<usize>, OpId)> {
        let op = self.producer(v, def)?;
        let x = self.op(op).operands[0];
        if !self.flag(op, "keepdims", false)? {
            return None;
        }
        let axes = normalize_axes(&self.ints(op, "axes")?, self.ty(x)?.rank()).ok()?;
        Some((x, axes, op))
    }

    /// `(x, axes, ops)` when `v` is the mean `reduce_sum(x, axes) / count`
    /// with dims kept and a constant count equal to the reduced size.
    fn mean_of(&self, v: ValueId) -> Option<(ValueId, Vec<usize>, [OpId; 2])> {
        let div = self.producer(v, &ew::DIV)?;
        let [sum, count] = [self.op(div).operands[0], self.op(div).operands[1]];
        let (x, axes, red) = self.reduction_of(sum, &reduce::REDUCE_SUM)?;
        let dims = &self.ty(x)?.dims;
        let size: u64 = axes.iter().map(|&a| dims[a].known()).product::<Option<u64>>()?;
        self.splat_is(count, size as f64).then_some((x, axes, [div, red]))
    }

    /// The attribute reader of op `id`, over `types` (its operand types).
    fn reader<'a>(&self, id: OpId, types: &'a [Type]) -> InferCx<'a>
    where
        'f: 'a,
    {
        InferCx { operands: types, attrs: &self.op(id).attrs, regions: &[], symbols: &NoSymbols }
    }

    /// The operand types of op `id`.
    fn operand_types(&self, id: OpId) -> Vec<Type> {
        self.op(id).operands.iter().map(|&v| self.func.ty(v).clone()).collect()
    }
}

/// Axes `axes` (sorted) are exactly `axis..rank`, for some `axis`; returns it.
fn trailing(axes: &[usize], rank: usize) -> Option<usize> {
    let mut sorted = axes.to_vec();
    sorted.sort_unstable();
    let first = *sorted.first()?;
    (sorted == (first..rank).collect::<Vec<_>>()).then_some(first)
}

// max(x, 0) == Relu(x)
fn relu(m: &Matcher, root: OpId) -> Option<Compact> {
    let y = m.result(root)?;
    m.binary(root, &ew::MAX, |x, zero| {
        let xt = m.ty(x)?;
        let int_ok = xt.dtype.is_signed_int() && m.opset >= 14;
        let fits = m.splat_is(zero, 0.0) && m.ty(y)? == xt && (xt.dtype.is_float() || int_ok);
        fits.then(|| Compact::new("Relu", vec![Some(x)], vec![], vec![root]))
    })
}

// 1 / (1 + exp(-x)) == Sigmoid(x)
fn sigmoid(m: &Matcher, root: OpId) -> Option<Compact> {
    let denominator = if m.is(root, &ew::RECIPROCAL) {
        m.op(root).operands[0]
    } else {
        m.binary(root, &ew::DIV, |one, d| m.splat_is(one, 1.0).then_some(d))?
    };
    let add = m.producer(denominator, &ew::ADD)?;
    let (x, e, n) = m.binary(add, &ew::ADD, |e, one| {
        let (nx, e_op) = m.unary_of(e, &ew::EXP)?;
        let (x, n_op) = m.unary_of(nx, &ew::NEG)?;
        m.splat_is(one, 1.0).then_some((x, e_op, n_op))
    })?;
    (m.ty(x)?.dtype.is_float() && m.ty(m.result(root)?)? == m.ty(x)?)
        .then(|| Compact::new("Sigmoid", vec![Some(x)], vec![], vec![root, add, e, n]))
}

/// `(x, axis, ops)` for `e = exp(x - reduce_max(x, [axis]))` (or `exp(x)`), dims kept.
fn stable_exp(m: &Matcher, e: ValueId) -> Option<(ValueId, usize, Vec<OpId>, Option<ValueId>)> {
    let (s, exp) = m.unary_of(e, &ew::EXP)?;
    let shifted = m.binary_of(s, &ew::SUB, |x, mx| {
        let (x2, axes, red) = m.reduction_of(mx, &reduce::REDUCE_MAX)?;
        match axes.as_slice() {
            [a] if x2 == x => Some((x, *a, red)),
            _ => None,
        }
    });
    match shifted {
        Some((x, axis, red)) => Some((x, axis, vec![exp, m.producer(s, &ew::SUB)?, red], Some(s))),
        None => Some((s, usize::MAX, vec![exp], None)),
    }
}

// exp(x - max(x)) / sum(exp(x - max(x))) == Softmax(x, axis)    (over one axis)
fn softmax(m: &Matcher, root: OpId) -> Option<Compact> {
    let (e, total) = m.binary(root, &ew::DIV, |e, t| Some((e, t)))?;
    let (e2, axes, sum) = m.reduction_of(total, &reduce::REDUCE_SUM)?;
    let [axis] = axes.as_slice() else { return None };
    let (x, max_axis, mut ops) = stable_exp(m, e).filter(|_| e2 == e).map(|(x, a, ops, _)| (x, a, ops))?;
    if max_axis != usize::MAX && max_axis != *axis || !m.ty(x)?.dtype.is_float() {
        return None;
    }
    ops.extend([root, sum]);
    Some(Compact::new("Softmax", vec![Some(x)], vec![attr_int("axis", *axis as i64)], ops))
}

// (x - max(x)) - log(sum(exp(x - max(x)))) == LogSoftmax(x, axis)    (over one axis)
fn log_softmax(m: &Matcher, root: OpId) -> Option<Compact> {
    let (s, l) = m.binary(root, &ew::SUB, |s, l| Some((s, l)))?;
    let (total, log) = m.unary_of(l, &ew::LOG)?;
    let (e, axes, sum) = m.reduction_of(total, &reduce::REDUCE_SUM)?;
    let [axis] = axes.as_slice() else { return None };
    let (x, max_axis, mut ops, shifted) = stable_exp(m, e)?;
    if shifted != Some(s) || max_axis != *axis || !m.ty(x)?.dtype.is_float() {
        return None;
    }
    ops.extend([root, log, sum]);
    Some(Compact::new("LogSoftmax", vec![Some(x)], vec![attr_int("axis", *axis as i64)], ops))
}

/// A standardisation `(xc - mean(xc)) * rsqrt(mean((xc - mean)^2) + eps)`
/// (or `/ sqrt(...)`) over trailing axes, where `xc` is `x` or `x` cast
/// up, cast back to `x`'s dtype when cast up.
struct Standardized {
    x: ValueId,
    axis: usize,
    eps: f64,
    compute: DType,
    ops: Vec<OpId>,
}

fn standardized(m: &Matcher, n: ValueId) -> Option<Standardized> {
    let mut ops = Vec::new();
    let n0 = match m.unary_of(n, &ew::CAST) {
        Some((inner, cast)) => {
            ops.push(cast);
            inner
        }
        None => n,
    };
    let n0_op = m.producer(n0, &ew::MUL).or_else(|| m.producer(n0, &ew::DIV))?;
    ops.push(n0_op);
    let (c, ve, root_op) = if m.is(n0_op, &ew::MUL) {
        m.binary(n0_op, &ew::MUL, |c, inv| m.unary_of(inv, &ew::RSQRT).map(|(ve, r)| (c, ve, r)))?
    } else {
        m.binary(n0_op, &ew::DIV, |c, sd| m.unary_of(sd, &ew::SQRT).map(|(ve, r)| (c, ve, r)))?
    };
    ops.push(root_op);
    let (var, eps, add) =
        m.binary_of(ve, &ew::ADD, |var, eps| Some((var, m.splat(eps)?, m.producer(ve, &ew::ADD)?)))?;
    ops.push(add);
    let (sq, var_axes, var_ops) = m.mean_of(var)?;
    ops.extend(var_ops);
    let sq_op = m
        .binary_of(sq, &ew::MUL, |a, b| (a == c && b == c).then(|| m.producer(sq, &ew::MUL)).flatten())
        .or_else(|| {
            m.binary_of(sq, &ew::POW, |a, two| {
                (a == c && m.splat_is(two, 2.0)).then(|| m.producer(sq, &ew::POW)).flatten()
            })
        })?;
    ops.push(sq_op);
    let c_op = m.producer(c, &ew::SUB)?;
    let (xc, mean) = m.binary(c_op, &ew::SUB, |xc, mean| Some((xc, mean)))?;
    ops.push(c_op);
    let (xc2, mean_axes, mean_ops) = m.mean_of(mean)?;
    ops.extend(mean_ops);
    if xc2 != xc || mean_axes != var_axes {
        return None;
    }
    let x = match m.unary_of(xc, &ew::CAST) {
        Some((x, cast)) => {
            ops.push(cast);
            x
        }
        None => xc,
    };
    let (xt, nt) = (m.ty(x)?, m.ty(n)?);
    let axis = trailing(&mean_axes, xt.rank())?;
    (xt.dtype == nt.dtype && xt.dims == nt.dims).then_some(Standardized { x, axis, eps, compute: m.ty(xc)?.dtype, ops })
}

// standardize(x, axes = axis..) * scale + bias == LayerNormalization(x, scale, bias, axis, epsilon)
fn layer_norm(m: &Matcher, root: OpId) -> Option<Compact> {
    if m.opset < 17 {
        return None;
    }
    let (scaled, bias) = match m.binary(root, &ew::ADD, |y, b| m.producer(y, &ew::MUL).map(|op| (op, b))) {
        Some((op, b)) => (op, Some(b)),
        None => (root, None),
    };
    let (s, scale) = m.binary(scaled, &ew::MUL, |n, scale| Some((standardized(m, n)?, scale)))?;
    let xt = m.ty(s.x)?;
    if !xt.dtype.is_float() {
        return None;
    }
    let normalized = &xt.dims[s.axis..];
    let fits = |v: ValueId| m.ty(v).is_some_and(|t| t.dims == normalized && t.dtype == xt.dtype);
    if !fits(scale) || bias.is_some_and(|b| !fits(b)) {
        return None;
    }
    let mut ops = s.ops;
    ops.push(scaled);
    if scaled != root {
        ops.push(root);
    }
    let mut attrs = vec![attr_int("axis", s.axis as i64), attr_float("epsilon", s.eps as f32)];
    if matches!(xt.dtype, DType::F16 | DType::BF16) && s.compute == xt.dtype {
        attrs.push(attr_int("stash_type", dtype_to_onnx(s.compute) as i64));
    }
    Some(Compact::new("LayerNormalization", vec![Some(s.x), Some(scale), bias], attrs, ops))
}

/// `(x, approximate, ops)` for the gate `1 + erf(x / sqrt 2)` or
/// `1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))`.
fn gelu_gate(m: &Matcher, g: ValueId) -> Option<(ValueId, &'static str, Vec<OpId>)> {
    let add = m.producer(g, &ew::ADD)?;
    let inner = m.binary(add, &ew::ADD, |inner, one| m.splat_is(one, 1.0).then_some(inner))?;
    if let Some((s, erf)) = m.unary_of(inner, &ew::ERF) {
        let scaled = m.binary_of(s, &ew::MUL, |x, k| {
            m.splat_is(k, std::f64::consts::FRAC_1_SQRT_2).then_some((x, m.producer(s, &ew::MUL)?))
        });
        let (x, op) = scaled.or_else(|| {
            m.binary_of(s, &ew::DIV, |x, k| {
                m.splat_is(k, std::f64::consts::SQRT_2).then_some((x, m.producer(s, &ew::DIV)?))
            })
        })?;
        return Some((x, "none", vec![add, erf, op]));
    }
    let (t, tanh) = m.unary_of(inner, &ew::TANH)?;
    let k = (2.0 / std::f64::consts::PI).sqrt();
    let (u, t_op) = m.binary_of(t, &ew::MUL, |u, c| m.splat_is(c, k).then_some((u, m.producer(t, &ew::MUL)?)))?;
    let u_op = m.producer(u, &ew::ADD)?;
    let (x, w) = m.binary(u_op, &ew::ADD, |x, w| Some((x, w)))?;
    let w_op = m.producer(w, &ew::MUL)?;
    let x3 = m.binary(w_op, &ew::MUL, |x3, c| m.splat_is(c, 0.044_715).then_some(x3))?;
    let x3_op = m.producer(x3, &ew::MUL)?;
    let x2 = m.binary(x3_op, &ew::MUL, |x2, x1| (x1 == x).then_some(x2))?;
    let x2_op = m.producer(x2, &ew::MUL)?;
    let ok = m.op(x2_op).operands.iter().all(|&o| o == x);
    ok.then(|| (x, "tanh", vec![add, tanh, t_op, u_op, w_op, x3_op, x2_op]))
}

// (0.5 x) (1 + erf(x / sqrt 2)) == x (1 + erf(x / sqrt 2)) 0.5 == Gelu(x)    (and the tanh form)
fn gelu(m: &Matcher, root: OpId) -> Option<Compact> {
    if m.opset < 20 {
        return None;
    }
    let half_x_times_gate = m.binary(root, &ew::MUL, |h, g| {
        let half_op = m.producer(h, &ew::MUL)?;
        let x = m.binary(half_op, &ew::MUL, |x, half| m.splat_is(half, 0.5).then_some(x))?;
        let (x2, approximate, mut ops) = gelu_gate(m, g)?;
        ops.push(half_op);
        (x2 == x).then_some((x, approximate, ops))
    });
    let found = half_x_times_gate.or_else(|| {
        m.binary(root, &ew::MUL, |p, half| {
            let p_op = m.producer(p, &ew::MUL)?;
            let (x, approximate, mut ops) =
                m.binary(p_op, &ew::MUL, |x, g| gelu_gate(m, g).filter(|(x2, _, _)| *x2 == x))?;
            ops.push(p_op);
            m.splat_is(half, 0.5).then_some((x, approximate, ops))
        })
    });
    let (x, approximate, mut ops) = found?;
    let xt = m.ty(x)?;
    if !xt.dtype.is_float() || m.ty(m.result(root)?)? != xt {
        return None;
    }
    ops.push(root);
    let attrs = if approximate == "none" { vec![] } else { vec![super::cx::attr_str("approximate", approximate)] };
    Some(Compact::new("Gelu", vec![Some(x)], attrs, ops))
}

/// A 2-D `tg.dot` as Gemm sees it: operands with their transposes folded.
struct GemmCore {
    a: ValueId,
    b: ValueId,
    trans_a: bool,
    trans_b: bool,
    alpha: f64,
    ops: Vec<OpId>,
}

/// `v` as `alpha * op(a) op(b)` (or without alpha), a plain rank-2 contraction.
fn gemm_core(m: &Matcher, v: ValueId) -> Option<GemmCore> {
    let (dot, alpha, mut ops) = match m.binary_of(v, &ew::MUL, |d, k| Some((m.producer(d, &linalg::DOT)?, m.splat(k)?)))
    {
        Some((dot, alpha)) => (dot, alpha, vec![m.producer(v, &ew::MUL)?, dot]),
        None => (m.producer(v, &linalg::DOT)?, 1.0, vec![m.producer(v, &linalg::DOT)?]),
    };
    let d = m.op(dot);
    if m.ints(dot, "lhs_batch").is_some_and(|b| !b.is_empty()) {
        return None;
    }
    let (mut a, mut b) = (d.operands[0], d.operands[1]);
    if m.ty(a)?.rank() != 2 || m.ty(b)?.rank() != 2 {
        return None;
    }
    let (lc, rc) = (m.ints(dot, "lhs_contract")?, m.ints(dot, "rhs_contract")?);
    let ([lc], [rc]) = (lc.as_slice(), rc.as_slice()) else { return None };
    let (mut trans_a, mut trans_b) = (lc.rem_euclid(2) == 0, rc.rem_euclid(2) == 1);
    for (side, trans) in [(&mut a, &mut trans_a), (&mut b, &mut trans_b)] {
        if let Some((inner, t)) = m.unary_of(*side, &shape::TRANSPOSE) {
            if m.ints(t, "perm").as_deref() == Some(&[1, 0]) && m.users(*side).len() == 1 {
                *side = inner;
                *trans = !*trans;
                ops.push(t);
            }
        }
    }
    let dtype_ok =
        m.ty(a)?.dtype != DType::I1 && !matches!(m.ty(a)?.dtype, DType::I8 | DType::I16 | DType::U8 | DType::U16);
    dtype_ok.then_some(GemmCore { a, b, trans_a, trans_b, alpha, ops })
}

// alpha * op(A) op(B) + beta * C == Gemm(A, B, C, alpha, beta, transA, transB)
fn gemm(m: &Matcher, root: OpId) -> Option<Compact> {
    let y = m.result(root)?;
    let with_bias = m.binary(root, &ew::ADD, |p, c| {
        let core = gemm_core(m, p)?;
        let (c0, beta, beta_op) = match m.binary_of(c, &ew::MUL, |c0, k| Some((c0, m.splat(k)?))) {
            Some((c0, beta)) => (c0, beta, m.producer(c, &ew::MUL)),
            None => (c, 1.0, None),
        };
        let (ct, yt) = (m.ty(c0)?, m.ty(y)?);
        let out = m.ty(p)?;
        let lead = out.rank().checked_sub(ct.rank())?;
        let broadcasts = ct.dims.iter().enumerate().all(|(i, d)| *d == Dim::Known(1) || d.same(&out.dims[lead + i]));
        (yt == out && ct.dtype == out.dtype && broadcasts).then_some((core, Some(c0), beta, beta_op))
    });
    let (core, c, beta, beta_op) = match with_bias {
        Some(found) => found,
        None => {
            let core = gemm_core(m, y)?;
            if !(core.trans_a || core.trans_b || core.alpha != 1.0) {
                return None;
            }
            (core, None, 1.0, None)
        }
    };
    let mut attrs = Vec::new();
    if core.alpha != 1.0 {
        attrs.push(attr_float("alpha", core.alpha as f32));
    }
    if beta != 1.0 {
        attrs.push(attr_float("beta", beta as f32));
    }
    if core.trans_a {
        attrs.push(attr_int("transA", 1));
    }
    if core.trans_b {
        attrs.push(attr_int("transB", 1));
    }
    let mut ops = core.ops;
    if c.is_some() {
        ops.push(root);
    }
    ops.extend(beta_op);
    let mut inputs = vec![Some(core.a), Some(core.b)];
    inputs.extend(c.map(Some));
    Some(Compact::new("Gemm", inputs, attrs, ops))
}

// conv(x, w) + reshape(b, [1, O, 1, ...]) == Conv(x, w, b)
fn conv_bias(m: &Matcher, root: OpId) -> Option<Compact> {
    let y = m.result(root)?;
    m.binary(root, &ew::ADD, |c, bv| {
        let conv = m.producer(c, &linalg::CONV)?;
        let (reshape, b) = (m.producer(bv, &shape::RESHAPE)?, m.unary_of(bv, &shape::RESHAPE)?.0);
        let (ct, bt, bvt) = (m.ty(c)?, m.ty(b)?, m.ty(bv)?);
        let channels = ct.dims.get(1)?;
        let view_ok = bvt.rank() == ct.rank()
            && bvt.dims.iter().enumerate().all(|(i, d)| if i == 1 { d.same(channels) } else { *d == Dim::Known(1) });
        if !(view_ok && bt.rank() == 1 && bt.dims[0].same(channels) && m.ty(y)? == ct && ct.dtype.is_float()) {
            return None;
        }
        let types = m.operand_types(conv);
        let a = m.reader(conv, &types);
        let spatial = ct.rank() - 2;
        let plain = a.ints_or("lhs_dilation", vec![1; spatial]).ok()?.iter().all(|&l| l == 1)
            && ["pad_low", "pad_high"]
                .iter()
                .all(|p| a.ints_or(p, vec![0; spatial]).is_ok_and(|v| v.iter().all(|&x| x >= 0)));
        if !plain {
            return None;
        }
        let attrs = conv_attrs(&a, spatial).ok()?;
        let d = m.op(conv);
        Some(Compact::new(
            "Conv",
            vec![Some(d.operands[0]), Some(d.operands[1]), Some(b)],
            attrs,
            vec![root, conv, reshape],
        ))
    })
}

/// The spatial pool of a `tg.reduce_window` of `kind` that ONNX pools take as is.
fn pool_of(m: &Matcher, op: OpId, kind: &str) -> Option<Pool> {
    if !m.is(op, &window::REDUCE_WINDOW) || m.op(op).attrs.get("kind") != Some(&Attr::Str(kind.to_string())) {
        return None;
    }
    let types = m.operand_types(op);
    let rank = types.first()?.as_tensor()?.rank();
    let pool = Pool::read(&m.reader(op, &types), rank).ok()?;
    pool.pads_fit().then_some(pool)
}

// reduce_window(x, max, spatial window) == MaxPool(x)
fn max_pool(m: &Matcher, root: OpId) -> Option<Compact> {
    let pool = pool_of(m, root, "max")?;
    let x = m.op(root).operands[0];
    let dtype = m.ty(x)?.dtype;
    (dtype.is_float() || matches!(dtype, DType::I8 | DType::U8))
        .then(|| Compact::new("MaxPool", vec![Some(x)], pool.attrs(), vec![root]))
}

/// Whether `v` is all ones: a constant, or a broadcast constant.
fn ones(m: &Matcher, v: ValueId) -> bool {
    m.splat_is(v, 1.0) || m.unary_of(v, &shape::BROADCAST_TO).is_some_and(|(s, _)| m.splat_is(s, 1.0))
}

// reduce_window(x, sum) / window size == AveragePool(x, count_include_pad = 1)
// reduce_window(x, sum) / reduce_window(ones, sum) == AveragePool(x, count_include_pad = 0)
fn average_pool(m: &Matcher, root: OpId) -> Option<Compact> {
    m.binary(root, &ew::DIV, |s, count| {
        let sum = m.producer(s, &window::REDUCE_WINDOW)?;
        let pool = pool_of(m, sum, "sum")?;
        let x = m.op(sum).operands[0];
        let xt = m.ty(x)?;
        if !xt.dtype.is_float() || m.ty(m.result(root)?)? != m.ty(s)? {
            return None;
        }
        if pool.dilations.iter().any(|&d| d != 1) && m.opset < 19 {
            return None;
        }
        let padded = pool.low.iter().chain(&pool.high).any(|&p| p != 0);
        let mut attrs = pool.attrs();
        let mut ops = vec![root, sum];
        if m.splat_is(count, pool.kernel.iter().product::<i64>() as f64) {
            if padded {
                attrs.push(attr_int("count_include_pad", 1));
            }
        } else {
            let counter = m.producer(count, &window::REDUCE_WINDOW)?;
            let source = m.op(counter).operands[0];
            let spatial_ok = m.ty(source)?.dims.get(2..) == xt.dims.get(2..);
            if m.op(counter).attrs != m.op(sum).attrs || !ones(m, source) || !spatial_ok {
                return None;
            }
            ops.push(counter);
        }
        Some(Compact::new("AveragePool", vec![Some(x)], attrs, ops))
    })
}

/// The batch and contracting axes of a `tg.dot`, normalised.
fn dot_axes(m: &Matcher, dot: OpId) -> Option<[Vec<usize>; 4]> {
    let d = m.op(dot);
    let (ra, rb) = (m.ty(d.operands[0])?.rank(), m.ty(d.operands[1])?.rank());
    let read = |name: &str, rank: usize| normalize_axes(&m.ints(dot, name).unwrap_or_default(), rank).ok();
    Some([read("lhs_batch", ra)?, read("rhs_batch", rb)?, read("lhs_contract", ra)?, read("rhs_contract", rb)?])
}

/// Whether a dot with these axes on operands of ranks `ra`, `rb` is numpy's
/// matmul (batch axes leading on both sides, one contraction: lhs's last,
/// rhs's second-to-last, or a 1-D operand's only axis).
fn matmul_axes(ra: usize, rb: usize, [lb, rbatch, lc, rc]: &[Vec<usize>; 4]) -> bool {
    let ([lc], [rc]) = (lc.as_slice(), rc.as_slice()) else { return false };
    let nb = lb.len();
    if nb > 0 {
        let leading: Vec<usize> = (0..nb).collect();
        return *lb == leading && *rbatch == leading && ra == nb + 2 && rb == nb + 2 && *lc == nb + 1 && *rc == nb;
    }
    let lhs_ok = ra >= 1 && *lc == ra - 1;
    let rhs_ok = match rb {
        1 => *rc == 0,
        2 => *rc == 0,
        _ => ra == 1 && *rc == rb - 2,
    };
    lhs_ok && rhs_ok
}

/// Whether `tg.dot` op `dot` of `func` is numpy's matmul of its operands as they are.
pub fn matmul_shaped(func: &Func, dot: OpId) -> bool {
    let m = Matcher { func, opset: 0, users: HashMap::new() };
    let d = func.op(dot);
    let ranks = (m.ty(d.operands[0]).map(TensorType::rank), m.ty(d.operands[1]).map(TensorType::rank));
    match (dot_axes(&m, dot), ranks) {
        (Some(axes), (Some(ra), Some(rb))) => matmul_axes(ra, rb, &axes),
        _ => false,
    }
}

/// `v` itself, or what `v` broadcasts when only its leading (batch) dims grow.
fn unbroadcast(m: &Matcher, v: ValueId) -> (ValueId, Option<OpId>) {
    if let Some((inner, op)) = m.unary_of(v, &shape::BROADCAST_TO) {
        if let (Some(it), Some(vt)) = (m.ty(inner), m.ty(v)) {
            if it.rank() >= 2 && it.dims[it.rank() - 2..] == vt.dims[vt.rank() - 2..] {
                return (inner, Some(op));
            }
        }
    }
    (v, None)
}

// dot(a, b) with numpy's matmul axes (batch operands broadcast, or a 2-D
// lhs against a batched rhs followed by moving its rows after the batch) == MatMul(a, b)
fn matmul(m: &Matcher, root: OpId) -> Option<Compact> {
    if m.is(root, &shape::TRANSPOSE) {
        let input = m.op(root).operands[0];
        let dot = m.producer(input, &linalg::DOT)?;
        let d = m.op(dot);
        let (a, b) = (d.operands[0], d.operands[1]);
        let (ra, rb) = (m.ty(a)?.rank(), m.ty(b)?.rank());
        let [lb, _, lc, rc] = dot_axes(m, dot)?;
        let nb = rb.checked_sub(2)?;
        let mut perm: Vec<i64> = (1..=nb as i64).collect();
        perm.extend([0, nb as i64 + 1]);
        let fits = ra == 2 && rb >= 3 && lb.is_empty() && lc == [1] && rc == [nb] && m.ints(root, "perm")? == perm;
        return fits.then(|| Compact::new("MatMul", vec![Some(a), Some(b)], vec![], vec![root, dot]));
    }
    if !m.is(root, &linalg::DOT) {
        return None;
    }
    let d = m.op(root);
    let axes = dot_axes(m, root)?;
    let (at, bt) = (m.ty(d.operands[0])?, m.ty(d.operands[1])?);
    if !matmul_axes(at.rank(), bt.rank(), &axes) {
        return None;
    }
    let mut ops = vec![root];
    let (mut a, mut b) = (d.operands[0], d.operands[1]);
    let nb = axes[0].len();
    if nb > 0 {
        // Batch operands the importer broadcast: MatMul broadcasts them itself.
        let pick = |v: ValueId| match unbroadcast(m, v) {
            (inner, Some(op)) if m.users(v).len() == 1 => (inner, Some(op)),
            _ => (v, None),
        };
        let ((a0, ao), (b0, bo)) = (pick(a), pick(b));
        let (a0t, b0t) = (m.ty(a0)?, m.ty(b0)?);
        let batch = broadcast_dims(&[&a0t.dims[..a0t.rank() - 2], &b0t.dims[..b0t.rank() - 2]]).ok();
        if (ao.is_some() || bo.is_some()) && batch.as_deref() == Some(&at.dims[..nb]) {
            (a, b) = (a0, b0);
            ops.extend(ao.into_iter().chain(bo));
        }
    }
    Some(Compact::new("MatMul", vec![Some(a), Some(b)], vec![], ops))
}

// reshape(x, [prod(dims[..k]), prod(dims[k..])]) == Flatten(x, axis = k)
fn flatten(m: &Matcher, root: OpId) -> Option<Compact> {
    if !m.is(root, &shape::RESHAPE) {
        return None;
    }
    let x = m.op(root).operands[0];
    let (xt, yt) = (m.ty(x)?, m.ty(m.result(root)?)?);
    if yt.rank() != 2 || xt.rank() == 0 {
        return None;
    }
    let product = |dims: &[Dim]| dims.iter().fold(Dim::Known(1), |acc, d| acc.mul(d));
    let axis = (1..=xt.rank())
        .chain([0])
        .find(|&k| product(&xt.dims[..k]).same(&yt.dims[0]) && product(&xt.dims[k..]).same(&yt.dims[1]))?;
    Some(Compact::new("Flatten", vec![Some(x)], vec![attr_int("axis", axis as i64)], vec![root]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_ir::dialect::graph::{elementwise as ew, linalg, reduce, window};
    use tessera_ir::infer::NoSymbols;
    use tessera_ir::{Attrs, Builder, DenseAttr};

    /// A function over arguments of `types`, built by `body`, returning what it returns.
    fn func(types: &[Type], body: impl FnOnce(&mut Builder, &[ValueId]) -> Vec<ValueId>) -> Func {
        let mut f = Func::new("f", types, Vec::new());
        let args = f.args().to_vec();
        let mut b = Builder::new(&mut f, &NoSymbols);
        let outs = body(&mut b, &args);
        b.ret(&outs).expect("return");
        f.results = outs.iter().map(|&v| f.ty(v).clone()).collect();
        f
    }

    fn t(dims: &[u64]) -> Type {
        Type::static_tensor(dims, DType::F32)
    }

    fn scalar(b: &mut Builder, v: f64) -> ValueId {
        b.scalar(DType::F32, v).expect("scalar")
    }

    fn bin(b: &mut Builder, def: OpRef, x: ValueId, y: ValueId) -> ValueId {
        b.binary(def, x, y).expect("binary")
    }

    fn un(b: &mut Builder, def: OpRef, x: ValueId) -> ValueId {
        b.unary(def, x).expect("unary")
    }

    fn red(b: &mut Builder, def: OpRef, x: ValueId, axes: &[i64]) -> ValueId {
        b.reduce(def, x, axes, true).expect("reduce")
    }

    /// The compact nodes of `f`'s plan at `opset`, as `(op_type, attrs)`, and
    /// how many ops are emitted (terminator excluded).
    fn compacted(f: &Func, opset: i64) -> (Vec<(String, Vec<String>)>, usize) {
        let plan = Plan::new(f, opset);
        let mut nodes: Vec<(String, Vec<String>)> = f
            .walk()
            .into_iter()
            .filter_map(|op| plan.compact(op))
            .map(|c| {
                let attrs = c.attrs.iter().map(show_attr).collect();
                (c.op_type.to_string(), attrs)
            })
            .collect();
        nodes.sort();
        let emitted = f
            .walk()
            .into_iter()
            .filter(|&op| plan.emits(op) && !f.op(op).def.traits().contains(Traits::TERMINATOR))
            .count();
        (nodes, emitted)
    }

    fn show_attr(a: &AttributeProto) -> String {
        match a.r#type {
            1 => format!("{}={}", a.name, a.f),
            2 => format!("{}={}", a.name, a.i),
            3 => format!("{}={}", a.name, String::from_utf8_lossy(&a.s)),
            7 => format!("{}={:?}", a.name, a.ints),
            _ => a.name.clone(),
        }
    }

    fn one(op_type: &str, attrs: &[&str]) -> Vec<(String, Vec<String>)> {
        vec![(op_type.to_string(), attrs.iter().map(|s| s.to_string()).collect())]
    }

    #[test]
    fn relu_from_max_with_zero() {
        let f = func(&[t(&[2, 3])], |b, a| {
            let z = scalar(b, 0.0);
            vec![bin(b, &ew::MAX, a[0], z)]
        });
        assert_eq!(compacted(&f, 17), (one("Relu", &[]), 1));
        let f = func(&[t(&[2, 3])], |b, a| {
            let z = scalar(b, 1.0);
            vec![bin(b, &ew::MAX, a[0], z)]
        });
        assert!(compacted(&f, 17).0.is_empty(), "max(x, 1) is no Relu");
    }

    #[test]
    fn sigmoid_from_its_definition() {
        let f = func(&[t(&[4])], |b, a| {
            let n = un(b, &ew::NEG, a[0]);
            let e = un(b, &ew::EXP, n);
            let one = scalar(b, 1.0);
            let d = bin(b, &ew::ADD, one, e);
            let one2 = scalar(b, 1.0);
            vec![bin(b, &ew::DIV, one2, d)]
        });
        assert_eq!(compacted(&f, 17), (one("Sigmoid", &[]), 1));
    }

    /// The importer's Softmax and LogSoftmax chains.
    fn softmax_chain(log: bool) -> Func {
        func(&[t(&[2, 5])], |b, a| {
            let m = red(b, &reduce::REDUCE_MAX, a[0], &[1]);
            let s = bin(b, &ew::SUB, a[0], m);
            let e = un(b, &ew::EXP, s);
            let total = red(b, &reduce::REDUCE_SUM, e, &[1]);
            if log {
                let l = un(b, &ew::LOG, total);
                vec![bin(b, &ew::SUB, s, l)]
            } else {
                vec![bin(b, &ew::DIV, e, total)]
            }
        })
    }

    #[test]
    fn softmax_and_log_softmax_from_the_stable_chain() {
        assert_eq!(compacted(&softmax_chain(false), 17), (one("Softmax", &["axis=1"]), 1));
        assert_eq!(compacted(&softmax_chain(true), 13), (one("LogSoftmax", &["axis=1"]), 1));
    }

    #[test]
    fn a_chain_whose_intermediate_escapes_stays_primitive() {
        let f = func(&[t(&[2, 5])], |b, a| {
            let m = red(b, &reduce::REDUCE_MAX, a[0], &[1]);
            let s = bin(b, &ew::SUB, a[0], m);
            let e = un(b, &ew::EXP, s);
            let total = red(b, &reduce::REDUCE_SUM, e, &[1]);
            vec![bin(b, &ew::DIV, e, total), e]
        });
        let (nodes, emitted) = compacted(&f, 17);
        assert!(nodes.is_empty(), "{nodes:?}");
        assert_eq!(emitted, 5);
    }

    /// The importer's LayerNormalization chain over the last axis of `[2, 4]`.
    fn layer_norm_chain(bias: bool) -> Func {
        func(&[t(&[2, 4]), t(&[4]), t(&[4])], |b, a| {
            let mean = |b: &mut Builder, v: ValueId| {
                let s = red(b, &reduce::REDUCE_SUM, v, &[1]);
                let n = scalar(b, 4.0);
                bin(b, &ew::DIV, s, n)
            };
            let mu = mean(b, a[0]);
            let c = bin(b, &ew::SUB, a[0], mu);
            let sq = bin(b, &ew::MUL, c, c);
            let var = mean(b, sq);
            let eps = scalar(b, 1e-5);
            let ve = bin(b, &ew::ADD, var, eps);
            let inv = un(b, &ew::RSQRT, ve);
            let n = bin(b, &ew::MUL, c, inv);
            let y = bin(b, &ew::MUL, n, a[1]);
            vec![if bias { bin(b, &ew::ADD, y, a[2]) } else { y }]
        })
    }

    #[test]
    fn layer_normalization_from_mean_and_variance() {
        let expected = one("LayerNormalization", &["axis=1", "epsilon=0.00001"]);
        assert_eq!(compacted(&layer_norm_chain(true), 17), (expected.clone(), 1));
        assert_eq!(compacted(&layer_norm_chain(false), 17), (expected, 1));
        assert!(compacted(&layer_norm_chain(true), 16).0.is_empty(), "LayerNormalization is opset 17");
    }

    /// The importer's Gelu chain (`tanh` approximation or erf).
    fn gelu_chain(tanh: bool) -> Func {
        func(&[t(&[3])], |b, a| {
            let x = a[0];
            let inner = if tanh {
                let x2 = bin(b, &ew::MUL, x, x);
                let x3 = bin(b, &ew::MUL, x2, x);
                let c = scalar(b, 0.044_715);
                let w = bin(b, &ew::MUL, x3, c);
                let u = bin(b, &ew::ADD, x, w);
                let k = scalar(b, (2.0 / std::f64::consts::PI).sqrt());
                let s = bin(b, &ew::MUL, u, k);
                un(b, &ew::TANH, s)
            } else {
                let k = scalar(b, std::f64::consts::FRAC_1_SQRT_2);
                let s = bin(b, &ew::MUL, x, k);
                un(b, &ew::ERF, s)
            };
            let one = scalar(b, 1.0);
            let g = bin(b, &ew::ADD, inner, one);
            let half = scalar(b, 0.5);
            let h = bin(b, &ew::MUL, x, half);
            vec![bin(b, &ew::MUL, h, g)]
        })
    }

    #[test]
    fn gelu_exact_and_tanh() {
        assert_eq!(compacted(&gelu_chain(false), 20), (one("Gelu", &[]), 1));
        assert_eq!(compacted(&gelu_chain(true), 20), (one("Gelu", &["approximate=tanh"]), 1));
        assert!(compacted(&gelu_chain(false), 17).0.is_empty(), "Gelu is opset 20");
    }

    #[test]
    fn gemm_folds_bias_scales_and_transposes() {
        let f = func(&[t(&[8, 16]), t(&[4, 16]), t(&[4])], |b, a| {
            let d = b.dot(a[0], a[1], (&[], &[]), (&[1], &[1])).expect("dot");
            vec![bin(b, &ew::ADD, d, a[2])]
        });
        assert_eq!(compacted(&f, 17), (one("Gemm", &["transB=1"]), 1));
        let f = func(&[t(&[16, 8]), t(&[16, 4]), t(&[8, 4])], |b, a| {
            let at = b.transpose(a[0], &[1, 0]).expect("transpose");
            let d = b.dot(at, a[1], (&[], &[]), (&[1], &[0])).expect("dot");
            let alpha = scalar(b, 0.5);
            let s = bin(b, &ew::MUL, d, alpha);
            let beta = scalar(b, 2.0);
            let c = bin(b, &ew::MUL, a[2], beta);
            vec![bin(b, &ew::ADD, s, c)]
        });
        assert_eq!(compacted(&f, 17), (one("Gemm", &["alpha=0.5", "beta=2", "transA=1"]), 1));
    }

    #[test]
    fn conv_with_its_bias() {
        let f = func(&[t(&[1, 3, 8, 8]), t(&[4, 3, 3, 3]), t(&[4])], |b, a| {
            let attrs = Attrs::from([("pad_low", Attr::ints(&[1, 1])), ("pad_high", Attr::ints(&[1, 1]))]);
            let y = b.op(&linalg::CONV, &[a[0], a[1]], attrs).expect("conv");
            let bv = b.reshape(a[2], &[Dim::Known(1), Dim::Known(4), Dim::Known(1), Dim::Known(1)]).expect("reshape");
            vec![bin(b, &ew::ADD, y, bv)]
        });
        assert_eq!(compacted(&f, 17), (one("Conv", &["pads=[1, 1, 1, 1]"]), 1));
    }

    #[test]
    fn pooling_windows() {
        let window = |kind: &str| {
            Attrs::from([
                ("kind", Attr::Str(kind.to_string())),
                ("window", Attr::ints(&[1, 1, 2, 2])),
                ("strides", Attr::ints(&[1, 1, 2, 2])),
            ])
        };
        let f =
            func(&[t(&[1, 2, 4, 4])], |b, a| vec![b.op(&window::REDUCE_WINDOW, &[a[0]], window("max")).expect("pool")]);
        assert_eq!(compacted(&f, 17), (one("MaxPool", &["kernel_shape=[2, 2]", "strides=[2, 2]"]), 1));
        let f = func(&[t(&[1, 2, 4, 4])], |b, a| {
            let s = b.op(&window::REDUCE_WINDOW, &[a[0]], window("sum")).expect("pool");
            let k = scalar(b, 4.0);
            vec![bin(b, &ew::DIV, s, k)]
        });
        assert_eq!(compacted(&f, 17), (one("AveragePool", &["kernel_shape=[2, 2]", "strides=[2, 2]"]), 1));
        let f = func(&[t(&[1, 2, 4, 4])], |b, a| {
            let mut attrs = window("sum");
            attrs.set("pad_low", Attr::ints(&[0, 0, 1, 1]));
            attrs.set("pad_high", Attr::ints(&[0, 0, 1, 1]));
            let s = b.op(&window::REDUCE_WINDOW, &[a[0]], attrs.clone()).expect("pool");
            let ones =
                DenseAttr::splat(TensorType::of(&[1, 1, 4, 4], DType::F32), tessera_ir::Scalar::Float(DType::F32, 1.0));
            let ones = b.constant(ones.expect("ones")).expect("constant");
            let count = b.op(&window::REDUCE_WINDOW, &[ones], attrs).expect("count");
            vec![bin(b, &ew::DIV, s, count)]
        });
        let (nodes, emitted) = compacted(&f, 17);
        assert_eq!(nodes, one("AveragePool", &["kernel_shape=[2, 2]", "strides=[2, 2]", "pads=[1, 1, 1, 1]"]));
        assert_eq!(emitted, 1);
    }

    #[test]
    fn matmul_for_batched_and_broadcast_dots() {
        let f = func(&[t(&[2, 5, 3, 4]), t(&[5, 4, 6])], |b, a| {
            let bb = b.broadcast_to(a[1], &[2, 5, 4, 6].map(Dim::Known)).expect("broadcast");
            vec![b.dot(a[0], bb, (&[0, 1], &[0, 1]), (&[3], &[2])).expect("dot")]
        });
        assert_eq!(compacted(&f, 17), (one("MatMul", &[]), 1));
        let f = func(&[t(&[3, 4]), t(&[2, 4, 5])], |b, a| {
            let d = b.dot(a[0], a[1], (&[], &[]), (&[1], &[1])).expect("dot");
            vec![b.transpose(d, &[1, 0, 2]).expect("transpose")]
        });
        assert_eq!(compacted(&f, 17), (one("MatMul", &[]), 1));
        let f = func(&[t(&[3, 4]), t(&[4, 5])], |b, a| vec![b.dot(a[0], a[1], (&[], &[]), (&[1], &[0])).expect("dot")]);
        assert_eq!(compacted(&f, 17), (one("MatMul", &[]), 1));
    }

    #[test]
    fn flatten_from_a_reshape_that_merges_trailing_axes() {
        let n = Dim::sym("N");
        let f =
            func(&[Type::tensor(vec![n.clone(), Dim::Known(16), Dim::Known(4), Dim::Known(4)], DType::F32)], |b, a| {
                vec![b.reshape(a[0], &[n.clone(), Dim::Known(256)]).expect("reshape")]
            });
        assert_eq!(compacted(&f, 17), (one("Flatten", &["axis=1"]), 1));
        let f = func(&[t(&[4, 6])], |b, a| vec![b.reshape(a[0], &[Dim::Known(3), Dim::Known(8)]).expect("reshape")]);
        assert!(compacted(&f, 17).0.is_empty());
    }
}
