//! `k.matmul` as a call to a GEMM generated into the module, one per dtype
//! (f32, f64), for the vector width of the target ([`Simd`]).
//!
//! Operands are strided `[batch, rows, cols]` views (so any transposition
//! is a choice of strides, not a separate function; a batch stride of 0
//! shares the operand between batches); `C` is the contiguous `[batch, M,
//! N]` result. The GEMM, in the manner of BLIS/GotoBLAS:
//! - gets `A` as `MR`-row panels (`[panel][k][MR]`, rows past `M` zero):
//!   packed at compile time when `A` is a constant (`prepack.rs`), else
//!   packed once per call, in parallel over panels, except when `M` is at
//!   most the largest small tile (`SMALL_ROWS`): then the micro-kernels
//!   read `A` where it is, through its strides;
//! - cuts `C` into tasks, `batch × mt × nt` blocks of about `MC`-multiple
//!   rows and `NR`-multiple columns, one on one thread or enough for
//!   `TASKS_PER_THREAD` per thread, and
//!   runs them on the thread pool (`parallel.rs`) when the product is
//!   worth it ([`MACS_PER_OP`]). A task walks `K` in blocks of `KC`: it
//!   takes its `KC × nc` block of `B` as `NR`-column panels (`[panel][k][NR]`,
//!   columns past its end zero), packed at compile time when `B` is a
//!   constant (then laid out `[K block][panel][k][NR]` over all of `N`),
//!   else packed by the task; then for each `MC` row block, each `NR`
//!   column panel (which stays in L1) and each `MR` row panel (the `MC ×
//!   KC` block of packed `A` stays in L2) it calls
//! - a micro-kernel (`kernel.rs`) for the panel's rows: the `MR`-row one on
//!   packed `A`, or, for the last rows and small `M`, the smallest one of
//!   1, 2, 4 or 8 rows that covers them.
//!
//! `K = 0` writes zeros (or leaves `C` alone with `accumulate`); an empty
//! `C` does nothing. The packing buffers come from `aligned_alloc`; a
//! refusal sets the out-of-memory status bit.

mod kernel;
mod prepack;

pub(crate) use prepack::{prepack, Operand, Shape};

use crate::abi;
use crate::emit::{CgError, Emit, Res};
use crate::parallel::{self, chunk_function};
use crate::target::Simd;
use inkwell::attributes::AttributeLoc;
use inkwell::basic_block::BasicBlock;
use inkwell::module::Linkage;
use inkwell::types::{BasicMetadataTypeEnum, BasicTypeEnum, FloatType, VectorType};
use inkwell::values::{BasicValue, BasicValueEnum, FloatValue, FunctionValue, IntValue, PointerValue, VectorValue};
use inkwell::{AddressSpace, IntPredicate};
use tessera_ir::DType;

/// Multiply-adds per unit of parallel work (`parallel.rs` counts scalar
/// operations; the micro-kernel does a vector of them per FMA, two FMAs
/// per cycle, where a scalar loop does one or two operations): a product
/// goes to the thread pool from about four million multiply-adds.
pub(crate) const MACS_PER_OP: u64 = 4;

/// Tasks per pool thread: enough that a thread which wakes up late still
/// finds some left to take (`runtime/src/pool.rs` hands them out in order).
const TASKS_PER_THREAD: u64 = 8;

/// The register and cache blocking of one GEMM.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Blocking {
    /// Elements per vector register.
    pub(crate) lanes: u32,
    /// Rows of the main micro-kernel's tile.
    pub(crate) mr: u64,
    /// Columns of the micro-kernel's tile (two vectors).
    pub(crate) nr: u64,
    /// The depth of a packed block (`NR × KC` elements of `B` fill about
    /// two thirds of a 48 KiB L1).
    pub(crate) kc: u64,
    /// Rows of `A` per L2 block.
    mc: u64,
    /// The most columns one task takes.
    nc: u64,
}

impl Blocking {
    /// The blocking for `dtype` (f32 or f64) with `simd`'s registers: 32
    /// vector registers with AVX-512 (24 accumulators), 16 otherwise.
    pub(crate) fn new(simd: Simd, dtype: DType) -> Blocking {
        let bytes = dtype.size_bytes() as u32;
        let (bits, mr) = match simd {
            Simd::Avx512 => (512, 12),
            Simd::Avx2 => (256, 6),
            Simd::Sse2 => (128, 4),
        };
        let lanes = bits / 8 / bytes;
        let nr = 2 * u64::from(lanes);
        Blocking { lanes, mr, nr, kc: 32768 / (nr * u64::from(bytes)), mc: 20 * mr, nc: 32 * nr }
    }

    /// The row counts of the micro-kernels, ascending: 1, 2, 4 and 8 where
    /// below `MR`, then `MR`.
    fn variants(&self) -> Vec<u64> {
        let mut v: Vec<u64> = [1, 2, 4, 8].into_iter().filter(|&r| r < self.mr).collect();
        v.push(self.mr);
        v
    }

    /// The most rows of `A` read in place (`SMALL_ROWS` in the module doc):
    /// the largest micro-kernel below `MR`.
    pub(crate) fn small_rows(&self) -> u64 {
        let v = self.variants();
        v[v.len().saturating_sub(2)]
    }
}

/// A strided `[batch, rows, cols]` view of an operand: where its elements
/// start and the stride of each dimension, in elements.
#[derive(Copy, Clone)]
pub(crate) struct View<'ctx> {
    /// The first element.
    pub(crate) ptr: PointerValue<'ctx>,
    /// The strides of the batch, row and column dimensions.
    pub(crate) strides: [IntValue<'ctx>; 3],
}

/// One `k.matmul`: `C[b, i, j] (+)= sum_p A[b, i, p] * B[b, p, j]`.
pub(crate) struct Product<'ctx> {
    /// `A`, `batch × m × k`.
    pub(crate) a: View<'ctx>,
    /// `B`, `batch × k × n`.
    pub(crate) b: View<'ctx>,
    /// `A` packed at compile time (`prepack.rs`), when it is a constant.
    pub(crate) packed_a: Option<PointerValue<'ctx>>,
    /// `B` packed at compile time, when it is a constant.
    pub(crate) packed_b: Option<PointerValue<'ctx>>,
    /// `C`, contiguous `batch × m × n`.
    pub(crate) c: PointerValue<'ctx>,
    /// The sizes `batch, m, n, k`.
    pub(crate) sizes: [IntValue<'ctx>; 4],
    /// Whether the product is added to `C`.
    pub(crate) accumulate: bool,
}

/// Emits a call of the GEMM for `dtype` computing `p` at the builder's
/// position, its status OR-ed into `e`'s.
pub(crate) fn call<'ctx>(e: &Emit<'_, 'ctx>, simd: Simd, dtype: DType, p: &Product<'ctx>) -> Res<()> {
    if !matches!(dtype, DType::F32 | DType::F64) {
        return Err(CgError(format!("k.matmul of {dtype} (only f32 and f64 have a GEMM)")));
    }
    let g = Gen { cx: e.cx, module: e.module, b: e.b, blk: Blocking::new(simd, dtype), dtype };
    let f = g.gemm()?;
    let [sa, sb] = [p.a.strides, p.b.strides];
    let acc = e.cx.bool_type().const_int(u64::from(p.accumulate), false);
    let null = g.ptr().const_null();
    let args = [
        p.a.ptr.into(),
        p.b.ptr.into(),
        p.c.into(),
        p.sizes[0].into(),
        p.sizes[1].into(),
        p.sizes[2].into(),
        p.sizes[3].into(),
        sa[0].into(),
        sa[1].into(),
        sa[2].into(),
        sb[0].into(),
        sb[1].into(),
        sb[2].into(),
        acc.into(),
        p.packed_a.unwrap_or(null).into(),
        p.packed_b.unwrap_or(null).into(),
    ];
    let status = e.b.build_call(f, &args, "gemm")?.try_as_basic_value().basic();
    let status = status.ok_or_else(|| CgError("the GEMM returns nothing".into()))?.into_int_value();
    let old = e.b.build_load(e.cx.i32_type(), e.status, "")?.into_int_value();
    e.b.build_store(e.status, e.b.build_or(old, status, "")?)?;
    Ok(())
}

/// The body of a loop carrying vectors: the index and the current values
/// to the next values.
type CarriedBody<'b, 'ctx> = dyn FnMut(IntValue<'ctx>, &[VectorValue<'ctx>]) -> Res<Vec<VectorValue<'ctx>>> + 'b;

/// Generates the functions of one GEMM.
struct Gen<'a, 'ctx> {
    cx: &'ctx inkwell::context::Context,
    module: &'a inkwell::module::Module<'ctx>,
    b: &'a inkwell::builder::Builder<'ctx>,
    blk: Blocking,
    dtype: DType,
}

/// The parameters of the GEMM function, after the three pointers.
const SIZE_PARAMS: [&str; 10] = ["batch", "m", "n", "k", "a_bs", "a_rs", "a_cs", "b_bs", "b_rs", "b_cs"];

/// The words of a task's environment, in order (see [`Gen::task`]).
const TASK_WORDS: [&str; 21] = [
    "abase", "a_bs", "a_ps", "a_rs", "a_cs", "b", "b_bs", "b_rs", "b_cs", "packed_b", "pb_bs", "c", "m", "n", "k", "nct",
    "mct", "mt", "nt", "accumulate", "shared",
];

impl<'a, 'ctx> Gen<'a, 'ctx> {
    fn name(&self, part: &str) -> String {
        format!("tessera.gemm.{}{part}", self.dtype)
    }

    fn elem(&self) -> FloatType<'ctx> {
        if self.dtype == DType::F64 {
            self.cx.f64_type()
        } else {
            self.cx.f32_type()
        }
    }

    fn vector(&self) -> VectorType<'ctx> {
        self.elem().vec_type(self.blk.lanes)
    }

    fn ptr(&self) -> inkwell::types::PointerType<'ctx> {
        self.cx.ptr_type(AddressSpace::default())
    }

    fn int(&self, v: u64) -> IntValue<'ctx> {
        self.cx.i64_type().const_int(v, false)
    }

    /// An emitter for function `f` with a fresh status word, the builder at
    /// the end of its new entry block.
    fn enter(&self, f: FunctionValue<'ctx>) -> Res<Emit<'a, 'ctx>> {
        self.b.position_at_end(self.cx.append_basic_block(f, "entry"));
        let status = self.b.build_alloca(self.cx.i32_type(), "status")?;
        self.b.build_store(status, self.cx.i32_type().const_zero())?;
        Ok(Emit { cx: self.cx, module: self.module, b: self.b, status })
    }

    /// Runs `f` with the builder's position saved and restored.
    fn aside<R>(&self, f: impl FnOnce() -> Res<R>) -> Res<R> {
        let at = self.b.get_insert_block();
        let r = f();
        if let Some(at) = at {
            self.b.position_at_end(at);
        }
        r
    }

    /// The `i`th parameter of `f`, named `name`.
    fn param(f: FunctionValue<'ctx>, i: u32, name: &str) -> Res<BasicValueEnum<'ctx>> {
        let p = f.get_nth_param(i).ok_or_else(|| CgError(format!("no parameter #{i}")))?;
        p.set_name(name);
        Ok(p)
    }

    /// The element `index` places after `base`.
    fn at(&self, base: PointerValue<'ctx>, index: IntValue<'ctx>) -> Res<PointerValue<'ctx>> {
        // SAFETY (of the generated code): every index stays inside its buffer.
        Ok(unsafe { self.b.build_in_bounds_gep(self.elem(), base, &[index], "")? })
    }

    fn mul(&self, a: IntValue<'ctx>, b: IntValue<'ctx>) -> Res<IntValue<'ctx>> {
        Ok(self.b.build_int_mul(a, b, "")?)
    }

    fn add(&self, a: IntValue<'ctx>, b: IntValue<'ctx>) -> Res<IntValue<'ctx>> {
        Ok(self.b.build_int_add(a, b, "")?)
    }

    fn min(&self, e: &Emit<'_, 'ctx>, a: IntValue<'ctx>, b: IntValue<'ctx>) -> Res<IntValue<'ctx>> {
        let t = self.cx.i64_type().into();
        Ok(e.call_intrinsic("llvm.umin", &[t], &[a.into(), b.into()])?.into_int_value())
    }

    /// `cond ? a : b` on integers.
    fn pick(&self, cond: IntValue<'ctx>, a: IntValue<'ctx>, b: IntValue<'ctx>) -> Res<IntValue<'ctx>> {
        Ok(self.b.build_select(cond, a, b, "")?.into_int_value())
    }

    /// `cond ? a : b` on pointers.
    fn pick_ptr(&self, cond: IntValue<'ctx>, a: PointerValue<'ctx>, b: PointerValue<'ctx>) -> Res<PointerValue<'ctx>> {
        Ok(self.b.build_select(cond, a, b, "")?.into_pointer_value())
    }

    /// Whether `x == 0`.
    fn is_zero(&self, x: IntValue<'ctx>) -> Res<IntValue<'ctx>> {
        Ok(self.b.build_int_compare(IntPredicate::EQ, x, self.int(0), "")?)
    }

    /// `ceil(a / b)`.
    fn ceil_div(&self, a: IntValue<'ctx>, b: IntValue<'ctx>) -> Res<IntValue<'ctx>> {
        let bias = self.b.build_int_sub(b, self.int(1), "")?;
        Ok(self.b.build_int_unsigned_div(self.add(a, bias)?, b, "")?)
    }

    /// `ceil(a / b) × b`.
    fn round_up(&self, a: IntValue<'ctx>, b: IntValue<'ctx>) -> Res<IntValue<'ctx>> {
        self.mul(self.ceil_div(a, b)?, b)
    }

    /// When `wanted`, `aligned_alloc(64, elements × size)`, else null; a
    /// null result of the allocation sets the out-of-memory bit in `e` and
    /// branches to `fail`.
    fn alloc_if(
        &self,
        e: &Emit<'_, 'ctx>,
        f: FunctionValue<'ctx>,
        wanted: IntValue<'ctx>,
        elements: IntValue<'ctx>,
        fail: BasicBlock<'ctx>,
    ) -> Res<PointerValue<'ctx>> {
        let b = self.b;
        let i64t = self.cx.i64_type();
        let pre = b.get_insert_block().ok_or_else(|| CgError("the builder has no block".into()))?;
        let yes = self.cx.append_basic_block(f, "alloc");
        let oom = self.cx.append_basic_block(f, "oom");
        let ok = self.cx.append_basic_block(f, "allocated");
        let join = self.cx.append_basic_block(f, "alloc.done");
        b.build_conditional_branch(wanted, yes, join)?;
        b.position_at_end(yes);
        let bytes = self.mul(elements, self.int(self.dtype.size_bytes() as u64))?;
        let padded = b.build_and(self.add(bytes, self.int(64))?, self.int(!63), "")?;
        let aligned_alloc = self.libc("aligned_alloc", self.ptr().fn_type(&[i64t.into(), i64t.into()], false));
        let p = b.build_call(aligned_alloc, &[self.int(64).into(), padded.into()], "packed")?;
        let p = p.try_as_basic_value().basic().ok_or_else(|| CgError("aligned_alloc returns nothing".into()))?;
        let p = p.into_pointer_value();
        b.build_conditional_branch(b.build_is_null(p, "")?, oom, ok)?;
        b.position_at_end(oom);
        e.flag(self.cx.bool_type().const_all_ones(), abi::OUT_OF_MEMORY)?;
        b.build_unconditional_branch(fail)?;
        b.position_at_end(ok);
        b.build_unconditional_branch(join)?;
        b.position_at_end(join);
        let phi = b.build_phi(self.ptr(), "buffer")?;
        phi.add_incoming(&[(&self.ptr().const_null(), pre), (&p, ok)]);
        Ok(phi.as_basic_value().into_pointer_value())
    }

    /// `free(p)` (nothing for null).
    fn free(&self, p: PointerValue<'ctx>) -> Res<()> {
        let free = self.libc("free", self.cx.void_type().fn_type(&[self.ptr().into()], false));
        self.b.build_call(free, &[p.into()], "")?;
        Ok(())
    }

    /// The C library function `name`, declared once.
    fn libc(&self, name: &str, ty: inkwell::types::FunctionType<'ctx>) -> FunctionValue<'ctx> {
        self.module.get_function(name).unwrap_or_else(|| self.module.add_function(name, ty, None))
    }

    /// `if cond { body() }` at the builder's position in `f`.
    fn when(&self, f: FunctionValue<'ctx>, cond: IntValue<'ctx>, body: &mut dyn FnMut() -> Res<()>) -> Res<()> {
        let then = self.cx.append_basic_block(f, "then");
        let join = self.cx.append_basic_block(f, "endif");
        self.b.build_conditional_branch(cond, then, join)?;
        self.b.position_at_end(then);
        body()?;
        self.b.build_unconditional_branch(join)?;
        self.b.position_at_end(join);
        Ok(())
    }

    /// `for i in lo..hi by step { body(i) }` at the builder's position in `f`.
    fn range(
        &self,
        f: FunctionValue<'ctx>,
        (lo, hi, step): (IntValue<'ctx>, IntValue<'ctx>, IntValue<'ctx>),
        name: &str,
        body: &mut dyn FnMut(IntValue<'ctx>) -> Res<()>,
    ) -> Res<()> {
        self.carried(f, (lo, hi, step), name, &[], &mut |i, _| {
            body(i)?;
            Ok(Vec::new())
        })?;
        Ok(())
    }

    /// `for i in lo..hi by step` carrying vectors from `init`: `body(i,
    /// current)` returns the next values; returns the final ones.
    fn carried(
        &self,
        f: FunctionValue<'ctx>,
        (lo, hi, step): (IntValue<'ctx>, IntValue<'ctx>, IntValue<'ctx>),
        name: &str,
        init: &[VectorValue<'ctx>],
        body: &mut CarriedBody<'_, 'ctx>,
    ) -> Res<Vec<VectorValue<'ctx>>> {
        let b = self.b;
        let pre = b.get_insert_block().ok_or_else(|| CgError("the builder has no block".into()))?;
        let header = self.cx.append_basic_block(f, name);
        let inside = self.cx.append_basic_block(f, &format!("{name}.body"));
        let exit = self.cx.append_basic_block(f, &format!("{name}.done"));
        b.build_unconditional_branch(header)?;
        b.position_at_end(header);
        let i = b.build_phi(self.cx.i64_type(), name)?;
        let phis = init.iter().map(|v| b.build_phi(v.get_type(), "acc")).collect::<Result<Vec<_>, _>>()?;
        let current: Vec<VectorValue> = phis.iter().map(|p| p.as_basic_value().into_vector_value()).collect();
        let iv = i.as_basic_value().into_int_value();
        b.build_conditional_branch(b.build_int_compare(IntPredicate::ULT, iv, hi, "")?, inside, exit)?;
        b.position_at_end(inside);
        let next = body(iv, &current)?;
        let latch = b.get_insert_block().ok_or_else(|| CgError("the builder has no block".into()))?;
        let step_next = b.build_int_add(iv, step, "")?;
        b.build_unconditional_branch(header)?;
        i.add_incoming(&[(&lo, pre), (&step_next, latch)]);
        for ((phi, first), n) in phis.iter().zip(init).zip(&next) {
            phi.add_incoming(&[(first, pre), (n, latch)]);
        }
        b.position_at_end(exit);
        Ok(current)
    }

    /// The GEMM function, generated once per module: `i32 (ptr a, ptr b,
    /// ptr c, i64 batch, m, n, k, a_bs, a_rs, a_cs, b_bs, b_rs, b_cs, i1
    /// accumulate, ptr packed_a, ptr packed_b)`, the packed operands null
    /// when not packed at compile time.
    fn gemm(&self) -> Res<FunctionValue<'ctx>> {
        let name = self.name("");
        if let Some(f) = self.module.get_function(&name) {
            return Ok(f);
        }
        let (ptr, i64t) = (self.ptr(), self.cx.i64_type());
        let mut params: Vec<BasicMetadataTypeEnum> = vec![ptr.into(); 3];
        params.extend([BasicMetadataTypeEnum::from(i64t); 10]);
        params.extend([BasicMetadataTypeEnum::from(self.cx.bool_type()), ptr.into(), ptr.into()]);
        let f = self.module.add_function(&name, self.cx.i32_type().fn_type(&params, false), Some(Linkage::Internal));
        f.add_attribute(AttributeLoc::Function, self.attr("nounwind"));
        let pack = self.pack_a()?;
        let task = self.task()?;
        self.aside(|| self.gemm_body(f, pack, task))?;
        Ok(f)
    }

    fn attr(&self, name: &str) -> inkwell::attributes::Attribute {
        self.cx.create_enum_attribute(inkwell::attributes::Attribute::get_named_enum_kind_id(name), 0)
    }

    fn gemm_body(&self, f: FunctionValue<'ctx>, pack: FunctionValue<'ctx>, task: FunctionValue<'ctx>) -> Res<()> {
        let e = self.enter(f)?;
        let (cx, b) = (self.cx, self.b);
        let a = Self::param(f, 0, "a")?.into_pointer_value();
        let bp = Self::param(f, 1, "b")?.into_pointer_value();
        let c = Self::param(f, 2, "c")?.into_pointer_value();
        let mut v = Vec::new();
        for (k, n) in SIZE_PARAMS.iter().enumerate() {
            v.push(Self::param(f, 3 + k as u32, n)?.into_int_value());
        }
        let [batch, m, n, k, a_bs, a_rs, a_cs, b_bs, b_rs, b_cs] = v[..] else {
            return Err(CgError("the GEMM has ten size parameters".into()));
        };
        let acc = Self::param(f, 13, "accumulate")?.into_int_value();
        let packed_a = Self::param(f, 14, "packed_a")?.into_pointer_value();
        let packed_b = Self::param(f, 15, "packed_b")?.into_pointer_value();
        let shared = b.build_alloca(cx.i32_type(), "shared")?;
        b.build_store(shared, cx.i32_type().const_zero())?;
        let env_a = b.build_alloca(parallel::env_type(&e, 8), "env.pack")?;
        let env_t = b.build_alloca(parallel::env_type(&e, TASK_WORDS.len()), "env.tasks")?;
        let exit = cx.append_basic_block(f, "exit");

        let bmn = self.mul(self.mul(batch, m)?, n)?;
        let empty = self.is_zero(bmn)?;
        let k_zero = self.is_zero(k)?;
        let nothing = b.build_or(empty, b.build_and(k_zero, acc, "")?, "")?;
        let zeros = cx.append_basic_block(f, "zeros");
        let work = cx.append_basic_block(f, "work");
        let go = cx.append_basic_block(f, "go");
        b.build_conditional_branch(nothing, exit, work)?;
        b.position_at_end(work);
        b.build_conditional_branch(k_zero, zeros, go)?;
        b.position_at_end(zeros);
        let bytes = self.mul(bmn, self.int(self.dtype.size_bytes() as u64))?;
        b.build_memset(c, self.dtype.size_bytes() as u32, cx.i8_type().const_zero(), bytes)?;
        b.build_unconditional_branch(exit)?;
        b.position_at_end(go);

        // A: packed at compile time, read in place (small M), or packed now.
        let blk = self.blk;
        let panels = self.ceil_div(m, self.int(blk.mr))?;
        let panel_elems = self.mul(k, self.int(blk.mr))?;
        let prepacked = b.build_is_not_null(packed_a, "")?;
        let small = b.build_int_compare(IntPredicate::ULE, m, self.int(blk.small_rows()), "")?;
        let direct = b.build_and(small, b.build_not(prepacked, "")?, "direct")?;
        let must_pack = b.build_not(b.build_or(prepacked, direct, "")?, "")?;
        let a_shared = self.is_zero(a_bs)?;
        let a_batches = self.pick(a_shared, self.int(1), batch)?;
        let units = self.mul(a_batches, panels)?;
        let pa = self.alloc_if(&e, f, must_pack, self.mul(units, panel_elems)?, exit)?;
        self.when(f, must_pack, &mut || {
            let words: Vec<BasicValueEnum> =
                vec![a.into(), a_bs.into(), a_rs.into(), a_cs.into(), pa.into(), panels.into(), m.into(), k.into()];
            parallel::pack(&e, env_a, &words)?;
            parallel::dispatch(&e, f, units, self.ceil_div(panel_elems, self.int(4))?, pack, env_a)?;
            Ok(())
        })?;
        let packed_bs = self.pick(a_shared, self.int(0), self.mul(panels, panel_elems)?)?;
        let abase = self.pick_ptr(direct, a, self.pick_ptr(prepacked, packed_a, pa)?)?;
        let a_bs_t = self.pick(direct, a_bs, packed_bs)?;
        let a_ps = self.pick(direct, self.mul(a_rs, self.int(blk.mr))?, panel_elems)?;
        let a_rs_t = self.pick(direct, a_rs, self.int(1))?;
        let a_cs_t = self.pick(direct, a_cs, self.int(blk.mr))?;
        // B packed at compile time: one batch's `K × Npad` after another.
        let n_pad = self.round_up(n, self.int(blk.nr))?;
        let pb_bs = self.pick(self.is_zero(b_bs)?, self.int(0), self.mul(k, n_pad)?)?;

        // Tasks: nt column blocks, then mt row blocks: one on one thread,
        // else about TASKS_PER_THREAD per thread.
        let threads = parallel::num_threads(&e)?;
        let one = b.build_int_compare(IntPredicate::ULE, threads, self.int(1), "")?;
        let want = self.pick(one, self.int(1), self.mul(threads, self.int(TASKS_PER_THREAD))?)?;
        let umax = |x: IntValue<'ctx>, y: IntValue<'ctx>| -> Res<IntValue<'ctx>> {
            Ok(e.call_intrinsic("llvm.umax", &[i64t_basic(cx)], &[x.into(), y.into()])?.into_int_value())
        };
        let col_panels = self.ceil_div(n, self.int(blk.nr))?;
        let nt = self.min(&e, self.ceil_div(want, batch)?, col_panels)?;
        let nt = umax(umax(nt, self.int(1))?, self.ceil_div(n, self.int(blk.nc))?)?;
        let nct = self.round_up(self.ceil_div(n, nt)?, self.int(blk.nr))?;
        let nt = self.ceil_div(n, nct)?;
        let mt = self.min(&e, self.ceil_div(want, self.mul(batch, nt)?)?, panels)?;
        let mt = umax(mt, self.int(1))?;
        let mct = self.round_up(self.ceil_div(m, mt)?, self.int(blk.mr))?;
        let mt = self.ceil_div(m, mct)?;
        let acc_word = b.build_int_z_extend(acc, cx.i64_type(), "")?;
        let words: Vec<BasicValueEnum> = vec![
            abase.into(),
            a_bs_t.into(),
            a_ps.into(),
            a_rs_t.into(),
            a_cs_t.into(),
            bp.into(),
            b_bs.into(),
            b_rs.into(),
            b_cs.into(),
            packed_b.into(),
            pb_bs.into(),
            c.into(),
            m.into(),
            n.into(),
            k.into(),
            nct.into(),
            mct.into(),
            mt.into(),
            nt.into(),
            acc_word.into(),
            shared.into(),
        ];
        parallel::pack(&e, env_t, &words)?;
        let tasks = self.mul(self.mul(batch, mt)?, nt)?;
        let total_work = self.ceil_div(self.mul(bmn, k)?, self.int(MACS_PER_OP))?;
        let task_work = self.ceil_div(total_work, tasks)?;
        parallel::dispatch(&e, f, tasks, task_work, task, env_t)?;
        self.free(pa)?;
        let s = b.build_load(cx.i32_type(), shared, "")?.into_int_value();
        let old = b.build_load(cx.i32_type(), e.status, "")?.into_int_value();
        b.build_store(e.status, b.build_or(old, s, "")?)?;
        b.build_unconditional_branch(exit)?;
        b.position_at_end(exit);
        let status = b.build_load(cx.i32_type(), e.status, "")?;
        b.build_return(Some(&status))?;
        Ok(())
    }

    /// The chunk function packing `A`: unit `u` is panel `u % panels` of
    /// batch `u / panels`, `MR` rows by all of `K`, stored `[k][MR]`.
    fn pack_a(&self) -> Res<FunctionValue<'ctx>> {
        self.aside(|| {
            let probe = Emit { cx: self.cx, module: self.module, b: self.b, status: self.ptr().const_null() };
            let f = chunk_function(&probe, &self.name(".pack_a"));
            let e = self.enter(f)?;
            let i64t: BasicTypeEnum = self.cx.i64_type().into();
            let types = [self.ptr().into(), i64t, i64t, i64t, self.ptr().into(), i64t, i64t, i64t];
            let env = Self::param(f, 0, "env")?.into_pointer_value();
            let (lo, hi) = (Self::param(f, 1, "lo")?.into_int_value(), Self::param(f, 2, "hi")?.into_int_value());
            let w = parallel::unpack(&e, env, &types)?;
            let a = w[0].into_pointer_value();
            let [a_bs, a_rs, a_cs] = [w[1], w[2], w[3]].map(BasicValueEnum::into_int_value);
            let pa = w[4].into_pointer_value();
            let [panels, m, k] = [w[5], w[6], w[7]].map(BasicValueEnum::into_int_value);
            let mr = self.blk.mr;
            let last = self.b.build_int_sub(m, self.int(1), "")?;
            self.range(f, (lo, hi, self.int(1)), "u", &mut |u| {
                let bi = self.b.build_int_unsigned_div(u, panels, "")?;
                let i0 = self.mul(self.b.build_int_unsigned_rem(u, panels, "")?, self.int(mr))?;
                let src = self.at(a, self.mul(bi, a_bs)?)?;
                let dst = self.at(pa, self.mul(self.mul(u, k)?, self.int(mr))?)?;
                let mut rows = Vec::new();
                for ii in 0..mr {
                    let row = self.add(i0, self.int(ii))?;
                    let inside = self.b.build_int_compare(IntPredicate::ULT, row, m, "")?;
                    let clamped = self.min(&e, row, last)?;
                    rows.push((inside, self.at(src, self.mul(clamped, a_rs)?)?));
                }
                self.range(f, (self.int(0), k, self.int(1)), "p", &mut |p| {
                    let col = self.mul(p, a_cs)?;
                    for (ii, &(inside, row)) in rows.iter().enumerate() {
                        let x = self.b.build_load(self.elem(), self.at(row, col)?, "")?.into_float_value();
                        let x = self.b.build_select(inside, x, self.elem().const_zero(), "")?;
                        let at = self.add(self.mul(p, self.int(mr))?, self.int(ii as u64))?;
                        self.b.build_store(self.at(dst, at)?, x)?;
                    }
                    Ok(())
                })
            })?;
            self.b.build_return(None)?;
            Ok(f)
        })
    }

    /// The chunk function running tasks: task `t` is column block `t % nt`
    /// and row block `t / nt % mt` of batch `t / (mt × nt)`. Its
    /// environment holds [`TASK_WORDS`]: `A` as a base, batch, panel, row
    /// and column strides (packed or in place), `B` with its strides, the
    /// compile-time packing of `B` (or null) and its batch stride, `C`,
    /// the sizes and the blocking of the tasks.
    fn task(&self) -> Res<FunctionValue<'ctx>> {
        let kernels = self.blk.variants().into_iter().map(|r| Ok((r, self.kernel(r)?))).collect::<Res<Vec<_>>>()?;
        self.aside(|| {
            let probe = Emit { cx: self.cx, module: self.module, b: self.b, status: self.ptr().const_null() };
            let f = chunk_function(&probe, &self.name(".tasks"));
            let e = self.enter(f)?;
            let (p, i): (BasicTypeEnum, BasicTypeEnum) = (self.ptr().into(), self.cx.i64_type().into());
            let types = [p, i, i, i, i, p, i, i, i, p, i, p, i, i, i, i, i, i, i, i, p];
            let env = Self::param(f, 0, "env")?.into_pointer_value();
            let (lo, hi) = (Self::param(f, 1, "lo")?.into_int_value(), Self::param(f, 2, "hi")?.into_int_value());
            let w = parallel::unpack(&e, env, &types)?;
            let int = |k: usize| w[k].into_int_value();
            let ptr = |k: usize| w[k].into_pointer_value();
            let (abase, bp, packed_b, c, shared) = (ptr(0), ptr(5), ptr(9), ptr(11), ptr(20));
            let (a_bs, a_ps, a_rs, a_cs) = (int(1), int(2), int(3), int(4));
            let (b_bs, b_rs, b_cs, pb_bs) = (int(6), int(7), int(8), int(10));
            let (m, n, k, nct, mct, mt, nt) = (int(12), int(13), int(14), int(15), int(16), int(17), int(18));
            let b = self.b;
            let acc = b.build_int_compare(IntPredicate::NE, int(19), self.int(0), "acc")?;
            let blk = self.blk;
            let exit = self.cx.append_basic_block(f, "exit");
            let prepacked = b.build_is_not_null(packed_b, "")?;
            let must_pack = b.build_not(prepacked, "")?;
            let pb = self.alloc_if(&e, f, must_pack, self.mul(nct, self.int(blk.kc))?, exit)?;
            let n_pad = self.round_up(n, self.int(blk.nr))?;
            let per_batch = self.mul(mt, nt)?;
            self.range(f, (lo, hi, self.int(1)), "t", &mut |t| {
                let bi = b.build_int_unsigned_div(t, per_batch, "")?;
                let r = b.build_int_unsigned_rem(t, per_batch, "")?;
                let (mi, ni) = (b.build_int_unsigned_div(r, nt, "")?, b.build_int_unsigned_rem(r, nt, "")?);
                let j0 = self.mul(ni, nct)?;
                let j1 = self.min(&e, n, self.add(j0, nct)?)?;
                let i0 = self.mul(mi, mct)?;
                let i1 = self.min(&e, m, self.add(i0, mct)?)?;
                let b_batch = self.at(bp, self.mul(bi, b_bs)?)?;
                let a_batch = self.at(abase, self.mul(bi, a_bs)?)?;
                let pb_batch = self.at(packed_b, self.mul(bi, pb_bs)?)?;
                let c_batch = self.at(c, self.mul(self.mul(bi, m)?, n)?)?;
                let j_base = self.pick(prepacked, self.int(0), j0)?;
                self.range(f, (self.int(0), k, self.int(blk.kc)), "pc", &mut |pc| {
                    let kc = self.min(&e, self.int(blk.kc), b.build_int_sub(k, pc, "")?)?;
                    self.when(f, must_pack, &mut || {
                        self.pack_b(&e, f, pb, self.at(b_batch, self.mul(pc, b_rs)?)?, (b_rs, b_cs), (j0, j1), kc)
                    })?;
                    let b_block = self.pick_ptr(prepacked, self.at(pb_batch, self.mul(pc, n_pad)?)?, pb)?;
                    let a_block = self.at(a_batch, self.mul(pc, a_cs)?)?;
                    let first_block = self.is_zero(pc)?;
                    let first = b.build_and(first_block, b.build_not(acc, "")?, "first")?;
                    self.range(f, (i0, i1, self.int(blk.mc)), "ic", &mut |ic| {
                        let iend = self.min(&e, i1, self.add(ic, self.int(blk.mc))?)?;
                        self.range(f, (j0, j1, self.int(blk.nr)), "jr", &mut |jr| {
                            let nr = self.min(&e, self.int(blk.nr), b.build_int_sub(j1, jr, "")?)?;
                            let bpanel = self.at(b_block, self.mul(b.build_int_sub(jr, j_base, "")?, kc)?)?;
                            self.range(f, (ic, iend, self.int(blk.mr)), "ir", &mut |ir| {
                                let mr = self.min(&e, self.int(blk.mr), b.build_int_sub(i1, ir, "")?)?;
                                let panel = b.build_int_unsigned_div(ir, self.int(blk.mr), "")?;
                                let apanel = self.at(a_block, self.mul(panel, a_ps)?)?;
                                let ctile = self.at(c_batch, self.add(self.mul(ir, n)?, jr)?)?;
                                let args = [
                                    kc.into(),
                                    apanel.into(),
                                    a_rs.into(),
                                    a_cs.into(),
                                    bpanel.into(),
                                    ctile.into(),
                                    n.into(),
                                    mr.into(),
                                    nr.into(),
                                    first.into(),
                                ];
                                self.call_kernel(f, &kernels, mr, &args)
                            })
                        })
                    })
                })
            })?;
            self.free(pb)?;
            b.build_unconditional_branch(exit)?;
            b.position_at_end(exit);
            let s = b.build_load(self.cx.i32_type(), e.status, "")?.into_int_value();
            parallel::or_status(&e, shared, s)?;
            b.build_return(None)?;
            Ok(f)
        })
    }

    /// Calls the smallest of `kernels` (by ascending rows) whose rows cover
    /// `mr`, with `args`.
    fn call_kernel(
        &self,
        f: FunctionValue<'ctx>,
        kernels: &[(u64, FunctionValue<'ctx>)],
        mr: IntValue<'ctx>,
        args: &[inkwell::values::BasicMetadataValueEnum<'ctx>],
    ) -> Res<()> {
        let b = self.b;
        let join = self.cx.append_basic_block(f, "kernel.done");
        for (k, &(rows, kernel)) in kernels.iter().enumerate() {
            if k + 1 == kernels.len() {
                b.build_call(kernel, args, "")?;
                break;
            }
            let call = self.cx.append_basic_block(f, &format!("kernel{rows}"));
            let next = self.cx.append_basic_block(f, "kernel.next");
            b.build_conditional_branch(b.build_int_compare(IntPredicate::ULE, mr, self.int(rows), "")?, call, next)?;
            b.position_at_end(call);
            b.build_call(kernel, args, "")?;
            b.build_unconditional_branch(join)?;
            b.position_at_end(next);
        }
        b.build_unconditional_branch(join)?;
        b.position_at_end(join);
        Ok(())
    }

    /// Packs rows `kc` rows of `B` from `src` (strides `rs`, `cs`), columns
    /// `j0..j1`, into `NR`-column panels at `pb` (`[panel][p][NR]`, columns
    /// past `j1` zero); a full panel of unit-stride rows moves as vectors.
    #[expect(clippy::too_many_arguments, reason = "the packing loop needs the block's source, strides, columns and depth")]
    fn pack_b(
        &self,
        e: &Emit<'_, 'ctx>,
        f: FunctionValue<'ctx>,
        pb: PointerValue<'ctx>,
        src: PointerValue<'ctx>,
        (rs, cs): (IntValue<'ctx>, IntValue<'ctx>),
        (j0, j1): (IntValue<'ctx>, IntValue<'ctx>),
        kc: IntValue<'ctx>,
    ) -> Res<()> {
        let (b, blk) = (self.b, self.blk);
        let last = b.build_int_sub(j1, self.int(1), "")?;
        self.range(f, (j0, j1, self.int(blk.nr)), "jp", &mut |jp| {
            let dst = self.at(pb, self.mul(b.build_int_sub(jp, j0, "")?, kc)?)?;
            let full = b.build_int_compare(IntPredicate::ULE, self.add(jp, self.int(blk.nr))?, j1, "")?;
            let unit = b.build_int_compare(IntPredicate::EQ, cs, self.int(1), "")?;
            let fast = self.cx.append_basic_block(f, "pack.vector");
            let slow = self.cx.append_basic_block(f, "pack.scalar");
            let join = self.cx.append_basic_block(f, "pack.done");
            b.build_conditional_branch(b.build_and(full, unit, "")?, fast, slow)?;
            b.position_at_end(fast);
            self.range(f, (self.int(0), kc, self.int(1)), "p", &mut |p| {
                let row = self.at(src, self.add(self.mul(p, rs)?, jp)?)?;
                for v in 0..blk.nr / u64::from(blk.lanes) {
                    let off = self.int(v * u64::from(blk.lanes));
                    let x = b.build_load(self.vector(), self.at(row, off)?, "")?;
                    set_align(x, self.dtype.size_bytes() as u32)?;
                    let to = self.at(dst, self.add(self.mul(p, self.int(blk.nr))?, off)?)?;
                    let st = b.build_store(to, x)?;
                    st.set_alignment(self.vector_bytes()).map_err(|m| CgError(m.to_string()))?;
                }
                Ok(())
            })?;
            b.build_unconditional_branch(join)?;
            b.position_at_end(slow);
            let mut cols = Vec::new();
            for jj in 0..blk.nr {
                let col = self.add(jp, self.int(jj))?;
                let inside = b.build_int_compare(IntPredicate::ULT, col, j1, "")?;
                cols.push((inside, self.mul(self.min(e, col, last)?, cs)?));
            }
            self.range(f, (self.int(0), kc, self.int(1)), "p", &mut |p| {
                let row = self.at(src, self.mul(p, rs)?)?;
                for (jj, &(inside, col)) in cols.iter().enumerate() {
                    let x = b.build_load(self.elem(), self.at(row, col)?, "")?.into_float_value();
                    let x = b.build_select(inside, x, self.elem().const_zero(), "")?;
                    let at = self.add(self.mul(p, self.int(blk.nr))?, self.int(jj as u64))?;
                    b.build_store(self.at(dst, at)?, x)?;
                }
                Ok(())
            })?;
            b.build_unconditional_branch(join)?;
            b.position_at_end(join);
            Ok(())
        })
    }

    fn vector_bytes(&self) -> u32 {
        self.blk.lanes * self.dtype.size_bytes() as u32
    }

    /// `x` in every lane of a vector.
    fn splat(&self, x: FloatValue<'ctx>) -> Res<VectorValue<'ctx>> {
        let vt = self.vector();
        let one = self.b.build_insert_element(vt.get_poison(), x, self.cx.i32_type().const_zero(), "")?;
        let mask = self.cx.i32_type().vec_type(self.blk.lanes).const_zero();
        Ok(self.b.build_shuffle_vector(one, vt.get_poison(), mask, "")?)
    }
}

/// `i64` as a basic type.
fn i64t_basic(cx: &inkwell::context::Context) -> BasicTypeEnum<'_> {
    cx.i64_type().into()
}

/// Sets the alignment of the load or store that produced `v`.
fn set_align(v: BasicValueEnum<'_>, align: u32) -> Res<()> {
    let inst = v.as_instruction_value().ok_or_else(|| CgError("a load built no instruction".into()))?;
    inst.set_alignment(align).map_err(|m| CgError(m.to_string()))
}
