//! Copying a function's body into another function (an inliner's core), so
//! that a training step can be assembled from the pieces autodiff builds.

use std::collections::HashMap;
use tessera_ir::{BlockId, Diag, Func, Traits, ValueId};

/// Appends copies of the ops of `src`'s entry block (nested regions
/// included) to block `at` of `dst`, with `src`'s arguments replaced by
/// `args`; returns the values the copied `tg.return` would have returned.
pub fn copy_body(src: &Func, dst: &mut Func, at: BlockId, args: &[ValueId]) -> Result<Vec<ValueId>, Diag> {
    if args.len() != src.args().len() {
        return Err(Diag::error(
            src.loc.clone(),
            format!("@{} takes {} argument(s), got {}", src.name, src.args().len(), args.len()),
        ));
    }
    let mut map: HashMap<ValueId, ValueId> = src.args().iter().copied().zip(args.iter().copied()).collect();
    copy_block(src, src.entry(), dst, at, &mut map)?
        .ok_or_else(|| Diag::error(src.loc.clone(), format!("@{} does not end in tg.return", src.name)))
}

/// Copies the ops of `block` into `into`; a terminator is copied unless the
/// block is the function body's entry, whose terminator's operands are returned.
fn copy_block(
    src: &Func,
    block: BlockId,
    dst: &mut Func,
    into: BlockId,
    map: &mut HashMap<ValueId, ValueId>,
) -> Result<Option<Vec<ValueId>>, Diag> {
    let top = block == src.entry();
    for &op in &src.block(block).ops {
        let data = src.op(op);
        let lookup = |v: &ValueId| {
            map.get(v).copied().ok_or_else(|| Diag::error(data.loc.clone(), "an operand is defined after its use"))
        };
        let operands = data.operands.iter().map(lookup).collect::<Result<Vec<_>, _>>()?;
        if top && data.def.traits().contains(Traits::TERMINATOR) {
            return Ok(Some(operands));
        }
        let mut regions = Vec::with_capacity(data.regions.len());
        for &r in &data.regions {
            let region = dst.new_region();
            for &b in &src.region(r).blocks {
                let arg_types: Vec<_> = src.block(b).args.iter().map(|&a| src.ty(a).clone()).collect();
                let nb = dst.new_block(region, &arg_types);
                for (&a, &na) in src.block(b).args.iter().zip(&dst.block(nb).args.clone()) {
                    map.insert(a, na);
                }
                copy_block(src, b, dst, nb, map)?;
            }
            regions.push(region);
        }
        let types = data.results.iter().map(|&v| src.ty(v).clone()).collect();
        let new = dst.create_op(data.def, operands, data.attrs.clone(), types, regions, data.loc.clone());
        dst.append_op(into, new);
        for (&r, &nr) in data.results.iter().zip(&dst.op(new).results.clone()) {
            dst.value_mut(nr).name = src.value(r).name.clone();
            map.insert(r, nr);
        }
    }
    Ok(None)
}
