//! From a graph module to native code: the lowering pipeline, the JIT,
//! and C libraries.

use crate::Failure;
use std::time::{Duration, Instant};
use tessera_codegen::{JitModule, Library, LibraryOptions};
use tessera_ir::tensor::Tensor;
use tessera_ir::verify::VerifiedModule;
use tessera_passes::{PassManager, Pipeline};

/// The passes from graph functions to kernel functions.
pub const LOWERING: &str = "canonicalize,cse,dce,lower-to-kernel,plan-memory";

/// How a model executes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Engine {
    /// Generated machine code, compiled in memory.
    Jit,
    /// The reference evaluator (naive, obviously correct).
    Reference,
}

/// How long each stage of a JIT run took.
#[derive(Copy, Clone, Debug, Default)]
pub struct Timings {
    /// Lowering to kernel functions.
    pub lower: Duration,
    /// LLVM translation, optimisation and machine code generation.
    pub codegen: Duration,
    /// The generated code itself.
    pub run: Duration,
}

/// `module` lowered to kernel functions.
pub fn lower(module: VerifiedModule) -> Result<VerifiedModule, Failure> {
    let pipeline = Pipeline::parse(LOWERING).map_err(|d| Failure(d.to_string()))?;
    PassManager::new(pipeline).run(module.into_inner()).map_err(|d| Failure(d.to_string()))
}

/// A graph module compiled in memory, callable on host tensors.
pub struct Compiled {
    jit: JitModule,
    lower_time: Duration,
}

impl Compiled {
    /// Lowers and compiles every function of `module`.
    pub fn new(module: VerifiedModule) -> Result<Compiled, Failure> {
        let start = Instant::now();
        let kernels = lower(module)?;
        let lower_time = start.elapsed();
        let jit = JitModule::compile(&kernels).map_err(|d| Failure(d.to_string()))?;
        Ok(Compiled { jit, lower_time })
    }

    /// Runs function `entry`; returns its outputs and the stage timings.
    pub fn run(&self, entry: &str, args: &[Tensor]) -> Result<(Vec<Tensor>, Timings), Failure> {
        let (outputs, run) = self.jit.run_timed(entry, args).map_err(|d| Failure(format!("error: {}", d.message)))?;
        Ok((outputs, Timings { lower: self.lower_time, codegen: self.jit.compile_time(), run }))
    }
}

/// Runs `entry` of `module` on `args` with `engine`.
pub fn execute(module: &VerifiedModule, entry: &str, args: Vec<Tensor>, engine: Engine) -> Result<Vec<Tensor>, Failure> {
    match engine {
        Engine::Reference => tessera_passes::Evaluator::new(module).run(entry, args).map_err(|d| Failure(d.to_string())),
        Engine::Jit => Compiled::new(module.clone())?.run(entry, &args).map(|(outputs, _)| outputs),
    }
}

/// `module`'s function `entry` lowered and compiled as a C library.
pub fn compile_library(module: VerifiedModule, options: &LibraryOptions) -> Result<Library, Failure> {
    let kernels = lower(module)?;
    Library::compile(&kernels, options).map_err(|d| Failure(d.to_string()))
}
