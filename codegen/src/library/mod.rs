//! Ahead-of-time compilation: a model's kernel function packaged as a C
//! library — `libNAME.so`, `libNAME.a` and `NAME.h` — with the weights
//! embedded as read-only data and the runtime linked in.
//!
//! [`Library::compile`] translates the module as the JIT does, then:
//! - every parameter global gets its value as a constant initialiser (64-byte
//!   aligned), and every kernel symbol becomes internal;
//! - the model's descriptor and the `NAME_*` functions of the API table
//!   (`api.rs`) are added (`descriptor.rs`), so the only symbols the
//!   object exports start with `NAME_`;
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

pub use link::{runtime_library, shared as link_shared};

use crate::abi::Signature;
use crate::target::Host;
use crate::translate::{translate, Translated};
use inkwell::context::Context;
use inkwell::module::Linkage;
use inkwell::targets::FileType;
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
    /// The kernel function that is the model.
    pub entry: String,
    /// The model's input names, in argument order.
    pub inputs: Vec<String>,
    /// The model's output names, in order.
    pub outputs: Vec<String>,
    /// The CPU to generate code for (`x86-64-v3`, `native`, `skylake`...).
    pub target_cpu: String,
    /// Where the model came from, for the header's first line.
    pub source: String,
    /// Whether to keep the assembly text too (for `--emit asm`).
    pub assembly: bool,
}

/// A model compiled to machine code, ready to be written as a library.
pub struct Library {
    name: String,
    object: Vec<u8>,
    header: String,
    llvm_ir: String,
    assembly: Option<String>,
}

impl Library {
    /// Compiles kernel function `options.entry` of `module` (all kernel
    /// functions; run `lower-to-kernel` first).
    pub fn compile(module: &VerifiedModule, options: &LibraryOptions) -> Result<Library, Diags> {
        let o = options;
        let unlocated = |m: String| Diags(vec![Diag::error(Loc::Unknown, m)]);
        if !is_c_identifier(&o.name) {
            return Err(unlocated(format!("library name '{}' is not a C identifier ([A-Za-z_][A-Za-z0-9_]*)", o.name)));
        }
        let ir = module.module();
        let func = ir.func(&o.entry).ok_or_else(|| unlocated(format!("no function named @{}", o.entry)))?;
        let sig = Signature::of(func).map_err(|d| Diags(vec![d]))?;
        let interface = Interface::of(func, &sig, &o.inputs, &o.outputs).map_err(|d| Diags(vec![d]))?;
        let target = Host::for_cpu(&o.target_cpu).map_err(unlocated)?;
        let cx = Context::create();
        let t = translate(&cx, ir, target.simd())?;
        embed_params(&cx, &t, ir)?;
        let entry = t.kernels.iter().find(|k| k.name == o.entry).map(|k| k.symbol.clone());
        let entry = entry.and_then(|s| t.module.get_function(&s)).ok_or_else(|| unlocated(format!("@{} was not translated", o.entry)))?;
        for k in &t.kernels {
            if let Some(f) = t.module.get_function(&k.symbol) {
                f.set_linkage(Linkage::Internal);
            }
        }
        descriptor::emit(&cx, &t.module, &o.name, &interface, entry).map_err(unlocated)?;
        target.prepare(&t.module);
        t.module.verify().map_err(|e| unlocated(format!("LLVM rejected the generated module: {e}")))?;
        target.optimize(&t.module).map_err(unlocated)?;
        let object = target.emit(&t.module, FileType::Object).map_err(unlocated)?;
        let assembly = match o.assembly {
            true => Some(target.emit(&t.module, FileType::Assembly).map_err(unlocated)?),
            false => None,
        };
        Ok(Library {
            name: o.name.clone(),
            object,
            header: header::header(&o.name, &o.source, &interface),
            llvm_ir: t.module.print_to_string().to_string(),
            assembly: assembly.map(|a| String::from_utf8_lossy(&a).into_owned()),
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
    pub fn exported_functions(&self) -> Vec<String> {
        descriptor::exported(&self.name)
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

/// Gives every parameter global of `t` its value from `ir` as a constant,
/// 64-byte aligned, internal initialiser.
fn embed_params<'ctx>(cx: &'ctx Context, t: &Translated<'ctx>, ir: &tessera_ir::Module) -> Result<(), Diags> {
    for (name, global) in &t.params {
        let p = ir.param(name).ok_or_else(|| Diags(vec![Diag::error(Loc::Unknown, format!("no parameter named @{name}"))]))?;
        let init = p.init.as_ref().ok_or_else(|| {
            Diags(vec![Diag::error(p.loc.clone(), format!("parameter @{name} has no value to compile in"))])
        })?;
        let value = cx.const_string(init.bytes(), false);
        let embedded = t.module.add_global(value.get_type(), None, &format!("{}.value", global.get_name().to_string_lossy()));
        embedded.set_initializer(&value);
        embedded.set_constant(true);
        embedded.set_linkage(Linkage::Internal);
        embedded.set_alignment(64);
        global.as_pointer_value().replace_all_uses_with(embedded.as_pointer_value());
        // SAFETY: the old global has no uses left and nothing else refers to it.
        unsafe { global.delete() };
    }
    Ok(())
}
