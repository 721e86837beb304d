//! What the JIT's tests share: the JIT as a differential runtime (for the
//! shared cases, [`crate::cases`]), compiling a lowered module, and
//! comparing the JIT's outputs with the reference evaluator's on inputs a
//! JIT-only test chooses.

pub use tessera_passes::differential::{lower, verified, Tol, F32_SUM};
use tessera_codegen::JitModule;
use tessera_ir::tensor::Tensor;
use tessera_ir::verify::VerifiedModule;
use tessera_ir::Diag;
use tessera_passes::differential::{assert_same, Math, Rng, Runtime};
use tessera_passes::Evaluator;

/// The JIT compilation of kernel module `m`, panicking with the diagnostics.
pub fn compile(m: &VerifiedModule) -> JitModule {
    JitModule::compile(m).unwrap_or_else(|d| panic!("{}", d.render(&Default::default())))
}

/// The JIT as a differential runtime: each case compiled once.
pub struct Jit;

impl Runtime for Jit {
    const NAME: &'static str = "JIT";
    const MATH: Math = Math::Native;
    type Loaded<'m> = JitModule;

    fn load(lowered: &VerifiedModule) -> JitModule {
        compile(lowered)
    }

    fn run(loaded: &JitModule, func: &str, inputs: &[Tensor]) -> Result<Vec<Tensor>, Diag> {
        loaded.run(func, inputs)
    }
}

/// A graph module, lowered and compiled, to compare function by function.
pub struct Compiled {
    /// The graph module (the reference evaluator runs it).
    pub graph: VerifiedModule,
    /// Its kernel functions compiled.
    pub jit: JitModule,
}

impl Compiled {
    /// Parses, lowers and compiles `src`.
    pub fn new(src: &str) -> Compiled {
        let graph = verified(src);
        let jit = compile(&lower(&graph));
        Compiled { graph, jit }
    }

    /// Runs `name` on pseudo-random inputs (symbols bound by `bindings`) in
    /// the evaluator and the JIT; asserts the outputs agree within `tol`.
    pub fn check(&self, name: &str, bindings: &[(&str, i64)], tol: Tol) {
        let func = self.graph.module().func(name).unwrap_or_else(|| panic!("no @{name}"));
        let inputs = Rng::for_bindings(bindings).inputs(func, bindings);
        self.check_inputs(name, inputs, tol, &format!("{bindings:?}"));
    }

    /// Runs `name` on `inputs` in the evaluator and the JIT; asserts the
    /// outputs agree within `tol` (`what` names the case in failures).
    pub fn check_inputs(&self, name: &str, inputs: Vec<Tensor>, tol: Tol, what: &str) {
        let expected =
            Evaluator::new(&self.graph).run(name, inputs.clone()).unwrap_or_else(|d| panic!("@{name}: {}", d.message));
        let actual = self.jit.run(name, &inputs).unwrap_or_else(|d| panic!("@{name} {what} JIT: {}", d.message));
        let shown = || format!("actual {actual:?}\nexpected {expected:?}");
        assert_same(name, what, &actual, &expected, tol, &shown);
    }
}
