//! Control flow beside `k.for`: `k.if` (one of two regions, on a scalar
//! condition) and `k.while` (a loop that runs while a flag it carries
//! holds), what `tg.if` and `tg.loop` lower to.
//!
//! ```text
//! k.if %c {
//!   ...
//!   tg.yield
//! } {
//!   ...
//!   tg.yield
//! }
//! %n, %sum = k.while %go, %c0, %zero : index, f32 {
//! ^bb0(%i: index, %acc: f32):
//!   ...
//!   tg.yield %more, %i_next, %acc_next
//! }
//! ```
//!
//! Neither has results in memory: what their regions compute goes into
//! buffers (outputs or temporaries) through `k.store`, as everywhere in the
//! dialect. `k.while` carries scalars and indices only, as `k.for` does.

use super::{list, scalar_operand};
use crate::dtype::DType;
use crate::infer::InferCx;
use crate::op::{Arity, OpDef, OpSpec, Traits};
use crate::types::Type;

/// `k.if %cond { then } { else }`: runs the first region when the `i1`
/// scalar `cond` is true, else the second. Both regions take no arguments
/// and yield nothing.
pub struct If;

impl OpDef for If {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec = OpSpec::new("k.if", "runs the first region when the i1 scalar is true, else the second")
            .traits(Traits::NONE)
            .results(Arity::Exactly(0))
            .regions(2);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        let cond = scalar_operand(cx, 0)?;
        if cond != DType::I1 {
            return Err(format!("the condition must be an i1 scalar, got {cond}"));
        }
        for (name, region) in ["then", "else"].iter().zip(cx.regions) {
            if !region.args.is_empty() || !region.yields.is_empty() {
                return Err(format!(
                    "the {name} region takes no arguments and yields nothing, got {} and {}",
                    list(&region.args),
                    list(&region.yields)
                ));
            }
        }
        Ok(Vec::new())
    }
}

/// The `k.if` op.
pub static IF: If = If;

/// `%r... = k.while %go, %init... { ^bb(%x...): ... tg.yield %go_next,
/// %next... }`: while the `i1` flag is true, runs the body on the carried
/// values, which yields the next flag and the next values. The flag is
/// tested before each iteration (a false `go` runs nothing); the results
/// are the last carried values (`init` when the body never ran). The
/// carried values are scalars or indices.
pub struct While;

impl OpDef for While {
    fn spec(&self) -> &OpSpec {
        const SPEC: OpSpec =
            OpSpec::new("k.while", "runs the body while the i1 flag it yields holds, carrying scalars and indices")
                .traits(Traits::NONE)
                .operands(Arity::AtLeast(1))
                .results(Arity::AtLeast(0))
                .regions(1);
        &SPEC
    }
    fn infer(&self, cx: &InferCx) -> Result<Vec<Type>, String> {
        if cx.operands[0] != Type::Scalar(DType::I1) {
            return Err(format!("the flag (operand #0) must be an i1 scalar, got {}", cx.operands[0]));
        }
        let carried = &cx.operands[1..];
        if let Some((i, t)) = carried.iter().enumerate().find(|(_, t)| matches!(t, Type::Buffer(_) | Type::Tensor(_))) {
            return Err(format!("carried value #{i} must be a scalar or an index, got {t}"));
        }
        let body = &cx.regions[0];
        if body.args != carried {
            return Err(format!("the body must take {}, got {}", list(carried), list(&body.args)));
        }
        let mut expected = vec![Type::Scalar(DType::I1)];
        expected.extend(carried.iter().cloned());
        if body.yields != expected {
            return Err(format!("the body must yield {}, got {}", list(&expected), list(&body.yields)));
        }
        Ok(carried.to_vec())
    }
}

/// The `k.while` op.
pub static WHILE: While = While;
