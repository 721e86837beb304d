//! `k.for`: the one loop of the kernel dialect.
//!
//! ```text
//! k.for %lo, %hi, %step {parallel = true} {
//! ^bb0(%i: index):
//!   ...
//!   tg.yield
//! }
//! %sum = k.for %lo, %hi, %step, %zero : f32 {
//! ^bb1(%j: index, %acc: f32):
//!   ...
//!   tg.yield %next
//! }
//! ```
//!
//! The body runs for `i = lo, lo + step, ...` while `i < hi` (not at all
//! when `lo >= hi`); `step` must be positive. Values after the bounds are
//! carried: the body receives the current ones after the index and yields
//! the next ones; the op's results are the last ones (the initial values
//! when the body never runs). A `parallel` loop carries nothing and its
//! iterations are independent: they may run in any order or all at once,
//! which is what lets one loop nest become thread-pool chunks on the CPU
//! and a grid of GPU threads (`i = lo + global_thread_id * step`, guarded
//! by `i < hi`) with the same body.

use super::{indices_from, list};
use crate::infer::InferCx;
use crate::op::{Arity, AttrKind, AttrSpec, OpDef, OpSpec, Traits};
use crate::types::Type;

/// `k.for %lo, %hi, %step, %init... {parallel = true} { ^bb(%i: index, %carried...): ... }`.
pub struct For;

impl OpDef for For {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec = OpSpec::new("k.for", "runs the body for i from lo while i < hi by step, carrying values")
            .traits(Traits::NONE)
            .operands(Arity::AtLeast(3))
            .results(Arity::AtLeast(0))
            .regions(1)
            .attrs(&[AttrSpec::opt("parallel", AttrKind::Bool)]);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let bounds = InferCx { operands: &cx.operands[..3], ..*cx };
        indices_from(&bounds, 0)?;
        let carried = &cx.operands[3..];
        if let Some((i, t)) = carried.iter().enumerate().find(|(_, t)| matches!(t, Type::Buffer(_) | Type::Tensor(_))) {
            return Err(format!("carried value #{i} must be a scalar or an index, got {t}"));
        }
        if cx.bool_or("parallel", false)? && !carried.is_empty() {
            return Err(format!("a parallel loop carries no values, got {}", carried.len()));
        }
        let body = &cx.regions[0];
        let mut expected = vec![Type::Index];
        expected.extend(carried.iter().cloned());
        if body.args != expected {
            return Err(format!("the body must take {}, got {}", list(&expected), list(&body.args)));
        }
        if body.yields != carried {
            return Err(format!("the body must yield {}, got {}", list(carried), list(&body.yields)));
        }
        Ok(carried.to_vec())
    }
}

/// The `k.for` op.
pub static FOR: For = For;
