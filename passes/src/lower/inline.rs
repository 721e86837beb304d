//! Inlining `tg.call` before lowering: each call is replaced by a copy of
//! the callee's body, its arguments by the call's operands and the call's
//! results by what the copied `tg.return` returns; calls the copy brings
//! in are inlined in turn, up to [`MAX_DEPTH`] levels (a deeper chain is
//! taken for recursion, which is refused). Types are inferred again
//! afterwards, so a callee's symbolic dims take the caller's sizes.

use crate::shape_infer::infer_func;
use std::borrow::Cow;
use tessera_ir::copy::{copy_body, copy_ops, ValueMap};
use tessera_ir::dialect::graph::control::CALL;
use tessera_ir::infer::SymbolTable;
use tessera_ir::op::same_op;
use tessera_ir::{Attr, BlockId, Diag, Diags, Func, Module, OpData, OpId, ValueId};

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
    let mut map: ValueMap = ValueMap::new();
    for (&a, &na) in func.args().iter().zip(&out.args().to_vec()) {
        out.value_mut(na).name = func.value(a).name.clone();
        map.insert(a, na);
    }
    let entry = out.entry();
    let mut inline = |src: &Func, op: OpId, operands: &[ValueId], dst: &mut Func, into: BlockId| {
        if is_call(src, op) {
            inline_call(src.op(op), operands, dst, into, callees).map(Some)
        } else {
            Ok(None)
        }
    };
    copy_ops(func, &func.block(func.entry()).ops, &mut out, entry, &mut map, &mut inline)?;
    Ok(out)
}

/// Appends the body of the callee of `call` (a `tg.call`) to block `into`
/// of `dst`, its arguments replaced by `operands`; returns what it returns.
fn inline_call(call: &OpData, operands: &[ValueId], dst: &mut Func, into: BlockId, callees: &[Func]) -> Result<Vec<ValueId>, Diag> {
    let name = match call.attrs.get("sym") {
        Some(Attr::SymbolRef(name)) => name,
        _ => return Err(Diag::error(call.loc.clone(), "'tg.call' op: has no symbol 'sym' (invalid IR)")),
    };
    let callee = callees
        .iter()
        .find(|f| f.name == *name)
        .ok_or_else(|| Diag::error(call.loc.clone(), format!("'tg.call' op: no function named @{name} in the module")))?;
    let returned = copy_body(callee, dst, into, operands)?;
    if returned.len() != call.results.len() {
        return Err(Diag::error(
            call.loc.clone(),
            format!("'tg.call' op: @{name} returns {} value(s), the call has {}", returned.len(), call.results.len()),
        ));
    }
    Ok(returned)
}
