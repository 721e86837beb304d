//! The emitter the lowering rules share: it builds one kernel function,
//! hoists what does not depend on loop indices (index constants, extents,
//! scalar literals, allocations, constant buffers) to the function's entry,
//! folds index arithmetic on constants, builds loop nests, and reads any
//! graph value's element at given indices, computing it inline when the
//! plan fused its producer into the reader.

use super::rules::{rule, Lowering};
use std::collections::{HashMap, HashSet};
use tessera_ir::attr::{Attr, Attrs, DenseAttr, Scalar};
use tessera_ir::dialect::graph::control::YIELD;
use tessera_ir::dialect::kernel::{index, loops, memory, scalar, IndexOp};
use tessera_ir::infer::{InferCx, SymbolTable};
use tessera_ir::{
    Builder, DType, Diag, Dim, Func, InsertPoint, Loc, OpId, OpRef, RegionId, SymExpr, Symbol, TensorType, Type,
    ValueId,
};

/// How the kernel function reads a graph value that is not computed inline.
#[derive(Copy, Clone, Debug)]
pub(crate) enum Source {
    /// Element by element from a buffer.
    Buffer(ValueId),
    /// As one scalar, the same at every position (a splat constant).
    Scalar(ValueId),
}

/// The body of a loop nest: given the induction variables and the carried
/// values, emits the innermost body and returns the values to carry on.
pub(crate) type NestBody<'b, 'a> =
    dyn FnMut(&mut Lowerer<'a>, &[ValueId], Vec<ValueId>) -> Result<Vec<ValueId>, Diag> + 'b;

/// Builds one kernel function from one graph function.
pub(crate) struct Lowerer<'a> {
    /// The graph function being lowered.
    pub(crate) src: &'a Func,
    symbols: &'a dyn SymbolTable,
    /// The kernel function being built.
    pub(crate) func: Func,
    /// Where the next op goes.
    ip: InsertPoint,
    /// The location given to the next op: the graph op being lowered.
    loc: Loc,
    /// Hoisted index constants by value, and the value of each.
    index_consts: HashMap<i64, ValueId>,
    const_of: HashMap<ValueId, i64>,
    /// Hoisted extents by dim.
    dims: HashMap<Dim, ValueId>,
    /// For each symbol, an argument buffer and an axis whose extent it is.
    symbol_dims: HashMap<Symbol, (ValueId, usize)>,
    /// Hoisted scalar literals.
    scalars: HashMap<DenseAttr, ValueId>,
    /// How each graph value that is not computed inline is read.
    pub(crate) sources: HashMap<ValueId, Source>,
    /// Graph values their single reader computes inline.
    pub(crate) inline: HashSet<ValueId>,
}

impl<'a> Lowerer<'a> {
    /// A lowerer building `func` (whose arguments are already the kernel
    /// signature) from `src`; symbols are read from the arguments' extents.
    pub(crate) fn new(src: &'a Func, symbols: &'a dyn SymbolTable, func: Func) -> Lowerer<'a> {
        let mut symbol_dims = HashMap::new();
        for &arg in func.args() {
            if let Type::Buffer(t) = func.ty(arg) {
                for (axis, d) in t.dims.iter().enumerate() {
                    if let Some(s) = d.as_symbol() {
                        symbol_dims.entry(s).or_insert((arg, axis));
                    }
                }
            }
        }
        let ip = InsertPoint::End(func.entry());
        Lowerer {
            src,
            symbols,
            func,
            ip,
            loc: Loc::Unknown,
            index_consts: HashMap::new(),
            const_of: HashMap::new(),
            dims: HashMap::new(),
            symbol_dims,
            scalars: HashMap::new(),
            sources: HashMap::new(),
            inline: HashSet::new(),
        }
    }

    /// Sets the location of the ops emitted next; returns the previous one.
    pub(crate) fn set_loc(&mut self, loc: Loc) -> Loc {
        std::mem::replace(&mut self.loc, loc)
    }

    /// An error located at graph op `op`, naming it.
    pub(crate) fn op_error(&self, op: OpId, msg: impl std::fmt::Display) -> Diag {
        let data = self.src.op(op);
        Diag::error(data.loc.clone(), format!("'{}' op: {msg}", data.def.name()))
    }

    /// Reads graph op `op`'s attributes with the accessors inference uses;
    /// an error names the op.
    pub(crate) fn with_cx<R>(&self, op: OpId, f: impl FnOnce(&InferCx) -> Result<R, String>) -> Result<R, Diag> {
        let data = self.src.op(op);
        let operands: Vec<Type> = data.operands.iter().map(|&v| self.src.ty(v).clone()).collect();
        let cx = InferCx { operands: &operands, attrs: &data.attrs, regions: &[], symbols: self.symbols };
        f(&cx).map_err(|e| self.op_error(op, e))
    }

    /// The tensor type of graph value `v`.
    pub(crate) fn tensor(&self, v: ValueId) -> Result<&'a TensorType, Diag> {
        let src = self.src;
        src.ty(v)
            .as_tensor()
            .ok_or_else(|| Diag::error(src.loc.clone(), format!("a value has non-tensor type {}", src.ty(v))))
    }

    /// The single result of graph op `op`.
    pub(crate) fn result(&self, op: OpId) -> Result<ValueId, Diag> {
        match self.src.op(op).results.as_slice() {
            [r] => Ok(*r),
            rs => Err(self.op_error(op, format!("has {} results; the lowering handles one", rs.len()))),
        }
    }

    /// Emits an op at the insertion point, inferring its result types.
    pub(crate) fn emit(
        &mut self,
        def: OpRef,
        operands: &[ValueId],
        attrs: Attrs,
        regions: Vec<RegionId>,
    ) -> Result<OpId, Diag> {
        let mut b = Builder::new(&mut self.func, self.symbols);
        b.set_insert_point(self.ip);
        b.set_loc(self.loc.clone());
        b.create(def, operands, attrs, regions)
    }

    /// Emits a one-result op and returns its result.
    pub(crate) fn emit1(&mut self, def: OpRef, operands: &[ValueId], attrs: Attrs) -> Result<ValueId, Diag> {
        let op = self.emit(def, operands, attrs, Vec::new())?;
        Ok(self.func.op(op).results[0])
    }

    /// Runs `f` with the insertion point at the end of the entry block (where
    /// every value dominates every loop nest built later) and without a location.
    fn at_entry<R>(&mut self, f: impl FnOnce(&mut Self) -> R) -> R {
        let ip = std::mem::replace(&mut self.ip, InsertPoint::End(self.func.entry()));
        let loc = self.set_loc(Loc::Unknown);
        let r = f(self);
        self.ip = ip;
        self.loc = loc;
        r
    }

    /// Gives kernel value `v` the printed name `name`.
    pub(crate) fn name(&mut self, v: ValueId, name: impl Into<String>) {
        self.func.value_mut(v).name = Some(name.into());
    }

    /// The index constant `value`, hoisted and shared.
    pub(crate) fn index_const(&mut self, value: i64) -> Result<ValueId, Diag> {
        if let Some(&v) = self.index_consts.get(&value) {
            return Ok(v);
        }
        let v =
            self.at_entry(|l| l.emit1(&index::INDEX_CONSTANT, &[], Attrs::new().with("value", Attr::Int(value))))?;
        self.name(v, format!("c{value}"));
        self.index_consts.insert(value, v);
        self.const_of.insert(v, value);
        Ok(v)
    }

    /// The extent `d` as an index, hoisted and shared: a constant, or the
    /// polynomial of a symbolic dim over the symbols' extents.
    pub(crate) fn dim(&mut self, d: &Dim) -> Result<ValueId, Diag> {
        if let Some(&v) = self.dims.get(d) {
            return Ok(v);
        }
        let e = d.expr().ok_or_else(|| Diag::error(self.loc.clone(), "a '?' dim has no extent to loop over"))?;
        let v = self.at_entry(|l| l.polynomial(&e))?;
        self.dims.insert(d.clone(), v);
        Ok(v)
    }

    /// Emits `e` in Horner form: `e = e(s = 0) + s * q` for one of its
    /// symbols `s`, recursively.
    fn polynomial(&mut self, e: &SymExpr) -> Result<ValueId, Diag> {
        if let Some(c) = e.as_constant() {
            return self.index_const(c);
        }
        let Some(s) = e.symbols().next().cloned() else { return self.index_const(0) };
        if *e == SymExpr::symbol(s.clone()) {
            return self.symbol(&s);
        }
        let rest = e.substitute(&|t| (*t == s).then_some(0));
        let q = e
            .add(&rest.scale(-1))
            .div_monomial(&SymExpr::symbol(s.clone()))
            .ok_or_else(|| Diag::error(self.loc.clone(), format!("cannot factor {s} out of the dim polynomial {e}")))?;
        let sv = self.symbol(&s)?;
        let qv = self.polynomial(&q)?;
        let rv = self.polynomial(&rest)?;
        let m = self.index_op(IndexOp::Mul, sv, qv)?;
        self.index_op(IndexOp::Add, rv, m)
    }

    /// The size of symbol `s`: the extent of an argument axis it names.
    fn symbol(&mut self, s: &Symbol) -> Result<ValueId, Diag> {
        let d = Dim::sym(s.as_str());
        if let Some(&v) = self.dims.get(&d) {
            return Ok(v);
        }
        let &(buf, axis) = self.symbol_dims.get(s).ok_or_else(|| {
            Diag::error(
                self.src.loc.clone(),
                format!("symbol {s} is no argument's dim by itself, so its size is unknown"),
            )
        })?;
        let attrs = Attrs::new().with("axis", Attr::Int(axis as i64));
        let v = self.at_entry(|l| l.emit1(&memory::DIM, &[buf], attrs))?;
        self.name(v, s.as_str());
        self.dims.insert(d, v);
        Ok(v)
    }

    /// `a op b` on indices, folded when both are constants and skipped when
    /// one is the operation's identity.
    pub(crate) fn index_op(&mut self, op: IndexOp, a: ValueId, b: ValueId) -> Result<ValueId, Diag> {
        let (ca, cb) = (self.const_of.get(&a).copied(), self.const_of.get(&b).copied());
        if let (Some(x), Some(y)) = (ca, cb) {
            if let Some(r) = op.apply(x, y) {
                return self.index_const(r);
            }
        }
        match (op, ca, cb) {
            (IndexOp::Add, Some(0), _) | (IndexOp::Mul, Some(1), _) => return Ok(b),
            (IndexOp::Add | IndexOp::Sub, _, Some(0)) | (IndexOp::Mul | IndexOp::Div, _, Some(1)) => return Ok(a),
            (IndexOp::Mul, Some(0), _) | (IndexOp::Mul, _, Some(0)) | (IndexOp::Rem, _, Some(1)) => {
                return self.index_const(0)
            }
            _ => {}
        }
        let def: OpRef = match op {
            IndexOp::Add => &index::INDEX_ADD,
            IndexOp::Sub => &index::INDEX_SUB,
            IndexOp::Mul => &index::INDEX_MUL,
            IndexOp::Div => &index::INDEX_DIV,
            IndexOp::Rem => &index::INDEX_REM,
            IndexOp::Min => &index::INDEX_MIN,
            IndexOp::Max => &index::INDEX_MAX,
        };
        self.emit1(def, &[a, b], Attrs::new())
    }

    /// `a + c` for a constant `c`.
    pub(crate) fn add_const(&mut self, a: ValueId, c: i64) -> Result<ValueId, Diag> {
        let c = self.index_const(c)?;
        self.index_op(IndexOp::Add, a, c)
    }

    /// The scalar literal `value`, hoisted and shared.
    pub(crate) fn scalar_const(&mut self, value: Scalar, dtype: DType) -> Result<ValueId, Diag> {
        let dense = DenseAttr::splat(TensorType::scalar(dtype), value).map_err(|e| Diag::error(self.loc.clone(), e))?;
        if let Some(&v) = self.scalars.get(&dense) {
            return Ok(v);
        }
        let attrs = Attrs::new().with("value", Attr::Dense(dense.clone()));
        let v = self.at_entry(|l| l.emit1(&scalar::CONSTANT, &[], attrs))?;
        self.scalars.insert(dense, v);
        Ok(v)
    }

    /// A hoisted op without operands (an allocation, a constant buffer, a
    /// parameter), located at the graph op being lowered.
    pub(crate) fn hoisted(&mut self, def: OpRef, attrs: Attrs) -> Result<ValueId, Diag> {
        let ip = std::mem::replace(&mut self.ip, InsertPoint::End(self.func.entry()));
        let v = self.emit1(def, &[], attrs);
        self.ip = ip;
        v
    }

    /// A new temporary buffer of type `t`, allocated at the entry.
    pub(crate) fn alloc(&mut self, t: &TensorType) -> Result<ValueId, Diag> {
        let attrs = Attrs::new().with("shape", Attr::shape(&t.dims)).with("dtype", Attr::DType(t.dtype));
        self.hoisted(&memory::ALLOC, attrs)
    }

    /// `k.apply` of the graph elementwise op `def` to scalars.
    pub(crate) fn apply(&mut self, def: OpRef, args: &[ValueId]) -> Result<ValueId, Diag> {
        self.emit1(&scalar::APPLY, args, Attrs::new().with("fn", Attr::Str(def.name().to_string())))
    }

    /// Scalar `v` of dtype `from` as dtype `to` (`k.cast`, when they differ).
    pub(crate) fn convert(&mut self, v: ValueId, from: DType, to: DType) -> Result<ValueId, Diag> {
        if from == to {
            return Ok(v);
        }
        self.emit1(&scalar::CAST, &[v], Attrs::new().with("to", Attr::DType(to)))
    }

    /// Loads the element of kernel buffer `buf` at `idx`.
    pub(crate) fn load(&mut self, buf: ValueId, idx: &[ValueId]) -> Result<ValueId, Diag> {
        let mut operands = vec![buf];
        operands.extend_from_slice(idx);
        self.emit1(&memory::LOAD, &operands, Attrs::new())
    }

    /// Stores scalar `v` into `buf` at `idx`.
    pub(crate) fn store(&mut self, v: ValueId, buf: ValueId, idx: &[ValueId]) -> Result<(), Diag> {
        let mut operands = vec![v, buf];
        operands.extend_from_slice(idx);
        self.emit(&memory::STORE, &operands, Attrs::new(), Vec::new()).map(|_| ())
    }

    /// The extents of `dims` as indices.
    pub(crate) fn extents(&mut self, dims: &[Dim]) -> Result<Vec<ValueId>, Diag> {
        dims.iter().map(|d| self.dim(d)).collect()
    }

    /// Emits a perfect nest of loops from 0 below each of `bounds` by 1
    /// (induction variables named `{prefix}{depth}`), carrying `inits`
    /// through every level, with `body` at the innermost point. Returns the
    /// carried values after the nest (`inits` when `bounds` is empty, after
    /// running `body` once in place).
    pub(crate) fn nest(
        &mut self,
        bounds: &[ValueId],
        parallel: bool,
        prefix: &str,
        inits: Vec<ValueId>,
        body: &mut NestBody<'_, 'a>,
    ) -> Result<Vec<ValueId>, Diag> {
        let mut ranges = Vec::with_capacity(bounds.len());
        for &hi in bounds {
            ranges.push((self.index_const(0)?, hi));
        }
        self.nest_ranges(&ranges, parallel, prefix, inits, body)
    }

    /// [`Lowerer::nest`] with loop `k` running from `ranges[k].0` below
    /// `ranges[k].1` (not at all when the first is not below the second).
    pub(crate) fn nest_ranges(
        &mut self,
        ranges: &[(ValueId, ValueId)],
        parallel: bool,
        prefix: &str,
        inits: Vec<ValueId>,
        body: &mut NestBody<'_, 'a>,
    ) -> Result<Vec<ValueId>, Diag> {
        let mut ivs = Vec::with_capacity(ranges.len());
        self.nest_from(ranges, parallel, prefix, inits, &mut ivs, body)
    }

    fn nest_from(
        &mut self,
        ranges: &[(ValueId, ValueId)],
        parallel: bool,
        prefix: &str,
        inits: Vec<ValueId>,
        ivs: &mut Vec<ValueId>,
        body: &mut NestBody<'_, 'a>,
    ) -> Result<Vec<ValueId>, Diag> {
        let Some((&(lo, hi), rest)) = ranges.split_first() else { return body(self, ivs, inits) };
        let one = self.index_const(1)?;
        let mut arg_types = vec![Type::Index];
        arg_types.extend(inits.iter().map(|&v| self.func.ty(v).clone()));
        let region = self.func.new_region();
        let block = self.func.new_block(region, &arg_types);
        let args = self.func.block(block).args.clone();
        self.name(args[0], format!("{prefix}{}", ivs.len()));
        for &a in &args[1..] {
            self.name(a, "acc");
        }
        let outer = std::mem::replace(&mut self.ip, InsertPoint::End(block));
        ivs.push(args[0]);
        let yields = self.nest_from(rest, parallel, prefix, args[1..].to_vec(), ivs, body)?;
        ivs.pop();
        self.emit(&YIELD, &yields, Attrs::new(), Vec::new())?;
        self.ip = outer;
        let mut operands = vec![lo, hi, one];
        operands.extend(inits);
        let attrs = if parallel { Attrs::new().with("parallel", Attr::Bool(true)) } else { Attrs::new() };
        let op = self.emit(&loops::FOR, &operands, attrs, vec![region])?;
        Ok(self.func.op(op).results.clone())
    }

    /// A new region of one block taking `arg_types`, whose ops `body` emits
    /// (given the block's arguments) before the `tg.yield` of the values
    /// it returns; for a `k.for`, `k.if` or `k.while` emitted next.
    pub(crate) fn region(
        &mut self,
        arg_types: &[Type],
        body: impl FnOnce(&mut Lowerer<'a>, &[ValueId]) -> Result<Vec<ValueId>, Diag>,
    ) -> Result<RegionId, Diag> {
        let region = self.func.new_region();
        let block = self.func.new_block(region, arg_types);
        let args = self.func.block(block).args.clone();
        let outer = std::mem::replace(&mut self.ip, InsertPoint::End(block));
        let yields = body(self, &args);
        let done = yields.and_then(|y| self.emit(&YIELD, &y, Attrs::new(), Vec::new()));
        self.ip = outer;
        done.map(|_| region)
    }

    /// Writes every element of graph value `v` into kernel buffer `dest`,
    /// at `prefix` followed by the element's indices (a slice of `dest`
    /// when `prefix` is not empty).
    pub(crate) fn copy_into(&mut self, v: ValueId, dest: ValueId, prefix: &[ValueId]) -> Result<(), Diag> {
        let bounds = self.extents(&self.tensor(v)?.dims)?;
        self.nest(&bounds, true, "i", Vec::new(), &mut |l, ivs, _| {
            let e = l.element(v, ivs)?;
            let at: Vec<ValueId> = prefix.iter().chain(ivs).copied().collect();
            l.store(e, dest, &at)?;
            Ok(Vec::new())
        })?;
        Ok(())
    }

    /// The element of graph value `v` at `idx` (one index per axis): a load
    /// from its buffer, its scalar, or, when its producer was fused into
    /// this reader, that producer's element computed here.
    pub(crate) fn element(&mut self, v: ValueId, idx: &[ValueId]) -> Result<ValueId, Diag> {
        match self.sources.get(&v).copied() {
            Some(Source::Buffer(b)) => self.load(b, idx),
            Some(Source::Scalar(s)) => Ok(s),
            None => {
                let src = self.src;
                let producer = src.def_op(v).filter(|_| self.inline.contains(&v));
                let Some(op) = producer else {
                    return Err(Diag::error(src.loc.clone(), "lowering: a value is read before it is computed"));
                };
                let Some(Lowering::Element(f) | Lowering::Remap(f)) = rule(src.op(op).def).map(|r| r.lowering) else {
                    return Err(self.op_error(op, "lowering: fused an op that has no element rule"));
                };
                let loc = self.set_loc(src.op(op).loc.clone());
                let r = f(self, op, idx);
                self.loc = loc;
                r
            }
        }
    }

    /// The indices into an operand of dims `from` that numpy broadcasting
    /// reads at `idx` in a result of rank `idx.len()`: `from` aligns with
    /// the trailing axes, and an axis of static size 1 reads index 0.
    pub(crate) fn broadcast_index(&mut self, from: &[Dim], idx: &[ValueId]) -> Result<Vec<ValueId>, Diag> {
        let lead = idx.len().checked_sub(from.len()).ok_or_else(|| {
            Diag::error(self.loc.clone(), format!("cannot broadcast rank {} to rank {}", from.len(), idx.len()))
        })?;
        from.iter()
            .enumerate()
            .map(|(j, d)| if *d == Dim::Known(1) { self.index_const(0) } else { Ok(idx[lead + j]) })
            .collect()
    }
}

/// The dtype reductions and dots of `dtype` accumulate in: f32 for the
/// half-precision floats (as BLAS libraries and GPUs do; rounding a long sum
/// to 8 or 11 bits after every step loses the result), else `dtype`.
pub(crate) fn accumulator(dtype: DType) -> DType {
    match dtype {
        DType::F16 | DType::BF16 => DType::F32,
        d => d,
    }
}
