//! The tensor operations operators and builtins share, each checked with a
//! diagnostic that spells out the shapes involved, then emitted as graph
//! primitives: elementwise arithmetic with numpy broadcasting (a number on
//! one side becomes a constant of the other side's dtype), `@` with numpy
//! `matmul` semantics, indexing and slicing, and reductions.

use super::ast::{BinOp, IndexItem};
use super::check::{Checker, Emit, TVal, Val};
use super::value::{fold, show, Static};
use tessera_ir::attr::Attr;
use tessera_ir::dialect::graph::{elementwise as ew, index, linalg, shape};
use tessera_ir::{Attrs, DType, Dim, OpRef, TensorType};
use super::ast::Span;

/// Two tensors of one dtype.
pub type Pair<V> = (TVal<V>, TVal<V>);

/// What one axis of an index expression selects.
enum AxisSel<V> {
    /// The whole axis (`:` or covered by `...`).
    All,
    /// `lo:hi:step` with each bound known (`None`: the default) or not known yet.
    Range { lo: Option<Option<i64>>, hi: Option<Option<i64>>, step: Option<i64> },
    /// One position, dropping the axis.
    At(Val<V>),
}

/// The graph op an elementwise binary operator maps to.
fn elementwise_def(op: BinOp) -> Option<OpRef> {
    Some(match op {
        BinOp::Add => &ew::ADD,
        BinOp::Sub => &ew::SUB,
        BinOp::Mul => &ew::MUL,
        BinOp::Div => &ew::DIV,
        BinOp::Mod => &ew::MOD,
        BinOp::Pow => &ew::POW,
        BinOp::Eq => &ew::EQ,
        BinOp::Ne => &ew::NE,
        BinOp::Lt => &ew::LT,
        BinOp::Le => &ew::LE,
        BinOp::Gt => &ew::GT,
        BinOp::Ge => &ew::GE,
        BinOp::And => &ew::AND,
        BinOp::Or => &ew::OR,
        BinOp::MatMul => return None,
    })
}

/// Why two shapes do not broadcast (numpy rules), if they do not: the
/// first axis of the result where both sizes are named, not 1, and differ.
pub fn broadcast_mismatch(shapes: &[&TensorType]) -> Option<String> {
    let rank = shapes.iter().map(|t| t.rank()).max().unwrap_or(0);
    for axis in 0..rank {
        let mut seen: Option<&Dim> = None;
        for t in shapes {
            let Some(i) = (axis + t.rank()).checked_sub(rank) else { continue };
            let d = &t.dims[i];
            if matches!(d, Dim::Known(1) | Dim::Unknown) {
                continue;
            }
            match seen {
                Some(s) if s != d => return Some(format!("axis {axis} has {s} and {d}")),
                _ => seen = Some(d),
            }
        }
    }
    None
}

/// Whether two dims may be equal (`?` may be anything).
fn agree(a: &Dim, b: &Dim) -> bool {
    a == b || matches!(a, Dim::Unknown) || matches!(b, Dim::Unknown)
}

impl<E: Emit> Checker<'_, E> {
    /// `a op b` for any operands: folded when both are compile-time values.
    pub fn binary_values(&mut self, op: BinOp, a: Val<E::V>, b: Val<E::V>, span: Span) -> Val<E::V> {
        match (a, b) {
            (Val::Error, _) | (_, Val::Error) => Val::Error,
            (Val::Static(x), Val::Static(y)) => match fold(op, &x, &y) {
                Ok(v) => Val::Static(v),
                Err(e) => {
                    self.error(span, e);
                    Val::Error
                }
            },
            (a, b) if op == BinOp::MatMul => self.matmul(a, b, span),
            (a, b) => match elementwise_def(op) {
                Some(def) => self.elementwise(def, op, a, b, span),
                None => Val::Error,
            },
        }
    }

    /// A binary elementwise op (`tg.add`, `tg.max`, ...) with numpy broadcasting.
    pub fn elementwise(&mut self, def: OpRef, op: BinOp, a: Val<E::V>, b: Val<E::V>, span: Span) -> Val<E::V> {
        let verb = if def.name() == "tg.max" || def.name() == "tg.min" {
            format!("take the {}imum of", &def.name()[3..])
        } else {
            op.verb().to_string()
        };
        let Some((ta, tb)) = self.tensor_pair(&verb, a, b, span) else { return Val::Error };
        if matches!(op, BinOp::And | BinOp::Or) && (ta.ty.dtype != DType::I1 || tb.ty.dtype != DType::I1) {
            self.error(span, format!("'{}' needs bools, got {} and {}", op.symbol(), show(&ta.ty), show(&tb.ty)));
            return Val::Error;
        }
        if let Some(why) = broadcast_mismatch(&[&ta.ty, &tb.ty]) {
            self.error(span, format!("cannot {verb} {} and {}: {why}", show(&ta.ty), show(&tb.ty)));
            return Val::Error;
        }
        self.prim(def, &[&ta, &tb], Attrs::new(), span)
    }

    /// Two operands as tensors of one dtype: a number becomes a constant of the other's dtype.
    pub fn tensor_pair(&mut self, verb: &str, a: Val<E::V>, b: Val<E::V>, span: Span) -> Option<Pair<E::V>> {
        let describe = |v: &Val<E::V>| match v {
            Val::Tensor(t) => show(&t.ty),
            other => other.describe(),
        };
        let (da, db) = (describe(&a), describe(&b));
        let promote = |cx: &mut Self, s: &Static, dtype: DType| -> Option<TVal<E::V>> {
            if let Err(e) = s.scalar(dtype) {
                cx.error(span, format!("cannot {verb} {da} and {db}: {e}; cast() first"));
                return None;
            }
            cx.scalar(s, dtype, span)
        };
        let (ta, tb) = match (a, b) {
            (Val::Tensor(x), Val::Tensor(y)) => (x, y),
            (Val::Tensor(x), Val::Static(s)) => {
                let y = promote(self, &s, x.ty.dtype)?;
                (x, y)
            }
            (Val::Static(s), Val::Tensor(y)) => {
                let x = promote(self, &s, y.ty.dtype)?;
                (x, y)
            }
            (Val::Error, _) | (_, Val::Error) => return None,
            _ => {
                self.error(span, format!("cannot {verb} {da} and {db}"));
                return None;
            }
        };
        if ta.ty.dtype != tb.ty.dtype {
            self.error(span, format!("cannot {verb} {da} and {db}: their dtypes differ; cast() one of them"));
            return None;
        }
        Some((ta, tb))
    }

    /// `a @ b` with numpy `matmul` semantics: vectors are promoted and the
    /// promoted axis dropped; leading (batch) axes broadcast.
    pub fn matmul(&mut self, a: Val<E::V>, b: Val<E::V>, span: Span) -> Val<E::V> {
        let (a, b) = match (a, b) {
            (Val::Tensor(a), Val::Tensor(b)) => (a, b),
            (Val::Error, _) | (_, Val::Error) => return Val::Error,
            (a, b) => {
                self.error(span, format!("'@' multiplies tensors, got {} and {}; use '*' to scale", a.describe(), b.describe()));
                return Val::Error;
            }
        };
        let (ra, rb) = (a.ty.rank(), b.ty.rank());
        let both = format!("{} and {}", show(&a.ty), show(&b.ty));
        if ra == 0 || rb == 0 {
            self.error(span, format!("cannot matrix-multiply {both}: '@' needs at least one axis on each side; use '*' for scalars"));
            return Val::Error;
        }
        if a.ty.dtype != b.ty.dtype {
            self.error(span, format!("cannot matrix-multiply {both}: their dtypes differ; cast() one of them"));
            return Val::Error;
        }
        let kb_axis = if rb == 1 { 0 } else { rb - 2 };
        let (ka, kb) = (&a.ty.dims[ra - 1], &b.ty.dims[kb_axis]);
        if !agree(ka, kb) {
            self.error(span, format!("cannot matrix-multiply {both}: the contracted axes have {ka} and {kb}"));
            return Val::Error;
        }
        let contract = |l: usize, r: usize| Attrs::from([("lhs_contract", Attr::ints(&[l as i64])), ("rhs_contract", Attr::ints(&[r as i64]))]);
        if rb <= 2 {
            // No batch axes on the rhs: contract lhs's last axis with rhs's first of the matrix.
            return self.prim(&linalg::DOT, &[&a, &b], contract(ra - 1, kb_axis), span);
        }
        if ra <= 2 {
            // (K) or (M, K) against (..., K, N): dot gives [M?, ..., N]; move M behind the batch.
            let Val::Tensor(d) = self.prim(&linalg::DOT, &[&a, &b], contract(ra - 1, kb_axis), span) else { return Val::Error };
            if ra == 1 {
                return Val::Tensor(d);
            }
            let nb = (rb - 2) as i64;
            let mut perm: Vec<i64> = (1..=nb).collect();
            perm.extend([0, nb + 1]);
            return self.prim(&shape::TRANSPOSE, &[&d], Attrs::from([("perm", Attr::ints(&perm))]), span);
        }
        // Both have batch axes: broadcast them to one shape, then a batched dot.
        let (ba, bb) = (&a.ty.dims[..ra - 2], &b.ty.dims[..rb - 2]);
        let (ta, tb) = (TensorType::new(ba.to_vec(), a.ty.dtype), TensorType::new(bb.to_vec(), b.ty.dtype));
        if let Some(why) = broadcast_mismatch(&[&ta, &tb]) {
            self.error(span, format!("cannot matrix-multiply {both}: the batch axes do not broadcast: {why}"));
            return Val::Error;
        }
        let batch = broadcast_dims(ba, bb);
        let nb = batch.len();
        let Some(a) = self.broadcast_batch(a, &batch, span) else { return Val::Error };
        let Some(b) = self.broadcast_batch(b, &batch, span) else { return Val::Error };
        let axes: Vec<i64> = (0..nb as i64).collect();
        let mut attrs = contract(nb + 1, nb);
        attrs.set("lhs_batch", Attr::ints(&axes));
        attrs.set("rhs_batch", Attr::ints(&axes));
        self.prim(&linalg::DOT, &[&a, &b], attrs, span)
    }

    /// `t` with its leading axes broadcast to `batch` (unchanged when they already are).
    fn broadcast_batch(&mut self, t: TVal<E::V>, batch: &[Dim], span: Span) -> Option<TVal<E::V>> {
        let r = t.ty.rank();
        let mut dims = batch.to_vec();
        dims.extend_from_slice(&t.ty.dims[r - 2..]);
        if dims == t.ty.dims {
            return Some(t);
        }
        match self.prim(&shape::BROADCAST_TO, &[&t], Attrs::from([("shape", Attr::shape(&dims))]), span) {
            Val::Tensor(t) => Some(t),
            _ => None,
        }
    }

    /// Indexing: of a compile-time list (`x.shape[0]`) or of a tensor.
    pub fn index(&mut self, v: Val<E::V>, items: &[IndexItem], span: Span) -> Val<E::V> {
        match v {
            Val::Error => Val::Error,
            Val::Tensor(t) => self.tensor_index(t, items, span),
            Val::Static(Static::List(list)) => self.list_index(list, items, span),
            other => {
                self.error(span, format!("cannot index {}", other.describe()));
                Val::Error
            }
        }
    }

    fn list_index(&mut self, list: Vec<Static>, items: &[IndexItem], span: Span) -> Val<E::V> {
        let [IndexItem::At(e)] = items else {
            self.error(span, "a list takes one index, as in x.shape[0]");
            return Val::Error;
        };
        let i = match self.expr(e) {
            Val::Static(Static::Int(i)) => i,
            Val::Static(Static::Unknown) => return Val::Static(Static::Unknown),
            Val::Error => return Val::Error,
            other => {
                self.error(e.span, format!("a list index is an integer, got {}", other.describe()));
                return Val::Error;
            }
        };
        let n = list.len() as i64;
        match usize::try_from(if i < 0 { i + n } else { i }).ok().and_then(|k| list.get(k)) {
            Some(s) => Val::Static(s.clone()),
            None => {
                self.error(e.span, format!("index {i} is out of range for a list of {n} value(s)"));
                Val::Error
            }
        }
    }

    fn tensor_index(&mut self, t: TVal<E::V>, items: &[IndexItem], span: Span) -> Val<E::V> {
        let rank = t.ty.rank();
        let ellipses = items.iter().filter(|i| matches!(i, IndexItem::Ellipsis(_))).count();
        let used = items.len() - ellipses;
        if ellipses > 1 {
            self.error(span, "an index may hold only one '...'");
            return Val::Error;
        }
        if used > rank {
            self.error(span, format!("{used} indices for {}, which has {rank} axes", show(&t.ty)));
            return Val::Error;
        }
        // One selection per axis, `...` expanded to the axes the others leave.
        let mut sels: Vec<AxisSel<E::V>> = Vec::with_capacity(rank);
        for item in items {
            match item {
                IndexItem::Ellipsis(_) => sels.extend((0..rank - used).map(|_| AxisSel::All)),
                IndexItem::At(e) => {
                    let v = self.expr(e);
                    if matches!(v, Val::Error) {
                        return Val::Error;
                    }
                    sels.push(AxisSel::At(v));
                }
                IndexItem::Range { lo, hi, step, span: rs } => {
                    let bound = |cx: &mut Self, e: &Option<super::ast::Expr>, what: &str| -> Result<Option<Option<i64>>, ()> {
                        let Some(e) = e else { return Ok(None) };
                        match cx.expr(e) {
                            Val::Static(s) => cx.int_of(&s, what).map(Some).map_err(|m| cx.error(e.span, m)),
                            Val::Error => Err(()),
                            other => {
                                cx.error(e.span, format!("{what} must be an integer known while compiling, got {}", other.describe()));
                                Err(())
                            }
                        }
                    };
                    let (Ok(lo), Ok(hi), Ok(step)) = (bound(self, lo, "a slice start"), bound(self, hi, "a slice end"), bound(self, step, "a slice step")) else {
                        return Val::Error;
                    };
                    let step = match step {
                        Some(Some(0)) => {
                            self.error(*rs, "a slice step cannot be 0");
                            return Val::Error;
                        }
                        Some(s) => s,
                        None => Some(1),
                    };
                    if lo.is_none() && hi.is_none() && step == Some(1) {
                        sels.push(AxisSel::All);
                    } else {
                        sels.push(AxisSel::Range { lo, hi, step });
                    }
                }
            }
        }
        sels.extend((sels.len()..rank).map(|_| AxisSel::All));
        let mut x = t;
        // Slices first, in one tg.slice (the rank stays).
        let (mut starts, mut ends, mut axes, mut steps, mut unknown) = (vec![], vec![], vec![], vec![], vec![]);
        for (axis, sel) in sels.iter().enumerate() {
            let AxisSel::Range { lo, hi, step } = sel else { continue };
            let s = step.unwrap_or(1);
            let (lo_default, hi_default) = if s > 0 { (0, shape::SLICE_TO_END) } else { (-1, -shape::SLICE_TO_END) };
            if matches!(lo, Some(None)) || matches!(hi, Some(None)) || step.is_none() {
                unknown.push(axis);
            }
            // Bounds beyond any size mean the same as the size, and keep size arithmetic small.
            let limit = super::value::MAX_SIZE as i64 * 2;
            starts.push(lo.flatten().map_or(lo_default, |v| v.clamp(-limit, limit)));
            ends.push(hi.flatten().map_or(hi_default, |v| v.clamp(-limit, limit)));
            axes.push(axis as i64);
            steps.push(s);
        }
        if !axes.is_empty() {
            let attrs = Attrs::from([
                ("starts", Attr::ints(&starts)),
                ("ends", Attr::ints(&ends)),
                ("axes", Attr::ints(&axes)),
                ("steps", Attr::ints(&steps)),
            ]);
            let Val::Tensor(mut s) = self.prim(&shape::SLICE, &[&x], attrs, span) else { return Val::Error };
            for a in unknown {
                s.ty.dims[a] = Dim::Unknown;
            }
            x = s;
        }
        // Then one gather per picked position, from the last axis back so earlier axes keep their numbers.
        let tensor_picks = sels.iter().filter(|s| matches!(s, AxisSel::At(Val::Tensor(t)) if t.ty.rank() > 0)).count();
        let picks = sels.iter().filter(|s| matches!(s, AxisSel::At(_))).count();
        if tensor_picks > 0 && picks > 1 {
            self.error(span, "an index tensor with axes must be the only position picked; use take() for each axis");
            return Val::Error;
        }
        for (axis, sel) in sels.into_iter().enumerate().rev() {
            let AxisSel::At(v) = sel else { continue };
            let idx = match v {
                Val::Static(s) => {
                    let k = match self.int_of(&s, "an index") {
                        Ok(k) => k,
                        Err(m) => {
                            self.error(span, m);
                            return Val::Error;
                        }
                    };
                    if let (Some(k), Dim::Known(n)) = (k, &x.ty.dims[axis]) {
                        if k >= *n as i64 || k < -(*n as i64) {
                            self.error(span, format!("index {k} is out of range for axis {axis} of {} (size {n})", show(&x.ty)));
                            return Val::Error;
                        }
                    }
                    match self.scalar(&k.map_or(Static::Unknown, Static::Int), DType::I64, span) {
                        Some(i) => i,
                        None => return Val::Error,
                    }
                }
                Val::Tensor(i) if i.ty.dtype.is_int() => i,
                other => {
                    self.error(span, format!("an index is an integer or an integer tensor, got {}", other.describe()));
                    return Val::Error;
                }
            };
            let Val::Tensor(g) = self.prim(&index::GATHER, &[&x, &idx], Attrs::from([("axis", Attr::Int(axis as i64))]), span) else {
                return Val::Error;
            };
            x = g;
        }
        Val::Tensor(x)
    }

    /// A reduction over `axes` (all axes when `None`), each checked against the rank.
    pub fn reduce(&mut self, def: OpRef, x: &TVal<E::V>, axes: Option<Vec<i64>>, keepdims: bool, span: Span) -> Val<E::V> {
        let axes = match axes {
            Some(a) => match self.axes(&a, &x.ty, span) {
                Some(_) => a,
                None => return Val::Error,
            },
            None => (0..x.ty.rank() as i64).collect(),
        };
        self.prim(def, &[x], Attrs::from([("axes", Attr::ints(&axes)), ("keepdims", Attr::Bool(keepdims))]), span)
    }

    /// Axes normalised to `0..rank`, distinct; an error names the tensor.
    pub fn axes(&mut self, axes: &[i64], t: &TensorType, span: Span) -> Option<Vec<usize>> {
        match tessera_ir::infer::normalize_axes(axes, t.rank()) {
            Ok(a) => Some(a),
            Err(e) => {
                self.error(span, format!("{e} (of {})", show(t)));
                None
            }
        }
    }
}

/// The numpy broadcast of two dim lists that are known to broadcast.
fn broadcast_dims(a: &[Dim], b: &[Dim]) -> Vec<Dim> {
    let rank = a.len().max(b.len());
    (0..rank)
        .map(|axis| {
            let da = (axis + a.len()).checked_sub(rank).map(|i| &a[i]);
            let db = (axis + b.len()).checked_sub(rank).map(|i| &b[i]);
            match (da, db) {
                (Some(x), None) | (None, Some(x)) => x.clone(),
                (Some(Dim::Known(1)), Some(y)) => y.clone(),
                (Some(x), Some(Dim::Known(1))) => x.clone(),
                (Some(x), Some(y)) if x == y => x.clone(),
                _ => Dim::Unknown,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_mismatches_name_the_result_axis() {
        let t = |dims: Vec<Dim>| TensorType::new(dims, DType::F32);
        let a = t(vec![Dim::sym("N"), Dim::Known(256)]);
        let b = t(vec![Dim::Known(128)]);
        assert_eq!(broadcast_mismatch(&[&a, &b]).as_deref(), Some("axis 1 has 256 and 128"));
        assert_eq!(broadcast_mismatch(&[&a, &t(vec![Dim::Known(1), Dim::Known(256)])]), None);
        assert_eq!(broadcast_mismatch(&[&a, &t(vec![Dim::Unknown])]), None);
        let batch = broadcast_dims(&[Dim::Known(1), Dim::sym("B")], &[Dim::Known(3), Dim::Known(1)]);
        assert_eq!(batch, vec![Dim::Known(3), Dim::sym("B")]);
    }
}
