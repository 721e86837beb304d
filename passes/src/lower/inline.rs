//! Inlining `tg.call` before lowering: each call is replaced by a copy of
//! the callee's body, its arguments by the call's operands and the call's
//! results by what the copied `tg.return` returns; calls the copy brings
//! in are inlined in turn, up to [`MAX_DEPTH`] levels (a deeper chain is
//! taken for recursion, which is refused). Types are inferred again
//! afterwards, so a callee's symbolic dims take the caller's sizes.

use crate::autodiff::copy_body;
use crate::shape_infer::infer_func;
use std::borrow::Cow;
use std::collections::HashMap;
use tessera_ir::dialect::graph::control::CALL;
use tessera_ir::infer::SymbolTable;
use tessera_ir::op::same_op;
use tessera_ir::{Attr, BlockId, Diag, Diags, Func, Module, OpId, ValueId};

/// How many levels of calls are inlined before a call chain counts as recursion.
pub const MAX_DEPTH: usize = 16;

/// The graph functions of `module` a call may name (copies, so the module
/// can be changed while they are read); none when nothing calls.
pub fn callees(module: &Module) -> Vec<Func> {
    let calls = module.funcs.iter().any(|f| f.walk().into_iter().any(|op| is_call(f, op)));
    if calls {
        module.funcs.clone()
    } else {
        Vec::new()
    }
}

/// `func` with every `tg.call` inlined (callees looked up in `callees`)
/// and its types inferred again; `func` itself when it calls nothing.
pub fn inline_calls<'f>(func: &'f Func, callees: &[Func], symbols: &dyn SymbolTable) -> Result<Cow<'f, Func>, Diags> {
    if !calls(func) {
        return Ok(Cow::Borrowed(func));
    }
    let mut current = func.clone();
    for _ in 0..MAX_DEPTH {
        current = inline_once(&current, callees)?;
        if !calls(&current) {
            infer_func(&mut current, symbols)?;
            return Ok(Cow::Owned(current));
        }
    }
    Err(Diag::error(
        func.loc.clone(),
        format!("@{}: calls nest more than {MAX_DEPTH} levels deep (recursion is not compiled)", func.name),
    )
    .into())
}

/// Whether op `op` of `func` is a `tg.call`.
fn is_call(func: &Func, op: OpId) -> bool {
    same_op(func.op(op).def, &CALL)
}

/// Whether `func` calls anything.
fn calls(func: &Func) -> bool {
    func.walk().into_iter().any(|op| is_call(func, op))
}

/// `func` with each call it makes directly replaced by the callee's body.
fn inline_once(func: &Func, callees: &[Func]) -> Result<Func, Diag> {
    let mut out = Func::new(&func.name, &func.arg_types(), func.results.clone());
    out.loc = func.loc.clone();
    let mut map: HashMap<ValueId, ValueId> = HashMap::new();
    for (&a, &na) in func.args().iter().zip(out.args()) {
        map.insert(a, na);
    }
    for (&a, &na) in func.args().iter().zip(&out.args().to_vec()) {
        out.value_mut(na).name = func.value(a).name.clone();
    }
    let entry = out.entry();
    copy_block(func, func.entry(), &mut out, entry, &mut map, callees)?;
    Ok(out)
}

/// Copies the ops of `block` (nested regions included) to the end of
/// `into`, inlining the calls among them.
fn copy_block(
    src: &Func,
    block: BlockId,
    dst: &mut Func,
    into: BlockId,
    map: &mut HashMap<ValueId, ValueId>,
    callees: &[Func],
) -> Result<(), Diag> {
    for &op in &src.block(block).ops {
        let data = src.op(op);
        let lookup = |v: &ValueId| {
            map.get(v).copied().ok_or_else(|| Diag::error(data.loc.clone(), "an operand is defined after its use"))
        };
        let operands = data.operands.iter().map(lookup).collect::<Result<Vec<_>, _>>()?;
        if is_call(src, op) {
            let name = match data.attrs.get("sym") {
                Some(Attr::SymbolRef(name)) => name,
                _ => return Err(Diag::error(data.loc.clone(), "'tg.call' op: has no symbol 'sym' (invalid IR)")),
            };
            let callee = callees.iter().find(|f| f.name == *name).ok_or_else(|| {
                Diag::error(data.loc.clone(), format!("'tg.call' op: no function named @{name} in the module"))
            })?;
            let returned = copy_body(callee, dst, into, &operands)?;
            if returned.len() != data.results.len() {
                return Err(Diag::error(
                    data.loc.clone(),
                    format!("'tg.call' op: @{name} returns {} value(s), the call has {}", returned.len(), data.results.len()),
                ));
            }
            map.extend(data.results.iter().copied().zip(returned));
            continue;
        }
        let mut regions = Vec::with_capacity(data.regions.len());
        for &r in &data.regions {
            let region = dst.new_region();
            for &b in &src.region(r).blocks {
                let arg_types: Vec<_> = src.block(b).args.iter().map(|&a| src.ty(a).clone()).collect();
                let nb = dst.new_block(region, &arg_types);
                for (&a, &na) in src.block(b).args.iter().zip(&dst.block(nb).args.clone()) {
                    dst.value_mut(na).name = src.value(a).name.clone();
                    map.insert(a, na);
                }
                copy_block(src, b, dst, nb, map, callees)?;
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
