//! Differential tests of everything below the graph dialect: one set of
//! cases ([`cases`], data: a module's text, the functions to run, the
//! symbol bindings or inputs, the tolerance), run on every [`Runtime`] (the
//! kernel interpreter here, the JIT in `tessera-codegen`) against the
//! reference evaluator by [`check_family`], one `#[test]` per family as
//! [`differential_tests!`](crate::differential_tests) stamps them; and what
//! runtime-specific tests share (parsing, lowering, pseudo-random inputs,
//! comparison within a stated tolerance). Compiled for this crate's tests
//! and, with the `testing` feature, for other crates' tests.

mod case;
pub mod cases;
mod rng;
mod runtime;

pub use case::{Case, Check, Inputs};
pub use rng::Rng;
pub use runtime::{check_family, Family, Math, Runtime};

use crate::{PassManager, Pipeline};
use tessera_ir::parse::parse_module;
use tessera_ir::tensor::{allclose, Tensor};
use tessera_ir::verify::VerifiedModule;

/// How close results must be to the reference.
#[derive(Copy, Clone, Debug)]
pub enum Tol {
    /// Bit for bit (NaN matching NaN).
    Exact,
    /// `|actual - expected| <= atol + rtol * |expected|` for floats; integers exact.
    Close {
        /// Relative tolerance.
        rtol: f64,
        /// Absolute tolerance.
        atol: f64,
    },
}

/// The tolerance of f32 sums and dots of up to a few hundred elements in
/// [-3, 3], which round after every step where the reference rounds once.
pub const F32_SUM: Tol = Tol::Close { rtol: 1e-5, atol: 1e-4 };

/// Several ways of binding a function's symbols, each checked in turn.
pub type Each<'a> = &'a [&'a [(&'a str, i64)]];

/// No symbols to bind: one run.
pub const NONE: Each = &[&[]];

/// Symbol `N` bound to 1, then to 5.
pub const N1_N5: Each = &[&[("N", 1)], &[("N", 5)]];

/// Symbol `N` bound to 1, 5 and 0 (empty).
pub const N1_N5_N0: Each = &[&[("N", 1)], &[("N", 5)], &[("N", 0)]];

/// Parses and verifies `src`, panicking with the rendered diagnostics.
pub fn verified(src: &str) -> VerifiedModule {
    let module = parse_module(src, "test.tir").unwrap_or_else(|d| panic!("{}", d.render(&Default::default())));
    VerifiedModule::new(module).unwrap_or_else(|d| panic!("{}", d.render(&Default::default())))
}

/// `m` lowered to the kernel dialect, verified after the pass.
pub fn lower(m: &VerifiedModule) -> VerifiedModule {
    lower_with(m, "lower-to-kernel")
}

/// `m` after the passes of `pipeline`, verified after each.
pub fn lower_with(m: &VerifiedModule, pipeline: &str) -> VerifiedModule {
    let pm = PassManager::new(Pipeline::parse(pipeline).unwrap()).verify_each(true);
    pm.run(m.module().clone()).unwrap_or_else(|d| panic!("{}", d.render(&Default::default())))
}

/// Asserts `actual` matches `expected` output by output within `tol`; a
/// failure names `@name`, the case (`what`) and `detail()` (e.g. the IR).
pub fn assert_same(name: &str, what: &str, actual: &[Tensor], expected: &[Tensor], tol: Tol, detail: &dyn Fn() -> String) {
    assert_eq!(actual.len(), expected.len(), "@{name} {what}: output count");
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        let (rtol, atol) = match tol {
            Tol::Exact => (0.0, 0.0),
            Tol::Close { rtol, atol } => (rtol, atol),
        };
        if let Err(msg) = allclose(a, e, rtol, atol) {
            panic!("@{name} {what}, output #{i}: {msg}\n{}", detail());
        }
        if matches!(tol, Tol::Exact) && a.dtype().is_float() {
            let bits = |t: &Tensor| {
                t.to_f64s().iter().map(|v| if v.is_nan() { u64::MAX } else { v.to_bits() }).collect::<Vec<_>>()
            };
            assert_eq!(bits(a), bits(e), "@{name} {what}, output #{i}: not bit-identical");
        }
    }
}
