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
use inkwell::targets::{CodeModel, FileType, InitializationConfig, RelocMode, Target, TargetMachine};
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

/// The vector instructions generated code may use, from the widest down:
/// what the GEMM's register blocking is chosen by (`gemm.rs`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Simd {
    /// 512-bit vectors, 32 registers (`avx512f`).
    Avx512,
    /// 256-bit vectors with FMA, 16 registers (`avx2` and `fma`).
    Avx2,
    /// 128-bit vectors, 16 registers (x86-64's baseline, and any other target).
    Sse2,
}

impl Simd {
    /// The widest set a CPU with LLVM feature string `features`
    /// (`+avx2,+fma,-avx512f,...`) has.
    pub(crate) fn from_features(features: &str) -> Simd {
        let has = |f: &str| features.split(',').any(|x| x.strip_prefix('+') == Some(f));
        if has("avx512f") {
            Simd::Avx512
        } else if has("avx2") && has("fma") {
            Simd::Avx2
        } else {
            Simd::Sse2
        }
    }
}

/// The 64-bit x86 CPU names LLVM 22 accepts (`llc -mcpu=help`, less the
/// 32-bit-only ones): LLVM only warns about an unknown name and then fails
/// hard while generating code, so names are checked here first. The
/// microarchitecture levels come first.
const X86_64_CPUS: &[&str] = &[
    "x86-64", "x86-64-v2", "x86-64-v3", "x86-64-v4", "alderlake", "amdfam10", "arrowlake", "arrowlake-s", "athlon64",
    "athlon64-sse3", "athlon-fx", "atom", "barcelona", "bdver1", "bdver2", "bdver3", "bdver4", "bonnell", "broadwell",
    "btver1", "btver2", "cannonlake", "cascadelake", "clearwaterforest", "cooperlake", "core-avx-i", "core-avx2",
    "core2", "corei7", "corei7-avx", "diamondrapids", "emeraldrapids", "goldmont", "goldmont-plus", "gracemont",
    "grandridge", "graniterapids", "graniterapids-d", "haswell", "icelake-client", "icelake-server", "ivybridge", "k8",
    "k8-sse3", "knl", "knm", "lunarlake", "meteorlake", "nehalem", "nocona", "novalake", "opteron", "opteron-sse3",
    "pantherlake", "penryn", "raptorlake", "rocketlake", "sandybridge", "sapphirerapids", "sierraforest", "silvermont",
    "skx", "skylake", "skylake-avx512", "tigerlake", "tremont", "westmere", "wildcatlake", "znver1", "znver2",
    "znver3", "znver4", "znver5",
];

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
        let cpu = TargetMachine::get_host_cpu_name().to_string();
        let features = TargetMachine::get_host_cpu_features().to_string();
        Host::machine(&cpu, &features, RelocMode::Default, CodeModel::JITDefault)
    }

    /// A target for ahead-of-time code: this machine's architecture and
    /// OS, CPU `cpu` (`x86-64-v3`, `skylake`, `native` for this machine's)
    /// with that CPU's features, position-independent code (for shared
    /// libraries).
    pub(crate) fn for_cpu(cpu: &str) -> Result<Host, String> {
        if cpu == "native" {
            let host = Host::detect()?;
            return Host::machine(&host.cpu, &host.features, RelocMode::PIC, CodeModel::Default);
        }
        if !X86_64_CPUS.contains(&cpu) {
            return Err(format!(
                "unknown target CPU '{cpu}': use x86-64-v3 (the default), x86-64, x86-64-v2, x86-64-v4, native, \
                 or an x86-64 CPU name LLVM knows ({})",
                X86_64_CPUS[4..].join(", ")
            ));
        }
        initialize()?;
        Host::machine(cpu, "", RelocMode::PIC, CodeModel::Default)
    }

    /// A target machine for this machine's triple with the given CPU.
    fn machine(cpu: &str, features: &str, reloc: RelocMode, code: CodeModel) -> Result<Host, String> {
        let triple = TargetMachine::get_default_triple();
        let target = Target::from_triple(&triple).map_err(|e| format!("LLVM target {triple:?}: {e}"))?;
        let machine = target
            .create_target_machine(&triple, cpu, features, OptimizationLevel::Aggressive, reloc, code)
            .ok_or_else(|| format!("LLVM cannot target CPU '{cpu}' ({triple:?})"))?;
        Ok(Host { machine, cpu: cpu.to_string(), features: features.to_string() })
    }

    /// `module`'s machine code for this target: an object file, or
    /// assembly text.
    pub(crate) fn emit(&self, module: &Module, file_type: FileType) -> Result<Vec<u8>, String> {
        let buffer = self.machine.write_to_memory_buffer(module, file_type).map_err(|e| format!("LLVM code generation: {e}"))?;
        Ok(buffer.as_slice().to_vec())
    }

    /// The vector instructions the target CPU has: from its features when
    /// they were detected, else from its name.
    pub(crate) fn simd(&self) -> Simd {
        if !self.features.is_empty() {
            return Simd::from_features(&self.features);
        }
        let avx512 = ["x86-64-v4", "skylake-avx512", "cascadelake", "cooperlake", "icelake", "tigerlake", "sapphirerapids", "graniterapids", "znver4", "znver5"];
        let avx2 = ["x86-64-v3", "haswell", "broadwell", "skylake", "alderlake", "raptorlake", "meteorlake", "znver1", "znver2", "znver3"];
        let cpu = self.cpu.as_str();
        if avx512.iter().any(|c| cpu.starts_with(c)) {
            Simd::Avx512
        } else if avx2.iter().any(|c| cpu.starts_with(c)) {
            Simd::Avx2
        } else {
            Simd::Sse2
        }
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
