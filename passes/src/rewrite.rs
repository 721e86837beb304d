//! The pattern-rewrite driver: small named patterns, each a law such as
//! `add(x, 0) -> x`, applied to a fixpoint.
//!
//! A [`Pattern`] looks at one op and, without mutating anything, proposes a
//! [`Rewrite`]: the op's result equals an existing value, or the result of
//! a new op. The driver checks that the replacement has exactly the type of
//! the value it replaces (a law that holds for values may still change a
//! type, as `x + 0` does when the zero broadcasts `x` to a larger shape),
//! applies it, and sweeps the function again until a sweep changes nothing.
//! A sweep cap turns a pair of patterns that undo each other into an error
//! rather than a hang.

use std::collections::{BTreeMap, HashMap};
use tessera_ir::builder::infer_types;
use tessera_ir::infer::SymbolTable;
use tessera_ir::{Attrs, Diag, Func, OpId, OpRef, ValueId};

/// What a pattern proposes for the op it matched; the op has exactly one result.
#[derive(Clone, Debug)]
pub enum Rewrite {
    /// The op's result equals this existing value, which is defined before the op.
    Replace(ValueId),
    /// The op's result equals the result of this new op, which the driver
    /// builds right before the matched one (with its location).
    Rebuild {
        /// The new op's kind.
        def: OpRef,
        /// Its operands, each defined before the matched op.
        operands: Vec<ValueId>,
        /// Its attributes.
        attrs: Attrs,
    },
}

/// One rewrite law. Write the law in a comment above each implementation.
pub trait Pattern: Sync {
    /// A short kebab-case name (`add-zero-rhs`), used in statistics and errors.
    fn name(&self) -> &'static str;
    /// Looks at `op` and proposes a rewrite when the law applies.
    fn match_op(&self, func: &Func, op: OpId) -> Option<Rewrite>;
}

/// Sweeps the driver allows before it reports that patterns do not converge.
pub const DEFAULT_MAX_SWEEPS: usize = 64;

/// What a run of the driver did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RewriteStats {
    /// How many times each pattern fired, by name.
    pub applied: BTreeMap<&'static str, usize>,
    /// Sweeps over the function, the final one (which changed nothing) included.
    pub sweeps: usize,
}

impl RewriteStats {
    /// Rewrites applied in total.
    pub fn total(&self) -> usize {
        self.applied.values().sum()
    }

    /// How many times the pattern called `name` fired.
    pub fn count(&self, name: &str) -> usize {
        self.applied.get(name).copied().unwrap_or(0)
    }
}

/// Applies `patterns` (the first that matches an op wins) to every op of
/// `func`, nested ones included, until a sweep changes nothing. Rewritten
/// ops are erased; ops that become unused are left for `dce`. Fails when
/// `max_sweeps` sweeps still changed something, or when a pattern proposes
/// an op whose inference fails (a bug in the pattern).
pub fn apply_patterns(
    func: &mut Func,
    symbols: &dyn SymbolTable,
    patterns: &[&dyn Pattern],
    max_sweeps: usize,
) -> Result<RewriteStats, Diag> {
    let mut stats = RewriteStats::default();
    loop {
        let mut replace: HashMap<ValueId, ValueId> = HashMap::new();
        let mut rewritten: Vec<OpId> = Vec::new();
        let mut this_sweep: BTreeMap<&'static str, usize> = BTreeMap::new();
        if stats.sweeps == max_sweeps {
            return Err(no_fixpoint(func, max_sweeps, &stats));
        }
        stats.sweeps += 1;
        // Within a sweep, rewritten ops stay in place until the end: every
        // rewrite states an equality of values, so later matches that still
        // look through them remain correct.
        for op in func.walk() {
            let [old] = func.op(op).results[..] else { continue };
            for pattern in patterns {
                let Some(rewrite) = pattern.match_op(func, op) else { continue };
                if let Some(new) = apply(func, symbols, op, old, rewrite, pattern.name())? {
                    replace.insert(old, new);
                    rewritten.push(op);
                    *this_sweep.entry(pattern.name()).or_insert(0) += 1;
                    break;
                }
            }
        }
        if rewritten.is_empty() {
            return Ok(stats);
        }
        func.replace_uses(&replace);
        for op in rewritten {
            func.erase_op(op);
        }
        for (name, n) in this_sweep {
            *stats.applied.entry(name).or_insert(0) += n;
        }
    }
}

/// Carries out one rewrite of `op` (result `old`); returns the replacement
/// value, or `None` when the replacement's type differs from `old`'s.
fn apply(
    func: &mut Func,
    symbols: &dyn SymbolTable,
    op: OpId,
    old: ValueId,
    rewrite: Rewrite,
    pattern: &str,
) -> Result<Option<ValueId>, Diag> {
    match rewrite {
        Rewrite::Replace(v) => Ok((v != old && func.ty(v) == func.ty(old)).then_some(v)),
        Rewrite::Rebuild { def, operands, attrs } => {
            let types = infer_types(func, symbols, def, &operands, &attrs, &[]).map_err(|msg| {
                Diag::error(
                    func.op(op).loc.clone(),
                    format!("pattern '{pattern}' built an invalid '{}' op: {msg}", def.name()),
                )
            })?;
            if types.len() != 1 || types[0] != *func.ty(old) {
                return Ok(None);
            }
            let loc = func.op(op).loc.clone();
            let new = func.create_op(def, operands, attrs, types, Vec::new(), loc);
            func.insert_op_before(op, new);
            Ok(Some(func.op(new).results[0]))
        }
    }
}

fn no_fixpoint(func: &Func, max_sweeps: usize, stats: &RewriteStats) -> Diag {
    let busiest: Vec<String> = stats.applied.iter().map(|(name, n)| format!("{name} ×{n}")).collect();
    Diag::error(
        func.loc.clone(),
        format!(
            "rewrite patterns did not reach a fixpoint on @{} after {max_sweeps} sweeps (applied so far: {})",
            func.name,
            busiest.join(", ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::returned;
    use tessera_ir::dialect::graph::elementwise;
    use tessera_ir::infer::NoSymbols;
    use tessera_ir::{Builder, DType, Type};

    /// `exp(x) -> exp(x)`, rebuilt anew every sweep: never reaches a fixpoint (test only).
    struct Grow;

    impl Pattern for Grow {
        fn name(&self) -> &'static str {
            "grow"
        }
        fn match_op(&self, func: &Func, op: OpId) -> Option<Rewrite> {
            let data = func.op(op);
            (data.def.name() == "tg.exp").then(|| Rewrite::Rebuild {
                def: &elementwise::EXP,
                operands: data.operands.clone(),
                attrs: Attrs::new(),
            })
        }
    }

    /// `tanh(x) -> x`, a false law that changes nothing about types (test only).
    struct DropTanh;

    impl Pattern for DropTanh {
        fn name(&self) -> &'static str {
            "drop-tanh"
        }
        fn match_op(&self, func: &Func, op: OpId) -> Option<Rewrite> {
            let data = func.op(op);
            (data.def.name() == "tg.tanh").then(|| Rewrite::Replace(data.operands[0]))
        }
    }

    /// `is_nan(x) -> x`, whose replacement has the wrong dtype (test only).
    struct DropIsNan;

    impl Pattern for DropIsNan {
        fn name(&self) -> &'static str {
            "drop-is-nan"
        }
        fn match_op(&self, func: &Func, op: OpId) -> Option<Rewrite> {
            let data = func.op(op);
            (data.def.name() == "tg.is_nan").then(|| Rewrite::Replace(data.operands[0]))
        }
    }

    fn f32x4() -> Type {
        Type::static_tensor(&[4], DType::F32)
    }

    #[test]
    fn reaches_a_fixpoint_through_chains() {
        let mut func = Func::new("f", &[f32x4()], vec![f32x4()]);
        let x = func.args()[0];
        let mut b = Builder::new(&mut func, &NoSymbols);
        let mut v = x;
        for _ in 0..5 {
            v = b.unary(&elementwise::TANH, v).unwrap();
        }
        let nan = b.unary(&elementwise::IS_NAN, v).unwrap();
        b.ret(&[v, nan]).unwrap();
        let stats = apply_patterns(&mut func, &NoSymbols, &[&DropTanh, &DropIsNan], DEFAULT_MAX_SWEEPS).unwrap();
        assert_eq!(stats.count("drop-tanh"), 5);
        assert_eq!(stats.count("drop-is-nan"), 0, "a replacement of another type is refused");
        assert_eq!(stats.sweeps, 2);
        assert_eq!(returned(&func)[0], x);
        let is_nan = func.def_op(returned(&func)[1]).unwrap();
        assert_eq!(func.op(is_nan).operands, vec![x]);
    }

    #[test]
    fn reports_patterns_that_never_converge() {
        let mut func = Func::new("f", &[f32x4()], vec![f32x4()]);
        let x = func.args()[0];
        let mut b = Builder::new(&mut func, &NoSymbols);
        let e = b.unary(&elementwise::EXP, x).unwrap();
        b.ret(&[e]).unwrap();
        let err = apply_patterns(&mut func, &NoSymbols, &[&Grow], 5).unwrap_err();
        assert!(err.message.contains("did not reach a fixpoint on @f after 5 sweeps"), "{}", err.message);
        assert!(err.message.contains("grow ×"), "{}", err.message);
    }
}
