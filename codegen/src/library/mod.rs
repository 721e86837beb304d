//! Ahead-of-time compilation: a model's kernel functions (the model, and
//! optionally its training step) packaged as a C library — `libNAME.so`,
//! `libNAME.a` and `NAME.h` — with the weights embedded as read-only data
//! and the runtime linked in.
//!
//! [`Library::compile`] translates the module as the JIT does, then:
//! - every parameter global gets its value as a constant initialiser (64-byte
//!   aligned), and every kernel symbol becomes internal;
//! - each entry point's descriptor and the `NAME_*` functions of the API
//!   tables (`api.rs`) are added (`descriptor.rs`) — with a training step,
//!   also the tables of its parameters' initial values (the embedded
//!   weights themselves) and its optimiser state's sizes — so the only
//!   symbols the object exports start with `NAME_`;
//! - LLVM optimises it at O3 for the target CPU (`x86-64-v3` unless asked
//!   otherwise) and writes position-independent machine code.
//!
//! [`Library::write`] links it with the runtime's static library
//! (`link.rs`) and writes the header (`header.rs`). Nothing is written
//! unless everything succeeded: the files are made under temporary names
//! and renamed into place at the end.

mod api;
mod descriptor;
mod header;
mod interface;
mod link;

pub use interface::dtype_code;
pub use link::{runtime_library, shared as link_shared};

use crate::abi::Signature;
use crate::target::Host;
use crate::translate::{translate, Translated};
use inkwell::context::Context;
use inkwell::module::Linkage;
use descriptor::TableEntry;
use inkwell::targets::FileType;
use inkwell::values::GlobalValue;
use interface::Interface;
use std::path::{Path, PathBuf};
use tessera_ir::verify::VerifiedModule;
use tessera_ir::{Diag, Diags, Loc};

/// What to compile and how.
#[derive(Clone, Debug)]
pub struct LibraryOptions {
    /// The library's name: the prefix of every exported symbol and of its
    /// files (a C identifier).
    pub name: String,
    /// The functions it exports, each with its own descriptor and query
    /// functions: the model first (prefix ""), then any others.
    pub entries: Vec<EntryOptions>,
    /// The tables of a training step among the entries, if there is one.
    pub training: Option<TrainingOptions>,
    /// The CPU to generate code for (`x86-64-v3`, `native`, `skylake`...).
    pub target_cpu: String,
    /// Where the model came from, for the header's first line.
    pub source: String,
    /// Whether to keep the assembly text too (for `--emit asm`).
    pub assembly: bool,
}

/// One exported entry point: a kernel function with named inputs and
/// outputs.
#[derive(Clone, Debug)]
pub struct EntryOptions {
    /// What its exported names start with after `NAME_`: empty for the
    /// model (`NAME_run`, `NAME_num_inputs`...), or a C identifier
    /// (`train_step`: `NAME_train_step`, `NAME_train_step_num_inputs`...).
    pub prefix: String,
    /// The kernel function.
    pub function: String,
    /// Its input names, in argument order.
    pub inputs: Vec<String>,
    /// Its output names, in order.
    pub outputs: Vec<String>,
}

/// The layout of a training step's arguments, for the `NAME_param_*` and
/// `NAME_state_*` functions.
#[derive(Clone, Debug)]
pub struct TrainingOptions {
    /// The prefix of the training step's entry.
    pub entry: String,
    /// How many of its first inputs are parameters: module parameters
    /// of those names, whose initial values the library exports.
    pub params: usize,
    /// How many inputs after them are optimiser state (zero at the start).
    pub state: usize,
    /// What the step does, for the header ("cross-entropy loss, SGD ...").
    pub summary: String,
    /// The prefix of an entry running the model in inference mode with the
    /// same parameters as its first inputs (`forward`), if there is one.
    pub forward: Option<String>,
}

/// A model compiled to machine code, ready to be written as a library.
pub struct Library {
    name: String,
    object: Vec<u8>,
    header: String,
    llvm_ir: String,
    assembly: Option<String>,
    exported: Vec<String>,
}

impl Library {
    /// Compiles the entry points `options.entries` of `module` (all kernel
    /// functions; run `lower-to-kernel` first).
    pub fn compile(module: &VerifiedModule, options: &LibraryOptions) -> Result<Library, Diags> {
        let o = options;
        let unlocated = |m: String| Diags(vec![Diag::error(Loc::Unknown, m)]);
        if !is_c_identifier(&o.name) {
            return Err(unlocated(format!("library name '{}' is not a C identifier ([A-Za-z_][A-Za-z0-9_]*)", o.name)));
        }
        if o.name.starts_with("tessera_rt") {
            return Err(unlocated(format!("library name '{}' is reserved: tessera_rt_* are the runtime's symbols", o.name)));
        }
        let prefixes: Vec<&str> = o.entries.iter().map(|e| e.prefix.as_str()).collect();
        let exported = descriptor::exported(&o.name, &prefixes, o.training.is_some());
        check_names(&o.entries, &exported).map_err(unlocated)?;
        let ir = module.module();
        let mut interfaces = Vec::new();
        for e in &o.entries {
            let func = ir.func(&e.function).ok_or_else(|| unlocated(format!("no function named @{}", e.function)))?;
            let sig = Signature::of(func).map_err(|d| Diags(vec![d]))?;
            interfaces.push(Interface::of(func, &sig, &e.inputs, &e.outputs).map_err(|d| Diags(vec![d]))?);
        }
        let target = Host::for_cpu(&o.target_cpu).map_err(unlocated)?;
        let cx = Context::create();
        let t = translate(&cx, ir, target.simd())?;
        let mut embedded = embed_params(&cx, &t, ir)?;
        let mut entries = Vec::new();
        for e in &o.entries {
            let symbol = t.kernels.iter().find(|k| k.name == e.function).map(|k| k.symbol.clone());
            let f = symbol.and_then(|s| t.module.get_function(&s));
            entries.push(f.ok_or_else(|| unlocated(format!("@{} was not translated", e.function)))?);
        }
        for k in &t.kernels {
            if let Some(f) = t.module.get_function(&k.symbol) {
                f.set_linkage(Linkage::Internal);
            }
        }
        descriptor::emit_library(&cx, &t.module, &o.name).map_err(unlocated)?;
        for ((e, interface), entry) in o.entries.iter().zip(&interfaces).zip(entries) {
            descriptor::emit_entry(&cx, &t.module, &o.name, &e.prefix, interface, entry).map_err(unlocated)?;
        }
        let training = match &o.training {
            Some(training) => {
                let at = o.entries.iter().position(|e| e.prefix == training.entry);
                let interface = at.map(|i| &interfaces[i]).ok_or_else(|| unlocated(format!("no entry point '{}' to train with", training.entry)))?;
                let (params, state) = tables(&cx, &t, ir, &mut embedded, training, interface).map_err(|d| Diags(vec![d]))?;
                descriptor::emit_training(&cx, &t.module, &o.name, &params, &state).map_err(unlocated)?;
                Some((training, interface))
            }
            None => None,
        };
        target.prepare(&t.module);
        t.module.verify().map_err(|e| unlocated(format!("LLVM rejected the generated module: {e}")))?;
        target.optimize(&t.module).map_err(unlocated)?;
        let object = target.emit(&t.module, FileType::Object).map_err(unlocated)?;
        let assembly = match o.assembly {
            true => Some(target.emit(&t.module, FileType::Assembly).map_err(unlocated)?),
            false => None,
        };
        let described: Vec<(&str, &Interface)> = prefixes.iter().copied().zip(&interfaces).collect();
        Ok(Library {
            name: o.name.clone(),
            object,
            header: header::header(&o.name, &o.source, &described, training),
            llvm_ir: t.module.print_to_string().to_string(),
            assembly: assembly.map(|a| String::from_utf8_lossy(&a).into_owned()),
            exported,
        })
    }

    /// The library's C header.
    pub fn header(&self) -> &str {
        &self.header
    }

    /// The optimised LLVM IR of the model.
    pub fn llvm_ir(&self) -> &str {
        &self.llvm_ir
    }

    /// The model's machine code as assembly, when the options asked for it.
    pub fn assembly(&self) -> Option<&str> {
        self.assembly.as_deref()
    }

    /// The model's machine code as a relocatable object (ELF).
    pub fn object(&self) -> &[u8] {
        &self.object
    }

    /// The names of the functions the library exports.
    pub fn exported_functions(&self) -> &[String] {
        &self.exported
    }

    /// Writes `dir/libNAME.so`, `dir/libNAME.a` and `dir/NAME.h` (creating
    /// `dir`), linking in the runtime's static library `runtime`; returns
    /// the paths written. On failure nothing in `dir` is replaced.
    pub fn write(&self, dir: &Path, runtime: &Path) -> Result<Vec<PathBuf>, String> {
        let io = |what: &Path, e: std::io::Error| format!("cannot write {}: {e}", what.display());
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let scratch = dir.join(format!(".{}.tessera-build-{}", self.name, std::process::id()));
        std::fs::create_dir_all(&scratch).map_err(|e| io(&scratch, e))?;
        let result = self.write_in(dir, &scratch, runtime);
        let _ = std::fs::remove_dir_all(&scratch);
        result
    }

    /// [`Library::write`] with its scratch folder made.
    fn write_in(&self, dir: &Path, scratch: &Path, runtime: &Path) -> Result<Vec<PathBuf>, String> {
        let io = |what: &Path, e: std::io::Error| format!("cannot write {}: {e}", what.display());
        let object = scratch.join(format!("{}.o", self.name));
        std::fs::write(&object, &self.object).map_err(|e| io(&object, e))?;
        let prefix = format!("{}_", self.name);
        let finals = [
            dir.join(format!("lib{}.so", self.name)),
            dir.join(format!("lib{}.a", self.name)),
            dir.join(format!("{}.h", self.name)),
        ];
        let staged: Vec<PathBuf> = finals.iter().map(|f| scratch.join(f.file_name().unwrap_or_default())).collect();
        link::shared(std::slice::from_ref(&object), runtime, &prefix, scratch, &staged[0])?;
        link::static_archive(&object, runtime, &prefix, scratch, &staged[1])?;
        std::fs::write(&staged[2], &self.header).map_err(|e| io(&staged[2], e))?;
        for (from, to) in staged.iter().zip(&finals) {
            std::fs::rename(from, to).map_err(|e| io(to, e))?;
        }
        Ok(finals.to_vec())
    }
}

/// Whether `s` is a C identifier.
fn is_c_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_') && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Checks that every entry's prefix is empty or a C identifier, the first
/// one only is empty, and no two exported names (`exported`) are the same.
fn check_names(entries: &[EntryOptions], exported: &[String]) -> Result<(), String> {
    match entries.first() {
        Some(e) if e.prefix.is_empty() => {}
        _ => return Err("the first entry point of a library is the model, with an empty prefix".into()),
    }
    if let Some(e) = entries.iter().skip(1).find(|e| !is_c_identifier(&e.prefix)) {
        return Err(format!("entry prefix '{}' is not a C identifier", e.prefix));
    }
    let mut seen: Vec<&String> = Vec::new();
    for name in exported {
        if seen.contains(&name) {
            return Err(format!("two exported functions would be named {name}; choose another entry prefix"));
        }
        seen.push(name);
    }
    Ok(())
}

/// Gives every parameter global of `t` its value from `ir` as a constant,
/// 64-byte aligned, internal initialiser; returns them by parameter name.
fn embed_params<'ctx>(cx: &'ctx Context, t: &Translated<'ctx>, ir: &tessera_ir::Module) -> Result<Vec<(String, GlobalValue<'ctx>)>, Diags> {
    let mut embedded = Vec::new();
    for (name, global) in &t.params {
        let value = embed(cx, t, ir, name, &global.get_name().to_string_lossy()).map_err(|d| Diags(vec![d]))?;
        global.as_pointer_value().replace_all_uses_with(value.as_pointer_value());
        // SAFETY: the old global has no uses left and nothing else refers to it.
        unsafe { global.delete() };
        embedded.push((name.clone(), value));
    }
    Ok(embedded)
}

/// A constant, 64-byte aligned, internal global `<symbol>.value` holding
/// the initial value of parameter `name` of `ir`.
fn embed<'ctx>(cx: &'ctx Context, t: &Translated<'ctx>, ir: &tessera_ir::Module, name: &str, symbol: &str) -> Result<GlobalValue<'ctx>, Diag> {
    let p = ir.param(name).ok_or_else(|| Diag::error(Loc::Unknown, format!("no parameter named @{name}")))?;
    let init = p.init.as_ref().ok_or_else(|| Diag::error(p.loc.clone(), format!("parameter @{name} has no value to compile in")))?;
    let value = cx.const_string(init.bytes(), false);
    let embedded = t.module.add_global(value.get_type(), None, &format!("{symbol}.value"));
    embedded.set_initializer(&value);
    embedded.set_constant(true);
    embedded.set_linkage(Linkage::Internal);
    embedded.set_alignment(64);
    Ok(embedded)
}

/// The training tables: each parameter the step takes first, with its
/// embedded initial value (shared with the model's, else embedded here),
/// then each state tensor with its size.
fn tables<'ctx>(
    cx: &'ctx Context,
    t: &Translated<'ctx>,
    ir: &tessera_ir::Module,
    embedded: &mut Vec<(String, GlobalValue<'ctx>)>,
    training: &TrainingOptions,
    step: &Interface,
) -> Result<(Vec<TableEntry<'ctx>>, Vec<TableEntry<'ctx>>), Diag> {
    let fail = |m: String| Diag::error(Loc::Unknown, m);
    let (p, s) = (training.params, training.state);
    if p + s > step.inputs.len() {
        return Err(fail(format!("the training step has {} inputs, fewer than {p} parameters and {s} state tensors", step.inputs.len())));
    }
    let mut params = Vec::new();
    for input in &step.inputs[..p] {
        let global = match embedded.iter().find(|(n, _)| *n == input.name) {
            Some((_, g)) => *g,
            None => {
                let g = embed(cx, t, ir, &input.name, &format!("trained.{}", input.name))?;
                embedded.push((input.name.clone(), g));
                g
            }
        };
        let size = ir.param(&input.name).and_then(|q| q.init.as_ref()).map_or(0, |v| v.bytes().len() as u64);
        params.push(TableEntry { name: input.name.clone(), size, data: Some(global.as_pointer_value()) });
    }
    let mut state = Vec::new();
    for input in &step.inputs[p..p + s] {
        let elements = input.dims.iter().try_fold(1u64, |n, d| d.known().map(|k| n * k));
        let elements = elements.ok_or_else(|| fail(format!("optimiser state '{}' needs static dims", input.name)))?;
        state.push(TableEntry { name: input.name.clone(), size: elements * input.dtype.size_bytes() as u64, data: None });
    }
    Ok((params, state))
}
