//! Support for differential tests of everything below the graph dialect
//! (the kernel interpreter here, the JIT in `tessera-codegen`): parsing and
//! lowering a module, pseudo-random inputs with symbols bound, and
//! comparing outputs with the reference evaluator's within a stated
//! tolerance. Compiled for this crate's tests and, with the `testing`
//! feature, for other crates' tests.

use crate::{PassManager, Pipeline};
use tessera_ir::parse::parse_module;
use tessera_ir::tensor::{allclose, Tensor};
use tessera_ir::verify::VerifiedModule;
use tessera_ir::{DType, Dim, Func, TensorType};

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

/// Symbol `N` bound to 1, then to 5.
pub const N1_N5: Each = &[&[("N", 1)], &[("N", 5)]];

/// Symbol `N` bound to 1, 5 and 0 (empty).
pub const N1_N5_N0: Each = &[&[("N", 1)], &[("N", 5)], &[("N", 0)]];

/// A deterministic pseudo-random source (splitmix64).
pub struct Rng(pub u64);

impl Rng {
    /// A source seeded from the symbol bindings, so each binding gets its own inputs.
    pub fn for_bindings(bindings: &[(&str, i64)]) -> Rng {
        Rng(bindings.iter().fold(7, |h, (_, v)| h * 31 + *v as u64))
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[lo, hi)`.
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A value of `dtype`: floats in [-3, 3], integers in ±[1, 9] (never 0,
    /// so integer division is defined; unsigned ones positive), bools either way.
    fn value(&mut self, dtype: DType) -> f64 {
        let magnitude = 1.0 + (self.next() % 9) as f64;
        match dtype {
            DType::I1 => (self.next() % 2) as f64,
            d if d.is_float() => self.uniform(-3.0, 3.0),
            d if d.is_signed_int() && self.next().is_multiple_of(2) => -magnitude,
            _ => magnitude,
        }
    }

    /// A tensor of type `t` with its symbols bound by `bindings`.
    pub fn tensor(&mut self, t: &TensorType, bindings: &[(&str, i64)]) -> Tensor {
        let shape: Vec<usize> = t.dims.iter().map(|d| size(d, bindings)).collect();
        let n = shape.iter().product();
        let values: Vec<f64> = (0..n).map(|_| self.value(t.dtype)).collect();
        Tensor::convert_f64(t.dtype, shape, &values).unwrap()
    }

    /// One input per argument of `func`, with symbols bound by `bindings`.
    pub fn inputs(&mut self, func: &Func, bindings: &[(&str, i64)]) -> Vec<Tensor> {
        func.arg_types().iter().map(|t| self.tensor(t.as_tensor().unwrap(), bindings)).collect()
    }
}

/// The size of `d` with symbols bound by `bindings`.
fn size(d: &Dim, bindings: &[(&str, i64)]) -> usize {
    let e = d.expr().unwrap_or_else(|| panic!("a test input has dim {d}"));
    let value = e.substitute(&|s| bindings.iter().find(|(n, _)| *n == s.as_str()).map(|(_, v)| *v));
    value.as_constant().unwrap_or_else(|| panic!("dim {d} is not bound by {bindings:?}")) as usize
}

/// Parses and verifies `src`, panicking with the rendered diagnostics.
pub fn verified(src: &str) -> VerifiedModule {
    let module = parse_module(src, "test.tir").unwrap_or_else(|d| panic!("{}", d.render(&Default::default())));
    VerifiedModule::new(module).unwrap_or_else(|d| panic!("{}", d.render(&Default::default())))
}

/// `m` lowered to the kernel dialect, verified after the pass.
pub fn lower(m: &VerifiedModule) -> VerifiedModule {
    let pm = PassManager::new(Pipeline::parse("lower-to-kernel").unwrap()).verify_each(true);
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
