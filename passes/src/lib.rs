//! The pass manager and IR-to-IR transformations.
//!
//! A pass is a named, stateless transformation of a whole [`Module`]
//! ([`Pass`]); every pass is registered ([`registered`]) so a pipeline can
//! be written as a string (`"shape-infer,canonicalize,cse,dce"`,
//! `"specialize{N=8}"`) and parsed into a [`Pipeline`]. The
//! [`PassManager`] verifies its input, runs the pipeline, verifies after
//! each pass in debug builds (naming the pass that broke the IR), can print
//! the IR after each pass and stop after the first N passes to bisect a
//! miscompile, and returns a [`VerifiedModule`].
//!
//! Rewrites that are laws (`add(x, -0.0) -> x`) are small [`Pattern`]s
//! applied to a fixpoint by one driver ([`rewrite`]); passes reach ops only
//! through their declarations (traits such as `PURE` or `COMMUTATIVE`, and
//! inference hooks), never through a central match on op names.
//!
//! [`Module`]: tessera_ir::Module

pub mod autodiff;
pub mod canonicalize;
pub mod cse;
pub mod dce;
#[cfg(any(test, feature = "testing"))]
pub mod differential;
pub mod eval;
mod failure;
#[cfg(test)]
mod eval_tests;
#[cfg(test)]
mod eval_ops_tests;
pub mod kernel_eval;
#[cfg(test)]
mod kernel_eval_tests;
pub mod lower;
pub mod manager;
pub mod plan_memory;
pub mod rewrite;
pub mod shape_infer;
pub mod train;
#[cfg(test)]
mod testing;

pub use eval::Evaluator;
pub use kernel_eval::KernelEvaluator;
pub use manager::{lookup, registered, Pass, PassManager, PassOptions, Pipeline};
pub use rewrite::{apply_patterns, Pattern, Rewrite, RewriteStats};
pub use tessera_ir::verify::VerifiedModule;
