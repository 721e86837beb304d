//! `k.matmul` as a call to a GEMM generated into the module, one per dtype
//! (f32, f64), for the vector width of the target ([`Simd`]).
//!
//! Operands are strided `[batch, rows, cols]` views (so any transposition
//! is a choice of strides, not a separate function); `C` is the contiguous
//! `[batch, M, N]` result. The GEMM, in the manner of BLIS/GotoBLAS:
//! - packs all of `A` once into `MR`-row panels (`[panel][k][MR]`, rows
//!   past `M` zero), in parallel over panels;
//! - cuts `C` into tasks, `batch × mt × nt` blocks of about `MC`-multiple
//!   rows and `NR`-multiple columns, enough for two per pool thread, and
//!   runs them on the thread pool (`parallel.rs`). A task walks `K` in
//!   blocks of `KC`: it packs its `KC × nc` block of `B` into `NR`-column
//!   panels (`[panel][k][NR]`, columns past its end zero), then for each
//!   `MC` row block, each `NR` column panel (which stays in L1) and each
//!   `MR` row panel (the `MC × KC` block of packed `A` stays in L2), calls
//! - the micro-kernel: an `MR × NR` tile of `C` held in `MR × NR / lanes`
//!   vector registers, updated once per `k` by `NR / lanes` vector loads
//!   of `B`, `MR` broadcasts of `A` and `llvm.fmuladd` (an FMA where the
//!   target has one). Full tiles are added to (or, on the first `KC` block
//!   without `accumulate`, stored over) `C` with vector loads and stores;
//!   edge tiles go through a stack tile, element by element.
//!
//! `K = 0` writes zeros (or leaves `C` alone with `accumulate`); an empty
//! `C` does nothing. The packing buffers come from `aligned_alloc`; a
//! refusal sets the out-of-memory status bit.

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

/// The register and cache blocking of one GEMM.
#[derive(Copy, Clone, Debug)]
struct Blocking {
    /// Elements per vector register.
    lanes: u32,
    /// Rows of the micro-kernel's tile.
    mr: u64,
    /// Columns of the micro-kernel's tile (two vectors).
    nr: u64,
    /// The depth of a packed block (`NR × KC` elements of `B` fill about
    /// two thirds of a 48 KiB L1).
    kc: u64,
    /// Rows of `A` per L2 block.
    mc: u64,
    /// The most columns one task takes.
    nc: u64,
}

impl Blocking {
    /// The blocking for `dtype` (f32 or f64) with `simd`'s registers: 32
    /// vector registers with AVX-512 (24 accumulators), 16 otherwise.
    fn new(simd: Simd, dtype: DType) -> Blocking {
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
    ];
    let status = e.b.build_call(f, &args, "gemm")?.try_as_basic_value().basic();
    let status = status.ok_or_else(|| CgError("the GEMM returns nothing".into()))?.into_int_value();
    let old = e.b.build_load(e.cx.i32_type(), e.status, "")?.into_int_value();
    e.b.build_store(e.status, e.b.build_or(old, status, "")?)?;
    Ok(())
}

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

    /// `ceil(a / b)`.
    fn ceil_div(&self, a: IntValue<'ctx>, b: IntValue<'ctx>) -> Res<IntValue<'ctx>> {
        let bias = self.b.build_int_sub(b, self.int(1), "")?;
        Ok(self.b.build_int_unsigned_div(self.add(a, bias)?, b, "")?)
    }

    /// `aligned_alloc(64, elements × size)`; a null result sets the
    /// out-of-memory bit in `e` and branches to `fail`.
    fn alloc(&self, e: &Emit<'_, 'ctx>, f: FunctionValue<'ctx>, elements: IntValue<'ctx>, fail: BasicBlock<'ctx>) -> Res<PointerValue<'ctx>> {
        let i64t = self.cx.i64_type();
        let bytes = self.mul(elements, self.int(self.dtype.size_bytes() as u64))?;
        let padded = self.b.build_and(self.add(bytes, self.int(64))?, self.int(!63), "")?;
        let aligned_alloc = self.libc("aligned_alloc", self.ptr().fn_type(&[i64t.into(), i64t.into()], false));
        let p = self.b.build_call(aligned_alloc, &[self.int(64).into(), padded.into()], "packed")?;
        let p = p.try_as_basic_value().basic().ok_or_else(|| CgError("aligned_alloc returns nothing".into()))?;
        let p = p.into_pointer_value();
        let ok = self.cx.append_basic_block(f, "allocated");
        let oom = self.cx.append_basic_block(f, "oom");
        self.b.build_conditional_branch(self.b.build_is_null(p, "")?, oom, ok)?;
        self.b.position_at_end(oom);
        e.flag(self.cx.bool_type().const_all_ones(), abi::OUT_OF_MEMORY)?;
        self.b.build_unconditional_branch(fail)?;
        self.b.position_at_end(ok);
        Ok(p)
    }

    fn free(&self, p: PointerValue<'ctx>) -> Res<()> {
        let free = self.libc("free", self.cx.void_type().fn_type(&[self.ptr().into()], false));
        self.b.build_call(free, &[p.into()], "")?;
        Ok(())
    }

    /// The C library function `name`, declared once.
    fn libc(&self, name: &str, ty: inkwell::types::FunctionType<'ctx>) -> FunctionValue<'ctx> {
        self.module.get_function(name).unwrap_or_else(|| self.module.add_function(name, ty, None))
    }

    /// `for i in lo..hi by step { body(i) }` at the builder's position in `f`.
    fn range(
        &self,
        f: FunctionValue<'ctx>,
        (lo, hi, step): (IntValue<'ctx>, IntValue<'ctx>, IntValue<'ctx>),
        name: &str,
        body: &mut dyn FnMut(IntValue<'ctx>) -> Res<()>,
    ) -> Res<()> {
        let b = self.b;
        let pre = b.get_insert_block().ok_or_else(|| CgError("the builder has no block".into()))?;
        let header = self.cx.append_basic_block(f, name);
        let inside = self.cx.append_basic_block(f, &format!("{name}.body"));
        let exit = self.cx.append_basic_block(f, &format!("{name}.done"));
        b.build_unconditional_branch(header)?;
        b.position_at_end(header);
        let i = b.build_phi(self.cx.i64_type(), name)?;
        let iv = i.as_basic_value().into_int_value();
        b.build_conditional_branch(b.build_int_compare(IntPredicate::ULT, iv, hi, "")?, inside, exit)?;
        b.position_at_end(inside);
        body(iv)?;
        let latch = b.get_insert_block().ok_or_else(|| CgError("the builder has no block".into()))?;
        let next = b.build_int_add(iv, step, "")?;
        b.build_unconditional_branch(header)?;
        i.add_incoming(&[(&lo, pre), (&next, latch)]);
        b.position_at_end(exit);
        Ok(())
    }

    /// The GEMM function, generated once per module:
    /// `i32 (ptr a, ptr b, ptr c, i64 batch, m, n, k, a_bs, a_rs, a_cs, b_bs, b_rs, b_cs, i1 accumulate)`.
    fn gemm(&self) -> Res<FunctionValue<'ctx>> {
        let name = self.name("");
        if let Some(f) = self.module.get_function(&name) {
            return Ok(f);
        }
        let (ptr, i64t) = (self.ptr(), self.cx.i64_type());
        let mut params: Vec<BasicMetadataTypeEnum> = vec![ptr.into(); 3];
        params.extend([BasicMetadataTypeEnum::from(i64t); 10]);
        params.push(self.cx.bool_type().into());
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
        let shared = b.build_alloca(cx.i32_type(), "shared")?;
        b.build_store(shared, cx.i32_type().const_zero())?;
        let env_a = b.build_alloca(parallel::env_type(&e, 8), "env.pack")?;
        let env_t = b.build_alloca(parallel::env_type(&e, 16), "env.tasks")?;
        let exit = cx.append_basic_block(f, "exit");

        let bmn = self.mul(self.mul(batch, m)?, n)?;
        let empty = b.build_int_compare(IntPredicate::EQ, bmn, self.int(0), "")?;
        let k_zero = b.build_int_compare(IntPredicate::EQ, k, self.int(0), "")?;
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

        let blk = self.blk;
        let panels = self.ceil_div(m, self.int(blk.mr))?;
        let packed_elems = self.mul(self.mul(self.mul(batch, panels)?, self.int(blk.mr))?, k)?;
        let pa = self.alloc(&e, f, packed_elems, exit)?;
        let words: Vec<BasicValueEnum> = vec![a.into(), a_bs.into(), a_rs.into(), a_cs.into(), pa.into(), panels.into(), m.into(), k.into()];
        parallel::pack(&e, env_a, &words)?;
        let units = self.mul(batch, panels)?;
        parallel::dispatch(&e, f, units, self.mul(k, self.int(blk.mr))?, pack, env_a)?;

        // Tasks: nt column blocks, then mt row blocks, about two per thread.
        let want = self.mul(parallel::num_threads(&e)?, self.int(2))?;
        let umax = |x: IntValue<'ctx>, y: IntValue<'ctx>| -> Res<IntValue<'ctx>> {
            Ok(e.call_intrinsic("llvm.umax", &[i64t_basic(cx)], &[x.into(), y.into()])?.into_int_value())
        };
        let col_panels = self.ceil_div(n, self.int(blk.nr))?;
        let nt = self.min(&e, self.ceil_div(want, batch)?, col_panels)?;
        let nt = umax(umax(nt, self.int(1))?, self.ceil_div(n, self.int(blk.nc))?)?;
        let nct = self.mul(self.ceil_div(self.ceil_div(n, nt)?, self.int(blk.nr))?, self.int(blk.nr))?;
        let nt = self.ceil_div(n, nct)?;
        let mt = self.min(&e, self.ceil_div(want, self.mul(batch, nt)?)?, panels)?;
        let mt = umax(mt, self.int(1))?;
        let mct = self.mul(self.ceil_div(self.ceil_div(m, mt)?, self.int(blk.mr))?, self.int(blk.mr))?;
        let mt = self.ceil_div(m, mct)?;
        let acc_word = b.build_int_z_extend(acc, cx.i64_type(), "")?;
        let words: Vec<BasicValueEnum> = vec![
            pa.into(),
            bp.into(),
            b_bs.into(),
            b_rs.into(),
            b_cs.into(),
            c.into(),
            m.into(),
            n.into(),
            k.into(),
            panels.into(),
            nct.into(),
            mct.into(),
            mt.into(),
            nt.into(),
            acc_word.into(),
            shared.into(),
        ];
        parallel::pack(&e, env_t, &words)?;
        let tasks = self.mul(self.mul(batch, mt)?, nt)?;
        parallel::dispatch(&e, f, tasks, self.mul(self.mul(mct, nct)?, k)?, task, env_t)?;
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
    /// and row block `t / nt % mt` of batch `t / (mt × nt)`.
    fn task(&self) -> Res<FunctionValue<'ctx>> {
        let kernel = self.kernel()?;
        self.aside(|| {
            let probe = Emit { cx: self.cx, module: self.module, b: self.b, status: self.ptr().const_null() };
            let f = chunk_function(&probe, &self.name(".tasks"));
            let e = self.enter(f)?;
            let (p, i): (BasicTypeEnum, BasicTypeEnum) = (self.ptr().into(), self.cx.i64_type().into());
            let types = [p, p, i, i, i, p, i, i, i, i, i, i, i, i, i, p];
            let env = Self::param(f, 0, "env")?.into_pointer_value();
            let (lo, hi) = (Self::param(f, 1, "lo")?.into_int_value(), Self::param(f, 2, "hi")?.into_int_value());
            let w = parallel::unpack(&e, env, &types)?;
            let int = |k: usize| w[k].into_int_value();
            let (pa, bp, c, shared) =
                (w[0].into_pointer_value(), w[1].into_pointer_value(), w[5].into_pointer_value(), w[15].into_pointer_value());
            let (b_bs, b_rs, b_cs) = (int(2), int(3), int(4));
            let (m, n, k, panels, nct, mct, mt, nt) = (int(6), int(7), int(8), int(9), int(10), int(11), int(12), int(13));
            let acc = self.b.build_int_compare(IntPredicate::NE, int(14), self.int(0), "acc")?;
            let blk = self.blk;
            let exit = self.cx.append_basic_block(f, "exit");
            let pb = self.alloc(&e, f, self.mul(nct, self.int(blk.kc))?, exit)?;
            let per_batch = self.mul(mt, nt)?;
            self.range(f, (lo, hi, self.int(1)), "t", &mut |t| {
                let b = self.b;
                let bi = b.build_int_unsigned_div(t, per_batch, "")?;
                let r = b.build_int_unsigned_rem(t, per_batch, "")?;
                let (mi, ni) = (b.build_int_unsigned_div(r, nt, "")?, b.build_int_unsigned_rem(r, nt, "")?);
                let j0 = self.mul(ni, nct)?;
                let j1 = self.min(&e, n, self.add(j0, nct)?)?;
                let i0 = self.mul(mi, mct)?;
                let i1 = self.min(&e, m, self.add(i0, mct)?)?;
                let b_batch = self.at(bp, self.mul(bi, b_bs)?)?;
                let c_batch = self.at(c, self.mul(self.mul(bi, m)?, n)?)?;
                self.range(f, (self.int(0), k, self.int(blk.kc)), "pc", &mut |pc| {
                    let kc = self.min(&e, self.int(blk.kc), b.build_int_sub(k, pc, "")?)?;
                    self.pack_b(&e, f, pb, self.at(b_batch, self.mul(pc, b_rs)?)?, (b_rs, b_cs), (j0, j1), kc)?;
                    let first_block = b.build_int_compare(IntPredicate::EQ, pc, self.int(0), "")?;
                    let first = b.build_and(first_block, b.build_not(acc, "")?, "first")?;
                    self.range(f, (i0, i1, self.int(blk.mc)), "ic", &mut |ic| {
                        let iend = self.min(&e, i1, self.add(ic, self.int(blk.mc))?)?;
                        self.range(f, (j0, j1, self.int(blk.nr)), "jr", &mut |jr| {
                            let nr = self.min(&e, self.int(blk.nr), b.build_int_sub(j1, jr, "")?)?;
                            let bpanel = self.at(pb, self.mul(b.build_int_sub(jr, j0, "")?, kc)?)?;
                            self.range(f, (ic, iend, self.int(blk.mr)), "ir", &mut |ir| {
                                let mr = self.min(&e, self.int(blk.mr), b.build_int_sub(i1, ir, "")?)?;
                                let panel = self.add(self.mul(bi, panels)?, b.build_int_unsigned_div(ir, self.int(blk.mr), "")?)?;
                                let apanel = self.at(pa, self.mul(self.add(self.mul(panel, k)?, pc)?, self.int(blk.mr))?)?;
                                let ctile = self.at(c_batch, self.add(self.mul(ir, n)?, jr)?)?;
                                let args = [kc.into(), apanel.into(), bpanel.into(), ctile.into(), n.into(), mr.into(), nr.into(), first.into()];
                                b.build_call(kernel, &args, "")?;
                                Ok(())
                            })
                        })
                    })
                })
            })?;
            self.free(pb)?;
            self.b.build_unconditional_branch(exit)?;
            self.b.position_at_end(exit);
            let s = self.b.build_load(self.cx.i32_type(), e.status, "")?.into_int_value();
            parallel::or_status(&e, shared, s)?;
            self.b.build_return(None)?;
            Ok(f)
        })
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

    /// The micro-kernel: `void (i64 kc, ptr a, ptr b, ptr c, i64 ldc, i64
    /// mr, i64 nr, i1 first)` adds (or with `first`, stores) the product of
    /// an `MR × kc` packed panel of `A` and a `kc × NR` one of `B` into the
    /// `mr × nr` tile of `C` at `c` (row stride `ldc`).
    fn kernel(&self) -> Res<FunctionValue<'ctx>> {
        self.aside(|| {
            let (cx, b, blk) = (self.cx, self.b, self.blk);
            let (ptr, i64t) = (self.ptr(), cx.i64_type());
            let params: Vec<BasicMetadataTypeEnum> =
                vec![i64t.into(), ptr.into(), ptr.into(), ptr.into(), i64t.into(), i64t.into(), i64t.into(), cx.bool_type().into()];
            let f = self.module.add_function(&self.name(".kernel"), cx.void_type().fn_type(&params, false), Some(Linkage::Internal));
            f.add_attribute(AttributeLoc::Function, self.attr("nounwind"));
            for k in 1..=3 {
                f.add_attribute(AttributeLoc::Param(k), self.attr("noalias"));
            }
            let e = self.enter(f)?;
            let kc = Self::param(f, 0, "kc")?.into_int_value();
            let (a, bp, c) = (
                Self::param(f, 1, "a")?.into_pointer_value(),
                Self::param(f, 2, "b")?.into_pointer_value(),
                Self::param(f, 3, "c")?.into_pointer_value(),
            );
            let ldc = Self::param(f, 4, "ldc")?.into_int_value();
            let (mr, nr) = (Self::param(f, 5, "mr")?.into_int_value(), Self::param(f, 6, "nr")?.into_int_value());
            let first = Self::param(f, 7, "first")?.into_int_value();
            let vt = self.vector();
            let nv = (blk.nr / u64::from(blk.lanes)) as usize;
            let tiles = blk.mr as usize * nv;
            let tile = b.build_array_alloca(self.elem(), self.int(blk.mr * blk.nr), "tile")?;
            let pre = b.get_insert_block().ok_or_else(|| CgError("the builder has no block".into()))?;
            let header = cx.append_basic_block(f, "k");
            let body = cx.append_basic_block(f, "k.body");
            let done = cx.append_basic_block(f, "k.done");
            b.build_unconditional_branch(header)?;
            b.position_at_end(header);
            let p = b.build_phi(i64t, "p")?;
            let accs = (0..tiles).map(|_| b.build_phi(vt, "acc")).collect::<Result<Vec<_>, _>>()?;
            let pv = p.as_basic_value().into_int_value();
            b.build_conditional_branch(b.build_int_compare(IntPredicate::ULT, pv, kc, "")?, body, done)?;
            b.position_at_end(body);
            let brow = self.at(bp, self.mul(pv, self.int(blk.nr))?)?;
            let mut bv = Vec::new();
            for j in 0..nv {
                let x = b.build_load(vt, self.at(brow, self.int(j as u64 * u64::from(blk.lanes)))?, "b")?;
                set_align(x, self.vector_bytes())?;
                bv.push(x.into_vector_value());
            }
            let arow = self.at(a, self.mul(pv, self.int(blk.mr))?)?;
            let mut next = Vec::new();
            for i in 0..blk.mr {
                let x = b.build_load(self.elem(), self.at(arow, self.int(i))?, "a")?.into_float_value();
                let splat = self.splat(x)?;
                for (j, &y) in bv.iter().enumerate() {
                    let acc = accs[i as usize * nv + j].as_basic_value();
                    let t = [vt.into()];
                    next.push(e.call_intrinsic("llvm.fmuladd", &t, &[splat.into(), y.into(), acc])?);
                }
            }
            let latch = b.get_insert_block().ok_or_else(|| CgError("the builder has no block".into()))?;
            let pn = b.build_int_add(pv, self.int(1), "")?;
            b.build_unconditional_branch(header)?;
            p.add_incoming(&[(&self.int(0), pre), (&pn, latch)]);
            for (phi, n) in accs.iter().zip(&next) {
                phi.add_incoming(&[(&vt.const_zero(), pre), (n as &dyn BasicValue, latch)]);
            }
            b.position_at_end(done);
            let full_m = b.build_int_compare(IntPredicate::EQ, mr, self.int(blk.mr), "")?;
            let full_n = b.build_int_compare(IntPredicate::EQ, nr, self.int(blk.nr), "")?;
            let full = cx.append_basic_block(f, "full");
            let edge = cx.append_basic_block(f, "edge");
            let ret = cx.append_basic_block(f, "ret");
            b.build_conditional_branch(b.build_and(full_m, full_n, "")?, full, edge)?;
            let values: Vec<VectorValue> = accs.iter().map(|a| a.as_basic_value().into_vector_value()).collect();
            // Full tile: vectors straight into C, added to it unless `first`.
            b.position_at_end(full);
            let add_bb = cx.append_basic_block(f, "full.add");
            let store_bb = cx.append_basic_block(f, "full.store");
            b.build_conditional_branch(first, store_bb, add_bb)?;
            for (block, add) in [(add_bb, true), (store_bb, false)] {
                b.position_at_end(block);
                for i in 0..blk.mr as usize {
                    let row = self.at(c, self.mul(self.int(i as u64), ldc)?)?;
                    for j in 0..nv {
                        let at = self.at(row, self.int(j as u64 * u64::from(blk.lanes)))?;
                        let mut v = values[i * nv + j];
                        if add {
                            let old = b.build_load(vt, at, "")?;
                            set_align(old, self.dtype.size_bytes() as u32)?;
                            v = b.build_float_add(v, old.into_vector_value(), "")?;
                        }
                        let st = b.build_store(at, v)?;
                        st.set_alignment(self.dtype.size_bytes() as u32).map_err(|m| CgError(m.to_string()))?;
                    }
                }
                b.build_unconditional_branch(ret)?;
            }
            // Edge tile: through the stack, element by element.
            b.position_at_end(edge);
            for (k, v) in values.iter().enumerate() {
                let st = b.build_store(self.at(tile, self.int(k as u64 * u64::from(blk.lanes)))?, *v)?;
                st.set_alignment(self.dtype.size_bytes() as u32).map_err(|m| CgError(m.to_string()))?;
            }
            self.range(f, (self.int(0), mr, self.int(1)), "i", &mut |i| {
                let row = self.at(c, self.mul(i, ldc)?)?;
                let trow = self.at(tile, self.mul(i, self.int(blk.nr))?)?;
                self.range(f, (self.int(0), nr, self.int(1)), "j", &mut |j| {
                    let x = b.build_load(self.elem(), self.at(trow, j)?, "")?.into_float_value();
                    let at = self.at(row, j)?;
                    let old = b.build_load(self.elem(), at, "")?.into_float_value();
                    let sum = b.build_float_add(x, old, "")?;
                    let v: FloatValue = b.build_select(first, x, sum, "")?.into_float_value();
                    b.build_store(at, v)?;
                    Ok(())
                })
            })?;
            b.build_unconditional_branch(ret)?;
            b.position_at_end(ret);
            b.build_return(None)?;
            Ok(f)
        })
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
