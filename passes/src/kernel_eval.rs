//! The kernel interpreter: runs kernel-dialect functions on host memory, so
//! the lowering is checked against the graph dialect's reference evaluator
//! before any machine code exists.
//!
//! A kernel function's arguments are buffers: the inputs first, then the
//! outputs (the lowering's calling convention). [`KernelEvaluator::run`]
//! binds the given tensors to the first arguments, binds the symbolic dims
//! of their types (`N` in `buffer<N x 4 x f32>`) from their shapes,
//! allocates every remaining argument as an output, runs the body and
//! returns the outputs in order.
//!
//! Memory is a list of buffers addressed by handle; a buffer value is a
//! handle, so two values may name the same memory. A `k.view` gets a
//! buffer of its own, remembered as lying at its offset in its arena: each
//! store through a view claims the bytes it writes, and a load through a
//! view whose bytes another view has claimed since is an error, so a
//! memory plan that lets two live temporaries share bytes fails the tests
//! even though the interpreter keeps their elements apart. Indices are `i64`;
//! scalars are rank-0 [`Tensor`]s, computed by the graph op that `k.apply`
//! names (`tg.cast` for `k.cast` and `k.index_cast`, `tg.bitcast` for
//! `k.bitcast`), with that op's own evaluation hook. The interpreter is
//! strict where generated code would be silently wrong: an index out of bounds, a `k.to_index` outside its
//! axis, a read of an element never written, a store into a read-only
//! buffer, index overflow, a non-positive loop step and an output element
//! left unwritten are errors located at the op (never panics). A parallel
//! loop runs its iterations last to first, so a lowering that wrongly marks
//! an order-dependent loop parallel gives wrong results in the tests.

mod matmul;

use std::collections::HashMap;
use tessera_ir::attr::{Attr, Attrs};
use tessera_ir::dialect::graph::elementwise::{BITCAST, CAST};
use tessera_ir::dialect::kernel::scalar::applied_op;
use tessera_ir::dialect::kernel::{self, KernelOp};
use tessera_ir::eval::{EvalCx, EvalEnv};
use tessera_ir::id::EntityId;
use tessera_ir::infer::{InferCx, NoSymbols};
use tessera_ir::tensor::{Data, Tensor};
use tessera_ir::verify::VerifiedModule;
use crate::failure::Failure;
use tessera_ir::bindings::Bindings;
use tessera_ir::{BlockId, DType, Diag, Dim, Func, Loc, Module, OpId, OpRef, Traits, Type, ValueId};

/// Runs kernel functions of one verified module.
pub struct KernelEvaluator<'m> {
    module: &'m Module,
}

impl<'m> KernelEvaluator<'m> {
    /// An interpreter for `module`'s kernel functions; `k.param` reads the
    /// parameters' initial values.
    pub fn new(module: &'m VerifiedModule) -> KernelEvaluator<'m> {
        KernelEvaluator { module: module.module() }
    }

    /// Runs kernel function `name`: `inputs` bind its first arguments, every
    /// further argument is an output, allocated here with the shape its type
    /// gives once the inputs bind the symbols, and returned in order.
    pub fn run(&self, name: &str, inputs: Vec<Tensor>) -> Result<Vec<Tensor>, Diag> {
        let func =
            self.module.func(name).ok_or_else(|| Diag::error(Loc::Unknown, format!("no function named @{name}")))?;
        let func_error = |msg: String| Diag::error(func.loc.clone(), format!("@{name}: {msg}"));
        let mut machine = Machine::new(self.module, func);
        let outputs = machine.bind(inputs).map_err(func_error)?;
        let args = func.args().iter().enumerate().map(|(i, _)| Val::Buffer(i)).collect();
        machine.run_block(func.entry(), args).map_err(|f| f.into_diag(func))?;
        outputs.into_iter().map(|h| machine.take_output(h, func).map_err(func_error)).collect()
    }
}

/// One buffer of host memory.
struct Buffer {
    dtype: DType,
    shape: Vec<usize>,
    data: Data,
    /// Per element, whether anything was stored there; `None` when every
    /// element holds a value from the start (inputs, constants, parameters).
    written: Option<Vec<bool>>,
    /// Whether stores are refused (constants and parameters).
    read_only: bool,
}

impl Buffer {
    /// A buffer whose elements are all defined and which may be written.
    fn from_tensor(t: Tensor, read_only: bool) -> Buffer {
        let (dtype, shape) = (t.dtype(), t.shape().to_vec());
        Buffer { dtype, shape, data: t.into_data(), written: None, read_only }
    }

    /// A writable buffer of undefined elements (held as zeros).
    fn undefined(dtype: DType, shape: Vec<usize>) -> Buffer {
        let t = Tensor::zeros(dtype, shape);
        let written = Some(vec![false; t.len()]);
        Buffer { written, ..Buffer::from_tensor(t, false) }
    }
}

/// The value of an SSA value while a function runs.
#[derive(Clone)]
enum Val {
    /// An `index`.
    Index(i64),
    /// A scalar, as a rank-0 tensor.
    Scalar(Tensor),
    /// A handle into the machine's buffers.
    Buffer(usize),
}

/// One running kernel function.
struct Machine<'m> {
    module: &'m Module,
    func: &'m Func,
    /// What each op does, by op index (`None`: not a kernel op).
    kinds: Vec<Option<KernelOp>>,
    /// The current value of each SSA value, by value index.
    values: Vec<Option<Val>>,
    buffers: Vec<Buffer>,
    bindings: Bindings,
    /// The buffer of each `k.param` symbol and `k.buffer_constant` op, made on first use.
    params: HashMap<String, usize>,
    constants: HashMap<OpId, usize>,
    /// The arena and byte offset of each `k.view`'s buffer, by handle.
    views: HashMap<usize, (usize, usize)>,
    /// For each arena (by handle), the buffer whose store last wrote each
    /// byte (its handle plus one; 0 for none).
    owners: HashMap<usize, Vec<usize>>,
}

impl<'m> Machine<'m> {
    fn new(module: &'m Module, func: &'m Func) -> Machine<'m> {
        let mut kinds = vec![None; func.op_capacity()];
        for op in func.walk() {
            kinds[op.index()] = kernel::kind(func.op(op).def);
        }
        Machine {
            module,
            func,
            kinds,
            values: Vec::new(),
            buffers: Vec::new(),
            bindings: Bindings::default(),
            params: HashMap::new(),
            constants: HashMap::new(),
            views: HashMap::new(),
            owners: HashMap::new(),
        }
    }

    /// Makes one buffer per argument: the inputs, then the outputs (whose
    /// handles it returns), binding symbols from the inputs' shapes.
    fn bind(&mut self, inputs: Vec<Tensor>) -> Result<Vec<usize>, String> {
        let func = self.func;
        if !func.results.is_empty() {
            return Err("a kernel function returns nothing; its outputs are buffer arguments".into());
        }
        let types = func
            .arg_types()
            .into_iter()
            .enumerate()
            .map(|(i, t)| match t {
                Type::Buffer(b) => Ok(b),
                other => Err(format!("argument #{i} has type {other}; kernel functions take buffers")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        if inputs.len() > types.len() {
            return Err(format!("takes {} buffer(s), got {} input(s)", types.len(), inputs.len()));
        }
        self.bindings = Bindings::from_inputs(&types, &inputs, |i| Type::Buffer(types[i].clone()).to_string())?;
        let count = inputs.len();
        for t in inputs {
            self.buffers.push(Buffer::from_tensor(t, false));
        }
        let mut outputs = Vec::new();
        for (i, ty) in types.iter().enumerate().skip(count) {
            let shape = ty.dims.iter().map(|d| self.size(d)).collect::<Result<Vec<_>, _>>();
            let shape = shape.map_err(|e| format!("output argument #{i}: {e}"))?;
            outputs.push(self.buffers.len());
            self.buffers.push(Buffer::undefined(ty.dtype, shape));
        }
        Ok(outputs)
    }

    /// The size of a dim with the bound symbols.
    fn size(&self, d: &Dim) -> Result<usize, String> {
        self.bindings.size(d)
    }

    /// The output buffer `handle` as a tensor, once every element was written.
    fn take_output(&mut self, handle: usize, func: &Func) -> Result<Tensor, String> {
        let b = &mut self.buffers[handle];
        if let Some(i) = b.written.as_ref().and_then(|w| w.iter().position(|&x| !x)) {
            let arg = func.args()[handle];
            return Err(format!(
                "output argument #{handle} ({}) has element {:?} never written",
                func.ty(arg),
                tessera_ir::tensor::unravel(i, &b.shape)
            ));
        }
        let data = std::mem::replace(&mut b.data, Data::Bool(Vec::new()));
        Tensor::new(b.dtype, b.shape.clone(), data)
    }

    fn set(&mut self, v: ValueId, val: Val) {
        let i = v.index();
        if self.values.len() <= i {
            self.values.resize(i + 1, None);
        }
        self.values[i] = Some(val);
    }

    fn get(&self, op: OpId, v: ValueId) -> Result<&Val, Failure> {
        self.values
            .get(v.index())
            .and_then(Option::as_ref)
            .ok_or_else(|| Failure::Op(op, "an operand has no value (invalid IR)".into()))
    }

    fn index(&self, op: OpId, v: ValueId) -> Result<i64, Failure> {
        match self.get(op, v)? {
            Val::Index(i) => Ok(*i),
            _ => Err(Failure::Op(op, "an operand that should be an index is not (invalid IR)".into())),
        }
    }

    fn scalar(&self, op: OpId, v: ValueId) -> Result<Tensor, Failure> {
        match self.get(op, v)? {
            Val::Scalar(t) => Ok(t.clone()),
            _ => Err(Failure::Op(op, "an operand that should be a scalar is not (invalid IR)".into())),
        }
    }

    fn buffer(&self, op: OpId, v: ValueId) -> Result<usize, Failure> {
        match self.get(op, v)? {
            Val::Buffer(h) => Ok(*h),
            _ => Err(Failure::Op(op, "an operand that should be a buffer is not (invalid IR)".into())),
        }
    }

    /// Runs a block with its arguments; returns the operands of its terminator.
    fn run_block(&mut self, block: BlockId, args: Vec<Val>) -> Result<Vec<Val>, Failure> {
        let func = self.func;
        let data = func.block(block);
        if data.args.len() != args.len() {
            return Err(Failure::Func(format!("a block takes {} argument(s), got {}", data.args.len(), args.len())));
        }
        for (&a, v) in data.args.iter().zip(args) {
            self.set(a, v);
        }
        for &op in &data.ops {
            let op_data = func.op(op);
            if op_data.def.traits().contains(Traits::TERMINATOR) {
                return op_data.operands.iter().map(|&v| self.get(op, v).cloned()).collect();
            }
            self.exec(op)?;
        }
        Err(Failure::Func("a block has no terminator".into()))
    }

    fn exec(&mut self, op: OpId) -> Result<(), Failure> {
        let func = self.func;
        let data = func.op(op);
        let fail = |msg: String| Failure::Op(op, msg);
        let Some(kind) = self.kinds.get(op.index()).copied().flatten() else {
            return Err(fail("is not a kernel-dialect op; the kernel interpreter runs kernel functions only".into()));
        };
        let result = data.results.first().copied();
        let value = match kind {
            KernelOp::Dim => {
                let b = self.buffer(op, data.operands[0])?;
                let axis = data.attrs.get("axis").and_then(Attr::as_int);
                let n = axis.and_then(|a| usize::try_from(a).ok()).and_then(|a| self.buffers[b].shape.get(a));
                Val::Index(*n.ok_or_else(|| fail("the axis is out of range (invalid IR)".into()))? as i64)
            }
            KernelOp::Alloc => {
                let ty = result.map(|r| func.ty(r));
                let Some(Type::Buffer(t)) = ty else {
                    return Err(fail("the result is not a buffer (invalid IR)".into()));
                };
                let shape = t.dims.iter().map(|d| self.size(d)).collect::<Result<Vec<_>, _>>().map_err(fail)?;
                self.buffers.push(Buffer::undefined(t.dtype, shape));
                Val::Buffer(self.buffers.len() - 1)
            }
            KernelOp::BufferConstant => match self.constants.get(&op) {
                Some(&h) => Val::Buffer(h),
                None => {
                    let t = dense(&data.attrs).map(Tensor::from).ok_or_else(|| fail("no dense 'value'".into()))?;
                    self.buffers.push(Buffer::from_tensor(t, true));
                    self.constants.insert(op, self.buffers.len() - 1);
                    Val::Buffer(self.buffers.len() - 1)
                }
            },
            KernelOp::Param => Val::Buffer(self.param(&data.attrs).map_err(fail)?),
            KernelOp::Load => {
                let b = self.buffer(op, data.operands[0])?;
                let flat = self.flat_index(op, data.operands[0], b, &data.operands[1..])?;
                let buf = &self.buffers[b];
                if buf.written.as_ref().is_some_and(|w| !w[flat]) {
                    let at = tessera_ir::tensor::unravel(flat, &buf.shape);
                    return Err(fail(format!(
                        "reads element {at:?} of {} before anything was stored there",
                        self.shown(data.operands[0], b)
                    )));
                }
                if let Some(other) = self.clobbered(b, flat) {
                    let at = tessera_ir::tensor::unravel(flat, &buf.shape);
                    return Err(fail(format!(
                        "reads element {at:?} of the view {}, whose bytes a store through another view ({}) overwrote",
                        self.shown(data.operands[0], b),
                        self.buffers[other].shape.iter().map(ToString::to_string).collect::<Vec<_>>().join("x")
                    )));
                }
                Val::Scalar(Tensor::new(buf.dtype, Vec::new(), element(&buf.data, flat)).map_err(fail)?)
            }
            KernelOp::Store => {
                let v = self.scalar(op, data.operands[0])?;
                let b = self.buffer(op, data.operands[1])?;
                let flat = self.flat_index(op, data.operands[1], b, &data.operands[2..])?;
                let shown = self.shown(data.operands[1], b);
                let buf = &mut self.buffers[b];
                if buf.read_only {
                    return Err(fail(format!("stores into the read-only {shown}")));
                }
                if v.dtype() != buf.dtype {
                    return Err(fail(format!("cannot store a {} into {shown}", v.dtype())));
                }
                set_element(&mut buf.data, flat, v.data()).map_err(fail)?;
                if let Some(w) = &mut buf.written {
                    w[flat] = true;
                }
                self.claim(b, flat);
                return Ok(());
            }
            KernelOp::Constant => {
                Val::Scalar(dense(&data.attrs).map(Tensor::from).ok_or_else(|| fail("no dense 'value'".into()))?)
            }
            KernelOp::Apply | KernelOp::Cast | KernelOp::Bitcast | KernelOp::IndexCast => {
                let def = match kind {
                    KernelOp::Apply => applied_op(&data.attrs).map_err(fail)?,
                    KernelOp::Bitcast => &BITCAST as OpRef,
                    _ => &CAST,
                };
                let inputs = if kind == KernelOp::IndexCast {
                    let i = self.index(op, data.operands[0])?;
                    vec![Tensor::new(DType::I64, Vec::new(), Data::Int(vec![i])).map_err(fail)?]
                } else {
                    data.operands.iter().map(|&v| self.scalar(op, v)).collect::<Result<Vec<_>, _>>()?
                };
                let ty = result.map(|r| func.ty(r));
                let Some(Type::Scalar(dtype)) = ty else {
                    return Err(fail("the result is not a scalar (invalid IR)".into()));
                };
                Val::Scalar(apply_scalar(def, &data.attrs, inputs, *dtype).map_err(fail)?)
            }
            KernelOp::IndexConstant => Val::Index(
                data.attrs.get("value").and_then(Attr::as_int).ok_or_else(|| fail("no integer 'value'".into()))?,
            ),
            KernelOp::Index(f) => {
                let (a, b) = (self.index(op, data.operands[0])?, self.index(op, data.operands[1])?);
                let what = if matches!(f, kernel::IndexOp::Div | kernel::IndexOp::Rem) && b == 0 {
                    "divides by zero"
                } else {
                    "overflows"
                };
                Val::Index(f.apply(a, b).ok_or_else(|| fail(format!("{a} and {b}: the index arithmetic {what}")))?)
            }
            KernelOp::ToIndex => {
                let v = self.scalar(op, data.operands[0])?.to_i64s()[0];
                let n = self.index(op, data.operands[1])?;
                let axis = data.attrs.get("axis").and_then(Attr::as_int).unwrap_or(0);
                let j = if v < 0 { v.checked_add(n) } else { Some(v) };
                let j = j.filter(|j| (0..n).contains(j));
                Val::Index(j.ok_or_else(|| fail(format!("index {v} is out of range for axis {axis} of size {n}")))?)
            }
            KernelOp::View => Val::Buffer(self.view(op)?),
            KernelOp::For => return self.run_for(op),
            KernelOp::If => {
                let cond = self.scalar(op, data.operands[0])?.to_i64s()[0] != 0;
                let region = data.regions.get(if cond { 0 } else { 1 });
                let Some(&block) = region.and_then(|&r| func.region(r).blocks.first()) else {
                    return Err(fail("a branch has no block (invalid IR)".into()));
                };
                self.run_block(block, Vec::new())?;
                return Ok(());
            }
            KernelOp::While => return self.run_while(op),
            KernelOp::Matmul => return self.matmul(op),
        };
        if let Some(r) = result {
            self.set(r, value);
        }
        Ok(())
    }

    /// Runs a `k.for`: sequential loops carry values; parallel ones run
    /// their iterations last to first.
    fn run_for(&mut self, op: OpId) -> Result<(), Failure> {
        let func = self.func;
        let data = func.op(op);
        let (lo, hi, step) =
            (self.index(op, data.operands[0])?, self.index(op, data.operands[1])?, self.index(op, data.operands[2])?);
        if step <= 0 {
            return Err(Failure::Op(op, format!("the step is {step}; it must be positive")));
        }
        let count = if hi > lo { (hi as i128 - lo as i128 + step as i128 - 1) / step as i128 } else { 0 };
        let iv = |k: i128| Val::Index((lo as i128 + k * step as i128) as i64);
        let Some(&body) = data.regions.first().and_then(|&r| func.region(r).blocks.first()) else {
            return Err(Failure::Op(op, "the loop has no body (invalid IR)".into()));
        };
        let mut carried =
            data.operands[3..].iter().map(|&v| self.get(op, v).cloned()).collect::<Result<Vec<_>, _>>()?;
        if data.attrs.get("parallel") == Some(&Attr::Bool(true)) {
            for k in (0..count).rev() {
                self.run_block(body, vec![iv(k)])?;
            }
        } else {
            for k in 0..count {
                let mut args = vec![iv(k)];
                args.extend(carried);
                carried = self.run_block(body, args)?;
            }
        }
        for (&r, v) in data.results.iter().zip(carried) {
            self.set(r, v);
        }
        Ok(())
    }

    /// Runs a `k.while`: the body, on the carried values, while the flag holds.
    fn run_while(&mut self, op: OpId) -> Result<(), Failure> {
        let func = self.func;
        let data = func.op(op);
        let Some(&body) = data.regions.first().and_then(|&r| func.region(r).blocks.first()) else {
            return Err(Failure::Op(op, "the loop has no body (invalid IR)".into()));
        };
        let mut go = self.scalar(op, data.operands[0])?.to_i64s()[0] != 0;
        let mut carried =
            data.operands[1..].iter().map(|&v| self.get(op, v).cloned()).collect::<Result<Vec<_>, _>>()?;
        while go {
            let mut yields = self.run_block(body, carried)?.into_iter();
            go = match yields.next() {
                Some(Val::Scalar(flag)) => flag.to_i64s()[0] != 0,
                _ => return Err(Failure::Op(op, "the body does not yield a flag first (invalid IR)".into())),
            };
            carried = yields.collect();
        }
        for (&r, v) in data.results.iter().zip(carried) {
            self.set(r, v);
        }
        Ok(())
    }

    /// A `k.view`: a new buffer of its type, its elements undefined,
    /// remembered as lying in the arena from its byte offset on (which must
    /// be aligned to its dtype and fit).
    fn view(&mut self, op: OpId) -> Result<usize, Failure> {
        let func = self.func;
        let data = func.op(op);
        let fail = |msg: String| Failure::Op(op, msg);
        let arena = self.buffer(op, data.operands[0])?;
        let offset = self.index(op, data.operands[1])?;
        let Some(Type::Buffer(t)) = data.results.first().map(|&r| func.ty(r)) else {
            return Err(fail("the result is not a buffer (invalid IR)".into()));
        };
        let shape = t.dims.iter().map(|d| self.size(d)).collect::<Result<Vec<_>, _>>().map_err(&fail)?;
        let bytes = shape.iter().product::<usize>() * t.dtype.size_bytes();
        let arena_bytes = self.buffers[arena].shape.iter().product::<usize>();
        let size = t.dtype.size_bytes() as i64;
        if offset < 0 || offset % size != 0 || offset as usize + bytes > arena_bytes {
            return Err(fail(format!(
                "a view of {bytes} byte(s) at offset {offset} does not fit, aligned to {size}, in an arena of {arena_bytes} byte(s)"
            )));
        }
        self.buffers.push(Buffer::undefined(t.dtype, shape));
        let handle = self.buffers.len() - 1;
        self.views.insert(handle, (arena, offset as usize));
        self.owners.entry(arena).or_insert_with(|| vec![0; arena_bytes]);
        Ok(handle)
    }

    /// The bytes element `flat` of buffer `b` occupies in its arena, when
    /// `b` is a view: the arena's handle and the byte range.
    fn arena_bytes(&self, b: usize, flat: usize) -> Option<(usize, std::ops::Range<usize>)> {
        let &(arena, offset) = self.views.get(&b)?;
        let size = self.buffers[b].dtype.size_bytes();
        let start = offset + flat * size;
        Some((arena, start..start + size))
    }

    /// Records that a store through buffer `b` wrote element `flat` (when
    /// `b` is a view, its bytes in the arena now belong to `b`).
    fn claim(&mut self, b: usize, flat: usize) {
        if let Some((arena, bytes)) = self.arena_bytes(b, flat) {
            if let Some(owners) = self.owners.get_mut(&arena) {
                owners[bytes].fill(b + 1);
            }
        }
    }

    /// The other view whose store overwrote a byte of element `flat` of
    /// view `b` since `b` wrote it, if any.
    fn clobbered(&self, b: usize, flat: usize) -> Option<usize> {
        let (arena, bytes) = self.arena_bytes(b, flat)?;
        let owners = self.owners.get(&arena)?;
        owners[bytes].iter().find(|&&o| o != 0 && o != b + 1).map(|&o| o - 1)
    }

    /// The row-major position of the element at `indices` in buffer `b`
    /// (the value `v`), checking each index against its axis.
    fn flat_index(&self, op: OpId, v: ValueId, b: usize, indices: &[ValueId]) -> Result<usize, Failure> {
        let at = indices.iter().map(|&i| self.index(op, i)).collect::<Result<Vec<_>, _>>()?;
        let shape = &self.buffers[b].shape;
        if at.len() != shape.len() {
            return Err(Failure::Op(op, format!("{} indices for {} (invalid IR)", at.len(), self.shown(v, b))));
        }
        let mut flat = 0usize;
        for (axis, (&i, &n)) in at.iter().zip(shape).enumerate() {
            if i < 0 || i as usize >= n {
                return Err(Failure::Op(
                    op,
                    format!("index {at:?} is out of bounds for {}: axis {axis} has size {n}", self.shown(v, b)),
                ));
            }
            flat = flat * n + i as usize;
        }
        Ok(flat)
    }

    /// `buffer<N x 4 x f32> of shape [5, 4]`, for diagnostics.
    fn shown(&self, v: ValueId, b: usize) -> String {
        format!("{} of shape {:?}", self.func.ty(v), self.buffers[b].shape)
    }

    /// The read-only buffer of the parameter a `k.param` names.
    fn param(&mut self, attrs: &Attrs) -> Result<usize, String> {
        let Some(Attr::SymbolRef(name)) = attrs.get("sym") else { return Err("no symbol 'sym'".into()) };
        if let Some(&h) = self.params.get(name) {
            return Ok(h);
        }
        let p = self.module.param(name).ok_or_else(|| format!("no parameter named @{name}"))?;
        let init = p.init.as_ref().ok_or_else(|| format!("parameter @{name} has no value"))?;
        self.buffers.push(Buffer::from_tensor(Tensor::from(init), true));
        self.params.insert(name.clone(), self.buffers.len() - 1);
        Ok(self.buffers.len() - 1)
    }
}

/// The dense attribute `value`.
fn dense(attrs: &Attrs) -> Option<&tessera_ir::DenseAttr> {
    match attrs.get("value") {
        Some(Attr::Dense(d)) => Some(d),
        _ => None,
    }
}

/// Element `i` of `data`, alone.
fn element(data: &Data, i: usize) -> Data {
    match data {
        Data::Float(v) => Data::Float(vec![v[i]]),
        Data::Int(v) => Data::Int(vec![v[i]]),
        Data::UInt(v) => Data::UInt(vec![v[i]]),
        Data::Bool(v) => Data::Bool(vec![v[i]]),
    }
}

/// Writes the single element of `value` at position `i` of `data`.
fn set_element(data: &mut Data, i: usize, value: &Data) -> Result<(), String> {
    match (data, value) {
        (Data::Float(v), Data::Float(x)) if x.len() == 1 => v[i] = x[0],
        (Data::Int(v), Data::Int(x)) if x.len() == 1 => v[i] = x[0],
        (Data::UInt(v), Data::UInt(x)) if x.len() == 1 => v[i] = x[0],
        (Data::Bool(v), Data::Bool(x)) if x.len() == 1 => v[i] = x[0],
        _ => return Err("the stored value does not fit the buffer's elements".into()),
    }
    Ok(())
}

/// Applies the graph elementwise op `def` (with `attrs`) to rank-0 tensors
/// through its evaluation hook; the result must have `dtype`.
fn apply_scalar(def: OpRef, attrs: &Attrs, inputs: Vec<Tensor>, dtype: DType) -> Result<Tensor, String> {
    let operands: Vec<Type> = inputs.iter().map(|t| Type::Tensor(t.ty())).collect();
    let results = [Type::Tensor(tessera_ir::TensorType::scalar(dtype))];
    let mut env = ScalarEnv;
    let mut cx = EvalCx {
        op: InferCx { operands: &operands, attrs, regions: &[], symbols: &NoSymbols },
        inputs: &inputs,
        results: &results,
        env: &mut env,
    };
    let out = def.eval(&mut cx).map_err(|e| format!("{}: {e}", def.name()))?;
    match <[Tensor; 1]>::try_from(out) {
        Ok([t]) if t.dtype() == dtype && t.rank() == 0 => Ok(t),
        Ok([t]) => Err(format!("{} gave {} where {dtype} was declared", def.name(), t.ty())),
        Err(out) => Err(format!("{} gave {} results, expected 1", def.name(), out.len())),
    }
}

/// What a scalar function sees of the interpreter: nothing, since
/// elementwise ops have no dims to resolve, regions, calls or parameters.
struct ScalarEnv;

impl EvalEnv for ScalarEnv {
    fn dim(&self, d: &Dim) -> Result<usize, String> {
        Err(format!("dim {d} cannot be resolved on scalars"))
    }
    fn run_region(&mut self, index: usize, _: Vec<Tensor>) -> Result<Vec<Tensor>, String> {
        Err(format!("no region #{index} on scalars"))
    }
    fn call(&mut self, name: &str, _: Vec<Tensor>) -> Result<Vec<Tensor>, String> {
        Err(format!("no call of @{name} on scalars"))
    }
    fn param(&self, name: &str) -> Result<Tensor, String> {
        Err(format!("no parameter @{name} on scalars"))
    }
}
