//! tessera: a deep-learning compiler. This crate is the thin facade the CLI
//! is built on: it loads models from disk into the IR and reports failures
//! as rendered, located diagnostics.
//!
//! | crate | owns |
//! | --- | --- |
//! | `tessera-ir` | types, ops, the graph dialect, text format, verifier |
//! | `tessera-passes` | the pass manager and IR-to-IR transformations |
//! | `tessera-codegen` | kernel functions to machine code: JIT and C libraries |

pub mod bench;
pub mod compile;
pub mod export_support;
pub mod inspect;
pub mod model;
pub mod tract_peer;
pub mod train;
pub mod train_library;
mod train_data;
mod train_engine;
mod train_model;
mod train_weights;

use std::fmt;
use std::path::Path;
pub use tessera_ir as ir;
pub use tessera_passes as passes;
use tessera_ir::{Diags, Module, SourceMap};

/// A failure to show the user: already rendered, with source lines and carets.
#[derive(Debug)]
pub struct Failure(pub String);

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.trim_end())
    }
}

impl std::error::Error for Failure {}

/// A module read from a file, with the source kept for diagnostics.
pub struct Loaded {
    /// The parsed (not yet verified) module.
    pub module: Module,
    /// The source text, for rendering later diagnostics.
    pub sources: SourceMap,
}

impl Loaded {
    /// Renders diagnostics against the loaded source.
    pub fn render(&self, diags: &Diags) -> Failure {
        Failure(diags.render(&self.sources))
    }
}

/// Reads and parses a `.tir` file.
pub fn load(path: &Path) -> Result<Loaded, Failure> {
    let bytes = std::fs::read(path).map_err(|e| Failure(format!("error: cannot read {}: {e}", path.display())))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        Failure(format!("error: {} is not UTF-8 text (byte {}); tessera reads .tir text files", path.display(), e.utf8_error().valid_up_to()))
    })?;
    let name = path.display().to_string();
    let mut sources = SourceMap::default();
    sources.add(&name, &text);
    match tessera_ir::parse::parse_module(&text, &name) {
        Ok(module) => Ok(Loaded { module, sources }),
        Err(diags) => Err(Failure(diags.render(&sources))),
    }
}
