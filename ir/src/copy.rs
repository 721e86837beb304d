//! Copying ops from one function into another through a value map: the
//! core of inlining a `tg.call` and of assembling a training step from the
//! functions autodiff builds.

use crate::diag::Diag;
use crate::func::Func;
use crate::id::{BlockId, OpId, ValueId};
use crate::op::Traits;
use crate::types::Type;
use std::collections::HashMap;

/// Each source value that has been copied, mapped to its copy.
pub type ValueMap = HashMap<ValueId, ValueId>;

/// Looks at one source op before it is copied, given its operands already
/// mapped and where its copy would go: `Ok(None)` copies it as is,
/// `Ok(Some(values))` replaces it by what the hook built, one value per result.
pub type OpHook<'h> = dyn FnMut(&Func, OpId, &[ValueId], &mut Func, BlockId) -> Result<Option<Vec<ValueId>>, Diag> + 'h;

/// The hook that copies every op as is.
pub fn copy_all(_: &Func, _: OpId, _: &[ValueId], _: &mut Func, _: BlockId) -> Result<Option<Vec<ValueId>>, Diag> {
    Ok(None)
}

/// Appends copies of the ops of `src`'s entry block (nested regions
/// included) but its terminator to block `at` of `dst`, with `src`'s
/// arguments replaced by `args`; returns the copies of the values the
/// terminator (`tg.return`) returns.
pub fn copy_body(src: &Func, dst: &mut Func, at: BlockId, args: &[ValueId]) -> Result<Vec<ValueId>, Diag> {
    if args.len() != src.args().len() {
        return Err(Diag::error(
            src.loc.clone(),
            format!("@{} takes {} argument(s), got {}", src.name, src.args().len(), args.len()),
        ));
    }
    let mut map: ValueMap = src.args().iter().copied().zip(args.iter().copied()).collect();
    let ops = &src.block(src.entry()).ops;
    let Some((&ret, body)) = ops.split_last().filter(|(&ret, _)| src.op(ret).def.traits().contains(Traits::TERMINATOR))
    else {
        return Err(Diag::error(src.loc.clone(), format!("@{} does not end in tg.return", src.name)));
    };
    copy_ops(src, body, dst, at, &mut map, &mut copy_all)?;
    mapped_operands(src, ret, &map)
}

/// The operands of `src`'s op `op`, each replaced by its copy in `map`.
pub fn mapped_operands(src: &Func, op: OpId, map: &ValueMap) -> Result<Vec<ValueId>, Diag> {
    let data = src.op(op);
    let lookup = |v: &ValueId| map.get(v).copied().ok_or_else(|| Diag::error(data.loc.clone(), "an operand is defined after its use"));
    data.operands.iter().map(lookup).collect()
}

/// Appends copies of `src`'s ops `ops` (nested regions included, names
/// kept) to block `into` of `dst`, their operands looked up in `map`, to
/// which the copied results and block arguments are added; `hook` may
/// replace any op, nested ones included.
pub fn copy_ops(
    src: &Func,
    ops: &[OpId],
    dst: &mut Func,
    into: BlockId,
    map: &mut ValueMap,
    hook: &mut OpHook,
) -> Result<(), Diag> {
    for &op in ops {
        let data = src.op(op);
        let operands = mapped_operands(src, op, map)?;
        if let Some(values) = hook(src, op, &operands, dst, into)? {
            map.extend(data.results.iter().copied().zip(values));
            continue;
        }
        let mut regions = Vec::with_capacity(data.regions.len());
        for &r in &data.regions {
            let region = dst.new_region();
            for &b in &src.region(r).blocks {
                let arg_types: Vec<Type> = src.block(b).args.iter().map(|&a| src.ty(a).clone()).collect();
                let nb = dst.new_block(region, &arg_types);
                for (&a, &na) in src.block(b).args.iter().zip(&dst.block(nb).args.clone()) {
                    dst.value_mut(na).name = src.value(a).name.clone();
                    map.insert(a, na);
                }
                copy_ops(src, &src.block(b).ops, dst, nb, map, hook)?;
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
    Ok(())
}
