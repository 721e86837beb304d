//! One call of a compiled model: the caller's arguments checked against
//! the model's interface, the entry point called, its status bits turned
//! into a message.

use super::{Model, ModelTensor};
use crate::buffer::byte_size;
use crate::check::{check_args, Dim, Role, Signature, TensorArg, TensorSpec, UNBOUND};
use crate::error::{RuntimeError, Status};
use std::ffi::c_void;

/// The tensors of one call, as the caller passes them.
pub enum Args<'a> {
    /// Data pointers only, with every symbol's value given
    /// (`NAME_run`): shapes follow from the model's signature.
    Pointers {
        /// One pointer per input.
        inputs: &'a [*const c_void],
        /// One pointer per output.
        outputs: &'a [*mut c_void],
        /// One value per symbol.
        symbols: &'a [i64],
    },
    /// Described tensors (`NAME_run_tensors`): dtypes and shapes are
    /// checked, symbols bound from the inputs' shapes.
    Tensors {
        /// One per input.
        inputs: &'a [TensorArg<'a>],
        /// One per output; the data is written.
        outputs: &'a [TensorArg<'a>],
    },
}

/// Checks `args` against `model` and runs it.
pub fn run(model: &Model, args: &Args<'_>) -> Result<(), RuntimeError> {
    let names: Vec<&str> = model.symbols.iter().map(|s| s.to_str().unwrap_or("?")).collect();
    let dims: Vec<Vec<Dim>> = model.inputs.iter().map(signature_dims).collect::<Result<_, _>>()?;
    let specs: Vec<TensorSpec> = model
        .inputs
        .iter()
        .zip(&dims)
        .map(|(t, d)| TensorSpec { name: t.name.to_str().unwrap_or("?"), role: Role::Input, dtype: t.dtype, dims: d })
        .collect();
    let sig = Signature { symbols: &names, tensors: &specs };
    let mut values = vec![UNBOUND; names.len()];
    let (input_args, input_ptrs): (Vec<TensorArg>, Vec<*const c_void>) = match args {
        Args::Pointers { inputs, symbols, .. } => {
            for (name, &v) in names.iter().zip(*symbols) {
                if v < 0 {
                    return Err(invalid(format!("symbol '{name}' must be >= 0, got {v}")));
                }
            }
            values.copy_from_slice(symbols);
            let args = model.inputs.iter().zip(*inputs).map(|(t, &p)| TensorArg { data: p, dtype: t.dtype, dims: None });
            (args.collect(), inputs.to_vec())
        }
        Args::Tensors { inputs, .. } => (inputs.to_vec(), inputs.iter().map(|a| a.data).collect()),
    };
    check_args(&sig, &input_args, &mut values)?;
    let mut buffers: Vec<*mut u8> = input_ptrs.iter().map(|&p| p.cast_mut().cast()).collect();
    let mut extents = Vec::new();
    for (i, t) in model.inputs.iter().enumerate() {
        extents.push((label(t, false), buffers[i] as usize, bytes(t, &values)?));
    }
    for (i, t) in model.outputs.iter().enumerate() {
        let (data, given) = match args {
            Args::Pointers { outputs, .. } => (outputs[i].cast_const(), None),
            Args::Tensors { outputs, .. } => (outputs[i].data, Some(&outputs[i])),
        };
        let size = output(t, given, data, &values)?;
        extents.push((label(t, true), data as usize, size));
        buffers.push(data.cast_mut().cast());
    }
    check_disjoint(&extents)?;
    let entry_dims = model
        .entry_dims
        .iter()
        .map(|p| p.eval(&values).ok_or_else(|| overflow("an intermediate size")))
        .collect::<Result<Vec<_>, _>>()?;
    // SAFETY: every buffer was checked above to hold its tensor at the
    // shapes the bound symbols give, none overlaps another, and the entry
    // dims are the descriptor's polynomials at those symbols: the calling
    // convention of the generated entry point.
    let status = unsafe { (model.entry)(buffers.as_ptr(), entry_dims.as_ptr()) };
    if status == 0 {
        return Ok(());
    }
    let reasons: Vec<String> = (0..super::STATUS_BITS)
        .filter(|k| status & (1 << k) != 0)
        .map(|k| match model.messages[k] {
            Some(m) => m.to_string_lossy().into_owned(),
            None => format!("status bit {k}"),
        })
        .collect();
    Err(RuntimeError::new(Status::Execution, reasons.join("; ")))
}

/// An input's dims as [`check_args`] takes them: static, or a symbol.
fn signature_dims(t: &ModelTensor) -> Result<Vec<Dim>, RuntimeError> {
    t.dims
        .iter()
        .map(|d| match (d.size.constant(), d.size.symbol()) {
            (Some(n), _) if n >= 0 => Ok(Dim::fixed(n as u64)),
            (_, Some(k)) => Ok(Dim::symbol(k)),
            _ => Err(RuntimeError::new(Status::Internal, "an input dim is neither static nor a symbol")),
        })
        .collect()
}

/// `input 'x'` / `output 'y'`.
fn label(t: &ModelTensor, output: bool) -> String {
    format!("{} '{}'", if output { "output" } else { "input" }, t.name.to_string_lossy())
}

fn invalid(message: String) -> RuntimeError {
    RuntimeError::new(Status::InvalidArgument, message)
}

fn overflow(what: &str) -> RuntimeError {
    RuntimeError::new(Status::SizeOverflow, format!("{what} does not fit in memory at these symbol values"))
}

/// The shape of `t` at the symbols' `values`.
fn shape(t: &ModelTensor, values: &[i64]) -> Result<Vec<i64>, RuntimeError> {
    t.dims
        .iter()
        .map(|d| d.size.eval(values).filter(|&n| n >= 0).ok_or_else(|| overflow(&format!("a dim of '{}'", t.name.to_string_lossy()))))
        .collect()
}

/// The size in bytes of `t` at the symbols' `values`.
fn bytes(t: &ModelTensor, values: &[i64]) -> Result<usize, RuntimeError> {
    let dims: Vec<usize> = shape(t, values)?.iter().map(|&n| n as usize).collect();
    byte_size(t.dtype, &dims)
}

/// Checks output `t` (as `given`, when the caller described it) and its
/// data pointer; returns its size in bytes.
fn output(t: &ModelTensor, given: Option<&TensorArg>, data: *const c_void, values: &[i64]) -> Result<usize, RuntimeError> {
    let what = label(t, true);
    let want = shape(t, values)?;
    if let Some(arg) = given {
        if arg.dtype != t.dtype {
            let msg = format!("{what}: dtype must be {}, got {}", t.dtype, arg.dtype);
            return Err(RuntimeError::new(Status::DTypeMismatch, msg));
        }
        let dims = arg.dims.unwrap_or(&want);
        if dims.len() != want.len() {
            let msg = format!("{what}: rank must be {}, got {}", want.len(), dims.len());
            return Err(RuntimeError::new(Status::RankMismatch, msg));
        }
        if let Some(axis) = (0..want.len()).find(|&a| dims[a] != want[a]) {
            let name = t.dims[axis].name.map(|n| format!(" ({})", n.to_string_lossy())).unwrap_or_default();
            let msg = format!("{what}: dim {axis}{name} must be {}, got {}", want[axis], dims[axis]);
            return Err(RuntimeError::new(Status::ShapeMismatch, msg));
        }
    }
    let size = bytes(t, values)?;
    if data.is_null() && size > 0 {
        return Err(RuntimeError::new(Status::NullArgument, format!("{what}: data pointer is null")));
    }
    if !(data as usize).is_multiple_of(t.dtype.size()) {
        return Err(invalid(format!("{what}: data pointer {data:p} is not aligned to {} bytes", t.dtype.size())));
    }
    Ok(size)
}

/// Checks that no output overlaps another tensor: generated code reads
/// its inputs while it writes its outputs.
fn check_disjoint(extents: &[(String, usize, usize)]) -> Result<(), RuntimeError> {
    for (i, (a, start_a, len_a)) in extents.iter().enumerate() {
        for (b, start_b, len_b) in &extents[i + 1..] {
            let overlap = *len_a > 0 && *len_b > 0 && start_a < &(start_b + len_b) && start_b < &(start_a + len_a);
            if overlap && b.starts_with("output") {
                return Err(invalid(format!("{b} overlaps {a}; outputs need memory of their own")));
            }
        }
    }
    Ok(())
}
