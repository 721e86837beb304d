//! Kernel-dialect functions to LLVM IR, one op at a time through an
//! exhaustive `match` over [`KernelOp`] (adding a kernel op stops this file
//! compiling until it is translated).
//!
//! Each kernel function `@f` becomes two LLVM functions:
//! - `i32 @tessera_f(ptr %buffers, ptr %dims)`, the entry point of the
//!   crate's calling convention (see the crate doc), which loads each
//!   buffer pointer from the array and calls
//! - `internal i32 @tessera_f.body(ptr noalias %x, ..., ptr noalias %dims)`,
//!   the translated body, `alwaysinline`: buffers never overlap, and the
//!   inliner turns the `noalias` parameters into alias scopes on every
//!   access, which frees the optimiser from proving it.
//!
//! In the body: indices are `i64`; a buffer is a pointer plus one extent
//! per axis (a constant for a static dim, else the caller's value for that
//! symbolic dim, loaded once at the entry); an element's address is the
//! row-major offset `((i0 * e1 + i1) * e2 + i2)` in an `inbounds` GEP
//! (the lowering only produces indices in bounds). `k.for` is a header
//! block with one phi for the index and one per carried value, the body,
//! and a latch adding the step; a parallel loop runs sequentially and
//! carries `llvm.loop.parallel_accesses` metadata (`metadata.rs`).
//! `k.if` is a conditional branch to two blocks that meet after, and
//! `k.while` a header with one phi per carried value (the flag first)
//! branching to the body while the flag holds.
//! `k.alloc` calls `aligned_alloc(64, ...)` at the top level of the body
//! (an allocation inside a loop or branch is refused) and every allocation
//! is freed in the one exit block, which returns the status word; a
//! `k.view` is its arena's pointer advanced by its byte offset.
//! `k.buffer_constant` is a private constant global; `k.param` an external
//! global `@"tessera.param.NAME"` the JIT binds to the parameter's bytes.

use crate::abi::{self, Signature};
use crate::apply::{apply, bitcast};
use crate::cast::cast;
use crate::emit::{is_signed, CgError, Emit, Res};
use crate::gemm::{self, Product, View};
use crate::metadata;
use crate::parallel;
use crate::target::Simd;
use inkwell::attributes::AttributeLoc;
use inkwell::basic_block::BasicBlock;
use inkwell::builder::Builder;
use inkwell::context::Context;
use inkwell::module::{Linkage, Module};
use inkwell::types::{BasicMetadataTypeEnum, BasicTypeEnum};
use inkwell::values::{
    BasicMetadataValueEnum, BasicValue, BasicValueEnum, FunctionValue, GlobalValue, InstructionValue, IntValue,
    MetadataValue, PointerValue,
};
use inkwell::{AddressSpace, IntPredicate};
use std::collections::HashMap;
use tessera_ir::attr::{Attr, Attrs, DenseAttr};
use tessera_ir::dialect::kernel::scalar::applied_op;
use tessera_ir::dialect::kernel::linalg::matmul_axes;
use tessera_ir::dialect::kernel::{self, IndexOp, KernelOp};
use tessera_ir::infer::{InferCx, NoSymbols};
use tessera_ir::id::EntityId;
use tessera_ir::{BlockId, DType, Diag, Diags, Dim, Func, Loc, OpId, TensorType, Traits, Type, ValueId};

/// A module translated to LLVM IR.
pub(crate) struct Translated<'ctx> {
    /// The LLVM module.
    pub(crate) module: Module<'ctx>,
    /// Every kernel function, in module order.
    pub(crate) kernels: Vec<Kernel>,
    /// The external global standing for each parameter a kernel reads.
    pub(crate) params: Vec<(String, GlobalValue<'ctx>)>,
}

/// One translated kernel function.
pub(crate) struct Kernel {
    /// Its name in the IR module.
    pub(crate) name: String,
    /// The symbol of its entry point.
    pub(crate) symbol: String,
    /// What a caller passes.
    pub(crate) sig: Signature,
    /// Where it was defined.
    pub(crate) loc: Loc,
}

/// The symbol of kernel function `name`'s entry point: prefixed, so no
/// kernel name collides with a C library function the code calls.
fn entry_symbol(name: &str) -> String {
    format!("tessera_{name}")
}

/// Translates every function of `ir` (all must be kernel functions) into
/// one LLVM module; reports every function that fails.
pub(crate) fn translate<'ctx>(cx: &'ctx Context, ir: &tessera_ir::Module, simd: Simd) -> Result<Translated<'ctx>, Diags> {
    let module = cx.create_module("tessera");
    let builder = cx.create_builder();
    let mut params = Vec::new();
    let mut kernels = Vec::new();
    let mut diags = Vec::new();
    for func in &ir.funcs {
        let globals = Globals { ir, params: &mut params, simd };
        match translate_func(cx, &module, &builder, globals, func) {
            Ok(sig) => kernels.push(Kernel {
                name: func.name.clone(),
                symbol: entry_symbol(&func.name),
                sig,
                loc: func.loc.clone(),
            }),
            Err(d) => diags.push(d),
        }
    }
    if !diags.is_empty() {
        return Err(Diags(diags));
    }
    module.verify().map_err(|e| Diag::error(Loc::Unknown, format!("LLVM rejected the generated module: {e}")))?;
    Ok(Translated { module, kernels, params })
}

/// What the functions of one module share: the IR module (for parameter
/// types) and the parameter globals made so far.
struct Globals<'a, 'ctx> {
    ir: &'a tessera_ir::Module,
    params: &'a mut Vec<(String, GlobalValue<'ctx>)>,
    /// The vector instructions the GEMMs are blocked for.
    simd: Simd,
}

/// Translates kernel function `func` into `module`; returns its signature.
fn translate_func<'ctx>(
    cx: &'ctx Context,
    module: &Module<'ctx>,
    builder: &Builder<'ctx>,
    globals: Globals<'_, 'ctx>,
    func: &Func,
) -> Result<Signature, Diag> {
    let sig = Signature::of(func)?;
    let fail = |msg: String| Diag::error(func.loc.clone(), format!("@{}: {msg}", func.name));
    let symbol = entry_symbol(&func.name);
    let (ptr, i32t) = (cx.ptr_type(AddressSpace::default()), cx.i32_type());

    // The body: one noalias pointer per buffer, then the dims.
    let params: Vec<BasicMetadataTypeEnum> = (0..=sig.args.len()).map(|_| ptr.into()).collect();
    let body = module.add_function(&format!("{symbol}.body"), i32t.fn_type(&params, false), Some(Linkage::Internal));
    let attr = |name: &str| cx.create_enum_attribute(inkwell::attributes::Attribute::get_named_enum_kind_id(name), 0);
    for k in 0..=sig.args.len() {
        body.add_attribute(AttributeLoc::Param(k as u32), attr("noalias"));
    }
    body.add_attribute(AttributeLoc::Param(sig.args.len() as u32), attr("readonly"));
    body.add_attribute(AttributeLoc::Function, attr("alwaysinline"));
    body.add_attribute(AttributeLoc::Function, attr("nounwind"));
    let entry = cx.append_basic_block(body, "entry");
    let cleanup = cx.append_basic_block(body, "exit");
    builder.position_at_end(entry);
    let status = builder.build_alloca(i32t, "status").map_err(|e| fail(e.to_string()))?;
    let e = Emit { cx, module, b: builder, status };
    let mut t = FuncCx {
        e,
        src: func,
        globals,
        sig: &sig,
        body,
        values: Vec::new(),
        dims: Vec::new(),
        slots: HashMap::new(),
        cleanup,
        groups: Vec::new(),
        nested: 0,
    };
    t.prologue().map_err(|e| fail(e.0))?;
    let region = func.region(func.body());
    let [block] = region.blocks.as_slice() else {
        return Err(fail(format!("the body has {} blocks; kernel functions have one", region.blocks.len())));
    };
    t.block(*block)?;
    t.epilogue().map_err(|e| fail(e.0))?;

    // The entry point: loads the buffer pointers and calls the body.
    let entry_fn = module.add_function(&symbol, i32t.fn_type(&[ptr.into(), ptr.into()], false), None);
    entry_fn.add_attribute(AttributeLoc::Function, attr("nounwind"));
    let (buffers, dims) = (entry_fn.get_nth_param(0), entry_fn.get_nth_param(1));
    let (Some(buffers), Some(dims)) = (buffers, dims) else {
        return Err(fail("the entry point has no parameters".into()));
    };
    buffers.set_name("buffers");
    dims.set_name("dims");
    builder.position_at_end(cx.append_basic_block(entry_fn, "entry"));
    let call = (|| -> Res<()> {
        let mut args: Vec<BasicMetadataValueEnum> = Vec::new();
        for k in 0..sig.args.len() {
            // SAFETY (of the generated code): the caller passes one pointer per argument.
            let at = unsafe {
                builder.build_in_bounds_gep(
                    ptr,
                    buffers.into_pointer_value(),
                    &[cx.i64_type().const_int(k as u64, false)],
                    "",
                )?
            };
            args.push(builder.build_load(ptr, at, "")?.into());
        }
        args.push(dims.into());
        let result = builder.build_call(body, &args, "status")?.try_as_basic_value().basic();
        let result = result.ok_or_else(|| CgError("the body returns nothing".into()))?;
        builder.build_return(Some(&result))?;
        Ok(())
    })();
    call.map_err(|e| fail(e.0))?;
    Ok(sig)
}

/// A buffer: where its elements start, its extent per axis and its dtype.
#[derive(Clone)]
struct Buf<'ctx> {
    ptr: PointerValue<'ctx>,
    extents: Vec<IntValue<'ctx>>,
    dtype: DType,
}

/// The translation of an SSA value.
#[derive(Clone)]
enum Val<'ctx> {
    /// An `index` (`i64`).
    Index(IntValue<'ctx>),
    /// A scalar in its register type.
    Scalar(BasicValueEnum<'ctx>),
    /// A buffer.
    Buffer(Buf<'ctx>),
}

/// The translation of one kernel function's body.
struct FuncCx<'a, 'ctx> {
    e: Emit<'a, 'ctx>,
    src: &'a Func,
    globals: Globals<'a, 'ctx>,
    sig: &'a Signature,
    body: FunctionValue<'ctx>,
    /// The translation of each SSA value, by value index.
    values: Vec<Option<Val<'ctx>>>,
    /// The run-time value of each symbolic dim, in signature order.
    dims: Vec<IntValue<'ctx>>,
    /// The stack slot holding each `k.alloc`'s pointer (null until it runs).
    slots: HashMap<OpId, PointerValue<'ctx>>,
    /// The exit block: frees the allocations, returns the status.
    cleanup: BasicBlock<'ctx>,
    /// The access groups of the enclosing parallel loops, outermost first.
    groups: Vec<MetadataValue<'ctx>>,
    /// How many region ops (loops and the control ops `k.if` and
    /// `k.while`) enclose the op being translated: 0 at the top level.
    nested: usize,
}

impl<'ctx> FuncCx<'_, 'ctx> {
    /// The entry's fixed part: the status word, a null slot per `k.alloc`,
    /// the symbolic dims, and the argument buffers.
    fn prologue(&mut self) -> Res<()> {
        let (cx, b) = (self.e.cx, self.e.b);
        b.build_store(self.e.status, cx.i32_type().const_zero())?;
        let ptr = cx.ptr_type(AddressSpace::default());
        for op in self.src.walk() {
            if kernel::kind(self.src.op(op).def) == Some(KernelOp::Alloc) {
                let slot = b.build_alloca(ptr, "slot")?;
                b.build_store(slot, ptr.const_null())?;
                self.slots.insert(op, slot);
            }
        }
        let n = self.sig.args.len();
        let dims = self.body.get_nth_param(n as u32).ok_or_else(|| CgError("no dims parameter".into()))?;
        dims.set_name("dims");
        let i64t = cx.i64_type();
        for (k, d) in self.sig.dims.iter().enumerate() {
            // SAFETY (of the generated code): the caller passes one value per symbolic dim.
            let at = unsafe {
                b.build_in_bounds_gep(i64t, dims.into_pointer_value(), &[i64t.const_int(k as u64, false)], "")?
            };
            let v = b.build_load(i64t, at, &dim_name(d))?.into_int_value();
            self.dims.push(v);
        }
        for (k, (&arg, ty)) in self.src.args().iter().zip(&self.sig.args).enumerate() {
            let p = self.body.get_nth_param(k as u32).ok_or_else(|| CgError(format!("no parameter #{k}")))?;
            p.set_name(self.src.value(arg).name.as_deref().unwrap_or("arg"));
            let buf = Buf { ptr: p.into_pointer_value(), extents: self.extents(ty)?, dtype: ty.dtype };
            self.set(arg, Val::Buffer(buf));
        }
        Ok(())
    }

    /// The exit block, placed last: frees every allocation and returns the status.
    fn epilogue(&mut self) -> Res<()> {
        let (cx, b) = (self.e.cx, self.e.b);
        if let Some(last) = self.body.get_last_basic_block() {
            if last != self.cleanup {
                self.cleanup.move_after(last).map_err(|_| CgError("cannot move the exit block".into()))?;
            }
        }
        b.position_at_end(self.cleanup);
        let ptr = cx.ptr_type(AddressSpace::default());
        let mut slots: Vec<(OpId, PointerValue)> = self.slots.iter().map(|(&op, &s)| (op, s)).collect();
        slots.sort_by_key(|(op, _)| op.index());
        if !slots.is_empty() {
            let free = self.libc("free", cx.void_type().fn_type(&[ptr.into()], false));
            for (_, slot) in slots {
                let p = b.build_load(ptr, slot, "")?;
                b.build_call(free, &[p.into()], "")?;
            }
        }
        let status = b.build_load(cx.i32_type(), self.e.status, "")?;
        b.build_return(Some(&status))?;
        Ok(())
    }

    /// The C library function `name` of type `ty`, declared once.
    fn libc(&self, name: &str, ty: inkwell::types::FunctionType<'ctx>) -> FunctionValue<'ctx> {
        match self.e.module.get_function(name) {
            Some(f) => f,
            None => {
                let f = self.e.module.add_function(name, ty, None);
                f.add_attribute(AttributeLoc::Function, self.e.enum_attr("nounwind", 0));
                f
            }
        }
    }

    /// Translates the ops of `block` up to its terminator; returns the
    /// terminator's operands (what a loop body yields). At the function's
    /// top level, the `tg.return` branches to the exit block.
    fn block(&mut self, block: BlockId) -> Result<Vec<ValueId>, Diag> {
        let src = self.src;
        for &op in &src.block(block).ops {
            let data = src.op(op);
            if data.def.traits().contains(Traits::TERMINATOR) {
                if self.nested == 0 {
                    self.e.b.build_unconditional_branch(self.cleanup).map_err(|e| locate(self.src, op, e.into()))?;
                }
                return Ok(data.operands.clone());
            }
            self.op(op)?;
        }
        Err(Diag::error(src.loc.clone(), format!("@{}: a block has no terminator", src.name)))
    }

    /// Translates one op.
    fn op(&mut self, op: OpId) -> Result<(), Diag> {
        let data = self.src.op(op);
        let Some(kind) = kernel::kind(data.def) else {
            let why = "is not a kernel-dialect op; lower the function with lower-to-kernel first";
            return Err(locate(self.src, op, CgError(why.into())));
        };
        let result = match kind {
            KernelOp::For => return self.for_loop(op),
            KernelOp::If => return self.if_op(op),
            KernelOp::While => return self.while_loop(op),
            KernelOp::Matmul => return self.matmul(op).map_err(|e| locate(self.src, op, e)),
            KernelOp::Dim => self.dim(op).map(Val::Index),
            KernelOp::Alloc => self.alloc(op).map(Val::Buffer),
            KernelOp::View => self.view(op).map(Val::Buffer),
            KernelOp::BufferConstant => self.constant_buffer(op).map(Val::Buffer),
            KernelOp::Param => self.param(op).map(Val::Buffer),
            KernelOp::Load => self.load(op).map(Val::Scalar),
            KernelOp::Store => return self.store(op).map_err(|e| locate(self.src, op, e)),
            KernelOp::Constant => self.constant(op).map(Val::Scalar),
            KernelOp::Apply => self.apply(op).map(Val::Scalar),
            KernelOp::Cast => self.cast(op, false).map(Val::Scalar),
            KernelOp::Bitcast => self.bitcast(op).map(Val::Scalar),
            KernelOp::IndexCast => self.cast(op, true).map(Val::Scalar),
            KernelOp::IndexConstant => self.index_constant(op).map(Val::Index),
            KernelOp::Index(f) => self.index_op(op, f).map(Val::Index),
            KernelOp::ToIndex => self.to_index(op).map(Val::Index),
        };
        let value = result.map_err(|e| locate(self.src, op, e))?;
        let r = data.results.first().copied().ok_or_else(|| locate(self.src, op, CgError("has no result".into())))?;
        self.set(r, value);
        Ok(())
    }

    fn set(&mut self, v: ValueId, val: Val<'ctx>) {
        let i = v.index();
        if self.values.len() <= i {
            self.values.resize(i + 1, None);
        }
        self.values[i] = Some(val);
    }

    fn get(&self, v: ValueId) -> Res<&Val<'ctx>> {
        self.values
            .get(v.index())
            .and_then(Option::as_ref)
            .ok_or_else(|| CgError("an operand has no value (invalid IR)".into()))
    }

    fn index(&self, v: ValueId) -> Res<IntValue<'ctx>> {
        match self.get(v)? {
            Val::Index(i) => Ok(*i),
            _ => Err(CgError("an operand that should be an index is not (invalid IR)".into())),
        }
    }

    fn scalar(&self, v: ValueId) -> Res<BasicValueEnum<'ctx>> {
        match self.get(v)? {
            Val::Scalar(s) => Ok(*s),
            _ => Err(CgError("an operand that should be a scalar is not (invalid IR)".into())),
        }
    }

    fn buffer(&self, v: ValueId) -> Res<Buf<'ctx>> {
        match self.get(v)? {
            Val::Buffer(b) => Ok(b.clone()),
            _ => Err(CgError("an operand that should be a buffer is not (invalid IR)".into())),
        }
    }

    /// An index or scalar value as an LLVM value (loop bounds, carried values).
    fn basic(&self, v: ValueId) -> Res<BasicValueEnum<'ctx>> {
        match self.get(v)? {
            Val::Index(i) => Ok((*i).into()),
            Val::Scalar(s) => Ok(*s),
            Val::Buffer(_) => Err(CgError("a buffer cannot be carried by a loop (invalid IR)".into())),
        }
    }

    /// The dtype of scalar value `v`.
    fn dtype(&self, v: ValueId) -> Res<DType> {
        match self.src.ty(v) {
            Type::Scalar(d) => Ok(*d),
            other => Err(CgError(format!("expected a scalar, got {other} (invalid IR)"))),
        }
    }

    /// The extents of a buffer of type `t`.
    fn extents(&self, t: &TensorType) -> Res<Vec<IntValue<'ctx>>> {
        let i64t = self.e.cx.i64_type();
        t.dims
            .iter()
            .map(|d| match d {
                Dim::Known(n) => Ok(i64t.const_int(*n, false)),
                _ => self
                    .sig
                    .slot(d)
                    .and_then(|k| self.dims.get(k).copied())
                    .ok_or_else(|| CgError(format!("dim {d} of {t} is not among the function's dims"))),
            })
            .collect()
    }

    fn dim(&self, op: OpId) -> Res<IntValue<'ctx>> {
        let data = self.src.op(op);
        let b = self.buffer(data.operands[0])?;
        let axis = int_attr(&data.attrs, "axis")?;
        usize::try_from(axis)
            .ok()
            .and_then(|a| b.extents.get(a).copied())
            .ok_or_else(|| CgError(format!("axis {axis} is out of range (invalid IR)")))
    }

    /// The result type of `op` as a buffer type.
    fn result_buffer_type(&self, op: OpId) -> Res<TensorType> {
        match self.src.op(op).results.first().map(|&r| self.src.ty(r)) {
            Some(Type::Buffer(t)) => Ok(t.clone()),
            _ => Err(CgError("the result is not a buffer (invalid IR)".into())),
        }
    }

    /// `k.alloc`: `aligned_alloc(64, size rounded up to 64)`, its pointer
    /// kept in the op's slot for the exit block to free; a null pointer
    /// sets the out-of-memory bit and jumps to the exit.
    fn alloc(&mut self, op: OpId) -> Res<Buf<'ctx>> {
        if self.nested > 0 {
            return Err(CgError(
                "an allocation inside a k.for is not supported, nor in a k.if or k.while (the lowering hoists allocations to the entry)"
                    .into(),
            ));
        }
        let (cx, b) = (self.e.cx, self.e.b);
        let t = self.result_buffer_type(op)?;
        let extents = self.extents(&t)?;
        let i64t = cx.i64_type();
        let mut bytes = i64t.const_int(t.dtype.size_bytes() as u64, false);
        for &n in &extents {
            bytes = b.build_int_nuw_mul(bytes, n, "")?;
        }
        let at_least_one =
            self.e.call_intrinsic("llvm.umax", &[i64t.into()], &[bytes.into(), i64t.const_int(1, false).into()])?;
        let padded = b.build_int_add(at_least_one.into_int_value(), i64t.const_int(63, false), "")?;
        let size = b.build_and(padded, i64t.const_int(!63u64, false), "")?;
        let ptr = cx.ptr_type(AddressSpace::default());
        let aligned_alloc = self.libc("aligned_alloc", ptr.fn_type(&[i64t.into(), i64t.into()], false));
        let align = i64t.const_int(64, false);
        let name = self.src.op(op).results.first().and_then(|&r| self.src.value(r).name.clone()).unwrap_or_default();
        let call = b.build_call(aligned_alloc, &[align.into(), size.into()], &name)?;
        let p = call.try_as_basic_value().basic().ok_or_else(|| CgError("aligned_alloc returns nothing".into()))?;
        let p = p.into_pointer_value();
        let slot = *self.slots.get(&op).ok_or_else(|| CgError("an allocation has no slot".into()))?;
        b.build_store(slot, p)?;
        let failed = b.build_is_null(p, "")?;
        let oom = cx.append_basic_block(self.body, "oom");
        let ok = cx.append_basic_block(self.body, "allocated");
        b.build_conditional_branch(failed, oom, ok)?;
        b.position_at_end(oom);
        self.e.flag(cx.bool_type().const_all_ones(), abi::OUT_OF_MEMORY)?;
        b.build_unconditional_branch(self.cleanup)?;
        b.position_at_end(ok);
        Ok(Buf { ptr: p, extents, dtype: t.dtype })
    }

    /// `k.view`: the arena's pointer advanced by the byte offset.
    fn view(&self, op: OpId) -> Res<Buf<'ctx>> {
        let data = self.src.op(op);
        let arena = self.buffer(data.operands[0])?;
        let offset = self.index(data.operands[1])?;
        let t = self.result_buffer_type(op)?;
        let name = data.results.first().and_then(|&r| self.src.value(r).name.clone()).unwrap_or_default();
        // SAFETY (of the generated code): memory planning places each view inside its arena.
        let ptr = unsafe { self.e.b.build_in_bounds_gep(self.e.cx.i8_type(), arena.ptr, &[offset], &name)? };
        Ok(Buf { ptr, extents: self.extents(&t)?, dtype: t.dtype })
    }

    /// `k.buffer_constant`: a private constant global holding the bytes.
    fn constant_buffer(&mut self, op: OpId) -> Res<Buf<'ctx>> {
        let d = dense_attr(&self.src.op(op).attrs)?;
        let cx = self.e.cx;
        let bytes = cx.const_string(d.bytes(), false);
        let g = self.e.module.add_global(bytes.get_type(), None, "tessera.const");
        g.set_initializer(&bytes);
        g.set_constant(true);
        g.set_linkage(Linkage::Private);
        g.set_unnamed_addr(true);
        g.set_alignment(64);
        Ok(Buf { ptr: g.as_pointer_value(), extents: self.extents(d.ty())?, dtype: d.ty().dtype })
    }

    /// `k.param`: the external global standing for the parameter, made
    /// once per module.
    fn param(&mut self, op: OpId) -> Res<Buf<'ctx>> {
        let Some(Attr::SymbolRef(name)) = self.src.op(op).attrs.get("sym") else {
            return Err(CgError("no symbol 'sym' (invalid IR)".into()));
        };
        let p = self.globals.ir.param(name).ok_or_else(|| CgError(format!("no parameter named @{name}")))?;
        let global = match self.globals.params.iter().find(|(n, _)| n == name) {
            Some((_, g)) => *g,
            None => {
                let g = self.e.module.add_global(self.e.cx.i8_type(), None, &format!("tessera.param.{name}"));
                g.set_constant(true);
                g.set_alignment(64);
                self.globals.params.push((name.clone(), g));
                g
            }
        };
        Ok(Buf { ptr: global.as_pointer_value(), extents: self.extents(&p.ty)?, dtype: p.ty.dtype })
    }

    /// The address of the element of buffer `buf` at `indices`.
    fn element(&self, buf: ValueId, indices: &[ValueId]) -> Res<(PointerValue<'ctx>, DType)> {
        let b = self.buffer(buf)?;
        if indices.len() != b.extents.len() {
            return Err(CgError(format!(
                "{} indices for a rank-{} buffer (invalid IR)",
                indices.len(),
                b.extents.len()
            )));
        }
        let mut flat = self.e.cx.i64_type().const_zero();
        for (k, &i) in indices.iter().enumerate() {
            let i = self.index(i)?;
            flat = if k == 0 || flat.get_zero_extended_constant() == Some(0) {
                i
            } else {
                let scaled = self.e.b.build_int_nsw_mul(flat, b.extents[k], "")?;
                self.e.b.build_int_nsw_add(scaled, i, "")?
            };
        }
        let mem = self.e.mem_type(b.dtype);
        // SAFETY (of the generated code): kernel IR indexes within bounds.
        let ptr = unsafe { self.e.b.build_in_bounds_gep(mem, b.ptr, &[flat], "")? };
        Ok((ptr, b.dtype))
    }

    /// Marks a memory access as belonging to every enclosing parallel loop.
    fn tag(&self, access: InstructionValue<'ctx>) -> Res<()> {
        let node = match self.groups.as_slice() {
            [] => return Ok(()),
            [one] => *one,
            many => {
                let list: Vec<BasicMetadataValueEnum> = many.iter().map(|&g| g.into()).collect();
                self.e.cx.metadata_node(&list)
            }
        };
        access
            .set_metadata(node, self.e.cx.get_kind_id("llvm.access.group"))
            .map_err(|e| CgError(format!("access group: {e}")))
    }

    fn load(&self, op: OpId) -> Res<BasicValueEnum<'ctx>> {
        let data = self.src.op(op);
        let (ptr, d) = self.element(data.operands[0], &data.operands[1..])?;
        let (v, access) = self.e.load(ptr, d)?;
        self.tag(access)?;
        Ok(v)
    }

    fn store(&self, op: OpId) -> Res<()> {
        let data = self.src.op(op);
        let v = self.scalar(data.operands[0])?;
        let (ptr, d) = self.element(data.operands[1], &data.operands[2..])?;
        let access = self.e.store(ptr, d, v)?;
        self.tag(access)
    }

    fn constant(&self, op: OpId) -> Res<BasicValueEnum<'ctx>> {
        let d = dense_attr(&self.src.op(op).attrs)?;
        if d.len() != 1 {
            return Err(CgError(format!("the value has {} elements; a scalar literal has one (invalid IR)", d.len())));
        }
        Ok(self.e.constant(d.get(0)))
    }

    fn apply(&self, op: OpId) -> Res<BasicValueEnum<'ctx>> {
        let data = self.src.op(op);
        let def = applied_op(&data.attrs)?;
        let dtypes = data.operands.iter().map(|&v| self.dtype(v)).collect::<Res<Vec<_>>>()?;
        let args = data.operands.iter().map(|&v| self.scalar(v)).collect::<Res<Vec<_>>>()?;
        let result = data.results.first().ok_or_else(|| CgError("has no result".into()))?;
        apply(&self.e, def, &dtypes, &args, self.dtype(*result)?)
    }

    /// `k.cast` of a scalar, or `k.index_cast` of an index (an `i64`).
    fn cast(&self, op: OpId, of_index: bool) -> Res<BasicValueEnum<'ctx>> {
        let data = self.src.op(op);
        let x = data.operands[0];
        let (v, from) = if of_index { (self.index(x)?.into(), DType::I64) } else { (self.scalar(x)?, self.dtype(x)?) };
        let result = data.results.first().ok_or_else(|| CgError("has no result".into()))?;
        cast(&self.e, v, from, self.dtype(*result)?)
    }

    /// `k.bitcast`: the scalar's bytes as another dtype.
    fn bitcast(&self, op: OpId) -> Res<BasicValueEnum<'ctx>> {
        let data = self.src.op(op);
        let x = data.operands[0];
        let result = data.results.first().ok_or_else(|| CgError("has no result".into()))?;
        bitcast(&self.e, self.scalar(x)?, self.dtype(x)?, self.dtype(*result)?)
    }

    fn index_constant(&self, op: OpId) -> Res<IntValue<'ctx>> {
        let v = int_attr(&self.src.op(op).attrs, "value")?;
        Ok(self.e.cx.i64_type().const_int(v as u64, true))
    }

    /// `k.index_*`: signed 64-bit arithmetic; the lowering never overflows
    /// (so `nsw`), and a division by zero sets a status bit.
    fn index_op(&self, op: OpId, f: IndexOp) -> Res<IntValue<'ctx>> {
        let data = self.src.op(op);
        let (a, c) = (self.index(data.operands[0])?, self.index(data.operands[1])?);
        let b = self.e.b;
        Ok(match f {
            IndexOp::Add => b.build_int_nsw_add(a, c, "")?,
            IndexOp::Sub => b.build_int_nsw_sub(a, c, "")?,
            IndexOp::Mul => b.build_int_nsw_mul(a, c, "")?,
            IndexOp::Div => self.e.int_divide(a, c, true, false, abi::INDEX_DIVIDE_BY_ZERO)?,
            IndexOp::Rem => self.e.int_divide(a, c, true, true, abi::INDEX_DIVIDE_BY_ZERO)?,
            IndexOp::Min | IndexOp::Max => {
                let name = if f == IndexOp::Min { "llvm.smin" } else { "llvm.smax" };
                self.e.call_intrinsic(name, &[a.get_type().into()], &[a.into(), c.into()])?.into_int_value()
            }
        })
    }

    /// `k.to_index`: the integer widened to `i64` (by its dtype's sign),
    /// plus the extent when negative; outside `0..n` it sets a status bit
    /// and gives 0.
    fn to_index(&self, op: OpId) -> Res<IntValue<'ctx>> {
        let data = self.src.op(op);
        let (v, n) = (data.operands[0], self.index(data.operands[1])?);
        let (dtype, v) = (self.dtype(v)?, self.scalar(v)?.into_int_value());
        let b = self.e.b;
        let i64t = self.e.cx.i64_type();
        let wrapped = if is_signed(dtype) {
            let v = b.build_int_s_extend_or_bit_cast(v, i64t, "")?;
            let negative = b.build_int_compare(IntPredicate::SLT, v, i64t.const_zero(), "")?;
            let from_end = b.build_int_add(v, n, "")?;
            b.build_select(negative, from_end, v, "")?.into_int_value()
        } else {
            b.build_int_z_extend_or_bit_cast(v, i64t, "")?
        };
        let inside = b.build_int_compare(IntPredicate::ULT, wrapped, n, "")?;
        let outside = b.build_not(inside, "")?;
        self.e.flag(outside, abi::INDEX_OUT_OF_RANGE)?;
        Ok(b.build_select(inside, wrapped, i64t.const_zero(), "index")?.into_int_value())
    }

    /// `k.for`: a parallel loop inside no other parallel loop (at the top
    /// level, or in a sequential loop's or a `k.if`'s or `k.while`'s body)
    /// with enough work (or an unknown trip count) runs on the thread pool
    /// ([`FuncCx::outlined_loop`]); every other loop is emitted in place.
    fn for_loop(&mut self, op: OpId) -> Result<(), Diag> {
        let src = self.src;
        let data = src.op(op);
        let fail = |e: CgError| locate(src, op, e);
        let bounds = (|| {
            Ok::<_, CgError>((
                self.index(data.operands[0])?,
                self.index(data.operands[1])?,
                self.index(data.operands[2])?,
            ))
        })();
        let (lo, hi, step) = bounds.map_err(fail)?;
        let parallel = data.attrs.get("parallel") == Some(&Attr::Bool(true));
        if parallel && self.groups.is_empty() && data.results.is_empty() {
            let per_iteration = parallel::loop_work(src, op);
            let total = parallel::trips(src, op).map(|n| n.saturating_mul(per_iteration));
            if total.is_none_or(|w| w >= parallel::MIN_PARALLEL_WORK) {
                return self.outlined_loop(op, (lo, hi, step), per_iteration);
            }
        }
        self.emit_loop(op, (lo, hi, step))
    }

    /// Loop `op` in place, from `lo` while below `hi` by `step`: header
    /// (index and carried phis, the `i < hi` test), body, latch (`i +
    /// step`, the branch back with the loop's metadata), exit.
    fn emit_loop(
        &mut self,
        op: OpId,
        (lo, hi, step): (IntValue<'ctx>, IntValue<'ctx>, IntValue<'ctx>),
    ) -> Result<(), Diag> {
        let src = self.src;
        let data = src.op(op);
        let fail = |e: CgError| locate(src, op, e);
        let (cx, b) = (self.e.cx, self.e.b);
        let inits = data.operands[3..].iter().map(|&v| self.basic(v)).collect::<Res<Vec<_>>>().map_err(fail)?;
        let Some(&body) = data.regions.first().and_then(|&r| src.region(r).blocks.first()) else {
            return Err(fail(CgError("the loop has no body (invalid IR)".into())));
        };
        let parallel = data.attrs.get("parallel") == Some(&Attr::Bool(true));
        let hi = self.checked_bound(lo, hi, step).map_err(fail)?;
        let meta = if parallel { Some(metadata::parallel_loop(cx, parallel::keep_rolled(src, op)).map_err(fail)?) } else { None };

        let pre = b.get_insert_block().ok_or_else(|| fail(CgError("the builder has no block".into())))?;
        let header = cx.append_basic_block(self.body, "loop");
        let body_bb = cx.append_basic_block(self.body, "body");
        let exit = cx.append_basic_block(self.body, "done");
        let header_phis = (|| -> Res<_> {
            b.build_unconditional_branch(header)?;
            b.position_at_end(header);
            let args = &src.block(body).args;
            let iv_name = args.first().and_then(|&a| src.value(a).name.clone()).unwrap_or_else(|| "i".into());
            let iv = b.build_phi(cx.i64_type(), &iv_name)?;
            let mut carried = Vec::new();
            for (k, init) in inits.iter().enumerate() {
                let name = args.get(k + 1).and_then(|&a| src.value(a).name.clone()).unwrap_or_default();
                carried.push(b.build_phi(init.get_type(), &name)?);
            }
            let more = b.build_int_compare(IntPredicate::SLT, iv.as_basic_value().into_int_value(), hi, "")?;
            b.build_conditional_branch(more, body_bb, exit)?;
            b.position_at_end(body_bb);
            Ok((iv, carried))
        })();
        let (iv, carried) = header_phis.map_err(fail)?;

        let args = src.block(body).args.clone();
        if args.len() != 1 + carried.len() {
            return Err(fail(CgError(format!(
                "the body takes {} arguments for {} carried values (invalid IR)",
                args.len(),
                carried.len()
            ))));
        }
        self.set(args[0], Val::Index(iv.as_basic_value().into_int_value()));
        for (&a, phi) in args[1..].iter().zip(&carried) {
            let v = phi.as_basic_value();
            self.set(a, if *src.ty(a) == Type::Index { Val::Index(v.into_int_value()) } else { Val::Scalar(v) });
        }
        if let Some(m) = &meta {
            self.groups.push(m.group);
        }
        self.nested += 1;
        let yields = self.block(body);
        self.nested -= 1;
        if meta.is_some() {
            self.groups.pop();
        }
        let yields = yields?;

        let latch = (|| -> Res<()> {
            let next_values = yields.iter().map(|&v| self.basic(v)).collect::<Res<Vec<_>>>()?;
            if next_values.len() != carried.len() {
                return Err(CgError(format!(
                    "the body yields {} values for {} carried (invalid IR)",
                    next_values.len(),
                    carried.len()
                )));
            }
            let latch = b.get_insert_block().ok_or_else(|| CgError("the builder has no block".into()))?;
            let iv_value = iv.as_basic_value().into_int_value();
            let next = b.build_int_nsw_add(iv_value, step, "")?;
            let back = b.build_unconditional_branch(header)?;
            if let Some(m) = &meta {
                back.set_metadata(m.id, cx.get_kind_id("llvm.loop"))
                    .map_err(|e| CgError(format!("loop metadata: {e}")))?;
            }
            iv.add_incoming(&[(&lo, pre), (&next, latch)]);
            for ((phi, init), next) in carried.iter().zip(&inits).zip(&next_values) {
                phi.add_incoming(&[(init as &dyn BasicValue, pre), (next as &dyn BasicValue, latch)]);
            }
            b.position_at_end(exit);
            Ok(())
        })();
        latch.map_err(fail)?;
        for (&r, phi) in data.results.iter().zip(&carried) {
            let v = phi.as_basic_value();
            self.set(r, if *src.ty(r) == Type::Index { Val::Index(v.into_int_value()) } else { Val::Scalar(v) });
        }
        Ok(())
    }

    /// The blocks of region `k` of `op`, translated where the builder is
    /// (nested one level deeper); returns what its terminator yields.
    fn region(&mut self, op: OpId, k: usize) -> Result<Vec<ValueId>, Diag> {
        let src = self.src;
        let Some(&block) = src.op(op).regions.get(k).and_then(|&r| src.region(r).blocks.first()) else {
            return Err(locate(src, op, CgError(format!("region #{k} has no block (invalid IR)"))));
        };
        self.nested += 1;
        let yields = self.block(block);
        self.nested -= 1;
        yields
    }

    /// `k.if`: a conditional branch to the two regions, which meet after.
    fn if_op(&mut self, op: OpId) -> Result<(), Diag> {
        let src = self.src;
        let fail = |e: CgError| locate(src, op, e);
        let (cx, b) = (self.e.cx, self.e.b);
        let cond = self.scalar(src.op(op).operands[0]).map_err(fail)?.into_int_value();
        let then_bb = cx.append_basic_block(self.body, "then");
        let else_bb = cx.append_basic_block(self.body, "else");
        let merge = cx.append_basic_block(self.body, "endif");
        b.build_conditional_branch(cond, then_bb, else_bb).map_err(|e| fail(e.into()))?;
        for (k, bb) in [then_bb, else_bb].into_iter().enumerate() {
            b.position_at_end(bb);
            self.region(op, k)?;
            b.build_unconditional_branch(merge).map_err(|e| fail(e.into()))?;
        }
        b.position_at_end(merge);
        Ok(())
    }

    /// `k.while`: a header with one phi for the flag and one per carried
    /// value, branching to the body while the flag holds; the body's end
    /// branches back with what it yields.
    fn while_loop(&mut self, op: OpId) -> Result<(), Diag> {
        let src = self.src;
        let data = src.op(op);
        let fail = |e: CgError| locate(src, op, e);
        let (cx, b) = (self.e.cx, self.e.b);
        let inits = data.operands.iter().map(|&v| self.basic(v)).collect::<Res<Vec<_>>>().map_err(fail)?;
        let Some(&body) = data.regions.first().and_then(|&r| src.region(r).blocks.first()) else {
            return Err(fail(CgError("the loop has no body (invalid IR)".into())));
        };
        let args = src.block(body).args.clone();
        if args.len() + 1 != inits.len() {
            return Err(fail(CgError("the body's arguments do not match the carried values (invalid IR)".into())));
        }
        let pre = b.get_insert_block().ok_or_else(|| fail(CgError("the builder has no block".into())))?;
        let header = cx.append_basic_block(self.body, "while");
        let body_bb = cx.append_basic_block(self.body, "while.body");
        let exit = cx.append_basic_block(self.body, "while.done");
        let phis = (|| -> Res<_> {
            b.build_unconditional_branch(header)?;
            b.position_at_end(header);
            let mut phis = Vec::with_capacity(inits.len());
            for (k, init) in inits.iter().enumerate() {
                let name = k.checked_sub(1).and_then(|j| src.value(args[j]).name.clone()).unwrap_or_default();
                phis.push(b.build_phi(init.get_type(), &name)?);
            }
            b.build_conditional_branch(phis[0].as_basic_value().into_int_value(), body_bb, exit)?;
            b.position_at_end(body_bb);
            Ok(phis)
        })();
        let phis = phis.map_err(fail)?;
        let carried = |phi: &inkwell::values::PhiValue<'ctx>, ty: &Type| {
            let v = phi.as_basic_value();
            if *ty == Type::Index { Val::Index(v.into_int_value()) } else { Val::Scalar(v) }
        };
        for (&a, phi) in args.iter().zip(&phis[1..]) {
            self.set(a, carried(phi, src.ty(a)));
        }
        let yields = self.region(op, 0)?;
        let latch = (|| -> Res<()> {
            let next = yields.iter().map(|&v| self.basic(v)).collect::<Res<Vec<_>>>()?;
            if next.len() != phis.len() {
                return Err(CgError("the body yields the wrong number of values (invalid IR)".into()));
            }
            let latch = b.get_insert_block().ok_or_else(|| CgError("the builder has no block".into()))?;
            b.build_unconditional_branch(header)?;
            for ((phi, init), next) in phis.iter().zip(&inits).zip(&next) {
                phi.add_incoming(&[(init as &dyn BasicValue, pre), (next as &dyn BasicValue, latch)]);
            }
            b.position_at_end(exit);
            Ok(())
        })();
        latch.map_err(fail)?;
        for (&r, phi) in data.results.iter().zip(&phis[1..]) {
            self.set(r, carried(phi, src.ty(r)));
        }
        Ok(())
    }

    /// An outermost parallel loop on the thread pool: its body becomes
    /// `internal void @tessera_f.parK(ptr env, i64 lo, i64 hi)`, running
    /// iterations `lo..hi` (counted from 0), which reads the values the
    /// loop uses from `env` and calls `@tessera_f.parK.body` (inlined into
    /// it), whose buffer parameters are `noalias` as the kernel's are. The
    /// chunks OR their status into a shared word, which joins the
    /// function's status when the loop is done (`parallel.rs`).
    fn outlined_loop(
        &mut self,
        op: OpId,
        (lo, hi, step): (IntValue<'ctx>, IntValue<'ctx>, IntValue<'ctx>),
        per_iteration: u64,
    ) -> Result<(), Diag> {
        let src = self.src;
        let fail = |e: CgError| locate(src, op, e);
        let region = src.op(op).regions.first().copied();
        let region = region.ok_or_else(|| fail(CgError("the loop has no body (invalid IR)".into())))?;
        let captured = parallel::captures(src, region);
        let (cx, b) = (self.e.cx, self.e.b);
        let i64t = cx.i64_type();
        let outer = (|| -> Res<_> {
            let hi = self.checked_bound(lo, hi, step)?;
            let bounds = (lo, hi, step);
            let span = b.build_int_sub(hi, lo, "")?;
            let rounded = b.build_int_add(span, b.build_int_sub(step, i64t.const_int(1, false), "")?, "")?;
            let count = b.build_int_signed_div(rounded, step, "")?;
            let some = b.build_int_compare(IntPredicate::SGT, hi, lo, "")?;
            let n = b.build_select(some, count, i64t.const_zero(), "n")?.into_int_value();
            let mut used: Vec<BasicValueEnum> = vec![lo.into(), hi.into(), step.into()];
            for &v in &captured {
                match self.get(v)? {
                    Val::Index(i) => used.push((*i).into()),
                    Val::Scalar(s) => used.push(*s),
                    Val::Buffer(buf) => {
                        used.push(buf.ptr.into());
                        used.extend(buf.extents.iter().map(|&x| BasicValueEnum::from(x)));
                    }
                }
            }
            used.extend(self.dims.iter().map(|&d| BasicValueEnum::from(d)));
            let mut words: Vec<BasicValueEnum> = Vec::new();
            for v in used {
                if !is_constant(v) && !words.contains(&v) {
                    words.push(v);
                }
            }
            let shared = self.entry_alloca(cx.i32_type().into(), "shared")?;
            b.build_store(shared, cx.i32_type().const_zero())?;
            words.push(shared.into());
            let env = self.entry_alloca(parallel::env_type(&self.e, words.len()), "env")?;
            Ok((n, words, shared, env, bounds))
        })();
        let (n, words, shared, env, bounds) = outer.map_err(fail)?;
        let name = format!("{}.par{}", entry_symbol(&src.name), op.index());
        let here = b.get_insert_block().ok_or_else(|| fail(CgError("the builder has no block".into())))?;
        let inner = self.outlined_body(op, &name, &captured, &words, bounds)?;
        let chunk = (|| -> Res<_> {
            let chunk = parallel::chunk_function(&self.e, &name);
            b.position_at_end(cx.append_basic_block(chunk, "entry"));
            let params = chunk.get_params();
            let types: Vec<BasicTypeEnum> = words.iter().map(|w| w.get_type()).collect();
            let mut args: Vec<BasicMetadataValueEnum> =
                parallel::unpack(&self.e, params[0].into_pointer_value(), &types)?.into_iter().map(Into::into).collect();
            args.extend([BasicMetadataValueEnum::from(params[1]), params[2].into()]);
            b.build_call(inner, &args, "")?;
            b.build_return(None)?;
            Ok(chunk)
        })();
        let chunk = chunk.map_err(fail)?;
        b.position_at_end(here);
        let dispatch = (|| -> Res<()> {
            parallel::pack(&self.e, env, &words)?;
            let work = i64t.const_int(per_iteration, false);
            parallel::dispatch(&self.e, self.body, n, work, chunk, env)?;
            let s = b.build_load(cx.i32_type(), shared, "")?.into_int_value();
            let old = b.build_load(cx.i32_type(), self.e.status, "")?.into_int_value();
            b.build_store(self.e.status, b.build_or(old, s, "")?)?;
            Ok(())
        })();
        dispatch.map_err(fail)
    }

    /// The body of outlined loop `op`: `void @NAME.body(...words, i64 lo,
    /// i64 hi)` taking the values [`FuncCx::outlined_loop`] packed (what
    /// is not a constant of its bounds, the captured values and the
    /// symbolic dims, each once, then the shared status), running
    /// iterations `lo..hi` of the loop. The translator's state is switched
    /// to the new function while its body is translated.
    fn outlined_body(
        &mut self,
        op: OpId,
        name: &str,
        captured: &[ValueId],
        words: &[BasicValueEnum<'ctx>],
        outer: (IntValue<'ctx>, IntValue<'ctx>, IntValue<'ctx>),
    ) -> Result<FunctionValue<'ctx>, Diag> {
        let src = self.src;
        let fail = |e: CgError| locate(src, op, e);
        let (cx, b) = (self.e.cx, self.e.b);
        let i64t = cx.i64_type();
        let mut params: Vec<BasicMetadataTypeEnum> = words.iter().map(|w| w.get_type().into()).collect();
        params.extend([BasicMetadataTypeEnum::from(i64t), i64t.into()]);
        let f = self.e.module.add_function(
            &format!("{name}.body"),
            cx.void_type().fn_type(&params, false),
            Some(Linkage::Internal),
        );
        for attr in ["alwaysinline", "nounwind"] {
            f.add_attribute(AttributeLoc::Function, self.e.enum_attr(attr, 0));
        }
        for (k, w) in words.iter().enumerate() {
            if w.is_pointer_value() && k + 1 < words.len() {
                f.add_attribute(AttributeLoc::Param(k as u32), self.e.enum_attr("noalias", 0));
            }
        }
        let p = f.get_params();
        let saved_values = self.values.clone();
        let saved_dims = std::mem::take(&mut self.dims);
        let saved_groups = std::mem::take(&mut self.groups);
        let saved = (self.body, self.cleanup, self.e.status);
        let entry = cx.append_basic_block(f, "entry");
        self.body = f;
        self.cleanup = cx.append_basic_block(f, "exit");
        b.position_at_end(entry);
        let result = (|| -> Result<(), Diag> {
            self.e.status = b.build_alloca(cx.i32_type(), "status").map_err(|e| fail(e.into()))?;
            b.build_store(self.e.status, cx.i32_type().const_zero()).map_err(|e| fail(e.into()))?;
            // Each outer value as seen inside: a constant as it is, else its parameter.
            let inside = |v: BasicValueEnum<'ctx>| match words.iter().position(|w| *w == v) {
                Some(k) if !is_constant(v) => p[k],
                _ => v,
            };
            let int = |v: IntValue<'ctx>| inside(v.into()).into_int_value();
            let (lo, hi, step) = (int(outer.0), int(outer.1), int(outer.2));
            for &v in captured {
                let val = match self.get(v).map_err(fail)?.clone() {
                    Val::Index(i) => Val::Index(int(i)),
                    Val::Scalar(s) => Val::Scalar(inside(s)),
                    Val::Buffer(buf) => Val::Buffer(Buf {
                        ptr: inside(buf.ptr.into()).into_pointer_value(),
                        extents: buf.extents.iter().map(|&x| int(x)).collect(),
                        dtype: buf.dtype,
                    }),
                };
                self.set(v, val);
            }
            self.dims = saved_dims.iter().map(|&d| int(d)).collect();
            let shared = p[words.len() - 1].into_pointer_value();
            let (clo, chi) = (p[words.len()].into_int_value(), p[words.len() + 1].into_int_value());
            let bounds = (|| -> Res<_> {
                let start = b.build_int_nsw_add(lo, b.build_int_nsw_mul(clo, step, "")?, "start")?;
                let end = b.build_int_nsw_add(lo, b.build_int_nsw_mul(chi, step, "")?, "")?;
                let end = self.e.call_intrinsic("llvm.smin", &[i64t.into()], &[end.into(), hi.into()])?;
                Ok((start, end.into_int_value()))
            })();
            let (start, end) = bounds.map_err(fail)?;
            self.emit_loop(op, (start, end, step))?;
            let exit = (|| -> Res<()> {
                b.build_unconditional_branch(self.cleanup)?;
                b.position_at_end(self.cleanup);
                let s = b.build_load(cx.i32_type(), self.e.status, "")?.into_int_value();
                parallel::or_status(&self.e, shared, s)?;
                b.build_return(None)?;
                Ok(())
            })();
            exit.map_err(fail)
        })();
        (self.body, self.cleanup, self.e.status) = saved;
        self.values = saved_values;
        self.dims = saved_dims;
        self.groups = saved_groups;
        result.map(|()| f)
    }

    /// A stack slot of type `ty` in the function's entry block (so inlining
    /// and the optimiser see a fixed frame), the builder left where it was.
    fn entry_alloca(&self, ty: BasicTypeEnum<'ctx>, name: &str) -> Res<PointerValue<'ctx>> {
        let b = self.e.b;
        let here = b.get_insert_block().ok_or_else(|| CgError("the builder has no block".into()))?;
        let entry = self.body.get_first_basic_block().ok_or_else(|| CgError("the function has no entry".into()))?;
        match entry.get_first_instruction() {
            Some(first) => b.position_before(&first),
            None => b.position_at_end(entry),
        }
        let slot = b.build_alloca(ty, name);
        b.position_at_end(here);
        Ok(slot?)
    }

    /// `k.matmul`: each operand's axis groups as the extents' products and
    /// row-major strides, and a call of the module's GEMM for the dtype.
    fn matmul(&self, op: OpId) -> Res<()> {
        let data = self.src.op(op);
        let types: Vec<Type> = data.operands.iter().map(|&v| self.src.ty(v).clone()).collect();
        let icx = InferCx { operands: &types, attrs: &data.attrs, regions: &[], symbols: &NoSymbols };
        let (lhs, rhs) = matmul_axes(&icx)?;
        let accumulate = icx.bool_or("accumulate", false)?;
        let [a, bb, c] = [0, 1, 2].map(|k| self.buffer(data.operands[k]));
        let (a, bb, c) = (a?, bb?, c?);
        let b = self.e.b;
        let one = self.e.cx.i64_type().const_int(1, false);
        let product = |xs: &[IntValue<'ctx>]| -> Res<IntValue<'ctx>> {
            xs.iter().try_fold(one, |acc, &x| Ok(b.build_int_nuw_mul(acc, x, "")?))
        };
        let group = |buf: &Buf<'ctx>, axes: &[usize]| -> Res<(IntValue<'ctx>, IntValue<'ctx>)> {
            let size = product(&axes.iter().map(|&x| buf.extents[x]).collect::<Vec<_>>())?;
            let stride = match axes.last() {
                Some(&x) => product(&buf.extents[x + 1..])?,
                None => self.e.cx.i64_type().const_zero(),
            };
            Ok((size, stride))
        };
        let ((batch, a_bs), (m, a_rs), (k, a_cs)) = (group(&a, &lhs.batch)?, group(&a, &lhs.free)?, group(&a, &lhs.contract)?);
        let ((_, b_bs), (_, b_rs), (n, b_cs)) = (group(&bb, &rhs.batch)?, group(&bb, &rhs.contract)?, group(&bb, &rhs.free)?);
        // An operand without batch axes is shared by every batch.
        let batch = if lhs.batch.is_empty() { group(&bb, &rhs.batch)?.0 } else { batch };
        let sizes = [batch, m, n, k];
        let p = Product {
            a: View { ptr: a.ptr, strides: [a_bs, a_rs, a_cs] },
            b: View { ptr: bb.ptr, strides: [b_bs, b_rs, b_cs] },
            packed_a: self.packed_operand(data.operands[0], gemm::Operand::A, c.dtype, sizes, [a_bs, a_rs, a_cs]),
            packed_b: self.packed_operand(data.operands[1], gemm::Operand::B, c.dtype, sizes, [b_bs, b_rs, b_cs]),
            c: c.ptr,
            sizes,
            accumulate,
        };
        gemm::call(&self.e, self.globals.simd, c.dtype, &p)
    }

    /// A private constant global holding matmul operand `v` packed for the
    /// GEMM (`gemm/prepack.rs`), when `v` is a parameter or a constant
    /// buffer and the sizes and strides its packing depends on are constants.
    fn packed_operand(
        &self,
        v: ValueId,
        operand: gemm::Operand,
        dtype: DType,
        sizes: [IntValue<'ctx>; 4],
        strides: [IntValue<'ctx>; 3],
    ) -> Option<PointerValue<'ctx>> {
        let def = self.src.op(self.src.def_op(v)?);
        let bytes = match kernel::kind(def.def)? {
            KernelOp::Param => match def.attrs.get("sym") {
                Some(Attr::SymbolRef(name)) => self.globals.ir.param(name)?.init.as_ref()?.bytes(),
                _ => return None,
            },
            KernelOp::BufferConstant => dense_attr(&def.attrs).ok()?.bytes(),
            _ => return None,
        };
        let known = |x: IntValue<'ctx>| x.get_zero_extended_constant().and_then(|x| usize::try_from(x).ok());
        // `A`'s packing does not depend on `N`, nor `B`'s on `M`.
        let [batch, m, n, k] = sizes.map(known);
        let (m, n) = match operand {
            gemm::Operand::A => (m, Some(0)),
            gemm::Operand::B => (Some(0), n),
        };
        let [Some(batch), Some(m), Some(n), Some(k)] = [batch, m, n, k] else { return None };
        let [Some(bs), Some(rs), Some(cs)] = strides.map(known) else { return None };
        let shape = gemm::Shape { sizes: [batch, m, n, k], strides: [bs, rs, cs] };
        let packed = gemm::prepack(self.globals.simd, dtype, operand, bytes, shape)?;
        let init = self.e.cx.const_string(&packed, false);
        let g = self.e.module.add_global(init.get_type(), None, "tessera.packed");
        g.set_initializer(&init);
        g.set_constant(true);
        g.set_linkage(Linkage::Private);
        g.set_unnamed_addr(true);
        g.set_alignment(64);
        Some(g.as_pointer_value())
    }

    /// The upper bound a loop runs to: `hi`, checked against a constant
    /// step at compile time; a step known only at run time that is not
    /// positive sets a status bit and runs the loop zero times.
    fn checked_bound(&self, lo: IntValue<'ctx>, hi: IntValue<'ctx>, step: IntValue<'ctx>) -> Res<IntValue<'ctx>> {
        match step.get_sign_extended_constant() {
            Some(s) if s > 0 => Ok(hi),
            Some(s) => Err(CgError(format!("the step is {s}; it must be positive"))),
            None => {
                let b = self.e.b;
                let bad = b.build_int_compare(IntPredicate::SLE, step, step.get_type().const_zero(), "")?;
                self.e.flag(bad, abi::BAD_STEP)?;
                Ok(b.build_select(bad, lo, hi, "")?.into_int_value())
            }
        }
    }
}

/// Whether `v` is a constant (usable in any function of the module).
fn is_constant(v: BasicValueEnum) -> bool {
    match v {
        BasicValueEnum::IntValue(x) => x.is_const(),
        BasicValueEnum::FloatValue(x) => x.is_const(),
        BasicValueEnum::PointerValue(x) => x.is_const(),
        BasicValueEnum::VectorValue(x) => x.is_const(),
        _ => false,
    }
}

/// `error` located at op `op` of `src`, naming the op.
fn locate(src: &Func, op: OpId, error: CgError) -> Diag {
    let data = src.op(op);
    Diag::error(data.loc.clone(), format!("'{}' op: {}", data.def.name(), error.0))
}

/// A readable LLVM name for the value of symbolic dim `d` (`N`, `dim`).
fn dim_name(d: &Dim) -> String {
    let text = d.to_string();
    if text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        text
    } else {
        "dim".into()
    }
}

/// The integer attribute `name`.
fn int_attr(attrs: &Attrs, name: &str) -> Res<i64> {
    attrs.get(name).and_then(Attr::as_int).ok_or_else(|| CgError(format!("no integer '{name}' (invalid IR)")))
}

/// The dense attribute `value`.
fn dense_attr(attrs: &Attrs) -> Res<&DenseAttr> {
    match attrs.get("value") {
        Some(Attr::Dense(d)) => Ok(d),
        _ => Err(CgError("no dense 'value' (invalid IR)".into())),
    }
}
