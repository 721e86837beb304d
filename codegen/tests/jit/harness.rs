//! What the differential tests share: parsing and lowering a graph module,
//! compiling it, pseudo-random inputs, and comparing the JIT's outputs with
//! the reference evaluator's within a stated tolerance.

pub use tessera_passes::differential::{lower, verified, Each, Tol, F32_SUM, N1_N5, N1_N5_N0};
use tessera_codegen::JitModule;
use tessera_ir::tensor::Tensor;
use tessera_ir::verify::VerifiedModule;
use tessera_passes::differential::{assert_same, Rng};
use tessera_passes::Evaluator;

/// The JIT compilation of kernel module `m`, panicking with the diagnostics.
pub fn compile(m: &VerifiedModule) -> JitModule {
    JitModule::compile(m).unwrap_or_else(|d| panic!("{}", d.render(&Default::default())))
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

/// Checks every function of `src` named in `cases` for each of its bindings.
pub fn check_all(src: &str, cases: &[(&str, Each, Tol)]) {
    let c = Compiled::new(src);
    for (name, each, tol) in cases {
        for bindings in *each {
            c.check(name, bindings, *tol);
        }
    }
}

/// Checks function `name` of `src` for each binding in `each`.
pub fn check_each(src: &str, name: &str, each: Each, tol: Tol) {
    check_all(src, &[(name, each, tol)]);
}

/// Checks function `name` of `src`, which has no symbols.
pub fn check(src: &str, name: &str, tol: Tol) {
    check_each(src, name, &[&[]], tol);
}
