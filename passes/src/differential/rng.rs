//! Deterministic pseudo-random inputs: values of every dtype in ranges the
//! reference evaluator accepts, tensors with their symbols bound.

use tessera_ir::tensor::Tensor;
use tessera_ir::{DType, Dim, Func, TensorType};

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
