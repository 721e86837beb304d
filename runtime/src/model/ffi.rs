//! The C ABI of compiled models, `tessera_rt_model_*`: what a generated
//! library's `NAME_*` functions forward to, with their descriptor as the
//! first argument. Declared in `include/tessera_rt.h`; the rules of
//! [`crate::ffi`] hold (no unwinding, every pointer checked, errors in the
//! context).

use super::run::{run, Args};
use super::{Model, ModelDim, ModelTensor, RawModel, RawTable, RawTableEntry};
use crate::check::TensorArg;
use crate::context::Context;
use crate::dtype::DType;
use crate::error::{RuntimeError, Status};
use crate::ffi::{catch, enter, report, slice, RawTensorArg, SHAPE_FROM_SIGNATURE};
use std::ffi::{c_char, c_void};
use std::ptr;
use std::sync::Arc;

/// `what`: 0 the inputs, 1 the outputs, 2 the symbols.
const COUNT_OUTPUTS: i32 = 1;
const COUNT_SYMBOLS: i32 = 2;

/// The decoded model, or `None` (a null or corrupt descriptor).
///
/// # Safety
/// `model` is null or a descriptor emitted by tessera.
unsafe fn decoded(model: *const RawModel) -> Option<Arc<Model>> {
    // SAFETY: per the contract.
    catch(|| unsafe { Model::of(model) }).ok()
}

/// Tensor `i` of the inputs (`role` 0) or outputs (`role` 1).
fn tensor(m: &Model, role: i32, i: usize) -> Option<&ModelTensor> {
    match role {
        0 | 1 => m.tensors(role == 1).get(i),
        _ => None,
    }
}

/// Dim `axis` of tensor `i` of `role`.
fn dim(m: &Model, role: i32, i: usize, axis: usize) -> Option<&ModelDim> {
    tensor(m, role, i)?.dims.get(axis)
}

/// How many inputs (`what` 0), outputs (1) or symbols (2) the model has;
/// 0 for a null descriptor or another `what`.
///
/// # Safety
/// `model` is null or a descriptor emitted by tessera.
#[no_mangle]
pub unsafe extern "C" fn tessera_rt_model_count(model: *const RawModel, what: i32) -> usize {
    // SAFETY: per the contract.
    let Some(m) = (unsafe { decoded(model) }) else { return 0 };
    match what {
        0 => m.inputs.len(),
        COUNT_OUTPUTS => m.outputs.len(),
        COUNT_SYMBOLS => m.symbols.len(),
        _ => 0,
    }
}

/// The name of input (`role` 0) or output (`role` 1) `i`; null if there
/// is none.
///
/// # Safety
/// `model` is null or a descriptor emitted by tessera.
#[no_mangle]
pub unsafe extern "C" fn tessera_rt_model_tensor_name(model: *const RawModel, role: i32, i: usize) -> *const c_char {
    // SAFETY: per the contract.
    let m = unsafe { decoded(model) };
    m.as_deref().and_then(|m| tensor(m, role, i)).map_or(ptr::null(), |t| t.name.as_ptr())
}

/// The dtype code of input or output `i`; 0 if there is none.
///
/// # Safety
/// `model` is null or a descriptor emitted by tessera.
#[no_mangle]
pub unsafe extern "C" fn tessera_rt_model_tensor_dtype(model: *const RawModel, role: i32, i: usize) -> i32 {
    // SAFETY: per the contract.
    let m = unsafe { decoded(model) };
    m.as_deref().and_then(|m| tensor(m, role, i)).map_or(0, |t| t.dtype.code())
}

/// The rank of input or output `i`; -1 if there is none.
///
/// # Safety
/// `model` is null or a descriptor emitted by tessera.
#[no_mangle]
pub unsafe extern "C" fn tessera_rt_model_tensor_rank(model: *const RawModel, role: i32, i: usize) -> i64 {
    // SAFETY: per the contract.
    let m = unsafe { decoded(model) };
    m.as_deref().and_then(|m| tensor(m, role, i)).map_or(-1, |t| t.dims.len() as i64)
}

/// Dim `axis` of input or output `i`: its size when static, -1 when
/// symbolic (its name: `tessera_rt_model_tensor_dim_name`), -2 if there is
/// no such dim.
///
/// # Safety
/// `model` is null or a descriptor emitted by tessera.
#[no_mangle]
pub unsafe extern "C" fn tessera_rt_model_tensor_dim(model: *const RawModel, role: i32, i: usize, axis: usize) -> i64 {
    // SAFETY: per the contract.
    let m = unsafe { decoded(model) };
    m.as_deref().and_then(|m| dim(m, role, i, axis)).map_or(-2, |d| d.size.constant().unwrap_or(-1))
}

/// The name of symbolic dim `axis` of input or output `i` (`N`, `2*N`);
/// null when the dim is static or there is none.
///
/// # Safety
/// `model` is null or a descriptor emitted by tessera.
#[no_mangle]
pub unsafe extern "C" fn tessera_rt_model_tensor_dim_name(
    model: *const RawModel,
    role: i32,
    i: usize,
    axis: usize,
) -> *const c_char {
    // SAFETY: per the contract.
    let m = unsafe { decoded(model) };
    m.as_deref().and_then(|m| dim(m, role, i, axis)?.name).map_or(ptr::null(), |n| n.as_ptr())
}

/// The name of symbol `k`, in the order `tessera_rt_model_run` takes their
/// values; null if there is none.
///
/// # Safety
/// `model` is null or a descriptor emitted by tessera.
#[no_mangle]
pub unsafe extern "C" fn tessera_rt_model_symbol_name(model: *const RawModel, k: usize) -> *const c_char {
    // SAFETY: per the contract.
    let m = unsafe { decoded(model) };
    m.as_deref().and_then(|m| m.symbols.get(k)).map_or(ptr::null(), |s| s.as_ptr())
}

/// Entry `i` of `table`, if both exist.
///
/// # Safety
/// `table` is null or a table emitted by tessera.
unsafe fn table_entry(table: *const RawTable, i: usize) -> Option<&'static RawTableEntry> {
    // SAFETY: per the contract: null, or a table in static memory.
    let t = unsafe { table.as_ref() }?;
    if i >= t.count || t.entries.is_null() {
        return None;
    }
    // SAFETY: a table emitted by tessera holds `count` entries in static memory.
    Some(unsafe { &*t.entries.add(i) })
}

/// How many entries `table` has; 0 for null.
///
/// # Safety
/// `table` is null or a table emitted by tessera.
#[no_mangle]
pub unsafe extern "C" fn tessera_rt_table_count(table: *const RawTable) -> usize {
    // SAFETY: per the contract.
    unsafe { table.as_ref() }.map_or(0, |t| t.count)
}

/// The name of entry `i` of `table`; null if there is none.
///
/// # Safety
/// `table` is null or a table emitted by tessera.
#[no_mangle]
pub unsafe extern "C" fn tessera_rt_table_name(table: *const RawTable, i: usize) -> *const c_char {
    // SAFETY: per the contract.
    unsafe { table_entry(table, i) }.map_or(ptr::null(), |e| e.name)
}

/// The size in bytes of entry `i` of `table`; 0 if there is none.
///
/// # Safety
/// `table` is null or a table emitted by tessera.
#[no_mangle]
pub unsafe extern "C" fn tessera_rt_table_size(table: *const RawTable, i: usize) -> usize {
    // SAFETY: per the contract.
    unsafe { table_entry(table, i) }.map_or(0, |e| e.size)
}

/// The initial bytes of entry `i` of `table` (read-only); null if there is
/// none or it starts at zeros.
///
/// # Safety
/// `table` is null or a table emitted by tessera.
#[no_mangle]
pub unsafe extern "C" fn tessera_rt_table_data(table: *const RawTable, i: usize) -> *const c_void {
    // SAFETY: per the contract.
    unsafe { table_entry(table, i) }.map_or(ptr::null(), |e| e.data.cast())
}

/// Runs the model on caller-owned buffers: `inputs` and `outputs` hold one
/// data pointer per input and output, `symbol_values` one value per symbol
/// (null when it has none). Shapes follow from the symbols' values.
///
/// # Safety
/// `ctx` is null or a live context used by no other thread; `model` is
/// null or a descriptor emitted by tessera; the arrays are null or hold
/// the model's counts; each data pointer is null or points to memory
/// holding its tensor at the given symbol values.
#[no_mangle]
pub unsafe extern "C" fn tessera_rt_model_run(
    model: *const RawModel,
    ctx: *mut Context,
    inputs: *const *const c_void,
    outputs: *const *mut c_void,
    symbol_values: *const i64,
) -> i32 {
    // SAFETY: per the contract.
    let Some(cx) = (unsafe { enter(ctx) }) else {
        return Status::NullArgument.code();
    };
    // SAFETY (the block): per the contract; `slice` checks for null.
    let result = catch(|| unsafe {
        let m = Model::of(model)?;
        let inputs = slice(inputs, m.inputs.len(), || "inputs".into())?;
        let outputs = slice(outputs, m.outputs.len(), || "outputs".into())?;
        let symbols = slice(symbol_values, m.symbols.len(), || "symbol_values".into())?;
        run(&m, &Args::Pointers { inputs, outputs, symbols })
    });
    report(Some(cx), result)
}

/// Runs the model on described tensors (data, dtype, rank, dims), checking
/// every dtype and shape and binding the symbols from the inputs' shapes.
/// An entry of rank `TESSERA_RT_SHAPE_FROM_SIGNATURE` takes its shape from
/// the model.
///
/// # Safety
/// As for `tessera_rt_model_run`, with `inputs` and `outputs` arrays of
/// `tessera_rt_tensor_arg` whose dims arrays hold their ranks.
#[no_mangle]
pub unsafe extern "C" fn tessera_rt_model_run_tensors(
    model: *const RawModel,
    ctx: *mut Context,
    inputs: *const RawTensorArg,
    outputs: *const RawTensorArg,
) -> i32 {
    // SAFETY: per the contract.
    let Some(cx) = (unsafe { enter(ctx) }) else {
        return Status::NullArgument.code();
    };
    // SAFETY (the block): per the contract; `slice` checks for null.
    let result = catch(|| unsafe {
        let m = Model::of(model)?;
        let inputs = tensor_args(slice(inputs, m.inputs.len(), || "inputs".into())?, "input")?;
        let outputs = tensor_args(slice(outputs, m.outputs.len(), || "outputs".into())?, "output")?;
        run(&m, &Args::Tensors { inputs: &inputs, outputs: &outputs })
    });
    report(Some(cx), result)
}

/// The caller's tensors read into [`TensorArg`]s.
///
/// # Safety
/// Each dims pointer is null or holds its rank.
unsafe fn tensor_args<'a>(raw: &'a [RawTensorArg], role: &str) -> Result<Vec<TensorArg<'a>>, RuntimeError> {
    raw.iter()
        .enumerate()
        .map(|(i, a)| {
            let dtype = DType::from_code(a.dtype).ok_or_else(|| {
                RuntimeError::new(Status::InvalidArgument, format!("{role} #{i}: unknown dtype code {}", a.dtype))
            })?;
            let dims = if a.rank == SHAPE_FROM_SIGNATURE {
                None
            } else {
                // SAFETY: per the contract.
                Some(unsafe { slice(a.dims, a.rank, || format!("{role} #{i}: dims")) }?)
            };
            Ok(TensorArg { data: a.data, dtype, dims })
        })
        .collect()
}
