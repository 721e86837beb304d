//! Dead-code elimination (`dce`): erases pure ops whose results nobody uses.

use crate::manager::Pass;
use std::collections::HashMap;
use tessera_ir::{Diags, Func, Module, OpId, Traits, ValueId};

/// The `dce` pass.
pub struct Dce;

/// The registered instance of [`Dce`].
pub static DCE: Dce = Dce;

impl Pass for Dce {
    fn name(&self) -> &'static str {
        "dce"
    }
    fn summary(&self) -> &'static str {
        "erases pure ops whose results are unused, inside regions too"
    }
    fn run(&self, module: &mut Module) -> Result<bool, Diags> {
        let mut changed = false;
        for func in &mut module.funcs {
            changed |= eliminate_dead_ops(func) > 0;
        }
        Ok(changed)
    }
}

/// Whether `op` may be erased once its results are unused: it is pure, is no
/// terminator, and everything inside its regions is pure or a terminator.
pub fn is_removable(func: &Func, op: OpId) -> bool {
    let traits = func.op(op).def.traits();
    if !traits.contains(Traits::PURE) || traits.contains(Traits::TERMINATOR) {
        return false;
    }
    let mut nested = Vec::new();
    for &r in &func.op(op).regions {
        func.walk_region(r, &mut nested);
    }
    nested.iter().all(|&o| {
        let t = func.op(o).def.traits();
        t.contains(Traits::PURE) || t.contains(Traits::TERMINATOR)
    })
}

/// Erases every removable op whose results are unused, to a fixpoint;
/// returns how many ops were erased (nested ones of an erased op not counted).
///
/// One sweep suffices: ops are visited in reverse pre-order, so each op's
/// users (which follow it in pre-order, nested ones included) have already
/// been visited and, when dead, erased, with the use counts of their
/// operands decreased.
pub fn eliminate_dead_ops(func: &mut Func) -> usize {
    let mut uses = func.use_counts();
    let mut erased = 0;
    for op in func.walk().into_iter().rev() {
        let unused = func.op(op).results.iter().all(|v| uses.get(v).copied().unwrap_or(0) == 0);
        if !unused || !is_removable(func, op) {
            continue;
        }
        let mut gone = vec![op];
        for &r in &func.op(op).regions {
            func.walk_region(r, &mut gone);
        }
        for o in gone {
            release_operands(&mut uses, &func.op(o).operands);
        }
        func.erase_op(op);
        erased += 1;
    }
    erased
}

fn release_operands(uses: &mut HashMap<ValueId, usize>, operands: &[ValueId]) {
    for v in operands {
        if let Some(n) = uses.get_mut(v) {
            *n = n.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{count_ops, returned};
    use tessera_ir::dialect::graph::{control, elementwise};
    use tessera_ir::infer::NoSymbols;
    use tessera_ir::{Attrs, Builder, DType, InsertPoint, Type};

    fn f32x4() -> Type {
        Type::static_tensor(&[4], DType::F32)
    }

    #[test]
    fn erases_dead_chains_in_one_sweep() {
        let mut func = Func::new("f", &[f32x4()], vec![f32x4()]);
        let x = func.args()[0];
        let mut b = Builder::new(&mut func, &NoSymbols);
        let a = b.unary(&elementwise::EXP, x).unwrap();
        let dead = b.unary(&elementwise::NEG, a).unwrap();
        b.binary(&elementwise::ADD, dead, dead).unwrap();
        let live = b.unary(&elementwise::ABS, x).unwrap();
        b.ret(&[live]).unwrap();
        assert_eq!(eliminate_dead_ops(&mut func), 3);
        assert_eq!(count_ops(&func), 2);
        assert_eq!(returned(&func), vec![live]);
        assert_eq!(eliminate_dead_ops(&mut func), 0);
    }

    #[test]
    fn keeps_impure_ops_and_cleans_inside_regions() {
        let cond_ty = Type::static_tensor(&[], DType::I1);
        let mut func = Func::new("f", &[cond_ty, f32x4()], vec![f32x4()]);
        let (c, x) = (func.args()[0], func.args()[1]);
        let entry = func.entry();
        let mut b = Builder::new(&mut func, &NoSymbols);
        let (then_r, then_b) = b.new_region(&[]);
        let (else_r, else_b) = b.new_region(&[]);
        b.set_insert_point(InsertPoint::End(then_b));
        b.unary(&elementwise::EXP, x).unwrap();
        b.yield_values(&[x]).unwrap();
        b.set_insert_point(InsertPoint::End(else_b));
        let n = b.unary(&elementwise::NEG, x).unwrap();
        b.yield_values(&[n]).unwrap();
        b.set_insert_point(InsertPoint::End(entry));
        // An unused `tg.if` stays: it is not pure.
        b.create(&control::IF, &[c], Attrs::new(), vec![then_r, else_r]).unwrap();
        b.ret(&[x]).unwrap();
        assert_eq!(eliminate_dead_ops(&mut func), 1);
        // if, yield, neg, yield, return
        assert_eq!(count_ops(&func), 5);
    }
}
