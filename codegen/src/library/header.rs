//! `NAME.h`: the plain C99 header of a generated library, documenting the
//! model it holds (inputs, outputs, symbols) and its training step if it
//! has one, and declaring every function of the API tables (`api.rs`).

use super::api::{symbol, Function, C, CONTEXT, ENTRY, PROCESS, TRAINING};
use super::interface::{dtype_code, Interface, TensorInfo};
use super::TrainingOptions;
use std::fmt::Write;
use tessera_runtime::{DType, Status};

/// The header of library `name` holding `entries` (prefix and interface;
/// the model first) and, if it has one, a training step with its layout;
/// `source` says where the model came from.
pub(crate) fn header(
    name: &str,
    source: &str,
    entries: &[(&str, &Interface)],
    training: Option<(&TrainingOptions, &Interface)>,
) -> String {
    let guard = format!("{}_H", name.to_ascii_uppercase());
    let mut h = String::new();
    let intro = [
        format!("/* {name}.h: the C interface of the model compiled from {} by tessera.", c_comment(source)),
        String::new(),
        format!("Build: cc app.c -I DIR -L DIR -l{name} -lm -lpthread -ldl"),
        "(libm, libpthread and libdl only; no C++ runtime.) The weights are inside".into(),
        "the library; nothing else is needed at run time.".into(),
        String::new(),
        "Tensors are row-major arrays in the caller's memory; dtype codes are".into(),
        "ONNX's TensorProto.DataType numbers (TESSERA_F32 ...). Every function".into(),
        "checks its arguments and returns an error code, with a message in the".into(),
        "context, rather than aborting. A context is used by one thread at a".into(),
        "time; threads with their own contexts may run the model at once.".into(),
        String::new(),
    ];
    for (i, line) in intro.iter().enumerate() {
        let lead = if i == 0 { "" } else { " * " };
        let _ = writeln!(h, "{}", format!("{lead}{line}").trim_end());
    }
    for (k, (prefix, interface)) in entries.iter().enumerate() {
        let run = symbol(name, prefix, "run");
        if k > 0 {
            h.push_str(" *\n");
            match training {
                Some((t, _)) if t.entry == *prefix => train_intro(&mut h, name, &run, t, interface),
                Some((t, _)) if t.forward.as_deref() == Some(*prefix) => forward_intro(&mut h, name, &run, t),
                _ => {
                    let _ = writeln!(h, " * {run}:");
                }
            }
        }
        describe(&mut h, "Inputs", &interface.inputs);
        describe(&mut h, "Outputs", &interface.outputs);
        if interface.symbols.is_empty() {
            h.push_str(" * Symbols: none (every shape is static).\n");
        } else {
            let names: Vec<String> = interface.symbols.iter().enumerate().map(|(k, s)| format!("{k}: {s}")).collect();
            let _ = writeln!(h, " * Symbols, in the order {run} takes their values: {}.", names.join(", "));
            h.push_str(" * A symbolic dim is reported as -1 by the *_dim functions, with its name.\n");
        }
    }
    let _ = write!(
        h,
        " */\n#ifndef {guard}\n#define {guard}\n\n#include <stddef.h>\n#include <stdint.h>\n\n\
         #ifdef __cplusplus\nextern \"C\" {{\n#endif\n\n"
    );
    shared_definitions(&mut h);
    let _ = write!(h, "/* A context: the last error of the calls made through it. */\ntypedef struct {name}_context {name}_context;\n\n");
    for (prefix, interface) in entries {
        let up = symbol(name, prefix, "").trim_end_matches('_').to_ascii_uppercase();
        let _ = write!(
            h,
            "#define {up}_NUM_INPUTS {}\n#define {up}_NUM_OUTPUTS {}\n#define {up}_NUM_SYMBOLS {}\n",
            interface.inputs.len(),
            interface.outputs.len(),
            interface.symbols.len(),
        );
    }
    h.push('\n');
    for f in CONTEXT {
        declare(&mut h, name, "", f, &[]);
    }
    for (prefix, _) in entries {
        for f in ENTRY {
            declare(&mut h, name, prefix, f, &[]);
        }
    }
    if let Some((t, _)) = training {
        let run = symbol(name, &t.entry, "run");
        for f in TRAINING {
            declare(&mut h, name, "", f, &[("NAME_train_step", &run)]);
        }
    }
    for f in PROCESS {
        declare(&mut h, name, "", f, &[]);
    }
    let _ = write!(h, "#ifdef __cplusplus\n}}\n#endif\n\n#endif /* {guard} */\n");
    h
}

/// How to train with the step `run` (its interface `step`).
fn train_intro(h: &mut String, name: &str, run: &str, t: &TrainingOptions, step: &Interface) {
    let state = &step.inputs[t.params.min(step.inputs.len())..(t.params + t.state).min(step.inputs.len())];
    let mut text = format!(
        "Training: {run} runs one training step ({}). Its inputs are the {} \
         parameters ({name}_param_*), the {} optimiser state tensors ({name}_state_*), then the \
         batch and the target; its outputs are the updated parameters, the updated state, then \
         the loss. Start the parameters from {name}_param_data(i) and the state from zeros. \
         Outputs may not overlap inputs: keep two sets of parameter and state buffers and swap \
         them after each step.",
        c_comment(&t.summary),
        t.params,
        t.state,
    );
    if state.iter().any(|s| s.name == "step") {
        text.push_str(" State \"step\" counts the steps done (the bias corrections of Adam read it).");
    }
    wrap(h, &text);
    let _ = writeln!(h, " * {run}:");
}

/// How to run the model with trained parameters through `run` (an entry
/// taking the step's parameters, then the model's inputs).
fn forward_intro(h: &mut String, name: &str, run: &str, t: &TrainingOptions) {
    let text = format!(
        "Inference with trained parameters: {run} runs the model like {name}_run (in \
         inference mode: batch normalisation reads its running statistics, no dropout), but \
         its inputs are the {} parameters ({name}_param_*, e.g. the first outputs of \
         {name}_{}) followed by the model's inputs.",
        t.params, t.entry,
    );
    wrap(h, &text);
    let _ = writeln!(h, " * {run}:");
}

/// `text` as comment lines of at most 78 characters.
fn wrap(h: &mut String, text: &str) {
    let mut line = String::from(" *");
    for word in text.split(' ') {
        if line.len() + word.len() + 1 > 78 {
            let _ = writeln!(h, "{line}");
            line = String::from(" *");
        }
        line.push(' ');
        line.push_str(word);
    }
    let _ = writeln!(h, "{line}");
}

/// ` *   0 "x": f32 [N, 784] (dtype 1)` for each tensor.
fn describe(h: &mut String, title: &str, tensors: &[TensorInfo]) {
    let _ = writeln!(h, " * {title}:");
    for (i, t) in tensors.iter().enumerate() {
        let dims: Vec<String> = t.dims.iter().map(ToString::to_string).collect();
        let _ = writeln!(h, " *   {i} \"{}\": {} [{}] (dtype {})", c_comment(&t.name), t.dtype, dims.join(", "), dtype_code(t.dtype));
    }
}

/// `s` safe inside a C comment.
fn c_comment(s: &str) -> String {
    s.replace("*/", "*\\/").replace(['\n', '\r'], " ")
}

/// The definitions every generated header shares (guarded, so several
/// headers can be included together): the tensor description, dtype and
/// status codes.
fn shared_definitions(h: &mut String) {
    h.push_str(
        "#ifndef TESSERA_GENERATED_COMMON\n#define TESSERA_GENERATED_COMMON\n\
         /* A tensor described for NAME_run_tensors. */\n\
         typedef struct tessera_tensor {\n\
         \x20   const void *data;    /* NULL only when it has no elements */\n\
         \x20   int32_t dtype;       /* TESSERA_F32, ... */\n\
         \x20   size_t rank;         /* or TESSERA_SHAPE_FROM_MODEL */\n\
         \x20   const int64_t *dims; /* rank entries */\n\
         } tessera_tensor;\n\
         #define TESSERA_SHAPE_FROM_MODEL SIZE_MAX\n\n",
    );
    for d in DType::ALL {
        let _ = writeln!(h, "#define TESSERA_{} {}", d.name().to_ascii_uppercase(), d.code());
    }
    h.push('\n');
    for s in Status::ALL {
        let id = if s == Status::Ok { "OK".to_string() } else { format!("ERR_{}", screaming(&format!("{s:?}"))) };
        let _ = writeln!(h, "#define TESSERA_{id} {} /* {s} */", s.code());
    }
    h.push_str("#endif /* TESSERA_GENERATED_COMMON */\n\n");
}

/// `NullArgument` as `NULL_ARGUMENT` (`DTypeMismatch` as `DTYPE_MISMATCH`).
fn screaming(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out.replace("D_TYPE", "DTYPE")
}

/// The C spelling of `c` in library `name`.
fn c_type(name: &str, c: C) -> String {
    match c {
        C::Void => "void".into(),
        C::I32 => "int32_t".into(),
        C::I64 => "int64_t".into(),
        C::Size => "size_t".into(),
        C::Context => format!("{name}_context *"),
        C::Str => "const char *".into(),
        C::Inputs => "const void *const *".into(),
        C::Outputs => "void *const *".into(),
        C::Symbols => "const int64_t *".into(),
        C::InTensors | C::OutTensors => "const tessera_tensor *".into(),
        C::Data => "const void *".into(),
    }
}

/// `/* doc */ ret NAME_suffix(params);` for function `f` of the entry
/// point with `prefix` (empty for library-wide functions), with the
/// documentation's `names` (from, to) replaced first.
fn declare(h: &mut String, name: &str, prefix: &str, f: &Function, names: &[(&str, &str)]) {
    let mut doc = f.doc.to_string();
    for (from, to) in names {
        doc = doc.replace(from, to);
    }
    let mut entry: Vec<&str> = ENTRY.iter().map(|e| e.suffix).collect();
    entry.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for suffix in entry {
        doc = doc.replace(&format!("ENTRY_{suffix}"), &symbol(name, prefix, suffix));
    }
    let doc = doc.replace("NAME", name);
    let params: Vec<String> = f
        .params
        .iter()
        .map(|&(c, p)| {
            let t = c_type(name, c);
            if t.ends_with('*') {
                format!("{t}{p}")
            } else {
                format!("{t} {p}")
            }
        })
        .collect();
    let params = if params.is_empty() { "void".to_string() } else { params.join(", ") };
    let ret = c_type(name, f.ret);
    let space = if ret.ends_with('*') { "" } else { " " };
    let _ = write!(h, "/* {doc} */\n{ret}{space}{}({params});\n\n", symbol(name, prefix, f.suffix));
}
