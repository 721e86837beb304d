//! `.tsr`: tessera's model language, for people who would otherwise write
//! a PyTorch module. Statically shaped, with symbolic dims:
//!
//! ```text
//! model Mlp(x: f32[N, 784]) -> f32[N, 10] {
//!   param w1: f32[784, 256] = glorot(seed=0)
//!   param b1: f32[256]      = zeros()
//!   param w2: f32[256, 10]  = glorot(seed=1)
//!   param b2: f32[10]       = zeros()
//!   let h = relu(x @ w1 + b1)
//!   return softmax(h @ w2 + b2, axis=-1)
//! }
//! ```
//!
//! A file holds `model`s and `fn`s. [`compile_tsr`] turns each model into a
//! function of a [`Module`] (its inputs are the function's arguments, named
//! after them; its `param`s become module parameters `Model.name` with
//! deterministic initial values). A `fn` is inlined at every call, so it
//! may be generic: its signature's dim names bind to the arguments' sizes
//! and `...` to any run of dims, and the body is checked and lowered with
//! the sizes of each call. Builtins map to graph primitives
//! (listed in `builtins/mod.rs`); layers are written in `.tsr` itself in the standard
//! library ([`STD_SOURCE`]).
//!
//! The pieces, in order: [`lexer`] and [`parser`] (to the syntax tree in
//! [`ast`], recovering from errors), `check` (types and shapes, symbolic
//! dims included, folding compile-time values; every error reported with
//! its location), `lower` (the same walk building ops through the IR
//! builder, each with the location of its expression), `init`
//! (initialisers).
//!
//! Statements: `let x = e`, `let (a, b) = f(...)`, `let x: f32[N, 4] = e`
//! (checked), `x = e` (rebinding; in a loop, carries `x` across
//! iterations), `param w: T = init(...)` (models only), `for i in 0..K {
//! ... }` (a `tg.loop`; `K` known while compiling), and `return a, b` last.
//! Expressions: numbers, `true`/`false`, strings, lists `[a, b]`, `+ - * /
//! % **` with numpy broadcasting (a number adopts the tensor's dtype), `==
//! != < <= > >=`, `and or not`, `@` (numpy `matmul`), indexing and slicing
//! `x[:, 0:4]`, `x[..., -1]`, `x[::2]`, `x.shape`, `x.rank`, calls with
//! keyword arguments, and `if c { a } else { b }` (a `tg.if` on a `bool[]`
//! tensor; chosen while compiling on a compile-time bool; both branches
//! are checked either way).

pub mod ast;
mod builtins;
mod check;
mod init;
pub mod lexer;
mod lower;
mod ops;
pub mod parser;
mod source;
mod value;

use check::{Checker, Functions, TypeEmit, STD, USER};
use source::SourceFile;
use tessera_ir::{Diag, Diags, Module, SourceMap};

/// The name diagnostics give the standard library's file.
pub const STD_FILE: &str = "std.tsr";

/// The standard library's source: activations, dense and convolution
/// layers, pooling, normalisation, embedding, attention, LSTM (dropout and
/// the batch statistics are builtins: `builtins/mode.rs`).
pub const STD_SOURCE: &str = include_str!("std.tsr");

/// Compiles `.tsr` source (named `file` in diagnostics) to a module with
/// one function per `model`, in order. Every error in the file is
/// reported, each located at the expression it concerns.
pub fn compile_tsr(source: &str, file: &str) -> Result<Module, Diags> {
    let sources = [SourceFile::new(file, source), SourceFile::new(STD_FILE, STD_SOURCE)];
    let (user, mut diags) = parser::parse(&sources[USER]);
    let (std, std_diags) = parser::parse(&sources[STD]);
    diags.extend(std_diags);
    let (funcs, dups) = Functions::new(&user, &std, &sources);
    diags.extend(dups);
    let mut checker = Checker::new(TypeEmit, &funcs, &sources);
    checker.check_program(&user);
    diags.extend(checker.into_diags());
    if diags.is_empty() {
        match lower::lower(&user, &funcs, &sources) {
            Ok(module) => return Ok(module),
            Err(errs) => diags.extend(errs),
        }
    }
    Err(sorted(diags, file))
}

/// The user's errors in source order, then any in the standard library.
fn sorted(mut diags: Vec<Diag>, file: &str) -> Diags {
    diags.sort_by_key(|d| match d.loc.file_pos() {
        Some((f, line, col)) => (f != file, line, col),
        None => (true, u32::MAX, 0),
    });
    Diags(diags)
}

/// A source map holding `source` as `file` and the standard library, for
/// rendering [`compile_tsr`]'s diagnostics with source lines and carets.
pub fn source_map(file: &str, source: &str) -> SourceMap {
    let mut map = SourceMap::default();
    map.add(file, source);
    map.add(STD_FILE, STD_SOURCE);
    map
}

#[cfg(test)]
mod tests;
