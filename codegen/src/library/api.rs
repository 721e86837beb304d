//! The C API of a generated library, declared once: each exported
//! `NAME_*` function with its C signature, its documentation, and the
//! `tessera_rt_*` function it forwards to. The LLVM emitter
//! (`descriptor.rs`) defines them from these tables and the header writer
//! (`header.rs`) declares them from them.
//!
//! [`CONTEXT`] and [`PROCESS`] are exported once per library. [`ENTRY`] is
//! exported once per entry point, under its prefix ([`symbol`]): the model
//! gives `NAME_run`, `NAME_num_inputs`...; a training step with prefix
//! `train_step` gives `NAME_train_step`, `NAME_train_step_num_inputs`...
//! [`TRAINING`] is exported by a library with a training step. In the
//! documentation, `NAME` stands for the library's name and `ENTRY_x` for
//! function `x` of the same entry point.

/// A C type of the API.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum C {
    /// `void` (results only).
    Void,
    /// `int32_t`.
    I32,
    /// `int64_t`.
    I64,
    /// `size_t`.
    Size,
    /// `NAME_context *`.
    Context,
    /// `const char *`.
    Str,
    /// `const void *const *`: one data pointer per input.
    Inputs,
    /// `void *const *`: one data pointer per output.
    Outputs,
    /// `const int64_t *`: one value per symbol.
    Symbols,
    /// `const tessera_tensor *`: described inputs.
    InTensors,
    /// `const tessera_tensor *`: described outputs.
    OutTensors,
    /// `const void *`: read-only data.
    Data,
}

/// What a forwarder passes before the caller's arguments.
#[derive(Copy, Clone, Debug)]
pub(crate) enum Lead {
    /// The entry point's model descriptor.
    Model,
    /// The table of the trained parameters' initial values.
    Params,
    /// The table of the optimiser state's sizes.
    State,
    /// An `int32_t` constant: a role (0 inputs, 1 outputs) or a count selector.
    I32(u64),
}

/// One exported function: `NAME_<suffix>(params)`, forwarding to
/// `target(lead..., params...)`.
pub(crate) struct Function {
    /// The name after `NAME_`.
    pub(crate) suffix: &'static str,
    /// The result type.
    pub(crate) ret: C,
    /// The parameters with their names.
    pub(crate) params: &'static [(C, &'static str)],
    /// The runtime function it forwards to.
    pub(crate) target: &'static str,
    /// What it passes first.
    pub(crate) lead: &'static [Lead],
    /// Its documentation, for the header.
    pub(crate) doc: &'static str,
}

const INPUTS: Lead = Lead::I32(0);
const OUTPUTS: Lead = Lead::I32(1);
const SYMBOLS: Lead = Lead::I32(2);
const M: Lead = Lead::Model;

/// The exported name of function `suffix` of the entry point with
/// `prefix` in library `lib` (for a library-wide function, `prefix` is
/// empty).
pub(crate) fn symbol(lib: &str, prefix: &str, suffix: &str) -> String {
    match (prefix, suffix) {
        ("", s) => format!("{lib}_{s}"),
        (p, "run") => format!("{lib}_{p}"),
        (p, s) => format!("{lib}_{p}_{s}"),
    }
}

/// The library-wide functions that come first: contexts and errors.
pub(crate) const CONTEXT: &[Function] = &[
    Function {
        suffix: "context_new",
        ret: C::Context,
        params: &[],
        target: "tessera_rt_context_new",
        lead: &[],
        doc: "A new context (the last error of the calls made through it), or NULL if\n * memory ran out. One thread uses a context at a time; threads with\n * contexts of their own run the model concurrently.",
    },
    Function {
        suffix: "context_free",
        ret: C::Void,
        params: &[(C::Context, "ctx")],
        target: "tessera_rt_context_free",
        lead: &[],
        doc: "Frees a context; NULL is ignored.",
    },
    Function {
        suffix: "last_error",
        ret: C::Str,
        params: &[(C::Context, "ctx")],
        target: "tessera_rt_last_error",
        lead: &[],
        doc: "The message of the last error of a call through ctx (\"\" after a\n * success); valid until the next call with ctx.",
    },
];

/// The functions of one entry point: its interface and running it.
pub(crate) const ENTRY: &[Function] = &[
    Function {
        suffix: "num_inputs",
        ret: C::Size,
        params: &[],
        target: "tessera_rt_model_count",
        lead: &[M, INPUTS],
        doc: "The number of inputs.",
    },
    Function {
        suffix: "num_outputs",
        ret: C::Size,
        params: &[],
        target: "tessera_rt_model_count",
        lead: &[M, OUTPUTS],
        doc: "The number of outputs.",
    },
    Function {
        suffix: "num_symbols",
        ret: C::Size,
        params: &[],
        target: "tessera_rt_model_count",
        lead: &[M, SYMBOLS],
        doc: "The number of symbolic dims (such as a batch size N) whose values a\n * call gives.",
    },
    Function {
        suffix: "symbol_name",
        ret: C::Str,
        params: &[(C::Size, "k")],
        target: "tessera_rt_model_symbol_name",
        lead: &[M],
        doc: "The name of symbol k, in the order ENTRY_run takes their values; NULL\n * if there is none.",
    },
    Function {
        suffix: "input_name",
        ret: C::Str,
        params: &[(C::Size, "i")],
        target: "tessera_rt_model_tensor_name",
        lead: &[M, INPUTS],
        doc: "The name of input i; NULL if there is none.",
    },
    Function {
        suffix: "input_dtype",
        ret: C::I32,
        params: &[(C::Size, "i")],
        target: "tessera_rt_model_tensor_dtype",
        lead: &[M, INPUTS],
        doc: "The dtype code of input i (TESSERA_F32, ...); 0 if there is none.",
    },
    Function {
        suffix: "input_rank",
        ret: C::I64,
        params: &[(C::Size, "i")],
        target: "tessera_rt_model_tensor_rank",
        lead: &[M, INPUTS],
        doc: "The rank of input i; -1 if there is none.",
    },
    Function {
        suffix: "input_dim",
        ret: C::I64,
        params: &[(C::Size, "i"), (C::Size, "axis")],
        target: "tessera_rt_model_tensor_dim",
        lead: &[M, INPUTS],
        doc: "Dim axis of input i: its size, -1 when it is symbolic (see\n * ENTRY_input_dim_name), -2 if there is none.",
    },
    Function {
        suffix: "input_dim_name",
        ret: C::Str,
        params: &[(C::Size, "i"), (C::Size, "axis")],
        target: "tessera_rt_model_tensor_dim_name",
        lead: &[M, INPUTS],
        doc: "The name of symbolic dim axis of input i (\"N\"); NULL when it is\n * static or there is none.",
    },
    Function {
        suffix: "output_name",
        ret: C::Str,
        params: &[(C::Size, "i")],
        target: "tessera_rt_model_tensor_name",
        lead: &[M, OUTPUTS],
        doc: "The name of output i; NULL if there is none.",
    },
    Function {
        suffix: "output_dtype",
        ret: C::I32,
        params: &[(C::Size, "i")],
        target: "tessera_rt_model_tensor_dtype",
        lead: &[M, OUTPUTS],
        doc: "The dtype code of output i; 0 if there is none.",
    },
    Function {
        suffix: "output_rank",
        ret: C::I64,
        params: &[(C::Size, "i")],
        target: "tessera_rt_model_tensor_rank",
        lead: &[M, OUTPUTS],
        doc: "The rank of output i; -1 if there is none.",
    },
    Function {
        suffix: "output_dim",
        ret: C::I64,
        params: &[(C::Size, "i"), (C::Size, "axis")],
        target: "tessera_rt_model_tensor_dim",
        lead: &[M, OUTPUTS],
        doc: "Dim axis of output i: its size, -1 when it is symbolic, -2 if there\n * is none.",
    },
    Function {
        suffix: "output_dim_name",
        ret: C::Str,
        params: &[(C::Size, "i"), (C::Size, "axis")],
        target: "tessera_rt_model_tensor_dim_name",
        lead: &[M, OUTPUTS],
        doc: "The name of symbolic dim axis of output i (\"N\", \"2*N\"); NULL when it\n * is static or there is none.",
    },
    Function {
        suffix: "run",
        ret: C::I32,
        params: &[(C::Context, "ctx"), (C::Inputs, "inputs"), (C::Outputs, "outputs"), (C::Symbols, "symbol_values")],
        target: "tessera_rt_model_run",
        lead: &[M],
        doc: "Runs the model. inputs and outputs hold one data pointer per input and\n * per output, in order, to caller-owned row-major memory; symbol_values\n * holds one value per symbol (NULL when there are none), which give every\n * shape. Returns TESSERA_OK, or an error code with the message in\n * NAME_last_error(ctx): a NULL pointer, a negative symbol, a size that\n * overflows, an output overlapping another tensor, or a failure while\n * running (TESSERA_ERR_EXECUTION: an integer division by zero, an index\n * out of range). Never aborts.",
    },
    Function {
        suffix: "run_tensors",
        ret: C::I32,
        params: &[(C::Context, "ctx"), (C::InTensors, "inputs"), (C::OutTensors, "outputs")],
        target: "tessera_rt_model_run_tensors",
        lead: &[M],
        doc: "Runs the model on described tensors: each dtype and shape is checked\n * against the model (\"input 'x': dim 1 must be 784, got 785\") and the\n * symbols are bound from the inputs' shapes. An entry whose rank is\n * TESSERA_SHAPE_FROM_MODEL takes the model's shape.",
    },
];

/// The functions of a library with a training step: the parameters'
/// initial values and the optimiser state's sizes.
pub(crate) const TRAINING: &[Function] = &[
    Function {
        suffix: "param_count",
        ret: C::Size,
        params: &[],
        target: "tessera_rt_table_count",
        lead: &[Lead::Params],
        doc: "The number of trained parameters: the first inputs (and outputs) of\n * NAME_train_step.",
    },
    Function {
        suffix: "param_name",
        ret: C::Str,
        params: &[(C::Size, "i")],
        target: "tessera_rt_table_name",
        lead: &[Lead::Params],
        doc: "The name of parameter i; NULL if there is none.",
    },
    Function {
        suffix: "param_size",
        ret: C::Size,
        params: &[(C::Size, "i")],
        target: "tessera_rt_table_size",
        lead: &[Lead::Params],
        doc: "The size in bytes of parameter i; 0 if there is none.",
    },
    Function {
        suffix: "param_data",
        ret: C::Data,
        params: &[(C::Size, "i")],
        target: "tessera_rt_table_data",
        lead: &[Lead::Params],
        doc: "The initial value of parameter i (NAME_param_size(i) bytes, read-only,\n * 64-byte aligned): copy it into the buffer the first step reads. NULL if\n * there is none.",
    },
    Function {
        suffix: "state_count",
        ret: C::Size,
        params: &[],
        target: "tessera_rt_table_count",
        lead: &[Lead::State],
        doc: "The number of optimiser state tensors: the inputs (and outputs) of\n * NAME_train_step after the parameters.",
    },
    Function {
        suffix: "state_name",
        ret: C::Str,
        params: &[(C::Size, "i")],
        target: "tessera_rt_table_name",
        lead: &[Lead::State],
        doc: "The name of state tensor i; NULL if there is none.",
    },
    Function {
        suffix: "state_size",
        ret: C::Size,
        params: &[(C::Size, "i")],
        target: "tessera_rt_table_size",
        lead: &[Lead::State],
        doc: "The size in bytes of state tensor i (which starts at zeros); 0 if\n * there is none.",
    },
];

/// The library-wide functions that come last: the process's threads.
pub(crate) const PROCESS: &[Function] = &[
    Function {
        suffix: "set_num_threads",
        ret: C::I32,
        params: &[(C::Size, "n")],
        target: "tessera_rt_set_num_threads",
        lead: &[],
        doc: "Sets the number of threads every model in the process uses; 0 returns\n * to the default (the TESSERA_NUM_THREADS environment variable, else one\n * per core).",
    },
    Function {
        suffix: "shutdown",
        ret: C::I32,
        params: &[],
        target: "tessera_rt_shutdown",
        lead: &[],
        doc: "Joins the thread pool's threads (a later run starts them again). Call\n * it before dlclose() of the library, and before exit when a leak checker\n * watches.",
    },
];
