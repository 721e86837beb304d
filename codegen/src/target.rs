//! The host CPU as the compilation target: its triple, data layout, CPU
//! name and features (detected at run time), and LLVM's O3 pipeline.
//!
//! MCJIT, the engine the JIT uses, builds its own target machine for a
//! generic CPU; the host's CPU and features therefore go on every function
//! as the `target-cpu` and `target-features` attributes, which instruction
//! selection reads per function. The optimiser runs before, with a target
//! machine for the host, so the vectoriser's cost model knows the real
//! vector width.

use inkwell::attributes::AttributeLoc;
use inkwell::module::Module;
use inkwell::passes::PassBuilderOptions;
use inkwell::targets::{CodeModel, InitializationConfig, RelocMode, Target, TargetMachine};
use inkwell::OptimizationLevel;
use std::sync::OnceLock;

/// Registers LLVM's code generator for this machine, once per process
/// (registration is not safe to race; later calls, inkwell's included, find
/// it done).
fn initialize() -> Result<(), String> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        Target::initialize_native(&InitializationConfig::default())
            .map_err(|e| format!("LLVM has no code generator for this machine: {e}"))
    })
    .clone()
}

/// The machine generated code runs on.
pub(crate) struct Host {
    machine: TargetMachine,
    cpu: String,
    features: String,
}

impl Host {
    /// The host, with its CPU and features detected.
    pub(crate) fn detect() -> Result<Host, String> {
        initialize()?;
        let triple = TargetMachine::get_default_triple();
        let target = Target::from_triple(&triple).map_err(|e| format!("LLVM target {triple:?}: {e}"))?;
        let cpu = TargetMachine::get_host_cpu_name().to_string();
        let features = TargetMachine::get_host_cpu_features().to_string();
        let machine = target
            .create_target_machine(
                &triple,
                &cpu,
                &features,
                OptimizationLevel::Aggressive,
                RelocMode::Default,
                CodeModel::JITDefault,
            )
            .ok_or_else(|| format!("LLVM cannot target {cpu} ({triple:?})"))?;
        Ok(Host { machine, cpu, features })
    }

    /// Sets `module`'s triple and data layout to the host's and marks every
    /// function defined in it with the host CPU and features.
    pub(crate) fn prepare(&self, module: &Module) {
        module.set_triple(&self.machine.get_triple());
        module.set_data_layout(&self.machine.get_target_data().get_data_layout());
        let cx = module.get_context();
        for f in module.get_functions().filter(|f| f.count_basic_blocks() > 0) {
            f.add_attribute(AttributeLoc::Function, cx.create_string_attribute("target-cpu", &self.cpu));
            f.add_attribute(AttributeLoc::Function, cx.create_string_attribute("target-features", &self.features));
        }
    }

    /// Runs LLVM's `default<O3>` pipeline on `module`, with loop and SLP
    /// vectorisation, interleaving and unrolling on.
    pub(crate) fn optimize(&self, module: &Module) -> Result<(), String> {
        let options = PassBuilderOptions::create();
        options.set_loop_vectorization(true);
        options.set_loop_slp_vectorization(true);
        options.set_loop_interleaving(true);
        options.set_loop_unrolling(true);
        module.run_passes("default<O3>", &self.machine, options).map_err(|e| format!("LLVM optimiser: {e}"))
    }
}
