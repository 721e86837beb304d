//! The recompute policy ([`super::Recompute::Cheap`]): once the backward
//! ops are built, each forward value a backward op reads that a cheap op
//! made is computed again right before that op (its operands recursively
//! so), so that only the values of the other ops — contractions,
//! reductions, gathers, arguments — stay alive across the backward pass.
//! Uses inside the regions of backward ops keep the forward values.

use std::collections::{HashMap, HashSet};
use tessera_ir::dialect::graph::shape::{BROADCAST_TO, RESHAPE, TRANSPOSE};
use tessera_ir::op::same_op;
use tessera_ir::{Func, OpId, Traits, ValueId};

/// Whether op `op` is cheap enough to run twice: pure, without regions,
/// and elementwise or a broadcast, reshape or transpose.
fn cheap(func: &Func, op: OpId) -> bool {
    let data = func.op(op);
    let traits = data.def.traits();
    let moves = [&BROADCAST_TO as tessera_ir::OpRef, &RESHAPE, &TRANSPOSE].into_iter().any(|d| same_op(data.def, d));
    traits.contains(Traits::PURE) && data.regions.is_empty() && (traits.contains(Traits::ELEMENTWISE) || moves)
}

/// Replaces the backward ops' reads of cheap forward values (ops of the
/// entry block listed in `forward`) by copies computed just before them.
pub fn cheap_values(func: &mut Func, forward: &[OpId]) {
    let forward_set: HashSet<OpId> = forward.iter().copied().collect();
    let backward: Vec<OpId> = func
        .block(func.entry())
        .ops
        .iter()
        .copied()
        .filter(|op| !forward_set.contains(op) && !func.op(*op).def.traits().contains(Traits::TERMINATOR))
        .collect();
    let mut copies: HashMap<ValueId, ValueId> = HashMap::new();
    for op in backward {
        let operands = func.op(op).operands.clone();
        let fresh: Vec<ValueId> = operands.iter().map(|&v| again(func, &forward_set, &mut copies, v, op)).collect();
        func.op_mut(op).operands = fresh;
    }
}

/// `v`, or its recomputed copy (made before `before` on first need) when a
/// cheap forward op defines it.
fn again(func: &mut Func, forward: &HashSet<OpId>, copies: &mut HashMap<ValueId, ValueId>, v: ValueId, before: OpId) -> ValueId {
    if let Some(&c) = copies.get(&v) {
        return c;
    }
    let Some(def) = func.def_op(v).filter(|d| forward.contains(d) && cheap(func, *d)) else { return v };
    let data = func.op(def).clone();
    let operands = data.operands.iter().map(|&o| again(func, forward, copies, o, before)).collect();
    let types = data.results.iter().map(|&r| func.ty(r).clone()).collect();
    let copy = func.create_op(data.def, operands, data.attrs.clone(), types, Vec::new(), data.loc.clone());
    func.insert_op_before(before, copy);
    for (&r, c) in data.results.iter().zip(func.op(copy).results.clone()) {
        func.value_mut(c).name = func.value(r).name.clone();
        copies.insert(r, c);
    }
    copies[&v]
}
