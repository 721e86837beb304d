//! Common-subexpression elimination (`cse`): merges pure, region-free ops
//! that compute the same thing from the same operands.
//!
//! Two ops are the same computation when they have the same kind, operands
//! (in any order for commutative binary ops), attributes and result types.
//! Tables are scoped per block: an op inside a region may reuse a value
//! computed earlier in an enclosing block, but nothing computed inside a
//! region is visible after it or in a sibling region.

use crate::manager::Pass;
use std::collections::HashMap;
use tessera_ir::{Attrs, Diags, Func, Module, OpId, RegionId, Traits, Type, ValueId};

/// The `cse` pass.
pub struct Cse;

/// The registered instance of [`Cse`].
pub static CSE: Cse = Cse;

impl Pass for Cse {
    fn name(&self) -> &'static str {
        "cse"
    }
    fn summary(&self) -> &'static str {
        "merges identical pure ops, respecting region scoping"
    }
    fn run(&self, module: &mut Module) -> Result<bool, Diags> {
        let mut changed = false;
        for func in &mut module.funcs {
            changed |= eliminate_common_subexpressions(func) > 0;
        }
        Ok(changed)
    }
}

/// What makes two ops the same computation.
#[derive(PartialEq, Eq, Hash)]
struct Key {
    name: &'static str,
    /// Already rewritten to the values that replace merged ones; sorted for
    /// commutative binary ops.
    operands: Vec<ValueId>,
    attrs: Attrs,
    types: Vec<Type>,
}

/// Merges duplicate computations; returns how many ops were erased.
pub fn eliminate_common_subexpressions(func: &mut Func) -> usize {
    let mut state = State { scopes: Vec::new(), replace: HashMap::new(), duplicates: Vec::new() };
    state.region(func, func.body());
    func.replace_uses(&state.replace);
    for &op in &state.duplicates {
        func.erase_op(op);
    }
    state.duplicates.len()
}

struct State {
    /// One table per enclosing block, innermost last.
    scopes: Vec<HashMap<Key, Vec<ValueId>>>,
    /// Result of a duplicate → the equal result that stays.
    replace: HashMap<ValueId, ValueId>,
    duplicates: Vec<OpId>,
}

impl State {
    fn region(&mut self, func: &Func, region: RegionId) {
        for &block in &func.region(region).blocks {
            self.scopes.push(HashMap::new());
            for &op in &func.block(block).ops {
                for &nested in &func.op(op).regions {
                    self.region(func, nested);
                }
                self.visit(func, op);
            }
            self.scopes.pop();
        }
    }

    fn visit(&mut self, func: &Func, op: OpId) {
        let Some(key) = self.key(func, op) else { return };
        let results = &func.op(op).results;
        match self.scopes.iter().rev().find_map(|scope| scope.get(&key)) {
            Some(existing) => {
                for (&dup, &keep) in results.iter().zip(existing) {
                    self.replace.insert(dup, keep);
                }
                self.duplicates.push(op);
            }
            None => {
                if let Some(scope) = self.scopes.last_mut() {
                    scope.insert(key, results.clone());
                }
            }
        }
    }

    /// The key of an op CSE may merge: pure, no terminator, no regions, some results.
    fn key(&self, func: &Func, op: OpId) -> Option<Key> {
        let data = func.op(op);
        let traits = data.def.traits();
        if !traits.contains(Traits::PURE)
            || traits.contains(Traits::TERMINATOR)
            || !data.regions.is_empty()
            || data.results.is_empty()
        {
            return None;
        }
        let mut operands: Vec<ValueId> =
            data.operands.iter().map(|v| self.replace.get(v).copied().unwrap_or(*v)).collect();
        if traits.contains(Traits::COMMUTATIVE) && operands.len() == 2 {
            operands.sort();
        }
        Some(Key {
            name: data.def.name(),
            operands,
            attrs: data.attrs.clone(),
            types: data.results.iter().map(|&v| func.ty(v).clone()).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{count_named, count_ops, returned};
    use tessera_ir::dialect::graph::{control, elementwise};
    use tessera_ir::infer::NoSymbols;
    use tessera_ir::{Builder, DType, DenseAttr, InsertPoint, Scalar, TensorType};

    fn f32x4() -> Type {
        Type::static_tensor(&[4], DType::F32)
    }

    #[test]
    fn merges_equal_ops_and_their_users() {
        let mut func = Func::new("f", &[f32x4(), f32x4()], vec![f32x4()]);
        let (x, y) = (func.args()[0], func.args()[1]);
        let mut b = Builder::new(&mut func, &NoSymbols);
        let a1 = b.binary(&elementwise::ADD, x, y).unwrap();
        let a2 = b.binary(&elementwise::ADD, y, x).unwrap();
        let s1 = b.binary(&elementwise::SUB, x, y).unwrap();
        let s2 = b.binary(&elementwise::SUB, y, x).unwrap();
        let m1 = b.binary(&elementwise::MUL, a1, s1).unwrap();
        let m2 = b.binary(&elementwise::MUL, a2, s2).unwrap();
        let m3 = b.binary(&elementwise::MUL, s1, a2).unwrap();
        let t1 = b.binary(&elementwise::ADD, m1, m2).unwrap();
        let t2 = b.binary(&elementwise::ADD, t1, m3).unwrap();
        b.ret(&[t2]).unwrap();
        // a2 -> a1, then m3 = mul(s1, a1) -> m1; s2 and m2 stay.
        assert_eq!(eliminate_common_subexpressions(&mut func), 2);
        assert_eq!(count_named(&func, "tg.add"), 3);
        assert_eq!(count_named(&func, "tg.sub"), 2);
        assert_eq!(count_named(&func, "tg.mul"), 2);
        let last = func.def_op(returned(&func)[0]).unwrap();
        assert_eq!(func.op(last).operands[1], m1);
        assert_eq!(eliminate_common_subexpressions(&mut func), 0);
    }

    #[test]
    fn distinguishes_attributes_and_types() {
        let mut func = Func::new("f", &[f32x4()], vec![]);
        let x = func.args()[0];
        let mut b = Builder::new(&mut func, &NoSymbols);
        let splat = |v| DenseAttr::splat(TensorType::of(&[4], DType::F32), Scalar::Float(DType::F32, v)).unwrap();
        let c1 = b.constant(splat(0.0)).unwrap();
        let c2 = b.constant(splat(-0.0)).unwrap();
        let c3 = b.constant(splat(0.0)).unwrap();
        let h = b.cast(x, DType::F16).unwrap();
        let d = b.cast(x, DType::F64).unwrap();
        b.ret(&[c1, c2, c3, h, d]).unwrap();
        assert_eq!(eliminate_common_subexpressions(&mut func), 1);
        assert_eq!(returned(&func)[2], c1);
        assert_eq!(count_ops(&func), 5);
    }

    #[test]
    fn respects_region_scopes() {
        let cond_ty = Type::static_tensor(&[], DType::I1);
        let mut func = Func::new("f", &[cond_ty, f32x4()], vec![]);
        let (c, x) = (func.args()[0], func.args()[1]);
        let entry = func.entry();
        let mut b = Builder::new(&mut func, &NoSymbols);
        let outer = b.unary(&elementwise::EXP, x).unwrap();
        let (then_r, then_b) = b.new_region(&[]);
        let (else_r, else_b) = b.new_region(&[]);
        // then: exp(x) reuses the outer one; tanh(x) is new.
        b.set_insert_point(InsertPoint::End(then_b));
        let inner_exp = b.unary(&elementwise::EXP, x).unwrap();
        let then_tanh = b.unary(&elementwise::TANH, x).unwrap();
        let t = b.binary(&elementwise::ADD, inner_exp, then_tanh).unwrap();
        b.yield_values(&[t]).unwrap();
        // else: its own tanh(x) is not the then branch's.
        b.set_insert_point(InsertPoint::End(else_b));
        let else_tanh = b.unary(&elementwise::TANH, x).unwrap();
        b.yield_values(&[else_tanh]).unwrap();
        b.set_insert_point(InsertPoint::End(entry));
        let if_op = b.create(&control::IF, &[c], Attrs::new(), vec![then_r, else_r]).unwrap();
        let r = b.func.op(if_op).results[0];
        // After the if: tanh(x) sees neither branch's.
        let after = b.unary(&elementwise::TANH, x).unwrap();
        b.ret(&[outer, r, after]).unwrap();
        assert_eq!(eliminate_common_subexpressions(&mut func), 1);
        assert_eq!(count_named(&func, "tg.exp"), 1);
        assert_eq!(count_named(&func, "tg.tanh"), 3);
        let add = func.def_op(t).unwrap();
        assert_eq!(func.op(add).operands, vec![outer, then_tanh]);
    }
}
