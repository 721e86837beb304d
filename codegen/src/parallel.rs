//! Parallel work on the runtime's thread pool: what the translator's
//! outlined `k.for` loops and the GEMM share.
//!
//! A piece of parallel work is a *chunk function* `void f(ptr env, i64 lo,
//! i64 hi)` that runs units `lo..hi` of it, an environment (an array of
//! `i64` words holding the values the chunks read, each widened or cast to
//! a word, [`pack`] and [`unpack`]), and a count of units. [`dispatch`]
//! calls `tessera_rt_parallel_for(n, f, env)` (`runtime/include/tessera_rt.h`)
//! when the work is worth it, `n × work per unit ≥` [`MIN_PARALLEL_WORK`],
//! and else calls `f(env, 0, n)` inline. Status bits set inside a chunk are
//! OR-ed into a shared word with an atomic (see [`or_status`]), which the
//! caller reads once every chunk is done. The JIT binds the runtime's
//! symbols ([`RUNTIME_SYMBOLS`]) to the `tessera-runtime` crate's functions.
//!
//! Work is counted in rough units of one scalar operation: a loop body
//! weighs the ops in it, nested loops times their constant trip count (an
//! unknown trip count counts [`UNKNOWN_TRIPS`]) ([`loop_work`]).

use crate::abi;
use crate::emit::{CgError, Emit, Res};
use inkwell::attributes::AttributeLoc;
use inkwell::module::Linkage;
use inkwell::types::{BasicType, BasicTypeEnum, FunctionType};
use inkwell::values::{BasicValueEnum, FunctionValue, IntValue, PointerValue};
use inkwell::{AddressSpace, AtomicOrdering, AtomicRMWBinOp, IntPredicate};
use std::collections::HashSet;
use tessera_ir::dialect::kernel::{self, KernelOp};
use tessera_ir::attr::Attr;
use tessera_ir::{Func, OpId, RegionId, ValueId};

/// The least work (in scalar operations) worth handing to the thread pool:
/// about a million, some 100 µs of scalar code or a few tens of µs
/// vectorised, so each thread gets well over the tens of µs that waking
/// the pool's threads and waiting for them costs.
pub(crate) const MIN_PARALLEL_WORK: u64 = 1 << 20;

/// The trip count a loop with bounds unknown at compile time counts for.
pub(crate) const UNKNOWN_TRIPS: u64 = 64;

/// The runtime functions generated code calls, with the address of each
/// in the `tessera-runtime` crate linked into this process (for the JIT).
pub(crate) fn runtime_symbols() -> [(&'static str, usize); 2] {
    [
        ("tessera_rt_parallel_for", tessera_runtime::ffi::tessera_rt_parallel_for as *const () as usize),
        ("tessera_rt_num_threads", tessera_runtime::ffi::tessera_rt_num_threads as *const () as usize),
    ]
}

/// The type of a chunk function: `void (ptr env, i64 lo, i64 hi)`.
pub(crate) fn chunk_type<'ctx>(e: &Emit<'_, 'ctx>) -> FunctionType<'ctx> {
    let (ptr, i64t) = (e.cx.ptr_type(AddressSpace::default()), e.cx.i64_type());
    e.cx.void_type().fn_type(&[ptr.into(), i64t.into(), i64t.into()], false)
}

/// A new internal chunk function `name`, its parameters named.
pub(crate) fn chunk_function<'ctx>(e: &Emit<'_, 'ctx>, name: &str) -> FunctionValue<'ctx> {
    let f = e.module.add_function(name, chunk_type(e), Some(Linkage::Internal));
    f.add_attribute(AttributeLoc::Function, e.enum_attr("nounwind", 0));
    for (k, n) in ["env", "lo", "hi"].iter().enumerate() {
        if let Some(p) = f.get_nth_param(k as u32) {
            p.set_name(n);
        }
    }
    f
}

/// The runtime function `name` of type `ty`, declared once.
fn runtime_fn<'ctx>(e: &Emit<'_, 'ctx>, name: &str, ty: FunctionType<'ctx>) -> FunctionValue<'ctx> {
    e.module.get_function(name).unwrap_or_else(|| {
        let f = e.module.add_function(name, ty, None);
        f.add_attribute(AttributeLoc::Function, e.enum_attr("nounwind", 0));
        f
    })
}

/// `tessera_rt_num_threads()`, as an `i64`.
pub(crate) fn num_threads<'ctx>(e: &Emit<'_, 'ctx>) -> Res<IntValue<'ctx>> {
    let i64t = e.cx.i64_type();
    let f = runtime_fn(e, "tessera_rt_num_threads", i64t.fn_type(&[], false));
    let call = e.b.build_call(f, &[], "threads")?;
    Ok(call.try_as_basic_value().basic().ok_or_else(|| CgError("num_threads returns nothing".into()))?.into_int_value())
}

/// The type of one environment word.
fn word<'ctx>(e: &Emit<'_, 'ctx>) -> BasicTypeEnum<'ctx> {
    e.cx.i64_type().into()
}

/// Stores `values` as the words of environment `env` (an array of at
/// least that many words, see [`env_type`]) and returns it.
pub(crate) fn pack<'ctx>(
    e: &Emit<'_, 'ctx>,
    env: PointerValue<'ctx>,
    values: &[BasicValueEnum<'ctx>],
) -> Res<PointerValue<'ctx>> {
    let (b, i64t) = (e.b, e.cx.i64_type());
    for (k, v) in values.iter().enumerate() {
        let w = match *v {
            BasicValueEnum::PointerValue(p) => b.build_ptr_to_int(p, i64t, "")?,
            BasicValueEnum::IntValue(i) if i.get_type().get_bit_width() == 64 => i,
            BasicValueEnum::IntValue(i) => b.build_int_z_extend(i, i64t, "")?,
            BasicValueEnum::FloatValue(f) if f.get_type() == e.cx.f64_type() => {
                b.build_bit_cast(f, i64t, "")?.into_int_value()
            }
            BasicValueEnum::FloatValue(f) => {
                let int = b.build_bit_cast(f, e.cx.i32_type(), "")?.into_int_value();
                b.build_int_z_extend(int, i64t, "")?
            }
            other => return Err(CgError(format!("cannot pass {} to a parallel chunk", other.get_type()))),
        };
        // SAFETY (of the generated code): the array has one word per value.
        let at = unsafe { b.build_in_bounds_gep(word(e), env, &[i64t.const_int(k as u64, false)], "")? };
        b.build_store(at, w)?;
    }
    Ok(env)
}

/// The values of types `types` that [`pack`] stored in `env`.
pub(crate) fn unpack<'ctx>(
    e: &Emit<'_, 'ctx>,
    env: PointerValue<'ctx>,
    types: &[BasicTypeEnum<'ctx>],
) -> Res<Vec<BasicValueEnum<'ctx>>> {
    let (b, i64t) = (e.b, e.cx.i64_type());
    let mut out = Vec::with_capacity(types.len());
    for (k, t) in types.iter().enumerate() {
        // SAFETY (of the generated code): `pack` stored one word per value.
        let at = unsafe { b.build_in_bounds_gep(word(e), env, &[i64t.const_int(k as u64, false)], "")? };
        let w = b.build_load(i64t, at, "")?.into_int_value();
        out.push(match *t {
            BasicTypeEnum::PointerType(p) => b.build_int_to_ptr(w, p, "")?.into(),
            BasicTypeEnum::IntType(i) if i.get_bit_width() == 64 => w.into(),
            BasicTypeEnum::IntType(i) => b.build_int_truncate(w, i, "")?.into(),
            BasicTypeEnum::FloatType(f) if f == e.cx.f64_type() => b.build_bit_cast(w, f, "")?,
            BasicTypeEnum::FloatType(f) => {
                let int = b.build_int_truncate(w, e.cx.i32_type(), "")?;
                b.build_bit_cast(int, f, "")?
            }
            other => return Err(CgError(format!("cannot pass {other} to a parallel chunk"))),
        });
    }
    Ok(out)
}

/// The type of an environment of `n` words.
pub(crate) fn env_type<'ctx>(e: &Emit<'_, 'ctx>, n: usize) -> BasicTypeEnum<'ctx> {
    e.cx.i64_type().array_type(n.max(1) as u32).as_basic_type_enum()
}

/// ORs status word `local` into the shared status word at `shared`
/// (atomically: chunks run at once).
pub(crate) fn or_status<'ctx>(e: &Emit<'_, 'ctx>, shared: PointerValue<'ctx>, local: IntValue<'ctx>) -> Res<()> {
    e.b.build_atomicrmw(AtomicRMWBinOp::Or, shared, local, AtomicOrdering::Monotonic)?;
    Ok(())
}

/// Runs chunk function `body` over units `0..n` with environment `env`:
/// on the thread pool when `n × work` reaches [`MIN_PARALLEL_WORK`], else
/// inline. The pool failing to start sets the thread-pool status bit.
pub(crate) fn dispatch<'ctx>(
    e: &Emit<'_, 'ctx>,
    f: FunctionValue<'ctx>,
    n: IntValue<'ctx>,
    work: IntValue<'ctx>,
    body: FunctionValue<'ctx>,
    env: PointerValue<'ctx>,
) -> Res<()> {
    let (cx, b) = (e.cx, e.b);
    let i64t = cx.i64_type();
    let total = b.build_int_mul(n, work, "work")?;
    let big = b.build_int_compare(IntPredicate::UGE, total, i64t.const_int(MIN_PARALLEL_WORK, false), "")?;
    let pool = cx.append_basic_block(f, "pool");
    let inline = cx.append_basic_block(f, "inline");
    let done = cx.append_basic_block(f, "dispatched");
    b.build_conditional_branch(big, pool, inline)?;
    b.position_at_end(pool);
    let ptr = cx.ptr_type(AddressSpace::default());
    let ty = cx.i32_type().fn_type(&[i64t.into(), ptr.into(), ptr.into()], false);
    let parallel_for = runtime_fn(e, "tessera_rt_parallel_for", ty);
    let fn_ptr = body.as_global_value().as_pointer_value();
    let rc = b.build_call(parallel_for, &[n.into(), fn_ptr.into(), env.into()], "rc")?;
    let rc = rc.try_as_basic_value().basic().ok_or_else(|| CgError("parallel_for returns nothing".into()))?;
    let failed = b.build_int_compare(IntPredicate::NE, rc.into_int_value(), cx.i32_type().const_zero(), "")?;
    e.flag(failed, abi::THREAD_POOL)?;
    b.build_unconditional_branch(done)?;
    b.position_at_end(inline);
    b.build_call(body, &[env.into(), i64t.const_zero().into(), n.into()], "")?;
    b.build_unconditional_branch(done)?;
    b.position_at_end(done);
    Ok(())
}

/// The values the ops of `region` read that are defined outside it, in
/// order of first use.
pub(crate) fn captures(func: &Func, region: RegionId) -> Vec<ValueId> {
    let mut ops = Vec::new();
    func.walk_region(region, &mut ops);
    let mut inside: HashSet<ValueId> = HashSet::new();
    for &op in &ops {
        inside.extend(func.op(op).results.iter().copied());
        for &r in &func.op(op).regions {
            for &blk in &func.region(r).blocks {
                inside.extend(func.block(blk).args.iter().copied());
            }
        }
    }
    for &blk in &func.region(region).blocks {
        inside.extend(func.block(blk).args.iter().copied());
    }
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for &op in &ops {
        for &v in &func.op(op).operands {
            if !inside.contains(&v) && seen.insert(v) {
                out.push(v);
            }
        }
    }
    out
}

/// The work of one iteration of loop `op`'s body (see the module doc).
pub(crate) fn loop_work(func: &Func, op: OpId) -> u64 {
    let data = func.op(op);
    let mut work = 0u64;
    for &r in &data.regions {
        for &blk in &func.region(r).blocks {
            for &inner in &func.block(blk).ops {
                let weight = match kernel::kind(func.op(inner).def) {
                    Some(KernelOp::For) => {
                        trips(func, inner).unwrap_or(UNKNOWN_TRIPS).saturating_mul(loop_work(func, inner))
                    }
                    Some(KernelOp::Matmul) => UNKNOWN_TRIPS.pow(3),
                    _ => 1,
                };
                work = work.saturating_add(weight);
            }
        }
    }
    work.max(1)
}

/// The fewest iterations of an innermost parallel loop worth vectorising
/// along it rather than along the loop around it.
const VECTOR_TRIPS: u64 = 8;

/// Whether parallel loop `op` should stay a loop until the vectoriser has
/// seen it: no parallel loop is nested in it (sequential ones, such as a
/// window's taps, are unrolled or stay scalar inside each iteration) and
/// it runs at least [`VECTOR_TRIPS`] times, or an unknown number of times.
pub(crate) fn keep_rolled(func: &Func, op: OpId) -> bool {
    let mut inner = Vec::new();
    for &r in &func.op(op).regions {
        func.walk_region(r, &mut inner);
    }
    let parallel = |o: OpId| {
        kernel::kind(func.op(o).def) == Some(KernelOp::For) && func.op(o).attrs.get("parallel") == Some(&Attr::Bool(true))
    };
    let innermost = !inner.into_iter().any(parallel);
    innermost && trips(func, op).is_none_or(|n| n >= VECTOR_TRIPS)
}

/// The trip count of loop `op` when its bounds are constants.
pub(crate) fn trips(func: &Func, op: OpId) -> Option<u64> {
    let constant = |v: ValueId| {
        let def = func.def_op(v)?;
        (kernel::kind(func.op(def).def) == Some(KernelOp::IndexConstant))
            .then(|| func.op(def).attrs.get("value").and_then(Attr::as_int))
            .flatten()
    };
    let operands = &func.op(op).operands;
    match (constant(operands[0]), constant(operands[1]), constant(operands[2])) {
        (Some(lo), Some(hi), Some(step)) if step > 0 => Some((hi.saturating_sub(lo).max(0) as u64).div_ceil(step as u64)),
        _ => None,
    }
}
