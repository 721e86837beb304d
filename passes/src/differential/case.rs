//! A differential case as data: a graph module's text and the functions in
//! it to run, each on pseudo-random inputs for several symbol bindings or
//! on given inputs, with the tolerance its outputs must meet.

use super::{Each, Rng, Tol, NONE};
use tessera_ir::tensor::Tensor;
use tessera_ir::Func;

/// One graph module of a family and the checks to run on it; a runtime
/// lowers (and compiles) it once for all of them.
pub struct Case {
    /// Names the case in failures: `family/what`.
    pub name: String,
    /// The module in the graph dialect's text form.
    pub src: String,
    /// The passes that lower it for the runtime ("lower-to-kernel").
    pub pipeline: &'static str,
    /// The functions to run, in order.
    pub checks: Vec<Check>,
}

/// One function of a [`Case`], run by the reference evaluator and by a
/// runtime on the same inputs.
pub struct Check {
    /// The function's name, without `@`.
    pub func: String,
    /// What it runs on.
    pub inputs: Inputs,
    /// How close the runtime's outputs must be to the reference's.
    pub tol: Tol,
}

/// What a [`Check`] runs its function on.
pub enum Inputs {
    /// Pseudo-random inputs, once per binding of the symbols.
    Random(Each<'static>),
    /// These inputs, once.
    Given {
        /// Names them in failures ("NaN and infinities").
        what: String,
        /// One per argument.
        tensors: Vec<Tensor>,
        /// The outputs as f64s, where known beforehand; the runtime's (and
        /// so the reference's) must equal them.
        outputs: Option<Vec<Vec<f64>>>,
    },
}

impl Case {
    /// Case `name` of module `src`, with no checks yet.
    pub fn new(name: impl Into<String>, src: impl Into<String>) -> Case {
        Case { name: name.into(), src: src.into(), pipeline: "lower-to-kernel", checks: Vec::new() }
    }

    /// The case lowered with `pipeline` (e.g. "lower-to-kernel,plan-memory").
    pub fn pipeline(mut self, pipeline: &'static str) -> Case {
        self.pipeline = pipeline;
        self
    }

    /// Adds a check of `func` on pseudo-random inputs for each binding in `each`.
    pub fn each(mut self, func: impl Into<String>, each: Each<'static>, tol: Tol) -> Case {
        self.checks.push(Check { func: func.into(), inputs: Inputs::Random(each), tol });
        self
    }

    /// Adds a check of `func`, which has no symbols, on pseudo-random inputs.
    pub fn once(self, func: impl Into<String>, tol: Tol) -> Case {
        self.each(func, NONE, tol)
    }

    /// Adds a check of `func` on `tensors` (`what` names them), and on
    /// `outputs` where given.
    pub fn given(
        mut self,
        func: impl Into<String>,
        what: impl Into<String>,
        tensors: Vec<Tensor>,
        outputs: Option<Vec<Vec<f64>>>,
        tol: Tol,
    ) -> Case {
        self.checks.push(Check { func: func.into(), inputs: Inputs::Given { what: what.into(), tensors, outputs }, tol });
        self
    }
}

impl Inputs {
    /// Each run's description and inputs for `func`.
    pub fn runs(&self, func: &Func) -> Vec<(String, Vec<Tensor>)> {
        match self {
            Inputs::Random(each) => {
                each.iter().map(|b| (format!("{b:?}"), Rng::for_bindings(b).inputs(func, b))).collect()
            }
            Inputs::Given { what, tensors, .. } => vec![(what.clone(), tensors.clone())],
        }
    }
}
