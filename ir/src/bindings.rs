//! Symbol values bound from concrete shapes: how the evaluator, the kernel
//! interpreter and generated code learn `N` from their inputs and size
//! everything else.

use crate::dim::{Dim, Symbol};
use crate::tensor::Tensor;
use crate::types::TensorType;
use std::collections::HashMap;

/// The value of each symbol of a running function.
#[derive(Clone, Debug, Default)]
pub struct Bindings(HashMap<Symbol, i64>);

impl Bindings {
    /// Binds every plain symbol of the `expected` types to the size the
    /// matching input has, then checks static dims, repeated symbols and
    /// composite dims (`2*N`). `shown(i)` is input `i`'s expected type as
    /// messages print it. Extra expected types (outputs) are ignored.
    pub fn from_inputs(expected: &[TensorType], inputs: &[Tensor], shown: impl Fn(usize) -> String) -> Result<Bindings, String> {
        let mut bindings = Bindings::default();
        let mut composite = Vec::new();
        for (i, (ty, t)) in expected.iter().zip(inputs).enumerate() {
            let mismatch = || format!("input #{i} must fit {}, got {}", shown(i), t.ty());
            if ty.dtype != t.dtype() || ty.rank() != t.rank() {
                return Err(mismatch());
            }
            for (d, &n) in ty.dims.iter().zip(t.shape()) {
                match (d, d.as_symbol()) {
                    (Dim::Known(k), _) if *k as usize != n => return Err(mismatch()),
                    (_, Some(s)) => match bindings.0.get(&s) {
                        Some(&b) if b != n as i64 => {
                            return Err(format!("input #{i}: {s} is {b} from an earlier input but {n} here"))
                        }
                        _ => {
                            bindings.0.insert(s, n as i64);
                        }
                    },
                    (Dim::Sym(_), None) => composite.push((i, d, n)),
                    _ => {}
                }
            }
        }
        for (i, d, n) in composite {
            let size = bindings.size(d).map_err(|e| format!("input #{i}: {e}"))?;
            if size != n {
                return Err(format!("input #{i}: dim {d} is {size} but the input has {n}"));
            }
        }
        Ok(bindings)
    }

    /// The value bound to `s`.
    pub fn get(&self, s: &Symbol) -> Option<i64> {
        self.0.get(s).copied()
    }

    /// The size of `d` with the bound symbols.
    pub fn size(&self, d: &Dim) -> Result<usize, String> {
        let e = d.expr().ok_or_else(|| format!("dim {d} has no size before run time"))?;
        match e.substitute(&|s| self.get(s)).as_constant() {
            Some(v) => usize::try_from(v).map_err(|_| format!("dim {d} evaluates to {v}")),
            None => Err(format!("dim {d} has symbols no input binds")),
        }
    }
}
