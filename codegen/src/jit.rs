//! Compiling a module in-process and calling its kernels on host tensors.
//!
//! [`JitModule::compile`] translates every kernel function, optimises the
//! LLVM module for the host at O3, hands it to MCJIT, binds each parameter
//! global to a copy of the parameter's bytes, and keeps each entry point.
//! [`JitModule::run`] checks the inputs against the function's argument
//! types, binds the symbolic dims from their shapes, allocates the outputs
//! (64-byte aligned, zeroed), passes the symbolic dims' values, calls the
//! kernel, reports a nonzero status as an error, and reads the outputs back.
//! [`JitModule::run_bytes`] calls a kernel with given symbol values on the
//! caller's memory (buffers kept from call to call, as a training loop
//! does), with no copies.

use crate::abi::{self, Signature};
use crate::parallel::runtime_symbols;
use crate::target::Host;
use crate::translate::translate;
use inkwell::context::Context;
use inkwell::execution_engine::ExecutionEngine;
use inkwell::OptimizationLevel;
use std::time::{Duration, Instant};
use tessera_ir::tensor::Tensor;
use tessera_ir::verify::VerifiedModule;
use tessera_ir::bindings::Bindings;
use tessera_ir::{DenseAttr, Diag, Diags, Loc, TensorType};

self_cell::self_cell!(
    /// An LLVM context and the execution engine holding the machine code
    /// compiled in it (which borrows the context).
    struct Engine {
        owner: Context,
        #[covariant]
        dependent: ExecutionEngine,
    }
);

/// A generated entry point: `int32_t f(void *const *buffers, const int64_t *dims)`.
type KernelFn = unsafe extern "C" fn(*const *mut u8, *const i64) -> u32;

/// One compiled kernel function.
struct JitKernel {
    name: String,
    sig: Signature,
    loc: Loc,
    entry: KernelFn,
}

/// A module's kernel functions compiled to machine code for this CPU,
/// callable on host tensors. It stays on the thread that compiled it (the
/// LLVM objects it owns are not shared between threads).
pub struct JitModule {
    kernels: Vec<JitKernel>,
    /// Owns the machine code the entry points live in; never read.
    _engine: Engine,
    /// The memory the parameter globals are bound to; never read from Rust.
    _params: Vec<HostBuffer>,
    compile_time: Duration,
}

impl JitModule {
    /// Compiles every function of `module`, which must all be kernel
    /// functions (run `lower-to-kernel` first). Every function that cannot
    /// be translated is reported, each error naming its op.
    pub fn compile(module: &VerifiedModule) -> Result<JitModule, Diags> {
        let start = Instant::now();
        let host = Host::detect().map_err(|m| Diag::error(Loc::Unknown, m))?;
        let ir = module.module();
        let mut kernels = Vec::new();
        let mut params = Vec::new();
        let engine = Engine::try_new(Context::create(), |cx| -> Result<ExecutionEngine, Diags> {
            let llvm = |m: String| Diag::error(Loc::Unknown, m);
            let t = translate(cx, ir, host.simd())?;
            host.prepare(&t.module);
            // Optimisation may delete a parameter's global that nothing uses
            // any more (a weight packed at compile time): look them up by
            // name afterwards instead of holding on to the handles.
            let param_symbols: Vec<(String, String)> = t
                .params
                .iter()
                .map(|(name, g)| (name.clone(), g.get_name().to_string_lossy().into_owned()))
                .collect();
            host.optimize(&t.module).map_err(llvm)?;
            let engine = t
                .module
                .create_jit_execution_engine(OptimizationLevel::Aggressive)
                .map_err(|e| llvm(format!("LLVM JIT: {e}")))?;
            for (symbol, address) in runtime_symbols() {
                if let Some(f) = t.module.get_function(symbol) {
                    engine.add_global_mapping(&f, address);
                }
            }
            for (name, symbol) in &param_symbols {
                let Some(global) = t.module.get_global(symbol) else {
                    continue;
                };
                let p = ir.param(name).ok_or_else(|| llvm(format!("no parameter named @{name}")))?;
                let init = p.init.as_ref().ok_or_else(|| {
                    Diag::error(p.loc.clone(), format!("parameter @{name} has no value to compile in"))
                })?;
                let mut bytes = HostBuffer::from_bytes(init.bytes());
                engine.add_global_mapping(&global, bytes.as_mut_ptr() as usize);
                params.push(bytes);
            }
            for k in t.kernels {
                let addr = engine
                    .get_function_address(&k.symbol)
                    .map_err(|e| Diag::error(k.loc.clone(), format!("@{}: LLVM JIT: {e}", k.name)))?;
                // SAFETY: `k.symbol` names an entry point `translate` defined
                // with exactly the signature of `KernelFn`.
                let entry = unsafe { std::mem::transmute::<usize, KernelFn>(addr) };
                kernels.push(JitKernel { name: k.name, sig: k.sig, loc: k.loc, entry });
            }
            Ok(engine)
        })?;
        Ok(JitModule { kernels, _engine: engine, _params: params, compile_time: start.elapsed() })
    }

    /// How long [`JitModule::compile`] took: translation, optimisation and
    /// machine code generation.
    pub fn compile_time(&self) -> Duration {
        self.compile_time
    }

    /// Runs kernel function `name`: `inputs` bind its first arguments (their
    /// shapes bind its symbolic dims), every further argument is an output,
    /// allocated here with the shape its type gives, and returned in order.
    /// An integer division by zero, a failed allocation or a mismatched
    /// input is an error, never a crash.
    pub fn run(&self, name: &str, inputs: &[Tensor]) -> Result<Vec<Tensor>, Diag> {
        self.run_timed(name, inputs).map(|(outputs, _)| outputs)
    }

    /// [`JitModule::run`], also giving how long the generated code itself
    /// ran (without converting tensors to and from its buffers).
    pub fn run_timed(&self, name: &str, inputs: &[Tensor]) -> Result<(Vec<Tensor>, Duration), Diag> {
        let k = self.kernel(name)?;
        let fail = |msg: String| Diag::error(k.loc.clone(), format!("@{name}: {msg}"));
        let bindings = bind(&k.sig.args, inputs).map_err(fail)?;
        let mut buffers: Vec<HostBuffer> =
            inputs.iter().map(|t| HostBuffer::from_bytes(t.to_dense().bytes())).collect();
        let mut outputs = Vec::new();
        for (i, ty) in k.sig.args.iter().enumerate().skip(inputs.len()) {
            let shape = ty.dims.iter().map(|d| bindings.size(d)).collect::<Result<Vec<_>, _>>();
            let shape = shape.map_err(|e| fail(format!("output argument #{i}: {e}")))?;
            let bytes = shape.iter().product::<usize>() * ty.dtype.size_bytes();
            buffers.push(HostBuffer::zeroed(bytes));
            outputs.push(TensorType::of(&shape.iter().map(|&n| n as u64).collect::<Vec<_>>(), ty.dtype));
        }
        let dims = k.sig.dims.iter().map(|d| bindings.size(d).map(|n| n as i64)).collect::<Result<Vec<_>, _>>();
        let dims = dims.map_err(fail)?;
        let pointers: Vec<*mut u8> = buffers.iter_mut().map(HostBuffer::as_mut_ptr).collect();
        // SAFETY: `entry` follows the calling convention of the crate doc:
        // one pointer per argument, each to a buffer of the argument's type
        // at the shapes bound above (inputs checked by `bind`, outputs
        // allocated to size), and one value per symbolic dim of the
        // signature; the buffers do not overlap and outlive the call.
        let start = Instant::now();
        let status = unsafe { (k.entry)(pointers.as_ptr(), dims.as_ptr()) };
        let elapsed = start.elapsed();
        if status != 0 {
            return Err(fail(abi::describe(status)));
        }
        let results = buffers.split_off(inputs.len());
        let tensors = results
            .iter()
            .zip(outputs)
            .map(|(b, ty)| DenseAttr::from_bytes(ty, b.bytes().into()).map(|d| Tensor::from(&d)).map_err(fail))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((tensors, elapsed))
    }

    /// Runs kernel function `name` on the caller's memory without copying,
    /// its symbolic dims taking their values from `symbols`: `inputs` and
    /// `outputs` hold one slice per argument, in order, each exactly its
    /// type's size in bytes and aligned to its element size (the borrows
    /// keep outputs apart from every other argument). Returns how long the
    /// generated code ran.
    pub fn run_bytes(&self, name: &str, inputs: &[&[u8]], outputs: &mut [&mut [u8]], symbols: &Bindings) -> Result<Duration, Diag> {
        let k = self.kernel(name)?;
        let fail = |msg: String| Diag::error(k.loc.clone(), format!("@{name}: {msg}"));
        if inputs.len() + outputs.len() != k.sig.args.len() {
            let n = k.sig.args.len();
            return Err(fail(format!("takes {n} buffer(s), got {} input(s) and {} output(s)", inputs.len(), outputs.len())));
        }
        let mut pointers: Vec<*mut u8> = inputs.iter().map(|b| b.as_ptr().cast_mut()).collect();
        pointers.extend(outputs.iter_mut().map(|b| b.as_mut_ptr()));
        let lengths = inputs.iter().map(|b| b.len()).chain(outputs.iter().map(|b| b.len()));
        for (i, ((ty, len), &p)) in k.sig.args.iter().zip(lengths).zip(&pointers).enumerate() {
            let shape = ty.dims.iter().map(|d| symbols.size(d)).collect::<Result<Vec<_>, _>>().map_err(&fail)?;
            let bytes = shape.iter().product::<usize>() * ty.dtype.size_bytes();
            if len != bytes || !(p as usize).is_multiple_of(ty.dtype.size_bytes()) {
                return Err(fail(format!("argument #{i} ({ty}) needs {bytes} bytes aligned to its element, got {len} at {p:p}")));
            }
        }
        let dims = k.sig.dims.iter().map(|d| symbols.size(d).map(|n| n as i64)).collect::<Result<Vec<_>, _>>();
        let dims = dims.map_err(fail)?;
        // SAFETY: as in `run_timed`: one pointer per argument, each to
        // memory of exactly its type's size at these symbols (checked
        // above), the outputs exclusively borrowed, and every dim's value.
        let start = Instant::now();
        let status = unsafe { (k.entry)(pointers.as_ptr(), dims.as_ptr()) };
        let elapsed = start.elapsed();
        match status {
            0 => Ok(elapsed),
            s => Err(fail(abi::describe(s))),
        }
    }

    /// The kernel function `name`.
    fn kernel(&self, name: &str) -> Result<&JitKernel, Diag> {
        self.kernels.iter().find(|k| k.name == name).ok_or_else(|| Diag::error(Loc::Unknown, format!("no function named @{name}")))
    }
}

/// Binds the symbols of a kernel's buffer arguments from its inputs.
fn bind(args: &[TensorType], inputs: &[Tensor]) -> Result<Bindings, String> {
    if inputs.len() > args.len() {
        return Err(format!("takes {} buffer(s), got {} input(s)", args.len(), inputs.len()));
    }
    Bindings::from_inputs(args, inputs, |i| tessera_ir::Type::Buffer(args[i].clone()).to_string())
}

/// One cache line of host memory.
#[derive(Copy, Clone)]
#[repr(C, align(64))]
struct Line([u8; 64]);

/// Zeroed host memory aligned to 64 bytes (a cache line, and the widest
/// vector), holding one buffer's elements as the kernels read them.
struct HostBuffer {
    lines: Vec<Line>,
    /// The number of bytes in use (at most the lines' size).
    len: usize,
}

impl HostBuffer {
    /// `len` zero bytes.
    fn zeroed(len: usize) -> HostBuffer {
        HostBuffer { lines: vec![Line([0; 64]); len.div_ceil(64)], len }
    }

    /// A copy of `bytes`.
    fn from_bytes(bytes: &[u8]) -> HostBuffer {
        let mut b = HostBuffer::zeroed(bytes.len());
        b.bytes_mut().copy_from_slice(bytes);
        b
    }

    /// The bytes in use.
    fn bytes(&self) -> &[u8] {
        // SAFETY: the lines hold `64 * lines.len() >= len` initialised bytes
        // in one allocation owned by `self`.
        unsafe { std::slice::from_raw_parts(self.lines.as_ptr().cast::<u8>(), self.len) }
    }

    /// The bytes in use, writable.
    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`, and `&mut self` makes the borrow unique.
        unsafe { std::slice::from_raw_parts_mut(self.lines.as_mut_ptr().cast::<u8>(), self.len) }
    }

    /// The start of the memory, for generated code.
    fn as_mut_ptr(&mut self) -> *mut u8 {
        self.lines.as_mut_ptr().cast::<u8>()
    }
}
