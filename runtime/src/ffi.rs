//! The C ABI: every `tessera_rt_*` symbol, declared for C in
//! `include/tessera_rt.h`.
//!
//! Rules every function here keeps:
//! - No panic crosses the boundary: each body runs under `catch_unwind`, and
//!   a caught panic becomes [`Status::Internal`] with the panic's message.
//! - Every pointer is checked for null before use; a null where one is not
//!   allowed is [`Status::NullArgument`] (or a null result), never a crash.
//! - A function that takes a context clears its last error on entry and
//!   records the error it fails with, so `tessera_rt_last_error` describes
//!   the last call through that context ("" after a success).
//! - Statuses are [`Status`] codes, returned as `int32_t`.
//!
//! The caller's part of the contract: pointers that are not null point to
//! what the header says they do, and one context is used by one thread at a
//! time.

use std::any::Any;
use std::ffi::{c_char, c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::{self, NonNull};

use crate::buffer::{raw_alloc, raw_free};
use crate::check::{check_args, Dim, Role, Signature, TensorArg, TensorSpec};
use crate::context::Context;
use crate::dtype::DType;
use crate::error::{RuntimeError, Status};
use crate::pool::{num_threads, parallel_for, set_num_threads, shutdown};

/// A loop body for `tessera_rt_parallel_for`: called with the caller's `env`
/// and one chunk `[begin, end)`, from several threads at once.
pub type ChunkFn = unsafe extern "C" fn(env: *mut c_void, begin: usize, end: usize);

/// `rank` value of a [`RawTensorArg`] whose shape is the signature's, with
/// the symbols' values (`TESSERA_RT_SHAPE_FROM_SIGNATURE`, `SIZE_MAX`).
pub const SHAPE_FROM_SIGNATURE: usize = usize::MAX;

/// C's `tessera_rt_tensor_spec`: what a model expects of one tensor.
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct RawTensorSpec {
    /// NUL-terminated UTF-8 name.
    pub name: *const c_char,
    /// [`Role`] code: 0 input, 1 output.
    pub role: i32,
    /// [`DType`] code.
    pub dtype: i32,
    /// Number of dims.
    pub rank: usize,
    /// `rank` dims encoded as [`Dim`]: `n >= 0` static, `-(k+1)` symbol `k`.
    /// May be null when `rank == 0`.
    pub dims: *const i64,
}

/// C's `tessera_rt_tensor_arg`: one tensor as the caller passes it.
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct RawTensorArg {
    /// The data; null only for an empty tensor.
    pub data: *const c_void,
    /// [`DType`] code of the data.
    pub dtype: i32,
    /// Number of dims, or [`SHAPE_FROM_SIGNATURE`].
    pub rank: usize,
    /// `rank` dims; ignored for [`SHAPE_FROM_SIGNATURE`], may be null when `rank == 0`.
    pub dims: *const i64,
}

/// The error for a caught panic.
fn panic_error(payload: Box<dyn Any + Send>) -> RuntimeError {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string());
    RuntimeError::new(
        Status::Internal,
        format!("internal error in tessera's runtime (please report): {what}"),
    )
}

/// Runs `f`, turning a panic into a [`Status::Internal`] error.
pub(crate) fn catch<T>(f: impl FnOnce() -> Result<T, RuntimeError>) -> Result<T, RuntimeError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| Err(panic_error(payload)))
}

/// The status code of `result`, recording its error in `cx`.
pub(crate) fn report(cx: Option<&mut Context>, result: Result<(), RuntimeError>) -> i32 {
    match result {
        Ok(()) => Status::Ok.code(),
        Err(e) => {
            if let Some(cx) = cx {
                cx.set_error(&e);
            }
            e.status.code()
        }
    }
}

/// The context behind `ctx`, its last error cleared; `None` if null.
///
/// # Safety
/// `ctx` is null or a live context used by no other thread.
pub(crate) unsafe fn enter<'a>(ctx: *mut Context) -> Option<&'a mut Context> {
    // SAFETY: per the contract.
    let cx = unsafe { ctx.as_mut() }?;
    cx.clear_error();
    Some(cx)
}

/// `n` elements at `ptr`; null is allowed only when `n == 0`.
///
/// # Safety
/// A non-null `ptr` points to `n` valid elements.
pub(crate) unsafe fn slice<'a, T>(
    ptr: *const T,
    n: usize,
    what: impl FnOnce() -> String,
) -> Result<&'a [T], RuntimeError> {
    if n == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(RuntimeError::new(
            Status::NullArgument,
            format!("{} is null", what()),
        ));
    }
    // SAFETY: per the contract.
    Ok(unsafe { std::slice::from_raw_parts(ptr, n) })
}

/// The UTF-8 string at `ptr`.
///
/// # Safety
/// A non-null `ptr` points to a NUL-terminated string.
pub(crate) unsafe fn string<'a>(
    ptr: *const c_char,
    what: impl FnOnce() -> String,
) -> Result<&'a str, RuntimeError> {
    if ptr.is_null() {
        return Err(RuntimeError::new(
            Status::NullArgument,
            format!("{} is null", what()),
        ));
    }
    // SAFETY: per the contract.
    unsafe { CStr::from_ptr(ptr) }
        .to_str()
        .map_err(|_| RuntimeError::new(Status::InvalidArgument, format!("{} is not UTF-8", what())))
}

/// The name of a status code, as a static NUL-terminated string ("shape
/// mismatch"); "unknown status" for a code that is not one.
#[no_mangle]
pub extern "C" fn tessera_rt_status_string(status: i32) -> *const c_char {
    Status::from_code(status)
        .map_or(c"unknown status", Status::describe)
        .as_ptr()
}

/// A new context, or null if it could not be made. Free it with
/// `tessera_rt_context_free`.
#[no_mangle]
pub extern "C" fn tessera_rt_context_new() -> *mut Context {
    catch(|| Ok(Box::into_raw(Box::new(Context::new())))).unwrap_or(ptr::null_mut())
}

/// Frees a context and its workspace; null is ignored.
///
/// # Safety
/// `ctx` is null or came from `tessera_rt_context_new`, was not freed, and
/// no other thread is using it.
#[no_mangle]
pub unsafe extern "C" fn tessera_rt_context_free(ctx: *mut Context) {
    if !ctx.is_null() {
        // SAFETY: per the contract. Dropping a context frees memory and cannot panic.
        drop(unsafe { Box::from_raw(ctx) });
    }
}

/// The message of the last error recorded in `ctx`: "" if the last call
/// through it succeeded, "null context" if `ctx` is null. Valid until the
/// next call that takes `ctx`.
///
/// # Safety
/// `ctx` is null or a live context used by no other thread.
#[no_mangle]
pub unsafe extern "C" fn tessera_rt_last_error(ctx: *const Context) -> *const c_char {
    // SAFETY: per the contract.
    match unsafe { ctx.as_ref() } {
        Some(cx) => cx.last_error().as_ptr(),
        None => c"null context".as_ptr(),
    }
}

/// Records an error in `ctx` (for generated code's own checks) and returns
/// `status`, so generated code can `return tessera_rt_set_error(...)`.
/// `message` null uses the status's description; `status` 0 clears the
/// error. An unknown status code records and returns an invalid-argument
/// error instead.
///
/// # Safety
/// `ctx` is null or a live context used by no other thread; `message` is
/// null or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn tessera_rt_set_error(
    ctx: *mut Context,
    status: i32,
    message: *const c_char,
) -> i32 {
    // SAFETY: per the contract.
    let Some(cx) = (unsafe { enter(ctx) }) else {
        return Status::NullArgument.code();
    };
    let result = catch(|| {
        let Some(st) = Status::from_code(status) else {
            return Err(RuntimeError::new(
                Status::InvalidArgument,
                format!("unknown status code {status}"),
            ));
        };
        if st == Status::Ok {
            return Ok(());
        }
        let text = if message.is_null() {
            st.to_string()
        } else {
            // SAFETY: per the contract.
            unsafe { CStr::from_ptr(message) }
                .to_string_lossy()
                .into_owned()
        };
        Err(RuntimeError::new(st, text))
    });
    report(Some(cx), result)
}

/// Allocates `size` bytes aligned to 64 (uninitialised); null on failure,
/// with the reason recorded in `ctx` when it is not null. Free with
/// `tessera_rt_free`. `ctx` may be null (inside a parallel chunk, say).
///
/// # Safety
/// `ctx` is null or a live context used by no other thread.
#[no_mangle]
pub unsafe extern "C" fn tessera_rt_alloc(ctx: *mut Context, size: usize) -> *mut c_void {
    // SAFETY: per the contract.
    let cx = unsafe { enter(ctx) };
    match catch(|| raw_alloc(size)) {
        Ok(p) => p.as_ptr().cast(),
        Err(e) => {
            report(cx, Err(e));
            ptr::null_mut()
        }
    }
}

/// Frees memory from `tessera_rt_alloc`; null is ignored.
///
/// # Safety
/// `ptr` is null or came from `tessera_rt_alloc` and was not freed.
#[no_mangle]
pub unsafe extern "C" fn tessera_rt_free(ptr: *mut c_void) {
    if let Some(p) = NonNull::new(ptr.cast::<u8>()) {
        // SAFETY: per the contract.
        unsafe { raw_free(p) }
    }
}

/// The context's workspace: at least `size` bytes aligned to 64, owned by
/// the context, reused across calls and grown (contents lost, new memory
/// zeroed) only when `size` exceeds it; valid until the next call of this
/// function or `tessera_rt_context_free`. Null on failure (the reason is in
/// `ctx`) or if `ctx` is null. Generated models plan their intermediates
/// into it.
///
/// # Safety
/// `ctx` is null or a live context used by no other thread.
#[no_mangle]
pub unsafe extern "C" fn tessera_rt_context_workspace(
    ctx: *mut Context,
    size: usize,
) -> *mut c_void {
    // SAFETY: per the contract.
    let Some(cx) = (unsafe { enter(ctx) }) else {
        return ptr::null_mut();
    };
    match catch(|| cx.workspace(size).map(|w| w.as_mut_ptr())) {
        Ok(p) => p.cast(),
        Err(e) => {
            cx.set_error(&e);
            ptr::null_mut()
        }
    }
}

/// The number of threads `tessera_rt_parallel_for` uses.
#[no_mangle]
pub extern "C" fn tessera_rt_num_threads() -> usize {
    catch(|| Ok(num_threads())).unwrap_or(1)
}

/// Sets the number of threads for `tessera_rt_parallel_for`, process-wide;
/// 0 returns to the default (`TESSERA_NUM_THREADS`, else the machine's
/// parallelism). Invalid argument if `n` is over 1024.
#[no_mangle]
pub extern "C" fn tessera_rt_set_num_threads(n: usize) -> i32 {
    report(None, catch(|| set_num_threads(n)))
}

/// Stops the thread pool and joins its threads, after running loops finish;
/// the next `tessera_rt_parallel_for` starts a new pool. Call it before
/// unloading (`dlclose`) a library that links the runtime, so no pool thread
/// outlives its code. Invalid argument if called from a pool thread.
#[no_mangle]
pub extern "C" fn tessera_rt_shutdown() -> i32 {
    report(None, catch(shutdown))
}

/// Pointer to the caller's environment, shared by the chunks of one loop.
struct Env(*mut c_void);

// SAFETY: the C caller promises that `body` may be called with `env` from
// several threads at once; the pointer itself is only passed along.
unsafe impl Sync for Env {}

impl Env {
    /// The pointer (a method, so closures capture the whole `Env`).
    fn get(&self) -> *mut c_void {
        self.0
    }
}

/// Calls `body(env, begin, end)` on contiguous chunks covering `[0, n)`, in
/// parallel on the runtime's thread pool, and returns when all are done.
/// Chunking: `min(n, 4 × threads)` ranges whose lengths differ by at most
/// one; nested calls (from inside a body) are safe. `n == 0` calls nothing.
/// Null argument if `body` is null.
///
/// # Safety
/// `body` may be called concurrently with `env` and must not unwind.
#[no_mangle]
pub unsafe extern "C" fn tessera_rt_parallel_for(
    n: usize,
    body: Option<ChunkFn>,
    env: *mut c_void,
) -> i32 {
    let Some(body) = body else {
        return Status::NullArgument.code();
    };
    let env = Env(env);
    report(
        None,
        catch(|| {
            parallel_for(n, |r| {
                // SAFETY: per the contract.
                unsafe { body(env.get(), r.start, r.end) }
            })
        }),
    )
}

/// Checks a `NAME_run` call's tensors against the model's signature (see
/// `check_args` in the Rust API): dtypes, ranks, static dims, symbolic dims
/// bound consistently, null and misaligned data, sizes that overflow.
/// `symbol_values` (in/out, `n_symbols` entries) holds given values or -1;
/// on success, every symbol's value. The message of a failure names the
/// tensor and dim: "input 'x': dim 1 must be 784, got 785".
///
/// # Safety
/// `ctx` is null or a live context used by no other thread; the arrays are
/// null or hold the counts given; every string is NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn tessera_rt_check_args(
    ctx: *mut Context,
    symbol_names: *const *const c_char,
    symbol_values: *mut i64,
    n_symbols: usize,
    specs: *const RawTensorSpec,
    args: *const RawTensorArg,
    n_tensors: usize,
) -> i32 {
    // SAFETY: per the contract.
    let Some(cx) = (unsafe { enter(ctx) }) else {
        return Status::NullArgument.code();
    };
    // SAFETY: per the contract.
    let result = catch(|| unsafe {
        check_args_raw(
            symbol_names,
            symbol_values,
            n_symbols,
            specs,
            args,
            n_tensors,
        )
    });
    report(Some(cx), result)
}

/// `tessera_rt_check_args` past the context: reads the C arrays into the
/// Rust types and runs [`check_args`].
///
/// # Safety
/// As for `tessera_rt_check_args`.
unsafe fn check_args_raw(
    symbol_names: *const *const c_char,
    symbol_values: *mut i64,
    n_symbols: usize,
    specs: *const RawTensorSpec,
    args: *const RawTensorArg,
    n_tensors: usize,
) -> Result<(), RuntimeError> {
    // SAFETY (every block below): the caller passes arrays of the counts
    // given and NUL-terminated strings; `slice` and `string` check for null.
    let names = unsafe { slice(symbol_names, n_symbols, || "symbol_names".into()) }?;
    let names = names
        .iter()
        .enumerate()
        .map(|(k, &p)| unsafe { string(p, || format!("symbol_names[{k}]")) })
        .collect::<Result<Vec<&str>, _>>()?;
    let values = if n_symbols == 0 {
        &mut [][..]
    } else if symbol_values.is_null() {
        return Err(RuntimeError::new(
            Status::NullArgument,
            "symbol_values is null",
        ));
    } else {
        unsafe { std::slice::from_raw_parts_mut(symbol_values, n_symbols) }
    };
    let raw_specs = unsafe { slice(specs, n_tensors, || "specs".into()) }?;
    let raw_args = unsafe { slice(args, n_tensors, || "args".into()) }?;
    let mut tensors = Vec::with_capacity(n_tensors);
    for (i, s) in raw_specs.iter().enumerate() {
        let name = unsafe { string(s.name, || format!("specs[{i}].name")) }?;
        let bad = |what: String| {
            RuntimeError::new(
                Status::InvalidArgument,
                format!("signature of '{name}': {what}"),
            )
        };
        let role =
            Role::from_code(s.role).ok_or_else(|| bad(format!("unknown role code {}", s.role)))?;
        let dtype = DType::from_code(s.dtype)
            .ok_or_else(|| bad(format!("unknown dtype code {}", s.dtype)))?;
        // `Dim` is a transparent i64.
        let dims = unsafe { slice(s.dims.cast::<Dim>(), s.rank, || format!("specs[{i}].dims")) }?;
        tensors.push(TensorSpec {
            name,
            role,
            dtype,
            dims,
        });
    }
    let mut tensor_args = Vec::with_capacity(n_tensors);
    for (spec, a) in tensors.iter().zip(raw_args) {
        let label = || format!("{} '{}'", spec.role.name(), spec.name);
        let dtype = DType::from_code(a.dtype).ok_or_else(|| {
            RuntimeError::new(
                Status::InvalidArgument,
                format!("{}: unknown dtype code {}", label(), a.dtype),
            )
        })?;
        let dims = match a.rank {
            SHAPE_FROM_SIGNATURE => None,
            rank => Some(unsafe { slice(a.dims, rank, || format!("{}: dims", label())) }?),
        };
        tensor_args.push(TensorArg {
            data: a.data,
            dtype,
            dims,
        });
    }
    check_args(
        &Signature {
            symbols: &names,
            tensors: &tensors,
        },
        &tensor_args,
        values,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_become_internal_errors() {
        let e = catch::<()>(|| panic!("kaboom {}", 7)).unwrap_err();
        assert_eq!(e.status, Status::Internal);
        assert!(e.message.ends_with("kaboom 7"), "{e}");
        let e = catch::<()>(|| std::panic::panic_any(42u8)).unwrap_err();
        assert!(e.message.ends_with("unknown panic"), "{e}");
    }

    #[test]
    fn raw_structs_have_the_c_layout() {
        // The header's structs: pointer, int32, int32, size_t, pointer / pointer, int32, size_t, pointer.
        assert_eq!(std::mem::size_of::<RawTensorSpec>(), 32);
        assert_eq!(std::mem::offset_of!(RawTensorSpec, rank), 16);
        assert_eq!(std::mem::size_of::<RawTensorArg>(), 32);
        assert_eq!(std::mem::offset_of!(RawTensorArg, rank), 16);
        assert_eq!(std::mem::offset_of!(RawTensorArg, dims), 24);
    }
}
