//! Control flow: `tg.if` becomes a `k.if` whose branches write the
//! results' buffers, and `tg.loop` (ONNX `Loop`) a `k.for` over its
//! iterations when their number is known before it runs, else a `k.while`.
//!
//! A loop keeps each carried tensor in one buffer, the result's own: the
//! initial value is copied in before the loop, the body reads it there,
//! and at the end of each iteration the value the body yields for it is
//! copied back (after every scan output and the next condition are read,
//! and through a temporary when it is another carried value, so an
//! iteration's update never reads what it already overwrote). Scan output
//! `k` of iteration `i` is copied into slice `i` of its result. The
//! iteration number the body sees is the loop's index; its condition
//! argument is always true (an iteration only runs while it holds).
//!
//! How many iterations run is known when the trip count is a constant and
//! the condition a constant true that the body hands back unchanged (or
//! as a constant true): then the stacked scan outputs, typed with a `?`
//! leading dim by inference, get that length ([`refine_loops`]) and the
//! loop is a `k.for`. Otherwise the loop is a `k.while` carrying the
//! iteration and testing `i < trip count` and the condition before each
//! iteration; its scan outputs would have a length known only at run time,
//! which the lowering refuses (their `?` dims).

use super::emit::{Lowerer, Source};
use super::{lower_block, lower_ops};
use std::borrow::Cow;
use std::collections::HashMap;
use tessera_ir::attr::{Attr, Attrs, Scalar};
use tessera_ir::builder::{infer_types, op_error};
use tessera_ir::dialect::graph::control::LOOP;
use tessera_ir::dialect::graph::elementwise::{AND, LT};
use tessera_ir::dialect::kernel::{control, scalar};
use tessera_ir::infer::SymbolTable;
use tessera_ir::op::same_op;
use tessera_ir::{DType, Diag, Diags, Dim, Func, OpId, RegionId, TensorType, Type, ValueId};

/// `tg.if`: a `k.if` on the condition; each branch lowers its ops and
/// writes what it yields into `outs`.
pub(super) fn lower_if(l: &mut Lowerer<'_>, op: OpId, outs: &[ValueId]) -> Result<(), Diag> {
    let src = l.src;
    let data = src.op(op);
    let cond = l.element(data.operands[0], &[])?;
    let uses = src.use_counts();
    let mut regions = Vec::with_capacity(2);
    for &r in &data.regions {
        let block = entry_block(l, op, r)?;
        regions.push(l.region(&[], |l, _| {
            lower_block(l, block, outs, &uses)?;
            Ok(Vec::new())
        })?);
    }
    l.set_loc(data.loc.clone());
    l.emit(&control::IF, &[cond], Attrs::new(), regions)?;
    Ok(())
}

/// `tg.loop`: the carried values' buffers are `outs[..n]` (`n` carried
/// values), the scan outputs' `outs[n..]`.
pub(super) fn lower_loop(l: &mut Lowerer<'_>, op: OpId, outs: &[ValueId]) -> Result<(), Diag> {
    let src = l.src;
    let data = src.op(op);
    let block = entry_block(l, op, data.regions[0])?;
    let args = src.block(block).args.clone();
    let n = data.operands.len() - 2;
    if args.len() != n + 2 || outs.len() < n {
        return Err(l.op_error(op, "the body's arguments do not match the carried values (invalid IR)"));
    }
    for (&init, &state) in data.operands[2..].iter().zip(outs) {
        l.copy_into(init, state, &[])?;
    }
    let true_ = l.scalar_const(Scalar::Bool(true), DType::I1)?;
    l.sources.insert(args[1], Source::Scalar(true_));
    for (&a, &state) in args[2..].iter().zip(outs) {
        l.sources.insert(a, Source::Buffer(state));
    }
    let uses = src.use_counts();
    let body = Body { op, block, states: &outs[..n], scans: &outs[n..], uses: &uses };
    if let Some(count) = static_trips(src, op) {
        let hi = l.index_const(count)?;
        l.nest(&[hi], false, "iter", Vec::new(), &mut |l, ivs, _| {
            body.lower(l, ivs[0])?;
            Ok(Vec::new())
        })?;
        return Ok(());
    }
    if !body.scans.is_empty() {
        return Err(l.op_error(op, "its scan outputs need an iteration count known before the loop runs"));
    }
    let max = l.element(data.operands[0], &[])?;
    let cond = l.element(data.operands[1], &[])?;
    let zero = l.scalar_const(Scalar::Int(DType::I64, 0), DType::I64)?;
    let some = l.apply(&LT, &[zero, max])?;
    let go = l.apply(&AND, &[some, cond])?;
    let region = l.region(&[Type::Index], |l, a| {
        let cond = body.lower(l, a[0])?;
        let next = l.add_const(a[0], 1)?;
        let next_i64 = l.emit1(&scalar::INDEX_CAST, &[next], Attrs::new().with("to", Attr::DType(DType::I64)))?;
        let more = l.apply(&LT, &[next_i64, max])?;
        let go = l.apply(&AND, &[more, cond])?;
        Ok(vec![go, next])
    })?;
    let c0 = l.index_const(0)?;
    l.set_loc(data.loc.clone());
    l.emit(&control::WHILE, &[go, c0], Attrs::new(), vec![region])?;
    Ok(())
}

/// How a carried buffer is updated at the end of an iteration.
enum Update {
    /// Not at all: the body hands the carried value on unchanged.
    Keep,
    /// From the graph value the body yields.
    Copy(ValueId),
    /// From the kernel temporary holding a copy of the graph value (another
    /// carried value), made before any carried buffer was written.
    Staged(ValueId, ValueId),
}

/// One iteration of a `tg.loop` body, lowered where the emitter is.
struct Body<'b> {
    /// The `tg.loop`.
    op: OpId,
    /// Its body's block.
    block: tessera_ir::BlockId,
    /// The kernel buffer of each carried value.
    states: &'b [ValueId],
    /// The kernel buffer of each stacked scan output.
    scans: &'b [ValueId],
    /// How many times each graph value is used.
    uses: &'b HashMap<ValueId, usize>,
}

impl Body<'_> {
    /// Lowers the body for iteration `iv` (an index): its ops, the scan
    /// outputs' slices and the carried buffers' updates; returns the next
    /// condition (an `i1` scalar).
    fn lower(&self, l: &mut Lowerer<'_>, iv: ValueId) -> Result<ValueId, Diag> {
        let src = l.src;
        let args = &src.block(self.block).args;
        let iteration = l.emit1(&scalar::INDEX_CAST, &[iv], Attrs::new().with("to", Attr::DType(DType::I64)))?;
        l.sources.insert(args[0], Source::Scalar(iteration));
        let ops = &src.block(self.block).ops;
        let (&term, ops) = ops.split_last().ok_or_else(|| l.op_error(self.op, "the body is empty (invalid IR)"))?;
        lower_ops(l, ops, &HashMap::new(), self.uses)?;
        l.set_loc(src.op(term).loc.clone());
        let yields = &src.op(term).operands;
        let n = self.states.len();
        if yields.len() != 1 + n + self.scans.len() {
            return Err(l.op_error(self.op, "the body yields the wrong number of values (invalid IR)"));
        }
        let cond = l.element(yields[0], &[])?;
        for (&v, &scan) in yields[1 + n..].iter().zip(self.scans) {
            l.copy_into(v, scan, &[iv])?;
        }
        // A carried value handed on as another carried value is read before
        // any carried buffer is written.
        let mut updates = Vec::with_capacity(n);
        for (k, &v) in yields[1..=n].iter().enumerate() {
            updates.push(match args[2..].iter().position(|&a| a == v) {
                Some(j) if j == k => Update::Keep,
                Some(_) => {
                    let t = l.alloc(l.tensor(v)?)?;
                    l.copy_into(v, t, &[])?;
                    Update::Staged(t, v)
                }
                None => Update::Copy(v),
            });
        }
        for (update, &state) in updates.into_iter().zip(self.states) {
            match update {
                Update::Keep => {}
                Update::Copy(v) => l.copy_into(v, state, &[])?,
                Update::Staged(t, v) => {
                    let bounds = l.extents(&l.tensor(v)?.dims)?;
                    l.nest(&bounds, true, "i", Vec::new(), &mut |l, ivs, _| {
                        let e = l.load(t, ivs)?;
                        l.store(e, state, ivs)?;
                        Ok(Vec::new())
                    })?;
                }
            }
        }
        Ok(cond)
    }
}

/// The entry block of region `r` of graph op `op`.
fn entry_block(l: &Lowerer<'_>, op: OpId, r: RegionId) -> Result<tessera_ir::BlockId, Diag> {
    l.src.region(r).blocks.first().copied().ok_or_else(|| l.op_error(op, "a region has no block (invalid IR)"))
}

/// The scalar a splat `tg.constant` defining `v` holds.
fn constant_scalar(src: &Func, v: ValueId) -> Option<Scalar> {
    let def = src.def_op(v)?;
    match src.op(def).attrs.get("value") {
        Some(Attr::Dense(d)) if same_op(src.op(def).def, &tessera_ir::dialect::graph::value::CONSTANT) => {
            d.splat_value()
        }
        _ => None,
    }
}

/// How many iterations `tg.loop` `op` runs when that is known before it
/// runs: its trip count is a constant and its condition a constant true
/// that the body hands back unchanged or as a constant true.
pub(super) fn static_trips(src: &Func, op: OpId) -> Option<i64> {
    let data = src.op(op);
    let is_true = |v: ValueId| matches!(constant_scalar(src, v), Some(Scalar::Bool(true)));
    let trips = match constant_scalar(src, data.operands[0])? {
        Scalar::Int(_, t) => t,
        _ => return None,
    };
    let block = *src.region(*data.regions.first()?).blocks.first()?;
    let cond_arg = *src.block(block).args.get(1)?;
    let next = *src.op(*src.block(block).ops.last()?).operands.first()?;
    (is_true(data.operands[1]) && (next == cond_arg || is_true(next))).then_some(trips.max(0))
}

/// `src` with the stacked scan outputs of every `tg.loop` whose iteration
/// count is known (see [`static_trips`]) given that count as their
/// length, the types that depend on them inferred again, and function
/// results whose declared type has `?` dims given the type of what is
/// returned when it is more precise. `src` itself when nothing changes.
pub(super) fn refine_loops<'f>(src: &'f Func, symbols: &dyn SymbolTable) -> Result<Cow<'f, Func>, Diags> {
    let loops: HashMap<OpId, i64> = src
        .walk()
        .into_iter()
        .filter(|&op| same_op(src.op(op).def, &LOOP))
        .filter_map(|op| Some((op, static_trips(src, op)?)))
        .filter(|&(op, _)| scan_results(src, op).iter().any(|&r| leading_dim(src, r) == Some(Dim::Unknown)))
        .collect();
    if loops.is_empty() {
        return Ok(Cow::Borrowed(src));
    }
    let mut func = src.clone();
    let mut errors = Vec::new();
    let mut order = Vec::new();
    post_order(&func, func.body(), &mut order);
    for op in order {
        let data = func.op(op);
        let mut types = match infer_types(&func, symbols, data.def, &data.operands, &data.attrs, &data.regions) {
            Ok(types) => types,
            Err(msg) => {
                errors.push(op_error(data.def, data.loc.clone(), &msg));
                continue;
            }
        };
        if let Some(&count) = loops.get(&op) {
            let carried = data.operands.len() - 2;
            for t in types.iter_mut().skip(carried) {
                if let Type::Tensor(tt) = t {
                    let mut dims = tt.dims.clone();
                    dims[0] = Dim::Known(count as u64);
                    *t = Type::Tensor(TensorType::new(dims, tt.dtype));
                }
            }
        }
        for (v, ty) in data.results.clone().into_iter().zip(types) {
            func.value_mut(v).ty = ty;
        }
    }
    if !errors.is_empty() {
        return Err(Diags(errors));
    }
    if let Some(&ret) = func.block(func.entry()).ops.last() {
        let returned: Vec<Type> = func.op(ret).operands.iter().map(|&v| func.ty(v).clone()).collect();
        for (declared, actual) in func.results.iter_mut().zip(returned) {
            if actual.refines(declared) {
                *declared = actual;
            }
        }
    }
    Ok(Cow::Owned(func))
}

/// The stacked scan outputs of `tg.loop` `op`: its results after the carried values.
fn scan_results(src: &Func, op: OpId) -> &[ValueId] {
    let data = src.op(op);
    data.results.get(data.operands.len() - 2..).unwrap_or_default()
}

/// The first dim of value `v`'s tensor type.
fn leading_dim(src: &Func, v: ValueId) -> Option<Dim> {
    src.ty(v).as_tensor().and_then(|t| t.dims.first().cloned())
}

/// The ops of `region` with each op after the ops of its regions.
fn post_order(func: &Func, region: RegionId, out: &mut Vec<OpId>) {
    for &b in &func.region(region).blocks {
        for &op in &func.block(b).ops {
            for &r in &func.op(op).regions {
                post_order(func, r, out);
            }
            out.push(op);
        }
    }
}
