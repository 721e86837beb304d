//! The calling convention of generated kernel functions, shared by the
//! translator that emits it and the JIT wrapper that calls it: which
//! symbolic dims a caller passes, in which order, and what the returned
//! status bits mean.

use tessera_ir::dialect::kernel::{self, KernelOp};
use tessera_ir::{Diag, Dim, Func, TensorType, Type};

/// The status bit of an integer division or remainder by zero in a
/// `k.apply` (`tg.div`, `tg.rem`, `tg.mod`, or `tg.pow` of 0 to a negative power).
pub(crate) const DIVIDE_BY_ZERO: u32 = 1;
/// The status bit of a `k.alloc` the system allocator refused.
pub(crate) const OUT_OF_MEMORY: u32 = 2;
/// The status bit of a `k.for` whose step was not positive at run time.
pub(crate) const BAD_STEP: u32 = 4;
/// The status bit of a `k.index_div` or `k.index_rem` by zero.
pub(crate) const INDEX_DIVIDE_BY_ZERO: u32 = 8;
/// The status bit of a `k.to_index` outside its axis (an index a gather
/// or scatter read from a tensor is out of range).
pub(crate) const INDEX_OUT_OF_RANGE: u32 = 16;
/// The status bit of a parallel loop or GEMM the runtime's thread pool
/// could not run (it failed to start).
pub(crate) const THREAD_POOL: u32 = 32;

/// Each status bit with what it reports.
pub(crate) const MESSAGES: [(u32, &str); 6] = [
    (DIVIDE_BY_ZERO, "integer division by zero"),
    (OUT_OF_MEMORY, "out of memory allocating a temporary buffer"),
    (BAD_STEP, "a k.for step is not positive"),
    (INDEX_DIVIDE_BY_ZERO, "index division by zero"),
    (INDEX_OUT_OF_RANGE, "an index read from a tensor is out of range for its axis"),
    (THREAD_POOL, "the thread pool could not start"),
];

/// What a nonzero status reports, one clause per bit set.
pub(crate) fn describe(status: u32) -> String {
    let parts: Vec<&str> = MESSAGES.iter().filter(|(bit, _)| status & bit != 0).map(|(_, m)| *m).collect();
    if parts.is_empty() {
        format!("unknown status {status}")
    } else {
        parts.join("; ")
    }
}

/// What a caller must know to call one kernel function: the buffer type
/// of each argument and the symbolic dims to pass.
#[derive(Clone, Debug)]
pub(crate) struct Signature {
    /// Each argument's buffer type: the inputs, then the outputs.
    pub(crate) args: Vec<TensorType>,
    /// The distinct symbolic (not static) dims of the argument types, then
    /// of the `k.alloc` results, in order of first appearance: the caller
    /// passes the run-time value of each, in this order.
    pub(crate) dims: Vec<Dim>,
}

impl Signature {
    /// The signature of kernel function `func`; an error when an argument
    /// is not a buffer, or the function returns values.
    pub(crate) fn of(func: &Func) -> Result<Signature, Diag> {
        let error = |msg: String| Diag::error(func.loc.clone(), format!("@{}: {msg}", func.name));
        if !func.results.is_empty() {
            return Err(error("returns values; a kernel function writes its outputs into buffer arguments (run lower-to-kernel first)".into()));
        }
        let args = func
            .arg_types()
            .into_iter()
            .enumerate()
            .map(|(i, t)| match t {
                Type::Buffer(b) => Ok(b),
                other => Err(error(format!("argument #{i} has type {other}; kernel functions take buffers"))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let allocs = func.walk().into_iter().filter(|&op| kernel::kind(func.op(op).def) == Some(KernelOp::Alloc));
        let alloc_types: Vec<TensorType> = allocs
            .filter_map(|op| match func.op(op).results.first().map(|&r| func.ty(r)) {
                Some(Type::Buffer(b)) => Some(b.clone()),
                _ => None,
            })
            .collect();
        let mut dims = Vec::new();
        for d in args.iter().chain(&alloc_types).flat_map(|t| &t.dims) {
            match d {
                Dim::Known(_) => {}
                Dim::Unknown => {
                    return Err(error("a buffer has a '?' dim; kernels need static or symbolic dims".into()))
                }
                Dim::Sym(_) if dims.contains(d) => {}
                Dim::Sym(_) => dims.push(d.clone()),
            }
        }
        Ok(Signature { args, dims })
    }

    /// The position of symbolic dim `d` among the dims a caller passes.
    pub(crate) fn slot(&self, d: &Dim) -> Option<usize> {
        self.dims.iter().position(|x| x == d)
    }
}
